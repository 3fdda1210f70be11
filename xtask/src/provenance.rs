//! Provenance: per spec, where its operations' facts come from, counted from the specs
//! themselves so that `specs/README.md` can never claim more (or less) than the specs say.
//!
//! Two independent classifications of every operation:
//!
//! - **Source** (from the operation's `x-cxkit-source` list):
//!   - *vendor page*: at least one entry is an `http://` or `https://` URL;
//!   - *seeds/notes only*: at least one entry, none of them a URL (`seeds/...`, `notes/...`);
//!   - *no source*: the list is missing or empty.
//! - **Inference** (from `x-cxkit-inferred: true` marks):
//!   - *marked inferred*: the operation itself, or its path item (an inferred path), is marked;
//!   - *partly inferred*: the operation is not, but something it uses is: a parameter (its own
//!     or its path item's), the request body, a response or response header, or any schema
//!     reachable from them, following `$ref`s to the components and into properties, items
//!     and compositions (a mark on a shared error schema counts for every operation using it);
//!   - *fully sourced*: nothing reachable from the operation is marked.
//!
//! Examples (`example`, `examples`) are data, not description, and are not searched.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::Value;

use crate::spec::{METHODS, Spec};

/// The marker comments between which `cargo xtask generate` writes the table in
/// `specs/README.md`.
pub const BEGIN: &str = "<!-- cxkit:provenance:begin -->";
/// See [`BEGIN`].
pub const END: &str = "<!-- cxkit:provenance:end -->";

/// The counts of one spec. `vendor_page + seeds_only + no_source` and
/// `marked + partly + fully_sourced` both equal `operations`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// The spec's file name (`ejento-auth.yaml`).
    pub spec: String,
    /// Every operation in the spec.
    pub operations: usize,
    /// Operations with at least one page URL among their sources.
    pub vendor_page: usize,
    /// Operations whose sources are seeds and notes only.
    pub seeds_only: usize,
    /// Operations with no `x-cxkit-source` at all.
    pub no_source: usize,
    /// Operations marked `x-cxkit-inferred` themselves (or on their path item).
    pub marked: usize,
    /// Operations not marked themselves, with a marked part.
    pub partly: usize,
    /// Operations with nothing marked anywhere.
    pub fully_sourced: usize,
    /// The per-fact counts, when the spec's ledger is in the per-fact format
    /// ([`crate::facts`]); `None` for a ledger still in the older format.
    pub facts: Option<crate::facts::FactTally>,
}

/// Where an operation's facts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// At least one vendor page URL.
    VendorPage,
    /// Seeds and notes only.
    SeedsOnly,
    /// Nothing listed.
    None,
}

/// How much of an operation is still inferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inference {
    /// The operation (or its path) is marked.
    Marked,
    /// A part (parameter, body, response, schema) is marked.
    Partly,
    /// Nothing reachable is marked.
    None,
}

/// Classifies an operation by its `x-cxkit-source` list.
pub fn source(op: &Value) -> Source {
    let entries: Vec<&str> = op
        .get("x-cxkit-source")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if entries.is_empty() {
        Source::None
    } else if entries.iter().any(|e| is_url(e)) {
        Source::VendorPage
    } else {
        Source::SeedsOnly
    }
}

/// Whether a source entry is a page URL.
pub fn is_url(entry: &str) -> bool {
    entry.starts_with("https://") || entry.starts_with("http://")
}

/// Classifies an operation (found under `path_item`) by its inferred marks.
pub fn inference(spec: &Spec, path_item: &Value, op: &Value) -> Inference {
    if marked(path_item) || marked(op) {
        return Inference::Marked;
    }
    let mut seen = BTreeSet::new();
    let parts = [
        path_item.get("parameters"),
        op.get("parameters"),
        op.get("requestBody"),
        op.get("responses"),
    ];
    if parts
        .into_iter()
        .flatten()
        .any(|part| reaches_mark(spec, part, &mut seen))
    {
        Inference::Partly
    } else {
        Inference::None
    }
}

fn marked(value: &Value) -> bool {
    value.get("x-cxkit-inferred").and_then(Value::as_bool) == Some(true)
}

/// Whether `value`, or anything reachable from it through nesting and local `$ref`s, carries
/// the mark. `seen` holds the references already followed, so cycles end.
fn reaches_mark(spec: &Spec, value: &Value, seen: &mut BTreeSet<String>) -> bool {
    match value {
        Value::Object(map) => {
            if marked(value) {
                return true;
            }
            if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
                if !seen.insert(reference.to_owned()) {
                    return false;
                }
                return spec
                    .try_resolve(value)
                    .is_ok_and(|target| reaches_mark(spec, target, seen));
            }
            map.iter()
                .filter(|(key, _)| !matches!(key.as_str(), "example" | "examples"))
                .any(|(_, child)| reaches_mark(spec, child, seen))
        }
        Value::Array(items) => items.iter().any(|item| reaches_mark(spec, item, seen)),
        _ => false,
    }
}

/// Counts one spec.
pub fn tally(spec: &Spec) -> Tally {
    let mut t = Tally {
        spec: spec
            .file
            .rsplit('/')
            .next()
            .unwrap_or(&spec.file)
            .to_owned(),
        ..Tally::default()
    };
    let Some(paths) = spec.doc.get("paths").and_then(Value::as_object) else {
        return t;
    };
    for item in paths.values() {
        let Some(map) = item.as_object() else {
            continue;
        };
        for (method, op) in map {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            t.operations += 1;
            match source(op) {
                Source::VendorPage => t.vendor_page += 1,
                Source::SeedsOnly => t.seeds_only += 1,
                Source::None => t.no_source += 1,
            }
            match inference(spec, item, op) {
                Inference::Marked => t.marked += 1,
                Inference::Partly => t.partly += 1,
                Inference::None => t.fully_sourced += 1,
            }
        }
    }
    t
}

