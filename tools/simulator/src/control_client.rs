//! The client side of the control endpoint ([`crate::control`]): what the
//! tests, the demo and the benchmark use to set the scenario and faults and to
//! wait for what happened, over HTTP like any other client of the simulator.

use serde_json::Value;
use std::time::Duration;

/// Why a control call failed; the message names the call and what came back.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("{call}: the simulator did not answer: {source}")]
    Unreachable { call: String, source: reqwest::Error },
    #[error("{call}: HTTP {status}: {body}")]
    Refused { call: String, status: u16, body: Value },
}

/// Calls `/_sim/…` on one simulator.
#[derive(Debug, Clone)]
pub struct ControlClient {
    http: reqwest::Client,
    base_url: String,
}

impl ControlClient {
    /// `base_url` is the simulator's (`http://127.0.0.1:port`); `http` carries
    /// the caller's timeouts, which must outlast any `wait` asked for.
    pub fn new(base_url: impl Into<String>, http: reqwest::Client) -> Self {
        ControlClient {
            http,
            base_url: base_url.into(),
        }
    }

    /// `GET /_sim/{path_and_query}`: the status and the JSON body (`Null` if none).
    pub async fn get(&self, path_and_query: &str) -> Result<(u16, Value), ControlError> {
        let call = format!("GET /_sim/{path_and_query}");
        let response = self
            .http
            .get(format!("{}/_sim/{path_and_query}", self.base_url))
            .send()
            .await
            .map_err(|source| ControlError::Unreachable { call, source })?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// Waits, on the simulator's side, up to `wait` for at least `min` items of
    /// `listing` (`tasks`, `deliveries`, `requests`) matching `query`, and
    /// returns the items; when the wait runs out, the error holds what matched.
    pub async fn wait_items(
        &self,
        listing: &str,
        query: &str,
        min: usize,
        wait: Duration,
    ) -> Result<Vec<Value>, ControlError> {
        let path = format!("{listing}?{query}&min={min}&waitMs={}", wait.as_millis());
        let (status, body) = self.get(&path).await?;
        if status != 200 {
            return Err(ControlError::Refused {
                call: format!("waiting for {min} of {listing}?{query}"),
                status,
                body,
            });
        }
        Ok(body["items"].as_array().cloned().unwrap_or_default())
    }

    /// Replaces the scenario (`PUT /_sim/scenario`).
    pub async fn put_scenario(&self, scenario: &Value) -> Result<(), ControlError> {
        self.send(
            self.http.put(format!("{}/_sim/scenario", self.base_url)),
            "PUT /_sim/scenario",
            scenario,
        )
        .await
    }

    /// Adds a fault (`POST /_sim/faults`).
    pub async fn add_fault(&self, fault: &Value) -> Result<(), ControlError> {
        self.send(
            self.http.post(format!("{}/_sim/faults", self.base_url)),
            "POST /_sim/faults",
            fault,
        )
        .await
    }

    /// Starts a stray copy of task `request_id` (`POST /_sim/tasks/{requestId}/stray`);
    /// the copy's id.
    pub async fn start_stray(&self, request_id: &str) -> Result<String, ControlError> {
        let call = format!("POST /_sim/tasks/{request_id}/stray");
        let response = self
            .http
            .post(format!("{}/_sim/tasks/{request_id}/stray", self.base_url))
            .send()
            .await
            .map_err(|source| ControlError::Unreachable {
                call: call.clone(),
                source,
            })?;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        match body["requestId"].as_str() {
            Some(id) if status == 201 => Ok(id.to_owned()),
            _ => Err(ControlError::Refused { call, status, body }),
        }
    }

    /// Sends `body` and expects 204 No Content.
    async fn send(&self, request: reqwest::RequestBuilder, call: &str, body: &Value) -> Result<(), ControlError> {
        let response = request
            .json(body)
            .send()
            .await
            .map_err(|source| ControlError::Unreachable {
                call: call.to_owned(),
                source,
            })?;
        let status = response.status().as_u16();
        if status != 204 {
            return Err(ControlError::Refused {
                call: call.to_owned(),
                status,
                body: response.json().await.unwrap_or(Value::Null),
            });
        }
        Ok(())
    }
}
