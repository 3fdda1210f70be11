//! The `cxkit-tokens/1` record: a session's tokens as the file store's files and the Redis
//! store's records (before any encryption) hold them.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cxkit_auth::Secret;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::StoreError;
use crate::token::TokenSet;

/// The file format. Fields added since (`identity`) are optional, so files written before them
/// still load, and earlier readers ignore them.
const FORMAT: &str = "cxkit-tokens/1";

#[derive(Serialize, Deserialize)]
struct OnDisk {
    format: String,
    key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    identity: Option<String>,
    obtained_at: f64,
    expires_at: f64,
    tokens: HashMap<String, String>,
}

/// The tokens of `key` in the `cxkit-tokens/1` format (the file store's files, the Redis
/// store's records before any encryption), in a buffer that is zeroed when dropped.
pub(crate) fn encode(key: &str, tokens: &TokenSet) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    let secs = |t: SystemTime| {
        t.duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64()
    };
    let record = OnDisk {
        format: FORMAT.to_owned(),
        key: key.to_owned(),
        identity: tokens.identity().map(str::to_owned),
        obtained_at: secs(tokens.obtained_at()),
        expires_at: secs(tokens.expires_at()),
        tokens: tokens
            .iter()
            .map(|(k, v)| (k.to_owned(), v.expose().to_owned()))
            .collect(),
    };
    let text = serde_json::to_vec(&record)
        .map_err(|e| StoreError::Io(format!("cannot encode tokens: {}", e.classify_name())));
    // The map's own copies of the token values are zeroed with the secrets they came from only
    // if dropped promptly; the encoded text is zeroed by its wrapper.
    drop(record);
    text.map(Zeroizing::new)
}

/// Reads a record's bytes (a token file, a Redis record's plaintext) found at `origin` as the
/// tokens of `key`; anything else (not JSON, another shape, another format or key, a time out
/// of range) is [`StoreError::Corrupt`], never a panic.
pub(crate) fn parse(
    bytes: &[u8],
    key: &str,
    origin: &dyn fmt::Display,
) -> Result<TokenSet, StoreError> {
    let disk: OnDisk = serde_json::from_slice(bytes).map_err(|e| {
        StoreError::Corrupt(format!(
            "{origin} is not a cxkit token record ({})",
            e.classify_name()
        ))
    })?;
    if disk.format != FORMAT || disk.key != key {
        return Err(StoreError::Corrupt(format!(
            "{origin} belongs to another format or session"
        )));
    }
    let at = |secs: f64| {
        Duration::try_from_secs_f64(secs)
            .ok()
            .and_then(|since| UNIX_EPOCH.checked_add(since))
            .ok_or_else(|| StoreError::Corrupt(format!("{origin} has an invalid time")))
    };
    let tokens = TokenSet::new(
        disk.tokens.into_iter().map(|(k, v)| (k, Secret::new(v))),
        at(disk.obtained_at)?,
        at(disk.expires_at)?,
    );
    Ok(match disk.identity {
        Some(identity) => tokens.with_identity(identity),
        None => tokens,
    })
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "I/O error",
            serde_json::error::Category::Syntax => "malformed JSON",
            serde_json::error::Category::Data => "unexpected fields",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}
