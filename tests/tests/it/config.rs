//! One `cxkit::Config` for every client, and a `reqwest::Client` of the application's own, over
//! real HTTP on loopback: the supplied client is the one that sends, cxkit's rules (https or
//! loopback, no redirect followed with credentials) still hold around it, and sessions of
//! different systems built from one configuration share it.

use crate::support;

use cxkit::clients::proto as gen_proto;
use cxkit::{Config, Credential, Ejento, Error, HttpConfig, Platform28, Proto, Secret};
use cxkit_testkit::ejento::{FEATURE_FLAGS, FakeEjento, LOGIN, PASSWORD_OF_USER, USER, USERS};

const PAT: &str = "gAAAAAB-config-pat-5e1c";
const HUMAN: &str = "/gateway/c1/b1/crm/human/eu_1";
const JSON: &[(&str, &str)] = &[("content-type", "application/json")];
const HUMAN_ANSWER: &str = r#"{"result":{"id":"eu_1","human_id":"eu_1","fullname":"Test 1"}}"#;

fn proto(config: &Config, base: &str) -> cxkit::Result<Proto> {
    Proto::builder()
        .config(config)
        .base_url(format!("{base}/gateway"))
        .company_id("c1")
        .bot_id("b1")
        .personal_access_token(Secret::new(PAT))
        .build()
}

/// A client that follows redirects, as `reqwest::Client::new()` does.
fn following_client() -> reqwest::Client {
    cxkit::ensure_crypto_provider();
    reqwest::Client::builder().build().expect("a client")
}

#[tokio::test]
async fn a_supplied_client_with_its_own_headers_is_the_one_that_sends() {
    let fake = FakeEjento::start().await;
    let http = HttpConfig {
        user_agent: "byo-agent/7.1".into(),
        ..HttpConfig::default()
    };
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-app-tenant", "tenant-42".parse().unwrap());
    let client = http
        .client_builder()
        .default_headers(headers)
        .build()
        .unwrap();
    let config = Config::builder()
        .http(http)
        .http_client(client)
        .build()
        .unwrap();
    assert!(config.has_supplied_client());
    let ejento = Ejento::builder()
        .config(&config)
        .base_url(fake.base_url())
        .users_base_url(fake.base_url())
        .build()
        .unwrap();
    ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .unwrap();
    support::flags_call(&ejento).await.unwrap();
    support::users_call(&ejento).await.unwrap();

    for path in [LOGIN, FEATURE_FLAGS, USERS] {
        let seen = fake.requests_to(path);
        assert_eq!(seen.len(), 1, "{path}");
        assert_eq!(
            seen[0].header("user-agent"),
            Some("byo-agent/7.1"),
            "{path}"
        );
        assert_eq!(seen[0].header("x-app-tenant"), Some("tenant-42"), "{path}");
    }
    // cxkit's own headers and credentials still go on the supplied client's requests.
    assert_eq!(
        fake.requests_to(USERS)[0].bearer(),
        Some(support::held_auth_app(&ejento).as_str())
    );
}

#[tokio::test]
async fn a_client_that_follows_redirects_is_refused_and_no_credential_reaches_the_target() {
    let origin = FakeEjento::start().await;
    let target = FakeEjento::start().await;
    let elsewhere = format!("{}/collect", target.base_url());
    origin.script("GET", HUMAN, 307, &[("location", &elsewhere)], "");

    let refused = Config::builder()
        .http_client(following_client())
        .build()
        .unwrap_err();
    assert!(
        matches!(&refused, Error::Config { message } if message.contains("Policy::none()")),
        "{refused}"
    );

    // With a client that does not follow, the credentialed call sees the redirect as an
    // answer and goes no further.
    let client = HttpConfig::default().client_builder().build().unwrap();
    let config = Config::builder()
        .http_client(client)
        .retry(cxkit::RetryPolicy::never())
        .build()
        .unwrap();
    let err = proto(&config, origin.base_url())
        .unwrap()
        .get_human("eu_1")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(307), "{err}");
    assert!(!err.to_string().contains(PAT), "{err}");
    assert_eq!(
        origin.requests_to(HUMAN)[0].header("x-sinitic-token"),
        Some(PAT)
    );
    assert!(
        target.requests().is_empty(),
        "the redirect target was called: {:?}",
        target.requests()
    );
}

#[tokio::test]
async fn a_generated_client_given_a_following_client_refuses_the_redirected_answer() {
    // The facade refuses such a client, but an application can still hand one to a generated
    // client directly: the hooks refuse the answer that came from elsewhere.
    let origin = FakeEjento::start().await;
    let target = FakeEjento::start().await;
    let elsewhere = format!("{}/collect", target.base_url());
    origin.script("GET", HUMAN, 307, &[("location", &elsewhere)], "");
    target.script("GET", "/collect", 200, JSON, HUMAN_ANSWER);

    let auth = cxkit::Auth::builder()
        .retry(cxkit::RetryPolicy::never())
        .credential("siniticToken", Credential::static_key(Secret::new(PAT)))
        .build();
    let client = gen_proto::Client::new_with_client(
        &format!("{}/gateway", origin.base_url()),
        following_client(),
        auth,
    );
    let err = Error::from(
        client
            .get_human()
            .company_id("c1")
            .bot_id("b1")
            .human_id("eu_1")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(&err, Error::Config { message } if message.contains("followed a redirect") && message.contains("Policy::none()")),
        "{err}"
    );
    assert!(!err.to_string().contains(PAT), "{err}");
    assert!(!err.to_string().contains(target.base_url()), "{err}");
    assert_eq!(target.requests_to("/collect").len(), 1);
}

