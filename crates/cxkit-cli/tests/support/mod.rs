//! What the command-line tests share: a configuration directory of their own, the binary run
//! off the runtime's threads (the test kit's fakes keep serving meanwhile), and every output
//! kept for the secret canary.

#![allow(dead_code)]

use std::sync::{Mutex, OnceLock};

/// The system registry, `specs/systems.toml`, read once.
pub fn registry() -> &'static cxkit_spec::Registry {
    static REGISTRY: OnceLock<cxkit_spec::Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        cxkit_spec::Registry::load(&root).unwrap_or_else(|e| panic!("the registry: {e}"))
    })
}

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
        // The hand-written logins' variables, and every variable a registry login reads.
        let registry = registry();
        let static_logins = registry
            .cli
            .iter()
            .filter_map(|system| Some(system.login.as_ref()?.env.as_str()));
        for var in [
            "CXKIT_PASSWORD",
            "CXKIT_CODE",
            "CXKIT_PLATFORM28_API_KEY",
            "CXKIT_PROFILE",
        ]
        .into_iter()
        .chain(static_logins)
        {
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
