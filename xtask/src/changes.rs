//! `cargo xtask changes`: what changed in each generated client's API between two versions of
//! its spec, each change classified as breaking or not by the semver policy in the README.
//!
//! The comparison works on the specs, not on the generated Rust: every Rust item progenitor
//! generates (a builder method per parameter, a struct per schema, a field per property, a
//! variant per enum value) comes from one spec construct, so a spec-level change names the
//! cause in the vendor's terms and still says what happens to the code that uses the client.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::spec::{METHODS, Spec};
// A reference that cannot be followed is compared as written (the lint reports it).
use crate::systems::System;
use cxkit_spec::refs::resolve_or_self as resolve;

/// One API change in one operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The operation's `operationId` (`METHOD /path` when it has none).
    pub operation: String,
    /// Whether code written against the old client can stop compiling or stop working.
    pub breaking: bool,
    /// What changed, in one line.
    pub what: String,
}

/// The changes of one system's spec between two versions.
#[derive(Clone, Debug)]
pub struct SystemChanges {
    /// The system's short name (`proto`).
    pub system: String,
    /// Its spec, relative to the root.
    pub spec: String,
    /// Breaking changes first, then the rest, each in path order.
    pub changes: Vec<Change>,
    /// Set when there was nothing to compare with (a new spec).
    pub note: Option<String>,
}

impl SystemChanges {
    /// How many changes are breaking.
    pub fn breaking(&self) -> usize {
        self.changes.iter().filter(|c| c.breaking).count()
    }
}

/// Which way data flows through a schema: a caller builds requests and reads responses, so
/// the same edit (a new required field, a new enum value) breaks one side and not the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Request,
    Response,
}

/// One operation's API surface, with `$ref`s left in its schemas (resolved while comparing).
struct Op<'a> {
    method: String,
    path: String,
    /// (location, name) -> (required, schema).
    params: BTreeMap<(String, String), (bool, Option<&'a Value>)>,
    /// (media type, schema), when there is a request body.
    body: Option<(String, Option<&'a Value>)>,
    /// (status, schema of its first media type), for the first success status.
    success: Option<(String, Option<&'a Value>)>,
}

/// Compares two versions of one spec (as parsed documents).
pub fn diff(old: &Value, new: &Value) -> Vec<Change> {
    let old_ops = operations(old);
    let new_ops = operations(new);
    let mut out = Vec::new();
    for (id, o) in &old_ops {
        let mut push = |breaking: bool, what: String| {
            out.push(Change {
                operation: id.clone(),
                breaking,
                what,
            })
        };
        let Some(n) = new_ops.iter().find(|(nid, _)| nid == id).map(|(_, n)| n) else {
            push(
                true,
                format!(
                    "operation removed (was `{} {}`)",
                    o.method.to_uppercase(),
                    o.path
                ),
            );
            continue;
        };
        if o.method != n.method || o.path != n.path {
            push(
                true,
                format!(
                    "moved from `{} {}` to `{} {}`",
                    o.method.to_uppercase(),
                    o.path,
                    n.method.to_uppercase(),
                    n.path
                ),
            );
        }
        let mut cx = Cx {
            old,
            new,
            seen: BTreeSet::new(),
            out: Vec::new(),
        };
        compare_params(&mut cx, o, n);
        compare_body(&mut cx, o, n);
        compare_success(&mut cx, o, n);
        for (breaking, what) in cx.out {
            push(breaking, what);
        }
    }
    for (id, n) in &new_ops {
        if !old_ops.iter().any(|(oid, _)| oid == id) {
            out.push(Change {
                operation: id.clone(),
                breaking: false,
                what: format!("operation added (`{} {}`)", n.method.to_uppercase(), n.path),
            });
        }
    }
    // Breaking first; the sort is stable, so each group keeps path order.
    out.sort_by_key(|c| !c.breaking);
    out
}

/// Every operation of a document, keyed by `operationId`, in path order (the order the JSON
/// map keeps).
fn operations(doc: &Value) -> Vec<(String, Op<'_>)> {
    let mut out = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return out;
    };
    for (path, item) in paths {
        let Some(item) = resolve(doc, item).as_object() else {
            continue;
        };
        let shared = item.get("parameters");
        for (method, op) in item {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let id = crate::spec::op_label(path, method, op);
            let mut params = BTreeMap::new();
            // Path-level parameters first; the operation's own override them by (in, name).
            for list in [shared, op.get("parameters")].into_iter().flatten() {
                for p in list.as_array().into_iter().flatten() {
                    let p = resolve(doc, p);
                    let (Some(name), Some(loc)) = (
                        p.get("name").and_then(Value::as_str),
                        p.get("in").and_then(Value::as_str),
                    ) else {
                        continue;
                    };
                    let required = p.get("required").and_then(Value::as_bool) == Some(true);
                    params.insert(
                        (loc.to_owned(), name.to_owned()),
                        (required, p.get("schema")),
                    );
                }
            }
            let body = op.get("requestBody").map(|b| {
                let b = resolve(doc, b);
                first_media(b)
            });
            let success = op
                .get("responses")
                .and_then(Value::as_object)
                .and_then(|responses| {
                    responses
                        .iter()
                        .filter(|(status, _)| status.starts_with('2'))
                        .min_by(|a, b| a.0.cmp(b.0))
                })
                .map(|(status, r)| {
                    let (_, schema) = first_media(resolve(doc, r));
                    (status.clone(), schema)
                });
            out.push((
                id,
                Op {
                    method: method.clone(),
                    path: path.clone(),
                    params,
                    body,
                    success,
                },
            ));
        }
    }
    out
}

/// The first media type of a body or response and its schema ("" when it has no content).
fn first_media(v: &Value) -> (String, Option<&Value>) {
    v.get("content")
        .and_then(Value::as_object)
        .and_then(|c| c.iter().next())
        .map(|(media, m)| (media.clone(), m.get("schema")))
        .unwrap_or_default()
}

/// The name of a `#/components/schemas/NAME` reference: the Rust type progenitor generates.
fn ref_name(v: &Value) -> Option<&str> {
    cxkit_spec::refs::reference(v).map(cxkit_spec::refs::ref_name)
}

struct Cx<'a> {
    old: &'a Value,
    new: &'a Value,
    /// Pairs of named schemas already compared, so recursive types end.
    seen: BTreeSet<(String, String)>,
    out: Vec<(bool, String)>,
}

