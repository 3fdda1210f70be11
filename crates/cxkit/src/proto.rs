//! Proto AICX: CRM humans under `/gateway/{company_id}/{bot_id}/crm/human`, authorized by a
//! personal access token in `X-SINITIC-TOKEN`.

use std::sync::Arc;

use cxkit_auth::Secret;
use cxkit_proto as gen_proto;
use gen_proto::types::{Human, HumanCreate, HumanUpdate};
#[cfg(feature = "ejento")]
use tokio::task::JoinHandle;

use crate::handle::{StaticApi, StaticApiKind, required_id, static_handle_accessors};
use crate::{Config, Result};
#[cfg(feature = "ejento")]
use crate::{EJENTO_TOKEN, Ejento};

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
        let company_id = required_id(self.company_id, "no Proto company id")?;
        let bot_id = required_id(self.bot_id, "no Proto bot id")?;
        let api = StaticApi::build(&KIND, self.base_url.as_deref(), self.token, self.config)?;
        Ok(Proto {
            inner: Arc::new(ProtoInner {
                api,
                company_id,
                bot_id,
            }),
        })
    }
}

/// The CRM as a static-credential API (`X-SINITIC-TOKEN`).
const KIND: StaticApiKind<gen_proto::Client> = StaticApiKind {
    base_what: "the Proto base URL",
    default_base: DEFAULT_BASE_URL,
    scheme: "siniticToken",
    missing_secret: "no Proto personal access token",
    new_client: gen_proto::Client::new_with_client,
};

/// A Proto AICX bot's CRM, bound to a company id, a bot id and a personal access token. Cheap
/// to clone.
#[derive(Clone, Debug)]
pub struct Proto {
    inner: Arc<ProtoInner>,
}

#[derive(Clone)]
struct ProtoInner {
    api: StaticApi<gen_proto::Client>,
    company_id: String,
    bot_id: String,
}

/// Shows the handle without its HTTP client: a client the application supplied may carry its
/// own credentials in its default headers.
impl std::fmt::Debug for ProtoInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.api
            .debug_fields(
                f.debug_struct("Proto")
                    .field("company_id", &self.company_id)
                    .field("bot_id", &self.bot_id),
            )
            .finish()
    }
}

static_handle_accessors!(Proto, ProtoInner, gen_proto::Client);

impl Proto {
    /// Starts configuring a handle.
    pub fn builder() -> ProtoBuilder {
        ProtoBuilder::default()
    }

    /// Creates a human ("Create Human API") and returns its id (e.g. `eu_KM8dKoKB5HJN`).
    pub async fn create_human(&self, human: HumanCreate) -> Result<String> {
        let answer = self
            .client()
            .create_human()
            .company_id(&self.inner.company_id)
            .bot_id(&self.inner.bot_id)
            .body(human)
            .send()
            .await;
        Ok(self.inner.api.checked(answer).await?.result.id)
    }

    /// Reads a human's profile ("Get Human API").
    pub async fn get_human(&self, human_id: &str) -> Result<Human> {
        let answer = self
            .client()
            .get_human()
            .company_id(&self.inner.company_id)
            .bot_id(&self.inner.bot_id)
            .human_id(human_id)
            .send()
            .await;
        Ok(self.inner.api.checked(answer).await?.result)
    }

    /// Updates a human ("Update Human API"); fields left `None` are unchanged. Returns the id.
    pub async fn update_human(&self, human_id: &str, update: HumanUpdate) -> Result<String> {
        let answer = self
            .client()
            .update_human()
            .company_id(&self.inner.company_id)
            .bot_id(&self.inner.bot_id)
            .human_id(human_id)
            .body(update)
            .send()
            .await;
        Ok(self.inner.api.checked(answer).await?.result.id)
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
