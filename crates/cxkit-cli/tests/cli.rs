//! The `cxkit` binary against loopback fakes: sessions kept across invocations and refreshed
//! across an expiry, one operation per system, the streamed answer, upload progress, exit codes,
//! help and listings, Ctrl-C, and a canary over everything every command printed.

mod support;

use std::time::Duration;

use cxkit_testkit::ejento::{self as fake_ejento, FakeEjento};
use cxkit_testkit::proto as fake_proto;
use cxkit_testkit::{FakePlatform28, FakeProto};
use support::Cli;

const ME: &str = "/api/v2/users/me";

const PROTO_PAT: &str = "pat-canary-7f3a9c1e5b";
const P28_USER: &str = "alice";
const P28_PASSWORD: &str = "p28-password-canary";
const P28_API_KEY: &str = "apikey-canary-1a2b3c4d5e";
const ME_ANSWER: &str =
    r#"{"success":true,"data":{"id":42,"email":"user@example.com","full_name":"Ada"}}"#;

/// A fake whose tokens carry a recognisable signature, so the canary can look for them.
async fn fake() -> FakeEjento {
    let fake = FakeEjento::start().await;
    fake.set_token_prefix("sigcanary");
    fake.set_code_prefix("emailcode-canary-");
    fake
}

/// Every secret the Ejento fake handed out or was given.
fn ejento_secrets(fake: &FakeEjento) -> Vec<String> {
    let mut secrets = vec![fake_ejento::PASSWORD_OF_USER.to_owned()];
    for issued in fake.issued() {
        secrets.push(issued.auth_app);
        secrets.push(issued.ejento);
    }
    secrets.extend(fake.sent_codes());
    // The signature part alone, should a token be printed cut or re-encoded.
    secrets.push("sigcanary".to_owned());
    secrets
}

async fn login(cli: &Cli, fake: &FakeEjento) -> support::Run {
    login_as(cli, fake.base_url(), fake_ejento::PASSWORD_OF_USER).await
}

