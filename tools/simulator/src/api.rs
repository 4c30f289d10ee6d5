//! The provider APIs: DeepCleer `POST /audiostream/v4`,
//! `/finish_audiostream/v4`, `/finish_videostream/v4`, and Zego
//! `POST /?Action=StartCensorAudioV2|StopCensorAudioV2`.
//!
//! Every answer is HTTP 200 with the provider's own code in the body, as the
//! real services answer.

use crate::clock::wall_clock_secs;
use crate::faults::{Api, Effect};
use crate::state::{Provider, RequestRecord, SharedState, Task, TaskStatus};
use crate::stream::{self, Dialect, Options, Source, StreamSpec};
use axum::Json;
use axum::extract::{RawQuery, State};
use serde_json::Value;
use std::time::Duration;
use streamguard_wire::deepcleer::{
    CloseResponse, DetailCode, MediaKind, ResponseCode, ResponseDetail, StartRequest, StreamData, StreamType,
    SyncResponse, parse_close_request, parse_start_request,
};
use streamguard_wire::zego::{
    CommonParams, START_ACTION, STOP_ACTION, StartCensorAudio, StartCensorAudioData, StopCensorAudio, ZegoCode,
    ZegoResponse,
};
use tokio_util::sync::CancellationToken;

/// Zego documents no code for a malformed body; the simulator answers this one.
pub const ZEGO_INVALID_PARAMETER: i64 = 1;

/// A fresh 32-hex-character id, as DeepCleer and Zego issue.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn message_for(code: ResponseCode) -> &'static str {
    match code {
        ResponseCode::Success => "Success",
        ResponseCode::LimitExceeded => "QPS or stream-count limit exceeded",
        ResponseCode::InvalidParameters => "Invalid parameters",
        ResponseCode::ServiceFailure => "Service failure",
        ResponseCode::StreamFailure => "Stream pull failure",
        ResponseCode::Unauthorized => "Unauthorized operation",
        ResponseCode::Unknown(_) => "Unknown",
    }
}

fn sync_response(request_id: String, code: ResponseCode, detail: Option<&str>) -> SyncResponse {
    let message = match detail {
        Some(detail) => format!("{}: {detail}", message_for(code)),
        None => message_for(code).to_owned(),
    };
    SyncResponse {
        request_id,
        code,
        message,
        detail: None,
        error_code: None,
        dup_request_id: None,
        other: Default::default(),
    }
}

/// What faults and limits allow a request to do.
enum Gate {
    /// Answer this code without doing the work.
    Answer(i64),
    /// Do the work; then hold the answer this long if the response is to be dropped.
    Proceed { drop_for: Option<Duration> },
}

async fn gate(state: &SharedState, api: Api, record: &mut RequestRecord) -> Gate {
    let effect = state.update(|inner| inner.faults.take(api));
    let drop_for = match effect {
        Some(Effect::Code(code)) => {
            record.fault = Some("fault");
            return Gate::Answer(code);
        }
        Some(Effect::Stall(wait)) => {
            record.fault = Some("stalled");
            tokio::time::sleep(wait).await;
            None
        }
        Some(Effect::DropResponse(hold)) => {
            record.fault = Some("dropped");
            Some(hold)
        }
        None => None,
    };
    if over_qps(state) {
        return Gate::Answer(ResponseCode::LimitExceeded.code());
    }
    Gate::Proceed { drop_for }
}

fn over_qps(state: &SharedState) -> bool {
    let Some(max) = state.config.max_qps else { return false };
    let second = wall_clock_secs();
    state.update(|inner| {
        if inner.qps_window.0 != second {
            inner.qps_window = (second, 0);
        }
        inner.qps_window.1 += 1;
        inner.qps_window.1 > max
    })
}

/// Records the request and, for a dropped response, holds it past the client's timeout.
async fn respond<T>(
    state: &SharedState,
    mut record: RequestRecord,
    code: i64,
    drop_for: Option<Duration>,
    body: T,
) -> Json<T> {
    record.code = Some(code);
    state.record_request(record);
    if let Some(hold) = drop_for {
        tokio::time::sleep(hold).await;
    }
    Json(body)
}

