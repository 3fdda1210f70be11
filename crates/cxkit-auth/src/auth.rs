//! The auth handle: progenitor's inner type for every generated client.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, OnceLock};
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

/// How long the hooks read an answer body they read whole themselves by default (see
/// [`AuthBuilder::body_timeout`]): a minute, for an error text of a few kilobytes.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(60);

impl Default for Auth {
    /// No credentials and the default retry policy; like [`AuthBuilder::build`], it makes sure
    /// a rustls crypto provider is installed, so the generated `Client::new` can build its
    /// HTTP client.
    fn default() -> Self {
        Auth::builder().build()
    }
}

struct Inner {
    /// By scheme name, sorted (looked up by binary search; a [`Slot`] names one by position).
    credentials: Vec<(Cow<'static, str>, Credential)>,
    retry: RetryPolicy,
    budget: RetryBudget,
    api_version: Option<Cow<'static, str>>,
    /// `api_version` as a header value, built once (`None` when it is not a valid one).
    api_version_value: Option<HeaderValue>,
    server: Option<Option<Cow<'static, str>>>,
    /// What callers know the client bound to a host as (see [`AuthBuilder::client_for`]).
    clients_for: Vec<(Option<Cow<'static, str>>, Cow<'static, str>)>,
    max_response_bytes: u64,
    total_timeout: Option<Duration>,
    client_timeout: Option<Duration>,
    body_timeout: Duration,
    /// Secrets that travel as path segments (see [`AuthBuilder::path_secret`]).
    path_secrets: Vec<crate::Secret>,
    plans: PlanCache,
    /// Where the hooks report spans and metrics, if anywhere.
    #[cfg(feature = "otel")]
    telemetry: Option<crate::telemetry::HandleTelemetry>,
}

impl Default for Inner {
    fn default() -> Self {
        Inner {
            credentials: Vec::new(),
            retry: RetryPolicy::default(),
            budget: RetryBudget::default(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            total_timeout: None,
            client_timeout: None,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            api_version: None,
            api_version_value: None,
            server: None,
            clients_for: Vec::new(),
            path_secrets: Vec::new(),
            plans: PlanCache::default(),
            #[cfg(feature = "otel")]
            telemetry: None,
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field(
                "schemes",
                &self
                    .inner
                    .credentials
                    .iter()
                    .map(|(scheme, _)| scheme)
                    .collect::<Vec<_>>(),
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

/// What [`crate::hooks::authorize`] applies to one operation, resolved once per handle: the
/// handle's credentials and the generated tables never change, so neither does the answer.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// The `X-API-Version` value to send ([`Auth::api_version_value`]); `None`: none.
    pub(crate) api_version: Option<HeaderValue>,
    /// The credentials of the chosen `security` alternative ([`Auth::alternative`]).
    slots: Box<[Slot]>,
}

/// One credential of a [`Plan`]: the handle's credential at this position, and where it goes.
#[derive(Clone, Copy, Debug)]
struct Slot {
    credential: usize,
    placement: Placement,
}

impl Plan {
    /// The plan's credentials, in the handle `auth` the plan was made for.
    pub(crate) fn credentials<'a>(&self, auth: &'a Auth) -> impl Iterator<Item = Chosen<'a>> {
        self.slots.iter().map(|slot| {
            let credential = &auth.inner.credentials[slot.credential].1;
            Chosen {
                placement: slot.placement,
                name: credential.name.as_deref().unwrap_or(slot.placement.name()),
                credential,
            }
        })
    }
}

/// The plans of one API's operations, indexed like its table.
#[derive(Debug)]
struct Plans {
    api: ApiKey,
    operations: Box<[OnceLock<Plan>]>,
}

impl Plans {
    fn new(api: &ApiSecurity) -> Self {
        Plans {
            api: ApiKey::of(api),
            operations: api.operations.iter().map(|_| OnceLock::new()).collect(),
        }
    }
}

/// What identifies an [`ApiSecurity`]: the addresses of its `'static` tables, which are never
/// reused (a copy of a table's value, on the stack or anywhere, has the same ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ApiKey {
    operations: (usize, usize),
    schemes: (usize, usize),
}

impl ApiKey {
    fn of(api: &ApiSecurity) -> Self {
        ApiKey {
            operations: (api.operations.as_ptr() as usize, api.operations.len()),
            schemes: (api.schemes.as_ptr() as usize, api.schemes.len()),
        }
    }
}

/// A handle's plans, per API, without a lock: a chain of slots, each claimed by the first API
/// that finds it free and never changing hands; a new API adds a slot (one allocation, once).
/// A handle usually serves one API, or a few (one spec served on two hosts), so the common
/// look-up is the first slot or two, as cheap as a fixed array and allocation-free. The chain
/// stops at [`MAX_PLANNED_APIS`] slots (APIs past it, which only a program making tables at run
/// time could reach, have their plans worked out on every call), so it cannot grow without
/// bound.
#[derive(Debug, Default)]
struct PlanCache {
    plans: OnceLock<Plans>,
    next: OnceLock<Box<PlanCache>>,
}

/// The longest [`PlanCache`] chain: far more APIs than any program has generated clients.
const MAX_PLANNED_APIS: usize = 64;

impl PlanCache {
    /// The plans of `api`: the slot it claimed before, or the first free one, or `None` when
    /// the chain is full.
    fn of(&self, api: &ApiSecurity) -> Option<&Plans> {
        let key = ApiKey::of(api);
        let mut slot = self;
        for depth in 1..=MAX_PLANNED_APIS {
            let plans = slot.plans.get_or_init(|| Plans::new(api));
            if plans.api == key {
                return Some(plans);
            }
            if depth == MAX_PLANNED_APIS {
                break;
            }
            slot = slot.next.get_or_init(Box::default);
        }
        None
    }

