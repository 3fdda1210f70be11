//! A stateful fake of the Platform28 Cloud API's Auth V2 (per `specs/platform28.yaml`), on
//! `127.0.0.1:0`, under `/api`.
//!
//! It keeps users (username, user id, password), login sessions and login blocks:
//! `create_login_session` checks the form's password and answers a session whose `lsid` the
//! session calls must then carry as a matrix parameter on the last path segment
//! (`/session/S1;lsid=...`); alternatively a call may carry the fake's API key as a query pair
//! (`?apiKey=...`). Sessions can be read, cloned, terminated (one, or all of the user's), act as
//! another user or organization and drop that again; passwords can be changed, and reset with a
//! token the fake "emails" ([`FakePlatform28::sent_reset_tokens`]). A call without an accepted
//! credential is `401`, an unknown session `404` ("Specified session does not exist"), a wrong
//! login `404` ("A user with the given ID and Password was not found", the vendor's words).
//! Per-operation replies ([`FakePlatform28::on`]) and path scripts override all of that.
//!
//! Point the client at [`FakePlatform28::api_url`] (the base URL plus `/api`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::Response;
use cxkit_auth::OperationDef;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::server::{Intake, Shared, Table, common_methods, json_response};
pub use crate::server::{Recorded, Reply};

/// The user every fake starts with.
pub const USER: &str = "alice";
/// That user's id.
pub const USER_ID: &str = "u-alice";
/// That user's password (hash: the client sends it as given).
pub const PASSWORD_OF_USER: &str = "alice-password-hash";
/// The API key a fake accepts unless told otherwise ([`FakePlatform28::set_api_key`]).
pub const API_KEY: &str = "fake-platform28-api-key";

#[derive(Clone, Debug)]
struct User {
    id: String,
    password: String,
}

#[derive(Clone, Debug)]
struct Session {
    lsid: String,
    username: String,
    user_id: String,
    effective_user: Option<String>,
    effective_org: Option<String>,
}

#[derive(Debug)]
struct St {
    api_key: Option<String>,
    api_key_param: String,
    lsid_param: String,
    counter: u64,
    users: BTreeMap<String, User>,
    sessions: BTreeMap<String, Session>,
    blocked: HashSet<String>,
    reset_tokens: HashMap<String, String>,
    sent_reset_tokens: Vec<String>,
}

/// A running fake Platform28 Cloud API; stops when dropped.
pub struct FakePlatform28 {
    shared: Arc<Shared<St>>,
    task: JoinHandle<()>,
}

impl FakePlatform28 {
    /// Starts a fake with one user ([`USER`] / [`PASSWORD_OF_USER`], id [`USER_ID`]) that
    /// accepts the API key [`API_KEY`] and the parameter names `lsid` and `apiKey`.
    pub async fn start() -> FakePlatform28 {
        let tables = vec![Table {
            prefix: "/api",
            api: &cxkit_platform28::SECURITY,
        }];
        let state = St {
            api_key: Some(API_KEY.to_owned()),
            api_key_param: "apiKey".to_owned(),
            lsid_param: "lsid".to_owned(),
            counter: 0,
            users: BTreeMap::from([(
                USER.to_owned(),
                User {
                    id: USER_ID.to_owned(),
                    password: PASSWORD_OF_USER.to_owned(),
                },
            )]),
            sessions: BTreeMap::new(),
            blocked: HashSet::new(),
            reset_tokens: HashMap::new(),
            sent_reset_tokens: Vec::new(),
        };
        let (shared, task) = Shared::start("FakePlatform28", tables, state, handle).await;
        FakePlatform28 { shared, task }
    }

    /// `http://127.0.0.1:<port>/api`: the base URL a Platform28 client is built with.
    pub fn api_url(&self) -> String {
        format!("{}/api", self.base_url())
    }

