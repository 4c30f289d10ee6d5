//! One row per validation rule of the start request, passing and failing.
//! Each failing row names the field and a fragment of the rule it must report.

use serde_json::{Value, json};
use streamguard_wire::deepcleer::{MediaKind, parse_close_request, parse_start_request};

fn base(stream_type: &str) -> Value {
    let mut request = json!({
        "accessKey": "AK", "appId": "default", "eventId": "liveAudio", "type": "POLITY_EROTIC",
        "callback": "https://hooks.example.com/cb?t=x",
        "data": { "tokenId": "user-1", "btId": "room-1", "streamType": stream_type }
    });
    let param = match stream_type {
        "NORMAL" => {
            request["data"]["url"] = json!("rtmp://live.example.com/app/stream");
            return request;
        }
        "ZEGO" => ("zegoParam", json!({"tokenId": "zt", "roomId": "r1"})),
        "AGORA" => ("agoraParam", json!({"appId": "aa", "channel": "c1"})),
        "TRTC" => (
            "trtcParam",
            json!({"sdkAppId": 1400000000, "demoSences": 4, "userId": "bot_1", "userSig": "sig", "roomId": 12}),
        ),
        "VOLC" => (
            "volcParam",
            json!({"appId": "va", "roomId": "r", "token": "t", "userId": "bot"}),
        ),
        "GIN" => (
            "ginParam",
            json!({"tokenId": "gt", "roomId": "r", "ip": "192.0.2.7", "port": "8080"}),
        ),
        "ALI" => ("aliParam", json!({"token": "t", "room": "r", "userId": "bot"})),
        "YUNXIN" => (
            "yunxinParam",
            json!({"token": "t", "cname": "c", "uid": 7, "appKey": "k"}),
        ),
        other => panic!("no base for {other}"),
    };
    request["data"][param.0] = param.1;
    request
}

/// Sets (`Some`) or removes (`None`) the value at a dotted path.
fn edit(mut request: Value, path: &str, value: Option<Value>) -> Value {
    let (parent_path, key) = path.rsplit_once('.').map_or(("", path), |(parent, key)| (parent, key));
    let mut parent = &mut request;
    for part in parent_path.split('.').filter(|part| !part.is_empty()) {
        parent = &mut parent[part];
    }
    let object = parent.as_object_mut().expect("an object on the path");
    match value {
        Some(value) => object.insert(key.to_owned(), value),
        None => object.remove(key),
    };
    request
}

enum Expect<'a> {
    Valid,
    Problem(&'a str, &'a str),
}
use Expect::{Problem, Valid};

fn row(name: &str, request: Value, expect: Expect<'_>) {
    let text = request.to_string();
    let result = parse_start_request(&text).and_then(|parsed| parsed.validate());
    match (expect, result) {
        (Valid, Ok(())) => {}
        (Valid, Err(problems)) => panic!("{name}: expected valid, got {problems}"),
        (Problem(field, _), Ok(())) => panic!("{name}: expected a problem at {field}, got none"),
        (Problem(field, fragment), Err(problems)) => {
            let problem = problems
                .get(field)
                .unwrap_or_else(|| panic!("{name}: no problem at {field}: {problems}"));
            assert!(
                problem.rule.contains(fragment),
                "{name}: rule {:?} lacks {fragment:?}",
                problem.rule
            );
        }
    }
}

fn set(stream_type: &str, path: &str, value: Value) -> Value {
    edit(base(stream_type), path, Some(value))
}

fn without(stream_type: &str, path: &str) -> Value {
    edit(base(stream_type), path, None)
}

#[test]
fn every_stream_type_base_is_valid() {
    for stream_type in ["NORMAL", "ZEGO", "AGORA", "TRTC", "VOLC", "GIN", "ALI", "YUNXIN"] {
        row(stream_type, base(stream_type), Valid);
    }
}

