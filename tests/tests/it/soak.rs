//! The fault soak: several OS processes share one Ejento session through a `RedisTokenStore`,
//! and several others another session through a `FileTokenStore`, while this harness restarts
//! Redis, kill -9s lock holders in the middle of their refresh, makes store reads fail, logs
//! the sessions out and in, and answers refreshes with 401 (the auth service's own rejection),
//! 403 (a gateway's page) and 503.
//!
//! Invariants, checked and counted:
//!
//! - no logout undone: from a logout until the harness's next login, the store says "logged
//!   out" whenever it is read;
//! - no panic, in any process;
//! - at most one refresh per expiry per store: each Authentication App token authorizes at most
//!   one successful refresh (the fakes record which token each refresh was authorized with),
//!   except a token whose first refresher was killed mid-refresh by the harness;
//! - no secret in any output: no token either fake issued, nor the password, appears in any
//!   process's output (logs at DEBUG, every error printed with `{}` and `{:?}`);
//! - every call answered or failed within its deadline.
//!
//! The run is bounded by `CXKIT_SOAK_SECONDS` (default 15, CI-sized); `cargo xtask soak
//! --seconds N` runs the same harness longer. It ends by printing the counts. Everything listens
//! on loopback only. Child processes are this test binary run again for `soak_child` only.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::{Blip, users_call};
use cxkit::{
    Ejento, Error, FileTokenStore, HttpConfig, RedisTokenStore, RefreshConfig, Secret, StoreError,
    TokenStore,
};
use cxkit_testkit::capture::Capture;
use cxkit_testkit::ejento::{FakeEjento, PASSWORD_OF_USER, REFRESH, USER};
use cxkit_testkit::redis_server::RedisServer;

const CHILD: &str = "CXKIT_SOAK_CHILD";
const KIND: &str = "CXKIT_SOAK_STORE";
const TARGET: &str = "CXKIT_SOAK_TARGET";
const FAKE: &str = "CXKIT_SOAK_FAKE";
const RUN_MS: &str = "CXKIT_SOAK_RUN_MS";
const SECONDS: &str = "CXKIT_SOAK_SECONDS";
const SUMMARY: &str = "SOAK-CHILD-SUMMARY";
const SESSION: &str = "soak";

/// Tokens live 4 s, so every store crosses several expiries in a CI-sized run.
const LIFETIME: Duration = Duration::from_secs(4);
/// How long one call may take, at most: the single-flight wait and the caller's own refresh
/// (each a lock wait, a read, a refresh and a write, every one bounded) twice over (a 401's
/// forced refresh), and the call itself with its retries.
const DEADLINE: Duration = Duration::from_secs(45);
/// Processes per store.
const FLEET: usize = 3;
/// Concurrent callers per process.
const CALLERS: usize = 4;

fn refresh_config() -> RefreshConfig {
    RefreshConfig {
        min_margin: Duration::from_secs(1),
        retry_interval: Duration::from_millis(300),
        default_lifetime: LIFETIME,
        acquire_timeout: Duration::from_secs(4),
        ..RefreshConfig::default()
    }
}

fn redis_store(url: &str) -> RedisTokenStore {
    RedisTokenStore::builder(&Secret::new(url))
        .lease(Duration::from_secs(3))
        .timeout(Duration::from_millis(500))
        .build()
        .expect("a loopback Redis")
}

/// The session the processes of one store share (the file fleet's name is long enough to need
/// a hashed file name).
fn session_name(kind: &str) -> String {
    match kind {
        "file" => format!("{SESSION}-{}", "long-session-name-".repeat(8)),
        _ => SESSION.to_owned(),
    }
}

fn session(fake_url: &str, kind: &str, store: Arc<dyn TokenStore>, agent: &str) -> Ejento {
    let config = cxkit::Config::builder()
        .shared_store(store)
        .refresh(refresh_config())
        .http(HttpConfig {
            user_agent: agent.to_owned(),
            total_timeout: Some(Duration::from_secs(5)),
            ..HttpConfig::default()
        })
        .build()
        .expect("config");
    Ejento::builder()
        .config(&config)
        .base_url(fake_url)
        .users_base_url(fake_url)
        .session_name(session_name(kind))
        .build()
        .expect("session")
}

fn store_of(kind: &str, target: &str) -> Arc<Blip<Arc<dyn TokenStore>>> {
    let inner: Arc<dyn TokenStore> = match kind {
        "redis" => Arc::new(redis_store(target)),
        _ => Arc::new(FileTokenStore::new(target)),
    };
    Arc::new(Blip::new(inner))
}

