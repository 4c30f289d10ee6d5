//! The per-task callback token: `v1.<provider>.<taskId>.<btId, base64url>.<mac>`,
//! where mac = HMAC-SHA256(key, the rest). Verified before anything is read
//! or written, so a forged callback costs one HMAC and nothing else.

use super::provider::ProviderId;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

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
}

/// The secret that signs callback tokens, and the provider names a token may
/// carry. `Debug` never prints the secret.
#[derive(Clone)]
pub struct CallbackKey {
    secret: Vec<u8>,
    known: &'static [ProviderId],
}

impl std::fmt::Debug for CallbackKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallbackKey(<redacted>)")
    }
}

const VERSION: &str = "v1";

impl CallbackKey {
    /// At least 16 bytes of secret; `known`, the providers a token may name.
    pub fn new(secret: &[u8], known: &'static [ProviderId]) -> Result<Self, &'static str> {
        if secret.len() < 16 {
            Err("the callback-token key must be at least 16 bytes")
        } else {
            Ok(CallbackKey {
                secret: secret.to_vec(),
                known,
            })
        }
    }

    fn mac(&self, unsigned: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(unsigned.as_bytes());
        mac
    }

    /// The token for a task; URL-safe, so it can be a path segment.
    pub fn sign(&self, task: &TaskRef) -> String {
        let unsigned = format!(
            "{VERSION}.{}.{}.{}",
            task.provider.as_str(),
            task.task_id,
            URL_SAFE_NO_PAD.encode(task.bt_id.as_bytes())
        );
        let tag = URL_SAFE_NO_PAD.encode(self.mac(&unsigned).finalize().into_bytes());
        format!("{unsigned}.{tag}")
    }

    /// Checks the signature (constant time) and returns what the token names.
    pub fn verify(&self, token: &str) -> Result<TaskRef, TokenError> {
        let (unsigned, tag) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| TokenError::Malformed)?;
        self.mac(unsigned)
            .verify_slice(&tag)
            .map_err(|_| TokenError::BadSignature)?;
        let mut parts = unsigned.split('.');
        let (Some(VERSION), Some(provider), Some(task_id), Some(bt_id), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let provider = ProviderId::find(provider, self.known).map_err(|_| TokenError::Malformed)?;
        let bt_id = URL_SAFE_NO_PAD
            .decode(bt_id)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or(TokenError::Malformed)?;
        Ok(TaskRef {
            provider,
            bt_id,
            task_id: task_id.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> CallbackKey {
        CallbackKey::new(b"0123456789abcdef-test-key", crate::providers::REGISTERED).unwrap()
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
        let token = key().sign(&task("房间 1/α"));
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'),
            "{token}"
        );
        assert_eq!(key().verify(&token), Ok(task("房间 1/α")));
    }

    #[test]
    fn forged_or_damaged_tokens_are_refused() {
        let token = key().sign(&task("room-1"));
        let other_key = CallbackKey::new(b"another-secret-key-000", crate::providers::REGISTERED).unwrap();
        assert_eq!(other_key.verify(&token), Err(TokenError::BadSignature));
        let swapped = token.replace(&URL_SAFE_NO_PAD.encode("room-1"), &URL_SAFE_NO_PAD.encode("room-2"));
        assert_eq!(
            key().verify(&swapped),
            Err(TokenError::BadSignature),
            "the btId is covered by the signature"
        );
        assert_eq!(key().verify(""), Err(TokenError::Malformed));
        assert_eq!(key().verify("v1.deepcleer.t.b"), Err(TokenError::Malformed));
        assert!(CallbackKey::new(b"short", crate::providers::REGISTERED).is_err());
        assert_eq!(format!("{:?}", key()), "CallbackKey(<redacted>)");
    }

    proptest! {
        #[test]
        fn any_bt_id_survives_the_token(bt_id in ".{1,128}", which in 0..crate::providers::REGISTERED.len()) {
            let provider = crate::providers::REGISTERED[which];
            let reference = TaskRef { provider, bt_id, task_id: "t".repeat(32) };
            prop_assert_eq!(key().verify(&key().sign(&reference)), Ok(reference));
        }
    }
}
