//! ZEGOCLOUD behind the provider ports: the API's start body mapped onto
//! `StartCensorAudioV2`, `StopCensorAudioV2` as the stop, and the signed
//! `censor_audio_v2_result` / `censor_audio_v2_status` callbacks read into
//! neutral readings. Its wire types are `streamguard_wire::zego`.
//!
//! Zego has no duplicate-submission answer (DeepCleer's 1001): it does not
//! recognise a resubmission, so the domain never resubmits a Zego start
//! that got no answer.

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
use crate::init::{InitError, Secrets};
use crate::ports::{BoxFuture, CallbackReader, Provider, ProviderError, ProviderStart, ProviderStop};
use std::sync::Arc;
use std::time::Duration;
use streamguard_wire::api::StartBody;
use streamguard_wire::deepcleer::{AcceptLang, BusinessType, Lang, RiskType, SegmentId, StartRequest, StreamEndCode};
use streamguard_wire::event::{RiskLabel, SegmentEvent, StreamEndEvent};
use streamguard_wire::zego::{
    CommonParams, RETRY_AFTER_SECS, START_ACTION, STOP_ACTION, StartCensorAudio, StopCensorAudio, ZegoBusinessType,
    ZegoCallback, ZegoCode, ZegoEventId, ZegoResponse, ZegoResultCallback, ZegoResultDetail, ZegoRiskType,
    ZegoStatusCallback,
};
use streamguard_wire::{Problem, Problems};
use time::OffsetDateTime;

pub const ID: ProviderId = ProviderId::declare("zego");

pub const REGISTRATION: Registration = Registration {
    id: ID,
    start: build_start,
    stop: build_stop,
    reader: build_reader,
};

/// Maps DeepCleer detection types to Zego's lists; `None` for what Zego does not offer.
enum Mapped {
    Risk(ZegoRiskType),
    Business(ZegoBusinessType),
}

fn map_risk(risk: &RiskType) -> Option<Mapped> {
    use Mapped::{Business, Risk};
    Some(match risk {
        RiskType::Polity => Risk(ZegoRiskType::Polity),
        RiskType::Erotic => Risk(ZegoRiskType::Erotic),
        RiskType::Advert => Risk(ZegoRiskType::Advert),
        RiskType::Ban => Risk(ZegoRiskType::Ban),
        RiskType::Violent => Risk(ZegoRiskType::Violent),
        RiskType::Moan => Risk(ZegoRiskType::Moan),
        RiskType::AudioPolitical => Risk(ZegoRiskType::AudioPolitical),
        RiskType::Anthen => Risk(ZegoRiskType::Anthen),
        RiskType::Dirty => Risk(ZegoRiskType::Dirty),
        RiskType::Adlaw => Risk(ZegoRiskType::Adlaw),
        RiskType::BanedAudio => Risk(ZegoRiskType::BandAudio),
        RiskType::Minor => Business(ZegoBusinessType::Moinir),
        RiskType::Sing => Business(ZegoBusinessType::Sing),
        RiskType::Language => Business(ZegoBusinessType::Language),
        RiskType::Voice => Business(ZegoBusinessType::Voice),
        RiskType::CopyrightSongs | RiskType::Gender | RiskType::Timbre | RiskType::Unknown(_) => return None,
    })
}

fn map_business(business: &BusinessType) -> Option<ZegoBusinessType> {
    match business {
        BusinessType::Sing => Some(ZegoBusinessType::Sing),
        BusinessType::Language => Some(ZegoBusinessType::Language),
        BusinessType::Voice => Some(ZegoBusinessType::Voice),
        _ => None,
    }
}

fn flag(value: Option<i64>) -> Option<i64> {
    value.filter(|value| *value == 0 || *value == 1)
}

