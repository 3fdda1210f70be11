//! Proto's Developer API (`ProtoPlatform`), Messaging API (`ProtoMessaging`) and webhook
//! events (`proto_webhook`) over real HTTP on loopback, against the test kit's fakes: wire
//! format, credential placement, errors (a refused static credential is `InvalidCredentials`
//! after one request), per-call options and retries, text to speech in every encoding, and a
//! webhook receiver fed by the test kit's sender.

use std::sync::{Arc, Mutex};

use axum::extract::DefaultBodyLimit;
use cxkit::clients::proto_developer::types::{
    AddCustomFields, AddTags, CreateTicket, CustomFieldCreate, CustomFieldValue, CustomerCreate,
};
use cxkit::clients::proto_messaging::types::{ChannelHumanCreate, ChatCreate, ChatHuman};
use cxkit::proto_developer::{SpeechEncoding, SpeechFormat};
use cxkit::proto_webhook::{EventKind, MessageContent, WebhookParser};
use cxkit::{
    CallOptions, Error, ProtoMessaging, ProtoPlatform, RetryPolicy, Secret, TextToSpeechRequest,
};
use cxkit_testkit::Reply;
use cxkit_testkit::proto_messaging::{self, FakeProtoMessaging, WebhookSender, text_message};
use cxkit_testkit::proto_platform::{FakeProtoPlatform, TAKEOVER_SECRET, TtsEncoding};
use serde_json::{Value, json};

const TEAMSPACE: &str = "sc_42";
const CHANNEL: &str = "ch_7";

fn platform(fake: &FakeProtoPlatform, secret: &str) -> ProtoPlatform {
    ProtoPlatform::builder()
        .base_url(fake.api_url())
        .teamspace_id(TEAMSPACE)
        .takeover_secret(Secret::new(secret))
        .build()
        .unwrap()
}

fn messaging(fake: &FakeProtoMessaging, token: &str) -> ProtoMessaging {
    ProtoMessaging::builder()
        .base_url(fake.gateway_url())
        .channel_id(CHANNEL)
        .personal_access_token(Secret::new(token))
        .build()
        .unwrap()
}

fn ticket() -> CreateTicket {
    CreateTicket {
        subject: "Refund".into(),
        provided_unique_id: Some("user-1".into()),
        customer_id: None,
        external_customer_id: None,
        gateway_profile_id: None,
    }
}