impl Cx<'_> {
    fn push(&mut self, breaking: bool, what: String) {
        self.out.push((breaking, what));
    }
}

fn compare_params(cx: &mut Cx<'_>, o: &Op<'_>, n: &Op<'_>) {
    for ((loc, name), (required, schema)) in &o.params {
        match n.params.get(&(loc.clone(), name.clone())) {
            None => cx.push(true, format!("parameter `{name}` ({loc}) removed")),
            Some((new_required, new_schema)) => {
                if !required && *new_required {
                    cx.push(true, format!("parameter `{name}` ({loc}) made required"));
                } else if *required && !new_required {
                    cx.push(false, format!("parameter `{name}` ({loc}) made optional"));
                }
                if let (Some(a), Some(b)) = (schema, new_schema) {
                    compare_schema(
                        cx,
                        a,
                        b,
                        &format!("parameter `{name}` ({loc})"),
                        "",
                        Side::Request,
                    );
                }
            }
        }
    }
    for ((loc, name), (required, _)) in &n.params {
        if !o.params.contains_key(&(loc.clone(), name.clone())) {
            if *required {
                cx.push(true, format!("required parameter `{name}` ({loc}) added"));
            } else {
                cx.push(false, format!("optional parameter `{name}` ({loc}) added"));
            }
        }
    }
}

fn compare_body(cx: &mut Cx<'_>, o: &Op<'_>, n: &Op<'_>) {
    match (&o.body, &n.body) {
        (None, None) => {}
        // progenitor makes every request body a required builder argument, optional or not.
        (None, Some((media, _))) => cx.push(true, format!("request body added (`{media}`)")),
        (Some(_), None) => cx.push(true, "request body removed".to_owned()),
        (Some((om, os)), Some((nm, ns))) => {
            if om != nm {
                cx.push(
                    true,
                    format!("request body media type changed from `{om}` to `{nm}`"),
                );
            } else if let (Some(a), Some(b)) = (os, ns) {
                compare_schema(cx, a, b, "request body", "", Side::Request);
            }
        }
    }
}

fn compare_success(cx: &mut Cx<'_>, o: &Op<'_>, n: &Op<'_>) {
    match (&o.success, &n.success) {
        (Some((os, osch)), Some((ns, nsch))) => {
            if os != ns {
                cx.push(false, format!("success status changed from {os} to {ns}"));
            }
            match (osch, nsch) {
                (Some(a), Some(b)) => {
                    compare_schema(cx, a, b, &format!("response {ns}"), "", Side::Response)
                }
                (Some(_), None) => cx.push(true, format!("response {ns} body removed")),
                (None, Some(_)) => cx.push(
                    true,
                    format!("response {ns} now has a body (the call returns a value, not `()`)"),
                ),
                (None, None) => {}
            }
        }
        (Some((os, _)), None) => cx.push(true, format!("success response {os} removed")),
        (None, Some((ns, _))) => cx.push(false, format!("success response {ns} added")),
        (None, None) => {}
    }
}

