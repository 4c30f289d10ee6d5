//! Configuration from environment variables, read once and validated at cold
//! start: a function with a bad configuration fails to start, naming the
//! variable, instead of failing requests later.
//!
//! Every variable is declared once, with its default, in [`variables`]; each
//! concern reads its own typed settings through [`Env`]. The domain's
//! policies are such settings ([`crate::domain::policy`]): they are read
//! here, not copied.

pub mod variables;

use crate::domain::policy::{CallbackPolicy, ClosePolicy, EvidencePolicy, StartPolicy, WatchdogPolicy};
use std::time::Duration;
use streamguard_wire::event::RiskLevel;
use variables::*;
pub use variables::{VARIABLES, Variable};

/// A configuration problem, naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl ConfigError {
    pub fn new(variable: &Variable, problem: impl Into<String>) -> Self {
        ConfigError {
            variable: variable.name,
            problem: problem.into(),
        }
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

type Lookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The environment, read only through declared [`Variable`]s.
pub struct Env {
    lookup: Lookup,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Env")
    }
}

impl Env {
    /// The process environment.
    pub fn process() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// An environment read through `lookup` (tests, the dev server).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Env {
            lookup: Box::new(lookup),
        }
    }

    /// An environment of these pairs only.
    pub fn from_pairs<K: ToString, V: ToString>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        let map: std::collections::HashMap<String, String> = pairs
            .into_iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        Self::from_lookup(move |name| map.get(name).cloned())
    }

    /// The value as set: trimmed, `None` when unset or blank.
    pub fn set(&self, variable: &Variable) -> Option<String> {
        debug_assert!(
            VARIABLES.contains(&variable),
            "{} is not in the variable table",
            variable.name
        );
        (self.lookup)(variable.name)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    /// The value, or its default.
    pub fn text(&self, variable: &Variable) -> Option<String> {
        self.set(variable).or_else(|| variable.default.map(str::to_owned))
    }

    pub fn required(&self, variable: &Variable) -> Result<String, ConfigError> {
        self.text(variable)
            .ok_or_else(|| ConfigError::new(variable, "is required"))
    }

    /// A whole number (the variable must have a default or be set).
    pub fn whole_number(&self, variable: &Variable) -> Result<u64, ConfigError> {
        let text = self.required(variable)?;
        text.parse::<u64>()
            .map_err(|_| ConfigError::new(variable, format!("{text:?} is not a whole number")))
    }

    pub fn millis(&self, variable: &Variable) -> Result<Duration, ConfigError> {
        self.whole_number(variable).map(Duration::from_millis)
    }

    pub fn seconds(&self, variable: &Variable) -> Result<Duration, ConfigError> {
        self.whole_number(variable).map(Duration::from_secs)
    }

    /// Attempts: at least 1, at most 10.
    pub fn attempts(&self, variable: &Variable) -> Result<u32, ConfigError> {
        match self.whole_number(variable)? {
            0 => Err(ConfigError::new(variable, "must be at least 1")),
            value => Ok(value.min(10) as u32),
        }
    }

    /// An http(s) URL without a trailing slash, when set (or defaulted).
    /// `true` or `false`.
    pub fn flag(&self, variable: &Variable) -> Result<bool, ConfigError> {
        match self.required(variable)?.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(ConfigError::new(
                variable,
                format!("must be true or false (is {other:?})"),
            )),
        }
    }

    pub fn base_url(&self, variable: &Variable) -> Result<Option<String>, ConfigError> {
        let Some(value) = self.text(variable) else {
            return Ok(None);
        };
        let parsed = url::Url::parse(&value)
            .map_err(|error| ConfigError::new(variable, format!("{value:?} is not a URL ({error})")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ConfigError::new(variable, format!("{value:?} must be http or https")));
        }
        Ok(Some(value.trim_end_matches('/').to_owned()))
    }

    /// A secret: its SSM parameter (deployments) or its value (local runs).
    pub fn secret(&self, parameter: &Variable, value: &Variable) -> Option<SecretSource> {
        self.set(parameter)
            .map(SecretSource::Parameter)
            .or_else(|| self.set(value).map(SecretSource::Value))
    }
}

/// The task table.
pub fn table_name(env: &Env) -> Result<String, ConfigError> {
    env.required(&TABLE_NAME)
}

/// The event queue.
pub fn queue_url(env: &Env) -> Result<String, ConfigError> {
    env.required(&QUEUE_URL)
}

/// The previous callback-token key's source, during a key rotation.
pub fn previous_callback_key(env: &Env) -> Option<SecretSource> {
    env.secret(&CALLBACK_TOKEN_PREVIOUS_KEY_PARAMETER, &CALLBACK_TOKEN_PREVIOUS_KEY)
}

