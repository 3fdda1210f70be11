//! [`TokenCipher`]: tokens encrypted at rest in the Redis store's records.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use cxkit_auth::Secret;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::StoreError;

/// The format of an encrypted record; its plaintext is a `cxkit-tokens/1` record.
const SEALED: &str = "cxkit-tokens/1+xchacha20poly1305";

/// The encrypted record: which key sealed it (so keys can be rotated), the random nonce, and
/// the ciphertext. Only the format and key id are readable in Redis.
#[derive(Serialize, Deserialize)]
pub(super) struct Sealed {
    format: String,
    pub(super) kid: String,
    nonce: String,
    ciphertext: String,
}

impl Sealed {
    /// The encrypted record `record` is, if it is one (else a plain `cxkit-tokens/1` record, or
    /// something unreadable, which the record's parser reports).
    pub(super) fn from_record(record: &[u8]) -> Option<Sealed> {
        serde_json::from_slice::<Sealed>(record)
            .ok()
            .filter(|s| s.format == SEALED)
    }
}

/// Application-supplied keys that encrypt tokens at rest (XChaCha20-Poly1305, a fresh random
/// 192-bit nonce per write). The record names the key id that sealed it, so keys can be
/// rotated: seal with a new current key, and keep the old ones as
/// [`previous`](TokenCipher::previous) until every record has been rewritten (each refresh
/// rewrites its session's). A record that does not decrypt (no key, a wrong key, tampered) means
/// "log in again", never a panic. The key bytes are zeroed when the cipher is dropped, and
/// never printed.
#[derive(Clone)]
pub struct TokenCipher {
    current: Arc<Key>,
    previous: Vec<Arc<Key>>,
}

struct Key {
    id: String,
    bytes: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCipher")
            .field("current", &self.current.id)
            .field(
                "previous",
                &self.previous.iter().map(|k| &k.id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl TokenCipher {
    /// A cipher sealing with `key`, named `key_id` in every record it writes. `key` is 32 random
    /// bytes in standard base64 (for example from `openssl rand -base64 32`, kept in the
    /// application's secret manager); `key_id` is any short name, such as a date.
    pub fn new(key_id: impl Into<String>, key: &Secret) -> Result<Self, StoreError> {
        Ok(TokenCipher {
            current: Arc::new(Key::decode(key_id.into(), key)?),
            previous: Vec::new(),
        })
    }

    /// Also opens records sealed with an earlier key (never seals with it).
    pub fn previous(mut self, key_id: impl Into<String>, key: &Secret) -> Result<Self, StoreError> {
        self.previous
            .push(Arc::new(Key::decode(key_id.into(), key)?));
        Ok(self)
    }

    /// The associated data binds a record to its Redis key and key id, so a record copied to
    /// another session's key does not open.
    fn aad(redis_key: &str, kid: &str) -> Vec<u8> {
        format!("{SEALED}\n{redis_key}\n{kid}").into_bytes()
    }

    pub(super) fn seal(&self, redis_key: &str, plaintext: &[u8]) -> Result<Vec<u8>, StoreError> {
        let key = &self.current;
        let cipher = XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(&key.bytes[..]));
        // A fresh random nonce from the OS for every record: XChaCha20's 192 bits make a
        // collision negligible without any counter shared across the fleet.
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = Self::aad(redis_key, &key.id);
        let ciphertext = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| StoreError::Io("cannot encrypt the tokens".into()))?;
        let b64 = base64::engine::general_purpose::STANDARD;
        serde_json::to_vec(&Sealed {
            format: SEALED.to_owned(),
            kid: key.id.clone(),
            nonce: b64.encode(nonce),
            ciphertext: b64.encode(ciphertext),
        })
        .map_err(|_| StoreError::Io("cannot encode the sealed tokens".into()))
    }

    pub(super) fn open(
        &self,
        redis_key: &str,
        sealed: &Sealed,
    ) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        let corrupt = |why: &str| {
            StoreError::Corrupt(format!(
                "the encrypted record {redis_key} (key id `{}`) {why}",
                sealed.kid
            ))
        };
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == sealed.kid)
            .ok_or_else(|| {
                corrupt("was sealed with a key this store was not given (pass it as a previous key to read it)")
            })?;
        let b64 = base64::engine::general_purpose::STANDARD;
        let nonce = b64
            .decode(&sealed.nonce)
            .ok()
            .filter(|n| n.len() == 24)
            .ok_or_else(|| corrupt("has a malformed nonce"))?;
        let ciphertext = b64
            .decode(&sealed.ciphertext)
            .map_err(|_| corrupt("has malformed ciphertext"))?;
        let aad = Self::aad(redis_key, &key.id);
        XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(&key.bytes[..]))
            .decrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &ciphertext,
                    aad: &aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| corrupt("does not decrypt with that key (a wrong key, or tampered)"))
    }
}

impl Key {
    fn decode(id: String, key: &Secret) -> Result<Key, StoreError> {
        let bad = || {
            StoreError::Insecure(format!(
                "the token encryption key `{id}` is not 32 bytes in base64; make one with \
                 `openssl rand -base64 32`"
            ))
        };
        if id.is_empty() {
            return Err(StoreError::Insecure(
                "the token encryption key needs a non-empty key id".into(),
            ));
        }
        let decoded = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(key.expose().trim())
                .map_err(|_| bad())?,
        );
        let bytes: [u8; 32] = decoded.as_slice().try_into().map_err(|_| bad())?;
        Ok(Key {
            id,
            bytes: Zeroizing::new(bytes),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::store::record::encode;
    use crate::token::TokenSet;

    fn key(byte: u8) -> Secret {
        Secret::new(base64::engine::general_purpose::STANDARD.encode([byte; 32]))
    }

    #[test]
    fn sealed_records_open_only_with_their_key_and_redis_key() {
        let cipher = TokenCipher::new("k1", &key(1)).unwrap();
        let set = TokenSet::new(
            [("a".to_owned(), Secret::new("canary-token"))],
            UNIX_EPOCH,
            UNIX_EPOCH + Duration::from_secs(60),
        );
        let plain = encode("s", &set).unwrap();
        let sealed = cipher.seal("rk", &plain).unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains("canary"));
        // A fresh nonce per write.
        assert_ne!(sealed, cipher.seal("rk", &plain).unwrap());
        let record: Sealed = serde_json::from_slice(&sealed).unwrap();
        assert_eq!(&*cipher.open("rk", &record).unwrap(), &*plain);
        // Copied to another session's key, under a wrong key, or tampered with: log in again.
        assert!(matches!(
            cipher.open("other", &record),
            Err(StoreError::Corrupt(_))
        ));
        let wrong = TokenCipher::new("k1", &key(2)).unwrap();
        assert!(matches!(
            wrong.open("rk", &record),
            Err(StoreError::Corrupt(_))
        ));
        let mut tampered: Sealed = serde_json::from_slice(&sealed).unwrap();
        tampered.ciphertext.replace_range(0..4, "AAAA");
        assert!(matches!(
            cipher.open("rk", &tampered),
            Err(StoreError::Corrupt(_))
        ));
        for nonce in ["", "!!", "AAAA"] {
            let mut bad: Sealed = serde_json::from_slice(&sealed).unwrap();
            bad.nonce = nonce.into();
            assert!(matches!(
                cipher.open("rk", &bad),
                Err(StoreError::Corrupt(_))
            ));
        }
        // The key never prints.
        let text = format!("{cipher:?}");
        assert!(
            text.contains("k1") && !text.contains(key(1).expose()),
            "{text}"
        );
    }
}
