//! Proto's webhook events, received: what Proto POSTs to a webhook channel's application
//! (<https://docs.proto.cx/docs/webhook-events>), parsed from the request body into typed
//! events. Framework agnostic: bytes in, [`WebhookBatch`] out; no network.
//!
//! ```
//! use cxkit::proto_webhook::{EventKind, MessageContent, WebhookParser};
//!
//! let body = br#"{"events": [{
//!     "type": "new_messages",
//!     "chat": {"id": "chat_1", "human": {"id": "human_1", "name": "Ada"}},
//!     "channel": {"id": "channel_1"},
//!     "messages": [{"type": "text", "author": {"type": "bot", "id": "b1", "name": "Bot"},
//!                   "data": {"text": "Hello"}}]
//! }]}"#;
//! let batch = WebhookParser::new().parse(body)?;
//! let EventKind::NewMessages { messages, .. } = &batch.events[0].kind else { unreachable!() };
//! assert!(matches!(&messages[0].content, MessageContent::Text { text, .. } if text == "Hello"));
//! # Ok::<(), cxkit::proto_webhook::WebhookError>(())
//! ```
//!
//! What the parser guarantees:
//!
//! - **Unknown types are kept, not refused.** An event type other than `new_messages` is an
//!   [`EventKind::Unknown`] holding the event's JSON; a message type other than the five the
//!   page lists (or a known type whose data does not have the documented shape) is a
//!   [`MessageContent::Unknown`] holding the message's data. A new event or message type on
//!   Proto's side never makes a receiver fail.
//! - **The body is bounded.** A body over the parser's limit ([`DEFAULT_MAX_BODY`], 1 MiB by
//!   default) is refused before it is read as JSON. A server should also cap what it reads
//!   (axum: `DefaultBodyLimit`), so that it never buffers more than that.
//! - **It never panics**, whatever the bytes (a property test feeds it arbitrary input).
//! - **Tokens stay secret.** `chatToken` and `replyToken` are [`Secret`]s: redacted in Debug.
//!
//! ## Authenticity
//!
//! Proto's "Webhooks" page documents **no signature**, shared secret or source address for
//! these requests, so a receiver cannot verify that a request came from Proto; anyone who
//! knows the endpoint's URL can post events to it. Protect the endpoint:
//!
//! - **a secret path**: register the webhook URL with a long random segment
//!   (`https://app.example.com/proto/<32 random bytes, base64url>`), keep it out of logs, and
//!   compare it with [`SecretPath::matches`] (constant time);
//! - **an allow-list** of the addresses Proto posts from, where your deployment knows them
//!   (at the load balancer or in the handler, from the peer address);
//! - and treat the events as hints: read what matters back through the Messaging API with your
//!   own credentials before acting on it.
//!
//! `examples/proto_webhook_axum.rs` serves the parser with axum behind a secret path and an
//! allow-list.

use cxkit_auth::Secret;
use serde_json::{Map, Value};

/// The default bound on a webhook body: 1 MiB.
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;

/// Why a webhook body was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The body is longer than the parser's limit.
    #[error("webhook body of {len} bytes is over the limit of {limit} bytes")]
    TooLarge {
        /// The body's length.
        len: usize,
        /// The parser's limit.
        limit: usize,
    },
    /// The body is not JSON (the position only, never the text).
    #[error("webhook body is not JSON (line {line}, column {column})")]
    NotJson {
        /// Line of the first error.
        line: usize,
        /// Column of the first error.
        column: usize,
    },
    /// The JSON is not an `{"events": [...]}` batch, or an event lacks a property the page
    /// says every event has (`type`, `chat.id`, `channel.id`).
    #[error("webhook body is not an event batch: {0}")]
    Shape(String),
}

/// Parses webhook bodies, with a size bound.
#[derive(Clone, Copy, Debug)]
pub struct WebhookParser {
    max_body: usize,
}

