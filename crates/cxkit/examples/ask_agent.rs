//! Logs in to Ejento, creates a chat thread, asks an agent, and prints the streamed answer.
//!
//! ```sh
//! EJENTO_BASE_URL=https://idejento.onedigital.com EJENTO_USER=me@example.com \
//! EJENTO_PASSWORD=... cargo run -p cxkit --example ask_agent -- --agent-id 42 "What is our leave policy?"
//! ```
//!
//! Every setting is a flag or an environment variable; `--help` lists them. Tokens are kept in
//! `--token-dir` (0600 files), so a second run reuses the session instead of logging in again.

use std::io::Write as _;

use clap::Parser;
use cxkit::clients::ejento_platform::types::{AgentResponseRequest, ChatThreadCreate};
use cxkit::{Ejento, FileTokenStore, Secret, StreamEvent};
use futures::StreamExt as _;

#[derive(Parser)]
#[command(about = "Ask an Ejento agent and print the streamed answer")]
struct Args {
    /// The gateway serving both the auth-service and the platform.
    #[arg(long, env = "EJENTO_BASE_URL")]
    base_url: String,
    /// The auth-service's base URL, if it differs.
    #[arg(long, env = "EJENTO_AUTH_BASE_URL")]
    auth_base_url: Option<String>,
    /// The login email.
    #[arg(long, env = "EJENTO_USER")]
    user: String,
    /// The password (prefer the environment variable to keep it out of shell history).
    #[arg(long, env = "EJENTO_PASSWORD", hide_env_values = true)]
    password: String,
    /// The `Ocp-Apim-Subscription-Key`, if the gateway needs one.
    #[arg(long, env = "EJENTO_SUBSCRIPTION_KEY", hide_env_values = true)]
    subscription_key: Option<String>,
    /// Where tokens persist between runs.
    #[arg(long, env = "EJENTO_TOKEN_DIR", default_value = ".cxkit-tokens")]
    token_dir: String,
    /// The agent to ask.
    #[arg(long, env = "EJENTO_AGENT_ID")]
    agent_id: i64,
    /// The question.
    question: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let config = cxkit::Config::builder()
        .store(FileTokenStore::new(&args.token_dir))
        .build()?;
    let mut builder = Ejento::builder()
        .config(&config)
        .base_url(&args.base_url)
        .session_name(&args.user);
    if let Some(url) = &args.auth_base_url {
        builder = builder.auth_base_url(url);
    }
    if let Some(key) = args.subscription_key {
        builder = builder.subscription_key(Secret::new(key));
    }
    let ejento = builder.build()?;

    // Reuse a stored session; log in only when there is none (or it cannot be refreshed).
    if let Err(e) = ejento.session().await {
        if !e.is_reauth_required() {
            return Err(e.into());
        }
        ejento
            .login_password(&args.user, &Secret::new(args.password))
            .await?;
        eprintln!("logged in as {}", args.user);
    }

    let thread = ejento
        .platform()
        .create_agent_chat_thread()
        .agent_id(args.agent_id)
        .body(ChatThreadCreate {
            agent: Some(args.agent_id),
            created_by: Some(args.user.clone()),
        })
        .send()
        .await
        .map_err(cxkit::Error::from)?
        .into_inner();
    let thread_id = thread.data.map(|t| t.id);
    eprintln!("chat thread {thread_id:?}");

    let request: AgentResponseRequest = AgentResponseRequest::builder()
        .user_query(args.question)
        .chat_thread_id(thread_id)
        .query_source(Some("app-ejento".to_owned()))
        .try_into()?;
    let mut answer = ejento
        .stream_agent_response(args.agent_id, &request)
        .await?;
    let mut out = std::io::stdout().lock();
    while let Some(event) = answer.next().await {
        match event? {
            StreamEvent::AnswerDelta(text) => {
                out.write_all(text.as_bytes())?;
                out.flush()?;
            }
            StreamEvent::Status {
                message: Some(m), ..
            } if !m.is_empty() => eprintln!("[{m}]"),
            // A deep agent's plan and the files it writes.
            StreamEvent::Tasks(todos) => {
                for todo in todos {
                    let status = todo.status.unwrap_or_default();
                    eprintln!("[{status}] {}", todo.content.unwrap_or_default());
                }
            }
            StreamEvent::File(file) => eprintln!("file: {}", file.name.unwrap_or_default()),
            StreamEvent::End { output, .. } => {
                writeln!(out)?;
                let output = output.map(|o| *o).unwrap_or_default();
                for reference in output.references {
                    eprintln!("source: {}", reference.url.unwrap_or_default());
                }
                for artifact in output.artifacts.unwrap_or_default() {
                    eprintln!("artifact: {}", artifact.url.unwrap_or_default());
                }
            }
            StreamEvent::Error { message, .. } => {
                return Err(format!("the agent failed: {}", message.unwrap_or_default()).into());
            }
            _ => {}
        }
    }
    Ok(())
}
