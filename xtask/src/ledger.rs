//! The source ledgers `specs/sources/<spec-stem>.tsv`: one row per (operation, cited source),
//! saying which API generation the source documents and exactly which facts it shows (title,
//! method, path, query names, header names, request body field paths, response field paths,
//! statuses). The format is specs/README.md's "Ledgers"; [`crate::facts`] checks every row
//! against its spec.
//!
//! A ledger still in the older one-row-per-operation format (header [`OLD_HEADER`]) is read as
//! [`Loaded::Old`]: the per-fact rules do not apply to its spec until it is converted.

use std::fmt;
use std::path::Path;

use crate::spec::Problem;

/// The header row of a ledger in the per-fact format.
pub const HEADER: &str = "operation_id\tsource\tgeneration\ttitle\tmethod\tpath\tquery\theaders\tbody\tresponse\tstatuses\tnotes";

/// The header row of the older one-row-per-operation ledgers, which carry no per-fact
/// provenance (their specs are not checked fact by fact).
pub const OLD_HEADER: &str =
    "operation_id\turl\tmethod\tpath\tquery\tbody_fields\tresponse_fields\tstatuses\tnotes";

/// A kind of fact a source can show about an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fact {
    /// The operation's title (the spec's `summary`).
    Title,
    /// The HTTP method.
    Method,
    /// The path template (host removed); without a leading `/`, only the path's end, as a
    /// source that shows no more (`{username}`, `{sessionId}/clone`).
    Path,
    /// Query parameter names.
    Query,
    /// Request header names.
    Headers,
    /// Request body field paths.
    Body,
    /// Response body field paths.
    Response,
    /// HTTP status codes.
    Statuses,
}

impl Fact {
    /// Every fact kind, in ledger column order.
    pub const ALL: [Fact; 8] = [
        Fact::Title,
        Fact::Method,
        Fact::Path,
        Fact::Query,
        Fact::Headers,
        Fact::Body,
        Fact::Response,
        Fact::Statuses,
    ];

    /// The ledger column (and `x-cxkit-deviations` `fact`) name.
    pub fn name(self) -> &'static str {
        match self {
            Fact::Title => "title",
            Fact::Method => "method",
            Fact::Path => "path",
            Fact::Query => "query",
            Fact::Headers => "headers",
            Fact::Body => "body",
            Fact::Response => "response",
            Fact::Statuses => "statuses",
        }
    }

    /// The fact kind a column name names.
    pub fn parse(name: &str) -> Option<Fact> {
        Fact::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Whether a cell holds one value (title, method, path) rather than a comma-separated list.
    pub fn is_scalar(self) -> bool {
        matches!(self, Fact::Title | Fact::Method | Fact::Path)
    }

    fn index(self) -> usize {
        Fact::ALL.iter().position(|f| *f == self).unwrap_or(0)
    }
}

impl fmt::Display for Fact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which API generation, or which kind of document, a source is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Generation {
    /// The vendor's current ("Stable") reference pages.
    Stable,
    /// The vendor's v2 reference pages.
    V2,
    /// The vendor's V2-Legacy reference pages (`/v2/api/<singular>`).
    V2Legacy,
    /// The vendor's v1 reference pages.
    V1,
    /// The vendor's own client code (Quickstart template, Slack app).
    Client,
    /// A seed document.
    Seed,
    /// The project's research notes.
    Notes,
    /// A vendor guide or tutorial page.
    Guide,
}

impl Generation {
    /// Every generation, in the order the ledger format lists them.
    pub const ALL: [Generation; 8] = [
        Generation::Stable,
        Generation::V2,
        Generation::V2Legacy,
        Generation::V1,
        Generation::Client,
        Generation::Seed,
        Generation::Notes,
        Generation::Guide,
    ];

