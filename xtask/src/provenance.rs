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
                return reference
                    .strip_prefix('#')
                    .and_then(|pointer| spec.doc.pointer(pointer))
                    .is_some_and(|target| reaches_mark(spec, target, seen));
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

/// The Markdown table of the given tallies, with a total row when there are several.
pub fn table(tallies: &[Tally]) -> String {
    let mut out = String::from(
        "| spec | operations | vendor page | seeds/notes only | no source | marked inferred | partly inferred | fully sourced |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
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
    }
    if tallies.len() > 1 {
        row(&mut out, "total", &total);
    }
    out
}

fn row(out: &mut String, name: &str, t: &Tally) {
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "| {name} | {} | {} | {} | {} | {} | {} | {} |",
        t.operations, t.vendor_page, t.seeds_only, t.no_source, t.marked, t.partly, t.fully_sourced
    );
}

/// `readme` with everything between the [`BEGIN`] and [`END`] markers replaced by `table`
/// (and a line saying who writes it). Fails, saying what to add, when the markers are missing
/// or out of order.
pub fn replace_table(readme: &str, table: &str) -> Result<String, String> {
    let (Some(begin), Some(end)) = (readme.find(BEGIN), readme.find(END)) else {
        return Err(format!(
            "has no provenance markers; add a line `{BEGIN}` and, below it, a line `{END}` where the table belongs"
        ));
    };
    if end < begin {
        return Err(format!("`{END}` comes before `{BEGIN}`; swap them"));
    }
    let head = &readme[..begin + BEGIN.len()];
    let tail = &readme[end..];
    Ok(format!(
        "{head}\n<!-- Written by `cargo xtask generate` from the specs; edit the specs, not this table. -->\n\n{table}\n{tail}"
    ))
}
