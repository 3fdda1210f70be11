//! Benchmarks of the cxkit facade over real HTTP on loopback. Every server runs inside this
//! binary, on `127.0.0.1`, in its own tokio runtime:
//!
//! - **per request** (criterion): the same `GET /api/v2/users/me` against the same minimal
//!   server, once through the facade (`ejento.platform().get_current_user()`: token cache, auth
//!   hooks, retry loop, progenitor decode) and once through a bare `reqwest::Client` with the
//!   same settings, the bearer header set by hand and the same JSON decode into the same type.
//! - **herd**: 1,000 concurrent callers across token expiry (a `ManualClock` moved past it):
//!   the wall time of the herd against one call with a fresh token and against the same herd
//!   with fresh tokens, and the number of refreshes (must be exactly one per herd). Measured
//!   once on bare loopback and once with a simulated server latency on both the refresh and
//!   the call, which is what a real gateway adds.
//! - **SSE**: an answer of N `assistant_stream` frames and an `end` frame, consumed through
//!   `ejento.stream_agent_response(...)`: events/s, MB/s and peak heap.
//! - **SSE, one long line**: a single 10 MiB `assistant_stream` event (one line, no line
//!   break until its end) through the same call: MB/s, which shows the parser is linear in its
//!   input (a quadratic one takes seconds here).
//! - **SSE parser** (criterion): the same frames in memory, through the raw `text/event-stream`
//!   parser alone, then parsed and decoded through `AnswerStream::from_bytes` (no HTTP):
//!   ns and events/s per event, on the thread's CPU clock (one core) and the wall clock.
//! - **upload**: a 128 MiB file through `ejento.upload_document(...)` to a server that counts
//!   and discards the multipart body: MB/s and peak heap.
//!
//! - **Redis store** (criterion, then processes): the per-call cost on the cached-token path of
//!   a session whose tokens live in a `RedisTokenStore` against one in the memory store (and how
//!   many Redis commands a cached call sends: none), then a herd of 4 OS processes (this binary
//!   again, `CXKIT_BENCH_CHILD=1`) sharing the session through a real `redis-server` on
//!   loopback, across expiry against the same herd with fresh tokens, and the refreshes the
//!   fake saw per herd (exactly one for the fleet).
//!
//! `CXKIT_BENCH_PHASES` (comma-separated: `per_request`, `herd`, `sse`, `sse_parser`, `upload`,
//! `store`) runs only those phases, and merges their figures into an existing results file, so
//! that one phase can be measured again on a busy machine without rerunning the rest.
//!
//! Heap figures come from a counting global allocator (current and peak bytes, atomics); a
//! phase's figure is its peak minus the heap in use when the phase started, and it includes the
//! in-process servers' own buffers (so it is an upper bound for the client alone).
//!
//! `cargo bench -p cxkit-tests --bench facade` runs it for real and writes every figure to
//! `target/cxkit-bench/results.json` (or `$CXKIT_BENCH_OUT`); `cargo xtask bench` prints them as
//! a table. Under `cargo test` (no `--bench` argument, or `--test`) every phase runs a tiny
//! version and nothing is written.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[path = "../shared/bare.rs"]
mod bare;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use criterion::Criterion;
use cxkit::__bench::SseParser;
use cxkit::clients::ejento_platform::types::{AgentResponseRequest, UserEnvelope};
use cxkit::{
    AnswerStream, Clock, DocumentUpload, EJENTO_TOKEN, Ejento, HttpConfig, ManualClock,
    RefreshConfig, Secret, StreamEvent, SystemClock,
};
use cxkit_testkit::ejento::{FakeEjento, PASSWORD_OF_USER, USER};
use futures::StreamExt as _;
use peak_alloc::PeakAlloc;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

use bare::{bare_call, bare_client};

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

/// What GET /api/v2/users/me answers.
const USER_JSON: &str = r#"{"success":true,"data":{"id":1,"email":"a@b.c"}}"#;
/// One answer chunk; frames are `data: {"step":"assistant_stream","delta":"<DELTA>"}\n\n`.
const DELTA: &str = "The quick brown fox jumps over the lazy dog; 0123456789.";
/// The frame that ends every streamed answer.
const END_FRAME: &str = "data: {\"step\":\"end\",\"success\":true,\"output\":{\"answer\":\"done\",\"thread_id\":1}}\n\n";
/// How many frames the SSE server writes per body chunk.
const FRAMES_PER_CHUNK: usize = 100;
/// The fake's token lifetime.
const LIFETIME: Duration = Duration::from_secs(3600);
/// Criterion's sample count for the per-request benchmarks.
const SAMPLE_SIZE: usize = 60;

/// How big each phase is: the real run, or a quick check under `cargo test`.
#[derive(Clone, Copy, Debug)]
struct Scale {
    full: bool,
    herd_callers: usize,
    herd_runs: usize,
    single_calls: usize,
    simulated_latency: Duration,
    sse_frames: usize,
    sse_runs: usize,
    sse_line_bytes: usize,
    upload_bytes: u64,
    upload_runs: usize,
}

impl Scale {
    fn from_args() -> Scale {
        let args: Vec<String> = std::env::args().collect();
        let bench = args.iter().any(|a| a == "--bench");
        let test = args.iter().any(|a| a == "--test");
        if bench && !test {
            Scale {
                full: true,
                herd_callers: 1000,
                herd_runs: 5,
                single_calls: 25,
                simulated_latency: Duration::from_millis(20),
                sse_frames: 200_000,
                sse_runs: 3,
                sse_line_bytes: 10 << 20,
                upload_bytes: 128 << 20,
                upload_runs: 3,
            }
        } else {
            Scale {
                full: false,
                herd_callers: 20,
                herd_runs: 1,
                single_calls: 2,
                simulated_latency: Duration::from_millis(2),
                sse_frames: 1000,
                sse_runs: 1,
                sse_line_bytes: 256 << 10,
                upload_bytes: 1 << 20,
                upload_runs: 1,
            }
        }
    }
}

// ---- results --------------------------------------------------------------------------------

