//! Per-fact provenance: each operation's ledger rows (`specs/sources/<spec>.tsv`, see
//! [`crate::ledger`]) checked against the spec, and from them, per fact kind, which sources
//! support what the spec says.
//!
//! **The citation rules.** Every `x-cxkit-source` entry is a page URL or an in-repo evidence
//! reference `evidence/<file>.md[#<anchor>]` whose file exists under `specs/evidence/` (and,
//! with an anchor, has a heading for it); old `seeds/...` and `notes/...` entries are errors.
//! Every entry has a ledger row for the operation; every row cites an entry of its operation's
//! list (or is a `-` row recording a search that found nothing); a source that supports no fact
//! (its row shows none, or only facts the spec differs from) is an error; every `x-cxkit-deviations` entry names a cited source, a fact kind, the value shown
//! and a reason, and records a difference the check actually finds.
//!
//! **The check.** For every row of a cited source, every fact it shows must be in the spec:
//! the title is the `summary` (whitespace collapsed); the method is the operation's; the path is
//! the operation's path (placeholders compared by position, not name; a server's base path such
//! as Proto's `/gateway` may lead it; a shown path without a leading `/` is only the path's end,
//! and must end the operation's path at a segment), compared only when the row documents the
//! same path family as the operation (see [`Family`]); every query name is a query parameter or an API key sent
//! in the query; every header is a header parameter, a header of one of the operation's
//! security schemes (`Authorization` for bearer), `Content-Type` when there is a request body,
//! `Accept` when a success answer has content, or `X-API-Version` when the operation sends it;
//! every body field path is in the request body's schema and every response field path in a
//! success (2xx) answer's schema (following `$ref`s, `allOf`/`oneOf`/`anyOf`, `items` for `[]`
//! and nested `properties`; a free-form object or `additionalProperties` does *not* contain a
//! named field: a field a page shows must be typed); every status is a response of the
//! operation. Each difference fails unless the operation records it in `x-cxkit-deviations`
//! with the same source, fact and shown value.
//!
//! **Per fact.** A fact kind of an operation is *sourced* when some cited source shows it and
//! everything that source shows of it agrees with the spec (for the path, in the same family).
//! An operation is *sourced end to end* when every fact kind it has (method, path and statuses
//! always; query, headers, body and response when it has them) is sourced and nothing reachable
//! from it is marked `x-cxkit-inferred`. The title is checked and shown but not counted: it is
//! the project's curation, not the API's behaviour.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::ledger::{self, Fact, Generation, Ledger, Loaded, Row};
use crate::provenance::{self, Inference};
use crate::spec::{Problem, Spec, op_label};

/// Whether a ledger in the older format is an error. While `false`, a spec whose ledger is still
/// in the older format is checked by the older citation rules only; once every ledger is
/// converted, set it to `true` so that no spec can fall back. (A spec with no ledger at all, such
/// as a test fixture, is not checked fact by fact; every real spec's ledger must exist, which
/// `xtask/tests/ledgers.rs` checks.)
pub const PER_FACT_REQUIRED: bool = true;

/// On a `text/event-stream` success response's media type: `{$ref: '#/components/schemas/X'}`,
/// the schema of each frame's JSON payload. The check reads response field paths a source shows
/// for a stream against it (progenitor ignores it; the body stays a string for the facade to
/// parse).
pub const EVENT_SCHEMA: &str = "x-cxkit-event-schema";

/// The `shown` of an `x-cxkit-deviations` entry that covers every value of its fact that the
/// source shows and the spec differs from (a page of another API generation whose answer the
/// operation does not share, say): one reasoned entry instead of one per field. Values the
/// spec agrees with still count as sourced; a whole-fact entry that covers nothing is stale.
pub const WHOLE_FACT: &str = "*";

/// The evidence files under `specs/evidence/`: file name -> the anchors of its headings.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    files: BTreeMap<String, BTreeSet<String>>,
}

impl Evidence {
    /// Reads every `*.md` of `<spec dir>/evidence` (none when the directory is missing).
    pub fn load(root: &Path, spec_file: &str) -> Evidence {
        let dir = spec_file
            .rsplit_once('/')
            .map(|(dir, _)| dir)
            .unwrap_or("specs");
        Evidence::load_dir(&root.join(dir).join("evidence"))
    }

