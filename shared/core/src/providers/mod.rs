//! The moderation providers, each behind the ports [`ProviderStart`],
//! [`ProviderStop`] and [`CallbackReader`]: one module per provider here
//! (its wire types are a module of `streamguard_wire`), and one line in
//! [`PROVIDERS`]. `docs/providers.md` lists what a new provider touches.

pub mod deepcleer;
pub mod tolerant;
pub mod transport;
pub mod zego;

use crate::config::variables::PROVIDER;
use crate::config::{ConfigError, Env};
use crate::domain::provider::{Media, ProviderId, ProviderTask, StartProblem, Stop, Submission, UnknownProvider};
use crate::functions::Function;
use crate::init::{InitError, Secrets};
use crate::metrics;
use crate::ports::{
    BoxFuture, CallbackReader, Configured, Provider, ProviderError, ProviderStart, ProviderStop, Readers, Starts, Stops,
};
use std::sync::Arc;
use streamguard_wire::api::StartBody;
use transport::Transport;

/// What building one side of a provider gives: `None` when the deployment
/// has not configured it.
pub type Built<'a, T> = BoxFuture<'a, Result<Option<Arc<T>>, InitError>>;

/// Builds a provider's start (start function), reading its own settings and secrets.
pub type BuildStart = for<'a, 's> fn(&'a Env, &'a Secrets<'s>, Arc<dyn Transport>) -> Built<'a, dyn ProviderStart>;
/// Builds a provider's stop (close function, watchdog).
pub type BuildStop = for<'a, 's> fn(&'a Env, &'a Secrets<'s>, Arc<dyn Transport>) -> Built<'a, dyn ProviderStop>;
/// Builds a provider's callback reader (callback function), with what checks its signatures.
pub type BuildReader = for<'a, 's> fn(&'a Env, &'a Secrets<'s>) -> Built<'a, dyn CallbackReader>;

/// How a provider's adapters are built from configuration.
pub struct Registration {
    pub id: ProviderId,
    pub start: BuildStart,
    pub stop: BuildStop,
    pub reader: BuildReader,
}

/// Every provider streamguard speaks: one line each.
const PROVIDERS: &[Registration] = &[deepcleer::REGISTRATION, zego::REGISTRATION];

/// Every provider's name, in registration order: the names the bundle knows.
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
    /// The provider of this name among those the bundle knows: for the
    /// adapters (configuration, stored tasks). An unknown name is an error.
    pub fn parse(name: &str) -> Result<ProviderId, UnknownProvider> {
        ProviderId::find(name, REGISTERED)
    }
}

/// The deployment's provider (`PROVIDER`).
pub fn default_provider(env: &Env) -> Result<ProviderId, ConfigError> {
    let name = env.required(&PROVIDER)?;
    ProviderId::parse(&name).map_err(|unknown| ConfigError::new(&PROVIDER, unknown.to_string()))
}

/// Every configured provider's start, for the start function; each failed
/// call is counted (`ProviderErrors`).
pub async fn starts(env: &Env, secrets: &Secrets<'_>, transport: Arc<dyn Transport>) -> Result<Starts, InitError> {
    let default = default_provider(env)?;
    let mut members: Vec<Arc<dyn ProviderStart>> = Vec::new();
    for registration in PROVIDERS {
        if let Some(start) = (registration.start)(env, secrets, transport.clone()).await? {
            members.push(Arc::new(Metered {
                inner: start,
                function: Function::Start,
            }));
        }
    }
    warn_unless_configured(default, &members);
    Ok(Configured::new(default, REGISTERED, members))
}

/// Every configured provider's stop, for `function`; each failed call is counted.
pub async fn stops(
    env: &Env,
    secrets: &Secrets<'_>,
    transport: Arc<dyn Transport>,
    function: Function,
) -> Result<Stops, InitError> {
    let default = default_provider(env)?;
    let mut members: Vec<Arc<dyn ProviderStop>> = Vec::new();
    for registration in PROVIDERS {
        if let Some(stop) = (registration.stop)(env, secrets, transport.clone()).await? {
            members.push(Arc::new(Metered { inner: stop, function }));
        }
    }
    Ok(Configured::new(default, REGISTERED, members))
}

/// The callback readers of every configured provider.
pub async fn readers(env: &Env, secrets: &Secrets<'_>) -> Result<Readers, InitError> {
    let mut members = Vec::new();
    for registration in PROVIDERS {
        if let Some(reader) = (registration.reader)(env, secrets).await? {
            members.push(reader);
        }
    }
    Ok(Configured::new(REGISTERED[0], REGISTERED, members))
}

/// A deployment whose own provider has no credentials can still start on
/// the others; say so once at cold start (each such start hears it too).
fn warn_unless_configured(default: ProviderId, members: &[Arc<dyn ProviderStart>]) {
    if !members.iter().any(|member| member.id() == default) {
        tracing::warn!(provider = %default, "the deployment's provider has no credentials; starts must name another");
    }
}

/// A provider port that counts its failures: every refusal (by code),
/// timeout and unusable answer of every call, whichever function makes it.
struct Metered<T: ?Sized> {
    inner: Arc<T>,
    function: Function,
}

impl<T: ?Sized + Provider> Metered<T> {
    fn count<A>(&self, outcome: &Result<A, ProviderError>, refused_code: impl Fn(&A) -> Option<i64>) {
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

impl<T: ?Sized + Provider> Provider for Metered<T> {
    fn id(&self) -> ProviderId {
        self.inner.id()
    }
}

impl ProviderStart for Metered<dyn ProviderStart> {
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
}

impl ProviderStop for Metered<dyn ProviderStop> {
    fn stops(&self, media: Media) -> bool {
        self.inner.stops(media)
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
        assert!(!REGISTERED.is_empty());
        for id in REGISTERED {
            assert_eq!(ProviderId::parse(id.as_str()), Ok(*id));
            assert_eq!(
                ProviderId::parse(&id.as_str().to_uppercase()).map_err(|_| ()),
                Err(()),
                "exact"
            );
        }
        let unknown = ProviderId::parse("tencent").unwrap_err();
        for id in REGISTERED {
            assert!(unknown.to_string().contains(id.as_str()), "{unknown}");
        }
        assert_eq!(default_provider(&Env::from_pairs::<&str, &str>([])), Ok(REGISTERED[0]));
        assert_eq!(
            default_provider(&Env::from_pairs([("PROVIDER", "tencent")]))
                .unwrap_err()
                .variable,
            "PROVIDER"
        );
    }
}
