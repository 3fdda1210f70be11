//! The one HTTP client configuration every cxkit client shares.

use std::net::IpAddr;
use std::time::Duration;

use url::Url;

use crate::{Error, Result};

/// Timeouts, size limits and identity of the HTTP client, shared by every call.
///
/// A broken or hostile server cannot make a call run forever or grow memory without bound:
/// non-streamed calls have a total deadline ([`HttpConfig::total_timeout`], body read
/// included) and a body limit ([`HttpConfig::max_response_bytes`]); answer streams have an idle
/// limit between events and a size limit per event instead, since a long stream or a large file
/// is not a stalled call; but every answer body they read whole (the error answer to a stream,
/// the answer to an upload) has its own deadline ([`HttpConfig::body_timeout`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpConfig {
    /// How long connecting (TCP and TLS) may take.
    pub connect_timeout: Duration,
    /// How long the connection may stay silent while a response is awaited or read.
    pub read_timeout: Duration,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// The deadline of a whole non-streamed call: every attempt and retry, and reading the
    /// answer (`None`: no deadline; a server trickling bytes within the read timeout could then
    /// hold a call forever).
    pub total_timeout: Option<Duration>,
    /// The largest non-streamed answer read, in bytes; a longer one is
    /// [`crate::Error::ResponseTooLarge`].
    pub max_response_bytes: u64,
    /// How long an answer stream may go without an event (keep-alive comments do not count)
    /// before it ends in a transient error.
    pub stream_idle_timeout: Duration,
    /// The largest single event of an answer stream, in bytes; a longer one is
    /// [`crate::Error::ResponseTooLarge`].
    pub max_event_bytes: u64,
    /// How long reading a whole answer body may take where the call itself has no total
    /// deadline: the error answer to a streamed request (SSE), the answer to a streamed upload,
    /// the error body of an answer read for its message. A server trickling bytes within the
    /// read timeout cannot hold such a read longer; an error body cut off by it keeps what
    /// arrived, an upload's answer cut off by it is a transient error.
    pub body_timeout: Duration,
}

/// The default [`HttpConfig::body_timeout`]: an error message or an upload's answer is a few
/// kilobytes.
pub(crate) const DEFAULT_BODY_TIMEOUT: Duration = cxkit_auth::DEFAULT_BODY_TIMEOUT;

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            user_agent: concat!("cxkit/", env!("CARGO_PKG_VERSION")).to_owned(),
            // Generous for an agent answering without streaming; a call past it is stuck.
            total_timeout: Some(Duration::from_secs(300)),
            max_response_bytes: cxkit_auth::DEFAULT_MAX_RESPONSE_BYTES,
            stream_idle_timeout: Duration::from_secs(120),
            // An `end` event carries the whole answer and its references: 4 MiB is far above
            // any real one.
            max_event_bytes: 4 << 20,
            body_timeout: DEFAULT_BODY_TIMEOUT,
        }
    }
}

impl HttpConfig {
    /// An auth handle builder carrying this configuration's limits and `retry`, for a client
    /// that bounds every request by `client_timeout` itself (see [`crate::Config::http_client`]).
    pub(crate) fn auth_builder(
        &self,
        retry: &cxkit_auth::RetryPolicy,
        client_timeout: Option<Duration>,
    ) -> cxkit_auth::AuthBuilder {
        cxkit_auth::Auth::builder()
            .retry(retry.clone())
            .max_response_bytes(self.max_response_bytes)
            .total_timeout(self.total_timeout)
            .client_timeout(client_timeout)
            .body_timeout(self.body_timeout)
    }

    /// A `reqwest::ClientBuilder` set up as cxkit sets up its own client: rustls (ring unless
    /// the `aws-lc-rs` feature is on, installed as the process default first, see
    /// [`crate::ensure_crypto_provider`]), this configuration's connect and read timeouts and
    /// user agent, and no redirects followed (an API client should see a redirect, not chase it
    /// with credentials attached). No client-wide total timeout: for a client built from this
    /// one the hooks set it on each non-streamed call (the client cxkit builds for itself adds
    /// it with `.timeout`, and its hooks rely on that).
    ///
    /// Start from it to build a client of your own (a proxy, extra CA certificates, mutual
    /// TLS) for [`crate::ConfigBuilder::http_client`]:
    ///
    /// ```
    /// # fn demo() -> cxkit::Result<()> {
    /// use cxkit::{Config, HttpConfig};
    /// let http = HttpConfig::default();
    /// let client = http
    ///     .client_builder()
    ///     .default_headers(reqwest::header::HeaderMap::new()) // .proxy(..), .tls_certs_merge(..), .identity(..)
    ///     .build()
    ///     .expect("a client");
    /// let config = Config::builder().http(http).http_client(client).build()?;
    /// # let _ = config; Ok(()) }
    /// # demo().unwrap();
    /// ```
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        cxkit_auth::tls::ensure_crypto_provider();
        reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.read_timeout)
            .user_agent(&self.user_agent)
            .redirect(reqwest::redirect::Policy::none())
    }
}

/// Checks a base URL: https, or plain http only to a loopback address (tests and local
/// development). Returns it without a trailing slash, as the generated clients expect.
pub(crate) fn base_url(text: &str, what: &str) -> Result<String> {
    let url =
        Url::parse(text).map_err(|e| Error::config(format!("{what} is not a valid URL: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(Error::config(format!(
                "{what} uses plain http to a non-loopback host; tokens would travel unencrypted, so use https"
            )));
        }
        other => {
            return Err(Error::config(format!(
                "{what} has scheme `{other}`; use https"
            )));
        }
    }
    if url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(Error::config(format!(
            "{what} must not carry a query, fragment or credentials"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_to_loopback() {
        assert_eq!(
            base_url("https://api.example.com/", "x").unwrap(),
            "https://api.example.com"
        );
        assert_eq!(
            base_url("https://h/gateway/", "x").unwrap(),
            "https://h/gateway"
        );
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.9.9.9",
            "http://localhost:1",
            "http://[::1]:3000",
        ] {
            assert!(base_url(ok, "x").is_ok(), "{ok}");
        }
        for bad in [
            "http://example.com",
            "http://10.0.0.1",
            "ftp://h",
            "https://h/?apiKey=1",
            "https://u:p@h",
            "nonsense",
        ] {
            assert!(
                matches!(base_url(bad, "x"), Err(Error::Config { .. })),
                "{bad}"
            );
        }
    }
}
