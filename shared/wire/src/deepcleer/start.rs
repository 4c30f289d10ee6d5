//! The start request (`POST /audiostream/v4`) and its validation.
//!
//! Every documented field is a typed field; anything else the caller sends
//! (the reference's own example carries an undocumented `data.room`) is kept
//! in `other` and sent on unchanged.

use super::vocabulary::*;
use crate::enums::Vocabulary;
use crate::validation::{Checker, Problems, parse_with_path};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Fields a message carries that this crate does not model; kept for the round trip.
pub type OtherFields = Map<String, Value>;

/// Upper bound of `data`, serialised (reference: "data object Yes 1 MB").
pub const MAX_DATA_BYTES: usize = 1024 * 1024;

/// Body of `POST /audiostream/v4`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "camelCase")]
pub struct StartRequest {
    /// API key, at most 20 characters. Secret: never log it.
    pub access_key: String,
    pub app_id: String,
    pub event_id: String,
    /// Risk detection types; this or `business_type` is required.
    #[serde(rename = "type")]
    pub risk_types: Option<RiskTypes>,
    /// Business detection types; this or `risk_types` is required.
    #[serde(rename = "businessType")]
    pub business_types: Option<BusinessTypes>,
    pub data: StreamData,
    /// Where results are POSTed (http or https).
    pub callback: String,
    pub accept_lang: Option<AcceptLang>,
    #[serde(flatten)]
    #[cfg_attr(test, proptest(strategy = "crate::testgen::other_fields()"))]
    pub other: OtherFields,
}

/// The `data` object of a start request.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "camelCase")]
pub struct StreamData {
    /// User account identifier, at most 64 characters.
    pub token_id: String,
    /// The backend's stream identifier, at most 128 characters.
    pub bt_id: String,
    pub stream_type: Option<StreamType>,
    /// Required for NORMAL streams: rtmp, rtmps, http or https.
    pub url: Option<String>,
    pub lang: Option<Lang>,
    pub zego_param: Option<ZegoParam>,
    pub agora_param: Option<AgoraParam>,
    pub trtc_param: Option<TrtcParam>,
    pub volc_param: Option<VolcParam>,
    pub gin_param: Option<GinParam>,
    pub ali_param: Option<AliParam>,
    pub yunxin_param: Option<YunxinParam>,
    /// 0/1: include the preceding segment's text with a violating segment.
    #[serde(deserialize_with = "crate::lenient::opt_whole_number")]
    pub return_pre_text: Option<i64>,
    /// 0/1: include a 20-second clip of the preceding and current segments.
    #[serde(deserialize_with = "crate::lenient::opt_whole_number")]
    pub return_pre_audio: Option<i64>,
    /// 0/1: send a stream-end callback (`statCode` 1).
    #[serde(deserialize_with = "crate::lenient::opt_whole_number")]
    pub return_finish_info: Option<i64>,
    /// 0/1: 0 calls back only for violations, 1 for every segment.
    #[serde(deserialize_with = "crate::lenient::opt_whole_number")]
    pub return_all_text: Option<i64>,
    pub extra: Option<Extra>,
    /// Echoed in the callback's `auxInfo.passThrough` (also accepted in `extra`).
    #[cfg_attr(test, proptest(strategy = "crate::testgen::opt_object()"))]
    pub pass_through: Option<Map<String, Value>>,
    pub live_title: Option<String>,
    pub anchor_name: Option<String>,
    /// 1–36: review one segment out of every `step + 1`.
    #[serde(deserialize_with = "crate::lenient::opt_whole_number")]
    pub audio_detect_step: Option<i64>,
    /// Receiver's tokenId; required when `eventId` is `message`.
    pub receive_token_id: Option<String>,
    pub device_id: Option<String>,
    /// Client public IPv4 or IPv6 address.
    pub ip: Option<String>,
    pub level: Option<UserLevel>,
    pub gender: Option<Gender>,
    #[serde(flatten)]
    #[cfg_attr(test, proptest(strategy = "crate::testgen::other_fields()"))]
    pub other: OtherFields,
}