/// The callback-token key's source.
pub fn callback_key(env: &Env) -> Result<SecretSource, ConfigError> {
    env.secret(&CALLBACK_TOKEN_KEY_PARAMETER, &CALLBACK_TOKEN_KEY)
        .ok_or_else(|| {
            ConfigError::new(
                &CALLBACK_TOKEN_KEY_PARAMETER,
                "is required (or CALLBACK_TOKEN_KEY for local runs)",
            )
        })
}

/// The public base URL of the callback route, when configured.
pub fn callback_base_url(env: &Env) -> Result<Option<String>, ConfigError> {
    env.base_url(&CALLBACK_BASE_URL)
}

/// How long finished tasks and published-event records are kept.
fn retention(env: &Env) -> Result<Duration, ConfigError> {
    Ok(Duration::from_secs(
        env.whole_number(&EVENT_RETENTION_DAYS)? * 24 * 3600,
    ))
}

/// How long after the longest stream a callback token stays valid: the
/// provider's retries of the last callbacks, and the stream end after a close.
pub const TOKEN_MARGIN: Duration = Duration::from_secs(24 * 3600);
/// A token's lifetime when no maximum stream length is set (`MAX_STREAM_SECS` 0).
pub const TOKEN_LIFETIME_UNLIMITED: Duration = Duration::from_secs(30 * 24 * 3600);

impl StartPolicy {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let max_stream = env.seconds(&MAX_STREAM_SECS)?;
        Ok(StartPolicy {
            attempts: env.attempts(&START_ATTEMPTS)?,
            starting_lease: env.seconds(&STARTING_LEASE_SECS)?,
            retention: retention(env)?,
            token_lifetime: if max_stream.is_zero() {
                TOKEN_LIFETIME_UNLIMITED
            } else {
                max_stream + TOKEN_MARGIN
            },
        })
    }
}

impl ClosePolicy {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(ClosePolicy {
            attempts: env.attempts(&CLOSE_ATTEMPTS)?,
            retention: retention(env)?,
        })
    }
}

impl WatchdogPolicy {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let max_stream = env.seconds(&MAX_STREAM_SECS)?;
        Ok(WatchdogPolicy {
            stale_after: env.seconds(&STALE_AFTER_SECS)?,
            max_stream: (!max_stream.is_zero()).then_some(max_stream),
            grace: env.seconds(&GRACE_SECS)?,
            close_retry_for: env.seconds(&CLOSE_RETRY_SECS)?,
            retention: retention(env)?,
        })
    }
}

impl CallbackPolicy {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let list = env.required(&PUBLISHED_RISK_LEVELS)?;
        let published_levels: Vec<RiskLevel> = list.split(',').map(|level| RiskLevel::parse(level.trim())).collect();
        if let Some(unknown) = published_levels.iter().find(|level| !level.is_known()) {
            return Err(ConfigError::new(
                &PUBLISHED_RISK_LEVELS,
                format!("{unknown} is not PASS, REVIEW or REJECT"),
            ));
        }
        Ok(CallbackPolicy {
            published_levels,
            retention: retention(env)?,
            progress_interval: env.seconds(&PROGRESS_INTERVAL_SECS)?,
        })
    }
}

/// The defaults of the variable table, for tests and tools.
macro_rules! default_from_table {
    ($($policy:ty),+) => {$(
        impl Default for $policy {
            fn default() -> Self {
                Self::from_env(&Env::from_pairs::<&str, &str>([])).expect("the variable table's defaults are valid")
            }
        }
    )+};
}
impl EvidencePolicy {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let max_bytes = env.whole_number(&EVIDENCE_MAX_BYTES)?;
        Ok(EvidencePolicy {
            fetch_attempts: env.attempts(&EVIDENCE_FETCH_ATTEMPTS)?,
            fetch_backoff: env.millis(&EVIDENCE_FETCH_BACKOFF_MS)?,
            fetch_timeout: env.millis(&EVIDENCE_FETCH_TIMEOUT_MS)?,
            max_bytes: usize::try_from(max_bytes).map_err(|_| ConfigError::new(&EVIDENCE_MAX_BYTES, "is too large"))?,
            allow_http: env.flag(&EVIDENCE_ALLOW_HTTP)?,
        })
    }
}

/// The evidence archive's bucket.
pub fn evidence_bucket(env: &Env) -> Result<String, ConfigError> {
    env.required(&EVIDENCE_BUCKET)
}

/// The KMS key the archive's objects are encrypted with, when set.
pub fn evidence_kms_key(env: &Env) -> Option<String> {
    env.set(&EVIDENCE_KMS_KEY_ID)
}

