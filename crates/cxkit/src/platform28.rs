//! Platform28 Cloud API (Auth V2): acting as a system (an API key, sent as a query parameter)
//! or as a user (a login session id, sent as a `;lsid=` matrix parameter). Neither is ever a
//! method argument of the generated client: the hooks add them, and scrub them from any URL an
//! error could print.

use std::sync::Arc;

use cxkit_auth::{Credential, Secret};
use cxkit_platform28 as gen_p28;
use gen_p28::types::LoginSession;

use crate::Config;
use crate::http::base_url;
use crate::{Error, Result};

/// The query parameter name assumed for the API key; the real one is not public (see
/// `specs/README.md`), so [`Platform28Builder::api_key_param`] changes it.
pub const DEFAULT_API_KEY_PARAM: &str = "apiKey";
/// The matrix parameter name assumed for the login session id; see
/// [`Platform28Builder::lsid_param`].
pub const DEFAULT_LSID_PARAM: &str = "lsid";

/// Builds a [`Platform28`].
#[derive(Debug, Default)]
pub struct Platform28Builder {
    base_url: Option<String>,
    api_key: Option<Secret>,
    api_key_param: Option<String>,
    lsid_param: Option<String>,
    config: Option<Config>,
}

impl Platform28Builder {
    /// The API's base URL (it is not public; ask Platform28 support).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The API key, for acting as the integrated system. Also sent (when set) on login.
    pub fn api_key(mut self, key: Secret) -> Self {
        self.api_key = Some(key);
        self
    }

    /// The API key's query parameter name (default [`DEFAULT_API_KEY_PARAM`]).
    pub fn api_key_param(mut self, name: impl Into<String>) -> Self {
        self.api_key_param = Some(name.into());
        self
    }

    /// The login session id's matrix parameter name (default [`DEFAULT_LSID_PARAM`]).
    pub fn lsid_param(mut self, name: impl Into<String>) -> Self {
        self.lsid_param = Some(name.into());
        self
    }

    /// The settings shared with other clients: the HTTP client and its limits, and the retry
    /// policy (default: `Config::builder().build()`).
    pub fn config(mut self, config: &Config) -> Self {
        self.config = Some(config.clone());
        self
    }

    /// Checks the configuration and builds the handle.
    pub fn build(self) -> Result<Platform28> {
        let base = base_url(
            self.base_url
                .as_deref()
                .ok_or_else(|| Error::config("no Platform28 base URL: call `base_url`"))?,
            "the Platform28 base URL",
        )?;
        if self.api_key.as_ref().is_some_and(Secret::is_empty) {
            return Err(Error::config("the Platform28 API key is empty"));
        }
        let names = [&self.api_key_param, &self.lsid_param];
        if names.iter().any(|n| {
            n.as_deref().is_some_and(|n| {
                n.is_empty()
                    || !n
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            })
        }) {
            return Err(Error::config(
                "Platform28 parameter names must be non-empty ASCII letters, digits, `_` or `-`",
            ));
        }
        Ok(Platform28 {
            inner: Arc::new(Inner {
                base,
                config: Config::resolve(self.config)?,
                api_key: self.api_key,
                api_key_param: self
                    .api_key_param
                    .unwrap_or_else(|| DEFAULT_API_KEY_PARAM.to_owned()),
                lsid_param: self
                    .lsid_param
                    .unwrap_or_else(|| DEFAULT_LSID_PARAM.to_owned()),
            }),
        })
    }
}

/// The Platform28 Cloud API. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Platform28 {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    base: String,
    config: Config,
    api_key: Option<Secret>,
    api_key_param: String,
    lsid_param: String,
}

impl Platform28 {
    /// Starts configuring a handle.
    pub fn builder() -> Platform28Builder {
        Platform28Builder::default()
    }

