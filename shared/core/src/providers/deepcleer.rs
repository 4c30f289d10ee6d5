//! DeepCleer (ISHUMEI) audio-stream moderation behind the provider ports:
//! start (`/audiostream/v4`), stop (`/finish_audiostream/v4`, or
//! `/finish_videostream/v4` on the video cluster for video tasks), and its
//! callbacks read into neutral readings. Its wire types are
//! `streamguard_wire::deepcleer`.

use super::tolerant::{self, Rules};
use super::transport::Transport;
use super::{Built, Registration};
use crate::config::variables::*;
use crate::config::{ConfigError, Env, SecretSource};
use crate::domain::Secret;
use crate::domain::provider::{
    EndReading, Media, ProviderId, ProviderTask, ReadError, Reading, Refusal, RefusalClass, SegmentReading,
    StartProblem, Stop, Submission,
};
use crate::init::Secrets;
use crate::ports::{BoxFuture, CallbackReader, Provider, ProviderError, ProviderStart, ProviderStop};
use std::sync::Arc;
use std::time::Duration;
use streamguard_wire::Problems;
use streamguard_wire::api::StartBody;
use streamguard_wire::deepcleer::{
    AudioCluster, AudioDetail, CLOSE_AUDIO_PATH, CLOSE_VIDEO_PATH, Callback, CallbackKind, CloseRequest, CloseResponse,
    ResponseCode, START_PATH, StartOutcome, StartRequest, StreamEndCode, SyncResponse, VideoCluster,
};
use streamguard_wire::event::{SegmentEvent, StreamEndEvent};
use time::OffsetDateTime;

pub const ID: ProviderId = ProviderId::declare("deepcleer");

pub const REGISTRATION: Registration = Registration {
    id: ID,
    start: build_start,
    stop: build_stop,
    reader: build_reader,
};

/// The audio cluster's base URL: the override, or the cluster's.
fn audio_base_url(env: &Env) -> Result<String, ConfigError> {
    if let Some(url) = env.base_url(&DEEPCLEER_BASE_URL)? {
        return Ok(url);
    }
    let cluster = env.required(&DEEPCLEER_CLUSTER)?;
    Ok(AudioCluster::from_config(&cluster)
        .ok_or_else(|| {
            ConfigError::new(
                &DEEPCLEER_CLUSTER,
                format!("{cluster:?} is not silicon-valley or singapore"),
            )
        })?
        .base_url()
        .to_owned())
}

/// The video cluster's base URL (closing video tasks): the override, or the cluster's.
fn video_base_url(env: &Env) -> Result<String, ConfigError> {
    if let Some(url) = env.base_url(&DEEPCLEER_VIDEO_BASE_URL)? {
        return Ok(url);
    }
    let cluster = env.required(&DEEPCLEER_VIDEO_CLUSTER)?;
    Ok(VideoCluster::from_config(&cluster)
        .ok_or_else(|| {
            ConfigError::new(
                &DEEPCLEER_VIDEO_CLUSTER,
                format!("{cluster:?} is not shanghai or singapore"),
            )
        })?
        .base_url()
        .to_owned())
}

fn access_key(env: &Env) -> Option<SecretSource> {
    env.secret(&DEEPCLEER_ACCESS_KEY_PARAMETER, &DEEPCLEER_ACCESS_KEY)
}

/// What DeepCleer's start needs.
#[derive(Debug, Clone, PartialEq)]
pub struct StartSettings {
    pub base_url: String,
    /// DeepCleer is off without it.
    pub access_key: Option<SecretSource>,
    pub timeout: Duration,
    pub default_app_id: Option<String>,
    pub default_event_id: Option<String>,
}

impl StartSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(StartSettings {
            base_url: audio_base_url(env)?,
            access_key: access_key(env),
            timeout: env.millis(&PROVIDER_START_TIMEOUT_MS)?,
            default_app_id: env.text(&DEFAULT_APP_ID),
            default_event_id: env.text(&DEFAULT_EVENT_ID),
        })
    }
}

