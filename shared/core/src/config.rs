//! Configuration from environment variables, read once and validated at cold
//! start: a function with a bad configuration fails to start, naming the
//! variable, instead of failing requests later.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `TABLE_NAME` | the task table | required |
//! | `QUEUE_URL` | the event queue (callback function) | required by callback |
//! | `DEEPCLEER_CLUSTER` | `silicon-valley` or `singapore` | `silicon-valley` |
//! | `DEEPCLEER_BASE_URL` | overrides the cluster's base URL (the local run points it at the simulator) | |
//! | `DEEPCLEER_VIDEO_CLUSTER` | `shanghai` or `singapore`, for closing video tasks | `singapore` |
//! | `DEEPCLEER_VIDEO_BASE_URL` | overrides the video cluster's base URL | |
//! | `DEEPCLEER_ACCESS_KEY_PARAMETER` | SSM SecureString holding the accessKey | one of these two, for start and close |
//! | `DEEPCLEER_ACCESS_KEY` | the accessKey itself (local runs only) | |
//! | `CALLBACK_TOKEN_KEY_PARAMETER` | SSM SecureString holding the callback-token key (≥ 16 bytes) | one of these two |
//! | `CALLBACK_TOKEN_KEY` | the key itself (local runs only) | |
//! | `CALLBACK_BASE_URL` | public base URL of the callback route | derived from the request's host |
//! | `DEFAULT_APP_ID`, `DEFAULT_EVENT_ID` | used when a start omits them | |
//! | `PUBLISHED_RISK_LEVELS` | comma-separated levels published to the queue | `REJECT` |
//! | `PROVIDER_START_TIMEOUT_MS` / `PROVIDER_CLOSE_TIMEOUT_MS` / `PROVIDER_VIDEO_CLOSE_TIMEOUT_MS` | provider timeouts | 5000 / 1000 / 7000 |
//! | `START_ATTEMPTS` / `CLOSE_ATTEMPTS` | attempts before giving up | 2 / 3 |
//! | `STARTING_LEASE_SECS` | how long a STARTING task holds its btId | 30 |
//! | `EVENT_RETENTION_DAYS` | how long published-event records are kept | 7 |
//! | `PROGRESS_INTERVAL_SECS` | at most one progress write per task per interval | 60 |
//! | `PROVIDER` | `deepcleer` or `zego`: the deployment's provider (a start may override it) | `deepcleer` |
//! | `ZEGO_BASE_URL` | Zego's server API | `https://rtc-api.zego.im` |
//! | `ZEGO_API_SECRET_PARAMETER` | SSM SecureString `{"appId": 123, "serverSecret": "…"}` (start, close) | Zego disabled |
//! | `ZEGO_APP_ID`, `ZEGO_SERVER_SECRET` | the same, local runs only | |
//! | `ZEGO_CALLBACK_SECRET_PARAMETER` | SSM SecureString with Zego's callback secret (callback) | Zego disabled |
//! | `ZEGO_CALLBACK_SECRET` | the same, local runs only | |
//! | `ZEGO_DEFAULT_EVENT_ID` | Zego `EventId` when the start's `eventId` is not one of Zego's | `audio_room` |

use std::time::Duration;
use wire::deepcleer::{AudioCluster, RiskLevel, VideoCluster};

