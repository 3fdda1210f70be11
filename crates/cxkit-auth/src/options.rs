//! Per-call options: one mechanism for a timeout, a retry policy, an idempotency key and extra
//! headers on a single call (or a few), without touching the session's other calls.
//!
//! Options ride on the [`Auth`] handle: [`Auth::with_options`] returns a view that shares the
//! credentials, token caches and retry budget, and carries the options the hooks apply. Every
//! generated client has a `with_options` method built on it, and the facade's sessions have
//! one for their hand-written calls (SSE, upload, …).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::{Auth, AuthError, RetryPolicy};

/// The header [`CallOptions::idempotency_key`] sends.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// Options for the calls made through one view of a client.
///
/// ```
/// use std::time::Duration;
/// use cxkit_auth::CallOptions;
///
/// // A quick lookup: fail fast, never retry.
/// let lookup = CallOptions::new().timeout(Duration::from_millis(50)).no_retry();
/// // A POST the server deduplicates: safe to retry with the same key.
/// let create = CallOptions::new().idempotency_key("order-7f3a").header("x-tenant", "acme");
/// # let _ = (lookup, create);
/// ```
///
/// - **timeout**: the deadline of the whole call — every attempt, the waits between them and
///   reading the whole answer. It replaces the client-wide total timeout for the call, and,
///   unlike that one, it also bounds streamed calls: an answer stream (SSE) or a download must
///   end, and an upload must be sent and answered, within it. A stream cut off by it ends with
///   a transient timeout error. (The time to the first byte stays bounded by the client's read
///   timeout, and the gap between events by the stream idle timeout.)
/// - **retry**: replaces the client's retry policy for the call; [`CallOptions::no_retry`]
///   makes exactly one attempt.
/// - **idempotency key**: sends `Idempotency-Key: <key>` and lets the call be retried on a
///   transient failure even when the operation is not idempotent (a POST), with the same key on
///   every attempt, so the server can recognise a repeat. A streamed body (an upload) is never
///   re-sent, key or not.
/// - **headers**: sent with the call. Values are marked sensitive (HTTP/2 does not index them)
///   and never appear in `Debug` output or logs; only the names do. A credential the call
///   carries in a header wins over an extra header of the same name, and the headers the hooks
///   manage (`Authorization`, `X-API-Version`, `Idempotency-Key`) and the framing headers
///   (`Host`, `Content-Length`, `Transfer-Encoding`, `Connection`) cannot be set this way: the
///   call fails with a configuration error naming the header.
///
/// An invalid header name or value is reported when the call is made, as a configuration error
/// (the builder stays infallible, like `reqwest::RequestBuilder`).
#[derive(Clone, Default)]
pub struct CallOptions {
    pub(crate) timeout: Option<Duration>,
    pub(crate) retry: Option<RetryPolicy>,
    pub(crate) idempotency_key: Option<HeaderValue>,
    pub(crate) headers: HeaderMap,
    pub(crate) error: Option<Arc<str>>,
}

impl fmt::Debug for CallOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallOptions")
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field(
                "idempotency_key",
                &self.idempotency_key.as_ref().map(|_| "<set>"),
            )
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("error", &self.error)
            .finish()
    }
}

/// Headers the hooks set themselves, or that frame the message: an extra header may not
/// replace them.
const RESERVED: &[&str] = &[
    "authorization",
    "x-api-version",
    IDEMPOTENCY_KEY_HEADER,
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
];

impl CallOptions {
    /// No options: the client's own timeout and retry policy.
    pub fn new() -> Self {
        CallOptions::default()
    }

    /// The deadline of the whole call, retries and the whole answer included (streams too; see
    /// the type's documentation).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Retries transient failures by `policy` instead of the client's policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Makes one attempt only, whatever the client's retry policy.
    pub fn no_retry(self) -> Self {
        self.retry(RetryPolicy::never())
    }

