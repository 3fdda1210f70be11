//! What goes on the wire: form login, the refresh's bearer, the subscription key, the code,
//! sign-up, password and SSO flows, and the build-time refusal of plain http.

use crate::support::*;
use cxkit::{Ejento, Error, Secret, SsoProvider};
use cxkit_testkit::ejento::{
    EXCHANGE_CODE, FEATURE_FLAGS, FakeEjento, IDP_PREFIX, LOGIN, PASSWORD, PASSWORD_OF_USER,
    REFRESH, Recorded, SIGNUP, USER, USERS,
};

const KEY: &str = "subscription-key-4711";

/// Runs every auth-service flow once, so the subscription key can be checked on each.
async fn every_flow(ejento: &Ejento, fake: &FakeEjento) {
    ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .expect("login");
    ejento.refresh().await.expect("refresh");
    users_call(ejento).await.expect("users");
    ejento
        .auth()
        .get_login_feature_flags()
        .send()
        .await
        .expect("flags");
    ejento.request_login_code(USER).await.expect("request code");
    let code = fake.sent_codes().pop().expect("a code was sent");
    ejento
        .login_with_code(&Secret::new(code))
        .await
        .expect("code login");
    ejento
        .sign_up("new@example.com", &Secret::new("a-long-password"), None)
        .await
        .expect("sign up");
    ejento
        .change_password(
            &Secret::new(PASSWORD_OF_USER),
            &Secret::new("another-long-password"),
        )
        .await
        .expect("change password");
    ejento
        .sso_login_url(SsoProvider::Google, "https://app.example/cb")
        .await
        .expect("sso");
}

fn headers_named<'a>(requests: &'a [Recorded], name: &str) -> Vec<Option<&'a str>> {
    requests.iter().map(|r| r.header(name)).collect()
}

