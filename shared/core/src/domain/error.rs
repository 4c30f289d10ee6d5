//! Every way a use case can fail. The HTTP layer maps each to a status in
//! one place (`crate::http::errors`).

use super::provider::{ProviderId, Refusal};
use crate::ports::{ProviderError, QueueError, StoreError};
use streamguard_wire::Problems;

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The caller's request breaks these rules.
    #[error("the request is invalid: {0}")]
    Invalid(Problems),
    /// The provider answered with a refusal.
    #[error(transparent)]
    Refused(Refusal),
    /// No answer within the timeout: the request may or may not have been acted on.
    #[error("{provider} did not answer within its timeout")]
    ProviderTimeout { provider: ProviderId },
    /// No usable answer at all.
    #[error("{provider} could not be reached or answered nonsense: {detail}")]
    ProviderUnavailable { provider: ProviderId, detail: String },
    #[error("{0}")]
    NotFound(String),
    /// The task changed under this call; retrying reads the new state.
    #[error("{0}")]
    Conflict(String),
    /// The provider already moderates the stream for another btId: adopting
    /// its task would let this btId close the other's moderation.
    #[error(
        "the stream is already moderated for btId {holder}; close that btId first, or start this one on another stream"
    )]
    StreamHeld { holder: String },
    /// The btId's open task runs on another provider than the start names.
    #[error("the task for {bt_id} runs on {running}, not {asked}; close it first, or start it on {running}")]
    ProviderMismatch {
        bt_id: String,
        running: ProviderId,
        asked: ProviderId,
    },
    /// A callback without a valid token or provider signature.
    #[error("the callback is not authenticated")]
    Unauthorized,
    #[error("the body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the body is not a callback: {0}")]
    MalformedCallback(String),
    #[error(transparent)]
    Storage(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The evidence archive could not be written or read.
    #[error("the evidence archive failed: {0}")]
    Archive(String),
    /// The deployment is misconfigured.
    #[error("configuration problem: {0}")]
    Configuration(String),
}

impl Error {
    /// A provider call that got no answer.
    pub fn from_provider(provider: ProviderId, error: ProviderError) -> Self {
        match error {
            ProviderError::Timeout => Error::ProviderTimeout { provider },
            other => Error::ProviderUnavailable {
                provider,
                detail: other.to_string(),
            },
        }
    }
}
