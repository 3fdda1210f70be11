//! One configuration shared by every cxkit client, in the spirit of aws-config's `SdkConfig`:
//! the HTTP client, its limits, the retry policy, the clock, the token store and the refresh
//! policy are set once and handed to [`crate::Ejento`], [`crate::Proto`] and
//! [`crate::Platform28`] builders, which keep only what belongs to their system (base URLs,
//! credentials, ids).

use std::sync::Arc;
use std::time::Duration;

use cxkit_auth::{Clock, RetryPolicy, SystemClock};

use crate::http::HttpConfig;
use crate::store::{MemoryTokenStore, TokenStore};
use crate::token::RefreshConfig;
use crate::{Error, Result};

/// The settings every client shares. Build it once with [`Config::builder`] and pass it to each
/// session builder's `config`; it is cheap to clone (one `Arc`), and every session built from
/// it (and every clone) uses the same HTTP client, so they share one connection pool.
///
/// ```
/// # fn demo() -> cxkit::Result<()> {
/// use std::time::Duration;
/// use cxkit::{Config, Ejento, HttpConfig, Proto, RetryPolicy, Secret};
/// let config = Config::builder()
///     .http(HttpConfig { user_agent: "myapp/1.0".into(), ..HttpConfig::default() })
///     .retry(RetryPolicy { max_attempts: 5, ..RetryPolicy::default() })
///     .pool_max_idle_per_host(8)
///     .pool_idle_timeout(Some(Duration::from_secs(30)))
///     .build()?;
/// let ejento = Ejento::builder().config(&config).base_url("https://gateway.example.com").build()?;
/// let proto = Proto::builder()
///     .config(&config)
///     .company_id("c")
///     .bot_id("b")
///     .personal_access_token(Secret::new("pat"))
///     .build()?;
/// # let _ = (ejento, proto); Ok(()) }
/// # demo().unwrap();
/// ```
#[derive(Clone)]
pub struct Config {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    supplied_client: bool,
    http: HttpConfig,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
    store: Option<Arc<dyn TokenStore>>,
    refresh: RefreshConfig,
    /// Where spans and metrics go (the `otel` feature), with the facade's own instruments.
    #[cfg(feature = "otel")]
    instruments: Option<Arc<crate::telemetry::Instruments>>,
    #[cfg(feature = "otel")]
    propagate_trace_context: bool,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

/// What a client is, without its `Debug`: a supplied client's default headers may hold an
/// application's own credentials, and a proxy's URL its password.
fn describe_client(supplied: bool) -> &'static str {
    if supplied {
        "reqwest::Client (supplied)"
    } else {
        "reqwest::Client (built by cxkit)"
    }
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("client", &describe_client(self.supplied_client))
            .field("http", &self.http)
            .field("retry", &self.retry)
            .field("clock", &self.clock)
            .field("store", &self.store)
            .field("refresh", &self.refresh)
            .finish()
    }
}

impl Config {
    /// Starts a configuration with cxkit's defaults.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// The HTTP client every session built from this configuration sends with: the one passed to
    /// [`ConfigBuilder::http_client`], or the one cxkit built. The one cxkit builds bounds every
    /// request by [`HttpConfig::total_timeout`] (`reqwest::ClientBuilder::timeout`), so the hooks
    /// need not set that bound on each call; they lift it for streams and shorten it for retries.
    pub fn http_client(&self) -> &reqwest::Client {
        &self.inner.client
    }

    /// The timeout the HTTP client applies to every request by itself: the total timeout for
    /// the client cxkit built, none for a supplied one (the hooks then bound each call).
    pub(crate) fn client_timeout(&self) -> Option<Duration> {
        if self.inner.supplied_client {
            None
        } else {
            self.inner.http.total_timeout
        }
    }

    /// Whether the HTTP client was supplied with [`ConfigBuilder::http_client`].
    pub fn has_supplied_client(&self) -> bool {
        self.inner.supplied_client
    }

