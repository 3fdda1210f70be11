//! OpenTelemetry (the `otel` feature): the span names, kinds, attributes, metric names and
//! units cxkit reports for a plain call, a retried call, a 401 replay with a refresh, an error
//! and an answer stream, checked against the semantic conventions; W3C trace context sent to
//! configured hosts only, and only when asked; and no live secret in anything exported.

// The end-to-end suites' set-up (`it/support.rs`), shared with this binary, which needs the
// tests crate's `otel` feature and so cannot be a module of theirs; it uses part of it.
#[allow(dead_code, reason = "this binary uses only part of the shared set-up")]
#[path = "it/support.rs"]
mod support;

use cxkit::opentelemetry::trace::{SpanKind, Status};
use cxkit::opentelemetry::{KeyValue, Value};
use cxkit::{Config, Ejento, Error, Platform28, Proto, Secret, StreamEvent, Telemetry};
use cxkit_testkit::Reply;
use cxkit_testkit::ejento::{
    FEATURE_FLAGS, FakeEjento, PASSWORD_OF_USER, REFRESH, SseAnswer, USER, USERS,
};
use cxkit_testkit::otel::{SpanData, TelemetryCapture};
use cxkit_testkit::{FakePlatform28, FakeProto};
use futures::StreamExt as _;
use serde_json::json;
use support::*;

/// The HTTP semantic conventions' buckets for `http.client.request.duration`.
const HTTP_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

fn has(attributes: &[KeyValue], key: &str, value: Value) -> bool {
    attributes
        .iter()
        .any(|kv| kv.key.as_str() == key && kv.value == value)
}

fn s(text: &str) -> Value {
    Value::from(text.to_owned())
}

/// A session against `fake` reporting to `capture`, with `config` as the base.
fn session(fake: &FakeEjento, config: cxkit::ConfigBuilder, capture: &TelemetryCapture) -> Ejento {
    builder_with(fake, config.telemetry(capture.telemetry()))
        .build()
        .expect("build")
}

/// The `CLIENT` spans, in the order they ended.
fn client_spans(capture: &TelemetryCapture) -> Vec<SpanData> {
    capture
        .spans()
        .into_iter()
        .filter(|s| s.span_kind == SpanKind::Client)
        .collect()
}

/// Asserts what every attempt span has by the HTTP conventions.
fn assert_http_client_span(span: &SpanData, method: &str, template: &str, fake: &str) {
    let url = url::Url::parse(fake).unwrap();
    assert_eq!(span.name, format!("{method} {template}"));
    assert_eq!(span.span_kind, SpanKind::Client);
    assert_eq!(attr(span, "http.request.method"), Some(&s(method)));
    assert_eq!(attr(span, "url.template"), Some(&s(template)));
    assert_eq!(
        attr(span, "server.address"),
        Some(&s(url.host_str().unwrap()))
    );
    assert_eq!(
        attr(span, "server.port"),
        Some(&Value::I64(i64::from(url.port().unwrap())))
    );
    let full = attr(span, "url.full").expect("url.full").as_str();
    assert!(full.starts_with(fake.trim_end_matches('/')), "{full}");
}

