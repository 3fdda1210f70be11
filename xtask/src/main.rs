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
        /// Systems to generate (default: all): ejento-auth, ejento-platform, proto, platform28.
        systems: Vec<String>,
    },
    /// Print, per spec, how many operations a vendor page sources, how many only the seeds and
    /// notes, and how many are still (partly) inferred (the table `generate` writes into
    /// specs/README.md; definitions in xtask/src/provenance.rs).
    Provenance {
        /// Systems to count (default: all).
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
    Bench,
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
    let root = xtask::workspace_root();
    match cli.command {
        Command::Test => {
            ci::run(&root)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench => {
            bench::run(&root)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Provenance { systems } => {
            match xtask::tallies(&root, &systems::select(&systems)?) {
                Ok(tallies) => {
                    print!("{}", xtask::provenance::table(&tallies));
                    Ok(ExitCode::SUCCESS)
                }
                Err(problems) => Ok(report_problems(&problems, "provenance")),
            }
        }
        Command::Lint { systems } => {
            let problems = xtask::lint_all(&root, &systems::select(&systems)?);
            Ok(report_problems(&problems, "lint"))
        }
        Command::Generate { check, systems } => {
            let selected = systems::select(&systems)?;
            let started = Instant::now();
            let outputs = match xtask::build_all(&root, &selected) {
                Ok(outputs) => outputs,
                Err(problems) => return Ok(report_problems(&problems, "generate")),
            };
            // The README's table counts every spec, whichever systems are being generated.
            let readme = match xtask::provenance_readme(&root, systems::SYSTEMS) {
                Ok(readme) => readme,
                Err(problems) => return Ok(report_problems(&problems, "generate")),
            };
            if check {
                let mut stale = xtask::stale_files(&root, &outputs);
                stale.extend(xtask::stale_generated(&root, &[readme]));
                if stale.is_empty() {
                    println!(
                        "{} generated file(s) and {} are up to date",
                        outputs.len(),
                        xtask::README
                    );
                    return Ok(ExitCode::SUCCESS);
                }
                for s in &stale {
                    eprintln!("stale: {}\n{}", s.path, s.diff);
                }
                eprintln!(
                    "{} generated file(s) differ from their specs; run `cargo xtask generate` and commit the result",
                    stale.len()
                );
                return Ok(ExitCode::FAILURE);
            }
            let mut written = xtask::write_outputs(&root, &outputs)?;
            written.extend(xtask::write_generated(&root, &[readme])?);
            for path in &written {
                println!("wrote {path}");
            }
            println!(
                "generated {} client(s), {} changed, in {} ms",
                outputs.len(),
                written.len(),
                started.elapsed().as_millis()
            );
            Ok(ExitCode::SUCCESS)
        }
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
