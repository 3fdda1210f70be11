//! The live check behind `cargo xtask verify-live`: calls the read-only (GET) operations of a
//! system's specs on a real deployment and reports, per operation, whether the route exists and
//! whether the body matches the spec's response schema.
//!
//! - Operations without path parameters go first; then those whose path ids can be taken from
//!   earlier answers (an agent id from the agents list feeds `/agents/{agent_id}/...`), pass
//!   after pass until no more can be resolved. The rest are skipped, with the missing id named.
//! - Outcomes: `ok`, `route_not_found` (404/405), `decode_mismatch` (each JSON path that breaks
//!   decoding: missing required field, type change, closed enum, forbidden field), `forbidden`
//!   (401/403), `error` (another status, or the request failed), `skipped` (no id, a required
//!   query parameter, no credential, a hand-written or legacy call). Undocumented extra fields
//!   are listed for every answer that has them.
//! - Only GET is ever sent: see [`wire`]. Secrets are [`cxkit::Secret`]s, sent as sensitive
//!   headers, never written to the report or printed.
//! - [`apply`] marks the `ok` operations `x-cxkit-verified: '<date>'` in their spec files with a
//!   one-line edit each.

pub mod schema;
pub mod wire;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use cxkit::Secret;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::schema::Issue;
use crate::wire::{GetRequest, LiveClient};

/// A system the live check knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum System {
    /// Ejento: the platform API and the Authentication App.
    Ejento,
    /// Proto AICX: the CRM humans API (`X-SINITIC-TOKEN`).
    Proto,
}

impl System {
    /// Parses a system name as given on the command line.
    pub fn parse(name: &str) -> anyhow::Result<System> {
        match name {
            "ejento" => Ok(System::Ejento),
            "proto" => Ok(System::Proto),
            other => anyhow::bail!(
                "unknown system `{other}`; the live check supports `ejento` and `proto` (Platform28, whose credentials go in the URL, is not supported yet)"
            ),
        }
    }

    /// The name used in report file names.
    pub fn name(self) -> &'static str {
        match self {
            System::Ejento => "ejento",
            System::Proto => "proto",
        }
    }

    /// The specs whose GET operations are checked, relative to the workspace root.
    pub fn specs(self) -> &'static [&'static str] {
        match self {
            System::Ejento => &["specs/ejento-platform.yaml", "specs/ejento-auth.yaml"],
            System::Proto => &["specs/proto.yaml"],
        }
    }
}

/// The credentials a live check sends, by security scheme name.
#[derive(Debug, Default)]
pub struct Credentials {
    /// Bearer tokens and API keys by the spec's scheme name (`ejentoToken`, `authAppToken`,
    /// `subscriptionKey`).
    pub by_scheme: BTreeMap<String, Secret>,
}

/// What to check.
#[derive(Debug)]
pub struct CheckConfig {
    /// The system.
    pub system: System,
    /// The deployment's base URL.
    pub base_url: String,
    /// Spec files (relative to `root` or absolute); default: the system's.
    pub specs: Vec<PathBuf>,
    /// The workspace root.
    pub root: PathBuf,
    /// What to authenticate with.
    pub credentials: Credentials,
    /// The date written into the report (`YYYY-MM-DD`).
    pub date: String,
    /// Path parameter values given up front (`--param company_id=...`), for ids no list
    /// answer provides; they win over harvested ones.
    pub params: BTreeMap<String, String>,
}

/// The outcome for one operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The route answered 2xx and the body decodes per the spec.
    Ok,
    /// 404 or 405: the path (or method) is not there.
    RouteNotFound,
    /// 2xx, but the body does not match the response schema.
    DecodeMismatch,
    /// 401 or 403.
    Forbidden,
    /// Another status, or the request failed.
    Error,
    /// Not called (see the reason).
    Skipped,
}

/// One operation's line in the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperationReport {
    /// The spec file, relative to the workspace root.
    pub spec: String,
    /// The `operationId`.
    pub operation_id: String,
    /// `GET`.
    pub method: String,
    /// The path template.
    pub path: String,
    /// The outcome.
    pub outcome: Outcome,
    /// The path actually requested (ids filled in), when one was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested: Option<String>,
    /// The HTTP status, when one came back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why it was skipped or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Deviations that break decoding.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<Issue>,
    /// JSON paths of fields the schema does not document.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub undocumented_fields: Vec<String>,
}

