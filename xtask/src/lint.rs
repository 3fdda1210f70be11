//! The spec lint: every curation rule of `specs/README.md`, and everything progenitor 0.15.1
//! would panic on or silently mis-generate (see the progenitor notes in `specs/README.md`, rule 4), reported all at
//! once, each problem naming the file, the operation and the fix.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::facts::Evidence;
use crate::spec::{Problem, Spec, op_label};

/// Request media types progenitor can generate.
const BODY_TYPES: [&str; 4] = [
    "application/json",
    "application/x-www-form-urlencoded",
    "application/octet-stream",
    "text/plain",
];

/// Where in-repo evidence lives, relative to the workspace root: an operation cites a document
/// there as `evidence/<file>.md`, optionally with `#<anchor>` naming one of its headings.
pub const EVIDENCE_DIR: &str = "specs/evidence";

/// Runs every check; an empty result means the spec may be generated. `seed_titles` are the
/// `summary` values this spec must contain (from `specs/seeds/operations.tsv`).
pub fn lint(spec: &Spec, seed_titles: &[String]) -> Vec<Problem> {
    // The workspace's own evidence, wherever the spec lies (fixtures cite it too).
    let root = crate::workspace_root().unwrap_or_default();
    lint_with(
        spec,
        seed_titles,
        &Evidence::load_dir(&root.join(EVIDENCE_DIR)),
    )
}

/// [`lint`] with the evidence documents of a given checkout (`facts::Evidence::load`), for
/// specs outside this workspace (a copy, a test fixture).
pub fn lint_with(spec: &Spec, seed_titles: &[String], evidence: &Evidence) -> Vec<Problem> {
    let mut problems = Vec::new();
    let doc = &spec.doc;
    let mut top = |m: String| problems.push(spec.problem(None, m));

    match doc.get("openapi").and_then(Value::as_str) {
        Some(v) if v.starts_with("3.0.") => {}
        _ => top(
            "`openapi` must be a 3.0.x version such as `3.0.3`; progenitor reads OpenAPI 3.0 only"
                .into(),
        ),
    }
    for field in ["title", "version"] {
        if doc
            .pointer(&format!("/info/{field}"))
            .and_then(Value::as_str)
            .is_none()
        {
            top(format!(
                "`info.{field}` is missing; every spec states its title and version"
            ));
        }
    }
    let spec_version = doc.pointer("/info/x-cxkit-api-version");
    if let Some(v) = spec_version
        && !v.as_str().is_some_and(is_api_version)
    {
        top(format!(
            "`info.x-cxkit-api-version` is {v}; it must be the `X-API-Version` the spec was curated against, as a quoted MAJOR.MINOR string such as '2.0'"
        ));
    }
    let schemes = check_schemes(spec, &mut problems);
    check_operations(spec, &schemes, evidence, &mut problems);
    check_schemas(spec, "", doc, false, &mut problems);
    check_refs(spec, "", doc, &mut problems);
    check_cycles(spec, &mut problems);
    check_coverage(spec, seed_titles, &mut problems);
    problems.sort();
    problems.dedup();
    problems
}

fn check_schemes(spec: &Spec, problems: &mut Vec<Problem>) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let Some(schemes) = spec
        .doc
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object)
    else {
        return names;
    };
    for (name, scheme) in schemes {
        names.insert(name.clone());
        if let Err(message) = cxkit_spec::security::placement(name, scheme) {
            problems.push(spec.problem(None, message));
        }
    }
    names
}

