//! Building an [`Ejento`] session: base URLs, per-system settings and the shared ones.

use std::sync::Arc;
use std::time::Duration;

use cxkit_auth::{Auth, Credential, RetryPolicy, Secret};
use cxkit_ejento_auth as gen_auth;
use cxkit_ejento_platform as gen_platform;

use super::tokens::EjentoRefresher;
use super::{AUTH_APP_TOKEN, EJENTO_TOKEN, Ejento, Inner};
use crate::cache::{CachedToken, Refresher, TokenCache};
use crate::http::{HttpConfig, base_url};
use crate::{Config, Error, Result};

/// The host the older access guide shows its users API on (seed 000:
/// `https://webapp-idamigo-od-eastus2-001.azurewebsites.net/api/users/?skip=0&limit=100`), a host
/// of its own, apart from the gateway. Not a default: pass it to
/// [`EjentoBuilder::users_base_url`] only if it is your tenant's users host.
pub const GUIDE_USERS_BASE_URL: &str = "https://webapp-idamigo-od-eastus2-001.azurewebsites.net";

/// The `x-cxkit-server` name of the users API's operations in `specs/ejento-auth.yaml`.
const USERS_SERVER: &str = "users";

/// Builds an [`Ejento`].
///
/// Settings beyond the base URLs: [`EjentoBuilder::subscription_key`] (the gateway's API key),
/// [`EjentoBuilder::api_version`] (the `X-API-Version` sent on v2 calls),
/// [`EjentoBuilder::users_base_url`] (the older guide's users host),
/// [`EjentoBuilder::user_token_minter`] (server-to-server user tokens instead of a login),
/// [`EjentoBuilder::session_name`], and the [`Config`] shared with other clients (the HTTP
/// client and its limits, retry policy, clock, token store and refresh policy).
#[derive(Debug)]
pub struct EjentoBuilder {
    auth_base: Option<String>,
    platform_base: Option<String>,
    indexing_base: Option<String>,
    users_base: Option<String>,
    api_version: Option<String>,
    minter: Option<crate::user_token::MinterConfig>,
    subscription_key: Option<Secret>,
    session: String,
    config: Option<Config>,
}

impl Default for EjentoBuilder {
    fn default() -> Self {
        EjentoBuilder {
            auth_base: None,
            platform_base: None,
            indexing_base: None,
            users_base: None,
            api_version: None,
            minter: None,
            subscription_key: None,
            session: "default".to_owned(),
            config: None,
        }
    }
}

