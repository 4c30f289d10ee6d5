//! Building each function's service once per cold start: configuration,
//! secrets (SSM SecureString, read once), AWS clients, adapters. Each
//! service holds only what its function may do.

use crate::aws::dynamo::DynamoStore;
use crate::aws::s3::S3Archive;
use crate::aws::sqs::SqsQueue;
use crate::config::{self, Env, SecretSource};
use crate::domain::callback::CallbackHandler;
use crate::domain::close::Closer;
use crate::domain::policy::{CallbackPolicy, ClosePolicy, EvidencePolicy, StartPolicy, WatchdogPolicy};
use crate::domain::start::{CallbackUrls, Starter};
use crate::domain::{Archiver, CallbackKey, CallbackKeys, History, Watchdog};
use crate::fetch::HttpFetcher;
use crate::functions::Function;
use crate::https;
use crate::init::{InitError, Secrets};
use crate::ports::{Clock, SystemClock};
use crate::providers::{self, transport::HttpTransport};
use std::sync::Arc;

/// What `start` runs: it claims tasks and calls providers' start; it publishes nothing.
pub type StartService = Starter<DynamoStore, SystemClock>;
/// What `close` runs: it stops tasks at their providers; it publishes nothing.
pub type CloseService = Closer<DynamoStore, SystemClock>;
/// What `callback` runs: it publishes and calls no provider.
pub type CallbackService = CallbackHandler<DynamoStore, SqsQueue, SystemClock>;
/// What `watchdog` runs, on the clock it is given (the real one in Lambda;
/// tests move theirs).
pub type WatchdogService<C = SystemClock> = Watchdog<DynamoStore, SqsQueue, C>;
/// What `archiver` runs: it reads event records, fetches the provider's
/// media, and writes the evidence archive.
pub type ArchiverService = Archiver<DynamoStore, S3Archive, HttpFetcher, SystemClock>;
/// What `history` runs: it reads event records and signs links to the archive.
pub type HistoryService = History<DynamoStore, S3Archive>;

/// The AWS actions `start` makes (claim: PutItem, and a transaction of two
/// PutItems when it replaces a finished task; undoing a claim: DeleteItem or
/// a PutItem and DeleteItem; transitions: UpdateItem; a duplicate's holder:
/// a Query of `byRequestId`; `GET /streams`: GetItem, a Query counting
/// REJECTs, a Query of `byOpen`; secrets: GetParameter).
/// The template grants exactly these; a test holds the two together and checks
/// every call made in the end-to-end flows against them.
pub const START_ACTIONS: &[&str] = &[
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
    "ssm:GetParameter",
];
/// The AWS actions `close` makes (close by requestId queries the
/// `byRequestId` index; secrets: the providers' credentials).
pub const CLOSE_ACTIONS: &[&str] = &[
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
    "ssm:GetParameter",
];
/// The AWS actions `callback` makes; it never calls the provider and cannot
/// read the accessKey. `GetQueueAttributes` is the queue warm-up at init;
/// PutItem writes event and stray records.
pub const CALLBACK_ACTIONS: &[&str] = &[
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "sqs:GetQueueAttributes",
    "sqs:SendMessage",
    "ssm:GetParameter",
];
/// The AWS actions `watchdog` makes: it queries the open index (and
/// `byRequestId`, whether a live task holds a stray), moves tasks along,
/// publishes (records, queue), and stops provider tasks (their credentials).
pub const WATCHDOG_ACTIONS: &[&str] = &[
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
    "sqs:GetQueueAttributes",
    "sqs:SendMessage",
    "ssm:GetParameter",
];

/// The AWS actions of the archiver's role: it reads event records and
/// records their evidence (GetItem, UpdateItem), finds what an earlier
/// attempt kept (HeadObject, which S3 authorises as GetObject) and writes to
/// the archive;
/// the event source mapping reads the stream, and sends the batches it gives
/// up on to their queue, with the role; S3 uses the archive's KMS key on
/// its behalf.
pub const ARCHIVER_ACTIONS: &[&str] = &[
    "dynamodb:DescribeStream",
    "dynamodb:GetItem",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
    "dynamodb:UpdateItem",
    "kms:GenerateDataKey",
    "s3:GetObject",
    "s3:PutObject",
    "sqs:SendMessage",
];
/// The AWS actions of the history's role: it queries the events index; the
/// links it signs read objects (and decrypt them) as it.
pub const HISTORY_ACTIONS: &[&str] = &["dynamodb:Query", "kms:Decrypt", "s3:GetObject"];
/// The actions of a function's role that its own code never calls, made
/// with the role by AWS: the archiver's event source mapping (the stream's
/// reads, its failure queue), S3's use of the KMS key, and the reads of the
/// links the history signs.
pub fn delegated_actions(function: Function) -> &'static [&'static str] {
    match function {
        Function::Archiver => &[
            "dynamodb:DescribeStream",
            "dynamodb:GetRecords",
            "dynamodb:GetShardIterator",
            "dynamodb:ListStreams",
            "kms:GenerateDataKey",
            "sqs:SendMessage",
        ],
        Function::History => &["kms:Decrypt", "s3:GetObject"],
        _ => &[],
    }
}