fn check_operations(
    spec: &Spec,
    schemes: &BTreeSet<String>,
    evidence: &Evidence,
    problems: &mut Vec<Problem>,
) {
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    let paths = spec.doc.get("paths").and_then(Value::as_object);
    if paths.is_none_or(|p| p.is_empty()) {
        problems.push(spec.problem(
            None,
            "the spec has no `paths`; describe at least one operation",
        ));
    }
    for (path, method, op) in spec.operations() {
        let label = op_label(path, method, op);
        let mut bad = |m: String| problems.push(spec.problem(Some(&label), m));

        match op.get("operationId").and_then(Value::as_str) {
            None => bad(
                "has no `operationId`; add a stable snake_case one (it becomes the method name)"
                    .into(),
            ),
            Some(id) => {
                *ids.entry(id.to_owned()).or_default() += 1;
                if !is_snake_case(id) {
                    bad(format!(
                        "`operationId` `{id}` is not snake_case; use lower-case words joined by `_`"
                    ));
                }
            }
        }
        if op
            .get("summary")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            bad("has no `summary`; use the title from specs/seeds/operations.tsv verbatim".into());
        }
        if op
            .get("tags")
            .and_then(Value::as_array)
            .is_none_or(|t| t.is_empty())
        {
            bad("has no `tags`; tag it with its group in the vendor's docs".into());
        }
        match op.get("security").and_then(Value::as_array) {
            None => bad("has no operation-level `security`; list its requirements, or `[{}]` when it needs no credential".into()),
            Some(reqs) => {
                for req in reqs {
                    for name in req.as_object().into_iter().flat_map(|o| o.keys()) {
                        if !schemes.contains(name) {
                            bad(format!("`security` names `{name}`, which is not in `components.securitySchemes`; define it or fix the name"));
                        }
                    }
                }
            }
        }
        if op.get("x-cxkit-inferred").and_then(Value::as_bool) == Some(true)
            && op
                .get("description")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
        {
            bad("is marked `x-cxkit-inferred` but has no `description` saying what was inferred from what".into());
        }
        let handwritten = match op.get("x-cxkit-handwritten") {
            None => false,
            Some(Value::String(s)) if !s.is_empty() => true,
            Some(_) => {
                bad(
                    "`x-cxkit-handwritten` must be a string saying why the call is hand-written"
                        .into(),
                );
                true
            }
        };
        if let Some(flag) = op.get("x-cxkit-idempotent") {
            if !flag.is_boolean() {
                bad("`x-cxkit-idempotent` must be true or false".into());
            } else if !matches!(method, "post" | "patch") {
                bad(format!(
                    "`x-cxkit-idempotent` only matters on POST and PATCH; {} is idempotent already",
                    method.to_uppercase()
                ));
            }
        }
        if let Some(v) = op.get("x-cxkit-api-version") {
            let valid = v == &Value::Bool(false) || v.as_str().is_some_and(is_api_version);
            if !valid {
                bad(format!(
                    "`x-cxkit-api-version` is {v}; use `false` for a legacy operation that must not send `X-API-Version`, or a quoted MAJOR.MINOR string such as '2.0'"
                ));
            } else if spec.doc.pointer("/info/x-cxkit-api-version").is_none() {
                bad("has `x-cxkit-api-version` but the spec declares no `info.x-cxkit-api-version`; declare the version the spec was curated against there first".into());
            }
        }
        if let Some(day) = op.get("x-cxkit-verified")
            && !day.as_str().is_some_and(is_iso_date)
        {
            bad(format!(
                "`x-cxkit-verified` is {day}; it is the quoted day of the last live check, 'YYYY-MM-DD', written by `cargo xtask verify-live --apply`"
            ));
        }
        if let Some(server) = op.get("x-cxkit-server")
            && !server.as_str().is_some_and(is_snake_case)
        {
            bad(format!(
                "`x-cxkit-server` is {server}; it must name the operation's host in snake_case (e.g. `users`), for clients bound to that host"
            ));
        }
        if let Some(call) = op.get(cxkit_spec::ext::FACADE) {
            match call.as_str() {
                Some(call) => {
                    if let Err(message) = cxkit_spec::ext::parse_facade(call) {
                        bad(message);
                    }
                }
                None => bad(format!(
                    "`x-cxkit-facade` is {call}; it must be a string naming the facade call that wraps the operation, `Type::method`"
                )),
            }
        }
        check_sources(op, evidence, &mut bad);
        check_parameters(spec, path, op, &mut bad);
        check_body(spec, op, handwritten, &mut bad);
        check_responses(spec, op, handwritten, &mut bad);
    }
    // Distinct ids can still collide in generated code: progenitor names each operation's
    // builder struct in PascalCase (`get_v2` and `get_v_2` are both `GetV2`), and a few method
    // names are taken by the client itself.
    let mut builders: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for id in ids.keys() {
        builders.entry(pascal_case(id)).or_default().push(id);
        if RESERVED_METHODS.contains(&id.as_str()) {
            problems.push(spec.problem(
                Some(id),
                format!("`operationId` `{id}` clashes with the generated client's own `{id}` method; rename the operation"),
            ));
        }
        if RUST_KEYWORDS.contains(&id.as_str()) {
            problems.push(spec.problem(
                Some(id),
                format!("`operationId` `{id}` is a Rust keyword, which progenitor renames (so the hooks would look up a name the security table does not have); rename the operation, e.g. `{id}_item`"),
            ));
        }
    }
    for (name, same) in builders.iter().filter(|(_, same)| same.len() > 1) {
        problems.push(spec.problem(
            Some(same[0]),
            format!(
                "`operationId`s {} all become the builder type `{name}` in generated code; rename all but one",
                same.iter().map(|id| format!("`{id}`")).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    for (id, count) in ids {
        if count > 1 {
            problems.push(spec.problem(
                Some(&id),
                format!("`operationId` `{id}` is used by {count} operations; operation ids must be unique"),
            ));
        }
    }
}

/// Every operation says where its facts come from: a non-empty `x-cxkit-source` list of page
/// URLs and in-repo evidence references `evidence/<file>.md[#anchor]`, each one a document that
/// exists (and, with an anchor, a heading of it), so a reader of a clone can follow it.
fn check_sources(op: &Value, evidence: &Evidence, bad: &mut impl FnMut(String)) {
    const HOW: &str = "page URLs (http/https) or `evidence/<file>.md#<operation_id>` (a document under specs/evidence/ and one of its headings)";
    let entries = match op.get("x-cxkit-source") {
        None => {
            return bad(format!(
                "has no `x-cxkit-source`; list where its facts come from: {HOW}"
            ));
        }
        Some(Value::Array(entries)) if !entries.is_empty() => entries,
        Some(Value::Array(_)) => {
            return bad(format!(
                "has an empty `x-cxkit-source`; list where its facts come from: {HOW}"
            ));
        }
        Some(_) => {
            return bad(format!("`x-cxkit-source` must be a list of strings: {HOW}"));
        }
    };
    for entry in entries {
        let Some(entry) = entry.as_str() else {
            bad(format!(
                "`x-cxkit-source` holds `{entry}`, which is not a string; use {HOW}"
            ));
            continue;
        };
        if let Some(problem) = crate::facts::citation_problem(entry, evidence) {
            bad(problem);
        }
    }
}

fn check_parameters(spec: &Spec, path: &str, op: &Value, bad: &mut impl FnMut(String)) {
    let params: Vec<&Value> = spec
        .raw_parameters(path, op)
        .map(|p| spec.resolve(p))
        .filter(|p| match dangling(spec, p) {
            Some(target) => {
                bad(format!("a parameter's `$ref` `{target}` names nothing in the spec; define it or fix the reference"));
                false
            }
            None => true,
        })
        .collect();
    let templated: BTreeSet<&str> = cxkit_spec::template_params(path).collect();
    let mut declared = BTreeSet::new();
    for p in params {
        let name = p.get("name").and_then(Value::as_str).unwrap_or("?");
        let style = p.get("style").and_then(Value::as_str);
        let schema = p.get("schema").map(|s| spec.resolve(s));
        match p.get("in").and_then(Value::as_str) {
            Some("path") => {
                declared.insert(name);
                if p.get("required").and_then(Value::as_bool) != Some(true) {
                    bad(format!(
                        "path parameter `{name}` must be `required: true` (progenitor panics on optional path parameters)"
                    ));
                }
                if style.is_some_and(|s| s != "simple") {
                    bad(format!(
                        "path parameter `{name}` has style `{}`; only `simple` can be generated (send matrix parameters through a security scheme with `x-cxkit-placement: matrix`)",
                        style.unwrap_or_default()
                    ));
                }
            }
            Some("query") => {
                if style.is_some_and(|s| s != "form") {
                    bad(format!(
                        "query parameter `{name}` has style `{}`; only `form` can be generated",
                        style.unwrap_or_default()
                    ));
                }
                let ty = schema.and_then(|s| s.get("type")).and_then(Value::as_str);
                let item_ty = schema
                    .and_then(|s| s.get("items"))
                    .map(|i| spec.resolve(i))
                    .and_then(|i| i.get("type"))
                    .and_then(Value::as_str);
                if ty == Some("object")
                    || (ty == Some("array") && matches!(item_ty, Some("object" | "array")))
                {
                    bad(format!(
                        "query parameter `{name}` is an object; progenitor panics on those, so split it into primitive parameters"
                    ));
                }
            }
            Some("header") => {}
            Some("cookie") => bad(format!(
                "cookie parameter `{name}` cannot be generated; send it as a header or describe it in the facade"
            )),
            _ => bad(format!("parameter `{name}` has no valid `in`")),
        }
    }
    for name in templated.difference(&declared) {
        bad(format!(
            "path `{path}` uses `{{{name}}}` but declares no path parameter `{name}`"
        ));
    }
    for name in declared.difference(&templated) {
        bad(format!(
            "declares path parameter `{name}`, which path `{path}` does not contain"
        ));
    }
}

fn check_body(spec: &Spec, op: &Value, handwritten: bool, bad: &mut impl FnMut(String)) {
    let Some(body) = op.get("requestBody").map(|b| spec.resolve(b)) else {
        return;
    };
    if let Some(target) = dangling(spec, body) {
        bad(format!(
            "`requestBody`'s `$ref` `{target}` names nothing in the spec; define it or fix the reference"
        ));
        return;
    }
    let Some(content) = body.get("content").and_then(Value::as_object) else {
        bad("`requestBody` has no `content`".into());
        return;
    };
    if content.len() != 1 {
        let kinds: Vec<_> = content.keys().map(String::as_str).collect();
        bad(format!(
            "`requestBody` offers {} media types ({}); progenitor panics on more than one, so keep the one clients send",
            content.len(),
            kinds.join(", ")
        ));
    }
    for (media, item) in content {
        if !BODY_TYPES.contains(&media.as_str()) && !handwritten {
            bad(format!(
                "request media type `{media}` cannot be generated; mark the operation `x-cxkit-handwritten: <why>` and implement it in the facade"
            ));
        }
        if item.get("schema").is_none() {
            bad(format!("request media type `{media}` has no `schema`"));
        }
        if media == "application/x-www-form-urlencoded"
            && let Some(props) = item
                .get("schema")
                .map(|s| spec.resolve(s))
                .and_then(|s| s.get("properties"))
                .and_then(Value::as_object)
        {
            for (name, prop) in props {
                if spec.resolve(prop).get("type").and_then(Value::as_str) == Some("array") {
                    bad(format!(
                        "form field `{name}` is an array; progenitor's form encoding fails on arrays at run time"
                    ));
                }
            }
        }
    }
}

fn check_responses(spec: &Spec, op: &Value, handwritten: bool, bad: &mut impl FnMut(String)) {
    let Some(responses) = op.get("responses").and_then(Value::as_object) else {
        bad("has no `responses`".into());
        return;
    };
    if responses.contains_key("default") {
        bad("has a `default` response; progenitor treats it as both success and error and panics next to a typed 200, so list explicit status codes instead".into());
    }
    let mut successes = Vec::new();
    let mut errors: Vec<(&str, Option<(String, String)>)> = Vec::new();
    for (status, response) in responses {
        let response = spec.resolve(response);
        if let Some(target) = dangling(spec, response) {
            bad(format!(
                "response `{status}`'s `$ref` `{target}` names nothing in the spec; define it or fix the reference"
            ));
            continue;
        }
        if response
            .get("description")
            .and_then(Value::as_str)
            .is_none()
        {
            bad(format!("response `{status}` has no `description`"));
        }
        let content = response.get("content").and_then(Value::as_object);
        let shape = match content.map(|c| c.iter().collect::<Vec<_>>()) {
            None => None,
            Some(items) if items.is_empty() => None,
            Some(items) if items.len() > 1 => {
                bad(format!(
                    "response `{status}` offers {} media types; keep exactly one",
                    items.len()
                ));
                continue;
            }
            Some(items) => {
                let (media, item) = items[0];
                let schema = item.get("schema");
                if let Some(events) = item.get(crate::facts::EVENT_SCHEMA) {
                    let target = events.get("$ref").and_then(Value::as_str);
                    if media != "text/event-stream"
                        || target.is_none_or(|t| {
                            t.strip_prefix('#')
                                .and_then(|p| spec.doc.pointer(p))
                                .is_none()
                        })
                    {
                        bad(format!(
                            "response `{status}`'s `{}` must be on a `text/event-stream` answer and be a `$ref` to a schema of the spec (the JSON payload of each frame)",
                            crate::facts::EVENT_SCHEMA
                        ));
                    }
                }
                if media.contains("json") && schema.is_none() {
                    bad(format!(
                        "response `{status}` is `{media}` with no `schema`; progenitor panics on that, so add one"
                    ));
                }
                Some((
                    media.clone(),
                    schema.map(Value::to_string).unwrap_or_default(),
                ))
            }
        };
        if status.starts_with('3') && !handwritten {
            bad(format!(
                "answers `{status}`, a redirect, which the client does not follow; mark the operation `x-cxkit-handwritten` and read the `Location` in the facade"
            ));
        }
        if status.starts_with('2') || status.starts_with('3') {
            successes.push(status.as_str());
        } else if status != "default" {
            errors.push((status.as_str(), shape));
        }
    }
    // Several 2xx statuses are fine when they share one shape: progenitor asserts only that the
    // success responses have one type, and generates an arm decoding it for each status.
    let shared = successes.len() > 1
        && successes.iter().all(|s| s.starts_with('2'))
        && shared_successes(spec, op).is_some();
    if successes.len() != 1 && !shared {
        bad(format!(
            "has {} success responses ({}); progenitor needs exactly one success shape: keep one status, or give several 2xx statuses the same content (the same schema, or no content for all) and the generated call accepts each of them",
            successes.len(),
            successes.join(", ")
        ));
    }
    if let Some((first_status, first)) = errors.first()
        && let Some((status, _)) = errors.iter().find(|(_, shape)| shape != first)
    {
        bad(format!(
            "error responses `{first_status}` and `{status}` have different bodies; progenitor panics on mixed error kinds, so give every error response the same JSON schema"
        ));
    }
}

/// The success statuses of an operation when there are several and all share one `content`
/// (the same media types and schemas; absent counts as empty), lowest first; `None` otherwise.
/// progenitor 0.15.1 generates such an operation with one success type and a decoding arm per
/// status (a vendor page's `200` and `201` of one call); two shapes make it panic.
pub fn shared_successes(spec: &Spec, op: &Value) -> Option<Vec<u16>> {
    let responses = op.get("responses")?.as_object()?;
    let mut codes = Vec::new();
    let mut shape: Option<Value> = None;
    for (status, response) in responses {
        if !status.starts_with('2') {
            continue;
        }
        let code: u16 = status.parse().ok()?;
        let content = spec
            .resolve(response)
            .get("content")
            .cloned()
            .filter(|c| c.as_object().is_some_and(|m| !m.is_empty()))
            .unwrap_or(Value::Null);
        match &shape {
            None => shape = Some(content),
            Some(first) if *first == content => {}
            Some(_) => return None,
        }
        codes.push(code);
    }
    codes.sort_unstable();
    (codes.len() > 1).then_some(codes)
}

/// Walks every schema-like object in the document for constructs that generate badly.
fn check_schemas(
    spec: &Spec,
    at: &str,
    value: &Value,
    in_parameter: bool,
    problems: &mut Vec<Problem>,
) {
    match value {
        Value::Object(map) => {
            let mut bad = |m: String| problems.push(spec.problem(None, format!("at `#{at}`: {m}")));
            if map.get("additionalProperties") == Some(&Value::Bool(false)) {
                bad("`additionalProperties: false` makes decoding fail on any new server field; remove it".into());
            }
            // typify 0.8 turns an integer whose smallest allowed value is exactly 1 into a
            // NonZero type whatever its `format` (int32 -> NonZeroU32, otherwise NonZeroU64).
            let exclusive = map.get("exclusiveMinimum") == Some(&Value::Bool(true));
            let minimum = map.get("minimum").and_then(Value::as_f64);
            if map.get("type").and_then(Value::as_str) == Some("integer")
                && ((minimum == Some(1.0) && !exclusive) || (minimum == Some(0.0) && exclusive))
            {
                bad("an integer whose smallest allowed value is 1 becomes a NonZero type (NonZeroU64) whatever its `format`; drop `minimum` and say \"at least 1\" in `description`".into());
            }
            if map.get("format").and_then(Value::as_str) == Some("password")
                && !secret_mark_allowed(at)
            {
                bad("`format: password` (a secret, whose generated `Debug` is redacted) is only honoured on a property of a schema under `components/schemas`, on such a schema itself, or on a parameter's schema; move this object into `components/schemas` and `$ref` it".into());
            }
            if map.contains_key("enum") && !in_parameter {
                bad("`enum` makes generated types reject any value the server adds later; use a plain string and list the values in `description`".into());
            }
            if map.get("x-cxkit-inferred").and_then(Value::as_bool) == Some(true)
                && map
                    .get("description")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                && !map.contains_key("operationId")
            {
                bad("is marked `x-cxkit-inferred` but has no `description` saying what was inferred from what".into());
            }
            for (key, child) in map {
                let inside = in_parameter || key == "parameters";
                check_schemas(
                    spec,
                    &format!("{at}/{}", escape_pointer(key)),
                    child,
                    inside,
                    problems,
                );
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                check_schemas(spec, &format!("{at}/{i}"), child, in_parameter, problems);
            }
        }
        _ => {}
    }
}

fn check_coverage(spec: &Spec, seed_titles: &[String], problems: &mut Vec<Problem>) {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, _, op) in spec.operations() {
        if let Some(summary) = op.get("summary").and_then(Value::as_str) {
            *count.entry(summary).or_default() += 1;
        }
    }
    for title in seed_titles {
        match count.get(title.as_str()).copied().unwrap_or(0) {
            0 => problems.push(spec.problem(None, format!("no operation has the seed title `{title}` (specs/seeds/operations.tsv) as its summary; add it, with the title verbatim"))),
            1 => {}
            n => problems.push(spec.problem(None, format!("{n} operations share the summary `{title}`; each seed title belongs to exactly one operation"))),
        }
    }
}

/// Whether a `format: password` at this JSON pointer is one the xtask can find in generated
/// code (see `redact.rs`): a named schema, a property of one, or a parameter's schema.
fn secret_mark_allowed(at: &str) -> bool {
    let parts: Vec<&str> = at.split('/').skip(1).collect();
    matches!(
        parts.as_slice(),
        ["components", "schemas", _]
            | ["components", "schemas", _, "properties", _]
            | ["components", "parameters", _, "schema"]
            | ["paths", _, "parameters", _, "schema"]
            | ["paths", _, _, "parameters", _, "schema"]
    )
}

/// The reference of a `$ref` object that points at nothing in the spec (what [`Spec::resolve`] returns
/// when it cannot follow one).
fn dangling<'a>(spec: &Spec, value: &'a Value) -> Option<&'a str> {
    let target = value.get("$ref")?.as_str()?;
    match target.strip_prefix('#') {
        Some(pointer) if spec.doc.pointer(pointer).is_some() => None,
        _ => Some(target),
    }
}