#[tokio::test]
async fn a_plain_call_has_an_operation_span_around_one_client_span_and_the_http_metrics() {
    let capture = TelemetryCapture::new();
    let fake = FakeEjento::start().await;
    let ejento = builder_with(
        &fake,
        config(&clock()).telemetry(capture.telemetry().with_development_metrics()),
    )
    .build()
    .expect("build");
    flags_call(&ejento).await.unwrap();

    let api = cxkit::clients::ejento_auth::SECURITY.api;
    let operation = capture.spans_named(&format!("{api}.get_login_feature_flags"));
    assert_eq!(operation.len(), 1, "{}", capture.dump());
    let operation = &operation[0];
    assert_eq!(operation.span_kind, SpanKind::Internal);
    assert_eq!(operation.status, Status::Unset);
    assert_eq!(
        attr(operation, "cxkit.operation_id"),
        Some(&s("get_login_feature_flags"))
    );

    let clients = client_spans(&capture);
    assert_eq!(clients.len(), 1, "{}", capture.dump());
    let client = &clients[0];
    assert_http_client_span(client, "GET", FEATURE_FLAGS, fake.base_url());
    assert_eq!(
        attr(client, "http.response.status_code"),
        Some(&Value::I64(200))
    );
    assert_eq!(attr(client, "error.type"), None);
    assert_eq!(attr(client, "http.request.resend_count"), None);
    assert_eq!(client.status, Status::Unset);
    assert_eq!(client.parent_span_id, operation.span_context.span_id());
    assert_eq!(
        client.span_context.trace_id(),
        operation.span_context.trace_id()
    );

    let duration = capture
        .metric("http.client.request.duration")
        .expect("the duration is recorded");
    assert_eq!((duration.unit.as_str(), duration.kind), ("s", "histogram"));
    assert_eq!(duration.points.len(), 1);
    let point = &duration.points[0];
    assert_eq!(point.count, 1);
    assert_eq!(point.bounds, HTTP_BUCKETS);
    assert!(has(&point.attributes, "http.request.method", s("GET")));
    assert!(has(
        &point.attributes,
        "http.response.status_code",
        Value::I64(200)
    ));
    assert!(has(&point.attributes, "server.address", s("127.0.0.1")));
    assert!(has(&point.attributes, "url.template", s(FEATURE_FLAGS)));
    let active = capture
        .metric("http.client.active_requests")
        .expect("the active count is recorded");
    assert_eq!((active.unit.as_str(), active.kind), ("{request}", "sum"));
    assert_eq!(
        active.points[0].value, 0.0,
        "the request is no longer active"
    );
    let body = capture
        .metric("http.client.response.body.size")
        .expect("the answer declares its length");
    assert_eq!((body.unit.as_str(), body.kind), ("By", "histogram"));
}

/// By default only the stable HTTP metric is reported; the ones the conventions still have in
/// development come with `Telemetry::with_development_metrics` (the test above).
#[tokio::test]
async fn by_default_a_call_reports_the_stable_duration_and_no_development_metric() {
    let capture = TelemetryCapture::new();
    let fake = FakeEjento::start().await;
    let ejento = session(&fake, config(&clock()), &capture);
    flags_call(&ejento).await.unwrap();

    let duration = capture
        .metric("http.client.request.duration")
        .expect("the duration is recorded");
    assert_eq!(duration.points.len(), 1, "{}", capture.dump());
    assert_eq!(duration.points[0].count, 1);
    for name in [
        "http.client.active_requests",
        "http.client.request.body.size",
        "http.client.response.body.size",
    ] {
        assert!(capture.metric(name).is_none(), "{name}: {}", capture.dump());
    }
    assert_eq!(client_spans(&capture).len(), 1, "{}", capture.dump());
}

/// One `Telemetry` shared by sessions of two servers: each call's span and metric name its own
/// server (what an operation reports alike is kept per operation, its server checked per call).
#[tokio::test]
async fn one_operation_called_on_two_servers_reports_each_server() {
    let capture = TelemetryCapture::new();
    let telemetry = capture.telemetry().with_development_metrics();
    let (first, second) = (FakeEjento::start().await, FakeEjento::start().await);
    for fake in [&first, &second, &first] {
        builder_with(fake, config(&clock()).telemetry(telemetry.clone()))
            .build()
            .expect("build")
            .auth()
            .get_login_feature_flags()
            .send()
            .await
            .unwrap();
    }

    let port =
        |fake: &FakeEjento| i64::from(url::Url::parse(fake.base_url()).unwrap().port().unwrap());
    let clients = client_spans(&capture);
    let span_ports: Vec<_> = clients
        .iter()
        .map(|c| attr(c, "server.port").cloned())
        .collect();
    assert_eq!(
        span_ports,
        [&first, &second, &first].map(|f| Some(Value::I64(port(f)))),
        "{}",
        capture.dump()
    );
    let duration = capture
        .metric("http.client.request.duration")
        .expect("the duration is recorded");
    let mut counts: Vec<(i64, u64)> = duration
        .points
        .iter()
        .map(|p| {
            let port = p
                .attributes
                .iter()
                .find(|kv| kv.key.as_str() == "server.port")
                .map(|kv| match kv.value {
                    Value::I64(port) => port,
                    _ => panic!("server.port is an integer"),
                })
                .expect("server.port");
            (port, p.count)
        })
        .collect();
    counts.sort();
    let mut expected = vec![(port(&first), 2), (port(&second), 1)];
    expected.sort();
    assert_eq!(counts, expected, "{}", capture.dump());
    let active = capture
        .metric("http.client.active_requests")
        .expect("the active count is recorded");
    assert_eq!(active.points.len(), 2, "{}", capture.dump());
    assert!(active.points.iter().all(|p| p.value == 0.0));
}