    /// The ledger spelling (also `x-cxkit-generation`'s, for the first four).
    pub fn name(self) -> &'static str {
        match self {
            Generation::Stable => "stable",
            Generation::V2 => "v2",
            Generation::V2Legacy => "v2-legacy",
            Generation::V1 => "v1",
            Generation::Client => "client",
            Generation::Seed => "seed",
            Generation::Notes => "notes",
            Generation::Guide => "guide",
        }
    }

    /// The generation a ledger cell names.
    pub fn parse(name: &str) -> Option<Generation> {
        Generation::ALL.into_iter().find(|g| g.name() == name)
    }

    /// Whether this is a generation of the vendor's API reference (rather than a client, seed,
    /// notes or guide document).
    pub fn is_api(self) -> bool {
        matches!(
            self,
            Generation::Stable | Generation::V2 | Generation::V2Legacy | Generation::V1
        )
    }

    /// How a reader is told what kind of source this is: `vendor page (v2)`, `vendor client`,
    /// `seed`, `notes`, `vendor guide`.
    pub fn label(self) -> String {
        match self {
            Generation::Client => "vendor client".to_owned(),
            Generation::Seed => "seed".to_owned(),
            Generation::Notes => "notes".to_owned(),
            Generation::Guide => "vendor guide".to_owned(),
            api => format!("vendor page ({})", api.name()),
        }
    }
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One ledger row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The 1-based line of the ledger file it is on.
    pub line: usize,
    /// The operation it is about.
    pub operation: String,
    /// The source (a URL or an `evidence/...` ref), or `None` for a `-` row that records a search
    /// that found nothing.
    pub source: Option<String>,
    /// The source's generation (`None` only on a `-` row).
    pub generation: Option<Generation>,
    /// Per fact kind (in [`Fact::ALL`] order) what the source shows, `None` for `-`. List facts
    /// are split at commas; scalar facts hold one value.
    pub cells: [Option<Vec<String>>; 8],
    /// Free text.
    pub notes: String,
}

impl Row {
    /// What the source shows of `fact`, or `None` when it does not show it.
    pub fn shown(&self, fact: Fact) -> Option<&[String]> {
        self.cells[fact.index()].as_deref()
    }

    /// Whether the row shows any fact at all.
    pub fn shows_anything(&self) -> bool {
        self.cells.iter().any(Option::is_some)
    }
}

/// A ledger in the per-fact format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ledger {
    /// The file as the user knows it (`specs/sources/ejento-auth.tsv`).
    pub file: String,
    /// Every row, in file order.
    pub rows: Vec<Row>,
}

impl Ledger {
    /// The rows about one operation.
    pub fn rows_of<'a>(&'a self, operation: &'a str) -> impl Iterator<Item = &'a Row> + 'a {
        self.rows.iter().filter(move |r| r.operation == operation)
    }

    /// A problem on one line of this ledger, naming the operation.
    pub fn problem(&self, row: &Row, message: impl Into<String>) -> Problem {
        Problem {
            file: format!("{}:{}", self.file, row.line),
            operation: Some(row.operation.clone()),
            message: message.into(),
        }
    }
}

/// What was found where a spec's ledger belongs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Loaded {
    /// No ledger file.
    Missing,
    /// A ledger in the older one-row-per-operation format.
    Old,
    /// A ledger in the per-fact format.
    New(Ledger),
}

/// Where a spec's ledger is: `specs/ejento-auth.yaml` -> `specs/sources/ejento-auth.tsv`.
pub fn ledger_path(spec_file: &str) -> String {
    let name = spec_file.rsplit('/').next().unwrap_or(spec_file);
    let stem = name
        .strip_suffix(".yaml")
        .or_else(|| name.strip_suffix(".yml"))
        .or_else(|| name.strip_suffix(".json"))
        .unwrap_or(name);
    let dir = spec_file
        .rsplit_once('/')
        .map(|(dir, _)| dir)
        .unwrap_or("specs");
    format!("{dir}/sources/{stem}.tsv")
}

/// Reads the ledger of `spec_file` (a path relative to `root`).
pub fn load(root: &Path, spec_file: &str) -> Result<Loaded, Vec<Problem>> {
    let file = ledger_path(spec_file);
    match std::fs::read_to_string(root.join(&file)) {
        Ok(text) => parse(&file, &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Loaded::Missing),
        Err(e) => Err(vec![Problem {
            file,
            operation: None,
            message: format!("cannot read the ledger: {e}"),
        }]),
    }
}

/// Parses ledger text. A header other than [`HEADER`] or [`OLD_HEADER`], or any malformed row,
/// is a problem naming the file, the line and (for a row) the operation; every malformed row is
/// reported, not just the first.
pub fn parse(file: &str, text: &str) -> Result<Loaded, Vec<Problem>> {
    let mut lines = text.lines();
    match lines.next().map(|h| h.trim_end_matches('\r')) {
        Some(OLD_HEADER) => return Ok(Loaded::Old),
        Some(HEADER) => {}
        other => {
            return Err(vec![Problem {
                file: format!("{file}:1"),
                operation: None,
                message: format!(
                    "the header is `{}`; a ledger starts with the header row `{}` (tab-separated; specs/README.md, \"Ledgers\")",
                    other.unwrap_or("").replace('\t', "\\t"),
                    HEADER.replace('\t', "\\t")
                ),
            }]);
        }
    }
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in lines.enumerate() {
        let number = i + 2;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        match parse_row(number, line) {
            Ok(row) => rows.push(row),
            Err((operation, message)) => problems.push(Problem {
                file: format!("{file}:{number}"),
                operation,
                message,
            }),
        }
    }
    if problems.is_empty() {
        Ok(Loaded::New(Ledger {
            file: file.to_owned(),
            rows,
        }))
    } else {
        Err(problems)
    }
}