    /// Sends `Idempotency-Key: key` and makes the call retryable even when its operation is not
    /// idempotent; every attempt carries the same key.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        let key = key.into();
        match HeaderValue::from_str(&key) {
            Ok(mut value) if !key.is_empty() => {
                value.set_sensitive(true);
                self.idempotency_key = Some(value);
            }
            _ => self.fail(
                "the idempotency key is empty or not a valid header value; use visible ASCII, \
                 e.g. a UUID"
                    .to_owned(),
            ),
        }
        self
    }

    /// Sends an extra header with the call (its value is treated as sensitive). A second call
    /// with the same name adds another value.
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        let name = name.as_ref();
        let Ok(header) = HeaderName::from_bytes(name.as_bytes()) else {
            self.fail(format!("`{name}` is not a valid HTTP header name"));
            return self;
        };
        if RESERVED.contains(&header.as_str()) {
            self.fail(format!(
                "the `{header}` header is managed by cxkit and cannot be set per call{}",
                if header.as_str() == IDEMPOTENCY_KEY_HEADER {
                    "; use `CallOptions::idempotency_key`"
                } else {
                    ""
                }
            ));
            return self;
        }
        match HeaderValue::from_str(value.as_ref()) {
            Ok(mut value) => {
                value.set_sensitive(true);
                self.headers.append(header, value);
            }
            // The value is not named: it may be a secret.
            Err(_) => self.fail(format!(
                "the value of the `{header}` header is not a valid header value (visible ASCII \
                 only, no line breaks)"
            )),
        }
        self
    }

    /// The per-call deadline, if any.
    pub fn get_timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The per-call retry policy, if any.
    pub fn get_retry(&self) -> Option<&RetryPolicy> {
        self.retry.as_ref()
    }

    /// Whether an idempotency key is set.
    pub fn has_idempotency_key(&self) -> bool {
        self.idempotency_key.is_some()
    }

    /// Keeps the first problem; the call reports it.
    fn fail(&mut self, message: String) {
        if self.error.is_none() {
            self.error = Some(message.into());
        }
    }

    /// These options with `other`'s on top: `other`'s timeout, retry policy and idempotency key
    /// win where set, and its headers replace headers of the same name.
    pub fn merged(&self, other: &CallOptions) -> CallOptions {
        let mut merged = self.clone();
        merged.timeout = other.timeout.or(self.timeout);
        merged.retry = other.retry.clone().or_else(|| self.retry.clone());
        merged.idempotency_key = other
            .idempotency_key
            .clone()
            .or_else(|| self.idempotency_key.clone());
        for name in other.headers.keys() {
            merged.headers.remove(name);
        }
        for (name, value) in &other.headers {
            merged.headers.append(name.clone(), value.clone());
        }
        merged.error = self.error.clone().or_else(|| other.error.clone());
        merged
    }

    /// Applies the headers and the idempotency key to a request (before its credentials, so a
    /// credential header wins), or reports an invalid option.
    pub(crate) fn apply(&self, request: &mut reqwest::Request) -> Result<(), AuthError> {
        if let Some(error) = &self.error {
            return Err(AuthError::config(format!("invalid call options: {error}")));
        }
        let headers = request.headers_mut();
        for name in self.headers.keys() {
            headers.remove(name);
        }
        for (name, value) in &self.headers {
            headers.append(name.clone(), value.clone());
        }
        if let Some(key) = &self.idempotency_key {
            headers.insert(IDEMPOTENCY_KEY_HEADER, key.clone());
        }
        Ok(())
    }
}

/// A client that can make calls with [`CallOptions`]: every generated client implements it (by
/// a method of the same name, too, so no import is needed), and the facade's sessions offer the
/// same method.
pub trait WithOptions: Sized {
    /// A view of this client whose calls use `options`; it shares everything else (credentials,
    /// token caches, connection pool, retry budget). Options on a view that has options are
    /// merged, the new ones on top.
    fn with_options(&self, options: CallOptions) -> Self;
}

impl WithOptions for Auth {
    fn with_options(&self, options: CallOptions) -> Self {
        Auth::with_options(self, options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_names_headers_but_never_their_values() {
        let options = CallOptions::new()
            .header("x-tenant", "tenant-secret-value")
            .idempotency_key("key-secret-value")
            .timeout(Duration::from_secs(1));
        let text = format!("{options:?}");
        assert!(text.contains("x-tenant"), "{text}");
        assert!(!text.contains("tenant-secret-value"), "{text}");
        assert!(!text.contains("key-secret-value"), "{text}");
        assert!(options.headers.get("x-tenant").unwrap().is_sensitive());
    }

    #[test]
    fn bad_and_reserved_headers_fail_at_the_call_without_the_value() {
        let mut request =
            reqwest::Request::new(reqwest::Method::GET, "http://127.0.0.1/".parse().unwrap());
        for (options, needle) in [
            (CallOptions::new().header("bad name", "v"), "bad name"),
            (
                CallOptions::new().header("x-ok", "line\nbreak-secret"),
                "x-ok",
            ),
            (
                CallOptions::new().header("Authorization", "Bearer x"),
                "authorization",
            ),
            (
                CallOptions::new().header("Idempotency-Key", "k"),
                "CallOptions::idempotency_key",
            ),
            (CallOptions::new().idempotency_key(""), "idempotency key"),
        ] {
            let error = options.apply(&mut request).unwrap_err().to_string();
            assert!(error.contains(needle), "{error}");
            assert!(!error.contains("secret"), "{error}");
        }
    }

    #[test]
    fn merged_puts_the_new_options_on_top() {
        let base = CallOptions::new()
            .timeout(Duration::from_secs(9))
            .header("x-a", "1")
            .header("x-b", "1");
        let top = CallOptions::new().no_retry().header("x-b", "2");
        let merged = base.merged(&top);
        assert_eq!(merged.timeout, Some(Duration::from_secs(9)));
        assert_eq!(merged.retry, Some(RetryPolicy::never()));
        assert_eq!(merged.headers.get("x-a").unwrap(), "1");
        let b: Vec<_> = merged.headers.get_all("x-b").iter().collect();
        assert_eq!(b, ["2"]);
    }
}