    /// The API key accepted from now on (`None`: no API key is accepted).
    pub fn set_api_key(&self, key: Option<&str>) {
        self.shared.st().api_key = key.map(str::to_owned);
    }

    /// The names of the API key's query parameter and the LSID's matrix parameter (as a client
    /// configured with `api_key_param` / `lsid_param` sends them).
    pub fn set_param_names(&self, api_key: &str, lsid: &str) {
        let mut st = self.shared.st();
        st.api_key_param = api_key.to_owned();
        st.lsid_param = lsid.to_owned();
    }

    /// Adds (or replaces) a user; returns nothing, the id is `user_id`.
    pub fn add_user(&self, username: &str, user_id: &str, password: &str) {
        self.shared.st().users.insert(
            username.to_owned(),
            User {
                id: user_id.to_owned(),
                password: password.to_owned(),
            },
        );
    }

    /// The password `username` has now (after changes and resets), if the user exists.
    pub fn password_of(&self, username: &str) -> Option<String> {
        self.shared
            .st()
            .users
            .get(username)
            .map(|u| u.password.clone())
    }

    /// The session ids alive now, in order.
    pub fn sessions(&self) -> Vec<String> {
        self.shared.st().sessions.keys().cloned().collect()
    }

    /// The session `session_id` as the fake answers it to `get_session`.
    pub fn session(&self, session_id: &str) -> Option<Value> {
        let st = self.shared.st();
        st.sessions
            .get(session_id)
            .map(|s| session_json(session_id, s))
    }

    /// Ends a session on the server's side (its LSID is refused from now on), as an expiry or
    /// an administrator would.
    pub fn expire_session(&self, session_id: &str) {
        self.shared.st().sessions.remove(session_id);
    }

    /// The password reset tokens "emailed" so far.
    pub fn sent_reset_tokens(&self) -> Vec<String> {
        self.shared.st().sent_reset_tokens.clone()
    }
}

common_methods!(FakePlatform28);

fn session_json(id: &str, s: &Session) -> Value {
    json!({
        "sessionId": id,
        "lsid": s.lsid,
        "username": s.username,
        "userId": s.user_id,
        "effectiveUserId": s.effective_user,
        "effectiveOrgId": s.effective_org,
        "assumedIdentity": s.effective_user.is_some() || s.effective_org.is_some(),
    })
}

fn error(status: u16, message: &str) -> Response {
    json_response(status, &json!({ "message": message }))
}

