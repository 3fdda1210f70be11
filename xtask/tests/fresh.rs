//! The committed clients must be what their specs generate today (the rust-analyzer
//! "tidy"/"sourcegen" pattern): `cargo test` fails when a spec changed and its client did not,
//! or when the provenance table in specs/README.md no longer matches the specs.

use xtask::systems::SYSTEMS;
use xtask::{build_all, provenance_readme, stale_files, stale_generated, workspace_root};

#[test]
fn generated_clients_are_fresh() {
    let root = workspace_root();
    let outputs = build_all(&root, SYSTEMS).unwrap_or_else(|problems| {
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        panic!(
            "the specs do not pass `cargo xtask generate`; fix these and run it:\n{}",
            lines.join("\n")
        )
    });
    assert_eq!(outputs.len(), SYSTEMS.len());
    let readme = provenance_readme(&root, SYSTEMS).unwrap_or_else(|problems| {
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        panic!(
            "the provenance table cannot be written:\n{}",
            lines.join("\n")
        )
    });
    let mut stale = stale_files(&root, &outputs);
    stale.extend(stale_generated(&root, &[readme]));
    if !stale.is_empty() {
        let listed: Vec<&str> = stale.iter().map(|s| s.path).collect();
        let diffs: Vec<&str> = stale.iter().map(|s| s.diff.as_str()).collect();
        panic!(
            "{} generated file(s) differ from their specs: {}\n\
             run `cargo xtask generate` and commit the result\n\n{}",
            stale.len(),
            listed.join(", "),
            diffs.join("\n")
        );
    }
}
