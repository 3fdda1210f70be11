//! Proto AICX's typical flow with no vendor credentials: a loopback stand-in for the gateway
//! (`cxkit-testkit`'s `FakeProto`, which keeps humans in memory); the example creates a human,
//! reads it back and updates its access token.
//!
//! ```sh
//! cargo run -p cxkit-tests --example proto_local
//! ```

use cxkit::clients::proto::types::{HumanCreate, HumanUpdate};
use cxkit::{Proto, Secret};
use cxkit_testkit::FakeProto;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The test kit's Proto gateway keeps the humans in memory and checks the token.
    let gateway = FakeProto::start().await;
    gateway.set_token("gAAAAAB-example-personal-access-token");

    let proto = Proto::builder()
        .base_url(gateway.gateway_url())
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
