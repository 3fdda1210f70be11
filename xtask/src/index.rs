//! The operation index of each generated crate (`crates/<system>/OPERATIONS.md`, also the
//! crate's `operations` rustdoc module): every operation's title, the generated client's method,
//! the facade call that wraps it (the spec's `x-cxkit-facade`), its HTTP method and path, and
//! where it comes from. Written by `cargo xtask generate` beside the client, checked by
//! `--check` and the freshness test.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use crate::Generated;
use crate::facts::{Checked, OpFacts};
use crate::spec::{Problem, Spec};
use crate::systems::System;
use cxkit_spec::ext;

/// Where a system's index goes: `OPERATIONS.md` at the root of its crate (the generated file
/// is `crates/<crate>/src/generated.rs`).
pub fn index_path(system: &System) -> String {
    let crate_dir = Path::new(system.output)
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new(""));
    crate_dir
        .join("OPERATIONS.md")
        .to_string_lossy()
        .replace('\\', "/")
}

/// The indexes of the named systems; a spec that cannot be read is a problem naming it.
pub fn build_indexes(root: &Path, systems: &[System]) -> Result<Vec<Generated>, Vec<Problem>> {
    per_spec(root, systems, |system, spec, checked| Generated {
        path: index_path(system),
        contents: render_with(system, &spec, checked),
    })
}

/// One generated file per named system, made by `make` from its spec and, when its ledger is
/// in the per-fact format, the spec checked against it; every spec or ledger that cannot be
/// read is a problem naming it, and then nothing is returned.
pub(crate) fn per_spec(
    root: &Path,
    systems: &[System],
    make: impl Fn(&System, Spec, Option<&Checked>) -> Generated,
) -> Result<Vec<Generated>, Vec<Problem>> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for system in systems {
        match Spec::load(root, system.spec) {
            Ok(spec) => match crate::facts::check_spec(root, &spec) {
                Ok(checked) => out.push(make(system, spec, checked.as_ref())),
                Err(p) => problems.extend(p),
            },
            Err(p) => problems.push(p),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Table cells hold Markdown (which the crate's docs include, so as rustdoc renders it:
/// [`crate::doc_text`]); a `|` would end the cell.
fn cell(text: &str) -> String {
    crate::doc_text::doc_text(text)
        .replace('|', "\\|")
        .replace('\n', " ")
}

use cxkit_spec::ext::inferred;

/// Where an operation comes from. With its per-fact provenance (its spec's ledger is in the
/// per-fact format): each fact kind and the sources that show it, or `inferred`, then the parts
/// marked inferred (`marked inferred: ...`). Otherwise its `x-cxkit-source` list, and which
/// parts are inferred.
pub(crate) fn provenance_with(op: &Value, facts: Option<&OpFacts>) -> String {
    let mut parts = Vec::new();
    let sources: Vec<String> = ext::sources(op)
        .into_iter()
        .map(|s| {
            if crate::provenance::is_url(s) {
                format!("<{s}>")
            } else {
                format!("`{s}`")
            }
        })
        .collect();
    if let Some(facts) = facts {
        parts.push(facts.describe());
    } else if sources.is_empty() {
        parts.push("seed only".to_owned());
    } else {
        parts.push(format!("sourced: {}", sources.join(", ")));
    }
    let mut guessed = Vec::new();
    if inferred(op) {
        guessed.push("the operation".to_owned());
    }
    for p in op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if inferred(p) {
            let name = p.get("name").and_then(Value::as_str).unwrap_or("?");
            guessed.push(format!("parameter `{name}`"));
        }
    }
    if op.get("requestBody").is_some_and(inferred) {
        guessed.push("request body".to_owned());
    }
    if let Some(responses) = op.get("responses").and_then(Value::as_object) {
        for (status, r) in responses {
            if inferred(r) {
                guessed.push(format!("response {status}"));
            }
        }
    }
    if !guessed.is_empty() {
        let label = if facts.is_some() {
            "marked inferred"
        } else {
            "inferred"
        };
        parts.push(format!("{label}: {}", guessed.join(", ")));
    }
    parts.join("; ")
}

/// The crate name of a system's generated client, from its `Cargo.toml` naming convention
/// (`crates/proto` holds `cxkit-proto`).
fn crate_name(system: &System) -> String {
    format!("cxkit_{}", system.name.replace('-', "_"))
}

/// The Markdown index of one spec, without per-fact provenance.
pub fn render(system: &System, spec: &Spec) -> String {
    render_with(system, spec, None)
}

/// The Markdown index of one spec; with `checked`, the Source column says per fact kind which
/// source shows it.
pub fn render_with(system: &System, spec: &Spec, checked: Option<&Checked>) -> String {
    let title = spec
        .doc
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or(system.name);
    let ops = spec.operations();
    let krate = crate_name(system);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<!-- @generated by `cargo xtask generate` from {}; edit the spec, not this file. -->\n",
        system.spec
    );
    let _ = writeln!(s, "# {title}: operations\n");
    let _ = writeln!(
        s,
        "All {} operations of `{}`, grouped by tag.\n",
        ops.len(),
        system.spec
    );
    let _ = writeln!(
        s,
        "- **Client method**: the generated builder method, called on `{krate}::Client` as \
         `client.method().param(..).send().await`. Its name is the `operationId`.\n\
         - **Facade**: the hand-written `cxkit` call that wraps it, when there is one (the \
         spec's `x-cxkit-facade`; it binds the credentials and ids, maps errors and types what \
         progenitor cannot). \
         *hand-written* operations have no generated method: progenitor cannot express them, \
         so only the facade call exists.\n\
         - **Source**: per fact kind, the cited sources that show it in agreement with the \
         spec (`vendor page (v2) <url>`, `vendor client`, `seed`, `notes`, `vendor guide`, \
         with the evidence file), or `inferred` (and what a source of another API generation \
         shows), then the parts `marked inferred` (`x-cxkit-inferred`, each explained in the \
         spec). While a spec's ledger is in the older format: `sourced` lists its \
         `x-cxkit-source`, `seed only` means the vendor seeds its description names, and \
         `inferred` the marked parts.\n"
    );
    // Tags in order of first use, operations in path order within each.
    let mut tags: Vec<String> = Vec::new();
    for (_, _, op) in &ops {
        let tag = first_tag(op);
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    for tag in &tags {
        let _ = writeln!(s, "## {tag}\n");
        let _ = writeln!(s, "| Title | Client method | Facade | HTTP | Source |");
        let _ = writeln!(s, "|---|---|---|---|---|");
        for (path, method, op) in ops.iter().filter(|(_, _, op)| first_tag(op) == *tag) {
            let id = crate::spec::op_label(path, method, op);
            let summary = op.get("summary").and_then(Value::as_str).unwrap_or("");
            let client = if ext::handwritten(op).is_some() {
                "*hand-written*".to_owned()
            } else {
                format!("`{id}()`")
            };
            let facade = ext::facade(op)
                .map(|call| format!("`{call}`"))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "| {} | {} | {} | `{} {}` | {} |",
                cell(summary),
                client,
                cell(&facade),
                method.to_uppercase(),
                cell(path),
                cell(&provenance_with(op, checked.and_then(|c| c.op(&id)))),
            );
        }
        s.push('\n');
    }
    // One trailing newline, as editors leave it.
    while s.ends_with("\n\n") {
        s.pop();
    }
    s
}

fn first_tag(op: &Value) -> String {
    op.pointer("/tags/0")
        .and_then(Value::as_str)
        .unwrap_or("Untagged")
        .to_owned()
}
