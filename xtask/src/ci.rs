//! `cargo xtask test`: installs what the tests need and runs every check CI runs, in order,
//! stopping at the first failure. `.ci/run` is exactly this command.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

/// The npm tools (Redocly, Prism) live here, pinned by its package-lock.json.
const NODE_TOOLS: &str = "tests/node";

/// The facade's features besides the systems' (which the registry, `specs/systems.toml`, lists),
/// each checked on its own: the default-on extras a small app may leave out (so each is checked
/// off, too), the Redis store and OpenTelemetry. `aws-lc-rs` is left out: its C build would
/// double the step's time.
const FACADE_EXTRAS: [&str; 4] = ["file-store", "http2", "redis", "otel"];

/// The tests crate's `otel` feature (its telemetry test, benchmark and example), turned on in
/// the workspace's lint and test runs themselves: the command-line crate already builds the
/// facade with `otel`, so the workspace is compiled once with it, and a separate run with the
/// feature would build the generated clients again with another feature set (about 100 s of a
/// clean clone's CI). `cargo bench -p cxkit-tests --bench facade` alone still measures a facade
/// built without it.
const TESTS_OTEL: &str = "cxkit-tests/otel";

/// The feature set whose build time the README states (a Proto-only app), whose unit tests run
/// on their own: the file store and HTTP/2 are off there.
const LEAN_FEATURES: &str = "proto";

/// Runs every step; returns an error naming the step that failed.
pub fn run(root: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    let registry = xtask::systems::registry(root).map_err(|p| anyhow::anyhow!("{p}"))?;
    let systems = xtask::systems::of(&registry);
    // One feature per system, in the facade and in the test kit (the same names).
    let system_features = registry.features();
    ensure_debian_package(root, "npm", "nodejs npm")?;
    // The Redis token store's tests run a real `redis-server` on a loopback port.
    ensure_debian_package(root, "redis-server", "redis-server")?;
    step(
        root,
        "install the test tools (npm ci)",
        "npm",
        &[
            "ci",
            "--prefix",
            NODE_TOOLS,
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ],
    )?;
    step(root, "format", "cargo", &["fmt", "--all", "--check"])?;
    // Also part of the freshness step below (generation refuses a spec its ledger disagrees
    // with); run first and on its own so that a disagreement is reported as what it is.
    timed(
        "the ledgers agree with the specs (provenance --check)",
        || {
            let problems = xtask::check_provenance(root, &systems);
            if !problems.is_empty() {
                bail!(
                    "{}\n{} provenance problem(s); fix the spec or its ledger, or record the deviation",
                    problems
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("\n"),
                    problems.len()
                );
            }
            Ok(())
        },
    )?;
    timed("generated clients are fresh", || {
        let stale = xtask::stale_everything(root, &systems).map_err(|problems| {
            anyhow::anyhow!(
                problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })?;
        if !stale.is_empty() {
            for s in &stale {
                eprintln!("stale: {}\n{}", s.path, s.diff);
            }
            bail!(
                "generated files differ from their specs; run `cargo xtask generate` and commit the result"
            );
        }
        Ok(())
    })?;
    step(
        root,
        "lint (clippy)",
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--features",
            TESTS_OTEL,
            "--",
            "-D",
            "warnings",
        ],
    )?;
    // Each feature of the facade alone (what a one-system app compiles; the default-on extras
    // are checked off too), and each system feature of the test kit alone (what that app
    // compiles for its tests). Cheap after the workspace lint: only these two crates are linted
    // again.
    let single_features = system_features
        .iter()
        .chain(&FACADE_EXTRAS)
        .map(|f| ("cxkit", *f))
        .chain(system_features.iter().map(|f| ("cxkit-testkit", *f)));
    for (package, feature) in single_features {
        step(
            root,
            &format!("lint {package} with only `{feature}`"),
            "cargo",
            &[
                "clippy",
                "-p",
                package,
                "--no-default-features",
                "--features",
                feature,
                "--",
                "-D",
                "warnings",
            ],
        )?;
    }
    let redocly = Path::new(NODE_TOOLS).join("node_modules/.bin/redocly");
    let mut lint_args = vec!["lint".to_owned()];
    lint_args.extend(systems.iter().map(|s| s.spec.to_owned()));
    let lint_args: Vec<&str> = lint_args.iter().map(String::as_str).collect();
    step(
        root,
        "validate the specs (redocly lint)",
        redocly.to_str().unwrap_or_default(),
        &lint_args,
    )?;
    step(
        root,
        "tests",
        "cargo",
        &[
            "test",
            "--workspace",
            "--all-targets",
            "--features",
            TESTS_OTEL,
        ],
    )?;
    step(
        root,
        &format!("the facade's unit tests with only `{LEAN_FEATURES}`"),
        "cargo",
        &[
            "test",
            "-p",
            "cxkit",
            "--no-default-features",
            "--features",
            LEAN_FEATURES,
            "--lib",
        ],
    )?;
    step(
        root,
        "doc tests",
        "cargo",
        &["test", "--workspace", "--doc"],
    )?;
    downstream(root)?;
    println!("\nall checks passed in {:.0?}", started.elapsed());
    Ok(())
}

