//! The xtask acts on the workspace it was run in, found at run time: one `CARGO_TARGET_DIR` can
//! be shared by several checkouts, and the binary then carries the path of whichever checkout
//! built it last. These tests run the real binary with `CARGO_MANIFEST_DIR` (which `cargo run`
//! sets) pointing into a temporary copy of the workspace.

use std::path::Path;
use std::process::Command;

/// A temporary workspace holding `xtask/`, the seed table, the specs, their ledgers, the
/// evidence they cite, the files with `systems` blocks the registry writes, and their README (whose provenance table `generate` rewrites from every spec), copied from this
/// checkout.
fn other_checkout() -> tempfile::TempDir {
    let here = xtask::workspace_root().expect("workspace root");
    let dir = tempfile::tempdir().expect("temp dir");
    let specs = xtask::systems::all(&here)
        .expect("the registry")
        .into_iter()
        .map(|s| s.spec.to_owned());
    let evidence = std::fs::read_dir(here.join(xtask::lint::EVIDENCE_DIR))
        .expect("the evidence directory")
        .map(|e| {
            let name = e.expect("readable").file_name();
            format!("{}/{}", xtask::lint::EVIDENCE_DIR, name.to_string_lossy())
        });
    // The ledgers: the generated docs say per fact where an operation comes from.
    let ledgers = std::fs::read_dir(here.join("specs/sources"))
        .expect("the ledger directory")
        .map(|e| {
            format!(
                "specs/sources/{}",
                e.expect("readable").file_name().to_string_lossy()
            )
        });
    for rel in [
        xtask::SEED_TABLE,
        xtask::README,
        xtask::TOP_README,
        cxkit_spec::registry::FILE,
        "xtask/Cargo.toml",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain(
        xtask::registry_files::REGION_FILES
            .iter()
            .map(|f| (*f).to_owned()),
    )
    .chain(specs)
    .chain(evidence)
    .chain(ledgers)
    {
        let to = dir.path().join(&rel);
        std::fs::create_dir_all(to.parent().expect("has a parent")).expect("mkdir");
        std::fs::copy(here.join(&rel), to).expect("copy");
    }
    dir
}

fn xtask(root: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .env("CARGO_MANIFEST_DIR", root.join("xtask"))
        .current_dir(root)
        .output()
        .expect("the xtask binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn generate_writes_into_the_checkout_cargo_ran_it_in() {
    let dir = other_checkout();
    let root = dir.path();
    let (ok, stdout, stderr) = xtask(root, &["generate", "proto"]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("wrote crates/proto/src/generated.rs"),
        "{stdout}"
    );
    let written = std::fs::read_to_string(root.join("crates/proto/src/generated.rs"))
        .expect("the client was written into the other checkout");
    let here = xtask::workspace_root().expect("workspace root");
    let committed =
        std::fs::read_to_string(here.join("crates/proto/src/generated.rs")).expect("committed");
    assert_eq!(written, committed, "same spec, same client");
}

#[test]
fn lint_reads_the_specs_of_the_checkout_cargo_ran_it_in() {
    let dir = other_checkout();
    let root = dir.path();
    std::fs::remove_file(root.join("specs/proto.yaml")).expect("delete");
    let (ok, stdout, stderr) = xtask(root, &["lint", "proto"]);
    assert!(!ok, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("specs/proto.yaml: cannot read the spec: "),
        "{stderr}"
    );
}

#[test]
fn a_spec_no_system_lists_is_an_error() {
    let dir = other_checkout();
    let root = dir.path();
    std::fs::write(root.join("specs/stray.yaml"), "openapi: 3.0.3\n").expect("stray spec");
    for args in [&["lint", "proto"][..], &["generate", "proto"]] {
        let (ok, stdout, stderr) = xtask(root, args);
        assert!(!ok, "{args:?}: {stdout}\n{stderr}");
        assert!(
            stderr.contains("specs/stray.yaml: no system lists this spec, so nothing would be generated from it; add an [[api]] entry for it to `specs/systems.toml`, or delete the file"),
            "{args:?}: {stderr}"
        );
    }
    assert!(
        !root.join("crates/proto").exists(),
        "a failed generate writes nothing"
    );
}
