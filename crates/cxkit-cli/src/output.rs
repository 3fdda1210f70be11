//! What goes to stdout: JSON, pretty on a terminal and compact with `--json` or when piped,
//! with every secret-named field and every live secret of the process replaced.

use std::io::{IsTerminal as _, Write as _};

use serde_json::Value;

use crate::failure::Failure;

/// How to print.
#[derive(Clone, Copy, Debug)]
pub struct Output {
    /// Compact JSON (one line), for scripts.
    pub compact: bool,
    /// `--json`: JSON documents only (a streamed answer prints one JSON document per event).
    pub json_flag: bool,
}

impl Output {
    /// Compact with `--json` or when stdout is not a terminal.
    pub fn new(json_flag: bool) -> Self {
        Output {
            compact: json_flag || !std::io::stdout().is_terminal(),
            json_flag,
        }
    }

    /// Whether only JSON documents may go to stdout.
    pub fn json_only(&self) -> bool {
        self.json_flag
    }

    /// Prints one JSON document on stdout.
    pub fn json(&self, value: &Value) -> Result<(), Failure> {
        let mut value = value.clone();
        redact(&mut value);
        let text = if self.compact {
            serde_json::to_string(&value)
        } else {
            serde_json::to_string_pretty(&value)
        }
        .map_err(|e| Failure::other(format!("cannot encode the output: {e}")))?;
        self.line(&text)
    }

    /// Prints one line of text on stdout (live secrets replaced).
    pub fn line(&self, text: &str) -> Result<(), Failure> {
        let text = cxkit_auth::scrub_live_secrets(text);
        let mut out = std::io::stdout().lock();
        writeln!(out, "{text}")
            .and_then(|()| out.flush())
            .map_err(write_failed)
    }

    /// Prints bytes on stdout as they are (a completion script: no secrets, not JSON).
    pub fn bytes(&self, bytes: &[u8]) -> Result<(), Failure> {
        let mut out = std::io::stdout().lock();
        out.write_all(bytes)
            .and_then(|()| out.flush())
            .map_err(write_failed)
    }

    /// Prints text on stdout as it arrives, without a newline (a streamed answer).
    pub fn chunk(&self, text: &str) -> Result<(), Failure> {
        let text = cxkit_auth::scrub_live_secrets(text);
        let mut out = std::io::stdout().lock();
        write!(out, "{text}")
            .and_then(|()| out.flush())
            .map_err(write_failed)
    }
}

fn write_failed(e: std::io::Error) -> Failure {
    Failure::other(format!("cannot write the output: {e}"))
}

/// Replaces the string value of every field whose name says it holds a secret (`access_token`,
/// `password`, `api_key`, `lsid`, a Platform28 `sessionId`, which may be the LSID itself), so
/// that an operation whose answer carries credentials cannot print them. Narrower than the
/// URL scrubber's names (`author` or `country_code` are kept), and numbers (`max_tokens`) are
/// never secrets.
pub fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if child.is_string() && secret_name(key) {
                    *child = Value::String(cxkit_auth::redact::REDACTED.to_owned());
                } else {
                    redact(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

fn secret_name(key: &str) -> bool {
    let lower = key.to_ascii_lowercase().replace(['-', '_'], "");
    [
        "token",
        "password",
        "secret",
        "apikey",
        "subscriptionkey",
        "authkey",
    ]
    .iter()
    .any(|m| lower.contains(m))
        || ["lsid", "sessionid", "code", "otp"].contains(&lower.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_fields_are_replaced_and_ordinary_ones_kept() {
        let mut v = serde_json::json!({
            "access_token": "eyJ.abc.def",
            "data": {"lsid": "L-123", "sessionId": "S-1", "author": "Ada", "max_tokens": 512,
                     "items": [{"api_key": "k"}], "country_code": "FR"},
        });
        redact(&mut v);
        assert_eq!(
            v,
            serde_json::json!({
                "access_token": "REDACTED",
                "data": {"lsid": "REDACTED", "sessionId": "REDACTED", "author": "Ada",
                         "max_tokens": 512, "items": [{"api_key": "REDACTED"}],
                         "country_code": "FR"},
            })
        );
    }
}
