//! The per-call client CPU of OpenTelemetry (`cargo bench -p cxkit-tests --features otel
//! --bench telemetry`): the same cached-token `GET /api/v2/users/me` as the facade benchmark's
//! per-request phase, on loopback, through three sessions built with the `otel` feature:
//!
//! - **off**: no telemetry configured (the feature compiled in, unused);
//! - **no-op exporter**: the OpenTelemetry SDK's tracer provider with a simple span processor
//!   over an exporter that discards every span, and its meter provider with a periodic reader
//!   over a discarding exporter: every span is built, recorded and ended, every metric
//!   aggregated, and nothing leaves the process (the default metrics: the stable
//!   `http.client.request.duration`);
//! - **no-op exporter, development metrics too**: the same with
//!   `Telemetry::with_development_metrics` (the body sizes and the active count as well);
//! - **global no-op**: `Telemetry::global()` with no provider set (the API's own no-op).
//!
//! Blocks of 400 calls of each alternate, in rotating order, for 120 rounds on one
//! current-thread runtime (the client's thread CPU clock, as in the facade benchmark); the
//! figures are the medians of each round's difference to the "off" block, so drift in the
//! machine's speed cancels out. The server runs on its own runtime. The figures are merged into
//! `target/cxkit-bench/results.json` (or `$CXKIT_BENCH_OUT`), which `cargo xtask bench` reads.
//! Under `cargo test` it runs two tiny rounds and writes nothing. `CXKIT_BENCH_SESSION=sdk` (or
//! `off`, `global`, `development`) runs that session's blocks alone, for a profiler, and writes
//! nothing either.
//!
//! Whether the feature costs anything when it is *not compiled* is the facade benchmark's
//! per-request row itself (`cargo bench -p cxkit-tests --bench facade`, built without it).

use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use cxkit::{Config, Ejento, RefreshConfig, Secret, Telemetry};
use cxkit_testkit::ejento::{FakeEjento, PASSWORD_OF_USER, USER};
use cxkit_testkit::otel::opentelemetry_sdk;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};

/// Off, the SDK, the global no-op, the SDK with the development metrics.
const SESSIONS: usize = 4;
const SESSION_NAMES: [&str; SESSIONS] = ["off", "sdk", "global", "development"];

const USER_JSON: &str = r#"{"success":true,"data":{"id":1,"email":"a@b.c"}}"#;

/// A span exporter that drops every span.
#[derive(Debug)]
struct DiscardSpans;

impl SpanExporter for DiscardSpans {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        drop(batch);
        std::future::ready(Ok(()))
    }
}

/// A metric exporter that drops every export.
#[derive(Debug)]
struct DiscardMetrics;