/// The `StartCensorAudioV2` body for a start request; every problem at once.
pub fn start_body(
    request: &StartRequest,
    callback: &str,
    default_event_id: &str,
) -> Result<StartCensorAudio, Problems> {
    let data = &request.data;
    let mut problems = Vec::new();
    let mut problem = |field: &str, rule: String| {
        problems.push(Problem {
            field: field.into(),
            rule,
        })
    };
    if data.bt_id.trim().is_empty() {
        problem("data.btId", "is required and must not be empty".into());
    } else if data.bt_id.chars().count() > streamguard_wire::api::BT_ID_MAX_CHARS {
        problem(
            "data.btId",
            format!("must be at most {} characters", streamguard_wire::api::BT_ID_MAX_CHARS),
        );
    }
    let mut risks = Vec::new();
    let mut businesses = Vec::new();
    for word in request.risk_types.iter().flat_map(|set| set.0.iter()) {
        match map_risk(word) {
            Some(Mapped::Risk(risk)) => risks.push(risk),
            Some(Mapped::Business(business)) => businesses.push(business),
            None => problem("type", format!("{word} is not available through Zego")),
        }
    }
    for word in request.business_types.iter().flat_map(|set| set.0.iter()) {
        match map_business(word) {
            Some(business) => businesses.push(business),
            None => problem(
                "businessType",
                format!("{word} is not available through Zego (SING, LANGUAGE, VOICE are)"),
            ),
        }
    }
    let room = data
        .zego_param
        .as_ref()
        .and_then(|param| param.room_id.clone())
        .filter(|room| !room.trim().is_empty());
    let event = match ZegoEventId::parse(&request.event_id) {
        known if known.is_known() => known,
        _ => ZegoEventId::parse(default_event_id),
    };
    let body = StartCensorAudio {
        room_id: room.unwrap_or_else(|| data.bt_id.clone()),
        event_id: Some(event),
        result_callback_url: Some(callback.to_owned()),
        status_callback_url: Some(callback.to_owned()),
        is_mixing_enabled: data
            .zego_param
            .as_ref()
            .and_then(|param| param.is_mixing_enabled)
            .map(i64::from),
        audio_language: Some(data.lang.clone().unwrap_or(Lang::Zh)),
        risk_type_list: (!risks.is_empty()).then_some(risks),
        business_type_list: (!businesses.is_empty()).then_some(businesses),
        label_language: Some(request.accept_lang.clone().unwrap_or(AcceptLang::En)),
        return_all_text: flag(data.return_all_text),
        return_pre_text: flag(data.return_pre_text),
        return_pre_audio: flag(data.return_pre_audio),
        return_finish_info: Some(data.return_finish_info.unwrap_or(1)),
        other: Default::default(),
    };
    let unmapped = !problems.is_empty();
    if let Err(Problems(found)) = body.validate() {
        // An empty type list is already explained by the unmapped types.
        problems.extend(
            found
                .into_iter()
                .filter(|found| !(unmapped && found.field == "RiskTypeList")),
        );
    }
    if problems.is_empty() {
        Ok(body)
    } else {
        Err(Problems(problems))
    }
}

/// Where Zego's AppId and ServerSecret come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiSource {
    /// An SSM SecureString holding `{"appId": 123, "serverSecret": "…"}`.
    Parameter(String),
    /// Local runs: the values themselves.
    Values { app_id: u32, server_secret: SecretSource },
}

impl ApiSource {
    /// The server API's credentials; Zego starts and stops are off without them.
    pub fn from_env(env: &Env) -> Result<Option<Self>, ConfigError> {
        Ok(
            match (
                env.set(&ZEGO_API_SECRET_PARAMETER),
                env.set(&ZEGO_APP_ID),
                env.set(&ZEGO_SERVER_SECRET),
            ) {
                (Some(name), _, _) => Some(ApiSource::Parameter(name)),
                (None, Some(app_id), Some(secret)) => Some(ApiSource::Values {
                    app_id: app_id
                        .parse()
                        .map_err(|_| ConfigError::new(&ZEGO_APP_ID, "is not an unsigned 32-bit number"))?,
                    server_secret: SecretSource::Value(secret),
                }),
                (None, None, None) => None,
                _ => {
                    return Err(ConfigError::new(
                        &ZEGO_APP_ID,
                        "ZEGO_APP_ID and ZEGO_SERVER_SECRET go together",
                    ));
                }
            },
        )
    }

