//! Every way a request can fail, and the one place where each becomes an
//! HTTP status.

use crate::ports::{ProviderError, QueueError, StoreError};
use wire::Problems;
use wire::deepcleer::ResponseCode;
use wire::zego::ZegoCode;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// The caller's request breaks these rules.
    #[error("the request is invalid: {0}")]
    Invalid(Problems),
    /// The provider answered with a refusal.
    #[error("the provider refused ({code}): {message}")]
    ProviderRefused { code: ResponseCode, message: String },
    /// Zego answered with a refusal.
    #[error("Zego refused ({code}): {message}")]
    ZegoRefused { code: ZegoCode, message: String },
    #[error("the provider did not answer within its timeout")]
    ProviderTimeout,
    #[error("the provider could not be reached or answered nonsense: {0}")]
    ProviderUnavailable(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// A callback without a valid token.
    #[error("the callback is not authenticated")]
    Unauthorized,
    #[error("the body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("the body is not a callback: {0}")]
    MalformedCallback(String),
    #[error(transparent)]
    Storage(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The deployment is misconfigured (e.g. the provider says the accessKey is unauthorized).
    #[error("configuration problem: {0}")]
    Configuration(String),
}

impl ApiError {
    /// The HTTP status: the only mapping from errors to statuses.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Invalid(_) | ApiError::MalformedCallback(_) => 400,
            ApiError::ProviderRefused { code, .. } => match code {
                ResponseCode::InvalidParameters => 400,
                ResponseCode::LimitExceeded => 429,
                ResponseCode::Unauthorized => 500,
                _ => 502,
            },
            ApiError::ZegoRefused { code, .. } if code.is_configuration_error() => 500,
            ApiError::ZegoRefused { .. } => 502,
            ApiError::ProviderTimeout => 504,
            ApiError::ProviderUnavailable(_) => 502,
            ApiError::NotFound(_) => 404,
            ApiError::Conflict(_) => 409,
            ApiError::Unauthorized => 401,
            ApiError::PayloadTooLarge { .. } => 413,
            ApiError::Storage(_) | ApiError::Queue(_) => 503,
            ApiError::Configuration(_) => 500,
        }
    }

    /// A stable machine-readable code for the body.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Invalid(_) => "INVALID_REQUEST",
            ApiError::ProviderRefused {
                code: ResponseCode::InvalidParameters,
                ..
            } => "PROVIDER_INVALID_PARAMETERS",
            ApiError::ProviderRefused {
                code: ResponseCode::LimitExceeded,
                ..
            } => "PROVIDER_LIMIT_EXCEEDED",
            ApiError::ProviderRefused {
                code: ResponseCode::Unauthorized,
                ..
            } => "PROVIDER_UNAUTHORIZED",
            ApiError::ProviderRefused { .. } => "PROVIDER_FAILURE",
            ApiError::ZegoRefused { code, .. } if code.is_configuration_error() => "ZEGO_CONFIGURATION",
            ApiError::ZegoRefused { code, .. } if code.retry_later() => "ZEGO_RETRY_LATER",
            ApiError::ZegoRefused { .. } => "ZEGO_FAILURE",
            ApiError::ProviderTimeout => "PROVIDER_TIMEOUT",
            ApiError::ProviderUnavailable(_) => "PROVIDER_UNAVAILABLE",
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::Conflict(_) => "CONFLICT",
            ApiError::Unauthorized => "UNAUTHORIZED",
            ApiError::PayloadTooLarge { .. } => "PAYLOAD_TOO_LARGE",
            ApiError::MalformedCallback(_) => "MALFORMED_CALLBACK",
            ApiError::Storage(_) => "STORAGE_UNAVAILABLE",
            ApiError::Queue(_) => "QUEUE_UNAVAILABLE",
            ApiError::Configuration(_) => "CONFIGURATION",
        }
    }

    /// Seconds to wait before retrying, when the status calls for it.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::ProviderRefused {
                code: ResponseCode::LimitExceeded,
                ..
            } => Some(1),
            ApiError::ZegoRefused { code, .. } if code.retry_later() => Some(wire::zego::RETRY_AFTER_SECS),
            ApiError::Storage(_) | ApiError::Queue(_) => Some(1),
            ApiError::Conflict(_) => Some(1),
            _ => None,
        }
    }

    /// The JSON body: `{"error": {"code", "message", "problems"?, "providerCode"?}}`.
    pub fn body(&self) -> serde_json::Value {
        let mut error = serde_json::json!({ "code": self.code(), "message": self.public_message() });
        if let ApiError::Invalid(problems) = self {
            error["problems"] = serde_json::to_value(problems).unwrap_or_default();
        }
        if let ApiError::ProviderRefused { code, .. } = self {
            error["providerCode"] = code.code().into();
        }
        if let ApiError::ZegoRefused { code, .. } = self {
            error["providerCode"] = code.code().into();
        }
        serde_json::json!({ "error": error })
    }

    /// What the caller is told; storage and queue details stay in the logs.
    fn public_message(&self) -> String {
        match self {
            ApiError::ProviderRefused { code: ResponseCode::Unauthorized, .. } => {
                "the provider refused the configured accessKey (9101): check the deployment's DeepCleer accessKey and cluster".to_owned()
            }
            ApiError::ZegoRefused { code, message } if code.is_configuration_error() => format!(
                "Zego refused the deployment's configuration ({code}: {message}): check the Zego AppId, ServerSecret and that moderation is enabled for the account"
            ),
            ApiError::Storage(_) => "the task table is unavailable; retry".to_owned(),
            ApiError::Queue(_) => "the event queue is unavailable; retry".to_owned(),
            other => other.to_string(),
        }
    }
}

impl From<ProviderError> for ApiError {
    fn from(error: ProviderError) -> Self {
        match error {
            ProviderError::Timeout => ApiError::ProviderTimeout,
            other => ApiError::ProviderUnavailable(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(code: i64) -> ApiError {
        ApiError::ProviderRefused {
            code: ResponseCode::from_code(code),
            message: "m".into(),
        }
    }

    #[test]
    fn provider_codes_map_to_clear_statuses() {
        assert_eq!(refused(1902).status(), 400);
        assert_eq!(refused(1901).status(), 429);
        assert_eq!(refused(1901).retry_after(), Some(1));
        assert_eq!(refused(1903).status(), 502);
        assert_eq!(refused(1904).status(), 502);
        assert_eq!(refused(9101).status(), 500);
        assert!(
            refused(9101).body()["error"]["message"]
                .as_str()
                .unwrap()
                .contains("accessKey")
        );
        assert_eq!(ApiError::ProviderTimeout.status(), 504);
        assert_eq!(ApiError::from(ProviderError::Unreachable("x".into())).status(), 502);
    }

    #[test]
    fn zego_codes_map_to_clear_statuses() {
        let zego = |code: i64| ApiError::ZegoRefused {
            code: ZegoCode::from_code(code),
            message: "m".into(),
        };
        for code in [50006, 50007, 50009] {
            assert_eq!(zego(code).status(), 502);
            assert_eq!(zego(code).retry_after(), Some(300));
        }
        for code in [50117, 100000004, 100000005, 100000014] {
            assert_eq!(zego(code).status(), 500, "{code}");
            assert!(
                zego(code).body()["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("configuration")
            );
        }
    }

    #[test]
    fn storage_details_stay_out_of_the_body() {
        let error = ApiError::Storage(StoreError("table streamguard in us-east-1: throttled".into()));
        assert_eq!(error.status(), 503);
        assert!(!error.body().to_string().contains("us-east-1"));
    }
}