    /// The timeouts, user agent and size limits.
    pub fn http(&self) -> &HttpConfig {
        &self.inner.http
    }

    /// How transient failures of idempotent calls are retried.
    pub fn retry(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// The wall clock token expiry is measured on.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The token store sessions share, if one was set (without one, each session keeps its
    /// tokens in a memory store of its own).
    pub fn store(&self) -> Option<&Arc<dyn TokenStore>> {
        self.inner.store.as_ref()
    }

    /// The store a new session uses: the shared one, or a fresh memory store of its own (so that
    /// two sessions of a store-less configuration never see each other's tokens).
    #[cfg_attr(not(feature = "ejento"), allow(dead_code))]
    pub(crate) fn session_store(&self) -> Arc<dyn TokenStore> {
        self.inner
            .store
            .clone()
            .unwrap_or_else(|| Arc::new(MemoryTokenStore::new()))
    }

    /// When tokens are refreshed ahead of expiry.
    pub fn refresh(&self) -> &RefreshConfig {
        &self.inner.refresh
    }

    /// The telemetry every client built from this configuration reports to, if any.
    #[cfg(feature = "otel")]
    pub fn telemetry(&self) -> Option<&crate::Telemetry> {
        self.inner.instruments.as_ref().map(|i| &i.telemetry)
    }

    /// Whether calls carry a W3C `traceparent` header to the base URLs the application
    /// configured ([`ConfigBuilder::propagate_trace_context`]).
    #[cfg(feature = "otel")]
    pub fn propagates_trace_context(&self) -> bool {
        self.inner.propagate_trace_context
    }

    #[cfg(feature = "otel")]
    #[cfg_attr(not(feature = "ejento"), allow(dead_code))]
    pub(crate) fn instruments(&self) -> Option<&Arc<crate::telemetry::Instruments>> {
        self.inner.instruments.as_ref()
    }

    /// Whether `self` and `other` are the same configuration (clones of one [`Config`]), and so
    /// share one HTTP client and connection pool.
    pub fn ptr_eq(&self, other: &Config) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The configuration a session builder given none uses: cxkit's defaults.
    pub(crate) fn resolve(config: Option<Config>) -> Result<Config> {
        match config {
            Some(config) => Ok(config),
            None => Config::builder().build(),
        }
    }
}

/// Connection-pool and HTTP/2 settings of the client cxkit builds; reqwest's defaults unless
/// set. The HTTP/2 ones exist with the `http2` feature (on by default).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Transport {
    pool_idle_timeout: Option<Option<Duration>>,
    pool_max_idle_per_host: Option<usize>,
    tcp_keepalive: Option<Option<Duration>>,
    http1_only: bool,
    #[cfg(feature = "http2")]
    http2_prior_knowledge: bool,
    #[cfg(feature = "http2")]
    http2_adaptive_window: Option<bool>,
    #[cfg(feature = "http2")]
    http2_keep_alive_interval: Option<Option<Duration>>,
    #[cfg(feature = "http2")]
    http2_keep_alive_timeout: Option<Duration>,
    #[cfg(feature = "http2")]
    http2_keep_alive_while_idle: Option<bool>,
}

impl Transport {
    fn apply(&self, mut builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        if let Some(timeout) = self.pool_idle_timeout {
            builder = builder.pool_idle_timeout(timeout);
        }
        if let Some(max) = self.pool_max_idle_per_host {
            builder = builder.pool_max_idle_per_host(max);
        }
        if let Some(keepalive) = self.tcp_keepalive {
            builder = builder.tcp_keepalive(keepalive);
        }
        if self.http1_only {
            builder = builder.http1_only();
        }
        #[cfg(feature = "http2")]
        if self.http2_prior_knowledge {
            builder = builder.http2_prior_knowledge();
        }
        #[cfg(feature = "http2")]
        if let Some(enabled) = self.http2_adaptive_window {
            builder = builder.http2_adaptive_window(enabled);
        }
        #[cfg(feature = "http2")]
        if let Some(interval) = self.http2_keep_alive_interval {
            builder = builder.http2_keep_alive_interval(interval);
        }
        #[cfg(feature = "http2")]
        if let Some(timeout) = self.http2_keep_alive_timeout {
            builder = builder.http2_keep_alive_timeout(timeout);
        }
        #[cfg(feature = "http2")]
        if let Some(enabled) = self.http2_keep_alive_while_idle {
            builder = builder.http2_keep_alive_while_idle(enabled);
        }
        builder
    }
}

