//! Proto and Platform28 over real HTTP on loopback: the exact wire format of each credential
//! (`X-SINITIC-TOKEN` header, `;lsid=` matrix parameter, API key query pair), the seed's
//! sample requests and responses through the generated types, the session lifecycle, and the
//! Proto bridge that mirrors an Ejento session's token into a human.

use crate::support;

use std::time::Duration;

use cxkit::clients::platform28::types::LoginSession;
use cxkit::clients::proto::types::{Human, HumanCreate, HumanIdEnvelope};
use cxkit::{Ejento, Error, Platform28, Proto, Secret};
use cxkit_testkit::ejento::{FakeEjento, PASSWORD_OF_USER, USER};
use cxkit_testkit::{FakePlatform28, FakeProto};
use serde_json::{Value, json};

const PAT: &str = "gAAAAAB-canary-pat-4fd1";
const API_KEY: &str = "canary-api-key-77a0";
const LSID: &str = "canary-lsid-3b2e";

/// Seed 002's Get Human sample response, verbatim but for the obfuscated email.
const SEED_GET_HUMAN: &str = r#"{
  "result": {
    "access_token": null,
    "created_at": "2020-10-19T03:33:30.207384+00:00",
    "email": "test1@example.com",
    "fullname": "Test 1",
    "human_id": "eu_KM8dKoKB5HJN",
    "id": "eu_KM8dKoKB5HJN",
    "notes": null,
    "phone_number": null,
    "profile_pic_id": null,
    "tags": null,
    "uid": "f2067462-67d1-4688-b78f-68d563665756",
    "updated_at": "2020-10-19T03:33:30.207384+00:00"
  }
}"#;

/// Seed 002's sample create request body.
const SEED_CREATE_BODY: &str = r#"{"email":"test1@example.com","fullname":"Test 1", "uid": "f2067462-67d1-4688-b78f-68d563665756", "phone_number":"", "access_token":""}"#;

/// Seed 002's create and update sample response.
const SEED_ID_RESULT: &str = r#"{"result": {"id": "eu_KM8dKoKB5HJN"}}"#;

const JSON: &[(&str, &str)] = &[("content-type", "application/json")];

fn proto(base: &str) -> Proto {
    Proto::builder()
        .config(&support::no_retries())
        .base_url(format!("{base}/gateway"))
        .company_id("c1")
        .bot_id("b1")
        .personal_access_token(Secret::new(PAT))
        .build()
        .unwrap()
}

fn without_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        other => other,
    }
}

#[test]
fn seed_samples_round_trip_through_the_generated_types() {
    let human: cxkit::clients::proto::types::HumanEnvelope =
        serde_json::from_str(SEED_GET_HUMAN).unwrap();
    assert_eq!(human.result.id, "eu_KM8dKoKB5HJN");
    assert_eq!(human.result.fullname, "Test 1");
    // chrono writes the same instants as `Z` rather than the sample's `+00:00`.
    let back = serde_json::to_string(&human)
        .unwrap()
        .replace("Z\"", "+00:00\"");
    assert_eq!(
        without_nulls(serde_json::from_str(&back).unwrap()),
        without_nulls(serde_json::from_str(SEED_GET_HUMAN).unwrap())
    );

    let create: HumanCreate = serde_json::from_str(SEED_CREATE_BODY).unwrap();
    assert_eq!(create.fullname, "Test 1");
    assert_eq!(
        serde_json::to_value(&create).unwrap(),
        serde_json::from_str::<Value>(SEED_CREATE_BODY).unwrap()
    );

    let id: HumanIdEnvelope = serde_json::from_str(SEED_ID_RESULT).unwrap();
    assert_eq!(id.result.id, "eu_KM8dKoKB5HJN");
    assert_eq!(
        serde_json::to_value(&id).unwrap(),
        serde_json::from_str::<Value>(SEED_ID_RESULT).unwrap()
    );
}

