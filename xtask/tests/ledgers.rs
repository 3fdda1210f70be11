//! The harvest ledgers (`specs/sources/<spec>.tsv`) are what the next curator reads instead of
//! searching again: one row per (operation, source) with the facts that source shows, plus `-`
//! rows for searches that found nothing. Each must name only operations of its spec, give every
//! `x-cxkit-source` entry of an operation its row, and cite nothing the operation does not.

use std::collections::{BTreeMap, BTreeSet};

use xtask::spec::{METHODS, Spec};

const HEADER: &str = "operation_id\tsource\tgeneration\ttitle\tmethod\tpath\tquery\theaders\tbody\tresponse\tstatuses\tnotes";
const GENERATIONS: [&str; 9] = [
    "stable",
    "v2",
    "v2-legacy",
    "v1",
    "client",
    "seed",
    "notes",
    "guide",
    "-",
];

/// Every operation id with its `x-cxkit-source` entries.
fn operation_sources(spec: &Spec) -> BTreeMap<String, BTreeSet<String>> {
    let paths = spec.doc["paths"].as_object().expect("paths");
    paths
        .values()
        .flat_map(|item| item.as_object().expect("path item").iter())
        .filter(|(method, _)| METHODS.contains(&method.as_str()))
        .map(|(_, op)| {
            let sources = op["x-cxkit-source"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            (
                op["operationId"].as_str().expect("operationId").to_owned(),
                sources,
            )
        })
        .collect()
}

#[test]
fn every_source_of_every_operation_has_its_ledger_row() {
    let root = xtask::workspace_root().expect("workspace root");
    for system in xtask::systems::all(&root).expect("the registry") {
        let spec = Spec::load(&root, system.spec).expect("the spec loads");
        let stem = system
            .spec
            .trim_start_matches("specs/")
            .trim_end_matches(".yaml");
        let ledger_path = format!("specs/sources/{stem}.tsv");
        let ledger = std::fs::read_to_string(root.join(&ledger_path))
            .unwrap_or_else(|e| panic!("{ledger_path}: {e}"));
        let mut lines = ledger.lines();
        assert_eq!(lines.next(), Some(HEADER), "{ledger_path}: header");
        let ops = operation_sources(&spec);
        let mut rows: BTreeSet<(String, String)> = BTreeSet::new();
        let mut with_rows = BTreeSet::new();
        for (n, line) in lines.enumerate() {
            let at = format!("{ledger_path}: line {}", n + 2);
            let cells: Vec<&str> = line.split('\t').collect();
            assert_eq!(cells.len(), 12, "{at}: 12 tab-separated cells");
            let (id, source, generation) = (cells[0], cells[1], cells[2]);
            let Some(cited) = ops.get(id) else {
                panic!("{at}: `{id}` names no operation of {}", system.spec);
            };
            assert!(
                GENERATIONS.contains(&generation),
                "{at}: generation `{generation}`"
            );
            if source == "-" {
                assert!(
                    cells[2..11].iter().all(|c| *c == "-"),
                    "{at}: a search-only row shows no facts"
                );
            } else {
                assert!(
                    cited.contains(source),
                    "{at}: `{source}` is not in {id}'s x-cxkit-source"
                );
                assert!(
                    rows.insert((id.to_owned(), source.to_owned())),
                    "{at}: a second row for ({id}, {source})"
                );
            }
            with_rows.insert(id.to_owned());
        }
        for (id, sources) in &ops {
            assert!(with_rows.contains(id), "{ledger_path}: `{id}` has no row");
            for source in sources {
                assert!(
                    rows.contains(&(id.clone(), source.clone())),
                    "{ledger_path}: {id}'s source `{source}` has no row"
                );
            }
        }
    }
}
