//! The per-task callback token, a path segment of the callback URL:
//!
//! `v2.<keyId>.<provider>.<taskId>.<btId, base64url>.<expires, unix s>.<mac>`,
//!
//! where mac = HMAC-SHA256(the key, everything before it). It is verified
//! before anything is read or written, so a forged callback costs one HMAC
//! and nothing else. The key id (a digest of the key, not the key) says
//! which key signed it, so that the key can be rotated: the current key
//! signs, and the current and the previous key verify, for as long as tokens
//! signed with the previous one may still be in use. Tokens expire, a while
//! after the longest stream a deployment lets run.
//!
//! `v1.<provider>.<taskId>.<btId>.<mac>` tokens, from before key ids, are
//! still accepted from either key (without an expiry): they die with the
//! key that signed them.

use super::provider::ProviderId;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// What a token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRef {
    pub provider: ProviderId,
    pub bt_id: String,
    pub task_id: String,
}

/// Why a token was refused. Deliberately vague on the wire (401 either way).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the callback token is malformed")]
    Malformed,
    #[error("the callback token's signature does not match")]
    BadSignature,
    #[error("the callback token was signed by a key this deployment no longer holds")]
    UnknownKey,
    #[error("the callback token has expired")]
    Expired,
}

/// A secret that signs callback tokens, and the provider names a token may
/// carry. `Debug` never prints the secret.
#[derive(Clone)]
pub struct CallbackKey {
    /// The HMAC keyed once with the secret: each use clones this state
    /// instead of hashing the key's pads again (see docs/performance.md).
    keyed: Hmac<Sha256>,
    id: String,
    known: &'static [ProviderId],
}

impl std::fmt::Debug for CallbackKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CallbackKey({}, <redacted>)", self.id)
    }
}

const VERSION: &str = "v2";
const LEGACY_VERSION: &str = "v1";

impl CallbackKey {
    /// At least 16 bytes of secret; `known`, the providers a token may name.
    pub fn new(secret: &[u8], known: &'static [ProviderId]) -> Result<Self, &'static str> {
        if secret.len() < 16 {
            return Err("the callback-token key must be at least 16 bytes");
        }
        let digest = Sha256::new()
            .chain_update(b"streamguard callback-token key id\0")
            .chain_update(secret)
            .finalize();
        Ok(CallbackKey {
            keyed: <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length"),
            id: hex::encode(&digest[..4]),
            known,
        })
    }

    /// The key's id, as tokens carry it (not secret: a digest of the key).
    pub fn id(&self) -> &str {
        &self.id
    }

    fn mac(&self, unsigned: &str) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        mac.update(unsigned.as_bytes());
        mac
    }

    /// The token for a task, valid until `expires_at`; URL-safe, so it can
    /// be a path segment.
    pub fn sign(&self, task: &TaskRef, expires_at: OffsetDateTime) -> String {
        let unsigned = format!(
            "{VERSION}.{}.{}.{}.{}.{}",
            self.id,
            task.provider.as_str(),
            task.task_id,
            URL_SAFE_NO_PAD.encode(task.bt_id.as_bytes()),
            expires_at.unix_timestamp()
        );
        let tag = URL_SAFE_NO_PAD.encode(self.mac(&unsigned).finalize().into_bytes());
        format!("{unsigned}.{tag}")
    }

    /// Whether `tag` is this key's MAC of `unsigned` (constant time).
    fn signed(&self, unsigned: &str, tag: &[u8]) -> bool {
        self.mac(unsigned).verify_slice(tag).is_ok()
    }

    /// [`CallbackKeys::verify`] with this key alone.
    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<TaskRef, TokenError> {
        CallbackKeys::new(self.clone(), None)
            .verify(token, now)
            .map(|verified| verified.task)
    }

    /// A token of the form before key ids (`v1`), as an earlier version signed it.
    #[cfg(test)]
    fn sign_legacy(&self, task: &TaskRef) -> String {
        let unsigned = format!(
            "{LEGACY_VERSION}.{}.{}.{}",
            task.provider.as_str(),
            task.task_id,
            URL_SAFE_NO_PAD.encode(task.bt_id.as_bytes())
        );
        let tag = URL_SAFE_NO_PAD.encode(self.mac(&unsigned).finalize().into_bytes());
        format!("{unsigned}.{tag}")
    }
}

/// The keys a deployment verifies tokens with: the current one (which also
/// signs) and, during a rotation, the previous one.
#[derive(Debug, Clone)]
pub struct CallbackKeys {
    pub current: CallbackKey,
    pub previous: Option<CallbackKey>,
}

/// A token that verified: what it names, and whether the previous key
/// signed it (a rotation is complete once none does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub task: TaskRef,
    pub by_previous_key: bool,
}

impl CallbackKeys {
    pub fn new(current: CallbackKey, previous: Option<CallbackKey>) -> Self {
        CallbackKeys { current, previous }
    }

    fn keys(&self) -> impl Iterator<Item = (&CallbackKey, bool)> {
        std::iter::once((&self.current, false)).chain(self.previous.iter().map(|key| (key, true)))
    }