#[tokio::test]
async fn plain_http_off_loopback_is_refused_with_a_supplied_client_too() {
    let client = HttpConfig::default().client_builder().build().unwrap();
    let config = Config::builder().http_client(client).build().unwrap();
    let err = proto(&config, "http://crm.example.com").unwrap_err();
    assert!(
        matches!(&err, Error::Config { message } if message.contains("plain http")),
        "{err}"
    );
    let err = Ejento::builder()
        .config(&config)
        .base_url("http://10.1.2.3:8080")
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err}");
    let err = Platform28::builder()
        .config(&config)
        .base_url("http://p28.example.com/api")
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err}");
    let err = Ejento::builder()
        .config(&config)
        .base_url("https://gateway.example.com")
        .users_base_url("http://users.example.com")
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err}");
}

#[tokio::test]
async fn one_config_serves_an_ejento_and_a_proto_session_through_one_client() {
    let fake = FakeEjento::start().await;
    fake.script("GET", HUMAN, 200, JSON, HUMAN_ANSWER);
    let config = Config::builder()
        .http(HttpConfig {
            user_agent: "shared-config/1.0".into(),
            ..HttpConfig::default()
        })
        .pool_max_idle_per_host(4)
        .pool_idle_timeout(Some(std::time::Duration::from_secs(30)))
        .build()
        .unwrap();
    let ejento = Ejento::builder()
        .config(&config)
        .base_url(fake.base_url())
        .build()
        .unwrap();
    let proto = proto(&config, fake.base_url()).unwrap();
    assert!(ejento.config().ptr_eq(&config));
    assert!(proto.config().ptr_eq(&config));
    assert!(ejento.config().ptr_eq(proto.config()));

    ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .unwrap();
    assert_eq!(proto.get_human("eu_1").await.unwrap().fullname, "Test 1");
    for path in [LOGIN, HUMAN] {
        assert_eq!(
            fake.requests_to(path)[0].header("user-agent"),
            Some("shared-config/1.0"),
            "{path}"
        );
    }

    // A builder without a config gets a configuration of its own.
    let alone = Ejento::builder().base_url(fake.base_url()).build().unwrap();
    assert!(!alone.config().ptr_eq(&config));
}

#[tokio::test]
async fn sessions_of_one_config_share_its_store_and_clock() {
    let fake = FakeEjento::start().await;
    let clock = support::clock();
    let store: std::sync::Arc<dyn cxkit::TokenStore> =
        std::sync::Arc::new(cxkit::MemoryTokenStore::new());
    let config = support::config(&clock)
        .shared_store(store.clone())
        .build()
        .unwrap();
    let first = Ejento::builder()
        .config(&config)
        .base_url(fake.base_url())
        .build()
        .unwrap();
    first
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .unwrap();
    // A second session of the same name in the same configuration resumes from the store.
    let second = Ejento::builder()
        .config(&config)
        .base_url(fake.base_url())
        .build()
        .unwrap();
    let info = second.session().await.unwrap();
    assert_eq!(info.obtained_at, support::t0());
    assert_eq!(fake.count(LOGIN), 1);
}

/// A loopback server that answers the feature flags and a Proto human, and records the peer
/// address (so the TCP connection) each request came on.
async fn connection_recorder() -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<std::net::SocketAddr>>>,
) {
    use axum::extract::ConnectInfo;
    let peers = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = peers.clone();
    let app = axum::Router::new().fallback(
        move |ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>, uri: axum::http::Uri| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(peer);
                let body = if uri.path() == FEATURE_FLAGS {
                    r#"{"success":true,"message":null,"data":{"password":true,"passwordless":true,"google":false}}"#
                } else {
                    HUMAN_ANSWER
                };
                ([("content-type", "application/json")], body)
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let service = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        let _ = axum::serve(listener, service).await;
    });
    (base, peers)
}

#[tokio::test]
async fn sessions_of_one_config_share_its_connection_pool_and_separate_ones_do_not() {
    let (base, peers) = connection_recorder().await;
    let config = Config::builder().build().unwrap();
    let ejento = Ejento::builder()
        .config(&config)
        .base_url(&base)
        .build()
        .unwrap();
    let crm = proto(&config, &base).unwrap();
    support::flags_call(&ejento).await.unwrap();
    crm.get_human("eu_1").await.unwrap();
    support::flags_call(&ejento).await.unwrap();
    let shared: Vec<_> = std::mem::take(&mut *peers.lock().unwrap());
    assert_eq!(shared.len(), 3);
    assert!(
        shared.iter().all(|peer| *peer == shared[0]),
        "one pooled connection served both sessions: {shared:?}"
    );

    // The same two sessions, each with a configuration of its own, open two connections.
    let ejento = Ejento::builder().base_url(&base).build().unwrap();
    let crm = proto(&Config::builder().build().unwrap(), &base).unwrap();
    support::flags_call(&ejento).await.unwrap();
    crm.get_human("eu_1").await.unwrap();
    let apart = peers.lock().unwrap().clone();
    assert_eq!(apart.len(), 2);
    assert_ne!(apart[0], apart[1]);
}