#[test]
fn required_fields() {
    for field in ["accessKey", "appId", "eventId", "callback", "data.tokenId", "data.btId"] {
        row(field, without("NORMAL", field), Problem(field, "is required"));
        row(field, set("NORMAL", field, json!("  ")), Problem(field, "is required"));
    }
    row(
        "streamType",
        without("NORMAL", "data.streamType"),
        Problem("data.streamType", "is required"),
    );
    row(
        "no data at all",
        without("NORMAL", "data"),
        Problem("data.btId", "is required"),
    );
    for (param, field) in [
        ("ZEGO", "data.zegoParam.tokenId"),
        ("AGORA", "data.agoraParam.appId"),
        ("AGORA", "data.agoraParam.channel"),
        ("TRTC", "data.trtcParam.sdkAppId"),
        ("TRTC", "data.trtcParam.demoSences"),
        ("TRTC", "data.trtcParam.userId"),
        ("TRTC", "data.trtcParam.userSig"),
        ("VOLC", "data.volcParam.appId"),
        ("VOLC", "data.volcParam.roomId"),
        ("VOLC", "data.volcParam.token"),
        ("VOLC", "data.volcParam.userId"),
        ("GIN", "data.ginParam.tokenId"),
        ("GIN", "data.ginParam.roomId"),
        ("GIN", "data.ginParam.ip"),
        ("GIN", "data.ginParam.port"),
        ("ALI", "data.aliParam.token"),
        ("ALI", "data.aliParam.room"),
        ("ALI", "data.aliParam.userId"),
        ("YUNXIN", "data.yunxinParam.token"),
        ("YUNXIN", "data.yunxinParam.cname"),
        ("YUNXIN", "data.yunxinParam.uid"),
        ("YUNXIN", "data.yunxinParam.appKey"),
    ] {
        row(field, without(param, field), Problem(field, "is required"));
    }
}

#[test]
fn maximum_lengths() {
    let long = |n: usize| json!("a".repeat(n));
    for (field, max) in [
        ("accessKey", 20),
        ("appId", 64),
        ("eventId", 64),
        ("data.tokenId", 64),
        ("data.btId", 128),
        ("data.receiveTokenId", 64),
        ("data.deviceId", 128),
    ] {
        row(field, set("NORMAL", field, long(max)), Valid);
        let rule = format!("at most {max} characters");
        row(field, set("NORMAL", field, long(max + 1)), Problem(field, &rule));
    }
    row(
        "ip",
        set("NORMAL", "data.ip", json!("1".repeat(65))),
        Problem("data.ip", "at most 64 characters"),
    );
    row("trtc userId", set("TRTC", "data.trtcParam.userId", long(32)), Valid);
    row(
        "trtc userId",
        set("TRTC", "data.trtcParam.userId", long(33)),
        Problem("data.trtcParam.userId", "at most 32"),
    );
    row(
        "characters, not bytes",
        set("NORMAL", "data.tokenId", json!("用".repeat(64))),
        Valid,
    );
}

#[test]
fn the_one_megabyte_limit_on_data() {
    let big = "x".repeat(1024 * 1024);
    row(
        "data over 1 MB",
        set("NORMAL", "data.passThrough", json!({ "blob": big })),
        Problem("data", "at most 1048576 bytes"),
    );
    row(
        "data under 1 MB",
        set("NORMAL", "data.passThrough", json!({ "blob": "x".repeat(1000) })),
        Valid,
    );
}