/// What DeepCleer's stop needs (audio and video tasks).
#[derive(Debug, Clone, PartialEq)]
pub struct StopSettings {
    pub audio_base_url: String,
    pub video_base_url: String,
    /// DeepCleer is off without it.
    pub access_key: Option<SecretSource>,
    pub audio_timeout: Duration,
    pub video_timeout: Duration,
}

impl StopSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(StopSettings {
            audio_base_url: audio_base_url(env)?,
            video_base_url: video_base_url(env)?,
            access_key: access_key(env),
            audio_timeout: env.millis(&PROVIDER_CLOSE_TIMEOUT_MS)?,
            video_timeout: env.millis(&PROVIDER_VIDEO_CLOSE_TIMEOUT_MS)?,
        })
    }
}

fn build_start<'a>(
    env: &'a Env,
    secrets: &'a Secrets<'_>,
    transport: Arc<dyn Transport>,
) -> Built<'a, dyn ProviderStart> {
    Box::pin(async move {
        let settings = StartSettings::from_env(env)?;
        let Some(source) = &settings.access_key else {
            return Ok(None);
        };
        let client = Client {
            access_key: secrets.resolve(source).await?,
            transport,
        };
        Ok(Some(
            Arc::new(DeepCleerStart { settings, client }) as Arc<dyn ProviderStart>
        ))
    })
}

fn build_stop<'a>(
    env: &'a Env,
    secrets: &'a Secrets<'_>,
    transport: Arc<dyn Transport>,
) -> Built<'a, dyn ProviderStop> {
    Box::pin(async move {
        let settings = StopSettings::from_env(env)?;
        let Some(source) = &settings.access_key else {
            return Ok(None);
        };
        let client = Client {
            access_key: secrets.resolve(source).await?,
            transport,
        };
        Ok(Some(
            Arc::new(DeepCleerStop { settings, client }) as Arc<dyn ProviderStop>
        ))
    })
}

fn build_reader<'a>(_: &'a Env, _: &'a Secrets<'_>) -> Built<'a, dyn CallbackReader> {
    // DeepCleer does not sign its callbacks: the callback token is the whole authentication.
    Box::pin(async { Ok(Some(Arc::new(DeepCleerCallbacks) as Arc<dyn CallbackReader>)) })
}

/// DeepCleer's API: the accessKey and how calls reach it.
struct Client {
    access_key: Secret,
    transport: Arc<dyn Transport>,
}

impl Client {
    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        url: String,
        body: &impl serde::Serialize,
        timeout: Duration,
    ) -> Result<T, ProviderError> {
        let body = serde_json::to_vec(body)
            .map_err(|error| ProviderError::Unreachable(format!("request not serialisable: {error}")))?;
        self.transport.post_json(url, body, timeout).await?.json()
    }
}

/// DeepCleer's start (`/audiostream/v4`).
pub struct DeepCleerStart {
    settings: StartSettings,
    client: Client,
}

impl DeepCleerStart {
    pub fn new(settings: StartSettings, access_key: Secret, transport: Arc<dyn Transport>) -> Self {
        DeepCleerStart {
            settings,
            client: Client { access_key, transport },
        }
    }

    /// The start request for a body: the caller's fields, what the bundle owns, the defaults.
    fn request(&self, body: &StartBody, callback_url: &str) -> StartRequest {
        let mut request = body.request.clone();
        if request.app_id.is_empty()
            && let Some(app_id) = &self.settings.default_app_id
        {
            request.app_id = app_id.clone();
        }
        if request.event_id.is_empty()
            && let Some(event_id) = &self.settings.default_event_id
        {
            request.event_id = event_id.clone();
        }
        request.data.return_finish_info.get_or_insert(1);
        request.access_key = self.client.access_key.expose().to_owned();
        request.callback = callback_url.to_owned();
        request
    }
}

