//! The provenance counts (`cargo xtask provenance`, and the table `generate` writes into
//! specs/README.md): each operation of `tests/fixtures/provenance/mixed.yaml` is one case of
//! the definitions in `xtask/src/provenance.rs`; then the README round trip on a temporary
//! workspace: a stale table is reported with a diff, written, and then fresh.

use std::path::Path;

use xtask::provenance::{self, BEGIN, END, Inference, Source, Tally};
use xtask::spec::Spec;
use xtask::systems::System;
use xtask::{README, provenance_readme, stale_generated, write_generated};

const FIXTURE: &str = "xtask/tests/fixtures/provenance/mixed.yaml";

fn fixture() -> Spec {
    Spec::load(&xtask::workspace_root().expect("workspace root"), FIXTURE).expect("fixture parses")
}

/// (operationId, source, inference) of every operation, sorted by id.
fn classified(spec: &Spec) -> Vec<(String, Source, Inference)> {
    let paths = spec.doc["paths"].as_object().expect("paths");
    let mut out = Vec::new();
    for item in paths.values() {
        for (method, op) in item.as_object().expect("path item") {
            if xtask::spec::METHODS.contains(&method.as_str()) {
                out.push((
                    op["operationId"].as_str().expect("id").to_owned(),
                    provenance::source(op),
                    provenance::inference(spec, item, op),
                ));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn every_case_is_classified_by_its_definition() {
    let spec = fixture();
    let expected = [
        ("page_fully_sourced", Source::VendorPage, Inference::None),
        ("seed_marked_by_path", Source::SeedsOnly, Inference::Marked),
        ("seed_marked_itself", Source::SeedsOnly, Inference::Marked),
        (
            "none_partly_by_path_parameter",
            Source::None,
            Inference::Partly,
        ),
        (
            "page_partly_by_deep_schema",
            Source::VendorPage,
            Inference::Partly,
        ),
        (
            "page_partly_by_error_response",
            Source::VendorPage,
            Inference::Partly,
        ),
        ("empty_list_fully_sourced", Source::None, Inference::None),
    ];
    let mut expected: Vec<(String, Source, Inference)> = expected
        .iter()
        .map(|(id, s, i)| ((*id).to_owned(), *s, *i))
        .collect();
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(classified(&spec), expected);
}

#[test]
fn tally_adds_up_both_ways() {
    let t = provenance::tally(&fixture());
    assert_eq!(
        t,
        Tally {
            spec: "mixed.yaml".to_owned(),
            operations: 7,
            vendor_page: 3,
            seeds_only: 2,
            no_source: 2,
            marked: 2,
            partly: 3,
            fully_sourced: 2,
            facts: None,
        }
    );
    assert_eq!(t.vendor_page + t.seeds_only + t.no_source, t.operations);
    assert_eq!(t.marked + t.partly + t.fully_sourced, t.operations);
}

#[test]
fn table_has_a_row_per_spec_and_a_total() {
    let t = provenance::tally(&fixture());
    let one = provenance::table(std::slice::from_ref(&t));
    assert_eq!(
        one,
        "| spec | operations | vendor page | seeds/notes only | no source | marked inferred | partly inferred | fully sourced | sourced path | sourced body | sourced response | sourced statuses | end to end |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n\
         | `mixed.yaml` | 7 | 3 | 2 | 2 | 2 | 3 | 2 | – | – | – | – | – |\n"
    );
    let two = provenance::table(&[t.clone(), t]);
    assert!(
        two.ends_with("| total | 14 | 6 | 4 | 4 | 4 | 6 | 4 | – | – | – | – | – |\n"),
        "{two}"
    );
}

#[test]
fn replacing_the_table_keeps_the_rest_and_is_idempotent() {
    let readme = format!("# Specs\n\nBefore.\n\n{BEGIN}\nold table\n{END}\n\nAfter.\n");
    let once = provenance::replace_table(&readme, "| new |\n").expect("markers present");
    assert!(
        once.starts_with(&format!("# Specs\n\nBefore.\n\n{BEGIN}\n")),
        "{once}"
    );
    assert!(once.contains("| new |\n"), "{once}");
    assert!(!once.contains("old table"), "{once}");
    assert!(once.ends_with(&format!("{END}\n\nAfter.\n")), "{once}");
    assert_eq!(
        provenance::replace_table(&once, "| new |\n").expect("still there"),
        once
    );
}

#[test]
fn missing_or_swapped_markers_say_what_to_add() {
    let missing = provenance::replace_table("# Specs\n", "| t |\n").unwrap_err();
    assert!(
        missing.contains(BEGIN) && missing.contains(END),
        "{missing}"
    );
    let swapped = provenance::replace_table(&format!("{END}\n{BEGIN}\n"), "| t |\n").unwrap_err();
    assert!(swapped.contains("swap"), "{swapped}");
}

const CASES: System = System {
    name: "cases",
    spec: "specs/cases.yaml",
    output: "crates/cases/src/generated.rs",
};

fn workspace(readme: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let specs = dir.path().join("specs");
    std::fs::create_dir_all(&specs).expect("mkdir");
    std::fs::copy(
        xtask::workspace_root()
            .expect("workspace root")
            .join(FIXTURE),
        dir.path().join(CASES.spec),
    )
    .expect("copy");
    std::fs::write(dir.path().join(README), readme).expect("write readme");
    dir
}

fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).expect("readable")
}

#[test]
fn a_stale_table_is_reported_then_written_then_fresh() {
    let dir = workspace(&format!("# Specs\n\n{BEGIN}\n| stale |\n{END}\n"));
    let root = dir.path();
    let readme = provenance_readme(root, &[CASES]).expect("countable");
    let stale = stale_generated(root, &[readme]);
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0].path, README);
    assert!(stale[0].diff.contains("-| stale |"), "{}", stale[0].diff);
    assert!(
        stale[0]
            .diff
            .contains("+| `cases.yaml` | 7 | 3 | 2 | 2 | 2 | 3 | 2 |"),
        "{}",
        stale[0].diff
    );

    let readme = provenance_readme(root, &[CASES]).expect("countable");
    assert_eq!(write_generated(root, &[readme]).expect("written"), [README]);
    assert!(read(root, README).contains("| `cases.yaml` | 7 |"));
    let readme = provenance_readme(root, &[CASES]).expect("countable");
    assert!(stale_generated(root, &[readme]).is_empty());
}

#[test]
fn a_readme_without_markers_is_a_problem_naming_the_file() {
    let dir = workspace("# Specs\n\nNo table here.\n");
    let problems = provenance_readme(dir.path(), &[CASES]).expect_err("no markers");
    let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].starts_with("specs/README.md: has no provenance markers; add a line"),
        "{}",
        lines[0]
    );
}

#[test]
fn an_unreadable_spec_is_a_problem_naming_the_spec() {
    let dir = workspace(&format!("{BEGIN}\n{END}\n"));
    std::fs::remove_file(dir.path().join(CASES.spec)).expect("removed");
    let problems = provenance_readme(dir.path(), &[CASES]).expect_err("no spec");
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].file, CASES.spec);
}