#[test]
fn stream_source_rules() {
    row(
        "NORMAL needs url",
        without("NORMAL", "data.url"),
        Problem("data.url", "required when streamType is NORMAL"),
    );
    for (stream_type, param) in [
        ("ZEGO", "zegoParam"),
        ("AGORA", "agoraParam"),
        ("TRTC", "trtcParam"),
        ("VOLC", "volcParam"),
        ("GIN", "ginParam"),
        ("ALI", "aliParam"),
        ("YUNXIN", "yunxinParam"),
    ] {
        let field = format!("data.{param}");
        let field = field.as_str();
        row(
            stream_type,
            without(stream_type, field),
            Problem(field, "is required when streamType is"),
        );
        let mut normal_with_param = base("NORMAL");
        normal_with_param["data"][param] = base(stream_type)["data"][param].clone();
        row(
            stream_type,
            normal_with_param,
            Problem(field, "must not be sent when streamType is NORMAL"),
        );
    }
    let mut zego_and_trtc = base("ZEGO");
    zego_and_trtc["data"]["trtcParam"] = base("TRTC")["data"]["trtcParam"].clone();
    row(
        "a second param",
        zego_and_trtc,
        Problem("data.trtcParam", "must not be sent when streamType is ZEGO"),
    );
    row(
        "url is ignored for RTC",
        set("AGORA", "data.url", json!("rtmp://x.example/y")),
        Valid,
    );
}

#[test]
fn url_schemes() {
    for url in [
        "rtmp://a.example/live",
        "rtmps://a.example/live",
        "http://a.example/s.flv",
        "https://a.example/s.m3u8",
    ] {
        row(url, set("NORMAL", "data.url", json!(url)), Valid);
    }
    row(
        "ftp",
        set("NORMAL", "data.url", json!("ftp://a.example/x")),
        Problem("data.url", "schemes rtmp, rtmps, http, https"),
    );
    row(
        "not a URL",
        set("NORMAL", "data.url", json!("live stream")),
        Problem("data.url", "absolute URL"),
    );
    row(
        "callback ws",
        set("NORMAL", "callback", json!("ws://a.example/cb")),
        Problem("callback", "schemes http, https"),
    );
    row(
        "callback http",
        set("NORMAL", "callback", json!("http://127.0.0.1:9000/cb")),
        Valid,
    );
}

#[test]
fn detection_types() {
    row(
        "neither type nor businessType",
        without("NORMAL", "type"),
        Problem("type", "type or businessType"),
    );
    row(
        "empty type",
        set("NORMAL", "type", json!("")),
        Problem("type", "type or businessType"),
    );
    let business_only = edit(without("NORMAL", "type"), "businessType", Some(json!("AGE")));
    row("businessType alone", business_only, Valid);
    row(
        "unknown type",
        set("NORMAL", "type", json!("POLITY_FOO")),
        Problem("type", "\"FOO\" is not a documented detection type"),
    );
    row(
        "every documented type",
        set(
            "NORMAL",
            "type",
            json!(
                "POLITY_EROTIC_ADVERT_BAN_VIOLENT_MOAN_AUDIOPOLITICAL_ANTHEN_DIRTY_ADLAW_SING_MINOR_BANEDAUDIO_COPYRIGHTSONGS_VOICE"
            ),
        ),
        Valid,
    );
    row(
        "unknown businessType",
        set("NORMAL", "businessType", json!("GENDER_FOO")),
        Problem("businessType", "not a documented business detection type"),
    );
    for needs_gender in ["TIMBRE", "SING", "LANGUAGE"] {
        row(
            needs_gender,
            set("NORMAL", "businessType", json!(needs_gender)),
            Problem("businessType", "must include GENDER"),
        );
        row(
            needs_gender,
            set("NORMAL", "businessType", json!(format!("GENDER_{needs_gender}"))),
            Valid,
        );
    }
    row(
        "every business type",
        set(
            "NORMAL",
            "businessType",
            json!("GENDER_AGE_TIMBRE_SING_LANGUAGE_VOICE_AUDIOSCENE"),
        ),
        Valid,
    );
}

#[test]
fn vocabularies() {
    row(
        "streamType",
        set("NORMAL", "data.streamType", json!("HLS")),
        Problem("data.streamType", "not a documented stream type"),
    );
    row(
        "lang",
        set("NORMAL", "data.lang", json!("xx")),
        Problem("data.lang", "not a documented language"),
    );
    for lang in [
        "zh", "en", "ar", "hi", "es", "fr", "ru", "pt", "id", "de", "ja", "tr", "vi", "it", "th", "tl", "ko", "ms",
        "auto",
    ] {
        row(lang, set("NORMAL", "data.lang", json!(lang)), Valid);
    }
    row(
        "acceptLang",
        set("NORMAL", "acceptLang", json!("fr")),
        Problem("acceptLang", "not a documented label language"),
    );
    row("acceptLang zh", set("NORMAL", "acceptLang", json!("zh")), Valid);
    row(
        "subscribeMode",
        set("AGORA", "data.agoraParam.subscribeMode", json!("SOME")),
        Problem("data.agoraParam.subscribeMode", "not a documented subscribe mode"),
    );
}

