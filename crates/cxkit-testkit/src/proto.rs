//! A stateful fake of the Proto AICX gateway's CRM humans (per `specs/proto.yaml`), on
//! `127.0.0.1:0`, under `/gateway/{company_id}/{bot_id}/crm/human`.
//!
//! Humans are kept in memory per company and bot: `create_human` stores one and answers its new
//! id, `get_human` answers it, `update_human` merges the fields sent (a `null` or absent field
//! is left alone), all in the seed's `{"result": ...}` envelope. Every call must carry the
//! personal access token the fake was given in `X-SINITIC-TOKEN` (`401` otherwise); an unknown
//! human is `404`. Per-operation replies ([`FakeProto::on`]) and path scripts override all of
//! that, for faults.
//!
//! Point the client at [`FakeProto::gateway_url`] (the base URL plus `/gateway`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::Response;
use cxkit_auth::OperationDef;
use serde_json::{Map, Value, json};
use tokio::task::JoinHandle;

use crate::server::{Intake, Shared, Table, common_methods, json_response};
pub use crate::server::{Recorded, Reply};

/// The personal access token a fake accepts unless told otherwise
/// ([`FakeProto::set_token`]).
pub const TOKEN: &str = "gAAAAAB-fake-proto-personal-access-token";

/// The header the token travels in.
pub const TOKEN_HEADER: &str = "x-sinitic-token";

#[derive(Debug)]
struct St {
    token: String,
    counter: u64,
    /// `(company_id, bot_id, human_id)` → the human as JSON.
    humans: BTreeMap<(String, String, String), Map<String, Value>>,
}

/// A running fake Proto gateway; stops when dropped.
pub struct FakeProto {
    shared: Arc<Shared<St>>,
    task: JoinHandle<()>,
}

impl FakeProto {
    /// Starts a fake that accepts [`TOKEN`] and holds no humans.
    pub async fn start() -> FakeProto {
        let tables = vec![Table {
            prefix: "/gateway",
            api: &cxkit_proto::SECURITY,
        }];
        let state = St {
            token: TOKEN.to_owned(),
            counter: 0,
            humans: BTreeMap::new(),
        };
        let (shared, task) = Shared::start("FakeProto", tables, state, handle).await;
        FakeProto { shared, task }
    }

    /// `http://127.0.0.1:<port>/gateway`: the base URL a Proto client is built with.
    pub fn gateway_url(&self) -> String {
        format!("{}/gateway", self.base_url())
    }

    /// The personal access token the fake accepts from now on.
    pub fn set_token(&self, token: &str) {
        self.shared.st().token = token.to_owned();
    }

    /// Stores a human (the fields of `human`, a JSON object) for `company_id` / `bot_id` and
    /// returns its id (`human["id"]` if given, else a new one).
    ///
    /// # Panics
    ///
    /// If `human` is not a JSON object.
    #[track_caller]
    pub fn insert_human(&self, company_id: &str, bot_id: &str, human: Value) -> String {
        let Value::Object(fields) = human else {
            panic!("FakeProto::insert_human takes a JSON object");
        };
        self.shared.st().create(company_id, bot_id, fields)
    }

    /// The human `human_id` of `company_id` / `bot_id`, as the fake holds it.
    pub fn human(&self, company_id: &str, bot_id: &str, human_id: &str) -> Option<Value> {
        self.shared
            .st()
            .humans
            .get(&key(company_id, bot_id, human_id))
            .map(|h| Value::Object(h.clone()))
    }

    /// Every human the fake holds, ordered by company, bot and id.
    pub fn humans(&self) -> Vec<Value> {
        self.shared
            .st()
            .humans
            .values()
            .map(|h| Value::Object(h.clone()))
            .collect()
    }
}

common_methods!(FakeProto);

fn key(company_id: &str, bot_id: &str, human_id: &str) -> (String, String, String) {
    (
        company_id.to_owned(),
        bot_id.to_owned(),
        human_id.to_owned(),
    )
}

/// Now as the seed writes instants (`2020-10-19T03:33:30.207384+00:00`).
fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

impl St {
    fn create(&mut self, company_id: &str, bot_id: &str, mut fields: Map<String, Value>) -> String {
        self.counter += 1;
        let id = match fields.get("id").and_then(Value::as_str) {
            Some(id) => id.to_owned(),
            None => format!("eu_fake{:08}", self.counter),
        };
        let now = Value::String(now_rfc3339());
        // Empty strings in a create body (the seed sends `"phone_number": ""`) are stored as
        // sent; only the server's own fields are filled in.
        fields.insert("id".into(), Value::String(id.clone()));
        fields.insert("human_id".into(), Value::String(id.clone()));
        fields.entry("created_at").or_insert_with(|| now.clone());
        fields.entry("updated_at").or_insert(now);
        for name in [
            "email",
            "phone_number",
            "uid",
            "access_token",
            "notes",
            "profile_pic_id",
            "tags",
        ] {
            fields.entry(name).or_insert(Value::Null);
        }
        self.humans.insert(key(company_id, bot_id, &id), fields);
        id
    }

    fn guard(&self, request: &Recorded) -> Option<Response> {
        match request.header(TOKEN_HEADER) {
            Some(token) if token == self.token => None,
            Some(_) => Some(error(401, "Invalid token")),
            None => Some(error(401, "Missing X-SINITIC-TOKEN header")),
        }
    }
}

fn error(status: u16, message: &str) -> Response {
    json_response(status, &json!({ "message": message }))
}

fn id_result(id: &str) -> Response {
    json_response(200, &json!({ "result": { "id": id } }))
}

fn object(request: &Recorded) -> Option<Map<String, Value>> {
    match serde_json::from_str(&request.body) {
        Ok(Value::Object(fields)) => Some(fields),
        _ => None,
    }
}

async fn handle(State(shared): State<Arc<Shared<St>>>, request: Request) -> Response {
    let guard = |_: &OperationDef, r: &Recorded| shared.st().guard(r);
    let request = match shared.core.intake(request, guard).await {
        Intake::Answered(response) => return response,
        Intake::Native(request) => request,
    };
    let Some(op) = request.operation else {
        return shared.core.unanswered(&request);
    };
    let mut st = shared.st();
    if let Some(refused) = st.guard(&request) {
        return refused;
    }
    let (Some(company), Some(bot)) = (request.param("company_id"), request.param("bot_id")) else {
        return shared.core.unanswered(&request);
    };
    match op {
        "create_human" => {
            let Some(fields) = object(&request) else {
                return error(400, "the body must be a JSON object");
            };
            if !fields.get("fullname").is_some_and(Value::is_string) {
                return error(400, "fullname is required");
            }
            let id = st.create(company, bot, fields);
            id_result(&id)
        }
        "get_human" | "update_human" => {
            let id = request.param("human_id").unwrap_or_default();
            let Some(human) = st.humans.get_mut(&key(company, bot, id)) else {
                return error(404, "human not found");
            };
            if op == "get_human" {
                return json_response(200, &json!({ "result": human }));
            }
            let Some(fields) = object(&request) else {
                return error(400, "the body must be a JSON object");
            };
            for (name, value) in fields {
                if !value.is_null() && name != "id" && name != "human_id" {
                    human.insert(name, value);
                }
            }
            human.insert("updated_at".into(), Value::String(now_rfc3339()));
            id_result(id)
        }
        _ => shared.core.unanswered(&request),
    }
}
