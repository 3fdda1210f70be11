//! A stateful fake of Proto's Messaging API (per `specs/proto-messaging.yaml`), on
//! `127.0.0.1:0`, under `/webhook`, and a [`WebhookSender`] that posts webhook events to an
//! application's endpoint the way Proto does (<https://docs.proto.cx/docs/webhook-events>).
//!
//! Every call must carry the personal access token the fake was given in `X-PROTO-TOKEN`
//! (`401` otherwise). Humans are kept per channel (`{"human": {"id": ...}}` on create, the
//! human on get, `404` for an unknown one); Create a chat stores the chat (and its human, made
//! on the fly when none is named) and answers `{"id": "<chat id>"}` (the page says only that
//! "the API returns a Chat ID": the answer's shape is the fake's choice). Per-operation
//! replies ([`FakeProtoMessaging::on`]) override all of that, for faults.
//!
//! Point the client at [`FakeProtoMessaging::gateway_url`].

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::Response;
use cxkit_auth::OperationDef;
use serde_json::{Map, Value, json};
use tokio::task::JoinHandle;

use crate::server::{Intake, Shared, Table, common_methods, json_response};
pub use crate::server::{Recorded, Reply};

/// The personal access token a fake accepts unless told otherwise.
pub const TOKEN: &str = "fake-proto-messaging-personal-access-token";

/// The header the token travels in.
pub const TOKEN_HEADER: &str = "x-proto-token";

#[derive(Debug)]
struct St {
    token: String,
    counter: u64,
    /// `(channel_id, human_id)` → the human.
    humans: BTreeMap<(String, String), Map<String, Value>>,
    /// `(channel_id, chat_id)` → the chat as created.
    chats: BTreeMap<(String, String), Map<String, Value>>,
}

/// A running fake Messaging API; stops when dropped.
pub struct FakeProtoMessaging {
    shared: Arc<Shared<St>>,
    task: JoinHandle<()>,
}

impl FakeProtoMessaging {
    /// Starts a fake that accepts [`TOKEN`] and holds nothing.
    pub async fn start() -> FakeProtoMessaging {
        let tables = vec![Table {
            prefix: "/webhook",
            api: &cxkit_proto_messaging::SECURITY,
        }];
        let state = St {
            token: TOKEN.to_owned(),
            counter: 0,
            humans: BTreeMap::new(),
            chats: BTreeMap::new(),
        };
        let (shared, task) = Shared::start("FakeProtoMessaging", tables, state, handle).await;
        FakeProtoMessaging { shared, task }
    }

    /// `http://127.0.0.1:<port>/webhook`: the base URL a client is built with.
    pub fn gateway_url(&self) -> String {
        format!("{}/webhook", self.base_url())
    }

    /// The personal access token the fake accepts from now on.
    pub fn set_token(&self, token: &str) {
        self.shared.st().token = token.to_owned();
    }

    /// The chat `chat_id` of `channel_id` as it was created.
    pub fn chat(&self, channel_id: &str, chat_id: &str) -> Option<Value> {
        self.shared
            .st()
            .chats
            .get(&(channel_id.to_owned(), chat_id.to_owned()))
            .map(|c| Value::Object(c.clone()))
    }
}

common_methods!(FakeProtoMessaging);

impl St {
    fn guard(&self, request: &Recorded) -> Option<Response> {
        match request.header(TOKEN_HEADER) {
            Some(token) if token == self.token => None,
            Some(_) => Some(error(401, "Invalid token")),
            None => Some(error(401, "Missing X-PROTO-TOKEN header")),
        }
    }

    fn create_human(&mut self, channel: &str, mut fields: Map<String, Value>) -> String {
        let id = match fields.get("id").and_then(Value::as_str) {
            Some(id) => id.to_owned(),
            None => {
                self.counter += 1;
                format!("human_fake{:08}", self.counter)
            }
        };
        fields.insert("id".into(), Value::String(id.clone()));
        let entry = self
            .humans
            .entry((channel.to_owned(), id.clone()))
            .or_default();
        entry.extend(fields);
        id
    }
}

fn error(status: u16, message: &str) -> Response {
    json_response(status, &json!({ "message": message }))
}

fn object(request: &Recorded) -> Option<Map<String, Value>> {
    match serde_json::from_str(&request.body) {
        Ok(Value::Object(fields)) => Some(fields),
        _ => None,
    }
}