#[tokio::test]
async fn developer_calls_send_the_takeover_secret_as_bearer_on_the_documented_paths() {
    let fake = FakeProtoPlatform::start().await;
    let proto = platform(&fake, TAKEOVER_SECRET);

    let id = proto.create_ticket(ticket()).await.unwrap();
    assert!(id.starts_with("conv_fake"), "{id}");
    let sent = &fake.requests_to("create_ticket")[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(
        sent.path,
        "/api/platform/v1/conversations/sc_42/create-ticket"
    );
    assert_eq!(sent.bearer(), Some(TAKEOVER_SECRET));
    assert_eq!(
        sent.json::<Value>(),
        json!({"subject": "Refund", "provided_unique_id": "user-1"})
    );

    let created = proto
        .create_customer(
            "user-1",
            CustomerCreate {
                name: Some("Ada".into()),
                email: Some("ada@example.com".into()),
                external_customer_id: None,
                location: None,
                phone_number: None,
                avatar: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(created["name"], "Ada");
    let sent = &fake.requests_to("create_customer")[0];
    assert_eq!(sent.method, "PUT");
    assert_eq!(
        sent.path,
        "/api/platform/v1/customers/sc_42/create-customer/user-1"
    );

    proto
        .add_customer_tags(
            "user-1",
            AddTags {
                tags: vec!["vip".into()],
                create_if_not_exists: Some(true),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        fake.requests_to("add_customer_tags")[0].path,
        "/api/platform/v1/customers/sc_42/customer/user-1/add-tags"
    );
    let field = proto
        .create_custom_field(CustomFieldCreate {
            name: "plan".into(),
            type_: "select".into(),
            select_options: vec!["gold".into(), "silver".into()],
        })
        .await
        .unwrap();
    let field_id = field["id"].as_str().unwrap().to_owned();
    proto
        .add_customer_custom_fields(
            "user-1",
            AddCustomFields {
                custom_fields: vec![CustomFieldValue {
                    id: Some(field_id.clone()),
                    name: None,
                    value: Some(json!("gold")),
                }],
            },
        )
        .await
        .unwrap();
    let customer = proto.get_customer("user-1").await.unwrap();
    assert_eq!(customer["tags"], json!(["vip"]));
    assert!(
        customer.get("custom_fields").is_none(),
        "get-customer omits custom field values"
    );
    assert_eq!(
        fake.requests_to("get_customer")[0].path,
        "/api/platform/v1/customers/sc_42/customer/user-1/get-customer"
    );

    let listed = proto.list_custom_fields().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    proto.delete_custom_field(&field_id).await.unwrap();
    assert_eq!(
        fake.requests_to("delete_custom_field")[0].path,
        format!(
            "/api/platform/v1/custom-fields/sc_42/custom-field/{field_id}/delete-custom-fields"
        )
    );
    assert!(
        fake.requests()
            .iter()
            .all(|r| r.bearer() == Some(TAKEOVER_SECRET))
    );
}

#[tokio::test]
async fn a_refused_takeover_secret_is_invalid_credentials_after_one_request() {
    let fake = FakeProtoPlatform::start().await;
    let proto = platform(&fake, "wrong-takeover-secret-value");
    let err = proto.create_ticket(ticket()).await.unwrap_err();
    assert!(matches!(err, Error::InvalidCredentials { .. }), "{err:?}");
    let err = proto.list_custom_fields().await.unwrap_err();
    assert!(matches!(err, Error::InvalidCredentials { .. }), "{err:?}");
    let mut speech = Vec::new();
    let err = proto
        .text_to_speech(&TextToSpeechRequest::new("Muraho"), &mut speech)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidCredentials { .. }), "{err:?}");
    assert!(speech.is_empty());
    // One request per call: no refresh, no replay, no retry of a refused static secret.
    assert_eq!(fake.requests().len(), 3);
    assert!(!format!("{err} {err:?} {proto:?}").contains("wrong-takeover-secret-value"));
}

#[tokio::test]
async fn text_to_speech_writes_the_same_audio_whichever_encoding_the_server_uses() {
    let fake = FakeProtoPlatform::start().await;
    let proto = platform(&fake, TAKEOVER_SECRET);
    let text = "Muraho neza";
    let want = FakeProtoPlatform::speech_for(text);
    for (encoding, expected) in [
        (TtsEncoding::Base64Json, SpeechEncoding::Base64Json),
        (TtsEncoding::Base64Text, SpeechEncoding::Base64Text),
        (TtsEncoding::Raw, SpeechEncoding::Raw),
    ] {
        fake.set_tts_encoding(encoding);
        let mut audio = Vec::new();
        let request = TextToSpeechRequest::new(text)
            .lang("rw")
            .format(SpeechFormat::Mp3)
            .speed(1.0)
            .gender("female");
        let out = proto.text_to_speech(&request, &mut audio).await.unwrap();
        assert_eq!(out.encoding, expected, "{encoding:?}");
        assert_eq!(audio, want, "{encoding:?}");
        assert_eq!(out.bytes, want.len() as u64);
    }
    let sent = &fake.requests_to("text_to_speech")[0];
    assert_eq!(sent.path, "/api/platform/v1/voice/sc_42/tts");
    assert_eq!(sent.bearer(), Some(TAKEOVER_SECRET));
    assert_eq!(
        sent.json::<Value>(),
        json!({"text": text, "lang": "rw", "response_format": "mp3", "speed": 1.0, "gender": "female"})
    );
}

#[tokio::test]
async fn text_to_speech_refuses_bad_answers_and_oversized_audio_with_typed_errors() {
    let fake = FakeProtoPlatform::start().await;
    let proto = platform(&fake, TAKEOVER_SECRET);
    // Too long a text never leaves the client.
    let err = proto
        .text_to_speech(&TextToSpeechRequest::new("a".repeat(5001)), &mut Vec::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    assert_eq!(fake.count("text_to_speech"), 0);
    // A JSON answer that is not a Base64 string.
    fake.once("text_to_speech", Reply::json(&json!({"audio": "QUJD"})));
    let err = proto
        .text_to_speech(&TextToSpeechRequest::new("hi"), &mut Vec::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    // An error answer.
    fake.once("text_to_speech", Reply::error(422, "lang not supported"));
    let err = proto
        .text_to_speech(&TextToSpeechRequest::new("hi"), &mut Vec::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api { status: 422, .. }), "{err:?}");
    // More audio than the handle allows.
    let small = ProtoPlatform::builder()
        .base_url(fake.api_url())
        .teamspace_id(TEAMSPACE)
        .takeover_secret(Secret::new(TAKEOVER_SECRET))
        .max_audio_bytes(100)
        .build()
        .unwrap();
    let err = small
        .text_to_speech(&TextToSpeechRequest::new("hi"), &mut Vec::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ResponseTooLarge { limit: 100, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn speech_to_text_uploads_the_file_as_multipart() {
    let fake = FakeProtoPlatform::start().await;
    let proto = platform(&fake, TAKEOVER_SECRET);
    let answer = proto
        .speech_to_text(b"RIFF....WAVEfmt ".to_vec(), "hello.wav", "audio/wav")
        .await
        .unwrap();
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .starts_with("fake transcription")
    );
    let sent = &fake.requests_to("speech_to_text")[0];
    assert_eq!(sent.path, "/api/platform/v1/voice/sc_42/asr");
    assert!(
        sent.header("content-type")
            .unwrap()
            .starts_with("multipart/form-data")
    );
    assert!(sent.body.contains("filename=\"hello.wav\""));
    let err = proto
        .speech_to_text(vec![0; 15 * 1024 * 1024 + 1], "big.mp3", "audio/mpeg")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
}

#[tokio::test]
async fn per_call_options_and_retries_reach_the_developer_calls() {
    let fake = FakeProtoPlatform::start().await;
    let proto = platform(&fake, TAKEOVER_SECRET);
    // A GET is retried on a transient failure.
    fake.once("list_custom_fields", Reply::status(503));
    proto.list_custom_fields().await.unwrap();
    assert_eq!(fake.count("list_custom_fields"), 2);
    // A POST is not.
    fake.once("create_ticket", Reply::status(503));
    let err = proto.create_ticket(ticket()).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert_eq!(fake.count("create_ticket"), 1);
    // Per-call options: an extra header on generated and hand-written calls alike.
    let view = proto.with_options(CallOptions::new().header("x-trace", "t-1"));
    view.list_custom_fields().await.unwrap();
    view.text_to_speech(&TextToSpeechRequest::new("hi"), &mut Vec::new())
        .await
        .unwrap();
    assert_eq!(
        fake.requests_to("list_custom_fields")[2].header("x-trace"),
        Some("t-1")
    );
    assert_eq!(
        fake.requests_to("text_to_speech")[0].header("x-trace"),
        Some("t-1")
    );
    // A retry policy of none turns the GET retry off.
    let once = proto.with_options(CallOptions::new().retry(RetryPolicy::never()));
    fake.once("list_custom_fields", Reply::status(503));
    assert!(once.list_custom_fields().await.is_err());
}

#[tokio::test]
async fn messaging_calls_send_the_pat_in_x_proto_token() {
    let fake = FakeProtoMessaging::start().await;
    let proto = messaging(&fake, proto_messaging::TOKEN);
    let id = proto
        .create_human(ChannelHumanCreate {
            name: Some("Ada".into()),
            email: Some("ada@example.com".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let sent = &fake.requests_to("create_channel_human")[0];
    assert_eq!(sent.path, "/webhook/ch_7/human");
    assert_eq!(sent.header("x-proto-token"), Some(proto_messaging::TOKEN));
    assert_eq!(sent.header("authorization"), None);
    assert_eq!(
        sent.json::<Value>(),
        json!({"name": "Ada", "email": "ada@example.com"})
    );
    let human = proto.get_human(&id).await.unwrap();
    assert_eq!(human.id, id);
    assert_eq!(human.name.as_deref(), Some("Ada"));
    assert_eq!(
        fake.requests_to("get_channel_human")[0].path,
        format!("/webhook/ch_7/human/{id}")
    );
    let chat = proto
        .create_chat(ChatCreate {
            human: Some(ChatHuman {
                id: Some(id.clone()),
                ..Default::default()
            }),
            chat_token: None,
        })
        .await
        .unwrap();
    let chat_id = chat["id"].as_str().unwrap();
    assert_eq!(
        fake.chat(CHANNEL, chat_id).unwrap()["human"]["id"],
        json!(id)
    );
    let err = proto.get_human("human_missing").await.unwrap_err();
    assert!(matches!(err, Error::Api { status: 404, .. }), "{err:?}");
}

#[tokio::test]
async fn a_refused_pat_is_invalid_credentials_after_one_request() {
    let fake = FakeProtoMessaging::start().await;
    let proto = messaging(&fake, "wrong-personal-access-token");
    let err = proto.get_human("human_1").await.unwrap_err();
    assert!(matches!(err, Error::InvalidCredentials { .. }), "{err:?}");
    assert_eq!(fake.requests().len(), 1);
    assert!(!format!("{err} {err:?} {proto:?}").contains("wrong-personal-access-token"));
}

/// A receiver as an application would write it: the parser behind axum, with a body limit.
async fn receiver(limit: usize) -> (String, Arc<Mutex<Vec<cxkit::proto_webhook::WebhookBatch>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let parser = WebhookParser::new().max_body(limit);
    let store = seen.clone();
    let app = axum::Router::new()
        .route(
            "/hooks/proto",
            axum::routing::post(move |body: axum::body::Bytes| {
                let store = store.clone();
                async move {
                    match parser.parse(&body) {
                        Ok(batch) => {
                            store.lock().unwrap().push(batch);
                            axum::http::StatusCode::OK
                        }
                        Err(cxkit::proto_webhook::WebhookError::TooLarge { .. }) => {
                            axum::http::StatusCode::PAYLOAD_TOO_LARGE
                        }
                        Err(_) => axum::http::StatusCode::BAD_REQUEST,
                    }
                }
            }),
        )
        .layer(DefaultBodyLimit::max(limit + 1));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/proto", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test]
async fn webhook_events_posted_by_the_sender_arrive_typed_and_unknown_ones_are_kept() {
    let (url, seen) = receiver(64 * 1024).await;
    let sender = WebhookSender::new(url);
    let delivery = sender
        .send(vec![
            WebhookSender::new_messages(
                "chat_1",
                "human_1",
                CHANNEL,
                vec![
                    text_message("bot", "Hello"),
                    proto_messaging::message("media", "agent", json!({"url": "https://x/a.png"})),
                    proto_messaging::message("poll", "bot", json!({"question": "?"})),
                ],
            ),
            json!({"type": "chat_closed", "chat": {"id": "chat_1"}, "channel": {"id": CHANNEL}}),
        ])
        .await
        .unwrap();
    assert_eq!(delivery.status, 200);
    let seen = seen.lock().unwrap();
    let events = &seen[0].events;
    assert_eq!(events.len(), 2);
    let EventKind::NewMessages { messages, .. } = &events[0].kind else {
        panic!("{:?}", events[0].kind)
    };
    assert!(matches!(&messages[0].content, MessageContent::Text { text, .. } if text == "Hello"));
    assert!(matches!(messages[1].content, MessageContent::Media { .. }));
    assert!(
        matches!(&messages[2].content, MessageContent::Unknown { message_type, .. } if message_type == "poll")
    );
    assert_eq!(events[1].event_type, "chat_closed");
    assert!(matches!(events[1].kind, EventKind::Unknown { .. }));
}

#[tokio::test]
async fn webhook_bodies_over_the_bound_or_malformed_are_refused() {
    let (url, seen) = receiver(1024).await;
    let sender = WebhookSender::new(url);
    let big = vec![text_message("bot", &"x".repeat(2000))];
    let delivery = sender
        .send(vec![WebhookSender::new_messages("c", "h", CHANNEL, big)])
        .await
        .unwrap();
    assert_eq!(delivery.status, 413);
    let delivery = sender.send_body("{\"events\": 1}").await.unwrap();
    assert_eq!(delivery.status, 400);
    assert!(seen.lock().unwrap().is_empty());
}
