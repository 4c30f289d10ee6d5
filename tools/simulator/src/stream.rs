//! One moderation task from pull to end: a segment every 10 s (simulated),
//! delivered per the task's options, then the end.
//!
//! Messages are built from the wire crate's types, so the simulator speaks
//! exactly the protocol the functions parse.

use crate::delivery::{self, Envelope, RetryPolicy, Signer};
use crate::pull::{self, PullOutcome};
use crate::scenario::Verdict;
use crate::state::{EndCause, Provider, SharedState, TaskStatus};
use serde_json::Value;
use std::time::Duration;
use streamguard_wire::deepcleer::{
    AudioDetail, Callback, ResponseCode, RiskDetail, RiskLabel, RiskLevel, SEGMENT_LENGTH, SegmentAuxInfo,
    StreamEndCode, StreamEndInfo,
};
use streamguard_wire::zego::{
    CallbackAuth, ZegoCallback, ZegoResultAuxInfo, ZegoResultCallback, ZegoResultDetail, ZegoRiskDetail,
    ZegoStatusAuxInfo, ZegoStatusCallback,
};
use tokio_util::sync::CancellationToken;

/// Where the audio comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A NORMAL http(s) URL, really fetched.
    Http(String),
    /// rtmp and RTC rooms: the scenario decides.
    Scenario,
}

/// What the task was asked to send.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub return_all_text: bool,
    pub return_pre_text: bool,
    pub return_pre_audio: bool,
    pub return_finish_info: bool,
    /// Review one segment out of every `step + 1`.
    pub audio_detect_step: Option<u64>,
}

/// How results are addressed and shaped.
#[derive(Debug, Clone)]
pub enum Dialect {
    Deepcleer {
        callback: String,
        /// The start request as received, echoed in `requestParams` (accessKey included, as the real service does).
        request: Value,
        pass_through: Option<Value>,
    },
    Zego {
        result_url: Option<String>,
        status_url: Option<String>,
    },
}

/// Everything the runner needs.
#[derive(Debug, Clone)]
pub struct StreamSpec {
    pub request_id: String,
    /// DeepCleer btId or Zego RoomId: the scenario's key.
    pub bt_id: String,
    pub source: Source,
    pub options: Options,
    pub dialect: Dialect,
    /// Base URL of the simulator, for audio URLs.
    pub base_url: String,
}

impl Options {
    /// Whether segment `index` (1-based) is reviewed: with step 1 the odd
    /// ones, with step 2 one of every three, and so on.
    pub fn reviews(&self, index: u64) -> bool {
        self.audio_detect_step
            .is_none_or(|step| (index - 1).is_multiple_of(step + 1))
    }
}

/// Runs the task until it is closed or ends by itself.
pub async fn run(state: SharedState, spec: StreamSpec, cancel: CancellationToken) {
    state.update(|inner| inner.specs.insert(spec.request_id.clone(), spec.clone()));
    let rule = state.read().scenario.stream(&spec.bt_id).cloned();
    let silent = rule.as_ref().is_some_and(|rule| rule.silent);
    let scripted_duration = rule
        .as_ref()
        .and_then(|rule| rule.duration_secs)
        .map(Duration::from_secs_f64);
    let scripted_end = rule
        .as_ref()
        .and_then(|rule| rule.end_code)
        .map(StreamEndCode::from_code);
    let duration = match &spec.source {
        Source::Http(url) => {
            let on_attempt = || state.update(|inner| bump(inner, &spec.request_id, |task| task.pull_attempts += 1));
            match pull::pull(&state, url, &cancel, on_attempt).await {
                PullOutcome::Audio { duration } => scripted_duration.or(duration),
                PullOutcome::Failed(code) => return finish(&state, &spec, Some(code), EndCause::PullFailed, 0).await,
                PullOutcome::Cancelled => return finish(&state, &spec, None, EndCause::Closed, 0).await,
            }
        }
        Source::Scenario => scripted_duration,
    };

    let started = tokio::time::Instant::now();
    let stream_start_ms = state.clock.now_ms();
    let mut previous_text: Option<String> = None;
    let mut index: u64 = 0;
    let (cause, code, seconds) = loop {
        let boundary = SEGMENT_LENGTH * (index as u32 + 1);
        let (wait, ends) = match duration {
            Some(duration) if duration < boundary => (duration, true),
            _ => (boundary, false),
        };
        tokio::select! {
            () = cancel.cancelled() => break (EndCause::Closed, None, elapsed_secs(&state, started)),
            () = tokio::time::sleep_until(started + state.clock.real(wait)) => {}
        }
        if ends {
            break (EndCause::Natural, scripted_end, wait.as_secs());
        }
        index += 1;
        state.update(|inner| bump(inner, &spec.request_id, |task| task.segments = index));
        if !spec.options.reviews(index) {
            continue;
        }
        let verdict = state.read().scenario.verdict(&spec.bt_id, index);
        let text = match (&previous_text, spec.options.return_pre_text) {
            (Some(previous), true) => format!("{previous} {}", verdict.text),
            _ => verdict.text.clone(),
        };
        previous_text = Some(verdict.text.clone());
        if silent || (verdict.risk_level == RiskLevel::Pass && !spec.options.return_all_text) {
            continue;
        }
        let start_ms = stream_start_ms + (index as i64 - 1) * 10_000;
        let segment = Segment {
            index,
            verdict,
            text,
            start_ms,
        };
        if let Some(envelope) = segment_envelope(&state, &spec, &segment) {
            let (policy, signer) = policy_for(&state, &spec);
            tokio::spawn(delivery::deliver(state.clone(), envelope, policy, signer));
        }
    };
    finish(&state, &spec, code, cause, seconds).await;
}