/// Builds a [`Config`]. Every setting has a default; `build()` checks them and builds the HTTP
/// client (unless one is supplied).
pub struct ConfigBuilder {
    client: Option<reqwest::Client>,
    http: HttpConfig,
    transport: Transport,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
    store: Option<Arc<dyn TokenStore>>,
    refresh: RefreshConfig,
    #[cfg(feature = "otel")]
    telemetry: Option<crate::Telemetry>,
    #[cfg(feature = "otel")]
    propagate_trace_context: bool,
}

impl std::fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigBuilder")
            .field(
                "client",
                &self.client.as_ref().map(|_| describe_client(true)),
            )
            .field("http", &self.http)
            .field("transport", &self.transport)
            .field("retry", &self.retry)
            .field("clock", &self.clock)
            .field("store", &self.store)
            .field("refresh", &self.refresh)
            .finish()
    }
}

impl Default for ConfigBuilder {
    fn default() -> Self {
        ConfigBuilder {
            client: None,
            http: HttpConfig::default(),
            transport: Transport::default(),
            retry: RetryPolicy::default(),
            clock: Arc::new(SystemClock),
            store: None,
            refresh: RefreshConfig::default(),
            #[cfg(feature = "otel")]
            telemetry: None,
            #[cfg(feature = "otel")]
            propagate_trace_context: false,
        }
    }
}

impl ConfigBuilder {
    /// Sends with this HTTP client instead of one cxkit builds: for a proxy, extra CA
    /// certificates, mutual TLS, or a pool shared with the rest of the application.
    ///
    /// The client must not follow redirects: build it with
    /// `.redirect(reqwest::redirect::Policy::none())` (or start from
    /// [`HttpConfig::client_builder`], which does). A client that follows redirects would send a
    /// request's credentials on to wherever a server points it, so [`ConfigBuilder::build`]
    /// refuses it, and the hooks refuse any answer that arrives from another URL than the one
    /// asked. rustls needs a crypto provider before a client is built: call
    /// [`crate::ensure_crypto_provider`] first (`HttpConfig::client_builder` does), or reqwest
    /// panics.
    ///
    /// The supplied client keeps its own connect and read timeouts and user agent;
    /// [`HttpConfig`]'s limits (the total deadline, body and event sizes, stream idle timeout)
    /// still apply, as cxkit enforces them per call. The pool and HTTP/2 setters of this builder
    /// shape only a client cxkit builds, so combining them with this one is an error.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Timeouts, user agent and size limits.
    pub fn http(mut self, config: HttpConfig) -> Self {
        self.http = config;
        self
    }

    /// How transient failures of idempotent calls are retried.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The wall clock token expiry is measured on (tests pass a `ManualClock`).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Where sessions' tokens persist (default: each session in memory of its own). Sessions of
    /// one configuration share the store; [`crate::EjentoBuilder::session_name`] keeps several
    /// users' sessions apart in it.
    pub fn store(mut self, store: impl TokenStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// [`ConfigBuilder::store`] with a store already shared elsewhere.
    pub fn shared_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// When to refresh tokens ahead of expiry.
    pub fn refresh(mut self, config: RefreshConfig) -> Self {
        self.refresh = config;
        self
    }

    /// Reports every call's spans and metrics, the token refreshes and the streamed answers to
    /// `telemetry` (OpenTelemetry, by the semantic conventions; see [`crate::telemetry`]).
    /// Without it, nothing is reported.
    #[cfg(feature = "otel")]
    pub fn telemetry(mut self, telemetry: crate::Telemetry) -> Self {
        self.telemetry = Some(telemetry);
        self
    }

    /// Sends each attempt's W3C trace context (`traceparent`, `tracestate`) to the servers
    /// the application configured (each client's base URLs), and never to another host.
    /// Default: off. Needs [`ConfigBuilder::telemetry`].
    #[cfg(feature = "otel")]
    pub fn propagate_trace_context(mut self, on: bool) -> Self {
        self.propagate_trace_context = on;
        self
    }

    /// How long an idle pooled connection is kept (`None`: forever; reqwest's default: 90 s).
    pub fn pool_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.transport.pool_idle_timeout = Some(timeout);
        self
    }

