//! A stateful fake of Ejento: the Authentication App (per `specs/ejento-auth.yaml`) and the
//! platform API (per `specs/ejento-platform.yaml`), on `127.0.0.1:0`.
//!
//! The Authentication App is simulated: it issues JWT-shaped tokens (`header.payload.sig`, the
//! payload base64url JSON `{"sub","iat","exp","n","aud"}`) with a configurable lifetime, keeps
//! users, codes and tokens, counts refresh calls, and can be told to fail in chosen ways: revoke
//! tokens, fail the next refreshes, delay refreshes, answer 401 once for a token, answer 503 to
//! the next feature-flag reads or logins, hold requests to a path until released, or answer a
//! scripted response on any path.
//!
//! The platform's operations answer what a test scripts per operation id
//! ([`FakeEjento::on`] and its siblings), and only to the Ejento (platform) token the fake
//! issued: a request without it, with a revoked one or with the Authentication App token gets
//! `401`, so a client's refresh-on-401 can be tested. An operation nothing was scripted for
//! answers `501` naming the operation id.
//!
//! Start one per test with [`FakeEjento::start`]; it stops when dropped.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

/// The password login path.
pub const LOGIN: &str = "/auth-service/api/v2/login/access-token";
/// The "email me a code" path.
pub const REQUEST_CODE: &str = "/auth-service/api/v2/login/passwordless/request-token";
/// The code exchange path.
pub const EXCHANGE_CODE: &str = "/auth-service/api/v2/login/passwordless/exchange-tokens";
/// The refresh path.
pub const REFRESH: &str = "/auth-service/api/v2/users/refresh-access-token";
/// The sign-up path.
pub const SIGNUP: &str = "/auth-service/api/v2/users/signup";
/// The "change my password" path (bearer: the Authentication App token).
pub const PASSWORD: &str = "/auth-service/api/v2/users/me/password";
/// The login feature flags path (no credential needed).
pub const FEATURE_FLAGS: &str = "/auth-service/api/v2/feature-flags/logins";
/// The legacy users list (bearer: the Authentication App token; a GET, so retried).
pub const USERS: &str = "/api/users/";
/// Where the fake's SSO redirect points (never served: a client must not follow it).
pub const IDP_PREFIX: &str = "/idp/";

/// The user every fake starts with.
pub const USER: &str = "user@example.com";
/// That user's password.
pub const PASSWORD_OF_USER: &str = "correct-horse-battery";

/// One request as it arrived.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The raw query, if any.
    pub query: Option<String>,
    /// Every header, names lower-case, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
    /// When it arrived, on tokio's clock (virtual under paused time).
    pub at: tokio::time::Instant,
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
}

/// A token pair the fake issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    /// The Authentication App token (`access_token`).
    pub auth_app: String,
    /// The Ejento platform token (`ejento_access_token`).
    pub ejento: String,
    /// The issue counter.
    pub n: u64,
    /// Whom it was issued to.
    pub sub: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    AuthApp,
    Ejento,
}

#[derive(Debug)]
struct TokenInfo {
    sub: String,
    kind: Kind,
    revoked: bool,
}

