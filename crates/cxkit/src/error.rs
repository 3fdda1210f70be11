//! The one error type every cxkit call returns. Its variants say what the caller may conclude,
//! and none of its text can contain a secret: generated errors (which print URLs and whole
//! bodies) are mapped here before anyone sees them.

use cxkit_auth::{AuthError, AuthErrorKind, Secret, scrub_live_secrets};
use std::time::Duration;

use serde_json::Value;

/// A cxkit failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The session is over (expired, revoked, refresh rejected, missing or corrupt stored
    /// tokens): log in again.
    #[error("the session is over and the user must log in again: {reason}")]
    ReauthRequired {
        /// Why, free of secrets.
        reason: String,
    },
    /// The server rejected the credentials themselves (wrong password, wrong or used code):
    /// ask the user for them again. Retrying the same call will not help.
    #[error("the credentials were rejected: {message}")]
    InvalidCredentials {
        /// The server's explanation, if it gave one.
        message: String,
    },
    /// A network failure, timeout, or a server error that may pass: retry later. cxkit already
    /// retried if the operation was safe to retry.
    #[error("a transient failure, worth retrying later: {message}")]
    Transient {
        /// What failed, free of secrets and URLs with secrets.
        message: String,
        /// The HTTP status, if a response arrived.
        status: Option<u16>,
    },
    /// cxkit is misconfigured (a missing credential, a plain-http base URL, an unusable
    /// store): fix the setup.
    #[error("configuration error: {message}")]
    Config {
        /// What to fix.
        message: String,
    },
    /// The API answered with an error status. The body is redacted (anything that looks like
    /// a secret is replaced) and truncated.
    #[error(
        "the API answered {status}{}{}",
        message.as_deref().map(|m| format!(": {m}")).unwrap_or_default(),
        request_id.as_deref().map(|id| format!(" (request id {id})")).unwrap_or_default()
    )]
    Api {
        /// The HTTP status.
        status: u16,
        /// The vendor's message (`message` or `detail`), if any.
        message: Option<String>,
        /// The redacted, truncated body.
        body: String,
        /// The answer's request id (`X-Request-Id`, Azure's `x-ms-request-id`, APIM's
        /// `apim-request-id`, …; see [`cxkit_auth::request_id`]), to quote to the vendor.
        request_id: Option<String>,
    },
    /// The server answered something cxkit cannot read (not the documented shape, a truncated
    /// stream). Only the position of the problem is kept, never the text around it.
    #[error("could not read the server's answer: {message}")]
    Decode {
        /// Where decoding failed.
        message: String,
    },
    /// The server's answer (or one event of a stream) passed the configured size limit: a
    /// broken or hostile server, or an answer larger than expected. Reading stopped at the
    /// limit; if such answers are legitimate, raise the named setting.
    #[error(
        "the server's answer passed the limit of {limit} bytes and was abandoned; if answers this large are expected, raise `{setting}`"
    )]
    ResponseTooLarge {
        /// The limit, in bytes.
        limit: u64,
        /// The setting that raises it, e.g. `HttpConfig::max_response_bytes`.
        setting: &'static str,
    },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether the same call may succeed if tried again later.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transient { .. } => true,
            Error::Api { status, .. } => cxkit_auth::retry::is_retryable_status(
                reqwest::StatusCode::from_u16(*status).unwrap_or(reqwest::StatusCode::OK),
            ),
            _ => false,
        }
    }

    /// Whether the user must log in again.
    pub fn is_reauth_required(&self) -> bool {
        matches!(self, Error::ReauthRequired { .. })
    }

    /// The HTTP status, when a response arrived.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            Error::Transient { status, .. } => *status,
            _ => None,
        }
    }

    /// Removes the exact values of `secrets` from every text this error carries. The facade
    /// calls it with the secrets it just sent (a password, an emailed code, a PAT, an API key,
    /// an LSID), since a server may echo a short one that no pattern recognises.
    pub(crate) fn without(self, secrets: &[&Secret]) -> Self {
        // As sent and as JSON escapes it (a body is written out again after redaction).
        let scrub = |mut text: String| {
            for secret in secrets {
                text = cxkit_auth::scrub_secret(&text, secret.expose());
            }
            text
        };
        match self {
            Error::ReauthRequired { reason } => Error::ReauthRequired {
                reason: scrub(reason),
            },
            Error::InvalidCredentials { message } => Error::InvalidCredentials {
                message: scrub(message),
            },
            Error::Transient { message, status } => Error::Transient {
                message: scrub(message),
                status,
            },
            Error::Config { message } => Error::Config {
                message: scrub(message),
            },
            Error::Api {
                status,
                message,
                body,
                request_id,
            } => Error::Api {
                status,
                message: message.map(scrub),
                body: scrub(body),
                request_id: request_id.map(scrub),
            },
            Error::Decode { message } => Error::Decode {
                message: scrub(message),
            },
            other @ Error::ResponseTooLarge { .. } => other,
        }
    }

    /// The explanation without the variant's own lead-in ("the session is over …"), for
    /// wrapping into another error without repeating it.
    pub(crate) fn detail(&self) -> String {
        match self {
            Error::ReauthRequired { reason } => reason.clone(),
            Error::InvalidCredentials { message }
            | Error::Transient { message, .. }
            | Error::Config { message }
            | Error::Decode { message } => message.clone(),
            other => other.to_string(),
        }
    }

    /// For a call that sent credentials (login, code exchange, password change): the server
    /// answering one of `refusal_statuses`, or 401, refused what was just sent, so the error is
    /// [`Error::InvalidCredentials`] (with `default_message` when the server gave none), not an
    /// API error or an expired session.
    #[cfg_attr(
        not(any(feature = "ejento", feature = "platform28")),
        allow(
            dead_code,
            reason = "only the Ejento and Platform28 logins send credentials"
        )
    )]
    pub(crate) fn into_refused_credentials(
        self,
        refusal_statuses: &[u16],
        default_message: &str,
    ) -> Self {
        match self {
            Error::Api {
                status, message, ..
            } if refusal_statuses.contains(&status) => Error::InvalidCredentials {
                message: message.unwrap_or_else(|| default_message.to_owned()),
            },
            Error::ReauthRequired { reason } => Error::InvalidCredentials { message: reason },
            other => other,
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::Config {
            message: message.into(),
        }
    }

    pub(crate) fn reauth(reason: impl Into<String>) -> Self {
        Error::ReauthRequired {
            reason: reason.into(),
        }
    }

    pub(crate) fn decode(error: &serde_json::Error) -> Self {
        Error::Decode {
            message: describe_json_error(error),
        }
    }

    /// An error answer, with its body redacted and truncated.
    #[cfg_attr(not(feature = "ejento"), allow(dead_code))]
    pub(crate) fn api(status: u16, body: &[u8]) -> Self {
        Self::api_answer(status, None, body)
    }

    /// An error answer, with its body redacted (patterns, then the value of every live
    /// [`Secret`]) and truncated. A 401 is [`Error::ReauthRequired`]: a 401 that refused static
    /// keys never arrives here as an answer (the hooks end such a call in
    /// [`cxkit_auth::hooks::StaticCredentialRejected`], see [`Error::transport`]).
    pub(crate) fn api_answer(
        status: u16,
        headers: Option<&reqwest::header::HeaderMap>,
        body: &[u8],
    ) -> Self {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let message = parsed.as_ref().and_then(vendor_message);
        // Live secrets go first, from each string as the server meant it (before patterns
        // could cut one apart, and before re-serialization escapes a `"` or `\` in it), and
        // again from the text written.
        let body = match parsed {
            Some(mut value) => {
                redact_json(&mut value);
                truncate(&scrub_live_secrets(&value.to_string()))
            }
            None => truncate(&redact_text(&scrub_live_secrets(&String::from_utf8_lossy(
                body,
            )))),
        };
        if status == 401 {
            return Error::reauth(format!(
                "the server answered 401{}",
                message.map(|m| format!(" ({m})")).unwrap_or_default()
            ));
        }
        let request_id = headers.and_then(cxkit_auth::request_id::request_id);
        if cxkit_auth::retry::is_retryable_status(
            reqwest::StatusCode::from_u16(status).unwrap_or(reqwest::StatusCode::OK),
        ) {
            return Error::Transient {
                message: format!(
                    "the server answered {status}{}{}",
                    message.map(|m| format!(" ({m})")).unwrap_or_default(),
                    request_id
                        .map(|id| format!(" (request id {id})"))
                        .unwrap_or_default()
                ),
                status: Some(status),
            };
        }
        Error::Api {
            status,
            message,
            body,
            request_id,
        }
    }

    /// The error an answer stream's `error` event (or a failed `end`) reports: the server's
    /// text, redacted (live secrets, then anything that looks like a credential) and truncated
    /// like any error body. For applications that turn a [`crate::StreamEvent`] into an error
    /// themselves, as the `cxkit` command line does.
    pub fn stream_reported(message: Option<&str>) -> Self {
        Error::Api {
            status: 200,
            message: Some(
                message
                    .map(server_text)
                    .unwrap_or_else(|| "the stream reported an error".into()),
            ),
            body: String::new(),
            request_id: None,
        }
    }

    /// The error of a hand-written call whose request failed in transit, or whose answer's
    /// body could not be read (a broken connection, a timeout, a body past the size limit):
    /// what a call sent through [`cxkit_auth::SendRaw::send_raw`] (or any `reqwest` call)
    /// reports. The error's URL and source chain are left out (either may name a secret); the
    /// hooks' own typed failures in the chain are recognised (a refused static key is
    /// [`Error::InvalidCredentials`], a body past the limit [`Error::ResponseTooLarge`], a
    /// followed redirect [`Error::Config`]); anything else is [`Error::Transient`], or
    /// [`Error::Config`] for a request that could not be built.
    pub fn from_transport(error: &reqwest::Error) -> Self {
        Self::transport(error)
    }

    /// The error of a hand-written call answered with an error status: the vendor's message
    /// (`message` or `detail`) and the body, both redacted (every live [`Secret`], then
    /// anything that looks like a credential) and truncated, and the request id from
    /// `headers`. A 401 is [`Error::ReauthRequired`], a status worth retrying
    /// [`Error::Transient`], anything else [`Error::Api`].
    pub fn from_answer(status: u16, headers: &reqwest::header::HeaderMap, body: &[u8]) -> Self {
        Self::api_answer(status, Some(headers), body)
    }

    /// [`Error::from_answer`] for an answer whose body is still unread: at most 64 KiB of it is
    /// read, within the default [`crate::HttpConfig::body_timeout`] (what arrived by then is
    /// kept), so an error answer can neither make the caller buffer without bound nor, by
    /// trickling bytes, hold it.
    pub async fn from_response(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = read_capped(response, crate::http::DEFAULT_BODY_TIMEOUT).await;
        Self::api_answer(status, Some(&headers), &body)
    }

    /// Maps a transport error without its URL or source chain (both may name secrets).
    pub(crate) fn transport(error: &reqwest::Error) -> Self {
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            if let Some(rejected) =
                cause.downcast_ref::<cxkit_auth::hooks::StaticCredentialRejected>()
            {
                return Error::static_key_refused(rejected);
            }
            if let Some(too_large) = cause.downcast_ref::<cxkit_auth::hooks::BodyTooLarge>() {
                return Error::ResponseTooLarge {
                    limit: too_large.limit,
                    setting: "HttpConfig::max_response_bytes",
                };
            }
            if let Some(redirect) = cause.downcast_ref::<cxkit_auth::hooks::RedirectFollowed>() {
                return Error::config(redirect.to_string());
            }
            source = cause.source();
        }
        let what = if error.is_timeout() {
            "the request timed out"
        } else if error.is_connect() {
            "could not connect to the server"
        } else if error.is_body() || error.is_decode() {
            "the connection broke while reading the answer"
        } else if error.is_builder() {
            return Error::config("the request could not be built (check the base URL)");
        } else {
            "the request failed in transit"
        };
        Error::Transient {
            message: what.to_owned(),
            status: error.status().map(|s| s.as_u16()),
        }
    }
}

