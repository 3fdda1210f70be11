//! The operation index (`crates/<system>/OPERATIONS.md`): what a row says for each kind of
//! operation, and the facade map it reads, which must name real operations and real calls.

use std::path::Path;

use xtask::index::{FACADE, index_path, render};
use xtask::spec::Spec;
use xtask::systems::{SYSTEMS, System};

#[test]
fn rows_show_method_facade_http_and_provenance() {
    let spec = Spec::load(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        "tests/fixtures/index/sample.yaml",
    )
    .expect("fixture parses");
    // Named `proto`, so the map's `create_human` entry fills the facade column.
    let system = System {
        name: "proto",
        spec: "tests/fixtures/index/sample.yaml",
        output: "crates/sample/src/generated.rs",
    };
    assert_eq!(index_path(&system), "crates/sample/OPERATIONS.md");
    insta::assert_snapshot!(render(&system, &spec));
}

/// Every map entry names an operation of its system's spec and a `pub fn` of the facade on
/// the named type, so renaming either fails here instead of leaving a wrong index.
#[test]
fn the_facade_map_names_real_operations_and_real_calls() {
    let root = xtask::workspace_root().expect("workspace root");
    let facade = sources(&root.join("crates/cxkit/src"));
    for (system, operation, call) in FACADE {
        let sys = SYSTEMS
            .iter()
            .find(|s| s.name == *system)
            .unwrap_or_else(|| panic!("{system} is not a system"));
        let spec = Spec::load(&root, sys.spec).expect("spec");
        assert!(
            spec.operations()
                .iter()
                .any(|(_, _, op)| op.get("operationId").and_then(|v| v.as_str())
                    == Some(operation)),
            "{}: no operation `{operation}`; fix xtask::index::FACADE",
            sys.spec
        );
        let (ty, rest) = call.split_once("::").expect("Type::method");
        let method = rest.split(['(', ' ']).next().expect("a method name");
        assert!(
            facade.contains(&format!("pub struct {ty} ")),
            "no `pub struct {ty}` in the facade; fix xtask::index::FACADE"
        );
        assert!(
            facade.contains(&format!("pub async fn {method}("))
                || facade.contains(&format!("pub fn {method}(")),
            "no `pub fn {method}` in the facade; fix xtask::index::FACADE"
        );
    }
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