/// A live check's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The system checked.
    pub system: String,
    /// The base URL checked.
    pub base_url: String,
    /// The date of the check.
    pub date: String,
    /// One entry per GET operation of the specs, in the order they were checked.
    pub operations: Vec<OperationReport>,
}

impl Report {
    /// How many operations had each outcome.
    pub fn counts(&self) -> BTreeMap<Outcome, usize> {
        let mut counts = BTreeMap::new();
        for op in &self.operations {
            *counts.entry(op.outcome).or_default() += 1;
        }
        counts
    }

    /// A markdown summary for a curator.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "# Live check: {} at {} ({})\n\n| outcome | operations |\n|---|---|\n",
            self.system, self.base_url, self.date
        );
        for (outcome, n) in self.counts() {
            out.push_str(&format!("| {} | {n} |\n", outcome_name(outcome)));
        }
        out.push_str("\n| operation | path | outcome | details |\n|---|---|---|---|\n");
        for op in &self.operations {
            let mut details: Vec<String> = Vec::new();
            if let Some(status) = op.status {
                details.push(format!("HTTP {status}"));
            }
            if let Some(reason) = &op.reason {
                details.push(reason.clone());
            }
            for i in &op.issues {
                details.push(format!("`{}` {:?}: {}", i.path, i.kind, i.detail));
            }
            if !op.undocumented_fields.is_empty() {
                details.push(format!(
                    "undocumented: {}",
                    op.undocumented_fields
                        .iter()
                        .map(|p| format!("`{p}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            out.push_str(&format!(
                "| `{}` | `{}` | {} | {} |\n",
                op.operation_id,
                op.path,
                outcome_name(op.outcome),
                details.join("; ").replace('|', "\\|")
            ));
        }
        out.push_str(&format!(
            "\nApply with `cargo xtask verify-live --apply target/verify-live/{}-{}.json` (marks the ok operations `x-cxkit-verified: '{}'`).\n",
            self.system, self.date, self.date
        ));
        out
    }
}

fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Ok => "ok",
        Outcome::RouteNotFound => "route not found",
        Outcome::DecodeMismatch => "decode mismatch",
        Outcome::Forbidden => "forbidden",
        Outcome::Error => "error",
        Outcome::Skipped => "skipped",
    }
}

/// One GET operation of a spec, as the check needs it.
#[derive(Debug)]
struct Op {
    spec: usize,
    id: String,
    path: String,
    path_params: Vec<String>,
    /// Why it cannot be called at all, if so.
    blocked: Option<String>,
    security: Vec<Vec<String>>,
    /// The 2xx responses' JSON schemas by status (`200`, `2XX`, `default`).
    responses: Vec<(String, Option<Value>)>,
}

fn load_spec(path: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_yaml_ng::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

fn operations(spec_index: usize, doc: &Value) -> Vec<Op> {
    let mut ops = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return ops;
    };
    let global_security = doc.get("security");
    for (path, item) in paths {
        let Some(op) = item.get("get") else { continue };
        let id = op
            .get("operationId")
            .and_then(Value::as_str)
            .unwrap_or(path)
            .to_owned();
        let params: Vec<&Value> = item
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .chain(
                op.get("parameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten(),
            )
            .map(|p| schema::resolve(doc, p))
            .collect();
        let path_params = params
            .iter()
            .filter(|p| p.get("in").and_then(Value::as_str) == Some("path"))
            .filter_map(|p| p.get("name").and_then(Value::as_str).map(str::to_owned))
            .collect();
        let required_query: Vec<&str> = params
            .iter()
            .filter(|p| {
                p.get("in").and_then(Value::as_str) != Some("path")
                    && p.get("required").and_then(Value::as_bool) == Some(true)
            })
            .filter_map(|p| p.get("name").and_then(Value::as_str))
            .collect();
        let blocked = if op.get("x-cxkit-handwritten").is_some() {
            Some("a hand-written call (redirect, stream or upload); not checked".to_owned())
        } else if op.get("x-cxkit-api-version") == Some(&Value::Bool(false)) {
            Some(
                "a legacy operation (`x-cxkit-api-version: false`), not on the v2 gateway"
                    .to_owned(),
            )
        } else if !required_query.is_empty() {
            Some(format!(
                "needs the query parameter(s) {}, which the check cannot choose",
                required_query.join(", ")
            ))
        } else {
            None
        };
        let security = op
            .get("security")
            .or(global_security)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|alt| {
                alt.as_object()
                    .into_iter()
                    .flat_map(|o| o.keys().cloned())
                    .collect()
            })
            .collect();
        let responses = op
            .get("responses")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter(|(status, _)| status.starts_with('2') || status.as_str() == "default")
            .map(|(status, response)| {
                let response = schema::resolve(doc, response);
                let schema = response
                    .pointer("/content/application~1json/schema")
                    .cloned();
                (status.clone(), schema)
            })
            .collect();
        ops.push(Op {
            spec: spec_index,
            id,
            path: path.clone(),
            path_params,
            blocked,
            security,
            responses,
        });
    }
    ops
}

