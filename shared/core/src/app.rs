//! Building each function's service once per cold start: configuration,
//! secrets (SSM SecureString, read once), AWS clients, adapters.

use crate::adapters::deepcleer::{Endpoints, HttpProvider, ZegoClient};
use crate::adapters::dynamo::DynamoStore;
use crate::adapters::https;
use crate::adapters::null::{NoProvider, NoQueue};
use crate::adapters::sqs::SqsQueue;
use crate::config::{Config, SecretSource, ZegoApiSource};
use crate::domain::{CallbackKey, Policy, Secret, Streamguard};
use crate::ports::SystemClock;

/// What `start` and `close` run: they call the provider and publish nothing.
pub type ControlService = Streamguard<DynamoStore, NoQueue, HttpProvider, SystemClock>;
/// What `callback` runs: it publishes and calls no provider.
pub type CallbackService = Streamguard<DynamoStore, SqsQueue, NoProvider, SystemClock>;

/// The AWS actions `start` makes (claim: PutItem; transitions: UpdateItem;
/// `GET /streams`: GetItem and a Query counting REJECTs; secrets: GetParameter).
/// The template grants exactly these; a test holds the two together and checks
/// every call made in the end-to-end flows against them.
pub const START_ACTIONS: &[&str] = &[
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
    "ssm:GetParameter",
];
/// The AWS actions `close` makes (close by requestId queries the `byRequestId` index).
pub const CLOSE_ACTIONS: &[&str] = &[
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
    "ssm:GetParameter",
];
/// The AWS actions `callback` makes; it never calls the provider and cannot
/// read the accessKey. `GetQueueAttributes` is the queue warm-up at init.
pub const CALLBACK_ACTIONS: &[&str] = &[
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "sqs:GetQueueAttributes",
    "sqs:SendMessage",
    "ssm:GetParameter",
];

/// Why a function could not start.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("configuration: {0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("secret {name}: {problem}")]
    Secret { name: String, problem: String },
    #[error("AWS_REGION is required (Lambda sets it; set it when running a function elsewhere)")]
    Region,
}

/// The AWS SDK configuration of a function inside Lambda: the region, the
/// role's credentials and (locally) `AWS_ENDPOINT_URL`, read from the
/// environment that Lambda sets, and the shared HTTP client
/// ([`https::sdk_http_client`]). Not aws-config's default chain: profiles,
/// SSO, web identity (STS), IMDS and container credentials never apply inside
/// Lambda, and linking them cost every package about 0.1 MB
/// (docs/performance.md).
pub fn lambda_aws_config() -> Result<aws_config::SdkConfig, InitError> {
    lambda_aws_config_from(|name| std::env::var(name).ok())
}

/// [`lambda_aws_config`] with the environment read through `lookup` (tests pass a map).
pub fn lambda_aws_config_from(lookup: impl Fn(&str) -> Option<String>) -> Result<aws_config::SdkConfig, InitError> {
    use aws_config::environment::EnvironmentVariableCredentialsProvider;
    use aws_credential_types::provider::SharedCredentialsProvider;
    let setting = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
    let region = setting("AWS_REGION").ok_or(InitError::Region)?;
    let mut builder = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region))
        .http_client(https::sdk_http_client())
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ));
    if let Some(endpoint_url) = setting("AWS_ENDPOINT_URL") {
        builder = builder.endpoint_url(endpoint_url);
    }
    Ok(builder.build())
}

/// The AWS SDK configuration for tools outside Lambda (the dev server, tests):
/// aws-config's whole default chain, so profiles and SSO work too.
pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config_loader().load().await
}

/// aws-config's default chain over the shared HTTP client, for callers that
/// set more (an endpoint, test credentials) before loading. The SDK crates are
/// built without their own default client, so every `SdkConfig` of the
/// workspace is made here or in [`lambda_aws_config`].
pub fn aws_config_loader() -> aws_config::ConfigLoader {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(https::sdk_http_client())
}