    /// The AppId and ServerSecret.
    async fn resolve(&self, secrets: &Secrets<'_>) -> Result<(u32, Secret), InitError> {
        match self {
            ApiSource::Values { app_id, server_secret } => Ok((*app_id, secrets.resolve(server_secret).await?)),
            ApiSource::Parameter(name) => {
                #[derive(serde::Deserialize)]
                #[serde(rename_all = "camelCase")]
                struct Credentials {
                    app_id: u32,
                    server_secret: String,
                }
                let value = secrets.resolve(&SecretSource::Parameter(name.clone())).await?;
                let credentials: Credentials = serde_json::from_str(value.expose()).map_err(|_| InitError::Secret {
                    name: name.clone(),
                    problem: r#"is not {"appId": <number>, "serverSecret": "<text>"}"#.into(),
                })?;
                Ok((credentials.app_id, Secret::new(credentials.server_secret)))
            }
        }
    }
}

/// What Zego's start needs.
#[derive(Debug, Clone, PartialEq)]
pub struct StartSettings {
    pub base_url: String,
    pub api: Option<ApiSource>,
    /// `EventId` when a start's `eventId` is not one of Zego's.
    pub default_event_id: String,
    pub timeout: Duration,
}

impl StartSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let default_event_id = env.required(&ZEGO_DEFAULT_EVENT_ID)?;
        if !ZegoEventId::parse(&default_event_id).is_known() {
            return Err(ConfigError::new(
                &ZEGO_DEFAULT_EVENT_ID,
                format!("{default_event_id:?} is not live_streaming, audio_room or private_chat"),
            ));
        }
        let api = ApiSource::from_env(env)?;
        if api.is_some() && callback_secret(env).is_none() {
            // Every result of every Zego room would be refused as unsigned.
            return Err(ConfigError::new(
                &ZEGO_CALLBACK_SECRET_PARAMETER,
                "is required when Zego starts are enabled (Zego's callbacks could not be read)",
            ));
        }
        Ok(StartSettings {
            base_url: env.base_url(&ZEGO_BASE_URL)?.unwrap_or_default(),
            api,
            default_event_id,
            timeout: env.millis(&PROVIDER_START_TIMEOUT_MS)?,
        })
    }
}

/// What Zego's stop needs.
#[derive(Debug, Clone, PartialEq)]
pub struct StopSettings {
    pub base_url: String,
    pub api: Option<ApiSource>,
    pub timeout: Duration,
}

impl StopSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(StopSettings {
            base_url: env.base_url(&ZEGO_BASE_URL)?.unwrap_or_default(),
            api: ApiSource::from_env(env)?,
            timeout: env.millis(&PROVIDER_CLOSE_TIMEOUT_MS)?,
        })
    }
}

/// The callback secret's source; Zego callbacks are refused without it.
pub fn callback_secret(env: &Env) -> Option<SecretSource> {
    env.secret(&ZEGO_CALLBACK_SECRET_PARAMETER, &ZEGO_CALLBACK_SECRET)
}

fn build_start<'a>(
    env: &'a Env,
    secrets: &'a Secrets<'_>,
    transport: Arc<dyn Transport>,
) -> Built<'a, dyn ProviderStart> {
    Box::pin(async move {
        let settings = StartSettings::from_env(env)?;
        let Some(api) = &settings.api else {
            return Ok(None);
        };
        let (app_id, server_secret) = api.resolve(secrets).await?;
        let client = Client {
            base_url: settings.base_url.clone(),
            app_id,
            server_secret,
            transport,
        };
        Ok(Some(Arc::new(ZegoStart { settings, client }) as Arc<dyn ProviderStart>))
    })
}

fn build_stop<'a>(
    env: &'a Env,
    secrets: &'a Secrets<'_>,
    transport: Arc<dyn Transport>,
) -> Built<'a, dyn ProviderStop> {
    Box::pin(async move {
        let settings = StopSettings::from_env(env)?;
        let Some(api) = &settings.api else {
            return Ok(None);
        };
        let (app_id, server_secret) = api.resolve(secrets).await?;
        let client = Client {
            base_url: settings.base_url.clone(),
            app_id,
            server_secret,
            transport,
        };
        Ok(Some(Arc::new(ZegoStop { settings, client }) as Arc<dyn ProviderStop>))
    })
}

fn build_reader<'a>(env: &'a Env, secrets: &'a Secrets<'_>) -> Built<'a, dyn CallbackReader> {
    Box::pin(async move {
        let Some(source) = callback_secret(env) else {
            return Ok(None);
        };
        let callbacks = ZegoCallbacks {
            secret: secrets.resolve(&source).await?,
        };
        Ok(Some(Arc::new(callbacks) as Arc<dyn CallbackReader>))
    })
}