/// Whether a source entry is a page URL (http or https, with a host, no whitespace).
pub fn is_url(entry: &str) -> bool {
    entry
        .strip_prefix("https://")
        .or_else(|| entry.strip_prefix("http://"))
        .is_some_and(|rest| {
            !rest
                .split(['/', '?', '#'])
                .next()
                .unwrap_or_default()
                .is_empty()
                && !entry.contains(char::is_whitespace)
        })
}

/// An in-repo evidence reference `evidence/<file>.md` or `evidence/<file>.md#<anchor>`, split
/// into the file name (`<file>.md`) and the anchor.
pub fn evidence_ref(entry: &str) -> Option<(&str, Option<&str>)> {
    let rest = entry.strip_prefix("evidence/")?;
    let (file, anchor) = match rest.split_once('#') {
        Some((file, anchor)) => (file, Some(anchor)),
        None => (rest, None),
    };
    let plain = file.strip_suffix(".md").is_some_and(|stem| {
        !stem.is_empty()
            && stem
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    });
    (plain && anchor.is_none_or(|a| !a.is_empty() && !a.contains(char::is_whitespace)))
        .then_some((file, anchor))
}

type RowError = (Option<String>, String);

fn parse_row(line: usize, text: &str) -> Result<Row, RowError> {
    let cols: Vec<&str> = text.split('\t').collect();
    let operation = cols.first().map(|s| s.trim()).unwrap_or_default();
    let named = (!operation.is_empty()).then(|| operation.to_owned());
    let fail = |message: String| (named.clone(), message);
    if cols.len() != 12 {
        return Err(fail(format!(
            "has {} tab-separated columns; a row has 12: {}",
            cols.len(),
            HEADER.replace('\t', ", ")
        )));
    }
    if operation.is_empty() {
        return Err(fail("has no operation_id in the first column".into()));
    }
    let source = cols[1].trim();
    let source = match source {
        "-" => None,
        s if is_url(s) || evidence_ref(s).is_some() => Some(s.to_owned()),
        "" => {
            return Err(fail(
                "has an empty `source`; write the cited URL or `evidence/<file>.md`, or `-` for a search that found nothing".into(),
            ));
        }
        s => {
            return Err(fail(format!(
                "`source` is `{s}`, which is neither a page URL (https://...) nor an in-repo evidence reference (`evidence/<file>.md[#<operation_id>]`); seeds and notes are cited through their evidence files under specs/evidence/"
            )));
        }
    };
    let generation = match (cols[2].trim(), &source) {
        ("-", None) => None,
        (g, _) => Some(Generation::parse(g).ok_or_else(|| {
            fail(format!(
                "`generation` is `{g}`; use one of {}",
                Generation::ALL
                    .iter()
                    .map(|g| g.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?),
    };
    let mut cells: [Option<Vec<String>>; 8] = Default::default();
    for (fact, raw) in Fact::ALL.into_iter().zip(&cols[3..11]) {
        let raw = raw.trim();
        if raw == "-" {
            continue;
        }
        if raw.is_empty() {
            return Err(fail(format!(
                "the `{fact}` cell is empty; write `-` when the source does not show it"
            )));
        }
        let values: Vec<String> = if fact.is_scalar() {
            vec![raw.to_owned()]
        } else {
            raw.split(',').map(|v| v.trim().to_owned()).collect()
        };
        if values.iter().any(String::is_empty) {
            return Err(fail(format!(
                "the `{fact}` cell `{raw}` has an empty item; separate items with single commas"
            )));
        }
        check_values(fact, &values).map_err(|m| fail(format!("the `{fact}` cell: {m}")))?;
        cells[fact.index()] = Some(values);
    }
    if source.is_none() && cells.iter().any(Option::is_some) {
        return Err(fail(
            "records a search that found nothing (`source` is `-`) but shows facts; give the source, or write `-` in every fact cell".into(),
        ));
    }
    Ok(Row {
        line,
        operation: operation.to_owned(),
        source,
        generation,
        cells,
        notes: cols[11].trim().to_owned(),
    })
}

fn check_values(fact: Fact, values: &[String]) -> Result<(), String> {
    for v in values {
        match fact {
            Fact::Method => {
                const METHODS: [&str; 8] = [
                    "GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE",
                ];
                if !METHODS.contains(&v.as_str()) {
                    return Err(format!(
                        "`{v}` is not an upper-case HTTP method such as GET"
                    ));
                }
            }
            Fact::Path => {
                if v.is_empty() || v.contains(char::is_whitespace) || v.contains("://") {
                    return Err(format!(
                        "`{v}` is not a path; write it host removed, placeholders in braces (a source that shows only the path's end, such as `{{username}}`, without the leading `/`)"
                    ));
                }
            }
            Fact::Statuses => {
                if v.len() != 3 || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("`{v}` is not a three-digit HTTP status"));
                }
            }
            Fact::Query | Fact::Headers | Fact::Body | Fact::Response => {
                if v.contains(char::is_whitespace) {
                    return Err(format!(
                        "`{v}` holds whitespace; list names or field paths separated by commas"
                    ));
                }
            }
            Fact::Title => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &str) -> String {
        format!("{HEADER}\n{cells}\n")
    }

    #[test]
    fn a_row_is_read_fact_by_fact() {
        let text = row(
            "get_x\thttps://a.example/x\tv2\tGet X\tGET\t/api/v2/x/{x_id}\tpage,size\t-\t-\tsuccess,data.items[].id\t200,404\tnotes",
        );
        let Loaded::New(ledger) = parse("specs/sources/x.tsv", &text).unwrap() else {
            panic!("new format")
        };
        let r = &ledger.rows[0];
        assert_eq!(r.line, 2);
        assert_eq!(r.generation, Some(Generation::V2));
        assert_eq!(r.shown(Fact::Query).unwrap(), ["page", "size"]);
        assert_eq!(r.shown(Fact::Headers), None);
        assert_eq!(
            r.shown(Fact::Response).unwrap(),
            ["success", "data.items[].id"]
        );
        assert_eq!(r.shown(Fact::Title).unwrap(), ["Get X"]);
    }

    #[test]
    fn malformed_rows_name_file_line_and_operation() {
        let text = row(
            "a\tseeds/000.txt\tseed\t-\t-\t-\t-\t-\t-\t-\t-\tn\nb\thttps://a.example\tv9\t-\tGET\t-\t-\t-\t-\t-\t-\tn\nc\t-\t-\t-\tGET\t-\t-\t-\t-\t-\t-\tn\nd\thttps://a.example\tv2\t-\tget\t-\t-\t-\t-\t-\t-\tn\ne\tshort",
        );
        let problems: Vec<String> = parse("specs/sources/x.tsv", &text)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(problems.len(), 5, "{problems:#?}");
        assert!(
            problems[0]
                .starts_with("specs/sources/x.tsv:2: operation a: `source` is `seeds/000.txt`"),
            "{}",
            problems[0]
        );
        assert!(
            problems[1].starts_with("specs/sources/x.tsv:3: operation b: `generation` is `v9`"),
            "{}",
            problems[1]
        );
        assert!(
            problems[2].starts_with(
                "specs/sources/x.tsv:4: operation c: records a search that found nothing"
            ),
            "{}",
            problems[2]
        );
        assert!(
            problems[3].contains(":5: operation d: the `method` cell: `get`"),
            "{}",
            problems[3]
        );
        assert!(
            problems[4].contains(":6: operation e: has 2 tab-separated columns"),
            "{}",
            problems[4]
        );
    }

    #[test]
    fn the_old_format_and_a_wrong_header_are_told_apart() {
        assert_eq!(
            parse("f", &format!("{OLD_HEADER}\nx\t-\n")).unwrap(),
            Loaded::Old
        );
        let e = parse("f", "operation_id\tsource\n").unwrap_err();
        assert!(
            e[0].to_string().starts_with("f:1: the header is"),
            "{}",
            e[0]
        );
    }

    #[test]
    fn paths_and_refs() {
        assert_eq!(ledger_path("specs/proto.yaml"), "specs/sources/proto.tsv");
        assert_eq!(
            evidence_ref("evidence/seed-000.md#get_x"),
            Some(("seed-000.md", Some("get_x")))
        );
        assert_eq!(
            evidence_ref("evidence/seed-000.md"),
            Some(("seed-000.md", None))
        );
        assert_eq!(evidence_ref("evidence/../x.md"), None);
        assert_eq!(evidence_ref("seeds/000.txt"), None);
        assert!(is_url("https://a.example/p") && !is_url("https:///p"));
    }
}