/// A schema's kind as a user of the generated type sees it: `string`, `integer(int64)`,
/// `array`, `object`, `oneOf`…, with `?` when nullable. `format: password` is left out: it
/// only makes the generated `Debug` redact the value, and the Rust type stays the same.
fn kind(s: &Value) -> String {
    let base = if let Some(t) = s.get("type").and_then(Value::as_str) {
        match s.get("format").and_then(Value::as_str) {
            Some(f) if f != "password" => format!("{t}({f})"),
            _ => t.to_owned(),
        }
    } else if s.get("properties").is_some() {
        "object".to_owned()
    } else if let Some(k) = ["allOf", "oneOf", "anyOf"]
        .into_iter()
        .find(|k| s.get(*k).is_some())
    {
        k.to_owned()
    } else {
        "any".to_owned()
    };
    if s.get("nullable").and_then(Value::as_bool) == Some(true) {
        format!("{base}?")
    } else {
        base
    }
}

/// Where a change is: `at` (a parameter, the request body, a response) and, inside it, the
/// field path (`tags[].color`; empty for the top level).
fn place(at: &str, path: &str) -> String {
    if path.is_empty() {
        at.to_owned()
    } else {
        format!("{at}, field `{path}`")
    }
}

/// `path` extended by a field name.
fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn compare_schema(cx: &mut Cx<'_>, old: &Value, new: &Value, at: &str, path: &str, side: Side) {
    if let (Some(a), Some(b)) = (ref_name(old), ref_name(new)) {
        if a != b {
            cx.push(
                true,
                format!("{}: type `{a}` replaced by `{b}`", place(at, path)),
            );
        }
        if !cx.seen.insert((a.to_owned(), b.to_owned())) {
            return;
        }
    }
    let (old_doc, new_doc) = (cx.old, cx.new);
    let o = resolve(old_doc, old);
    let n = resolve(new_doc, new);
    let (ok, nk) = (kind(o), kind(n));
    if ok != nk {
        cx.push(
            true,
            format!("{}: type changed from `{ok}` to `{nk}`", place(at, path)),
        );
        return;
    }
    compare_enum(cx, o, n, &place(at, path), side);
    match ok.trim_end_matches('?') {
        "object" => compare_object(cx, o, n, at, path, side),
        "array" => {
            if let (Some(a), Some(b)) = (o.get("items"), n.get("items")) {
                compare_schema(cx, a, b, at, &format!("{path}[]"), side);
            }
        }
        k @ ("allOf" | "oneOf" | "anyOf") => {
            let (a, b) = (
                o[k].as_array().map(Vec::as_slice).unwrap_or_default(),
                n[k].as_array().map(Vec::as_slice).unwrap_or_default(),
            );
            if a.len() != b.len() {
                cx.push(
                    true,
                    format!(
                        "{}: `{k}` changed from {} to {} alternatives",
                        place(at, path),
                        a.len(),
                        b.len()
                    ),
                );
            } else {
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    compare_schema(cx, x, y, at, &format!("{path}<{k} #{}>", i + 1), side);
                }
            }
        }
        _ => {}
    }
}

fn compare_enum(cx: &mut Cx<'_>, o: &Value, n: &Value, at: &str, side: Side) {
    let values = |s: &Value| -> Option<Vec<String>> {
        s.get("enum")
            .and_then(Value::as_array)
            .map(|v| v.iter().map(Value::to_string).collect())
    };
    match (values(o), values(n)) {
        (Some(a), Some(b)) => {
            for v in a.iter().filter(|v| !b.contains(v)) {
                cx.push(true, format!("{at}: enum value {v} removed"));
            }
            for v in b.iter().filter(|v| !a.contains(v)) {
                // A response enum is closed (an exhaustive `match` on it stops compiling); a
                // request may simply send the new value.
                cx.push(
                    side == Side::Response,
                    format!("{at}: enum value {v} added"),
                );
            }
        }
        (None, Some(_)) => cx.push(true, format!("{at}: now restricted to an enum")),
        (Some(_), None) => cx.push(true, format!("{at}: no longer an enum")),
        (None, None) => {}
    }
}

