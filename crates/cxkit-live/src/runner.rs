//! The run: the specs' GET operations, called one at a time in passes until no more path ids
//! can be resolved.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use cxkit::Secret;
use reqwest::Method;
use serde_json::Value;

use crate::ids::{fill_path, harvest_ids};
use crate::wire::{self, GetRequest, LiveClient};
use crate::{Credentials, OperationReport, Outcome, Report, schema};

/// A system the live check knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum System {
    /// Ejento: the platform API and the Authentication App.
    Ejento,
    /// Proto AICX: the CRM humans API (`X-SINITIC-TOKEN`).
    Proto,
    /// A command-line system of the registry whose every credential is static and named by
    /// its APIs' `live_env` (`proto-platform`, `proto-messaging`): the credentials come from
    /// those environment variables ([`crate::registry_credentials`]).
    Registry(&'static str),
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

    /// Parses a system name: `ejento` and `proto`, or a command-line system of the registry at
    /// `root` whose APIs name an environment variable for each credential (`live_env`).
    pub fn parse_in(root: &Path, name: &str) -> anyhow::Result<System> {
        if let Ok(system) = System::parse(name) {
            return Ok(system);
        }
        let registry = cxkit_spec::Registry::load(root).map_err(|p| anyhow::anyhow!("{p}"))?;
        let apis: Vec<_> = registry.apis_of(name).collect();
        let statics: Vec<&str> = registry
            .cli
            .iter()
            .map(|c| c.name.as_str())
            .filter(|c| {
                let mut apis = registry.apis_of(c).peekable();
                apis.peek().is_some()
                    && apis.all(|a| a.credentials.iter().all(|k| a.live_env.contains_key(k)))
            })
            .collect();
        if apis.is_empty() || !statics.contains(&name) {
            anyhow::bail!(
                "unknown system `{name}`; the live check supports `ejento`, `proto` and the registry's systems whose credentials all have a `live_env` variable: {} (Platform28, whose credentials go in the URL, is not supported yet)",
                statics.join(", ")
            );
        }
        Ok(System::Registry(Box::leak(
            name.to_owned().into_boxed_str(),
        )))
    }

    /// The name used in report file names.
    pub fn name(self) -> &'static str {
        match self {
            System::Ejento => "ejento",
            System::Proto => "proto",
            System::Registry(name) => name,
        }
    }

    /// The specs whose GET operations are checked, relative to the workspace root: those of
    /// the registry's APIs (`specs/systems.toml`) of the command-line system of this name.
    pub fn specs(self, root: &Path) -> anyhow::Result<Vec<PathBuf>> {
        let registry = cxkit_spec::Registry::load(root).map_err(|p| anyhow::anyhow!("{p}"))?;
        let specs: Vec<PathBuf> = registry
            .apis_of(self.name())
            .map(|api| PathBuf::from(&api.spec))
            .collect();
        anyhow::ensure!(
            !specs.is_empty(),
            "{}: no [[api]] entry belongs to the system `{}`",
            cxkit_spec::registry::FILE,
            self.name()
        );
        Ok(specs)
    }
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

/// Reads a spec through the shared spec model's reader, so a duplicate key is an error rather
/// than an entry silently dropped.
fn load_spec(path: &Path) -> anyhow::Result<Value> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    cxkit_spec::yaml::from_slice(&bytes)
        .map_err(|e| anyhow::anyhow!("parsing {}: {e}", path.display()))
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

/// Runs the check. Requests go out one at a time (a live tenant is not a load test).
pub async fn check(config: CheckConfig) -> anyhow::Result<Report> {
    let base = wire::checked_url(&config.base_url)?;
    let base = base.as_str().trim_end_matches('/').to_owned();
    let client = LiveClient::new()?;
    let spec_paths: Vec<PathBuf> = if config.specs.is_empty() {
        config.system.specs(&config.root)?
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_with_a_duplicate_key_is_refused_naming_the_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("dup.yaml");
        std::fs::write(
            &path,
            "openapi: 3.0.3\npaths:\n  /a:\n    get: {operationId: one}\n  /a:\n    get: {operationId: two}\n",
        )
        .expect("write");
        let e = load_spec(&path).expect_err("a duplicate key").to_string();
        assert!(e.contains("/a"), "{e}");
        assert!(e.starts_with("parsing "), "{e}");
    }

    #[test]
    fn each_systems_specs_come_from_the_registry() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let registry = cxkit_spec::Registry::load(&root).expect("the registry reads");
        for system in [System::Ejento, System::Proto] {
            let expected: Vec<PathBuf> = registry
                .apis_of(system.name())
                .map(|a| PathBuf::from(&a.spec))
                .collect();
            assert!(!expected.is_empty());
            assert_eq!(system.specs(&root).expect("specs"), expected);
        }
    }
}
