//! Per-fact provenance (`xtask/src/facts.rs`, `xtask/src/ledger.rs`): the fixture
//! `tests/fixtures/facts/specs/things.yaml` agrees with its ledger `sources/things.tsv` (one
//! difference recorded as a deviation); each test then changes one thing in a temporary copy
//! and sees the check (the one `cargo xtask provenance --check`, `lint`, `generate --check` and
//! `cargo xtask test` run) fail, or pass, as the rules say.

use std::path::Path;

use xtask::facts::{self, FactTally};
use xtask::ledger::Fact;
use xtask::spec::Spec;
use xtask::systems::System;

const FIXTURE: &str = "xtask/tests/fixtures/facts/specs";

const THINGS: System = System {
    name: "things",
    spec: "specs/things.yaml",
    output: "crates/things/src/generated.rs",
};

/// A temporary workspace with the fixture's spec, ledger and evidence under `specs/`, each
/// edited by the given function, and an empty seed table.
fn workspace(
    edit_spec: impl Fn(String) -> String,
    edit_ledger: impl Fn(String) -> String,
) -> tempfile::TempDir {
    let here = xtask::workspace_root()
        .expect("workspace root")
        .join(FIXTURE);
    let dir = tempfile::tempdir().expect("temp dir");
    let specs = dir.path().join("specs");
    std::fs::create_dir_all(specs.join("sources")).expect("mkdir");
    std::fs::create_dir_all(specs.join("evidence")).expect("mkdir");
    std::fs::create_dir_all(specs.join("seeds")).expect("mkdir");
    let read = |rel: &str| std::fs::read_to_string(here.join(rel)).expect("fixture file");
    std::fs::write(specs.join("things.yaml"), edit_spec(read("things.yaml"))).expect("write");
    std::fs::write(
        specs.join("sources/things.tsv"),
        edit_ledger(read("sources/things.tsv")),
    )
    .expect("write");
    std::fs::write(
        specs.join("evidence/seed-things.md"),
        read("evidence/seed-things.md"),
    )
    .expect("write");
    std::fs::write(
        dir.path().join(xtask::SEED_TABLE),
        "spec\tgroup\ttitle\tseed\n",
    )
    .expect("write");
    dir
}

fn unchanged(text: String) -> String {
    text
}

