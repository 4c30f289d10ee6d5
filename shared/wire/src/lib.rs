//! Wire types shared by every streamguard function, the provider simulator
//! and queue consumers.
//!
//! - [`deepcleer`]: DeepCleer (ISHUMEI) audio-stream moderation: the start
//!   request and its validation, synchronous responses, close requests for
//!   audio and video tasks, segment and stream-end callbacks.
//! - [`zego`]: ZEGOCLOUD `StartCensorAudioV2` / `StopCensorAudioV2`, the
//!   signed common query parameters, and the signed callbacks.
//! - [`event`]: the versioned event streamguard publishes to its queue.
//! - [`redact`]: removing secrets from what providers echo.
//!
//! No I/O happens here. Outgoing messages are validated with every problem
//! reported at once ([`Problems`]); inbound callbacks are parsed tolerantly.
//! The contract is the reference folder beside the repository
//! (`../shared/reference/`), cited in each module.
//!
//! ```
//! use wire::deepcleer::{Callback, CallbackKind, RiskLevel, parse_start_request};
//! use wire::event::{QueueEvent, TaskContext};
//!
//! // Validation names every broken rule at once.
//! let request = parse_start_request(r#"{"data": {"streamType": "NORMAL"}}"#).unwrap();
//! let problems = request.validate().unwrap_err();
//! assert!(problems.names("data.url") && problems.names("accessKey"));
//!
//! // A REJECT segment becomes a queue event; the echoed accessKey does not.
//! let callback: Callback = serde_json::from_str(r#"{"requestId": "b639_2", "btId": "room-1",
//!     "requestParams": {"accessKey": "AK"}, "audioDetail": {"riskLevel": "REJECT"}}"#).unwrap();
//! let CallbackKind::Segment(detail) = callback.kind() else { unreachable!() };
//! assert_eq!(detail.risk_level, RiskLevel::Reject);
//! let task = TaskContext { bt_id: Some("room-1".into()), task_known: true };
//! let event = QueueEvent::deepcleer_segment(&callback, detail, &task, time::OffsetDateTime::now_utc());
//! assert_eq!(event.event_id, "deepcleer:b639_2");
//! assert!(!serde_json::to_string(&event).unwrap().contains("AK"));
//! ```

mod enums;
mod lenient;
mod validation;

pub mod deepcleer;
pub mod event;
pub mod redact;
pub mod reference;
pub mod zego;

#[cfg(test)]
mod roundtrip_tests;
#[cfg(test)]
mod testgen;

pub use enums::Vocabulary;
pub use validation::{Problem, Problems, parse_with_path};