/// What identifies a stream for duplicate detection.
pub fn source_key(data: &StreamData) -> String {
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    match &data.stream_type {
        Some(StreamType::Normal) => format!("url:{}", text(&data.url)),
        Some(StreamType::Zego) => data.zego_param.as_ref().map_or_else(String::new, |param| {
            format!("zego:{}/{}", text(&param.room_id), text(&param.stream_id))
        }),
        Some(StreamType::Agora) => data
            .agora_param
            .as_ref()
            .map_or_else(String::new, |param| format!("agora:{}/{}", param.app_id, param.channel)),
        Some(StreamType::Trtc) => data.trtc_param.as_ref().map_or_else(String::new, |param| {
            let room = param
                .room_id
                .map_or_else(|| text(&param.str_room_id), |id| id.to_string());
            format!(
                "trtc:{}/{room}/{}",
                param.sdk_app_id.unwrap_or_default(),
                text(&param.uid)
            )
        }),
        Some(StreamType::Volc) => data
            .volc_param
            .as_ref()
            .map_or_else(String::new, |param| format!("volc:{}/{}", param.app_id, param.room_id)),
        Some(StreamType::Gin) => data
            .gin_param
            .as_ref()
            .map_or_else(String::new, |param| format!("gin:{}", param.room_id)),
        Some(StreamType::Ali) => data
            .ali_param
            .as_ref()
            .map_or_else(String::new, |param| format!("ali:{}", param.room)),
        Some(StreamType::Yunxin) => data
            .yunxin_param
            .as_ref()
            .map_or_else(String::new, |param| format!("yunxin:{}/{}", param.app_key, param.cname)),
        Some(StreamType::Unknown(other)) => format!("{other}:"),
        None => String::new(),
    }
}

fn flag(value: Option<i64>) -> bool {
    value == Some(1)
}

fn new_task(request_id: &str, provider: Provider, bt_id: &str, source: String, now_ms: i64) -> Task {
    Task {
        request_id: request_id.to_owned(),
        provider,
        bt_id: bt_id.to_owned(),
        source,
        status: TaskStatus::Running,
        end_cause: None,
        end_code: None,
        segments: 0,
        pull_attempts: 0,
        started_at_ms: now_ms,
        ended_at_ms: None,
        end_withheld: false,
        stray_of: None,
        cancel: CancellationToken::new(),
    }
}

/// Starts a copy of task `of` under a new id: the same stream, the same
/// callback URL, no duplicate check. What a provider does when a start it
/// answered is resubmitted, or a task is started twice behind the backend's
/// back: a stray that keeps calling back. The new task's id, or `None` when
/// `of` is unknown.
pub fn start_stray(state: &SharedState, of: &str) -> Option<String> {
    let (mut spec, original) = {
        let inner = state.read();
        (inner.specs.get(of)?.clone(), inner.tasks.get(of)?.clone())
    };
    let request_id = new_id();
    spec.request_id = request_id.clone();
    let mut task = new_task(
        &request_id,
        original.provider,
        &original.bt_id,
        original.source,
        state.clock.now_ms(),
    );
    task.stray_of = Some(of.to_owned());
    let Admission::Created(cancel) = admit(state, task, false) else {
        return None;
    };
    tokio::spawn(stream::run(state.clone(), spec, cancel));
    Some(request_id)
}

enum Admission {
    Created(CancellationToken),
    Duplicate(String),
    Full,
}

/// Adds the task unless its stream is already moderated or the stream cap is reached.
fn admit(state: &SharedState, task: Task, dedup: bool) -> Admission {
    state.update(|inner| {
        if dedup && let Some(running) = inner.running_with_source(&task.source) {
            return Admission::Duplicate(running.request_id.clone());
        }
        if state
            .config
            .max_streams
            .is_some_and(|max| inner.running_streams() >= max)
        {
            return Admission::Full;
        }
        let cancel = task.cancel.clone();
        inner.task_order.push(task.request_id.clone());
        inner.tasks.insert(task.request_id.clone(), task);
        Admission::Created(cancel)
    })
}

