//! The client cost of one cached-token call, for instruction counting under callgrind:
//! `GET /api/v2/users/me` against a minimal loopback server, N times, either through the
//! facade (`ejento.platform().get_current_user()`) or through a bare `reqwest::Client` with
//! the same settings, the bearer set by hand and the same JSON decode (the per-request
//! benchmark of `benches/facade.rs`, without criterion).
//!
//! Client and server share one current-thread runtime, so a run is repeatable and its
//! instruction count does not depend on thread scheduling; the server's work is the same in
//! both modes and cancels out of the difference. Setup cancels out by counting two runs that
//! differ only in N:
//!
//! ```text
//! cargo build --release -p cxkit-tests --example call_cost
//! for mode in bare facade facade-options; do for n in 1000 3000; do
//!   valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$mode.$n \
//!     $CARGO_TARGET_DIR/release/examples/call_cost $mode $n 2>&1 | grep 'refs:'
//! done; done
//! ```
//!
//! Instructions per request = (Ir(3000) − Ir(1000)) / 2000; the facade's overhead is its figure
//! minus bare reqwest's. `facade-options` makes the same call through a view with per-call
//! options (a header and a timeout), to show what they cost when used.

use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use cxkit::clients::ejento_platform::types::UserEnvelope;
use cxkit::{CallOptions, Ejento, HttpConfig, Secret};

const USER_JSON: &str = r#"{"success":true,"data":{"id":1,"email":"a@b.c"}}"#;
const TOKEN: &str = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJiZW5jaCJ9.c2lnbmF0dXJlLW9mLXRoZS1iZW5jaA";

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "facade".into());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async move {
        let app = Router::new().route(
            "/api/v2/users/me",
            get(|| async {
                ([(header::CONTENT_TYPE, "application/json")], USER_JSON).into_response()
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let base = format!("http://{}", listener.local_addr().expect("local address"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let ejento = Ejento::builder()
            .base_url(&base)
            .build()
            .expect("build the session");
        ejento
            .adopt_tokens(Secret::new(TOKEN), Secret::new(TOKEN))
            .await
            .expect("adopt tokens");
        let bare = bare_client();
        let url = format!("{base}/api/v2/users/me");
        // One warm-up call per path opens the connection outside the counted difference.
        let mut ids = 0i64;
        match mode.as_str() {
            "bare" => {
                for _ in 0..n {
                    ids += bare_call(&bare, &url)
                        .await
                        .data
                        .and_then(|u| u.id)
                        .unwrap_or(0);
                }
            }
            "facade" => {
                for _ in 0..n {
                    ids += facade_call(&ejento)
                        .await
                        .data
                        .and_then(|u| u.id)
                        .unwrap_or(0);
                }
            }
            "facade-options" => {
                let options = CallOptions::new()
                    .timeout(Duration::from_secs(5))
                    .header("x-trace-tag", "bench");
                for _ in 0..n {
                    let view = ejento.with_options(options.clone());
                    ids += facade_call(&view)
                        .await
                        .data
                        .and_then(|u| u.id)
                        .unwrap_or(0);
                }
            }
            other => panic!("unknown mode `{other}`: use bare, facade or facade-options"),
        }
        assert_eq!(ids, n as i64, "every call decodes the user");
    });
}

async fn facade_call(ejento: &Ejento) -> UserEnvelope {
    ejento
        .platform()
        .get_current_user()
        .send()
        .await
        .expect("the facade call succeeds")
        .into_inner()
}

async fn bare_call(client: &reqwest::Client, url: &str) -> UserEnvelope {
    let response = client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("the bare call succeeds");
    assert!(response.status().is_success(), "{}", response.status());
    let body = response.bytes().await.expect("the body arrives");
    serde_json::from_slice(&body).expect("the body decodes")
}

/// `HttpConfig::default()` applied to a plain `reqwest::Client`, as the facade builds its own.
fn bare_client() -> reqwest::Client {
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