/// Named figures and their units, written as one flat JSON object (plus a `units` map).
#[derive(Debug, Default)]
struct Results {
    figures: BTreeMap<String, f64>,
    units: BTreeMap<String, &'static str>,
}

impl Results {
    fn put(&mut self, name: &str, value: f64, unit: &'static str) {
        println!("  {name} = {value:.3} {unit}");
        self.figures.insert(name.to_owned(), value);
        self.units.insert(name.to_owned(), unit);
    }

    fn write(&self) -> std::io::Result<PathBuf> {
        let path = std::env::var_os("CXKIT_BENCH_OUT")
            .map(PathBuf::from)
            .unwrap_or_else(|| target_dir().join("cxkit-bench/results.json"));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // A run of some phases only updates their figures in the earlier run's file.
        let mut object = serde_json::Map::new();
        let mut units = serde_json::Map::new();
        if std::env::var_os("CXKIT_BENCH_PHASES").is_some()
            && let Ok(text) = std::fs::read_to_string(&path)
            && let Ok(serde_json::Value::Object(mut earlier)) = serde_json::from_str(&text)
        {
            if let Some(serde_json::Value::Object(u)) = earlier.remove("units") {
                units = u;
            }
            object = earlier;
        }
        for (name, unit) in &self.units {
            units.insert(name.clone(), serde_json::json!(unit));
        }
        for (name, value) in &self.figures {
            object.insert(name.clone(), serde_json::json!(value));
        }
        object.insert("units".into(), serde_json::Value::Object(units));
        let text = serde_json::to_string_pretty(&serde_json::Value::Object(object))?;
        std::fs::write(&path, text + "\n")?;
        Ok(path)
    }
}

/// Cargo's target directory: `$CARGO_TARGET_DIR`, else the first ancestor of this binary that
/// cargo marked with `CACHEDIR.TAG`, else `<workspace>/target`.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.ancestors()
                .find(|dir| dir.join("CACHEDIR.TAG").is_file())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")))
}

fn median(values: &mut [f64]) -> f64 {
    assert!(!values.is_empty(), "no samples");
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

fn nanos(d: Duration) -> f64 {
    d.as_secs_f64() * 1e9
}

/// Heap growth over a phase: `HEAP`'s peak since [`HeapWatch::start`], minus what was in use
/// then.
struct HeapWatch {
    baseline: usize,
}

impl HeapWatch {
    fn start() -> HeapWatch {
        HEAP.reset_peak_usage();
        HeapWatch {
            baseline: HEAP.current_usage(),
        }
    }

    fn peak_growth(&self) -> usize {
        HEAP.peak_usage().saturating_sub(self.baseline)
    }
}

// ---- the servers ----------------------------------------------------------------------------

#[derive(Debug)]
struct PlatformState {
    /// Added before answering GET /api/v2/users/me, in microseconds.
    latency_us: AtomicU64,
    /// How many `assistant_stream` frames the SSE endpoint sends before `end`.
    sse_frames: AtomicU64,
    /// [`FRAMES_PER_CHUNK`] frames, built once so that serving allocates nothing per chunk.
    sse_chunk: Bytes,
    /// When non-zero, the SSE endpoint sends one `assistant_stream` event whose delta is this
    /// many bytes (one line), then `end`, instead of `sse_frames` frames.
    sse_line_bytes: AtomicU64,
    /// Upload body bytes received by the last upload.
    received: AtomicU64,
}

fn frame() -> String {
    format!("data: {{\"step\":\"assistant_stream\",\"delta\":\"{DELTA}\"}}\n\n")
}

async fn current_user(State(state): State<Arc<PlatformState>>) -> Response {
    let latency = state.latency_us.load(Ordering::Relaxed);
    if latency > 0 {
        tokio::time::sleep(Duration::from_micros(latency)).await;
    }
    ([(header::CONTENT_TYPE, "application/json")], USER_JSON).into_response()
}

async fn stream_answer(State(state): State<Arc<PlatformState>>) -> Response {
    let line = state.sse_line_bytes.load(Ordering::Relaxed) as usize;
    if line > 0 {
        // One line in 64 KiB chunks, as a server streaming a long delta would send it.
        let block = Bytes::from(vec![b'a'; 64 * 1024]);
        let head = Bytes::from_static(b"data: {\"step\":\"assistant_stream\",\"delta\":\"");
        let chunks = std::iter::once(head)
            .chain(std::iter::repeat_n(block.clone(), line / block.len()))
            .chain(std::iter::once(block.slice(..line % block.len())))
            .chain(std::iter::once(Bytes::from_static(b"\"}\n\n")))
            .chain(std::iter::once(Bytes::from_static(END_FRAME.as_bytes())))
            .map(Ok::<_, Infallible>);
        return Response::builder()
            .header(header::CONTENT_TYPE, "text/event-stream")
            .body(Body::from_stream(futures::stream::iter(chunks)))
            .expect("a valid response");
    }
    let frames = state.sse_frames.load(Ordering::Relaxed) as usize;
    let frame_len = state.sse_chunk.len() / FRAMES_PER_CHUNK;
    let full = frames / FRAMES_PER_CHUNK;
    let rest = state
        .sse_chunk
        .slice(..(frames % FRAMES_PER_CHUNK) * frame_len);
    let chunk = state.sse_chunk.clone();
    let chunks = std::iter::repeat_n(chunk, full)
        .chain((!rest.is_empty()).then_some(rest))
        .chain(std::iter::once(Bytes::from_static(END_FRAME.as_bytes())))
        .map(Ok::<_, Infallible>);
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(futures::stream::iter(chunks)))
        .expect("a valid response")
}

async fn upload(State(state): State<Arc<PlatformState>>, body: Body) -> Response {
    let mut data = body.into_data_stream();
    let mut n = 0u64;
    while let Some(chunk) = data.next().await {
        match chunk {
            Ok(chunk) => n += chunk.len() as u64,
            Err(_) => return (axum::http::StatusCode::BAD_REQUEST, "broken body").into_response(),
        }
    }
    state.received.store(n, Ordering::Relaxed);
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"success":true,"data":{"id":42,"name":"bench-upload.bin","corpus":7}}"#,
    )
        .into_response()
}

