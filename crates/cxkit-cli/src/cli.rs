//! The command tree. The operation commands are built from the generated tables at run time
//! (clap's builder API), so every operation of every spec is a command with its own `--help`.

use clap::{Arg, ArgAction, Command, value_parser};

use crate::failure::EXIT_CODES;
use crate::table::{Operation, StaticLogin, System};

/// Options every command takes.
pub const RESERVED: [&str; 6] = [
    "body",
    "json",
    "profile",
    "help",
    "trace",
    ALLOW_INLINE_SECRETS,
];

/// The flag that lets a secret be given inline on the command line (where `ps` and the shell's
/// history show it).
pub const ALLOW_INLINE_SECRETS: &str = "allow-inline-secrets";

/// The whole command line.
pub fn command() -> Command {
    let mut systems = Vec::new();
    for system in System::ALL {
        systems.push(system_command(system));
    }
    Command::new("cxkit")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Log in to Ejento, Proto AICX and Platform28, and call every operation of their APIs")
        .long_about(format!(
            "Log in to Ejento, Proto AICX and Platform28, and call every operation of their APIs.\n\n\
             Systems (the registry's, specs/systems.toml):\n{}\n\n\
             `cxkit <system> operations` lists a system's operations; \
             `cxkit <system> <operation> --help` shows one.\n\n\
             Answers are JSON on stdout: pretty on a terminal, compact with --json or when piped. \
             Errors are one line on stderr. Sessions and credentials are kept in the configuration \
             directory (CXKIT_CONFIG_DIR, or the OS configuration directory's `cxkit`), in files \
             only the user can read.",
            System::ALL
                .iter()
                .map(|system| format!("  {:<16} {}", system.name(), system.about()))
                .collect::<Vec<_>>()
                .join("\n")
        ))
        .after_help(EXIT_CODES)
        .subcommand_required(true)
        .arg_required_else_help(true)
        .arg(
            Arg::new("profile")
                .long("profile")
                .global(true)
                .env("CXKIT_PROFILE")
                .value_name("NAME")
                .default_value(crate::config::DEFAULT_PROFILE)
                .help("The named profile: its own logins, base URLs and tokens"),
        )
        .arg(
            Arg::new("json")
                .long("json")
                .global(true)
                .action(ArgAction::SetTrue)
                .help("Compact JSON on stdout (the default when stdout is not a terminal)"),
        )
        .arg(
            Arg::new(ALLOW_INLINE_SECRETS)
                .long(ALLOW_INLINE_SECRETS)
                .global(true)
                .action(ArgAction::SetTrue)
                .help(
                    "Accept secrets (password fields in --body, secret parameters such as \
                     --session-id) inline on the command line, where `ps` and the shell's \
                     history show them; without it they must come from @FILE, stdin or the \
                     environment",
                ),
        )
        .arg(
            Arg::new("trace")
                .long("trace")
                .global(true)
                .action(ArgAction::SetTrue)
                .help(
                    "Show the call's OpenTelemetry spans on stderr as they end (operation, \
                     attempts, token refresh, stream), without secrets",
                ),
        )
        .subcommand(login())
        .subcommand(
            Command::new("logout")
                .about("Forget the profile's sessions and stored credentials")
                .arg(
                    Arg::new("system")
                        .value_parser(System::ALL.map(System::name))
                        .help("Only this system (default: all)"),
                ),
        )
        .subcommand(
            Command::new("whoami")
                .about("Show the profile's logins (refreshing the Ejento session if it is due)"),
        )
        .subcommands(systems)
        .subcommand(
            Command::new("completions")
                .about("Print a shell completion script")
                .arg(
                    Arg::new("shell")
                        .required(true)
                        .value_parser(value_parser!(clap_complete::Shell)),
                ),
        )
}

fn login() -> Command {
    let statics = System::ALL.into_iter().filter_map(|system| {
        system
            .static_login()
            .map(|login| static_login(system, login))
    });
    Command::new("login")
        .about("Log in to a system and keep its session or credentials for later commands")
        .subcommand_required(true)
        .subcommand(
            Command::new("ejento")
                .about("Log in to Ejento with a password (CXKIT_PASSWORD or a prompt) or an emailed code")
                .arg(url_arg("base-url", "The gateway, e.g. https://idejento.example.com").required(true))
                .arg(
                    Arg::new("username")
                        .long("username")
                        .required(true)
                        .value_name("NAME")
                        .help("The user name (email)"),
                )
                .arg(
                    Arg::new("code")
                        .long("code")
                        .action(ArgAction::SetTrue)
                        .help("Log in with a code emailed to the user (CXKIT_CODE or a prompt)"),
                )
                .arg(url_arg("users-base-url", "The older guide's users API host (no default: the users commands need it)"))
                .arg(url_arg("indexing-base-url", "The indexing service, when uploads go elsewhere")),
        )
        .subcommands(statics)
        .subcommand(
            Command::new("platform28")
                .about(
                    "Keep a Platform28 API key (--api-key: CXKIT_PLATFORM28_API_KEY or a prompt) \
                     and/or log in as a user (--username: CXKIT_PASSWORD or a prompt)",
                )
                .arg(url_arg("base-url", "The API's base URL").required(true))
                .arg(Arg::new("username").long("username").value_name("NAME").help("Log in as this user"))
                .arg(
                    Arg::new("api-key")
                        .long("api-key")
                        .action(ArgAction::SetTrue)
                        .help("Keep an API key, to act as the integrated system"),
                )
                .arg(Arg::new("api-key-param").long("api-key-param").value_name("NAME"))
                .arg(Arg::new("lsid-param").long("lsid-param").value_name("NAME")),
        )
}