async fn login_as(cli: &Cli, base_url: &str, password: &str) -> support::Run {
    cli.run(
        &[
            "login",
            "ejento",
            "--base-url",
            base_url,
            "--username",
            fake_ejento::USER,
        ],
        &[("CXKIT_PASSWORD", password)],
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn login_is_kept_across_invocations_in_private_files() {
    let fake = fake().await;
    let cli = Cli::new();
    let run = login(&cli, &fake).await.ok();
    assert_eq!(run.json()["username"], fake_ejento::USER);

    fake.script("GET", ME, 200, &[], ME_ANSWER);
    let run = cli.run(&["ejento", "get-current-user"], &[]).await.ok();
    assert_eq!(run.json()["data"]["id"], 42);
    // Compact JSON when piped.
    assert_eq!(run.stdout.trim_end().lines().count(), 1);
    // The second process used the first one's token, without logging in again.
    assert_eq!(fake.count(fake_ejento::LOGIN), 1);
    let me = fake.requests_to(ME);
    assert_eq!(me[0].bearer(), Some(fake.last_issued().ejento.as_str()));
    assert_eq!(me[0].header("x-api-version"), Some("2.0"));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&cli.dir.path().join("config.json")), 0o600);
        let tokens: Vec<_> = std::fs::read_dir(cli.dir.path().join("tokens"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        assert!(!tokens.is_empty());
        for file in tokens {
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
    }

    let run = cli.run(&["whoami"], &[]).await.ok();
    assert_eq!(run.json()["ejento"]["username"], fake_ejento::USER);
    cli.run(&["logout"], &[]).await.ok();
    // After the logout the session is over: exit 3, "log in again".
    cli.run(&["ejento", "get-current-user"], &[])
        .await
        .fails(3, "log in");
    cli.assert_no_secrets(&ejento_secrets(&fake));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_that_expired_between_invocations_is_refreshed() {
    let fake = fake().await;
    // Two-second tokens are due for refresh one second after they are issued.
    fake.set_lifetime(Duration::from_secs(2));
    let cli = Cli::new();
    login(&cli, &fake).await.ok();
    let first = fake.last_issued();
    tokio::time::sleep(Duration::from_millis(1600)).await;

    fake.script("GET", ME, 200, &[], ME_ANSWER);
    cli.run(&["ejento", "get-current-user"], &[]).await.ok();
    assert_eq!(fake.refresh_calls(), 1);
    let refreshed = fake.last_issued();
    assert_ne!(refreshed.ejento, first.ejento);
    assert_eq!(
        fake.requests_to(ME)[0].bearer(),
        Some(refreshed.ejento.as_str())
    );
    assert_eq!(fake.count(fake_ejento::LOGIN), 1);
    cli.assert_no_secrets(&ejento_secrets(&fake));
}

#[tokio::test(flavor = "multi_thread")]
async fn login_with_an_emailed_code_into_a_named_profile() {
    let fake = fake().await;
    let cli = Cli::new();
    // The fake's first code is its prefix and 1.
    cli.run(
        &[
            "--profile",
            "work",
            "login",
            "ejento",
            "--code",
            "--base-url",
            fake.base_url(),
            "--username",
            fake_ejento::USER,
        ],
        &[("CXKIT_CODE", "emailcode-canary-1")],
    )
    .await
    .ok();
    assert_eq!(fake.sent_codes(), ["emailcode-canary-1"]);
    fake.script("GET", ME, 200, &[], ME_ANSWER);
    cli.run(&["ejento", "get-current-user", "--profile", "work"], &[])
        .await
        .ok();
    // The default profile has no login of its own.
    cli.run(&["ejento", "get-current-user"], &[])
        .await
        .fails(6, "profile `default`");
    cli.assert_no_secrets(&ejento_secrets(&fake));
}

#[tokio::test(flavor = "multi_thread")]
async fn exit_codes_name_the_kind_of_failure() {
    let fake = fake().await;
    let cli = Cli::new();
    // No login for the profile: configuration.
    cli.run(&["ejento", "get-current-user"], &[])
        .await
        .fails(6, "cxkit login ejento");
    // A wrong password: bad credentials.
    login_as(&cli, fake.base_url(), "wrong-password-canary")
        .await
        .fails(4, "credentials were rejected");
    // Nobody listening: transient.
    login_as(&cli, "http://127.0.0.1:9", fake_ejento::PASSWORD_OF_USER)
        .await
        .fails(5, "transient");
    // Usage errors, on one line.
    cli.run(&["ejento", "no-such-operation"], &[])
        .await
        .fails(2, "no-such-operation");
    cli.run(&["proto", "get-human"], &[])
        .await
        .fails(2, "--human-id");

    login(&cli, &fake).await.ok();
    // An error answer: API, with the vendor's message.
    fake.script("GET", ME, 404, &[], r#"{"detail":"User not found"}"#);
    let run = cli
        .run(&["ejento", "get-current-user"], &[])
        .await
        .fails(7, "User not found");
    assert!(
        run.stderr.contains("404") && run.stdout.is_empty(),
        "{run:?}"
    );
    // A stream cut off before its `end` event: transient. An event that is not JSON: decode.
    let stream = "/response-service/api/v2/agents/5/responses/stream";
    let sse = [("content-type", "text/event-stream")];
    let cut = "event: token\ndata: {\"delta\":\"Hel\",\"step\":\"assistant_stream\"}\n\n";
    fake.script("POST", stream, 200, &sse, cut);
    cli.run(&["ejento", "ask", "--agent", "5", "hi"], &[])
        .await
        .fails(5, "cut off");
    fake.script(
        "POST",
        stream,
        200,
        &sse,
        "event: token\ndata: {not json\n\n",
    );
    cli.run(&["ejento", "ask", "--agent", "5", "hi"], &[])
        .await
        .fails(8, "could not read");
    // The server revoked everything: the refresh fails, log in again.
    fake.revoke_all();
    let denied = r#"{"detail":"Could not validate credentials"}"#;
    fake.script("GET", ME, 401, &[], denied);
    cli.run(&["ejento", "get-current-user"], &[])
        .await
        .fails(3, "log in");
    // An operation whose answer is the session's tokens is refused, pointing at `login`.
    cli.run(&["ejento", "login-access-token", "--body", "{}"], &[])
        .await
        .fails(2, "cxkit login ejento");

    let mut secrets = ejento_secrets(&fake);
    secrets.push("wrong-password-canary".to_owned());
    cli.assert_no_secrets(&secrets);
}

#[tokio::test(flavor = "multi_thread")]
async fn ask_prints_the_answer_as_it_streams() {
    let fake = fake().await;
    let cli = Cli::new();
    login(&cli, &fake).await.ok();
    let stream = "/response-service/api/v2/agents/5/responses/stream";
    fake.script(
        "POST",
        stream,
        200,
        &[("content-type", "text/event-stream")],
        "event: start\ndata: {\"message\":\"Analyzing...\",\"step\":\"start\"}\n\n\
         event: token\ndata: {\"delta\":\"Hello\",\"step\":\"assistant_stream\"}\n\n\
         event: token\ndata: {\"delta\":\"!\",\"step\":\"assistant_stream\"}\n\n\
         event: end\ndata: {\"step\":\"end\",\"success\":true,\"output\":{\"answer\":\"Hello!\",\"thread_id\":9}}\n\n",
    );
    let run = cli
        .run(
            &[
                "ejento",
                "ask",
                "--agent",
                "5",
                "--thread",
                "9",
                "Say hello",
            ],
            &[],
        )
        .await
        .ok();
    assert_eq!(run.stdout, "Hello!\n");
    let sent = &fake.requests_to(stream)[0];
    let body: serde_json::Value = serde_json::from_str(&sent.body).unwrap();
    assert_eq!(body["user_query"], "Say hello");
    assert_eq!(body["chat_thread_id"], 9);
    assert_eq!(sent.header("accept"), Some("text/event-stream"));

    // An answer that arrives only whole, on `end`, is printed too.
    fake.script(
        "POST",
        stream,
        200,
        &[("content-type", "text/event-stream")],
        "event: end\ndata: {\"step\":\"end\",\"success\":true,\"output\":{\"answer\":\"Hi\"}}\n\n",
    );
    let run = cli
        .run(&["ejento", "ask", "--agent", "5", "again"], &[])
        .await
        .ok();
    assert_eq!(run.stdout, "Hi\n");
    cli.assert_no_secrets(&ejento_secrets(&fake));
}

/// The JSON lines of a `--json` run.
fn json_lines(run: &support::Run) -> Vec<serde_json::Value> {
    run.stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn ask_streams_a_deep_agents_answer_with_its_plan_files_and_artifacts() {
    use fake_ejento::{DEEP_AGENT_FILE, SseAnswer};
    let fake = fake().await;
    let cli = Cli::new();
    login(&cli, &fake).await.ok();
    let answer = "Employees get 20 days of leave.";
    // A deep agent's answer, with a step no version knows yet in the middle.
    fake.stream_answer(&SseAnswer::deep_agent(answer).insert(
        4,
        serde_json::json!({"step": "self_critique", "message": "Checking the draft"}),
    ));
    let run = cli
        .run(
            &[
                "ejento",
                "ask",
                "--agent",
                "5",
                "--deep-agent",
                "How much leave?",
            ],
            &[],
        )
        .await
        .ok();
    assert_eq!(run.stdout, format!("{answer}\n"), "{run:?}");
    for shown in [
        "… Planning the answer",
        "… Looking for the leave policy",
        "… Checking the draft",
        "tasks:\n  [~] Find the leave policy\n  [ ] Write the summary",
        "tasks:\n  [x] Find the leave policy\n  [x] Write the summary",
        "file: summary.md",
        "artifact 1: summary.md (https://files.example/agent-files/summary.md)",
    ] {
        assert!(
            run.stderr.contains(shown),
            "stderr lacks {shown:?}: {}",
            run.stderr
        );
    }
    let sent = &fake.requests_to("/response-service/api/v2/agents/5/responses/stream")[0];
    let body: serde_json::Value = serde_json::from_str(&sent.body).unwrap();
    assert_eq!(body["overrides"]["use_reasoning_middleware"], true);
    assert_eq!(body["user_query"], "How much leave?");

    // `--json`: one event per line, in order; the last one is `end`, with the artifacts.
    let run = cli
        .run(
            &["--json", "ejento", "ask", "--agent", "5", "How much leave?"],
            &[],
        )
        .await
        .ok();
    let events = json_lines(&run);
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds[..8],
        [
            "status", "status", "tasks", "file", "status", "file", "tasks", "status"
        ],
        "{kinds:?}"
    );
    assert_eq!(events[4]["step"], "self_critique");
    assert_eq!(events[2]["todos"][0]["status"], "in_progress");
    assert_eq!(events[5]["file"]["name"], DEEP_AGENT_FILE);
    assert_eq!(events[5]["file"]["modifiedAt"], "2026-01-05T10:00:05Z");
    let deltas: String = events
        .iter()
        .filter(|e| e["event"] == "answer_delta")
        .map(|e| e["delta"].as_str().unwrap())
        .collect();
    assert_eq!(deltas, answer);
    assert!(kinds.iter().filter(|k| **k == "answer_delta").count() > 1);
    let end = events.last().unwrap();
    assert_eq!(end["event"], "end");
    assert_eq!(end["success"], true);
    assert_eq!(end["output"]["artifacts"][0]["container"], "agent-files");
    // Without --deep-agent, no override is sent.
    let sent = &fake.requests_to("/response-service/api/v2/agents/5/responses/stream")[1];
    let body: serde_json::Value = serde_json::from_str(&sent.body).unwrap();
    assert!(body.get("overrides").is_none(), "{body}");
    cli.assert_no_secrets(&ejento_secrets(&fake));
}

#[tokio::test(flavor = "multi_thread")]
async fn ask_streams_a_classic_answer_and_reports_a_blocked_or_failed_one() {
    use fake_ejento::SseAnswer;
    let fake = fake().await;
    let cli = Cli::new();
    login(&cli, &fake).await.ok();
    let answer = "Employees get 20 days.";
    fake.stream_answer(&SseAnswer::classic(answer).with_event_names().insert(
        2,
        serde_json::json!({"step": "brand_new_step", "message": "Something new"}),
    ));
    let run = cli
        .run(&["ejento", "ask", "--agent", "5", "How much leave?"], &[])
        .await
        .ok();
    assert_eq!(run.stdout, format!("{answer}\n"), "{run:?}");
    assert!(run.stderr.contains("… Analyzing..."), "{}", run.stderr);
    assert!(run.stderr.contains("… Something new"), "{}", run.stderr);
    let run = cli
        .run(&["--json", "ejento", "ask", "--agent", "5", "again"], &[])
        .await
        .ok();
    let events = json_lines(&run);
    assert!(events.iter().any(|e| e["event"] == "tool_delta"));
    assert!(events.iter().any(|e| e["step"] == "brand_new_step"));
    assert_eq!(events.last().unwrap()["output"]["thread_id"], 41);

    // An `end` with `success: false`: the API exit code, with the server's reason.
    fake.stream_answer(&SseAnswer::new().push(serde_json::json!({
        "step": "end", "success": false,
        "output": {"message": "blocked by the content policy", "blocked": true, "guardrail_triggered": true},
    })));
    cli.run(&["ejento", "ask", "--agent", "5", "x"], &[])
        .await
        .fails(7, "blocked by the content policy");
    // An `error` event: its `output.error.details`, and in --json the event line first.
    fake.stream_answer(&SseAnswer::new().push(serde_json::json!({
        "step": "error", "message": "failed",
        "output": {"blocked": true, "error": {"details": "the tool crashed"}},
    })));
    let run = cli
        .run(&["--json", "ejento", "ask", "--agent", "5", "x"], &[])
        .await
        .fails(7, "the tool crashed");
    let events = json_lines(&run);
    assert_eq!(events[0]["event"], "error");
    assert_eq!(events[0]["blocked"], true);
    cli.assert_no_secrets(&ejento_secrets(&fake));
}

#[tokio::test(flavor = "multi_thread")]
async fn upload_prints_plain_progress_lines_when_not_on_a_terminal() {
    let fake = fake().await;
    let cli = Cli::new();
    login(&cli, &fake).await.ok();
    let file = cli.dir.path().join("report.txt");
    std::fs::write(&file, vec![b'x'; 600 * 1024]).unwrap();
    let path = "/indexing-service/api/v2/corpora/7/documents";
    fake.script(
        "POST",
        path,
        200,
        &[],
        r#"{"success":true,"message":"uploaded","data":{"id":11,"name":"report.txt"}}"#,
    );
    let run = cli
        .run(
            &["ejento", "upload", "--corpus", "7", file.to_str().unwrap()],
            &[],
        )
        .await
        .ok();
    assert_eq!(run.json()["data"]["id"], 11);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(lines.len() >= 2, "{run:?}");
    assert!(
        lines.iter().all(|l| l.starts_with("upload report.txt: ")),
        "{run:?}"
    );
    assert!(
        lines
            .last()
            .unwrap()
            .ends_with("614400 of 614400 bytes (100%)"),
        "{run:?}"
    );
    let sent = &fake.requests_to(path)[0];
    assert!(sent.body.len() > 600 * 1024);
    assert_eq!(sent.bearer(), Some(fake.last_issued().ejento.as_str()));
    cli.assert_no_secrets(&ejento_secrets(&fake));
}

#[tokio::test(flavor = "multi_thread")]
async fn proto_operation_with_the_stored_personal_access_token() {
    let proto = FakeProto::start().await;
    proto.set_token(PROTO_PAT);
    proto.insert_human(
        "acme",
        "bot1",
        serde_json::json!({
            "id": "eu_KM8dKoKB5HJN",
            "fullname": "Ada Lovelace",
            "email": "ada@example.com",
        }),
    );
    let cli = Cli::new();
    cli.run(
        &[
            "login",
            "proto",
            "--base-url",
            &proto.gateway_url(),
            "--company-id",
            "acme",
            "--bot-id",
            "bot1",
        ],
        &[("CXKIT_PROTO_TOKEN", PROTO_PAT)],
    )
    .await
    .ok();
    // The login keeps the token without calling the gateway.
    assert!(proto.requests().is_empty());
    let run = cli
        .run(
            &["proto", "get-human", "--human-id", "eu_KM8dKoKB5HJN"],
            &[],
        )
        .await
        .ok();
    assert_eq!(run.json()["result"]["fullname"], "Ada Lovelace");
    // The company and bot ids come from the login; the PAT travelled in its header.
    let sent = proto.requests_to("get_human");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].param("company_id"), Some("acme"));
    assert_eq!(sent[0].param("bot_id"), Some("bot1"));
    assert_eq!(sent[0].param("human_id"), Some("eu_KM8dKoKB5HJN"));
    assert_eq!(sent[0].header(fake_proto::TOKEN_HEADER), Some(PROTO_PAT));
    assert_eq!(sent[0].bearer(), None);
    assert!(!sent[0].path.contains(PROTO_PAT) && sent[0].query.is_none());
    let run = cli.run(&["whoami"], &[]).await.ok();
    assert_eq!(
        run.json()["proto"]["stored"],
        serde_json::json!(["personal access token"])
    );
    // A token the gateway no longer takes: bad credentials, naming the command that fixes it.
    proto.set_token("another-token");
    cli.run(
        &["proto", "get-human", "--human-id", "eu_KM8dKoKB5HJN"],
        &[],
    )
    .await
    .fails(4, "run `cxkit login proto --company-id ID --bot-id ID`");
    cli.assert_no_secrets(&[PROTO_PAT.to_owned()]);
}

/// `config.json` is changed under a lock, read again first, and written through a temporary
/// file of a unique name: `cxkit login ejento` (held at the server) and `cxkit login proto` run
/// as two processes at once keep both logins, a link planted where a temporary file used to go
/// is never written through, and a directory others can write is refused.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_logins_keep_both_and_the_config_file_is_written_safely() {
    use std::os::unix::fs::PermissionsExt as _;
    let fake = fake().await;
    let cli = Cli::new();
    let elsewhere = tempfile::tempdir().unwrap();
    let victim = elsewhere.path().join("victim");
    std::fs::write(&victim, b"keep").unwrap();
    std::os::unix::fs::symlink(&victim, cli.dir.path().join(".config.json.tmp")).unwrap();

    fake.hold(fake_ejento::LOGIN);
    let ejento = std::process::Command::new(assert_cmd::cargo::cargo_bin("cxkit"))
        .env("CXKIT_CONFIG_DIR", cli.dir.path())
        .env("CXKIT_PASSWORD", fake_ejento::PASSWORD_OF_USER)
        .env_remove("CXKIT_PROFILE")
        .args(["login", "ejento", "--base-url", fake.base_url()])
        .args(["--username", fake_ejento::USER])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    fake.wait_for(fake_ejento::LOGIN, 1).await;
    // While the Ejento login waits for its answer, another process logs in to Proto.
    cli.run(
        &["login", "proto", "--company-id", "acme", "--bot-id", "bot1"],
        &[("CXKIT_PROTO_TOKEN", PROTO_PAT)],
    )
    .await
    .ok();
    fake.release(fake_ejento::LOGIN);
    let output = tokio::task::spawn_blocking(move || ejento.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(output.status.success(), "{output:?}");

    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cli.dir.path().join("config.json")).unwrap())
            .unwrap();
    let profile = &config["profiles"]["default"];
    assert_eq!(profile["ejento"]["username"], fake_ejento::USER, "{config}");
    assert_eq!(profile["proto"]["company_id"], "acme", "{config}");
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep");

    std::fs::set_permissions(cli.dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    cli.run(&["whoami"], &[]).await.fails(6, "chmod 700");
    std::fs::set_permissions(cli.dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    cli.assert_no_secrets(&[PROTO_PAT.to_owned()]);
}

/// Secrets on the command line show in `ps` and the shell's history: a secret parameter
/// (`--session-id`, `format: password` in the spec) or a `--body` holding a password field is
/// refused inline, before anything is sent, with an error saying how to pass it; `@FILE`,
/// `@-` (stdin) and the environment work, and `--allow-inline-secrets` opts in.
#[tokio::test(flavor = "multi_thread")]
async fn secrets_are_refused_inline_and_taken_from_a_file_stdin_or_the_environment() {
    const NEW_HASH: &str = "new-hash-canary-5e6f";
    let p28 = fake_platform28().await;
    let cli = Cli::new();
    login_platform28(&cli, &p28).await.ok();
    let [session_id] = p28.sessions().try_into().expect("one login session");
    let sent = p28.requests().len();

    cli.run(
        &["platform28", "get-session", "--session-id", &session_id],
        &[],
    )
    .await
    .fails(2, "--session-id @FILE");
    let body = format!(r#"{{"newPasswordHash":"{NEW_HASH}"}}"#);
    cli.run(
        &[
            "platform28",
            "update-user-password",
            "--user-id",
            "u-1",
            "--body",
            &body,
        ],
        &[],
    )
    .await
    .fails(2, "--body @FILE");
    assert_eq!(p28.requests().len(), sent, "nothing was sent");

    let file = cli.dir.path().join("session-id");
    std::fs::write(&file, format!("{session_id}\n")).unwrap();
    let from_file = format!("@{}", file.display());
    cli.run(
        &["platform28", "get-session", "--session-id", &from_file],
        &[],
    )
    .await
    .ok();
    cli.run(
        &["platform28", "get-session"],
        &[("CXKIT_SESSION_ID", &session_id)],
    )
    .await
    .ok();
    cli.run(
        &[
            "platform28",
            "get-session",
            "--allow-inline-secrets",
            "--session-id",
            &session_id,
        ],
        &[],
    )
    .await
    .ok();
    let reads = p28.requests_to("get_session");
    assert_eq!(reads.len(), 3);
    for read in &reads {
        assert_eq!(read.param("sessionId"), Some(session_id.as_str()));
    }
    let body_file = cli.dir.path().join("body.json");
    std::fs::write(&body_file, &body).unwrap();
    let from_file = format!("@{}", body_file.display());
    let _ = cli
        .run(
            &[
                "platform28",
                "update-user-password",
                "--user-id",
                "u-1",
                "--body",
                &from_file,
            ],
            &[],
        )
        .await;
    assert_eq!(p28.requests_to("update_user_password").len(), 1);
    // What was refused printed neither secret.
    cli.assert_no_secrets(&[NEW_HASH.to_owned(), P28_PASSWORD.to_owned()]);
}

/// A Platform28 fake whose user, password and API key are the canaries of these tests.
#[tokio::test(flavor = "multi_thread")]
async fn proto_developer_and_messaging_operations_with_their_stored_credentials() {
    use cxkit_testkit::proto_messaging::{self as fake_messaging, FakeProtoMessaging};
    use cxkit_testkit::proto_platform::{FakeProtoPlatform, TtsEncoding};
    const SECRET: &str = "takeover-canary-5d2e8f";
    let platform = FakeProtoPlatform::start().await;
    platform.set_secret(SECRET);
    let cli = Cli::new();
    cli.run(
        &[
            "login",
            "proto-platform",
            "--base-url",
            &platform.api_url(),
            "--teamspace-id",
            "sc_9",
        ],
        &[("CXKIT_PROTO_TAKEOVER_SECRET", SECRET)],
    )
    .await
    .ok();
    assert!(platform.requests().is_empty());
    let run = cli
        .run(
            &[
                "proto-platform",
                "create-ticket",
                "--body",
                r#"{"subject":"Refund","provided_unique_id":"u1"}"#,
            ],
            &[],
        )
        .await
        .ok();
    assert!(run.json()["id"].as_str().unwrap().starts_with("conv_fake"));
    let sent = &platform.requests_to("create_ticket")[0];
    assert_eq!(
        sent.path,
        "/api/platform/v1/conversations/sc_9/create-ticket"
    );
    assert_eq!(sent.bearer(), Some(SECRET));
    // Text to speech: the decoded audio on stdout.
    platform.set_tts_encoding(TtsEncoding::Base64Text);
    let run = cli
        .run(
            &[
                "proto-platform",
                "text-to-speech",
                "--body",
                r#"{"text":"Muraho"}"#,
            ],
            &[],
        )
        .await
        .ok();
    assert_eq!(
        run.stdout,
        String::from_utf8_lossy(&FakeProtoPlatform::speech_for("Muraho"))
    );
    platform.set_secret("rotated");
    cli.run(&["proto-platform", "list-custom-fields"], &[])
        .await
        .fails(4, "run `cxkit login proto-platform --teamspace-id ID`");

    let messaging = FakeProtoMessaging::start().await;
    messaging.set_token(PROTO_PAT);
    cli.run(
        &[
            "login",
            "proto-messaging",
            "--base-url",
            &messaging.gateway_url(),
            "--channel-id",
            "ch_1",
        ],
        &[("CXKIT_PROTO_TOKEN", PROTO_PAT)],
    )
    .await
    .ok();
    let run = cli
        .run(
            &[
                "proto-messaging",
                "create-channel-human",
                "--body",
                r#"{"name":"Ada"}"#,
            ],
            &[],
        )
        .await
        .ok();
    let id = run.json()["human"]["id"].as_str().unwrap().to_owned();
    let sent = &messaging.requests_to("create_channel_human")[0];
    assert_eq!(sent.path, "/webhook/ch_1/human");
    assert_eq!(sent.header(fake_messaging::TOKEN_HEADER), Some(PROTO_PAT));
    let run = cli
        .run(
            &["proto-messaging", "get-channel-human", "--human-id", &id],
            &[],
        )
        .await
        .ok();
    assert_eq!(run.json()["name"], "Ada");
    let run = cli.run(&["whoami"], &[]).await.ok();
    assert_eq!(
        run.json()["proto-platform"]["stored"],
        serde_json::json!(["takeover secret"])
    );
    cli.assert_no_secrets(&[SECRET.to_owned(), PROTO_PAT.to_owned()]);
}

async fn fake_platform28() -> FakePlatform28 {
    let p28 = FakePlatform28::start().await;
    p28.add_user(P28_USER, "u-1", P28_PASSWORD);
    p28.set_api_key(Some(P28_API_KEY));
    p28
}

async fn login_platform28(cli: &Cli, p28: &FakePlatform28) -> support::Run {
    cli.run(
        &[
            "login",
            "platform28",
            "--base-url",
            &p28.api_url(),
            "--username",
            P28_USER,
            "--api-key",
        ],
        &[
            ("CXKIT_PASSWORD", P28_PASSWORD),
            ("CXKIT_PLATFORM28_API_KEY", P28_API_KEY),
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn platform28_operation_with_the_stored_login_session() {
    let p28 = fake_platform28().await;
    let cli = Cli::new();
    login_platform28(&cli, &p28).await.ok();
    let login = &p28.requests_to("create_login_session")[0];
    assert_eq!(
        login.form(),
        [("password".to_owned(), P28_PASSWORD.to_owned())]
    );
    let [session_id] = p28.sessions().try_into().expect("one login session");
    let lsid = p28.session(&session_id).unwrap()["lsid"]
        .as_str()
        .unwrap()
        .to_owned();
    // The fake names its sessions apart from their LSIDs.
    assert_ne!(session_id, lsid);
    // `sessionId` defaults to the stored session's own id, not its LSID.
    let run = cli.run(&["platform28", "get-session"], &[]).await.ok();
    // The answer's copies of the LSID and the session id are redacted.
    let answer = run.json();
    assert_eq!(answer["username"], P28_USER);
    assert_eq!(answer["userId"], "u-1");
    assert_eq!(answer["lsid"], "REDACTED");
    assert_eq!(answer["sessionId"], "REDACTED");
    // The LSID went as a matrix parameter on the last path segment, and nowhere else.
    let read = &p28.requests_to("get_session")[0];
    assert_eq!(read.param("sessionId"), Some(session_id.as_str()));
    assert_eq!(read.matrix_param("lsid").as_deref(), Some(lsid.as_str()));
    assert!(read.path.ends_with(&format!(";lsid={lsid}")), "{read:?}");
    assert_eq!(read.query_param("apiKey"), None);
    // The logout ends that session on the server (its id, authorized by its LSID), and
    // prints nothing on stderr.
    let run = cli.run(&["logout", "platform28"], &[]).await.ok();
    assert!(run.stderr.is_empty(), "{run:?}");
    let ended = &p28.requests_to("terminate_session")[0];
    assert_eq!(ended.param("sessionId"), Some(session_id.as_str()));
    assert_eq!(ended.matrix_param("lsid").as_deref(), Some(lsid.as_str()));
    assert!(p28.sessions().is_empty());
    cli.run(&["platform28", "get-session"], &[])
        .await
        .fails(6, "cxkit login platform28");
    // A login session the server ended is "log in again", naming the command.
    login_platform28(&cli, &p28).await.ok();
    let [second] = p28.sessions().try_into().expect("one login session");
    let second_lsid = p28.session(&second).unwrap()["lsid"]
        .as_str()
        .unwrap()
        .to_owned();
    p28.expire_session(&second);
    cli.run(&["platform28", "get-session"], &[]).await.fails(
        3,
        "run `cxkit login platform28 --base-url URL --username NAME`",
    );
    // Acting as the system with an API key the server no longer takes: bad credentials.
    cli.run(
        &[
            "login",
            "platform28",
            "--base-url",
            &p28.api_url(),
            "--api-key",
        ],
        &[("CXKIT_PLATFORM28_API_KEY", P28_API_KEY)],
    )
    .await
    .ok();
    p28.set_api_key(Some("another-key"));
    cli.run(
        &["platform28", "get-session"],
        &[("CXKIT_SESSION_ID", "S9")],
    )
    .await
    .fails(4, "run `cxkit login platform28 --base-url URL --api-key`");
    assert_eq!(
        p28.requests()
            .last()
            .unwrap()
            .query_param("apiKey")
            .as_deref(),
        Some(P28_API_KEY)
    );
    // A wrong password is "bad credentials".
    cli.run(
        &[
            "login",
            "platform28",
            "--base-url",
            &p28.api_url(),
            "--username",
            P28_USER,
        ],
        &[("CXKIT_PASSWORD", "wrong-p28-canary")],
    )
    .await
    .fails(4, "credentials were rejected");
    cli.assert_no_secrets(&[
        P28_PASSWORD.to_owned(),
        lsid,
        second_lsid,
        P28_API_KEY.to_owned(),
        "wrong-p28-canary".to_owned(),
    ]);
}

/// The long help's paragraph on the systems names every system of the registry, not a list
/// written by hand (it once left out two).
#[tokio::test(flavor = "multi_thread")]
async fn the_long_help_names_every_system() {
    let cli = Cli::new();
    let run = cli.run(&["--help"], &[]).await.ok();
    let start = run.stdout.find("Systems (").expect("a systems paragraph");
    let end = start
        + run.stdout[start..]
            .find("`cxkit <system> operations`")
            .unwrap();
    let paragraph = &run.stdout[start..end];
    let names: Vec<&str> = support::registry()
        .cli
        .iter()
        .map(|system| system.name.as_str())
        .collect();
    assert!(names.len() >= 5, "{names:?}");
    for name in names {
        assert!(
            paragraph.contains(&format!("{name} ")) || paragraph.contains(&format!("{name},")),
            "{name}: {paragraph}"
        );
    }
}

/// Every system whose login the registry declares (`login = { kind = "static", ... }` in
/// `specs/systems.toml`), with no line of its own here: its login keeps the key from its
/// variable without a request, `whoami` names it, a GET operation sends it (and the login's
/// ids in the path) and nowhere in the URL, `logout` forgets it, and nothing printed holds it.
#[tokio::test(flavor = "multi_thread")]
async fn every_registry_login_keeps_sends_and_forgets_its_key() {
    let systems: Vec<_> = support::registry()
        .cli
        .iter()
        .filter_map(|system| Some((system.name.as_str(), system.login.as_ref()?)))
        .collect();
    assert!(systems.len() >= 3, "{systems:?}");
    for (name, login) in systems {
        let key = format!("key-canary-{name}-3e9d1b");
        // The test kit's recording fake, as a server of no system: only the request scripted
        // below is answered, and every request is kept.
        let server = FakeEjento::start().await;
        let cli = Cli::new();
        let mut args = vec![
            "login".to_owned(),
            name.to_owned(),
            "--base-url".into(),
            server.base_url().to_owned(),
        ];
        for id in &login.ids {
            args.push(format!("--{}", id.replace('_', "-")));
            args.push(format!("{id}-value"));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cli.run(&args, &[(login.env.as_str(), key.as_str())])
            .await
            .ok();
        assert!(
            server.requests().is_empty(),
            "{name}: the login sent a request"
        );
        let run = cli.run(&["whoami"], &[]).await.ok();
        assert_eq!(
            run.json()[name]["stored"],
            serde_json::json!([login.secret]),
            "{name}: {}",
            run.stdout
        );

        // A GET operation: each path parameter filled by a login id, or given here.
        let run = cli.run(&["--json", name, "operations"], &[]).await.ok();
        let operations = run.json();
        let operation = operations
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["method"] == "GET" && o["handwritten"] == false)
            .unwrap_or_else(|| panic!("{name}: no generated GET operation: {operations}"));
        let template = operation["path"].as_str().unwrap();
        // The path parameters the login's ids fill, by the command line's own rule.
        let id_params = login.id_params();
        let filled_by = |param: &str| {
            id_params
                .iter()
                .find(|(_, filled)| *filled == param)
                .map(|(id, _)| *id)
        };
        let mut args = vec![
            name.to_owned(),
            operation["name"].as_str().unwrap().to_owned(),
        ];
        let mut expected = template.to_owned();
        for param in cxkit_spec::template_params(template) {
            let value = match filled_by(param) {
                Some(id) => format!("{id}-value"),
                None => {
                    args.push(format!("--{}", param.replace('_', "-")));
                    args.push(format!("{param}-given"));
                    format!("{param}-given")
                }
            };
            expected = expected.replace(&format!("{{{param}}}"), &value);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        server.script("GET", &expected, 200, &[], "{}");
        cli.run(&args, &[]).await.ok();
        let sent = server
            .requests()
            .pop()
            .unwrap_or_else(|| panic!("{name}: nothing sent"));
        assert!(
            sent.path.ends_with(&expected),
            "{name}: {} for {template}",
            sent.path
        );
        assert!(!sent.url_contains(&key), "{name}: the key in the URL");
        assert!(
            sent.header_carries(&key),
            "{name}: the key was not sent: {:?}",
            sent.headers.iter().map(|(n, _)| n).collect::<Vec<_>>()
        );

        cli.run(&["logout", name], &[]).await.ok();
        let run = cli.run(&["whoami"], &[]).await.ok();
        assert!(
            run.json()[name]["stored"]
                .as_array()
                .is_none_or(|stored| stored.is_empty()),
            "{name}: still stored after the logout: {}",
            run.stdout
        );
        cli.assert_no_secrets(&[key]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn help_lists_the_systems_and_an_operation_shows_its_details() {
    let cli = Cli::new();
    let cases: [(&[&str], &[&str]); 4] = [
        (
            &["--help"],
            &[
                "ejento",
                "proto",
                "platform28",
                "login",
                "Exit codes",
                "130",
            ],
        ),
        (
            &["ejento", "get-current-user", "--help"],
            &[
                "Get authenticated User",
                "GET /api/v2/users/me",
                "Sourced: yes",
                "inferred:",
            ],
        ),
        (
            &["proto", "get-human", "--help"],
            &[
                "human-id",
                "path string, required",
                "GET /{company_id}/{bot_id}/crm/human/{human_id}",
                "--company-id (path string, from the login unless given)",
            ],
        ),
        (
            &["ejento", "upload-corpus-document", "--help"],
            &[
                "Hand-written in the facade",
                "cxkit ejento upload --corpus ID FILE",
            ],
        ),
    ];
    for (args, needles) in cases {
        let run = cli.run(args, &[]).await.ok();
        for needle in needles {
            assert!(
                run.stdout.contains(needle),
                "{args:?}: {needle}: {}",
                run.stdout
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn operations_lists_every_operation_of_a_system() {
    let cli = Cli::new();
    let run = cli.run(&["proto", "operations"], &[]).await.ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("get-human ") && l.contains("GET"))
    );
    let run = cli.run(&["--json", "ejento", "operations"], &[]).await.ok();
    let ops = run.json();
    let ops = ops.as_array().unwrap();
    // Both Ejento specs: the Authentication App (with the users API) and the platform.
    assert!(ops.len() > 300, "{}", ops.len());
    for name in [
        "get-current-user",
        "read-all-users",
        "stream-agent-response",
    ] {
        assert!(ops.iter().any(|o| o["name"] == name), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn completions_name_the_systems_and_their_operations_in_each_shell() {
    let cli = Cli::new();
    // How each shell's script starts completing `cxkit`.
    let shells = [
        ("bash", "complete -F _cxkit"),
        ("zsh", "#compdef cxkit"),
        ("fish", "complete -c cxkit"),
    ];
    for (shell, marker) in shells {
        let run = cli.run(&["completions", shell], &[]).await.ok();
        assert!(run.stderr.is_empty(), "{shell}: {run:?}");
        assert!(run.stdout.contains(marker), "{shell}: {marker}");
        // The systems, the commands beside them, and operations generated from the specs.
        for word in [
            "ejento",
            "proto",
            "platform28",
            "login",
            "whoami",
            "get-current-user",
            "get-human",
            "get-session",
            "human-id",
        ] {
            assert!(run.stdout.contains(word), "{shell}: {word}");
        }
    }
    // An unknown shell is a usage error naming it.
    cli.run(&["completions", "tcsh"], &[])
        .await
        .fails(2, "tcsh");
}

/// `cxkit completions fish | head`: the reader goes away long before the script (megabytes) is
/// written, and the command ends with one line on stderr instead of a panic.
#[test]
fn a_closed_stdout_is_a_failure_line_not_a_panic() {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("cxkit"))
        .args(["completions", "fish"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("cxkit: cannot write the output"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_cancels_a_stream_and_exits_130() {
    let fake = fake().await;
    let cli = Cli::new();
    login(&cli, &fake).await.ok();
    let stream = "/response-service/api/v2/agents/5/responses/stream";
    fake.hold(stream);
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("cxkit"))
        .env("CXKIT_CONFIG_DIR", cli.dir.path())
        .args(["ejento", "ask", "--agent", "5", "wait"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    fake.wait_for(stream, 1).await;
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    fake.release(stream);
    assert_eq!(output.status.code(), Some(130), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim(),
        "cxkit: interrupted"
    );
}
