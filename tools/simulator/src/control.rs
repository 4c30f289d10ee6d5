//! The control endpoint under `/_sim/`: scenario, faults, and what happened
//! (tasks, deliveries, requests). Listings can wait for a condition
//! (`min=N&waitMs=T`) so that tests synchronise on events, not on sleeps:
//! the answer is 200 once at least `min` items match, or 408 with what
//! matched when `waitMs` ran out.

use crate::faults::{Effect, Fault};
use crate::scenario::Scenario;
use crate::state::{Inner, SharedState, TaskStatus};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

/// Filters and waiting, shared by the listings.
/// Unknown parameters are refused (400), so a misspelt filter cannot match everything.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct Listing {
    pub request_id: Option<String>,
    pub bt_id: Option<String>,
    /// Tasks: `running` or `ended`. Deliveries: `segment` or `streamEnd`. Requests: the API name.
    pub kind: Option<String>,
    /// Deliveries only: the segment id or `<requestId>:end`.
    pub callback_id: Option<String>,
    /// Deliveries only: `true` for acknowledged ones, `false` for the rest.
    pub acknowledged: Option<bool>,
    /// Deliveries only: `true` for those given up after every retry.
    pub gave_up: Option<bool>,
    /// Deliveries only: at least this many attempts made.
    pub min_attempts: Option<usize>,
    pub min: Option<usize>,
    pub wait_ms: Option<u64>,
}

impl Listing {
    fn matches(&self, request_id: Option<&str>, bt_id: Option<&str>, kind: &str) -> bool {
        let same = |wanted: &Option<String>, actual: Option<&str>| wanted.as_deref().is_none_or(|w| Some(w) == actual);
        same(&self.request_id, request_id) && same(&self.bt_id, bt_id) && self.kind.as_deref().is_none_or(|k| k == kind)
    }

    fn tasks(&self, inner: &Inner) -> Vec<Value> {
        inner
            .task_order
            .iter()
            .filter_map(|id| inner.tasks.get(id))
            .filter(|task| {
                let status = if task.status == TaskStatus::Running {
                    "running"
                } else {
                    "ended"
                };
                self.matches(Some(&task.request_id), Some(&task.bt_id), status)
            })
            .filter_map(|task| serde_json::to_value(task).ok())
            .collect()
    }

    fn deliveries(&self, inner: &Inner) -> Vec<Value> {
        inner
            .deliveries
            .iter()
            .filter(|delivery| self.matches(Some(&delivery.request_id), Some(&delivery.bt_id), delivery.kind))
            .filter(|delivery| {
                self.callback_id
                    .as_deref()
                    .is_none_or(|wanted| wanted == delivery.callback_id)
            })
            .filter(|delivery| {
                self.acknowledged
                    .is_none_or(|wanted| wanted == delivery.acknowledged_on.is_some())
            })
            .filter(|delivery| self.gave_up.is_none_or(|wanted| wanted == delivery.gave_up))
            .filter(|delivery| self.min_attempts.is_none_or(|min| delivery.attempts.len() >= min))
            .filter_map(|delivery| serde_json::to_value(delivery).ok())
            .collect()
    }

    fn requests(&self, inner: &Inner) -> Vec<Value> {
        inner
            .requests
            .iter()
            .filter(|record| self.matches(record.request_id.as_deref(), record.bt_id.as_deref(), record.api))
            .filter_map(|record| serde_json::to_value(record).ok())
            .collect()
    }

    async fn answer(&self, state: &SharedState, items: fn(&Listing, &Inner) -> Vec<Value>) -> Response {
        let min = self.min.unwrap_or(0);
        let complete = match self.wait_ms {
            Some(wait) => {
                state
                    .wait_until(Duration::from_millis(wait), |inner| items(self, inner).len() >= min)
                    .await
            }
            None => items(self, &state.read()).len() >= min,
        };
        let found = items(self, &state.read());
        let status = if complete {
            StatusCode::OK
        } else {
            StatusCode::REQUEST_TIMEOUT
        };
        (status, Json(json!({ "complete": complete, "items": found }))).into_response()
    }
}

pub async fn tasks(State(state): State<SharedState>, Query(listing): Query<Listing>) -> Response {
    listing.answer(&state, Listing::tasks).await
}

pub async fn deliveries(State(state): State<SharedState>, Query(listing): Query<Listing>) -> Response {
    listing.answer(&state, Listing::deliveries).await
}

