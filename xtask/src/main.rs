//! `cargo xtask`: cxkit's developer commands.

use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use xtask::systems;

mod bench;
mod ci;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "cxkit's developer commands")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Lint the specs and (re)generate the client crates from them.
    Generate {
        /// Write nothing; fail if any generated file differs from what its spec gives.
        #[arg(long)]
        check: bool,
        /// Systems to generate (default: all; the names are in specs/systems.toml).
        systems: Vec<String>,
    },
    /// Report each client's API changes between the specs at a git revision and the working
    /// tree, each classified breaking or not (the semver policy in the README).
    Changes {
        /// The revision to compare with.
        #[arg(long, default_value = "HEAD")]
        since: String,
        /// Systems to compare (default: all).
        systems: Vec<String>,
    },
    /// Print, per spec, how many operations a vendor page sources, how many only the seeds and
    /// notes, how many are still (partly) inferred, and per fact kind how many are sourced (the
    /// table `generate` writes into specs/README.md; definitions in xtask/src/provenance.rs and
    /// xtask/src/facts.rs). With `--check`: check every ledger (specs/sources/*.tsv) against its
    /// spec instead, fact by fact, and fail on any disagreement the spec does not record.
    Provenance {
        /// Check the ledgers against the specs (also run by `generate --check`, `lint` and
        /// `cargo xtask test`).
        #[arg(long)]
        check: bool,
        /// Systems to count or check (default: all).
        systems: Vec<String>,
    },
    /// Lint the specs only.
    Lint {
        /// Systems to lint (default: all).
        systems: Vec<String>,
    },
    /// Install what the tests need (npm tools) and run every check CI runs.
    Test,
    /// Time generation, run the facade benchmarks (`cargo bench -p cxkit-tests --bench facade`)
    /// and print one table of the figures, each target marked met (✓) or missed (✗).
    Bench {
        /// Time generation only (the specs and the synthetic 500- and 2,000-operation specs);
        /// seconds, with no criterion run.
        #[arg(long, conflicts_with = "fresh_clone")]
        generation: bool,
        /// Time what a new user waits for instead: clone HEAD into a temporary directory and run
        /// the first `cargo xtask generate` there with an empty target directory and the crate
        /// registry as it is; the median of this many runs, each in a new clone (several
        /// minutes each on 2 cores).
        #[arg(long, value_name = "RUNS", num_args = 0..=1, default_missing_value = "1")]
        fresh_clone: Option<usize>,
        /// With `--fresh-clone`: then run `cargo xtask test` in the same clone and time it too
        /// (about ten minutes on 2 cores; needs what the test command needs).
        #[arg(long, requires = "fresh_clone")]
        with_test: bool,
    },
    /// Check a real deployment's read-only (GET) operations against the specs and write a report
    /// (`target/verify-live/<system>-<date>.json` and `.md`), or `--apply REPORT` to mark the ok
    /// operations `x-cxkit-verified: <date>` (then regenerate). Runs the `cxkit-live` crate, so
    /// that this binary never depends on the generated crates. Credentials come from the
    /// environment: see `cargo xtask verify-live --help` and the README.
    /// Run the token layer's fault soak longer than the test suite does (`cargo test -p
    /// cxkit-tests --test it soak::`): processes sharing a session through Redis and the file
    /// store while Redis restarts, lock holders are killed, reads fail, sessions log out and in
    /// and refreshes are refused; prints the faults, calls and violations counted.
    Soak {
        /// How long the faults go on, in seconds.
        #[arg(long, default_value_t = 120)]
        seconds: u64,
    },
    #[command(disable_help_flag = true)]
    VerifyLive {
        /// Passed to `cxkit-live`: `--system ejento --base-url URL [--spec FILE]...` or
        /// `--apply REPORT`; `--help` for all.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let root = xtask::workspace_root().map_err(anyhow::Error::msg)?;
    match cli.command {
        Command::Test => {
            ci::run(&root)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            generation,
            fresh_clone,
            with_test,
        } => {
            bench::run(
                &root,
                bench::Options {
                    generation_only: generation,
                    fresh_clone_runs: fresh_clone,
                    with_test,
                },
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::VerifyLive { args } => verify_live(&root, &args),
        Command::Soak { seconds } => soak(&root, seconds),
        Command::Changes { since, systems } => {
            let reports = xtask::changes::since(&root, &since, &systems::select(&root, &systems)?)?;
            print!("{}", xtask::changes::render(&reports, &since));
            Ok(ExitCode::SUCCESS)
        }
        Command::Provenance {
            check: true,
            systems,
        } => {
            let problems = xtask::check_provenance(&root, &systems::select(&root, &systems)?);
            Ok(report_problems(&problems, "provenance --check"))
        }
        Command::Provenance {
            check: false,
            systems,
        } => match xtask::tallies(&root, &systems::select(&root, &systems)?) {
            Ok(tallies) => {
                print!("{}", xtask::provenance::table(&tallies));
                Ok(ExitCode::SUCCESS)
            }
            Err(problems) => Ok(report_problems(&problems, "provenance")),
        },
        Command::Lint { systems } => {
            let problems = xtask::lint_all(&root, &systems::select(&root, &systems)?);
            Ok(report_problems(&problems, "lint"))
        }
        Command::Generate { check, systems } => {
            let selected = systems::select(&root, &systems)?;
            let started = Instant::now();
            let outputs = match xtask::build_all(&root, &selected) {
                Ok(outputs) => outputs,
                Err(problems) => return Ok(report_problems(&problems, "generate")),
            };
            let generated = match xtask::build_generated(&root, &selected) {
                Ok(generated) => generated,
                Err(problems) => return Ok(report_problems(&problems, "generate")),
            };
            // The crates of systems removed from the registry, deleted after the rest is
            // written (a file in one that `generate` did not write stops it here).
            let orphans = match xtask::find_orphans(&root) {
                Ok(orphans) => orphans,
                Err(problems) => return Ok(report_problems(&problems, "generate")),
            };
            if check {
                let mut stale = xtask::stale_files(&root, &outputs);
                stale.extend(xtask::stale_generated(&root, &generated));
                stale.extend(xtask::stale_orphans(&orphans));
                if stale.is_empty() {
                    println!(
                        "{} generated file(s) are up to date",
                        outputs.len() + generated.len()
                    );
                    return Ok(ExitCode::SUCCESS);
                }
                for s in &stale {
                    eprintln!("stale: {}\n{}", s.path, s.diff);
                }
                eprintln!(
                    "{} generated file(s) or crate(s) differ from their specs and the registry; run `cargo xtask generate` and commit the result",
                    stale.len()
                );
                return Ok(ExitCode::FAILURE);
            }
            let written = xtask::write_all(&root, &outputs, &generated)?;
            for path in &written {
                println!("wrote {path}");
            }
            let removed = xtask::orphans::remove(&root, &orphans).map_err(anyhow::Error::msg)?;
            for orphan in &orphans {
                println!("deleted {}", orphan.reason());
            }
            print_api_changes(&root, &outputs, &written);
            println!(
                "generated {} client(s), {} file(s) changed{}, in {} ms",
                outputs.len(),
                written.len(),
                match removed.len() {
                    0 => String::new(),
                    n => format!(", {n} crate(s) deleted"),
                },
                started.elapsed().as_millis()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Runs the fault soak test with a longer run (`CXKIT_SOAK_SECONDS`), showing its counts.
fn soak(root: &std::path::Path, seconds: u64) -> anyhow::Result<ExitCode> {
    ci::ensure_debian_package(root, "redis-server", "redis-server")?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(cargo)
        .current_dir(root)
        .env("CXKIT_SOAK_SECONDS", seconds.to_string())
        .args([
            "test",
            "--package",
            "cxkit-tests",
            "--test",
            "it",
            "--",
            "--exact",
            "soak::fault_soak",
            "--nocapture",
        ])
        .status()
        .map_err(|e| anyhow::anyhow!("could not run the soak (`cargo test`): {e}"))?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Runs the live check as its own crate (`cargo run -p cxkit-live`). After an `--apply`, the
/// spec files changed, so the generated files' spec hashes are refreshed by regenerating.
fn verify_live(root: &std::path::Path, args: &[String]) -> anyhow::Result<ExitCode> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(cargo)
        .current_dir(root)
        .args(["run", "--quiet", "--package", "cxkit-live", "--"])
        .args(args)
        .status()
        .map_err(|e| anyhow::anyhow!("could not run `cargo run -p cxkit-live`: {e}"))?;
    if !status.success() {
        return Ok(ExitCode::from(
            u8::try_from(status.code().unwrap_or(1)).unwrap_or(1),
        ));
    }
    if args
        .iter()
        .any(|a| a == "--apply" || a.starts_with("--apply="))
    {
        let all = systems::select(root, &[])?;
        let (outputs, generated) = match xtask::build_all(root, &all)
            .and_then(|outputs| Ok((outputs, xtask::build_generated(root, &all)?)))
        {
            Ok(built) => built,
            Err(problems) => return Ok(report_problems(&problems, "generate")),
        };
        for path in xtask::write_all(root, &outputs, &generated)? {
            println!("wrote {path}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// For every client just rewritten: its API changes against the spec at HEAD, so a
/// regeneration says what it did to users before it is committed. A failure here (no git)
/// only skips the summary; the files are written already.
fn print_api_changes(root: &std::path::Path, outputs: &[xtask::Output], written: &[String]) {
    let changed: Vec<systems::System> = outputs
        .iter()
        .map(|o| o.system)
        .filter(|s| written.iter().any(|w| w == s.output))
        .collect();
    if changed.is_empty() {
        return;
    }
    match xtask::changes::since(root, "HEAD", &changed) {
        Ok(reports) => {
            println!("API changes of the regenerated clients (`cargo xtask changes` for all):");
            print!("{}", xtask::changes::render(&reports, "HEAD"));
        }
        Err(e) => eprintln!("(no API change summary: {e:#})"),
    }
}

fn report_problems(problems: &[xtask::spec::Problem], what: &str) -> ExitCode {
    if problems.is_empty() {
        println!("{what}: no problems");
        return ExitCode::SUCCESS;
    }
    for p in problems {
        eprintln!("{p}");
    }
    eprintln!(
        "{what}: {} problem(s); no generated file was changed",
        problems.len()
    );
    ExitCode::FAILURE
}
