//! Removing secrets from what providers echo back.
//!
//! DeepCleer echoes the whole start request in `requestParams`, accessKey and
//! RTC pull tokens included. Anything that is logged, stored or forwarded
//! goes through [`redact_request_params`] first.

use serde_json::Value;

/// Keys removed wherever they appear: they authenticate the bundle or a pull bot.
const SECRET_KEYS: &[&str] = &[
    "accessKey",
    "token",
    "userSig",
    "ServerSecret",
    "serverSecret",
    "Signature",
];

/// `*Param` objects whose `tokenId` is a login token (unlike `data.tokenId`, a user id).
const TOKEN_ID_PARAMS: &[&str] = &["zegoParam", "ginParam"];

/// Removes the accessKey and every provider token from an echoed request.
pub fn redact_request_params(value: &mut Value) {
    redact(value, None);
}

fn redact(value: &mut Value, parent_key: Option<&str>) {
    match value {
        Value::Object(map) => {
            map.retain(|key, _| !SECRET_KEYS.contains(&key.as_str()));
            if parent_key.is_some_and(|parent| TOKEN_ID_PARAMS.contains(&parent)) {
                map.remove("tokenId");
            }
            for (key, child) in map.iter_mut() {
                redact(child, Some(key));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| redact(item, parent_key)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn removes_access_key_and_pull_tokens_but_keeps_user_ids() {
        let mut echoed = json!({
            "accessKey": "AK123",
            "appId": "default",
            "data": {
                "tokenId": "user-42",
                "btId": "room-1",
                "zegoParam": {"tokenId": "zego-login-token", "roomId": "r1"},
                "agoraParam": {"appId": "a", "channel": "c", "token": "agora-token", "uid": 7},
                "trtcParam": {"userId": "bot", "userSig": "sig"},
                "volcParam": {"token": "volc"},
                "ginParam": {"tokenId": "gin-token", "roomId": "g"},
                "aliParam": {"token": "ali"},
                "yunxinParam": {"token": "yx", "appKey": "k"}
            }
        });
        redact_request_params(&mut echoed);
        let text = echoed.to_string();
        for secret in [
            "AK123",
            "zego-login-token",
            "agora-token",
            "\"sig\"",
            "volc\"",
            "gin-token",
            "\"ali\"",
            "\"yx\"",
        ] {
            assert!(!text.contains(secret), "{secret} survived in {text}");
        }
        assert_eq!(echoed["data"]["tokenId"], "user-42");
        assert_eq!(echoed["data"]["zegoParam"]["roomId"], "r1");
        assert_eq!(echoed["data"]["agoraParam"]["uid"], 7);
        assert_eq!(echoed["data"]["yunxinParam"]["appKey"], "k");
    }
}
