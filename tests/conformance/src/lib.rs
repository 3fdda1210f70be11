//! Conformance of cxkit's clients against an independent validator: Stoplight Prism, mocking
//! each spec with request validation on.
//!
//! `build.rs` turns every operation of every spec into one call through the generated client
//! ([`ejento_auth::CALLS`], …); the test (`tests/prism.rs`) starts Prism on the spec, runs them
//! all, adds the few calls only the facade makes (SSO redirects, SSE streams, the multipart
//! upload), and fails on any request Prism rejects, any answer our types cannot decode, and any
//! operation of the spec left unexercised.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs::OpenOptions;
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

// One module per API of the registry (`specs/systems.toml`), each with the calls `build.rs`
// wrote from its spec: `ejento_auth::CALLS`, ...
include!(concat!(env!("OUT_DIR"), "/systems.rs"));

/// What one call returns.
pub type CallFuture<'a> = Pin<Box<dyn Future<Output = Result<(), Failure>> + Send + 'a>>;

/// One generated call: an operation and the function that makes it through client `C`.
pub struct Call<C: 'static> {
    /// The spec's `operationId`.
    pub id: &'static str,
    /// Makes the call.
    pub run: for<'a> fn(&'a C) -> CallFuture<'a>,
}

impl<C> fmt::Debug for Call<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call").field("id", &self.id).finish()
    }
}

/// Why one operation failed.
#[derive(Debug)]
pub enum Failure {
    /// The value synthesized from the request schema does not decode into our request type:
    /// the type is stricter than the spec.
    RequestType {
        /// The generated type.
        type_name: &'static str,
        /// serde's explanation (the value is synthetic, so it holds no secret).
        error: String,
    },
    /// The call failed: Prism rejected the request, or its answer did not decode.
    Call(cxkit::Error),
    /// A facade call returned, but not what the spec promises.
    Check(String),
    /// A failure of one of several requests of the same operation.
    During {
        /// Which request.
        what: &'static str,
        /// What went wrong.
        failure: Box<Failure>,
    },
}

impl Failure {
    /// Says which request of the operation failed.
    pub fn during(self, what: &'static str) -> Failure {
        Failure::During {
            what,
            failure: Box::new(self),
        }
    }
}

impl From<cxkit::Error> for Failure {
    fn from(e: cxkit::Error) -> Self {
        Failure::Call(e)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::RequestType { type_name, error } => write!(
                f,
                "the synthesized request body does not decode into {type_name}: {error}"
            ),
            // Prism's problem+json body lists the validation errors.
            Failure::Call(e @ cxkit::Error::Api { body, .. }) if !body.is_empty() => {
                write!(f, "{e}; body: {body}")
            }
            Failure::Call(e) => write!(f, "{e}"),
            Failure::Check(message) => f.write_str(message),
            Failure::During { what, failure } => write!(f, "{what}: {failure}"),
        }
    }
}

/// Decodes a synthesized JSON body into the generated request type `T`.
pub fn request_body<T: DeserializeOwned>(
    type_name: &'static str,
    json: &str,
) -> Result<T, Failure> {
    serde_json::from_str(json).map_err(|e| Failure::RequestType {
        type_name,
        error: e.to_string(),
    })
}

/// The synthesized body of a facade operation (from a module's `FACADE_BODIES`).
pub fn facade_body<T: DeserializeOwned>(
    bodies: &[(&str, &str)],
    id: &str,
    type_name: &'static str,
) -> Result<T, Failure> {
    let json = bodies
        .iter()
        .find(|(op, _)| *op == id)
        .map(|(_, json)| *json)
        .ok_or_else(|| Failure::Check(format!("build.rs synthesized no body for {id}")))?;
    request_body(type_name, json)
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `operationId` of a spec, in document order, read from the spec itself (not from
/// what `build.rs` generated), so the count is independent of the calls.
pub fn spec_operation_ids(spec: &str) -> Vec<String> {
    let spec = cxkit_spec::Spec::load(&workspace_root(), spec).unwrap_or_else(|p| panic!("{p}"));
    spec.operations()
        .into_iter()
        .map(|(path, method, op)| {
            op.get("operationId")
                .and_then(|i| i.as_str())
                .unwrap_or_else(|| panic!("{}: {method} {path} has no operationId", spec.file))
                .to_owned()
        })
        .collect()
}

/// Whether the npm tools are required (`cargo xtask test` sets `CXKIT_REQUIRE_TOOLS=1`): then a
/// missing Prism fails the test instead of skipping it.
pub fn tools_required() -> bool {
    std::env::var_os("CXKIT_REQUIRE_TOOLS").is_some_and(|v| !v.is_empty() && v != "0")
}

/// An HTTP client like the facade's: no redirects followed (the SSO calls answer 302).
pub fn http_client() -> reqwest::Client {
    cxkit::ensure_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .build()
        .expect("a plain HTTP client builds")
}

/// A Prism mock server (`prism mock --errors`) on a free loopback port, started from one spec.
/// Dropping it (also while a failing test unwinds) kills the process.
pub struct Prism {
    child: Child,
    spec: &'static str,
    base_url: String,
    log: PathBuf,
    /// Deletes the log when Prism is dropped (unless `CXKIT_PRISM_LOG_DIR` keeps it).
    _temp_log: Option<tempfile::NamedTempFile>,
}

impl fmt::Debug for Prism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prism")
            .field("spec", &self.spec)
            .field("base_url", &self.base_url)
            .field("pid", &self.child.id())
            .finish()
    }
}

