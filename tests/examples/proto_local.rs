//! Proto AICX's typical flow with no vendor credentials: a loopback stand-in for the gateway
//! (the tests' scripted fake) answers seed 002's sample responses; the example creates a human,
//! reads it back and updates its access token.
//!
//! ```sh
//! cargo run -p cxkit-tests --example proto_local
//! ```

use cxkit::clients::proto::types::{HumanCreate, HumanUpdate};
use cxkit::{Proto, Secret};
use cxkit_testkit::ejento::FakeEjento;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let gateway = FakeEjento::start().await;
    let json = &[("content-type", "application/json")];
    let id_result = r#"{"result":{"id":"eu_KM8dKoKB5HJN"}}"#;
    gateway.script("POST", "/gateway/acme/bot1/crm/human", 200, json, id_result);
    gateway.script(
        "GET",
        "/gateway/acme/bot1/crm/human/eu_KM8dKoKB5HJN",
        200,
        json,
        r#"{"result":{"access_token":null,"created_at":"2020-10-19T03:33:30.207384+00:00","email":"test1@example.com","fullname":"Test 1","human_id":"eu_KM8dKoKB5HJN","id":"eu_KM8dKoKB5HJN","notes":null,"phone_number":null,"profile_pic_id":null,"tags":null,"uid":"f2067462-67d1-4688-b78f-68d563665756","updated_at":"2020-10-19T03:33:30.207384+00:00"}}"#,
    );
    gateway.script(
        "PUT",
        "/gateway/acme/bot1/crm/human/eu_KM8dKoKB5HJN",
        200,
        json,
        id_result,
    );

    let proto = Proto::builder()
        .base_url(format!("{}/gateway", gateway.base_url()))
        .company_id("acme")
        .bot_id("bot1")
        .personal_access_token(Secret::new("gAAAAAB-example-personal-access-token"))
        .build()?;

    let human: HumanCreate = HumanCreate::builder()
        .fullname("Test 1")
        .email(Some("test1@example.com".to_owned()))
        .uid(Some("f2067462-67d1-4688-b78f-68d563665756".to_owned()))
        .try_into()?;
    let id = proto.create_human(human).await?;
    println!("created human {id}");
    let human = proto.get_human(&id).await?;
    println!(
        "{} <{}> uid={}",
        human.fullname,
        human.email.unwrap_or_default(),
        human.uid.unwrap_or_default()
    );
    proto
        .update_human(
            &id,
            HumanUpdate {
                access_token: Some("the web app's token".into()),
                ..Default::default()
            },
        )
        .await?;
    println!("updated its access token");
    let sent = gateway.requests();
    println!(
        "the gateway saw {} requests, each with an X-SINITIC-TOKEN header: {}",
        sent.len(),
        sent.iter().all(|r| r.header("x-sinitic-token").is_some())
    );
    Ok(())
}