impl EjentoBuilder {
    /// The gateway that serves both the auth-service (`/auth-service/...`) and the platform.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        let url = url.into();
        self.auth_base = Some(url.clone());
        self.platform_base = Some(url);
        self
    }

    /// The Authentication App's base URL, when it differs from the platform's.
    pub fn auth_base_url(mut self, url: impl Into<String>) -> Self {
        self.auth_base = Some(url.into());
        self
    }

    /// The platform's base URL, when it differs from the Authentication App's.
    pub fn platform_base_url(mut self, url: impl Into<String>) -> Self {
        self.platform_base = Some(url.into());
        self
    }

    /// The indexing service's base URL, when uploads go elsewhere than the platform (the
    /// vendor's Slack app configures it separately; default: the platform base URL).
    pub fn indexing_base_url(mut self, url: impl Into<String>) -> Self {
        self.indexing_base = Some(url.into());
        self
    }

    /// The host of the older access guide's users API ("Read All Users", "Update User
    /// Information"), which [`Ejento::users`] calls. No default: the session's Authentication
    /// App token and subscription key go only to a host the application named; without it
    /// [`Ejento::users`] is a configuration error. (The guide's own host is
    /// [`GUIDE_USERS_BASE_URL`].)
    pub fn users_base_url(mut self, url: impl Into<String>) -> Self {
        self.users_base = Some(url.into());
        self
    }

    /// The `X-API-Version` sent on every call of the latest v2 API, instead of the version the
    /// specs were curated against (`info.x-cxkit-api-version`, `2.0`). Legacy calls (the older
    /// guide's `/api/agent/...` and users API) never send the header. Use it to try a newer
    /// minor version, e.g. `.api_version("2.1")`.
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = Some(version.into());
        self
    }

    /// Authenticates as one user with a server-to-server user token instead of a login: the
    /// session mints an Ejento access token at `server_url` (`POST {server_url}/user-token`, the
    /// application secret `auth_key` in the `ejento-auth-key` header, as the vendor's Slack app
    /// does) on first use, and mints a new one ahead of its `expires_on` with the same single-
    /// flight refresh as a logged-in session (one mint however many callers; a 401 re-mints
    /// once). Platform calls work right away; no `login_*` call is needed, and the
    /// Authentication App's own calls are unavailable (there is no Authentication App token).
    ///
    /// `auth_key` can act for any user of the deployment: keep it on the server. It is never
    /// printed (its `Debug` is redacted).
    ///
    /// ```no_run
    /// # async fn demo() -> cxkit::Result<()> {
    /// use cxkit::{Ejento, Secret};
    /// let ejento = Ejento::builder()
    ///     .base_url("https://gateway.example.com")
    ///     .user_token_minter(
    ///         "https://ejento-server.example.com",
    ///         Secret::new(std::env::var("EJENTO_AUTH_KEY").unwrap_or_default()),
    ///         "user@example.com",
    ///         Some("Example User"),
    ///     )
    ///     .build()?;
    /// let me = ejento.platform().get_current_user().send().await?;
    /// # let _ = me; Ok(()) }
    /// ```
    pub fn user_token_minter(
        mut self,
        server_url: impl Into<String>,
        auth_key: Secret,
        email: impl Into<String>,
        full_name: Option<&str>,
    ) -> Self {
        self.minter = Some(crate::user_token::MinterConfig {
            server: server_url.into(),
            auth_key,
            email: email.into(),
            full_name: full_name.map(str::to_owned),
        });
        self
    }

    /// The `Ocp-Apim-Subscription-Key` the gateway may require; sent on every call.
    pub fn subscription_key(mut self, key: Secret) -> Self {
        self.subscription_key = Some(key);
        self
    }

    /// The settings shared with other clients: the HTTP client and its limits, the retry
    /// policy, the clock, the token store and the refresh policy (default:
    /// `Config::builder().build()`, with a memory store of the session's own).
    pub fn config(mut self, config: &Config) -> Self {
        self.config = Some(config.clone());
        self
    }

    /// Names the session, so that one store can hold several users' sessions.
    pub fn session_name(mut self, name: impl Into<String>) -> Self {
        self.session = name.into();
        self
    }

    /// Checks the configuration and builds the session. Nothing is sent yet; stored tokens are
    /// read on first use.
    pub fn build(self) -> Result<Ejento> {
        let platform_base = base_url(
            self.platform_base.as_deref().ok_or_else(|| {
                Error::config("no platform base URL: call `base_url` or `platform_base_url`")
            })?,
            "the Ejento platform base URL",
        )?;
        // A minted-token session never calls the Authentication App, so it needs no URL of its
        // own for it.
        let auth_base = match (&self.auth_base, &self.minter) {
            (Some(url), _) => base_url(url, "the Ejento auth base URL")?,
            (None, Some(_)) => platform_base.clone(),
            (None, None) => {
                return Err(Error::config(
                    "no base URL: call `base_url` or `auth_base_url`",
                ));
            }
        };
        let users_base = self
            .users_base
            .as_deref()
            .map(|url| base_url(url, "the Ejento users base URL"))
            .transpose()?;
        let indexing_base = match &self.indexing_base {
            Some(url) => base_url(url, "the Ejento indexing base URL")?,
            None => platform_base.clone(),
        };
        if self.subscription_key.as_ref().is_some_and(Secret::is_empty) {
            return Err(Error::config("the subscription key is empty"));
        }
        let config = Config::resolve(self.config)?;
        let http = config.http_client().clone();
        let limits = config.http();
        let client_timeout = config.client_timeout();
        let retry = config.retry();
        let clock = config.clock();
        let refresh = config.refresh();
        let store = config.session_store();
        let api_version = self.api_version.as_deref();
        let (key, refresher): (String, Arc<dyn Refresher>) = match self.minter {
            Some(minter) => (
                format!(
                    "ejento-user-token|{}|{}|{}",
                    minter.server, minter.email, self.session
                ),
                Arc::new(minter.into_minter(&config, api_version)?),
            ),
            None => (
                format!("ejento|{auth_base}|{}", self.session),
                Arc::new(EjentoRefresher {
                    config: config.clone(),
                    auth_base: auth_base.clone(),
                    subscription_key: self.subscription_key.clone(),
                    default_lifetime: refresh.default_lifetime,
                    api_version: self.api_version.clone(),
                }),
            ),
        };
        let cache = Arc::new(crate::telemetry::cache_with(
            TokenCache::new(key, store, refresher, clock.clone(), refresh.clone()),
            &config,
        ));

        let key = self.subscription_key.as_ref();
        let session_token =
            |name| Credential::from_source(Arc::new(CachedToken::new(cache.clone(), name)));
        // `auth()` and `users()` share the session's Authentication App token but are bound to
        // their hosts, so calling a users-API operation on `auth()` (or the reverse) is a clear
        // error rather than a request to the wrong host.
        let auth = ejento_auth_builder(
            limits,
            client_timeout,
            retry,
            "authAppToken",
            session_token(AUTH_APP_TOKEN),
            key,
            api_version,
        );
        let users_auth = ejento_auth_builder(
            limits,
            client_timeout,
            retry,
            "authAppToken",
            session_token(AUTH_APP_TOKEN),
            key,
            api_version,
        )
        .server(Some(USERS_SERVER))
        .client_for(None::<&'static str>, "`Ejento::auth()`");
        let users_bases: Vec<&str> = users_base.iter().map(String::as_str).collect();
        let users_auth = crate::telemetry::attach(users_auth, &config, &users_bases).build();
        let auth = auth
            .server(None::<&'static str>)
            .client_for(Some(USERS_SERVER), "`Ejento::users()`");
        let auth = crate::telemetry::attach(auth, &config, &[&auth_base]).build();
        let platform_auth = ejento_auth_builder(
            limits,
            client_timeout,
            retry,
            "ejentoToken",
            session_token(EJENTO_TOKEN),
            key,
            api_version,
        );
        // The platform client also sends the document upload, to the indexing base.
        let platform_auth =
            crate::telemetry::attach(platform_auth, &config, &[&platform_base, &indexing_base])
                .build();
        Ok(Ejento {
            inner: Arc::new(Inner {
                users: users_base
                    .map(|base| gen_auth::Client::new_with_client(&base, http.clone(), users_auth)),
                auth: gen_auth::Client::new_with_client(&auth_base, http.clone(), auth),
                platform: gen_platform::Client::new_with_client(
                    &platform_base,
                    http.clone(),
                    platform_auth.clone(),
                ),
                platform_auth,
                platform_base,
                indexing_base,
                cache,
                config,
            }),
        })
    }
}

/// An auth handle with `credential` for the bearer `scheme`, plus the subscription key (which
/// the vendor's own clients send on every call) when one is configured.
pub(crate) fn ejento_auth(
    config: &Config,
    base: &str,
    scheme: &'static str,
    credential: Credential,
    subscription_key: Option<&Secret>,
    api_version: Option<&str>,
) -> Auth {
    let auth = ejento_auth_builder(
        config.http(),
        config.client_timeout(),
        config.retry(),
        scheme,
        credential,
        subscription_key,
        api_version,
    );
    crate::telemetry::attach(auth, config, &[base]).build()
}

/// [`ejento_auth`], left open for more settings (the host binding of `auth()` and `users()`).
fn ejento_auth_builder(
    http: &HttpConfig,
    client_timeout: Option<Duration>,
    retry: &RetryPolicy,
    scheme: &'static str,
    credential: Credential,
    subscription_key: Option<&Secret>,
    api_version: Option<&str>,
) -> cxkit_auth::AuthBuilder {
    let mut auth = http
        .auth_builder(retry, client_timeout)
        .credential(scheme, credential);
    if let Some(key) = subscription_key {
        auth = auth.credential("subscriptionKey", Credential::fixed(key.clone()));
    }
    if let Some(version) = api_version {
        auth = auth.api_version(version.to_owned());
    }
    auth
}
