//! cxkit's code generator, as a library so its tests (snapshot tests on fixture specs, and the
//! staleness test that makes `cargo test` fail when a spec changed but its client did not) call
//! exactly what `cargo xtask` runs.

pub mod changes;
pub mod cli_tables;
pub mod codegen;
pub mod doc_text;
pub mod facts;
pub mod index;
pub mod ledger;
pub mod lint;
pub mod orphans;
pub mod provenance;
pub mod redact;
pub mod registry_files;
pub mod requests;
pub mod spec;
pub mod synthetic;
pub mod systems;

use std::path::{Path, PathBuf};

use spec::{Problem, Spec};
use systems::System;

/// The seed operation list every spec's coverage is checked against.
pub const SEED_TABLE: &str = "specs/seeds/operations.tsv";

/// The specs' README, whose provenance table `generate` writes.
pub const README: &str = "specs/README.md";

/// The workspace's README, whose end-to-end figure `generate` writes.
pub const TOP_README: &str = "README.md";

/// The root of the workspace the xtask was run in (the xtask lives in `<root>/xtask`).
///
/// It is looked up at run time, never compiled in: one `CARGO_TARGET_DIR` may be shared by several
/// checkouts, and then the binary `cargo xtask` runs was built from whichever checkout built it
/// last, so a path baked into it can point at another checkout's tree. `cargo run` and `cargo
/// test` set `CARGO_MANIFEST_DIR` for the process they start to the xtask directory of the
/// checkout being built; without it (the binary run directly) the current directory and its
/// ancestors are searched for a workspace with an `xtask/Cargo.toml`.
pub fn workspace_root() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") {
        let dir = PathBuf::from(dir);
        return dir.parent().map(Path::to_path_buf).ok_or_else(|| {
            format!(
                "CARGO_MANIFEST_DIR is `{}`, which has no parent; run the xtask as `cargo xtask` from inside the workspace",
                dir.display()
            )
        });
    }
    let cwd = std::env::current_dir().map_err(|e| {
        format!(
            "cannot read the current directory ({e}); run `cargo xtask` from inside the workspace"
        )
    })?;
    cwd.ancestors()
        .find(|dir| dir.join("xtask/Cargo.toml").is_file() && dir.join("Cargo.toml").is_file())
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            format!(
                "`{}` is not inside a cxkit workspace (no ancestor holds `xtask/Cargo.toml`); run `cargo xtask` from inside the workspace",
                cwd.display()
            )
        })
}

/// Spec files under `specs/` that no system lists: a spec nobody generates is a mistake (a
/// system left out of `specs/systems.toml`, or a renamed spec's old copy), never silently
/// skipped. `selected` counts as listed, besides every system of the registry; a registry that
/// cannot be read is the problem returned (a tree without one lists only `selected`).
pub fn unlisted_specs(root: &Path, selected: &[System]) -> Vec<Problem> {
    // A tree without a registry (a test's fixture workspace) lists only what is selected.
    let listed = if root.join(cxkit_spec::registry::FILE).exists() {
        match systems::all(root) {
            Ok(listed) => listed,
            Err(p) => return vec![p],
        }
    } else {
        Vec::new()
    };
    let Ok(entries) = std::fs::read_dir(root.join("specs")) else {
        return Vec::new();
    };
    let mut found: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| {
            [".yaml", ".yml", ".json"]
                .iter()
                .any(|ext| name.ends_with(ext))
        })
        .map(|name| format!("specs/{name}"))
        .filter(|file| !listed.iter().chain(selected).any(|s| s.spec == file))
        .collect();
    found.sort();
    found
        .into_iter()
        .map(|file| Problem {
            file,
            operation: None,
            message: "no system lists this spec, so nothing would be generated from it; add an [[api]] entry for it to `specs/systems.toml`, or delete the file".to_owned(),
        })
        .collect()
}