fn timed(name: &str, f: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<()> {
    println!("\n==> {name}");
    let t = Instant::now();
    f().with_context(|| format!("step failed: {name}"))?;
    println!("==> {name}: ok in {:.1?}", t.elapsed());
    Ok(())
}

fn step(root: &Path, name: &str, program: &str, args: &[&str]) -> anyhow::Result<()> {
    timed(name, || {
        let status = Command::new(program)
            .args(args)
            .current_dir(root)
            // Tests that need the npm tools fail instead of skipping when this is set.
            .env("CXKIT_REQUIRE_TOOLS", "1")
            .env("REDOCLY_TELEMETRY", "off")
            .env("NO_UPDATE_NOTIFIER", "1")
            .status()
            .with_context(|| format!("cannot run `{program}`"))?;
        if !status.success() {
            bail!("`{program} {}` exited with {status}", args.join(" "));
        }
        Ok(())
    })
}

/// Installs Debian's `packages` when `program` is missing (Node.js and npm are on every machine
/// image here; `redis-server` is not): directly as root, through `sudo` otherwise, and if neither
/// can, says how.
pub(crate) fn ensure_debian_package(
    root: &Path,
    program: &str,
    packages: &str,
) -> anyhow::Result<()> {
    let found = Command::new(program)
        .arg("--version")
        .current_dir(root)
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Ok(());
    }
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    let sudo = Command::new("sudo")
        .args(["-n", "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    let install = format!(
        "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq {packages}"
    );
    let (shell, args): (&str, Vec<&str>) = if is_root {
        ("sh", vec!["-c", &install])
    } else if sudo {
        ("sudo", vec!["-n", "sh", "-c", &install])
    } else {
        bail!(
            "`{program}` is not installed; install it (`sudo apt-get install {packages}`) and run again"
        );
    };
    step(root, &format!("install {packages} (apt-get)"), shell, &args)
}

/// The application outside the workspace (`tests/downstream`), which uses only what cxkit and
/// cxkit-testkit publish. It builds with a copy of the workspace's lock (so with the versions
/// cxkit is tested with, and without a resolution of its own) into the workspace's target
/// directory (so the dependencies it shares with the workspace are not compiled again).
fn downstream(root: &Path) -> anyhow::Result<()> {
    const DIR: &str = "tests/downstream";
    std::fs::copy(root.join("Cargo.lock"), root.join(DIR).join("Cargo.lock"))
        .with_context(|| format!("cannot copy Cargo.lock into {DIR}"))?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), std::path::PathBuf::from);
    timed(
        "an application outside the workspace (tests/downstream)",
        || {
            let status = Command::new("cargo")
                .args(["test", "--manifest-path", &format!("{DIR}/Cargo.toml")])
                .current_dir(root)
                .env("CARGO_TARGET_DIR", target)
                .status()
                .context("cannot run `cargo`")?;
            if !status.success() {
                bail!("`cargo test --manifest-path {DIR}/Cargo.toml` exited with {status}");
            }
            Ok(())
        },
    )
}