#[tokio::test]
async fn proto_sends_the_token_in_x_sinitic_token_and_unwraps_the_envelope() {
    let server = FakeProto::start().await;
    let p = proto(server.base_url());
    let human_path = "/gateway/c1/b1/crm/human/eu_KM8dKoKB5HJN";
    server.script(
        "POST",
        "/gateway/c1/b1/crm/human",
        200,
        JSON,
        SEED_ID_RESULT,
    );
    server.script("GET", human_path, 200, JSON, SEED_GET_HUMAN);
    server.script("PUT", human_path, 200, JSON, SEED_ID_RESULT);

    let id = p
        .create_human(serde_json::from_str(SEED_CREATE_BODY).unwrap())
        .await
        .unwrap();
    assert_eq!(id, "eu_KM8dKoKB5HJN");
    let human: Human = p.get_human(&id).await.unwrap();
    assert_eq!(
        human.uid.as_deref(),
        Some("f2067462-67d1-4688-b78f-68d563665756")
    );
    let update = cxkit::clients::proto::types::HumanUpdate {
        uid: Some("very-special-unique-id".into()),
        ..Default::default()
    };
    assert_eq!(p.update_human(&id, update).await.unwrap(), id);

    let seen = server.requests();
    assert_eq!(seen.len(), 3);
    for r in &seen {
        assert_eq!(r.header("x-sinitic-token"), Some(PAT), "{r:?}");
        assert_eq!(r.header("authorization"), None);
        assert_eq!(
            r.header("api-version"),
            None,
            "progenitor's api-version header is stripped"
        );
        assert!(!r.path.contains(PAT) && !r.query.clone().unwrap_or_default().contains(PAT));
    }
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("POST", "/gateway/c1/b1/crm/human")
    );
    assert_eq!(
        serde_json::from_str::<Value>(&seen[0].body).unwrap(),
        serde_json::from_str::<Value>(SEED_CREATE_BODY).unwrap()
    );
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    assert_eq!(seen[2].method, "PUT");
    assert_eq!(
        serde_json::from_str::<Value>(&seen[2].body).unwrap(),
        json!({"uid": "very-special-unique-id"})
    );
}