/// The Markdown table of the given tallies, with a total row when there are several. The
/// per-fact columns (sourced path, body, response, statuses, end to end) are `–` for a spec
/// whose ledger is still in the older format, and the total then counts only the others.
pub fn table(tallies: &[Tally]) -> String {
    let mut out = String::from(
        "| spec | operations | vendor page | seeds/notes only | no source | marked inferred | partly inferred | fully sourced | sourced path | sourced body | sourced response | sourced statuses | end to end |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut total = Tally {
        spec: "total".to_owned(),
        ..Tally::default()
    };
    for t in tallies {
        row(&mut out, &format!("`{}`", t.spec), t);
        total.operations += t.operations;
        total.vendor_page += t.vendor_page;
        total.seeds_only += t.seeds_only;
        total.no_source += t.no_source;
        total.marked += t.marked;
        total.partly += t.partly;
        total.fully_sourced += t.fully_sourced;
        if let Some(f) = &t.facts {
            total
                .facts
                .get_or_insert_with(crate::facts::FactTally::default)
                .add(f);
        }
    }
    if tallies.len() > 1 {
        row(&mut out, "total", &total);
    }
    out
}

fn row(out: &mut String, name: &str, t: &Tally) {
    let facts = match &t.facts {
        Some(f) => format!(
            "{} | {}/{} | {}/{} | {} | {}",
            f.path, f.body.0, f.body.1, f.response.0, f.response.1, f.statuses, f.end_to_end
        ),
        None => "– | – | – | – | –".to_owned(),
    };
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "| {name} | {} | {} | {} | {} | {} | {} | {} | {facts} |",
        t.operations, t.vendor_page, t.seeds_only, t.no_source, t.marked, t.partly, t.fully_sourced
    );
}

/// The sentence the top-level README states between its own markers ([`FIGURE_BEGIN`],
/// [`FIGURE_END`]): how many operations are sourced end to end.
pub fn figure(tallies: &[Tally]) -> String {
    let counted: Vec<&Tally> = tallies.iter().filter(|t| t.facts.is_some()).collect();
    let operations: usize = counted.iter().map(|t| t.operations).sum();
    let end_to_end: usize = counted
        .iter()
        .filter_map(|t| t.facts.as_ref())
        .map(|f| f.end_to_end)
        .sum();
    let names = |specs: Vec<&Tally>| {
        specs
            .iter()
            .map(|t| format!("`{}`", t.spec))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let pending: Vec<&Tally> = tallies.iter().filter(|t| t.facts.is_none()).collect();
    let mut text = if counted.is_empty() {
        "**Operations sourced end to end: not counted yet**; every spec's ledger is still in the \
         older format, without per-fact provenance."
            .to_owned()
    } else {
        let of = if pending.is_empty() {
            String::new()
        } else {
            format!(" of {}", names(counted.clone()))
        };
        format!(
            "**{end_to_end} of the {operations} operations{of} are sourced end to end**: every \
             fact the operation has (method, path, statuses, and its query, headers, request \
             body and response when it has them) is shown by a cited source that `cargo xtask \
             provenance --check` found in agreement with the spec, and nothing of it is marked \
             inferred."
        )
    };
    if !pending.is_empty() && !counted.is_empty() {
        text.push_str(&format!(
            " Not counted yet (ledger in the older format): {}.",
            names(pending)
        ));
    }
    text.push_str(
        " `cxkit <system> <operation> --help` and each client crate's `OPERATIONS.md` say, fact \
         by fact, where an operation comes from; specs/README.md counts them per spec.\n",
    );
    text
}

/// The marker comments between which `cargo xtask generate` writes [`figure`] in the
/// top-level `README.md`.
pub const FIGURE_BEGIN: &str = "<!-- cxkit:end-to-end:begin -->";
/// See [`FIGURE_BEGIN`].
pub const FIGURE_END: &str = "<!-- cxkit:end-to-end:end -->";

/// `readme` with everything between the [`BEGIN`] and [`END`] markers replaced by `table`
/// (and a line saying who writes it). Fails, saying what to add, when the markers are missing
/// or out of order.
pub fn replace_table(readme: &str, table: &str) -> Result<String, String> {
    replace_between(readme, BEGIN, END, table, "table")
}

/// `text` with everything between the `begin` and `end` marker lines replaced by `content`.
/// `what` names the content in the line saying who writes it ("table").
pub fn replace_between(
    text: &str,
    begin_marker: &str,
    end_marker: &str,
    content: &str,
    what: &str,
) -> Result<String, String> {
    let (Some(begin), Some(end)) = (text.find(begin_marker), text.find(end_marker)) else {
        return Err(format!(
            "has no provenance markers; add a line `{begin_marker}` and, below it, a line `{end_marker}` where the generated {what} belongs"
        ));
    };
    if end < begin {
        return Err(format!(
            "`{end_marker}` comes before `{begin_marker}`; swap them"
        ));
    }
    let head = &text[..begin + begin_marker.len()];
    let tail = &text[end..];
    Ok(format!(
        "{head}\n<!-- Written by `cargo xtask generate` from the specs; edit the specs, not this {what}. -->\n\n{content}\n{tail}"
    ))
}
