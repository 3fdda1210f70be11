//! The operation index (`crates/<system>/OPERATIONS.md`): what a row says for each kind of
//! operation, and the facade calls the specs declare (`x-cxkit-facade`), which must be real.

use std::path::Path;

use xtask::index::{index_path, render};
use xtask::spec::Spec;
use xtask::systems::System;

#[test]
fn rows_show_method_facade_http_and_provenance() {
    let spec = Spec::load(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        "tests/fixtures/index/sample.yaml",
    )
    .expect("fixture parses");
    // `create_human` declares its facade call, which fills the facade column.
    let system = System {
        name: "proto",
        spec: "tests/fixtures/index/sample.yaml",
        output: "crates/sample/src/generated.rs",
    };
    assert_eq!(index_path(&system), "crates/sample/OPERATIONS.md");
    insta::assert_snapshot!(render(&system, &spec));
}

/// Every `x-cxkit-facade` of every spec names a `pub struct` of the facade and a `pub fn` of
/// it, so renaming a facade call fails here instead of leaving a wrong index; and every spec
/// declares some (a spec that lost them all would leave the column silently empty).
#[test]
fn every_declared_facade_call_is_a_real_call() {
    let root = xtask::workspace_root().expect("workspace root");
    let facade = sources(&root.join("crates/cxkit/src"));
    let mut declared = 0;
    for system in xtask::systems::all(&root).expect("the registry") {
        let spec = Spec::load(&root, system.spec).expect("spec");
        for (_, _, op) in spec.operations() {
            let Some(call) = cxkit_spec::ext::facade(op) else {
                continue;
            };
            declared += 1;
            let (ty, method) =
                cxkit_spec::ext::parse_facade(call).expect("the lint checks the form");
            assert!(
                facade.contains(&format!("pub struct {ty} ")),
                "{}: `x-cxkit-facade: {call}`: no `pub struct {ty}` in the facade",
                system.spec
            );
            assert!(
                facade.contains(&format!("pub async fn {method}("))
                    || facade.contains(&format!("pub fn {method}(")),
                "{}: `x-cxkit-facade: {call}`: no `pub fn {method}` in the facade",
                system.spec
            );
        }
    }
    assert!(
        declared >= 30,
        "only {declared} facade calls declared in the specs"
    );
}

/// Every `.rs` file under `dir` (modules in directories included), concatenated.
fn sources(dir: &std::path::Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).expect("facade sources") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            text.push_str(&sources(&path));
        } else if path.extension().is_some_and(|x| x == "rs") {
            text.push_str(&std::fs::read_to_string(&path).expect("readable"));
        }
    }
    text
}
