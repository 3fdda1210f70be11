//! The one HTTP client configuration every cxkit client shares.

use std::net::IpAddr;
use std::time::Duration;

use url::Url;

use crate::{Error, Result};

/// Timeouts and identity of the HTTP client. There is deliberately no total timeout: it would
/// cut off long SSE streams and large uploads. A stalled connection is caught by the read
/// timeout instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpConfig {
    /// How long connecting (TCP and TLS) may take.
    pub connect_timeout: Duration,
    /// How long the connection may stay silent while a response is awaited or read.
    pub read_timeout: Duration,
    /// The `User-Agent` header.
    pub user_agent: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            user_agent: concat!("cxkit/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

impl HttpConfig {
    /// Builds the client: rustls (ring unless the `aws-lc-rs` feature is on), no redirects
    /// followed (an API client should see a redirect, not chase it with credentials attached),
    /// no total timeout.
    pub(crate) fn client(&self) -> Result<reqwest::Client> {
        cxkit_auth::tls::ensure_crypto_provider();
        reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.read_timeout)
            .user_agent(&self.user_agent)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                Error::config(format!(
                    "cannot build the HTTP client: {}",
                    Error::transport(&e)
                ))
            })
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