/// `url.full` takes the part of the path that is an operation's own parameterless template as it
/// is; what precedes it (a base URL's path) is still looked at for live secrets.
#[tokio::test]
async fn a_live_secret_in_the_base_url_path_is_scrubbed_from_url_full() {
    let capture = TelemetryCapture::new();
    let fake = FakeEjento::start().await;
    let secret = Secret::new("base-path-secret-5c1e");
    let base = format!(
        "{}/{}",
        fake.base_url().trim_end_matches('/'),
        secret.expose()
    );
    let ejento = Ejento::builder()
        .config(
            &config(&clock())
                .telemetry(capture.telemetry())
                .build()
                .expect("config"),
        )
        .base_url(&base)
        .build()
        .expect("build");
    // The fake has no such path: the answer is an error, and the span is what matters.
    let _ = ejento.auth().get_login_feature_flags().send().await;

    let clients = client_spans(&capture);
    assert_eq!(clients.len(), 1, "{}", capture.dump());
    let full = attr(&clients[0], "url.full").expect("url.full").as_str();
    assert!(!full.contains(secret.expose()), "{full}");
    assert!(full.contains("REDACTED"), "{full}");
    assert!(full.ends_with(FEATURE_FLAGS), "{full}");
}

#[tokio::test(start_paused = true)]
async fn a_retried_call_has_one_client_span_per_attempt_with_its_resend_count() {
    let capture = TelemetryCapture::new();
    let fake = FakeEjento::start().await;
    fake.fail_feature_flags(2, None);
    let ejento = session(&fake, config(&clock()), &capture);
    flags_call(&ejento).await.unwrap();

    let clients = client_spans(&capture);
    assert_eq!(clients.len(), 3, "{}", capture.dump());
    let statuses: Vec<_> = clients
        .iter()
        .map(|c| attr(c, "http.response.status_code").cloned())
        .collect();
    assert_eq!(
        statuses,
        [
            Some(Value::I64(503)),
            Some(Value::I64(503)),
            Some(Value::I64(200))
        ]
    );
    let resends: Vec<_> = clients
        .iter()
        .map(|c| attr(c, "http.request.resend_count").cloned())
        .collect();
    assert_eq!(resends, [None, Some(Value::I64(1)), Some(Value::I64(2))]);
    for failed in &clients[..2] {
        assert_eq!(attr(failed, "error.type"), Some(&s("503")));
        assert!(matches!(failed.status, Status::Error { .. }));
    }
    assert_eq!(clients[2].status, Status::Unset);
    let api = cxkit::clients::ejento_auth::SECURITY.api;
    let operation = &capture.spans_named(&format!("{api}.get_login_feature_flags"))[0];
    assert_eq!(operation.status, Status::Unset, "the call succeeded");
    assert!(
        clients
            .iter()
            .all(|c| c.parent_span_id == operation.span_context.span_id())
    );

    let duration = capture.metric("http.client.request.duration").unwrap();
    let failed = duration
        .points
        .iter()
        .find(|p| has(&p.attributes, "http.response.status_code", Value::I64(503)))
        .expect("the 503s are recorded");
    assert_eq!(failed.count, 2);
    assert!(has(&failed.attributes, "error.type", s("503")));
}

