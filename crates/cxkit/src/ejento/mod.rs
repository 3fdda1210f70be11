//! Ejento: a session on the Authentication App, and the clients that share it.
//!
//! The session type and its accessors live here; the builder, the sign-in flows, single
//! sign-on, the hand-written calls (SSE, upload) and the token handling (refresh, expiry) each
//! have a file of their own.

use std::sync::Arc;
use std::time::SystemTime;

use cxkit_auth::{Auth, Secret};
use cxkit_ejento_auth as gen_auth;
use cxkit_ejento_platform as gen_platform;
use gen_auth::ClientInfo as _;
use tokio::sync::watch;

use crate::cache::TokenCache;
use crate::token::TokenSet;
use crate::{Config, Result};

mod builder;
mod calls;
mod sign_in;
mod sso;
mod tokens;

pub(crate) use builder::ejento_auth;
pub use builder::{EjentoBuilder, GUIDE_USERS_BASE_URL};
pub use sso::SsoProvider;
use tokens::{token_set, tokens_from_answer};

/// The name of the Authentication App access token in a session's [`TokenSet`].
pub const AUTH_APP_TOKEN: &str = "auth_app";
/// The name of the Ejento (platform) access token in a session's [`TokenSet`].
pub const EJENTO_TOKEN: &str = "ejento";

/// What is known about the current session, without its secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// When the tokens were obtained.
    pub obtained_at: SystemTime,
    /// When the first of the two tokens expires.
    pub expires_at: SystemTime,
}

impl From<&TokenSet> for SessionInfo {
    fn from(t: &TokenSet) -> Self {
        SessionInfo {
            obtained_at: t.obtained_at(),
            expires_at: t.expires_at(),
        }
    }
}

/// A session with Ejento: logs in, keeps both tokens fresh, and hands out clients that use
/// them. Cheap to clone; clones share the session.
///
/// ```no_run
/// # async fn demo() -> cxkit::Result<()> {
/// use cxkit::{Config, Ejento, FileTokenStore, Secret};
/// let ejento = Ejento::builder()
///     .base_url("https://idejento.onedigital.com")
///     .config(&Config::builder().store(FileTokenStore::new("/var/lib/myapp/tokens")).build()?)
///     .build()?;
/// ejento.login_password("user@example.com", &Secret::new("password")).await?;
/// let flags = ejento.auth().get_login_feature_flags().send().await?;
/// # let _ = flags;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Ejento {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    auth: gen_auth::Client,
    /// `None` until the application names the users API's host.
    users: Option<gen_auth::Client>,
    platform: gen_platform::Client,
    platform_auth: Auth,
    platform_base: String,
    indexing_base: String,
    cache: Arc<TokenCache>,
    /// The HTTP client, limits, clock and refresh policy the session was built with.
    config: Config,
}

