//! The size in bytes of a call's future: `cxkit_auth::hooks::exec`'s, and that of a generated
//! call through the facade (`ejento.platform().get_current_user().send()`), which every caller
//! holds across its await. Built with and without the `otel` feature, it shows what compiling
//! OpenTelemetry in adds to a call (nothing, without the feature):
//!
//! ```text
//! cargo run -p cxkit-tests --example call_future_size
//! cargo run -p cxkit-tests --features otel --example call_future_size
//! ```

use cxkit::clients::ejento_platform::{ClientInfo as _, SECURITY};
use cxkit::{Config, Ejento};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ejento = Ejento::builder()
        .config(&Config::builder().build()?)
        .base_url("http://127.0.0.1:9")
        .build()?;
    let client = ejento.platform();
    let call = client.get_current_user().send();
    let request = client
        .client()
        .get(format!("{}/api/v2/users/me", client.baseurl()))
        .build()?;
    let exec = cxkit_auth::hooks::exec(
        client.inner(),
        &SECURITY,
        client.client(),
        request,
        "get_current_user",
    );
    println!(
        "otel feature: {}",
        if cfg!(feature = "otel") { "on" } else { "off" }
    );
    println!("hooks::exec future: {} bytes", std::mem::size_of_val(&exec));
    println!(
        "get_current_user().send() future: {} bytes",
        std::mem::size_of_val(&call)
    );
    Ok(())
}
