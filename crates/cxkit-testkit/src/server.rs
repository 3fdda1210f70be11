//! What every fake shares: the loopback listener, the record of requests, scripted replies by
//! path, replies by operation id (matched through the generated crates' operation tables), and
//! held paths.
//!
//! A fake's own handler calls [`Core::intake`] first; whatever that does not answer is the fake's
//! own (stateful) behaviour, and what that does not answer either goes to [`Core::unanswered`].

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::header;
use axum::response::Response;
use cxkit_auth::{ApiSecurity, OperationDef};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

/// The largest request body a fake reads (bigger ones are cut, which no test here needs).
const BODY_LIMIT: usize = 64 << 20;

/// One request as it arrived at a fake.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Recorded {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path as sent (matrix parameters included), without the query.
    pub path: String,
    /// The raw query, if any.
    pub query: Option<String>,
    /// Every header, names lower-case, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body as text (invalid UTF-8 replaced).
    pub body: String,
    /// When it arrived, on tokio's clock (virtual under paused time).
    pub at: tokio::time::Instant,
    /// The `operationId` the request matched in the fake's operation tables, if any.
    pub operation: Option<&'static str>,
    /// The path parameters of that operation (`{agent_id}` → `"7"`), percent-decoded, in
    /// template order.
    pub params: Vec<(String, String)>,
}

impl Recorded {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The path with every matrix parameter (`;name=value`) removed.
    pub fn plain_path(&self) -> String {
        strip_matrix(&self.path)
    }

    /// The bearer token of the `Authorization` header.
    pub fn bearer(&self) -> Option<&str> {
        self.header("authorization")?.strip_prefix("Bearer ")
    }

    /// Whether some header carries `credential`, as it is or as `Bearer <credential>`: that a
    /// key was sent, whichever header its scheme names.
    pub fn header_carries(&self, credential: &str) -> bool {
        self.headers
            .iter()
            .any(|(_, v)| v == credential || v.strip_prefix("Bearer ") == Some(credential))
    }

    /// Whether the URL, its path or its query as sent, holds `text` anywhere.
    pub fn url_contains(&self, text: &str) -> bool {
        self.path.contains(text) || self.query.as_deref().is_some_and(|q| q.contains(text))
    }

    /// The path parameter `name` of the matched operation (`{agent_id}` → `param("agent_id")`).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of query parameter `name`, decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_deref().unwrap_or_default().as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// The value of matrix parameter `name` on any path segment (`/a;lsid=x` → `x`).
    pub fn matrix_param(&self, name: &str) -> Option<String> {
        self.path
            .split('/')
            .flat_map(|segment| segment.split(';').skip(1))
            .find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                (k == name).then(|| decode(v))
            })
    }

    /// The body, parsed as JSON into `T`.
    ///
    /// # Panics
    ///
    /// If the body is not JSON of that shape (a failed assertion, in a test). The message names
    /// the request and the parse error, not the body.
    #[track_caller]
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "the body of {} {} is not the JSON expected: {e}",
                self.method,
                self.plain_path()
            )
        })
    }

    /// The body, parsed as an `application/x-www-form-urlencoded` form.
    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.body.as_bytes())
            .into_owned()
            .collect()
    }

    /// Whether this request matches `target`: an operation id, or (starting with `/`) a path,
    /// compared as sent or without matrix parameters.
    pub fn is(&self, target: &str) -> bool {
        if target.starts_with('/') {
            self.path == target || self.plain_path() == target
        } else {
            self.operation == Some(target)
        }
    }
}

/// A canned answer for [`on`](crate::FakeEjento::on) and its siblings: status, headers, body,
/// and an optional delay before it is sent.
///
/// ```
/// use cxkit_testkit::Reply;
///
/// let ok = Reply::json(&serde_json::json!({"success": true, "data": {"id": 7}}));
/// let busy = Reply::status(503).with_header("retry-after", "1");
/// let stream = Reply::sse("data: {\"step\":\"end\"}\n\n");
/// assert_eq!((ok.status_code(), busy.status_code(), stream.status_code()), (200, 503, 200));
/// ```
#[derive(Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
    delay: Duration,
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .field("delay", &self.delay)
            .finish()
    }
}

