//! What every handle over one generated client and one static credential shares (Proto's CRM,
//! its Developer API and its Messaging API): the client built from the shared [`Config`] with
//! its credential, per-call views, and the credential scrubbed from error text. A new API of
//! that kind writes its builder's own settings and its calls; this module is the rest.

use cxkit_auth::{Auth, Credential, Secret, WithOptions};

use crate::http::base_url;
use crate::{Config, Error, Result};

/// What differs between static-credential APIs: names for errors, the default base, the
/// security scheme the credential answers, and the generated client's constructor.
pub(crate) struct StaticApiKind<C> {
    /// The base URL as errors name it (`the Proto Messaging API base URL`).
    pub base_what: &'static str,
    /// The vendor's production base.
    pub default_base: &'static str,
    /// The spec's security scheme the credential is for.
    pub scheme: &'static str,
    /// The error when the credential is missing or empty (`no Proto personal access token`).
    pub missing_secret: &'static str,
    /// The generated client's `Client::new_with_client`.
    pub new_client: fn(&str, reqwest::Client, Auth) -> C,
}

/// A generated client with its static credential and the configuration it was built from.
#[derive(Clone)]
pub(crate) struct StaticApi<C> {
    pub client: C,
    pub config: Config,
    /// Kept to scrub it from error text, should a server echo it.
    pub secret: Secret,
}

impl<C> StaticApi<C> {
    /// Checks the base URL and the credential, resolves the configuration and builds the
    /// client with the credential as a static key (a refused one is
    /// [`Error::InvalidCredentials`], never a refresh).
    pub fn build(
        kind: &StaticApiKind<C>,
        base: Option<&str>,
        secret: Option<Secret>,
        config: Option<Config>,
    ) -> Result<Self> {
        let base = base_url(base.unwrap_or(kind.default_base), kind.base_what)?;
        let secret = secret
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::config(kind.missing_secret))?;
        let config = Config::resolve(config)?;
        let auth = config
            .http()
            .auth_builder(config.retry(), config.client_timeout())
            .credential(kind.scheme, Credential::static_key(secret.clone()));
        let auth = crate::telemetry::attach(auth, &config, &[&base]).build();
        Ok(StaticApi {
            client: (kind.new_client)(&base, config.http_client().clone(), auth),
            config,
            secret,
        })
    }

    /// A generated call's value, or its error (undocumented bodies read) with the credential
    /// scrubbed from its text.
    pub async fn checked<T, E: serde::Serialize>(
        &self,
        answer: std::result::Result<
            progenitor_client::ResponseValue<T>,
            progenitor_client::Error<E>,
        >,
    ) -> Result<T> {
        crate::error::checked(answer)
            .await
            .map_err(|e| e.without(&[&self.secret]))
    }
}

impl<C: WithOptions + Clone> StaticApi<C> {
    /// The same API whose calls use `options`.
    pub fn with_options(&self, options: crate::CallOptions) -> Self {
        StaticApi {
            client: self.client.with_options(options),
            ..self.clone()
        }
    }
}

impl<C: progenitor_client::ClientInfo<Auth>> StaticApi<C> {
    /// The handle's fields for its `Debug`: the base URL, the (redacted) credential and the
    /// configuration, never the HTTP client (an application's may carry default headers).
    pub fn debug_fields<'a, 'b>(
        &self,
        f: &'a mut std::fmt::DebugStruct<'a, 'b>,
    ) -> &'a mut std::fmt::DebugStruct<'a, 'b> {
        f.field("base_url", &self.client.baseurl())
            .field("secret", &self.secret)
            .field("config", &self.config)
    }
}

/// A required, non-empty id from a builder, or the configuration error `missing`.
pub(crate) fn required_id(id: Option<String>, missing: &str) -> Result<String> {
    id.filter(|s| !s.is_empty())
        .ok_or_else(|| Error::config(missing))
}

/// The public accessors every static-credential handle has (`config`, `with_options`,
/// `client`), for a handle `$handle { inner: Arc<$inner> }` whose `$inner` has an `api:
/// StaticApi<$client>` field and derives `Clone`.
macro_rules! static_handle_accessors {
    ($handle:ident, $inner:ident, $client:ty) => {
        impl $handle {
            /// The configuration this handle was built with (shared with every client built
            /// from it).
            pub fn config(&self) -> &$crate::Config {
                &self.inner.api.config
            }

            /// A view of this handle whose calls (wrapped, generated and hand-written) use
            /// `options` (see [`crate::CallOptions`]); the handle's other calls are unaffected.
            pub fn with_options(&self, options: $crate::CallOptions) -> $handle {
                $handle {
                    inner: ::std::sync::Arc::new($inner {
                        api: self.inner.api.with_options(options),
                        ..$inner::clone(&self.inner)
                    }),
                }
            }

            /// The generated client, for calls this handle does not wrap.
            pub fn client(&self) -> &$client {
                &self.inner.api.client
            }
        }
    };
}
pub(crate) use static_handle_accessors;