impl Error {
    /// A refused static key ([`cxkit_auth::hooks::StaticCredentialRejected`]): the vendor's
    /// explanation from the answer's body, redacted like any error body.
    fn static_key_refused(rejected: &cxkit_auth::hooks::StaticCredentialRejected) -> Self {
        let message = serde_json::from_slice::<Value>(rejected.body())
            .ok()
            .as_ref()
            .and_then(vendor_message);
        Error::InvalidCredentials {
            message: format!(
                "the server answered {}{}; check the personal access token or API key",
                rejected.status().as_u16(),
                message.map(|m| format!(" ({m})")).unwrap_or_default()
            ),
        }
    }
}

impl From<cxkit_auth::SendError> for Error {
    /// Maps the failure of a call sent through [`cxkit_auth::SendRaw::send_raw`].
    fn from(error: cxkit_auth::SendError) -> Self {
        match error {
            cxkit_auth::SendError::Auth(error) => error.into(),
            cxkit_auth::SendError::Transport(error) => Error::transport(&error),
            // `SendError` may grow; whatever it carries names no secret, but its text may be
            // a transport error's, so only its kind is kept.
            _ => Error::Transient {
                message: "the request failed".into(),
                status: None,
            },
        }
    }
}

impl From<AuthError> for Error {
    fn from(e: AuthError) -> Self {
        let message = e.message().to_owned();
        match e.kind() {
            AuthErrorKind::ReauthRequired => Error::ReauthRequired { reason: message },
            AuthErrorKind::InvalidCredentials => Error::InvalidCredentials { message },
            AuthErrorKind::Transient => Error::Transient {
                message,
                status: None,
            },
            _ => Error::Config { message },
        }
    }
}

