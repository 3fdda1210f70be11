//! Ejento: a session on the Authentication App, and the clients that share it.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cxkit_auth::{Auth, Clock, Credential, RetryPolicy, Secret, SystemClock};
use cxkit_ejento_auth as gen_auth;
use cxkit_ejento_platform as gen_platform;
use futures::future::BoxFuture;
use gen_auth::ClientInfo as _;
use tokio::sync::watch;

use crate::cache::{CachedToken, Refresher, TokenCache};
use crate::error::checked;
use crate::http::{HttpConfig, base_url};
use crate::store::{MemoryTokenStore, TokenStore};
use crate::token::{RefreshConfig, TokenSet, jwt_expiry, jwt_subject};
use crate::{Error, Result};

/// The name of the Authentication App access token in a session's [`TokenSet`].
pub const AUTH_APP_TOKEN: &str = "auth_app";
/// The name of the Ejento (platform) access token in a session's [`TokenSet`].
pub const EJENTO_TOKEN: &str = "ejento";

/// An identity provider for single sign-on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SsoProvider {
    /// Google.
    Google,
    /// Microsoft.
    Microsoft,
    /// LinkedIn.
    LinkedIn,
    /// Okta.
    Okta,
}

impl SsoProvider {
    fn operation(self) -> (&'static str, &'static str) {
        match self {
            SsoProvider::Google => (
                "initiate_google_sso_login",
                "/auth-service/api/v2/sso/google/login",
            ),
            SsoProvider::Microsoft => (
                "initiate_microsoft_sso_login",
                "/auth-service/api/v2/sso/microsoft/login",
            ),
            SsoProvider::LinkedIn => (
                "initiate_linkedin_sso_login",
                "/auth-service/api/v2/sso/linkedin/login",
            ),
            SsoProvider::Okta => (
                "initiate_okta_sso_login",
                "/auth-service/api/v2/sso/okta/login",
            ),
        }
    }
}

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

/// Where the older access guide's users API lives by default (seed 000:
/// `https://webapp-idamigo-od-eastus2-001.azurewebsites.net/api/users/?skip=0&limit=100`), a host
/// of its own, apart from the gateway. See [`EjentoBuilder::users_base_url`].
pub const DEFAULT_USERS_BASE_URL: &str = "https://webapp-idamigo-od-eastus2-001.azurewebsites.net";

/// The `x-cxkit-server` name of the users API's operations in `specs/ejento-auth.yaml`.
const USERS_SERVER: &str = "users";

/// Builds an [`Ejento`].
///
/// Settings beyond the base URLs: [`EjentoBuilder::subscription_key`] (the gateway's API key),
/// [`EjentoBuilder::api_version`] (the `X-API-Version` sent on v2 calls),
/// [`EjentoBuilder::users_base_url`] (the older guide's users host),
/// [`EjentoBuilder::user_token_minter`] (server-to-server user tokens instead of a login), and the
/// store, clock, refresh, retry and HTTP settings.
#[derive(Debug)]
pub struct EjentoBuilder {
    auth_base: Option<String>,
    platform_base: Option<String>,
    indexing_base: Option<String>,
    users_base: Option<String>,
    api_version: Option<String>,
    minter: Option<crate::user_token::MinterConfig>,
    subscription_key: Option<Secret>,
    store: Option<Arc<dyn TokenStore>>,
    session: String,
    clock: Arc<dyn Clock>,
    refresh: RefreshConfig,
    retry: RetryPolicy,
    http: HttpConfig,
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
            store: None,
            session: "default".to_owned(),
            clock: Arc::new(SystemClock),
            refresh: RefreshConfig::default(),
            retry: RetryPolicy::default(),
            http: HttpConfig::default(),
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
    /// Information"), which [`Ejento::users`] calls. Default: [`DEFAULT_USERS_BASE_URL`], the host
    /// the guide names; a tenant whose users API lives elsewhere sets its own.
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