async fn handle(State(shared): State<Arc<Shared<St>>>, request: Request) -> Response {
    let guard = |_: &OperationDef, r: &Recorded| shared.st().guard(r);
    let request = match shared.core.intake(request, guard).await {
        Intake::Answered(response) => return response,
        Intake::Native(request) => request,
    };
    let Some(op) = request.operation else {
        return shared.core.unanswered(&request);
    };
    let mut st = shared.st();
    if let Some(refused) = st.guard(&request) {
        return refused;
    }
    let Some(channel) = request.param("channel_id").map(str::to_owned) else {
        return shared.core.unanswered(&request);
    };
    match op {
        "create_channel_human" => {
            let Some(fields) = object(&request) else {
                return error(400, "the body must be a JSON object");
            };
            let id = st.create_human(&channel, fields);
            json_response(200, &json!({ "human": { "id": id } }))
        }
        "get_channel_human" => {
            let id = request.param("human_id").unwrap_or_default().to_owned();
            match st.humans.get(&(channel, id)) {
                Some(human) => json_response(200, &Value::Object(human.clone())),
                None => error(404, "human not found"),
            }
        }
        "create_chat" => {
            let Some(mut body) = object(&request) else {
                return error(400, "the body must be a JSON object");
            };
            let human = match body.remove("human") {
                Some(Value::Object(h)) => h,
                None | Some(Value::Null) => Map::new(),
                Some(_) => return error(400, "human must be an object"),
            };
            let human_id = st.create_human(&channel, human);
            st.counter += 1;
            let chat_id = format!("chat_fake{:08}", st.counter);
            body.insert("id".into(), Value::String(chat_id.clone()));
            body.insert("human".into(), json!({ "id": human_id }));
            st.chats.insert((channel, chat_id.clone()), body);
            json_response(200, &json!({ "id": chat_id }))
        }
        _ => shared.core.unanswered(&request),
    }
}

/// Posts webhook events to an application's endpoint, as Proto does: `POST` with a JSON
/// `{"events": [...]}` body. Builds the documented event and message shapes
/// ([`WebhookSender::new_messages`], [`text_message`], ...) and sends anything else as given,
/// for unknown types and malformed bodies.
#[derive(Clone, Debug)]
pub struct WebhookSender {
    url: String,
    client: reqwest::Client,
}

/// What the application answered.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Delivery {
    /// The HTTP status.
    pub status: u16,
    /// The body, as text.
    pub body: String,
}

impl WebhookSender {
    /// A sender to `url` (the endpoint registered for the channel).
    pub fn new(url: impl Into<String>) -> WebhookSender {
        // reqwest panics building a client when no TLS provider is installed.
        cxkit_auth::tls::ensure_crypto_provider();
        WebhookSender {
            url: url.into(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a plain reqwest client builds"),
        }
    }

    /// A `new_messages` event of chat `chat_id` (human `human_id`) on `channel_id`.
    pub fn new_messages(
        chat_id: &str,
        human_id: &str,
        channel_id: &str,
        messages: Vec<Value>,
    ) -> Value {
        json!({
            "type": "new_messages",
            "chat": { "id": chat_id, "human": { "id": human_id, "name": "Fake Human" } },
            "channel": { "id": channel_id },
            "messages": messages,
        })
    }

    /// Posts `events` as one batch.
    pub async fn send(&self, events: Vec<Value>) -> Result<Delivery, reqwest::Error> {
        self.send_body(json!({ "events": events }).to_string())
            .await
    }

    /// Posts `body` as is (`Content-Type: application/json`), for malformed or oversized bodies.
    pub async fn send_body(&self, body: impl Into<String>) -> Result<Delivery, reqwest::Error> {
        let response = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.into())
            .send()
            .await?;
        let status = response.status().as_u16();
        let body = response.text().await?;
        Ok(Delivery { status, body })
    }
}

/// A `text` message by `author_type` (`human`, `bot`, `agent`).
pub fn text_message(author_type: &str, text: &str) -> Value {
    json!({
        "type": "text",
        "author": { "type": author_type, "id": format!("{author_type}_1"), "name": author_type },
        "data": { "text": text },
    })
}

/// A message of any `message_type` with `data`, for the other documented types and unknown
/// ones.
pub fn message(message_type: &str, author_type: &str, data: Value) -> Value {
    json!({
        "type": message_type,
        "author": { "type": author_type, "id": format!("{author_type}_1"), "name": author_type },
        "data": data,
    })
}
