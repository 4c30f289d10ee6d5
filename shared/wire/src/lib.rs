//! Wire types shared by every streamguard function, the provider simulator
//! and queue consumers.
//!
//! - [`deepcleer`]: DeepCleer (ISHUMEI) audio-stream moderation: the start
//!   request and its validation, synchronous responses, close requests for
//!   audio and video tasks, segment and stream-end callbacks.
//! - [`zego`]: ZEGOCLOUD `StartCensorAudioV2` / `StopCensorAudioV2`, the
//!   signed common query parameters, and the signed callbacks.
//! - [`api`]: streamguard's own start body, which every provider maps from.
//! - [`event`]: the versioned event streamguard publishes to its queue.
//! - [`verdict`]: the engine's disposition vocabulary and segment ids, shared
//!   by every provider.
//! - [`redact`]: removing secrets from what providers echo.
//!
//! No I/O happens here. Outgoing messages are validated with every problem
//! reported at once ([`Problems`]); inbound callbacks are parsed tolerantly.
//! The contract is the providers' documents; `tests/fixtures/` holds the
//! project's own messages written from them (its README maps each one).
//!
//! ```
//! use streamguard_wire::api::StartBody;
//! use streamguard_wire::deepcleer::{Callback, CallbackKind, RiskLevel};
//!
//! // The API's start body: DeepCleer's start request plus an optional provider.
//! let body = StartBody::parse(r#"{"provider": "zego", "data": {"btId": "room-1"}}"#).unwrap();
//! assert_eq!((body.provider.as_deref(), body.bt_id()), (Some("zego"), "room-1"));
//!
//! // Validation names every broken rule at once.
//! let problems = body.request.validate().unwrap_err();
//! assert!(problems.names("data.streamType") && problems.names("accessKey"));
//!
//! // Callbacks parse tolerantly; the disposition is `riskLevel`, in any case.
//! let callback: Callback = serde_json::from_str(r#"{"requestId": "b639_2", "btId": "room-1",
//!     "audioDetail": {"riskLevel": "reject", "riskLabel1": "normal"}}"#).unwrap();
//! assert!(matches!(callback.kind(), CallbackKind::Segment(detail) if detail.risk_level == RiskLevel::Reject));
//! ```

mod enums;
mod lenient;
mod validation;

pub mod api;
pub mod deepcleer;
pub mod event;
pub mod redact;
pub mod reference;
pub mod verdict;
pub mod zego;

#[cfg(test)]
mod roundtrip_tests;
#[cfg(test)]
mod testgen;

pub use enums::Vocabulary;
pub use validation::{Problem, Problems, parse_with_path};
