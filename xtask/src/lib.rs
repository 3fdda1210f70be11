//! cxkit's code generator, as a library so its tests (snapshot tests on fixture specs, and the
//! staleness test that makes `cargo test` fail when a spec changed but its client did not) call
//! exactly what `cargo xtask` runs.

pub mod changes;
pub mod codegen;
pub mod index;
pub mod lint;
pub mod spec;
pub mod systems;

use std::path::{Path, PathBuf};

use spec::{Problem, Spec};
use systems::System;

/// The seed operation list every spec's coverage is checked against.
pub const SEED_TABLE: &str = "specs/seeds/operations.tsv";

/// The workspace root (the xtask lives in `<root>/xtask`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the xtask crate lives inside the workspace")
        .to_path_buf()
}

/// One generated file's intended contents.
#[derive(Debug)]
pub struct Output {
    /// The system it belongs to.
    pub system: System,
    /// The file's full intended contents.
    pub contents: String,
}

/// Lints and generates every named system. Nothing is written: either every system yields its
/// contents, or every problem found in any of them is returned.
pub fn build_all(root: &Path, systems: &[System]) -> Result<Vec<Output>, Vec<Problem>> {
    let seeds = std::fs::read_to_string(root.join(SEED_TABLE)).map_err(|e| {
        vec![Problem {
            file: SEED_TABLE.to_owned(),
            operation: None,
            message: format!("cannot read the seed operation list: {e}"),
        }]
    })?;
    let mut outputs = Vec::new();
    let mut problems = Vec::new();
    for system in systems {
        let spec = match Spec::load(root, system.spec) {
            Ok(spec) => spec,
            Err(p) => {
                problems.push(p);
                continue;
            }
        };
        let found = lint::lint(&spec, &lint::seed_titles(&seeds, system.name));
        if !found.is_empty() {
            problems.extend(found);
            continue;
        }
        match codegen::generate(system, &spec) {
            Ok(contents) => outputs.push(Output {
                system: *system,
                contents,
            }),
            Err(found) => problems.extend(found),
        }
    }
    if problems.is_empty() {
        Ok(outputs)
    } else {
        Err(problems)
    }
}

/// Lints the named systems without generating.
pub fn lint_all(root: &Path, systems: &[System]) -> Vec<Problem> {
    let seeds = std::fs::read_to_string(root.join(SEED_TABLE)).unwrap_or_default();
    systems
        .iter()
        .flat_map(|system| match Spec::load(root, system.spec) {
            Ok(spec) => lint::lint(&spec, &lint::seed_titles(&seeds, system.name)),
            Err(p) => vec![p],
        })
        .collect()
}

/// A generated file whose contents on disk differ from what the spec gives.
#[derive(Debug)]
pub struct Stale {
    /// The file, relative to the root.
    pub path: &'static str,
    /// A short unified diff, on-disk -> intended.
    pub diff: String,
}

/// Compares intended contents with the files on disk.
pub fn stale_files(root: &Path, outputs: &[Output]) -> Vec<Stale> {
    outputs
        .iter()
        .filter_map(|out| {
            let current = std::fs::read_to_string(root.join(out.system.output)).unwrap_or_default();
            (current != out.contents).then(|| Stale {
                path: out.system.output,
                diff: short_diff(&current, &out.contents, out.system.output),
            })
        })
        .collect()
}

pub(crate) fn short_diff(old: &str, new: &str, path: &str) -> String {
    const MAX_LINES: usize = 40;
    let diff = similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(2)
        .header(
            &format!("{path} (on disk)"),
            &format!("{path} (from the spec)"),
        )
        .to_string();
    let total = diff.lines().count();
    let mut shown: String = diff
        .lines()
        .take(MAX_LINES)
        .map(|l| format!("{l}\n"))
        .collect();
    if total > MAX_LINES {
        shown.push_str(&format!("... {} more diff lines\n", total - MAX_LINES));
    }
    shown
}

/// Writes every stale file: each to a temporary file beside it, then renamed over it, so a
/// crash never leaves a half-written client. Returns the paths written.
pub fn write_outputs(root: &Path, outputs: &[Output]) -> std::io::Result<Vec<&'static str>> {
    let stale = stale_files(root, outputs);
    for out in outputs
        .iter()
        .filter(|o| stale.iter().any(|s| s.path == o.system.output))
    {
        let target = root.join(out.system.output);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = target.with_extension("rs.tmp");
        std::fs::write(&tmp, &out.contents)?;
        std::fs::rename(&tmp, &target)?;
    }
    Ok(stale.into_iter().map(|s| s.path).collect())
}