/// Zego's server API: where, and the credentials that sign each call.
struct Client {
    base_url: String,
    app_id: u32,
    server_secret: Secret,
    transport: Arc<dyn Transport>,
}

impl Client {
    /// One signed call: a fresh nonce and timestamp each time.
    async fn call(
        &self,
        action: &str,
        body: &impl serde::Serialize,
        timeout: Duration,
    ) -> Result<ZegoResponse, ProviderError> {
        let nonce = uuid::Uuid::new_v4().simple().to_string()[..16].to_owned();
        let timestamp = OffsetDateTime::now_utc().unix_timestamp();
        let params = CommonParams::signed(action, self.app_id, &nonce, self.server_secret.expose(), timestamp);
        let url = format!("{}/?{}", self.base_url, params.to_query());
        let body = serde_json::to_vec(body)
            .map_err(|error| ProviderError::Unreachable(format!("request not serialisable: {error}")))?;
        self.transport.post_json(url, body, timeout).await?.json()
    }
}

/// What a Zego code means for the caller; the API's names of old.
fn refusal(code: ZegoCode, message: String) -> Refusal {
    let refused = Refusal {
        provider: ID,
        code: code.code(),
        label: "ZEGO_FAILURE",
        message: format!("Zego refused ({code}): {message}"),
        class: RefusalClass::ProviderFailing,
        retry_after: None,
        transient: false,
    };
    if code.is_configuration_error() {
        Refusal {
            label: "ZEGO_CONFIGURATION",
            class: RefusalClass::Configuration,
            message: format!(
                "Zego refused the deployment's configuration ({code}: {message}): check the Zego AppId, ServerSecret and that moderation is enabled for the account"
            ),
            ..refused
        }
    } else if code.retry_later() {
        Refusal {
            label: "ZEGO_RETRY_LATER",
            retry_after: Some(Duration::from_secs(RETRY_AFTER_SECS)),
            transient: true,
            ..refused
        }
    } else {
        refused
    }
}

/// Zego's start (`StartCensorAudioV2`).
pub struct ZegoStart {
    settings: StartSettings,
    client: Client,
}

impl ZegoStart {
    pub fn new(settings: StartSettings, app_id: u32, server_secret: Secret, transport: Arc<dyn Transport>) -> Self {
        let client = Client {
            base_url: settings.base_url.clone(),
            app_id,
            server_secret,
            transport,
        };
        ZegoStart { settings, client }
    }
}

impl Provider for ZegoStart {
    fn id(&self) -> ProviderId {
        ID
    }
}

impl ProviderStart for ZegoStart {
    /// Zego starts a second task for a resubmitted room.
    fn recognises_resubmission(&self) -> bool {
        false
    }

    fn check(&self, body: &StartBody, callback_url: &str) -> Result<(), StartProblem> {
        start_body(&body.request, callback_url, &self.settings.default_event_id)
            .map(|_| ())
            .map_err(StartProblem::Invalid)
    }

    fn submit<'a>(
        &'a self,
        body: &'a StartBody,
        callback_url: &'a str,
    ) -> BoxFuture<'a, Result<Submission, ProviderError>> {
        Box::pin(async move {
            let request = start_body(&body.request, callback_url, &self.settings.default_event_id)
                .map_err(|problems| ProviderError::Unreachable(format!("the start was not checked: {problems}")))?;
            let answer = self.client.call(START_ACTION, &request, self.settings.timeout).await?;
            let task_id = answer.data.map(|data| data.task_id).filter(|id| !id.is_empty());
            Ok(match (answer.code, task_id) {
                (ZegoCode::Success, Some(task_id)) => Submission::Accepted {
                    provider_task_id: task_id,
                },
                (code, _) => Submission::Refused(refusal(code, answer.message)),
            })
        })
    }
}

/// Zego's stop (`StopCensorAudioV2`).
pub struct ZegoStop {
    settings: StopSettings,
    client: Client,
}

impl ZegoStop {
    pub fn new(settings: StopSettings, app_id: u32, server_secret: Secret, transport: Arc<dyn Transport>) -> Self {
        let client = Client {
            base_url: settings.base_url.clone(),
            app_id,
            server_secret,
            transport,
        };
        ZegoStop { settings, client }
    }
}

impl Provider for ZegoStop {
    fn id(&self) -> ProviderId {
        ID
    }
}

