//! `cxkit-live`: the binary `cargo xtask verify-live` runs. See the library docs and the
//! README's "Checking a live deployment" section.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use cxkit_live::{CheckConfig, Outcome, Report, System};

/// Checks the read-only operations of a real deployment against the specs, or applies a report.
#[derive(Parser, Debug)]
#[command(
    name = "cargo xtask verify-live",
    bin_name = "cargo xtask verify-live",
    after_help = "Credentials (environment, never printed):\n  \
        EJENTO_ACCESS_TOKEN        the Ejento (platform) access token; a leading `Bearer ` is dropped\n  \
        EJENTO_AUTH_APP_TOKEN      optional: the Authentication App token, for auth-service GETs\n  \
        EJENTO_USERNAME, EJENTO_PASSWORD   instead of a token: log in with a password on --base-url\n  \
        EJENTO_SUBSCRIPTION_KEY    the gateway's Ocp-Apim-Subscription-Key, if it needs one\n  \
        PROTO_TOKEN                Proto: a personal access token (X-SINITIC-TOKEN); give --param company_id=.. --param bot_id=..\n\n\
        Exit status: 0 when nothing deviates, 2 when a route is missing or a body does not decode."
)]
struct Cli {
    /// The system to check: `ejento`, `proto`, or a registry system whose credentials all have
    /// a `live_env` variable (`proto-platform`, `proto-messaging`).
    #[arg(long, required_unless_present = "apply")]
    system: Option<String>,
    /// The deployment's base URL (https; plain http only to loopback).
    #[arg(long, required_unless_present = "apply")]
    base_url: Option<String>,
    /// Check these spec files instead of the system's (repeatable; relative to the workspace).
    #[arg(long = "spec")]
    specs: Vec<PathBuf>,
    /// A path parameter value no list answer provides, e.g. `--param company_id=acme` for Proto
    /// (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// Where the report goes (relative to the workspace).
    #[arg(long, default_value = "target/verify-live")]
    out: PathBuf,
    /// The workspace root (default: the current directory).
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Instead of checking: mark the `ok` operations of this report `x-cxkit-verified: <date>`
    /// in their spec files.
    #[arg(long, value_name = "REPORT")]
    apply: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Some(report_path) = &cli.apply {
        let text = std::fs::read_to_string(report_path)
            .with_context(|| format!("reading {}", report_path.display()))?;
        let report: Report = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a verify-live report", report_path.display()))?;
        let applied = cxkit_live::apply(&cli.root, &report)?;
        for op in &applied.marked {
            println!("verified: {op}");
        }
        for op in &applied.not_found {
            eprintln!("not found (the spec changed since the check?): {op}");
        }
        println!(
            "marked {} operation(s) `x-cxkit-verified: '{}'`",
            applied.marked.len(),
            report.date
        );
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(system), Some(base_url)) = (cli.system, cli.base_url) else {
        anyhow::bail!("give --system and --base-url, or --apply REPORT");
    };
    let system = System::parse_in(&cli.root, &system)?;
    cxkit_live::wire::checked_url(&base_url)?;
    let credentials = match system {
        System::Ejento => cxkit_live::ejento_credentials_from_env(&base_url).await?,
        System::Proto => cxkit_live::proto_credentials_from_env()?,
        System::Registry(name) => {
            cxkit_live::registry_credentials(&cli.root, name, |v| std::env::var(v).ok())?
        }
        _ => anyhow::bail!("no credentials source for {}", system.name()),
    };
    let mut params = std::collections::BTreeMap::new();
    for pair in &cli.params {
        let (name, value) = pair
            .split_once('=')
            .with_context(|| format!("`--param {pair}`: write NAME=VALUE"))?;
        params.insert(name.trim().to_owned(), value.to_owned());
    }
    let date = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let report = cxkit_live::check(CheckConfig {
        system,
        base_url,
        specs: cli.specs,
        root: cli.root.clone(),
        credentials,
        date: date.clone(),
        params,
    })
    .await?;
    let dir = cli.root.join(&cli.out);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let stem = format!("{}-{date}", system.name());
    let json_path = dir.join(format!("{stem}.json"));
    let md_path = dir.join(format!("{stem}.md"));
    std::fs::write(&json_path, serde_json::to_string_pretty(&report)?)?;
    std::fs::write(&md_path, report.markdown())?;
    for (outcome, n) in report.counts() {
        println!("{outcome:?}: {n}");
    }
    println!("report: {} and {}", json_path.display(), md_path.display());
    let failed = report
        .operations
        .iter()
        .any(|op| matches!(op.outcome, Outcome::RouteNotFound | Outcome::DecodeMismatch));
    Ok(if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