    /// The most idle connections kept per host (reqwest's default: no limit).
    pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.transport.pool_max_idle_per_host = Some(max);
        self
    }

    /// TCP keep-alive probes on every connection, after `interval` of silence (`None`: off).
    pub fn tcp_keepalive(mut self, interval: Option<Duration>) -> Self {
        self.transport.tcp_keepalive = Some(interval);
        self
    }

    /// Speaks HTTP/1.1 only (no HTTP/2, even when the server offers it).
    pub fn http1_only(mut self) -> Self {
        self.transport.http1_only = true;
        self
    }

    /// Speaks HTTP/2 from the first byte, without negotiating (for servers known to speak it,
    /// including plain-http loopback ones).
    #[cfg(feature = "http2")]
    pub fn http2_prior_knowledge(mut self) -> Self {
        self.transport.http2_prior_knowledge = true;
        self
    }

    /// HTTP/2 adaptive flow-control windows (BDP estimation), instead of fixed ones.
    #[cfg(feature = "http2")]
    pub fn http2_adaptive_window(mut self, enabled: bool) -> Self {
        self.transport.http2_adaptive_window = Some(enabled);
        self
    }

    /// HTTP/2 keep-alive pings every `interval` (`None`: off), each answered within `timeout`
    /// or the connection is closed; `while_idle` also pings connections with no open stream.
    #[cfg(feature = "http2")]
    pub fn http2_keep_alive(
        mut self,
        interval: Option<Duration>,
        timeout: Duration,
        while_idle: bool,
    ) -> Self {
        self.transport.http2_keep_alive_interval = Some(interval);
        self.transport.http2_keep_alive_timeout = Some(timeout);
        self.transport.http2_keep_alive_while_idle = Some(while_idle);
        self
    }

    /// Checks the settings and builds the configuration (and its HTTP client, unless one was
    /// supplied).
    pub fn build(self) -> Result<Config> {
        #[cfg(feature = "http2")]
        if self.transport.http1_only && self.transport.http2_prior_knowledge {
            return Err(Error::config(
                "`http1_only` and `http2_prior_knowledge` contradict each other; choose one",
            ));
        }
        let supplied_client = self.client.is_some();
        let client = match self.client {
            Some(client) => {
                if self.transport != Transport::default() {
                    return Err(Error::config(
                        "the pool and HTTP/2 settings shape the client cxkit builds, and a client \
                         was supplied with `http_client`; set them on your own \
                         `reqwest::ClientBuilder` instead",
                    ));
                }
                if !follows_no_redirects(&client) {
                    return Err(Error::config(
                        "the supplied HTTP client may follow redirects, which would send \
                         credentials on to wherever a server points; build it with \
                         `.redirect(reqwest::redirect::Policy::none())` (or start from \
                         `HttpConfig::client_builder`)",
                    ));
                }
                client
            }
            None => self
                .transport
                .apply(match self.http.total_timeout {
                    Some(timeout) => self.http.client_builder().timeout(timeout),
                    None => self.http.client_builder(),
                })
                .build()
                .map_err(|e| {
                    Error::config(format!(
                        "cannot build the HTTP client: {}",
                        Error::transport(&e)
                    ))
                })?,
        };
        Ok(Config {
            inner: Arc::new(Inner {
                client,
                supplied_client,
                http: self.http,
                retry: self.retry,
                clock: self.clock,
                store: self.store,
                refresh: self.refresh,
                #[cfg(feature = "otel")]
                instruments: self
                    .telemetry
                    .map(|t| Arc::new(crate::telemetry::Instruments::new(t))),
                #[cfg(feature = "otel")]
                propagate_trace_context: self.propagate_trace_context,
            }),
        })
    }
}