    /// Reads every `*.md` of `dir` (none when it is missing).
    pub fn load_dir(dir: &Path) -> Evidence {
        let mut files = Vec::new();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.filter_map(Result::ok) {
                let Ok(name) = entry.file_name().into_string() else {
                    continue;
                };
                if name.ends_with(".md")
                    && let Ok(text) = std::fs::read_to_string(entry.path())
                {
                    files.push((name, text));
                }
            }
        }
        Evidence::from_files(files)
    }

    /// Evidence from (file name, text) pairs.
    pub fn from_files(files: impl IntoIterator<Item = (String, String)>) -> Evidence {
        let files = files
            .into_iter()
            .map(|(name, text)| {
                let mut anchors = BTreeSet::new();
                for line in text.lines() {
                    let Some(heading) = line.strip_prefix('#') else {
                        continue;
                    };
                    let heading = heading.trim_start_matches('#').trim();
                    let plain = heading.replace('`', "");
                    anchors.insert(slug(&plain));
                    anchors.insert(plain);
                }
                (name, anchors)
            })
            .collect();
        Evidence { files }
    }

    /// Whether `file` exists, and, when asked, has a heading for `anchor`.
    pub fn resolves(&self, file: &str, anchor: Option<&str>) -> Result<(), String> {
        let Some(anchors) = self.files.get(file) else {
            return Err(format!(
                "names `specs/evidence/{file}`, which does not exist; write the evidence file (a heading per operation, what the document establishes in our own words) or fix the name"
            ));
        };
        match anchor {
            Some(a) if !anchors.contains(a) => Err(format!(
                "names the anchor `#{a}`, but `specs/evidence/{file}` has no heading for it; add `## {a}` with what the document establishes"
            )),
            _ => Ok(()),
        }
    }
}

/// A GitHub-style heading anchor: lower case, spaces to `-`, punctuation other than `-`/`_`
/// dropped.
fn slug(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Which path family an operation or a source belongs to. Paths are compared only within a
/// family: a V2-Legacy page's `/v2/api/tool/{tool_id}` says nothing about the current
/// `/api/v2/tools/{tool_id}`.
///
/// An operation's family is its `x-cxkit-generation` (`stable` or `v2`: [`Family::V2`];
/// `v2-legacy`; `v1`) when it has one; else `legacy_*` operations are V2-Legacy; else the path
/// decides ([`Family::of_path`]). A row's family is its generation's for the API generations,
/// and its path's for client code, seeds, notes and guides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `/api/v2/...` (the Stable and v2 references share it).
    V2,
    /// `/v2/api/...` or a versionless `/api/<name>/...`.
    Legacy,
    /// A `v1` segment.
    V1,
    /// Anything else (a vendor without API generations).
    Other,
}

impl Family {
    /// The family a path's shape shows: `api` then `v2` -> V2; `v2` then `api`, or `api` then
    /// an unversioned segment -> Legacy; a `v1` segment -> V1; else Other.
    pub fn of_path(path: &str) -> Family {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let pair = |a: &str, b: &str| segments.windows(2).any(|w| w[0] == a && w[1] == b);
        if pair("api", "v2") {
            Family::V2
        } else if pair("v2", "api") {
            Family::Legacy
        } else if segments.contains(&"v1") {
            Family::V1
        } else if segments
            .windows(2)
            .any(|w| w[0] == "api" && !is_version(w[1]))
        {
            Family::Legacy
        } else {
            Family::Other
        }
    }

    fn of_generation(generation: Generation, path: &str) -> Family {
        match generation {
            Generation::Stable | Generation::V2 => Family::V2,
            Generation::V2Legacy => Family::Legacy,
            Generation::V1 => Family::V1,
            _ => Family::of_path(path),
        }
    }
}

fn is_version(segment: &str) -> bool {
    segment
        .strip_prefix('v')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A cited source that supports a fact of an operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Support {
    /// The `x-cxkit-source` entry.
    pub source: String,
    /// Its generation.
    pub generation: Generation,
}

/// A cited source that shows a fact differently (a recorded deviation, or a path of another
/// family).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contrary {
    /// The `x-cxkit-source` entry.
    pub source: String,
    /// Its generation.
    pub generation: Generation,
    /// What it shows.
    pub shown: String,
}

/// One fact kind of one operation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FactState {
    /// Whether the operation has this fact kind (a body, a response with content, ...).
    pub has: bool,
    /// The sources that show it and agree with the spec.
    pub support: Vec<Support>,
    /// The sources that show it otherwise.
    pub contrary: Vec<Contrary>,
}

