//! Proto's Messaging API: a webhook channel's humans and chats on `gw.proto.cx/webhook`,
//! authorized by a personal access token in `X-PROTO-TOKEN`. What Proto posts back to the
//! channel's application is parsed by [`crate::proto_webhook`].

use std::sync::Arc;

use cxkit_auth::{Credential, Secret};
use cxkit_proto_messaging as gen_messaging;
use gen_messaging::types::{ChannelHuman, ChannelHumanCreate, ChatCreate};

use crate::Config;
use crate::http::base_url;
use crate::{Error, Result};

/// Proto's Messaging API gateway.
pub const DEFAULT_BASE_URL: &str = "https://gw.proto.cx/webhook";

/// The security scheme of the Messaging API (`X-PROTO-TOKEN`).
pub const PROTO_TOKEN: &str = "protoToken";

/// Builds a [`ProtoMessaging`].
#[derive(Debug, Default)]
pub struct ProtoMessagingBuilder {
    base_url: Option<String>,
    channel_id: Option<String>,
    token: Option<Secret>,
    config: Option<Config>,
}

impl ProtoMessagingBuilder {
    /// The gateway (default [`DEFAULT_BASE_URL`]).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The webhook channel's id.
    pub fn channel_id(mut self, id: impl Into<String>) -> Self {
        self.channel_id = Some(id.into());
        self
    }

    /// The personal access token (Profile > API > "Issue new token" in Proto's app).
    pub fn personal_access_token(mut self, token: Secret) -> Self {
        self.token = Some(token);
        self
    }

    /// The settings shared with other clients (default: `Config::builder().build()`).
    pub fn config(mut self, config: &Config) -> Self {
        self.config = Some(config.clone());
        self
    }

    /// Checks the configuration and builds the handle.
    pub fn build(self) -> Result<ProtoMessaging> {
        let base = base_url(
            self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL),
            "the Proto Messaging API base URL",
        )?;
        let channel_id = self
            .channel_id
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::config("no Proto webhook channel id"))?;
        let token = self
            .token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::config("no Proto personal access token"))?;
        let config = Config::resolve(self.config)?;
        let auth = config
            .http()
            .auth_builder(config.retry(), config.client_timeout())
            .credential(PROTO_TOKEN, Credential::static_key(token.clone()));
        let auth = crate::telemetry::attach(auth, &config, &[&base]).build();
        Ok(ProtoMessaging {
            inner: Arc::new(Inner {
                client: gen_messaging::Client::new_with_client(
                    &base,
                    config.http_client().clone(),
                    auth,
                ),
                config,
                channel_id,
                token,
            }),
        })
    }
}

/// A Proto webhook channel's Messaging API, bound to the channel id and a personal access
/// token. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ProtoMessaging {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    client: gen_messaging::Client,
    config: Config,
    channel_id: String,
    token: Secret,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use gen_messaging::ClientInfo as _;
        f.debug_struct("ProtoMessaging")
            .field("base_url", &self.client.baseurl())
            .field("channel_id", &self.channel_id)
            .field("token", &self.token)
            .field("config", &self.config)
            .finish()
    }
}

impl ProtoMessaging {
    /// Starts configuring a handle.
    pub fn builder() -> ProtoMessagingBuilder {
        ProtoMessagingBuilder::default()
    }

    /// The configuration this handle was built with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// A view of this handle whose calls use `options` (see [`crate::CallOptions`]).
    pub fn with_options(&self, options: crate::CallOptions) -> ProtoMessaging {
        let mut inner = Inner::clone(&self.inner);
        inner.client = inner.client.with_options(options);
        ProtoMessaging {
            inner: Arc::new(inner),
        }
    }

    /// The generated client, for calls this handle does not wrap.
    pub fn client(&self) -> &gen_messaging::Client {
        &self.inner.client
    }

    async fn checked<T, E: serde::Serialize>(
        &self,
        answer: std::result::Result<gen_messaging::ResponseValue<T>, gen_messaging::Error<E>>,
    ) -> Result<T> {
        crate::error::checked(answer)
            .await
            .map_err(|e| e.without(&[&self.inner.token]))
    }

    /// Creates a human on the channel ("To create a Human (customer)") and returns its id
    /// (e.g. `human_4361a99d71fa3`).
    pub async fn create_human(&self, human: ChannelHumanCreate) -> Result<String> {
        let answer = self
            .inner
            .client
            .create_channel_human()
            .channel_id(&self.inner.channel_id)
            .body(human)
            .send()
            .await;
        Ok(self.checked(answer).await?.human.id)
    }

    /// Reads a human of the channel ("Get Human information").
    pub async fn get_human(&self, human_id: &str) -> Result<ChannelHuman> {
        let answer = self
            .inner
            .client
            .get_channel_human()
            .channel_id(&self.inner.channel_id)
            .human_id(human_id)
            .send()
            .await;
        self.checked(answer).await
    }

    /// Creates a chat on the channel ("Create a chat"), optionally with its human. The answer
    /// holds the chat id; its shape is not documented, so it comes back as a JSON object.
    pub async fn create_chat(
        &self,
        chat: ChatCreate,
    ) -> Result<serde_json::Map<String, serde_json::Value>> {
        let answer = self
            .inner
            .client
            .create_chat()
            .channel_id(&self.inner.channel_id)
            .body(chat)
            .send()
            .await;
        Ok(self.checked(answer).await?.0)
    }
}