/// The problems of checking the workspace's spec against its ledger, as printed.
fn problems(root: &Path) -> Vec<String> {
    xtask::check_provenance(root, &[THINGS])
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn checked(root: &Path) -> facts::Checked {
    let spec = Spec::load(root, THINGS.spec).expect("spec loads");
    facts::check_spec(root, &spec)
        .expect("ledger reads")
        .expect("per-fact ledger")
}

#[test]
fn the_fixture_agrees_with_its_ledger() {
    let dir = workspace(unchanged, unchanged);
    assert_eq!(problems(dir.path()), Vec::<String>::new());
    // `generate --check` and `cargo xtask test` go through `build_all`, which runs the check.
    xtask::build_all(dir.path(), &[THINGS]).unwrap_or_else(|p| panic!("{p:#?}"));
}

#[test]
fn each_fact_names_the_sources_that_show_it() {
    let dir = workspace(unchanged, unchanged);
    let c = checked(dir.path());
    let describe = |id: &str| c.op(id).expect("operation").describe();
    assert_eq!(
        describe("list_things"),
        "title: seed evidence/seed-things.md#list_things; method, path, query, headers, response, statuses: vendor page (v2) https://vendor.example/v2/list-things"
    );
    assert_eq!(
        describe("update_tool"),
        "title, method, headers, body, response, statuses: vendor page (v2-legacy) https://vendor.example/legacy-edit-tool; path: inferred (vendor page (v2-legacy) https://vendor.example/legacy-edit-tool shows `/v2/api/tool/{tool_id}`)"
    );
    assert_eq!(
        describe("get_answer"),
        "title, method, path, statuses: vendor page (v2) https://vendor.example/v2/get-answer; headers: inferred; response: inferred (vendor page (v2) https://vendor.example/v2/get-answer shows `data.response.run_id`)"
    );
    let list = c.op("list_things").expect("operation");
    assert!(list.end_to_end(), "every fact sourced, nothing marked");
    assert!(c.op("legacy_update_tool").expect("op").end_to_end());
    assert!(
        !c.op("update_tool").expect("op").end_to_end(),
        "path inferred"
    );
    assert!(!c.op("get_answer").expect("op").end_to_end());
    assert!(!list.has(Fact::Body) && list.has(Fact::Query) && list.has(Fact::Headers));
    assert_eq!(
        FactTally::of(&c),
        FactTally {
            path: 3,
            body: (2, 2),
            response: (3, 4),
            statuses: 4,
            end_to_end: 2,
        }
    );
}

#[test]
fn a_fabricated_disagreement_fails_the_check() {
    // The pages are said to show a body field (the legacy page, cited by two operations), a
    // response field, a query name, a status and a method the spec does not have.
    let dir = workspace(unchanged, |ledger| {
        ledger
            .replace(
                "Authorization\tname,config.url\tsuccess\t200\tThe V2-Legacy page.\n",
                "Authorization\tname,config.urls\tsuccess\t200\tThe V2-Legacy page.\n",
            )
            .replace(
                "data.meta.num_pages\t200,401",
                "data.meta.num_pages,data.meta.total\t200,201,401",
            )
            .replace("page,items_per_page", "page,page_size")
            .replace("GET\t/api/v2/answers/{id}", "POST\t/api/v2/answers/{id}")
    });
    let found = problems(dir.path());
    let expect = [
        (
            "get_answer",
            "https://vendor.example/v2/get-answer",
            "method `POST`",
            "the spec's method is GET",
        ),
        (
            "list_things",
            "https://vendor.example/v2/list-things",
            "query `page_size`",
            "the spec has no query parameter `page_size`",
        ),
        (
            "list_things",
            "https://vendor.example/v2/list-things",
            "response `data.meta.total`",
            "no success (2xx) response schema has a typed field `data.meta.total`",
        ),
        (
            "list_things",
            "https://vendor.example/v2/list-things",
            "statuses `201`",
            "the spec has no `201` response",
        ),
        (
            "update_tool",
            "https://vendor.example/legacy-edit-tool",
            "body `config.urls`",
            "the request body's schema has no typed field `config.urls`",
        ),
        (
            "legacy_update_tool",
            "https://vendor.example/legacy-edit-tool",
            "body `config.urls`",
            "the request body's schema has no typed field `config.urls`",
        ),
    ];
    assert_eq!(found.len(), expect.len(), "{found:#?}");
    for (op, source, fact, why) in expect {
        assert!(
            found.iter().any(|p| p.starts_with(&format!(
                "specs/things.yaml: operation {op}: `{source}` (specs/sources/things.tsv line "
            )) && p.contains(&format!("shows {fact}, but {why}"))
                && p.contains("x-cxkit-deviations")),
            "{op} {fact}: {found:#?}"
        );
    }
    assert!(
        xtask::build_all(dir.path(), &[THINGS]).is_err(),
        "generate --check fails too"
    );
}

#[test]
fn a_deviation_entry_covers_a_disagreement_and_must_match_one() {
    // Without the fixture's deviation, the untyped `data.response.run_id` fails.
    let dir = workspace(
        |spec| {
            let start = spec.find("      x-cxkit-deviations:").expect("deviation");
            let end = spec[start..].find("      security:").expect("next key") + start;
            format!("{}{}", &spec[..start], &spec[end..])
        },
        unchanged,
    );
    let found = problems(dir.path());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].contains("operation get_answer: `https://vendor.example/v2/get-answer` (specs/sources/things.tsv line 7) shows response `data.response.run_id`, but no success (2xx) response schema has a typed field `data.response.run_id`"),
        "{}",
        found[0]
    );

    // A deviation for a value the row does not show, and one where the spec agrees, are stale.
    let dir = workspace(
        |spec| {
            spec.replace(
                "fact: response, shown: data.response.run_id,",
                "fact: response, shown: data.response.answer,",
            )
            .replace(
                "      x-cxkit-deviations:\n",
                "      x-cxkit-deviations:\n        - {source: 'https://vendor.example/v2/get-answer', fact: statuses, shown: '200', reason: 'stale'}\n        - {source: 'https://elsewhere.example', fact: path, shown: '/x', reason: 'not cited'}\n        - {source: 'https://vendor.example/v2/get-answer', fact: colour, shown: 'x', reason: 'no such fact'}\n        - {source: 'https://vendor.example/v2/get-answer', fact: path}\n",
            )
        },
        unchanged,
    );
    let found = problems(dir.path()).join("\n");
    for needle in [
        "records that the spec differs from `https://vendor.example/v2/get-answer` on statuses `200`, but it agrees; remove the entry",
        "records response `data.response.answer` shown by `https://vendor.example/v2/get-answer`, but that source's ledger row does not show it",
        "names source `https://elsewhere.example`, which the operation does not cite",
        "has fact `colour`; use one of title",
        "entry 4 is not well formed",
        "shows response `data.response.run_id`",
    ] {
        assert!(found.contains(needle), "{needle}:\n{found}");
    }
}

