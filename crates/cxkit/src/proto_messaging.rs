//! Proto's Messaging API: a webhook channel's humans and chats on `gw.proto.cx/webhook`,
//! authorized by a personal access token in `X-PROTO-TOKEN`. What Proto posts back to the
//! channel's application is parsed by [`crate::proto_webhook`].

use std::sync::Arc;

use cxkit_auth::Secret;
use cxkit_proto_messaging as gen_messaging;
use gen_messaging::types::{ChannelHuman, ChannelHumanCreate, ChatCreate};

use crate::handle::{StaticApi, StaticApiKind, required_id, static_handle_accessors};
use crate::{Config, Result};

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
        let channel_id = required_id(self.channel_id, "no Proto webhook channel id")?;
        let api = StaticApi::build(&KIND, self.base_url.as_deref(), self.token, self.config)?;
        Ok(ProtoMessaging {
            inner: Arc::new(Inner { api, channel_id }),
        })
    }
}

/// The Messaging API as a static-credential API.
const KIND: StaticApiKind<gen_messaging::Client> = StaticApiKind {
    base_what: "the Proto Messaging API base URL",
    default_base: DEFAULT_BASE_URL,
    scheme: PROTO_TOKEN,
    missing_secret: "no Proto personal access token",
    new_client: gen_messaging::Client::new_with_client,
};

/// A Proto webhook channel's Messaging API, bound to the channel id and a personal access
/// token. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ProtoMessaging {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    api: StaticApi<gen_messaging::Client>,
    channel_id: String,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.api
            .debug_fields(
                f.debug_struct("ProtoMessaging")
                    .field("channel_id", &self.channel_id),
            )
            .finish()
    }
}

static_handle_accessors!(ProtoMessaging, Inner, gen_messaging::Client);

impl ProtoMessaging {
    /// Starts configuring a handle.
    pub fn builder() -> ProtoMessagingBuilder {
        ProtoMessagingBuilder::default()
    }

    /// Creates a human on the channel ("To create a Human (customer)") and returns its id
    /// (e.g. `human_4361a99d71fa3`).
    pub async fn create_human(&self, human: ChannelHumanCreate) -> Result<String> {
        let answer = self
            .client()
            .create_channel_human()
            .channel_id(&self.inner.channel_id)
            .body(human)
            .send()
            .await;
        Ok(self.inner.api.checked(answer).await?.human.id)
    }

    /// Reads a human of the channel ("Get Human information").
    pub async fn get_human(&self, human_id: &str) -> Result<ChannelHuman> {
        let answer = self
            .client()
            .get_channel_human()
            .channel_id(&self.inner.channel_id)
            .human_id(human_id)
            .send()
            .await;
        self.inner.api.checked(answer).await
    }

    /// Creates a chat on the channel ("Create a chat"), optionally with its human. The answer
    /// holds the chat id; its shape is not documented, so it comes back as a JSON object.
    pub async fn create_chat(
        &self,
        chat: ChatCreate,
    ) -> Result<serde_json::Map<String, serde_json::Value>> {
        let answer = self
            .client()
            .create_chat()
            .channel_id(&self.inner.channel_id)
            .body(chat)
            .send()
            .await;
        Ok(self.inner.api.checked(answer).await?.0)
    }
}