    /// A client with the API key, and for a session its LSID (and its session id, scrubbed from
    /// every URL path it travels in, like the LSID).
    fn client(&self, lsid: Option<&Secret>, session_id: Option<&Secret>) -> gen_p28::Client {
        let inner = &self.inner;
        let mut auth = inner
            .config
            .http()
            .auth_builder(inner.config.retry(), inner.config.client_timeout());
        if let Some(key) = &inner.api_key {
            auth = auth.credential(
                "apiKey",
                Credential::static_key(key.clone()).named(inner.api_key_param.clone()),
            );
        }
        if let Some(lsid) = lsid {
            auth = auth.credential(
                "loginSession",
                Credential::fixed(lsid.clone()).named(inner.lsid_param.clone()),
            );
            // The session id defaults to the LSID and travels in paths (`/session/{sessionId}`).
            auth = auth.path_secret(lsid.clone());
        }
        if let Some(id) = session_id {
            auth = auth.path_secret(id.clone());
        }
        let auth = crate::telemetry::attach(auth, &inner.config, &[&inner.base]);
        gen_p28::Client::new_with_client(
            &inner.base,
            inner.config.http_client().clone(),
            auth.build(),
        )
    }

    /// The configuration this handle was built with (shared with every client built from it).
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// A client acting as the integrated system, with the API key; `Error::Config` without one.
    pub fn as_system(&self) -> Result<gen_p28::Client> {
        if self.inner.api_key.is_none() {
            return Err(Error::config(
                "acting as a system needs an API key: call `api_key` on the builder",
            ));
        }
        Ok(self.client(None, None))
    }

    /// Logs `username` in, creating a login session. Never retried automatically.
    pub async fn login(&self, username: &str, password: &Secret) -> Result<Platform28Session> {
        let answer = self
            .client(None, None)
            .create_login_session()
            .username(username)
            .body_map(|b| b.password(password.expose()))
            .send()
            .await;
        let answer = crate::error::checked(answer)
            .await
            .map_err(|e| e.into_refused_credentials(&[400, 401, 403, 404], "the login was refused"))
            .map_err(|e| e.without(&[password]))
            .map_err(|e| self.scrubbed(e))?;
        self.session_from(answer)
    }

    /// Removes the API key from an error's text, should the server echo it.
    fn scrubbed(&self, e: Error) -> Error {
        match &self.inner.api_key {
            Some(key) => e.without(&[key]),
            None => e,
        }
    }

    /// Resumes a login session whose id the application kept (e.g. across restarts).
    pub fn resume(&self, lsid: Secret, session_id: Option<String>) -> Platform28Session {
        let session_id = Secret::new(session_id.unwrap_or_else(|| lsid.expose().to_owned()));
        Platform28Session {
            client: self.client(Some(&lsid), Some(&session_id)),
            platform: self.clone(),
            lsid,
            session_id,
        }
    }

    fn session_from(&self, answer: LoginSession) -> Result<Platform28Session> {
        let lsid = answer
            .lsid
            .clone()
            .or_else(|| answer.session_id.clone())
            .filter(|s| !s.is_empty());
        let Some(lsid) = lsid else {
            return Err(Error::Decode {
                message: "the login answer holds no `lsid` or `sessionId`".into(),
            });
        };
        Ok(self.resume(
            Secret::new(lsid),
            answer.session_id.filter(|s| !s.is_empty()),
        ))
    }
}

/// A login session: acts for the logged-in user with its LSID. The session id may be the LSID
/// itself, so both are kept as [`Secret`]s.
pub struct Platform28Session {
    client: gen_p28::Client,
    platform: Platform28,
    lsid: Secret,
    session_id: Secret,
}

impl std::fmt::Debug for Platform28Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform28Session")
            .field("base_url", &self.platform.inner.base)
            .field("lsid", &self.lsid)
            .field("session_id", &self.session_id)
            .finish()
    }
}

/// Maps errors of calls on this session: the server saying the session does not exist (404)
/// or is invalid (401) means "log in again".
fn session_error(e: Error) -> Error {
    match e {
        Error::Api { status: 404, .. } => Error::reauth("the login session no longer exists (404)"),
        other => other,
    }
}

impl Platform28Session {
    /// A generated call's value, or its error (undocumented bodies read; for calls on this
    /// session, a vanished session mapped by [`session_error`]) with the LSID, the session id
    /// and the API key scrubbed from its text.
    async fn checked<T, E: serde::Serialize>(
        &self,
        answer: std::result::Result<gen_p28::ResponseValue<T>, gen_p28::Error<E>>,
        on_this_session: bool,
    ) -> Result<T> {
        crate::error::checked(answer).await.map_err(|e| {
            let e = if on_this_session { session_error(e) } else { e };
            self.platform
                .scrubbed(e.without(&[&self.lsid, &self.session_id]))
        })
    }