/// Runs only in a child process: `CALLERS` callers making calls on the shared session until the
/// run time is over, every call bounded by [`DEADLINE`]; one store read in 5 fails. Prints every
/// failure (as an application would log it) and a summary line.
#[test]
fn soak_child() {
    let Ok(id) = std::env::var(CHILD) else {
        return;
    };
    let var = |name: &str| std::env::var(name).unwrap();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .init();
    let run = Duration::from_millis(var(RUN_MS).parse().unwrap());
    let kind = var(KIND);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let summary = runtime.block_on(async {
        let store = store_of(&kind, &var(TARGET));
        store.fail_every(5);
        let ejento = session(
            &var(FAKE),
            &kind,
            store.clone(),
            &format!("soak-child-{id}"),
        );
        let counts = Arc::new(Counts::default());
        let until = Instant::now() + run;
        let callers: Vec<_> = (0..CALLERS)
            .map(|_| {
                let (ejento, counts) = (ejento.clone(), counts.clone());
                tokio::spawn(async move {
                    while Instant::now() < until {
                        counts.calls.fetch_add(1, Ordering::Relaxed);
                        match tokio::time::timeout(DEADLINE, users_call(&ejento)).await {
                            Err(_) => {
                                counts.overruns.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(Ok(())) => {
                                counts.ok.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(Err(e)) => {
                                let counter = match &e {
                                    Error::ReauthRequired { .. } => &counts.reauth,
                                    _ => &counts.other,
                                };
                                counter.fetch_add(1, Ordering::Relaxed);
                                println!("call failed: {e} | {e:?}");
                            }
                        }
                        tokio::time::sleep(Duration::from_millis(15)).await;
                    }
                })
            })
            .collect();
        for caller in callers {
            caller.await.expect("no caller panics");
        }
        format!(
            "{SUMMARY} {} {} {} {} {} {} {}",
            counts.calls.load(Ordering::Relaxed),
            counts.ok.load(Ordering::Relaxed),
            counts.reauth.load(Ordering::Relaxed),
            counts.other.load(Ordering::Relaxed),
            counts.overruns.load(Ordering::Relaxed),
            store.failed.load(Ordering::Relaxed),
            ejento.token_cache().refresh_count(),
        )
    });
    println!("\n{summary}");
}

#[derive(Default)]
struct Counts {
    calls: AtomicUsize,
    ok: AtomicUsize,
    reauth: AtomicUsize,
    other: AtomicUsize,
    overruns: AtomicUsize,
}

/// A child process and the task collecting its output.
struct Running {
    pid: u32,
    kind: &'static str,
    output: tokio::task::JoinHandle<std::process::Output>,
}

/// One store's fleet: its fake, its harness session (which logs in and out) and its processes.
struct Fleet {
    kind: &'static str,
    fake: FakeEjento,
    target: String,
    admin: Ejento,
    running: HashMap<String, Running>,
    killed: Vec<Running>,
    /// Tokens whose first refresher the harness killed mid-refresh: how many times each.
    killed_mid_refresh: HashMap<String, usize>,
}

impl Fleet {
    fn spawn(&mut self, id: String, run: Duration) {
        let child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "soak::soak_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, &id)
            .env(KIND, self.kind)
            .env(TARGET, &self.target)
            .env(FAKE, self.fake.base_url())
            .env(RUN_MS, run.as_millis().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap());
        self.running.insert(
            id,
            Running {
                pid,
                kind: self.kind,
                output,
            },
        );
    }

    async fn login(&self) {
        for _ in 0..50 {
            match self
                .admin
                .login_password(USER, &Secret::new(PASSWORD_OF_USER))
                .await
            {
                Ok(_) => return,
                // Redis restarting, or the lock held by a process being replaced.
                Err(e) => println!("harness login retried: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the harness could not log in");
    }
}

#[derive(Debug, Default)]
struct Tally {
    redis_restarts: usize,
    kills: usize,
    logouts: usize,
    refresh_401: usize,
    refresh_403: usize,
    refresh_503: usize,
    logout_undone: usize,
}

impl Tally {
    fn count_refresh_fault(&mut self, status: u16) {
        match status {
            401 => self.refresh_401 += 1,
            403 => self.refresh_403 += 1,
            _ => self.refresh_503 += 1,
        }
    }
}

#[test]
fn fault_soak() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let seconds: u64 = std::env::var(SECONDS)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    let capture = crate::support::logs();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(soak(Duration::from_secs(seconds), capture));
}

async fn soak(run: Duration, capture: &Capture) {
    let started = Instant::now();
    let mut redis = RedisServer::start_persistent();
    let dir = tempfile::tempdir().unwrap();
    let mut fleets = Vec::new();
    for kind in ["redis", "file"] {
        let fake = FakeEjento::start().await;
        fake.set_lifetime(LIFETIME);
        let target = match kind {
            "redis" => redis.url(),
            _ => dir.path().display().to_string(),
        };
        let admin = session(
            fake.base_url(),
            kind,
            store_of(kind, &target),
            "soak-harness",
        );
        let mut fleet = Fleet {
            kind,
            fake,
            target,
            admin,
            running: HashMap::new(),
            killed: Vec::new(),
            killed_mid_refresh: HashMap::new(),
        };
        fleet.login().await;
        for n in 0..FLEET {
            fleet.spawn(format!("{kind}-{n}"), run);
        }
        fleets.push(fleet);
    }

    let mut tally = Tally::default();
    let mut spawned = 2 * FLEET;
    let mut round = 0usize;
    let mut pending: [Option<(usize, u16)>; 2] = [None, None];
    let until = started + run;
    while Instant::now() + Duration::from_millis(500) < until {
        // Every round: one refresh of a store answered 401 (the auth service's own
        // rejection), 403 (a gateway's page) or 503, once the previous one was delivered.
        let which = round % 2;
        let fake = &fleets[which].fake;
        let delivered = |at: usize| fake.refresh_calls() > at;
        if let Some((at, status)) = pending[which]
            && delivered(at)
        {
            tally.count_refresh_fault(status);
            pending[which] = None;
        }
        if pending[which].is_none() {
            let status = [401, 403, 503][(round / 2) % 3];
            let (content_type, body) = match status {
                401 => (
                    "application/json",
                    r#"{"detail":"Could not validate credentials"}"#,
                ),
                403 => ("text/html", "<html><h1>403 Forbidden</h1></html>"),
                _ => ("application/json", r#"{"detail":"unavailable"}"#),
            };
            fake.script(
                "POST",
                REFRESH,
                status,
                &[("content-type", content_type)],
                body,
            );
            pending[which] = Some((fake.refresh_calls(), status));
        }

        match round % 5 {
            // Restart Redis (persistent: it keeps what it acknowledged, as a production Redis
            // with an append-only file does).
            0 => {
                redis = tokio::task::spawn_blocking(move || {
                    redis.restart();
                    redis
                })
                .await
                .unwrap();
                tally.redis_restarts += 1;
            }
            // kill -9 the process holding the session's lock, in the middle of its refresh.
            1 | 3 => {
                let fleet = &mut fleets[usize::from(round % 5 == 3)];
                let before = fleet.fake.refresh_calls();
                fleet.fake.hold(REFRESH);
                let waited = Instant::now();
                while fleet.fake.refresh_calls() == before
                    && waited.elapsed() < Duration::from_secs(3)
                {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                let held = fleet.fake.requests_to(REFRESH);
                if held.len() > before {
                    let request = &held[before];
                    let agent = request.header("user-agent").unwrap_or_default();
                    let id = agent.trim_start_matches("soak-child-").to_owned();
                    if let Some(victim) = fleet.running.remove(&id) {
                        let _ = Command::new("kill")
                            .args(["-9", &victim.pid.to_string()])
                            .status();
                        let token = request.bearer().unwrap_or_default().to_owned();
                        *fleet.killed_mid_refresh.entry(token).or_default() += 1;
                        fleet.killed.push(victim);
                        tally.kills += 1;
                        let left = until.saturating_duration_since(Instant::now());
                        spawned += 1;
                        fleet.spawn(format!("{}-{spawned}", fleet.kind), left);
                    }
                }
                fleet.fake.release(REFRESH);
            }
            // Log out, watch the store stay logged out past the processes' refresh points,
            // log in again.
            _ => {
                let fleet = &fleets[usize::from(round % 5 == 2)];
                let mut out = false;
                for _ in 0..20 {
                    match fleet.admin.logout().await {
                        Ok(()) => {
                            out = true;
                            break;
                        }
                        Err(e) => println!("harness logout retried: {e}"),
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                if out {
                    tally.logouts += 1;
                    let checker = store_of(fleet.kind, &fleet.target);
                    let key = fleet_key(fleet);
                    let window = Instant::now();
                    while window.elapsed() < Duration::from_secs(3) {
                        match checker.load(&key).await {
                            Err(StoreError::LoggedOut(_)) | Err(StoreError::Unavailable(_)) => {}
                            other => {
                                println!("VIOLATION: the logout was undone: {other:?}");
                                tally.logout_undone += 1;
                            }
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                fleet.login().await;
            }
        }
        round += 1;
        tokio::time::sleep(Duration::from_millis(100 + (round as u64 * 37) % 200)).await;
    }
    for (which, pending) in pending.into_iter().enumerate() {
        if let Some((at, status)) = pending
            && fleets[which].fake.refresh_calls() > at
        {
            tally.count_refresh_fault(status);
        }
    }

    // Let every process finish (each stops at the end of the run; calls in flight are bounded).
    let mut outputs = Vec::new();
    for fleet in &mut fleets {
        for (_, running) in fleet.running.drain() {
            outputs.push((running.kind, false, running.output.await.unwrap()));
        }
        for killed in fleet.killed.drain(..) {
            outputs.push((killed.kind, true, killed.output.await.unwrap()));
        }
    }

    // The invariants.
    let mut secrets: Vec<String> = vec![PASSWORD_OF_USER.to_owned()];
    let mut duplicate_refreshes = 0;
    let mut refreshes = 0;
    for fleet in &fleets {
        let issued = fleet.fake.issued();
        let mut per_token: HashMap<&str, usize> = HashMap::new();
        for i in &issued {
            secrets.push(i.auth_app.clone());
            secrets.push(i.ejento.clone());
            for token in [&i.auth_app, &i.ejento] {
                if let Some(signature) = token.rsplit('.').next() {
                    secrets.push(signature.to_owned());
                }
            }
            if let Some(from) = &i.refreshed_from {
                refreshes += 1;
                *per_token.entry(from.as_str()).or_default() += 1;
            }
        }
        for (token, n) in per_token {
            let allowed = 1 + fleet.killed_mid_refresh.get(token).copied().unwrap_or(0);
            if n > allowed {
                println!(
                    "VIOLATION: the {} store refreshed one token {n} times ({allowed} allowed)",
                    fleet.kind
                );
                duplicate_refreshes += n - allowed;
            }
        }
    }
    let (mut calls, mut ok, mut reauth, mut other, mut overruns, mut read_faults) =
        (0, 0, 0, 0, 0, 0);
    let mut panics = 0;
    let mut leaks = 0;
    let mut processes = 0;
    for (kind, killed, output) in &outputs {
        processes += 1;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stdout.contains("panicked") || stderr.contains("panicked") {
            println!("VIOLATION: a {kind} process panicked:\n{stderr}");
            panics += 1;
        }
        if !killed {
            assert!(
                output.status.success(),
                "a {kind} process failed: {}\n{stdout}\n{stderr}",
                output.status
            );
            let line = stdout
                .lines()
                .find_map(|l| l.find(SUMMARY).map(|at| &l[at + SUMMARY.len()..]))
                .unwrap_or_else(|| panic!("no summary from a {kind} process:\n{stdout}"));
            let n: Vec<usize> = line
                .split_whitespace()
                .map(|n| n.parse().unwrap())
                .collect();
            calls += n[0];
            ok += n[1];
            reauth += n[2];
            other += n[3];
            overruns += n[4];
            read_faults += n[5];
        }
        for secret in &secrets {
            if stdout.contains(secret.as_str()) || stderr.contains(secret.as_str()) {
                println!("VIOLATION: a secret in a {kind} process's output");
                leaks += 1;
            }
        }
    }
    let logs = capture.text();
    for secret in &secrets {
        if logs.contains(secret.as_str()) {
            println!("VIOLATION: a secret in the harness's logs");
            leaks += 1;
        }
    }
    if overruns > 0 {
        println!("VIOLATION: {overruns} calls passed their deadline of {DEADLINE:?}");
    }
    let violations = tally.logout_undone + panics + duplicate_refreshes + leaks + overruns;
    let faults = tally.redis_restarts
        + tally.kills
        + read_faults
        + tally.logouts
        + tally.refresh_401
        + tally.refresh_403
        + tally.refresh_503;
    println!(
        "soak: {:.0?} run, {processes} processes over 2 stores (redis, file); faults injected: \
         {faults} (Redis restarts {}, lock holders killed mid-refresh {}, store reads failed \
         {read_faults}, logouts then logins {}, refreshes answered 401 {}, 403 {}, 503 {}); \
         calls made: {calls} (ok {ok}, session over {reauth}, other failures {other}; not \
         counting the processes killed); \
         refreshes: {refreshes}; violations: {violations} (logouts undone {}, panics {panics}, \
         extra refreshes per expiry {duplicate_refreshes}, secrets in output {leaks}, deadlines \
         missed {overruns})",
        started.elapsed(),
        tally.redis_restarts,
        tally.kills,
        tally.logouts,
        tally.refresh_401,
        tally.refresh_403,
        tally.refresh_503,
        tally.logout_undone,
    );
    assert_eq!(violations, 0, "the soak found violations (see above)");
    assert!(calls > 0 && ok > 0, "the processes made calls");
    assert!(refreshes > 0, "the sessions crossed expiries");
    drop(redis);
}

fn fleet_key(fleet: &Fleet) -> String {
    format!(
        "ejento|{}|{}",
        fleet.fake.base_url(),
        session_name(fleet.kind)
    )
}