impl<E: serde::Serialize> From<progenitor_client::Error<E>> for Error {
    /// Maps a generated client's error. Use `?` (or `.map_err(cxkit::Error::from)`) on every
    /// generated call: the generated error's own `Display` prints URLs and whole bodies.
    fn from(error: progenitor_client::Error<E>) -> Self {
        use progenitor_client::Error as G;
        match error {
            G::InvalidRequest(m) => Error::config(format!("invalid request: {m}")),
            G::CommunicationError(e) | G::InvalidUpgrade(e) | G::ResponseBodyError(e) => {
                Error::transport(&e)
            }
            G::ErrorResponse(rv) => {
                let status = rv.status().as_u16();
                let body = serde_json::to_vec(rv.as_ref()).unwrap_or_default();
                Error::api_answer(status, Some(rv.headers()), &body)
            }
            G::InvalidResponsePayload(_, e) => Error::decode(&e),
            G::UnexpectedResponse(r) => {
                Error::api_answer(r.status().as_u16(), Some(r.headers()), b"")
            }
            G::Custom(m) => match AuthError::from_hook_message(&m) {
                Some(auth) => auth.into(),
                None => Error::config(m),
            },
        }
    }
}

impl Error {
    /// Like `From`, but reads the body of an answer whose status the spec does not list
    /// (progenitor leaves it unread), so the vendor's message is kept; at most 64 KiB is read,
    /// for at most the default [`crate::HttpConfig::body_timeout`].
    pub async fn from_generated<E: serde::Serialize>(error: progenitor_client::Error<E>) -> Error {
        match error {
            progenitor_client::Error::UnexpectedResponse(response) => {
                Error::from_response(response).await
            }
            other => other.into(),
        }
    }
}