/// The AWS actions of each function's role.
pub fn actions(function: Function) -> &'static [&'static str] {
    match function {
        Function::Start => START_ACTIONS,
        Function::Close => CLOSE_ACTIONS,
        Function::Callback => CALLBACK_ACTIONS,
        Function::Watchdog => WATCHDOG_ACTIONS,
        Function::Archiver => ARCHIVER_ACTIONS,
        Function::History => HISTORY_ACTIONS,
    }
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

async fn callback_key(env: &Env, secrets: &Secrets<'_>) -> Result<CallbackKey, InitError> {
    key_from(secrets, &config::callback_key(env)?, "callback-token key").await
}

/// The current key and, during a rotation, the previous one (callback only).
async fn callback_keys(env: &Env, secrets: &Secrets<'_>) -> Result<CallbackKeys, InitError> {
    let previous = match config::previous_callback_key(env) {
        Some(source) => Some(key_from(secrets, &source, "previous callback-token key").await?),
        None => None,
    };
    Ok(CallbackKeys::new(callback_key(env, secrets).await?, previous))
}

async fn key_from(secrets: &Secrets<'_>, source: &SecretSource, name: &str) -> Result<CallbackKey, InitError> {
    let secret = secrets.resolve(source).await?;
    CallbackKey::new(secret.expose().as_bytes(), providers::REGISTERED).map_err(|problem| InitError::Secret {
        name: name.into(),
        problem: problem.into(),
    })
}

fn store(env: &Env, sdk: &aws_config::SdkConfig) -> Result<DynamoStore, InitError> {
    Ok(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        config::table_name(env)?,
    ))
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

/// The service of the `start` function.
pub async fn start_service(env: &Env, sdk: &aws_config::SdkConfig) -> Result<StartService, InitError> {
    let secrets = Secrets::new(sdk);
    let providers = providers::starts(env, &secrets, Arc::new(HttpTransport::default())).await?;
    let callbacks = CallbackUrls {
        key: callback_key(env, &secrets).await?,
        base: config::callback_base_url(env)?,
    };
    let policy = StartPolicy::from_env(env)?;
    let store = store(env, sdk)?;
    open_connections(store.warm_up()).await;
    Ok(Starter {
        store,
        clock: SystemClock,
        providers,
        callbacks,
        policy,
    })
}

/// The service of the `close` function.
pub async fn close_service(env: &Env, sdk: &aws_config::SdkConfig) -> Result<CloseService, InitError> {
    let secrets = Secrets::new(sdk);
    let providers = providers::stops(env, &secrets, Arc::new(HttpTransport::default()), Function::Close).await?;
    let policy = ClosePolicy::from_env(env)?;
    let store = store(env, sdk)?;
    open_connections(store.warm_up()).await;
    Ok(Closer {
        store,
        clock: SystemClock,
        providers,
        policy,
    })
}

/// The service of the `callback` function.
pub async fn callback_service(env: &Env, sdk: &aws_config::SdkConfig) -> Result<CallbackService, InitError> {
    let secrets = Secrets::new(sdk);
    let queue = SqsQueue::new(aws_sdk_sqs::Client::new(sdk), config::queue_url(env)?);
    let readers = providers::readers(env, &secrets).await?;
    let keys = callback_keys(env, &secrets).await?;
    let policy = CallbackPolicy::from_env(env)?;
    let store = store(env, sdk)?;
    // Two hosts, two connections, opened side by side.
    open_connections(async {
        tokio::join!(store.warm_up(), queue.warm_up());
    })
    .await;
    Ok(CallbackHandler::new(store, queue, SystemClock, readers, keys, policy))
}

/// The service of the `watchdog` function, on `clock`.
pub async fn watchdog_service<C: Clock>(
    env: &Env,
    sdk: &aws_config::SdkConfig,
    clock: C,
) -> Result<WatchdogService<C>, InitError> {
    let secrets = Secrets::new(sdk);
    let providers = providers::stops(env, &secrets, Arc::new(HttpTransport::default()), Function::Watchdog).await?;
    let queue = SqsQueue::new(aws_sdk_sqs::Client::new(sdk), config::queue_url(env)?);
    let policy = WatchdogPolicy::from_env(env)?;
    let store = store(env, sdk)?;
    open_connections(async {
        tokio::join!(store.warm_up(), queue.warm_up());
    })
    .await;
    Ok(Watchdog {
        store,
        queue,
        clock,
        providers,
        policy,
    })
}

/// The evidence archive on S3 (its client opens no connection until used).
/// With an endpoint of its own (moto, locally), S3 is addressed by path, as
/// such endpoints expect; in AWS by the bucket's host name.
/// `kms_key_id` is the key new objects are encrypted with: the archiver's;
/// the history writes nothing, and reads with whatever key an object names.
fn archive(env: &Env, sdk: &aws_config::SdkConfig, kms_key_id: Option<String>) -> Result<S3Archive, InitError> {
    let s3 = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    Ok(S3Archive::new(
        aws_sdk_s3::Client::from_conf(s3),
        config::evidence_bucket(env)?,
        kms_key_id,
    ))
}

/// The service of the `archiver` function.
pub async fn archiver_service(env: &Env, sdk: &aws_config::SdkConfig) -> Result<ArchiverService, InitError> {
    let policy = EvidencePolicy::from_env(env)?;
    let archive = archive(env, sdk, config::evidence_kms_key(env))?;
    let store = store(env, sdk)?;
    open_connections(store.warm_up()).await;
    Ok(Archiver {
        store,
        archive,
        fetcher: HttpFetcher::default(),
        clock: SystemClock,
        policy,
    })
}

/// The service of the `history` function.
pub async fn history_service(env: &Env, sdk: &aws_config::SdkConfig) -> Result<HistoryService, InitError> {
    let link_validity = config::evidence_link_validity(env)?;
    let archive = archive(env, sdk, None)?;
    // No warm-up: its role reads the events index only, not the items the
    // warm-up reads; its first request opens the connection.
    let store = store(env, sdk)?;
    Ok(History {
        store,
        archive,
        link_validity,
    })
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