impl ProviderStop for ZegoStop {
    /// Zego moderates audio only.
    fn stops(&self, media: Media) -> bool {
        media == Media::Audio
    }

    fn stop<'a>(&'a self, task: &'a ProviderTask) -> BoxFuture<'a, Result<Stop, ProviderError>> {
        Box::pin(async move {
            let body = StopCensorAudio {
                task_id: task.id.clone(),
                other: Default::default(),
            };
            let answer = self.client.call(STOP_ACTION, &body, self.settings.timeout).await?;
            Ok(match answer.code {
                ZegoCode::Success => Stop::Stopped,
                code => Stop::Refused(refusal(code, answer.message)),
            })
        })
    }
}

/// Zego's callbacks: signed with the callback secret over timestamp and
/// nonce (not the body), so a stale timestamp is refused and a repeated
/// `ResultTaskId` is a duplicate (the domain's event id).
pub struct ZegoCallbacks {
    secret: Secret,
}

impl ZegoCallbacks {
    pub fn new(secret: Secret) -> Self {
        ZegoCallbacks { secret }
    }
}

impl Provider for ZegoCallbacks {
    fn id(&self) -> ProviderId {
        ID
    }
}

/// What a Zego result must carry: its segment id; the disposition is kept
/// as given when of another type. Its signature fields, when unreadable, are
/// taken out, and the signature check then refuses the callback.
const RESULT_RULES: Rules = Rules {
    identity: &["ResultTaskId"],
    disposition: "RiskLevel",
};

/// What a Zego status must carry: its task id.
const STATUS_RULES: Rules = Rules {
    identity: &["TaskId"],
    disposition: "",
};

/// A Zego callback, tolerantly when its typed parse fails (`super::tolerant`).
fn parse(body: &[u8]) -> Result<(ZegoCallback, Vec<String>), ReadError> {
    let malformed = |problems: streamguard_wire::Problems| ReadError::Malformed(problems.to_string());
    let text = streamguard_wire::zego::callback_json(body).map_err(malformed)?;
    if let Ok(callback) = serde_json::from_str::<ZegoCallback>(&text) {
        return Ok((callback, Vec::new()));
    }
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|error| ReadError::Malformed(format!("not JSON: {error}")))?;
    let event = json
        .get("Event")
        .and_then(|event| event.as_str())
        .unwrap_or_default()
        .to_owned();
    match event.as_str() {
        "censor_audio_v2_result" => {
            let (result, unread) = tolerant::read(json, &RESULT_RULES).map_err(ReadError::Malformed)?;
            Ok((ZegoCallback::Result(Box::new(result)), unread))
        }
        "censor_audio_v2_status" => {
            let (status, unread) = tolerant::read(json, &STATUS_RULES).map_err(ReadError::Malformed)?;
            Ok((ZegoCallback::Status(Box::new(status)), unread))
        }
        other => Err(ReadError::Malformed(format!(
            "Event {other:?} is not a Zego callback this reads"
        ))),
    }
}

impl CallbackReader for ZegoCallbacks {
    fn evidence(&self, body: &[u8]) -> Option<serde_json::Value> {
        let text = streamguard_wire::zego::callback_json(body).ok()?;
        let mut json: serde_json::Value = serde_json::from_str(&text).ok()?;
        let fields = json.as_object_mut()?;
        // The signature and what went into it: nothing of the story.
        for field in ["Signature", "Nonce", "Timestamp", "AppId"] {
            fields.remove(field);
        }
        streamguard_wire::redact::redact_request_params(&mut json);
        Some(json)
    }

    fn read(&self, body: &[u8], now: OffsetDateTime) -> Result<Reading, ReadError> {
        let (callback, unread) = parse(body)?;
        callback
            .auth()
            .verify(self.secret.expose(), now.unix_timestamp())
            .map_err(|error| ReadError::Unauthenticated(error.to_string()))?;
        Ok(match &callback {
            ZegoCallback::Result(result) if result.result_task_id.trim().is_empty() => {
                return Err(ReadError::Malformed("ResultTaskId is empty".into()));
            }
            ZegoCallback::Result(result) => match &result.detail {
                Some(detail) => Reading::Segment(Box::new(segment(result, detail, unread))),
                None => Reading::NoResult {
                    detail: format!(
                        "Zego result {} without a Detail (code {:?})",
                        result.result_task_id, result.code
                    ),
                },
            },
            ZegoCallback::Status(status) if status.is_finished() => Reading::StreamEnd(end(status, unread)),
            ZegoCallback::Status(status) => Reading::NoResult {
                detail: format!("Zego task {} status {:?}", status.task_id, status.status),
            },
        })
    }
}

