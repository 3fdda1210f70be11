//! (e) The Redis token store: a cached call's cost, and a fleet of processes across expiry.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, UNIX_EPOCH};

use criterion::Criterion;
use cxkit::{Clock, Ejento, ManualClock, RefreshConfig, Secret, SystemClock};

use crate::calls::facade_call;
use crate::common::*;
use crate::herd::herd_once;
use crate::servers::*;

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use cxkit::RedisTokenStore;
use cxkit_testkit::redis_server::RedisServer;

/// Set in the herd's child processes.
pub(crate) const CHILD: &str = "CXKIT_BENCH_CHILD";
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
pub(crate) fn cached_call(c: &mut Criterion, out: &mut Results) {
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
pub(crate) fn child() {
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
pub(crate) fn fleet_herd(out: &mut Results, scale: Scale) {
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
