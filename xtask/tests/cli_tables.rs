//! The command line's operation tables (each generated crate's `src/cli.rs`): what an
//! entry says for each kind of operation (parameters from the path item and by `$ref`, a body,
//! a hand-written one, provenance).

use std::path::Path;

use xtask::cli_tables::{render, table_path};
use xtask::spec::Spec;
use xtask::systems::System;

#[test]
fn entries_show_parameters_body_and_provenance() {
    let spec = Spec::load(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        "tests/fixtures/index/sample.yaml",
    )
    .expect("fixture parses");
    let system = System {
        name: "sample-api",
        spec: "tests/fixtures/index/sample.yaml",
        output: "crates/sample/src/generated.rs",
    };
    assert_eq!(table_path(&system), "crates/sample/src/cli.rs");
    insta::assert_snapshot!(render(&system, &spec));
}
