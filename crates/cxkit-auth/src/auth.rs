//! The auth handle: progenitor's inner type for every generated client.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderValue;

use crate::options::CallOptions;
use crate::retry::{RetryBudget, RetryPolicy};
use crate::{ApiSecurity, AuthError, Credential, OperationDef, Placement};

/// The credentials and retry policy a generated client applies through its hooks.
///
/// Cheap to clone (one `Arc`); every generated client built from the same handle shares its
/// credentials, token caches and retry budget. Its `Debug` names the configured schemes only.
///
/// [`Auth::with_options`] makes a view with per-call [`CallOptions`] on top; a handle without
/// options pays nothing for them (one `None` check per call).
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
    options: Option<Arc<CallOptions>>,
}

/// The largest JSON (or other non-streamed) response body read by default: 8 MiB, far above
/// any answer these APIs document, and small enough that a hostile server cannot exhaust memory.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 8 << 20;

impl Default for Auth {
    /// No credentials and the default retry policy; like [`AuthBuilder::build`], it makes sure
    /// a rustls crypto provider is installed, so the generated `Client::new` can build its
    /// HTTP client.
    fn default() -> Self {
        Auth::builder().build()
    }
}

struct Inner {
    credentials: BTreeMap<Cow<'static, str>, Credential>,
    retry: RetryPolicy,
    budget: RetryBudget,
    api_version: Option<Cow<'static, str>>,
    /// `api_version` as a header value, built once (`None` when it is not a valid one).
    api_version_value: Option<HeaderValue>,
    server: Option<Option<Cow<'static, str>>>,
    max_response_bytes: u64,
    total_timeout: Option<Duration>,
    client_timeout: Option<Duration>,
}

impl Default for Inner {
    fn default() -> Self {
        Inner {
            credentials: BTreeMap::new(),
            retry: RetryPolicy::default(),
            budget: RetryBudget::default(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            total_timeout: None,
            client_timeout: None,
            api_version: None,
            api_version_value: None,
            server: None,
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field(
                "schemes",
                &self.inner.credentials.keys().collect::<Vec<_>>(),
            )
            .field("retry", &self.inner.retry)
            .field("api_version", &self.inner.api_version)
            .field("max_response_bytes", &self.inner.max_response_bytes)
            .field("total_timeout", &self.inner.total_timeout)
            .field("options", &self.options)
            .finish()
    }
}

/// One credential chosen for a request, with the name it goes under.
#[derive(Clone, Debug)]
pub(crate) struct Chosen<'a> {
    pub(crate) placement: Placement,
    pub(crate) name: &'a str,
    pub(crate) credential: &'a Credential,
}

impl Auth {
    /// Starts a handle with no credentials and the default retry policy.
    pub fn builder() -> AuthBuilder {
        AuthBuilder::default()
    }

    /// A view of this handle whose calls use `options` (on top of the options this handle
    /// already has, if any). It shares the credentials, token caches and retry budget; the
    /// handle itself and its other views are unaffected. Cheap: two reference counts and the
    /// options themselves.
    pub fn with_options(&self, options: CallOptions) -> Auth {
        let options = match &self.options {
            Some(mine) => mine.merged(&options),
            None => options,
        };
        Auth {
            inner: self.inner.clone(),
            options: Some(Arc::new(options)),
        }
    }

    /// The per-call options of this view, if any.
    pub fn options(&self) -> Option<&CallOptions> {
        self.options.as_deref()
    }

    /// The retry policy: the view's per-call policy, else the handle's.
    pub fn retry_policy(&self) -> &RetryPolicy {
        self.options
            .as_ref()
            .and_then(|o| o.retry.as_ref())
            .unwrap_or(&self.inner.retry)
    }

    /// The `X-API-Version` value that replaces the spec's for every operation that sends one
    /// (see [`AuthBuilder::api_version`]).
    pub fn api_version(&self) -> Option<&str> {
        self.inner.api_version.as_deref()
    }

    /// The `X-API-Version` value to send with `operation`: the override, else the spec's;
    /// `None` for operations that opt out (legacy paths).
    pub fn api_version_for(&self, operation: &OperationDef) -> Option<&str> {
        operation
            .api_version
            .map(|spec| self.api_version().unwrap_or(spec))
    }