/// Every `$ref` names something in this spec. References from operations to parameters,
/// request bodies and responses are reported with their operation by the operation checks.
fn check_refs(spec: &Spec, at: &str, value: &Value, problems: &mut Vec<Problem>) {
    match value {
        Value::Object(map) => {
            if let Some(target) = dangling(spec, value) {
                let per_operation = at.starts_with("/paths/")
                    && ["parameters", "requestBodies", "responses"]
                        .iter()
                        .any(|kind| target.starts_with(&format!("#/components/{kind}/")));
                if !per_operation {
                    problems.push(spec.problem(None, format!(
                        "at `#{at}`: `$ref` `{target}` names nothing in the spec (only references inside the file, `#/components/...`, are read); define it or fix the reference"
                    )));
                }
            }
            for (key, child) in map {
                check_refs(
                    spec,
                    &format!("{at}/{}", escape_pointer(key)),
                    child,
                    problems,
                );
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                check_refs(spec, &format!("{at}/{i}"), child, problems);
            }
        }
        _ => {}
    }
}

/// A schema that must contain itself can hold no finite value, and typify makes it either a
/// type that does not compile (`A: {$ref: A}`) or newtypes whose decoding recurses until the
/// stack overflows (`A: {$ref: B}`, `B: {$ref: A}`). A cycle is fine when any step of it can end
/// the recursion: an array's items, a map's values, an optional or nullable property, or one of
/// several `oneOf`/`anyOf` alternatives. Reported once per cycle, from its first schema by name.
fn check_cycles(spec: &Spec, problems: &mut Vec<Problem>) {
    const PREFIX: &str = "#/components/schemas/";
    let Some(schemas) = spec
        .doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    else {
        return;
    };
    // Each schema's unavoidable references: the schemas any value of it must contain.
    fn must_contain<'a>(schema: &'a Value, out: &mut BTreeSet<&'a str>) {
        if schema.get("nullable").and_then(Value::as_bool) == Some(true) {
            return;
        }
        if let Some(name) = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix(PREFIX))
        {
            out.insert(name);
        }
        for part in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            must_contain(part, out);
        }
        let required: BTreeSet<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (name, prop) in props {
                if required.contains(name.as_str()) {
                    must_contain(prop, out);
                }
            }
        }
    }
    let edges: BTreeMap<&str, BTreeSet<&str>> = schemas
        .iter()
        .map(|(name, schema)| {
            let mut out = BTreeSet::new();
            must_contain(schema, &mut out);
            (name.as_str(), out)
        })
        .collect();
    for &start in edges.keys() {
        // The shortest way back to `start` through schemas named after it (so each cycle is
        // found once, from its first name).
        let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        let mut closing = None;
        while let Some(node) = queue.pop_front() {
            for &next in edges.get(node).into_iter().flatten() {
                if next == start {
                    closing = Some(node);
                    break;
                }
                if next > start && edges.contains_key(next) && !came_from.contains_key(next) {
                    came_from.insert(next, node);
                    queue.push_back(next);
                }
            }
            if closing.is_some() {
                break;
            }
        }
        let Some(mut node) = closing else { continue };
        let mut cycle = vec![start];
        while node != start {
            cycle.insert(1, node);
            node = came_from[node];
        }
        cycle.push(start);
        problems.push(spec.problem(None, format!(
            "at `#/components/schemas/{start}`: the schema contains itself ({}) with no step that can end it, so no finite value exists and the generated type does not compile or overflows the stack when decoding; make one step an optional or nullable property, or an array",
            cycle.join(" -> ")
        )));
    }
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Methods every generated `Client` has, or that the generated builders and the emitted
/// `ClientHooks` impl call on it (`client.pre(..)`, `self.inner()`), which an operation's method
/// must not shadow: an inherent method wins over the trait's, and the call stops compiling.
const RESERVED_METHODS: [&str; 9] = [
    "new",
    "new_with_client",
    "baseurl",
    "client",
    "inner",
    "api_version",
    "pre",
    "exec",
    "post",
];

