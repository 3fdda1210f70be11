//! A real `redis-server` for tests and benchmarks: on a free loopback port (127.0.0.1 only),
//! with a temporary directory, no persistence (or, from [`RedisServer::start_persistent`], an
//! append-only file synced on every write), stopped when dropped (the `redis` feature). The
//! `redis-server` program must be installed (Debian's `redis-server` package; cxkit's own
//! `cargo xtask test` installs it when it is missing).

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server`, killed (and its directory removed) on drop.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    persistent: bool,
}

impl RedisServer {
    /// Starts a server on a free loopback port and waits until it answers `PING`.
    pub fn start() -> RedisServer {
        Self::start_with(false)
    }

    /// Starts a server that keeps what it holds across [`restart`](Self::restart) and
    /// [`stop`](Self::stop) (`SIGKILL` included): an append-only file, synced before every
    /// write is acknowledged (`appendonly yes`, `appendfsync always`).
    pub fn start_persistent() -> RedisServer {
        Self::start_with(true)
    }

    fn start_with(persistent: bool) -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let mut server = RedisServer {
            child: None,
            port,
            dir: tempfile::tempdir().expect("a temporary directory"),
            persistent,
        };
        server.restart();
        server
    }

    /// `redis://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (`SIGKILL`, as a crash would); what it held is lost.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (stopping it first if it runs): empty, or for a
    /// [persistent](Self::start_persistent) server with everything it had acknowledged.
    pub fn restart(&mut self) {
        self.stop();
        let (appendonly, fsync) = if self.persistent {
            ("yes", "always")
        } else {
            ("no", "everysec")
        };
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(self.dir.path())
            .args([
                "--save",
                "",
                "--appendonly",
                appendonly,
                "--appendfsync",
                fsync,
                "--protected-mode",
                "yes",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start redis-server ({e}); install it (`apt-get install -y \
                     redis-server`, which `cargo xtask test` does)"
                )
            });
        self.child = Some(child);
        let started = Instant::now();
        while !self.answers_ping() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "redis-server did not answer on port {} within 20 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// How many commands the server has processed since it started (`INFO stats`), counting
    /// this asking as one: how a test or benchmark shows that a path sends nothing to Redis.
    pub fn commands_processed(&self) -> u64 {
        use std::io::BufRead as _;
        let mut stream =
            TcpStream::connect(("127.0.0.1", self.port)).expect("redis-server answers");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("a read timeout");
        stream.write_all(b"INFO stats\r\n").expect("INFO is sent");
        // The answer is one bulk string: `$LEN\r\n`, then LEN bytes and `\r\n`.
        let mut reader = std::io::BufReader::new(stream);
        let mut header = String::new();
        reader.read_line(&mut header).expect("INFO answers");
        let len: usize = header
            .trim()
            .strip_prefix('$')
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("INFO answered {header:?}"));
        let mut body = vec![0; len + 2];
        reader.read_exact(&mut body).expect("the INFO text");
        String::from_utf8_lossy(&body)
            .lines()
            .find_map(|l| l.strip_prefix("total_commands_processed:"))
            .and_then(|n| n.trim().parse().ok())
            .expect("INFO stats names the commands processed")
    }

    fn answers_ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let mut answer = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut answer).is_ok()
            && &answer == b"+PONG\r\n"
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