/// `POST /audiostream/v4`.
pub async fn start(State(state): State<SharedState>, body: String) -> Json<SyncResponse> {
    let mut record = state.request("start");
    let drop_for = match gate(&state, Api::Start, &mut record).await {
        Gate::Answer(code) => {
            let code = ResponseCode::from_code(code);
            return respond(&state, record, code.code(), None, sync_response(new_id(), code, None)).await;
        }
        Gate::Proceed { drop_for } => drop_for,
    };
    let refuse = |code: ResponseCode, detail: Option<String>| sync_response(new_id(), code, detail.as_deref());
    let request = match parse_start_request(&body) {
        Ok(request) => request,
        Err(problems) => {
            let answer = refuse(ResponseCode::InvalidParameters, Some(problems.to_string()));
            return respond(&state, record, 1902, drop_for, answer).await;
        }
    };
    record.bt_id = Some(request.data.bt_id.clone());
    if !state.config.access_keys.contains(&request.access_key) {
        return respond(&state, record, 9101, drop_for, refuse(ResponseCode::Unauthorized, None)).await;
    }
    if let Err(problems) = request.validate() {
        let answer = refuse(ResponseCode::InvalidParameters, Some(problems.to_string()));
        return respond(&state, record, 1902, drop_for, answer).await;
    }
    let request_id = new_id();
    let task = new_task(
        &request_id,
        Provider::Deepcleer,
        &request.data.bt_id,
        source_key(&request.data),
        state.clock.now_ms(),
    );
    match admit(&state, task, true) {
        Admission::Duplicate(running) => {
            record.request_id = Some(running.clone());
            let mut answer = sync_response(request_id, ResponseCode::Success, None);
            answer.detail = Some(ResponseDetail {
                error_code: Some(DetailCode::DuplicateStream),
                dup_request_id: Some(running),
                other: Default::default(),
            });
            respond(&state, record, 1100, drop_for, answer).await
        }
        Admission::Full => {
            respond(
                &state,
                record,
                1901,
                drop_for,
                refuse(ResponseCode::LimitExceeded, None),
            )
            .await
        }
        Admission::Created(cancel) => {
            record.request_id = Some(request_id.clone());
            let spec = deepcleer_spec(&state, &request, &request_id, &body);
            tokio::spawn(stream::run(state.clone(), spec, cancel));
            respond(
                &state,
                record,
                1100,
                drop_for,
                sync_response(request_id, ResponseCode::Success, None),
            )
            .await
        }
    }
}

fn deepcleer_spec(state: &SharedState, request: &StartRequest, request_id: &str, body: &str) -> StreamSpec {
    let data = &request.data;
    let source = match (&data.stream_type, &data.url) {
        (Some(StreamType::Normal), Some(url)) if url.starts_with("http://") || url.starts_with("https://") => {
            Source::Http(url.clone())
        }
        _ => Source::Scenario,
    };
    StreamSpec {
        request_id: request_id.to_owned(),
        bt_id: data.bt_id.clone(),
        source,
        options: Options {
            return_all_text: flag(data.return_all_text),
            return_pre_text: flag(data.return_pre_text),
            return_pre_audio: flag(data.return_pre_audio),
            return_finish_info: flag(data.return_finish_info),
            audio_detect_step: data.audio_detect_step.and_then(|step| u64::try_from(step).ok()),
        },
        dialect: Dialect::Deepcleer {
            callback: request.callback.clone(),
            request: serde_json::from_str(body).unwrap_or(Value::Null),
            pass_through: data.pass_through().cloned().map(Value::Object),
        },
        base_url: base_url(state),
    }
}

fn base_url(state: &SharedState) -> String {
    state.read().base_url.clone()
}

/// `POST /finish_audiostream/v4`.
pub async fn close_audio(state: State<SharedState>, body: String) -> Json<CloseResponse> {
    close(state, body, MediaKind::Audio).await
}