/// `cxkit login <system>` for a system with a static login: `--base-url` and one required
/// option per id.
fn static_login(system: System, login: &'static StaticLogin) -> Command {
    let mut cmd = Command::new(system.name())
        .about(format!("{} ({} or a prompt)", login.about, login.env))
        .arg(url_arg(
            "base-url",
            format!("{} (default {})", login.base_help, login.default_base_url),
        ));
    for (id, _) in login.ids {
        let flag = id.replace('_', "-");
        cmd = cmd.arg(
            Arg::new(flag.clone())
                .long(flag)
                .required(true)
                .value_name("ID"),
        );
    }
    cmd
}

fn url_arg(name: &'static str, help: impl Into<clap::builder::StyledStr>) -> Arg {
    Arg::new(name)
        .long(name)
        .value_name("URL")
        .help(help.into())
}

fn system_command(system: System) -> Command {
    let mut cmd = Command::new(system.name())
        .about(system.about())
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(Command::new("operations").about("List the operations of this system"));
    if system == System::Ejento {
        cmd = cmd
            .subcommand(
                Command::new("ask")
                    .about("Ask an agent and print its answer as it streams")
                    .arg(
                        Arg::new("agent")
                            .long("agent")
                            .required(true)
                            .value_name("ID")
                            .value_parser(value_parser!(i64)),
                    )
                    .arg(
                        Arg::new("thread")
                            .long("thread")
                            .value_name("ID")
                            .value_parser(value_parser!(i64))
                            .help("Continue this chat thread"),
                    )
                    .arg(
                        Arg::new("deep-agent")
                            .long("deep-agent")
                            .action(ArgAction::SetTrue)
                            .help(
                                "Ask as a deep agent (overrides.use_reasoning_middleware): it \
                                 plans, writes files and streams its answer as model_stream",
                            ),
                    )
                    .arg(Arg::new("question").required(true)),
            )
            .subcommand(
                Command::new("upload")
                    .about("Upload a document to a corpus, showing progress")
                    .arg(
                        Arg::new("corpus")
                            .long("corpus")
                            .required(true)
                            .value_name("ID")
                            .value_parser(value_parser!(i64)),
                    )
                    .arg(
                        Arg::new("tags")
                            .long("tags")
                            .value_name("TAGS")
                            .help("Comma-separated tags"),
                    )
                    .arg(
                        Arg::new("file")
                            .required(true)
                            .value_parser(value_parser!(std::path::PathBuf)),
                    ),
            );
    }
    for (_, op) in system.operations() {
        cmd = cmd.subcommand(operation_command(system, op));
    }
    cmd
}