#[test]
fn citations_must_resolve_inside_the_repository_and_have_rows() {
    let dir = workspace(
        |spec| {
            spec.replace(
                "        - evidence/seed-things.md#list_things\n",
                "        - evidence/seed-things.md#list_things\n        - seeds/000_seed.txt\n        - evidence/missing.md\n        - evidence/seed-things.md#no_heading\n        - https://vendor.example/unlisted\n",
            )
        },
        |ledger| {
            ledger
                + "list_things\thttps://vendor.example/not-cited\tv2\t-\tGET\t-\t-\t-\t-\t-\t-\tnot in the list\n\
                   list_things\tevidence/missing.md\tseed\t-\t-\t-\t-\t-\t-\t-\t-\tshows nothing\n\
                   list_things\tevidence/seed-things.md#no_heading\tseed\tGet All Things\t-\t-\t-\t-\t-\t-\t-\tt\n\
                   gone_operation\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\tno such operation\n"
        },
    );
    let found = problems(dir.path()).join("\n");
    for needle in [
        "specs/things.yaml: operation list_things: `x-cxkit-source` entry `seeds/000_seed.txt` points outside the repository; cite specs/evidence/...",
        "specs/things.yaml: operation list_things: `x-cxkit-source` entry `evidence/missing.md` names `specs/evidence/missing.md`, which does not exist",
        "`x-cxkit-source` entry `evidence/seed-things.md#no_heading` names the anchor `#no_heading`, but `specs/evidence/seed-things.md` has no heading for it",
        "specs/things.yaml: operation list_things: cites `https://vendor.example/unlisted`, which has no row in specs/sources/things.tsv",
        "specs/sources/things.tsv:8: operation list_things: cites `https://vendor.example/not-cited`, which the operation's `x-cxkit-source` in specs/things.yaml does not list",
        "specs/sources/things.tsv:9: operation list_things: `evidence/missing.md` shows no fact of the operation",
        "specs/sources/things.tsv:11: operation gone_operation: names no operation of specs/things.yaml",
    ] {
        assert!(found.contains(needle), "{needle}:\n{found}");
    }
}

#[test]
fn a_malformed_ledger_row_names_file_line_and_operation() {
    let dir = workspace(unchanged, |ledger| {
        ledger
            + "get_answer\thttps://vendor.example/v2/get-answer\tv3\t-\tGET\t-\t-\t-\t-\t-\t-\tn\n"
    });
    let found = problems(dir.path());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("specs/sources/things.tsv:8: operation get_answer: `generation` is `v3`; use one of stable, v2, v2-legacy, v1, client, seed, notes, guide"),
        "{}",
        found[0]
    );
}

#[test]
fn a_ledger_in_the_older_format_is_refused() {
    let dir = workspace(
        |spec| spec.replace("evidence/seed-things.md#list_things", "seeds/000_seed.txt"),
        |_| xtask::ledger::OLD_HEADER.to_owned() + "\nlist_things\t-\tGET\t/x\t\t\t\t\tn\n",
    );
    let spec = Spec::load(dir.path(), THINGS.spec).expect("spec loads");
    let refused = facts::check_spec(dir.path(), &spec).expect_err("an older ledger is refused");
    assert!(
        refused[0].message.contains("is in the older format"),
        "{}",
        refused[0].message
    );
}