impl StreamData {
    /// The client pass-through object, from `data.passThrough` or `data.extra.passThrough`.
    pub fn pass_through(&self) -> Option<&Map<String, Value>> {
        self.pass_through
            .as_ref()
            .or_else(|| self.extra.as_ref().and_then(|extra| extra.pass_through.as_ref()))
    }

    /// Which `*Param` objects are present, by field name.
    pub fn present_params(&self) -> Vec<&'static str> {
        [
            ("zegoParam", self.zego_param.is_some()),
            ("agoraParam", self.agora_param.is_some()),
            ("trtcParam", self.trtc_param.is_some()),
            ("volcParam", self.volc_param.is_some()),
            ("ginParam", self.gin_param.is_some()),
            ("aliParam", self.ali_param.is_some()),
            ("yunxinParam", self.yunxin_param.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, present)| present.then_some(name))
        .collect()
    }
}

/// `data.extra`: auxiliary parameters.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "camelCase")]
pub struct Extra {
    #[cfg_attr(test, proptest(strategy = "crate::testgen::opt_object()"))]
    pub pass_through: Option<Map<String, Value>>,
    #[serde(flatten)]
    #[cfg_attr(test, proptest(strategy = "crate::testgen::other_fields()"))]
    pub other: OtherFields,
}

/// `data.zegoParam`: Zego SDK recording.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "camelCase")]
pub struct ZegoParam {
    /// Zego identify_token; regenerate per request. Secret.
    pub token_id: String,
    pub stream_id: Option<String>,
    pub room_id: Option<String>,
    pub is_mixing_enabled: Option<bool>,
    /// 0–6; 6 recommended.
    #[serde(deserialize_with = "crate::lenient::opt_whole_number")]
    pub init_domain: Option<i64>,
    #[serde(flatten)]
    #[cfg_attr(test, proptest(strategy = "crate::testgen::other_fields()"))]
    pub other: OtherFields,
}

/// `data.agoraParam`: Agora SDK recording.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "camelCase")]
pub struct AgoraParam {
    /// Agora's appId (not DeepCleer's).
    pub app_id: String,
    pub channel: String,
    /// Agora token, at most 24 h valid. Secret.
    pub token: Option<String>,
    /// Unsigned 32-bit; required with `token`.
    #[serde(deserialize_with = "crate::lenient::opt_whole_number")]
    pub uid: Option<i64>,
    pub is_mixing_enabled: Option<bool>,
    /// 0 communication, 1 live broadcast.
    #[serde(deserialize_with = "crate::lenient::opt_whole_number")]
    pub channel_profile: Option<i64>,
    pub subscribe_mode: Option<SubscribeMode>,
    pub trusted_user_id_list: Option<Vec<String>>,
    pub untrusted_user_id_list: Option<Vec<String>>,
    #[serde(flatten)]
    #[cfg_attr(test, proptest(strategy = "crate::testgen::other_fields()"))]
    pub other: OtherFields,
}

/// `data.trtcParam`: Tencent TRTC recording.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "camelCase")]
pub struct TrtcParam {
    #[serde(deserialize_with = "crate::lenient::opt_whole_number")]
    pub sdk_app_id: Option<i64>,
    /// 2 separated, 4 mixed. Spelled `demoSences` on the wire.
    #[serde(rename = "demoSences", deserialize_with = "crate::lenient::opt_whole_number")]
    pub demo_scenes: Option<i64>,
    /// Recording-side userId, at most 32 characters of `[A-Za-z0-9_-]`.
    pub user_id: String,
    /// Signature for `user_id`. Secret.
    pub user_sig: String,
    /// 1–4294967294; wins over `str_room_id`.
    #[serde(deserialize_with = "crate::lenient::opt_whole_number")]
    pub room_id: Option<i64>,
    pub str_room_id: Option<String>,
    pub uid: Option<String>,
    #[serde(flatten)]
    #[cfg_attr(test, proptest(strategy = "crate::testgen::other_fields()"))]
    pub other: OtherFields,
}

