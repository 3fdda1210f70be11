//! The committed clients must be what their specs generate today (the rust-analyzer
//! "tidy"/"sourcegen" pattern): `cargo test` fails when a spec changed and its client did not.

use xtask::systems::SYSTEMS;
use xtask::{build_all, stale_files, workspace_root};

#[test]
fn generated_clients_are_fresh() {
    let root = workspace_root().expect("workspace root");
    let outputs = build_all(&root, SYSTEMS).unwrap_or_else(|problems| {
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        panic!(
            "the specs do not pass `cargo xtask generate`; fix these and run it:\n{}",
            lines.join("\n")
        )
    });
    assert_eq!(outputs.len(), SYSTEMS.len());
    let stale: Vec<(String, String)> = stale_files(&root, &outputs)
        .into_iter()
        .map(|s| (s.path.to_owned(), s.diff))
        .collect();
    fail_if_stale("generated file(s)", &stale);
}

/// Fails naming every stale file, the command that fixes them, and their diffs.
fn fail_if_stale(what: &str, stale: &[(String, String)]) {
    if stale.is_empty() {
        return;
    }
    let listed: Vec<&str> = stale.iter().map(|(p, _)| p.as_str()).collect();
    let diffs: Vec<&str> = stale.iter().map(|(_, d)| d.as_str()).collect();
    panic!(
        "{} {what} differ from their specs: {}\n\
         run `cargo xtask generate` and commit the result\n\n{}",
        stale.len(),
        listed.join(", "),
        diffs.join("\n")
    );
}

/// The operation indexes (`crates/<system>/OPERATIONS.md`) are generated too, and must be
/// what their specs give today.
#[test]
fn operation_indexes_are_fresh() {
    let root = workspace_root().expect("workspace root");
    let indexes = xtask::index::build_indexes(&root, SYSTEMS).expect("the specs can be read");
    assert_eq!(indexes.len(), SYSTEMS.len());
    fail_if_stale(
        "operation index(es)",
        &xtask::index::stale_indexes(&root, &indexes),
    );
}