#[derive(Debug)]
struct Scripted {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

#[derive(Debug)]
struct Config {
    lifetime: Duration,
    token_prefix: String,
    code_prefix: String,
    iat_offset: i64,
    rotate_on_refresh: bool,
}

#[derive(Debug)]
struct St {
    config: Config,
    users: HashMap<String, String>,
    counter: u64,
    tokens: HashMap<String, TokenInfo>,
    issued: Vec<Issued>,
    codes: HashMap<String, String>,
    sent_codes: Vec<String>,
    requests: Vec<Recorded>,
    refresh_calls: usize,
    fail_refreshes: usize,
    refresh_delay: Duration,
    reject_once: HashSet<String>,
    unauthorized_next: usize,
    fail_flags: usize,
    flags_retry_after: Option<String>,
    fail_logins: usize,
    scripts: HashMap<(String, String), VecDeque<Scripted>>,
    holds: HashMap<String, Arc<Semaphore>>,
}

#[derive(Debug)]
struct Shared {
    st: Mutex<St>,
    arrivals: watch::Sender<usize>,
    base_url: String,
}

impl Shared {
    fn st(&self) -> MutexGuard<'_, St> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running fake Authentication App; stops when dropped.
#[derive(Debug)]
pub struct FakeEjento {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for FakeEjento {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeEjento {
    /// Starts a fake with one user ([`USER`] / [`PASSWORD_OF_USER`]) issuing one-hour tokens.
    pub async fn start() -> FakeEjento {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let base_url = format!("http://{}", listener.local_addr().expect("local address"));
        let shared = Arc::new(Shared {
            st: Mutex::new(St {
                config: Config {
                    lifetime: Duration::from_secs(3600),
                    token_prefix: "sig".to_owned(),
                    code_prefix: "code".to_owned(),
                    iat_offset: 0,
                    rotate_on_refresh: false,
                },
                users: HashMap::from([(USER.to_owned(), PASSWORD_OF_USER.to_owned())]),
                counter: 0,
                tokens: HashMap::new(),
                issued: Vec::new(),
                codes: HashMap::new(),
                sent_codes: Vec::new(),
                requests: Vec::new(),
                refresh_calls: 0,
                fail_refreshes: 0,
                refresh_delay: Duration::ZERO,
                reject_once: HashSet::new(),
                unauthorized_next: 0,
                fail_flags: 0,
                flags_retry_after: None,
                fail_logins: 0,
                scripts: HashMap::new(),
                holds: HashMap::new(),
            }),
            arrivals: watch::channel(0).0,
            base_url,
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeEjento { shared, task }
    }

    // ---- configuration ----------------------------------------------------------------------

    /// The lifetime (`exp - iat`) of tokens issued from now on.
    pub fn set_lifetime(&self, lifetime: Duration) {
        self.shared.st().config.lifetime = lifetime;
    }

    /// Puts `prefix` at the start of every token's signature part (and of nothing else), so a
    /// test can search output for it.
    pub fn set_token_prefix(&self, prefix: &str) {
        self.shared.st().config.token_prefix = prefix.to_owned();
    }

    /// Emailed codes start with `prefix`.
    pub fn set_code_prefix(&self, prefix: &str) {
        self.shared.st().config.code_prefix = prefix.to_owned();
    }

    /// Shifts the server's clock (its `iat`/`exp`) by `secs`, to simulate clock skew.
    pub fn set_clock_offset(&self, secs: i64) {
        self.shared.st().config.iat_offset = secs;
    }

    /// Whether a refresh revokes the Authentication App token it was authorized with (token
    /// rotation).
    pub fn set_rotate_on_refresh(&self, rotate: bool) {
        self.shared.st().config.rotate_on_refresh = rotate;
    }

    /// Adds (or replaces) a user.
    pub fn add_user(&self, email: &str, password: &str) {
        self.shared
            .st()
            .users
            .insert(email.to_owned(), password.to_owned());
    }

    // ---- failure injection ------------------------------------------------------------------

    /// Revokes a token: every later use answers 401.
    pub fn revoke(&self, token: &str) {
        if let Some(info) = self.shared.st().tokens.get_mut(token) {
            info.revoked = true;
        }
    }

    /// Revokes every token issued so far.
    pub fn revoke_all(&self) {
        for info in self.shared.st().tokens.values_mut() {
            info.revoked = true;
        }
    }

    /// The next `n` refresh calls answer 500 (with a body that echoes the bearer token).
    pub fn fail_next_refreshes(&self, n: usize) {
        self.shared.st().fail_refreshes = n;
    }

    /// Every refresh waits `delay` (on tokio's clock) before answering.
    pub fn delay_refreshes(&self, delay: Duration) {
        self.shared.st().refresh_delay = delay;
    }

    /// The next request that carries `token` to a protected endpoint other than refresh
    /// answers 401 (once).
    pub fn reject_once(&self, token: &str) {
        self.shared.st().reject_once.insert(token.to_owned());
    }

    /// The next `n` requests to protected endpoints other than refresh answer 401, whatever
    /// token they carry.
    pub fn unauthorized_next(&self, n: usize) {
        self.shared.st().unauthorized_next = n;
    }

    /// The next `n` feature-flag reads answer 503, with `Retry-After: retry_after` if given.
    pub fn fail_feature_flags(&self, n: usize, retry_after: Option<&str>) {
        let mut st = self.shared.st();
        st.fail_flags = n;
        st.flags_retry_after = retry_after.map(str::to_owned);
    }

    /// The next `n` password logins answer 503.
    pub fn fail_next_logins(&self, n: usize) {
        self.shared.st().fail_logins = n;
    }

    /// The next request `method path` answers this instead of what the fake would answer
    /// (scripts for the same request are answered in order). Works for any path; matrix
    /// parameters in the request's path are ignored when matching.
    pub fn script(
        &self,
        method: &str,
        path: &str,
        status: u16,
        headers: &[(&str, &str)],
        body: &str,
    ) {
        self.shared
            .st()
            .scripts
            .entry((method.to_ascii_uppercase(), path.to_owned()))
            .or_default()
            .push_back(Scripted {
                status,
                headers: headers
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                body: body.to_owned(),
            });
    }

    /// Requests to `path` are recorded, then wait until [`FakeEjento::release`].
    pub fn hold(&self, path: &str) {
        self.shared
            .st()
            .holds
            .insert(path.to_owned(), Arc::new(Semaphore::new(0)));
    }

    /// Lets held requests to `path` (and later ones) through.
    pub fn release(&self, path: &str) {
        if let Some(gate) = self.shared.st().holds.remove(path) {
            gate.close();
        }
    }

    // ---- observation ------------------------------------------------------------------------

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.st().requests.clone()
    }

    /// The requests to `path` (matrix parameters ignored).
    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.shared
            .st()
            .requests
            .iter()
            .filter(|r| r.path == path || r.plain_path() == path)
            .cloned()
            .collect()
    }