/// The fake Authentication App (login, refresh) and a minimal platform, in a runtime of their
/// own so that the client under test has its own thread(s).
struct Servers {
    fake: Option<FakeEjento>,
    platform_url: String,
    platform: Arc<PlatformState>,
    platform_task: Option<JoinHandle<()>>,
    runtime: Option<Runtime>,
}

impl Servers {
    fn start(workers: usize) -> Servers {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("bench-server")
            .enable_all()
            .build()
            .expect("a server runtime");
        let chunk = frame().repeat(FRAMES_PER_CHUNK);
        let platform = Arc::new(PlatformState {
            latency_us: AtomicU64::new(0),
            sse_frames: AtomicU64::new(0),
            sse_chunk: Bytes::from(chunk),
            sse_line_bytes: AtomicU64::new(0),
            received: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/api/v2/users/me", get(current_user))
            .route(
                "/response-service/api/v2/agents/{id}/responses/stream",
                post(stream_answer),
            )
            .route(
                "/indexing-service/api/v2/corpora/{id}/documents",
                post(upload),
            )
            .with_state(platform.clone());
        let (fake, platform_url, task) = runtime.block_on(async move {
            let fake = FakeEjento::start().await;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind a loopback port");
            let url = format!("http://{}", listener.local_addr().expect("local address"));
            let task = tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            (fake, url, task)
        });
        Servers {
            fake: Some(fake),
            platform_url,
            platform,
            platform_task: Some(task),
            runtime: Some(runtime),
        }
    }

    fn fake(&self) -> &FakeEjento {
        self.fake.as_ref().expect("the fake runs until drop")
    }

    /// A session against these servers, logged in as [`USER`] (run inside the client runtime).
    async fn session(&self, clock: Arc<dyn Clock>) -> Ejento {
        self.session_with(clock, HttpConfig::default()).await
    }

    /// [`Servers::session`] with its own HTTP configuration.
    async fn session_with(&self, clock: Arc<dyn Clock>, http: HttpConfig) -> Ejento {
        let ejento = Ejento::builder()
            .config(
                &cxkit::Config::builder()
                    .http(http)
                    .clock(clock)
                    .refresh(RefreshConfig::default().without_jitter())
                    .build()
                    .expect("config"),
            )
            .auth_base_url(self.fake().base_url())
            .platform_base_url(&self.platform_url)
            .build()
            .expect("build the session");
        login(ejento).await
    }
}

/// Logs `ejento` in as [`USER`].
async fn login(ejento: Ejento) -> Ejento {
    ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .expect("log in");
    ejento
}

impl Drop for Servers {
    fn drop(&mut self) {
        drop(self.fake.take());
        if let Some(task) = self.platform_task.take() {
            task.abort();
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn client_runtime(workers: Option<usize>) -> Runtime {
    match workers {
        None => tokio::runtime::Builder::new_current_thread(),
        Some(n) => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n);
            b
        }
    }
    .enable_all()
    .build()
    .expect("a client runtime")
}

// ---- (a) per-request overhead ---------------------------------------------------------------

async fn facade_call(ejento: &Ejento) -> UserEnvelope {
    ejento
        .platform()
        .get_current_user()
        .send()
        .await
        .expect("the facade call succeeds")
        .into_inner()
}

/// The per-iteration time of each criterion sample, in ns (warm-up runs included; the
/// measured samples are the last [`SAMPLE_SIZE`]).
type Samples = Arc<Mutex<Vec<f64>>>;

fn measured(samples: &Samples) -> Vec<f64> {
    let all = samples.lock().unwrap_or_else(|e| e.into_inner());
    all[all.len().saturating_sub(SAMPLE_SIZE)..].to_vec()
}

fn per_request(c: &mut Criterion, out: &mut Results, scale: Scale) {
    println!("per request: facade vs bare reqwest, GET /api/v2/users/me on loopback");
    let servers = Servers::start(1);
    let rt = client_runtime(None);
    let ejento = rt.block_on(servers.session(Arc::new(SystemClock)));
    let bearer = ejento
        .token_cache()
        .peek()
        .and_then(|t| t.get(EJENTO_TOKEN).map(|s| s.expose().to_owned()))
        .expect("the session holds an Ejento token");
    let bare = bare_client();
    let url = format!("{}/api/v2/users/me", servers.platform_url);
    let (via_facade, via_bare) = rt.block_on(async {
        (
            facade_call(&ejento).await,
            bare_call(&bare, &url, &bearer).await,
        )
    });
    assert_eq!(via_facade, via_bare, "both paths decode the same answer");
    assert_eq!(via_facade.data.and_then(|u| u.id), Some(1));

    let bare_samples = Samples::default();
    let facade_samples = Samples::default();
    let mut group = c.benchmark_group("per_request");
    group.bench_function("bare_reqwest", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let (bare, url, bearer, samples) = (&bare, &url, &bearer, &bare_samples);
            async move {
                let started = Instant::now();
                for _ in 0..iters {
                    std::hint::black_box(bare_call(bare, url, bearer).await);
                }
                let elapsed = started.elapsed();
                samples
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(nanos(elapsed) / iters as f64);
                elapsed
            }
        });
    });
    group.bench_function("facade", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let (ejento, samples) = (&ejento, &facade_samples);
            async move {
                let started = Instant::now();
                for _ in 0..iters {
                    std::hint::black_box(facade_call(ejento).await);
                }
                let elapsed = started.elapsed();
                samples
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(nanos(elapsed) / iters as f64);
                elapsed
            }
        });
    });
    group.finish();

    // A criterion filter may have skipped one of the two.
    let (mut bare_times, mut facade_times) = (measured(&bare_samples), measured(&facade_samples));
    if !bare_times.is_empty() && !facade_times.is_empty() {
        let bare_median = median(&mut bare_times);
        let facade_median = median(&mut facade_times);
        out.put("per_request_bare_median_ns", bare_median, "ns");
        out.put("per_request_facade_median_ns", facade_median, "ns");
        out.put(
            "per_request_overhead_pct",
            (facade_median - bare_median) / bare_median * 100.0,
            "%",
        );
        out.put("per_request_overhead_ns", facade_median - bare_median, "ns");
    }

    // A cross-check that drift between criterion's two runs cannot bias: alternate blocks of
    // bare and facade calls (in alternating order) and take the median of the per-round ratios.
    // The client runs on this one thread (a current-thread runtime), so its CPU time per call
    // is the client's own cost, free of the wake-up latency that dominates a loopback round
    // trip.
    let (rounds, block) = if scale.full { (120, 400) } else { (2, 5) };
    let mut ratios = Vec::new();
    let (mut bare_cpu, mut facade_cpu) = (Vec::new(), Vec::new());
    rt.block_on(async {
        for round in 0..rounds {
            let mut bare_time = Duration::ZERO;
            let mut facade_time = Duration::ZERO;
            for facade_first in [round % 2 == 0, round % 2 == 1] {
                let started = Instant::now();
                let cpu = thread_cpu_ns();
                if facade_first {
                    for _ in 0..block {
                        std::hint::black_box(facade_call(&ejento).await);
                    }
                    facade_time += started.elapsed();
                    if let (Some(a), Some(b)) = (cpu, thread_cpu_ns()) {
                        facade_cpu.push((b - a) as f64 / block as f64);
                    }
                } else {
                    for _ in 0..block {
                        std::hint::black_box(bare_call(&bare, &url, &bearer).await);
                    }
                    bare_time += started.elapsed();
                    if let (Some(a), Some(b)) = (cpu, thread_cpu_ns()) {
                        bare_cpu.push((b - a) as f64 / block as f64);
                    }
                }
            }
            ratios.push(facade_time.as_secs_f64() / bare_time.as_secs_f64());
        }
    });
    out.put(
        "per_request_paired_overhead_pct",
        (median(&mut ratios) - 1.0) * 100.0,
        "%",
    );
    if !bare_cpu.is_empty() && !facade_cpu.is_empty() {
        // Each round's facade block minus its bare block: drift in the machine's speed between
        // rounds cancels out of the difference.
        let mut differences: Vec<f64> = facade_cpu
            .iter()
            .zip(&bare_cpu)
            .map(|(facade, bare)| facade - bare)
            .collect();
        out.put(
            "per_request_client_cpu_overhead_ns",
            median(&mut differences),
            "ns",
        );
        out.put(
            "per_request_bare_client_cpu_ns",
            median(&mut bare_cpu),
            "ns",
        );
        out.put(
            "per_request_facade_client_cpu_ns",
            median(&mut facade_cpu),
            "ns",
        );
    }
}

