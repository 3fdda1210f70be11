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

/// A parameter whose schema is an array of itself (which the lint allows: an array ends the
/// recursion) is described in finite words; it recursed until the stack overflowed before.
#[test]
fn a_self_referencing_array_parameter_has_a_finite_kind() {
    let text = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      operationId: a\n      summary: a\n      tags: [t]\n      security: []\n      parameters:\n        - {name: tree, in: query, schema: {$ref: '#/components/schemas/Tree'}}\n      responses:\n        '204': {description: done}\ncomponents:\n  schemas:\n    Tree: {type: array, items: {$ref: '#/components/schemas/Tree'}}\n";
    let spec = Spec::parse("specs/t.yaml", text.as_bytes().to_vec()).expect("parses");
    let system = System {
        name: "t",
        spec: "specs/t.yaml",
        output: "crates/t/src/generated.rs",
    };
    let table = render(&system, &spec);
    assert!(table.contains("kind: \"array of ...\""), "{table}");
}