/// The names under which an id found in a list answer of `path` is offered to later
/// operations: `/api/v2/agents` -> `agent_id`; `/api/v2/chat-threads` -> `chat_thread_id`;
/// `/api/v2/agent-aliases` -> `agent_alias_id` and `alias_id`; `/api/v2/corpora` -> `corpus_id`.
fn id_names_for(path: &str) -> Vec<String> {
    let Some(noun) = path
        .rsplit('/')
        .find(|segment| !segment.is_empty() && !segment.starts_with('{'))
    else {
        return Vec::new();
    };
    let words: Vec<&str> = noun.split('-').collect();
    let mut names = Vec::new();
    for start in 0..words.len() {
        let stem = words[start..].join("_");
        for singular in singulars(&stem) {
            let name = format!("{singular}_id");
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

fn singulars(plural: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(stem) = plural.strip_suffix("corpora") {
        out.push(format!("{stem}corpus"));
    }
    if let Some(stem) = plural.strip_suffix("ies") {
        out.push(format!("{stem}y"));
    }
    if let Some(stem) = plural.strip_suffix("ses") {
        out.push(format!("{stem}s"));
    }
    if let Some(stem) = plural.strip_suffix('s') {
        out.push(stem.to_owned());
    }
    out.push(plural.to_owned());
    out
}

/// Offers ids from an answer: the first `id` of the first list of objects (under the names of
/// the collection the path names), the `id` of a single record, and every `*_id` field seen.
fn harvest_ids(path: &str, body: &Value, pool: &mut BTreeMap<String, String>) {
    fn scalar(v: &Value) -> Option<String> {
        match v {
            Value::Number(n) => Some(n.to_string()),
            Value::String(s) if !s.is_empty() && !is_dot_segment(s) => Some(s.clone()),
            _ => None,
        }
    }
    fn first_list_id(v: &Value) -> Option<String> {
        match v {
            Value::Array(items) => items
                .first()
                .and_then(|first| first.get("id"))
                .and_then(scalar),
            Value::Object(o) => o.values().find_map(first_list_id),
            _ => None,
        }
    }
    fn fields(v: &Value, pool: &mut BTreeMap<String, String>) {
        match v {
            Value::Object(o) => {
                for (k, item) in o {
                    if k.ends_with("_id")
                        && let Some(id) = scalar(item)
                    {
                        pool.entry(k.clone()).or_insert(id);
                    }
                    fields(item, pool);
                }
            }
            Value::Array(items) => items.iter().take(3).for_each(|i| fields(i, pool)),
            _ => {}
        }
    }
    let data = body.get("data").unwrap_or(body);
    let id = first_list_id(data).or_else(|| data.get("id").and_then(scalar));
    if let Some(id) = id {
        for name in id_names_for(path) {
            pool.entry(name).or_insert_with(|| id.clone());
        }
    }
    fields(body, pool);
}

/// What must be escaped inside one path segment (RFC 3986 `pchar` keeps `-`, `_`, `.`, `~`,
/// letters and digits as they are, which ids are made of).
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b';')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'\\')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// Whether `value` is a dot segment (`.` or `..`): put into a path, URL parsing resolves it, and
/// a credentialed GET meant for `/agents/{id}` goes to another path of the host. (Every other
/// character that could end or escape a segment, `%` included, is percent-encoded.)
fn is_dot_segment(value: &str) -> bool {
    value == "." || value == ".."
}

fn fill_path(
    path: &str,
    params: &[String],
    pool: &BTreeMap<String, String>,
) -> Result<String, String> {
    let mut filled = path.to_owned();
    for name in params {
        let value = pool
            .get(name)
            .ok_or_else(|| format!("no `{name}` available from earlier answers"))?;
        if is_dot_segment(value) {
            return Err(format!(
                "the `{name}` given is a dot segment (`{value}`), which would send the request \
                 to another path; refused"
            ));
        }
        let encoded = percent_encoding::utf8_percent_encode(value, PATH_SEGMENT).to_string();
        filled = filled.replace(&format!("{{{name}}}"), &encoded);
    }
    Ok(filled)
}

/// Runs the check. Requests go out one at a time (a live tenant is not a load test).
pub async fn check(config: CheckConfig) -> anyhow::Result<Report> {
    let base = wire::checked_url(&config.base_url)?;
    let base = base.as_str().trim_end_matches('/').to_owned();
    let client = LiveClient::new()?;
    let spec_paths: Vec<PathBuf> = if config.specs.is_empty() {
        config.system.specs().iter().map(PathBuf::from).collect()
    } else {
        config.specs.clone()
    };
    let mut docs = Vec::new();
    let mut ops = Vec::new();
    for (i, path) in spec_paths.iter().enumerate() {
        let doc = load_spec(&config.root.join(path))?;
        ops.extend(operations(i, &doc));
        docs.push(doc);
    }
    let spec_name = |i: usize| spec_paths[i].to_string_lossy().replace('\\', "/");

    let mut reports: Vec<Option<OperationReport>> = vec![None; ops.len()];
    let mut pool: BTreeMap<String, String> = config.params.clone();
    let skipped = |op: &Op, reason: String| OperationReport {
        spec: spec_name(op.spec),
        operation_id: op.id.clone(),
        method: "GET".into(),
        path: op.path.clone(),
        outcome: Outcome::Skipped,
        requested: None,
        status: None,
        reason: Some(reason),
        issues: Vec::new(),
        undocumented_fields: Vec::new(),
    };
    for (i, op) in ops.iter().enumerate() {
        if let Some(reason) = &op.blocked {
            reports[i] = Some(skipped(op, reason.clone()));
        }
    }
    // Pass 0 calls the operations without path parameters; each later pass calls those whose
    // ids the answers so far provide, until a pass calls nothing.
    loop {
        let mut progressed = false;
        for (i, op) in ops.iter().enumerate() {
            if reports[i].is_some() {
                continue;
            }
            let Ok(requested) = fill_path(&op.path, &op.path_params, &pool) else {
                continue;
            };
            let report = call(
                &client,
                &base,
                &config.credentials,
                &docs[op.spec],
                op,
                &requested,
            )
            .await;
            if let Some(body) = report.1 {
                harvest_ids(&op.path, &body, &mut pool);
            }
            let mut report = report.0;
            report.spec = spec_name(op.spec);
            reports[i] = Some(report);
            progressed = true;
        }
        if !progressed {
            break;
        }
    }
    let operations = ops
        .iter()
        .zip(reports)
        .map(|(op, report)| {
            report.unwrap_or_else(|| {
                let missing = fill_path(&op.path, &op.path_params, &pool)
                    .err()
                    .unwrap_or_default();
                skipped(op, missing)
            })
        })
        .collect();
    Ok(Report {
        system: config.system.name().to_owned(),
        base_url: base,
        date: config.date,
        operations,
    })
}

/// Calls one operation; returns its report line and, for a 2xx JSON answer, the body.
async fn call(
    client: &LiveClient,
    base: &str,
    credentials: &Credentials,
    doc: &Value,
    op: &Op,
    requested: &str,
) -> (OperationReport, Option<Value>) {
    let mut report = OperationReport {
        spec: String::new(),
        operation_id: op.id.clone(),
        method: "GET".into(),
        path: op.path.clone(),
        outcome: Outcome::Skipped,
        requested: Some(requested.to_owned()),
        status: None,
        reason: None,
        issues: Vec::new(),
        undocumented_fields: Vec::new(),
    };
    // The first alternative of the operation's `security` whose schemes are all configured.
    let chosen = if op.security.is_empty() {
        Some(Vec::new())
    } else {
        op.security
            .iter()
            .find(|alt| alt.iter().all(|s| credentials.by_scheme.contains_key(s)))
            .cloned()
    };
    let Some(chosen) = chosen else {
        report.reason = Some(format!(
            "no credential configured for {}",
            op.security
                .iter()
                .map(|alt| alt.join(" + "))
                .collect::<Vec<_>>()
                .join(" or ")
        ));
        report.requested = None;
        return (report, None);
    };
    let mut request = match GetRequest::new(&Method::GET, &format!("{base}{requested}")) {
        Ok(request) => request,
        Err(e) => {
            report.outcome = Outcome::Error;
            report.reason = Some(e.to_string());
            return (report, None);
        }
    };
    for scheme in &chosen {
        let secret = credentials.by_scheme[scheme].clone();
        request = match scheme_header(doc, scheme) {
            Some(SchemeHeader::Bearer) => request.secret_header(
                "authorization",
                Secret::new(format!("Bearer {}", secret.expose())),
            ),
            Some(SchemeHeader::Named(name)) => request.secret_header(name, secret),
            None => request,
        };
    }
    let answer = match client.send(request).await {
        Ok(answer) => answer,
        Err(e) => {
            report.outcome = Outcome::Error;
            report.reason = Some(e.to_string());
            return (report, None);
        }
    };
    report.status = Some(answer.status);
    match answer.status {
        200..=299 => {}
        404 | 405 => {
            report.outcome = Outcome::RouteNotFound;
            return (report, None);
        }
        401 | 403 => {
            report.outcome = Outcome::Forbidden;
            return (report, None);
        }
        _ => {
            report.outcome = Outcome::Error;
            report.reason = Some("the server answered a status the check does not expect".into());
            return (report, None);
        }
    }
    let status = answer.status.to_string();
    let schema = op
        .responses
        .iter()
        .find(|(s, _)| *s == status)
        .or_else(|| op.responses.iter().find(|(s, _)| s == "2XX"))
        .or_else(|| op.responses.iter().find(|(s, _)| s == "default"))
        .or_else(|| op.responses.first());
    let Some((_, schema)) = schema else {
        report.outcome = Outcome::DecodeMismatch;
        report.reason = Some(format!(
            "the spec lists no success response; the server answered {status}"
        ));
        return (report, None);
    };
    let Some(schema) = schema else {
        // No JSON body documented: any body is fine.
        report.outcome = Outcome::Ok;
        return (report, None);
    };
    let body: Value = match serde_json::from_slice(&answer.body) {
        Ok(body) => body,
        Err(e) => {
            report.outcome = Outcome::DecodeMismatch;
            report.reason = Some(format!(
                "the body is not JSON (content type {}): {} at line {} column {}",
                answer.content_type.as_deref().unwrap_or("none"),
                match e.classify() {
                    serde_json::error::Category::Eof => "it ends early",
                    _ => "syntax error",
                },
                e.line(),
                e.column()
            ));
            return (report, None);
        }
    };
    let findings = schema::validate(doc, schema, &body);
    report.outcome = if findings.issues.is_empty() {
        Outcome::Ok
    } else {
        Outcome::DecodeMismatch
    };
    report.issues = findings.issues;
    report.undocumented_fields = findings.undocumented;
    (report, Some(body))
}

enum SchemeHeader {
    Bearer,
    Named(String),
}

/// Where a scheme's secret goes: a bearer token, or a named header. (Query and matrix
/// placements are Platform28's, which the check does not support yet.)
fn scheme_header(doc: &Value, scheme: &str) -> Option<SchemeHeader> {
    let def = doc.pointer(&format!("/components/securitySchemes/{scheme}"))?;
    match (
        def.get("type").and_then(Value::as_str),
        def.get("in").and_then(Value::as_str),
    ) {
        (Some("http"), _) => Some(SchemeHeader::Bearer),
        (Some("apiKey"), Some("header")) => {
            let name = def.get("name").and_then(Value::as_str)?;
            Some(SchemeHeader::Named(name.to_owned()))
        }
        _ => None,
    }
}

/// What [`apply`] changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Operations newly marked or re-dated.
    pub marked: Vec<String>,
    /// `ok` operations whose `operationId` line was not found (spec changed since the check).
    pub not_found: Vec<String>,
}