/// Every variable the functions read, with the functions that use it. An
/// empty list marks a local-only substitute that a deployment never sets
/// (plain-text secrets, `RUST_LOG`). The template test holds `template.yaml`
/// to this list: each function gets exactly its variables.
pub const VARIABLES: &[(&str, &[&str])] = &[
    ("TABLE_NAME", &["start", "close", "callback"]),
    ("QUEUE_URL", &["callback"]),
    ("DEEPCLEER_CLUSTER", &["start", "close"]),
    ("DEEPCLEER_BASE_URL", &["start", "close"]),
    ("DEEPCLEER_VIDEO_CLUSTER", &["close"]),
    ("DEEPCLEER_VIDEO_BASE_URL", &["close"]),
    ("DEEPCLEER_ACCESS_KEY_PARAMETER", &["start", "close"]),
    ("DEEPCLEER_ACCESS_KEY", &[]),
    ("CALLBACK_TOKEN_KEY_PARAMETER", &["start", "close", "callback"]),
    ("CALLBACK_TOKEN_KEY", &[]),
    ("CALLBACK_BASE_URL", &["start"]),
    ("DEFAULT_APP_ID", &["start"]),
    ("DEFAULT_EVENT_ID", &["start"]),
    ("PUBLISHED_RISK_LEVELS", &["callback"]),
    ("PROVIDER_START_TIMEOUT_MS", &["start"]),
    ("PROVIDER_CLOSE_TIMEOUT_MS", &["close"]),
    ("PROVIDER_VIDEO_CLOSE_TIMEOUT_MS", &["close"]),
    ("START_ATTEMPTS", &["start"]),
    ("CLOSE_ATTEMPTS", &["close"]),
    ("STARTING_LEASE_SECS", &["start"]),
    ("EVENT_RETENTION_DAYS", &["callback"]),
    ("PROGRESS_INTERVAL_SECS", &["callback"]),
    ("PROVIDER", &["start"]),
    ("ZEGO_BASE_URL", &["start", "close"]),
    ("ZEGO_API_SECRET_PARAMETER", &["start", "close"]),
    ("ZEGO_APP_ID", &[]),
    ("ZEGO_SERVER_SECRET", &[]),
    ("ZEGO_CALLBACK_SECRET_PARAMETER", &["callback"]),
    ("ZEGO_CALLBACK_SECRET", &[]),
    ("ZEGO_DEFAULT_EVENT_ID", &["start"]),
    ("LOG_LEVEL", &["start", "close", "callback"]),
    ("RUST_LOG", &[]),
];

/// A configuration problem, naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