/// How long the history's links stay valid: from a second to a week, the
/// longest a presigned link can be (refused at cold start, not at each call).
pub fn evidence_link_validity(env: &Env) -> Result<Duration, ConfigError> {
    const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);
    match env.seconds(&EVIDENCE_LINK_SECS)? {
        valid if !valid.is_zero() && valid <= WEEK => Ok(valid),
        _ => Err(ConfigError::new(
            &EVIDENCE_LINK_SECS,
            "must be from 1 to 604800 (a week, the longest a presigned link lasts)",
        )),
    }
}

default_from_table!(StartPolicy, ClosePolicy, CallbackPolicy, WatchdogPolicy, EvidencePolicy);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_last_a_second_to_a_week() {
        let validity = |secs: &str| evidence_link_validity(&Env::from_pairs([("EVIDENCE_LINK_SECS", secs)]));
        assert_eq!(validity("900").unwrap(), Duration::from_secs(900));
        assert_eq!(validity("604800").unwrap(), Duration::from_secs(604_800));
        for refused in ["0", "604801", "x"] {
            let error = validity(refused).unwrap_err().to_string();
            assert!(error.contains("EVIDENCE_LINK_SECS"), "{error}");
        }
    }

    #[test]
    fn defaults_come_from_the_table() {
        let week = Duration::from_secs(7 * 24 * 3600);
        assert_eq!(
            StartPolicy::default(),
            StartPolicy {
                attempts: 2,
                starting_lease: Duration::from_secs(30),
                retention: week,
                token_lifetime: Duration::from_secs(86_400) + TOKEN_MARGIN,
            }
        );
        let unlimited = StartPolicy::from_env(&Env::from_pairs([("MAX_STREAM_SECS", "0")])).unwrap();
        assert_eq!(unlimited.token_lifetime, TOKEN_LIFETIME_UNLIMITED);
        assert_eq!(ClosePolicy::default().attempts, 3);
        let callback = CallbackPolicy::default();
        assert_eq!(callback.published_levels, vec![RiskLevel::Reject]);
        assert_eq!(callback.retention, week);
        assert_eq!(callback.progress_interval, Duration::from_secs(60));
        assert_eq!(
            WatchdogPolicy::default(),
            WatchdogPolicy {
                stale_after: Duration::from_secs(180),
                max_stream: Some(Duration::from_secs(86_400)),
                grace: Duration::from_secs(600),
                close_retry_for: Duration::from_secs(3600),
                retention: week,
            }
        );
        let unlimited = WatchdogPolicy::from_env(&Env::from_pairs([("MAX_STREAM_SECS", "0")])).unwrap();
        assert_eq!(unlimited.max_stream, None, "0 turns the limit off");
    }

    #[test]
    fn problems_name_the_variable() {
        let bad = |name: &str, value: &str| {
            let env = Env::from_pairs([(name, value)]);
            [
                StartPolicy::from_env(&env).err(),
                ClosePolicy::from_env(&env).err(),
                CallbackPolicy::from_env(&env).err(),
                callback_base_url(&env).err(),
            ]
            .into_iter()
            .flatten()
            .next()
            .unwrap()
        };
        assert_eq!(bad("START_ATTEMPTS", "0").variable, "START_ATTEMPTS");
        assert_eq!(bad("STARTING_LEASE_SECS", "soon").variable, "STARTING_LEASE_SECS");
        assert_eq!(
            bad("PUBLISHED_RISK_LEVELS", "REJECT,BLOCK").variable,
            "PUBLISHED_RISK_LEVELS"
        );
        assert_eq!(bad("CALLBACK_BASE_URL", "ftp://x").variable, "CALLBACK_BASE_URL");
        assert_eq!(
            table_name(&Env::from_pairs::<&str, &str>([])).unwrap_err().variable,
            "TABLE_NAME"
        );
        assert_eq!(
            callback_key(&Env::from_pairs::<&str, &str>([])).unwrap_err().variable,
            "CALLBACK_TOKEN_KEY_PARAMETER"
        );
        let key = callback_key(&Env::from_pairs([("CALLBACK_TOKEN_KEY", "SECRET-KEY")])).unwrap();
        assert!(!format!("{key:?}").contains("SECRET-KEY"));
    }

    #[test]
    fn published_levels_are_configurable() {
        let env = Env::from_pairs([("PUBLISHED_RISK_LEVELS", "REJECT, review")]);
        assert_eq!(
            CallbackPolicy::from_env(&env).unwrap().published_levels,
            vec![RiskLevel::Reject, RiskLevel::Review]
        );
    }

    #[test]
    fn every_variable_is_declared_once() {
        let mut names: Vec<&str> = VARIABLES.iter().map(|variable| variable.name).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "a variable is declared twice");
        assert!(variables::markdown_table().lines().count() == count + 2);
    }
}