/// Marks every `ok` operation of `report` as `x-cxkit-verified: '<date>'` in its spec file,
/// right under its `operationId:` line (replacing an earlier date there). Nothing else in the
/// file changes.
pub fn apply(root: &Path, report: &Report) -> anyhow::Result<Applied> {
    let mut applied = Applied::default();
    let mut by_spec: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for op in report
        .operations
        .iter()
        .filter(|op| op.outcome == Outcome::Ok)
    {
        by_spec.entry(&op.spec).or_default().push(&op.operation_id);
    }
    for (spec, ids) in by_spec {
        let path = root.join(spec);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        for id in ids {
            let Some(at) = lines
                .iter()
                .position(|l| l.trim() == format!("operationId: {id}"))
            else {
                applied.not_found.push(format!("{spec}: {id}"));
                continue;
            };
            let indent = &lines[at][..lines[at].len() - lines[at].trim_start().len()];
            let marker = format!("{indent}x-cxkit-verified: '{}'", report.date);
            // An earlier mark sits right below the id (where this function puts it).
            if lines
                .get(at + 1)
                .is_some_and(|l| l.trim_start().starts_with("x-cxkit-verified:"))
            {
                lines[at + 1] = marker;
            } else {
                lines.insert(at + 1, marker);
            }
            applied.marked.push(format!("{spec}: {id}"));
        }
        let mut out = lines.join("\n");
        if text.ends_with('\n') {
            out.push('\n');
        }
        if out != text {
            std::fs::write(&path, out).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    Ok(applied)
}

/// Reads the credentials from the environment: `EJENTO_ACCESS_TOKEN` (the Ejento platform
/// token; a leading `Bearer ` is dropped) and optionally `EJENTO_AUTH_APP_TOKEN`, or
/// `EJENTO_USERNAME` + `EJENTO_PASSWORD` (a password login on the base URL); plus
/// `EJENTO_SUBSCRIPTION_KEY` when the gateway wants one.
pub async fn ejento_credentials_from_env(base_url: &str) -> anyhow::Result<Credentials> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let key = var("EJENTO_SUBSCRIPTION_KEY").map(Secret::new);
    let mut credentials = Credentials::default();
    if let Some(key) = &key {
        credentials
            .by_scheme
            .insert("subscriptionKey".into(), key.clone());
    }
    if let Some(token) = var("EJENTO_ACCESS_TOKEN") {
        let token = token.trim();
        let token = token.strip_prefix("Bearer ").unwrap_or(token);
        credentials
            .by_scheme
            .insert("ejentoToken".into(), Secret::new(token));
        if let Some(auth_app) = var("EJENTO_AUTH_APP_TOKEN") {
            credentials
                .by_scheme
                .insert("authAppToken".into(), Secret::new(auth_app));
        }
        return Ok(credentials);
    }
    let (Some(username), Some(password)) = (var("EJENTO_USERNAME"), var("EJENTO_PASSWORD")) else {
        anyhow::bail!(
            "no Ejento credentials: set EJENTO_ACCESS_TOKEN (and optionally EJENTO_AUTH_APP_TOKEN), or EJENTO_USERNAME and EJENTO_PASSWORD; EJENTO_SUBSCRIPTION_KEY if the gateway needs one"
        );
    };
    login(
        base_url,
        &username,
        &Secret::new(password),
        key,
        &mut credentials,
    )
    .await?;
    Ok(credentials)
}

/// Reads Proto's credential from the environment: `PROTO_TOKEN` (a personal access token, sent
/// as `X-SINITIC-TOKEN`).
pub fn proto_credentials_from_env() -> anyhow::Result<Credentials> {
    let token = std::env::var("PROTO_TOKEN")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .context("no Proto credential: set PROTO_TOKEN to a personal access token")?;
    Ok(Credentials {
        by_scheme: BTreeMap::from([("siniticToken".to_owned(), Secret::new(token.trim()))]),
    })
}

/// Logs in with a password through the facade and keeps both tokens as credentials.
pub async fn login(
    base_url: &str,
    username: &str,
    password: &Secret,
    subscription_key: Option<Secret>,
    credentials: &mut Credentials,
) -> anyhow::Result<()> {
    let mut builder = cxkit::Ejento::builder().base_url(base_url);
    if let Some(key) = subscription_key {
        builder = builder.subscription_key(key);
    }
    let ejento = builder.build().map_err(|e| anyhow::anyhow!("{e}"))?;
    ejento
        .login_password(username, password)
        .await
        .map_err(|e| anyhow::anyhow!("logging in as {username} failed: {e}"))?;
    let tokens = ejento
        .token_cache()
        .peek()
        .context("the login stored no tokens")?;
    for (name, scheme) in [
        (cxkit::EJENTO_TOKEN, "ejentoToken"),
        (cxkit::AUTH_APP_TOKEN, "authAppToken"),
    ] {
        if let Some(token) = tokens.get(name) {
            credentials.by_scheme.insert(scheme.into(), token.clone());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_paths_offer_ids_under_their_singular_names() {
        assert_eq!(id_names_for("/api/v2/agents"), ["agent_id", "agents_id"]);
        assert!(id_names_for("/api/v2/chat-threads").contains(&"chat_thread_id".to_owned()));
        assert!(id_names_for("/api/v2/agent-aliases").contains(&"alias_id".to_owned()));
        assert!(id_names_for("/api/v2/corpora").contains(&"corpus_id".to_owned()));
        assert!(id_names_for("/api/v2/agent-responses").contains(&"agent_response_id".to_owned()));
    }
}