/// `data.volcParam`: Volcengine recording.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "camelCase")]
pub struct VolcParam {
    pub app_id: String,
    pub room_id: String,
    /// Secret.
    pub token: String,
    pub user_id: String,
    pub subscribe_mode: Option<SubscribeMode>,
    pub trusted_user_id_list: Option<Vec<String>>,
    pub untrusted_user_id_list: Option<Vec<String>>,
    #[serde(flatten)]
    #[cfg_attr(test, proptest(strategy = "crate::testgen::other_fields()"))]
    pub other: OtherFields,
}

/// `data.ginParam`: Giants recording.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "camelCase")]
pub struct GinParam {
    /// Room token. Secret.
    pub token_id: String,
    pub room_id: String,
    pub is_mixing_enabled: Option<bool>,
    /// Designated server IP address.
    pub ip: String,
    /// Designated port (a string on the wire).
    pub port: String,
    #[serde(flatten)]
    #[cfg_attr(test, proptest(strategy = "crate::testgen::other_fields()"))]
    pub other: OtherFields,
}

/// `data.aliParam`: Aliyun recording.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "camelCase")]
pub struct AliParam {
    /// New per request. Secret.
    pub token: String,
    /// Must match the token's channelID.
    pub room: String,
    pub user_id: String,
    pub is_mixing_enabled: Option<bool>,
    #[serde(flatten)]
    #[cfg_attr(test, proptest(strategy = "crate::testgen::other_fields()"))]
    pub other: OtherFields,
}

/// `data.yunxinParam`: NetEase Yunxin recording.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "camelCase")]
pub struct YunxinParam {
    /// New per request. Secret.
    pub token: String,
    pub cname: String,
    #[serde(deserialize_with = "crate::lenient::opt_whole_number")]
    pub uid: Option<i64>,
    pub app_key: String,
    #[serde(flatten)]
    #[cfg_attr(test, proptest(strategy = "crate::testgen::other_fields()"))]
    pub other: OtherFields,
}

/// Parses a start request, reporting a type error with the path of its field.
///
/// Missing fields and bad values are not parse errors: they parse to empty
/// or unknown values so that [`StartRequest::validate`] reports all of them
/// at once. Only a value of the wrong JSON type stops parsing early.
pub fn parse_start_request(json: &str) -> Result<StartRequest, Problems> {
    parse_with_path(json)
}

const NORMAL_URL_SCHEMES: &[&str] = &["rtmp", "rtmps", "http", "https"];
const CALLBACK_SCHEMES: &[&str] = &["http", "https"];

impl StartRequest {
    /// Checks every documented rule; returns all problems found.
    pub fn validate(&self) -> Result<(), Problems> {
        let mut check = Checker::default();
        if check.required("accessKey", &self.access_key) {
            check.max_chars("accessKey", &self.access_key, 20);
        }
        if check.required("appId", &self.app_id) {
            check.max_chars("appId", &self.app_id, 64);
        }
        if check.required("eventId", &self.event_id) {
            check.max_chars("eventId", &self.event_id, 64);
        }
        if check.required("callback", &self.callback) {
            check.url("callback", &self.callback, CALLBACK_SCHEMES);
        }
        self.check_detection_types(&mut check);
        if let Some(lang) = &self.accept_lang {
            check.known(
                "acceptLang",
                lang.is_known(),
                lang.as_str(),
                AcceptLang::WHAT,
                &AcceptLang::known_list(),
            );
        }
        check_data(&mut check, &self.data, &self.event_id);
        check.finish()
    }