/// A refusal, turned into its response only when answered.
struct Refused(u16, &'static str);

impl Refused {
    fn response(self) -> Response {
        error(self.0, self.1)
    }
}

fn ok() -> Response {
    json_response(200, &Value::Null)
}

/// What a request was allowed by.
enum Caller {
    /// A login session (its id).
    Session(String),
    /// The integrated system's API key.
    System,
    /// Nothing (only the operations whose security allows it).
    Anonymous,
}

impl St {
    fn new_session(&mut self, username: &str, user_id: &str) -> (String, Session) {
        self.counter += 1;
        let id = format!("S{}", self.counter);
        let session = Session {
            lsid: format!("lsid-{}-{}", self.counter, user_id),
            username: username.to_owned(),
            user_id: user_id.to_owned(),
            effective_user: None,
            effective_org: None,
        };
        self.sessions.insert(id.clone(), session.clone());
        (id, session)
    }

    /// Who is calling: a live session's LSID on the last path segment, or the API key as a query
    /// pair.
    fn caller(&self, op: &OperationDef, request: &Recorded) -> Result<Caller, Refused> {
        let last = request.path.rsplit('/').next().unwrap_or_default();
        let lsid = last.split(';').skip(1).find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k == self.lsid_param).then(|| {
                percent_encoding::percent_decode_str(v)
                    .decode_utf8_lossy()
                    .into_owned()
            })
        });
        if let Some(lsid) = lsid {
            return match self.sessions.iter().find(|(_, s)| s.lsid == lsid) {
                Some((id, _)) => Ok(Caller::Session(id.clone())),
                None => Err(Refused(401, "Invalid or expired login session")),
            };
        }
        if let Some(key) = request.query_param(&self.api_key_param) {
            return match &self.api_key {
                Some(accepted) if *accepted == key => Ok(Caller::System),
                _ => Err(Refused(401, "Invalid API key")),
            };
        }
        if op.security.iter().any(|alternative| alternative.is_empty()) {
            Ok(Caller::Anonymous)
        } else {
            Err(Refused(401, "A login session or an API key is required"))
        }
    }

    /// The user a session-scoped call may act on: the session's own, unless the caller is the
    /// system.
    fn may_act_on(&self, caller: &Caller, user_id: &str) -> bool {
        match caller {
            Caller::System => true,
            Caller::Session(id) => self.sessions.get(id).is_some_and(|s| s.user_id == user_id),
            Caller::Anonymous => false,
        }
    }

    /// The session `id`, if it exists and `caller` may see it (the system, or a session of the
    /// same user).
    fn session_mut(&mut self, caller: &Caller, id: &str) -> Result<&mut Session, Refused> {
        let not_found = || {
            Refused(
                404,
                "Specified session does not exist or the current user does not have access to it",
            )
        };
        let owner = self
            .sessions
            .get(id)
            .map(|s| s.user_id.clone())
            .ok_or_else(not_found)?;
        if !self.may_act_on(caller, &owner) {
            return Err(not_found());
        }
        self.sessions.get_mut(id).ok_or_else(not_found)
    }

    fn answer(
        &mut self,
        op: &OperationDef,
        caller: Caller,
        request: &Recorded,
    ) -> Option<Response> {
        let param = |name: &str| request.param(name).unwrap_or_default().to_owned();
        let body: Value = serde_json::from_str(&request.body).unwrap_or(Value::Null);
        let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
        let response = match op.id {
            "create_login_session" => {
                let username = param("username");
                let password = request
                    .form()
                    .into_iter()
                    .find(|(k, _)| k == "password")
                    .map(|(_, v)| v);
                let user = self.users.get(&username).cloned();
                match (user, password) {
                    (Some(user), Some(password)) if user.password == password => {
                        if self.blocked.contains(&username) {
                            error(403, "Login is blocked for this user")
                        } else {
                            let (id, session) = self.new_session(&username, &user.id);
                            json_response(200, &session_json(&id, &session))
                        }
                    }
                    _ => error(404, "A user with the given ID and Password was not found"),
                }
            }
            "get_login_block_status" | "block_login" | "unblock_login" => {
                let username = param("username");
                let Some(user) = self.users.get(&username) else {
                    return Some(error(404, "User not found"));
                };
                if !self.may_act_on(&caller, &user.id.clone()) {
                    return Some(error(
                        403,
                        "Current user is not authorized to change other users",
                    ));
                }
                match op.id {
                    "block_login" => {
                        self.blocked.insert(username);
                        ok()
                    }
                    "unblock_login" => {
                        self.blocked.remove(&username);
                        ok()
                    }
                    _ => json_response(
                        200,
                        &json!({"username": username, "blocked": self.blocked.contains(&username)}),
                    ),
                }
            }
            "get_session" => match self.session_mut(&caller, &param("sessionId")) {
                Ok(s) => {
                    let s = s.clone();
                    json_response(200, &session_json(&param("sessionId"), &s))
                }
                Err(e) => e.response(),
            },
            "terminate_session" => {
                let id = param("sessionId");
                let user_id = match self.session_mut(&caller, &id) {
                    Ok(s) => s.user_id.clone(),
                    Err(e) => return Some(e.response()),
                };
                if body == Value::Bool(true) {
                    self.sessions.retain(|_, s| s.user_id != user_id);
                } else {
                    self.sessions.remove(&id);
                }
                ok()
            }
            "terminate_user_sessions" => {
                let user_id = param("userId");
                if !self.may_act_on(&caller, &user_id) {
                    return Some(error(
                        403,
                        "Current user is not authorized to logout other users",
                    ));
                }
                self.sessions.retain(|_, s| s.user_id != user_id);
                ok()
            }
            "set_effective_user" | "set_effective_org" => {
                let Some(target) = body.as_str().map(str::to_owned) else {
                    return Some(error(400, "Invalid request in POST body"));
                };
                match self.session_mut(&caller, &param("sessionId")) {
                    Ok(s) if op.id == "set_effective_user" => s.effective_user = Some(target),
                    Ok(s) => s.effective_org = Some(target),
                    Err(e) => return Some(e.response()),
                }
                ok()
            }
            "reset_assumed_identity" => match self.session_mut(&caller, &param("sessionId")) {
                Ok(s) => {
                    s.effective_user = None;
                    s.effective_org = None;
                    ok()
                }
                Err(e) => e.response(),
            },
            "clone_session" => {
                let (username, user_id) = match self.session_mut(&caller, &param("sessionId")) {
                    Ok(s) => (s.username.clone(), s.user_id.clone()),
                    Err(e) => return Some(e.response()),
                };
                let (id, session) = self.new_session(&username, &user_id);
                json_response(200, &session_json(&id, &session))
            }
            "update_user_password" => {
                let user_id = param("userId");
                if !self.may_act_on(&caller, &user_id) {
                    return Some(error(
                        403,
                        "Current user is not authorized to change other users",
                    ));
                }
                let Some(user) = self.users.values_mut().find(|u| u.id == user_id) else {
                    return Some(error(404, "User not found"));
                };
                let Some(new) = text("newPasswordHash") else {
                    return Some(error(400, "newPasswordHash is required"));
                };
                // An admin's change (the system, or `adminPasswordHash`) needs no old password.
                let forced =
                    matches!(caller, Caller::System) || text("adminPasswordHash").is_some();
                if !forced && text("oldPasswordHash").as_deref() != Some(user.password.as_str()) {
                    return Some(error(400, "The old password is wrong"));
                }
                user.password = new;
                ok()
            }
            "request_password_reset" => {
                let user_id = param("userId");
                if !self.users.values().any(|u| u.id == user_id) {
                    return Some(error(404, "User not found"));
                }
                self.counter += 1;
                let token = format!("reset-{}-{user_id}", self.counter);
                self.reset_tokens.insert(token.clone(), user_id);
                self.sent_reset_tokens.push(token);
                ok()
            }
            "reset_password_with_token" => {
                let (Some(token), Some(new)) = (text("token"), text("newPasswordHash")) else {
                    return Some(error(400, "token and newPasswordHash are required"));
                };
                let Some(user_id) = self.reset_tokens.remove(&token) else {
                    return Some(error(400, "Invalid or used password reset token"));
                };
                if let Some(user) = self.users.values_mut().find(|u| u.id == user_id) {
                    user.password = new;
                }
                ok()
            }
            _ => return None,
        };
        Some(response)
    }
}

async fn handle(State(shared): State<Arc<Shared<St>>>, request: Request) -> Response {
    let guard =
        |op: &OperationDef, r: &Recorded| shared.st().caller(op, r).err().map(Refused::response);
    let request = match shared.core.intake(request, guard).await {
        Intake::Answered(response) => return response,
        Intake::Native(request) => request,
    };
    let Some(op) = request
        .operation
        .and_then(|id| cxkit_platform28::SECURITY.operation(id))
    else {
        return shared.core.unanswered(&request);
    };
    let mut st = shared.st();
    let caller = match st.caller(op, &request) {
        Ok(caller) => caller,
        Err(refused) => return refused.response(),
    };
    st.answer(op, caller, &request)
        .unwrap_or_else(|| shared.core.unanswered(&request))
}