fn problem(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

/// A secret given directly (local) or by SSM parameter name (AWS).
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    Value(String),
    Parameter(String),
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretSource::Value(_) => f.write_str("Value(<redacted>)"),
            SecretSource::Parameter(name) => write!(f, "Parameter({name})"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    pub queue_url: Option<String>,
    pub audio_base_url: String,
    pub video_base_url: String,
    /// Only start and close call the provider; the callback function has no accessKey.
    pub access_key: Option<SecretSource>,
    pub callback_token_key: SecretSource,
    pub callback_base_url: Option<String>,
    pub default_app_id: Option<String>,
    pub default_event_id: Option<String>,
    pub published_levels: Vec<RiskLevel>,
    pub start_timeout: Duration,
    pub close_timeout: Duration,
    pub video_close_timeout: Duration,
    pub start_attempts: u32,
    pub close_attempts: u32,
    pub starting_lease: Duration,
    pub event_retention: Duration,
    pub progress_interval: Duration,
    /// The deployment's provider; a start may name another.
    pub provider: wire::event::Provider,
    pub zego_base_url: String,
    /// AppId and ServerSecret: a JSON parameter, or the two local values.
    pub zego_api: Option<ZegoApiSource>,
    pub zego_callback_secret: Option<SecretSource>,
    pub zego_default_event_id: String,
}

/// Where Zego's AppId and ServerSecret come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZegoApiSource {
    /// An SSM SecureString holding `{"appId": 123, "serverSecret": "…"}`.
    Parameter(String),
    /// Local runs: the values themselves.
    Values { app_id: u32, server_secret: SecretSource },
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let table_name = get("TABLE_NAME").ok_or_else(|| problem("TABLE_NAME", "is required"))?;
        let audio_base_url = match get("DEEPCLEER_BASE_URL") {
            Some(url) => base_url("DEEPCLEER_BASE_URL", &url)?,
            None => {
                let cluster = get("DEEPCLEER_CLUSTER").unwrap_or_else(|| "silicon-valley".into());
                AudioCluster::from_config(&cluster)
                    .ok_or_else(|| {
                        problem(
                            "DEEPCLEER_CLUSTER",
                            format!("{cluster:?} is not silicon-valley or singapore"),
                        )
                    })?
                    .base_url()
                    .to_owned()
            }
        };
        let video_base_url = match get("DEEPCLEER_VIDEO_BASE_URL") {
            Some(url) => base_url("DEEPCLEER_VIDEO_BASE_URL", &url)?,
            None => {
                let cluster = get("DEEPCLEER_VIDEO_CLUSTER").unwrap_or_else(|| "singapore".into());
                VideoCluster::from_config(&cluster)
                    .ok_or_else(|| {
                        problem(
                            "DEEPCLEER_VIDEO_CLUSTER",
                            format!("{cluster:?} is not shanghai or singapore"),
                        )
                    })?
                    .base_url()
                    .to_owned()
            }
        };
        let secret = |value: &'static str, parameter: &'static str| match (get(parameter), get(value)) {
            (Some(name), _) => Ok(SecretSource::Parameter(name)),
            (None, Some(value)) => Ok(SecretSource::Value(value)),
            (None, None) => Err(problem(parameter, format!("is required (or {value} for local runs)"))),
        };
        let number = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(text) => text
                    .parse::<u64>()
                    .map_err(|_| problem(name, format!("{text:?} is not a whole number"))),
            }
        };
        let published_levels = match get("PUBLISHED_RISK_LEVELS") {
            None => vec![RiskLevel::Reject],
            Some(list) => {
                let levels: Vec<RiskLevel> = list.split(',').map(|level| RiskLevel::parse(level.trim())).collect();
                if let Some(unknown) = levels.iter().find(|level| !level.is_known()) {
                    return Err(problem(
                        "PUBLISHED_RISK_LEVELS",
                        format!("{unknown} is not PASS, REVIEW or REJECT"),
                    ));
                }
                levels
            }
        };
        let callback_base_url = get("CALLBACK_BASE_URL")
            .map(|url| base_url("CALLBACK_BASE_URL", &url))
            .transpose()?;
        let attempts = |name: &'static str, default: u64| -> Result<u32, ConfigError> {
            match number(name, default)? {
                0 => Err(problem(name, "must be at least 1")),
                value => Ok(value.min(10) as u32),
            }
        };
        Ok(Config {
            table_name,
            queue_url: get("QUEUE_URL"),
            audio_base_url,
            video_base_url,
            access_key: secret("DEEPCLEER_ACCESS_KEY", "DEEPCLEER_ACCESS_KEY_PARAMETER").ok(),
            callback_token_key: secret("CALLBACK_TOKEN_KEY", "CALLBACK_TOKEN_KEY_PARAMETER")?,
            callback_base_url,
            default_app_id: get("DEFAULT_APP_ID"),
            default_event_id: get("DEFAULT_EVENT_ID"),
            published_levels,
            start_timeout: Duration::from_millis(number("PROVIDER_START_TIMEOUT_MS", 5_000)?),
            close_timeout: Duration::from_millis(number("PROVIDER_CLOSE_TIMEOUT_MS", 1_000)?),
            video_close_timeout: Duration::from_millis(number("PROVIDER_VIDEO_CLOSE_TIMEOUT_MS", 7_000)?),
            start_attempts: attempts("START_ATTEMPTS", 2)?,
            close_attempts: attempts("CLOSE_ATTEMPTS", 3)?,
            starting_lease: Duration::from_secs(number("STARTING_LEASE_SECS", 30)?),
            event_retention: Duration::from_secs(number("EVENT_RETENTION_DAYS", 7)? * 24 * 3600),
            progress_interval: Duration::from_secs(number("PROGRESS_INTERVAL_SECS", 60)?),
            provider: match get("PROVIDER").as_deref() {
                None | Some("deepcleer") => wire::event::Provider::Deepcleer,
                Some("zego") => wire::event::Provider::Zego,
                Some(other) => return Err(problem("PROVIDER", format!("{other:?} is not deepcleer or zego"))),
            },
            zego_base_url: match get("ZEGO_BASE_URL") {
                Some(url) => base_url("ZEGO_BASE_URL", &url)?,
                None => wire::zego::DEFAULT_BASE_URL.to_owned(),
            },
            zego_api: match (
                get("ZEGO_API_SECRET_PARAMETER"),
                get("ZEGO_APP_ID"),
                get("ZEGO_SERVER_SECRET"),
            ) {
                (Some(name), _, _) => Some(ZegoApiSource::Parameter(name)),
                (None, Some(app_id), Some(secret)) => Some(ZegoApiSource::Values {
                    app_id: app_id
                        .parse()
                        .map_err(|_| problem("ZEGO_APP_ID", "is not an unsigned 32-bit number"))?,
                    server_secret: SecretSource::Value(secret),
                }),
                (None, None, None) => None,
                _ => return Err(problem("ZEGO_APP_ID", "ZEGO_APP_ID and ZEGO_SERVER_SECRET go together")),
            },
            zego_callback_secret: get("ZEGO_CALLBACK_SECRET_PARAMETER")
                .map(SecretSource::Parameter)
                .or_else(|| get("ZEGO_CALLBACK_SECRET").map(SecretSource::Value)),
            zego_default_event_id: {
                let event = get("ZEGO_DEFAULT_EVENT_ID").unwrap_or_else(|| "audio_room".into());
                if !wire::zego::ZegoEventId::parse(&event).is_known() {
                    return Err(problem(
                        "ZEGO_DEFAULT_EVENT_ID",
                        format!("{event:?} is not live_streaming, audio_room or private_chat"),
                    ));
                }
                event
            },
        })
    }

    /// The accessKey's source, for functions that call the provider.
    pub fn require_access_key(&self) -> Result<&SecretSource, ConfigError> {
        self.access_key.as_ref().ok_or_else(|| {
            problem(
                "DEEPCLEER_ACCESS_KEY_PARAMETER",
                "is required by start and close (or DEEPCLEER_ACCESS_KEY for local runs)",
            )
        })
    }

    /// The queue URL, for functions that publish.
    pub fn require_queue(&self) -> Result<&str, ConfigError> {
        self.queue_url
            .as_deref()
            .ok_or_else(|| problem("QUEUE_URL", "is required by the callback function"))
    }
}

