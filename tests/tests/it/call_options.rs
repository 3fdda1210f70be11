//! Per-call options (`CallOptions`) over real HTTP on loopback: a per-call timeout replaces the
//! client-wide one (both ways) and bounds an answer stream, `no_retry` makes one attempt, an
//! idempotency key makes a POST retryable with the same key on every attempt, extra headers
//! reach generated and hand-written calls (SSE, upload, Proto, Platform28) without ever
//! showing in Debug output or logs, and a view's options do not leak into the session.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::routing::post;
use cxkit::clients::ejento_platform::types::{AgentResponseRequest, ChatThreadCreate};
use cxkit::{
    CallOptions, Config, DocumentUpload, Ejento, Error, HttpConfig, Platform28, Proto, RetryPolicy,
    Secret, StreamEvent, WithOptions,
};
use cxkit_testkit::ejento::{FakeEjento, PASSWORD_OF_USER, USER};

use crate::support::{assert_transient, logged_in};
use futures::StreamExt as _;

const JSON: &[(&str, &str)] = &[("content-type", "application/json")];
const SSE: &[(&str, &str)] = &[("content-type", "text/event-stream")];
const ME: &str = "/api/v2/users/me";
const ME_JSON: &str = r#"{"success":true,"data":{"id":1,"email":"a@b.c"}}"#;
const THREAD: &str = "/api/agent/7/chat-thread";
const THREAD_JSON: &str = r#"{"success":true,"data":{"id":55,"agent":7,"title":"New Chat"}}"#;
const STREAM: &str = "/response-service/api/v2/agents/7/responses/stream";
const UPLOAD: &str = "/indexing-service/api/v2/corpora/5/documents";
/// A header value that must reach the server and nothing else.
const TAG: &str = "tag-value-never-logged-4f1c";
/// An idempotency key, likewise.
const KEY: &str = "idem-key-never-logged-9b2e";

async fn session_with(server: &FakeEjento, http: HttpConfig) -> Ejento {
    session_from(server, Config::builder().http(http).build().unwrap()).await
}

/// A session on `config`, logged in to `server`.
async fn session_from(server: &FakeEjento, config: Config) -> Ejento {
    logged_in(server, &config).await
}

async fn session(server: &FakeEjento) -> Ejento {
    session_with(server, HttpConfig::default()).await
}

async fn me(ejento: &Ejento) -> cxkit::Result<()> {
    ejento.platform().get_current_user().send().await?;
    Ok(())
}

async fn create_thread(ejento: &Ejento) -> cxkit::Result<()> {
    ejento
        .platform()
        .legacy_create_chat_thread()
        .agent_id(7)
        .body(ChatThreadCreate {
            agent: Some(7),
            created_by: None,
        })
        .send()
        .await?;
    Ok(())
}

fn question() -> AgentResponseRequest {
    AgentResponseRequest::builder()
        .user_query("How many days of leave?")
        .try_into()
        .unwrap()
}

fn is_timeout(error: &Error) -> bool {
    matches!(error, Error::Transient { .. }) && error.to_string().contains("timed out")
}

/// Runs `call` while the held requests to `path` are let through after `after` (real time).
async fn released_after<T>(
    server: &FakeEjento,
    path: &str,
    after: Duration,
    call: impl std::future::Future<Output = T>,
) -> T {
    let release = async {
        tokio::time::sleep(after).await;
        server.release(path);
    };
    tokio::join!(call, release).0
}

#[tokio::test]
async fn a_per_call_timeout_fires_on_a_slow_call_the_client_wide_one_lets_through() {
    let server = FakeEjento::start().await;
    let ejento = session(&server).await;
    // One answer per request: the timed-out one is answered (to nobody) on release.
    server.script("GET", ME, 200, JSON, ME_JSON);
    server.script("GET", ME, 200, JSON, ME_JSON);
    server.hold(ME);

    let quick = ejento.with_options(CallOptions::new().timeout(Duration::from_millis(150)));
    let error = me(&quick).await.unwrap_err();
    assert!(is_timeout(&error), "{error:?}");
    // The deadline leaves no room for a retry.
    assert_eq!(server.count(ME), 1);

    // The same slow answer, without the option: the client-wide 300 s deadline lets it through.
    released_after(&server, ME, Duration::from_millis(400), me(&ejento))
        .await
        .unwrap();
}

