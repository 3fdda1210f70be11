//! A TCP server that speaks just enough HTTP/1.1 to break connections in chosen ways, for
//! testing how torn connections are classified and retried.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How every connection is broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Reads the request head, then closes without answering (the client sees an incomplete
    /// message before any response arrived).
    CloseBeforeResponse,
    /// Answers `200` with `Content-Length: 100`, sends 10 bytes of body, then closes (the
    /// response arrived, its body is torn).
    TornBody,
}

/// A running fault server; stops when dropped.
#[derive(Debug)]
pub struct FaultServer {
    base_url: String,
    accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl FaultServer {
    /// Starts a server on `127.0.0.1:0` that breaks every connection with `fault`.
    pub async fn start(fault: Fault) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let base_url = format!("http://{}", listener.local_addr().expect("local address"));
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    if fault == Fault::TornBody {
                        let _ = socket
                            .write_all(
                                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                                  content-length: 100\r\n\r\n{\"success\"",
                            )
                            .await;
                        let _ = socket.flush().await;
                    }
                    // Dropping the socket closes the connection.
                });
            }
        });
        FaultServer {
            base_url,
            accepted,
            task,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// How many connections were accepted.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A loopback URL nothing listens on (a port that was bound and released), so connecting is
/// refused.
pub async fn refused_base_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    drop(listener);
    format!("http://{addr}")
}

/// What a [`StreamServer`] answers to every request: a `200` with a chunked body made of
/// `prefix` and then `repeat` over and over, for testing how the client bounds bodies, time and
/// events when a server never stops (or trickles).
#[derive(Clone, Debug)]
pub struct Endless {
    /// The `Content-Type` of the answer.
    pub content_type: &'static str,
    /// Written once, first.
    pub prefix: Vec<u8>,
    /// Written again and again after the prefix.
    pub repeat: Vec<u8>,
    /// The pause between two writes of `repeat` (zero: as fast as the client reads).
    pub every: std::time::Duration,
    /// Ends the body cleanly once this many bytes were written (`None`: never).
    pub limit: Option<u64>,
}

/// A running endless-body server; stops when dropped.
#[derive(Debug)]
pub struct StreamServer {
    base_url: String,
    disconnects: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl StreamServer {
    /// Starts a server on `127.0.0.1:0` that answers every request with `body`.
    pub async fn start(body: Endless) -> StreamServer {
        StreamServer::start_with_status(200, body).await
    }

    /// Like [`StreamServer::start`], with another status: a `500` whose body trickles, say.
    pub async fn start_with_status(status: u16, body: Endless) -> StreamServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let base_url = format!("http://{}", listener.local_addr().expect("local address"));
        let disconnects = Arc::new(AtomicUsize::new(0));
        let seen = disconnects.clone();
        let body = Arc::new(body);
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let body = body.clone();
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let start = format!(
                        "HTTP/1.1 {status} Whatever\r\ncontent-type: {}\r\ntransfer-encoding: chunked\r\n\r\n",
                        body.content_type
                    );
                    let chunk = |data: &[u8]| {
                        let mut out = format!("{:x}\r\n", data.len()).into_bytes();
                        out.extend_from_slice(data);
                        out.extend_from_slice(b"\r\n");
                        out
                    };
                    let mut written = 0u64;
                    let mut first = start.into_bytes();
                    // An empty chunk would end the body.
                    if !body.prefix.is_empty() {
                        first.extend(chunk(&body.prefix));
                    }
                    if socket.write_all(&first).await.is_err() {
                        seen.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                    written += body.prefix.len() as u64;
                    let repeat = chunk(&body.repeat);
                    loop {
                        if body.limit.is_some_and(|limit| written >= limit) {
                            let _ = socket.write_all(b"0\r\n\r\n").await;
                            return;
                        }
                        if !body.every.is_zero() {
                            tokio::time::sleep(body.every).await;
                        }
                        if socket.write_all(&repeat).await.is_err() {
                            seen.fetch_add(1, Ordering::SeqCst);
                            return;
                        }
                        written += body.repeat.len() as u64;
                    }
                });
            }
        });
        StreamServer {
            base_url,
            disconnects,
            task,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// How many connections the client closed while the server was still writing.
    pub fn disconnects(&self) -> usize {
        self.disconnects.load(Ordering::SeqCst)
    }
}

impl Drop for StreamServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