impl PushMetricExporter for DiscardMetrics {
    fn export(&self, _: &ResourceMetrics) -> impl Future<Output = OTelSdkResult> + Send {
        std::future::ready(Ok(()))
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

fn thread_cpu_ns() -> u64 {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

async fn session(auth: &str, platform: &str, telemetry: Option<Telemetry>) -> Ejento {
    let mut config = Config::builder().refresh(RefreshConfig::default().without_jitter());
    if let Some(telemetry) = telemetry {
        config = config.telemetry(telemetry);
    }
    let ejento = Ejento::builder()
        .config(&config.build().expect("config"))
        .auth_base_url(auth)
        .platform_base_url(platform)
        .build()
        .expect("session");
    ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .expect("log in");
    ejento
}

async fn call(ejento: &Ejento) {
    let answer = ejento
        .platform()
        .get_current_user()
        .send()
        .await
        .expect("the call succeeds")
        .into_inner();
    std::hint::black_box(answer);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let full = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test");
    let (rounds, block) = if full { (120, 400) } else { (2, 5) };

    let servers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a server runtime");
    let (fake, platform) = servers.block_on(async {
        let fake = FakeEjento::start().await;
        let app = Router::new().route(
            "/api/v2/users/me",
            get(|| async {
                ([(header::CONTENT_TYPE, "application/json")], USER_JSON).into_response()
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (fake, url)
    });

    let tracer_provider = SdkTracerProvider::builder()
        .with_simple_exporter(DiscardSpans)
        .build();
    let meter_provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(DiscardMetrics).build())
        .build();
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a client runtime");
    let sessions = client.block_on(async {
        [
            session(fake.base_url(), &platform, None).await,
            session(
                fake.base_url(),
                &platform,
                Some(Telemetry::new(&tracer_provider, &meter_provider)),
            )
            .await,
            session(fake.base_url(), &platform, Some(Telemetry::global())).await,
            session(
                fake.base_url(),
                &platform,
                Some(Telemetry::new(&tracer_provider, &meter_provider).with_development_metrics()),
            )
            .await,
        ]
    });
    // One session alone, for a profiler: `CXKIT_BENCH_SESSION=sdk` (or off, global,
    // development) runs only its blocks and writes nothing.
    let alone = std::env::var("CXKIT_BENCH_SESSION").ok().map(|name| {
        SESSION_NAMES
            .iter()
            .position(|n| *n == name)
            .unwrap_or_else(|| panic!("CXKIT_BENCH_SESSION: one of {SESSION_NAMES:?}"))
    });
    println!("telemetry: per-call client CPU, {rounds} rounds of {block} calls per session");
    let mut cpu: [Vec<f64>; SESSIONS] = Default::default();
    client.block_on(async {
        for round in 0..rounds {
            for k in 0..SESSIONS {
                let which = (round + k) % SESSIONS;
                if alone.is_some_and(|only| only != which) {
                    continue;
                }
                let started = thread_cpu_ns();
                for _ in 0..block {
                    call(&sessions[which]).await;
                }
                cpu[which].push((thread_cpu_ns() - started) as f64 / block as f64);
            }
        }
    });
    if let Some(only) = alone {
        let name = SESSION_NAMES[only];
        println!(
            "  {name}: {:.0} ns per call (median)",
            median(&mut cpu[only])
        );
        return;
    }
    let differences = |k: usize| -> f64 {
        let mut d: Vec<f64> = cpu[k].iter().zip(&cpu[0]).map(|(a, b)| a - b).collect();
        median(&mut d)
    };
    let figures = [
        ("telemetry_off_client_cpu_ns", median(&mut cpu[0].clone())),
        ("telemetry_sdk_client_cpu_ns", median(&mut cpu[1].clone())),
        ("telemetry_sdk_overhead_ns", differences(1)),
        (
            "telemetry_global_noop_client_cpu_ns",
            median(&mut cpu[2].clone()),
        ),
        ("telemetry_global_noop_overhead_ns", differences(2)),
        (
            "telemetry_sdk_development_client_cpu_ns",
            median(&mut cpu[3].clone()),
        ),
        ("telemetry_sdk_development_overhead_ns", differences(3)),
    ];
    for (name, value) in &figures {
        println!("  {name} = {value:.0} ns");
    }
    drop(sessions);
    drop(fake);
    servers.shutdown_background();
    if !full {
        println!("telemetry benchmark: ran at test scale");
        return;
    }
    let path = std::env::var_os("CXKIT_BENCH_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target"))
                });
            target.join("cxkit-bench/results.json")
        });
    // Merged into the facade benchmark's figures (or a file of its own).
    let mut object = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default();
    let mut units = object
        .remove("units")
        .and_then(|u| u.as_object().cloned())
        .unwrap_or_default();
    for (name, value) in figures {
        object.insert(name.to_owned(), serde_json::json!(value));
        units.insert(name.to_owned(), serde_json::json!("ns"));
    }
    object.insert("units".into(), serde_json::Value::Object(units));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("the results directory");
    }
    let text = serde_json::to_string_pretty(&serde_json::Value::Object(object)).unwrap();
    std::fs::write(&path, text + "\n").expect("write the results");
    println!("wrote {}", path.display());
}
