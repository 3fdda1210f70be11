//! The long-running commands: a streamed answer printed as it arrives, and an upload with
//! progress (a bar on a terminal, plain lines otherwise).

use std::io::IsTerminal as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cxkit::{AnswerStream, StreamEvent};
use futures::StreamExt as _;
use serde_json::Value;

use crate::config::State;
use crate::failure::{Exit, Failure};
use crate::output::Output;

/// `cxkit ejento ask --agent ID [--thread ID] QUESTION`.
pub async fn ask(
    state: &State,
    out: &Output,
    agent: i64,
    thread: Option<i64>,
    question: &str,
) -> Result<(), Failure> {
    let ejento = crate::session::ejento(state)?;
    let mut body = serde_json::json!({ "user_query": question, "history": [] });
    if let Some(thread) = thread {
        body["chat_thread_id"] = thread.into();
    }
    let request = serde_json::from_value(body)
        .map_err(|e| Failure::other(format!("cannot build the request: {e}")))?;
    let stream = ejento.stream_agent_response(agent, &request).await?;
    print_stream(out, stream).await
}

/// Prints an answer's chunks on stdout as they arrive, statuses on stderr when it is a terminal,
/// and a final newline; with compact output (`--json`, or piped with `--json`), the final result
/// as one JSON document instead.
pub async fn print_stream(out: &Output, mut stream: AnswerStream) -> Result<(), Failure> {
    let status_lines = std::io::stderr().is_terminal();
    let mut printed = false;
    while let Some(event) = stream.next().await {
        match event? {
            StreamEvent::AnswerDelta(delta) if !out.json_only() => {
                out.chunk(&delta)?;
                printed = true;
            }
            StreamEvent::Status {
                message: Some(message),
                ..
            } if status_lines => eprintln!("… {}", cxkit_auth::scrub_live_secrets(&message)),
            StreamEvent::End { success, output } => {
                if printed {
                    out.line("")?;
                }
                if out.json_only() {
                    let value = serde_json::to_value(&output).unwrap_or(Value::Null);
                    out.json(&value)?;
                }
                if !success {
                    return Err(Failure::new(
                        Exit::Api,
                        "the agent did not answer (the answer was blocked)",
                    ));
                }
                return Ok(());
            }
            StreamEvent::Error { message, .. } => {
                if printed {
                    out.line("")?;
                }
                return Err(Failure::new(
                    Exit::Api,
                    format!(
                        "the answer failed: {}",
                        message.as_deref().unwrap_or("the server gave no reason")
                    ),
                ));
            }
            _ => {}
        }
    }
    if printed {
        out.line("")?;
    }
    Err(Failure::new(
        Exit::Decode,
        "the answer stream ended without an `end` event",
    ))
}

/// `cxkit ejento upload --corpus ID FILE`.
pub async fn upload(
    state: &State,
    out: &Output,
    corpus: i64,
    tags: Option<&str>,
    file: &Path,
) -> Result<(), Failure> {
    let ejento = crate::session::ejento(state)?;
    let mut upload = cxkit::DocumentUpload::from_path(file).await?;
    if let Some(tags) = tags {
        upload = upload.tags(tags);
    }
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(name.clone());
        bar
    });
    let upload = match &bar {
        Some(bar) => {
            let bar = bar.clone();
            upload.on_progress(move |sent, total| {
                if let Some(total) = total {
                    bar.set_length(total);
                }
                bar.set_position(sent);
            })
        }
        None => {
            // Plain lines for a log: one per tenth of the file (or per MiB without a size).
            let last = Arc::new(AtomicU64::new(u64::MAX));
            upload.on_progress(move |sent, total| {
                let step = match total {
                    Some(total) if total > 0 => sent.saturating_mul(10) / total,
                    _ => sent / (1024 * 1024),
                };
                if last.swap(step, Ordering::Relaxed) != step {
                    match total {
                        Some(total) if total > 0 => eprintln!(
                            "upload {name}: {sent} of {total} bytes ({}%)",
                            sent.saturating_mul(100) / total
                        ),
                        _ => eprintln!("upload {name}: {sent} bytes"),
                    }
                }
            })
        }
    };
    let result = ejento.upload_document(corpus, upload).await;
    if let Some(bar) = &bar {
        if result.is_ok() {
            bar.finish();
        } else {
            bar.abandon();
        }
    }
    let document = result?;
    out.json(&serde_json::to_value(&document).unwrap_or(Value::Null))
}