pub async fn requests(State(state): State<SharedState>, Query(listing): Query<Listing>) -> Response {
    listing.answer(&state, Listing::requests).await
}

pub async fn get_scenario(State(state): State<SharedState>) -> Json<Scenario> {
    Json(state.read().scenario.clone())
}

pub async fn put_scenario(State(state): State<SharedState>, Json(scenario): Json<Scenario>) -> StatusCode {
    state.update(|inner| inner.scenario = scenario);
    StatusCode::NO_CONTENT
}

/// One fault or a list of them.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum FaultsBody {
    One(Fault),
    Many(Vec<Fault>),
}

pub async fn add_faults(State(state): State<SharedState>, Json(body): Json<FaultsBody>) -> StatusCode {
    let faults = match body {
        FaultsBody::One(fault) => vec![fault],
        FaultsBody::Many(faults) => faults,
    };
    let refuse = faults
        .iter()
        .any(|fault| matches!(fault, Fault::RefuseConnections { .. }));
    state.update(|inner| faults.into_iter().for_each(|fault| inner.faults.add(fault)));
    if refuse {
        state.refuse_signal.notify_waiters();
    }
    StatusCode::NO_CONTENT
}

pub async fn list_faults(State(state): State<SharedState>) -> Json<Vec<Fault>> {
    Json(state.read().faults.list())
}

pub async fn clear_faults(State(state): State<SharedState>) -> StatusCode {
    state.update(|inner| inner.faults.clear());
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoTask {
    pub request_id: String,
}

/// Registers a video task so that `finish_videostream` knows it.
pub async fn add_video_task(State(state): State<SharedState>, Json(task): Json<VideoTask>) -> StatusCode {
    state.update(|inner| inner.video_tasks.insert(task.request_id, false));
    StatusCode::NO_CONTENT
}

/// Whether a registered video task was closed.
pub async fn video_task(State(state): State<SharedState>, Path(request_id): Path<String>) -> Response {
    match state.read().video_tasks.get(&request_id) {
        Some(closed) => Json(json!({ "requestId": request_id, "closed": closed })).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `POST /_sim/tasks/{requestId}/stray`: a stray copy of the task (see
/// [`crate::api::start_stray`]); answers `{"requestId": <the copy's>}`.
pub async fn start_stray(State(state): State<SharedState>, Path(request_id): Path<String>) -> Response {
    match crate::api::start_stray(&state, &request_id) {
        Some(stray) => (StatusCode::CREATED, Json(json!({ "requestId": stray }))).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Stops every task and forgets everything but the configuration.
pub async fn reset(State(state): State<SharedState>) -> StatusCode {
    let initial = state.config.scenario.clone();
    state.update(|inner| {
        inner.tasks.values().for_each(|task| task.cancel.cancel());
        let base_url = std::mem::take(&mut inner.base_url);
        *inner = Inner {
            scenario: initial,
            base_url,
            ..Inner::default()
        };
    });
    StatusCode::NO_CONTENT
}

pub async fn health() -> Json<Value> {
    Json(json!({ "ok": true }))
}

/// A few bytes of MP3 for the audio URLs in callbacks, unless an `audio`
/// fault says otherwise (an HTTP status, or an answer held back); every
/// fetch is recorded (`GET /_sim/requests?kind=audio`).
pub async fn audio(State(state): State<SharedState>, Path(file): Path<String>) -> Response {
    let effect = state.update(|inner| inner.faults.take(crate::faults::Api::Audio));
    let mut record = state.request("audio");
    record.request_id = Some(file.clone());
    match effect {
        Some(Effect::Code(code)) => {
            record.code = Some(code);
            record.fault = Some("fault");
            state.record_request(record);
            let status = u16::try_from(code)
                .ok()
                .and_then(|code| StatusCode::from_u16(code).ok())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return status.into_response();
        }
        Some(Effect::Stall(hold) | Effect::DropResponse(hold)) => {
            record.fault = Some("stalled");
            state.record_request(record.clone());
            tokio::time::sleep(hold).await;
        }
        None => {
            record.code = Some(200);
            state.record_request(record);
        }
    }
    (
        [("content-type", "audio/mpeg")],
        format!("ID3\x04\x00\x00\x00\x00\x00\x00 {file}").into_bytes(),
    )
        .into_response()
}
