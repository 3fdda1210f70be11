//! Proto AICX: CRM humans under `/gateway/{company_id}/{bot_id}/crm/human`, authorized by a
//! personal access token in `X-SINITIC-TOKEN`.

use std::sync::Arc;

use cxkit_auth::{Credential, Secret};
use cxkit_proto as gen_proto;
use gen_proto::types::{Human, HumanCreate, HumanUpdate};
#[cfg(feature = "ejento")]
use tokio::task::JoinHandle;

use crate::Config;
use crate::http::base_url;
#[cfg(feature = "ejento")]
use crate::{EJENTO_TOKEN, Ejento};
use crate::{Error, Result};

/// Proto's public gateway.
pub const DEFAULT_BASE_URL: &str = "https://api.proto.cx/gateway";

/// Builds a [`Proto`].
#[derive(Debug, Default)]
pub struct ProtoBuilder {
    base_url: Option<String>,
    company_id: Option<String>,
    bot_id: Option<String>,
    token: Option<Secret>,
    config: Option<Config>,
}

impl ProtoBuilder {
    /// The gateway (default [`DEFAULT_BASE_URL`]).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The company id (General Settings in Proto's app).
    pub fn company_id(mut self, id: impl Into<String>) -> Self {
        self.company_id = Some(id.into());
        self
    }

    /// The bot id (BUILD > SETTINGS > API in Proto's app).
    pub fn bot_id(mut self, id: impl Into<String>) -> Self {
        self.bot_id = Some(id.into());
        self
    }

    /// The personal access token from the user's profile page.
    pub fn personal_access_token(mut self, token: Secret) -> Self {
        self.token = Some(token);
        self
    }

    /// The settings shared with other clients: the HTTP client and its limits, and the retry
    /// policy (default: `Config::builder().build()`).
    pub fn config(mut self, config: &Config) -> Self {
        self.config = Some(config.clone());
        self
    }

    /// Checks the configuration and builds the handle.
    pub fn build(self) -> Result<Proto> {
        let base = base_url(
            self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL),
            "the Proto base URL",
        )?;
        let company_id = self
            .company_id
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::config("no Proto company id"))?;
        let bot_id = self
            .bot_id
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::config("no Proto bot id"))?;
        let token = self
            .token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::config("no Proto personal access token"))?;
        let config = Config::resolve(self.config)?;
        let auth = config
            .http()
            .auth_builder(config.retry(), config.client_timeout())
            .credential("siniticToken", Credential::static_key(token.clone()));
        let auth = crate::telemetry::attach(auth, &config, &[&base]).build();
        Ok(Proto {
            inner: Arc::new(ProtoInner {
                client: gen_proto::Client::new_with_client(
                    &base,
                    config.http_client().clone(),
                    auth,
                ),
                config,
                company_id,
                bot_id,
                token,
            }),
        })
    }
}

/// A Proto AICX bot's CRM, bound to a company id, a bot id and a personal access token. Cheap
/// to clone.
#[derive(Clone, Debug)]
pub struct Proto {
    inner: Arc<ProtoInner>,
}

#[derive(Clone)]
struct ProtoInner {
    client: gen_proto::Client,
    config: Config,
    company_id: String,
    bot_id: String,
    /// Kept to scrub it from error text, should the gateway echo it.
    token: Secret,
}

/// Shows the handle without its HTTP client: a client the application supplied may carry its
/// own credentials in its default headers.
impl std::fmt::Debug for ProtoInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use gen_proto::ClientInfo as _;
        f.debug_struct("Proto")
            .field("base_url", &self.client.baseurl())
            .field("company_id", &self.company_id)
            .field("bot_id", &self.bot_id)
            .field("token", &self.token)
            .field("config", &self.config)
            .finish()
    }
}

impl Proto {
    /// Starts configuring a handle.
    pub fn builder() -> ProtoBuilder {
        ProtoBuilder::default()
    }

    /// The configuration this handle was built with (shared with every client built from it).
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// A view of this handle whose calls (wrapped and generated) use `options` (see
    /// [`crate::CallOptions`]); the handle's other calls are unaffected.
    pub fn with_options(&self, options: crate::CallOptions) -> Proto {
        let mut inner = ProtoInner::clone(&self.inner);
        inner.client = inner.client.with_options(options);
        Proto {
            inner: Arc::new(inner),
        }
    }