/// The registry's `credentials` of a system must be exactly its spec's security schemes, so the
/// registry cannot claim a credential kind the spec does not define or miss one it does. A
/// system the registry does not list (a fixture) has nothing to compare.
pub fn credential_problems(root: &Path, system: &System, spec: &Spec) -> Vec<Problem> {
    let Ok(registry) = systems::registry(root) else {
        // `unlisted_specs` reports an unreadable registry.
        return Vec::new();
    };
    let Some(api) = registry.api(system.name) else {
        return Vec::new();
    };
    let mut listed: Vec<&str> = api.credentials.iter().map(String::as_str).collect();
    let mut defined: Vec<&str> = cxkit_spec::security::schemes(&spec.doc)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    listed.sort_unstable();
    defined.sort_unstable();
    if listed == defined {
        return Vec::new();
    }
    vec![Problem {
        file: cxkit_spec::registry::FILE.to_owned(),
        operation: None,
        message: format!(
            "api `{}` lists the credentials [{}], but {} defines the security schemes [{}]; list exactly the spec's schemes",
            api.name,
            listed.join(", "),
            system.spec,
            defined.join(", ")
        ),
    }]
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
    let mut problems = unlisted_specs(root, systems);
    for system in systems {
        let spec = match Spec::load(root, system.spec) {
            Ok(spec) => spec,
            Err(p) => {
                problems.push(p);
                continue;
            }
        };
        let mut found = lint::lint_with(
            &spec,
            &lint::seed_titles(&seeds, system.name),
            &facts::Evidence::load(root, system.spec),
        );
        found.extend(credential_problems(root, system, &spec));
        let checked = match facts::check_spec(root, &spec) {
            Ok(checked) => checked,
            Err(p) => {
                found.extend(p);
                None
            }
        };
        // A bad citation is reported by the lint and the check in the same words: once.
        for p in checked.iter().flat_map(|c| c.problems.iter()) {
            if !found.contains(p) {
                found.push(p.clone());
            }
        }
        if !found.is_empty() {
            problems.extend(found);
            continue;
        }
        match codegen::generate_with(system, &spec, checked.as_ref()) {
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
    let mut problems = unlisted_specs(root, systems);
    problems.extend(
        systems
            .iter()
            .flat_map(|system| match Spec::load(root, system.spec) {
                Ok(spec) => {
                    let mut found = lint::lint_with(
                        &spec,
                        &lint::seed_titles(&seeds, system.name),
                        &facts::Evidence::load(root, system.spec),
                    );
                    found.extend(credential_problems(root, system, &spec));
                    match facts::check_spec(root, &spec) {
                        Ok(checked) => {
                            for p in checked.into_iter().flat_map(|c| c.problems) {
                                if !found.contains(&p) {
                                    found.push(p);
                                }
                            }
                        }
                        Err(p) => found.extend(p),
                    }
                    found
                }
                Err(p) => vec![p],
            }),
    );
    problems
}

/// `cargo xtask provenance --check`: every named spec whose ledger is in the per-fact format
/// checked against it ([`facts`]); the problems found (none: the ledgers and specs agree).
pub fn check_provenance(root: &Path, systems: &[System]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for system in systems {
        match Spec::load(root, system.spec) {
            Ok(spec) => match facts::check_spec(root, &spec) {
                Ok(checked) => problems.extend(checked.into_iter().flat_map(|c| c.problems)),
                Err(p) => problems.extend(p),
            },
            Err(p) => problems.push(p),
        }
    }
    problems
}

/// A generated file whose contents on disk differ from what the spec gives.
#[derive(Debug)]
pub struct Stale {
    /// The file, relative to the root.
    pub path: String,
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

/// A file other than a client that `generate` writes: a crate's operation index
/// (`OPERATIONS.md`) or the specs' README with its provenance table.
#[derive(Debug)]
pub struct Generated {
    /// The file, relative to the root.
    pub path: String,
    /// The file's full intended contents.
    pub contents: String,
}

/// The provenance of each named system's spec, counted from the spec on disk.
pub fn tallies(root: &Path, systems: &[System]) -> Result<Vec<provenance::Tally>, Vec<Problem>> {
    let mut tallies = Vec::new();
    let mut problems = Vec::new();
    for system in systems {
        match Spec::load(root, system.spec) {
            Ok(spec) => {
                let mut tally = provenance::tally(&spec);
                match facts::check_spec(root, &spec) {
                    Ok(checked) => tally.facts = checked.as_ref().map(facts::FactTally::of),
                    Err(p) => problems.extend(p),
                }
                tallies.push(tally);
            }
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
        path: README.to_owned(),
        contents,
    })
}

/// `README.md` with the end-to-end figure of these systems' specs
/// ([`provenance::figure`]) written between its markers.
pub fn figure_readme(root: &Path, systems: &[System]) -> Result<Generated, Vec<Problem>> {
    let figure = provenance::figure(&tallies(root, systems)?);
    let problem = |message: String| {
        vec![Problem {
            file: TOP_README.to_owned(),
            operation: None,
            message,
        }]
    };
    let readme = std::fs::read_to_string(root.join(TOP_README)).map_err(|e| {
        problem(format!(
            "cannot read it to write the end-to-end figure: {e}"
        ))
    })?;
    let contents = provenance::replace_between(
        &readme,
        provenance::FIGURE_BEGIN,
        provenance::FIGURE_END,
        &figure,
        "figure",
    )
    .map_err(problem)?;
    Ok(Generated {
        path: TOP_README.to_owned(),
        contents,
    })
}

/// Compares the other generated files with the files on disk.
pub fn stale_generated(root: &Path, generated: &[Generated]) -> Vec<Stale> {
    generated
        .iter()
        .filter_map(|g| stale(root, &g.path, &g.contents))
        .collect()
}

fn stale(root: &Path, path: &str, contents: &str) -> Option<Stale> {
    let current = std::fs::read_to_string(root.join(path)).unwrap_or_default();
    (current != contents).then(|| Stale {
        path: path.to_owned(),
        diff: short_diff(&current, contents, path),
    })
}

/// The files besides the clients that `generate` writes for these systems: their operation
/// indexes, the command line's operation tables, and the README's provenance table (which counts every spec, whichever systems are
/// being generated).
pub fn build_generated(root: &Path, systems: &[System]) -> Result<Vec<Generated>, Vec<Problem>> {
    let registry = systems::registry(root).map_err(|p| vec![p])?;
    let every = systems::of(&registry);
    let mut generated = index::build_indexes(root, systems)?;
    generated.extend(cli_tables::build_tables(root, systems)?);
    generated.extend(registry_files::build(&registry));
    generated.extend(registry_files::regions(root, &registry)?);
    generated.push(provenance_readme(root, &every)?);
    generated.push(figure_readme(root, &every)?);
    Ok(generated)
}

/// Everything `cargo xtask generate` would change for these systems (their clients, their
/// operation indexes and the README's provenance table), or the problems that stop it.
pub fn stale_everything(root: &Path, systems: &[System]) -> Result<Vec<Stale>, Vec<Problem>> {
    let outputs = build_all(root, systems)?;
    let generated = build_generated(root, systems)?;
    let orphans = find_orphans(root)?;
    let mut stale = stale_files(root, &outputs);
    stale.extend(stale_generated(root, &generated));
    stale.extend(stale_orphans(&orphans));
    Ok(stale)
}

/// The generated crates whose `[[api]]` entry is gone (see [`orphans`]), which `generate`
/// deletes, or the problems that keep one from being deleted.
pub fn find_orphans(root: &Path) -> Result<Vec<orphans::Orphan>, Vec<Problem>> {
    let registry = systems::registry(root).map_err(|p| vec![p])?;
    orphans::find(root, &registry)
}

/// The orphaned generated crates as `--check` reports them: each is stale until deleted.
pub fn stale_orphans(orphans: &[orphans::Orphan]) -> Vec<Stale> {
    orphans
        .iter()
        .map(|orphan| Stale {
            path: orphan.dir.clone(),
            diff: format!("{}; `cargo xtask generate` deletes it\n", orphan.reason()),
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

/// Writing the generated files failed; nothing was changed unless `renamed` lists files.
#[derive(Debug)]
pub struct WriteError {
    /// The file, relative to the root, that could not be written.
    pub path: String,
    /// Files already replaced when the failure happened (only if a rename failed midway).
    pub renamed: Vec<String>,
    /// Why.
    pub source: std::io::Error,
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot write {}: {}; ", self.path, self.source)?;
        if self.renamed.is_empty() {
            write!(f, "no generated file was changed")?;
        } else {
            write!(f, "{} had already been replaced", self.renamed.join(", "))?;
        }
        write!(
            f,
            "; fix the cause (permissions, disk space) and run `cargo xtask generate` again"
        )
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Writes every stale client, all or nothing (see [`write_all`]). Returns the paths written.
pub fn write_outputs(root: &Path, outputs: &[Output]) -> Result<Vec<String>, WriteError> {
    write_all(root, outputs, &[])
}

/// Writes every stale generated file other than a client, all or nothing (see [`write_all`]).
pub fn write_generated(root: &Path, generated: &[Generated]) -> Result<Vec<String>, WriteError> {
    write_all(root, &[], generated)
}

/// Writes every stale file of a generation (clients, operation indexes, the README's table),
/// all or nothing as far as the file system allows: every new file is first written whole to a
/// temporary file beside its target, and only when all of them are written are they renamed
/// over their targets (a rename within a directory is atomic). A failure removes every
/// temporary file and names the file it happened on. Returns the paths written.
pub fn write_all(
    root: &Path,
    outputs: &[Output],
    generated: &[Generated],
) -> Result<Vec<String>, WriteError> {
    let pending: Vec<(&str, &str)> = outputs
        .iter()
        .map(|o| (o.system.output, o.contents.as_str()))
        .chain(
            generated
                .iter()
                .map(|g| (g.path.as_str(), g.contents.as_str())),
        )
        .filter(|(path, contents)| stale(root, path, contents).is_some())
        .collect();
    let mut temps: Vec<(PathBuf, PathBuf, &str)> = Vec::new();
    let fail = |temps: &[(PathBuf, PathBuf, &str)], path: &str, renamed, source| {
        for (tmp, _, _) in temps {
            let _ = std::fs::remove_file(tmp);
        }
        WriteError {
            path: path.to_owned(),
            renamed,
            source,
        }
    };
    for (path, contents) in pending {
        let target = root.join(path);
        let mut tmp = target.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let written = target
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&tmp, contents));
        // A temporary file half-written before a failure is removed with the others.
        temps.push((tmp, target, path));
        if let Err(e) = written {
            return Err(fail(&temps, path, Vec::new(), e));
        }
    }
    let mut renamed = Vec::new();
    for (i, (tmp, target, path)) in temps.iter().enumerate() {
        if let Err(e) = std::fs::rename(tmp, target) {
            return Err(fail(&temps[i..], path, renamed, e));
        }
        renamed.push((*path).to_owned());
    }
    Ok(renamed)
}
