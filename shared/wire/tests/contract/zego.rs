//! Zego signatures (the test vectors of `zego-censor-audio-notes.md`), the
//! common query parameters, the start body rules, and callback parsing.

use serde_json::json;
use streamguard_wire::deepcleer::RiskLevel;
use streamguard_wire::zego::*;

#[test]
fn api_signature_matches_the_documented_vector() {
    // zego-censor-audio-notes.md, "Calling the server API".
    let signature = api_signature(
        12345,
        "4fd24687296dd9f3",
        "9193cc662a4c0ec135ec71fb57194b38",
        1_615_186_943,
    );
    assert_eq!(signature, "43e5cfcca828314675f91b001390566a");
}

#[test]
fn callback_signature_matches_the_documented_vector() {
    // zego-censor-audio-notes.md, "Signature check for callbacks".
    assert_eq!(
        callback_signature("secret", "1470820198", "123412"),
        "5bd59fd62953a8059fb7eaba95720f66d19e4517"
    );
}

#[test]
fn common_params_verify_like_zego() {
    let secret = "9193cc662a4c0ec135ec71fb57194b38";
    let params = CommonParams::signed(START_ACTION, 12345, "4fd24687296dd9f3", secret, 1_615_186_943);
    assert_eq!(params.signature, "43e5cfcca828314675f91b001390566a");
    assert_eq!(params.verify(secret, 1_615_186_943 + 600), Ok(()));
    assert_eq!(
        params.verify(secret, 1_615_186_943 + 601),
        Err(ZegoCode::SignatureExpired)
    );
    assert_eq!(
        params.verify(secret, 1_615_186_943 - 601),
        Err(ZegoCode::SignatureExpired)
    );
    assert_eq!(
        params.verify("another-secret", 1_615_186_943),
        Err(ZegoCode::SignatureWrong)
    );
    let old_version = CommonParams {
        signature_version: "1.0".into(),
        ..params.clone()
    };
    assert_eq!(
        old_version.verify(secret, 1_615_186_943),
        Err(ZegoCode::SignatureVersionUnsupported)
    );
    let query = params.to_query();
    assert!(
        query.starts_with("Action=StartCensorAudioV2&AppId=12345&SignatureNonce=4fd24687296dd9f3&Timestamp=1615186943")
    );
    assert!(query.ends_with("&Signature=43e5cfcca828314675f91b001390566a&SignatureVersion=2.0"));
    assert!(
        !format!("{params:?}").contains("43e5cf"),
        "Debug does not print the signature"
    );
}

#[test]
fn missing_query_parameters_are_named() {
    let problems = CommonParams::from_query("?Action=StopCensorAudioV2&AppId=abc&Timestamp=soon").unwrap_err();
    for field in ["AppId", "SignatureNonce", "Timestamp", "Signature", "SignatureVersion"] {
        assert!(problems.names(field), "{field}: {problems}");
    }
    assert!(!problems.names("Action"));
}

#[test]
fn start_body_rules() {
    let valid = json!({
        "RoomId": "room-1", "EventId": "audio_room", "AudioLanguage": "en", "LabelLanguage": "en",
        "RiskTypeList": ["EROTIC", "BANDAUDIO"], "ReturnFinishInfo": 1,
        "ResultCallbackUrl": "https://cb.example/r", "StatusCallbackUrl": "https://cb.example/s"
    });
    let parse = |value: serde_json::Value| serde_json::from_value::<StartCensorAudio>(value).unwrap().validate();
    parse(valid.clone()).unwrap();
    let mut business_only = valid.clone();
    business_only.as_object_mut().unwrap().remove("RiskTypeList");
    business_only["BusinessTypeList"] = json!(["MOINIR"]);
    parse(business_only).unwrap();

    let problems = parse(json!({"RiskTypeList": []})).unwrap_err();
    for field in ["RoomId", "EventId", "AudioLanguage", "LabelLanguage", "RiskTypeList"] {
        assert!(problems.names(field), "{field}: {problems}");
    }
    let mut bad = valid;
    bad["EventId"] = json!("party");
    bad["RiskTypeList"] = json!(["EROTIC", "BANEDAUDIO"]);
    bad["BusinessTypeList"] = json!(["GENDER"]);
    bad["IsMixingEnabled"] = json!(2);
    bad["ReturnAllText"] = json!(3);
    bad["LabelLanguage"] = json!("fr");
    bad["ResultCallbackUrl"] = json!("ftp://cb.example");
    let problems = parse(bad).unwrap_err();
    for field in [
        "EventId",
        "RiskTypeList[1]",
        "BusinessTypeList[0]",
        "IsMixingEnabled",
        "ReturnAllText",
        "LabelLanguage",
        "ResultCallbackUrl",
    ] {
        assert!(problems.names(field), "{field}: {problems}");
    }
}

#[test]
fn stop_needs_a_task_id() {
    assert!(StopCensorAudio::default().validate().unwrap_err().names("TaskId"));
}

