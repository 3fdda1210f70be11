//! The harvest ledgers (`specs/sources/<spec>.tsv`) are what the next curator reads instead of
//! searching again, so each must name every operation of its spec, and no operation the spec
//! lacks (a renamed operation must be renamed in its ledger too). A ledger in the older format
//! has exactly one row per operation; one in the per-fact format (`xtask::ledger::HEADER`) has a
//! row per (operation, source), plus `-` rows for searches that found nothing, and is checked
//! fact by fact by `cargo xtask provenance --check` (`tests/facts.rs`).

use std::collections::BTreeSet;

use xtask::spec::{METHODS, Spec};
use xtask::systems::SYSTEMS;

fn operation_ids(spec: &Spec) -> BTreeSet<String> {
    let paths = spec.doc["paths"].as_object().expect("paths");
    paths
        .values()
        .flat_map(|item| item.as_object().expect("path item").iter())
        .filter(|(method, _)| METHODS.contains(&method.as_str()))
        .map(|(_, op)| op["operationId"].as_str().expect("operationId").to_owned())
        .collect()
}

#[test]
fn every_operation_has_exactly_one_ledger_row() {
    let root = xtask::workspace_root().expect("workspace root");
    for system in SYSTEMS {
        let spec = Spec::load(&root, system.spec).expect("the spec loads");
        let stem = system
            .spec
            .trim_start_matches("specs/")
            .trim_end_matches(".yaml");
        let ledger_path = format!("specs/sources/{stem}.tsv");
        let ledger = std::fs::read_to_string(root.join(&ledger_path))
            .unwrap_or_else(|e| panic!("{ledger_path}: {e}"));
        let mut lines = ledger.lines();
        let header = lines.next();
        let per_fact = header == Some(xtask::ledger::HEADER);
        assert!(
            per_fact || header == Some(xtask::ledger::OLD_HEADER),
            "{ledger_path}: header"
        );
        let mut rows = BTreeSet::new();
        for (n, line) in lines.enumerate() {
            let id = line.split('\t').next().unwrap_or_default().to_owned();
            assert!(
                rows.insert(id.clone()) || per_fact,
                "{ledger_path}: line {}: `{id}` has a second row",
                n + 2
            );
        }
        let ops = operation_ids(&spec);
        let missing: Vec<_> = ops.difference(&rows).collect();
        let unknown: Vec<_> = rows.difference(&ops).collect();
        assert!(
            missing.is_empty() && unknown.is_empty(),
            "{ledger_path}: operations without a row: {missing:?}; rows naming no operation of {}: {unknown:?}",
            system.spec
        );
    }
}