    /// Checks the signature (constant time) with the key the token names,
    /// then its expiry, and returns what the token names.
    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<Verified, TokenError> {
        let (unsigned, tag) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| TokenError::Malformed)?;
        let fields: Vec<&str> = unsigned.split('.').collect();
        let (by_previous_key, provider, task_id, bt_id) = match fields.as_slice() {
            [VERSION, key_id, provider, task_id, bt_id, expires] => {
                let (key, previous) = self
                    .keys()
                    .find(|(key, _)| key.id == *key_id)
                    .ok_or(TokenError::UnknownKey)?;
                if !key.signed(unsigned, &tag) {
                    return Err(TokenError::BadSignature);
                }
                let expires = expires.parse::<i64>().map_err(|_| TokenError::Malformed)?;
                if expires <= now.unix_timestamp() {
                    return Err(TokenError::Expired);
                }
                (previous, *provider, *task_id, *bt_id)
            }
            [LEGACY_VERSION, provider, task_id, bt_id] => {
                let (_, previous) = self
                    .keys()
                    .find(|(key, _)| key.signed(unsigned, &tag))
                    .ok_or(TokenError::BadSignature)?;
                (previous, *provider, *task_id, *bt_id)
            }
            _ => return Err(TokenError::Malformed),
        };
        let provider = ProviderId::find(provider, self.current.known).map_err(|_| TokenError::Malformed)?;
        let bt_id = URL_SAFE_NO_PAD
            .decode(bt_id)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or(TokenError::Malformed)?;
        Ok(Verified {
            task: TaskRef {
                provider,
                bt_id,
                task_id: task_id.to_owned(),
            },
            by_previous_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    fn key() -> CallbackKey {
        CallbackKey::new(b"0123456789abcdef-test-key", crate::providers::REGISTERED).unwrap()
    }

    fn other_key() -> CallbackKey {
        CallbackKey::new(b"another-secret-key-000", crate::providers::REGISTERED).unwrap()
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap()
    }

    fn later() -> OffsetDateTime {
        now() + Duration::from_secs(3600)
    }

    fn task(bt_id: &str) -> TaskRef {
        TaskRef {
            provider: crate::providers::REGISTERED[0],
            bt_id: bt_id.into(),
            task_id: "9f58178ba8034902c6028c728bc6f6e4".into(),
        }
    }

    #[test]
    fn a_signed_token_verifies_and_names_its_task() {
        let token = key().sign(&task("房间 1/α"), later());
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'),
            "{token}"
        );
        assert!(token.starts_with(&format!("v2.{}.", key().id())));
        assert_eq!(key().verify(&token, now()), Ok(task("房间 1/α")));
    }

    #[test]
    fn forged_damaged_or_expired_tokens_are_refused() {
        let token = key().sign(&task("room-1"), later());
        assert_eq!(other_key().verify(&token, now()), Err(TokenError::UnknownKey));
        let swapped = token.replace(&URL_SAFE_NO_PAD.encode("room-1"), &URL_SAFE_NO_PAD.encode("room-2"));
        assert_eq!(
            key().verify(&swapped, now()),
            Err(TokenError::BadSignature),
            "the btId is covered by the signature"
        );
        let extended = token.replace(
            &format!(".{}.", later().unix_timestamp()),
            &format!(".{}.", (later() + Duration::from_secs(86_400)).unix_timestamp()),
        );
        assert_ne!(extended, token);
        assert_eq!(
            key().verify(&extended, now()),
            Err(TokenError::BadSignature),
            "so is the expiry"
        );
        assert_eq!(key().verify(&token, later()), Err(TokenError::Expired));
        assert_eq!(key().verify("", now()), Err(TokenError::Malformed));
        assert_eq!(key().verify("v1.deepcleer.t.b", now()), Err(TokenError::Malformed));
        assert!(CallbackKey::new(b"short", crate::providers::REGISTERED).is_err());
        assert_eq!(
            format!("{:?}", key()),
            format!("CallbackKey({}, <redacted>)", key().id())
        );
    }

    #[test]
    fn during_a_rotation_both_keys_verify_and_the_previous_one_is_told() {
        let rotated = CallbackKeys::new(other_key(), Some(key()));
        let old = key().sign(&task("room-1"), later());
        let new = other_key().sign(&task("room-1"), later());
        assert_eq!(
            rotated.verify(&old, now()),
            Ok(Verified {
                task: task("room-1"),
                by_previous_key: true
            })
        );
        assert!(!rotated.verify(&new, now()).unwrap().by_previous_key);
        let done = CallbackKeys::new(other_key(), None);
        assert_eq!(
            done.verify(&old, now()),
            Err(TokenError::UnknownKey),
            "after the rotation"
        );
        assert_ne!(key().id(), other_key().id());
    }

    #[test]
    fn tokens_from_before_key_ids_verify_with_either_key() {
        let legacy = key().sign_legacy(&task("room-1"));
        assert_eq!(key().verify(&legacy, later()), Ok(task("room-1")));
        let rotated = CallbackKeys::new(other_key(), Some(key()));
        assert!(rotated.verify(&legacy, now()).unwrap().by_previous_key);
        assert_eq!(
            CallbackKeys::new(other_key(), None).verify(&legacy, now()),
            Err(TokenError::BadSignature)
        );
    }

    proptest! {
        #[test]
        fn any_bt_id_survives_the_token(bt_id in ".{1,128}", which in 0..crate::providers::REGISTERED.len()) {
            let provider = crate::providers::REGISTERED[which];
            let reference = TaskRef { provider, bt_id, task_id: "t".repeat(32) };
            prop_assert_eq!(key().verify(&key().sign(&reference, later()), now()), Ok(reference));
        }
    }
}