    /// The generated client, for calls this handle does not wrap.
    pub fn client(&self) -> &gen_proto::Client {
        &self.inner.client
    }

    /// A generated call's value, or its error (undocumented bodies read) with the personal
    /// access token scrubbed from its text, should the gateway echo it.
    async fn checked<T, E: serde::Serialize>(
        &self,
        answer: std::result::Result<gen_proto::ResponseValue<T>, gen_proto::Error<E>>,
    ) -> Result<T> {
        crate::error::checked(answer)
            .await
            .map_err(|e| e.without(&[&self.inner.token]))
    }

    /// Creates a human ("Create Human API") and returns its id (e.g. `eu_KM8dKoKB5HJN`).
    pub async fn create_human(&self, human: HumanCreate) -> Result<String> {
        let answer = self
            .inner
            .client
            .create_human()
            .company_id(&self.inner.company_id)
            .bot_id(&self.inner.bot_id)
            .body(human)
            .send()
            .await;
        Ok(self.checked(answer).await?.result.id)
    }

    /// Reads a human's profile ("Get Human API").
    pub async fn get_human(&self, human_id: &str) -> Result<Human> {
        let answer = self
            .inner
            .client
            .get_human()
            .company_id(&self.inner.company_id)
            .bot_id(&self.inner.bot_id)
            .human_id(human_id)
            .send()
            .await;
        Ok(self.checked(answer).await?.result)
    }

    /// Updates a human ("Update Human API"); fields left `None` are unchanged. Returns the id.
    pub async fn update_human(&self, human_id: &str, update: HumanUpdate) -> Result<String> {
        let answer = self
            .inner
            .client
            .update_human()
            .company_id(&self.inner.company_id)
            .bot_id(&self.inner.bot_id)
            .human_id(human_id)
            .body(update)
            .send()
            .await;
        Ok(self.checked(answer).await?.result.id)
    }

    /// Keeps a human's `access_token` in step with an Ejento session: it is set now (when the
    /// session holds tokens), after every login and refresh, and emptied on logout — the
    /// human's access token "expires based on the web app login status" (seed 002).
    ///
    /// Opt-in and runs until the returned handle is dropped or stopped. A failed update is
    /// logged (without the token) and retried at the next change. Needs the `ejento` feature.
    #[cfg(feature = "ejento")]
    pub fn bridge_access_token(
        &self,
        human_id: impl Into<String>,
        ejento: &Ejento,
    ) -> AccessTokenBridge {
        let proto = self.clone();
        let human_id = human_id.into();
        let mut updates = ejento.subscribe();
        let task = tokio::spawn(async move {
            let mut first = true;
            loop {
                let token = updates.borrow_and_update().as_ref().map(|set| {
                    set.get(EJENTO_TOKEN)
                        .map(|t| t.expose().to_owned())
                        .unwrap_or_default()
                });
                // At start, `None` only means "not loaded yet": leave the human alone. Later,
                // `None` is a logout, and the human's token is emptied (`""` is the value
                // seed 002's own create sample sends for "no token").
                let value = match (token, first) {
                    (Some(token), _) => Some(token),
                    (None, true) => None,
                    (None, false) => Some(String::new()),
                };
                first = false;
                if let Some(value) = value {
                    let update = HumanUpdate {
                        access_token: Some(value),
                        ..HumanUpdate::default()
                    };
                    match proto.update_human(&human_id, update).await {
                        Ok(_) => {
                            tracing::debug!(human = %human_id, "mirrored the Ejento token to the Proto human")
                        }
                        Err(e) => {
                            tracing::warn!(human = %human_id, error = %e, "could not mirror the Ejento token")
                        }
                    }
                }
                if updates.changed().await.is_err() {
                    return;
                }
            }
        });
        AccessTokenBridge { task }
    }
}

/// Stops the bridge when dropped.
#[cfg(feature = "ejento")]
#[derive(Debug)]
pub struct AccessTokenBridge {
    task: JoinHandle<()>,
}

#[cfg(feature = "ejento")]
impl AccessTokenBridge {
    /// Stops mirroring.
    pub fn stop(self) {}
}

#[cfg(feature = "ejento")]
impl Drop for AccessTokenBridge {
    fn drop(&mut self) {
        self.task.abort();
    }
}