/// What a DeepCleer code means for the caller; the API's names of old.
fn refusal(code: ResponseCode, message: String) -> Refusal {
    let refused = |label, class, transient, retry_after| Refusal {
        provider: ID,
        code: code.code(),
        label,
        message: format!("the provider refused ({code}): {message}"),
        class,
        retry_after,
        transient,
    };
    match code {
        ResponseCode::InvalidParameters => refused("PROVIDER_INVALID_PARAMETERS", RefusalClass::InvalidRequest, false, None),
        ResponseCode::LimitExceeded => refused(
            "PROVIDER_LIMIT_EXCEEDED",
            RefusalClass::RateLimited,
            true,
            Some(Duration::from_secs(1)),
        ),
        ResponseCode::Unauthorized => Refusal {
            message: "the provider refused the configured accessKey (9101): check the deployment's DeepCleer accessKey and cluster".into(),
            ..refused("PROVIDER_UNAUTHORIZED", RefusalClass::Configuration, false, None)
        },
        ResponseCode::ServiceFailure => refused("PROVIDER_FAILURE", RefusalClass::ProviderFailing, true, None),
        _ => refused("PROVIDER_FAILURE", RefusalClass::ProviderFailing, false, None),
    }
}

impl Provider for DeepCleerStart {
    fn id(&self) -> ProviderId {
        ID
    }
}

impl ProviderStart for DeepCleerStart {
    /// DeepCleer answers a resubmitted stream with `1001` and the running task.
    fn recognises_resubmission(&self) -> bool {
        true
    }

    fn check(&self, body: &StartBody, callback_url: &str) -> Result<(), StartProblem> {
        let Err(Problems(found)) = self.request(body, callback_url).validate() else {
            return Ok(());
        };
        // accessKey and callback come from configuration: a problem there is the deployment's.
        let (configured, sent): (Vec<_>, Vec<_>) = found
            .into_iter()
            .partition(|problem| problem.field == "accessKey" || problem.field == "callback");
        if !configured.is_empty() {
            let detail = configured
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            return Err(StartProblem::Configuration(detail));
        }
        Err(StartProblem::Invalid(Problems(sent)))
    }

    fn submit<'a>(
        &'a self,
        body: &'a StartBody,
        callback_url: &'a str,
    ) -> BoxFuture<'a, Result<Submission, ProviderError>> {
        Box::pin(async move {
            let url = format!("{}{START_PATH}", self.settings.base_url);
            let answer: SyncResponse = self
                .client
                .post(url, &self.request(body, callback_url), self.settings.timeout)
                .await?;
            // A task id is what every later step keys on: an answer without
            // one is no acknowledgement.
            let named = |id: &str| {
                (!id.trim().is_empty())
                    .then(|| id.to_owned())
                    .ok_or_else(|| ProviderError::BadAnswer("an acknowledgement without a requestId".into()))
            };
            Ok(match answer.outcome() {
                StartOutcome::Started(id) => Submission::Accepted {
                    provider_task_id: named(id)?,
                },
                StartOutcome::Duplicate(id) => Submission::Duplicate {
                    running_task_id: named(id)?,
                },
                StartOutcome::Refused(code) => Submission::Refused(refusal(code, answer.message)),
            })
        })
    }
}

/// DeepCleer's stop (`/finish_audiostream/v4`, `/finish_videostream/v4`).
pub struct DeepCleerStop {
    settings: StopSettings,
    client: Client,
}

impl DeepCleerStop {
    pub fn new(settings: StopSettings, access_key: Secret, transport: Arc<dyn Transport>) -> Self {
        DeepCleerStop {
            settings,
            client: Client { access_key, transport },
        }
    }
}

impl Provider for DeepCleerStop {
    fn id(&self) -> ProviderId {
        ID
    }
}

impl ProviderStop for DeepCleerStop {
    fn stops(&self, _: Media) -> bool {
        true
    }

