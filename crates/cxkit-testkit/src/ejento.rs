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

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use cxkit_auth::OperationDef;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

pub use crate::answers::{
    AGENT_RESPONSE_ID, DEEP_AGENT_CONTAINER, DEEP_AGENT_FILE, DEEP_AGENT_PLAN,
    DEEP_AGENT_PLAN_DONE, SseAnswer, THREAD_ID,
};
use crate::server::{Intake, Shared, Table, common_methods, json_response};
pub use crate::server::{Recorded, Reply, strip_matrix};

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
    /// The Authentication App token the refresh that issued it was authorized with (`None` for
    /// a login): how a test counts refreshes per expiry.
    pub refreshed_from: Option<String>,
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
    /// The `exp` claim, on the server's (offset) clock.
    exp: i64,
}

#[derive(Debug)]
struct Config {
    lifetime: Duration,
    token_prefix: String,
    code_prefix: String,
    iat_offset: i64,
    rotate_on_refresh: bool,
    enforce_expiry: bool,
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
    fail_refreshes: usize,
    refresh_delay: Duration,
    reject_once: HashSet<String>,
    unauthorized_next: usize,
    fail_flags: usize,
    flags_retry_after: Option<String>,
    fail_logins: usize,
}

/// A running fake Authentication App; stops when dropped.
pub struct FakeEjento {
    shared: Arc<Shared<St>>,
    task: JoinHandle<()>,
}

impl FakeEjento {
    /// Starts a fake with one user ([`USER`] / [`PASSWORD_OF_USER`]) issuing one-hour tokens.
    pub async fn start() -> FakeEjento {
        let state = St {
            config: Config {
                lifetime: Duration::from_secs(3600),
                token_prefix: "sig".to_owned(),
                code_prefix: "code".to_owned(),
                iat_offset: 0,
                rotate_on_refresh: false,
                enforce_expiry: false,
            },
            users: HashMap::from([(USER.to_owned(), PASSWORD_OF_USER.to_owned())]),
            counter: 0,
            tokens: HashMap::new(),
            issued: Vec::new(),
            codes: HashMap::new(),
            sent_codes: Vec::new(),
            fail_refreshes: 0,
            refresh_delay: Duration::ZERO,
            reject_once: HashSet::new(),
            unauthorized_next: 0,
            fail_flags: 0,
            flags_retry_after: None,
            fail_logins: 0,
        };
        let (shared, task) = Shared::start("FakeEjento", tables(), state, handle).await;
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

    /// Whether a token past its `exp` (on the server's clock, real time shifted by
    /// [`set_clock_offset`](Self::set_clock_offset)) is refused with `401` like a revoked one.
    /// Off by default, so tests that move a client's manual clock are not disturbed by the real
    /// one; a zero [`set_lifetime`](Self::set_lifetime) then issues tokens that are refused at
    /// once.
    pub fn set_enforce_expiry(&self, enforce: bool) {
        self.shared.st().config.enforce_expiry = enforce;
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

    // ---- observation ------------------------------------------------------------------------

    /// How many refresh calls arrived (whatever their outcome).
    pub fn refresh_calls(&self) -> usize {
        self.shared.core.count(REFRESH)
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

    /// Answers every "Stream Agent Response (SSE)" call with `answer` (to the platform token
    /// only, like every scripted operation): [`SseAnswer::classic`], [`SseAnswer::deep_agent`],
    /// or frames of the test's own.
    pub fn stream_answer(&self, answer: &SseAnswer) -> &Self {
        self.on("stream_agent_response", answer.reply())
    }
}

common_methods!(FakeEjento);

// ---- the server -------------------------------------------------------------------------------

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
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
    /// Now on the server's clock (the real one, shifted by the configured skew), in seconds.
    fn now(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs() as i64
            + self.config.iat_offset
    }

    /// Whether `info` is past its `exp` and the fake was told to refuse such tokens.
    fn expired(&self, info: &TokenInfo) -> bool {
        self.config.enforce_expiry && self.now() >= info.exp
    }

    fn token(&mut self, sub: &str, kind: Kind, n: u64) -> String {
        let now = self.now();
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
                exp,
            },
        );
        token
    }

    fn issue(&mut self, sub: &str) -> Response {
        self.issue_from(sub, None)
    }

