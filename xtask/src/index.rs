//! The operation index of each generated crate (`crates/<system>/OPERATIONS.md`, also the
//! crate's `operations` rustdoc module): every operation's title, the generated client's method,
//! the facade call that wraps it, its HTTP method and path, and where it comes from. Written
//! by `cargo xtask generate` beside the client, checked by `--check` and the freshness test.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use crate::Generated;
use crate::facts::{Checked, OpFacts};
use crate::spec::{Problem, Spec};
use crate::systems::System;

/// The hand-written `cxkit` calls that wrap an operation: (system, `operationId`, call). A
/// test checks that every operation named here exists in its spec and every call in the
/// facade's source, so the map cannot silently fall behind either.
pub const FACADE: &[(&str, &str, &str)] = &[
    (
        "ejento-auth",
        "initiate_google_sso_login",
        "Ejento::sso_login_url(SsoProvider::Google, ..)",
    ),
    (
        "ejento-auth",
        "initiate_microsoft_sso_login",
        "Ejento::sso_login_url(SsoProvider::Microsoft, ..)",
    ),
    (
        "ejento-auth",
        "initiate_linkedin_sso_login",
        "Ejento::sso_login_url(SsoProvider::LinkedIn, ..)",
    ),
    (
        "ejento-auth",
        "initiate_okta_sso_login",
        "Ejento::sso_login_url(SsoProvider::Okta, ..)",
    ),
    (
        "ejento-auth",
        "login_access_token",
        "Ejento::login_password",
    ),
    (
        "ejento-auth",
        "request_passwordless_token",
        "Ejento::request_login_code",
    ),
    (
        "ejento-auth",
        "exchange_passwordless_token",
        "Ejento::login_with_code",
    ),
    (
        "ejento-auth",
        "passwordless_auth",
        "Ejento::request_magic_link",
    ),
    (
        "ejento-auth",
        "verify_email_otp",
        "Ejento::login_with_email_otp",
    ),
    ("ejento-auth", "register_user", "Ejento::sign_up"),
    (
        "ejento-auth",
        "update_own_password",
        "Ejento::change_password",
    ),
    ("ejento-auth", "refresh_access_token", "Ejento::refresh"),
    (
        "ejento-platform",
        "stream_agent_response",
        "Ejento::stream_agent_response",
    ),
    (
        "ejento-platform",
        "stream_workflow_response",
        "Ejento::stream_workflow_response",
    ),
    (
        "ejento-platform",
        "upload_corpus_document",
        "Ejento::upload_document",
    ),
    ("proto", "create_human", "Proto::create_human"),
    ("proto", "get_human", "Proto::get_human"),
    ("proto", "update_human", "Proto::update_human"),
    (
        "proto-developer",
        "create_ticket",
        "ProtoPlatform::create_ticket",
    ),
    (
        "proto-developer",
        "get_customer",
        "ProtoPlatform::get_customer",
    ),
    (
        "proto-developer",
        "create_customer",
        "ProtoPlatform::create_customer",
    ),
    (
        "proto-developer",
        "add_customer_tags",
        "ProtoPlatform::add_customer_tags",
    ),
    (
        "proto-developer",
        "add_customer_custom_fields",
        "ProtoPlatform::add_customer_custom_fields",
    ),
    (
        "proto-developer",
        "list_custom_fields",
        "ProtoPlatform::list_custom_fields",
    ),
    (
        "proto-developer",
        "create_custom_field",
        "ProtoPlatform::create_custom_field",
    ),
    (
        "proto-developer",
        "delete_custom_field",
        "ProtoPlatform::delete_custom_field",
    ),
    (
        "proto-developer",
        "text_to_speech",
        "ProtoPlatform::text_to_speech",
    ),
    (
        "proto-developer",
        "speech_to_text",
        "ProtoPlatform::speech_to_text",
    ),
    (
        "proto-messaging",
        "create_channel_human",
        "ProtoMessaging::create_human",
    ),
    (
        "proto-messaging",
        "get_channel_human",
        "ProtoMessaging::get_human",
    ),
    (
        "proto-messaging",
        "create_chat",
        "ProtoMessaging::create_chat",
    ),
    ("platform28", "create_login_session", "Platform28::login"),
    ("platform28", "get_session", "Platform28Session::info"),
    (
        "platform28",
        "set_effective_user",
        "Platform28Session::set_effective_user",
    ),
    (
        "platform28",
        "set_effective_org",
        "Platform28Session::set_effective_org",
    ),
    (
        "platform28",
        "reset_assumed_identity",
        "Platform28Session::reset_assumed_identity",
    ),
    (
        "platform28",
        "clone_session",
        "Platform28Session::clone_session",
    ),
    (
        "platform28",
        "terminate_user_sessions",
        "Platform28Session::terminate_user_sessions",
    ),
    (
        "platform28",
        "terminate_session",
        "Platform28Session::terminate",
    ),
];

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

/// Table cells hold Markdown; a `|` would end the cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Whether a part of an operation (or the operation itself) is marked inferred.
fn inferred(v: &Value) -> bool {
    v.get("x-cxkit-inferred").and_then(Value::as_bool) == Some(true)
}

/// Where an operation comes from. With its per-fact provenance (its spec's ledger is in the
/// per-fact format): each fact kind and the sources that show it, or `inferred`, then the parts
/// marked inferred (`marked inferred: ...`). Otherwise its `x-cxkit-source` list, and which
/// parts are inferred.
pub(crate) fn provenance_with(op: &Value, facts: Option<&OpFacts>) -> String {
    let mut parts = Vec::new();
    let sources: Vec<String> = op
        .get("x-cxkit-source")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(|s| {
                    if s.starts_with("http://") || s.starts_with("https://") {
                        format!("<{s}>")
                    } else {
                        format!("`{s}`")
                    }
                })
                .collect()
        })
        .unwrap_or_default();
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
         - **Facade**: the hand-written `cxkit` call that wraps it, when there is one (it binds \
         the credentials and ids, maps errors and types what progenitor cannot). \
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
            let client = if op.get("x-cxkit-handwritten").is_some() {
                "*hand-written*".to_owned()
            } else {
                format!("`{id}()`")
            };
            let facade = FACADE
                .iter()
                .find(|(sys, op_id, _)| *sys == system.name && *op_id == id)
                .map(|(_, _, call)| format!("`{call}`"))
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