    fn stop<'a>(&'a self, task: &'a ProviderTask) -> BoxFuture<'a, Result<Stop, ProviderError>> {
        Box::pin(async move {
            let (url, timeout) = match task.media {
                Media::Audio => (
                    format!("{}{CLOSE_AUDIO_PATH}", self.settings.audio_base_url),
                    self.settings.audio_timeout,
                ),
                Media::Video => (
                    format!("{}{CLOSE_VIDEO_PATH}", self.settings.video_base_url),
                    self.settings.video_timeout,
                ),
            };
            let body = CloseRequest {
                access_key: self.client.access_key.expose().to_owned(),
                request_id: task.id.clone(),
                other: Default::default(),
            };
            let answer: CloseResponse = self.client.post(url, &body, timeout).await?;
            Ok(match answer.code {
                ResponseCode::Success => Stop::Stopped,
                code => Stop::Refused(refusal(code, answer.message)),
            })
        })
    }
}

/// DeepCleer's callbacks. Unsigned: the callback token authenticates them.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeepCleerCallbacks;

impl Provider for DeepCleerCallbacks {
    fn id(&self) -> ProviderId {
        ID
    }
}

/// What a DeepCleer callback must carry: its segment id; the disposition is
/// kept as given when of another type.
const RULES: Rules = Rules {
    identity: &["requestId"],
    disposition: "riskLevel",
};

impl CallbackReader for DeepCleerCallbacks {
    fn evidence(&self, body: &[u8]) -> Option<serde_json::Value> {
        let mut json: serde_json::Value = serde_json::from_slice(body).ok()?;
        // DeepCleer echoes the whole start request here: the accessKey, RTC
        // tokens. What is left is redacted as well, should a secret be
        // echoed anywhere else.
        json.as_object_mut()?.remove("requestParams");
        streamguard_wire::redact::redact_request_params(&mut json);
        Some(json)
    }

    fn read(&self, body: &[u8], _: OffsetDateTime) -> Result<Reading, ReadError> {
        let (callback, unread) = match serde_json::from_slice::<Callback>(body) {
            Ok(callback) => (callback, Vec::new()),
            Err(_) => {
                let json: serde_json::Value =
                    serde_json::from_slice(body).map_err(|error| ReadError::Malformed(format!("not JSON: {error}")))?;
                tolerant::read::<Callback>(json, &RULES).map_err(ReadError::Malformed)?
            }
        };
        if callback.request_id.trim().is_empty() {
            return Err(ReadError::Malformed("requestId is empty".into()));
        }
        Ok(match callback.kind() {
            CallbackKind::Segment(detail) => Reading::Segment(Box::new(segment(&callback, detail, unread))),
            CallbackKind::StreamEnd(info) => {
                let code = info.and_then(|info| info.error_code);
                Reading::StreamEnd(EndReading {
                    provider_task_id: callback.segment_id().task_request_id.to_owned(),
                    end: StreamEndEvent {
                        end_code: code.map(StreamEndCode::code),
                        end_reason: StreamEndCode::reason(code).to_owned(),
                        stream_time: info.and_then(|info| info.stream_time),
                    },
                    pass_through: callback.pass_through().cloned(),
                    echoed_bt_id: callback.bt_id.clone(),
                    unread_fields: unread,
                })
            }
            CallbackKind::Failed(code) => Reading::NoResult {
                detail: format!(
                    "DeepCleer code {} for {}",
                    code.map_or("(none)".to_owned(), |code| code.to_string()),
                    callback.request_id
                ),
            },
        })
    }
}

