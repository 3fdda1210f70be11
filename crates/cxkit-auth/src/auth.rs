//! The auth handle: progenitor's inner type for every generated client.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::retry::{RetryBudget, RetryPolicy};
use crate::{ApiSecurity, AuthError, Credential, OperationDef, Placement};

/// The credentials and retry policy a generated client applies through its hooks.
///
/// Cheap to clone (one `Arc`); every generated client built from the same handle shares its
/// credentials, token caches and retry budget. Its `Debug` names the configured schemes only.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

impl Default for Auth {
    /// No credentials and the default retry policy; like [`AuthBuilder::build`], it makes sure
    /// a rustls crypto provider is installed, so the generated `Client::new` can build its
    /// HTTP client.
    fn default() -> Self {
        Auth::builder().build()
    }
}

#[derive(Default)]
struct Inner {
    credentials: BTreeMap<Cow<'static, str>, Credential>,
    retry: RetryPolicy,
    budget: RetryBudget,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field(
                "schemes",
                &self.inner.credentials.keys().collect::<Vec<_>>(),
            )
            .field("retry", &self.inner.retry)
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

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
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
        if operation.security.is_empty() {
            return Ok(Vec::new());
        }
        'alternatives: for alternative in operation.security {
            let mut chosen = Vec::with_capacity(alternative.len());
            for scheme in *alternative {
                let Some(credential) = self.credential(scheme) else {
                    continue 'alternatives;
                };
                let def = api.scheme(scheme).ok_or_else(|| {
                    AuthError::config(format!(
                        "{}: operation `{}` names security scheme `{scheme}`, which the spec does \
                         not define; fix the spec and run `cargo xtask generate`",
                        api.api, operation.id
                    ))
                })?;
                let name = credential.name.as_deref().unwrap_or(def.placement.name());
                chosen.push(Chosen {
                    placement: def.placement,
                    name,
                    credential,
                });
            }
            return Ok(chosen);
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
            }),
        }
    }
}
