//! The Ejento platform over real HTTP on loopback: the older guide's two-step flow, SSE
//! streaming through the facade (including a stream cut mid-event and a connection aborted
//! mid-stream), the streamed multipart upload, and lazy paging over a generated list call.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cxkit::clients::ejento_platform::types::{
    AgentResponseRequest, ChatHistoryTurn, ChatThreadCreate, LegacyAgentResponseRequest,
};
use cxkit::{DocumentUpload, Ejento, Error, Secret, StreamEvent};
use cxkit_testkit::ejento::{FakeEjento, PASSWORD_OF_USER, USER};
use futures::{StreamExt as _, TryStreamExt as _};
use serde_json::{Value, json};

const JSON: &[(&str, &str)] = &[("content-type", "application/json")];
const SSE: &[(&str, &str)] = &[("content-type", "text/event-stream")];

async fn session(server: &FakeEjento) -> Ejento {
    support::logged_in(server, &support::no_retries()).await
}

fn question(thread: Option<i64>) -> AgentResponseRequest {
    AgentResponseRequest::builder()
        .user_query("How many days of leave?")
        .chat_thread_id(thread)
        .try_into()
        .unwrap()
}

/// Asks agent 7 and asserts the stream yields exactly `delta`, then a Transient error (the
/// stream ended, cleanly or not, before its `end` event).
async fn assert_one_delta_then_cut(ejento: &Ejento, delta: &str) {
    let events: Vec<_> = ejento
        .stream_agent_response(7, &question(None))
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(
        events[0].as_ref().unwrap(),
        &StreamEvent::AnswerDelta(delta.into())
    );
    assert!(
        matches!(events[1], Err(Error::Transient { .. })),
        "{:?}",
        events[1]
    );
}

#[tokio::test]
async fn the_older_guides_two_step_flow_passes_the_thread_id_on() {
    let server = FakeEjento::start().await;
    let ejento = session(&server).await;
    server.script(
        "POST",
        "/api/agent/7/chat-thread",
        201,
        JSON,
        r#"{"success":true,"message":"Chat Thread created successfully.","data":{"id":55,"agent":7,"title":"New Chat"}}"#,
    );
    server.script(
        "POST",
        "/api/agent/7/response",
        200,
        JSON,
        r#"{"success":true,"message":"Agent Response Created Successfully.","data":{"answer":"20 days"}}"#,
    );

    let thread = ejento
        .platform()
        .legacy_create_chat_thread()
        .agent_id(7)
        .body(ChatThreadCreate {
            agent: Some(7),
            created_by: None,
        })
        .send()
        .await
        .map_err(Error::from)
        .unwrap()
        .into_inner();
    let thread_id = thread.data.expect("the new thread is in `data`").id;
    // The legacy body carries the question as the last `history` turn, without a `bot` answer.
    let request: LegacyAgentResponseRequest = LegacyAgentResponseRequest::builder()
        .chat_thread_id(thread_id)
        .history(vec![ChatHistoryTurn {
            user: Some("How many days of leave?".to_owned()),
            bot: None,
        }])
        .try_into()
        .unwrap();
    let answer = ejento
        .platform()
        .legacy_create_agent_response()
        .agent_id(7)
        .body(request)
        .send()
        .await
        .map_err(Error::from)
        .unwrap()
        .into_inner();
    assert_eq!(
        answer.data.and_then(|d| d.answer).as_deref(),
        Some("20 days")
    );

    let ejento_token = server.last_issued().ejento;
    let thread_req = &server.requests_to("/api/agent/7/chat-thread")[0];
    let answer_req = &server.requests_to("/api/agent/7/response")[0];
    for r in [thread_req, answer_req] {
        assert_eq!(
            r.bearer(),
            Some(ejento_token.as_str()),
            "platform calls carry the Ejento token"
        );
    }
    let body: Value = serde_json::from_str(&answer_req.body).unwrap();
    assert_eq!(
        body["chat_thread_id"],
        json!(55),
        "the thread's `id` is the response's `chat_thread_id`"
    );
    assert_eq!(
        body["history"],
        json!([{"user": "How many days of leave?"}])
    );
}

