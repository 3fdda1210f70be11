//! A stateful fake of Proto AICX's Developer API (per `specs/proto-developer.yaml`), on
//! `127.0.0.1:0`, under `/api/platform/v1`.
//!
//! Every call must carry the takeover secret the fake was given as `Authorization: Bearer`
//! (`401 {"detail": ...}` otherwise). Tickets get new ids; customers are kept per teamspace and
//! provided unique id (their tags and custom field values with them); custom fields per
//! teamspace. Text to speech answers [`FakeProtoPlatform::speech_for`] of the text, encoded as
//! [`set_tts_encoding`](FakeProtoPlatform::set_tts_encoding) says: the documented Base64 JSON
//! string by default, bare Base64 text, or raw audio. Speech recognition answers
//! `{"text": ...}` naming the size of the file received. Per-operation replies
//! ([`FakeProtoPlatform::on`]) override all of that, for faults.
//!
//! Point the client at [`FakeProtoPlatform::api_url`].

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header;
use axum::response::Response;
use base64::Engine as _;
use cxkit_auth::OperationDef;
use serde_json::{Map, Value, json};
use tokio::task::JoinHandle;

use crate::server::{Intake, Shared, Table, common_methods, json_response};
pub use crate::server::{Recorded, Reply};

/// The takeover secret a fake accepts unless told otherwise ([`FakeProtoPlatform::set_secret`]).
pub const TAKEOVER_SECRET: &str = "fake-proto-takeover-secret-0123456789";

/// How the fake sends text-to-speech audio.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TtsEncoding {
    /// A JSON string of Base64 (`application/json`), as the Voice API page documents.
    Base64Json,
    /// Bare Base64 text (`text/plain`).
    Base64Text,
    /// The audio itself (`audio/mpeg` or `audio/wav`, by the requested format).
    Raw,
}

#[derive(Debug)]
struct St {
    secret: String,
    counter: u64,
    tts: TtsEncoding,
    /// `(teamspace, provided_unique_id)` → the customer.
    customers: BTreeMap<(String, String), Map<String, Value>>,
    /// `(teamspace, custom_field_id)` → the custom field.
    fields: BTreeMap<(String, String), Map<String, Value>>,
}

/// A running fake Developer API; stops when dropped.
pub struct FakeProtoPlatform {
    shared: Arc<Shared<St>>,
    task: JoinHandle<()>,
}

impl FakeProtoPlatform {
    /// Starts a fake that accepts [`TAKEOVER_SECRET`] and holds nothing.
    pub async fn start() -> FakeProtoPlatform {
        let tables = vec![Table {
            prefix: "/api/platform/v1",
            api: &cxkit_proto_developer::SECURITY,
        }];
        let state = St {
            secret: TAKEOVER_SECRET.to_owned(),
            counter: 0,
            tts: TtsEncoding::Base64Json,
            customers: BTreeMap::new(),
            fields: BTreeMap::new(),
        };
        let (shared, task) = Shared::start("FakeProtoPlatform", tables, state, handle).await;
        FakeProtoPlatform { shared, task }
    }

    /// `http://127.0.0.1:<port>/api/platform/v1`: the base URL a client is built with.
    pub fn api_url(&self) -> String {
        format!("{}/api/platform/v1", self.base_url())
    }

    /// The takeover secret the fake accepts from now on.
    pub fn set_secret(&self, secret: &str) {
        self.shared.st().secret = secret.to_owned();
    }

    /// How text-to-speech audio is sent from now on.
    pub fn set_tts_encoding(&self, encoding: TtsEncoding) {
        self.shared.st().tts = encoding;
    }

    /// The audio the fake speaks for `text`: deterministic bytes (not real audio), with every
    /// byte value present so an encoding fault shows.
    pub fn speech_for(text: &str) -> Vec<u8> {
        let mut audio = b"FAKEAUDIO\x00\xff".to_vec();
        audio.extend_from_slice(text.as_bytes());
        audio.extend((0..=255u8).cycle().take(3 * 1024 + text.len()));
        audio
    }

    /// The customer `provided_unique_id` of `teamspace`, as the fake holds it.
    pub fn customer(&self, teamspace: &str, provided_unique_id: &str) -> Option<Value> {
        self.shared
            .st()
            .customers
            .get(&(teamspace.to_owned(), provided_unique_id.to_owned()))
            .map(|c| Value::Object(c.clone()))
    }
}

common_methods!(FakeProtoPlatform);

impl St {
    fn guard(&self, request: &Recorded) -> Option<Response> {
        match request.bearer() {
            Some(secret) if secret == self.secret => None,
            Some(_) => Some(error(401, "Invalid takeover secret")),
            None => Some(error(401, "Not authenticated")),
        }
    }

    fn next(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}{:08}", self.counter)
    }
}

fn error(status: u16, detail: &str) -> Response {
    json_response(status, &json!({ "detail": detail }))
}

fn object(request: &Recorded) -> Option<Map<String, Value>> {
    match serde_json::from_str(&request.body) {
        Ok(Value::Object(fields)) => Some(fields),
        _ => None,
    }
}