/// CPU time this thread has used, from `clock_gettime(CLOCK_THREAD_CPUTIME_ID)` (`None` off
/// Unix). Not `/proc/thread-self/schedstat`: the kernel brings that figure up to date only at a
/// tick or a context switch, so a thread that runs on without blocking reads it in steps of a
/// whole tick (4 ms here, 10 µs per call in a block of 400).
fn thread_cpu_ns() -> Option<u64> {
    #[cfg(unix)]
    {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        u64::try_from(now.tv_sec)
            .ok()?
            .checked_mul(1_000_000_000)?
            .checked_add(u64::try_from(now.tv_nsec).ok()?)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

// ---- (b) the herd across expiry -------------------------------------------------------------

/// Fires `n` concurrent `get_current_user` calls; returns the wall time until all succeeded,
/// and when the session published new tokens (if it did).
async fn herd_once(ejento: &Ejento, n: usize) -> (Duration, Option<Duration>) {
    let mut updates = ejento.subscribe();
    updates.borrow_and_update();
    let started = Instant::now();
    let refreshed = tokio::spawn(async move {
        updates.changed().await.ok()?;
        Some(started.elapsed())
    });
    let calls: Vec<_> = (0..n)
        .map(|_| {
            let ejento = ejento.clone();
            tokio::spawn(async move {
                ejento
                    .platform()
                    .get_current_user()
                    .send()
                    .await
                    .map(|_| ())
            })
        })
        .collect();
    for result in futures::future::join_all(calls).await {
        result
            .expect("the caller ran")
            .expect("the caller's call succeeded");
    }
    let elapsed = started.elapsed();
    refreshed.abort();
    (elapsed, refreshed.await.ok().flatten())
}

fn herd(out: &mut Results, scale: Scale, latency: Duration, prefix: &str) {
    println!(
        "herd ({prefix}): {} concurrent callers across expiry, {} ms added server latency",
        scale.herd_callers,
        latency.as_millis()
    );
    let servers = Servers::start(2);
    servers.fake().delay_refreshes(latency);
    servers
        .platform
        .latency_us
        .store(latency.as_micros() as u64, Ordering::Relaxed);
    let rt = client_runtime(Some(2));
    let clock = Arc::new(ManualClock::new(
        UNIX_EPOCH + Duration::from_secs(1_800_000_000),
    ));
    let n = scale.herd_callers;
    let (single, fresh, across, refreshes, refreshed_at) = rt.block_on(async {
        let ejento = servers.session(clock.clone()).await;
        // Warm up: open the connections the herd will reuse.
        facade_call(&ejento).await;
        herd_once(&ejento, n).await;

        let mut single = Vec::new();
        for _ in 0..scale.single_calls {
            let started = Instant::now();
            facade_call(&ejento).await;
            single.push(nanos(started.elapsed()));
        }
        let mut fresh = Vec::new();
        for _ in 0..scale.herd_runs {
            fresh.push(nanos(herd_once(&ejento, n).await.0));
        }
        assert_eq!(ejento.token_cache().refresh_count(), 0, "no refresh yet");
        let mut across = Vec::new();
        let mut refreshes = Vec::new();
        let mut refreshed_at = Vec::new();
        for _ in 0..scale.herd_runs {
            // Past expiry, not just past the refresh point: every caller needs new tokens.
            clock.advance(LIFETIME + Duration::from_secs(60));
            let before = (
                ejento.token_cache().refresh_count(),
                servers.fake().refresh_calls(),
            );
            let (total, refreshed) = herd_once(&ejento, n).await;
            across.push(nanos(total));
            refreshed_at.push(nanos(refreshed.expect("the herd refreshed the session")));
            let by_cache = ejento.token_cache().refresh_count() - before.0;
            let by_server = (servers.fake().refresh_calls() - before.1) as u64;
            assert_eq!(by_cache, by_server, "the cache counts what the server saw");
            refreshes.push(by_cache);
        }
        (single, fresh, across, refreshes, refreshed_at)
    });
    let (mut single, mut fresh, mut across, mut refreshed_at) =
        (single, fresh, across, refreshed_at);
    let single = median(&mut single);
    let fresh = median(&mut fresh);
    let across = median(&mut across);
    out.put(
        &format!("{prefix}_latency_ms"),
        latency.as_secs_f64() * 1e3,
        "ms",
    );
    out.put(&format!("{prefix}_callers"), n as f64, "callers");
    out.put(&format!("{prefix}_single_call_ns"), single, "ns");
    out.put(&format!("{prefix}_fresh_herd_ns"), fresh, "ns");
    let refresh_done = median(&mut refreshed_at);
    out.put(&format!("{prefix}_across_expiry_ns"), across, "ns");
    out.put(&format!("{prefix}_refresh_done_ns"), refresh_done, "ns");
    out.put(&format!("{prefix}_ratio_vs_single"), across / single, "x");
    // What a perfect single flight would take: the refresh, then a herd with fresh tokens.
    out.put(
        &format!("{prefix}_floor_ratio_vs_single"),
        (refresh_done + fresh) / single,
        "x",
    );
    out.put(
        &format!("{prefix}_excess_over_floor_ns"),
        across - refresh_done - fresh,
        "ns",
    );
    out.put(
        &format!("{prefix}_ratio_vs_fresh_herd"),
        across / fresh,
        "x",
    );
    out.put(
        &format!("{prefix}_refreshes_min"),
        refreshes.iter().copied().min().unwrap_or(0) as f64,
        "refreshes per herd",
    );
    out.put(
        &format!("{prefix}_refreshes_max"),
        refreshes.iter().copied().max().unwrap_or(0) as f64,
        "refreshes per herd",
    );
    assert!(
        refreshes.iter().all(|&r| r == 1),
        "every herd across expiry refreshes exactly once: {refreshes:?}"
    );
}

// ---- (c) SSE throughput and memory ----------------------------------------------------------

fn sse(out: &mut Results, scale: Scale) {
    let frames = scale.sse_frames;
    let body_bytes = frames * frame().len() + END_FRAME.len();
    println!(
        "sse: {frames} frames + end, {:.1} MB, through stream_agent_response",
        body_bytes as f64 / 1e6
    );
    let servers = Servers::start(1);
    servers
        .platform
        .sse_frames
        .store(frames as u64, Ordering::Relaxed);
    let rt = client_runtime(None);
    let request: AgentResponseRequest =
        serde_json::from_value(serde_json::json!({"user_query": "benchmark"}))
            .expect("a request body");
    let ejento = rt.block_on(servers.session(Arc::new(SystemClock)));
    let mut seconds = Vec::new();
    let mut peaks = Vec::new();
    for _ in 0..scale.sse_runs {
        let watch = HeapWatch::start();
        let (elapsed, events, deltas) = rt.block_on(async {
            let started = Instant::now();
            let mut stream = ejento
                .stream_agent_response(1, &request)
                .await
                .expect("the stream opens");
            let (mut events, mut deltas, mut ended) = (0usize, 0usize, false);
            while let Some(event) = stream.next().await {
                events += 1;
                match event.expect("a well-formed event") {
                    StreamEvent::AnswerDelta(delta) => deltas += delta.len(),
                    StreamEvent::End { success, .. } => ended = success,
                    other => panic!("unexpected event {other:?}"),
                }
            }
            assert!(ended, "the stream ended with a successful `end`");
            (started.elapsed(), events, deltas)
        });
        peaks.push(watch.peak_growth() as f64);
        assert_eq!(events, frames + 1);
        assert_eq!(deltas, frames * DELTA.len());
        seconds.push(elapsed.as_secs_f64());
    }
    let secs = median(&mut seconds);
    out.put("sse_frames", frames as f64, "frames");
    out.put("sse_body_bytes", body_bytes as f64, "bytes");
    out.put("sse_events_per_s", (frames + 1) as f64 / secs, "events/s");
    out.put("sse_mb_per_s", body_bytes as f64 / 1e6 / secs, "MB/s");
    out.put(
        "sse_peak_heap_bytes",
        peaks.iter().copied().fold(0.0, f64::max),
        "bytes",
    );
}

/// One event of `scale.sse_line_bytes` bytes on one line: the parser's cost per byte when a
/// line spans many chunks.
fn sse_long_line(out: &mut Results, scale: Scale) {
    let bytes = scale.sse_line_bytes;
    println!("sse: one {bytes}-byte single-line event through stream_agent_response");
    let servers = Servers::start(1);
    servers
        .platform
        .sse_line_bytes
        .store(bytes as u64, Ordering::Relaxed);
    let rt = client_runtime(None);
    let request: AgentResponseRequest =
        serde_json::from_value(serde_json::json!({"user_query": "benchmark"}))
            .expect("a request body");
    let http = HttpConfig {
        max_event_bytes: 2 * bytes as u64,
        ..HttpConfig::default()
    };
    let ejento = rt.block_on(servers.session_with(Arc::new(SystemClock), http));
    let mut seconds = Vec::new();
    for _ in 0..scale.sse_runs {
        let elapsed = rt.block_on(async {
            let started = Instant::now();
            let mut stream = ejento
                .stream_agent_response(1, &request)
                .await
                .expect("the stream opens");
            let mut delta = 0;
            while let Some(event) = stream.next().await {
                if let StreamEvent::AnswerDelta(d) = event.expect("a well-formed event") {
                    delta += d.len();
                }
            }
            assert_eq!(delta, bytes, "the whole line arrived as one delta");
            started.elapsed()
        });
        seconds.push(elapsed.as_secs_f64());
    }
    let secs = median(&mut seconds);
    out.put("sse_line_bytes", bytes as f64, "bytes");
    out.put("sse_line_seconds", secs, "s");
    out.put("sse_line_mb_per_s", bytes as f64 / 1e6 / secs, "MB/s");
}

// ---- (c2) the SSE parser alone, and parse + decode in memory --------------------------------

/// The body the SSE server sends for `frames` frames, in the chunks it writes them in.
fn sse_body(frames: usize) -> Vec<Bytes> {
    let chunk = Bytes::from(frame().repeat(FRAMES_PER_CHUNK));
    let frame_len = chunk.len() / FRAMES_PER_CHUNK;
    let mut body = vec![chunk.clone(); frames / FRAMES_PER_CHUNK];
    if !frames.is_multiple_of(FRAMES_PER_CHUNK) {
        body.push(chunk.slice(..(frames % FRAMES_PER_CHUNK) * frame_len));
    }
    body.push(Bytes::from_static(END_FRAME.as_bytes()));
    body
}

/// Every event's data of `body`, through the raw parser: how many events, and their bytes.
fn parse_body(parser: &mut SseParser, body: &[Bytes]) -> (usize, usize) {
    let (mut events, mut bytes) = (0, 0);
    for chunk in body {
        parser.push(chunk);
        while let Some(data) = parser.next_data() {
            let data = data.expect("a well-formed event");
            bytes += std::hint::black_box(&data).len();
            events += 1;
        }
    }
    (events, bytes)
}

/// Every event of `body` through `AnswerStream::from_bytes` (parse and JSON decode, no HTTP).
async fn decode_body(body: &[Bytes]) -> usize {
    let chunks: Vec<Result<Bytes, Infallible>> = body.iter().cloned().map(Ok).collect();
    let mut stream = AnswerStream::from_bytes(futures::stream::iter(chunks));
    let mut events = 0;
    while let Some(event) = stream.next().await {
        std::hint::black_box(event.expect("a well-formed event"));
        events += 1;
    }
    events
}

/// Criterion: the `text/event-stream` parser alone on the SSE phase's body (its frames, in its
/// chunks), then parse + JSON decode through `AnswerStream::from_bytes` in memory. Figures are
/// per event, from the benchmark thread's CPU clock (one core, whatever else the machine runs)
/// and from the wall clock.
fn sse_parser(c: &mut Criterion, out: &mut Results, scale: Scale) {
    let frames = if scale.full { 10_000 } else { 1000 };
    let body = sse_body(frames);
    let events = frames + 1;
    println!("sse parser: {frames} frames + end, in memory, parser alone and parse + decode");
    let max = HttpConfig::default().max_event_bytes;
    assert_eq!(parse_body(&mut SseParser::new(max), &body).0, events);
    let rt = client_runtime(None);
    assert_eq!(rt.block_on(decode_body(&body)), events);

    let (parser_wall, parser_cpu) = (Samples::default(), Samples::default());
    let (decode_wall, decode_cpu) = (Samples::default(), Samples::default());
    let per_event = |samples: &Samples, total_ns: f64, iters: u64| {
        samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(total_ns / (iters as f64 * events as f64));
    };
    let mut group = c.benchmark_group("sse_parser");
    group.throughput(criterion::Throughput::Elements(events as u64));
    group.bench_function("parser_alone", |b| {
        let mut parser = SseParser::new(max);
        b.iter_custom(|iters| {
            let (started, cpu) = (Instant::now(), thread_cpu_ns());
            for _ in 0..iters {
                std::hint::black_box(parse_body(&mut parser, &body));
            }
            let elapsed = started.elapsed();
            if let (Some(before), Some(after)) = (cpu, thread_cpu_ns()) {
                per_event(&parser_cpu, (after - before) as f64, iters);
            }
            per_event(&parser_wall, nanos(elapsed), iters);
            elapsed
        });
    });
    group.bench_function("parse_and_decode", |b| {
        b.iter_custom(|iters| {
            let (started, cpu) = (Instant::now(), thread_cpu_ns());
            for _ in 0..iters {
                std::hint::black_box(rt.block_on(decode_body(&body)));
            }
            let elapsed = started.elapsed();
            if let (Some(before), Some(after)) = (cpu, thread_cpu_ns()) {
                per_event(&decode_cpu, (after - before) as f64, iters);
            }
            per_event(&decode_wall, nanos(elapsed), iters);
            elapsed
        });
    });
    group.finish();

    for (name, wall, cpu) in [
        ("sse_parser", &parser_wall, &parser_cpu),
        ("sse_decode", &decode_wall, &decode_cpu),
    ] {
        let (mut wall, mut cpu) = (measured(wall), measured(cpu));
        if !wall.is_empty() {
            let ns = median(&mut wall);
            out.put(&format!("{name}_wall_ns_per_event"), ns, "ns");
            out.put(&format!("{name}_wall_events_per_s"), 1e9 / ns, "events/s");
        }
        if !cpu.is_empty() {
            let ns = median(&mut cpu);
            out.put(&format!("{name}_cpu_ns_per_event"), ns, "ns");
            out.put(&format!("{name}_events_per_s"), 1e9 / ns, "events/s");
        }
    }
}

// ---- (d) upload throughput and memory -------------------------------------------------------

fn write_file(path: &std::path::Path, size: u64) {
    use std::io::Write as _;
    let block: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create the file"));
    let mut left = size;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        file.write_all(&block[..n]).expect("write the file");
        left -= n as u64;
    }
    file.flush().expect("flush the file");
}

fn upload_phase(out: &mut Results, scale: Scale) {
    let size = scale.upload_bytes;
    println!("upload: a {} MiB file through upload_document", size >> 20);
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("bench-upload.bin");
    write_file(&path, size);
    let servers = Servers::start(1);
    let rt = client_runtime(None);
    let ejento = rt.block_on(servers.session(Arc::new(SystemClock)));
    let mut seconds = Vec::new();
    let mut peaks = Vec::new();
    let mut received = 0;
    for _ in 0..scale.upload_runs {
        servers.platform.received.store(0, Ordering::Relaxed);
        let watch = HeapWatch::start();
        let elapsed = rt.block_on(async {
            let started = Instant::now();
            let upload = DocumentUpload::from_path(&path)
                .await
                .expect("open the file");
            let answer = ejento
                .upload_document(7, upload)
                .await
                .expect("the upload succeeds");
            assert_eq!(answer.data.and_then(|d| d.id), Some(42));
            started.elapsed()
        });
        peaks.push(watch.peak_growth() as f64);
        received = servers.platform.received.load(Ordering::Relaxed);
        assert!(
            received >= size,
            "the server got {received} bytes of a {size}-byte file"
        );
        seconds.push(elapsed.as_secs_f64());
    }
    let secs = median(&mut seconds);
    out.put("upload_file_bytes", size as f64, "bytes");
    out.put("upload_received_bytes", received as f64, "bytes");
    out.put("upload_mb_per_s", size as f64 / 1e6 / secs, "MB/s");
    out.put(
        "upload_peak_heap_bytes",
        peaks.iter().copied().fold(0.0, f64::max),
        "bytes",
    );
}

// ---- main -----------------------------------------------------------------------------------

fn main() {
    let scale = Scale::from_args();
    let started = SystemTime::now();
    let mut out = Results::default();
    let mut criterion = Criterion::default()
        .sample_size(SAMPLE_SIZE)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8))
        .without_plots()
        .configure_from_args();

    if std::env::var_os(store::CHILD).is_some() {
        store::child();
        return;
    }
    let phases = std::env::var("CXKIT_BENCH_PHASES").ok();
    let runs = |phase: &str| {
        phases
            .as_deref()
            .is_none_or(|p| p.split(',').any(|p| p.trim() == phase))
    };
    if runs("per_request") {
        per_request(&mut criterion, &mut out, scale);
    }
    if runs("herd") {
        herd(&mut out, scale, Duration::ZERO, "herd_loopback");
        herd(&mut out, scale, scale.simulated_latency, "herd_latency");
    }
    if runs("sse") {
        sse(&mut out, scale);
        sse_long_line(&mut out, scale);
    }
    if runs("sse_parser") {
        sse_parser(&mut criterion, &mut out, scale);
    }
    if runs("upload") {
        upload_phase(&mut out, scale);
    }
    if runs("store") {
        store::cached_call(&mut criterion, &mut out);
        store::fleet_herd(&mut out, scale);
    }
    criterion.final_summary();

    let took = started.elapsed().unwrap_or_default();
    if scale.full {
        // The wall time of a run of some phases is not the whole benchmark's.
        if phases.is_none() {
            out.put("bench_wall_s", took.as_secs_f64(), "s");
        }
        match out.write() {
            Ok(path) => println!("wrote {}", path.display()),
            Err(e) => {
                eprintln!("cannot write the results: {e}");
                std::process::exit(1);
            }
        }
    } else {
        println!("facade benchmarks: every phase ran at test scale in {took:.1?}");
    }
}