impl Default for WebhookParser {
    fn default() -> Self {
        Self::new()
    }
}

impl WebhookParser {
    /// A parser with the default bound ([`DEFAULT_MAX_BODY`]).
    pub fn new() -> Self {
        WebhookParser {
            max_body: DEFAULT_MAX_BODY,
        }
    }

    /// The largest body accepted, in bytes.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// The bound this parser applies.
    pub fn limit(&self) -> usize {
        self.max_body
    }

    /// Parses a request body into its events.
    pub fn parse(&self, body: &[u8]) -> Result<WebhookBatch, WebhookError> {
        if body.len() > self.max_body {
            return Err(WebhookError::TooLarge {
                len: body.len(),
                limit: self.max_body,
            });
        }
        let value: Value = serde_json::from_slice(body).map_err(|e| WebhookError::NotJson {
            line: e.line(),
            column: e.column(),
        })?;
        let Value::Object(mut root) = value else {
            return Err(WebhookError::Shape("the body is not a JSON object".into()));
        };
        let Some(Value::Array(events)) = root.remove("events") else {
            return Err(WebhookError::Shape("no `events` list".into()));
        };
        let events = events
            .into_iter()
            .enumerate()
            .map(|(i, event)| {
                event_from(event).map_err(|e| WebhookError::Shape(format!("events[{i}]: {e}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(WebhookBatch { events })
    }
}

/// One webhook request: its events, in order.
#[derive(Debug)]
#[non_exhaustive]
pub struct WebhookBatch {
    /// The events.
    pub events: Vec<WebhookEvent>,
}

/// One event with the properties every event has.
#[derive(Debug)]
#[non_exhaustive]
pub struct WebhookEvent {
    /// The event's `type` (`new_messages`, or one this version does not know).
    pub event_type: String,
    /// The chat.
    pub chat: Chat,
    /// The webhook channel's id (`channel.id`).
    pub channel_id: String,
    /// The chat token your application gave when it created the chat, if any.
    pub chat_token: Option<Secret>,
    /// What the event carries, by type.
    pub kind: EventKind,
}

/// A chat (the page's ChatObject).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Chat {
    /// The chat id.
    pub id: String,
    /// The chat's human, if the event names one.
    pub human: Option<Human>,
}

/// The human of a chat.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Human {
    /// The human's id.
    pub id: String,
    /// The human's display name.
    pub name: Option<String>,
}

/// What an event carries.
#[derive(Debug)]
#[non_exhaustive]
pub enum EventKind {
    /// `new_messages`: messages the bot or an agent added to the chat.
    NewMessages {
        /// The new messages.
        messages: Vec<Message>,
        /// The reply token your application gave when it sent a message, if any.
        reply_token: Option<Secret>,
    },
    /// An event type this version does not know: the whole event as sent.
    Unknown {
        /// The event as JSON.
        raw: Value,
    },
}

/// A message of a `new_messages` event (the page's MessageObject).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Message {
    /// Who wrote it, if the message says.
    pub author: Option<Author>,
    /// The message's content, by type.
    pub content: MessageContent,
}

/// The author of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Author {
    /// `human`, `bot` or `agent` (kept as sent).
    pub kind: String,
    /// The author's id.
    pub id: Option<String>,
    /// The author's display name.
    pub name: Option<String>,
}

/// A message's content (the page's DataObject per message type).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum MessageContent {
    /// `text`.
    Text {
        /// The text.
        text: String,
        /// Quick replies the bot suggests.
        quick_replies: Vec<QuickReply>,
    },
    /// `carousel`: at most 10 cards.
    Carousel {
        /// The cards.
        cards: Vec<Card>,
    },
    /// `media`: the page's field table for it is not available, so its data as sent.
    Media {
        /// The message's `data`.
        data: Value,
    },
    /// `hyperlink`: its data as sent.
    Hyperlink {
        /// The message's `data`.
        data: Value,
    },
    /// `thirdparty_agent_takeover`: a third-party agent takes the chat over; its data as sent.
    ThirdpartyAgentTakeover {
        /// The message's `data`.
        data: Value,
    },
    /// A message type this version does not know, or a known one whose data does not have
    /// the documented shape.
    Unknown {
        /// The message's `type` as sent (empty if it had none).
        message_type: String,
        /// The message's `data` (`null` if it had none).
        data: Value,
    },
}

