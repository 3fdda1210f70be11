//! The bare-reqwest baseline the facade's per-call cost is measured against, shared by the
//! criterion benchmark (`benches/facade/calls.rs`) and `examples/call_cost.rs` so both compare with
//! exactly the same call.

use cxkit::HttpConfig;
use cxkit::clients::ejento_platform::types::UserEnvelope;

/// `GET url` by hand: the client's settings, the bearer set directly, the same decode as the
/// facade's `get_current_user`.
pub async fn bare_call(client: &reqwest::Client, url: &str, bearer: &str) -> UserEnvelope {
    let response = client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .bearer_auth(bearer)
        .send()
        .await
        .expect("the bare call succeeds");
    assert!(response.status().is_success(), "{}", response.status());
    let body = response.bytes().await.expect("the body arrives");
    serde_json::from_slice(&body).expect("the body decodes")
}

/// `HttpConfig::default()` applied to a plain `reqwest::Client` (timeouts, user agent, no
/// redirects), as cxkit builds its own, but without the total timeout the hooks rely on.
pub fn bare_client() -> reqwest::Client {
    let config = HttpConfig::default();
    cxkit::ensure_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(config.connect_timeout)
        .read_timeout(config.read_timeout)
        .user_agent(&config.user_agent)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a reqwest client")
}