fn elapsed_secs(state: &SharedState, started: tokio::time::Instant) -> u64 {
    (started.elapsed().as_secs_f64() * state.clock.scale()) as u64
}

fn bump(inner: &mut crate::state::Inner, request_id: &str, change: impl FnOnce(&mut crate::state::Task)) {
    if let Some(task) = inner.tasks.get_mut(request_id) {
        change(task);
    }
}

struct Segment {
    index: u64,
    verdict: Verdict,
    text: String,
    start_ms: i64,
}

fn policy_for(state: &SharedState, spec: &StreamSpec) -> (RetryPolicy, Signer) {
    match (&spec.dialect, &state.config.zego) {
        (Dialect::Zego { .. }, Some(zego)) => (
            RetryPolicy::zego(),
            Signer::Zego {
                app_id: zego.app_id,
                callback_secret: zego.callback_secret.clone(),
            },
        ),
        (Dialect::Zego { .. }, None) => (RetryPolicy::zego(), Signer::Unsigned),
        (Dialect::Deepcleer { .. }, _) => (RetryPolicy::deepcleer(state.config.callback_backoff), Signer::Unsigned),
    }
}

fn description(verdict: &Verdict) -> String {
    if verdict.risk_level == RiskLevel::Pass {
        "Normal".to_owned()
    } else {
        verdict
            .labels
            .iter()
            .filter(|label| !label.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(": ")
    }
}

fn segment_envelope(state: &SharedState, spec: &StreamSpec, segment: &Segment) -> Option<Envelope> {
    let segment_id = format!("{}_{}", spec.request_id, segment.index);
    let audio_url = format!("{}/_sim/audio/{segment_id}.mp3", spec.base_url);
    let pre_audio_url = spec
        .options
        .return_pre_audio
        .then(|| format!("{}/_sim/audio/{segment_id}_pre.mp3", spec.base_url));
    let verdict = &segment.verdict;
    let risky = verdict.risk_level != RiskLevel::Pass;
    let processed_ms = state.clock.now_ms();
    let [label1, label2, label3] = verdict.labels.clone();
    let (url, body) = match &spec.dialect {
        Dialect::Deepcleer {
            callback,
            request,
            pass_through,
        } => {
            let detail = AudioDetail {
                risk_level: verdict.risk_level.clone(),
                audio_url: Some(audio_url),
                risk_label1: Some(label1.clone()),
                risk_label2: Some(label2.clone()),
                risk_label3: Some(label3.clone()),
                risk_description: Some(description(verdict)),
                audio_text: Some(segment.text.clone()),
                pre_audio_url,
                risk_detail: Some(RiskDetail {
                    risk_source: Some(if risky { 1001 } else { 1000 }),
                    audio_text: Some(segment.text.clone()),
                    ..RiskDetail::default()
                }),
                aux_info: Some(SegmentAuxInfo {
                    audio_start_time: Some(segment.start_ms.to_string()),
                    audio_end_time: Some((segment.start_ms + 10_000).to_string()),
                    begin_process_time: Some(processed_ms),
                    finish_process_time: Some(processed_ms + 20),
                    pass_through: pass_through.clone(),
                    ..SegmentAuxInfo::default()
                }),
                business_labels: None,
                all_labels: risky.then(|| {
                    vec![RiskLabel {
                        risk_label1: Some(label1),
                        risk_label2: Some(label2),
                        risk_label3: Some(label3),
                        risk_description: Some(description(verdict)),
                    }]
                }),
                token_profile_labels: None,
                token_risk_labels: None,
                speakers: None,
                vad_code: Some(1),
                audio_tags: None,
            };
            let callback_body = Callback {
                request_id: segment_id.clone(),
                bt_id: Some(spec.bt_id.clone()),
                code: Some(ResponseCode::Success),
                message: Some("Success".to_owned()),
                stat_code: spec.options.return_finish_info.then_some(0),
                request_params: Some(request.clone()),
                audio_detail: Some(detail),
                aux_info: None,
            };
            (callback.clone(), serde_json::to_value(callback_body).ok()?)
        }
        Dialect::Zego { result_url, .. } => {
            let result = ZegoResultCallback {
                auth: CallbackAuth::default(),
                code: Some(0),
                message: Some("success".to_owned()),
                task_id: Some(spec.request_id.clone()),
                result_task_id: segment_id.clone(),
                detail: Some(ZegoResultDetail {
                    risk_level: verdict.risk_level.clone(),
                    audio_text: Some(segment.text.clone()),
                    audio_url: Some(audio_url),
                    pre_audio_url,
                    risk_description: Some(description(verdict)),
                    risk_label1: Some(label1),
                    risk_label2: Some(label2),
                    risk_label3: Some(label3),
                    vad_status: Some(1),
                    risk_detail: Some(ZegoRiskDetail {
                        risk_source: Some(if risky { 1001 } else { 1000 }),
                        audio_text: Some(segment.text.clone()),
                        matched_lists: None,
                    }),
                    risk_info_list: None,
                    business_info_list: None,
                }),
                aux_info: Some(ZegoResultAuxInfo {
                    room_id: Some(spec.bt_id.clone()),
                    process_begin_time: Some(processed_ms),
                    process_finish_time: Some(processed_ms + 20),
                }),
            };
            (
                result_url.clone()?,
                serde_json::to_value(ZegoCallback::Result(Box::new(result))).ok()?,
            )
        }
    };
    Some(Envelope {
        provider: provider_of(spec),
        request_id: spec.request_id.clone(),
        bt_id: spec.bt_id.clone(),
        kind: "segment",
        callback_id: segment_id,
        url,
        body,
    })
}

fn provider_of(spec: &StreamSpec) -> Provider {
    match spec.dialect {
        Dialect::Deepcleer { .. } => Provider::Deepcleer,
        Dialect::Zego { .. } => Provider::Zego,
    }
}

/// Marks the task ended and sends the end callback when asked for.
async fn finish(state: &SharedState, spec: &StreamSpec, code: Option<StreamEndCode>, cause: EndCause, seconds: u64) {
    let ended_at = state.clock.now_ms();
    let withheld = state
        .read()
        .scenario
        .stream(&spec.bt_id)
        .is_some_and(|rule| rule.withhold_end);
    state.update(|inner| {
        bump(inner, &spec.request_id, |task| {
            task.status = TaskStatus::Ended;
            task.end_cause = Some(cause);
            task.end_code = code.map(StreamEndCode::code);
            task.ended_at_ms = Some(ended_at);
            task.end_withheld = withheld;
        });
    });
    if withheld {
        return;
    }
    let seconds = i64::try_from(seconds).unwrap_or(i64::MAX);
    let (url, body) = match &spec.dialect {
        Dialect::Deepcleer {
            callback,
            request,
            pass_through,
        } => {
            if !spec.options.return_finish_info {
                return;
            }
            let end = Callback {
                request_id: spec.request_id.clone(),
                bt_id: Some(spec.bt_id.clone()),
                code: Some(ResponseCode::Success),
                message: Some("Success".to_owned()),
                stat_code: Some(1),
                request_params: Some(request.clone()),
                audio_detail: None,
                aux_info: Some(StreamEndInfo {
                    error_code: code,
                    stream_time: Some(seconds),
                    pass_through: pass_through.clone(),
                }),
            };
            (callback.clone(), serde_json::to_value(end))
        }
        Dialect::Zego { status_url, .. } => {
            let Some(url) = status_url else { return };
            let status = ZegoStatusCallback {
                auth: CallbackAuth::default(),
                code: Some(code.map_or(0, StreamEndCode::code)),
                message: Some(code.map_or("success", StreamEndCode::name).to_owned()),
                task_id: spec.request_id.clone(),
                status: Some(0),
                aux_info: Some(ZegoStatusAuxInfo {
                    room_id: Some(spec.bt_id.clone()),
                    censor_stream_time: Some(seconds),
                }),
            };
            (
                url.clone(),
                serde_json::to_value(ZegoCallback::Status(Box::new(status))),
            )
        }
    };
    let Ok(body) = body else { return };
    let envelope = Envelope {
        provider: provider_of(spec),
        request_id: spec.request_id.clone(),
        bt_id: spec.bt_id.clone(),
        kind: "streamEnd",
        callback_id: format!("{}:end", spec.request_id),
        url,
        body,
    };
    let (policy, signer) = policy_for(state, spec);
    delivery::deliver(state.clone(), envelope, policy, signer).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detect_step_samples_segments() {
        let every = Options::default();
        assert!((1..=5).all(|n| every.reviews(n)));
        let odd = Options {
            audio_detect_step: Some(1),
            ..Options::default()
        };
        assert_eq!((1..=6).filter(|n| odd.reviews(*n)).collect::<Vec<_>>(), [1, 3, 5]);
        let third = Options {
            audio_detect_step: Some(2),
            ..Options::default()
        };
        assert_eq!((1..=7).filter(|n| third.reviews(*n)).collect::<Vec<_>>(), [1, 4, 7]);
    }
}