fn compare_object(cx: &mut Cx<'_>, o: &Value, n: &Value, at: &str, path: &str, side: Side) {
    let props = |s: &Value| s.get("properties").and_then(Value::as_object).cloned();
    let required = |s: &Value| -> BTreeSet<String> {
        s.get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let (op, np) = (props(o).unwrap_or_default(), props(n).unwrap_or_default());
    let (oreq, nreq) = (required(o), required(n));
    for (name, schema) in &op {
        let field = join(path, name);
        let Some(new_schema) = np.get(name) else {
            cx.push(true, format!("{at}: field `{field}` removed"));
            continue;
        };
        match (oreq.contains(name), nreq.contains(name)) {
            // Either way the Rust field's type changes between `T` and `Option<T>`.
            (false, true) => cx.push(true, format!("{}: made required", place(at, &field))),
            (true, false) => cx.push(true, format!("{}: made optional", place(at, &field))),
            _ => {}
        }
        compare_schema(cx, schema, new_schema, at, &field, side);
    }
    for name in np.keys().filter(|k| !op.contains_key(*k)) {
        let required = nreq.contains(name);
        let breaking = side == Side::Request && required;
        let what = match (side, required) {
            (Side::Request, true) => "required field",
            (Side::Request, false) => "optional field",
            (Side::Response, _) => "field",
        };
        cx.push(
            breaking,
            format!("{at}: {what} `{}` added", join(path, name)),
        );
    }
}

/// A spec's bytes at a git revision; `None` when the file did not exist there.
pub fn spec_at(root: &Path, rev: &str, file: &str) -> anyhow::Result<Option<Vec<u8>>> {
    let out = Command::new("git")
        .args(["show", &format!("{rev}:{file}")])
        .current_dir(root)
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run git ({e}); is git installed?"))?;
    if out.status.success() {
        return Ok(Some(out.stdout));
    }
    // Tell "no such file at that revision" apart from "no such revision".
    let rev_ok = Command::new("git")
        .args([
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ])
        .current_dir(root)
        .output()
        .is_ok_and(|o| o.status.success());
    if rev_ok {
        Ok(None)
    } else {
        anyhow::bail!(
            "`{rev}` is not a git revision here: {}; pass a commit, tag or branch to --since",
            String::from_utf8_lossy(&out.stderr).trim()
        )
    }
}

/// Compares each system's spec at `rev` with the working tree.
pub fn since(root: &Path, rev: &str, systems: &[System]) -> anyhow::Result<Vec<SystemChanges>> {
    systems
        .iter()
        .map(|system| {
            let new = Spec::load(root, system.spec).map_err(|p| anyhow::anyhow!("{p}"))?;
            let old = spec_at(root, rev, system.spec)?;
            compare(system, old, &new, rev)
        })
        .collect()
}

/// Compares one system's old spec bytes (if any) with its current spec.
pub fn compare(
    system: &System,
    old: Option<Vec<u8>>,
    new: &Spec,
    rev: &str,
) -> anyhow::Result<SystemChanges> {
    let mut report = SystemChanges {
        system: system.name.to_owned(),
        spec: system.spec.to_owned(),
        changes: Vec::new(),
        note: None,
    };
    match old {
        Some(bytes) => {
            let old = Spec::parse(system.spec, bytes)
                .map_err(|e| anyhow::anyhow!("{} at {rev}: {e}", system.spec))?;
            report.changes = diff(&old.doc, &new.doc);
        }
        None => {
            report.note = Some(format!(
                "new spec (not in {rev}); {} operation(s)",
                new.operations().len()
            ));
        }
    }
    Ok(report)
}

/// The human-readable report, grouped by system.
pub fn render(reports: &[SystemChanges], from: &str) -> String {
    let mut s = String::new();
    for r in reports {
        if let Some(note) = &r.note {
            let _ = writeln!(s, "{} ({}): {note}", r.system, r.spec);
            continue;
        }
        if r.changes.is_empty() {
            let _ = writeln!(s, "{} ({}): no API changes since {from}", r.system, r.spec);
            continue;
        }
        let breaking = r.breaking();
        let _ = writeln!(
            s,
            "{} ({}): {breaking} breaking, {} non-breaking change(s) since {from}",
            r.system,
            r.spec,
            r.changes.len() - breaking
        );
        for (title, wanted) in [("breaking", true), ("non-breaking", false)] {
            let group: Vec<&Change> = r.changes.iter().filter(|c| c.breaking == wanted).collect();
            if group.is_empty() {
                continue;
            }
            let _ = writeln!(s, "  {title}:");
            for c in group {
                let _ = writeln!(s, "    {}: {}", c.operation, c.what);
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::kind;
    use serde_json::json;

    /// Marking a field secret changes its `Debug`, not its Rust type, so it is no API change;
    /// any other format (`int64`, `date-time`, …) still is part of the kind.
    #[test]
    fn a_password_format_is_not_a_type_change() {
        assert_eq!(
            kind(&json!({"type": "string", "format": "password"})),
            kind(&json!({"type": "string"}))
        );
        assert_eq!(
            kind(&json!({"type": "integer", "format": "int64", "nullable": true})),
            "integer(int64)?"
        );
    }
}