    /// The `X-API-Version` header value for `operation` ([`Auth::api_version_for`]), built
    /// without copying: the override's was built once, a spec value is static. `Err` carries a
    /// value that is not a valid header value.
    pub(crate) fn api_version_value(
        &self,
        operation: &OperationDef,
    ) -> Option<Result<HeaderValue, &str>> {
        let spec = operation.api_version?;
        Some(match &self.inner.api_version {
            Some(text) => self.inner.api_version_value.clone().ok_or(text.as_ref()),
            // Checked first: `from_static` panics on what it does not accept.
            None if spec
                .bytes()
                .all(|b| b == b'\t' || (0x20..0x7f).contains(&b)) =>
            {
                Ok(HeaderValue::from_static(spec))
            }
            None => Err(spec),
        })
    }

    /// Checks that `operation` lives on the host this handle is bound to (see
    /// [`AuthBuilder::server`]); an unbound handle serves every operation.
    pub(crate) fn check_server(
        &self,
        api: &ApiSecurity,
        operation: &OperationDef,
    ) -> Result<(), AuthError> {
        let Some(bound) = &self.inner.server else {
            return Ok(());
        };
        if bound.as_deref() == operation.server {
            return Ok(());
        }
        let here = bound.as_deref().unwrap_or("default");
        let there = operation.server.unwrap_or("default");
        Err(AuthError::config(format!(
            "{}: operation `{}` lives on the `{there}` host, but this client is bound to the \
             `{here}` host; call it through the client for that host (for Ejento's users API: \
             `Ejento::users()`)",
            api.api, operation.id
        )))
    }

    /// The largest non-streamed response body [`crate::hooks::exec`] lets through.
    pub fn max_response_bytes(&self) -> u64 {
        self.inner.max_response_bytes
    }

    /// The deadline of a whole non-streamed call (every attempt, body read included).
    pub fn total_timeout(&self) -> Option<Duration> {
        self.inner.total_timeout
    }

    /// The timeout the HTTP client applies to every request by itself (see
    /// [`AuthBuilder::client_timeout`]).
    pub fn client_timeout(&self) -> Option<Duration> {
        self.inner.client_timeout
    }

    /// The per-call deadline of this view ([`CallOptions::timeout`]), which also bounds
    /// streamed calls.
    pub fn call_timeout(&self) -> Option<Duration> {
        self.options.as_ref().and_then(|o| o.timeout)
    }

    pub(crate) fn budget(&self) -> &RetryBudget {
        &self.inner.budget
    }

    /// The credential configured for a scheme, if any.
    pub fn credential(&self, scheme: &str) -> Option<&Credential> {
        self.inner.credentials.get(scheme)
    }

    /// The credentials to apply to `operation`: the first alternative of its `security` whose
    /// schemes are all configured. An empty alternative (or an empty `security`) needs none.
    pub(crate) fn choose<'a>(
        &'a self,
        api: &ApiSecurity,
        operation: &OperationDef,
    ) -> Result<Vec<Chosen<'a>>, AuthError> {
        self.alternative(api, operation)?
            .iter()
            .map(|scheme| self.chosen(api, operation, scheme))
            .collect()
    }

    /// The first alternative of `operation`'s `security` whose schemes all have a credential:
    /// what [`Auth::choose`] resolves, found without allocating (the hooks walk it on every
    /// call).
    pub(crate) fn alternative(
        &self,
        api: &ApiSecurity,
        operation: &OperationDef,
    ) -> Result<&'static [&'static str], AuthError> {
        if operation.security.is_empty() {
            return Ok(&[]);
        }
        if let Some(alternative) = operation
            .security
            .iter()
            .find(|alternative| alternative.iter().all(|s| self.credential(s).is_some()))
        {
            return Ok(alternative);
        }
        let wanted: Vec<String> = operation
            .security
            .iter()
            .map(|alt| alt.join(" + "))
            .collect();
        Err(AuthError::config(format!(
            "{}: operation `{}` needs a credential for {}, and none is configured",
            api.api,
            operation.id,
            wanted.join(" or ")
        )))
    }

    /// The credential of one scheme of a chosen [`Auth::alternative`], with the name it goes
    /// under.
    pub(crate) fn chosen<'a>(
        &'a self,
        api: &ApiSecurity,
        operation: &OperationDef,
        scheme: &str,
    ) -> Result<Chosen<'a>, AuthError> {
        let credential = self.credential(scheme).ok_or_else(|| {
            AuthError::config(format!(
                "{}: operation `{}` has no credential for scheme `{scheme}`",
                api.api, operation.id
            ))
        })?;
        let def = api.scheme(scheme).ok_or_else(|| {
            AuthError::config(format!(
                "{}: operation `{}` names security scheme `{scheme}`, which the spec does not \
                 define; fix the spec and run `cargo xtask generate`",
                api.api, operation.id
            ))
        })?;
        Ok(Chosen {
            placement: def.placement,
            name: credential.name.as_deref().unwrap_or(def.placement.name()),
            credential,
        })
    }

    /// The names of URL parameters that carry a configured secret, for scrubbing.
    pub fn url_secret_names<'a>(&'a self, api: &ApiSecurity) -> Vec<&'a str> {
        self.inner
            .credentials
            .iter()
            .filter_map(|(scheme, credential)| {
                let def = api.scheme(scheme)?;
                def.placement
                    .in_url()
                    .then(|| credential.name.as_deref().unwrap_or(def.placement.name()))
            })
            .collect()
    }
}