/// The client cxkit builds bounds each request by the total timeout itself, and the hooks rely
/// on that; a client the application supplies has no such bound, and the hooks set it on each
/// call. Either way a call held past the deadline ends there.
#[tokio::test]
async fn the_total_deadline_holds_whether_cxkit_or_the_application_built_the_client() {
    for supplied in [false, true] {
        let server = FakeEjento::start().await;
        let http = HttpConfig {
            total_timeout: Some(Duration::from_millis(200)),
            ..HttpConfig::default()
        };
        let mut config = Config::builder().http(http.clone());
        if supplied {
            config = config.http_client(http.client_builder().build().unwrap());
        }
        let ejento = session_from(&server, config.build().unwrap()).await;
        server.script("GET", ME, 200, JSON, ME_JSON);
        server.hold(ME);
        let error = tokio::time::timeout(Duration::from_secs(10), me(&ejento))
            .await
            .expect("the deadline ends the call, not the guard")
            .unwrap_err();
        assert!(is_timeout(&error), "supplied client: {supplied}: {error:?}");
        // No time was left for a retry.
        assert_eq!(server.count(ME), 1, "supplied client: {supplied}");
        server.release(ME);
    }
}

#[tokio::test]
async fn a_longer_per_call_timeout_lets_a_slow_call_through() {
    let server = FakeEjento::start().await;
    let http = HttpConfig {
        total_timeout: Some(Duration::from_millis(150)),
        ..HttpConfig::default()
    };
    let ejento = session_with(&server, http).await;
    server.script("GET", ME, 200, JSON, ME_JSON);
    server.script("GET", ME, 200, JSON, ME_JSON);
    server.hold(ME);

    let error = me(&ejento).await.unwrap_err();
    assert!(is_timeout(&error), "{error:?}");

    let patient = ejento.with_options(CallOptions::new().timeout(Duration::from_secs(30)));
    released_after(&server, ME, Duration::from_millis(400), me(&patient))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_per_call_timeout_bounds_an_answer_stream_the_client_wide_one_exempts() {
    // One event, then silence for longer than the test: only a deadline on the whole stream
    // ends it.
    let app = Router::new().route(
        STREAM,
        post(|| async {
            let first = futures::stream::once(async {
                Ok::<_, Infallible>(Bytes::from_static(
                    b"data: {\"step\":\"assistant_stream\",\"delta\":\"20 \"}\n\n",
                ))
            });
            let stall = futures::stream::once(async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok::<_, Infallible>(Bytes::new())
            });
            axum::response::Response::builder()
                .header("content-type", "text/event-stream")
                .body(Body::from_stream(first.chain(stall)))
                .unwrap()
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let platform = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let fake = FakeEjento::start().await;
    let http = HttpConfig {
        // Short enough that, were it applied to streams, the first part would fail too.
        total_timeout: Some(Duration::from_millis(100)),
        ..HttpConfig::default()
    };
    let ejento = Ejento::builder()
        .auth_base_url(fake.base_url())
        .platform_base_url(&platform)
        .config(&Config::builder().http(http).build().unwrap())
        .build()
        .unwrap();
    ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .unwrap();

    // The client-wide deadline does not cut a stream: the first event arrives and the stream is
    // still open well past it.
    let mut open = ejento.stream_agent_response(7, &question()).await.unwrap();
    assert_eq!(
        open.next().await.unwrap().unwrap(),
        StreamEvent::AnswerDelta("20 ".into())
    );
    let waited = tokio::time::timeout(Duration::from_millis(400), open.next()).await;
    assert!(waited.is_err(), "the stream ended early: {waited:?}");

    // A per-call timeout does.
    let bounded = ejento.with_options(CallOptions::new().timeout(Duration::from_millis(300)));
    let events: Vec<_> = tokio::time::timeout(
        Duration::from_secs(20),
        bounded
            .stream_agent_response(7, &question())
            .await
            .unwrap()
            .collect::<Vec<_>>(),
    )
    .await
    .expect("the per-call timeout ends the stream");
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(
        events[0].as_ref().unwrap(),
        &StreamEvent::AnswerDelta("20 ".into())
    );
    assert!(
        matches!(&events[1], Err(Error::Transient { .. })),
        "{:?}",
        events[1]
    );
}

#[tokio::test(start_paused = true)]
async fn no_retry_makes_one_attempt_on_a_503_where_the_default_retries() {
    let server = FakeEjento::start().await;
    let ejento = session(&server).await;
    server.script("GET", ME, 503, JSON, "{}");
    let once = ejento.with_options(CallOptions::new().no_retry());
    let error = me(&once).await.unwrap_err();
    assert_transient(&error, Some(503));
    assert_eq!(server.count(ME), 1);

    server.script("GET", ME, 503, JSON, "{}");
    server.script("GET", ME, 200, JSON, ME_JSON);
    me(&ejento).await.unwrap();
    assert_eq!(server.count(ME), 3, "the session itself still retries");

    // A policy of its own, too: two retries where the session's policy would allow none more.
    let ejento_no_retry = Ejento::builder()
        .config(
            &Config::builder()
                .retry(RetryPolicy::never())
                .build()
                .unwrap(),
        )
        .base_url(server.base_url())
        .build()
        .unwrap();
    ejento_no_retry
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .unwrap();
    server.script("GET", ME, 503, JSON, "{}");
    server.script("GET", ME, 503, JSON, "{}");
    server.script("GET", ME, 200, JSON, ME_JSON);
    let persistent = ejento_no_retry.with_options(CallOptions::new().retry(RetryPolicy::default()));
    me(&persistent).await.unwrap();
    assert_eq!(server.count(ME), 6);
}

#[tokio::test(start_paused = true)]
async fn an_idempotency_key_makes_a_post_retryable_with_the_same_key_on_every_attempt() {
    let server = FakeEjento::start().await;
    let ejento = session(&server).await;

    // Without a key a POST is never retried.
    server.script("POST", THREAD, 503, JSON, "{}");
    let error = create_thread(&ejento).await.unwrap_err();
    assert_transient(&error, Some(503));
    assert_eq!(server.count(THREAD), 1);
    assert_eq!(
        server.requests_to(THREAD)[0].header("idempotency-key"),
        None
    );

    server.script("POST", THREAD, 503, JSON, "{}");
    server.script("POST", THREAD, 503, JSON, "{}");
    server.script("POST", THREAD, 201, JSON, THREAD_JSON);
    let keyed = ejento.with_options(CallOptions::new().idempotency_key(KEY));
    create_thread(&keyed).await.unwrap();
    let sent = server.requests_to(THREAD);
    assert_eq!(sent.len(), 4);
    for attempt in &sent[1..] {
        assert_eq!(attempt.header("idempotency-key"), Some(KEY));
    }
}

#[tokio::test]
async fn extra_headers_reach_generated_and_hand_written_calls_and_never_debug_or_logs() {
    let capture = crate::support::logs();
    let server = FakeEjento::start().await;
    let ejento = session(&server).await;
    let tagged = ejento.with_options(
        CallOptions::new()
            .header("X-Trace-Tag", TAG)
            .idempotency_key(KEY),
    );

    // Generated calls: the platform client, and the Authentication App client.
    server.script("GET", ME, 200, JSON, ME_JSON);
    me(&tagged).await.unwrap();
    tagged
        .auth()
        .get_login_feature_flags()
        .send()
        .await
        .unwrap();
    // Hand-written calls: SSE and the streamed upload.
    server.script(
        "POST",
        STREAM,
        200,
        SSE,
        "data: {\"step\":\"end\",\"success\":true,\"output\":{\"answer\":\"ok\"}}\n\n",
    );
    tagged
        .stream_agent_response(7, &question())
        .await
        .unwrap()
        .into_answer()
        .await
        .unwrap();
    server.script(
        "POST",
        UPLOAD,
        200,
        JSON,
        r#"{"success":true,"data":{"id":77,"step":"pending"}}"#,
    );
    let upload = DocumentUpload::from_reader("a.txt", &b"hello"[..], Some(5));
    tagged.upload_document(5, upload).await.unwrap();

    for path in [
        ME,
        "/auth-service/api/v2/feature-flags/logins",
        STREAM,
        UPLOAD,
    ] {
        let sent = server.requests_to(path);
        assert_eq!(sent.len(), 1, "{path}");
        assert_eq!(sent[0].header("x-trace-tag"), Some(TAG), "{path}");
        assert_eq!(sent[0].header("idempotency-key"), Some(KEY), "{path}");
        // The credential still goes as before (the feature flags are public).
        assert_eq!(
            sent[0].bearer().is_some(),
            !path.contains("feature-flags"),
            "{path}"
        );
    }

    for debug in [
        format!("{tagged:?}"),
        format!("{:?}", tagged.platform()),
        format!(
            "{:?}",
            CallOptions::new()
                .header("x-trace-tag", TAG)
                .idempotency_key(KEY)
        ),
    ] {
        assert!(!debug.contains(TAG) && !debug.contains(KEY), "{debug}");
    }
    let logs = capture.text();
    assert!(logs.contains("cxkit.request"), "the capture works");
    assert!(!logs.contains(TAG) && !logs.contains(KEY), "{logs}");
}

#[tokio::test]
async fn options_on_a_view_do_not_leak_into_the_session() {
    let server = FakeEjento::start().await;
    let ejento = session(&server).await;
    let view = ejento.with_options(
        CallOptions::new()
            .header("x-trace-tag", TAG)
            .timeout(Duration::from_millis(150)),
    );
    server.script("GET", ME, 200, JSON, ME_JSON);
    me(&view).await.unwrap();
    server.script("GET", ME, 200, JSON, ME_JSON);
    me(&ejento).await.unwrap();
    let sent = server.requests_to(ME);
    assert_eq!(sent[0].header("x-trace-tag"), Some(TAG));
    assert_eq!(sent[1].header("x-trace-tag"), None);

    // The view's short timeout is not the session's either.
    server.script("GET", ME, 200, JSON, ME_JSON);
    server.hold(ME);
    released_after(&server, ME, Duration::from_millis(400), me(&ejento))
        .await
        .unwrap();

    // A view of a view keeps the first view's options under its own.
    let both = view.with_options(CallOptions::new().header("x-other", "2"));
    server.script("GET", ME, 200, JSON, ME_JSON);
    me(&both).await.unwrap();
    let last = server.requests_to(ME).pop().unwrap();
    assert_eq!(last.header("x-trace-tag"), Some(TAG));
    assert_eq!(last.header("x-other"), Some("2"));
}

#[tokio::test]
async fn an_invalid_or_reserved_header_fails_the_call_as_a_config_error_without_its_value() {
    let server = FakeEjento::start().await;
    let ejento = session(&server).await;
    for options in [
        CallOptions::new().header("x-bad", "line\nbreak-secret"),
        CallOptions::new().header("Authorization", "Bearer secret"),
    ] {
        let error = me(&ejento.with_options(options)).await.unwrap_err();
        assert!(matches!(error, Error::Config { .. }), "{error:?}");
        assert!(!error.to_string().contains("secret"), "{error}");
    }
    assert_eq!(server.count(ME), 0, "nothing was sent");
}

#[tokio::test]
async fn proto_and_platform28_views_send_the_options() {
    let server = FakeEjento::start().await;
    let proto = Proto::builder()
        .base_url(format!("{}/gateway", server.base_url()))
        .company_id("c1")
        .bot_id("b1")
        .personal_access_token(Secret::new("proto-pat-0123456789"))
        .build()
        .unwrap();
    let human = "/gateway/c1/b1/crm/human/h1";
    server.script(
        "GET",
        human,
        200,
        JSON,
        r#"{"result":{"id":"h1","fullname":"Ada"}}"#,
    );
    let _ = proto
        .with_options(CallOptions::new().header("x-trace-tag", TAG))
        .get_human("h1")
        .await;
    assert_eq!(
        server.requests_to(human)[0].header("x-trace-tag"),
        Some(TAG)
    );

    let p28 = Platform28::builder()
        .base_url(format!("{}/api", server.base_url()))
        .build()
        .unwrap();
    let session = p28.resume(Secret::new("lsid-0123456789abcdef"), Some("s1".into()));
    let view = session.with_options(CallOptions::new().header("x-trace-tag", TAG).no_retry());
    let requests_before = server.requests().len();
    // Whatever the fake answers, the request went out with the header.
    let _ = view.reset_assumed_identity().await;
    let sent = server.requests();
    assert_eq!(sent.len(), requests_before + 1, "one attempt");
    assert_eq!(sent.last().unwrap().header("x-trace-tag"), Some(TAG));
    // The trait works on every view type.
    let again = WithOptions::with_options(&view, CallOptions::new());
    let _ = again;
}
