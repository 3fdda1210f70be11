//! The canary test: known secret values (password, tokens, subscription key, emailed code,
//! Proto PAT, Platform28 API key and LSID) go through flows that fail in many ways, with all
//! tracing output captured at TRACE level; no error text (`{}`, `{:?}`, `{:#?}`), no captured
//! log line, no `Debug` of a client or session and no panic message may contain any of them.
//!
//! The log it reads is the process's capture (`support::logs`), which holds every suite's lines.

use crate::support;

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::support::*;
use cxkit::{Error, FileTokenStore, Platform28, Proto, Secret};
use cxkit_testkit::ejento::{FakeEjento, LOGIN, PASSWORD, REFRESH, USER, USERS};

/// Every canary contains this marker, which appears nowhere else.
const MARK: &str = "QZXCANARY";
const PASSWORD_CANARY: &str = "pw-QZXCANARY-1";
const WRONG_PASSWORD_CANARY: &str = "pw-QZXCANARY-wrong";
const SUBSCRIPTION_KEY_CANARY: &str = "sk-QZXCANARY-2";
const TOKEN_PREFIX_CANARY: &str = "QZXCANARY-tok";
const CODE_PREFIX_CANARY: &str = "QZXCANARY-code-";
const PAT_CANARY: &str = "pat-QZXCANARY-3";
const API_KEY_CANARY: &str = "key-QZXCANARY-4";
const LSID_CANARY: &str = "lsid-QZXCANARY-5";

thread_local! {
    /// Set while a panic is provoked on purpose, so the hook does not print it.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Everything that will be searched for canaries.
#[derive(Default)]
struct Sinks {
    texts: Vec<(String, String)>,
}

impl Sinks {
    fn error(&mut self, what: &str, e: &Error) {
        self.texts.push((format!("{what} Display"), format!("{e}")));
        self.texts.push((format!("{what} Debug"), format!("{e:?}")));
        self.texts
            .push((format!("{what} Debug#"), format!("{e:#?}")));
        if let Some(source) = std::error::Error::source(e) {
            self.texts
                .push((format!("{what} source"), format!("{source} {source:?}")));
        }
        // What an application's `unwrap`, `expect` and `panic!("{e}")` would print.
        for (how, f) in [("unwrap", 0), ("expect", 1), ("panic Display", 2)] {
            QUIET.set(true);
            let payload = catch_unwind(AssertUnwindSafe(|| {
                let r: Result<(), &Error> = std::hint::black_box(Err(e));
                match f {
                    0 => r.unwrap(),
                    1 => r.expect("the call failed"),
                    _ => panic!("the call failed: {e}"),
                }
            }))
            .expect_err("it panics");
            QUIET.set(false);
            let text = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .expect("a text payload");
            self.texts.push((format!("{what} panic {how}"), text));
        }
    }

    fn debug(&mut self, what: &str, value: &dyn std::fmt::Debug) {
        self.texts
            .push((format!("{what} Debug"), format!("{value:?}")));
        self.texts
            .push((format!("{what} Debug#"), format!("{value:#?}")));
    }

    fn expect_err<T: std::fmt::Debug>(&mut self, what: &str, r: cxkit::Result<T>) -> Error {
        let e = r.expect_err(what);
        self.error(what, &e);
        e
    }
}

#[test]
fn no_secret_reaches_logs_errors_debug_or_panics() {
    let capture = support::logs();
    // Provoked panics are caught and inspected; keep the default hook from printing them.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !QUIET.get() {
            hook(info);
        }
    }));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (sinks, mut secrets, wire) = runtime.block_on(flows());
    drop(runtime);

    let log = capture.text();
    if let Some(path) = std::env::var_os("CXKIT_CANARY_LOG") {
        std::fs::write(path, &log).unwrap();
    }
    // The capture works and saw the flows (so an empty log cannot pass for a clean one).
    for expected in [
        "cxkit.request",
        "refreshing tokens",
        "refresh failed; the current tokens stay valid",
        "transient failure, retrying",
        "401: a fresh credential is available, replaying once",
        "ignoring an unreadable token record",
    ] {
        assert!(log.contains(expected), "the log lacks {expected:?}:\n{log}");
    }
    // The canaries really went out on the wire (so their absence below means something).
    for canary in [
        PASSWORD_CANARY,
        WRONG_PASSWORD_CANARY,
        SUBSCRIPTION_KEY_CANARY,
        TOKEN_PREFIX_CANARY,
        CODE_PREFIX_CANARY,
        PAT_CANARY,
    ] {
        assert!(wire.contains(canary), "{canary} was never sent");
    }

    secrets.extend(
        [
            PASSWORD_CANARY,
            WRONG_PASSWORD_CANARY,
            SUBSCRIPTION_KEY_CANARY,
            PAT_CANARY,
            API_KEY_CANARY,
            LSID_CANARY,
        ]
        .map(str::to_owned),
    );
    let mut leaks = Vec::new();
    let mut check = |what: &str, text: &str| {
        let lower = text.to_ascii_lowercase();
        let at = lower
            .find(&MARK.to_ascii_lowercase())
            .or_else(|| secrets.iter().find_map(|s| text.find(s.as_str())));
        if let Some(at) = at {
            let from = text.floor_char_boundary(at.saturating_sub(120));
            let to = text.ceil_char_boundary((at + 60).min(text.len()));
            leaks.push(format!("{what}: …{}…", &text[from..to]));
        }
    };
    check("captured log", &log);
    for (what, text) in &sinks.texts {
        check(what, text);
    }
    assert!(
        sinks.texts.len() > 100,
        "{} texts checked",
        sinks.texts.len()
    );
    assert!(
        leaks.is_empty(),
        "secrets leaked:\n{}",
        leaks.join("\n---\n")
    );
}

