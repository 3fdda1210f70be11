//! The client cost of one cached-token call: `GET /api/v2/users/me` against a minimal loopback
//! server, either through the facade (`ejento.platform().get_current_user()`) or through a bare
//! `reqwest::Client` with the same settings, the bearer set by hand and the same JSON decode (the
//! per-request benchmark of `benches/facade/calls.rs`, without criterion).
//!
//! ```text
//! call_cost bare|facade|facade-options N [--no-total-timeout] [--server-thread]
//! call_cost paired ROUNDS [--no-total-timeout] [--server-thread]
//! ```
//!
//! **Instructions**, under callgrind. Client and server share one current-thread runtime, so a
//! run is repeatable and its instruction count does not depend on thread scheduling; the
//! server's work is the same in both modes but for the headers the facade adds, and setup cancels
//! out by counting two runs that differ only in N:
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
//!
//! **CPU time**: `paired` alternates blocks of 400 bare and 400 facade calls (in alternating
//! order) for ROUNDS rounds and prints the median CPU time per call of each, read from this
//! thread's CPU clock, so machine load shifts both alike. `--server-thread` runs the server on
//! a thread of its own, as the criterion benchmark does (the client then blocks on the network
//! between calls, and its caches cool); `--no-total-timeout` turns the facade's default total
//! deadline off, to show what its timer costs.

#[path = "../shared/bare.rs"]
mod bare;

use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use cxkit::clients::ejento_platform::types::UserEnvelope;
use cxkit::{CallOptions, Ejento, HttpConfig, Secret};

use bare::{bare_call, bare_client};

const USER_JSON: &str = r#"{"success":true,"data":{"id":1,"email":"a@b.c"}}"#;
const TOKEN: &str = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJiZW5jaCJ9.c2lnbmF0dXJlLW9mLXRoZS1iZW5jaA";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().any(|a| a == name);
    let mut positional = args.iter().filter(|a| !a.starts_with("--"));
    let mode = positional
        .next()
        .cloned()
        .unwrap_or_else(|| "facade".into());
    let n: usize = positional
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let (no_total_timeout, server_thread) = (flag("--no-total-timeout"), flag("--server-thread"));
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
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let base = format!("http://{}", listener.local_addr().expect("local address"));
        if server_thread {
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a server runtime");
                rt.block_on(serve(listener, app));
            });
        } else {
            tokio::spawn(serve(listener, app));
        }
        let mut http = HttpConfig::default();
        if no_total_timeout {
            http.total_timeout = None;
        }
        let config = cxkit::Config::builder()
            .http(http)
            .build()
            .expect("a config");
        let ejento = Ejento::builder()
            .base_url(&base)
            .config(&config)
            .build()
            .expect("build the session");
        ejento
            .adopt_tokens(Secret::new(TOKEN), Secret::new(TOKEN))
            .await
            .expect("adopt tokens");
        let bare = bare_client();
        let url = format!("{base}/api/v2/users/me");
        let mut ids = 0i64;
        match mode.as_str() {
            "bare" => {
                for _ in 0..n {
                    ids += bare_call(&bare, &url, TOKEN)
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
            "paired" => {
                paired(&ejento, &bare, &url, n.max(2)).await;
                return;
            }
            other => panic!("unknown mode `{other}`: use bare, facade, facade-options or paired"),
        }
        assert_eq!(ids, n as i64, "every call decodes the user");
    });
}

async fn serve(listener: std::net::TcpListener, app: Router) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
    let _ = axum::serve(listener, app).await;
}

/// Alternating blocks of bare and facade calls; prints the median CPU time per call of each.
async fn paired(ejento: &Ejento, bare: &reqwest::Client, url: &str, rounds: usize) {
    const BLOCK: u32 = 400;
    let (mut bare_ns, mut facade_ns) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        for facade_first in [round % 2 == 0, round % 2 == 1] {
            let before = thread_cpu_ns();
            if facade_first {
                for _ in 0..BLOCK {
                    std::hint::black_box(facade_call(ejento).await);
                }
                facade_ns.push((thread_cpu_ns() - before) as f64 / f64::from(BLOCK));
            } else {
                for _ in 0..BLOCK {
                    std::hint::black_box(bare_call(bare, url, TOKEN).await);
                }
                bare_ns.push((thread_cpu_ns() - before) as f64 / f64::from(BLOCK));
            }
        }
    }
    // Each round's facade block minus its bare block: drift in the machine's speed cancels.
    let mut differences: Vec<f64> = facade_ns.iter().zip(&bare_ns).map(|(f, b)| f - b).collect();
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (b, f) = (median(&mut bare_ns), median(&mut facade_ns));
    println!(
        "client CPU per call: bare {:.2} µs, facade {:.2} µs; overhead, median of the rounds' \
         differences: {:+.2} µs ({rounds} rounds of {BLOCK})",
        b / 1e3,
        f / 1e3,
        median(&mut differences) / 1e3
    );
}

/// This thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), in nanoseconds.
#[cfg(unix)]
fn thread_cpu_ns() -> u64 {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    u64::try_from(now.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(now.tv_nsec).unwrap_or(0)
}

#[cfg(not(unix))]
fn thread_cpu_ns() -> u64 {
    unimplemented!("`paired` reads a Unix per-thread CPU clock")
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