/// Builds an [`Auth`].
#[derive(Default)]
pub struct AuthBuilder {
    credentials: BTreeMap<Cow<'static, str>, Credential>,
    retry: RetryPolicy,
    budget: Option<u32>,
    api_version: Option<Cow<'static, str>>,
    server: Option<Option<Cow<'static, str>>>,
    max_response_bytes: Option<u64>,
    total_timeout: Option<Duration>,
    client_timeout: Option<Duration>,
}

impl fmt::Debug for AuthBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthBuilder")
            .field("schemes", &self.credentials.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl AuthBuilder {
    /// Uses `credential` for the spec's security scheme named `scheme`.
    pub fn credential(
        mut self,
        scheme: impl Into<Cow<'static, str>>,
        credential: Credential,
    ) -> Self {
        self.credentials.insert(scheme.into(), credential);
        self
    }

    /// Replaces the retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Sets the retry budget's capacity (see [`RetryBudget`]).
    pub fn retry_budget(mut self, capacity: u32) -> Self {
        self.budget = Some(capacity);
        self
    }

    /// Sends `version` as `X-API-Version` instead of the version the spec was curated against,
    /// on every operation that sends the header (operations that opt out stay without it).
    /// For trying a newer minor version of the vendor's API before the spec is re-curated.
    pub fn api_version(mut self, version: impl Into<Cow<'static, str>>) -> Self {
        self.api_version = Some(version.into());
        self
    }

    /// Binds the handle to one host: `None` for the spec's default server, `Some(name)` for the
    /// operations marked `x-cxkit-server: <name>`. Operations of other hosts are then refused
    /// with a configuration error instead of being sent to the wrong host. Unbound (the default),
    /// the handle serves every operation on whatever base URL its client has.
    pub fn server(mut self, server: Option<impl Into<Cow<'static, str>>>) -> Self {
        self.server = Some(server.map(Into::into));
        self
    }

    /// The largest non-streamed response body to read (default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`]); a longer one fails with
    /// [`crate::hooks::BodyTooLarge`] in its error's source chain. Event streams and octet
    /// streams (by the request's `Accept`) are exempt: their readers bound them.
    pub fn max_response_bytes(mut self, limit: u64) -> Self {
        self.max_response_bytes = Some(limit);
        self
    }

    /// A deadline for a whole non-streamed call, retries and body read included (default:
    /// none). Streamed requests and responses are exempt: a long answer stream or a large
    /// upload is not a stalled call.
    pub fn total_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.total_timeout = timeout;
        self
    }

    /// Declares that the HTTP client the generated clients send through bounds every request by
    /// `timeout` itself (`reqwest::ClientBuilder::timeout`), as the client the `cxkit` facade
    /// builds does with its total timeout. The hooks then leave a request to the client's bound
    /// whenever it is the call's deadline (a first attempt), and set a request's own only where
    /// it must differ: a retry or replay gets what is left, a per-call timeout its value, and a
    /// streamed call, which no client-wide deadline bounds, has the client's lifted. Spares every
    /// call a request extension. Default: none (the hooks bound each request themselves).
    pub fn client_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.client_timeout = timeout;
        self
    }

    /// Finishes the handle.
    ///
    /// Also installs cxkit's rustls crypto provider unless one is installed
    /// ([`crate::tls::ensure_crypto_provider`]): a generated client's `Client::new` builds its
    /// own `reqwest::Client` from this handle, and reqwest needs a provider to do so.
    pub fn build(self) -> Auth {
        crate::tls::ensure_crypto_provider();
        Auth {
            inner: Arc::new(Inner {
                credentials: self.credentials,
                retry: self.retry,
                budget: self.budget.map(RetryBudget::new).unwrap_or_default(),
                api_version_value: self
                    .api_version
                    .as_deref()
                    .and_then(|v| HeaderValue::from_str(v).ok()),
                api_version: self.api_version,
                server: self.server,
                max_response_bytes: self
                    .max_response_bytes
                    .unwrap_or(DEFAULT_MAX_RESPONSE_BYTES),
                total_timeout: self.total_timeout,
                client_timeout: self.client_timeout,
            }),
            options: None,
        }
    }
}