    fn check_detection_types(&self, check: &mut Checker) {
        let risk = self.risk_types.as_ref().filter(|set| !set.0.is_empty());
        let business = self.business_types.as_ref().filter(|set| !set.0.is_empty());
        if risk.is_none() && business.is_none() {
            check.fail(
                "type",
                "type or businessType (or both) must name at least one detection type",
            );
        }
        if let Some(set) = &self.risk_types {
            check_words(check, "type", set);
        }
        if let Some(set) = &self.business_types {
            check_words(check, "businessType", set);
            let needs_gender = [BusinessType::Timbre, BusinessType::Sing, BusinessType::Language]
                .iter()
                .find(|word| set.contains(word));
            if let Some(word) = needs_gender
                && !set.contains(&BusinessType::Gender)
            {
                check.fail("businessType", format!("must include GENDER when it includes {word}"));
            }
        }
    }
}

fn check_words<T: Vocabulary + PartialEq>(check: &mut Checker, field: &str, set: &WordSet<T>) {
    for word in &set.0 {
        check.known(field, word.is_known(), word.as_str(), T::WHAT, &T::known_list());
    }
}

fn check_data(check: &mut Checker, data: &StreamData, event_id: &str) {
    if check.required("data.tokenId", &data.token_id) {
        check.max_chars("data.tokenId", &data.token_id, 64);
    }
    if check.required("data.btId", &data.bt_id) {
        check.max_chars("data.btId", &data.bt_id, crate::api::BT_ID_MAX_CHARS);
    }
    if let Some(lang) = &data.lang {
        check.known(
            "data.lang",
            lang.is_known(),
            lang.as_str(),
            Lang::WHAT,
            &Lang::known_list(),
        );
    }
    check.flag("data.returnPreText", data.return_pre_text);
    check.flag("data.returnPreAudio", data.return_pre_audio);
    check.flag("data.returnFinishInfo", data.return_finish_info);
    check.flag("data.returnAllText", data.return_all_text);
    check.range("data.audioDetectStep", data.audio_detect_step, 1, 36);
    check.range("data.level", data.level.map(UserLevel::code), 0, 4);
    check.range("data.gender", data.gender.map(Gender::code), 0, 2);
    if let Some(device_id) = &data.device_id {
        check.max_chars("data.deviceId", device_id, 128);
    }
    if let Some(ip) = &data.ip {
        check.max_chars("data.ip", ip, 64);
        if ip.parse::<std::net::IpAddr>().is_err() {
            check.fail("data.ip", "must be an IPv4 or IPv6 address");
        }
    }
    match &data.receive_token_id {
        Some(receiver) => {
            check.max_chars("data.receiveTokenId", receiver, 64);
            check.word_chars("data.receiveTokenId", receiver);
        }
        None if event_id == "message" => check.fail("data.receiveTokenId", "is required when eventId is message"),
        None => {}
    }
    check_stream_source(check, data);
    match serde_json::to_vec(data) {
        Ok(bytes) if bytes.len() > MAX_DATA_BYTES => check.fail(
            "data",
            format!(
                "must be at most {MAX_DATA_BYTES} bytes (1 MB) as JSON (is {})",
                bytes.len()
            ),
        ),
        Ok(_) => {}
        Err(error) => check.fail("data", format!("cannot be serialised ({error})")),
    }
}

