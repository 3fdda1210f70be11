//! Platform28's typical flow with no vendor credentials: a loopback stand-in for the Cloud API
//! (the tests' scripted fake) answers a login, then the example reads the session, acts as
//! another user, clones the session and logs out — printing what went over the wire, with the
//! LSID as a `;lsid=` matrix parameter.
//!
//! ```sh
//! cargo run -p cxkit-tests --example platform28_local
//! ```

use cxkit::{Platform28, Secret};
use cxkit_testkit::ejento::FakeEjento;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let api = FakeEjento::start().await;
    let json = &[("content-type", "application/json")];
    api.script(
        "POST",
        "/api/authenticate/alice",
        200,
        json,
        r#"{"sessionId":"S1","lsid":"example-lsid-1","userId":"alice"}"#,
    );
    api.script(
        "GET",
        "/api/session/S1",
        200,
        json,
        r#"{"sessionId":"S1","lsid":"example-lsid-1","userId":"alice","orgId":"acme"}"#,
    );
    api.script("POST", "/api/session/S1/setEffectiveUser", 200, &[], "");
    api.script(
        "POST",
        "/api/session/S1/clone",
        200,
        json,
        r#"{"sessionId":"S2","lsid":"example-lsid-2","userId":"alice"}"#,
    );
    api.script("DELETE", "/api/session/S1", 200, &[], "");

    let platform28 = Platform28::builder()
        .base_url(format!("{}/api", api.base_url()))
        .api_key(Secret::new("example-api-key"))
        .build()?;
    let session = platform28
        .login("alice", &Secret::new("password-hash"))
        .await?;
    let info = session.info().await?;
    println!("session of {:?} in org {:?}", info.user_id, info.org_id);
    session.set_effective_user("bob").await?;
    let second = session.clone_session().await?;
    println!("cloned into a second session: {second:?}");
    session.terminate(false).await?;

    println!("\nwhat went over the wire (secrets shown here only because they are examples):");
    for r in api.requests() {
        println!(
            "  {} {}{}",
            r.method,
            r.path,
            r.query.map(|q| format!("?{q}")).unwrap_or_default()
        );
    }
    Ok(())
}