#[tokio::test]
async fn a_401_replay_has_the_refresh_span_inside_the_operation_and_the_refresh_metrics() {
    let capture = TelemetryCapture::new();
    let fake = FakeEjento::start().await;
    let ejento = session(&fake, config(&clock()), &capture);
    ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .unwrap();
    capture.reset_spans();
    fake.reject_once(&fake.last_issued().auth_app);
    users_call(&ejento).await.expect("the replay succeeds");

    let api = cxkit::clients::ejento_auth::SECURITY.api;
    let operation = capture.spans_named(&format!("{api}.read_all_users"));
    assert_eq!(operation.len(), 1, "{}", capture.dump());
    let operation = &operation[0];
    let clients: Vec<SpanData> = client_spans(&capture)
        .into_iter()
        .filter(|c| c.parent_span_id == operation.span_context.span_id())
        .collect();
    assert_eq!(clients.len(), 2, "{}", capture.dump());
    assert_http_client_span(&clients[0], "GET", USERS, fake.base_url());
    assert_eq!(
        attr(&clients[0], "http.response.status_code"),
        Some(&Value::I64(401))
    );
    assert_eq!(attr(&clients[0], "error.type"), Some(&s("401")));
    assert_eq!(
        attr(&clients[1], "http.response.status_code"),
        Some(&Value::I64(200))
    );
    assert_eq!(
        attr(&clients[1], "http.request.resend_count"),
        Some(&Value::I64(1))
    );

    let refresh = capture.spans_named("cxkit.token.refresh");
    assert_eq!(refresh.len(), 1, "{}", capture.dump());
    let refresh = &refresh[0];
    assert_eq!(refresh.span_kind, SpanKind::Internal);
    assert_eq!(attr(refresh, "cxkit.token.operation"), Some(&s("refresh")));
    assert_eq!(
        refresh.parent_span_id,
        operation.span_context.span_id(),
        "the replay's refresh runs inside the operation"
    );
    assert_eq!(refresh.status, Status::Unset);
    // The refresh's own request is a call like any other, inside the refresh's span.
    let refresh_call = capture.spans_named(&format!("{api}.refresh_access_token"));
    assert_eq!(refresh_call.len(), 1, "{}", capture.dump());
    assert_eq!(
        refresh_call[0].parent_span_id,
        refresh.span_context.span_id()
    );
    let refresh_attempts: Vec<SpanData> = client_spans(&capture)
        .into_iter()
        .filter(|c| c.parent_span_id == refresh_call[0].span_context.span_id())
        .collect();
    assert_eq!(refresh_attempts.len(), 1, "{}", capture.dump());
    assert_http_client_span(&refresh_attempts[0], "POST", REFRESH, fake.base_url());

    let refreshes = capture.metric("cxkit.token.refreshes").unwrap();
    assert_eq!(
        (refreshes.unit.as_str(), refreshes.kind),
        ("{refresh}", "sum")
    );
    assert_eq!(refreshes.points.len(), 1);
    assert_eq!(refreshes.points[0].value, 1.0);
    let latency = capture.metric("cxkit.token.refresh.duration").unwrap();
    assert_eq!((latency.unit.as_str(), latency.kind), ("s", "histogram"));
    assert_eq!(latency.points[0].count, 1);
}

#[tokio::test]
async fn callers_that_wait_for_a_refresh_under_way_are_counted() {
    let capture = TelemetryCapture::new();
    let fake = FakeEjento::start().await;
    let clock = clock();
    let ejento = session(&fake, config(&clock), &capture);
    ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .unwrap();
    fake.delay_refreshes(std::time::Duration::from_millis(200));
    clock.advance(LIFETIME);
    let calls: Vec<_> = (0..4).map(|_| users_call(&ejento)).collect();
    for result in futures::future::join_all(calls).await {
        result.unwrap();
    }
    assert_eq!(fake.refresh_calls(), 1, "one refresh for all");
    let waiters = capture.metric("cxkit.token.refresh.waiters").unwrap();
    assert_eq!((waiters.unit.as_str(), waiters.kind), ("{caller}", "sum"));
    assert_eq!(waiters.points[0].value, 3.0, "{}", capture.dump());
}

#[tokio::test]
async fn an_error_answer_marks_the_attempt_and_the_operation_as_errors() {
    let capture = TelemetryCapture::new();
    let fake = FakeEjento::start().await;
    let ejento = session(&fake, config(&clock()), &capture);
    ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .unwrap();
    fake.on("get_agent", Reply::error(404, "no such agent"));
    let err = ejento
        .platform()
        .get_agent()
        .agent_id(7)
        .send()
        .await
        .map_err(Error::from)
        .unwrap_err();
    assert!(matches!(err, Error::Api { status: 404, .. }), "{err:?}");

    let api = cxkit::clients::ejento_platform::SECURITY.api;
    let operation = &capture.spans_named(&format!("{api}.get_agent"))[0];
    assert!(matches!(operation.status, Status::Error { .. }));
    assert_eq!(attr(operation, "error.type"), Some(&s("404")));
    let clients = client_spans(&capture);
    let client = clients.last().unwrap();
    let template = cxkit::clients::ejento_platform::SECURITY
        .operation("get_agent")
        .unwrap()
        .path;
    assert_http_client_span(client, "GET", template, fake.base_url());
    assert!(
        attr(client, "url.full").unwrap().as_str().ends_with("/7"),
        "url.full is the URL sent; the name is the template"
    );
    assert_eq!(
        attr(client, "http.response.status_code"),
        Some(&Value::I64(404))
    );
    assert_eq!(attr(client, "error.type"), Some(&s("404")));
    assert!(matches!(client.status, Status::Error { .. }));

    // A failed transfer: no status, `error.type` names the failure.
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_addr = dead.local_addr().unwrap();
    drop(dead);
    let capture = TelemetryCapture::new();
    let unreachable = Ejento::builder()
        .config(
            &Config::builder()
                .retry(cxkit::RetryPolicy::never())
                .telemetry(capture.telemetry())
                .build()
                .unwrap(),
        )
        .base_url(format!("http://{dead_addr}"))
        .build()
        .unwrap();
    unreachable
        .auth()
        .get_login_feature_flags()
        .send()
        .await
        .unwrap_err();
    let client = &client_spans(&capture)[0];
    assert_eq!(attr(client, "http.response.status_code"), None);
    assert_eq!(attr(client, "error.type"), Some(&s("connect")));
    assert!(matches!(client.status, Status::Error { .. }));
}