/// `streamType`, `url` and the `*Param` objects: exactly the one the type needs.
fn check_stream_source(check: &mut Checker, data: &StreamData) {
    let Some(stream_type) = &data.stream_type else {
        check.fail(
            "data.streamType",
            format!("is required; use one of {}", StreamType::known_list()),
        );
        return;
    };
    check.known(
        "data.streamType",
        stream_type.is_known(),
        stream_type.as_str(),
        StreamType::WHAT,
        &StreamType::known_list(),
    );
    let expected = stream_type.param_field();
    for present in data.present_params() {
        if Some(present) != expected {
            check.fail(
                format!("data.{present}"),
                format!("must not be sent when streamType is {stream_type}"),
            );
        }
    }
    if *stream_type == StreamType::Normal {
        match &data.url {
            Some(url) if !url.trim().is_empty() => check.url("data.url", url, NORMAL_URL_SCHEMES),
            _ => check.fail("data.url", "is required when streamType is NORMAL"),
        }
    }
    if let Some(field) = expected
        && data.present_params().iter().all(|present| *present != field)
    {
        check.fail(
            format!("data.{field}"),
            format!("is required when streamType is {stream_type}"),
        );
    }
    if let Some(param) = &data.zego_param {
        check_zego(check, param);
    }
    if let Some(param) = &data.agora_param {
        check_agora(check, param);
    }
    if let Some(param) = &data.trtc_param {
        check_trtc(check, param);
    }
    if let Some(param) = &data.volc_param {
        check_volc(check, param);
    }
    if let Some(param) = &data.gin_param {
        check_gin(check, param);
    }
    if let Some(param) = &data.ali_param {
        check.required("data.aliParam.token", &param.token);
        check.required("data.aliParam.room", &param.room);
        check.required("data.aliParam.userId", &param.user_id);
    }
    if let Some(param) = &data.yunxin_param {
        check.required("data.yunxinParam.token", &param.token);
        check.required("data.yunxinParam.cname", &param.cname);
        check.required("data.yunxinParam.appKey", &param.app_key);
        if check.present("data.yunxinParam.uid", &param.uid) {
            check.range(
                "data.yunxinParam.uid",
                param.uid,
                i64::from(i32::MIN),
                i64::from(i32::MAX),
            );
        }
    }
}

fn has_text(value: &Option<String>) -> bool {
    value.as_deref().is_some_and(|text| !text.trim().is_empty())
}

fn check_zego(check: &mut Checker, param: &ZegoParam) {
    check.required("data.zegoParam.tokenId", &param.token_id);
    let has_stream = has_text(&param.stream_id);
    let has_room = has_text(&param.room_id);
    if !has_stream && !has_room {
        check.fail("data.zegoParam", "needs streamId or roomId (or both)");
    }
    if param.is_mixing_enabled == Some(false) {
        if !has_room {
            check.fail(
                "data.zegoParam.roomId",
                "is required when isMixingEnabled is false (separated streams)",
            );
        }
        if param.stream_id.is_some() {
            check.fail(
                "data.zegoParam.streamId",
                "must not be sent when isMixingEnabled is false (separated streams)",
            );
        }
    }
    check.range("data.zegoParam.initDomain", param.init_domain, 0, 6);
}

fn check_agora(check: &mut Checker, param: &AgoraParam) {
    check.required("data.agoraParam.appId", &param.app_id);
    check.required("data.agoraParam.channel", &param.channel);
    check.range("data.agoraParam.uid", param.uid, 0, i64::from(u32::MAX));
    if has_text(&param.token) && param.uid.is_none() {
        check.fail(
            "data.agoraParam.uid",
            "is required when token is sent (the uid the token was generated for)",
        );
    }
    check.range("data.agoraParam.channelProfile", param.channel_profile, 0, 1);
    check_subscription(
        check,
        "data.agoraParam",
        param.subscribe_mode.as_ref(),
        param.untrusted_user_id_list.as_deref(),
    );
    let filtered = matches!(
        param.subscribe_mode,
        Some(SubscribeMode::Trusted | SubscribeMode::Untrusted)
    );
    if filtered && param.is_mixing_enabled != Some(false) {
        check.fail(
            "data.agoraParam.subscribeMode",
            "TRUSTED and UNTRUSTED work with separated streams only: set isMixingEnabled to false",
        );
    }
    for (list_name, list) in [
        ("trustedUserIdList", &param.trusted_user_id_list),
        ("untrustedUserIdList", &param.untrusted_user_id_list),
    ] {
        for (index, user) in list.iter().flatten().enumerate() {
            if user.parse::<u32>().is_err() {
                check.fail(
                    format!("data.agoraParam.{list_name}[{index}]"),
                    "must be a stringified unsigned 32-bit integer",
                );
            }
        }
    }
}