// ---- (e) the Redis token store ----------------------------------------------------------------

mod store {
    use std::io::{BufRead as _, BufReader, Write as _};
    use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

    use cxkit::RedisTokenStore;
    use cxkit_testkit::redis_server::RedisServer;

    use super::*;

    /// Set in the herd's child processes.
    pub const CHILD: &str = "CXKIT_BENCH_CHILD";
    const AUTH_URL: &str = "CXKIT_BENCH_AUTH_URL";
    const PLATFORM_URL: &str = "CXKIT_BENCH_PLATFORM_URL";
    const REDIS_URL: &str = "CXKIT_BENCH_REDIS_URL";
    const CALLERS: &str = "CXKIT_BENCH_CALLERS";
    const PROCESSES: usize = 4;
    /// Every process's clock starts here (the login's time), as in the in-process herd.
    const T0_SECS: u64 = 1_800_000_000;

    fn redis_store(url: &str) -> RedisTokenStore {
        RedisTokenStore::builder(&Secret::new(url))
            .build()
            .expect("a loopback Redis URL")
    }

    /// A session named `bench` in the Redis store at `redis_url`, not logged in.
    fn session(auth: &str, platform: &str, redis_url: &str, clock: Arc<dyn Clock>) -> Ejento {
        let config = cxkit::Config::builder()
            .store(redis_store(redis_url))
            .clock(clock)
            .refresh(RefreshConfig::default().without_jitter())
            .build()
            .expect("config");
        Ejento::builder()
            .config(&config)
            .auth_base_url(auth)
            .platform_base_url(platform)
            .session_name("bench")
            .build()
            .expect("build the session")
    }