/// `POST /finish_videostream/v4`.
pub async fn close_video(state: State<SharedState>, body: String) -> Json<CloseResponse> {
    close(state, body, MediaKind::Video).await
}

async fn close(State(state): State<SharedState>, body: String, kind: MediaKind) -> Json<CloseResponse> {
    let (api, name) = match kind {
        MediaKind::Audio => (Api::Close, "close"),
        MediaKind::Video => (Api::CloseVideo, "closeVideo"),
    };
    let mut record = state.request(name);
    let answer = |code: ResponseCode, detail: Option<String>| {
        let message = detail.map_or_else(
            || message_for(code).to_owned(),
            |detail| format!("{}: {detail}", message_for(code)),
        );
        CloseResponse {
            request_id: new_id(),
            code,
            message,
            other: Default::default(),
        }
    };
    let drop_for = match gate(&state, api, &mut record).await {
        Gate::Answer(code) => {
            return respond(&state, record, code, None, answer(ResponseCode::from_code(code), None)).await;
        }
        Gate::Proceed { drop_for } => drop_for,
    };
    let request = match parse_close_request(&body) {
        Ok(request) => request,
        Err(problems) => {
            return respond(
                &state,
                record,
                1902,
                drop_for,
                answer(ResponseCode::InvalidParameters, Some(problems.to_string())),
            )
            .await;
        }
    };
    record.request_id = Some(request.request_id.clone());
    if !state.config.access_keys.contains(&request.access_key) {
        return respond(&state, record, 9101, drop_for, answer(ResponseCode::Unauthorized, None)).await;
    }
    if let Err(problems) = request.validate(kind) {
        let response = answer(ResponseCode::InvalidParameters, Some(problems.to_string()));
        return respond(&state, record, 1902, drop_for, response).await;
    }
    let found = state.update(|inner| match kind {
        MediaKind::Audio => inner
            .tasks
            .get(&request.request_id)
            .filter(|task| task.provider == Provider::Deepcleer)
            .map(|task| task.cancel.cancel())
            .is_some(),
        MediaKind::Video => inner
            .video_tasks
            .get_mut(&request.request_id)
            .map(|closed| *closed = true)
            .is_some(),
    });
    if found {
        respond(&state, record, 1100, drop_for, answer(ResponseCode::Success, None)).await
    } else {
        let detail = Some(format!(
            "requestId {} is not a task of this service",
            request.request_id
        ));
        respond(
            &state,
            record,
            1902,
            drop_for,
            answer(ResponseCode::InvalidParameters, detail),
        )
        .await
    }
}

fn zego_answer(code: i64, message: impl Into<String>, task_id: Option<String>) -> ZegoResponse {
    ZegoResponse {
        code: ZegoCode::from_code(code),
        message: message.into(),
        request_id: new_id(),
        data: task_id.map(|task_id| StartCensorAudioData {
            task_id,
            other: Default::default(),
        }),
        other: Default::default(),
    }
}

