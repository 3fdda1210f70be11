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
//! - **global no-op**: `Telemetry::global()` with no provider set (the API's own no-op);
//! - **the SDK's floor**: the "off" session's call, wrapped by hand in what the conventions ask
//!   of it, made straight on the same SDK providers: the operation span, the attempt's `CLIENT`
//!   span with the same attributes (its `url.full` formatted for the call), their status, and
//!   one `http.client.request.duration` measurement. No instrumentation of these spans and this
//!   metric can cost less than the SDK's own work for them, so cxkit's own share of the
//!   "no-op exporter" row is that row less this one;
//! - **one span**, **one measurement**: the floor's parts alone, by hand the same way: the
//!   attempt's `CLIENT` span with one attribute, or the one duration measurement.
//!
//! Blocks of 400 calls of each alternate, in rotating order, for 120 rounds on one
//! current-thread runtime (the client's thread CPU clock, as in the facade benchmark); the
//! figures are the medians of each round's difference to the "off" block, so drift in the
//! machine's speed cancels out. The server runs on its own runtime. The figures are merged into
//! `target/cxkit-bench/results.json` (or `$CXKIT_BENCH_OUT`), which `cargo xtask bench` reads.
//! `CXKIT_BENCH_SPAN_PROCESSOR=batch` gives the SDK sessions the batch span processor instead of
//! the simple one, and prints the figures without writing them. Under `cargo test` it runs two
//! tiny rounds and writes nothing. `CXKIT_BENCH_SESSION=sdk` (or any name of `SESSION_NAMES`)
//! runs that session's blocks alone, for a profiler, and writes nothing either.
//!
//! Whether the feature costs anything when it is *not compiled* is the facade benchmark's
//! per-request row itself (`cargo bench -p cxkit-tests --bench facade`, built without it).

use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use cxkit::opentelemetry::metrics::{Histogram, MeterProvider as _};
use cxkit::opentelemetry::trace::{
    Span as _, SpanBuilder, SpanKind, TraceContextExt as _, Tracer as _, TracerProvider as _,
};
use cxkit::opentelemetry::{Context, KeyValue};
use cxkit::telemetry::HTTP_DURATION_BUCKETS;
use cxkit::{Config, Ejento, RefreshConfig, Secret, Telemetry};
use cxkit_testkit::ejento::{FakeEjento, PASSWORD_OF_USER, USER};
use cxkit_testkit::otel::opentelemetry_sdk;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use std::time::Instant;
use url::Url;

/// Off, the SDK, the global no-op, the SDK with the development metrics, then the sessions
/// instrumented by hand ([`ByHand`], uninstrumented sessions underneath): the SDK's floor, and
/// its span and its measurement alone.
const SESSIONS: usize = 7;
const SESSION_NAMES: [&str; SESSIONS] = [
    "off",
    "sdk",
    "global",
    "development",
    "floor",
    "floor-span",
    "floor-metric",
];
const FLOOR: usize = 4;
const FLOOR_SPAN: usize = 5;
const FLOOR_METRIC: usize = 6;

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

/// The path template of the call every session makes.
const TEMPLATE: &str = "/api/v2/users/me";

/// The SDK's own work for one call by the conventions, done by hand around `call` (the
/// "floor" session): what cxkit's spans and default metric ask of the SDK, without cxkit.
struct ByHand {
    tracer: opentelemetry_sdk::trace::SdkTracer,
    duration: Histogram<f64>,
    platform: Url,
}

impl ByHand {
    fn new(
        tracer_provider: &SdkTracerProvider,
        meter_provider: &SdkMeterProvider,
        platform: &str,
    ) -> Self {
        let duration = meter_provider
            .meter("by-hand")
            .f64_histogram("http.client.request.duration")
            .with_unit("s")
            .with_boundaries(HTTP_DURATION_BUCKETS.to_vec())
            .build();
        ByHand {
            tracer: tracer_provider.tracer("by-hand"),
            duration,
            platform: Url::parse(platform).expect("the platform's URL"),
        }
    }

    /// An attempt's attributes before its answer, made for each call as an instrumentation
    /// would: `http.request.method`, `server.address`, `server.port` and `url.template`.
    /// With room for the status, which the answer adds.
    fn attributes(&self) -> Vec<KeyValue> {
        let mut attributes = Vec::with_capacity(5);
        attributes.extend([
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new(
                "server.address",
                self.platform.host_str().unwrap_or_default().to_owned(),
            ),
            KeyValue::new(
                "server.port",
                i64::from(self.platform.port_or_known_default().unwrap_or(0)),
            ),
            KeyValue::new("url.template", TEMPLATE),
        ]);
        attributes
    }