/// Resolves a secret: the value itself, or an SSM SecureString read with decryption.
pub async fn resolve(source: &SecretSource, sdk: &aws_config::SdkConfig) -> Result<Secret, InitError> {
    match source {
        SecretSource::Value(value) => Ok(Secret::new(value.clone())),
        SecretSource::Parameter(name) => {
            let ssm = aws_sdk_ssm::Client::new(sdk);
            let output = ssm
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
}

/// The policy; `access_key` is absent for the callback function, which calls no provider.
async fn policy(config: &Config, sdk: &aws_config::SdkConfig, access_key: Secret) -> Result<Policy, InitError> {
    let key_secret = resolve(&config.callback_token_key, sdk).await?;
    let callback_key = CallbackKey::new(key_secret.expose().as_bytes()).map_err(|problem| InitError::Secret {
        name: "callback-token key".into(),
        problem: problem.into(),
    })?;
    let mut policy = Policy::new(access_key, callback_key);
    policy.default_app_id = config.default_app_id.clone();
    policy.default_event_id = config.default_event_id.clone();
    policy.published_levels = config.published_levels.clone();
    policy.start_attempts = config.start_attempts;
    policy.close_attempts = config.close_attempts;
    policy.starting_lease = config.starting_lease;
    policy.event_retention = config.event_retention;
    policy.progress_interval = config.progress_interval;
    policy.default_provider = config.provider;
    policy.zego_default_event_id = config.zego_default_event_id.clone();
    Ok(policy)
}

/// Zego's AppId and ServerSecret, when configured.
async fn zego_client(config: &Config, sdk: &aws_config::SdkConfig) -> Result<Option<ZegoClient>, InitError> {
    let (app_id, server_secret) = match &config.zego_api {
        None => return Ok(None),
        Some(ZegoApiSource::Values { app_id, server_secret }) => (*app_id, resolve(server_secret, sdk).await?),
        Some(ZegoApiSource::Parameter(name)) => {
            #[derive(serde::Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct Credentials {
                app_id: u32,
                server_secret: String,
            }
            let value = resolve(&SecretSource::Parameter(name.clone()), sdk).await?;
            let credentials: Credentials = serde_json::from_str(value.expose()).map_err(|_| InitError::Secret {
                name: name.clone(),
                problem: r#"is not {"appId": <number>, "serverSecret": "<text>"}"#.into(),
            })?;
            (credentials.app_id, Secret::new(credentials.server_secret))
        }
    };
    Ok(Some(ZegoClient {
        base_url: config.zego_base_url.clone(),
        app_id,
        server_secret,
        timeout: config.start_timeout,
    }))
}

fn store(config: &Config, sdk: &aws_config::SdkConfig) -> DynamoStore {
    DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), &config.table_name)
}

/// Opens, during init, the connections the first request will use, and logs
/// how long that took: it is most of a cold start's init, and it is round
/// trips to AWS, not work of the function (the cold-start benchmark reads
/// `warm_up_ms` to tell the two apart).
async fn open_connections(connections: impl std::future::Future<Output = ()>) {
    let started = std::time::Instant::now();
    connections.await;
    let warm_up_ms = started.elapsed().as_secs_f64() * 1e3;
    tracing::info!(warm_up_ms, "connections opened");
}

/// The service of the `start` and `close` functions.
pub async fn control_service(config: &Config, sdk: &aws_config::SdkConfig) -> Result<ControlService, InitError> {
    let zego = zego_client(config, sdk).await?;
    // A Zego-only deployment has no DeepCleer key; DeepCleer would then answer 9101, named clearly.
    let access_key = match (&config.access_key, &zego) {
        (Some(source), _) => resolve(source, sdk).await?,
        (None, Some(_)) => Secret::new(String::new()),
        (None, None) => return Err(config.require_access_key().unwrap_err().into()),
    };
    let mut policy = policy(config, sdk, access_key.clone()).await?;
    policy.zego_enabled = zego.is_some();
    let endpoints = Endpoints {
        audio_base_url: config.audio_base_url.clone(),
        video_base_url: config.video_base_url.clone(),
        start_timeout: config.start_timeout,
        close_timeout: config.close_timeout,
        video_close_timeout: config.video_close_timeout,
    };
    let table = store(config, sdk);
    open_connections(table.warm_up()).await;
    Ok(Streamguard::new(
        table,
        NoQueue,
        HttpProvider::new(endpoints, access_key, zego),
        SystemClock,
        policy,
    ))
}

/// The service of the `callback` function.
pub async fn callback_service(config: &Config, sdk: &aws_config::SdkConfig) -> Result<CallbackService, InitError> {
    let queue_url = config.require_queue()?;
    // Never used: the callback function calls no provider, and cannot read the accessKey.
    let mut policy = policy(config, sdk, Secret::new(String::new())).await?;
    if let Some(source) = &config.zego_callback_secret {
        policy.zego_callback_secret = Some(resolve(source, sdk).await?);
    }
    let queue = SqsQueue::new(aws_sdk_sqs::Client::new(sdk), queue_url);
    let table = store(config, sdk);
    // Two hosts, two connections, opened side by side.
    open_connections(async {
        tokio::join!(table.warm_up(), queue.warm_up());
    })
    .await;
    Ok(Streamguard::new(table, queue, NoProvider, SystemClock, policy))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environment(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn the_lambda_configuration_takes_region_and_endpoint_from_the_environment() {
        let sdk = lambda_aws_config_from(environment(&[
            ("AWS_REGION", "ap-southeast-1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ]))
        .unwrap();
        assert_eq!(sdk.region().map(|region| region.as_ref()), Some("ap-southeast-1"));
        assert_eq!(sdk.endpoint_url(), Some("http://127.0.0.1:5000"));
        assert!(sdk.credentials_provider().is_some());
        // The SDK crates have no default client: without this, every call would fail.
        assert!(sdk.http_client().is_some());
    }

    #[test]
    fn the_lambda_configuration_uses_aws_endpoints_unless_told_otherwise() {
        let sdk =
            lambda_aws_config_from(environment(&[("AWS_REGION", "us-east-1"), ("AWS_ENDPOINT_URL", " ")])).unwrap();
        assert_eq!(sdk.endpoint_url(), None);
    }

    #[test]
    fn a_missing_region_is_named() {
        let error = lambda_aws_config_from(environment(&[])).unwrap_err();
        assert!(matches!(error, InitError::Region));
        assert!(error.to_string().starts_with("AWS_REGION is required"), "{error}");
    }
}