impl Reply {
    /// `200` with `value` serialized as the JSON body.
    ///
    /// # Panics
    ///
    /// If `value` cannot be serialized (a map with non-string keys, say): a broken test setup.
    #[track_caller]
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Reply {
        let body = serde_json::to_vec(value)
            .unwrap_or_else(|e| panic!("Reply::json: the value does not serialize: {e}"));
        Reply::status(200)
            .with_header("content-type", "application/json")
            .with_body(body)
    }

    /// `status` with an empty body.
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
            delay: Duration::ZERO,
        }
    }

    /// `status` with a JSON error body `{"detail": message, "message": message}` (the field
    /// Ejento's errors use and the one Proto and Platform28 use).
    pub fn error(status: u16, message: &str) -> Reply {
        Reply::json(&json!({ "detail": message, "message": message })).with_status(status)
    }

    /// `200` with a `text/event-stream` body, sent as is (write the `data: ...\n\n` frames).
    pub fn sse(body: impl Into<String>) -> Reply {
        Reply::status(200)
            .with_header("content-type", "text/event-stream")
            .with_body(body.into())
    }

    /// Any status, headers and body; without a `content-type` header the body is sent as
    /// `application/json`.
    pub fn raw(status: u16, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Reply {
        let mut reply = Reply::status(status).with_body(body);
        for (k, v) in headers {
            reply = reply.with_header(k, v);
        }
        reply
    }

    /// The same reply with another status.
    pub fn with_status(mut self, status: u16) -> Reply {
        self.status = status;
        self
    }

    /// The same reply with one more header.
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The same reply with another body.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Reply {
        self.body = body.into();
        self
    }

    /// The same reply, sent `delay` (on tokio's clock) after the request arrived.
    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }

    /// The status this reply answers with.
    pub fn status_code(&self) -> u16 {
        self.status
    }

    pub(crate) async fn into_response(self) -> Response {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let mut builder = Response::builder().status(self.status);
        for (k, v) in &self.headers {
            builder = builder.header(k, v);
        }
        if !self
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
        }
        builder
            .body(Body::from(self.body))
            .unwrap_or_else(|e| json_response(500, &json!({ "detail": e.to_string() })))
    }
}

/// [`on`](crate::FakeEjento::on) was given an operation id the fake does not serve.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnknownOperation {
    /// The id asked for.
    pub id: String,
    /// The fake's name, e.g. `FakeEjento`.
    pub fake: &'static str,
    /// Known ids that contain the asked-for one or are a typo away from it, for the message.
    pub suggestions: Vec<&'static str>,
}

impl fmt::Display for UnknownOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} serves no operation `{}`; use an `operationId` of the specs (the generated \
             crates' `SECURITY.operations` list them)",
            self.fake, self.id
        )?;
        if !self.suggestions.is_empty() {
            write!(f, "; did you mean {}?", self.suggestions.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownOperation {}

/// An operation a request matched, with its path parameters.
type Matched = (&'static OperationDef, Vec<(String, String)>);

/// A closure answering an operation.
type Handler = Arc<dyn Fn(&Recorded) -> Reply + Send + Sync>;

#[derive(Default)]
struct Route {
    /// One-shot replies, answered first and in order.
    queue: VecDeque<Reply>,
    /// The standing answer once the queue is empty.
    standing: Option<Handler>,
}

/// One operation table the fake serves, under a path prefix (Proto's `/gateway`, Platform28's
/// `/api`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Table {
    pub prefix: &'static str,
    pub api: &'static ApiSecurity,
}

/// The shared part of every fake.
pub(crate) struct Core {
    name: &'static str,
    tables: Vec<Table>,
    requests: Mutex<Vec<Recorded>>,
    arrivals: watch::Sender<usize>,
    scripts: Mutex<HashMap<(String, String), VecDeque<Reply>>>,
    routes: Mutex<HashMap<&'static str, Route>>,
    holds: Mutex<HashMap<String, Arc<Semaphore>>>,
    base_url: String,
}

impl fmt::Debug for Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(self.name)
            .field("base_url", &self.base_url)
            .field("requests", &lock(&self.requests).len())
            .field("scripted_operations", &lock(&self.routes).len())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not turn every later assertion into a poison error.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running fake's state: the shared core and the fake's own simulation state `S`.
pub(crate) struct Shared<S> {
    pub(crate) core: Core,
    st: Mutex<S>,
}

impl<S> Shared<S> {
    /// The simulation state, locked.
    pub(crate) fn st(&self) -> MutexGuard<'_, S> {
        lock(&self.st)
    }
}

impl<S: Send + 'static> Shared<S> {
    /// Binds `127.0.0.1:0` and serves every request with `handler` (which gets this state)
    /// until the returned task is aborted.
    pub(crate) async fn start<H, T>(
        name: &'static str,
        tables: Vec<Table>,
        state: S,
        handler: H,
    ) -> (Arc<Self>, JoinHandle<()>)
    where
        H: axum::handler::Handler<T, Arc<Self>>,
        T: 'static,
    {
        let (core, listener) = Core::bind(name, tables).await;
        let shared = Arc::new(Shared {
            core,
            st: Mutex::new(state),
        });
        let app = axum::Router::new()
            .fallback(handler)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (shared, task)
    }
}