    /// Where tokens persist (default: memory only).
    pub fn store(mut self, store: impl TokenStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Where tokens persist, shared with other sessions.
    pub fn shared_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Names the session, so that one store can hold several users' sessions.
    pub fn session_name(mut self, name: impl Into<String>) -> Self {
        self.session = name.into();
        self
    }

    /// The wall clock token expiry is measured on (tests pass a `ManualClock`).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// When to refresh ahead of expiry.
    pub fn refresh(mut self, config: RefreshConfig) -> Self {
        self.refresh = config;
        self
    }

    /// How transient failures of idempotent calls are retried.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Timeouts and user agent.
    pub fn http(mut self, config: HttpConfig) -> Self {
        self.http = config;
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
        let users_base = base_url(
            self.users_base.as_deref().unwrap_or(DEFAULT_USERS_BASE_URL),
            "the Ejento users base URL",
        )?;
        let indexing_base = match &self.indexing_base {
            Some(url) => base_url(url, "the Ejento indexing base URL")?,
            None => platform_base.clone(),
        };
        if self.subscription_key.as_ref().is_some_and(Secret::is_empty) {
            return Err(Error::config("the subscription key is empty"));
        }
        let http = self.http.client()?;
        let store = self
            .store
            .unwrap_or_else(|| Arc::new(MemoryTokenStore::new()));
        let api_version = self.api_version.as_deref();
        let (key, refresher): (String, Arc<dyn Refresher>) = match self.minter {
            Some(config) => (
                format!(
                    "ejento-user-token|{}|{}|{}",
                    config.server, config.email, self.session
                ),
                Arc::new(config.into_minter(
                    http.clone(),
                    &self.http,
                    self.retry.clone(),
                    self.clock.clone(),
                    api_version,
                )?),
            ),
            None => (
                format!("ejento|{auth_base}|{}", self.session),
                Arc::new(EjentoRefresher {
                    http: http.clone(),
                    auth_base: auth_base.clone(),
                    subscription_key: self.subscription_key.clone(),
                    retry: self.retry.clone(),
                    limits: self.http.clone(),
                    clock: self.clock.clone(),
                    default_lifetime: self.refresh.default_lifetime,
                    api_version: self.api_version.clone(),
                }),
            ),
        };
        let cache = Arc::new(TokenCache::new(
            key,
            store,
            refresher,
            self.clock.clone(),
            self.refresh.clone(),
        ));

        let key = self.subscription_key.as_ref();
        let session_token =
            |name| Credential::from_source(Arc::new(CachedToken::new(cache.clone(), name)));
        // `auth()` and `users()` share the session's Authentication App token but are bound to
        // their hosts, so calling a users-API operation on `auth()` (or the reverse) is a clear
        // error rather than a request to the wrong host.
        let auth = ejento_auth_builder(
            &self.http,
            &self.retry,
            "authAppToken",
            session_token(AUTH_APP_TOKEN),
            key,
            api_version,
        );
        let users_auth = ejento_auth_builder(
            &self.http,
            &self.retry,
            "authAppToken",
            session_token(AUTH_APP_TOKEN),
            key,
            api_version,
        )
        .server(Some(USERS_SERVER))
        .build();
        let auth = auth.server(None::<&'static str>).build();
        let platform_auth = ejento_auth(
            &self.http,
            &self.retry,
            "ejentoToken",
            session_token(EJENTO_TOKEN),
            key,
            api_version,
        );
        Ok(Ejento {
            inner: Arc::new(Inner {
                users: gen_auth::Client::new_with_client(&users_base, http.clone(), users_auth),
                auth: gen_auth::Client::new_with_client(&auth_base, http.clone(), auth),
                platform: gen_platform::Client::new_with_client(
                    &platform_base,
                    http.clone(),
                    platform_auth.clone(),
                ),
                platform_auth,
                platform_base,
                indexing_base,
                http,
                cache,
                clock: self.clock,
                default_lifetime: self.refresh.default_lifetime,
                limits: self.http,
            }),
        })
    }
}

/// A session with Ejento: logs in, keeps both tokens fresh, and hands out clients that use
/// them. Cheap to clone; clones share the session.
///
/// ```no_run
/// # async fn demo() -> cxkit::Result<()> {
/// use cxkit::{Ejento, FileTokenStore, Secret};
/// let ejento = Ejento::builder()
///     .base_url("https://idejento.onedigital.com")
///     .store(FileTokenStore::new("/var/lib/myapp/tokens"))
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

#[derive(Clone, Debug)]
struct Inner {
    auth: gen_auth::Client,
    users: gen_auth::Client,
    platform: gen_platform::Client,
    platform_auth: Auth,
    platform_base: String,
    indexing_base: String,
    http: reqwest::Client,
    cache: Arc<TokenCache>,
    clock: Arc<dyn Clock>,
    default_lifetime: Duration,
    limits: HttpConfig,
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
        inner.users = inner.users.with_options(options.clone());
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
    /// its own host ([`EjentoBuilder::users_base_url`], default [`DEFAULT_USERS_BASE_URL`]) and
    /// authorized with this session's Authentication App token. It is the Authentication App's
    /// generated client, so call `read_all_users` / `update_user_information` on it; the same
    /// methods on [`Ejento::auth`] would go to the gateway, where the guide's users API is not.
    ///
    /// ```no_run
    /// # async fn demo(ejento: cxkit::Ejento) -> cxkit::Result<()> {
    /// let users = ejento.users().read_all_users().skip(0).limit(100).send().await?.into_inner();
    /// # let _ = users; Ok(()) }
    /// ```
    pub fn users(&self) -> &gen_auth::Client {
        &self.inner.users
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
        &self.inner.http
    }

    /// The session's token cache.
    pub fn token_cache(&self) -> &Arc<TokenCache> {
        &self.inner.cache
    }

    /// Logs in with a password ("Authenticate User"). Never retried automatically.
    pub async fn login_password(&self, username: &str, password: &Secret) -> Result<SessionInfo> {
        let answer = self
            .inner
            .auth
            .login_access_token()
            .body_map(|b| b.username(username).password(password.expose()))
            .send()
            .await;
        let tokens = tokens_from_answer(
            credentials_answer(answer)
                .await
                .map_err(|e| e.without(&[password]))?,
            self.inner.clock.now(),
            self.inner.default_lifetime,
        )?;
        // Tokens that do not name their subject belong to the user who logged in.
        let tokens = match tokens.identity() {
            Some(_) => tokens,
            None => tokens.with_identity(username),
        };
        self.install_set(tokens).await
    }

    /// Emails the user a single-use login code (valid 10 minutes).
    pub async fn request_login_code(&self, email: &str) -> Result<()> {
        let answer = self
            .inner
            .auth
            .request_passwordless_token()
            .body_map(|b| b.email(email))
            .send()
            .await;
        checked(answer).await.map_err(credentials_error)?;
        Ok(())
    }

    /// Logs in with the emailed code. The code is single-use: never retried automatically.
    pub async fn login_with_code(&self, code: &Secret) -> Result<SessionInfo> {
        let answer = self
            .inner
            .auth
            .exchange_passwordless_token()
            .body_map(|b| b.code(code.expose()))
            .send()
            .await;
        self.install(
            credentials_answer(answer)
                .await
                .map_err(|e| e.without(&[code]))?,
        )
        .await
    }

    /// Emails a magic link and a one-time code; returns the OTP session id to pass to
    /// [`Ejento::login_with_email_otp`].
    pub async fn request_magic_link(&self, email: &str, next: Option<&str>) -> Result<String> {
        let answer = self
            .inner
            .auth
            .passwordless_auth()
            .body_map(|b| b.email(email).next(next.map(str::to_owned)))
            .send()
            .await;
        let answer = checked(answer).await.map_err(credentials_error)?;
        answer
            .data
            .and_then(|d| d.otp_session_id)
            .ok_or_else(|| Error::Decode {
                message: "the answer holds no `data.otp_session_id`".into(),
            })
    }

    /// Logs in with the code from a magic-link email ("Verify Email OTP").
    pub async fn login_with_email_otp(
        &self,
        otp_session_id: &str,
        code: &Secret,
    ) -> Result<SessionInfo> {
        let answer = self
            .inner
            .auth
            .verify_email_otp()
            .body_map(|b| b.otp_session_id(otp_session_id).code(code.expose()))
            .send()
            .await;
        self.install(
            credentials_answer(answer)
                .await
                .map_err(|e| e.without(&[code]))?,
        )
        .await
    }

    /// Creates an account ("Register User"). Log in afterwards to get tokens.
    pub async fn sign_up(
        &self,
        email: &str,
        password: &Secret,
        full_name: Option<&str>,
    ) -> Result<gen_auth::types::UserPublic> {
        // No length limit is checked here: no Ejento source states one, and the server's own
        // validation answers with a clear error if it has one.
        let full_name = full_name.map(str::to_owned);
        let answer = self
            .inner
            .auth
            .register_user()
            .body_map(|b| {
                b.email(email)
                    .password(password.expose())
                    .full_name(full_name)
            })
            .send()
            .await;
        checked(answer).await.map_err(|e| e.without(&[password]))
    }

    /// Changes the signed-in user's password ("Update Own Password").
    pub async fn change_password(&self, current: &Secret, new: &Secret) -> Result<()> {
        let answer = self
            .inner
            .auth
            .update_own_password()
            .body_map(|b| {
                b.current_password(current.expose())
                    .new_password(new.expose())
            })
            .send()
            .await;
        checked(answer)
            .await
            .map_err(|e| credentials_error(e).without(&[current, new]))?;
        Ok(())
    }

    /// The URL to send the user's browser to for single sign-on, read from the auth-service's
    /// redirect (which is not followed). After sign-in the provider returns to `next` with the
    /// tokens; pass them to [`Ejento::adopt_tokens`].
    pub async fn sso_login_url(&self, provider: SsoProvider, next: &str) -> Result<url::Url> {
        let (operation, path) = provider.operation();
        let client = &self.inner.auth;
        let mut request = client
            .client()
            .get(format!("{}{path}", client.baseurl()))
            .query(&[("next", next)])
            .build()
            .map_err(|e| Error::transport(&e))?;
        cxkit_auth::hooks::authorize(client.inner(), &gen_auth::SECURITY, &mut request, operation)
            .await?;
        let response = cxkit_auth::hooks::exec(
            client.inner(),
            &gen_auth::SECURITY,
            client.client(),
            request,
            operation,
        )
        .await
        .map_err(|e| Error::transport(&e))?;
        let status = response.status();
        if !status.is_redirection() {
            let body = crate::error::read_capped(response).await;
            return Err(Error::api(status.as_u16(), &body));
        }
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Error::Decode {
                message: "the SSO redirect has no Location header".into(),
            })?;
        response.url().join(location).map_err(|_| Error::Decode {
            message: "the SSO redirect's Location is not a URL".into(),
        })
    }

    /// Asks an agent and streams its answer ("Stream Agent Response (SSE)"). Not retried (a
    /// POST); a 401 is refreshed and replayed once like any call.
    pub async fn stream_agent_response(
        &self,
        agent_id: i64,
        request: &gen_platform::types::AgentResponseRequest,
    ) -> Result<crate::sse::AnswerStream> {
        let path = format!("/response-service/api/v2/agents/{agent_id}/responses/stream");
        self.stream("stream_agent_response", &path, request).await
    }

    /// Runs a workflow and streams its answer ("Stream Workflow Response (SSE)").
    pub async fn stream_workflow_response(
        &self,
        workflow_id: i64,
        request: &gen_platform::types::WorkflowResponseRequest,
    ) -> Result<crate::sse::AnswerStream> {
        let path = format!("/response-service/api/v2/workflows/{workflow_id}/responses/stream");
        self.stream("stream_workflow_response", &path, request)
            .await
    }

    async fn stream(
        &self,
        operation: &str,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<crate::sse::AnswerStream> {
        let client = &self.inner.platform;
        let request = client
            .client()
            .post(format!("{}{path}", client.baseurl()))
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .json(body)
            .build()
            .map_err(|e| Error::transport(&e))?;
        let response = self.send_platform(operation, request).await?;
        Ok(crate::sse::AnswerStream::from_response(
            response,
            &self.inner.limits,
        ))
    }

    /// Uploads a document to a corpus ("Upload a Document to a Corpus") as a streamed multipart
    /// body: memory stays constant whatever the file size. Not retried and not replayed (the
    /// body is a stream); the token is refreshed first if it is due.
    pub async fn upload_document(
        &self,
        corpus_id: i64,
        upload: crate::upload::DocumentUpload,
    ) -> Result<gen_platform::types::DocumentEnvelope> {
        let url = format!(
            "{}/indexing-service/api/v2/corpora/{corpus_id}/documents",
            self.inner.indexing_base
        );
        let request = self
            .inner
            .platform
            .client()
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .multipart(upload.into_form()?)
            .build()
            .map_err(|e| Error::transport(&e))?;
        let response = self
            .send_platform("upload_corpus_document", request)
            .await?;
        let bytes = response.bytes().await.map_err(|e| Error::transport(&e))?;
        serde_json::from_slice(&bytes).map_err(|e| Error::decode(&e))
    }

    /// Sends a hand-written platform request through the generated client's hooks (the same
    /// credentials, retry policy, 401 replay and URL scrubbing as generated calls); a non-2xx
    /// answer becomes an [`Error`].
    async fn send_platform(
        &self,
        operation: &str,
        mut request: reqwest::Request,
    ) -> Result<reqwest::Response> {
        let client = &self.inner.platform;
        let security = &gen_platform::SECURITY;
        cxkit_auth::hooks::authorize(client.inner(), security, &mut request, operation).await?;
        let response = cxkit_auth::hooks::exec(
            client.inner(),
            security,
            client.client(),
            request,
            operation,
        )
        .await
        .map_err(|e| Error::transport(&e))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let body = crate::error::read_capped(response).await;
        Err(Error::api(status, &body))
    }

    /// Installs tokens obtained outside this client (e.g. from an SSO redirect's query).
    pub async fn adopt_tokens(
        &self,
        auth_app_token: Secret,
        ejento_token: Secret,
    ) -> Result<SessionInfo> {
        let now = self.inner.clock.now();
        self.install_set(token_set(
            auth_app_token,
            ejento_token,
            now,
            self.inner.default_lifetime,
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

    /// The current session (refreshing first if due), or [`Error::ReauthRequired`].
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
        let tokens =
            tokens_from_answer(answer, self.inner.clock.now(), self.inner.default_lifetime)?;
        self.install_set(tokens).await
    }

    async fn install_set(&self, tokens: TokenSet) -> Result<SessionInfo> {
        let info = SessionInfo::from(&tokens);
        self.inner.cache.set(tokens).await?;
        Ok(info)
    }
}

/// Maps a credential call's error: the server refusing the credentials is
/// [`Error::InvalidCredentials`], not a generic API error.
fn credentials_error(e: Error) -> Error {
    e.into_refused_credentials(&[400, 401, 403], "no reason given")
}

fn message_text(m: impl Into<Option<String>>) -> String {
    m.into().unwrap_or_else(|| "no reason given".to_owned())
}

/// A token-returning credential call's answer, or its error mapped by [`credentials_error`].
async fn credentials_answer(
    answer: std::result::Result<
        gen_auth::ResponseValue<gen_auth::types::TokenEnvelope>,
        gen_auth::Error<gen_auth::types::AuthServiceError>,
    >,
) -> Result<gen_auth::types::TokenEnvelope> {
    checked(answer).await.map_err(credentials_error)
}

/// Builds a token set from an answer, flat or enveloped.
fn tokens_from_answer(
    answer: gen_auth::types::TokenEnvelope,
    now: SystemTime,
    default_lifetime: Duration,
) -> Result<TokenSet> {
    let data = answer.data.unwrap_or_default();
    let auth_app = data.access_token.or(answer.access_token);
    let ejento = data.ejento_access_token.or(answer.ejento_access_token);
    match (auth_app, ejento) {
        (Some(a), Some(e)) if !a.is_empty() && !e.is_empty() => Ok(token_set(
            Secret::new(a),
            Secret::new(e),
            now,
            default_lifetime,
        )),
        _ => Err(Error::Decode {
            message: "the answer holds no `access_token` and `ejento_access_token`".into(),
        }),
    }
}

/// The expiry of a token received at `now`: the lifetime it states (`exp - iat`) applied from
/// `now`, which is immune to clock skew between client and server; else its absolute `exp`;
/// else `now + default_lifetime`.
///
/// Whatever the token states, the result is at most [`LONGEST_LIFETIME`] from `now`: a server
/// number far in the future must not keep a token unrefreshed for centuries (or overflow).
fn expiry(token: &Secret, now: SystemTime, default_lifetime: Duration) -> SystemTime {
    let issued = crate::token::jwt_issued_at(token.expose());
    let latest = now.checked_add(LONGEST_LIFETIME).unwrap_or(now);
    let stated = match (jwt_expiry(token.expose()), issued) {
        (Some(exp), Some(iat)) if exp > iat => {
            now.checked_add(exp.duration_since(iat).unwrap_or_default())
        }
        (Some(exp), _) => Some(exp),
        _ => now.checked_add(default_lifetime),
    };
    stated.map_or(latest, |at| at.min(latest))
}

/// The longest lifetime a token is trusted with: Ejento documents days, so a token claiming
/// more than a year is refreshed within a year all the same.
const LONGEST_LIFETIME: Duration = Duration::from_secs(366 * 24 * 3600);

fn token_set(
    auth_app: Secret,
    ejento: Secret,
    now: SystemTime,
    default_lifetime: Duration,
) -> TokenSet {
    let expires_at =
        expiry(&auth_app, now, default_lifetime).min(expiry(&ejento, now, default_lifetime));
    // Whose session it is, for the shared-store check: the subject the tokens name.
    let identity = jwt_subject(auth_app.expose()).or_else(|| jwt_subject(ejento.expose()));
    let tokens = TokenSet::new(
        [
            (AUTH_APP_TOKEN.to_owned(), auth_app),
            (EJENTO_TOKEN.to_owned(), ejento),
        ],
        now,
        expires_at,
    );
    match identity {
        Some(identity) => tokens.with_identity(identity),
        None => tokens,
    }
}

/// An auth handle with `credential` for the bearer `scheme`, plus the subscription key (which
/// the vendor's own clients send on every call) when one is configured.
pub(crate) fn ejento_auth(
    http: &HttpConfig,
    retry: &RetryPolicy,
    scheme: &'static str,
    credential: Credential,
    subscription_key: Option<&Secret>,
    api_version: Option<&str>,
) -> Auth {
    ejento_auth_builder(
        http,
        retry,
        scheme,
        credential,
        subscription_key,
        api_version,
    )
    .build()
}

/// [`ejento_auth`], left open for more settings (the host binding of `auth()` and `users()`).
fn ejento_auth_builder(
    http: &HttpConfig,
    retry: &RetryPolicy,
    scheme: &'static str,
    credential: Credential,
    subscription_key: Option<&Secret>,
    api_version: Option<&str>,
) -> cxkit_auth::AuthBuilder {
    let mut auth = http.auth_builder(retry).credential(scheme, credential);
    if let Some(key) = subscription_key {
        auth = auth.credential("subscriptionKey", Credential::fixed(key.clone()));
    }
    if let Some(version) = api_version {
        auth = auth.api_version(version.to_owned());
    }
    auth
}

/// Refreshes an Ejento session with its Authentication App token. It calls the auth-service
/// through a client authorized with the *current* token directly, not through the cache (which
/// is mid-refresh and would wait on itself).
#[derive(Debug)]
struct EjentoRefresher {
    http: reqwest::Client,
    auth_base: String,
    subscription_key: Option<Secret>,
    retry: RetryPolicy,
    limits: HttpConfig,
    clock: Arc<dyn Clock>,
    default_lifetime: Duration,
    api_version: Option<String>,
}

impl Refresher for EjentoRefresher {
    fn refresh<'a>(&'a self, current: &'a TokenSet) -> BoxFuture<'a, Result<TokenSet>> {
        Box::pin(async move {
            let token = current
                .get(AUTH_APP_TOKEN)
                .ok_or_else(|| Error::reauth("the session holds no Authentication App token"))?;
            let auth = ejento_auth(
                &self.limits,
                &self.retry,
                "authAppToken",
                Credential::fixed(token.clone()),
                self.subscription_key.as_ref(),
                self.api_version.as_deref(),
            );
            let client =
                gen_auth::Client::new_with_client(&self.auth_base, self.http.clone(), auth);
            let answer =
                client
                    .refresh_access_token()
                    .send()
                    .await
                    .map_err(|e| match Error::from(e) {
                        Error::ReauthRequired { reason } => {
                            Error::reauth(format!("the refresh was rejected: {reason}"))
                        }
                        Error::Api {
                            status, message, ..
                        } if (400..500).contains(&status) => Error::reauth(format!(
                            "the refresh was rejected ({status}): {}",
                            message_text(message)
                        )),
                        other => other,
                    })?;
            let tokens =
                tokens_from_answer(answer.into_inner(), self.clock.now(), self.default_lifetime)?;
            // A refresh continues the same user's session.
            Ok(match (tokens.identity(), current.identity()) {
                (None, Some(identity)) => tokens.with_identity(identity),
                _ => tokens,
            })
        })
    }
}
