//! Callback delivery: POST JSON, retry what is not acknowledged, record
//! every attempt.

use crate::clock::{wall_clock_ms, wall_clock_secs};
use crate::state::{Attempt, Delivery, Provider, SharedState};
use serde_json::Value;
use std::time::Duration;
use streamguard_wire::zego::CallbackAuth;

/// How a provider retries.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub retries: u32,
    /// Wait before retry `k` (1-based), in simulated time.
    pub backoff: Backoff,
    /// What counts as acknowledged.
    pub success: fn(u16) -> bool,
}

#[derive(Debug, Clone, Copy)]
pub enum Backoff {
    /// The same wait every time (DeepCleer: configurable).
    Fixed(Duration),
    /// `base × 2^(k-1)`: Zego's 2, 4, 8, 16, 32 s.
    Doubling(Duration),
}

impl Backoff {
    fn before_retry(self, retry: u32) -> Duration {
        match self {
            Backoff::Fixed(wait) => wait,
            Backoff::Doubling(base) => base * 2u32.saturating_pow(retry.saturating_sub(1)),
        }
    }
}

impl RetryPolicy {
    /// DeepCleer: up to 20 retries until HTTP 200.
    pub fn deepcleer(backoff: Duration) -> Self {
        RetryPolicy {
            retries: streamguard_wire::deepcleer::CALLBACK_RETRIES,
            backoff: Backoff::Fixed(backoff),
            success: |status| status == 200,
        }
    }

    /// Zego: up to 5 retries at 2, 4, 8, 16, 32 s until any 2xx.
    pub fn zego() -> Self {
        RetryPolicy {
            retries: streamguard_wire::zego::CALLBACK_RETRIES,
            backoff: Backoff::Doubling(Duration::from_secs(2)),
            success: |status| (200..300).contains(&status),
        }
    }
}

/// Signs each attempt afresh (Zego); DeepCleer callbacks are not signed.
#[derive(Debug, Clone)]
pub enum Signer {
    Unsigned,
    Zego { app_id: u32, callback_secret: String },
}

impl Signer {
    fn sign(&self, body: &mut Value) {
        let Signer::Zego {
            app_id,
            callback_secret,
        } = self
        else {
            return;
        };
        let nonce = uuid::Uuid::new_v4().simple().to_string()[..16].to_owned();
        let auth = CallbackAuth::sign(*app_id, callback_secret, wall_clock_secs(), &nonce);
        if let (Some(object), Ok(Value::Object(fields))) = (body.as_object_mut(), serde_json::to_value(auth)) {
            object.extend(fields);
        }
    }
}

/// What is being delivered.
pub struct Envelope {
    pub provider: Provider,
    pub request_id: String,
    pub bt_id: String,
    pub kind: &'static str,
    pub callback_id: String,
    pub url: String,
    pub body: Value,
}

/// Delivers one callback with retries; returns when acknowledged or given up.
pub async fn deliver(state: SharedState, envelope: Envelope, policy: RetryPolicy, signer: Signer) {
    let target = match reqwest::Url::parse(&envelope.url) {
        Ok(url) => format!("{}://{}{}", url.scheme(), url.authority(), url.path()),
        Err(_) => envelope.url.clone(),
    };
    let index = state.update(|inner| {
        inner.deliveries.push(Delivery {
            provider: envelope.provider,
            request_id: envelope.request_id.clone(),
            bt_id: envelope.bt_id.clone(),
            kind: envelope.kind,
            callback_id: envelope.callback_id.clone(),
            target,
            body: envelope.body.clone(),
            attempts: Vec::new(),
            acknowledged_on: None,
            gave_up: false,
        });
        inner.deliveries.len() - 1
    });
    if let Err(reason) = crate::pull::permitted(&envelope.url, state.config.allow_non_loopback) {
        record(
            &state,
            index,
            Attempt {
                at_ms: wall_clock_ms(),
                status: None,
                error: Some(reason),
                latency_ms: 0.0,
            },
            false,
            true,
        );
        return;
    }
    for attempt in 1..=policy.retries + 1 {
        if attempt > 1 {
            state.clock.sleep(policy.backoff.before_retry(attempt - 1)).await;
        }
        let mut body = envelope.body.clone();
        signer.sign(&mut body);
        let at_ms = wall_clock_ms();
        let began = std::time::Instant::now();
        let outcome = state.http.post(&envelope.url).json(&body).send().await;
        let latency_ms = began.elapsed().as_secs_f64() * 1e3;
        let (status, error) = match outcome {
            Ok(response) => (Some(response.status().as_u16()), None),
            Err(error) => (None, Some(error.without_url().to_string())),
        };
        let acknowledged = status.is_some_and(policy.success);
        let last = attempt == policy.retries + 1;
        record(
            &state,
            index,
            Attempt {
                at_ms,
                status,
                error,
                latency_ms,
            },
            acknowledged,
            last && !acknowledged,
        );
        if acknowledged {
            return;
        }
    }
}

fn record(state: &SharedState, index: usize, attempt: Attempt, acknowledged: bool, gave_up: bool) {
    state.update(|inner| {
        let delivery = &mut inner.deliveries[index];
        delivery.attempts.push(attempt);
        if acknowledged {
            delivery.acknowledged_on = Some(delivery.attempts.len() as u32);
        }
        delivery.gave_up = gave_up;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zego_waits_double() {
        let waits: Vec<u64> = (1..=5)
            .map(|k| Backoff::Doubling(Duration::from_secs(2)).before_retry(k).as_secs())
            .collect();
        assert_eq!(waits, [2, 4, 8, 16, 32]);
        assert_eq!(
            Backoff::Fixed(Duration::from_secs(3)).before_retry(7),
            Duration::from_secs(3)
        );
        assert!((RetryPolicy::zego().success)(204));
        assert!(!(RetryPolicy::deepcleer(Duration::ZERO).success)(204));
    }
}