/// Rust keywords (strict and reserved, 2015 to 2024 editions). progenitor renames an
/// `operationId` that is one (`type` becomes the method `type_`) and reports the new name to the
/// hooks, which then find no entry under it in the security table.
const RUST_KEYWORDS: [&str; 52] = [
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield", "union",
];

/// progenitor's builder type name for an operation id: each `_`-separated word capitalized.
fn pascal_case(id: &str) -> String {
    id.split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// `MAJOR.MINOR`, both decimal numbers (Ejento's versioning page: `X-API-Version: 2.0`).
fn is_api_version(v: &str) -> bool {
    v.split_once('.').is_some_and(|(major, minor)| {
        [major, minor]
            .iter()
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// `YYYY-MM-DD` in digits (the calendar itself is the live check's business).
fn is_iso_date(v: &str) -> bool {
    let parts: Vec<&str> = v.split('-').collect();
    parts.len() == 3
        && [4, 2, 2]
            .iter()
            .zip(&parts)
            .all(|(len, part)| part.len() == *len && part.bytes().all(|b| b.is_ascii_digit()))
}

fn is_snake_case(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !id.contains("__")
        && !id.ends_with('_')
}

/// The seed titles for one spec, from the `operations.tsv` text.
pub fn seed_titles(tsv: &str, spec_name: &str) -> Vec<String> {
    tsv.lines()
        .skip(1)
        .filter_map(|line| {
            let mut cols = line.split('\t');
            let spec = cols.next()?;
            let _group = cols.next()?;
            let title = cols.next()?;
            (spec == spec_name).then(|| title.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_with(ids: &[&str]) -> Spec {
        let mut paths = String::new();
        for (i, id) in ids.iter().enumerate() {
            paths.push_str(&format!(
                "  /p{i}:\n    get:\n      operationId: {id}\n      x-cxkit-source: ['https://vendor.example/docs']\n      summary: s{i}\n      tags: [t]\n      security: []\n      responses:\n        '204':\n          description: done\n"
            ));
        }
        let text = format!("openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths:\n{paths}");
        Spec::parse("specs/x.yaml", text.into_bytes()).unwrap()
    }

    #[test]
    fn ids_that_collide_in_generated_code_are_rejected() {
        let problems: Vec<String> =
            lint(&spec_with(&["get_v2", "get_v_2", "new", "list_items"]), &[])
                .iter()
                .map(ToString::to_string)
                .collect();
        assert_eq!(
            problems,
            [
                "specs/x.yaml: operation get_v2: `operationId`s `get_v2`, `get_v_2` all become the builder type `GetV2` in generated code; rename all but one",
                "specs/x.yaml: operation new: `operationId` `new` clashes with the generated client's own `new` method; rename the operation",
            ]
        );
    }

    #[test]
    fn api_version_extensions_are_checked() {
        let text = "openapi: 3.0.3\ninfo: {title: t, version: '1', x-cxkit-api-version: 2}\npaths:\n  /a:\n    get:\n      operationId: a\n      summary: a\n      tags: [t]\n      security: []\n      x-cxkit-source: ['https://vendor.example/docs']\n      x-cxkit-api-version: true\n      responses:\n        '204':\n          description: done\n  /b:\n    get:\n      operationId: b\n      summary: b\n      tags: [t]\n      security: []\n      x-cxkit-source: ['https://vendor.example/docs']\n      x-cxkit-api-version: false\n      responses:\n        '204':\n          description: done\n";
        let spec = Spec::parse("specs/x.yaml", text.as_bytes().to_vec()).unwrap();
        let problems: Vec<String> = lint(&spec, &[]).iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems
                .iter()
                .any(|p| p.contains("operation a: `x-cxkit-api-version` is true")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("`info.x-cxkit-api-version` is 2;")),
            "{problems:?}"
        );

        let wrong_server = text.replace(
            "x-cxkit-api-version: false\n",
            "x-cxkit-api-version: false\n      x-cxkit-server: Users Host\n",
        );
        let spec = Spec::parse("specs/x.yaml", wrong_server.into_bytes()).unwrap();
        assert!(
            lint(&spec, &[])
                .iter()
                .any(|p| p.to_string().contains("operation b: `x-cxkit-server`")),
            "a host name must be snake_case"
        );

        for (facade, fine) in [
            ("'Client::method'", true),
            ("'Client::sso(Provider::Google, ..)'", true),
            ("'method_only'", false),
            ("'client::method'", false),
            ("true", false),
        ] {
            let text = text.replace(
                "x-cxkit-api-version: false\n",
                &format!("x-cxkit-api-version: false\n      x-cxkit-facade: {facade}\n"),
            );
            let spec = Spec::parse("specs/x.yaml", text.into_bytes()).unwrap();
            let found = lint(&spec, &[])
                .iter()
                .any(|p| p.to_string().contains("operation b: `x-cxkit-facade` is"));
            assert_eq!(found, !fine, "x-cxkit-facade: {facade}");
        }

        let fixed = text.replace("x-cxkit-api-version: 2}", "x-cxkit-api-version: '2.0'}");
        let fixed = fixed.replace("x-cxkit-api-version: true", "x-cxkit-api-version: '2.1'");
        let spec = Spec::parse("specs/x.yaml", fixed.into_bytes()).unwrap();
        assert!(lint(&spec, &[]).is_empty());
        assert!(is_api_version("10.2") && !is_api_version("2") && !is_api_version("2.x"));
        assert!(is_iso_date("2026-11-30") && !is_iso_date("2026-11-3") && !is_iso_date("today"));
    }

    #[test]
    fn pascal_case_matches_progenitors_builder_names() {
        assert_eq!(
            pascal_case("create_agent_chat_thread"),
            "CreateAgentChatThread"
        );
        assert_eq!(pascal_case("get_v_2"), "GetV2");
    }
}