#[tokio::test]
async fn an_answer_streams_as_typed_events_with_the_ejento_token() {
    let server = FakeEjento::start().await;
    let ejento = session(&server).await;
    let path = "/response-service/api/v2/agents/7/responses/stream";
    let body = concat!(
        "data: {\"step\":\"Searching\",\"message\":\"Searching...\"}\n\n",
        "data: {\"step\":\"assistant_stream\",\"delta\":\"20 \"}\n\n",
        "data: {\"step\":\"assistant_stream\",\"delta\":\"days\"}\n\n",
        "data: {\"step\":\"end\",\"success\":true,\"output\":{\"answer\":\"20 days\",\"thread_id\":9,\"agent_response_id\":3}}\n\n",
    );
    server.script("POST", path, 200, SSE, body);
    let events: Vec<StreamEvent> = ejento
        .stream_agent_response(7, &question(Some(9)))
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(events.len(), 4);
    assert_eq!(events[1], StreamEvent::AnswerDelta("20 ".into()));
    assert!(
        matches!(&events[3], StreamEvent::End { success: true, output: Some(o) } if o.agent_response_id == Some(3))
    );

    let sent = &server.requests_to(path)[0];
    assert_eq!(sent.header("accept"), Some("text/event-stream"));
    assert_eq!(sent.bearer(), Some(server.last_issued().ejento.as_str()));
    let body: Value = serde_json::from_str(&sent.body).unwrap();
    assert_eq!(body["user_query"], "How many days of leave?");
    assert_eq!(body["chat_thread_id"], 9);
}

#[tokio::test]
async fn a_stream_cut_mid_event_is_an_error_not_a_silent_end() {
    let server = FakeEjento::start().await;
    let ejento = session(&server).await;
    let path = "/response-service/api/v2/agents/7/responses/stream";
    server.script(
        "POST",
        path,
        200,
        SSE,
        "data: {\"step\":\"assistant_stream\",\"delta\":\"20 \"}\n\ndata: {\"step\":\"assis",
    );
    assert_one_delta_then_cut(&ejento, "20 ").await;

    // The same through `into_answer`.
    server.script(
        "POST",
        path,
        200,
        SSE,
        "data: {\"step\":\"assistant_stream\",\"delta\":\"x\"}\n\n",
    );
    let err = ejento
        .stream_agent_response(7, &question(None))
        .await
        .unwrap()
        .into_answer()
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
}

#[tokio::test]
async fn a_stream_that_fails_before_it_starts_is_a_typed_error_and_a_401_is_replayed() {
    let server = FakeEjento::start().await;
    let ejento = session(&server).await;
    let path = "/response-service/api/v2/agents/7/responses/stream";
    server.script(
        "POST",
        path,
        404,
        JSON,
        r#"{"success":false,"message":"Agent not found"}"#,
    );
    let err = ejento
        .stream_agent_response(7, &question(None))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Api { status: 404, message: Some(m), .. } if m == "Agent not found"),
        "{err:?}"
    );

    // A 401 on the stream: one refresh, one replay with the new token.
    server.script("POST", path, 401, JSON, r#"{"detail":"expired"}"#);
    server.script(
        "POST",
        path,
        200,
        SSE,
        "data: {\"step\":\"end\",\"success\":true,\"output\":{\"answer\":\"ok\"}}\n\n",
    );
    let answer = ejento
        .stream_agent_response(7, &question(None))
        .await
        .unwrap()
        .into_answer()
        .await
        .unwrap();
    assert_eq!(answer.answer.as_deref(), Some("ok"));
    assert_eq!(server.refresh_calls(), 1);
    let sent = server.requests_to(path);
    assert_eq!(sent.len(), 3);
    assert_ne!(sent[1].bearer(), sent[2].bearer());
}

#[tokio::test]
async fn a_connection_aborted_mid_stream_is_transient() {
    // A server that sends one event, then resets the connection.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 16 * 1024];
        let _ = socket.read(&mut buf).await;
        let event = "data: {\"step\":\"assistant_stream\",\"delta\":\"hi\"}\n\n";
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
        let chunk = format!("{:x}\r\n{event}\r\n", event.len());
        socket.write_all(head.as_bytes()).await.unwrap();
        socket.write_all(chunk.as_bytes()).await.unwrap();
        socket.flush().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        drop(socket);
    });
    let server = FakeEjento::start().await;
    let ejento = Ejento::builder()
        .auth_base_url(server.base_url())
        .platform_base_url(format!("http://{addr}"))
        .build()
        .unwrap();
    ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .unwrap();
    assert_one_delta_then_cut(&ejento, "hi").await;
}