/// When set to a directory, each Prism writes its log there as `SPEC-STEM.log` and keeps it
/// (to see every request Prism validated); otherwise the log is a temporary file.
pub const LOG_DIR: &str = "CXKIT_PRISM_LOG_DIR";

/// How long Prism may take to parse a spec and listen (it takes about two seconds for the
/// largest spec on one core).
const STARTUP: Duration = Duration::from_secs(90);

impl Prism {
    /// The installed Prism (pinned by `tests/node/package-lock.json`), or the one the
    /// `CXKIT_PRISM` environment variable names.
    pub fn binary() -> PathBuf {
        std::env::var_os("CXKIT_PRISM")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join("tests/node/node_modules/.bin/prism"))
    }

    /// Starts Prism on `spec` (relative to the workspace root) and waits until it listens.
    ///
    /// Returns `None`, after printing why, when Prism is not installed and
    /// [`tools_required`] is false; panics when it is required, or does not start.
    pub fn start(spec: &'static str) -> Option<Prism> {
        let binary = Self::binary();
        if !binary.exists() {
            let why = format!(
                "Prism is not installed at {}; install it with `npm ci --prefix tests/node` \
                 (`cargo xtask test` does)",
                binary.display()
            );
            assert!(
                !tools_required(),
                "{why}. CXKIT_REQUIRE_TOOLS is set, so the conformance test of {spec} fails \
                 instead of skipping"
            );
            eprintln!("note: skipping the conformance test of {spec}: {why}");
            return None;
        }
        let mut last_error = String::new();
        // A port found free may be taken before Prism binds it; try another then.
        for _ in 0..3 {
            match Self::try_start(&binary, spec) {
                Ok(prism) => return Some(prism),
                Err((error, retry)) if retry => last_error = error,
                Err((error, _)) => panic!("{error}"),
            }
        }
        panic!("{last_error}");
    }

    fn try_start(binary: &Path, spec: &'static str) -> Result<Prism, (String, bool)> {
        let port = free_port();
        let (log, temp_log) = match std::env::var_os(LOG_DIR) {
            Some(dir) => {
                let stem = Path::new(spec).file_stem().unwrap_or_default();
                let path = Path::new(&dir).join(stem).with_extension("log");
                std::fs::File::create(&path)
                    .map_err(|e| (format!("cannot create {}: {e}", path.display()), false))?;
                (path, None)
            }
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("cxkit-prism-")
                    .suffix(".log")
                    .tempfile()
                    .map_err(|e| (format!("cannot create Prism's log file: {e}"), false))?;
                (temp.path().to_owned(), Some(temp))
            }
        };
        let output = || {
            OpenOptions::new()
                .append(true)
                .open(&log)
                .map_err(|e| (format!("cannot open Prism's log file: {e}"), false))
        };
        let child = Command::new(binary)
            .args([
                "mock",
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "--errors",
            ])
            .arg(spec)
            .current_dir(workspace_root())
            .env("NO_UPDATE_NOTIFIER", "1")
            .stdin(Stdio::null())
            .stdout(output()?)
            .stderr(output()?)
            .spawn()
            .map_err(|e| (format!("cannot run {}: {e}", binary.display()), false))?;
        let mut prism = Prism {
            child,
            spec,
            base_url: format!("http://127.0.0.1:{port}"),
            log,
            _temp_log: temp_log,
        };
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = prism.child.try_wait() {
                let log = prism.log_tail(40);
                let retry = log.contains("EADDRINUSE");
                return Err((
                    format!("Prism exited with {status} while starting on {spec}:\n{log}"),
                    retry,
                ));
            }
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return Ok(prism);
            }
            if started.elapsed() > STARTUP {
                return Err((
                    format!(
                        "Prism did not listen on {address} within {STARTUP:?} for {spec}:\n{}",
                        prism.log_tail(40)
                    ),
                    false,
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The spec it mocks, relative to the workspace root.
    pub fn spec(&self) -> &'static str {
        self.spec
    }

    /// The last `lines` lines Prism logged (its validation errors name the failing request).
    pub fn log_tail(&self, lines: usize) -> String {
        let Ok(file) = std::fs::File::open(&self.log) else {
            return String::new();
        };
        let all: Vec<String> = BufReader::new(file).lines().map_while(Result::ok).collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Prism {
    /// The log's length so far, to read what a call adds with [`Prism::errors_logged_since`].
    pub fn log_len(&self) -> u64 {
        std::fs::metadata(&self.log).map(|m| m.len()).unwrap_or(0)
    }

    /// The errors (`✖` lines) logged after `offset`, without their timestamps.
    pub fn errors_logged_since(&self, offset: u64) -> Vec<String> {
        let Ok(bytes) = std::fs::read(&self.log) else {
            return Vec::new();
        };
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        String::from_utf8_lossy(&bytes[start..])
            .lines()
            .filter(|line| line.contains('✖'))
            .map(|line| {
                line.split_once("› ")
                    .map_or(line, |(_, rest)| rest)
                    .trim()
                    .to_owned()
            })
            .collect()
    }
}

impl Drop for Prism {
    fn drop(&mut self) {
        // SIGKILL: Prism runs in one process (no `--multiprocess`), so nothing is left behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The outcome of running one spec's calls against Prism.
#[derive(Debug)]
pub struct Conformance<'p> {
    prism: &'p Prism,
    /// Calls made per operation id.
    exercised: BTreeMap<&'static str, usize>,
    failures: Vec<String>,
}

impl<'p> Conformance<'p> {
    /// Starts a run against `prism`.
    pub fn new(prism: &'p Prism) -> Self {
        Conformance {
            prism,
            exercised: BTreeMap::new(),
            failures: Vec::new(),
        }
    }

    /// Makes every generated call, one after the other (so each failure can be matched with
    /// what Prism logged about it).
    pub async fn run<C>(&mut self, client: &C, calls: &[Call<C>]) {
        for call in calls {
            self.check(call.id, (call.run)(client)).await;
        }
    }

    /// Makes one call of operation `id` and records its outcome. A failure is reported with the
    /// errors Prism logged meanwhile (its validation messages: the client maps an undocumented
    /// status such as Prism's 422 without its body).
    pub async fn check<T>(
        &mut self,
        id: &'static str,
        call: impl Future<Output = Result<T, Failure>>,
    ) {
        let offset = self.prism.log_len();
        let result = call.await;
        *self.exercised.entry(id).or_default() += 1;
        if let Err(failure) = result {
            let mut line = format!("operation {id}: {failure}");
            let logged = self.prism.errors_logged_since(offset);
            if !logged.is_empty() {
                line.push_str("\n    Prism: ");
                line.push_str(&logged.join("\n    Prism: "));
            }
            self.failures.push(line);
        }
    }

    /// Checks the run: no failure, and exactly the spec's operations exercised (read from the
    /// spec now, not from what `build.rs` saw). `facade` is the test's own list of the calls it
    /// made through the facade, which must be the module's `FACADE` and include every operation
    /// the generated crate's `SECURITY` marks hand-written.
    pub fn finish(
        self,
        facade_called: &[&str],
        facade_expected: &[&str],
        security: &cxkit_auth::ApiSecurity,
    ) {
        let spec = self.prism.spec();
        let in_spec = spec_operation_ids(spec);
        let spec_set: BTreeSet<&str> = in_spec.iter().map(String::as_str).collect();
        let exercised: BTreeSet<&str> = self.exercised.keys().copied().collect();
        println!(
            "{spec}: {} operations in the spec, {} exercised, {} failed",
            in_spec.len(),
            exercised.len(),
            self.failures.len()
        );

        let mut problems = self.failures;
        let called: BTreeSet<&str> = facade_called.iter().copied().collect();
        let expected: BTreeSet<&str> = facade_expected.iter().copied().collect();
        if called != expected {
            problems.push(format!(
                "the test calls {called:?} through the facade, but the spec needs {expected:?} \
                 called that way (hand-written or streaming operations)"
            ));
        }
        for op in security.operations.iter().filter(|op| op.handwritten) {
            if !expected.contains(op.id) {
                problems.push(format!(
                    "operation {}: hand-written (SECURITY) but not called through the facade",
                    op.id
                ));
            }
        }
        if spec_set.len() != in_spec.len() {
            problems.push(format!("{spec} repeats an operationId"));
        }
        for missing in spec_set.difference(&exercised) {
            problems.push(format!("operation {missing}: in {spec} but not exercised"));
        }
        for extra in exercised.difference(&spec_set) {
            problems.push(format!("operation {extra}: exercised but not in {spec}"));
        }
        for (id, n) in &self.exercised {
            if *n != 1 {
                problems.push(format!(
                    "operation {id}: exercised {n} times instead of once"
                ));
            }
        }
        assert!(
            problems.is_empty(),
            "{spec} against Prism ({} problems):\n{}\n\n(set {LOG_DIR}=DIR to keep Prism's whole log)",
            problems.len(),
            problems.join("\n"),
        );
        assert_eq!(
            exercised.len(),
            in_spec.len(),
            "{spec}: operations exercised differ from operations in the spec"
        );
    }
}