/// What [`Core::intake`] made of a request.
pub(crate) enum Intake {
    /// A script, an operation reply or a refusal answered it.
    Answered(Response),
    /// The fake's own behaviour is asked.
    Native(Recorded),
}

impl Core {
    /// Binds `127.0.0.1:0` for a fake called `name` serving the operations of `tables`.
    async fn bind(name: &'static str, tables: Vec<Table>) -> (Core, tokio::net::TcpListener) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let base_url = format!("http://{}", listener.local_addr().expect("local address"));
        let core = Core {
            name,
            tables,
            requests: Mutex::new(Vec::new()),
            arrivals: watch::channel(0).0,
            scripts: Mutex::new(HashMap::new()),
            routes: Mutex::new(HashMap::new()),
            holds: Mutex::new(HashMap::new()),
            base_url,
        };
        (core, listener)
    }

    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Finds the operation `method path` belongs to: the match with the most literal segments
    /// wins (`/agents/bulk` over `/agents/{agent_id}`), a trailing slash is ignored.
    fn operation(&self, method: &str, path: &str) -> Option<Matched> {
        let mut best: Option<(usize, Matched)> = None;
        for table in &self.tables {
            let Some(rest) = path.strip_prefix(table.prefix) else {
                continue;
            };
            for op in table.api.operations {
                if !op.method.eq_ignore_ascii_case(method) {
                    continue;
                }
                if let Some((literal, params)) = match_template(op.path, rest)
                    && best.as_ref().is_none_or(|(l, _)| literal > *l)
                {
                    best = Some((literal, (op, params)));
                }
            }
        }
        best.map(|(_, matched)| matched)
    }