#[test]
fn ranges_and_flags() {
    for (field, low, high) in [
        ("data.audioDetectStep", 1, 36),
        ("data.level", 0, 4),
        ("data.gender", 0, 2),
    ] {
        row(field, set("NORMAL", field, json!(low)), Valid);
        row(field, set("NORMAL", field, json!(high)), Valid);
        row(
            field,
            set("NORMAL", field, json!(low - 1)),
            Problem(field, "must be between"),
        );
        row(
            field,
            set("NORMAL", field, json!(high + 1)),
            Problem(field, "must be between"),
        );
    }
    for field in [
        "data.returnPreText",
        "data.returnPreAudio",
        "data.returnFinishInfo",
        "data.returnAllText",
    ] {
        row(field, set("NORMAL", field, json!(0)), Valid);
        row(field, set("NORMAL", field, json!(1)), Valid);
        row(field, set("NORMAL", field, json!(2)), Problem(field, "must be 0 or 1"));
    }
    row(
        "trtc roomId max",
        set("TRTC", "data.trtcParam.roomId", json!(4_294_967_294u64)),
        Valid,
    );
    row(
        "trtc roomId over",
        set("TRTC", "data.trtcParam.roomId", json!(4_294_967_295u64)),
        Problem("data.trtcParam.roomId", "between 1 and 4294967294"),
    );
    row(
        "trtc roomId zero",
        set("TRTC", "data.trtcParam.roomId", json!(0)),
        Problem("data.trtcParam.roomId", "between 1 and 4294967294"),
    );
    row(
        "trtc demoSences 2",
        set("TRTC", "data.trtcParam.demoSences", json!(2)),
        Valid,
    );
    row(
        "trtc demoSences 3",
        set("TRTC", "data.trtcParam.demoSences", json!(3)),
        Problem("data.trtcParam.demoSences", "2 (separated streams) or 4"),
    );
    row(
        "agora uid",
        set("AGORA", "data.agoraParam.uid", json!(4_294_967_295u64)),
        Valid,
    );
    row(
        "agora uid over",
        set("AGORA", "data.agoraParam.uid", json!(4_294_967_296u64)),
        Problem("data.agoraParam.uid", "between 0 and 4294967295"),
    );
    row(
        "agora uid negative",
        set("AGORA", "data.agoraParam.uid", json!(-1)),
        Problem("data.agoraParam.uid", "between"),
    );
    row(
        "agora channelProfile",
        set("AGORA", "data.agoraParam.channelProfile", json!(2)),
        Problem("data.agoraParam.channelProfile", "between 0 and 1"),
    );
    row(
        "zego initDomain 6",
        set("ZEGO", "data.zegoParam.initDomain", json!(6)),
        Valid,
    );
    row(
        "zego initDomain 7",
        set("ZEGO", "data.zegoParam.initDomain", json!(7)),
        Problem("data.zegoParam.initDomain", "between 0 and 6"),
    );
    row(
        "gin port 0",
        set("GIN", "data.ginParam.port", json!("0")),
        Problem("data.ginParam.port", "port number"),
    );
    row(
        "gin port 70000",
        set("GIN", "data.ginParam.port", json!("70000")),
        Problem("data.ginParam.port", "port number"),
    );
    row(
        "yunxin uid",
        set("YUNXIN", "data.yunxinParam.uid", json!(2_147_483_648u64)),
        Problem("data.yunxinParam.uid", "between"),
    );
}

