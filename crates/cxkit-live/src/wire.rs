//! The only way this crate sends anything: a GET. Every request is a [`GetRequest`], which
//! cannot be built for another method, and [`LiveClient::send`] is the one call that reaches the
//! network. A live check must never change a tenant's data.

use std::fmt;

use cxkit::Secret;
use reqwest::Method;

/// Why a request was not sent or failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum WireError {
    /// A method other than GET was asked for; nothing was sent.
    NotReadOnly {
        /// The refused method.
        method: Method,
    },
    /// The URL is not https (plain http is allowed to loopback only) or does not parse.
    BadUrl(String),
    /// The request failed on the way (connection, timeout, body).
    Transport(String),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::NotReadOnly { method } => write!(
                f,
                "refused to send {method}: the live check sends GET requests only"
            ),
            WireError::BadUrl(m) => write!(f, "{m}"),
            WireError::Transport(m) => write!(f, "the request failed: {m}"),
        }
    }
}

impl std::error::Error for WireError {}

/// A request the live check may send: GET, to a checked URL.
#[derive(Debug)]
pub struct GetRequest {
    url: url::Url,
    headers: Vec<(String, Secret)>,
}

impl GetRequest {
    /// A request for `method` on `url`; anything but GET is refused here, before a request
    /// exists.
    pub fn new(method: &Method, url: &str) -> Result<GetRequest, WireError> {
        if method != Method::GET {
            return Err(WireError::NotReadOnly {
                method: method.clone(),
            });
        }
        let url = checked_url(url)?;
        Ok(GetRequest {
            url,
            headers: Vec::new(),
        })
    }

    /// Adds a header whose value is a secret (never printed).
    pub fn secret_header(mut self, name: impl Into<String>, value: Secret) -> Self {
        self.headers.push((name.into(), value));
        self
    }

    /// The URL's path and query (no secrets are ever put in it).
    pub fn path(&self) -> &str {
        self.url.path()
    }
}

/// Plain http is refused except to loopback, as everywhere in cxkit.
pub fn checked_url(text: &str) -> Result<url::Url, WireError> {
    let url = url::Url::parse(text)
        .map_err(|e| WireError::BadUrl(format!("`{text}` is not a URL: {e}")))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(WireError::BadUrl(format!(
            "`{text}`: use https (plain http is allowed to loopback only)"
        ))),
    }
}

/// A response, read whole (live-check bodies are small lists and records).
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// The largest answer read, in bytes (live-check answers are lists and records; a server
/// sending more is broken or hostile, and is not read further).
pub const MAX_BODY_BYTES: u64 = 16 << 20;

/// Reads a body chunk by chunk, failing once it passes `cap` bytes (a declared longer length
/// fails before reading).
async fn read_capped(mut response: reqwest::Response, cap: u64) -> Result<Vec<u8>, WireError> {
    let too_large = || WireError::Transport(format!("the answer is longer than {cap} bytes"));
    if response.content_length().is_some_and(|n| n > cap) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| WireError::Transport(e.without_url().to_string()))?
    {
        if (body.len() + chunk.len()) as u64 > cap {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Sends [`GetRequest`]s, and nothing else.
#[derive(Debug, Clone)]
pub struct LiveClient {
    http: reqwest::Client,
}

impl LiveClient {
    /// A client with cxkit's default timeouts and no redirects (a redirect is reported as the
    /// operation's answer, not followed to a host the spec does not name).
    pub fn new() -> Result<LiveClient, WireError> {
        // cxkit's rustls has no process-wide crypto provider until one is installed, and a
        // `reqwest::Client` of our own panics without one.
        cxkit::ensure_crypto_provider();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .user_agent(concat!("cxkit-live/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| WireError::Transport(e.without_url().to_string()))?;
        Ok(LiveClient { http })
    }

    /// Sends one GET. The method is fixed here, not taken from the caller.
    pub async fn send(&self, request: GetRequest) -> Result<Answer, WireError> {
        let mut builder = self
            .http
            .request(Method::GET, request.url)
            .header(reqwest::header::ACCEPT, "application/json");
        for (name, value) in &request.headers {
            let mut header =
                reqwest::header::HeaderValue::from_str(value.expose()).map_err(|_| {
                    WireError::BadUrl(format!("the `{name}` value is not a valid header value"))
                })?;
            header.set_sensitive(true);
            builder = builder.header(name.as_str(), header);
        }
        let response = builder
            .send()
            .await
            .map_err(|e| WireError::Transport(e.without_url().to_string()))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = read_capped(response, MAX_BODY_BYTES).await?;
        Ok(Answer {
            status,
            content_type,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An endless answer (64 MiB here, four times the cap) ends in an error at the cap, not in
    /// a buffer as large as the server likes.
    #[tokio::test]
    async fn a_body_past_the_cap_is_an_error() {
        use cxkit_testkit::raw_tcp::{Endless, StreamServer};
        let server = StreamServer::start(Endless {
            content_type: "application/json",
            prefix: b"[".to_vec(),
            repeat: vec![b' '; 64 * 1024],
            every: std::time::Duration::ZERO,
            limit: Some(4 * MAX_BODY_BYTES),
        })
        .await;
        let client = LiveClient::new().unwrap();
        let request = GetRequest::new(&Method::GET, &format!("{}/x", server.base_url())).unwrap();
        let err = client.send(request).await.unwrap_err();
        assert!(
            matches!(&err, WireError::Transport(m) if m.contains("longer than")),
            "{err:?}"
        );
    }

    #[test]
    fn only_get_requests_can_be_built() {
        for method in [
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::HEAD,
            Method::OPTIONS,
        ] {
            let refused = GetRequest::new(&method, "http://127.0.0.1:9/x").unwrap_err();
            assert!(
                matches!(refused, WireError::NotReadOnly { .. }),
                "{method} must be refused"
            );
        }
        assert!(GetRequest::new(&Method::GET, "http://127.0.0.1:9/x").is_ok());
        assert!(GetRequest::new(&Method::GET, "http://example.com/x").is_err());
    }
}