#[test]
fn the_path_is_compared_within_its_family() {
    // The legacy operation's path differs from what its V2-Legacy page shows: that fails (same
    // family), while the current operation's different path is only "inferred".
    let dir = workspace(
        |spec| spec.replace("/v2/api/tool/{tool_id}:", "/v2/api/tools/{tool_id}:"),
        unchanged,
    );
    let found = problems(dir.path());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].contains("operation legacy_update_tool: `https://vendor.example/legacy-edit-tool` (specs/sources/things.tsv line 6) shows path `/v2/api/tool/{tool_id}`, but the spec's path is `/v2/api/tools/{tool_id}`"),
        "{}",
        found[0]
    );
    // `x-cxkit-generation` decides an operation's family over its path's shape.
    let dir = workspace(
        |spec| {
            spec.replace(
                "      operationId: update_tool\n",
                "      operationId: update_tool\n      x-cxkit-generation: v2-legacy\n",
            )
        },
        unchanged,
    );
    let found = problems(dir.path());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].contains("operation update_tool: `https://vendor.example/legacy-edit-tool` (specs/sources/things.tsv line 5) shows path `/v2/api/tool/{tool_id}`"),
        "{}",
        found[0]
    );
}

#[test]
fn a_path_without_a_leading_slash_is_the_end_of_the_path() {
    // A seed that shows only the end of the legacy path agrees; an end it does not have fails.
    let row = |path: &str| {
        format!(
            "legacy_update_tool\thttps://vendor.example/legacy-edit-tool\tv2-legacy\tEdit Tool (legacy)\tPUT\t{path}\t-\tAuthorization\tname,config.url\tsuccess\t200\tThe V2-Legacy page.\n"
        )
    };
    let dir = workspace(unchanged, |ledger| {
        ledger.replace(&row("/v2/api/tool/{tool_id}"), &row("tool/{id}"))
    });
    assert_eq!(problems(dir.path()), Vec::<String>::new());
    let dir = workspace(unchanged, |ledger| {
        ledger.replace(&row("/v2/api/tool/{tool_id}"), &row("{tool_id}/x"))
    });
    let found = problems(dir.path());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0]
            .contains("shows path `{tool_id}/x`, but the spec's path is `/v2/api/tool/{tool_id}`"),
        "{}",
        found[0]
    );
}

#[test]
fn the_readme_counts_per_fact_and_states_the_end_to_end_figure() {
    let dir = workspace(unchanged, unchanged);
    let tallies = xtask::tallies(dir.path(), &[THINGS]).expect("countable");
    let table = xtask::provenance::table(&tallies);
    assert!(
        table.ends_with("| `things.yaml` | 4 | 4 | 0 | 0 | 0 | 1 | 3 | 3 | 2/2 | 3/4 | 4 | 2 |\n"),
        "{table}"
    );
    let figure = xtask::provenance::figure(&tallies);
    assert!(
        figure.starts_with("**2 of the 4 operations are sourced end to end**"),
        "{figure}"
    );
    assert!(!figure.contains("Not counted yet"), "{figure}");
    let mut older = tallies[0].clone();
    older.spec = "older.yaml".to_owned();
    older.facts = None;
    let figure = xtask::provenance::figure(&[tallies[0].clone(), older.clone()]);
    assert!(
        figure.starts_with("**2 of the 4 operations of `things.yaml` are sourced end to end**")
            && figure.contains("Not counted yet (ledger in the older format): `older.yaml`."),
        "{figure}"
    );
    let figure = xtask::provenance::figure(&[older]);
    assert!(figure.contains("not counted yet"), "{figure}");
}