/// A generated call's value, or its error mapped by [`Error::from_generated`].
pub(crate) async fn checked<T, E: serde::Serialize>(
    answer: std::result::Result<progenitor_client::ResponseValue<T>, progenitor_client::Error<E>>,
) -> Result<T> {
    match answer {
        Ok(value) => Ok(value.into_inner()),
        Err(e) => Err(Error::from_generated(e).await),
    }
}

/// Reads at most 64 KiB of an error body within `deadline` (see
/// [`crate::HttpConfig::body_timeout`]): enough for any error message, and an error answer can
/// neither make the client buffer gigabytes nor, by trickling bytes, hold the call. What arrived
/// before the deadline is kept.
pub(crate) async fn read_capped(mut response: reqwest::Response, deadline: Duration) -> Vec<u8> {
    const CAP: usize = 64 * 1024;
    let mut body = Vec::new();
    let read = async {
        while let Ok(Some(chunk)) = response.chunk().await {
            body.extend_from_slice(&chunk[..chunk.len().min(CAP - body.len())]);
            if body.len() >= CAP {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(deadline, read).await;
    body
}

/// Reads a whole (already size-limited) answer body within `deadline`: the answer to a call
/// that had no total deadline (a streamed upload). Past it, [`Error::Transient`].
#[cfg(any(feature = "ejento", feature = "proto-developer"))]
pub(crate) async fn read_whole(
    response: reqwest::Response,
    deadline: Duration,
) -> Result<bytes::Bytes> {
    let status = response.status().as_u16();
    match tokio::time::timeout(deadline, response.bytes()).await {
        Ok(read) => read.map_err(|e| Error::transport(&e)),
        Err(_) => Err(Error::Transient {
            message: format!(
                "the answer's body did not arrive whole within {deadline:?} \
                 (HttpConfig::body_timeout)"
            ),
            status: Some(status),
        }),
    }
}

/// Describes a JSON error by kind and position only: serde_json's own text quotes the
/// offending value, which may be a token.
fn describe_json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let kind = match e.classify() {
        Category::Io => "an I/O error",
        Category::Syntax => "malformed JSON",
        Category::Data => "JSON of an unexpected shape",
        Category::Eof => "JSON that ends too early",
    };
    format!("{kind} at line {} column {}", e.line(), e.column())
}

/// The vendor's own explanation: `message`, or FastAPI's `detail` (a string or a list of
/// `{msg}`), redacted.
pub(crate) fn vendor_message(value: &Value) -> Option<String> {
    let text = match (value.get("message"), value.get("detail")) {
        (Some(Value::String(m)), _) if !m.is_empty() => m.clone(),
        (_, Some(Value::String(d))) => d.clone(),
        (_, Some(Value::Array(items))) => items
            .iter()
            .filter_map(|i| i.get("msg").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("; "),
        _ => return None,
    };
    (!text.is_empty()).then(|| server_text(&text))
}

/// A server's free text, fit for an error: live secrets removed (before the patterns, which
/// could cut one apart), anything that looks like a credential redacted, and truncated.
fn server_text(text: &str) -> String {
    truncate(&redact_text(&scrub_live_secrets(text)))
}

const MAX_BODY: usize = 512;

fn truncate(text: &str) -> String {
    if text.len() <= MAX_BODY {
        return text.to_owned();
    }
    let mut end = MAX_BODY;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
}

/// Replaces the value of every key that looks like it holds a secret, every live secret in
/// the remaining strings (and keys), and anything that looks like a credential in them. FastAPI's
/// validation errors echo the offending request value under `input` (a password, say), so
/// `input` is always replaced too. Strings are scrubbed as decoded, before anything writes them
/// out again (which would escape a secret's `"`, `\` or control characters).
pub(crate) fn redact_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.keys().any(|k| scrub_live_secrets(k) != *k) {
                *map = std::mem::take(map)
                    .into_iter()
                    .map(|(k, v)| (scrub_live_secrets(&k), v))
                    .collect();
            }
            for (key, child) in map.iter_mut() {
                if (cxkit_auth::redact::is_sensitive_name(key) || key == "input")
                    && !child.is_null()
                {
                    *child = Value::String(cxkit_auth::redact::REDACTED.into());
                } else {
                    redact_json(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        Value::String(text) => *text = redact_text(&scrub_live_secrets(text)),
        _ => {}
    }
}

/// Replaces anything in free text that looks like a credential: a JWT, or any word of 16 or
/// more token characters that mixes letters and digits (API keys, Fernet tokens, LSIDs, UUIDs).
/// A server that echoes a token in its error message must not get it printed.
pub(crate) fn redact_text(text: &str) -> String {
    let token_char = |c: char| c.is_ascii_alphanumeric() || "-_=+/.~".contains(c);
    text.split_inclusive(char::is_whitespace)
        .map(|word| {
            let start = word.find(token_char).unwrap_or(word.len());
            let end = word.rfind(token_char).map_or(start, |i| i + 1).max(start);
            let core = &word[start..end];
            let jwt = core.matches('.').count() == 2 && core.len() > 30;
            let mixed = core.len() >= 16
                && core.chars().all(token_char)
                && core.chars().any(|c| c.is_ascii_digit())
                && core.chars().any(|c| c.is_ascii_alphabetic());
            if jwt || mixed {
                format!(
                    "{}{}{}",
                    &word[..start],
                    cxkit_auth::redact::REDACTED,
                    &word[end..]
                )
            } else {
                word.to_owned()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_redact_and_extract_the_vendor_message() {
        let body =
            br#"{"success":false,"message":"nope","data":{"access_token":"canary-1","n":1}}"#;
        let e = Error::api(400, body);
        let text = format!("{e} {e:?}");
        assert!(!text.contains("canary-1"), "{text}");
        assert!(text.contains("nope"));
        assert!(matches!(e, Error::Api { status: 400, .. }));
    }

    #[test]
    fn without_scrubs_short_echoed_secrets_everywhere() {
        let pw = Secret::new("hunter2");
        let e = Error::api(
            400,
            br#"{"detail":"wrong password hunter2","input":"x","note":"hunter2"}"#,
        )
        .without(&[&pw]);
        let text = format!("{e} {e:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("wrong password REDACTED"), "{text}");
        let e = Error::InvalidCredentials {
            message: "bad hunter2".into(),
        }
        .without(&[&pw, &Secret::new("")]);
        assert_eq!(e.to_string(), "the credentials were rejected: bad REDACTED");
    }

    /// A live secret with a quote, a backslash or a control character, echoed under a field
    /// whose name says nothing: JSON re-serialization escapes it, so scrubbing the written text
    /// alone would miss it.
    #[test]
    fn live_secrets_that_json_escapes_never_survive() {
        for value in [
            "pw\"quoted-9f",
            "pw\\back-9f",
            "pw\nline-9f",
            "pw\u{1}ctl-9f",
        ] {
            let secret = Secret::new(value);
            let body = serde_json::json!({"note": format!("got {value} here"), value: 1});
            let e = Error::api(400, body.to_string().as_bytes());
            let escaped = serde_json::to_string(value).unwrap();
            let escaped = &escaped[1..escaped.len() - 1];
            for out in [e.to_string(), format!("{e:?}")] {
                assert!(!out.contains(value) && !out.contains(escaped), "{out}");
            }
            // Not JSON: the raw text.
            let e = Error::api(500, format!("oops {value}!").as_bytes());
            let text = format!("{e} {e:?}");
            assert!(!text.contains(value) && !text.contains(escaped), "{text}");
            // A short secret the caller just sent, through `without`.
            let short = Secret::new("a\"b");
            let Error::Api { body, .. } = Error::api(400, br#"{"note":"a\"b"}"#).without(&[&short])
            else {
                panic!("an API error");
            };
            assert_eq!(body, r#"{"note":"REDACTED"}"#);
            drop(secret);
        }
    }

    /// The public constructors a hand-written call reports through: a secret in the URL of a
    /// failed request never reaches the error, and an answer's body is redacted (patterns and
    /// live secrets) while the vendor's message and the request id are kept.
    #[tokio::test]
    async fn the_public_constructors_redact_as_the_generated_mapping_does() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

        cxkit_auth::tls::ensure_crypto_provider();
        let key = Secret::new("live-key-0d5e7f");
        let url = format!(
            "http://127.0.0.1:9/x/{}?api_key=QueryKey0123456789",
            key.expose()
        );
        let failed = reqwest::Client::new().get(&url).send().await.unwrap_err();
        let e = Error::from_transport(&failed);
        let text = format!("{e} {e:?}");
        assert!(matches!(e, Error::Transient { .. }), "{text}");
        assert!(
            !text.contains(key.expose()) && !text.contains("QueryKey"),
            "{text}"
        );

        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-request-id", "req-7".parse().unwrap());
        let body = format!(
            r#"{{"message":"bad key {} here","access_token":"tok-secret","note":"sk0123456789abcdefXYZ"}}"#,
            key.expose()
        );
        let e = Error::from_answer(403, &headers, body.as_bytes());
        let text = format!("{e} {e:?}");
        assert!(matches!(e, Error::Api { status: 403, .. }), "{text}");
        assert!(
            text.contains("bad key REDACTED here") && text.contains("req-7"),
            "{text}"
        );
        for secret in [key.expose(), "tok-secret", "sk0123456789abcdefXYZ"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(Error::from_answer(401, &headers, b"").is_reauth_required());
        assert!(Error::from_answer(503, &headers, b"").is_retryable());

        // The same through an unread answer, read by `from_response`.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let answer = format!(
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 1024];
            let _ = socket.read(&mut request).await;
            socket.write_all(answer.as_bytes()).await.unwrap();
        });
        let response = reqwest::get(format!("http://{address}/")).await.unwrap();
        let e = Error::from_response(response).await;
        let text = format!("{e} {e:?}");
        assert!(matches!(e, Error::Api { status: 400, .. }), "{text}");
        assert!(text.contains("bad key REDACTED here"), "{text}");
        assert!(
            !text.contains(key.expose()) && !text.contains("tok-secret"),
            "{text}"
        );
    }

    #[test]
    fn status_classes_map_to_what_the_caller_may_do() {
        assert!(Error::api(401, b"{}").is_reauth_required());
        assert!(Error::api(503, b"").is_retryable());
        assert!(!Error::api(404, b"").is_retryable());
    }

    #[test]
    fn fastapi_detail_lists_are_joined() {
        let e = Error::api(
            422,
            br#"{"detail":[{"msg":"field required"},{"msg":"bad email"}]}"#,
        );
        assert_eq!(
            e.to_string(),
            "the API answered 422: field required; bad email"
        );
    }

    #[test]
    fn json_errors_keep_only_the_position() {
        let err = serde_json::from_str::<u32>(r#""canary-jwt-value""#).unwrap_err();
        let text = Error::decode(&err).to_string();
        assert!(!text.contains("canary"), "{text}");
        assert!(text.contains("line 1"));
    }

    #[test]
    fn free_text_tokens_are_redacted_and_long_bodies_truncated() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(
            redact_text(&format!("bad token {jwt} here")),
            "bad token REDACTED here"
        );
        let long = "x ".repeat(1000);
        assert!(truncate(&long).ends_with("(2000 bytes in all)"));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn jwt_like() -> impl Strategy<Value = String> {
            (
                "[A-Za-z0-9_-]{10,30}",
                "[A-Za-z0-9_-]{10,40}",
                "[A-Za-z0-9_-]{10,30}",
            )
                .prop_map(|(a, b, c)| format!("eyJ{a}.eyJ{b}.{c}"))
        }

        fn key_like() -> impl Strategy<Value = String> {
            "[a-z]{4,10}[0-9]{2,6}[A-Za-z0-9]{10,20}"
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn redaction_never_panics(text in "\\PC{0,200}", body in proptest::collection::vec(any::<u8>(), 0..300), status in 100u16..600) {
                let _ = redact_text(&text);
                let e = Error::api(status, &body);
                let _ = (e.to_string(), format!("{e:?}"));
            }

            #[test]
            fn planted_credentials_never_survive(
                before in "[a-z ,.:]{0,40}",
                after in "[a-z ,.:]{0,40}",
                token in prop_oneof![jwt_like(), key_like()],
                key in prop::sample::select(vec!["message", "detail", "note", "data"]),
                status in prop::sample::select(vec![400u16, 401, 403, 404, 409, 422, 500, 503]),
            ) {
                let text = format!("{before} {token} {after}");
                prop_assert!(!redact_text(&text).contains(&token));
                let body = serde_json::json!({ key: text, "access_token": token }).to_string();
                let e = Error::api(status, body.as_bytes());
                for out in [e.to_string(), format!("{e:?}")] {
                    prop_assert!(!out.contains(&token), "{out}");
                }
            }

            #[test]
            fn live_secrets_never_survive_an_error(
                before in "\\PC{0,60}",
                after in "\\PC{0,60}",
                value in "[a-z]{3}-[a-z0-9]{3,12}",
                status in 400u16..600,
                as_json in any::<bool>(),
            ) {
                let secret = Secret::new(format!("Qx{value}"));
                let planted = format!("{before}{}{after}", secret.expose());
                let body = if as_json {
                    serde_json::json!({ "message": planted }).to_string()
                } else {
                    planted
                };
                let e = Error::api(status, body.as_bytes());
                for out in [e.to_string(), format!("{e:?}")] {
                    prop_assert!(!out.contains(secret.expose()), "{out}");
                }
            }
        }
    }
}