/// Whether a client was built with `redirect::Policy::none()`.
///
/// reqwest offers no accessor for a client's redirect policy, but its `Debug` names the policy
/// whenever it is not the default (`redirect_policy: "Policy(None)"`; the default follows up to
/// ten redirects and is not named). Only that exact description is accepted: should a reqwest
/// upgrade change it, every supplied client is refused (the safe side) and the test
/// `a_supplied_client_without_redirects_is_accepted` fails. The description is only searched,
/// never printed (it lists the client's default headers).
fn follows_no_redirects(client: &reqwest::Client) -> bool {
    format!("{client:?}").contains(r#"redirect_policy: "Policy(None)""#)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_supplied_client_without_redirects_is_accepted() {
        let client = HttpConfig::default().client_builder().build().unwrap();
        let config = Config::builder().http_client(client).build().unwrap();
        assert!(config.has_supplied_client());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        assert!(follows_no_redirects(&client));
    }

    #[test]
    fn a_supplied_client_that_follows_redirects_is_refused() {
        crate::ensure_crypto_provider();
        for policy in [
            None,
            Some(reqwest::redirect::Policy::limited(3)),
            Some(reqwest::redirect::Policy::custom(|a| a.stop())),
        ] {
            let mut builder = reqwest::Client::builder();
            if let Some(policy) = policy {
                builder = builder.redirect(policy);
            }
            let error = Config::builder()
                .http_client(builder.build().unwrap())
                .build()
                .unwrap_err();
            assert!(
                matches!(&error, Error::Config { message } if message.contains("Policy::none()")),
                "{error}"
            );
        }
    }

    #[test]
    fn debug_never_shows_a_supplied_client_s_headers() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-app-key", "app-secret-0042".parse().unwrap());
        let client = HttpConfig::default()
            .client_builder()
            .default_headers(headers)
            .build()
            .unwrap();
        let builder = Config::builder().http_client(client);
        let shown = format!("{builder:?}");
        assert!(!shown.contains("app-secret-0042"), "{shown}");
        let config = builder.build().unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("app-secret-0042"), "{shown}");
        assert!(shown.contains("supplied"), "{shown}");
    }

    #[test]
    fn pool_settings_and_a_supplied_client_are_refused_together() {
        let client = HttpConfig::default().client_builder().build().unwrap();
        let error = Config::builder()
            .http_client(client)
            .pool_max_idle_per_host(4)
            .build()
            .unwrap_err();
        assert!(matches!(error, Error::Config { .. }), "{error}");
    }

    #[cfg(feature = "http2")]
    #[test]
    fn contradictory_http_versions_are_refused() {
        let error = Config::builder()
            .http1_only()
            .http2_prior_knowledge()
            .build()
            .unwrap_err();
        assert!(matches!(error, Error::Config { .. }), "{error}");
    }

    #[test]
    fn clones_share_one_configuration_and_a_store_less_one_gives_each_session_its_own() {
        let config = Config::builder()
            .pool_idle_timeout(Some(Duration::from_secs(5)))
            .http1_only()
            .build()
            .unwrap();
        let clone = config.clone();
        assert!(config.ptr_eq(&clone));
        assert!(!config.ptr_eq(&Config::builder().build().unwrap()));
        assert!(config.store().is_none());
        assert!(!Arc::ptr_eq(
            &config.session_store(),
            &config.session_store()
        ));
        let shared: Arc<dyn TokenStore> = Arc::new(MemoryTokenStore::new());
        let config = Config::builder()
            .shared_store(shared.clone())
            .build()
            .unwrap();
        assert!(Arc::ptr_eq(&config.session_store(), &shared));
    }
}
