//! FakeProto as a downstream application uses it: the `cxkit` facade's Proto client against
//! humans kept in memory.

use cxkit::clients::proto::types::{HumanCreate, HumanUpdate};
use cxkit::{Error, Proto, Secret};
use cxkit_testkit::proto::TOKEN;
use cxkit_testkit::{FakeProto, Reply};

fn client(fake: &FakeProto, token: &str) -> Proto {
    Proto::builder()
        .base_url(fake.gateway_url())
        .company_id("c1")
        .bot_id("b1")
        .personal_access_token(Secret::new(token))
        .build()
        .unwrap()
}

fn ada() -> HumanCreate {
    HumanCreate::builder()
        .fullname("Ada Lovelace")
        .email(Some("ada@example.com".to_owned()))
        .try_into()
        .unwrap()
}

#[tokio::test]
async fn humans_are_created_read_and_updated_in_memory() {
    let fake = FakeProto::start().await;
    let proto = client(&fake, TOKEN);

    let id = proto.create_human(ada()).await.unwrap();
    let human = proto.get_human(&id).await.unwrap();
    assert_eq!(
        (human.id.as_str(), human.fullname.as_str()),
        (id.as_str(), "Ada Lovelace")
    );
    assert_eq!(human.email.as_deref(), Some("ada@example.com"));

    let update = HumanUpdate {
        uid: Some("external-42".into()),
        ..Default::default()
    };
    assert_eq!(proto.update_human(&id, update).await.unwrap(), id);
    let human = proto.get_human(&id).await.unwrap();
    assert_eq!(human.uid.as_deref(), Some("external-42"));
    assert_eq!(
        human.fullname, "Ada Lovelace",
        "an update keeps what it does not send"
    );
    assert_eq!(fake.human("c1", "b1", &id).unwrap()["uid"], "external-42");

    // Every call carried the token in its header, and only there.
    assert_eq!(fake.requests().len(), 4);
    for r in fake.requests() {
        assert_eq!(r.header("x-sinitic-token"), Some(TOKEN));
        assert!(!r.path.contains(TOKEN));
    }
    let put = &fake.requests_to("update_human")[0];
    assert_eq!(put.param("human_id"), Some(id.as_str()));
    assert_eq!(
        put.json::<serde_json::Value>(),
        serde_json::json!({"uid": "external-42"})
    );
}

#[tokio::test]
async fn a_wrong_token_is_refused_and_an_unknown_human_is_404() {
    let fake = FakeProto::start().await;
    let err = client(&fake, "not-the-token")
        .create_human(ada())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidCredentials { .. }), "{err:?}");
    assert!(fake.humans().is_empty());

    let err = client(&fake, TOKEN)
        .get_human("eu_missing")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api { status: 404, .. }), "{err:?}");
}

#[tokio::test]
async fn per_operation_faults_come_before_the_simulation() {
    let fake = FakeProto::start().await;
    let id = fake.insert_human("c1", "b1", serde_json::json!({"fullname": "Grace"}));
    // A 400, since the client would retry a 5xx on a read.
    fake.once("get_human", Reply::error(400, "gateway exploded"));
    let proto = client(&fake, TOKEN);
    let err = proto.get_human(&id).await.unwrap_err();
    assert!(err.to_string().contains("gateway exploded"), "{err}");
    assert_eq!(proto.get_human(&id).await.unwrap().fullname, "Grace");
}
