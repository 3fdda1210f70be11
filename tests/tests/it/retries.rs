//! Retries: transient failures of idempotent calls are retried (with `Retry-After`, clamped,
//! and a retry budget); login, code and clone POSTs never are; torn connections are transient.
//! Tokio's clock is paused, so backoff waits take no real time.

use crate::support;

use std::time::Duration;

use crate::support::*;
use cxkit::{Error, Platform28, Proto, Secret};
use cxkit_testkit::ejento::{FEATURE_FLAGS, FakeEjento, LOGIN, PASSWORD_OF_USER, USER};
use cxkit_testkit::raw_tcp::{Fault, FaultServer};

#[tokio::test(start_paused = true)]
async fn a_get_answering_503_twice_then_200_succeeds_on_the_third_attempt() {
    let fake = FakeEjento::start().await;
    fake.fail_feature_flags(2, None);
    let ejento = builder(&fake, &clock()).build().unwrap();
    flags_call(&ejento).await.unwrap();
    let requests = fake.requests_to(FEATURE_FLAGS);
    assert_eq!(requests.len(), 3);
    // Virtual time: full-jitter backoff under a 200 ms ceiling, then 400 ms.
    let gaps = [
        requests[1].at - requests[0].at,
        requests[2].at - requests[1].at,
    ];
    assert!(gaps[0] <= Duration::from_millis(200), "{gaps:?}");
    assert!(gaps[1] <= Duration::from_millis(400), "{gaps:?}");
}

#[tokio::test(start_paused = true)]
async fn retries_stop_after_three_attempts() {
    let fake = FakeEjento::start().await;
    fake.fail_feature_flags(10, None);
    let ejento = builder(&fake, &clock()).build().unwrap();
    let err = flags_call(&ejento).await.unwrap_err();
    assert_transient(&err, Some(503));
    assert_eq!(fake.count(FEATURE_FLAGS), 3);
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured() {
    let fake = FakeEjento::start().await;
    fake.fail_feature_flags(1, Some("1"));
    let ejento = builder(&fake, &clock()).build().unwrap();
    flags_call(&ejento).await.unwrap();
    let requests = fake.requests_to(FEATURE_FLAGS);
    assert_eq!(requests.len(), 2);
    // Virtual time: without Retry-After the first backoff is at most 200 ms.
    let gap = requests[1].at - requests[0].at;
    assert!(gap >= Duration::from_secs(1), "{gap:?}");
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_beyond_the_clamp_ends_the_retries() {
    let fake = FakeEjento::start().await;
    fake.fail_feature_flags(1, Some("3600"));
    let ejento = builder(&fake, &clock()).build().unwrap();
    let err = flags_call(&ejento).await.unwrap_err();
    assert_transient(&err, Some(503));
    assert_eq!(fake.count(FEATURE_FLAGS), 1);
}

/// A `Retry-After` near `u64::MAX` seconds under a policy that honours any wait: once a second
/// or more has passed since the call started, the elapsed time plus the wait passes
/// `Duration`'s range, which must end the retries, not panic. (Real time: the first answer is
/// held for just over a second.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_past_the_clocks_range_ends_the_retries_without_a_panic() {
    let fake = FakeEjento::start().await;
    fake.fail_feature_flags(1, Some(&u64::MAX.to_string()));
    let config = support::config(&clock()).retry(cxkit::RetryPolicy {
        max_retry_after: Duration::MAX,
        ..cxkit::RetryPolicy::default()
    });
    let ejento = builder_with(&fake, config).build().unwrap();
    fake.hold(FEATURE_FLAGS);
    let call = tokio::spawn(async move { flags_call(&ejento).await });
    fake.wait_for(FEATURE_FLAGS, 1).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    fake.release(FEATURE_FLAGS);
    let err = call
        .await
        .expect("the call ends without a panic")
        .unwrap_err();
    assert_transient(&err, Some(503));
    assert_eq!(fake.count(FEATURE_FLAGS), 1);
}

#[tokio::test(start_paused = true)]
async fn the_login_post_is_never_retried() {
    let fake = FakeEjento::start().await;
    fake.fail_next_logins(1);
    let ejento = builder(&fake, &clock()).build().unwrap();
    let err = ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .unwrap_err();
    assert_transient(&err, Some(503));
    assert_eq!(fake.count(LOGIN), 1);

    let err = ejento
        .login_password(USER, &Secret::new("wrong-password"))
        .await
        .unwrap_err();
    let Error::InvalidCredentials { message } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(message, "Incorrect email or password");
    assert_eq!(fake.count(LOGIN), 2);
    assert!(ejento.token_cache().peek().is_none());
}

#[tokio::test(start_paused = true)]
async fn a_connection_closed_before_the_answer_is_transient_and_retried() {
    let server = FaultServer::start(Fault::CloseBeforeResponse).await;
    let ejento = cxkit::Ejento::builder()
        .base_url(server.base_url())
        .build()
        .unwrap();
    let err = flags_call(&ejento).await.unwrap_err();
    assert_transient(&err, None);
    assert_eq!(server.connections(), 3);

    // The same failure on the login POST: transient, not retried.
    let err = ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transient { .. }), "{err:?}");
    assert_eq!(server.connections(), 4);
}

