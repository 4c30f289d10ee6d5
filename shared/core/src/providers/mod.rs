//! The moderation providers, each behind the ports [`ProviderControl`] and
//! [`CallbackReader`]: one module per provider here (its wire types are a
//! module of `streamguard_wire`), and one line in [`PROVIDERS`].
//! `docs/providers.md` lists what a new provider touches.
//!
//! This is also the one place a provider name is parsed ([`ProviderId::parse`]).

pub mod deepcleer;
pub mod transport;
pub mod zego;

use crate::config::variables::PROVIDER;
use crate::config::{ConfigError, Env};
use crate::domain::provider::{ProviderId, ProviderTask, StartProblem, Stop, Submission, UnknownProvider};
use crate::functions::Function;
use crate::init::{InitError, Secrets};
use crate::metrics;
use crate::ports::{BoxFuture, CallbackReader, ProviderControl, ProviderError, Providers, Readers};
use std::sync::Arc;
use streamguard_wire::api::StartBody;
use transport::Transport;

/// What building an adapter gives: `None` when the deployment has not
/// configured that side of the provider.
pub type Built<'a, T> = BoxFuture<'a, Result<Option<Arc<T>>, InitError>>;

/// Builds a provider's control API (start, close) with its credentials.
pub type BuildControl = for<'a, 's> fn(&'a Env, &'a Secrets<'s>, Arc<dyn Transport>) -> Built<'a, dyn ProviderControl>;

/// Builds a provider's callback reader (callback) with what checks its signatures.
pub type BuildReader = for<'a, 's> fn(&'a Env, &'a Secrets<'s>) -> Built<'a, dyn CallbackReader>;

/// How a provider's adapters are built from configuration.
pub struct Registration {
    pub id: ProviderId,
    pub control: BuildControl,
    pub reader: BuildReader,
}

/// Every provider streamguard speaks: one line each.
const PROVIDERS: &[Registration] = &[deepcleer::REGISTRATION, zego::REGISTRATION];

/// Every provider's name, in registration order.
pub const REGISTERED: &[ProviderId] = &{
    let mut ids = [ProviderId::declare(""); PROVIDERS.len()];
    let mut index = 0;
    while index < PROVIDERS.len() {
        ids[index] = PROVIDERS[index].id;
        index += 1;
    }
    ids
};

impl ProviderId {
    /// The provider of this name: from configuration, a start body, a
    /// callback token, a stored task. An unknown name is an error, never a default.
    pub fn parse(name: &str) -> Result<ProviderId, UnknownProvider> {
        REGISTERED
            .iter()
            .copied()
            .find(|id| id.as_str() == name)
            .ok_or_else(|| UnknownProvider {
                name: name.to_owned(),
                known: REGISTERED.iter().map(|id| id.as_str()).collect::<Vec<_>>().join(", "),
            })
    }
}

/// The deployment's provider (`PROVIDER`).
pub fn default_provider(env: &Env) -> Result<ProviderId, ConfigError> {
    let name = env.required(&PROVIDER)?;
    ProviderId::parse(&name).map_err(|unknown| ConfigError::new(&PROVIDER, unknown.to_string()))
}

/// The control APIs of every configured provider, for `function`; each call
/// that fails is counted (`ProviderErrors`).
pub async fn controls(
    env: &Env,
    secrets: &Secrets<'_>,
    transport: Arc<dyn Transport>,
    function: Function,
) -> Result<Providers, InitError> {
    let default = default_provider(env)?;
    let mut controls = Vec::new();
    for registration in PROVIDERS {
        if let Some(control) = (registration.control)(env, secrets, transport.clone()).await? {
            controls.push(Arc::new(Metered {
                inner: control,
                function,
            }) as Arc<dyn ProviderControl>);
        }
    }
    Providers::new(default, controls).map_err(|problem| {
        ConfigError::new(
            &PROVIDER,
            format!("{problem}: set its credentials, or choose a configured provider"),
        )
        .into()
    })
}

/// The callback readers of every configured provider.
pub async fn readers(env: &Env, secrets: &Secrets<'_>) -> Result<Readers, InitError> {
    let mut readers = Vec::new();
    for registration in PROVIDERS {
        if let Some(reader) = (registration.reader)(env, secrets).await? {
            readers.push(reader);
        }
    }
    Ok(Readers::new(readers))
}

/// A provider's control API that counts its failures: every refusal (by
/// code), timeout and unusable answer of every call, whichever function makes it.
struct Metered {
    inner: Arc<dyn ProviderControl>,
    function: Function,
}

impl Metered {
    fn count<T>(&self, outcome: &Result<T, ProviderError>, refused_code: impl Fn(&T) -> Option<i64>) {
        let code = match outcome {
            Ok(answer) => match refused_code(answer) {
                Some(code) => code.to_string(),
                None => return,
            },
            Err(ProviderError::Timeout) => "TIMEOUT".to_owned(),
            Err(_) => "UNAVAILABLE".to_owned(),
        };
        metrics::count(
            self.function.name(),
            "ProviderErrors",
            &[("Provider", self.inner.id().as_str()), ("Code", &code)],
        );
    }
}

impl ProviderControl for Metered {
    fn id(&self) -> ProviderId {
        self.inner.id()
    }

    fn recognises_resubmission(&self) -> bool {
        self.inner.recognises_resubmission()
    }

    fn check(&self, start: &StartBody, callback_url: &str) -> Result<(), StartProblem> {
        self.inner.check(start, callback_url)
    }

    fn submit<'a>(
        &'a self,
        start: &'a StartBody,
        callback_url: &'a str,
    ) -> BoxFuture<'a, Result<Submission, ProviderError>> {
        Box::pin(async move {
            let outcome = self.inner.submit(start, callback_url).await;
            self.count(&outcome, |answer| match answer {
                Submission::Refused(refusal) => Some(refusal.code),
                _ => None,
            });
            outcome
        })
    }

    fn stop<'a>(&'a self, task: &'a ProviderTask) -> BoxFuture<'a, Result<Stop, ProviderError>> {
        Box::pin(async move {
            let outcome = self.inner.stop(task).await;
            self.count(&outcome, |answer| match answer {
                Stop::Refused(refusal) => Some(refusal.code),
                Stop::Stopped => None,
            });
            outcome
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_in_one_place_and_unknown_ones_are_errors() {
        for id in REGISTERED {
            assert_eq!(ProviderId::parse(id.as_str()), Ok(*id));
        }
        assert_eq!(REGISTERED, [deepcleer::ID, zego::ID]);
        let unknown = ProviderId::parse("tencent").unwrap_err();
        assert!(unknown.to_string().contains("deepcleer, zego"), "{unknown}");
        assert!(ProviderId::parse("DeepCleer").is_err(), "names are exact");
        assert_eq!(default_provider(&Env::from_pairs::<&str, &str>([])), Ok(deepcleer::ID));
        assert_eq!(
            default_provider(&Env::from_pairs([("PROVIDER", "tencent")]))
                .unwrap_err()
                .variable,
            "PROVIDER"
        );
    }
}
