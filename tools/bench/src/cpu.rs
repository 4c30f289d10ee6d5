//! The callback's own CPU work, and its floor, as loops for callgrind.
//! `scripts/bench` runs each under `valgrind --tool=callgrind` at 0 and N
//! iterations; the difference divided by N is the instructions per callback,
//! start-up excluded, repeatable whatever else the machine is doing.

use serde_json::Value;
use streamguard_core::domain::events::{self, TaskContext};
use streamguard_core::domain::provider::Reading;
use streamguard_core::domain::{CallbackKey, CallbackKeys, TaskRef};
use streamguard_core::ports::CallbackReader;
use streamguard_core::providers::deepcleer::{self, DeepCleerCallbacks};

/// The work: verify the token, read the body with the provider's reader,
/// build and serialise the event, as the callback function does. Returns the
/// event's size so nothing is optimised away.
pub fn callback_work(keys: &CallbackKeys, token: &str, body: &str, now: time::OffsetDateTime) -> usize {
    let task = keys.verify(token, now).expect("a valid token").task;
    match DeepCleerCallbacks.read(body.as_bytes(), now).expect("a callback") {
        Reading::Segment(segment) => {
            let context = TaskContext {
                bt_id: Some(task.bt_id),
                task_known: true,
                stray: false,
            };
            let event = events::segment_event(task.provider, &segment, &context, now);
            serde_json::to_string(&event).expect("serialisable").len()
        }
        _ => 0,
    }
}

/// The floor: parsing the same bytes into a `Value`.
pub fn floor(body: &str) -> usize {
    match serde_json::from_str::<Value>(body).expect("JSON") {
        Value::Object(map) => map.len(),
        _ => 0,
    }
}

/// The callback-token key of the benchmark (the functions get it as `CALLBACK_TOKEN_KEY`).
pub const CALLBACK_TOKEN_KEY: &str = "bench-callback-token-key-0123456789";

/// The keys (the current one alone, as after a rotation has settled) and a
/// token for the benchmark, valid for a day.
pub fn key_and_token() -> (CallbackKeys, String) {
    let key =
        CallbackKey::new(CALLBACK_TOKEN_KEY.as_bytes(), streamguard_core::providers::REGISTERED).expect("long enough");
    let token = key.sign(
        &TaskRef {
            provider: deepcleer::ID,
            bt_id: "1637847086612".into(),
            task_id: "9f58178ba8034902c6028c728bc6f6e4".into(),
        },
        time::OffsetDateTime::now_utc() + std::time::Duration::from_secs(86_400),
    );
    (CallbackKeys::new(key, None), token)
}

/// The segment callback of the documents' example (the project's fixture of it).
pub const REFERENCE_CALLBACK: &str =
    include_str!("../../../shared/wire/tests/fixtures/deepcleer/callback-segment.json");

/// The reference callback grown to about `bytes` by the echoed request
/// (`requestParams`), as the real service sends it.
pub fn padded_callback(reference: &str, bytes: usize) -> String {
    let with_pad = |pad: usize| {
        let mut callback: Value = serde_json::from_str(reference).expect("JSON");
        callback["requestParams"] = serde_json::json!({
            "accessKey": "xxxxx", "appId": "default", "eventId": "default", "type": "POLITY_EROTIC",
            "data": {"btId": "1637847086612", "streamType": "NORMAL", "passThrough": {"note": "n".repeat(pad)}}
        });
        callback.to_string()
    };
    let overhead = with_pad(0).len();
    with_pad(bytes.saturating_sub(overhead))
}