    /// Criterion: the same cached-token call through a memory-store session and a Redis-store
    /// session (tokens logged in through the store, so the cache holds them).
    pub fn cached_call(c: &mut Criterion, out: &mut Results) {
        println!("store: the cached-token path with the memory store vs the Redis store");
        let redis = RedisServer::start();
        let servers = Servers::start(1);
        let rt = client_runtime(None);
        let (memory, in_redis) = rt.block_on(async {
            let memory = servers.session(Arc::new(SystemClock)).await;
            let in_redis = login(session(
                servers.fake().base_url(),
                &servers.platform_url,
                &redis.url(),
                Arc::new(SystemClock),
            ))
            .await;
            facade_call(&memory).await;
            facade_call(&in_redis).await;
            (memory, in_redis)
        });
        let samples = [Samples::default(), Samples::default()];
        let before = redis.commands_processed();
        let calls = Arc::new(AtomicU64::new(0));
        let mut group = c.benchmark_group("store_cached");
        for ((name, ejento), samples) in [("memory", &memory), ("redis", &in_redis)]
            .into_iter()
            .zip(&samples)
        {
            group.bench_function(name, |b| {
                b.to_async(&rt).iter_custom(|iters| {
                    let calls = calls.clone();
                    async move {
                        let started = Instant::now();
                        for _ in 0..iters {
                            std::hint::black_box(facade_call(ejento).await);
                        }
                        if name == "redis" {
                            calls.fetch_add(iters, Ordering::Relaxed);
                        }
                        let elapsed = started.elapsed();
                        samples
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(nanos(elapsed) / iters as f64);
                        elapsed
                    }
                });
            });
        }
        group.finish();
        // The INFO call itself is one command.
        let sent = redis.commands_processed() - before - 1;
        let (mut m, mut r) = (measured(&samples[0]), measured(&samples[1]));
        if !m.is_empty() && !r.is_empty() {
            let (m, r) = (median(&mut m), median(&mut r));
            out.put("store_cached_memory_median_ns", m, "ns");
            out.put("store_cached_redis_median_ns", r, "ns");
            out.put("store_cached_redis_overhead_pct", (r - m) / m * 100.0, "%");
        }
        let calls = calls.load(Ordering::Relaxed);
        if calls > 0 {
            out.put(
                "store_cached_redis_commands_per_call",
                sent as f64 / calls as f64,
                "commands",
            );
        }
    }