#[test]
fn codes_say_what_to_do() {
    for code in [50006, 50007, 50009] {
        assert!(ZegoCode::from_code(code).retry_later());
    }
    assert!(!ZegoCode::ModerationNotEnabled.retry_later());
    assert!(ZegoCode::ModerationNotEnabled.is_configuration_error());
    assert!(ZegoCode::SignatureWrong.is_configuration_error());
    assert!(!ZegoCode::ModerationFailed.is_configuration_error());
}

fn result_callback(auth: &CallbackAuth) -> serde_json::Value {
    let mut body = json!({
        "Event": "censor_audio_v2_result", "Code": 0, "Message": "ok",
        "TaskId": "9f58178ba8034902c6028c728bc6f6e4", "ResultTaskId": "9f58178ba8034902c6028c728bc6f6e4_3",
        "Detail": {
            "RiskLevel": "REJECT", "AudioText": "bad words here", "AudioUrl": "https://a.example/3.mp3",
            "RiskLabel1": "abuse", "VadStatus": 1,
            "RiskDetail": {"RiskSource": 1001, "AudioText": "bad words here", "MatchedLists": [{"Name": "l"}]},
            "BusinessInfoList": [{"BusinessLabel1": "gender", "BusinessLabe3": "female"}]
        },
        "AuxInfo": {"RoomId": "room-1", "ProcessBeginTime": 1700000000000u64, "ProcessFinishTime": "1700000000500"}
    });
    let auth = serde_json::to_value(auth).unwrap();
    body.as_object_mut().unwrap().extend(auth.as_object().unwrap().clone());
    body
}

#[test]
fn a_signed_result_callback_parses_and_verifies() {
    let auth = CallbackAuth::sign(12345, "cb-secret", 1_700_000_000, "nonce-1");
    let body = result_callback(&auth).to_string();
    let callback = parse_callback(body.as_bytes()).unwrap();
    callback.auth().verify("cb-secret", 1_700_000_100).unwrap();
    let ZegoCallback::Result(result) = &callback else {
        panic!("a result callback")
    };
    let detail = result.detail.as_ref().unwrap();
    assert_eq!(detail.risk_level, RiskLevel::Reject);
    assert_eq!(
        detail.business_info_list.as_ref().unwrap()[0]
            .business_label3
            .as_deref(),
        Some("female")
    );
    assert_eq!(
        result.aux_info.as_ref().unwrap().process_finish_time,
        Some(1_700_000_000_500)
    );
    assert_eq!(callback.task_id(), Some("9f58178ba8034902c6028c728bc6f6e4"));
}

#[test]
fn forged_and_stale_callbacks_are_refused() {
    let auth = CallbackAuth::sign(12345, "cb-secret", 1_700_000_000, "nonce-1");
    assert_eq!(
        auth.verify("other-secret", 1_700_000_000),
        Err(CallbackAuthError::WrongSignature)
    );
    assert_eq!(
        auth.verify("cb-secret", 1_700_000_601),
        Err(CallbackAuthError::Stale { skew_secs: 601 })
    );
    let unsigned = CallbackAuth {
        signature: None,
        ..auth.clone()
    };
    assert_eq!(
        unsigned.verify("cb-secret", 1_700_000_000),
        Err(CallbackAuthError::Missing("Signature"))
    );
    let uppercase = CallbackAuth {
        signature: auth.signature.as_ref().map(|s| s.to_uppercase()),
        ..auth
    };
    assert_eq!(uppercase.verify("cb-secret", 1_700_000_000), Ok(()));
}

#[test]
fn url_encoded_bodies_are_decoded() {
    let auth = CallbackAuth::sign(12345, "cb-secret", 1_700_000_000, "nonce-1");
    let json = result_callback(&auth).to_string();
    let encoded: String = percent_encoding_like(&json);
    let callback = parse_callback(encoded.as_bytes()).unwrap();
    let ZegoCallback::Result(result) = callback else {
        panic!("a result callback")
    };
    assert_eq!(result.detail.unwrap().audio_text.as_deref(), Some("bad words here"));
}

/// Form-encodes like Java's URLEncoder: space as `+`, everything else but
/// unreserved characters as `%XX`.
fn percent_encoding_like(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => (byte as char).to_string(),
            b' ' => "+".to_owned(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[test]
fn status_callbacks_and_unknown_events() {
    let auth = CallbackAuth::sign(1, "s", 10, "n");
    let mut body = json!({"Event": "censor_audio_v2_status", "Code": 0, "TaskId": "t1", "Status": "0",
        "AuxInfo": {"RoomId": "r", "CensorStreamTime": 62}});
    body.as_object_mut()
        .unwrap()
        .extend(serde_json::to_value(&auth).unwrap().as_object().unwrap().clone());
    let ZegoCallback::Status(status) = parse_callback(body.to_string().as_bytes()).unwrap() else {
        panic!("status")
    };
    assert!(status.is_finished());
    assert_eq!(status.aux_info.unwrap().censor_stream_time, Some(62));
    let problems = parse_callback(br#"{"Event": "something_else", "TaskId": "t"}"#).unwrap_err();
    assert!(problems.to_string().contains("unknown variant"), "{problems}");
    assert!(parse_callback(b"\xff\xfe").is_err());
}