#[tokio::test]
async fn a_document_uploads_as_a_streamed_multipart_form_with_progress() {
    let server = FakeEjento::start().await;
    let ejento = session(&server).await;
    let path = "/indexing-service/api/v2/corpora/5/documents";
    server.script(
        "POST",
        path,
        200,
        JSON,
        // The answer as the vendor's "Indexing API Migration" guide shows it.
        r#"{"success":true,"message":"Document has been queued for indexing","data":{"id":77,"source":"policy.txt","access_url":"https://storage.example.com/policy.txt","step":"pending"}}"#,
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.txt");
    let content = "Employees get 20 days of leave.\n".repeat(2_000);
    std::fs::write(&file, &content).unwrap();
    let reported = Arc::new(AtomicU64::new(0));
    let seen = reported.clone();
    let upload = DocumentUpload::from_path(&file)
        .await
        .unwrap()
        .user_id("42")
        .tags("finance,report")
        .attachment(true)
        .on_progress(move |sent, total| {
            assert_eq!(total, Some(64_000));
            seen.store(sent, Ordering::SeqCst);
        });
    let answer = ejento.upload_document(5, upload).await.unwrap();
    let document = answer.data.unwrap();
    assert_eq!(document.id, Some(77));
    assert_eq!(document.step.as_deref(), Some("pending"));
    assert_eq!(document.source.as_deref(), Some("policy.txt"));
    assert_eq!(
        reported.load(Ordering::SeqCst),
        content.len() as u64,
        "progress reached the whole file"
    );

    let sent = &server.requests_to(path)[0];
    assert_eq!(sent.bearer(), Some(server.last_issued().ejento.as_str()));
    let content_type = sent.header("content-type").unwrap();
    assert!(
        content_type.starts_with("multipart/form-data; boundary="),
        "{content_type}"
    );
    for field in [
        "name=\"content_type\"\r\n\r\nfile",
        "name=\"upload_from\"\r\n\r\nweb",
        "name=\"attachment\"\r\n\r\ntrue",
        "name=\"user_id\"\r\n\r\n42",
        "name=\"tags\"\r\n\r\nfinance,report",
    ] {
        assert!(sent.body.contains(field), "missing {field:?}");
    }
    assert!(
        sent.body
            .contains("name=\"source\"; filename=\"policy.txt\"\r\nContent-Type: text/plain")
    );
    assert!(sent.body.contains(&content), "the file arrives whole");
}

#[tokio::test]
async fn list_calls_page_lazily_as_a_stream() {
    let server = FakeEjento::start().await;
    let ejento = session(&server).await;
    let path = "/api/v2/agents/7/comments";
    let page = |ids: &[i64]| {
        let comments: Vec<Value> = ids
            .iter()
            .map(|id| json!({"id": id, "comment": format!("c{id}")}))
            .collect();
        json!({"success": true, "data": {"comments": comments, "count": 5}}).to_string()
    };
    server.script("GET", path, 200, JSON, &page(&[1, 2]));
    server.script("GET", path, 200, JSON, &page(&[3, 4]));
    server.script("GET", path, 200, JSON, &page(&[5]));
    let comments = cxkit::paginate(2, |p| {
        let ejento = ejento.clone();
        async move {
            let answer = ejento
                .platform()
                .list_agent_comments()
                .agent_id(7)
                .skip(p.skip)
                .limit(p.limit)
                .send()
                .await?
                .into_inner();
            Ok(answer.data.map(|d| d.comments).unwrap_or_default())
        }
    });
    futures::pin_mut!(comments);
    let first = comments.next().await.unwrap().unwrap();
    assert_eq!(first.id, Some(1));
    assert_eq!(
        server.count(path),
        1,
        "the second page is not fetched before it is needed"
    );
    let rest: Vec<_> = comments.try_collect().await.unwrap();
    assert_eq!(rest.len(), 4);
    let queries: Vec<_> = server
        .requests_to(path)
        .iter()
        .map(|r| r.query.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        queries,
        ["limit=2&skip=0", "limit=2&skip=2", "limit=2&skip=4"]
    );
}

/// A deep agent's answer from the test kit reaches the application as incremental answer text
/// (`model_stream`), progress, the task list, the files and, on `end`, the artifacts; a step no
/// version knows yet stays a status. The request says it is for a deep agent.
#[tokio::test]
async fn a_deep_agents_answer_streams_its_text_plan_files_and_artifacts() {
    use cxkit::StreamedAnswer;
    use cxkit::clients::ejento_platform::types::AgentResponseOverrides;
    use cxkit_testkit::ejento::{
        DEEP_AGENT_CONTAINER, DEEP_AGENT_FILE, DEEP_AGENT_PLAN_DONE, SseAnswer,
    };

    let server = FakeEjento::start().await;
    let ejento = session(&server).await;
    let answer = "Employees get 20 days of leave.";
    server.stream_answer(&SseAnswer::deep_agent(answer).insert(
        3,
        json!({"step": "plan_review", "message": "Reviewing the plan"}),
    ));
    let request: AgentResponseRequest = AgentResponseRequest::builder()
        .user_query("How many days of leave?")
        .overrides(Some(
            AgentResponseOverrides::builder()
                .use_reasoning_middleware(Some(true))
                .try_into()
                .unwrap(),
        ))
        .try_into()
        .unwrap();

    let mut stream = ejento.stream_agent_response(7, &request).await.unwrap();
    let mut folded = StreamedAnswer::new();
    let mut texts_seen = Vec::new();
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        let event = event.unwrap();
        folded.apply(&event);
        if matches!(event, StreamEvent::AnswerDelta(_)) {
            texts_seen.push(folded.text.clone());
        }
        events.push(event);
    }
    // The answer arrived a word at a time, each delta extending the text.
    assert!(texts_seen.len() > 3, "{texts_seen:?}");
    assert!(
        texts_seen
            .windows(2)
            .all(|w| w[1].starts_with(&w[0]) && w[1].len() > w[0].len())
    );
    assert_eq!(texts_seen.last().unwrap(), answer);
    // Progress: `output.title` on `start`, `message` on `reasoning`, and the unknown step.
    assert_eq!(
        events[0],
        StreamEvent::Status {
            step: "start".into(),
            message: Some("Planning the answer".into())
        }
    );
    assert_eq!(
        events[3],
        StreamEvent::Status {
            step: "plan_review".into(),
            message: Some("Reviewing the plan".into())
        }
    );
    assert!(matches!(&events[2], StreamEvent::Tasks(t) if t.len() == 2));
    assert!(
        matches!(&events[4], StreamEvent::File(f) if f.name.as_deref() == Some(DEEP_AGENT_FILE))
    );
    // The fold: the latest plan, one file per name (its second version), the artifacts.
    let plan: Vec<_> = folded
        .todos
        .iter()
        .map(|t| (t.content.as_deref().unwrap(), t.status.as_deref().unwrap()))
        .collect();
    assert_eq!(plan, DEEP_AGENT_PLAN_DONE);
    assert_eq!(folded.files.len(), 1);
    assert!(folded.files[0].content.as_deref().unwrap().contains(answer));
    assert_eq!(folded.artifacts.len(), 1);
    assert_eq!(folded.artifacts[0].number, Some(1));
    assert_eq!(
        folded.artifacts[0].container.as_deref(),
        Some(DEEP_AGENT_CONTAINER)
    );
    assert!(folded.finished && folded.success && !folded.blocked && !folded.guardrail_triggered);
    assert_eq!(
        folded.progress,
        [
            "Planning the answer",
            "Looking for the leave policy",
            "Reviewing the plan",
            "Writing the answer"
        ]
    );

    // The same answer folded in one call, for applications that do not render progressively.
    let collected = ejento
        .stream_agent_response(7, &request)
        .await
        .unwrap()
        .collect_answer()
        .await
        .unwrap();
    assert_eq!(collected, folded);

    let sent = server.requests_to("/response-service/api/v2/agents/7/responses/stream");
    let body: Value = serde_json::from_str(&sent[0].body).unwrap();
    assert_eq!(body["overrides"], json!({"use_reasoning_middleware": true}));
}