/// A result callback as a neutral reading.
fn segment(callback: &ZegoResultCallback, detail: &ZegoResultDetail, unread_fields: Vec<String>) -> SegmentReading {
    let id = SegmentId::parse(&callback.result_task_id);
    let aux = callback.aux_info.as_ref();
    let labelled = [&detail.risk_label1, &detail.risk_label2, &detail.risk_label3]
        .iter()
        .any(|label| label.is_some());
    let all_labels = labelled.then(|| RiskLabel {
        risk_label1: detail.risk_label1.clone(),
        risk_label2: detail.risk_label2.clone(),
        risk_label3: detail.risk_label3.clone(),
        risk_description: detail.risk_description.clone(),
    });
    SegmentReading {
        provider_task_id: callback
            .task_id
            .clone()
            .unwrap_or_else(|| id.task_request_id.to_owned()),
        segment: SegmentEvent {
            segment_id: id.full.to_owned(),
            segment_index: id.index,
            risk_level: detail.risk_level.clone(),
            risk_level_recognised: detail.risk_level.is_known(),
            risk_label1: detail.risk_label1.clone(),
            risk_label2: detail.risk_label2.clone(),
            risk_label3: detail.risk_label3.clone(),
            risk_description: detail.risk_description.clone(),
            all_labels: all_labels.into_iter().collect(),
            audio_text: detail.audio_text.clone(),
            audio_url: detail.audio_url.clone(),
            pre_audio_url: detail.pre_audio_url.clone(),
            audio_start_time: None,
            audio_end_time: None,
            process_begin_time: aux.and_then(|aux| aux.process_begin_time),
            process_finish_time: aux.and_then(|aux| aux.process_finish_time),
            speaker_id: None,
            room: aux.and_then(|aux| aux.room_id.clone()),
        },
        pass_through: None,
        echoed_bt_id: None,
        unread_fields,
    }
}