fn check_subscription(check: &mut Checker, prefix: &str, mode: Option<&SubscribeMode>, untrusted: Option<&[String]>) {
    let Some(mode) = mode else { return };
    check.known(
        &format!("{prefix}.subscribeMode"),
        mode.is_known(),
        mode.as_str(),
        SubscribeMode::WHAT,
        &SubscribeMode::known_list(),
    );
    if *mode == SubscribeMode::Untrusted && untrusted.is_none_or(<[String]>::is_empty) {
        check.fail(
            format!("{prefix}.untrustedUserIdList"),
            "must be a non-empty list when subscribeMode is UNTRUSTED",
        );
    }
}

fn check_trtc(check: &mut Checker, param: &TrtcParam) {
    if check.present("data.trtcParam.sdkAppId", &param.sdk_app_id) {
        check.range("data.trtcParam.sdkAppId", param.sdk_app_id, 1, i64::from(i32::MAX));
    }
    if check.present("data.trtcParam.demoSences", &param.demo_scenes) && !matches!(param.demo_scenes, Some(2 | 4)) {
        check.fail(
            "data.trtcParam.demoSences",
            "must be 2 (separated streams) or 4 (mixed stream)",
        );
    }
    if check.required("data.trtcParam.userId", &param.user_id) {
        check.max_chars("data.trtcParam.userId", &param.user_id, 32);
        check.word_chars("data.trtcParam.userId", &param.user_id);
    }
    check.required("data.trtcParam.userSig", &param.user_sig);
    if param.room_id.is_none() && !has_text(&param.str_room_id) {
        check.fail(
            "data.trtcParam",
            "needs roomId or strRoomId (roomId wins when both are sent)",
        );
    }
    check.range("data.trtcParam.roomId", param.room_id, 1, 4_294_967_294);
    if let Some(room) = &param.str_room_id {
        check.word_chars("data.trtcParam.strRoomId", room);
    }
}

fn check_volc(check: &mut Checker, param: &VolcParam) {
    check.required("data.volcParam.appId", &param.app_id);
    check.required("data.volcParam.roomId", &param.room_id);
    check.required("data.volcParam.token", &param.token);
    check.required("data.volcParam.userId", &param.user_id);
    check_subscription(
        check,
        "data.volcParam",
        param.subscribe_mode.as_ref(),
        param.untrusted_user_id_list.as_deref(),
    );
}

fn check_gin(check: &mut Checker, param: &GinParam) {
    check.required("data.ginParam.tokenId", &param.token_id);
    check.required("data.ginParam.roomId", &param.room_id);
    if check.required("data.ginParam.ip", &param.ip) && param.ip.parse::<std::net::IpAddr>().is_err() {
        check.fail("data.ginParam.ip", "must be an IPv4 or IPv6 address");
    }
    if check.required("data.ginParam.port", &param.port) && !param.port.parse::<u16>().is_ok_and(|port| port > 0) {
        check.fail("data.ginParam.port", "must be a port number 1-65535");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_may_be_written_with_a_zero_fraction() {
        // `474.0` is the JSON value `474`: JSON Schema's `integer` admits it,
        // and a caller's JSON library may write it so.
        let request = parse_start_request(
            r#"{"data": {"returnAllText": 1.0, "audioDetectStep": 3e0,
                "trtcParam": {"sdkAppId": 474.0, "demoSences": 4.0, "roomId": 1.0}}}"#,
        )
        .unwrap();
        assert_eq!(request.data.return_all_text, Some(1));
        assert_eq!(request.data.audio_detect_step, Some(3));
        let trtc = request.data.trtc_param.as_ref().unwrap();
        assert_eq!(
            (trtc.sdk_app_id, trtc.demo_scenes, trtc.room_id),
            (Some(474), Some(4), Some(1))
        );
        assert_eq!(
            serde_json::to_value(&request.data).unwrap()["returnAllText"],
            1,
            "sent on as an integer"
        );
        for not_an_integer in [
            r#"{"data": {"returnAllText": 0.5}}"#,
            r#"{"data": {"returnAllText": "1"}}"#,
            r#"{"data": {"yunxinParam": {"uid": true}}}"#,
        ] {
            let problems = parse_start_request(not_an_integer).unwrap_err();
            assert!(problems.0[0].field.starts_with("data."), "{problems}");
        }
    }
}