    /// How many requests went to `path` (matrix parameters ignored).
    pub fn count(&self, path: &str) -> usize {
        self.requests_to(path).len()
    }

    /// How many refresh calls arrived (whatever their outcome).
    pub fn refresh_calls(&self) -> usize {
        self.shared.st().refresh_calls
    }

    /// Every token pair issued, in order.
    pub fn issued(&self) -> Vec<Issued> {
        self.shared.st().issued.clone()
    }

    /// The last pair issued.
    pub fn last_issued(&self) -> Issued {
        self.issued().pop().expect("the fake issued no tokens yet")
    }

    /// The codes "emailed" so far.
    pub fn sent_codes(&self) -> Vec<String> {
        self.shared.st().sent_codes.clone()
    }

    /// Waits until at least `n` requests have gone to `path` (no timeout: a test that never
    /// gets them hangs and is killed by the harness, which is the failure).
    pub async fn wait_for(&self, path: &str, n: usize) {
        let mut rx = self.shared.arrivals.subscribe();
        loop {
            if self.count(path) >= n {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }
}

// ---- the server -------------------------------------------------------------------------------

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn json_response(status: u16, body: &Value) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("a valid response")
}

fn detail(status: u16, text: &str) -> Response {
    json_response(status, &json!({ "detail": text }))
}

fn unauthorized() -> Response {
    let mut r = detail(401, "Could not validate credentials");
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, "Bearer".parse().expect("header"));
    r
}

/// Why a bearer token was refused.
#[derive(Clone, Copy, Debug)]
enum Denied {
    Missing,
    Invalid,
}

impl Denied {
    fn response(self) -> Response {
        match self {
            Denied::Missing => detail(401, "Not authenticated"),
            Denied::Invalid => unauthorized(),
        }
    }
}

impl St {
    fn token(&mut self, sub: &str, kind: Kind, n: u64) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs() as i64
            + self.config.iat_offset;
        let exp = now + self.config.lifetime.as_secs() as i64;
        let aud = match kind {
            Kind::AuthApp => "auth-app",
            Kind::Ejento => "ejento",
        };
        let header = b64(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = b64(
            json!({"sub": sub, "iat": now, "exp": exp, "n": n, "aud": aud})
                .to_string()
                .as_bytes(),
        );
        let sig = format!(
            "{}-{aud}-{n}-{}",
            self.config.token_prefix,
            b64(&n.to_be_bytes())
        );
        let token = format!("{header}.{payload}.{sig}");
        self.tokens.insert(
            token.clone(),
            TokenInfo {
                sub: sub.to_owned(),
                kind,
                revoked: false,
            },
        );
        token
    }