/// The per-fact provenance of one operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpFacts {
    /// The `operationId`.
    pub id: String,
    /// Per fact kind.
    pub facts: BTreeMap<Fact, FactState>,
    /// What its `x-cxkit-inferred` marks say.
    pub inference: Inference,
}

impl OpFacts {
    /// Whether a source the check passed shows `fact`.
    pub fn sourced(&self, fact: Fact) -> bool {
        self.facts
            .get(&fact)
            .is_some_and(|state| !state.support.is_empty())
    }

    /// Whether the operation has `fact`.
    pub fn has(&self, fact: Fact) -> bool {
        self.facts.get(&fact).is_some_and(|state| state.has)
    }

    /// Every fact kind the operation has (other than the title) is sourced, and nothing
    /// reachable from it is marked inferred.
    pub fn end_to_end(&self) -> bool {
        self.inference == Inference::None
            && Fact::ALL
                .into_iter()
                .filter(|f| *f != Fact::Title && self.has(*f))
                .all(|f| self.sourced(f))
    }

    /// One line per operation: fact kinds with the same provenance grouped, e.g. `method,
    /// path: vendor page (v2) https://...; body: inferred (vendor page (v2-legacy) shows
    /// `/v2/api/x`); statuses: seed evidence/seed-001.md`.
    pub fn describe(&self) -> String {
        let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
        for fact in Fact::ALL {
            let Some(state) = self.facts.get(&fact) else {
                continue;
            };
            if !state.has && state.support.is_empty() && state.contrary.is_empty() {
                continue;
            }
            let text = if !state.support.is_empty() {
                state
                    .support
                    .iter()
                    .map(|s| format!("{} {}", s.generation.label(), s.source))
                    .collect::<Vec<_>>()
                    .join(" + ")
            } else if let Some(c) = state.contrary.first() {
                format!(
                    "inferred ({} {} shows `{}`)",
                    c.generation.label(),
                    c.source,
                    c.shown
                )
            } else {
                "inferred".to_owned()
            };
            match groups.iter_mut().find(|(t, _)| *t == text) {
                Some((_, facts)) => facts.push(fact.name()),
                None => groups.push((text, vec![fact.name()])),
            }
        }
        groups
            .iter()
            .map(|(text, facts)| format!("{}: {text}", facts.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// What checking one spec against its ledger found.
#[derive(Clone, Debug, Default)]
pub struct Checked {
    /// Every rule broken and every disagreement not recorded as a deviation.
    pub problems: Vec<Problem>,
    /// Per operation, in document order.
    pub ops: Vec<OpFacts>,
}

impl Checked {
    /// The per-fact provenance of one operation.
    pub fn op(&self, id: &str) -> Option<&OpFacts> {
        self.ops.iter().find(|o| o.id == id)
    }
}

/// Checks a spec against its ledger, when the ledger is in the per-fact format. `Ok(None)`: the
/// spec has no ledger, or one in the older format, so the per-fact rules do not apply (the older
/// format is an error instead once [`PER_FACT_REQUIRED`] is set). A malformed ledger is `Err`.
pub fn check_spec(root: &Path, spec: &Spec) -> Result<Option<Checked>, Vec<Problem>> {
    match ledger::load(root, &spec.file)? {
        Loaded::New(ledger) => Ok(Some(check(
            spec,
            &ledger,
            &Evidence::load(root, &spec.file),
        ))),
        Loaded::Old if PER_FACT_REQUIRED => Err(vec![Problem {
            file: ledger::ledger_path(&spec.file),
            operation: None,
            message: format!(
                "is in the older format; every ledger starts with `{}` and has a row per operation and cited source (specs/README.md, \"Ledgers\")",
                ledger::HEADER.replace('\t', "\\t")
            ),
        }]),
        Loaded::Old | Loaded::Missing => Ok(None),
    }
}

/// One `x-cxkit-deviations` entry.
#[derive(Clone, Debug)]
struct Deviation {
    source: String,
    fact: Fact,
    shown: String,
    used: bool,
}

/// How one shown value compares with the spec.
enum Verdict {
    Agrees,
    /// The spec lacks or differs from it; what the spec has.
    Differs(String),
    /// Not comparable (a path of another family): neither support nor failure.
    OtherFamily,
}

/// Checks every operation of `spec` against `ledger` (see the module documentation).
pub fn check(spec: &Spec, ledger: &Ledger, evidence: &Evidence) -> Checked {
    let mut out = Checked::default();
    let mut known: BTreeSet<&str> = BTreeSet::new();
    let mut seen_pairs: BTreeSet<(&str, &str)> = BTreeSet::new();
    for row in &ledger.rows {
        if let Some(source) = &row.source
            && !seen_pairs.insert((row.operation.as_str(), source.as_str()))
        {
            out.problems.push(ledger.problem(
                row,
                format!("has a second row for `{source}`; keep one row per operation and source"),
            ));
        }
    }
    for (path, method, op) in spec.operations() {
        let label = op_label(path, method, op);
        known.insert(op.get("operationId").and_then(Value::as_str).unwrap_or(""));
        let item = spec
            .doc
            .get("paths")
            .and_then(|p| p.get(path))
            .unwrap_or(&Value::Null);
        let ctx = OpContext::new(spec, path, method, op);
        let mut bad = |m: String| out.problems.push(spec.problem(Some(&label), m));

        let sources = cited(op, evidence, &mut bad);
        let family = match op.get("x-cxkit-generation") {
            None if label.starts_with("legacy_") => Family::Legacy,
            None => Family::of_path(path),
            Some(v) => match v.as_str().and_then(Generation::parse) {
                Some(g) if g.is_api() => Family::of_generation(g, path),
                _ => {
                    bad(format!(
                        "`x-cxkit-generation` is {v}; it names the API generation the operation belongs to: stable, v2, v2-legacy or v1"
                    ));
                    Family::of_path(path)
                }
            },
        };
        let mut deviations = deviations(op, &sources, &mut bad);
        let rows: Vec<&Row> = ledger.rows_of(&label).collect();
        for source in &sources {
            if !rows.iter().any(|r| r.source.as_deref() == Some(source)) {
                bad(format!(
                    "cites `{source}`, which has no row in {}; add one saying which facts it shows",
                    ledger.file
                ));
            }
        }
        let mut facts: BTreeMap<Fact, FactState> = Fact::ALL
            .into_iter()
            .map(|f| {
                (
                    f,
                    FactState {
                        has: ctx.has(f),
                        ..FactState::default()
                    },
                )
            })
            .collect();
        for row in &rows {
            let (Some(source), Some(generation)) = (&row.source, row.generation) else {
                continue;
            };
            if !sources.contains(source) {
                out.problems.push(ledger.problem(
                    row,
                    format!(
                        "cites `{source}`, which the operation's `x-cxkit-source` in {} does not list; add it there or remove the row",
                        spec.file
                    ),
                ));
                continue;
            }
            if !row.shows_anything() {
                out.problems.push(ledger.problem(
                    row,
                    format!("`{source}` shows no fact of the operation (every fact cell is `-`); a source that supports nothing is not a source: drop it from `x-cxkit-source` and this row, or record what it shows"),
                ));
                continue;
            }
            let mut supports_something = false;
            for fact in Fact::ALL {
                let Some(shown) = row.shown(fact) else {
                    continue;
                };
                let mut agrees = true;
                for value in shown {
                    let verdict = ctx.compare(fact, value, generation, family);
                    let deviation = deviations.iter_mut().find(|d| {
                        d.source == *source
                            && d.fact == fact
                            && (d.shown == *value || d.shown == WHOLE_FACT)
                    });
                    match verdict {
                        Verdict::Agrees => {
                            // A whole-fact deviation covers the values that differ only.
                            if let Some(d) = deviation.filter(|d| d.shown != WHOLE_FACT) {
                                d.used = true;
                                out.problems.push(spec.problem(Some(&label), format!(
                                    "`x-cxkit-deviations` records that the spec differs from `{source}` on {fact} `{value}`, but it agrees; remove the entry"
                                )));
                            }
                        }
                        Verdict::OtherFamily => {
                            agrees = false;
                            if let Some(d) = deviation {
                                d.used = true;
                            }
                            facts.entry(fact).or_default().contrary.push(Contrary {
                                source: source.clone(),
                                generation,
                                shown: value.clone(),
                            });
                        }
                        Verdict::Differs(spec_has) => {
                            agrees = false;
                            match deviation {
                                Some(d) => d.used = true,
                                None => out.problems.push(spec.problem(Some(&label), format!(
                                    "`{source}` ({} line {}) shows {fact} `{value}`, but {spec_has}; make the spec agree, or record the difference on the operation: `x-cxkit-deviations: [{{source: '{source}', fact: {fact}, shown: '{value}', reason: '...'}}]`",
                                    ledger.file, row.line
                                ))),
                            }
                            facts.entry(fact).or_default().contrary.push(Contrary {
                                source: source.clone(),
                                generation,
                                shown: value.clone(),
                            });
                        }
                    }
                }
                if agrees && !shown.is_empty() {
                    supports_something = true;
                    facts.entry(fact).or_default().support.push(Support {
                        source: source.clone(),
                        generation,
                    });
                }
            }
            if !supports_something {
                out.problems.push(spec.problem(Some(&label), format!(
                    "`{source}` supports no fact of the operation: everything its row ({} line {}) shows differs from the spec (recorded deviations, or a path of another API generation); a source that supports nothing is not a source: drop it from `x-cxkit-source` (and the ledger row and deviations with it), or make the spec agree",
                    ledger.file, row.line
                )));
            }
        }
        for d in deviations.iter().filter(|d| !d.used) {
            out.problems.push(spec.problem(Some(&label), format!(
                "`x-cxkit-deviations` records {} `{}` shown by `{}`, but that source's ledger row does not show it; fix the entry (the shown value as the ledger records it) or remove it",
                d.fact, d.shown, d.source
            )));
        }
        out.ops.push(OpFacts {
            id: label.clone(),
            facts,
            inference: provenance::inference(spec, item, op),
        });
    }
    for row in &ledger.rows {
        if !known.contains(row.operation.as_str()) {
            out.problems.push(ledger.problem(
                row,
                format!(
                    "names no operation of {}; rename the row with its operation, or remove it",
                    spec.file
                ),
            ));
        }
    }
    out.problems.sort();
    out.problems.dedup();
    out
}

/// The operation's `x-cxkit-source` entries, each checked to resolve.
fn cited(op: &Value, evidence: &Evidence, bad: &mut impl FnMut(String)) -> Vec<String> {
    let mut out = Vec::new();
    for entry in op
        .get("x-cxkit-source")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if let Some(problem) = citation_problem(entry, evidence) {
            bad(problem);
        }
        if is_page_url(entry) || ledger::evidence_ref(entry).is_some() {
            out.push(entry.to_owned());
        }
    }
    out
}

/// What is wrong with one `x-cxkit-source` entry, if anything: it must be a page URL with a
/// host, or an evidence reference whose file (and heading, with an anchor) exists under
/// `specs/evidence/`. The lint and the provenance check both report through this, in the same
/// words, so a run of both reports a bad citation once.
pub fn citation_problem(entry: &str, evidence: &Evidence) -> Option<String> {
    if is_page_url(entry) {
        return None;
    }
    if let Some((file, anchor)) = ledger::evidence_ref(entry) {
        return evidence
            .resolves(file, anchor)
            .err()
            .map(|m| format!("`x-cxkit-source` entry `{entry}` {m}"));
    }
    Some(
        if entry.starts_with("seeds/") || entry.starts_with("notes/") {
            format!(
                "`x-cxkit-source` entry `{entry}` points outside the repository; cite specs/evidence/... instead (`evidence/<file>.md#<operation_id>`, the evidence file saying what that document establishes)"
            )
        } else {
            format!(
                "`x-cxkit-source` entry `{entry}` is neither a page URL nor `evidence/<file>.md[#<anchor>]`; cite specs/evidence/... or the page"
            )
        },
    )
}

/// Whether a source entry is an http(s) URL with a host and no white space.
pub fn is_page_url(entry: &str) -> bool {
    entry
        .strip_prefix("https://")
        .or_else(|| entry.strip_prefix("http://"))
        .is_some_and(|rest| {
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            !host.is_empty() && !entry.contains(char::is_whitespace)
        })
}

/// The operation's `x-cxkit-deviations`, each checked to be well formed and to name a cited
/// source.
fn deviations(op: &Value, sources: &[String], bad: &mut impl FnMut(String)) -> Vec<Deviation> {
    const SHAPE: &str = "a list of `{source: <a cited source>, fact: <title|method|path|query|headers|body|response|statuses>, shown: <the value the source shows>, reason: <why the spec differs>}`";
    let mut out = Vec::new();
    let Some(value) = op.get("x-cxkit-deviations") else {
        return out;
    };
    let Some(entries) = value.as_array() else {
        bad(format!("`x-cxkit-deviations` must be {SHAPE}"));
        return out;
    };
    for (i, entry) in entries.iter().enumerate() {
        let text = |key: &str| {
            entry
                .get(key)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let known_keys = entry.as_object().is_some_and(|m| {
            m.keys()
                .all(|k| ["source", "fact", "shown", "reason"].contains(&k.as_str()))
        });
        let (Some(source), Some(fact), Some(shown), Some(_reason), true) = (
            text("source"),
            text("fact"),
            text("shown").map(str::to_owned).or_else(|| {
                entry.get("shown").and_then(|v| match v {
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
            }),
            text("reason"),
            known_keys,
        ) else {
            bad(format!(
                "`x-cxkit-deviations` entry {} is not well formed; each entry is one mapping of {SHAPE}, all four non-empty",
                i + 1
            ));
            continue;
        };
        let Some(fact) = Fact::parse(fact) else {
            bad(format!(
                "`x-cxkit-deviations` entry {} has fact `{fact}`; use one of title, method, path, query, headers, body, response, statuses",
                i + 1
            ));
            continue;
        };
        if !sources.iter().any(|s| s == source) {
            bad(format!(
                "`x-cxkit-deviations` entry {} names source `{source}`, which the operation does not cite; a deviation is from a cited source",
                i + 1
            ));
            continue;
        }
        out.push(Deviation {
            source: source.to_owned(),
            fact,
            shown,
            used: false,
        });
    }
    out
}

/// What the spec says about one operation, as the check compares it.
struct OpContext<'a> {
    spec: &'a Spec,
    path: &'a str,
    method: &'a str,
    summary: Option<&'a str>,
    /// Path prefixes the servers add (`""`, `/gateway`).
    bases: BTreeSet<String>,
    query: BTreeSet<String>,
    /// Lower case.
    headers: BTreeSet<String>,
    has_header_facts: bool,
    body: Option<&'a Value>,
    responses: Vec<&'a Value>,
    has_response_content: bool,
    statuses: BTreeSet<String>,
}

impl<'a> OpContext<'a> {
    fn new(spec: &'a Spec, path: &'a str, method: &'a str, op: &'a Value) -> Self {
        let mut query = BTreeSet::new();
        let mut headers = BTreeSet::new();
        let mut header_params = false;
        for p in spec.raw_parameters(path, op).map(|p| spec.resolve(p)) {
            let name = p.get("name").and_then(Value::as_str).unwrap_or_default();
            match p.get("in").and_then(Value::as_str) {
                Some("query") => {
                    query.insert(name.to_owned());
                }
                Some("header") => {
                    header_params = true;
                    headers.insert(name.to_ascii_lowercase());
                }
                _ => {}
            }
        }
        let schemes = cxkit_spec::security::schemes(&spec.doc);
        let mut header_security = false;
        for name in cxkit_spec::security::requirements(&spec.doc, op)
            .into_iter()
            .flatten()
        {
            let Some((_, Ok(placement))) = schemes.iter().find(|(n, _)| *n == name) else {
                continue;
            };
            if let Some(header) = placement.header() {
                header_security = true;
                headers.insert(header);
            }
            if let Some(param) = placement.url_param() {
                query.insert(param.to_owned());
            }
        }
        let body = op
            .get("requestBody")
            .map(|b| spec.resolve(b))
            .and_then(|b| b.get("content"))
            .and_then(Value::as_object)
            .and_then(|c| c.values().next())
            .and_then(|m| m.get("schema"));
        if op.get("requestBody").is_some() {
            headers.insert("content-type".to_owned());
        }
        let mut statuses = BTreeSet::new();
        let mut responses = Vec::new();
        let mut has_response_content = false;
        for (status, response) in op
            .get("responses")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            statuses.insert(status.clone());
            if !status.starts_with('2') {
                continue;
            }
            if let Some(content) = spec
                .resolve(response)
                .get("content")
                .and_then(Value::as_object)
            {
                for media in content.values() {
                    has_response_content = true;
                    if let Some(schema) = media.get("schema") {
                        responses.push(schema);
                    }
                    // A stream's frames (`text/event-stream`): their JSON payload's schema, which
                    // OpenAPI 3.0 cannot attach to the body itself.
                    if let Some(schema) = media.get(EVENT_SCHEMA) {
                        responses.push(schema);
                    }
                }
            }
        }
        if has_response_content {
            headers.insert("accept".to_owned());
        }
        let sends_version = match op.get("x-cxkit-api-version") {
            Some(Value::Bool(false)) => false,
            Some(Value::String(_)) => true,
            _ => spec.doc.pointer("/info/x-cxkit-api-version").is_some(),
        };
        if sends_version {
            headers.insert("x-api-version".to_owned());
        }
        let mut bases: BTreeSet<String> = BTreeSet::from([String::new()]);
        for server in spec
            .doc
            .get("servers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let url = server
                .get("url")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if let Some((_, rest)) = url.split_once("://")
                && let Some(slash) = rest.find('/')
            {
                bases.insert(rest[slash..].trim_end_matches('/').to_owned());
            }
        }
        OpContext {
            spec,
            path,
            method,
            summary: op.get("summary").and_then(Value::as_str),
            bases,
            query,
            headers,
            has_header_facts: header_params || header_security,
            body,
            responses,
            has_response_content,
            statuses,
        }
    }

    fn has(&self, fact: Fact) -> bool {
        match fact {
            Fact::Title => self.summary.is_some(),
            Fact::Method | Fact::Path | Fact::Statuses => true,
            Fact::Query => !self.query.is_empty(),
            Fact::Headers => self.has_header_facts,
            Fact::Body => self.body.is_some(),
            Fact::Response => self.has_response_content,
        }
    }

    fn compare(&self, fact: Fact, value: &str, generation: Generation, family: Family) -> Verdict {
        let differs = |m: String| Verdict::Differs(m);
        match fact {
            Fact::Title => {
                let collapse = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
                match self.summary {
                    Some(s) if collapse(s) == collapse(value) => Verdict::Agrees,
                    Some(s) => differs(format!("the `summary` is `{s}`")),
                    None => differs("the operation has no `summary`".into()),
                }
            }
            Fact::Method => {
                if value.eq_ignore_ascii_case(self.method) {
                    Verdict::Agrees
                } else {
                    differs(format!(
                        "the spec's method is {}",
                        self.method.to_uppercase()
                    ))
                }
            }
            Fact::Path => {
                // A path end shown by a client, seed, notes or guide has no family of its own.
                let comparable = !generation.is_api() && !value.starts_with('/')
                    || Family::of_generation(generation, value) == family;
                if !comparable {
                    return Verdict::OtherFamily;
                }
                let ours = placeholders(self.path);
                let shown = placeholders(value);
                let agrees = if value.starts_with('/') {
                    self.bases
                        .iter()
                        .any(|base| placeholders(&format!("{base}{}", self.path)) == shown)
                } else {
                    // Only the path's end is shown: it must end the spec's path at a segment.
                    ours.ends_with(&format!("/{shown}"))
                };
                if agrees {
                    Verdict::Agrees
                } else {
                    differs(format!("the spec's path is `{}`", self.path))
                }
            }
            Fact::Query => {
                if self.query.contains(value) {
                    Verdict::Agrees
                } else {
                    differs(format!(
                        "the spec has no query parameter `{value}` (it has: {})",
                        list(&self.query)
                    ))
                }
            }
            Fact::Headers => {
                if self.headers.contains(&value.to_ascii_lowercase()) {
                    Verdict::Agrees
                } else {
                    differs(format!(
                        "the spec neither declares a header parameter `{value}` nor sends it for a security scheme (it sends: {})",
                        list(&self.headers)
                    ))
                }
            }
            Fact::Body => match self.body {
                Some(schema) if has_field(self.spec, schema, &steps(value), 0) => Verdict::Agrees,
                Some(_) => differs(format!(
                    "the request body's schema has no typed field `{value}`"
                )),
                None => differs("the spec has no request body".into()),
            },
            Fact::Response => {
                if self.responses.is_empty() {
                    differs("no success (2xx) response of the spec has a schema".into())
                } else if self
                    .responses
                    .iter()
                    .any(|schema| has_field(self.spec, schema, &steps(value), 0))
                {
                    Verdict::Agrees
                } else {
                    differs(format!(
                        "no success (2xx) response schema has a typed field `{value}`"
                    ))
                }
            }
            Fact::Statuses => {
                let range = format!("{}XX", &value[..1]);
                if self.statuses.contains(value) || self.statuses.contains(&range) {
                    Verdict::Agrees
                } else {
                    differs(format!(
                        "the spec has no `{value}` response (it has: {})",
                        list(&self.statuses)
                    ))
                }
            }
        }
    }
}

fn list(items: &BTreeSet<String>) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// A path with every `{name}` replaced by `{}`: sources name placeholders their own way.
fn placeholders(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut inside = false;
    for c in path.chars() {
        match c {
            '{' => {
                inside = true;
                out.push_str("{}");
            }
            '}' => inside = false,
            c if !inside => out.push(c),
            _ => {}
        }
    }
    out
}

/// The field path of a bare body (a JSON `true` or string, with no field): the body itself.
pub const ROOT: &str = "(root)";

/// One step of a field path.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Field(String),
    Items,
}

/// `data.items[].id` -> data, items, [], id; `[].id` -> [], id; `(root)` (a bare body such as
/// JSON `true`, with no field) -> nothing: the body itself.
fn steps(path: &str) -> Vec<Step> {
    let mut out = Vec::new();
    if path == ROOT {
        return out;
    }
    for segment in path.split('.') {
        let mut name = segment;
        let mut arrays = 0;
        while let Some(rest) = name.strip_suffix("[]") {
            name = rest;
            arrays += 1;
        }
        if !name.is_empty() {
            out.push(Step::Field(name.to_owned()));
        }
        out.extend(std::iter::repeat_n(Step::Items, arrays));
    }
    out
}

/// Whether `schema` has the typed field the steps name.
fn has_field(spec: &Spec, schema: &Value, steps: &[Step], depth: usize) -> bool {
    if depth > 64 {
        return false;
    }
    let schema = spec.resolve(schema);
    let Some((first, rest)) = steps.split_first() else {
        return true;
    };
    let composed = ["allOf", "oneOf", "anyOf"]
        .iter()
        .filter_map(|k| schema.get(*k).and_then(Value::as_array))
        .flatten()
        .any(|part| has_field(spec, part, steps, depth + 1));
    if composed {
        return true;
    }
    match first {
        Step::Items => schema
            .get("items")
            .is_some_and(|items| has_field(spec, items, rest, depth + 1)),
        Step::Field(name) => schema
            .get("properties")
            .and_then(|p| p.get(name))
            .is_some_and(|prop| has_field(spec, prop, rest, depth + 1)),
    }
}

/// The number of operations with each fact kind sourced, and end to end, for one spec.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FactTally {
    /// Operations with a sourced path.
    pub path: usize,
    /// Operations with a sourced request body, of those with one.
    pub body: (usize, usize),
    /// Operations with a sourced response body, of those with one.
    pub response: (usize, usize),
    /// Operations with sourced statuses.
    pub statuses: usize,
    /// Operations sourced end to end.
    pub end_to_end: usize,
}

impl FactTally {
    /// Counts a checked spec.
    pub fn of(checked: &Checked) -> FactTally {
        let mut t = FactTally::default();
        for op in &checked.ops {
            t.path += usize::from(op.sourced(Fact::Path));
            t.statuses += usize::from(op.sourced(Fact::Statuses));
            t.end_to_end += usize::from(op.end_to_end());
            if op.has(Fact::Body) {
                t.body.1 += 1;
                t.body.0 += usize::from(op.sourced(Fact::Body));
            }
            if op.has(Fact::Response) {
                t.response.1 += 1;
                t.response.0 += usize::from(op.sourced(Fact::Response));
            }
        }
        t
    }

    /// Adds another spec's counts.
    pub fn add(&mut self, other: &FactTally) {
        self.path += other.path;
        self.body.0 += other.body.0;
        self.body.1 += other.body.1;
        self.response.0 += other.response.0;
        self.response.1 += other.response.1;
        self.statuses += other.statuses;
        self.end_to_end += other.end_to_end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_follow_the_path_shape() {
        assert_eq!(Family::of_path("/api/v2/agents/{id}"), Family::V2);
        assert_eq!(
            Family::of_path("/response-service/api/v2/agents/{id}/responses"),
            Family::V2
        );
        assert_eq!(Family::of_path("/v2/api/tool/{tool_id}"), Family::Legacy);
        assert_eq!(
            Family::of_path("/api/agent/{agent_id}/chat-thread"),
            Family::Legacy
        );
        assert_eq!(Family::of_path("/api/v1/things"), Family::V1);
        assert_eq!(
            Family::of_path("/{company_id}/{bot_id}/crm/human"),
            Family::Other
        );
    }

    #[test]
    fn field_paths_split_into_steps() {
        assert_eq!(
            steps("data.items[].id"),
            [
                Step::Field("data".into()),
                Step::Field("items".into()),
                Step::Items,
                Step::Field("id".into())
            ]
        );
        assert_eq!(steps("[].id"), [Step::Items, Step::Field("id".into())]);
        assert_eq!(steps("(root)"), []);
        assert_eq!(placeholders("/a/{x}/b/{y_id}"), "/a/{}/b/{}");
        assert_eq!(slug("get_agent (v2)"), "get_agent-v2");
    }
}
