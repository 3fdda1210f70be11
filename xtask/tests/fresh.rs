//! The committed generated files must be what their specs generate today (the rust-analyzer
//! "tidy"/"sourcegen" pattern): `cargo test` fails when a spec changed and its client, its
//! operation index (`crates/<system>/OPERATIONS.md`), its command-line table
//! (`crates/<system>/src/cli.rs`), the files written from the registry
//! (`specs/systems.toml`: the generated crates' manifests and lib.rs, the marked `systems`
//! blocks of the hand-written manifests and lib.rs), the provenance table in specs/README.md or the
//! end-to-end figure in README.md did not.

use xtask::{build_all, build_generated, stale_files, stale_generated, workspace_root};

#[test]
fn generated_files_are_fresh() {
    let root = workspace_root().expect("workspace root");
    let fail = |problems: Vec<xtask::spec::Problem>| -> ! {
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        panic!(
            "the specs do not pass `cargo xtask generate`; fix these and run it:\n{}",
            lines.join("\n")
        )
    };
    let systems = xtask::systems::all(&root).unwrap_or_else(|p| fail(vec![p]));
    let outputs = build_all(&root, &systems).unwrap_or_else(|p| fail(p));
    assert_eq!(outputs.len(), systems.len());
    let generated = build_generated(&root, &systems).unwrap_or_else(|p| fail(p));
    // One operation index, one command-line table, one manifest and one lib.rs per system, the
    // two files written from the registry (the command line's systems, the security tables
    // list), the files with marked `systems` blocks, plus the specs' README's provenance table
    // and the README's end-to-end figure.
    assert_eq!(
        generated.len(),
        4 * systems.len() + 4 + xtask::registry_files::REGION_FILES.len()
    );
    let mut stale = stale_files(&root, &outputs);
    stale.extend(stale_generated(&root, &generated));
    if !stale.is_empty() {
        let listed: Vec<&str> = stale.iter().map(|s| s.path.as_str()).collect();
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
