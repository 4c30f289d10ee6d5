//! The callback's own CPU work, and its floor, as loops for callgrind.
//! `scripts/bench` runs each under `valgrind --tool=callgrind` at 0 and N
//! iterations; the difference divided by N is the instructions per callback,
//! start-up excluded, repeatable whatever else the machine is doing.

use serde_json::Value;
use streamguard::domain::{CallbackKey, TaskRef};
use wire::deepcleer::{Callback, CallbackKind};
use wire::event::{Provider, QueueEvent, TaskContext};

/// The work: verify the token, parse, decide, build and serialise the event.
/// Returns the event's size so nothing is optimised away.
pub fn callback_work(key: &CallbackKey, token: &str, body: &str, now: time::OffsetDateTime) -> usize {
    let task = key.verify(token).expect("a valid token");
    let callback: Callback = serde_json::from_str(body).expect("a callback");
    match callback.kind() {
        CallbackKind::Segment(detail) => {
            let context = TaskContext {
                bt_id: Some(task.bt_id),
                task_known: true,
            };
            let event = QueueEvent::deepcleer_segment(&callback, detail, &context, now);
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

/// A key and a token for the benchmark.
pub fn key_and_token() -> (CallbackKey, String) {
    let key = CallbackKey::new(CALLBACK_TOKEN_KEY.as_bytes()).expect("long enough");
    let token = key.sign(&TaskRef {
        provider: Provider::Deepcleer,
        bt_id: "1637847086612".into(),
        task_id: "9f58178ba8034902c6028c728bc6f6e4".into(),
    });
    (key, token)
}

/// The reference document's callback example, extracted from the provider reference.
pub fn reference_callback(reference_dir: &std::path::Path) -> Result<String, String> {
    let path = reference_dir.join("deepcleer-audio-stream-request.txt");
    let text = std::fs::read_to_string(&path).map_err(|error| format!("{}: {error}", path.display()))?;
    wire::reference::json_after(&text, "Callback Example")
        .map(str::to_owned)
        .ok_or_else(|| format!("{}: no Callback Example JSON", path.display()))
}

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