fn tts(encoding: TtsEncoding, request: &Recorded) -> Response {
    let Some(body) = object(request) else {
        return error(422, "the body must be a JSON object");
    };
    let Some(text) = body.get("text").and_then(Value::as_str) else {
        return error(422, "text is required");
    };
    if text.chars().count() > 5000 {
        return error(422, "text is longer than 5000 characters");
    }
    let wav = body.get("response_format").and_then(Value::as_str) == Some("wav");
    let audio = FakeProtoPlatform::speech_for(text);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&audio);
    let (content_type, bytes) = match encoding {
        TtsEncoding::Base64Json => (
            "application/json",
            Value::String(b64).to_string().into_bytes(),
        ),
        TtsEncoding::Base64Text => ("text/plain; charset=utf-8", b64.into_bytes()),
        TtsEncoding::Raw if wav => ("audio/wav", audio),
        TtsEncoding::Raw => ("audio/mpeg", audio),
    };
    Response::builder()
        .status(200)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(bytes))
        .expect("a valid response")
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
    let Some(teamspace) = request.param("subcompany_id").map(str::to_owned) else {
        return shared.core.unanswered(&request);
    };
    let customer_key = request
        .param("provided_unique_id")
        .map(|id| (teamspace.clone(), id.to_owned()));
    match op {
        "create_ticket" => {
            let Some(body) = object(&request) else {
                return error(422, "the body must be a JSON object");
            };
            if !body.get("subject").is_some_and(Value::is_string) {
                return error(422, "subject is required");
            }
            let identified = [
                "customer_id",
                "external_customer_id",
                "gateway_profile_id",
                "provided_unique_id",
            ]
            .iter()
            .any(|k| body.get(*k).is_some_and(Value::is_string));
            if !identified {
                return error(422, "one of the customer identifiers is required");
            }
            let id = st.next("conv_fake");
            json_response(200, &json!({ "id": id }))
        }
        "create_customer" => {
            let (Some(key), Some(mut body)) = (customer_key, object(&request)) else {
                return error(422, "the body must be a JSON object");
            };
            body.insert("provided_unique_id".into(), Value::String(key.1.clone()));
            let id = st.next("cust_fake");
            body.insert("id".into(), Value::String(id));
            body.entry("tags").or_insert_with(|| json!([]));
            st.customers.insert(key, body.clone());
            json_response(200, &Value::Object(body))
        }
        "get_customer" | "add_customer_tags" | "add_customer_custom_fields" => {
            let key = customer_key.unwrap_or_default();
            let Some(customer) = st.customers.get_mut(&key) else {
                return error(404, "Customer not found");
            };
            match op {
                "get_customer" => {
                    let mut shown = customer.clone();
                    shown.remove("custom_fields");
                    json_response(200, &Value::Object(shown))
                }
                "add_customer_tags" => {
                    let Some(Value::Array(tags)) =
                        object(&request).and_then(|mut b| b.remove("tags"))
                    else {
                        return error(422, "tags is required");
                    };
                    let list = customer.entry("tags").or_insert_with(|| json!([]));
                    if let Value::Array(list) = list {
                        list.extend(tags);
                    }
                    json_response(200, &json!({ "tags": customer["tags"] }))
                }
                _ => {
                    let Some(Value::Array(values)) =
                        object(&request).and_then(|mut b| b.remove("custom_fields"))
                    else {
                        return error(422, "custom_fields is required");
                    };
                    if values
                        .iter()
                        .any(|v| v.get("id").is_none() && v.get("name").is_none())
                    {
                        return error(422, "each custom field needs an id or a name");
                    }
                    customer.insert("custom_fields".into(), Value::Array(values.clone()));
                    json_response(200, &json!({ "custom_fields": values }))
                }
            }
        }
        "list_custom_fields" => {
            let list: Vec<Value> = st
                .fields
                .iter()
                .filter(|((t, _), _)| *t == teamspace)
                .map(|(_, f)| Value::Object(f.clone()))
                .collect();
            json_response(200, &Value::Array(list))
        }
        "create_custom_field" => {
            let Some(mut body) = object(&request) else {
                return error(422, "the body must be a JSON object");
            };
            let select = body.get("type").and_then(Value::as_str) == Some("select");
            if select != body.get("select_options").is_some_and(|v| !v.is_null()) {
                return error(
                    422,
                    "select_options must be given if and only if type is select",
                );
            }
            let id = st.next("cf_fake");
            body.insert("id".into(), Value::String(id.clone()));
            st.fields.insert((teamspace, id), body.clone());
            json_response(200, &Value::Object(body))
        }
        "delete_custom_field" => {
            let id = request
                .param("custom_field_id")
                .unwrap_or_default()
                .to_owned();
            match st.fields.remove(&(teamspace, id.clone())) {
                Some(_) => json_response(200, &json!({ "id": id, "deleted": true })),
                None => error(404, "Custom field not found"),
            }
        }
        "text_to_speech" => tts(st.tts, &request),
        "speech_to_text" => {
            if !request
                .header("content-type")
                .is_some_and(|c| c.starts_with("multipart/form-data"))
            {
                return error(422, "the audio must be sent as multipart/form-data");
            }
            if !request.body.contains("name=\"file\"") {
                return error(422, "file is required");
            }
            json_response(
                200,
                &json!({ "text": format!("fake transcription of {} bytes", request.body.len()) }),
            )
        }
        _ => shared.core.unanswered(&request),
    }
}
