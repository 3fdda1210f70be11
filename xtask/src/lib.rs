//! cxkit's code generator, as a library so its tests (snapshot tests on fixture specs, and the
//! staleness test that makes `cargo test` fail when a spec changed but its client did not) call
//! exactly what `cargo xtask` runs.

pub mod codegen;
pub mod lint;
pub mod provenance;
pub mod spec;
pub mod systems;

use std::path::{Path, PathBuf};

use spec::{Problem, Spec};
use systems::System;

/// The seed operation list every spec's coverage is checked against.
pub const SEED_TABLE: &str = "specs/seeds/operations.tsv";

/// The specs' README, whose provenance table `generate` writes.
pub const README: &str = "specs/README.md";

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
        let found = lint::lint(
            &spec,
            &lint::seed_titles(&seeds, system.name),
            &lint::seed_files(&seeds),
        );
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
            Ok(spec) => lint::lint(
                &spec,
                &lint::seed_titles(&seeds, system.name),
                &lint::seed_files(&seeds),
            ),
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
        .filter_map(|out| stale(root, out.system.output, &out.contents))
        .collect()
}

/// A file other than a client that `generate` writes (the README's provenance table).
#[derive(Debug)]
pub struct Generated {
    /// The file, relative to the root.
    pub path: &'static str,
    /// The file's full intended contents.
    pub contents: String,
}

/// The provenance of each named system's spec, counted from the spec on disk.
pub fn tallies(root: &Path, systems: &[System]) -> Result<Vec<provenance::Tally>, Vec<Problem>> {
    let mut tallies = Vec::new();
    let mut problems = Vec::new();
    for system in systems {
        match Spec::load(root, system.spec) {
            Ok(spec) => tallies.push(provenance::tally(&spec)),
            Err(p) => problems.push(p),
        }
    }
    if problems.is_empty() {
        Ok(tallies)
    } else {
        Err(problems)
    }
}

/// `specs/README.md` with the provenance table of these systems' specs written between its
/// markers. Every system is counted, whichever ones are being generated, so the table covers
/// every spec.
pub fn provenance_readme(root: &Path, systems: &[System]) -> Result<Generated, Vec<Problem>> {
    let table = provenance::table(&tallies(root, systems)?);
    let problem = |message: String| {
        vec![Problem {
            file: README.to_owned(),
            operation: None,
            message,
        }]
    };
    let readme = std::fs::read_to_string(root.join(README))
        .map_err(|e| problem(format!("cannot read it to write the provenance table: {e}")))?;
    let contents = provenance::replace_table(&readme, &table).map_err(problem)?;
    Ok(Generated {
        path: README,
        contents,
    })
}

/// Compares the other generated files with the files on disk.
pub fn stale_generated(root: &Path, generated: &[Generated]) -> Vec<Stale> {
    generated
        .iter()
        .filter_map(|g| stale(root, g.path, &g.contents))
        .collect()
}

fn stale(root: &Path, path: &'static str, contents: &str) -> Option<Stale> {
    let current = std::fs::read_to_string(root.join(path)).unwrap_or_default();
    (current != contents).then(|| Stale {
        path,
        diff: short_diff(&current, contents, path),
    })
}

/// Everything `cargo xtask generate` would change for these systems (their clients, and the
/// README's provenance table over every system), or the problems that stop it.
pub fn stale_everything(root: &Path, systems: &[System]) -> Result<Vec<Stale>, Vec<Problem>> {
    let outputs = build_all(root, systems)?;
    let readme = provenance_readme(root, systems::SYSTEMS)?;
    let mut stale = stale_files(root, &outputs);
    stale.extend(stale_generated(root, &[readme]));
    Ok(stale)
}

fn short_diff(old: &str, new: &str, path: &str) -> String {
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
    let files: Vec<(&'static str, &str)> = outputs
        .iter()
        .map(|o| (o.system.output, o.contents.as_str()))
        .collect();
    write_stale(root, &files)
}

/// Writes every stale generated file, as [`write_outputs`] does. Returns the paths written.
pub fn write_generated(root: &Path, generated: &[Generated]) -> std::io::Result<Vec<&'static str>> {
    let files: Vec<(&'static str, &str)> = generated
        .iter()
        .map(|g| (g.path, g.contents.as_str()))
        .collect();
    write_stale(root, &files)
}

fn write_stale(root: &Path, files: &[(&'static str, &str)]) -> std::io::Result<Vec<&'static str>> {
    let mut written = Vec::new();
    for &(path, contents) in files {
        if stale(root, path, contents).is_none() {
            continue;
        }
        let target = root.join(path);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut tmp = target.clone().into_os_string();
        tmp.push(".tmp");
        std::fs::write(&tmp, contents)?;
        std::fs::rename(&tmp, &target)?;
        written.push(path);
    }
    Ok(written)
}
