//! What the command-line tests share: a configuration directory of their own, the binary run
//! off the runtime's threads (the fakes keep serving meanwhile), every output kept for the
//! secret canary, and minimal loopback fakes of Proto and Platform28.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;

/// What one run of `cxkit` printed, and how it ended.
#[derive(Debug, Clone)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {:?}", self.stdout))
    }

    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "cxkit failed: {self:?}");
        self
    }

    /// Asserts the exit code, and one line on stderr naming `needle`.
    pub fn fails(self, code: i32, needle: &str) -> Self {
        assert_eq!(self.code, code, "{self:?}");
        assert!(self.stderr.contains(needle), "{needle}: {self:?}");
        assert_eq!(self.stderr.lines().count(), 1, "{self:?}");
        self
    }
}

/// A configuration directory, and the outputs of every command run with it.
#[derive(Debug)]
pub struct Cli {
    pub dir: tempfile::TempDir,
    pub runs: Mutex<Vec<Run>>,
}

impl Cli {
    pub fn new() -> Self {
        Cli {
            dir: tempfile::tempdir().expect("a temporary directory"),
            runs: Mutex::new(Vec::new()),
        }
    }

    /// Runs `cxkit args...` with `env` (and nothing of the caller's cxkit environment), with
    /// stdin, stdout and stderr not terminals.
    pub async fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = assert_cmd::Command::cargo_bin("cxkit").expect("the cxkit binary");
        cmd.env("CXKIT_CONFIG_DIR", self.dir.path());
        for var in [
            "CXKIT_PASSWORD",
            "CXKIT_CODE",
            "CXKIT_PROTO_TOKEN",
            "CXKIT_PLATFORM28_API_KEY",
            "CXKIT_PROFILE",
        ] {
            cmd.env_remove(var);
        }
        cmd.envs(env.iter().copied()).args(args).write_stdin("");
        let output = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .expect("the command thread")
            .expect("run cxkit");
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        self.runs.lock().unwrap().push(run.clone());
        run
    }

    /// The canary: no secret appears in anything any command printed.
    pub fn assert_no_secrets(&self, secrets: &[String]) {
        let runs = self.runs.lock().unwrap();
        assert!(!runs.is_empty());
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
            for run in runs.iter() {
                assert!(
                    !run.stdout.contains(secret.as_str()) && !run.stderr.contains(secret.as_str()),
                    "a secret was printed: {run:?}"
                );
            }
        }
    }
}

/// One request a fake received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// The path as sent, matrix parameters included.
    pub path: String,
    pub query: String,
    pub headers: HashMap<String, String>,
    pub body: String,
}

type Handler = Arc<dyn Fn(&Seen) -> (u16, String) + Send + Sync>;

/// A loopback server that answers every request with `handler` and records it.
#[derive(Clone)]
pub struct Fake {
    pub base_url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

#[derive(Clone)]
struct FakeState {
    seen: Arc<Mutex<Vec<Seen>>>,
    handler: Handler,
}

async fn handle(State(state): State<FakeState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, 1 << 20).await.unwrap_or_default();
    let seen = Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let (status, answer) = (state.handler)(&seen);
    state.seen.lock().unwrap().push(seen);
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", "application/json")
        .body(Body::from(answer))
        .unwrap()
}

impl Fake {
    pub async fn start(handler: impl Fn(&Seen) -> (u16, String) + Send + Sync + 'static) -> Fake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new().fallback(handle).with_state(FakeState {
            seen: seen.clone(),
            handler: Arc::new(handler),
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Fake { base_url, seen }
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

pub const PROTO_PAT: &str = "pat-canary-7f3a9c1e5b";

/// Proto's CRM: `GET /{company}/{bot}/crm/human/{id}` with the PAT in `X-SINITIC-TOKEN`.
pub async fn fake_proto() -> Fake {
    Fake::start(|seen| {
        if seen.headers.get("x-sinitic-token").map(String::as_str) != Some(PROTO_PAT) {
            return (401, r#"{"detail":"bad token"}"#.to_owned());
        }
        match (seen.method.as_str(), seen.path.as_str()) {
            ("GET", "/acme/bot1/crm/human/eu_KM8dKoKB5HJN") => (
                200,
                r#"{"id":"eu_KM8dKoKB5HJN","fullname":"Ada Lovelace","email":"ada@example.com"}"#
                    .to_owned(),
            ),
            _ => (404, r#"{"detail":"no such human"}"#.to_owned()),
        }
    })
    .await
}

pub const P28_USER: &str = "alice";
pub const P28_PASSWORD: &str = "p28-password-canary";
pub const P28_LSID: &str = "lsid-canary-0d9e8f7a6b5c";
pub const P28_API_KEY: &str = "apikey-canary-1a2b3c4d5e";

/// Platform28: `POST /authenticate/{username}` (form `password`) answers an LSID; `GET
/// /session/{id};lsid=LSID` answers the session.
pub async fn fake_platform28() -> Fake {
    Fake::start(|seen| {
        let lsid_suffix = format!(";lsid={P28_LSID}");
        match seen.method.as_str() {
            "POST" if seen.path == format!("/authenticate/{P28_USER}") => {
                if seen.body.contains(&format!("password={P28_PASSWORD}")) {
                    (
                        200,
                        format!(r#"{{"lsid":"{P28_LSID}","username":"{P28_USER}"}}"#),
                    )
                } else {
                    (401, r#"{"message":"wrong password"}"#.to_owned())
                }
            }
            "GET" if seen.path.starts_with("/session/") && seen.path.ends_with(&lsid_suffix) => (
                200,
                format!(r#"{{"username":"{P28_USER}","userId":"u-1","lsid":"{P28_LSID}"}}"#),
            ),
            _ => (404, r#"{"message":"not found"}"#.to_owned()),
        }
    })
    .await
}