    /// How many APIs have plans kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        let mut count = 0;
        let mut slot = Some(self);
        while let Some(here) = slot {
            count += usize::from(here.plans.get().is_some());
            slot = here.next.get().map(|b| &**b);
        }
        count
    }
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
        let client = self
            .inner
            .clients_for
            .iter()
            .find(|(server, _)| server.as_deref() == operation.server)
            .map(|(_, client)| format!(" ({client})"))
            .unwrap_or_default();
        Err(AuthError::config(format!(
            "{}: operation `{}` lives on the `{there}` host, but this client is bound to the \
             `{here}` host; call it through the client for that host{client}",
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

    /// How long the hooks read an answer body they read whole themselves (see
    /// [`AuthBuilder::body_timeout`]).
    pub fn body_timeout(&self) -> Duration {
        self.inner.body_timeout
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
        self.inner
            .credentials
            .binary_search_by(|(name, _)| name.as_ref().cmp(scheme))
            .ok()
            .map(|at| &self.inner.credentials[at].1)
    }

    /// The plan for the operation at `position` in `api`'s table (see [`Plan`]): once resolved,
    /// found without a lock or a comparison of names. An operation that cannot be served (no
    /// credential for it, another host, a bad version) is an error, worked out every time.
    pub(crate) fn plan(
        &self,
        api: &ApiSecurity,
        position: usize,
    ) -> Result<Cow<'_, Plan>, AuthError> {
        let plans = self.inner.plans.of(api);
        let operation = api.operations.get(position).ok_or_else(|| {
            AuthError::config(format!(
                "{}: no operation at position {position} of the generated table",
                api.api
            ))
        })?;
        let Some(cell) = plans.and_then(|plans| plans.operations.get(position)) else {
            return self.resolve(api, operation).map(Cow::Owned);
        };
        if let Some(plan) = cell.get() {
            return Ok(Cow::Borrowed(plan));
        }
        let plan = self.resolve(api, operation)?;
        Ok(Cow::Borrowed(cell.get_or_init(|| plan)))
    }

    /// Works out a [`Plan`] (the slow path of [`Auth::plan`]).
    #[cold]
    #[inline(never)]
    fn resolve(&self, api: &ApiSecurity, operation: &OperationDef) -> Result<Plan, AuthError> {
        self.check_server(api, operation)?;
        let api_version = match self.api_version_value(operation) {
            Some(Ok(value)) => Some(value),
            Some(Err(version)) => {
                return Err(AuthError::config(format!(
                    "the API version `{version}` is not a valid header value; use MAJOR.MINOR, \
                     e.g. `2.0`"
                )));
            }
            None => None,
        };
        let slots = self
            .alternative(api, operation)?
            .iter()
            .map(|scheme| self.slot(api, operation, scheme))
            .collect::<Result<_, AuthError>>()?;
        let plan = Plan { api_version, slots };
        Ok(plan)
    }

    /// The first alternative of `operation`'s `security` whose schemes all have a credential
    /// (an empty alternative, or an empty `security`, needs none): the credentials a
    /// [`Plan`] holds.
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

    /// The credential of one scheme of a chosen [`Auth::alternative`] (by its position), and
    /// where the spec places it.
    fn slot(
        &self,
        api: &ApiSecurity,
        operation: &OperationDef,
        scheme: &str,
    ) -> Result<Slot, AuthError> {
        let credential = self
            .inner
            .credentials
            .binary_search_by(|(name, _)| name.as_ref().cmp(scheme))
            .map_err(|_| {
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
        Ok(Slot {
            credential,
            placement: def.placement,
        })
    }

    /// The secrets this handle's calls carry as path segments ([`AuthBuilder::path_secret`]),
    /// scrubbed from every URL an answer or error could print.
    pub fn path_secrets(&self) -> &[crate::Secret] {
        &self.inner.path_secrets
    }

    /// The handle's telemetry, if it reports any.
    #[cfg(feature = "otel")]
    pub(crate) fn telemetry(&self) -> Option<&crate::telemetry::HandleTelemetry> {
        self.inner.telemetry.as_ref()
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
    clients_for: Vec<(Option<Cow<'static, str>>, Cow<'static, str>)>,
    max_response_bytes: Option<u64>,
    total_timeout: Option<Duration>,
    client_timeout: Option<Duration>,
    body_timeout: Option<Duration>,
    path_secrets: Vec<crate::Secret>,
    #[cfg(feature = "otel")]
    telemetry: Option<crate::telemetry::Telemetry>,
    #[cfg(feature = "otel")]
    propagate_to: Vec<crate::telemetry::Origin>,
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

    /// Names the client that serves the operations of `server` (`None`: the spec's default
    /// host) as the application knows it, e.g. the accessor that returns it; the error of an
    /// operation called through a handle bound to another host ([`AuthBuilder::server`]) then
    /// says which client to use instead.
    pub fn client_for(
        mut self,
        server: Option<impl Into<Cow<'static, str>>>,
        client: impl Into<Cow<'static, str>>,
    ) -> Self {
        self.clients_for
            .push((server.map(Into::into), client.into()));
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

    /// How long the hooks may read an answer body they read whole themselves, within the call's
    /// own deadline if it has one (default [`DEFAULT_BODY_TIMEOUT`]): the explanation of a
    /// refused static key ([`crate::hooks::StaticCredentialRejected`]), which may be the answer
    /// to a streamed call that has no deadline. A server trickling bytes cannot hold it longer;
    /// what arrived by then is kept.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = Some(timeout);
        self
    }

    /// A secret this handle's calls put into URL paths as a path parameter (Platform28's
    /// session id, which may be the login session id itself): every path segment holding it is
    /// scrubbed from the URLs of answers and errors, whatever its length (the process-wide
    /// registry ignores values shorter than [`crate::MIN_REGISTERED_LEN`]).
    pub fn path_secret(mut self, secret: crate::Secret) -> Self {
        if !secret.is_empty() {
            self.path_secrets.push(secret);
        }
        self
    }

    /// Reports every call's spans and metrics to `telemetry` (see [`crate::telemetry`]).
    #[cfg(feature = "otel")]
    pub fn telemetry(mut self, telemetry: crate::telemetry::Telemetry) -> Self {
        self.telemetry = Some(telemetry);
        self
    }

    /// Sends the W3C `traceparent` header of each attempt's span on requests to the origin
    /// (scheme, host and port) of `base`, and to no other: call it once per base URL the
    /// application configured. Without a [`AuthBuilder::telemetry`] it does nothing.
    #[cfg(feature = "otel")]
    pub fn propagate_trace_context_to(mut self, base: &url::Url) -> Self {
        if let Some(origin) = crate::telemetry::Origin::of(base)
            && !self.propagate_to.contains(&origin)
        {
            self.propagate_to.push(origin);
        }
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
                // Sorted already: a map's order.
                credentials: self.credentials.into_iter().collect(),
                retry: self.retry,
                budget: self.budget.map(RetryBudget::new).unwrap_or_default(),
                api_version_value: self
                    .api_version
                    .as_deref()
                    .and_then(|v| HeaderValue::from_str(v).ok()),
                api_version: self.api_version,
                server: self.server,
                clients_for: self.clients_for,
                max_response_bytes: self
                    .max_response_bytes
                    .unwrap_or(DEFAULT_MAX_RESPONSE_BYTES),
                total_timeout: self.total_timeout,
                client_timeout: self.client_timeout,
                body_timeout: self.body_timeout.unwrap_or(DEFAULT_BODY_TIMEOUT),
                path_secrets: self.path_secrets,
                plans: PlanCache::default(),
                #[cfg(feature = "otel")]
                telemetry: self
                    .telemetry
                    .map(|telemetry| crate::telemetry::HandleTelemetry {
                        telemetry,
                        propagate_to: self.propagate_to,
                    }),
            }),
            options: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use reqwest::Request;

    use super::*;
    use crate::{SchemeDef, Secret, hooks};

    /// A table of two operations (sorted by id, as generated): `get_thing`, which needs scheme
    /// `key`, placed in the header `header`, and `get_other`, which needs a scheme no handle here
    /// has (a `'static` table made at run time, as a generated one is).
    fn table(header: &'static str) -> &'static ApiSecurity {
        let schemes: &'static [SchemeDef] = Box::leak(Box::new([SchemeDef {
            name: "key",
            placement: Placement::Header(header),
        }]));
        let operations: &'static [OperationDef] = Box::leak(Box::new([
            OperationDef {
                id: "get_other",
                method: "GET",
                path: "/other",
                security: &[&["missing"]],
                idempotent: true,
                handwritten: false,
                api_version: None,
                server: None,
            },
            OperationDef {
                id: "get_thing",
                method: "GET",
                path: "/thing",
                security: &[&["key"]],
                idempotent: true,
                handwritten: false,
                api_version: Some("2.0"),
                server: None,
            },
        ]));
        Box::leak(Box::new(ApiSecurity {
            api: header,
            schemes,
            operations,
            index: &[],
        }))
    }

    async fn authorized(auth: &Auth, api: &ApiSecurity, id: &str) -> Result<Request, AuthError> {
        let mut request = Request::new(
            reqwest::Method::GET,
            "https://example.test/thing".parse().unwrap(),
        );
        hooks::authorize(auth, api, &mut request, id).await?;
        Ok(request)
    }

    /// One handle, more APIs than it keeps plans for: each call still gets its own table's
    /// placement, whether its plan is kept or worked out anew, first time or tenth.
    #[tokio::test]
    async fn every_api_gets_its_own_plan_past_the_kept_ones() {
        let auth = Auth::builder()
            .credential("key", Credential::fixed(Secret::new("s3cret")))
            .build();
        let mut headers = vec!["x-a", "x-b", "x-c", "x-d", "x-e", "x-f"];
        // Past the longest chain too.
        headers.extend((0..MAX_PLANNED_APIS).map(|i| &*format!("x-more-{i}").leak()));
        assert!(headers.len() > MAX_PLANNED_APIS);
        let tables: Vec<_> = headers.iter().map(|h| table(h)).collect();
        for _ in 0..3 {
            for (api, header) in tables.iter().zip(headers.iter().copied()) {
                let request = authorized(&auth, api, "get_thing").await.unwrap();
                assert_eq!(request.headers()[header], "s3cret");
                assert_eq!(request.headers()["x-api-version"], "2.0");
                let others = headers.iter().filter(|h| **h != header);
                for other in others {
                    assert!(
                        request.headers().get(*other).is_none(),
                        "{other} on {header}"
                    );
                }
            }
        }
    }

    /// The plans a handle keeps grow with the APIs it serves: no number of APIs is built in
    /// (the plans of a fifth API were once worked out on every call), and a table's copy or a
    /// second call claims no new slot.
    #[tokio::test]
    async fn a_handle_keeps_the_plans_of_every_api_it_serves() {
        let auth = Auth::builder()
            .credential("key", Credential::fixed(Secret::new("s3cret")))
            .build();
        let tables: Vec<_> = ["x-1", "x-2", "x-3", "x-4", "x-5", "x-6", "x-7"]
            .iter()
            .map(|h| table(h))
            .collect();
        for _ in 0..2 {
            for api in &tables {
                let copy = **api;
                authorized(&auth, &copy, "get_thing").await.unwrap();
            }
        }
        assert_eq!(auth.inner.plans.len(), tables.len());
    }

    /// An operation of another host is refused naming the client for that host only as the
    /// layer above named it ([`AuthBuilder::client_for`]): this crate knows no such client.
    #[tokio::test]
    async fn a_wrong_host_names_the_client_only_as_told() {
        let api: &'static ApiSecurity = Box::leak(Box::new(ApiSecurity {
            api: "hosts",
            schemes: &[],
            operations: &[OperationDef {
                id: "elsewhere",
                method: "GET",
                path: "/elsewhere",
                security: &[],
                idempotent: true,
                handwritten: false,
                api_version: None,
                server: Some("other"),
            }],
            index: &[],
        }));
        let bound = || Auth::builder().server(None::<&'static str>);
        let plain = authorized(&bound().build(), api, "elsewhere")
            .await
            .unwrap_err();
        assert!(plain.to_string().contains("`other` host"), "{plain}");
        assert!(!plain.to_string().contains('('), "{plain}");
        let told = bound()
            .client_for(Some("other"), "`App::other()`")
            .client_for(None::<&'static str>, "`App::main()`")
            .build();
        let told = authorized(&told, api, "elsewhere").await.unwrap_err();
        assert!(told.to_string().ends_with("(`App::other()`)"), "{told}");
    }

    /// A copy of a table's value (its tables are the same `'static` ones) is the same API.
    #[tokio::test]
    async fn a_copy_of_a_table_is_the_same_api() {
        let auth = Auth::builder()
            .credential(
                "key",
                Credential::fixed(Secret::new("s3cret")).named("x-renamed"),
            )
            .build();
        let api = table("x-key");
        let copy = *api;
        for table in [api, &copy, api] {
            let request = authorized(&auth, table, "get_thing").await.unwrap();
            assert_eq!(request.headers()["x-renamed"], "s3cret");
            assert!(request.headers().get("x-key").is_none());
        }
    }

    /// An operation the handle cannot serve is refused every time, and does not spoil the
    /// plans of the operations it can.
    #[tokio::test]
    async fn an_operation_without_its_credential_is_refused_every_time() {
        let auth = Auth::builder()
            .credential("key", Credential::fixed(Secret::new("s3cret")))
            .build();
        let api = table("x-key");
        for _ in 0..2 {
            let error = authorized(&auth, api, "get_other").await.unwrap_err();
            assert!(error.to_string().contains("`get_other`"), "{error}");
            let request = authorized(&auth, api, "get_thing").await.unwrap();
            assert_eq!(request.headers()["x-key"], "s3cret");
            let error = authorized(&auth, api, "no_such_operation")
                .await
                .unwrap_err();
            assert!(
                error.to_string().contains("cargo xtask generate"),
                "{error}"
            );
        }
    }

    /// A handle's views share its plans, and each still applies its own per-call headers.
    #[tokio::test]
    async fn views_share_the_plans_and_keep_their_options() {
        let auth = Auth::builder()
            .credential("key", Credential::fixed(Secret::new("s3cret")))
            .api_version("2.1")
            .build();
        let api = table("x-key");
        let view = auth.with_options(CallOptions::new().header("x-tag", "view"));
        let plain = authorized(&auth, api, "get_thing").await.unwrap();
        let viewed = authorized(&view, api, "get_thing").await.unwrap();
        assert!(plain.headers().get("x-tag").is_none());
        assert_eq!(viewed.headers()["x-tag"], "view");
        for request in [plain, viewed] {
            assert_eq!(request.headers()["x-key"], "s3cret");
            assert_eq!(request.headers()["x-api-version"], "2.1");
        }
    }
}