/// A quick reply the bot suggests.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct QuickReply {
    /// The text shown to the human.
    pub title: String,
    /// The text sent as the human's answer when chosen.
    pub text: String,
}

/// A carousel card.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Card {
    /// The card's title.
    pub title: Option<String>,
    /// The card's description.
    pub text: Option<String>,
    /// The card's other fields, as sent (images, buttons: not shown on the page).
    pub extra: Map<String, Value>,
}

/// A secret path segment for the webhook endpoint, compared in constant time.
#[derive(Debug)]
pub struct SecretPath(Secret);

impl SecretPath {
    /// The expected segment.
    pub fn new(segment: Secret) -> Self {
        SecretPath(segment)
    }

    /// Whether `got` is the expected segment, in time independent of where they differ.
    pub fn matches(&self, got: &str) -> bool {
        let want = self.0.expose().as_bytes();
        let got = got.as_bytes();
        let mut diff = (want.len() ^ got.len()) as u64;
        for (i, w) in want.iter().enumerate() {
            let g = got.get(i).copied().unwrap_or(0);
            diff |= u64::from(w ^ g);
        }
        diff == 0 && !want.is_empty()
    }
}

fn string(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_owned)
}

fn event_from(event: Value) -> Result<WebhookEvent, String> {
    let Value::Object(mut obj) = event else {
        return Err("not an object".into());
    };
    let event_type = string(obj.get("type")).ok_or("no `type`")?;
    let chat = obj.get("chat").ok_or("no `chat`")?;
    let chat = Chat {
        id: string(chat.get("id")).ok_or("no `chat.id`")?,
        human: chat.get("human").and_then(|h| {
            Some(Human {
                id: string(h.get("id"))?,
                name: string(h.get("name")),
            })
        }),
    };
    let channel_id =
        string(obj.get("channel").and_then(|c| c.get("id"))).ok_or("no `channel.id`")?;
    let chat_token = string(obj.get("chatToken")).map(Secret::new);
    let kind = match event_type.as_str() {
        "new_messages" => match obj.get("messages") {
            Some(Value::Array(list)) => EventKind::NewMessages {
                messages: list.iter().map(message_from).collect(),
                reply_token: string(obj.get("replyToken")).map(Secret::new),
            },
            _ => EventKind::Unknown {
                raw: Value::Object(std::mem::take(&mut obj)),
            },
        },
        _ => EventKind::Unknown {
            raw: Value::Object(std::mem::take(&mut obj)),
        },
    };
    Ok(WebhookEvent {
        event_type,
        chat,
        channel_id,
        chat_token,
        kind,
    })
}

fn message_from(message: &Value) -> Message {
    let author = message.get("author").and_then(|a| {
        Some(Author {
            kind: string(a.get("type"))?,
            id: string(a.get("id")),
            name: string(a.get("name")),
        })
    });
    let message_type = string(message.get("type")).unwrap_or_default();
    let data = message.get("data").cloned().unwrap_or(Value::Null);
    let content = content_from(&message_type, &data)
        .unwrap_or(MessageContent::Unknown { message_type, data });
    Message { author, content }
}