/// Shows the session without its HTTP client (directly or inside a generated client): a client
/// the application supplied may carry its own credentials in its default headers.
impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ejento")
            .field("auth_base", &self.auth.baseurl())
            .field("users_base", &self.users.as_ref().map(|u| u.baseurl()))
            .field("platform_base", &self.platform_base)
            .field("indexing_base", &self.indexing_base)
            .field("platform_auth", &self.platform_auth)
            .field("cache", &self.cache)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Ejento {
    /// Starts configuring a session.
    pub fn builder() -> EjentoBuilder {
        EjentoBuilder::default()
    }

    /// A view of this session whose calls use `options` (see [`crate::CallOptions`]): the
    /// generated clients ([`Ejento::auth`], [`Ejento::users`], [`Ejento::platform`]) and the
    /// hand-written calls ([`Ejento::stream_agent_response`], [`Ejento::upload_document`], …).
    /// It shares the tokens, their cache and refreshes (which never take the options), the
    /// connection pool and the retry budget; the session's other calls are unaffected.
    ///
    /// ```no_run
    /// # async fn demo(ejento: cxkit::Ejento) -> cxkit::Result<()> {
    /// use std::time::Duration;
    /// use cxkit::CallOptions;
    /// let quick = ejento.with_options(CallOptions::new().timeout(Duration::from_millis(50)).no_retry());
    /// let me = quick.platform().get_current_user().send().await?.into_inner();
    /// # let _ = me; Ok(()) }
    /// ```
    pub fn with_options(&self, options: crate::CallOptions) -> Ejento {
        let mut inner = Inner::clone(&self.inner);
        inner.auth = inner.auth.with_options(options.clone());
        inner.users = inner.users.map(|u| u.with_options(options.clone()));
        inner.platform = inner.platform.with_options(options.clone());
        inner.platform_auth = inner.platform_auth.with_options(options);
        Ejento {
            inner: Arc::new(inner),
        }
    }

    /// The Authentication App client, authorized with this session's tokens.
    pub fn auth(&self) -> &gen_auth::Client {
        &self.inner.auth
    }

    /// The older access guide's users API ("Read All Users", "Update User Information"), bound to
    /// its own host ([`EjentoBuilder::users_base_url`]) and authorized with this session's
    /// Authentication App token. It is the Authentication App's generated client, so call
    /// `read_all_users` / `update_user_information` on it; the same methods on [`Ejento::auth`]
    /// would go to the gateway, where the guide's users API is not.
    ///
    /// There is no default host: the token and the subscription key go only to a host the
    /// application named, so without [`EjentoBuilder::users_base_url`] this is
    /// [`Error::Config`](crate::Error::Config) naming that setting.
    ///
    /// ```no_run
    /// # async fn demo(ejento: cxkit::Ejento) -> cxkit::Result<()> {
    /// let users = ejento.users()?.read_all_users().skip(0).limit(100).send().await?.into_inner();
    /// # let _ = users; Ok(()) }
    /// ```
    pub fn users(&self) -> crate::Result<&gen_auth::Client> {
        self.inner.users.as_ref().ok_or_else(|| {
            crate::Error::config(
                "the older guide's users API has no host: call `EjentoBuilder::users_base_url` \
                 with your tenant's users host (there is no default, so that the session's \
                 token and subscription key go only to a host you named)",
            )
        })
    }

    /// The platform client (agents, chat threads, responses, corpora, …), authorized with this
    /// session's Ejento token.
    pub fn platform(&self) -> &gen_platform::Client {
        &self.inner.platform
    }

    /// The auth handle platform clients use: the Ejento token, refreshed by this session, and
    /// the subscription key.
    pub fn platform_auth(&self) -> &Auth {
        &self.inner.platform_auth
    }

    /// The platform base URL.
    pub fn platform_base_url(&self) -> &str {
        &self.inner.platform_base
    }

    /// The configured HTTP client, shared by every client of this session.
    pub fn http_client(&self) -> &reqwest::Client {
        self.inner.config.http_client()
    }

    /// The configuration this session was built with (shared with every client built from it).
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The session's token cache.
    pub fn token_cache(&self) -> &Arc<TokenCache> {
        &self.inner.cache
    }

    /// Installs tokens obtained outside this client (e.g. from an SSO redirect's query).
    pub async fn adopt_tokens(
        &self,
        auth_app_token: Secret,
        ejento_token: Secret,
    ) -> Result<SessionInfo> {
        let now = self.inner.config.clock().now();
        self.install_set(token_set(
            auth_app_token,
            ejento_token,
            now,
            self.inner.config.refresh().default_lifetime,
        ))
        .await
    }

    /// Refreshes both tokens now, whatever their expiry.
    pub async fn refresh(&self) -> Result<SessionInfo> {
        Ok(SessionInfo::from(&self.inner.cache.force_refresh().await?))
    }

    /// Ends the session here: forgets the tokens in memory and in the store. (The vendor
    /// documents no revocation call; the tokens stay valid on the server until they expire.)
    pub async fn logout(&self) -> Result<()> {
        self.inner.cache.clear().await
    }

    /// The current session (refreshing first if due), or [`crate::Error::ReauthRequired`].
    pub async fn session(&self) -> Result<SessionInfo> {
        Ok(SessionInfo::from(&self.inner.cache.current().await?))
    }

    /// Opt-in proactive refresh (see [`TokenCache::background_refresh`]): spawn the returned
    /// future on your runtime, e.g. `tokio::spawn(ejento.background_refresh())`.
    pub fn background_refresh(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.inner.cache.background_refresh()
    }

    /// Notified after every login and refresh with the new tokens, and with `None` on logout.
    pub fn subscribe(&self) -> watch::Receiver<Option<TokenSet>> {
        self.inner.cache.subscribe()
    }

    async fn install(&self, answer: gen_auth::types::TokenEnvelope) -> Result<SessionInfo> {
        let tokens = tokens_from_answer(
            answer,
            self.inner.config.clock().now(),
            self.inner.config.refresh().default_lifetime,
        )?;
        self.install_set(tokens).await
    }

    async fn install_set(&self, tokens: TokenSet) -> Result<SessionInfo> {
        let info = SessionInfo::from(&tokens);
        self.inner.cache.set(tokens).await?;
        Ok(info)
    }
}

/// [`crate::WithOptions`]: what generic code calls to give a handle per-call options.
impl crate::WithOptions for crate::Ejento {
    fn with_options(&self, options: crate::CallOptions) -> Self {
        crate::Ejento::with_options(self, options)
    }
}