#[tokio::test]
async fn login_is_a_form_and_refresh_carries_the_auth_app_token() {
    let fake = FakeEjento::start().await;
    let clock = clock();
    let ejento = builder(&fake, &clock).build().unwrap();
    ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .unwrap();

    let login = fake.requests_to(LOGIN);
    assert_eq!(login.len(), 1);
    assert_eq!(login[0].method, "POST");
    assert_eq!(
        login[0].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    // progenitor serializes the form's fields in their (alphabetical) declaration order; the
    // optional OAuth2 fields are left out.
    assert_eq!(
        login[0].body,
        "password=correct-horse-battery&username=user%40example.com"
    );
    assert_eq!(login[0].header("authorization"), None);
    assert_eq!(login[0].header("api-version"), None);

    let first = fake.last_issued();
    ejento.refresh().await.unwrap();
    let refresh = fake.requests_to(REFRESH);
    assert_eq!(refresh.len(), 1);
    assert_eq!(refresh[0].method, "POST");
    assert_eq!(refresh[0].bearer(), Some(first.auth_app.as_str()));
    assert_ne!(refresh[0].bearer(), Some(first.ejento.as_str()));
    assert_eq!(refresh[0].header("api-version"), None);
    assert_eq!(fake.refresh_calls(), 1);

    // The session now holds the refreshed pair, and auth-service calls carry its
    // Authentication App token, never the Ejento token.
    let second = fake.last_issued();
    assert_eq!(second.n, 2);
    assert_eq!(held_auth_app(&ejento), second.auth_app);
    assert_eq!(held_ejento(&ejento), second.ejento);
    users_call(&ejento).await.unwrap();
    let users = fake.requests_to(USERS);
    assert_eq!(users[0].bearer(), Some(second.auth_app.as_str()));
}

#[tokio::test]
async fn subscription_key_goes_on_every_call_when_configured() {
    let fake = FakeEjento::start().await;
    let clock = clock();
    let ejento = builder(&fake, &clock)
        .subscription_key(Secret::new(KEY))
        .build()
        .unwrap();
    every_flow(&ejento, &fake).await;

    let requests = fake.requests();
    assert_eq!(requests.len(), 9, "{requests:#?}");
    assert_eq!(
        headers_named(&requests, "ocp-apim-subscription-key"),
        vec![Some(KEY); 9]
    );
    assert_eq!(headers_named(&requests, "api-version"), vec![None; 9]);
}

#[tokio::test]
async fn subscription_key_is_absent_when_not_configured() {
    let fake = FakeEjento::start().await;
    let clock = clock();
    let ejento = builder(&fake, &clock).build().unwrap();
    every_flow(&ejento, &fake).await;

    let requests = fake.requests();
    assert_eq!(requests.len(), 9, "{requests:#?}");
    assert_eq!(
        headers_named(&requests, "ocp-apim-subscription-key"),
        vec![None; 9]
    );
    // Only the three Authentication App operations carry a bearer token.
    let with_bearer: Vec<&str> = requests
        .iter()
        .filter(|r| r.bearer().is_some())
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(with_bearer, vec![REFRESH, USERS, PASSWORD]);
}

#[tokio::test]
async fn an_emailed_code_logs_in_once_and_is_never_retried() {
    let fake = FakeEjento::start().await;
    let clock = clock();
    let ejento = builder(&fake, &clock).build().unwrap();
    ejento.request_login_code(USER).await.unwrap();
    let codes = fake.sent_codes();
    assert_eq!(codes.len(), 1);
    let code = Secret::new(codes[0].clone());

    ejento.login_with_code(&code).await.unwrap();
    assert_eq!(held_auth_app(&ejento), fake.last_issued().auth_app);
    let exchange = fake.requests_to(EXCHANGE_CODE);
    assert_eq!(exchange[0].header("content-type"), Some("application/json"));
    assert_eq!(
        exchange[0].body,
        format!(r#"{{"code":"{}"}}"#, code.expose())
    );

    // Single use: the second exchange is refused, as invalid credentials.
    let err = ejento.login_with_code(&code).await.unwrap_err();
    assert!(matches!(err, Error::InvalidCredentials { .. }), "{err:?}");

    // A 503 on the exchange is not retried: the code may have been consumed.
    fake.script("POST", EXCHANGE_CODE, 503, &[], r#"{"detail":"busy"}"#);
    let err = ejento.login_with_code(&code).await.unwrap_err();
    assert_transient(&err, Some(503));
    assert_eq!(fake.count(EXCHANGE_CODE), 3);
}

#[tokio::test]
async fn sign_up_then_change_password() {
    let fake = FakeEjento::start().await;
    let clock = clock();
    let ejento = builder(&fake, &clock).build().unwrap();
    let user = ejento
        .sign_up(
            "new@example.com",
            &Secret::new("first-password"),
            Some("New User"),
        )
        .await
        .unwrap();
    assert_eq!(user.email.as_deref(), Some("new@example.com"));
    assert_eq!(user.full_name.as_deref(), Some("New User"));
    let signup = fake.requests_to(SIGNUP);
    assert_eq!(signup.len(), 1);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&signup[0].body).unwrap(),
        serde_json::json!({"email": "new@example.com", "password": "first-password", "full_name": "New User"})
    );

    ejento
        .login_password("new@example.com", &Secret::new("first-password"))
        .await
        .unwrap();
    let err = ejento
        .change_password(
            &Secret::new("not-the-password"),
            &Secret::new("second-password"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidCredentials { .. }), "{err:?}");
    ejento
        .change_password(
            &Secret::new("first-password"),
            &Secret::new("second-password"),
        )
        .await
        .unwrap();
    assert_eq!(
        fake.requests_to(PASSWORD)[1].bearer(),
        Some(fake.last_issued().auth_app.as_str())
    );

    let err = ejento
        .login_password("new@example.com", &Secret::new("first-password"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidCredentials { .. }), "{err:?}");
    ejento
        .login_password("new@example.com", &Secret::new("second-password"))
        .await
        .unwrap();
    assert_eq!(fake.count(LOGIN), 3);
}

#[tokio::test]
async fn sso_returns_the_redirect_without_following_it() {
    let fake = FakeEjento::start().await;
    let clock = clock();
    let ejento = builder(&fake, &clock).build().unwrap();
    let url = ejento
        .sso_login_url(SsoProvider::Microsoft, "https://app.example/cb?x=1")
        .await
        .unwrap();
    assert_eq!(
        url.as_str(),
        format!(
            "{}{IDP_PREFIX}microsoft/authorize?next=https%3A%2F%2Fapp.example%2Fcb%3Fx%3D1",
            fake.base_url()
        )
    );
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/auth-service/api/v2/sso/microsoft/login");
    assert_eq!(
        requests[0].query.as_deref(),
        Some("next=https%3A%2F%2Fapp.example%2Fcb%3Fx%3D1")
    );
    assert!(!requests.iter().any(|r| r.path.starts_with(IDP_PREFIX)));
}

#[tokio::test]
async fn feature_flags_need_no_session() {
    let fake = FakeEjento::start().await;
    let clock = clock();
    let ejento = builder(&fake, &clock).build().unwrap();
    let flags = ejento
        .auth()
        .get_login_feature_flags()
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(flags.data.unwrap().get("password"), Some(&true));
    assert_eq!(
        fake.requests_to(FEATURE_FLAGS)[0].header("authorization"),
        None
    );
    // Without a session, an operation that needs the bearer fails before sending anything.
    let err = users_call(&ejento).await.unwrap_err();
    assert!(err.is_reauth_required(), "{err:?}");
    assert_eq!(fake.count(USERS), 0);
}

#[test]
fn plain_http_to_a_non_loopback_host_is_refused_at_build_time() {
    for (auth, platform) in [
        ("http://auth.example.com", "https://platform.example.com"),
        ("https://auth.example.com", "http://platform.example.com"),
        ("http://10.0.0.1:8080", "https://platform.example.com"),
        ("ftp://auth.example.com", "https://platform.example.com"),
    ] {
        let err = Ejento::builder()
            .auth_base_url(auth)
            .platform_base_url(platform)
            .build()
            .unwrap_err();
        assert!(
            matches!(err, Error::Config { .. }),
            "{auth} {platform}: {err:?}"
        );
    }
    // https anywhere, and plain http to loopback, build (nothing is sent at build time).
    for ok in [
        "https://auth.example.com",
        "http://127.0.0.1:9",
        "http://localhost:9",
        "http://[::1]:9",
    ] {
        assert!(Ejento::builder().base_url(ok).build().is_ok(), "{ok}");
    }
    let err = Ejento::builder()
        .base_url("https://auth.example.com")
        .subscription_key(Secret::new(""))
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
}

/// `Secret` has a redacted `Debug`, and no `Display` or `Serialize` at all (checked with
/// inherent-method-over-trait-method probing, which resolves at compile time).
#[test]
fn secret_has_no_display_and_no_serialize() {
    use std::marker::PhantomData;
    struct Probe<T>(PhantomData<T>);
    trait Fallback {
        fn display(&self) -> bool {
            false
        }
        fn serialize(&self) -> bool {
            false
        }
    }
    impl<T> Fallback for Probe<T> {}
    impl<T: std::fmt::Display> Probe<T> {
        #[allow(dead_code)]
        fn display(&self) -> bool {
            true
        }
    }
    struct SerProbe<T>(PhantomData<T>);
    impl<T> Fallback for SerProbe<T> {}
    impl<T: serde::Serialize> SerProbe<T> {
        #[allow(dead_code)]
        fn serialize(&self) -> bool {
            true
        }
    }
    // The probes work: String has both.
    assert!(Probe::<String>(PhantomData).display());
    assert!(SerProbe::<String>(PhantomData).serialize());
    assert!(!Probe::<Secret>(PhantomData).display());
    assert!(!SerProbe::<Secret>(PhantomData).serialize());
    assert!(!Probe::<cxkit::TokenSet>(PhantomData).display());
    assert!(!SerProbe::<cxkit::TokenSet>(PhantomData).serialize());

    let s = Secret::new("canary-value-1");
    assert_eq!(format!("{s:?}"), "Secret(** redacted **)");
    assert!(!format!("{:#?}", Some(&s)).contains("canary"));
}