    /// What the conventions ask of the SDK for one call (`FLOOR`), or one of its parts alone.
    async fn call(&self, ejento: &Ejento, session: usize) {
        match session {
            FLOOR_SPAN => {
                let mut attempt = self.tracer.build_with_context(
                    SpanBuilder::from_name("GET /api/v2/users/me")
                        .with_kind(SpanKind::Client)
                        .with_attributes([KeyValue::new("http.request.method", "GET")]),
                    &Context::current(),
                );
                call(ejento).await;
                attempt.end();
                return;
            }
            FLOOR_METRIC => {
                let started = Instant::now();
                call(ejento).await;
                let mut attributes = self.attributes();
                attributes.push(KeyValue::new("http.response.status_code", 200_i64));
                self.duration
                    .record(started.elapsed().as_secs_f64(), &attributes);
                return;
            }
            _ => {}
        }
        let parent = Context::current();
        let operation = self.tracer.build_with_context(
            SpanBuilder::from_name("ejento-platform.get_current_user")
                .with_kind(SpanKind::Internal)
                .with_attributes([
                    KeyValue::new("cxkit.api", "ejento-platform"),
                    KeyValue::new("cxkit.operation_id", "get_current_user"),
                    KeyValue::new("http.request.method", "GET"),
                    KeyValue::new("url.template", TEMPLATE),
                ]),
            &parent,
        );
        let cx = parent.with_span(operation);
        let mut attributes = self.attributes();
        let mut span_attributes = attributes.clone();
        span_attributes.push(KeyValue::new(
            "url.full",
            self.platform.join(TEMPLATE).expect("a URL").to_string(),
        ));
        let mut attempt = self.tracer.build_with_context(
            SpanBuilder::from_name("GET /api/v2/users/me")
                .with_kind(SpanKind::Client)
                .with_attributes(span_attributes),
            &cx,
        );
        let started = Instant::now();
        call(ejento).await;
        let status = KeyValue::new("http.response.status_code", 200_i64);
        attempt.set_attribute(status.clone());
        attempt.end();
        attributes.push(status.clone());
        self.duration
            .record(started.elapsed().as_secs_f64(), &attributes);
        let operation = cx.span();
        operation.set_attribute(status);
        operation.end();
    }
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
            TEMPLATE,
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

    // `CXKIT_BENCH_SPAN_PROCESSOR=batch`: the SDK's batch processor, which exports on a thread
    // of its own, instead of the simple one, which exports on the caller's.
    let batch = match std::env::var("CXKIT_BENCH_SPAN_PROCESSOR").as_deref() {
        Ok("batch") => true,
        Ok("simple") | Err(_) => false,
        Ok(other) => panic!("CXKIT_BENCH_SPAN_PROCESSOR: `simple` or `batch`, not `{other}`"),
    };
    let tracer_provider = if batch {
        SdkTracerProvider::builder().with_batch_exporter(DiscardSpans)
    } else {
        SdkTracerProvider::builder().with_simple_exporter(DiscardSpans)
    }
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
            session(fake.base_url(), &platform, None).await,
            session(fake.base_url(), &platform, None).await,
            session(fake.base_url(), &platform, None).await,
        ]
    });
    let by_hand = ByHand::new(&tracer_provider, &meter_provider, &platform);
    // One session alone, for a profiler: `CXKIT_BENCH_SESSION=sdk` (or any other
    // session's name) runs only its blocks and writes nothing.
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
                if which >= FLOOR {
                    for _ in 0..block {
                        by_hand.call(&sessions[which], which).await;
                    }
                } else {
                    for _ in 0..block {
                        call(&sessions[which]).await;
                    }
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
    // The median of session `k`'s paired differences to session `base`, round by round.
    let over = |k: usize, base: usize| -> f64 {
        let mut d: Vec<f64> = cpu[k].iter().zip(&cpu[base]).map(|(a, b)| a - b).collect();
        median(&mut d)
    };
    let differences = |k: usize| over(k, 0);
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
        (
            "telemetry_sdk_floor_client_cpu_ns",
            median(&mut cpu[FLOOR].clone()),
        ),
        ("telemetry_sdk_floor_overhead_ns", differences(FLOOR)),
        (
            "telemetry_sdk_one_span_overhead_ns",
            differences(FLOOR_SPAN),
        ),
        (
            "telemetry_sdk_one_measurement_overhead_ns",
            differences(FLOOR_METRIC),
        ),
        // cxkit's own share: its SDK session over the floor, paired round by round.
        ("telemetry_sdk_over_floor_ns", over(1, FLOOR)),
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
    if batch {
        println!("telemetry benchmark: with the batch span processor, not written");
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
