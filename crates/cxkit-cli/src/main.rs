//! `cxkit`: the command line of the cxkit SDK. See `cxkit --help` and the README's "Command
//! line" section.

mod cli;
mod commands;
mod config;
mod exec;
mod failure;
mod long;
mod output;
mod session;
mod table;
mod trace;

use std::process::ExitCode;

use clap::ArgMatches;

use crate::config::State;
use crate::failure::{Exit, Failure};
use crate::output::Output;
use crate::table::System;

fn main() -> ExitCode {
    let matches = match cli::command().try_get_matches() {
        Ok(matches) => matches,
        Err(e) => return usage_error(&e),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(&Failure::other(format!("cannot start the runtime: {e}"))),
    };
    // Ctrl-C drops the command's future, which cancels its request (and a stream or upload in
    // flight) and releases any token-store lock it held; then the process exits 130.
    let result = runtime.block_on(async {
        tokio::select! {
            result = run(&matches) => result,
            _ = tokio::signal::ctrl_c() => Err(Failure::interrupted()),
        }
    });
    // A prompt still blocked on the terminal must not hold the exit up.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => fail(&failure),
    }
}

/// Help and version go to stdout as clap prints them; a usage error becomes one line on stderr
/// (clap's explanation, without its usage block), exit 2.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
    }
    let text = e.render().to_string();
    let text = text.split("\n\nUsage:").next().unwrap_or_default();
    let text = text
        .split("\n\nFor more information")
        .next()
        .unwrap_or_default();
    let text = text.trim().trim_start_matches("error:").trim();
    fail(&Failure::usage(format!("{text} (see --help)")))
}

fn fail(failure: &Failure) -> ExitCode {
    eprintln!("{}", failure.line());
    ExitCode::from(failure.exit as u8)
}

async fn run(matches: &ArgMatches) -> Result<(), Failure> {
    let profile = matches
        .get_one::<String>("profile")
        .map_or(config::DEFAULT_PROFILE, String::as_str);
    let json = matches.get_flag("json");
    let out = Output::new(json);
    let Some((name, args)) = matches.subcommand() else {
        return Err(Failure::usage("no command; see `cxkit --help`"));
    };
    if name == "completions" {
        let shell = *args
            .get_one::<clap_complete::Shell>("shell")
            .ok_or_else(|| Failure::usage("name a shell: bash, zsh, fish, elvish or powershell"))?;
        // Generated into memory first: clap_complete panics when it cannot write, and a script
        // piped into `head` must end with a failure line, not a panic.
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut cli::command(), "cxkit", &mut script);
        return out.bytes(&script);
    }
    let mut state = State::open(profile)?;
    // Kept until the command ends: each span is printed as it ends.
    let _trace = if matches.get_flag("trace") {
        Some(trace::install(&mut state)?)
    } else {
        None
    };
    match name {
        "login" => {
            let (system, args) = args
                .subcommand()
                .ok_or_else(|| Failure::usage("name a system: ejento, proto or platform28"))?;
            commands::login(&mut state, &out, system, args).await
        }
        "logout" => {
            let only = args.get_one::<String>("system").map(String::as_str);
            commands::logout(&state, &out, only).await
        }
        "whoami" => commands::whoami(&state, &out).await,
        system => {
            let system = System::from_name(system)
                .ok_or_else(|| Failure::usage(format!("unknown command `{system}`")))?;
            let (op_name, args) = args.subcommand().ok_or_else(|| {
                Failure::usage("name an operation; see `cxkit <system> operations`")
            })?;
            match (system, op_name) {
                (_, "operations") => exec::list(system, &out, json),
                (System::Ejento, "ask") => {
                    let agent = *args.get_one::<i64>("agent").unwrap_or(&0);
                    let thread = args.get_one::<i64>("thread").copied();
                    let question = args
                        .get_one::<String>("question")
                        .cloned()
                        .unwrap_or_default();
                    let deep_agent = args.get_flag("deep-agent");
                    long::ask(&state, &out, agent, thread, deep_agent, &question).await
                }
                (System::Ejento, "upload") => {
                    let corpus = *args.get_one::<i64>("corpus").unwrap_or(&0);
                    let tags = args.get_one::<String>("tags").map(String::as_str);
                    let file = args
                        .get_one::<std::path::PathBuf>("file")
                        .ok_or_else(|| Failure::usage("name the file to upload"))?;
                    long::upload(&state, &out, corpus, tags, file).await
                }
                (system, op_name) => {
                    let (api, op) = system.find(op_name).ok_or_else(|| {
                        Failure::new(Exit::Usage, format!("unknown operation `{op_name}`"))
                    })?;
                    exec::run(&state, &out, system, api, op, args).await
                }
            }
        }
    }
}
