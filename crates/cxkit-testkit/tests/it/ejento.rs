//! FakeEjento as a downstream application uses it: log in through the `cxkit` facade, answer
//! platform calls by operation id, assert what the fake received.

use cxkit::clients::ejento_platform::types::{Agent, AgentEnvelope, ChatThreadCreate};
use cxkit::{Ejento, Error, Secret};
use cxkit_testkit::ejento::{PASSWORD_OF_USER, USER};
use cxkit_testkit::{FakeEjento, Recorded, Reply};
use serde_json::{Value, json};

async fn logged_in(fake: &FakeEjento) -> Ejento {
    let ejento = Ejento::builder().base_url(fake.base_url()).build().unwrap();
    ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .unwrap();
    ejento
}

/// `GET /api/v2/agents/7` through the generated client, its error mapped.
async fn get_agent_7(ejento: &Ejento) -> cxkit::Result<AgentEnvelope> {
    let answer = ejento.platform().get_agent().agent_id(7).send().await;
    Ok(answer.map_err(Error::from)?.into_inner())
}

fn agent(id: i64, name: &str) -> AgentEnvelope {
    AgentEnvelope {
        success: Some(true),
        data: Some(Agent {
            id: Some(id),
            agent_name: Some(name.into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_platform_call_is_answered_by_its_operation_id_and_recorded() {
    let fake = FakeEjento::start().await;
    fake.on("get_agent", Reply::json(&agent(7, "HR bot")));
    let ejento = logged_in(&fake).await;

    let answer = get_agent_7(&ejento).await.unwrap();
    assert_eq!(answer, agent(7, "HR bot"));

    assert_eq!(fake.count("get_agent"), 1);
    let call = &fake.requests_to("get_agent")[0];
    assert_eq!(
        (call.method.as_str(), call.path.as_str()),
        ("GET", "/api/v2/agents/7")
    );
    assert_eq!(call.param("agent_id"), Some("7"));
    assert_eq!(call.operation, Some("get_agent"));
    assert_eq!(call.bearer(), Some(fake.last_issued().ejento.as_str()));
    // The same request, found by its path.
    assert_eq!(fake.requests_to("/api/v2/agents/7").len(), 1);
}

#[tokio::test]
async fn an_unscripted_operation_answers_501_naming_it() {
    let fake = FakeEjento::start().await;
    let ejento = logged_in(&fake).await;
    let answer = ejento.platform().get_agent().agent_id(7).send().await;
    // `from_generated` reads the body of a status the spec does not list, so the fake's
    // explanation reaches the test's failure message.
    let err = Error::from_generated(answer.unwrap_err()).await;
    assert!(matches!(err, Error::Api { status: 501, .. }), "{err:?}");
    assert!(err.to_string().contains("`get_agent`"), "{err}");
    // The fake still recorded the call, under its operation.
    assert_eq!(fake.count("get_agent"), 1);
}

#[tokio::test]
async fn a_401_from_a_platform_route_drives_a_refresh_and_a_replay() {
    let fake = FakeEjento::start().await;
    fake.on("get_agent", Reply::json(&agent(7, "HR bot")));
    let ejento = logged_in(&fake).await;
    let first = fake.last_issued();
    // The server side ends the platform token (as an expiry or a logout elsewhere would).
    fake.revoke(&first.ejento);

    let answer = ejento.platform().get_agent().agent_id(7).send().await;
    assert!(answer.is_ok(), "{:?}", answer.map_err(Error::from));

    assert_eq!(fake.refresh_calls(), 1);
    let second = fake.last_issued();
    let bearers: Vec<_> = fake
        .requests_to("get_agent")
        .iter()
        .map(|r| r.bearer().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(bearers, vec![first.ejento, second.ejento]);
}

#[tokio::test]
async fn platform_routes_refuse_anything_but_the_platform_token() {
    let fake = FakeEjento::start().await;
    fake.on("get_agent", Reply::json(&agent(7, "HR bot")));
    let _session = logged_in(&fake).await;
    let issued = fake.last_issued();
    let url = format!("{}/api/v2/agents/7", fake.base_url());
    let status = |bearer: Option<String>| {
        let url = url.clone();
        async move {
            let mut request = reqwest::Client::new().get(url);
            if let Some(token) = bearer {
                request = request.bearer_auth(token);
            }
            request.send().await.unwrap().status().as_u16()
        }
    };
    assert_eq!(status(None).await, 401);
    assert_eq!(status(Some(issued.auth_app.clone())).await, 401);
    assert_eq!(status(Some("made-up".into())).await, 401);
    assert_eq!(status(Some(issued.ejento.clone())).await, 200);
}

#[tokio::test]
async fn expired_tokens_are_refused_once_expiry_is_enforced() {
    let fake = FakeEjento::start().await;
    fake.on("get_agent", Reply::json(&agent(7, "HR bot")));
    fake.set_lifetime(std::time::Duration::ZERO);
    let _session = logged_in(&fake).await;
    let token = fake.last_issued().ejento;
    let get = || {
        reqwest::Client::new()
            .get(format!("{}/api/v2/agents/7", fake.base_url()))
            .bearer_auth(&token)
            .send()
    };
    // Off by default: the clock of a test is usually not the real one.
    assert_eq!(get().await.unwrap().status(), 200);
    fake.set_enforce_expiry(true);
    assert_eq!(get().await.unwrap().status(), 401);
}

#[tokio::test]
async fn a_closure_sees_the_body_and_the_path_parameters() {
    let fake = FakeEjento::start().await;
    fake.on_fn("create_agent_chat_thread", |request: &Recorded| {
        let body: Value = request.json();
        let agent: i64 = request.param("agent_id").unwrap().parse().unwrap();
        Reply::json(&json!({
            "success": true,
            "data": {"id": 55, "agent": agent, "title": format!("for {}", body["created_by"])}
        }))
        .with_status(201)
        .with_header("x-request-id", "req-1")
    });
    let ejento = logged_in(&fake).await;
    let thread = ejento
        .platform()
        .create_agent_chat_thread()
        .agent_id(9)
        .body(ChatThreadCreate {
            agent: Some(9),
            created_by: Some(USER.into()),
        })
        .send()
        .await
        .map_err(Error::from)
        .unwrap()
        .into_inner();
    let data = thread.data.unwrap();
    assert_eq!((data.id, data.agent), (55, Some(9)));
    let sent: Value = fake.requests_to("create_agent_chat_thread")[0].json();
    assert_eq!(sent["created_by"], USER);
}

#[tokio::test]
async fn one_shot_replies_come_first_then_the_standing_reply() {
    let fake = FakeEjento::start().await;
    fake.on("get_agent", Reply::json(&agent(7, "HR bot")))
        .on_sequence("get_agent", [Reply::error(404, "no such agent")]);
    let ejento = logged_in(&fake).await;
    let call = || get_agent_7(&ejento);
    let err = call().await.unwrap_err();
    assert!(matches!(err, Error::Api { status: 404, .. }), "{err:?}");
    assert!(call().await.is_ok());
    // Cleared, the operation is unscripted again.
    fake.clear("get_agent");
    let err = call().await.unwrap_err();
    assert!(matches!(err, Error::Api { status: 501, .. }), "{err:?}");
}

#[tokio::test]
async fn authentication_app_operations_can_be_overridden_too() {
    let fake = FakeEjento::start().await;
    fake.once(
        "login_access_token",
        Reply::error(400, "Incorrect email or password"),
    );
    let ejento = Ejento::builder().base_url(fake.base_url()).build().unwrap();
    let err = ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidCredentials { .. }), "{err:?}");
    // The one-shot reply is used up: the simulated login answers again.
    ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .unwrap();
}

#[tokio::test]
async fn unknown_operation_ids_are_refused_with_a_suggestion() {
    let fake = FakeEjento::start().await;
    let err = fake
        .try_on("get_agnet", Reply::status(200))
        .map(|_| ())
        .unwrap_err();
    assert_eq!(err.id, "get_agnet");
    assert!(err.suggestions.contains(&"get_agent"), "{err}");
    assert!(err.to_string().contains("did you mean"), "{err}");
}

#[tokio::test]
#[should_panic(expected = "FakeEjento serves no operation `no_such_operation`")]
async fn on_panics_on_an_unknown_operation_id() {
    let fake = FakeEjento::start().await;
    fake.on("no_such_operation", Reply::status(200));
}

#[tokio::test]
async fn debug_shows_no_issued_token() {
    let fake = FakeEjento::start().await;
    let _session = logged_in(&fake).await;
    let issued = fake.last_issued();
    let text = format!("{fake:?}");
    assert!(text.contains(fake.base_url()), "{text}");
    assert!(
        !text.contains(&issued.ejento) && !text.contains(&issued.auth_app),
        "{text}"
    );
}

#[tokio::test]
async fn a_test_can_wait_for_a_call_by_operation_id() {
    let fake = FakeEjento::start().await;
    fake.on(
        "get_agent",
        Reply::json(&agent(7, "HR bot")).after(std::time::Duration::from_millis(50)),
    );
    let ejento = logged_in(&fake).await;
    let call = tokio::spawn(async move { get_agent_7(&ejento).await.map(|_| ()) });
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        fake.wait_for("get_agent", 1),
    )
    .await
    .expect("the call arrives");
    assert_eq!(fake.count("get_agent"), 1);
    call.await.unwrap().unwrap();
}