    /// One child of the herd, driven over its stdin and stdout.
    struct Process {
        child: Child,
        input: ChildStdin,
        output: BufReader<ChildStdout>,
    }

    impl Process {
        fn spawn(servers: &Servers, redis: &RedisServer, callers: usize) -> Process {
            let mut child = Command::new(std::env::current_exe().expect("this binary"))
                .env(CHILD, "1")
                .env(AUTH_URL, servers.fake().base_url())
                .env(PLATFORM_URL, &servers.platform_url)
                .env(REDIS_URL, redis.url())
                .env(CALLERS, callers.to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("spawn a herd process");
            let input = child.stdin.take().expect("piped");
            let output = BufReader::new(child.stdout.take().expect("piped"));
            Process {
                child,
                input,
                output,
            }
        }

        fn send(&mut self, line: &str) {
            writeln!(self.input, "{line}").expect("the herd process listens");
            self.input.flush().expect("the herd process listens");
        }

        /// The next answer: the herd's wall time in ns.
        fn answer(&mut self) -> f64 {
            let mut line = String::new();
            self.output
                .read_line(&mut line)
                .expect("the herd process answers");
            line.trim()
                .strip_prefix("done ")
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("the herd process failed: {line:?}"))
        }
    }

    /// The child: adopts the session from Redis, then runs one herd per command (`fresh`, or
    /// `at SECS` to move its clock first) and answers `done NANOS`.
    pub fn child() {
        let var = |name: &str| std::env::var(name).expect("set by the parent");
        let callers: usize = var(CALLERS).parse().expect("a number");
        let clock = Arc::new(ManualClock::new(
            UNIX_EPOCH + Duration::from_secs(T0_SECS + 60),
        ));
        let rt = client_runtime(Some(1));
        let ejento = session(
            &var(AUTH_URL),
            &var(PLATFORM_URL),
            &var(REDIS_URL),
            clock.clone(),
        );
        rt.block_on(facade_call(&ejento));
        println!("done 0");
        for line in std::io::stdin().lines() {
            let line = line.expect("a command");
            if let Some(secs) = line.strip_prefix("at ") {
                let secs: u64 = secs.parse().expect("seconds");
                clock.set(UNIX_EPOCH + Duration::from_secs(secs));
            }
            let (took, _) = rt.block_on(herd_once(&ejento, callers));
            println!("done {}", nanos(took));
        }
    }