#[test]
fn conditional_requirements() {
    let message = set("NORMAL", "eventId", json!("message"));
    row(
        "message needs receiver",
        message.clone(),
        Problem("data.receiveTokenId", "required when eventId is message"),
    );
    row(
        "message with receiver",
        edit(message, "data.receiveTokenId", Some(json!("user_2-b"))),
        Valid,
    );
    row(
        "receiver chars",
        set("NORMAL", "data.receiveTokenId", json!("user 2")),
        Problem("data.receiveTokenId", "letters"),
    );

    row(
        "zego needs stream or room",
        without("ZEGO", "data.zegoParam.roomId"),
        Problem("data.zegoParam", "streamId or roomId"),
    );
    row(
        "zego stream only",
        edit(
            without("ZEGO", "data.zegoParam.roomId"),
            "data.zegoParam.streamId",
            Some(json!("s1")),
        ),
        Valid,
    );
    let separated = set("ZEGO", "data.zegoParam.isMixingEnabled", json!(false));
    row("zego separated with room", separated.clone(), Valid);
    row(
        "zego separated with stream",
        edit(separated.clone(), "data.zegoParam.streamId", Some(json!("s1"))),
        Problem(
            "data.zegoParam.streamId",
            "must not be sent when isMixingEnabled is false",
        ),
    );
    let separated_stream_only = edit(
        edit(separated, "data.zegoParam.roomId", None),
        "data.zegoParam.streamId",
        Some(json!("s1")),
    );
    row(
        "zego separated needs room",
        separated_stream_only,
        Problem("data.zegoParam.roomId", "required when isMixingEnabled is false"),
    );

    row(
        "trtc needs a room",
        without("TRTC", "data.trtcParam.roomId"),
        Problem("data.trtcParam", "roomId or strRoomId"),
    );
    row(
        "trtc strRoomId",
        edit(
            without("TRTC", "data.trtcParam.roomId"),
            "data.trtcParam.strRoomId",
            Some(json!("room_7-a")),
        ),
        Valid,
    );
    row(
        "trtc strRoomId chars",
        set("TRTC", "data.trtcParam.strRoomId", json!("room 7")),
        Problem("data.trtcParam.strRoomId", "letters"),
    );
    row(
        "trtc userId chars",
        set("TRTC", "data.trtcParam.userId", json!("bot!")),
        Problem("data.trtcParam.userId", "letters"),
    );

    row(
        "agora token needs uid",
        set("AGORA", "data.agoraParam.token", json!("tok")),
        Problem("data.agoraParam.uid", "required when token is sent"),
    );
    row(
        "agora token with uid",
        edit(
            set("AGORA", "data.agoraParam.token", json!("tok")),
            "data.agoraParam.uid",
            Some(json!(9)),
        ),
        Valid,
    );
    let untrusted = edit(
        set("AGORA", "data.agoraParam.subscribeMode", json!("UNTRUSTED")),
        "data.agoraParam.isMixingEnabled",
        Some(json!(false)),
    );
    row(
        "agora untrusted needs list",
        untrusted.clone(),
        Problem("data.agoraParam.untrustedUserIdList", "non-empty"),
    );
    row(
        "agora untrusted empty list",
        edit(
            untrusted.clone(),
            "data.agoraParam.untrustedUserIdList",
            Some(json!([])),
        ),
        Problem("data.agoraParam.untrustedUserIdList", "non-empty"),
    );
    row(
        "agora untrusted list",
        edit(
            untrusted.clone(),
            "data.agoraParam.untrustedUserIdList",
            Some(json!(["123", "456"])),
        ),
        Valid,
    );
    row(
        "agora list items",
        edit(untrusted, "data.agoraParam.untrustedUserIdList", Some(json!(["12a"]))),
        Problem("data.agoraParam.untrustedUserIdList[0]", "unsigned 32-bit"),
    );
    row(
        "agora trusted needs separated",
        set("AGORA", "data.agoraParam.subscribeMode", json!("TRUSTED")),
        Problem("data.agoraParam.subscribeMode", "separated streams only"),
    );
    row(
        "volc untrusted needs list",
        set("VOLC", "data.volcParam.subscribeMode", json!("UNTRUSTED")),
        Problem("data.volcParam.untrustedUserIdList", "non-empty"),
    );
    row(
        "volc trusted may be empty",
        edit(
            set("VOLC", "data.volcParam.subscribeMode", json!("TRUSTED")),
            "data.volcParam.trustedUserIdList",
            Some(json!([])),
        ),
        Valid,
    );
}

