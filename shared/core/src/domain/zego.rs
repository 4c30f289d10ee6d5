//! Zego as the provider: the same `POST /streams` body mapped onto
//! `StartCensorAudioV2`, `StopCensorAudioV2` for close, and the signed
//! `censor_audio_v2_result` / `censor_audio_v2_status` callbacks.
//!
//! Zego has no duplicate-submission answer (DeepCleer's 1001), so a start
//! that got no answer is not resubmitted automatically: the task is
//! released (504) and the next start submits again. If the lost start had in
//! fact begun, its results still arrive on that task's callback URL, are
//! authenticated, and are published; the extra Zego task ends by itself.

use super::callback::Outcome;
use super::close::CloseAnswer;
use super::start::{Started, callback_url};
use super::task::StreamEnd;
use super::{ApiError, Streamguard, Task, TaskRef};
use crate::ports::{Clock, EventQueue, StreamProvider, TaskStore};
use wire::deepcleer::{AcceptLang, BusinessType, Lang, RiskType, SegmentId, StartRequest, StreamEndCode};
use wire::event::{Provider, QueueEvent, TaskContext, end_reason};
use wire::zego::{StartCensorAudio, ZegoBusinessType, ZegoCallback, ZegoCode, ZegoEventId, ZegoRiskType};
use wire::{Problem, Problems};

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
    } else if data.bt_id.chars().count() > 128 {
        problem("data.btId", "must be at most 128 characters".into());
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

impl<S: TaskStore, Q: EventQueue, P: StreamProvider, C: Clock> Streamguard<S, Q, P, C> {
    /// Submits a claimed Zego task once; a lost answer releases it (see the module docs).
    pub(super) async fn submit_zego(
        &self,
        task: Task,
        request: &StartRequest,
        callback_base: &str,
    ) -> Result<Started, ApiError> {
        let reference = TaskRef {
            provider: Provider::Zego,
            bt_id: task.bt_id.clone(),
            task_id: task.task_id.clone(),
        };
        let callback = callback_url(callback_base, &self.policy.callback_key.sign(&reference));
        let body = start_body(request, &callback, &self.policy.zego_default_event_id).map_err(ApiError::Invalid)?;
        let answer = match self.provider.zego_start(&body).await {
            Ok(answer) => answer,
            Err(error) => {
                self.store.release(&task, self.clock.now()).await?;
                return Err(error.into());
            }
        };
        let now = self.clock.now();
        let task_id = answer
            .data
            .as_ref()
            .map(|data| data.task_id.clone())
            .filter(|id| !id.is_empty());
        match (answer.code, task_id) {
            (ZegoCode::Success, Some(zego_task)) => match self.store.activate(&task, &zego_task, false, now).await? {
                Some(task) => Ok(Started { task, created: true }),
                None => Err(ApiError::Conflict(format!(
                    "the task for {} changed; retry",
                    task.bt_id
                ))),
            },
            (code, _) => {
                self.store
                    .fail(&task, &format!("Zego code {code}: {}", answer.message), now)
                    .await?;
                tracing::warn!(bt_id = %task.bt_id, code = code.code(), "Zego refused the start");
                Err(ApiError::ZegoRefused {
                    code,
                    message: answer.message,
                })
            }
        }
    }

    /// `StopCensorAudioV2` with bounded retries on timeouts and Zego's retry-later codes.
    pub(super) async fn stop_zego(&self, task_id: &str) -> Result<(), ApiError> {
        self.close_with_retries(task_id, || async {
            let answer = self.provider.zego_stop(task_id).await?;
            let retry_later = answer.code.retry_later();
            Ok(match answer.code {
                ZegoCode::Success => CloseAnswer::Closed,
                code => {
                    let refused = ApiError::ZegoRefused {
                        code,
                        message: answer.message,
                    };
                    if retry_later {
                        CloseAnswer::Retry(refused)
                    } else {
                        CloseAnswer::Refused(refused)
                    }
                }
            })
        })
        .await
    }

    /// `POST /callbacks/{token}` for Zego: signature and freshness first,
    /// then one event per `ResultTaskId` and per task end.
    pub async fn zego_callback(&self, task_ref: &TaskRef, body: &[u8]) -> Result<Outcome, ApiError> {
        let secret = self.policy.zego_callback_secret.as_ref().ok_or_else(|| {
            ApiError::Configuration("a Zego callback arrived but no Zego callback secret is configured".into())
        })?;
        let callback =
            wire::zego::parse_callback(body).map_err(|problems| ApiError::MalformedCallback(problems.to_string()))?;
        let now = self.clock.now();
        callback
            .auth()
            .verify(secret.expose(), now.unix_timestamp())
            .map_err(|error| {
                tracing::warn!(%error, bt_id = %task_ref.bt_id, "Zego callback refused");
                ApiError::Unauthorized
            })?;
        match &callback {
            ZegoCallback::Result(result) => {
                let Some(detail) = &result.detail else {
                    tracing::warn!(bt_id = %task_ref.bt_id, code = ?result.code, "Zego result without a detail");
                    return Ok(Outcome::Ignored);
                };
                let index = SegmentId::parse(&result.result_task_id).index;
                if !self.policy.published_levels.contains(&detail.risk_level) {
                    if let Some(index) = index {
                        self.note_progress(task_ref, index).await;
                    }
                    return Ok(Outcome::Counted);
                }
                let context = self.context(task_ref).await?;
                let event = QueueEvent::zego_segment(result, detail, &context, now);
                let outcome = self.publish_once(&event).await?;
                if let (true, Some(index)) = (context.task_known, index) {
                    self.note_progress(task_ref, index).await;
                }
                Ok(outcome)
            }
            ZegoCallback::Status(status) if status.is_finished() => {
                let context = self.context(task_ref).await?;
                let event = QueueEvent::zego_stream_end(status, &context, now);
                let outcome = self.publish_once(&event).await?;
                if context.task_known {
                    let code = status.code.filter(|code| *code != 0);
                    let end = StreamEnd {
                        code,
                        reason: end_reason(code.map(StreamEndCode::from_code)).to_owned(),
                        stream_time: status.aux_info.as_ref().and_then(|aux| aux.censor_stream_time),
                    };
                    self.store
                        .mark_ended(&task_ref.bt_id, &task_ref.task_id, &end, now)
                        .await?;
                }
                Ok(outcome)
            }
            ZegoCallback::Status(status) => {
                tracing::info!(bt_id = %task_ref.bt_id, status = ?status.status, "Zego task status");
                Ok(Outcome::Ignored)
            }
        }
    }

    async fn context(&self, task_ref: &TaskRef) -> Result<TaskContext, ApiError> {
        let task = self
            .store
            .get(&task_ref.bt_id)
            .await?
            .filter(|task| task.task_id == task_ref.task_id);
        Ok(TaskContext {
            bt_id: Some(task_ref.bt_id.clone()),
            task_known: task.is_some(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::deepcleer::parse_start_request;

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
