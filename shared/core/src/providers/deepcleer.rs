//! DeepCleer (ISHUMEI) audio-stream moderation behind the provider ports:
//! start (`/audiostream/v4`), stop (`/finish_audiostream/v4`, or
//! `/finish_videostream/v4` on the video cluster for video tasks), and its
//! callbacks read into neutral readings. Its wire types are
//! `streamguard_wire::deepcleer`.

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
use crate::ports::{BoxFuture, CallbackReader, ProviderControl, ProviderError};
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
    control,
    reader,
};

/// Where DeepCleer is and how long its calls may take.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub audio_base_url: String,
    pub video_base_url: String,
    /// DeepCleer is off without it.
    pub access_key: Option<SecretSource>,
    pub start_timeout: Duration,
    pub close_timeout: Duration,
    pub video_close_timeout: Duration,
    pub default_app_id: Option<String>,
    pub default_event_id: Option<String>,
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let audio_base_url = match env.base_url(&DEEPCLEER_BASE_URL)? {
            Some(url) => url,
            None => {
                let cluster = env.required(&DEEPCLEER_CLUSTER)?;
                AudioCluster::from_config(&cluster)
                    .ok_or_else(|| {
                        ConfigError::new(
                            &DEEPCLEER_CLUSTER,
                            format!("{cluster:?} is not silicon-valley or singapore"),
                        )
                    })?
                    .base_url()
                    .to_owned()
            }
        };
        let video_base_url = match env.base_url(&DEEPCLEER_VIDEO_BASE_URL)? {
            Some(url) => url,
            None => {
                let cluster = env.required(&DEEPCLEER_VIDEO_CLUSTER)?;
                VideoCluster::from_config(&cluster)
                    .ok_or_else(|| {
                        ConfigError::new(
                            &DEEPCLEER_VIDEO_CLUSTER,
                            format!("{cluster:?} is not shanghai or singapore"),
                        )
                    })?
                    .base_url()
                    .to_owned()
            }
        };
        Ok(Settings {
            audio_base_url,
            video_base_url,
            access_key: env.secret(&DEEPCLEER_ACCESS_KEY_PARAMETER, &DEEPCLEER_ACCESS_KEY),
            start_timeout: env.millis(&PROVIDER_START_TIMEOUT_MS)?,
            close_timeout: env.millis(&PROVIDER_CLOSE_TIMEOUT_MS)?,
            video_close_timeout: env.millis(&PROVIDER_VIDEO_CLOSE_TIMEOUT_MS)?,
            default_app_id: env.text(&DEFAULT_APP_ID),
            default_event_id: env.text(&DEFAULT_EVENT_ID),
        })
    }
}

fn control<'a>(
    env: &'a Env,
    secrets: &'a Secrets<'_>,
    transport: Arc<dyn Transport>,
) -> Built<'a, dyn ProviderControl> {
    Box::pin(async move {
        let settings = Settings::from_env(env)?;
        let Some(source) = &settings.access_key else {
            return Ok(None);
        };
        let access_key = secrets.resolve(source).await?;
        Ok(Some(
            Arc::new(DeepCleer::new(settings, access_key, transport)) as Arc<dyn ProviderControl>
        ))
    })
}

fn reader<'a>(_: &'a Env, _: &'a Secrets<'_>) -> Built<'a, dyn CallbackReader> {
    // DeepCleer does not sign its callbacks: the callback token is the whole authentication.
    Box::pin(async { Ok(Some(Arc::new(DeepCleerCallbacks) as Arc<dyn CallbackReader>)) })
}

/// DeepCleer's control API.
pub struct DeepCleer {
    settings: Settings,
    access_key: Secret,
    transport: Arc<dyn Transport>,
}

