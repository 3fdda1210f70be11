//! What issue 13 asked of an application outside the workspace: log in to a `FakeEjento`, make a
//! platform call with a per-call timeout through the application's own `reqwest::Client`, and
//! assert what the fake received. Only `cxkit` and `cxkit-testkit` (and tokio) are used.

use std::time::{Duration, Instant};

use cxkit::clients::ejento_platform::types::{User, UserEnvelope};
use cxkit::reqwest;
use cxkit::{Config, Ejento, Error, Secret};
use cxkit_testkit::{FakeEjento, Reply, ejento};

const ME: &str = "get_current_user";
const APP_AGENT: &str = "downstream-app/1.0";

/// The application's own client (a corporate proxy or CA would go here), handed to cxkit.
fn app_config() -> Config {
    cxkit::ensure_crypto_provider();
    let client = reqwest::Client::builder()
        .user_agent(APP_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("the application's client");
    Config::builder()
        .http_client(client)
        .build()
        .expect("a config around the application's client")
}

async fn signed_in(fake: &FakeEjento) -> Ejento {
    let ejento = Ejento::builder()
        .config(&app_config())
        .base_url(fake.base_url())
        .build()
        .expect("a session pointed at the fake");
    ejento
        .login_password(ejento::USER, &Secret::new(ejento::PASSWORD_OF_USER))
        .await
        .expect("the fake's user logs in");
    ejento
}

fn me(email: &str) -> Reply {
    Reply::json(&UserEnvelope {
        success: Some(true),
        data: Some(User {
            id: Some(42),
            email: Some(email.to_owned()),
            ..Default::default()
        }),
        ..Default::default()
    })
}

#[tokio::test]
async fn a_platform_call_with_its_own_timeout_goes_through_the_apps_client() {
    let fake = FakeEjento::start().await;
    fake.on(ME, me("ada@example.com"));
    let ejento = signed_in(&fake).await;

    let email = downstream::whoami(&ejento, Duration::from_secs(5))
        .await
        .expect("the lookup answers");
    assert_eq!(email.as_deref(), Some("ada@example.com"));

    // What the fake received: one call, over the application's client (its user agent), with
    // the platform token the fake issued at login, and the API version the spec names.
    let calls = fake.requests_to(ME);
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.method, "GET");
    assert_eq!(call.header("user-agent"), Some(APP_AGENT));
    assert_eq!(call.bearer(), Some(fake.last_issued().ejento.as_str()));
    assert_eq!(call.header("x-api-version"), Some("2.0"));
}

#[tokio::test]
async fn the_per_call_timeout_ends_a_slow_call_and_only_that_call() {
    let fake = FakeEjento::start().await;
    let ejento = signed_in(&fake).await;

    // The session's own deadline is minutes; this lookup's is 300 ms.
    fake.once(ME, me("slow@example.com").after(Duration::from_secs(30)));
    let started = Instant::now();
    let error = downstream::whoami(&ejento, Duration::from_millis(300))
        .await
        .expect_err("the slow answer is past the call's deadline");
    assert!(matches!(error, Error::Transient { .. }), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the call waited for the server instead of its own deadline"
    );

    // The next call, without the slow reply, answers: the deadline belonged to that call only.
    fake.on(ME, me("ada@example.com"));
    let email = downstream::whoami(&ejento, Duration::from_secs(5))
        .await
        .expect("the next lookup answers");
    assert_eq!(email.as_deref(), Some("ada@example.com"));
}