    /// Checks that `id` is an operation of this fake.
    pub(crate) fn known(&self, id: &str) -> Result<&'static str, UnknownOperation> {
        if let Some(op) = self.tables.iter().find_map(|t| t.api.operation(id)) {
            return Ok(op.id);
        }
        let wanted = id.to_ascii_lowercase();
        let suggestions = self
            .tables
            .iter()
            .flat_map(|t| t.api.operations)
            .map(|op| op.id)
            .filter(|known| known.contains(&*wanted) || edit_distance(known, &wanted) <= 2)
            .take(5)
            .collect();
        Err(UnknownOperation {
            id: id.to_owned(),
            fake: self.name,
            suggestions,
        })
    }

    pub(crate) fn set_standing(&self, id: &str, handler: Handler) -> Result<(), UnknownOperation> {
        let id = self.known(id)?;
        lock(&self.routes).entry(id).or_default().standing = Some(handler);
        Ok(())
    }

    pub(crate) fn enqueue(
        &self,
        id: &str,
        replies: impl IntoIterator<Item = Reply>,
    ) -> Result<(), UnknownOperation> {
        let id = self.known(id)?;
        lock(&self.routes)
            .entry(id)
            .or_default()
            .queue
            .extend(replies);
        Ok(())
    }

    pub(crate) fn clear(&self, id: &str) -> Result<(), UnknownOperation> {
        let id = self.known(id)?;
        lock(&self.routes).remove(id);
        Ok(())
    }

    pub(crate) fn script(&self, method: &str, path: &str, reply: Reply) {
        lock(&self.scripts)
            .entry((method.to_ascii_uppercase(), path.to_owned()))
            .or_default()
            .push_back(reply);
    }

    pub(crate) fn hold(&self, path: &str) {
        lock(&self.holds).insert(path.to_owned(), Arc::new(Semaphore::new(0)));
    }

    pub(crate) fn release(&self, path: &str) {
        if let Some(gate) = lock(&self.holds).remove(path) {
            gate.close();
        }
    }

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        lock(&self.requests).clone()
    }

    pub(crate) fn requests_to(&self, target: &str) -> Vec<Recorded> {
        lock(&self.requests)
            .iter()
            .filter(|r| r.is(target))
            .cloned()
            .collect()
    }

    pub(crate) fn count(&self, target: &str) -> usize {
        lock(&self.requests).iter().filter(|r| r.is(target)).count()
    }

    pub(crate) async fn wait_for(&self, target: &str, n: usize) {
        let mut rx = self.arrivals.subscribe();
        loop {
            if self.count(target) >= n {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// Records the request, waits while its path is held, then answers it from a script for
    /// its path, or from its operation's replies (after `guard`, which refuses a request whose
    /// credential the fake does not accept). Anything else is left to the fake.
    pub(crate) async fn intake(
        &self,
        request: Request,
        guard: impl FnOnce(&OperationDef, &Recorded) -> Option<Response>,
    ) -> Intake {
        let (parts, body) = request.into_parts();
        let body: Bytes = axum::body::to_bytes(body, BODY_LIMIT)
            .await
            .unwrap_or_default();
        let path = parts.uri.path().to_owned();
        let plain = strip_matrix(&path);
        let method = parts.method.to_string();
        let matched = self.operation(&method, &plain);
        let recorded = Recorded {
            method: method.clone(),
            path: path.clone(),
            query: parts.uri.query().map(str::to_owned),
            headers: parts
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: String::from_utf8_lossy(&body).into_owned(),
            at: tokio::time::Instant::now(),
            operation: matched.as_ref().map(|(op, _)| op.id),
            params: matched.as_ref().map(|(_, p)| p.clone()).unwrap_or_default(),
        };
        lock(&self.requests).push(recorded.clone());
        self.arrivals.send_modify(|n| *n += 1);

        let hold = lock(&self.holds).get(&path).cloned();
        if let Some(gate) = hold {
            // A closed semaphore lets everyone through.
            let _ = gate.acquire().await;
        }
        let scripted = lock(&self.scripts)
            .get_mut(&(method, plain))
            .and_then(VecDeque::pop_front);
        if let Some(reply) = scripted {
            return Intake::Answered(reply.into_response().await);
        }
        let Some((op, _)) = matched else {
            return Intake::Native(recorded);
        };
        let scripted = lock(&self.routes).contains_key(op.id);
        if !scripted {
            return Intake::Native(recorded);
        }
        if let Some(refused) = guard(op, &recorded) {
            return Intake::Answered(refused);
        }
        let reply = {
            let mut routes = lock(&self.routes);
            let route = routes.entry(op.id).or_default();
            route
                .queue
                .pop_front()
                .map(Ok)
                .or_else(|| route.standing.clone().map(Err))
        };
        match reply {
            Some(Ok(reply)) => Intake::Answered(reply.into_response().await),
            Some(Err(handler)) => Intake::Answered(handler(&recorded).into_response().await),
            // A queue that ran dry with no standing reply: the fake's own behaviour again.
            None => Intake::Native(recorded),
        }
    }

    /// The answer to a request neither a script, an operation reply nor the fake took: `501`
    /// naming the operation (so a test sees which reply it forgot), or `404` for a path no
    /// operation has.
    pub(crate) fn unanswered(&self, request: &Recorded) -> Response {
        match request.operation {
            Some(id) => json_response(
                501,
                &json!({
                    "detail": format!(
                        "{}: no reply scripted for operation `{id}`; add one with `.on(\"{id}\", Reply::json(&...))`",
                        self.name
                    ),
                    "operation": id,
                }),
            ),
            None => json_response(404, &json!({ "detail": "Not Found" })),
        }
    }
}

/// Matches `path` against `template` (`/a/{x}/b`): the number of literal segments and the
/// parameters, or `None`.
fn match_template(template: &str, path: &str) -> Option<(usize, Vec<(String, String)>)> {
    let template = template.strip_suffix('/').unwrap_or(template);
    let path = path.strip_suffix('/').unwrap_or(path);
    let mut t = template.split('/');
    let mut p = path.split('/');
    let mut literal = 0;
    let mut params = Vec::new();
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some((literal, params)),
            (Some(ts), Some(ps)) => {
                if let Some(name) = ts.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    if ps.is_empty() {
                        return None;
                    }
                    params.push((name.to_owned(), decode(ps)));
                } else if ts == ps {
                    literal += 1;
                } else {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// Levenshtein distance, for suggesting the operation id a test probably meant.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// `/a;x=1/b;y=2` → `/a/b`.
pub fn strip_matrix(path: &str) -> String {
    path.split('/')
        .map(|segment| segment.split(';').next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("/")
}

pub(crate) fn json_response(status: u16, body: &Value) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("a valid response")
}

/// The methods every fake has, delegating to its [`Core`] (one copy of the docs and code for
/// the three fakes).
macro_rules! common_methods {
    ($fake:ident) => {
        impl Drop for $fake {
            fn drop(&mut self) {
                self.task.abort();
            }
        }

        /// The base URL and how much was recorded and scripted; never a token the fake issued.
        impl std::fmt::Debug for $fake {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(&self.shared.core, f)
            }
        }

        impl $fake {
            /// `http://127.0.0.1:<port>`.
            pub fn base_url(&self) -> &str {
                self.shared.core.base_url()
            }

            /// Every request to operation `operation` answers `reply` from now on (after any
            /// one-shot replies queued with [`once`](Self::once)). The fake still checks the
            /// credential first, as the real service would.
            ///
            /// # Panics
            ///
            /// If the fake serves no operation with that `operationId` (a broken test setup; the
            /// message suggests close ids). [`try_on`](Self::try_on) returns the error instead.
            #[track_caller]
            pub fn on(&self, operation: &str, reply: Reply) -> &Self {
                self.try_on(operation, reply)
                    .unwrap_or_else(|e| panic!("{e}"))
            }

            /// [`on`](Self::on), returning an unknown operation id as an error.
            pub fn try_on(
                &self,
                operation: &str,
                reply: Reply,
            ) -> Result<&Self, $crate::UnknownOperation> {
                self.shared
                    .core
                    .set_standing(operation, std::sync::Arc::new(move |_| reply.clone()))?;
                Ok(self)
            }

            /// Every request to `operation` is answered by `answer`, which sees the recorded
            /// request ([`Recorded::param`] gives the path parameters, [`Recorded::json`] the
            /// body).
            ///
            /// # Panics
            ///
            /// If the fake serves no such operation, like [`on`](Self::on).
            #[track_caller]
            pub fn on_fn(
                &self,
                operation: &str,
                answer: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
            ) -> &Self {
                self.shared
                    .core
                    .set_standing(operation, std::sync::Arc::new(answer))
                    .unwrap_or_else(|e| panic!("{e}"));
                self
            }

            /// The next request to `operation` answers `reply`, once (queued after earlier
            /// one-shot replies; the standing reply or the fake's own behaviour follows).
            ///
            /// # Panics
            ///
            /// If the fake serves no such operation, like [`on`](Self::on).
            #[track_caller]
            pub fn once(&self, operation: &str, reply: Reply) -> &Self {
                self.on_sequence(operation, [reply])
            }

            /// The next requests to `operation` answer `replies`, one each, in order: the form
            /// for faults (`[Reply::status(503), Reply::status(503)]` then the standing reply).
            ///
            /// # Panics
            ///
            /// If the fake serves no such operation, like [`on`](Self::on).
            #[track_caller]
            pub fn on_sequence(
                &self,
                operation: &str,
                replies: impl IntoIterator<Item = Reply>,
            ) -> &Self {
                self.shared
                    .core
                    .enqueue(operation, replies)
                    .unwrap_or_else(|e| panic!("{e}"));
                self
            }

            /// Forgets every reply scripted for `operation`: the fake's own behaviour (or `501`)
            /// answers again.
            ///
            /// # Panics
            ///
            /// If the fake serves no such operation, like [`on`](Self::on).
            #[track_caller]
            pub fn clear(&self, operation: &str) -> &Self {
                self.shared
                    .core
                    .clear(operation)
                    .unwrap_or_else(|e| panic!("{e}"));
                self
            }

            /// The next request `method path` answers `status`, `headers`, `body` instead of
            /// whatever else would (scripts for the same request are answered in order; no
            /// credential is checked). Works for any path; matrix parameters in the request's
            /// path are ignored when matching; without a `content-type` the body is sent as
            /// JSON.
            pub fn script(
                &self,
                method: &str,
                path: &str,
                status: u16,
                headers: &[(&str, &str)],
                body: &str,
            ) {
                self.shared.core.script(
                    method,
                    path,
                    Reply::raw(status, headers, body.as_bytes().to_vec()),
                );
            }

            /// Requests to `path` (exactly as sent) are recorded, then wait until
            /// [`release`](Self::release).
            pub fn hold(&self, path: &str) {
                self.shared.core.hold(path);
            }

            /// Lets held requests to `path` (and later ones) through.
            pub fn release(&self, path: &str) {
                self.shared.core.release(path);
            }

            /// Every request so far, in arrival order.
            pub fn requests(&self) -> Vec<Recorded> {
                self.shared.core.requests()
            }

            /// The requests to `target`: an operation id (`"get_agent"`), or a path starting
            /// with `/` (matrix parameters ignored).
            pub fn requests_to(&self, target: &str) -> Vec<Recorded> {
                self.shared.core.requests_to(target)
            }

            /// How many requests went to `target` (an operation id or a path, as in
            /// [`requests_to`](Self::requests_to)).
            pub fn count(&self, target: &str) -> usize {
                self.shared.core.count(target)
            }

            /// Waits until at least `n` requests have gone to `target` (no timeout: a test that
            /// never gets them hangs until its harness kills it, which is the failure; wrap it
            /// in `tokio::time::timeout` for a quicker one).
            pub async fn wait_for(&self, target: &str, n: usize) {
                self.shared.core.wait_for(target, n).await;
            }
        }
    };
}

pub(crate) use common_methods;

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn templates_match_segments_and_ignore_a_trailing_slash() {
        assert_eq!(
            match_template("/api/v2/agents/{agent_id}", "/api/v2/agents/7/"),
            Some((4, vec![("agent_id".into(), "7".into())]))
        );
        assert_eq!(
            match_template("/api/v2/agents/{agent_id}", "/api/v2/agents/"),
            None
        );
        assert_eq!(
            match_template("/api/v2/agents/{agent_id}", "/api/v2/agents/7/x"),
            None
        );
        assert_eq!(
            match_template("/session/{sessionId}", "/session/a%20b"),
            Some((2, vec![("sessionId".into(), "a b".into())]))
        );
    }

    #[test]
    fn edit_distance_counts_typos() {
        assert_eq!(edit_distance("get_agent", "get_agnet"), 2);
        assert_eq!(edit_distance("get_agent", "get_agents"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn matrix_parameters_are_found_and_stripped() {
        assert_eq!(strip_matrix("/api/session/S1;lsid=x"), "/api/session/S1");
        let r = Recorded {
            method: "GET".into(),
            path: "/api/session/S1;lsid=a%2Fb".into(),
            query: Some("apiKey=k&x=1".into()),
            headers: vec![("authorization".into(), "Bearer t".into())],
            body: r#"{"a":1}"#.into(),
            at: tokio::time::Instant::now(),
            operation: Some("get_session"),
            params: vec![],
        };
        assert_eq!(r.matrix_param("lsid").as_deref(), Some("a/b"));
        assert_eq!(r.query_param("apiKey").as_deref(), Some("k"));
        assert_eq!(r.bearer(), Some("t"));
        assert_eq!(r.json::<Value>()["a"], 1);
        assert!(r.is("get_session") && r.is("/api/session/S1") && !r.is("get_agent"));
    }
}