/// The typed content, or `None` when the type is unknown or the data not of its shape.
fn content_from(message_type: &str, data: &Value) -> Option<MessageContent> {
    Some(match message_type {
        "text" => MessageContent::Text {
            text: string(data.get("text"))?,
            quick_replies: match data.get("quickReplies") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(list)) => list
                    .iter()
                    .map(|q| {
                        Some(QuickReply {
                            title: string(q.get("title"))?,
                            text: string(q.get("text"))?,
                        })
                    })
                    .collect::<Option<_>>()?,
                Some(_) => return None,
            },
        },
        "carousel" => MessageContent::Carousel {
            cards: data
                .get("cards")?
                .as_array()?
                .iter()
                .map(|card| {
                    let mut extra = card.as_object()?.clone();
                    let title = extra.remove("title");
                    let text = extra.remove("text");
                    Some(Card {
                        title: string(title.as_ref()),
                        text: string(text.as_ref()),
                        extra,
                    })
                })
                .collect::<Option<_>>()?,
        },
        "media" => MessageContent::Media { data: data.clone() },
        "hyperlink" => MessageContent::Hyperlink { data: data.clone() },
        "thirdparty_agent_takeover" => {
            MessageContent::ThirdpartyAgentTakeover { data: data.clone() }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn event(kind: &str, extra: Value) -> Value {
        let mut e = json!({
            "type": kind,
            "chat": {"id": "chat_1", "human": {"id": "human_1", "name": "Ada"}},
            "chatToken": "chat-token-value",
            "channel": {"id": "channel_1"},
        });
        e.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        e
    }

    fn parse(v: Value) -> Result<WebhookBatch, WebhookError> {
        WebhookParser::new().parse(v.to_string().as_bytes())
    }

    #[test]
    fn new_messages_of_every_documented_type() {
        let batch = parse(json!({"events": [event("new_messages", json!({
            "replyToken": "reply-token-value",
            "messages": [
                {"type": "text", "author": {"type": "bot", "id": "b", "name": "Bot"},
                 "data": {"text": "Hi", "quickReplies": [{"title": "Yes", "text": "yes"}]}},
                {"type": "carousel", "data": {"cards": [{"title": "T", "text": "D", "image": "u"}]}},
                {"type": "media", "data": {"url": "https://x/y.png"}},
                {"type": "hyperlink", "data": {"url": "https://x"}},
                {"type": "thirdparty_agent_takeover", "data": {}},
            ]
        }))]}))
        .unwrap();
        let e = &batch.events[0];
        assert_eq!(e.event_type, "new_messages");
        assert_eq!(e.chat.id, "chat_1");
        assert_eq!(e.chat.human.as_ref().unwrap().name.as_deref(), Some("Ada"));
        assert_eq!(e.channel_id, "channel_1");
        assert_eq!(e.chat_token.as_ref().unwrap().expose(), "chat-token-value");
        let EventKind::NewMessages {
            messages,
            reply_token,
        } = &e.kind
        else {
            panic!("not new_messages: {:?}", e.kind)
        };
        assert_eq!(reply_token.as_ref().unwrap().expose(), "reply-token-value");
        assert_eq!(messages.len(), 5);
        assert_eq!(messages[0].author.as_ref().unwrap().kind, "bot");
        assert_eq!(
            messages[0].content,
            MessageContent::Text {
                text: "Hi".into(),
                quick_replies: vec![QuickReply {
                    title: "Yes".into(),
                    text: "yes".into()
                }]
            }
        );
        let MessageContent::Carousel { cards } = &messages[1].content else {
            panic!()
        };
        assert_eq!(cards[0].title.as_deref(), Some("T"));
        assert_eq!(cards[0].extra["image"], "u");
        assert!(
            matches!(&messages[2].content, MessageContent::Media { data } if data["url"] == "https://x/y.png")
        );
        assert!(matches!(
            messages[3].content,
            MessageContent::Hyperlink { .. }
        ));
        assert!(matches!(
            messages[4].content,
            MessageContent::ThirdpartyAgentTakeover { .. }
        ));
    }

    #[test]
    fn unknown_event_and_message_types_are_kept() {
        let batch = parse(json!({"events": [
            event("chat_started", json!({"extra": 1})),
            event("new_messages", json!({"messages": [
                {"type": "sticker", "data": {"id": "s1"}},
                {"type": "text", "data": {"text": 5}},
                {"data": {"text": "no type"}},
            ]})),
        ]}))
        .unwrap();
        let EventKind::Unknown { raw } = &batch.events[0].kind else {
            panic!()
        };
        assert_eq!(raw["extra"], 1);
        assert_eq!(batch.events[0].event_type, "chat_started");
        let EventKind::NewMessages { messages, .. } = &batch.events[1].kind else {
            panic!()
        };
        assert_eq!(
            messages[0].content,
            MessageContent::Unknown {
                message_type: "sticker".into(),
                data: json!({"id": "s1"})
            }
        );
        assert!(
            matches!(&messages[1].content, MessageContent::Unknown { message_type, .. } if message_type == "text")
        );
        assert!(
            matches!(&messages[2].content, MessageContent::Unknown { message_type, .. } if message_type.is_empty())
        );
    }

    #[test]
    fn bounds_and_shapes_are_refused_with_typed_errors() {
        let body = json!({"events": []}).to_string();
        let small = WebhookParser::new().max_body(5);
        assert!(matches!(
            small.parse(body.as_bytes()),
            Err(WebhookError::TooLarge { limit: 5, .. })
        ));
        assert!(
            WebhookParser::new()
                .parse(body.as_bytes())
                .unwrap()
                .events
                .is_empty()
        );
        assert!(matches!(
            WebhookParser::new().parse(b"{not json"),
            Err(WebhookError::NotJson { .. })
        ));
        assert!(matches!(parse(json!([1])), Err(WebhookError::Shape(_))));
        assert!(matches!(
            parse(json!({"events": 1})),
            Err(WebhookError::Shape(_))
        ));
        let mut no_channel = event("new_messages", json!({"messages": []}));
        no_channel.as_object_mut().unwrap().remove("channel");
        let err = parse(json!({"events": [no_channel]})).unwrap_err();
        assert!(
            err.to_string().contains("events[0]: no `channel.id`"),
            "{err}"
        );
    }

    #[test]
    fn tokens_and_body_text_stay_out_of_debug_and_errors() {
        let batch = parse(json!({"events": [event("new_messages", json!({
            "replyToken": "reply-token-value", "messages": []}))]}))
        .unwrap();
        let shown = format!("{batch:?}");
        assert!(!shown.contains("chat-token-value") && !shown.contains("reply-token-value"));
        let err = WebhookParser::new()
            .parse(b"{\"secret-ish\": ")
            .unwrap_err();
        assert!(!err.to_string().contains("secret-ish"));
    }

    #[test]
    fn secret_path_compares_whole_segments() {
        let path = SecretPath::new(Secret::new("s3cr3t-segment"));
        assert!(path.matches("s3cr3t-segment"));
        assert!(!path.matches("s3cr3t-segmen"));
        assert!(!path.matches("s3cr3t-segment1"));
        assert!(!path.matches(""));
        assert!(!SecretPath::new(Secret::new("")).matches(""));
        assert!(!format!("{path:?}").contains("s3cr3t"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = WebhookParser::new().parse(&body);
        }

        #[test]
        fn arbitrary_json_events_never_panic(
            kind in "[a-z_]{0,12}",
            mtype in prop_oneof![Just("text".to_owned()), Just("carousel".to_owned()), "[a-z_]{0,10}"],
            data in prop_oneof![
                Just(json!(null)), Just(json!({"text": "t"})), Just(json!({"text": 1})),
                Just(json!({"cards": [1, {"title": 2}]})), Just(json!({"quickReplies": [{"title": "a"}]})),
                Just(json!("str")),
            ],
        ) {
            let body = json!({"events": [event(&kind, json!({"messages": [{"type": mtype, "data": data}]}))]});
            prop_assert!(parse(body).is_ok());
        }
    }
}