#[tokio::test]
async fn proto_errors_are_typed_and_never_show_the_token() {
    let server = FakeProto::start().await;
    let p = proto(server.base_url());
    server.script(
        "GET",
        "/gateway/c1/b1/crm/human/nope",
        404,
        JSON,
        r#"{"message":"human not found"}"#,
    );
    let err = p.get_human("nope").await.unwrap_err();
    assert!(matches!(err, Error::Api { status: 404, .. }), "{err:?}");
    assert!(err.to_string().contains("human not found"));
    // A server that echoes the token in its message must not get it printed.
    let echo = format!(r#"{{"message":"bad token {PAT}"}}"#);
    server.script("GET", "/gateway/c1/b1/crm/human/x", 401, JSON, &echo);
    let err = p.get_human("x").await.unwrap_err();
    // A personal access token has no session to log in to again: the token itself is wrong.
    assert!(matches!(err, Error::InvalidCredentials { .. }), "{err:?}");
    for text in [
        err.to_string(),
        format!("{err:?}"),
        format!("{err:#?}"),
        format!("{p:?}"),
    ] {
        assert!(!text.contains(PAT), "{text}");
    }
}

fn platform28(base: &str) -> cxkit::Platform28Builder {
    Platform28::builder()
        .config(&support::no_retries())
        .base_url(format!("{base}/api"))
}

#[tokio::test]
async fn platform28_lsid_is_a_matrix_parameter_and_the_api_key_a_query_pair() {
    let server = FakePlatform28::start().await;
    let p28 = platform28(server.base_url())
        .api_key(Secret::new(API_KEY))
        .build()
        .unwrap();
    let login = json!({"lsid": LSID, "sessionId": "S1", "userId": "u1"}).to_string();
    let info = json!({"sessionId": "S1", "lsid": LSID, "userId": "u1", "effectiveUserId": "u2"});
    server.script("POST", "/api/authenticate/alice", 200, JSON, &login);
    server.script("GET", "/api/session/S1", 200, JSON, &info.to_string());
    server.script("POST", "/api/session/S1/setEffectiveUser", 200, &[], "");
    server.script("DELETE", "/api/session/S1", 200, &[], "");

    let session = p28.login("alice", &Secret::new("pw-hash")).await.unwrap();
    // The server names the session apart from its LSID: both are kept, for `resume`.
    assert_eq!(session.session_id().expose(), "S1");
    assert_eq!(session.lsid().expose(), LSID);
    let info: LoginSession = session.info().await.unwrap();
    assert_eq!(info.effective_user_id.as_deref(), Some("u2"));
    assert_eq!(
        info.lsid, None,
        "the LSID is removed from what the caller gets"
    );
    session.set_effective_user("u2").await.unwrap();
    session.terminate(true).await.unwrap();

    let seen = server.requests();
    assert_eq!(seen.len(), 4);
    // Login: no session yet, so the API key goes along as a query pair; the password is a form
    // field.
    assert_eq!(seen[0].path, "/api/authenticate/alice");
    assert_eq!(
        seen[0].query.as_deref(),
        Some(&*format!("apiKey={API_KEY}"))
    );
    assert_eq!(seen[0].body, "password=pw-hash");
    // Session calls: the LSID as a matrix parameter on the last segment, and no API key.
    assert_eq!(seen[1].path, format!("/api/session/S1;lsid={LSID}"));
    assert_eq!(seen[1].query, None);
    assert_eq!(
        seen[2].path,
        format!("/api/session/S1/setEffectiveUser;lsid={LSID}")
    );
    assert_eq!(seen[2].body, "\"u2\"");
    assert_eq!(
        (seen[3].method.as_str(), seen[3].body.as_str()),
        ("DELETE", "true")
    );
    for r in &seen {
        assert_eq!(r.header("authorization"), None);
        assert_eq!(r.header("api-version"), None);
    }
}

#[tokio::test]
async fn platform28_parameter_names_are_configurable() {
    let server = FakePlatform28::start().await;
    let p28 = platform28(server.base_url())
        .api_key(Secret::new(API_KEY))
        .api_key_param("key")
        .lsid_param("sid")
        .build()
        .unwrap();
    server.script("POST", "/api/authenticate/block/bob", 200, &[], "");
    p28.as_system()
        .unwrap()
        .block_login()
        .username("bob")
        .send()
        .await
        .map_err(Error::from)
        .unwrap();
    let session = p28.resume(Secret::new(LSID), Some("S9".into()));
    let clone = json!({"sessionId": "S10", "lsid": "canary-lsid-clone"}).to_string();
    server.script("POST", "/api/session/S9/clone", 200, JSON, &clone);
    let clone = session.clone_session().await.unwrap();
    assert_eq!(clone.lsid().expose(), "canary-lsid-clone");
    assert_eq!(clone.session_id().expose(), "S10");
    assert_eq!(session.session_id().expose(), "S9");
    // A session resumed from its LSID alone uses the LSID as its id.
    assert_eq!(
        p28.resume(Secret::new(LSID), None).session_id().expose(),
        LSID
    );
    let seen = server.requests();
    assert_eq!(seen[0].query.as_deref(), Some(&*format!("key={API_KEY}")));
    assert_eq!(seen[1].path, format!("/api/session/S9/clone;sid={LSID}"));
}

#[tokio::test]
async fn a_session_the_server_says_is_gone_means_log_in_again() {
    let server = FakePlatform28::start().await;
    let p28 = platform28(server.base_url()).build().unwrap();
    let session = p28.resume(Secret::new(LSID), Some("S1".into()));
    let gone = r#"{"message":"Specified session does not exist"}"#;
    server.script("GET", "/api/session/S1", 404, JSON, gone);
    let err = session.info().await.unwrap_err();
    assert!(err.is_reauth_required(), "{err:?}");
    server.script("GET", "/api/session/S1", 401, JSON, "{}");
    assert!(session.info().await.unwrap_err().is_reauth_required());
    // Wrong password at login: bad credentials, not a generic error.
    let not_found = r#"{"message":"A user with the given ID and Password was not found"}"#;
    server.script("POST", "/api/authenticate/alice", 404, JSON, not_found);
    assert!(matches!(
        p28.login("alice", &Secret::new("x")).await,
        Err(Error::InvalidCredentials { .. })
    ));
    // Acting as a system without an API key is a configuration error.
    assert!(matches!(p28.as_system(), Err(Error::Config { .. })));
}

#[tokio::test]
async fn secrets_in_urls_never_reach_error_text() {
    // Nothing listens on this port: the connection is refused with the LSID and API key in the
    // URL.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let p28 = Platform28::builder()
        .config(&support::no_retries())
        .base_url(format!("http://{dead}/api"))
        .api_key(Secret::new(API_KEY))
        .build()
        .unwrap();
    let session = p28.resume(Secret::new(LSID), Some("S1".into()));
    let err = session.info().await.unwrap_err();
    assert!(matches!(err, Error::Transient { .. }), "{err:?}");
    // Even the generated client's own error (which prints its URL) has the secrets scrubbed.
    let raw = session
        .client()
        .get_session()
        .session_id("S1")
        .send()
        .await
        .unwrap_err();
    let raw_system = p28
        .as_system()
        .unwrap()
        .get_session()
        .session_id("S1")
        .send()
        .await
        .unwrap_err();
    let texts = [
        err.to_string(),
        format!("{err:?}"),
        raw.to_string(),
        format!("{raw:?}"),
        raw_system.to_string(),
        format!("{raw_system:?}"),
        format!("{session:?}"),
        format!("{p28:?}"),
    ];
    for text in texts {
        assert!(!text.contains(LSID) && !text.contains(API_KEY), "{text}");
    }
    assert!(raw.to_string().contains("lsid=REDACTED"), "{raw}");
}

/// The session id travels in the path (`/session/{sessionId}`) and defaults to the LSID: a raw
/// generated error's `Display` (a refused connection's URL, an unlisted status's response)
/// never prints it, nor a short session id the server named apart.
#[tokio::test]
async fn a_session_id_in_the_path_never_reaches_a_raw_errors_text() {
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let server = FakeEjento::start().await;
    for base in [format!("http://{dead}"), server.base_url().to_owned()] {
        let p28 = platform28(&base).build().unwrap();
        for (lsid, id) in [(LSID, None), ("canary-lsid-9d1c", Some("S7"))] {
            let session = p28.resume(Secret::new(lsid), id.map(str::to_owned));
            let id = session.session_id().expose().to_owned();
            server.script("GET", &format!("/api/session/{id}"), 418, JSON, "{}");
            let raw = session
                .client()
                .get_session()
                .session_id(&id)
                .send()
                .await
                .unwrap_err();
            for text in [raw.to_string(), format!("{raw:?}")] {
                assert!(!text.contains(lsid), "{text}");
                assert!(!text.contains(&format!("/{id}")), "{text}");
                assert!(text.contains("/session/REDACTED"), "{text}");
            }
        }
    }
}

#[tokio::test]
async fn the_bridge_mirrors_the_ejento_token_into_the_proto_human() {
    let ejento_server = FakeEjento::start().await;
    let proto_server = FakeProto::start().await;
    let ejento = Ejento::builder()
        .base_url(ejento_server.base_url())
        .build()
        .unwrap();
    let p = proto(proto_server.base_url());
    let path = "/gateway/c1/b1/crm/human/eu_1";
    for _ in 0..3 {
        proto_server.script("PUT", path, 200, JSON, r#"{"result":{"id":"eu_1"}}"#);
    }
    let bridge = p.bridge_access_token("eu_1", &ejento);
    // Not logged in yet: the human is left alone.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(proto_server.count(path), 0);

    ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .unwrap();
    proto_server.wait_for(path, 1).await;
    let first = ejento_server.last_issued();
    ejento.refresh().await.unwrap();
    proto_server.wait_for(path, 2).await;
    let second = ejento_server.last_issued();
    assert_ne!(first.ejento, second.ejento);
    ejento.logout().await.unwrap();
    proto_server.wait_for(path, 3).await;

    let bodies: Vec<Value> = proto_server
        .requests_to(path)
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    assert_eq!(
        bodies,
        vec![
            json!({"access_token": first.ejento}),
            json!({"access_token": second.ejento}),
            json!({"access_token": ""})
        ]
    );
    drop(bridge);
}

#[tokio::test]
async fn short_secrets_a_server_echoes_are_scrubbed_from_errors() {
    let server = FakeEjento::start().await;
    // Ejento: a password too short for any pattern, echoed in the login failure.
    let ejento = Ejento::builder()
        .config(&support::no_retries())
        .base_url(server.base_url())
        .build()
        .unwrap();
    let login = "/auth-service/api/v2/login/access-token";
    server.script(
        "POST",
        login,
        400,
        JSON,
        r#"{"detail":"wrong password hunter2 for user"}"#,
    );
    let err = ejento
        .login_password(USER, &Secret::new("hunter2"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidCredentials { .. }), "{err:?}");
    // An emailed code, echoed.
    let exchange = "/auth-service/api/v2/login/passwordless/exchange-tokens";
    server.script(
        "POST",
        exchange,
        401,
        JSON,
        r#"{"detail":"code 4821 already used"}"#,
    );
    let err2 = ejento
        .login_with_code(&Secret::new("4821"))
        .await
        .unwrap_err();

    // Platform28: a short LSID and the password, echoed.
    let p28 = platform28(server.base_url()).build().unwrap();
    server.script(
        "POST",
        "/api/authenticate/alice",
        404,
        JSON,
        r#"{"message":"no user alice with pw-42"}"#,
    );
    let err3 = p28.login("alice", &Secret::new("pw-42")).await.unwrap_err();
    let session = p28.resume(Secret::new("abc123"), Some("S1".into()));
    server.script(
        "GET",
        "/api/session/S1",
        500,
        JSON,
        r#"{"message":"session abc123 broke"}"#,
    );
    let err4 = session.info().await.unwrap_err();

    for (e, secret) in [
        (&err, "hunter2"),
        (&err2, "4821"),
        (&err3, "pw-42"),
        (&err4, "abc123"),
    ] {
        for text in [e.to_string(), format!("{e:?}"), format!("{e:#?}")] {
            assert!(!text.contains(secret), "{text}");
            assert!(
                text.contains("REDACTED"),
                "the message survives, minus the secret: {text}"
            );
        }
    }
}
