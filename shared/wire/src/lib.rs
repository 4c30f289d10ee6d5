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

mod enums;
mod lenient;
mod validation;

pub mod deepcleer;
pub mod event;
pub mod redact;
pub mod zego;

#[cfg(test)]
mod testgen;

pub use enums::Vocabulary;
pub use validation::{Problem, Problems, parse_with_path};