    fn issue(&mut self, sub: &str) -> Response {
        self.counter += 1;
        let n = self.counter;
        let auth_app = self.token(sub, Kind::AuthApp, n);
        let ejento = self.token(sub, Kind::Ejento, n);
        self.issued.push(Issued {
            auth_app: auth_app.clone(),
            ejento: ejento.clone(),
            n,
            sub: sub.to_owned(),
        });
        json_response(
            200,
            &json!({
                "success": true,
                "message": "ok",
                "data": {
                    "access_token": auth_app,
                    "ejento_access_token": ejento,
                    "token_type": "bearer",
                }
            }),
        )
    }

    /// Checks an Authentication App bearer token. `op` applies the one-shot 401 injections
    /// (refresh has its own).
    fn authenticate(&mut self, headers: &HeaderMap, op: bool) -> Result<String, Denied> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(Denied::Missing)?
            .to_owned();
        if op && self.unauthorized_next > 0 {
            self.unauthorized_next -= 1;
            return Err(Denied::Invalid);
        }
        if op && self.reject_once.remove(&token) {
            return Err(Denied::Invalid);
        }
        match self.tokens.get(&token) {
            Some(info) if !info.revoked && info.kind == Kind::AuthApp => Ok(info.sub.clone()),
            _ => Err(Denied::Invalid),
        }
    }
}

/// `/a;x=1/b;y=2` → `/a/b`.
pub fn strip_matrix(path: &str) -> String {
    path.split('/')
        .map(|segment| segment.split(';').next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("/")
}

fn body_json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or(Value::Null)
}

fn field<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(Value::as_str)
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let body = String::from_utf8_lossy(&body).into_owned();
    let path = parts.uri.path().to_owned();
    let method = parts.method.clone();
    let recorded = Recorded {
        method: method.to_string(),
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
        body: body.clone(),
        at: tokio::time::Instant::now(),
    };
    let (scripted, hold) = {
        let mut st = shared.st();
        st.requests.push(recorded);
        if path == REFRESH {
            st.refresh_calls += 1;
        }
        let scripted = st
            .scripts
            .get_mut(&(method.to_string(), strip_matrix(&path)))
            .and_then(VecDeque::pop_front);
        (scripted, st.holds.get(&path).cloned())
    };
    shared.arrivals.send_modify(|n| *n += 1);

    if let Some(gate) = hold {
        // A closed semaphore lets everyone through.
        let _ = gate.acquire().await;
    }
    if let Some(s) = scripted {
        let mut builder = Response::builder().status(s.status);
        for (k, v) in &s.headers {
            builder = builder.header(k, v);
        }
        if !s
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
        }
        return builder.body(Body::from(s.body)).expect("a valid response");
    }

    if path == REFRESH && method == Method::POST {
        let delay = shared.st().refresh_delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }

