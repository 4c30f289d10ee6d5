//! What a cold start needs besides configuration: secrets, read once from
//! SSM SecureStrings (or given directly in local runs), and the one error
//! that stops a function from starting.

use crate::config::{ConfigError, SecretSource};
use crate::domain::Secret;

/// Why a function could not start.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("secret {name}: {problem}")]
    Secret { name: String, problem: String },
    #[error("AWS_REGION is required (Lambda sets it; set it when running a function elsewhere)")]
    Region,
}

/// Resolves secrets through SSM (SecureString, decrypted) with the function's credentials.
pub struct Secrets<'a> {
    sdk: &'a aws_config::SdkConfig,
}

impl<'a> Secrets<'a> {
    pub fn new(sdk: &'a aws_config::SdkConfig) -> Self {
        Secrets { sdk }
    }

    /// The value itself, or the SSM parameter's value.
    pub async fn resolve(&self, source: &SecretSource) -> Result<Secret, InitError> {
        let name = match source {
            SecretSource::Value(value) => return Ok(Secret::new(value.clone())),
            SecretSource::Parameter(name) => name,
        };
        let output = aws_sdk_ssm::Client::new(self.sdk)
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|error| InitError::Secret {
                name: name.clone(),
                problem: aws_sdk_ssm::error::DisplayErrorContext(error).to_string(),
            })?;
        let value = output
            .parameter
            .and_then(|parameter| parameter.value)
            .ok_or_else(|| InitError::Secret {
                name: name.clone(),
                problem: "the parameter has no value".into(),
            })?;
        Ok(Secret::new(value))
    }
}
