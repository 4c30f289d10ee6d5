//! The one mapping of errors to HTTP answers: status, a stable code, a
//! message for the caller, and `Retry-After` where waiting helps. Storage
//! and queue details stay in the logs.

use crate::domain::Error;
use crate::domain::provider::RefusalClass;

/// The HTTP status of an error.
pub fn status(error: &Error) -> u16 {
    match error {
        Error::Invalid(_) | Error::MalformedCallback(_) => 400,
        Error::Refused(refusal) => match refusal.class {
            RefusalClass::InvalidRequest => 400,
            RefusalClass::RateLimited => 429,
            RefusalClass::ProviderFailing => 502,
            RefusalClass::Configuration => 500,
        },
        Error::ProviderTimeout { .. } => 504,
        Error::ProviderUnavailable { .. } => 502,
        Error::NotFound(_) => 404,
        Error::Conflict(_) | Error::StreamHeld { .. } | Error::ProviderMismatch { .. } => 409,
        Error::Unauthorized => 401,
        Error::TooLarge { .. } => 413,
        Error::Storage(_) | Error::Queue(_) | Error::Archive(_) => 503,
        Error::Configuration(_) => 500,
    }
}

/// A stable machine-readable code for the body.
pub fn code(error: &Error) -> &'static str {
    match error {
        Error::Invalid(_) => "INVALID_REQUEST",
        Error::Refused(refusal) => refusal.label,
        Error::ProviderTimeout { .. } => "PROVIDER_TIMEOUT",
        Error::ProviderUnavailable { .. } => "PROVIDER_UNAVAILABLE",
        Error::NotFound(_) => "NOT_FOUND",
        Error::Conflict(_) => "CONFLICT",
        Error::StreamHeld { .. } => "STREAM_HELD",
        Error::ProviderMismatch { .. } => "PROVIDER_MISMATCH",
        Error::Unauthorized => "UNAUTHORIZED",
        Error::TooLarge { .. } => "PAYLOAD_TOO_LARGE",
        Error::MalformedCallback(_) => "MALFORMED_CALLBACK",
        Error::Storage(_) => "STORAGE_UNAVAILABLE",
        Error::Queue(_) => "QUEUE_UNAVAILABLE",
        Error::Archive(_) => "ARCHIVE_UNAVAILABLE",
        Error::Configuration(_) => "CONFIGURATION",
    }
}

/// Seconds to wait before retrying, when the answer calls for it.
pub fn retry_after(error: &Error) -> Option<u64> {
    match error {
        Error::Refused(refusal) => refusal.retry_after.map(|wait| wait.as_secs().max(1)),
        Error::Storage(_) | Error::Queue(_) | Error::Archive(_) | Error::Conflict(_) => Some(1),
        _ => None,
    }
}

/// The JSON body: `{"error": {"code", "message", "problems"?, "provider"?, "providerCode"?}}`.
pub fn body(error: &Error) -> serde_json::Value {
    let mut body = serde_json::json!({ "code": code(error), "message": public_message(error) });
    match error {
        Error::Invalid(problems) => body["problems"] = serde_json::to_value(problems).unwrap_or_default(),
        Error::Refused(refusal) => {
            body["provider"] = refusal.provider.as_str().into();
            body["providerCode"] = refusal.code.into();
        }
        Error::ProviderTimeout { provider } | Error::ProviderUnavailable { provider, .. } => {
            body["provider"] = provider.as_str().into();
        }
        Error::StreamHeld { holder } => body["btId"] = holder.as_str().into(),
        Error::ProviderMismatch { running, .. } => body["provider"] = running.as_str().into(),
        _ => {}
    }
    serde_json::json!({ "error": body })
}

/// What the caller is told.
fn public_message(error: &Error) -> String {
    match error {
        Error::Storage(_) => "the task table is unavailable; retry".to_owned(),
        Error::Queue(_) => "the event queue is unavailable; retry".to_owned(),
        Error::Archive(_) => "the evidence archive is unavailable; retry".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::provider::Refusal;
    use crate::ports::{ProviderError, StoreError};
    use crate::providers::REGISTERED;
    use std::time::Duration;

    fn refused(class: RefusalClass, retry_after: Option<Duration>) -> Error {
        Error::Refused(Refusal {
            provider: REGISTERED[0],
            code: 4242,
            label: "PROVIDER_SOMETHING",
            message: "m".into(),
            class,
            retry_after,
            transient: false,
        })
    }

    #[test]
    fn refusals_map_by_class_and_keep_the_adapter_s_code() {
        assert_eq!(status(&refused(RefusalClass::InvalidRequest, None)), 400);
        let limited = refused(RefusalClass::RateLimited, Some(Duration::from_secs(1)));
        assert_eq!((status(&limited), retry_after(&limited)), (429, Some(1)));
        let later = refused(RefusalClass::ProviderFailing, Some(Duration::from_secs(300)));
        assert_eq!((status(&later), retry_after(&later)), (502, Some(300)));
        assert_eq!(status(&refused(RefusalClass::ProviderFailing, None)), 502);
        let configuration = refused(RefusalClass::Configuration, None);
        assert_eq!(
            (status(&configuration), code(&configuration)),
            (500, "PROVIDER_SOMETHING")
        );
        assert_eq!(body(&configuration)["error"]["providerCode"], 4242);
        assert_eq!(body(&configuration)["error"]["provider"], REGISTERED[0].as_str());
        assert_eq!(
            status(&Error::from_provider(REGISTERED[0], ProviderError::Timeout)),
            504
        );
        assert_eq!(
            status(&Error::from_provider(
                REGISTERED[0],
                ProviderError::Unreachable("x".into())
            )),
            502
        );
    }

    #[test]
    fn storage_details_stay_out_of_the_body() {
        let error = Error::Storage(StoreError::Unavailable(
            "table streamguard in us-east-1: throttled".into(),
        ));
        assert_eq!(status(&error), 503);
        assert!(!body(&error).to_string().contains("us-east-1"));
    }
}
