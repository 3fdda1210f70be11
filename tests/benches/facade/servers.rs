//! The loopback servers: the fake Authentication App and a minimal platform (the user, a
//! streamed answer, an upload), in a runtime of their own.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cxkit::{Clock, Ejento, HttpConfig, RefreshConfig, Secret};
use cxkit_testkit::ejento::{FakeEjento, PASSWORD_OF_USER, USER};
use futures::StreamExt as _;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

use crate::common::*;

#[derive(Debug)]
pub(crate) struct PlatformState {
    /// Added before answering GET /api/v2/users/me, in microseconds.
    pub(crate) latency_us: AtomicU64,
    /// How many `assistant_stream` frames the SSE endpoint sends before `end`.
    pub(crate) sse_frames: AtomicU64,
    /// [`FRAMES_PER_CHUNK`] frames, built once so that serving allocates nothing per chunk.
    pub(crate) sse_chunk: Bytes,
    /// When non-zero, the SSE endpoint sends one `assistant_stream` event whose delta is this
    /// many bytes (one line), then `end`, instead of `sse_frames` frames.
    pub(crate) sse_line_bytes: AtomicU64,
    /// Upload body bytes received by the last upload.
    pub(crate) received: AtomicU64,
}

pub(crate) fn frame() -> String {
    format!("data: {{\"step\":\"assistant_stream\",\"delta\":\"{DELTA}\"}}\n\n")
}

pub(crate) async fn current_user(State(state): State<Arc<PlatformState>>) -> Response {
    let latency = state.latency_us.load(Ordering::Relaxed);
    if latency > 0 {
        tokio::time::sleep(Duration::from_micros(latency)).await;
    }
    ([(header::CONTENT_TYPE, "application/json")], USER_JSON).into_response()
}

pub(crate) async fn stream_answer(State(state): State<Arc<PlatformState>>) -> Response {
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

pub(crate) async fn upload(State(state): State<Arc<PlatformState>>, body: Body) -> Response {
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
pub(crate) struct Servers {
    pub(crate) fake: Option<FakeEjento>,
    pub(crate) platform_url: String,
    pub(crate) platform: Arc<PlatformState>,
    pub(crate) platform_task: Option<JoinHandle<()>>,
    pub(crate) runtime: Option<Runtime>,
}

impl Servers {
    pub(crate) fn start(workers: usize) -> Servers {
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

    pub(crate) fn fake(&self) -> &FakeEjento {
        self.fake.as_ref().expect("the fake runs until drop")
    }

    /// A session against these servers, logged in as [`USER`] (run inside the client runtime).
    pub(crate) async fn session(&self, clock: Arc<dyn Clock>) -> Ejento {
        self.session_with(clock, HttpConfig::default()).await
    }

    /// [`Servers::session`] with its own HTTP configuration.
    pub(crate) async fn session_with(&self, clock: Arc<dyn Clock>, http: HttpConfig) -> Ejento {
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
pub(crate) async fn login(ejento: Ejento) -> Ejento {
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