#[test]
fn the_index_the_command_line_and_the_rustdoc_show_provenance_per_fact() {
    let dir = workspace(unchanged, unchanged);
    let root = dir.path();
    let spec = Spec::load(root, THINGS.spec).expect("spec loads");
    let c = checked(root);
    let update = "title, method, headers, body, response, statuses: vendor page (v2-legacy) https://vendor.example/legacy-edit-tool; path: inferred (vendor page (v2-legacy) https://vendor.example/legacy-edit-tool shows `/v2/api/tool/{tool_id}`)";

    // The index is Markdown the crate's docs include: its URLs are autolinks.
    let index = xtask::index::render_with(&THINGS, &spec, Some(&c));
    assert!(
        index.contains(&format!(
            "| `PUT /api/v2/tools/{{tool_id}}` | {} |",
            xtask::doc_text::doc_text(update)
        )),
        "{index}"
    );
    assert!(
        index.contains("| `GET /api/v2/answers/{answer_id}` | title, method, path, statuses: vendor page (v2) <https://vendor.example/v2/get-answer>; headers: inferred; response: inferred (vendor page (v2) <https://vendor.example/v2/get-answer> shows `data.response.run_id`) |"),
        "{index}"
    );
    // A mark on the operation itself is listed after the facts.
    let marked = Spec::parse(
        THINGS.spec,
        std::fs::read_to_string(root.join(THINGS.spec))
            .expect("spec")
            .replace(
                "      operationId: get_answer\n",
                "      operationId: get_answer\n      x-cxkit-inferred: true\n      description: Inferred.\n",
            )
            .into_bytes(),
    )
    .expect("parses");
    let index = xtask::index::render_with(&THINGS, &marked, Some(&c));
    assert!(
        index.contains("shows `data.response.run_id`); marked inferred: the operation |"),
        "{index}"
    );

    let table = xtask::cli_tables::render_with(&THINGS, &spec, Some(&c));
    assert!(
        table.contains(&format!("        provenance: {update:?},")),
        "{table}"
    );

    let outputs = xtask::build_all(root, &[THINGS]).unwrap_or_else(|p| panic!("{p:#?}"));
    let client = &outputs[0].contents;
    assert!(
        client.contains("Provenance per fact: title: seed evidence/seed-things.md#list_things; method, path, query, headers, response, statuses: vendor page (v2) <https://vendor.example/v2/list-things>."),
        "the generated method's documentation names its sources per fact"
    );
}

#[test]
fn a_source_whose_every_fact_differs_supports_nothing() {
    // The legacy page, for the current operation, shows only its own path (another family).
    let dir = workspace(unchanged, |ledger| {
        ledger.replace(
            "update_tool\thttps://vendor.example/legacy-edit-tool\tv2-legacy\tEdit Tool\tPUT\t/v2/api/tool/{tool_id}\t-\tAuthorization\tname,config.url\tsuccess\t200",
            "update_tool\thttps://vendor.example/legacy-edit-tool\tv2-legacy\t-\t-\t/v2/api/tool/{tool_id}\t-\t-\t-\t-\t-",
        )
    });
    let found = problems(dir.path());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("specs/things.yaml: operation update_tool: `https://vendor.example/legacy-edit-tool` supports no fact of the operation: everything its row (specs/sources/things.tsv line 5) shows differs"),
        "{}",
        found[0]
    );
}

#[test]
fn a_bare_body_is_shown_as_root() {
    let dir = workspace(unchanged, |ledger| {
        ledger
            .replace("name,config.url\tsuccess", "(root)\t(root)")
            .replace(
                "-\tsuccess,data.response.run_id\t200",
                "(root)\tsuccess,data.response.run_id\t200",
            )
    });
    let found = problems(dir.path());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].contains("operation get_answer: `https://vendor.example/v2/get-answer` (specs/sources/things.tsv line 7) shows body `(root)`, but the spec has no request body"),
        "{}",
        found[0]
    );
}

#[test]
fn a_whole_fact_deviation_covers_every_differing_value_and_nothing_else() {
    // `shown: '*'` covers the untyped `data.response.run_id` like the exact entry does, and the
    // values the spec agrees with still count.
    let dir = workspace(
        |spec| {
            spec.replace(
                "fact: response, shown: data.response.run_id,",
                "fact: response, shown: '*',",
            )
        },
        unchanged,
    );
    assert_eq!(problems(dir.path()), Vec::<String>::new());

    // A whole-fact entry on a fact where nothing differs is stale.
    let dir = workspace(
        |spec| {
            spec.replace(
                "      x-cxkit-deviations:\n",
                "      x-cxkit-deviations:\n        - {source: 'https://vendor.example/v2/get-answer', fact: statuses, shown: '*', reason: 'stale'}\n",
            )
        },
        unchanged,
    );
    let found = problems(dir.path()).join("\n");
    assert!(
        found.contains("records statuses `*` shown by `https://vendor.example/v2/get-answer`"),
        "{found}"
    );
}