/// The option an operation parameter gets: its name in kebab case (`--agent-id`), or
/// `--param-<name>` when that would be one of the global options.
pub fn option_name(param: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in param.chars() {
        if c.is_ascii_uppercase() {
            if prev_lower {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else if c == '_' || c == ' ' || c == '.' {
            out.push('-');
            prev_lower = false;
        } else {
            out.push(c);
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        }
    }
    let out = out.trim_matches('-').to_owned();
    if RESERVED.contains(&out.as_str()) {
        format!("param-{out}")
    } else {
        out
    }
}

fn operation_command(system: System, op: &'static Operation) -> Command {
    let mut long = format!(
        "{}\n\n{} {}\nSource: {}\nSourced: {}; inferred: {}",
        op.summary,
        op.method,
        op.path,
        op.provenance,
        if op.sourced { "yes" } else { "no (seed only)" },
        if op.inferred() { "yes" } else { "no" },
    );
    if let Some(server) = op.server {
        long.push_str(&format!("\nServer: {server}"));
    }
    if let Some(why) = op.handwritten {
        long.push_str(&format!("\nHand-written in the facade: {why}"));
    }
    if let Some(hint) = crate::exec::dedicated(system, op.id) {
        long.push_str(&format!("\nFrom the command line: {}", hint.text()));
    }
    if !op.params.is_empty() {
        long.push_str("\n\nParameters:");
        for p in op.params {
            long.push_str(&format!(
                "\n  --{} ({} {}, {})",
                option_name(p.name),
                p.location.as_str(),
                p.kind,
                if from_login(system, p.name) {
                    "from the login unless given"
                } else if p.required {
                    "required"
                } else {
                    "optional"
                },
            ));
        }
    }
    if let Some(body) = op.body {
        long.push_str(&format!(
            "\n\nBody: {} ({}), given as --body JSON or --body @FILE (@- reads stdin)",
            body.content_type,
            if body.required {
                "required"
            } else {
                "optional"
            }
        ));
    }
    let mut cmd = Command::new(op.name).about(op.summary).long_about(long);
    let mut seen: Vec<String> = Vec::new();
    for p in op.params {
        let name = option_name(p.name);
        if seen.contains(&name) {
            continue;
        }
        seen.push(name.clone());
        let from_login = from_login(system, p.name);
        let mut help = format!("{} {}", p.location.as_str(), p.kind);
        if from_login {
            help.push_str(" (default: from the profile's login)");
        }
        if p.secret {
            help.push_str(&format!(
                " (a secret: give @FILE, @- for stdin, or set {}; inline values are refused)",
                crate::exec::secret_env(p.name)
            ));
        }
        if !p.description.is_empty() {
            help.push_str(": ");
            help.push_str(p.description);
        }
        let mut arg = Arg::new(name.clone())
            .long(name.clone())
            .value_name(p.name.to_uppercase())
            .required(p.required && !from_login)
            .help(help);
        if name != p.name && !RESERVED.contains(&p.name) {
            arg = arg.alias(p.name);
        }
        if p.kind.starts_with("array") {
            arg = arg.action(ArgAction::Append);
        }
        cmd = cmd.arg(arg);
    }
    if let Some(body) = op.body {
        cmd = cmd.arg(
            Arg::new("body")
                .long("body")
                .value_name("JSON|@FILE")
                .required(
                    body.required
                        && !crate::exec::dedicated(system, op.id).is_some_and(|d| d.refuses()),
                )
                .help(if body.secret_fields.is_empty() {
                    format!(
                        "The request body ({}): JSON text, @FILE, or @- for stdin",
                        body.content_type
                    )
                } else {
                    format!(
                        "The request body ({}): @FILE, or @- for stdin (it holds secrets: {}; \
                         inline JSON text with them is refused)",
                        body.content_type,
                        body.secret_fields.join(", ")
                    )
                }),
        );
    }
    cmd
}

/// Path parameters the profile's login fills unless given: a static login's ids (see
/// [`StaticLogin`]), and Platform28's own login session.
pub fn from_login(system: System, param: &str) -> bool {
    system
        .static_login()
        .is_some_and(|login| login.ids.iter().any(|(_, p)| *p == param))
        || (system == System::Platform28 && param == "sessionId")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_options_are_kebab_case_and_never_a_global_option() {
        assert_eq!(option_name("agent_id"), "agent-id");
        assert_eq!(option_name("sessionId"), "session-id");
        assert_eq!(option_name("X-Request-Id"), "x-request-id");
        assert_eq!(option_name("body"), "param-body");
        assert_eq!(option_name("profile"), "param-profile");
    }

    /// clap checks a command's definition when it is built in debug builds: duplicate or
    /// clashing options in any generated operation fail here.
    #[test]
    fn the_command_tree_is_valid() {
        command().debug_assert();
    }

    /// What `cxkit <system> <operation> --help` prints, for every operation of every system,
    /// rendered in-process (one `cxkit` process per operation would be hundreds): the summary,
    /// the request line, where it is sourced from and whether anything is inferred, and an
    /// option for every parameter. A command name two operations shared would show the other
    /// one's request line here.
    #[test]
    fn every_operation_has_a_long_help_naming_its_request_and_provenance() {
        let mut root = command();
        // Propagates the global options into every subcommand, as parsing does.
        root.build();
        let mut rendered = 0;
        for system in System::ALL {
            let parent = root
                .find_subcommand_mut(system.name())
                .expect("a command per system");
            for (_, op) in system.operations() {
                let cmd = parent
                    .find_subcommand_mut(op.name)
                    .unwrap_or_else(|| panic!("{} {}: no command", system.name(), op.name));
                let help = cmd.render_long_help().to_string();
                let at = format!("cxkit {} {}", system.name(), op.name);
                let mut needles = vec![
                    op.summary.to_owned(),
                    format!("\n{} {}\n", op.method, op.path),
                    format!("Source: {}", op.provenance),
                    format!(
                        "Sourced: {}; inferred: {}",
                        if op.sourced { "yes" } else { "no (seed only)" },
                        if op.inferred() { "yes" } else { "no" }
                    ),
                    format!("Usage: {at}"),
                    "--profile <NAME>".to_owned(),
                    "--json".to_owned(),
                ];
                needles.extend(
                    op.params
                        .iter()
                        .map(|p| format!("--{}", option_name(p.name))),
                );
                if op.body.is_some() {
                    needles.push("--body <JSON|@FILE>".to_owned());
                }
                for needle in &needles {
                    assert!(help.contains(needle.as_str()), "{at}: {needle}\n{help}");
                }
                rendered += 1;
            }
        }
        // Both Ejento specs, Proto and Platform28.
        assert!(rendered > 300, "{rendered}");
    }
}