/// A segment callback as a neutral reading.
fn segment(callback: &Callback, detail: &AudioDetail, unread_fields: Vec<String>) -> SegmentReading {
    let id = callback.segment_id();
    let aux = detail.aux_info.as_ref();
    SegmentReading {
        provider_task_id: id.task_request_id.to_owned(),
        segment: SegmentEvent {
            segment_id: id.full.to_owned(),
            segment_index: id.index,
            risk_level: detail.risk_level.clone(),
            risk_level_recognised: detail.risk_level.is_known(),
            risk_label1: detail.risk_label1.clone(),
            risk_label2: detail.risk_label2.clone(),
            risk_label3: detail.risk_label3.clone(),
            risk_description: detail.risk_description.clone(),
            all_labels: detail.all_labels.clone().unwrap_or_default(),
            audio_text: detail.audio_text.clone(),
            audio_url: detail.audio_url.clone(),
            pre_audio_url: detail.pre_audio_url.clone(),
            audio_start_time: aux.and_then(|aux| aux.audio_start_time.clone()),
            audio_end_time: aux.and_then(|aux| aux.audio_end_time.clone()),
            process_begin_time: aux.and_then(|aux| aux.begin_process_time),
            process_finish_time: aux.and_then(|aux| aux.finish_process_time),
            speaker_id: aux.and_then(|aux| aux.str_user_id.clone().or_else(|| aux.user_id.map(|id| id.to_string()))),
            room: aux.and_then(|aux| aux.room.clone()),
        },
        pass_through: callback.pass_through().cloned(),
        echoed_bt_id: callback.bt_id.clone(),
        unread_fields,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn defaults_follow_the_reference() {
        let start = StartSettings::from_env(&env(&[])).unwrap();
        assert_eq!(start.base_url, "https://api-audiostream-gg.fengkongcloud.com");
        assert_eq!(start.timeout, Duration::from_secs(5));
        assert_eq!(start.access_key, None, "off without an accessKey");
        let stop = StopSettings::from_env(&env(&[])).unwrap();
        assert_eq!(stop.video_base_url, "https://api-videostream-xjp.fengkongcloud.com");
        assert_eq!(stop.audio_timeout, Duration::from_secs(1));
        assert_eq!(stop.video_timeout, Duration::from_secs(7));
    }

    #[test]
    fn the_base_url_override_wins_over_the_cluster() {
        let overridden = env(&[
            ("DEEPCLEER_CLUSTER", "singapore"),
            ("DEEPCLEER_BASE_URL", "http://127.0.0.1:8710/"),
        ]);
        assert_eq!(
            StartSettings::from_env(&overridden).unwrap().base_url,
            "http://127.0.0.1:8710"
        );
        let singapore = env(&[("DEEPCLEER_CLUSTER", "singapore")]);
        assert_eq!(
            StopSettings::from_env(&singapore).unwrap().audio_base_url,
            "https://api-audiostream-xjp.fengkongcloud.com"
        );
    }

    #[test]
    fn problems_name_the_variable() {
        let start = |pairs: &[(&str, &str)]| StartSettings::from_env(&env(pairs)).unwrap_err().variable;
        assert_eq!(start(&[("DEEPCLEER_CLUSTER", "beijing")]), "DEEPCLEER_CLUSTER");
        assert_eq!(start(&[("DEEPCLEER_BASE_URL", "ftp://x")]), "DEEPCLEER_BASE_URL");
        assert_eq!(
            start(&[("PROVIDER_START_TIMEOUT_MS", "soon")]),
            "PROVIDER_START_TIMEOUT_MS"
        );
        let stop = StopSettings::from_env(&env(&[("DEEPCLEER_VIDEO_CLUSTER", "beijing")]));
        assert_eq!(stop.unwrap_err().variable, "DEEPCLEER_VIDEO_CLUSTER");
        let with_key = StartSettings::from_env(&env(&[("DEEPCLEER_ACCESS_KEY", "AK-SECRET")])).unwrap();
        assert!(!format!("{with_key:?}").contains("AK-SECRET"));
    }

    #[test]
    fn codes_are_classified() {
        let class = |code: i64| refusal(ResponseCode::from_code(code), "m".into()).class;
        assert_eq!(class(1902), RefusalClass::InvalidRequest);
        assert_eq!(class(1901), RefusalClass::RateLimited);
        assert_eq!(class(1903), RefusalClass::ProviderFailing);
        assert_eq!(class(1904), RefusalClass::ProviderFailing);
        assert_eq!(class(9101), RefusalClass::Configuration);
        assert_eq!(
            class(4242),
            RefusalClass::ProviderFailing,
            "an unknown code is the provider failing"
        );
        assert_eq!(
            refusal(ResponseCode::LimitExceeded, "m".into()).retry_after,
            Some(Duration::from_secs(1))
        );
        assert!(
            refusal(ResponseCode::Unauthorized, "m".into())
                .message
                .contains("accessKey")
        );
    }
}