#[tokio::test]
async fn an_answer_stream_has_its_span_and_the_gen_ai_metrics() {
    let capture = TelemetryCapture::new();
    let fake = FakeEjento::start().await;
    fake.stream_answer(&SseAnswer::classic("Twenty days of leave."));
    let ejento = session(&fake, config(&clock()), &capture);
    ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .unwrap();
    capture.reset_spans();
    let question = cxkit::clients::ejento_platform::types::AgentResponseRequest::builder()
        .user_query("How many days of leave?")
        .try_into()
        .unwrap();
    let events: Vec<_> = ejento
        .stream_agent_response(7, &question)
        .await
        .unwrap()
        .collect()
        .await;
    let chunks = events
        .iter()
        .filter(|e| matches!(e, Ok(StreamEvent::AnswerDelta(_))))
        .count();
    assert!(chunks >= 2, "{events:?}");

    let stream = capture.spans_named("invoke_agent");
    assert_eq!(stream.len(), 1, "{}", capture.dump());
    let stream = &stream[0];
    assert_eq!(stream.span_kind, SpanKind::Internal);
    assert_eq!(stream.status, Status::Unset);
    assert_eq!(
        attr(stream, "gen_ai.operation.name"),
        Some(&s("invoke_agent"))
    );
    assert_eq!(attr(stream, "gen_ai.provider.name"), Some(&s("ejento")));
    assert_eq!(attr(stream, "gen_ai.agent.id"), Some(&s("7")));
    assert_eq!(
        attr(stream, "cxkit.sse.event_count"),
        Some(&Value::I64(events.len() as i64))
    );
    assert!(matches!(
        attr(stream, "cxkit.sse.time_to_first_event"),
        Some(Value::F64(t)) if *t >= 0.0
    ));
    let api = cxkit::clients::ejento_platform::SECURITY.api;
    let operation = &capture.spans_named(&format!("{api}.stream_agent_response"))[0];
    assert_eq!(
        operation.parent_span_id,
        stream.span_context.span_id(),
        "the call is the stream's child"
    );
    let client = client_spans(&capture).pop().unwrap();
    assert_eq!(
        client.name,
        format!(
            "POST {}",
            cxkit::clients::ejento_platform::SECURITY
                .operation("stream_agent_response")
                .unwrap()
                .path
        )
    );

    for (name, count) in [
        ("gen_ai.client.operation.duration", 1),
        ("gen_ai.client.operation.time_to_first_chunk", 1),
        (
            "gen_ai.client.operation.time_per_output_chunk",
            chunks as u64 - 1,
        ),
    ] {
        let metric = capture
            .metric(name)
            .unwrap_or_else(|| panic!("{name} is recorded"));
        assert_eq!(
            (metric.unit.as_str(), metric.kind),
            ("s", "histogram"),
            "{name}"
        );
        assert_eq!(metric.points.len(), 1, "{name}");
        let point = &metric.points[0];
        assert_eq!(point.count, count, "{name}");
        assert!(has(
            &point.attributes,
            "gen_ai.operation.name",
            s("invoke_agent")
        ));
        assert!(has(&point.attributes, "gen_ai.provider.name", s("ejento")));
    }
    assert_eq!(
        capture
            .metric("gen_ai.client.operation.duration")
            .unwrap()
            .points[0]
            .bounds[0],
        0.01
    );
}