    /// A view of this session whose calls (wrapped and generated) use `options` (see
    /// [`crate::CallOptions`]); the session's other calls are unaffected. Sessions it creates
    /// ([`Platform28Session::clone_session`]) do not inherit them.
    pub fn with_options(&self, options: crate::CallOptions) -> Platform28Session {
        Platform28Session {
            client: self.client.with_options(options),
            platform: self.platform.clone(),
            lsid: self.lsid.clone(),
            session_id: self.session_id.clone(),
        }
    }

    /// The generated client, authorized with this session's LSID, for calls not wrapped here.
    pub fn client(&self) -> &gen_p28::Client {
        &self.client
    }

    /// The login session id, to persist and later [`Platform28::resume`].
    pub fn lsid(&self) -> &Secret {
        &self.lsid
    }

    /// The session's id, the `sessionId` of calls on this session (`get_session`,
    /// `terminate_session`, ...): the server's own when its login answer named one, else the
    /// LSID. Persist it with the LSID and pass both to [`Platform28::resume`], or a resumed
    /// session calls the wrong id where the server names them apart. A [`Secret`], because it
    /// may be the LSID itself.
    pub fn session_id(&self) -> &Secret {
        &self.session_id
    }

    /// The session's details. The LSID is removed from the answer, so it can be logged.
    pub async fn info(&self) -> Result<LoginSession> {
        let answer = self
            .client
            .get_session()
            .session_id(self.session_id.expose())
            .send()
            .await;
        let mut info = self.checked(answer, true).await?;
        info.lsid = None;
        Ok(info)
    }

    /// Acts as another user from now on ("set the effective user").
    pub async fn set_effective_user(&self, user_id: &str) -> Result<()> {
        let answer = self
            .client
            .set_effective_user()
            .session_id(self.session_id.expose())
            .body(user_id.to_owned())
            .send()
            .await;
        self.checked(answer, true).await?;
        Ok(())
    }

    /// Acts within another organization from now on ("set the effective organization").
    pub async fn set_effective_org(&self, org_id: &str) -> Result<()> {
        let answer = self
            .client
            .set_effective_org()
            .session_id(self.session_id.expose())
            .body(org_id.to_owned())
            .send()
            .await;
        self.checked(answer, true).await?;
        Ok(())
    }

    /// Returns to the logged-in user's own identity.
    pub async fn reset_assumed_identity(&self) -> Result<()> {
        let answer = self
            .client
            .reset_assumed_identity()
            .session_id(self.session_id.expose())
            .send()
            .await;
        self.checked(answer, true).await?;
        Ok(())
    }

    /// Creates a second login session for the same user. Never retried automatically.
    pub async fn clone_session(&self) -> Result<Platform28Session> {
        let answer = self
            .client
            .clone_session()
            .session_id(self.session_id.expose())
            .send()
            .await;
        let answer = self.checked(answer, true).await?;
        self.platform.session_from(answer)
    }

    /// Terminates every session of `user_id` (needs the right to log other users out).
    pub async fn terminate_user_sessions(&self, user_id: &str) -> Result<()> {
        let answer = self
            .client
            .terminate_user_sessions()
            .user_id(user_id)
            .send()
            .await;
        // Another user's sessions: a 404 here is about them, not this session.
        self.checked(answer, false).await?;
        Ok(())
    }

    /// Logs out: terminates this session, and every other session of the user when
    /// `all_sessions` is true.
    pub async fn terminate(self, all_sessions: bool) -> Result<()> {
        let answer = self
            .client
            .terminate_session()
            .session_id(self.session_id.expose())
            .body(all_sessions)
            .send()
            .await;
        self.checked(answer, true).await?;
        Ok(())
    }
}

/// [`crate::WithOptions`]: what generic code calls to give a handle per-call options.
impl crate::WithOptions for crate::Platform28Session {
    fn with_options(&self, options: crate::CallOptions) -> Self {
        crate::Platform28Session::with_options(self, options)
    }
}