    let mut st = shared.st();
    let headers = &parts.headers;
    match (&method, path.as_str()) {
        (&Method::POST, LOGIN) => {
            if st.fail_logins > 0 {
                st.fail_logins -= 1;
                return detail(503, "Service Unavailable");
            }
            let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
                .into_owned()
                .collect();
            let (Some(user), Some(password)) = (form.get("username"), form.get("password")) else {
                return detail(422, "username and password are required");
            };
            if st.users.get(user) != Some(password) {
                return detail(400, "Incorrect email or password");
            }
            let user = user.clone();
            st.issue(&user)
        }
        (&Method::POST, REQUEST_CODE) => {
            let v = body_json(&body);
            let Some(email) = field(&v, "email") else {
                return detail(422, "email is required");
            };
            if st.users.contains_key(email) {
                st.counter += 1;
                let code = format!("{}{}", st.config.code_prefix, st.counter);
                st.codes.insert(code.clone(), email.to_owned());
                st.sent_codes.push(code);
            }
            json_response(
                200,
                &json!({"success": true, "message": "If the account exists, a code was sent"}),
            )
        }
        (&Method::POST, EXCHANGE_CODE) => {
            let v = body_json(&body);
            let code = field(&v, "code").unwrap_or_default().to_owned();
            let Some(user) = st.codes.remove(&code) else {
                return detail(400, "Invalid or expired code");
            };
            st.issue(&user)
        }
        (&Method::POST, REFRESH) => {
            if st.fail_refreshes > 0 {
                st.fail_refreshes -= 1;
                let echoed = headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                return json_response(
                    500,
                    &json!({"detail": format!("internal error while refreshing {echoed}")}),
                );
            }
            let sub = match st.authenticate(headers, false) {
                Ok(sub) => sub,
                Err(denied) => return denied.response(),
            };
            if st.config.rotate_on_refresh
                && let Some(old) = headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .map(str::to_owned)
                && let Some(info) = st.tokens.get_mut(&old)
            {
                info.revoked = true;
            }
            st.issue(&sub)
        }
        (&Method::POST, SIGNUP) => {
            let v = body_json(&body);
            let (Some(email), Some(password)) = (field(&v, "email"), field(&v, "password")) else {
                return detail(422, "email and password are required");
            };
            if st.users.contains_key(email) {
                return detail(
                    400,
                    "The user with this email already exists in the system.",
                );
            }
            st.users.insert(email.to_owned(), password.to_owned());
            st.counter += 1;
            json_response(
                200,
                &json!({
                    "id": st.counter,
                    "email": email,
                    "full_name": v.get("full_name"),
                    "is_active": true,
                    "is_superuser": false,
                }),
            )
        }
        (&Method::PATCH, PASSWORD) => {
            let sub = match st.authenticate(headers, true) {
                Ok(sub) => sub,
                Err(denied) => return denied.response(),
            };
            let v = body_json(&body);
            let (Some(current), Some(new)) =
                (field(&v, "current_password"), field(&v, "new_password"))
            else {
                return detail(422, "current_password and new_password are required");
            };
            if st.users.get(&sub).map(String::as_str) != Some(current) {
                return detail(400, "Incorrect password");
            }
            st.users.insert(sub, new.to_owned());
            json_response(
                200,
                &json!({"success": true, "message": "Password updated successfully"}),
            )
        }
        (&Method::GET, FEATURE_FLAGS) => {
            if st.fail_flags > 0 {
                st.fail_flags -= 1;
                let mut r = detail(503, "Service Unavailable");
                if let Some(after) = &st.flags_retry_after {
                    r.headers_mut()
                        .insert(header::RETRY_AFTER, after.parse().expect("header"));
                }
                return r;
            }
            json_response(
                200,
                &json!({"success": true, "message": null,
                        "data": {"password": true, "passwordless": true, "google": false}}),
            )
        }
        (&Method::GET, USERS) => {
            let sub = match st.authenticate(headers, true) {
                Ok(sub) => sub,
                Err(denied) => return denied.response(),
            };
            json_response(
                200,
                &json!({"data": [{"id": 1, "email": sub, "is_active": true}], "count": 1}),
            )
        }
        (&Method::GET, p)
            if p.starts_with("/auth-service/api/v2/sso/") && p.ends_with("/login") =>
        {
            let provider = p
                .trim_start_matches("/auth-service/api/v2/sso/")
                .trim_end_matches("/login");
            let next = url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                .find(|(k, _)| k == "next")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
            Response::builder()
                .status(StatusCode::FOUND)
                .header(
                    header::LOCATION,
                    format!(
                        "{}{IDP_PREFIX}{provider}/authorize?next={next}",
                        shared.base_url
                    ),
                )
                .body(Body::empty())
                .expect("a valid response")
        }
        _ => detail(404, "Not Found"),
    }
}