#[tokio::test]
async fn trace_context_goes_to_configured_hosts_only_and_only_when_asked() {
    let capture = TelemetryCapture::new();
    let fake = FakeEjento::start().await;

    // Off by default.
    let quiet = session(&fake, config(&clock()), &capture);
    quiet.auth().get_login_feature_flags().send().await.unwrap();
    assert_eq!(
        fake.requests_to(FEATURE_FLAGS)[0].header("traceparent"),
        None
    );

    // On: each attempt names its own span.
    let loud = session(
        &fake,
        config(&clock()).propagate_trace_context(true),
        &capture,
    );
    capture.reset_spans();
    loud.auth().get_login_feature_flags().send().await.unwrap();
    let sent = fake.requests_to(FEATURE_FLAGS)[1]
        .header("traceparent")
        .expect("traceparent is sent")
        .to_owned();
    let client = &client_spans(&capture)[0];
    assert_eq!(
        sent,
        format!(
            "00-{}-{}-01",
            client.span_context.trace_id(),
            client.span_context.span_id()
        )
    );

    // A handle told to propagate to another origin sends nothing to this one.
    use cxkit::clients::ejento_auth as gen_auth;
    let auth = cxkit_auth::Auth::builder()
        .telemetry(capture.telemetry())
        .propagate_trace_context_to(&url::Url::parse("http://127.0.0.1:9/").unwrap())
        .build();
    let client = gen_auth::Client::new_with_client(
        fake.base_url(),
        Config::builder().build().unwrap().http_client().clone(),
        auth,
    );
    client.get_login_feature_flags().send().await.unwrap();
    let requests = fake.requests_to(FEATURE_FLAGS);
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[2].header("traceparent"), None);
}

/// With a no-op tracer (the global one when no SDK is installed), calls still report their
/// metrics, and an application's own trace context still travels when propagation is on. After
/// the first call shows the tracer a no-op, a call with nothing to propagate builds no span (not
/// observable from here; what is: the metrics and the propagation stay as they were).
#[tokio::test]
async fn with_a_no_op_tracer_metrics_are_reported_and_the_applications_context_propagated() {
    use cxkit::opentelemetry::trace::{
        FutureExt as _, Span as _, TraceContextExt as _, Tracer as _,
    };
    use cxkit::opentelemetry::{Context, trace::TracerProvider as _};
    let capture = TelemetryCapture::new();
    let fake = FakeEjento::start().await;
    let noop = cxkit::opentelemetry::trace::noop::NoopTracerProvider::new();
    let telemetry = Telemetry::new(&noop, capture.meter_provider());
    let quiet = builder_with(&fake, config(&clock()).telemetry(telemetry.clone()))
        .build()
        .expect("build");
    let loud = builder_with(
        &fake,
        config(&clock())
            .telemetry(telemetry)
            .propagate_trace_context(true),
    )
    .build()
    .expect("build");

    // Twice without an application span: nothing to propagate, and nothing is.
    flags_call(&quiet).await.unwrap();
    flags_call(&quiet).await.unwrap();
    flags_call(&loud).await.unwrap();
    let requests = fake.requests_to(FEATURE_FLAGS);
    assert!(requests.iter().all(|r| r.header("traceparent").is_none()));
    let duration = capture
        .metric("http.client.request.duration")
        .expect("the duration is recorded without a tracer");
    assert_eq!(duration.points.iter().map(|p| p.count).sum::<u64>(), 3);

    // Inside an application's span (its own SDK tracer), its context is what goes out.
    let app = capture.tracer_provider().tracer("app").start("app.request");
    let app_context = app.span_context().clone();
    let cx = Context::current_with_span(app);
    flags_call(&loud).with_context(cx.clone()).await.unwrap();
    flags_call(&quiet).with_context(cx).await.unwrap();
    let requests = fake.requests_to(FEATURE_FLAGS);
    assert_eq!(
        requests[3].header("traceparent"),
        Some(format!("00-{}-{}-01", app_context.trace_id(), app_context.span_id()).as_str())
    );
    assert_eq!(requests[4].header("traceparent"), None);
    // After the tracer showed itself a no-op, the durations are still all there.
    let duration = capture.metric("http.client.request.duration").unwrap();
    assert_eq!(duration.points.iter().map(|p| p.count).sum::<u64>(), 5);
}