/// An http(s) URL without a trailing slash.
fn base_url(variable: &'static str, value: &str) -> Result<String, ConfigError> {
    let parsed =
        url::Url::parse(value).map_err(|error| problem(variable, format!("{value:?} is not a URL ({error})")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(problem(variable, format!("{value:?} must be http or https")));
    }
    Ok(value.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    const MINIMAL: &[(&str, &str)] = &[
        ("TABLE_NAME", "t"),
        ("DEEPCLEER_ACCESS_KEY_PARAMETER", "/sg/ak"),
        ("CALLBACK_TOKEN_KEY_PARAMETER", "/sg/ck"),
    ];

    #[test]
    fn defaults_follow_the_reference() {
        let config = config(MINIMAL).unwrap();
        assert_eq!(config.audio_base_url, "http://api-audiostream-gg.fengkongcloud.com");
        assert_eq!(config.video_base_url, "http://api-videostream-xjp.fengkongcloud.com");
        assert_eq!(config.start_timeout, Duration::from_secs(5));
        assert_eq!(config.close_timeout, Duration::from_secs(1));
        assert_eq!(config.video_close_timeout, Duration::from_secs(7));
        assert_eq!(config.published_levels, vec![RiskLevel::Reject]);
        assert_eq!(config.access_key, Some(SecretSource::Parameter("/sg/ak".into())));
        assert!(config.require_queue().is_err());
    }

    #[test]
    fn the_base_url_override_wins_over_the_cluster() {
        let mut pairs = MINIMAL.to_vec();
        pairs.extend([
            ("DEEPCLEER_CLUSTER", "singapore"),
            ("DEEPCLEER_BASE_URL", "http://127.0.0.1:8710/"),
        ]);
        assert_eq!(config(&pairs).unwrap().audio_base_url, "http://127.0.0.1:8710");
        let mut pairs = MINIMAL.to_vec();
        pairs.push(("DEEPCLEER_CLUSTER", "singapore"));
        assert_eq!(
            config(&pairs).unwrap().audio_base_url,
            "http://api-audiostream-xjp.fengkongcloud.com"
        );
    }

    #[test]
    fn problems_name_the_variable() {
        assert_eq!(config(&[]).unwrap_err().variable, "TABLE_NAME");
        assert_eq!(
            config(&[("TABLE_NAME", "t")]).unwrap_err().variable,
            "CALLBACK_TOKEN_KEY_PARAMETER"
        );
        let without_key = config(&[("TABLE_NAME", "t"), ("CALLBACK_TOKEN_KEY", "k")]).unwrap();
        assert_eq!(
            without_key.require_access_key().unwrap_err().variable,
            "DEEPCLEER_ACCESS_KEY_PARAMETER"
        );
        let bad = |pair: (&'static str, &'static str)| {
            let mut pairs = MINIMAL.to_vec();
            pairs.push(pair);
            config(&pairs).unwrap_err()
        };
        assert_eq!(bad(("DEEPCLEER_CLUSTER", "beijing")).variable, "DEEPCLEER_CLUSTER");
        assert_eq!(bad(("DEEPCLEER_BASE_URL", "ftp://x")).variable, "DEEPCLEER_BASE_URL");
        assert_eq!(
            bad(("PUBLISHED_RISK_LEVELS", "REJECT,BLOCK")).variable,
            "PUBLISHED_RISK_LEVELS"
        );
        assert_eq!(bad(("START_ATTEMPTS", "0")).variable, "START_ATTEMPTS");
        assert_eq!(
            bad(("PROVIDER_START_TIMEOUT_MS", "soon")).variable,
            "PROVIDER_START_TIMEOUT_MS"
        );
        assert!(
            !format!(
                "{:?}",
                config(&[
                    ("TABLE_NAME", "t"),
                    ("DEEPCLEER_ACCESS_KEY", "AK-SECRET"),
                    ("CALLBACK_TOKEN_KEY", "k")
                ])
                .unwrap()
            )
            .contains("AK-SECRET")
        );
    }

    #[test]
    fn the_variable_list_is_what_configuration_reads() {
        let read = std::cell::RefCell::new(std::collections::BTreeSet::new());
        for base_url in [None, Some("http://127.0.0.1:1")] {
            let _ = Config::from_lookup(|name| {
                read.borrow_mut().insert(name.to_owned());
                match name {
                    "DEEPCLEER_BASE_URL" | "DEEPCLEER_VIDEO_BASE_URL" => base_url.map(str::to_owned),
                    "ZEGO_APP_ID" if base_url.is_some() => Some("1".into()),
                    "ZEGO_SERVER_SECRET" if base_url.is_some() => Some("s".into()),
                    "TABLE_NAME" | "CALLBACK_TOKEN_KEY" => Some("0123456789abcdef".into()),
                    _ => None,
                }
            });
        }
        let mut read = read.into_inner();
        read.insert("LOG_LEVEL".into()); // read by telemetry::init
        read.insert("RUST_LOG".into());
        let listed: std::collections::BTreeSet<String> = VARIABLES.iter().map(|(name, _)| name.to_string()).collect();
        assert_eq!(read, listed);
    }

    #[test]
    fn published_levels_are_configurable() {
        let mut pairs = MINIMAL.to_vec();
        pairs.push(("PUBLISHED_RISK_LEVELS", "REJECT, review"));
        assert_eq!(
            config(&pairs).unwrap().published_levels,
            vec![RiskLevel::Reject, RiskLevel::Review]
        );
    }
}