/// `POST /?Action=…`: Zego's server API.
pub async fn zego(State(state): State<SharedState>, RawQuery(query): RawQuery, body: String) -> Json<ZegoResponse> {
    let params = CommonParams::from_query(query.as_deref().unwrap_or_default());
    let api_name = match params.as_ref().map(|params| params.action.as_str()) {
        Ok(START_ACTION) => "zegoStart",
        Ok(STOP_ACTION) => "zegoStop",
        _ => "zego",
    };
    let mut record = state.request(api_name);
    let params = match params {
        Ok(params) => params,
        Err(problems) => {
            let code = ZegoCode::SignatureWrong.code();
            return respond(
                &state,
                record,
                code,
                None,
                zego_answer(code, problems.to_string(), None),
            )
            .await;
        }
    };
    if let Err(code) = verify_zego(&state, &params) {
        let message = format!("signature check failed ({code:?})");
        return respond(
            &state,
            record,
            code.code(),
            None,
            zego_answer(code.code(), message, None),
        )
        .await;
    }
    let drop_for = match gate(&state, Api::Zego, &mut record).await {
        Gate::Answer(code) if code == ResponseCode::LimitExceeded.code() => {
            return respond(
                &state,
                record,
                code,
                None,
                zego_answer(code, "rate limit exceeded", None),
            )
            .await;
        }
        Gate::Answer(code) => return respond(&state, record, code, None, zego_answer(code, "fault", None)).await,
        Gate::Proceed { drop_for } => drop_for,
    };
    match params.action.as_str() {
        START_ACTION => {
            let body = match valid_body(&body, StartCensorAudio::validate) {
                Ok(body) => body,
                Err(problems) => {
                    return respond(&state, record, ZEGO_INVALID_PARAMETER, drop_for, zego_invalid(problems)).await;
                }
            };
            record.bt_id = Some(body.room_id.clone());
            let task_id = new_id();
            let source = format!("zegoRoom:{}", body.room_id);
            let task = new_task(&task_id, Provider::Zego, &body.room_id, source, state.clock.now_ms());
            let Admission::Created(cancel) = admit(&state, task, false) else {
                let code = ZegoCode::ModerationFailed.code();
                return respond(
                    &state,
                    record,
                    code,
                    drop_for,
                    zego_answer(code, "stream limit reached", None),
                )
                .await;
            };
            record.request_id = Some(task_id.clone());
            let spec = StreamSpec {
                request_id: task_id.clone(),
                bt_id: body.room_id.clone(),
                source: Source::Scenario,
                options: Options {
                    return_all_text: flag(body.return_all_text),
                    return_pre_text: flag(body.return_pre_text),
                    return_pre_audio: flag(body.return_pre_audio),
                    return_finish_info: flag(body.return_finish_info),
                    audio_detect_step: None,
                },
                dialect: Dialect::Zego {
                    result_url: body.result_callback_url.clone(),
                    status_url: body.status_callback_url.clone(),
                },
                base_url: base_url(&state),
            };
            tokio::spawn(stream::run(state.clone(), spec, cancel));
            respond(&state, record, 0, drop_for, zego_answer(0, "success", Some(task_id))).await
        }
        STOP_ACTION => {
            let body = match valid_body(&body, StopCensorAudio::validate) {
                Ok(body) => body,
                Err(problems) => {
                    return respond(&state, record, ZEGO_INVALID_PARAMETER, drop_for, zego_invalid(problems)).await;
                }
            };
            record.request_id = Some(body.task_id.clone());
            let found = state.update(|inner| {
                inner
                    .tasks
                    .get(&body.task_id)
                    .filter(|task| task.provider == Provider::Zego)
                    .map(|task| task.cancel.cancel())
                    .is_some()
            });
            if found {
                respond(&state, record, 0, drop_for, zego_answer(0, "success", None)).await
            } else {
                let detail = format!("TaskId {} is not a task of this service", body.task_id);
                respond(&state, record, ZEGO_INVALID_PARAMETER, drop_for, zego_invalid(detail)).await
            }
        }
        other => {
            let detail = format!("Action {other} is not simulated");
            respond(&state, record, ZEGO_INVALID_PARAMETER, drop_for, zego_invalid(detail)).await
        }
    }
}

fn zego_invalid(detail: impl std::fmt::Display) -> ZegoResponse {
    zego_answer(ZEGO_INVALID_PARAMETER, format!("invalid parameter: {detail}"), None)
}

/// Parses and validates a Zego body, naming every problem.
fn valid_body<T: serde::de::DeserializeOwned>(
    body: &str,
    validate: impl Fn(&T) -> Result<(), streamguard_wire::Problems>,
) -> Result<T, streamguard_wire::Problems> {
    streamguard_wire::parse_with_path::<T>(body).and_then(|parsed| validate(&parsed).map(|()| parsed))
}

fn verify_zego(state: &SharedState, params: &CommonParams) -> Result<(), ZegoCode> {
    let Some(zego) = &state.config.zego else {
        return Err(ZegoCode::SignatureWrong);
    };
    if params.app_id != zego.app_id {
        return Err(ZegoCode::SignatureWrong);
    }
    params.verify(&zego.server_secret, wall_clock_secs())
}