#[test]
fn addresses() {
    row("ipv4", set("NORMAL", "data.ip", json!("203.0.113.9")), Valid);
    row("ipv6", set("NORMAL", "data.ip", json!("2001:db8::1")), Valid);
    row(
        "bad ip",
        set("NORMAL", "data.ip", json!("999.1.1.1")),
        Problem("data.ip", "IPv4 or IPv6"),
    );
    row(
        "gin bad ip",
        set("GIN", "data.ginParam.ip", json!("gin.example")),
        Problem("data.ginParam.ip", "IPv4 or IPv6"),
    );
}

#[test]
fn a_wrong_json_type_names_its_path() {
    let problems = parse_start_request(&set("NORMAL", "data.level", json!("high")).to_string()).unwrap_err();
    assert_eq!(problems.0.len(), 1);
    assert_eq!(problems.0[0].field, "data.level");
    assert!(problems.0[0].rule.contains("wrong type"), "{}", problems.0[0].rule);
    let problems = parse_start_request("{\"data\": ").unwrap_err();
    assert!(problems.0[0].rule.contains("not valid JSON"));
}

#[test]
fn all_problems_are_reported_at_once() {
    let request = json!({
        "accessKey": "a".repeat(30), "eventId": "message", "callback": "ftp://x",
        "data": { "btId": "b", "streamType": "TRTC", "level": 9, "trtcParam": { "userId": "x y" } }
    });
    let problems = parse_start_request(&request.to_string())
        .unwrap()
        .validate()
        .unwrap_err();
    for field in [
        "accessKey",
        "appId",
        "callback",
        "type",
        "data.tokenId",
        "data.level",
        "data.receiveTokenId",
        "data.trtcParam.sdkAppId",
        "data.trtcParam.userId",
        "data.trtcParam.userSig",
        "data.trtcParam",
    ] {
        assert!(problems.names(field), "{field} missing from {problems}");
    }
    assert!(problems.0.len() >= 11);
}

#[test]
fn unknown_fields_pass_through_unchanged() {
    let request = set("NORMAL", "data.room", json!("room2"));
    let request = edit(request, "futureTopLevel", Some(json!({"a": [1, 2]})));
    let parsed = parse_start_request(&request.to_string()).unwrap();
    parsed.validate().unwrap();
    assert_eq!(serde_json::to_value(&parsed).unwrap(), request);
}

#[test]
fn close_request_rules() {
    let close = |body: Value, kind| parse_close_request(&body.to_string()).unwrap().validate(kind);
    assert!(close(json!({"accessKey": "AK", "requestId": "r"}), MediaKind::Audio).is_ok());
    let problems = close(json!({"requestId": "r"}), MediaKind::Audio).unwrap_err();
    assert!(problems.names("accessKey"));
    let problems = close(json!({"accessKey": "AK"}), MediaKind::Video).unwrap_err();
    assert!(problems.names("requestId"));
    let long_id = "a".repeat(33);
    assert!(close(json!({"accessKey": "AK", "requestId": long_id}), MediaKind::Audio).is_ok());
    let problems = close(json!({"accessKey": "AK", "requestId": long_id}), MediaKind::Video).unwrap_err();
    assert!(problems.get("requestId").unwrap().rule.contains("at most 32"));
    let problems = close(json!({"accessKey": "a".repeat(21), "requestId": "r"}), MediaKind::Audio).unwrap_err();
    assert!(problems.get("accessKey").unwrap().rule.contains("at most 20"));
}