    /// 4 processes × (callers / 4) concurrent calls sharing one session through Redis: with
    /// fresh tokens, and across expiry (one refresh for the fleet).
    pub fn fleet_herd(out: &mut Results, scale: Scale) {
        let per_process = (scale.herd_callers / PROCESSES).max(1);
        println!(
            "store: a herd of {PROCESSES} processes × {per_process} callers sharing one session \
             through Redis, across expiry vs fresh tokens"
        );
        let redis = RedisServer::start();
        let servers = Servers::start(2);
        let rt = client_runtime(None);
        let clock = Arc::new(ManualClock::new(UNIX_EPOCH + Duration::from_secs(T0_SECS)));
        rt.block_on(login(session(
            servers.fake().base_url(),
            &servers.platform_url,
            &redis.url(),
            clock,
        )));
        let mut processes: Vec<Process> = (0..PROCESSES)
            .map(|_| Process::spawn(&servers, &redis, per_process))
            .collect();
        for p in &mut processes {
            p.answer();
        }
        // Each herd's time is its slowest process's.
        let mut round = |command: &str| -> f64 {
            for p in &mut processes {
                p.send(command);
            }
            processes
                .iter_mut()
                .map(Process::answer)
                .fold(0.0, f64::max)
        };
        let mut fresh = Vec::new();
        for _ in 0..scale.herd_runs {
            fresh.push(round("fresh"));
        }
        assert_eq!(servers.fake().refresh_calls(), 0, "no refresh yet");
        let mut across = Vec::new();
        let mut refreshes = Vec::new();
        let mut now = T0_SECS + 60;
        for _ in 0..scale.herd_runs {
            now += LIFETIME.as_secs() + 60;
            let before = servers.fake().refresh_calls();
            across.push(round(&format!("at {now}")));
            refreshes.push(servers.fake().refresh_calls() - before);
        }
        for mut p in processes {
            drop(p.input);
            let _ = p.child.wait();
        }
        let (fresh, across) = (median(&mut fresh), median(&mut across));
        out.put("store_fleet_processes", PROCESSES as f64, "processes");
        out.put(
            "store_fleet_callers",
            (per_process * PROCESSES) as f64,
            "callers",
        );
        out.put("store_fleet_fresh_herd_ns", fresh, "ns");
        out.put("store_fleet_across_expiry_ns", across, "ns");
        out.put("store_fleet_ratio_vs_fresh_herd", across / fresh, "x");
        out.put(
            "store_fleet_refreshes_max",
            refreshes.iter().copied().max().unwrap_or(0) as f64,
            "refreshes per herd",
        );
        out.put(
            "store_fleet_refreshes_min",
            refreshes.iter().copied().min().unwrap_or(0) as f64,
            "refreshes per herd",
        );
        assert!(
            refreshes.iter().all(|&r| r == 1),
            "the fleet refreshes exactly once per expiry: {refreshes:?}"
        );
    }
}