/// A classic answer (the vendor page's named frames, `assistant_stream` deltas, a thought and a
/// reflection) folds into its text, thought process and progress; an unknown step stays a
/// status and does not end the stream.
#[tokio::test]
async fn a_classic_answer_with_an_unknown_step_folds_into_its_text() {
    use cxkit_testkit::ejento::{SseAnswer, THREAD_ID};

    let server = FakeEjento::start().await;
    let ejento = session(&server).await;
    let answer = "Employees get 20 days.";
    server.stream_answer(&SseAnswer::classic(answer).with_event_names().insert(
        1,
        json!({"step": "future_step", "message": "New", "meta": {"x": 1}}),
    ));
    let events: Vec<StreamEvent> = ejento
        .stream_agent_response(7, &question(None))
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        events[1],
        StreamEvent::Status {
            step: "future_step".into(),
            message: Some("New".into())
        }
    );
    assert!(events.contains(&StreamEvent::ToolDelta(
        "Searching the policy corpus.".into()
    )));

    let collected = ejento
        .stream_agent_response(7, &question(None))
        .await
        .unwrap()
        .collect_answer()
        .await
        .unwrap();
    assert_eq!(collected.text, answer);
    assert_eq!(collected.thoughts, "Searching the policy corpus.");
    assert!(
        collected
            .progress
            .contains(&"The sources answer the question.".to_owned())
    );
    assert!(
        collected.todos.is_empty() && collected.files.is_empty() && collected.artifacts.is_empty()
    );
    assert_eq!(collected.output.unwrap().thread_id, Some(THREAD_ID));
}