#[tokio::test]
async fn no_live_secret_reaches_any_span_attribute_event_or_data_point() {
    const API_KEY: &str = "otel-canary-api-key-5c1d";
    const LSID: &str = "otel-canary-lsid-93af";
    const SUBSCRIPTION_KEY: &str = "otel-canary-subscription-7e20";
    const PAT: &str = "otel-canary-proto-pat-d4e8";
    let capture = TelemetryCapture::new();

    // Ejento: a password login, bearer tokens, a refresh with its refresh token, a replay, a
    // stream and an error; the subscription key on every call.
    let fake = FakeEjento::start().await;
    fake.stream_answer(&SseAnswer::classic("Twenty days."));
    let ejento = builder_with(
        &fake,
        config(&clock()).telemetry(capture.telemetry().with_development_metrics()),
    )
    .subscription_key(Secret::new(SUBSCRIPTION_KEY))
    .build()
    .unwrap();
    ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .unwrap();
    let first = fake.last_issued();
    fake.reject_once(&first.auth_app);
    users_call(&ejento).await.unwrap();
    ejento.token_cache().force_refresh().await.unwrap();
    let question = cxkit::clients::ejento_platform::types::AgentResponseRequest::builder()
        .user_query("How many days of leave?")
        .try_into()
        .unwrap();
    ejento
        .stream_agent_response(7, &question)
        .await
        .unwrap()
        .collect_answer()
        .await
        .unwrap();
    fake.on("get_agent", Reply::error(404, "no such agent"));
    let _ = ejento.platform().get_agent().agent_id(7).send().await;

    // Platform28: the API key as a query pair, the LSID as a matrix parameter and as the
    // session id in paths.
    let p28_server = FakePlatform28::start().await;
    let p28 = Platform28::builder()
        .config(
            &Config::builder()
                .retry(cxkit::RetryPolicy::never())
                .telemetry(capture.telemetry())
                .build()
                .unwrap(),
        )
        .base_url(format!("{}/api", p28_server.base_url()))
        .api_key(Secret::new(API_KEY))
        .build()
        .unwrap();
    let login = json!({"lsid": LSID, "sessionId": LSID, "userId": "u1"}).to_string();
    let json_type = &[("content-type", "application/json")];
    p28_server.script("POST", "/api/authenticate/alice", 200, json_type, &login);
    p28_server.script("GET", &format!("/api/session/{LSID}"), 500, json_type, "{}");
    let p28_session = p28
        .login("alice", &Secret::new("p28-password-hash"))
        .await
        .unwrap();
    let _ = p28_session.info().await;

    // Proto: the personal access token on a static-key handle, an answer echoing it.
    let proto_server = FakeProto::start().await;
    let proto = Proto::builder()
        .config(
            &Config::builder()
                .retry(cxkit::RetryPolicy::never())
                .telemetry(capture.telemetry())
                .build()
                .unwrap(),
        )
        .base_url(format!("{}/gateway", proto_server.base_url()))
        .company_id("c1")
        .bot_id("b1")
        .personal_access_token(Secret::new(PAT))
        .build()
        .unwrap();
    proto_server.script(
        "GET",
        "/gateway/c1/b1/crm/human/nope",
        404,
        json_type,
        &format!(r#"{{"message":"bad token {PAT}"}}"#),
    );
    proto.get_human("nope").await.unwrap_err();
    assert!(
        client_spans(&capture)
            .iter()
            .any(|s| s.name.starts_with("GET ") && s.name.contains("/crm/human/{")),
        "the Proto call is traced by its template: {}",
        capture.dump()
    );

    let mut secrets: Vec<String> = vec![
        PAT.into(),
        PASSWORD_OF_USER.into(),
        API_KEY.into(),
        LSID.into(),
        SUBSCRIPTION_KEY.into(),
        "p28-password-hash".into(),
    ];
    for issued in fake.issued() {
        secrets.push(issued.auth_app.clone());
        secrets.push(issued.ejento.clone());
    }
    let dump = capture.dump();
    assert!(dump.contains("url.full"), "{dump}");
    assert!(
        dump.contains("REDACTED"),
        "the query and matrix secrets were scrubbed, not dropped: {dump}"
    );
    for secret in &secrets {
        assert!(!secret.is_empty());
        assert!(!dump.contains(secret.as_str()), "{secret} leaked:\n{dump}");
    }
    // The scan sees every span and every data point.
    assert!(capture.spans().len() >= 10, "{dump}");
    assert!(capture.metrics().len() >= 6, "{dump}");
}
