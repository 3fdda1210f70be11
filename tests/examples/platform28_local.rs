//! Platform28's typical flow with no vendor credentials: a loopback stand-in for the Cloud API
//! (`cxkit-testkit`'s `FakePlatform28`) answers a login, then the example reads the session, acts as
//! another user, clones the session and logs out — printing what went over the wire, with the
//! LSID as a `;lsid=` matrix parameter.
//!
//! ```sh
//! cargo run -p cxkit-tests --example platform28_local
//! ```

use cxkit::{Platform28, Secret};
use cxkit_testkit::FakePlatform28;
use cxkit_testkit::platform28::{API_KEY, PASSWORD_OF_USER, USER};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The test kit's Platform28 simulates the sessions (login, LSID, effective user, clone,
    // terminate) for its one user.
    let api = FakePlatform28::start().await;

    let platform28 = Platform28::builder()
        .base_url(api.api_url())
        .api_key(Secret::new(API_KEY))
        .build()?;
    let session = platform28
        .login(USER, &Secret::new(PASSWORD_OF_USER))
        .await?;
    let info = session.info().await?;
    println!("session of {:?} in org {:?}", info.user_id, info.org_id);
    session.set_effective_user("bob").await?;
    let acting = session.info().await?.effective_user_id;
    println!("acting as {acting:?}");
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