/// A "finished" status as a neutral end; a non-zero `Code` is kept as the
/// end code (named when it is one of the engine's 3001–3005).
fn end(status: &ZegoStatusCallback, unread_fields: Vec<String>) -> EndReading {
    let code = status.code.filter(|code| *code != 0);
    EndReading {
        provider_task_id: status.task_id.clone(),
        end: StreamEndEvent {
            end_code: code,
            end_reason: StreamEndCode::reason(code.map(StreamEndCode::from_code)).to_owned(),
            stream_time: status.aux_info.as_ref().and_then(|aux| aux.censor_stream_time),
        },
        pass_through: None,
        echoed_bt_id: None,
        unread_fields,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use streamguard_wire::deepcleer::parse_start_request;

    #[test]
    fn codes_are_classified() {
        for code in [50006, 50007, 50009] {
            let refused = refusal(ZegoCode::from_code(code), "m".into());
            assert_eq!(
                (refused.class, refused.label),
                (RefusalClass::ProviderFailing, "ZEGO_RETRY_LATER")
            );
            assert_eq!(refused.retry_after, Some(Duration::from_secs(300)));
            assert!(refused.transient);
        }
        for code in [50117, 100000004, 100000005, 100000014] {
            let refused = refusal(ZegoCode::from_code(code), "m".into());
            assert_eq!(
                (refused.class, refused.label),
                (RefusalClass::Configuration, "ZEGO_CONFIGURATION"),
                "{code}"
            );
            assert!(refused.message.contains("ServerSecret") && !refused.transient);
        }
        let other = refusal(ZegoCode::from_code(1), "m".into());
        assert_eq!(
            (other.class, other.label, other.transient),
            (RefusalClass::ProviderFailing, "ZEGO_FAILURE", false)
        );
    }

    #[test]
    fn settings_problems_name_the_variable() {
        let env = |pairs: &[(&str, &str)]| Env::from_pairs(pairs.iter().copied());
        let settings = |pairs: &[(&str, &str)]| StartSettings::from_env(&env(pairs));
        let defaults = settings(&[]).unwrap();
        assert_eq!(defaults.base_url, "https://rtc-api.zego.im");
        assert_eq!(defaults.api, None, "off by default");
        assert_eq!(callback_secret(&env(&[])), None, "callbacks refused by default");
        let stop = StopSettings::from_env(&env(&[])).unwrap();
        assert_eq!(stop.timeout, Duration::from_secs(1), "a stop waits as long as any stop");
        assert_eq!(settings(&[("ZEGO_APP_ID", "1")]).unwrap_err().variable, "ZEGO_APP_ID");
        assert_eq!(
            settings(&[("ZEGO_APP_ID", "x"), ("ZEGO_SERVER_SECRET", "s")])
                .unwrap_err()
                .variable,
            "ZEGO_APP_ID"
        );
        assert_eq!(
            settings(&[("ZEGO_DEFAULT_EVENT_ID", "party")]).unwrap_err().variable,
            "ZEGO_DEFAULT_EVENT_ID"
        );
        let enabled = [("ZEGO_API_SECRET_PARAMETER", "/zego/api")];
        assert_eq!(
            settings(&enabled).unwrap_err().variable,
            "ZEGO_CALLBACK_SECRET_PARAMETER",
            "Zego starts whose callbacks cannot be read are refused at cold start"
        );
        let readable = [enabled[0], ("ZEGO_CALLBACK_SECRET_PARAMETER", "/zego/callback")];
        assert!(settings(&readable).unwrap().api.is_some());
    }

    #[test]
    fn a_start_request_maps_onto_start_censor_audio() {
        let request = parse_start_request(
            r#"{"eventId": "live_streaming", "type": "POLITY_BANEDAUDIO_MINOR", "businessType": "GENDER_SING",
                "acceptLang": "zh", "data": {"btId": "room-1", "lang": "en", "returnAllText": 1,
                "zegoParam": {"tokenId": "t", "roomId": "zego-room", "isMixingEnabled": true}}}"#,
        )
        .unwrap();
        let problems = start_body(&request, "https://cb.example/x", "audio_room").unwrap_err();
        assert_eq!(problems.0.len(), 1, "{problems}");
        assert!(problems.get("businessType").unwrap().rule.contains("GENDER"));

        let request = parse_start_request(
            r#"{"eventId": "live_streaming", "type": "POLITY_BANEDAUDIO_MINOR", "businessType": "SING",
                "data": {"btId": "room-1", "returnAllText": 1, "zegoParam": {"tokenId": "t", "roomId": "zego-room", "isMixingEnabled": true}}}"#,
        )
        .unwrap();
        let body = start_body(&request, "https://cb.example/x", "audio_room").unwrap();
        assert_eq!(body.room_id, "zego-room");
        assert_eq!(body.event_id, Some(ZegoEventId::LiveStreaming));
        assert_eq!(
            body.risk_type_list,
            Some(vec![ZegoRiskType::Polity, ZegoRiskType::BandAudio])
        );
        assert_eq!(
            body.business_type_list,
            Some(vec![ZegoBusinessType::Moinir, ZegoBusinessType::Sing])
        );
        assert_eq!(
            (body.is_mixing_enabled, body.return_all_text, body.return_finish_info),
            (Some(1), Some(1), Some(1))
        );
        assert_eq!(body.audio_language, Some(Lang::Zh));
        assert_eq!(body.label_language, Some(AcceptLang::En));
        assert_eq!(body.result_callback_url, body.status_callback_url);
    }

    #[test]
    fn defaults_fill_what_zego_requires() {
        let request =
            parse_start_request(r#"{"eventId": "liveAudio", "type": "DIRTY", "data": {"btId": "room-9"}}"#).unwrap();
        let body = start_body(&request, "https://cb.example/x", "private_chat").unwrap();
        assert_eq!(
            body.room_id, "room-9",
            "the btId names the room when zegoParam.roomId is absent"
        );
        assert_eq!(body.event_id, Some(ZegoEventId::PrivateChat));
        let nothing = parse_start_request(r#"{"type": "COPYRIGHTSONGS", "data": {}}"#).unwrap();
        let problems = start_body(&nothing, "https://cb.example/x", "audio_room").unwrap_err();
        assert!(problems.names("data.btId") && problems.names("type"), "{problems}");
    }
}