impl DeepCleer {
    pub fn new(settings: Settings, access_key: Secret, transport: Arc<dyn Transport>) -> Self {
        DeepCleer {
            settings,
            access_key,
            transport,
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
        request.access_key = self.access_key.expose().to_owned();
        request.callback = callback_url.to_owned();
        request
    }

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

/// What a DeepCleer code means for the caller.
fn refusal(code: ResponseCode, message: String) -> Refusal {
    let (class, retry_after, message) = match code {
        ResponseCode::InvalidParameters => (RefusalClass::InvalidRequest, None, message),
        ResponseCode::LimitExceeded => (RefusalClass::RateLimited, Some(Duration::from_secs(1)), message),
        ResponseCode::Unauthorized => (
            RefusalClass::Configuration,
            None,
            format!(
                "{message}: DeepCleer refused the configured accessKey; check the deployment's accessKey and cluster"
            ),
        ),
        _ => (RefusalClass::ProviderFailing, None, message),
    };
    Refusal {
        provider: ID,
        code: code.code(),
        message,
        class,
        retry_after,
    }
}

impl ProviderControl for DeepCleer {
    fn id(&self) -> ProviderId {
        ID
    }

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
            let url = format!("{}{START_PATH}", self.settings.audio_base_url);
            let answer: SyncResponse = self
                .post(url, &self.request(body, callback_url), self.settings.start_timeout)
                .await?;
            Ok(match answer.outcome() {
                StartOutcome::Started(id) => Submission::Accepted {
                    provider_task_id: id.to_owned(),
                },
                StartOutcome::Duplicate(id) => Submission::Duplicate {
                    running_task_id: id.to_owned(),
                },
                StartOutcome::Refused(code) => Submission::Refused(refusal(code, answer.message)),
            })
        })
    }

    fn stop<'a>(&'a self, task: &'a ProviderTask) -> BoxFuture<'a, Result<Stop, ProviderError>> {
        Box::pin(async move {
            let (url, timeout) = match task.media {
                Media::Audio => (
                    format!("{}{CLOSE_AUDIO_PATH}", self.settings.audio_base_url),
                    self.settings.close_timeout,
                ),
                Media::Video => (
                    format!("{}{CLOSE_VIDEO_PATH}", self.settings.video_base_url),
                    self.settings.video_close_timeout,
                ),
            };
            let body = CloseRequest {
                access_key: self.access_key.expose().to_owned(),
                request_id: task.id.clone(),
                other: Default::default(),
            };
            let answer: CloseResponse = self.post(url, &body, timeout).await?;
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

impl CallbackReader for DeepCleerCallbacks {
    fn id(&self) -> ProviderId {
        ID
    }

    fn read(&self, body: &[u8], _: OffsetDateTime) -> Result<Reading, ReadError> {
        let callback: Callback =
            serde_json::from_slice(body).map_err(|error| ReadError::Malformed(error.to_string()))?;
        Ok(match callback.kind() {
            CallbackKind::Segment(detail) => Reading::Segment(Box::new(segment(&callback, detail))),
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
fn segment(callback: &Callback, detail: &AudioDetail) -> SegmentReading {
    let id = callback.segment_id();
    let aux = detail.aux_info.as_ref();
    SegmentReading {
        provider_task_id: id.task_request_id.to_owned(),
        segment: SegmentEvent {
            segment_id: id.full.to_owned(),
            segment_index: id.index,
            risk_level: detail.risk_level.clone(),
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::from_env(&Env::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn defaults_follow_the_reference() {
        let settings = settings(&[]).unwrap();
        assert_eq!(settings.audio_base_url, "http://api-audiostream-gg.fengkongcloud.com");
        assert_eq!(settings.video_base_url, "http://api-videostream-xjp.fengkongcloud.com");
        assert_eq!(settings.start_timeout, Duration::from_secs(5));
        assert_eq!(settings.close_timeout, Duration::from_secs(1));
        assert_eq!(settings.video_close_timeout, Duration::from_secs(7));
        assert_eq!(settings.access_key, None, "off without an accessKey");
    }

    #[test]
    fn the_base_url_override_wins_over_the_cluster() {
        let overridden = settings(&[
            ("DEEPCLEER_CLUSTER", "singapore"),
            ("DEEPCLEER_BASE_URL", "http://127.0.0.1:8710/"),
        ]);
        assert_eq!(overridden.unwrap().audio_base_url, "http://127.0.0.1:8710");
        let singapore = settings(&[("DEEPCLEER_CLUSTER", "singapore")]).unwrap();
        assert_eq!(singapore.audio_base_url, "http://api-audiostream-xjp.fengkongcloud.com");
    }

    #[test]
    fn problems_name_the_variable() {
        assert_eq!(
            settings(&[("DEEPCLEER_CLUSTER", "beijing")]).unwrap_err().variable,
            "DEEPCLEER_CLUSTER"
        );
        assert_eq!(
            settings(&[("DEEPCLEER_BASE_URL", "ftp://x")]).unwrap_err().variable,
            "DEEPCLEER_BASE_URL"
        );
        assert_eq!(
            settings(&[("PROVIDER_START_TIMEOUT_MS", "soon")]).unwrap_err().variable,
            "PROVIDER_START_TIMEOUT_MS"
        );
        let with_key = settings(&[("DEEPCLEER_ACCESS_KEY", "AK-SECRET")]).unwrap();
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