    fn issue_from(&mut self, sub: &str, refreshed_from: Option<String>) -> Response {
        self.counter += 1;
        let n = self.counter;
        let auth_app = self.token(sub, Kind::AuthApp, n);
        let ejento = self.token(sub, Kind::Ejento, n);
        self.issued.push(Issued {
            auth_app: auth_app.clone(),
            ejento: ejento.clone(),
            n,
            sub: sub.to_owned(),
            refreshed_from,
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

    /// Checks a bearer token of `kind` (the Authentication App's, or the platform's). `op`
    /// applies the one-shot 401 injections (refresh has its own).
    fn authenticate(&mut self, request: &Recorded, kind: Kind, op: bool) -> Result<String, Denied> {
        let token = request.bearer().ok_or(Denied::Missing)?.to_owned();
        if op && self.unauthorized_next > 0 {
            self.unauthorized_next -= 1;
            return Err(Denied::Invalid);
        }
        if op && self.reject_once.remove(&token) {
            return Err(Denied::Invalid);
        }
        match self.tokens.get(&token) {
            Some(info) if info.kind == kind && !info.revoked && !self.expired(info) => {
                Ok(info.sub.clone())
            }
            _ => Err(Denied::Invalid),
        }
    }

    /// Refuses a scripted or unscripted operation whose credential the real service would
    /// refuse: the platform's operations take the Ejento token, the Authentication App's
    /// protected ones its own token.
    fn guard(&mut self, op: &OperationDef, request: &Recorded) -> Option<Response> {
        let kind = if is_platform(op) {
            Kind::Ejento
        } else if op
            .security
            .iter()
            .all(|alternative| alternative.contains(&"authAppToken"))
            && op.path != REFRESH
        {
            Kind::AuthApp
        } else {
            return None;
        };
        self.authenticate(request, kind, true)
            .err()
            .map(Denied::response)
    }
}

/// The operation tables this fake serves, all on its one base URL (the older guide's users API
/// included).
fn tables() -> Vec<Table> {
    vec![
        Table {
            prefix: "",
            api: &cxkit_ejento_auth::SECURITY,
        },
        Table {
            prefix: "",
            api: &cxkit_ejento_platform::SECURITY,
        },
    ]
}

fn is_platform(op: &OperationDef) -> bool {
    cxkit_ejento_platform::SECURITY
        .operation(op.id)
        .is_some_and(|p| std::ptr::eq(p, op))
}

fn body_json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or(Value::Null)
}

fn field<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(Value::as_str)
}

async fn handle(State(shared): State<Arc<Shared<St>>>, request: Request) -> Response {
    let request = match shared
        .core
        .intake(request, |op, r| shared.st().guard(op, r))
        .await
    {
        Intake::Answered(response) => return response,
        Intake::Native(request) => request,
    };
    let path = request.path.clone();
    let body = request.body.clone();
    let Ok(method) = request.method.parse::<Method>() else {
        return shared.core.unanswered(&request);
    };

    if path == REFRESH && method == Method::POST {
        let delay = shared.st().refresh_delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }

    let mut st = shared.st();
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
                let echoed = request
                    .header("authorization")
                    .unwrap_or_default()
                    .to_owned();
                return json_response(
                    500,
                    &json!({"detail": format!("internal error while refreshing {echoed}")}),
                );
            }
            let sub = match st.authenticate(&request, Kind::AuthApp, false) {
                Ok(sub) => sub,
                Err(denied) => return denied.response(),
            };
            if st.config.rotate_on_refresh
                && let Some(old) = request.bearer().map(str::to_owned)
                && let Some(info) = st.tokens.get_mut(&old)
            {
                info.revoked = true;
            }
            let from = request.bearer().map(str::to_owned);
            st.issue_from(&sub, from)
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
            let sub = match st.authenticate(&request, Kind::AuthApp, true) {
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
            let sub = match st.authenticate(&request, Kind::AuthApp, true) {
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
            let next = request.query_param("next").unwrap_or_default();
            let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
            Response::builder()
                .status(StatusCode::FOUND)
                .header(
                    header::LOCATION,
                    format!(
                        "{}{IDP_PREFIX}{provider}/authorize?next={next}",
                        shared.core.base_url()
                    ),
                )
                .body(Body::empty())
                .expect("a valid response")
        }
        _ => match request
            .operation
            .and_then(|id| cxkit_ejento_platform::SECURITY.operation(id))
        {
            // A platform operation nothing was scripted for: refused without the platform
            // token like a scripted one, else 501 naming the operation.
            Some(op) => st
                .guard(op, &request)
                .unwrap_or_else(|| shared.core.unanswered(&request)),
            None => shared.core.unanswered(&request),
        },
    }
}