#[tokio::test(start_paused = true)]
async fn a_torn_body_is_transient() {
    let server = FaultServer::start(Fault::TornBody).await;
    let ejento = cxkit::Ejento::builder()
        .base_url(server.base_url())
        .build()
        .unwrap();
    let err = flags_call(&ejento).await.unwrap_err();
    assert!(matches!(err, Error::Transient { .. }), "{err:?}");
    assert!(err.is_retryable());
    // The hooks retry until a response head arrives; a body torn after that surfaces to the
    // caller (as retryable) instead of being re-requested.
    assert_eq!(server.connections(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_connection_refused_is_transient_and_retried() {
    let base = cxkit_testkit::raw_tcp::refused_base_url().await;
    let ejento = cxkit::Ejento::builder().base_url(&base).build().unwrap();
    let err = flags_call(&ejento).await.unwrap_err();
    assert_transient(&err, None);
}

#[tokio::test(start_paused = true)]
async fn the_retry_budget_caps_retries_across_calls() {
    // Proto's Get Human is a GET (retried). A budget of 5 pays for exactly one retry.
    let fake = FakeEjento::start().await;
    let path = "/c1/b1/crm/human/h1";
    for _ in 0..3 {
        fake.script("GET", path, 503, &[], r#"{"message":"busy"}"#);
    }
    let auth = cxkit_auth::Auth::builder()
        .credential(
            "siniticToken",
            cxkit_auth::Credential::fixed(Secret::new("pat-1")),
        )
        .retry_budget(5)
        .build();
    // `Auth::builder().build()` above installed the rustls provider a bare reqwest client needs.
    let client =
        cxkit_proto::Client::new_with_client(fake.base_url(), reqwest::Client::new(), auth);
    let get = || async {
        client
            .get_human()
            .company_id("c1")
            .bot_id("b1")
            .human_id("h1")
            .send()
            .await
            .map(|_| ())
            .map_err(Error::from)
    };
    let err = get().await.unwrap_err();
    assert_transient(&err, Some(503));
    assert_eq!(fake.count(path), 2, "one retry, paid from the budget");
    let err = get().await.unwrap_err();
    assert_transient(&err, Some(503));
    assert_eq!(fake.count(path), 3, "the budget is spent: no retry");
    assert_eq!(
        fake.requests_to(path)[0].header("x-sinitic-token"),
        Some("pat-1")
    );
}

#[tokio::test(start_paused = true)]
async fn platform28_retries_reads_but_never_clone() {
    let fake = FakeEjento::start().await;
    let platform = Platform28::builder()
        .base_url(fake.base_url())
        .api_key(Secret::new("key-1"))
        .build()
        .unwrap();
    let session = platform.resume(Secret::new("lsid-1"), Some("s1".to_owned()));

    fake.script("GET", "/session/s1", 503, &[], "{}");
    fake.script("GET", "/session/s1", 503, &[], "{}");
    fake.script("GET", "/session/s1", 200, &[], r#"{"userId":"u1"}"#);
    let info = session.info().await.unwrap();
    assert_eq!(info.user_id.as_deref(), Some("u1"));
    let reads = fake.requests_to("/session/s1");
    assert_eq!(reads.len(), 3);
    // The LSID is a matrix parameter on the last segment, preferred over the API key.
    assert_eq!(reads[0].path, "/session/s1;lsid=lsid-1");
    assert_eq!(reads[0].query, None);

    fake.script("POST", "/session/s1/clone", 503, &[], "{}");
    let err = session.clone_session().await.unwrap_err();
    assert_transient(&err, Some(503));
    assert_eq!(fake.count("/session/s1/clone"), 1);

    // Acting as the system: the API key goes in the query.
    fake.script("GET", "/session/s2", 200, &[], "{}");
    platform
        .as_system()
        .unwrap()
        .get_session()
        .session_id("s2")
        .send()
        .await
        .unwrap();
    assert_eq!(
        fake.requests_to("/session/s2")[0].query.as_deref(),
        Some("apiKey=key-1")
    );
}

#[tokio::test(start_paused = true)]
async fn proto_sends_its_token_and_never_retries_create() {
    let fake = FakeEjento::start().await;
    let proto = Proto::builder()
        .base_url(fake.base_url())
        .company_id("c1")
        .bot_id("b1")
        .personal_access_token(Secret::new("pat-2"))
        .build()
        .unwrap();
    fake.script("POST", "/c1/b1/crm/human", 503, &[], "{}");
    let human = serde_json::from_value(serde_json::json!({"fullname": "Ada"})).unwrap();
    let err = proto.create_human(human).await.unwrap_err();
    assert_transient(&err, Some(503));
    let creates = fake.requests_to("/c1/b1/crm/human");
    assert_eq!(creates.len(), 1);
    assert_eq!(creates[0].header("x-sinitic-token"), Some("pat-2"));
}

#[tokio::test(start_paused = true)]
async fn platform28_terminate_sends_the_lsid_and_the_all_sessions_flag() {
    let fake = FakeEjento::start().await;
    let platform = Platform28::builder()
        .base_url(fake.base_url())
        .build()
        .unwrap();
    let session = platform.resume(Secret::new("lsid-9"), Some("s9".to_owned()));
    fake.script("DELETE", "/session/s9", 200, &[], "");
    session.terminate(true).await.unwrap();
    let deletes = fake.requests_to("/session/s9");
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].method, "DELETE");
    assert_eq!(deletes[0].path, "/session/s9;lsid=lsid-9");
    assert_eq!(deletes[0].body, "true");
    // Without an API key, acting as the system is a configuration error.
    assert!(matches!(platform.as_system(), Err(Error::Config { .. })));
}
