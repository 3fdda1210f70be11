//! A Proto webhook receiver served with axum, and the test kit's sender posting to it, with no
//! vendor credentials.
//!
//! Proto documents no signature for its webhook requests, so the endpoint protects itself:
//! - a **secret path** (`/proto/<secret>`), compared in constant time with
//!   `cxkit::proto_webhook::SecretPath`; keep the secret out of access logs;
//! - an **allow-list** of the peer addresses Proto posts from (here loopback; in production the
//!   addresses your deployment knows, or enforce it at the load balancer);
//! - a **body limit** (axum's `DefaultBodyLimit` and the parser's own bound).
//!
//! The handler answers 200 at once, as the page asks, and hands the events to a worker.
//!
//! ```sh
//! cargo run -p cxkit-tests --example proto_webhook_axum
//! ```

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use cxkit::Secret;
use cxkit::proto_webhook::{EventKind, MessageContent, SecretPath, WebhookBatch, WebhookParser};
use cxkit_testkit::proto_messaging::{WebhookSender, message, text_message};
use serde_json::json;
use tokio::sync::mpsc;

struct Receiver {
    path: SecretPath,
    allowed: Vec<IpAddr>,
    parser: WebhookParser,
    events: mpsc::Sender<WebhookBatch>,
}

async fn receive(
    State(rx): State<Arc<Receiver>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(secret): Path<String>,
    body: Bytes,
) -> StatusCode {
    if !rx.allowed.contains(&peer.ip()) || !rx.path.matches(&secret) {
        // The same answer for both, so a prober learns nothing.
        return StatusCode::NOT_FOUND;
    }
    match rx.parser.parse(&body) {
        Ok(batch) => {
            // Answer at once; the work happens elsewhere.
            let _ = rx.events.try_send(batch);
            StatusCode::OK
        }
        Err(cxkit::proto_webhook::WebhookError::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // In production: a long random value from your secret store, registered as the webhook
    // URL's last segment.
    let secret = "3q2-example-secret-path-segment-Zx9";
    let parser = WebhookParser::new();
    let (events, mut inbox) = mpsc::channel(64);
    let state = Arc::new(Receiver {
        path: SecretPath::new(Secret::new(secret)),
        allowed: vec![IpAddr::from([127, 0, 0, 1])],
        parser,
        events,
    });
    let app = Router::new()
        .route("/proto/{secret}", post(receive))
        .layer(DefaultBodyLimit::max(parser.limit()))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });

    // What Proto would post: one new_messages event with a known and an unknown message type,
    // and an event type this version does not know.
    let sender = WebhookSender::new(format!("{base}/proto/{secret}"));
    let delivery = sender
        .send(vec![
            WebhookSender::new_messages(
                "chat_1",
                "human_1",
                "channel_1",
                vec![
                    text_message("bot", "How can I help?"),
                    message("sticker", "human", json!({"id": "s1"})),
                ],
            ),
            json!({"type": "feedback", "chat": {"id": "chat_1"}, "channel": {"id": "channel_1"},
                   "rating": 5}),
        ])
        .await?;
    println!("delivery answered {}", delivery.status);
    let wrong = WebhookSender::new(format!("{base}/proto/guessed"))
        .send(vec![])
        .await?;
    println!("a guessed path answered {}", wrong.status);

    let batch = inbox.recv().await.ok_or("no events arrived")?;
    for event in &batch.events {
        match &event.kind {
            EventKind::NewMessages { messages, .. } => {
                for m in messages {
                    match &m.content {
                        MessageContent::Text { text, .. } => {
                            println!("{}: text {text:?}", event.chat.id)
                        }
                        MessageContent::Unknown { message_type, .. } => {
                            println!("{}: kept a {message_type} message", event.chat.id)
                        }
                        other => println!("{}: {other:?}", event.chat.id),
                    }
                }
            }
            _ => println!("kept a {} event", event.event_type),
        }
    }
    Ok(())
}