/// Runs the failing flows; returns the texts to search, every token issued, and everything
/// the fake received.
async fn flows() -> (Sinks, Vec<String>, String) {
    let mut sinks = Sinks::default();
    let fake = FakeEjento::start().await;
    fake.set_token_prefix(TOKEN_PREFIX_CANARY);
    fake.set_code_prefix(CODE_PREFIX_CANARY);
    fake.add_user(USER, PASSWORD_CANARY);
    let clock = clock();
    let dir = tempfile::tempdir().unwrap();
    let store = FileTokenStore::new(dir.path());
    let builder = builder_with(&fake, config(&clock).store(store.clone()))
        .subscription_key(Secret::new(SUBSCRIPTION_KEY_CANARY))
        .session_name("canary");
    sinks.debug("EjentoBuilder", &builder);
    let ejento = builder.build().unwrap();

    // Wrong password, then the right one.
    sinks.expect_err(
        "wrong password",
        ejento
            .login_password(USER, &Secret::new(WRONG_PASSWORD_CANARY))
            .await,
    );
    ejento
        .login_password(USER, &Secret::new(PASSWORD_CANARY))
        .await
        .unwrap();
    sinks.debug("Ejento", &ejento);
    sinks.debug("TokenSet", &ejento.token_cache().peek());
    sinks.debug("SessionInfo", &ejento.session().await.unwrap());
    sinks.debug("auth client", ejento.auth());
    sinks.debug("platform client", ejento.platform());
    sinks.debug("token cache", ejento.token_cache());

    // Emailed codes: a wrong one, the right one, and the right one again.
    ejento.request_login_code(USER).await.unwrap();
    let code = fake.sent_codes().pop().unwrap();
    sinks.expect_err(
        "wrong code",
        ejento
            .login_with_code(&Secret::new(format!("{CODE_PREFIX_CANARY}999")))
            .await,
    );
    ejento
        .login_with_code(&Secret::new(code.clone()))
        .await
        .unwrap();
    sinks.expect_err(
        "used code",
        ejento.login_with_code(&Secret::new(code)).await,
    );
    let token = fake.last_issued().auth_app;

    // Server errors whose bodies echo the token, in the shapes a server might use.
    for (i, (status, body)) in [
        (500, format!(r#"{{"detail":"internal error for Bearer {token}"}}"#)),
        (400, format!(r#"{{"detail":"Token rejected: {token}."}}"#)),
        (400, format!(r#"{{"detail":"bad token ({token})","message":"token={token}"}}"#)),
        (400, format!(r#"{{"detail":{{"access_token":"{token}","hint":["{token}"]}}}}"#)),
        (422, format!(r#"{{"detail":[{{"msg":"invalid {token}","loc":["body"]}}]}}"#)),
        (401, format!(r#"{{"detail":"expired: {token}"}}"#)),
        // FastAPI (pydantic 2) echoes the offending value of a validation error.
        (
            422,
            format!(
                r#"{{"detail":[{{"type":"string_too_short","loc":["body","new_password"],"msg":"String should have at least 8 characters","input":"{PASSWORD_CANARY}"}}]}}"#
            ),
        ),
        (418, format!(r#"{{"error":"{token}","hint":"retry with {token}"}}"#)),
    ]
    .into_iter()
    .enumerate()
    {
        fake.script("PATCH", PASSWORD, status, &[], &body);
        if status == 401 {
            // A 401 is replayed once after a refresh: answer the replay the same way.
            fake.script("PATCH", PASSWORD, status, &[], &body);
        }
        sinks.expect_err(
            &format!("password change answered {status} (echo #{i})"),
            ejento
                .change_password(&Secret::new(PASSWORD_CANARY), &Secret::new(PASSWORD_CANARY))
                .await,
        );
    }
    fake.script(
        "GET",
        USERS,
        404,
        &[],
        &format!(r#"{{"detail":"{token}"}}"#),
    );
    sinks.expect_err("users 404", users_call(&ejento).await);

    // A 401 that is replayed once, then a 401 on the replay too.
    fake.reject_once(&fake.last_issued().auth_app);
    users_call(&ejento).await.unwrap();
    fake.unauthorized_next(2);
    sinks.expect_err("401 after replay", users_call(&ejento).await);

    // A refresh answering 500 with the token echoed, while valid, then once expired.
    fake.fail_next_refreshes(1);
    clock.advance(REFRESH_POINT + std::time::Duration::from_secs(1));
    users_call(&ejento).await.unwrap();
    fake.fail_next_refreshes(1);
    clock.advance(LIFETIME);
    sinks.expect_err("refresh 500 after expiry", users_call(&ejento).await);

    // Decode errors: token-bearing answers with the wrong types.
    let token = fake.last_issued().auth_app;
    let wrong_types = format!(
        r#"{{"success":"{token}","data":{{"access_token":{{"nested":"{token}"}},"ejento_access_token":["{token}"]}}}}"#
    );
    fake.script("POST", LOGIN, 200, &[], &wrong_types);
    sinks.expect_err(
        "login decode",
        ejento
            .login_password(USER, &Secret::new(PASSWORD_CANARY))
            .await,
    );
    fake.script(
        "POST",
        LOGIN,
        200,
        &[],
        &format!(r#"{{"data":{{"access_token":"{token}"}}}}"#),
    );
    sinks.expect_err(
        "login half answer",
        ejento
            .login_password(USER, &Secret::new(PASSWORD_CANARY))
            .await,
    );
    fake.script(
        "POST",
        LOGIN,
        200,
        &[],
        &format!(r#"{{"data":{{"access_token":"{token}"#),
    );
    sinks.expect_err(
        "login truncated",
        ejento
            .login_password(USER, &Secret::new(PASSWORD_CANARY))
            .await,
    );
    ejento
        .login_password(USER, &Secret::new(PASSWORD_CANARY))
        .await
        .unwrap();
    fake.script("POST", REFRESH, 200, &[], &wrong_types);
    sinks.expect_err("refresh decode", ejento.refresh().await);
    fake.revoke_all();
    sinks.expect_err("refresh 401", ejento.refresh().await);

    // A corrupt store while tokens are held (logged and ignored), then without them.
    let key = format!("ejento|{}|canary", fake.base_url());
    ejento
        .login_password(USER, &Secret::new(PASSWORD_CANARY))
        .await
        .unwrap();
    let stored = std::fs::read_to_string(store.path_for(&key)).unwrap();
    std::fs::write(store.path_for(&key), &stored[..stored.len() / 2]).unwrap();
    ejento.refresh().await.unwrap();
    std::fs::write(store.path_for(&key), &stored[..stored.len() / 2]).unwrap();
    let fresh = support::builder_with(&fake, support::config(&clock).store(store.clone()))
        .subscription_key(Secret::new(SUBSCRIPTION_KEY_CANARY))
        .session_name("canary")
        .build()
        .unwrap();
    sinks.expect_err("corrupt store", fresh.session().await);
    ejento.logout().await.unwrap();
    sinks.expect_err("after logout", users_call(&ejento).await);

    // Proto: a decode error on an answer carrying a token, and a refused connection.
    let proto = |base: &str| {
        Proto::builder()
            .base_url(base)
            .company_id("c1")
            .bot_id("b1")
            .personal_access_token(Secret::new(PAT_CANARY))
            .build()
            .unwrap()
    };
    let p = proto(fake.base_url());
    sinks.debug("Proto", &p);
    fake.script(
        "GET",
        "/c1/b1/crm/human/h1",
        200,
        &[],
        &format!(r#"{{"result":{{"fullname":7,"access_token":"{token}"}}}}"#),
    );
    sinks.expect_err(
        "proto decode",
        p.client()
            .get_human()
            .company_id("c1")
            .bot_id("b1")
            .human_id("h1")
            .send()
            .await
            .map_err(Error::from),
    );
    let refused = cxkit_testkit::raw_tcp::refused_base_url().await;
    sinks.expect_err(
        "proto refused",
        proto(&refused)
            .client()
            .get_human()
            .company_id("c1")
            .bot_id("b1")
            .human_id("h1")
            .send()
            .await
            .map_err(Error::from),
    );

    // Platform28: the API key in the query and the LSID as a matrix parameter, to a refused
    // port, and to the fake answering errors.
    for base in [refused.as_str(), fake.base_url()] {
        let platform = Platform28::builder()
            .config(
                &cxkit::Config::builder()
                    .retry(cxkit::RetryPolicy {
                        initial_backoff: std::time::Duration::from_millis(1),
                        ..cxkit::RetryPolicy::default()
                    })
                    .build()
                    .expect("config"),
            )
            .base_url(base)
            .api_key(Secret::new(API_KEY_CANARY))
            .build()
            .unwrap();
        sinks.debug("Platform28", &platform);
        fake.script("GET", "/session/s1", 500, &[], "{}");
        fake.script("GET", "/session/s1", 500, &[], "{}");
        fake.script("GET", "/session/s1", 500, &[], "{}");
        sinks.expect_err(
            "p28 system get_session",
            platform
                .as_system()
                .unwrap()
                .get_session()
                .session_id("s1")
                .send()
                .await
                .map_err(Error::from),
        );
        let session = platform.resume(Secret::new(LSID_CANARY), Some("s1".to_owned()));
        sinks.debug("Platform28Session", &session);
        fake.script(
            "GET",
            "/session/s1",
            404,
            &[],
            r#"{"code":404,"message":"no such session"}"#,
        );
        sinks.expect_err("p28 session info", session.info().await);
        fake.script("POST", "/session/s1/clone", 200, &[], r#"{"lsid":7}"#);
        sinks.expect_err("p28 clone", session.clone_session().await);
        // The generated client used directly, with the generated error mapped.
        // A reqwest client of the test's own needs a rustls provider installed first.
        cxkit::ensure_crypto_provider();
        let direct = cxkit_platform28::Client::new_with_client(
            base,
            reqwest::Client::new(),
            cxkit_auth::Auth::builder()
                .credential(
                    "loginSession",
                    cxkit_auth::Credential::fixed(Secret::new(LSID_CANARY)),
                )
                .retry(cxkit::RetryPolicy::never())
                .build(),
        );
        fake.script("GET", "/session/s9", 503, &[], "{}");
        sinks.expect_err(
            "p28 direct",
            direct
                .get_session()
                .session_id("s9")
                .send()
                .await
                .map_err(Error::from),
        );
    }

    let tokens: Vec<String> = fake
        .issued()
        .into_iter()
        .flat_map(|i| [i.auth_app, i.ejento])
        .collect();
    let wire: String = fake
        .requests()
        .iter()
        .map(|r| format!("{r:?}"))
        .collect::<Vec<_>>()
        .join("\n");
    (sinks, tokens, wire)
}
