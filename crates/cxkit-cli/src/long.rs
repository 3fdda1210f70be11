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

/// `cxkit ejento ask --agent ID [--thread ID] [--deep-agent] QUESTION`.
pub async fn ask(
    state: &State,
    out: &Output,
    agent: i64,
    thread: Option<i64>,
    deep_agent: bool,
    question: &str,
) -> Result<(), Failure> {
    let ejento = crate::session::ejento(state)?;
    let mut body = serde_json::json!({ "user_query": question, "history": [] });
    if let Some(thread) = thread {
        body["chat_thread_id"] = thread.into();
    }
    if deep_agent {
        // What the vendor's own client sends for a deep agent.
        body["overrides"] = serde_json::json!({ "use_reasoning_middleware": true });
    }
    let request = serde_json::from_value(body)
        .map_err(|e| Failure::other(format!("cannot build the request: {e}")))?;
    let stream = ejento.stream_agent_response(agent, &request).await?;
    print_stream(out, stream).await
}

/// Prints a streamed answer as it arrives: the answer's chunks (`assistant_stream` and a deep
/// agent's `model_stream`) on stdout, and on stderr the progress, a deep agent's task list each
/// time it changes, the names of the files it writes and the artifacts of the answer. With
/// `--json`, every event instead as one JSON document per line on stdout (see
/// [`event_json`]); the last one is the `end` (or `error`) event.
pub async fn print_stream(out: &Output, mut stream: AnswerStream) -> Result<(), Failure> {
    let mut printed = false;
    while let Some(event) = stream.next().await {
        let event = event?;
        if out.json_only() {
            if let Some(value) = event_json(&event) {
                out.json(&value)?;
            }
        } else {
            match &event {
                StreamEvent::AnswerDelta(delta) => {
                    out.chunk(delta)?;
                    printed |= !delta.is_empty();
                }
                StreamEvent::End {
                    output: Some(output),
                    ..
                } => {
                    // An answer that arrived only whole, on `end`.
                    if let Some(answer) = output.answer.as_deref().filter(|_| !printed) {
                        out.chunk(answer)?;
                        printed |= !answer.is_empty();
                    }
                    if printed {
                        out.line("")?;
                        printed = false;
                    }
                    for artifact in output.artifacts.iter().flatten() {
                        note(&format!(
                            "artifact {}: {} ({})",
                            artifact.number.map(|n| n.to_string()).unwrap_or_default(),
                            artifact.name.as_deref().unwrap_or("unnamed"),
                            artifact.url.as_deref().unwrap_or("no url"),
                        ));
                    }
                }
                other => {
                    if let Some(text) = progress(other) {
                        // Progress goes on its own line, after a partly printed answer.
                        if printed {
                            out.line("")?;
                            printed = false;
                        }
                        note(&text);
                    }
                }
            }
        }
        match event {
            StreamEvent::End { success, output } => {
                if printed {
                    out.line("")?;
                }
                if !success {
                    // Server text: redacted and truncated like any error's.
                    let why = cxkit::Error::stream_reported(Some(
                        output
                            .and_then(|o| o.message)
                            .as_deref()
                            .unwrap_or("the answer was blocked"),
                    ));
                    return Err(Failure::new(
                        Exit::Api,
                        format!("the agent did not answer: {}", api_message(&why)),
                    ));
                }
                return Ok(());
            }
            StreamEvent::Error { message, .. } => {
                if printed {
                    out.line("")?;
                }
                let why = cxkit::Error::stream_reported(Some(
                    message.as_deref().unwrap_or("the server gave no reason"),
                ));
                return Err(Failure::new(
                    Exit::Api,
                    format!("the answer failed: {}", api_message(&why)),
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

/// One line on stderr, live secrets replaced.
fn note(text: &str) {
    eprintln!("{}", cxkit_auth::scrub_live_secrets(text));
}

/// What stderr shows of an event that is neither answer text nor terminal: progress, the task
/// list, a file's name.
fn progress(event: &StreamEvent) -> Option<String> {
    match event {
        StreamEvent::Status {
            message: Some(message),
            ..
        } if !message.is_empty() => Some(format!("… {message}")),
        StreamEvent::Tasks(todos) => {
            let mut text = String::from("tasks:");
            for todo in todos {
                let mark = match todo.status.as_deref() {
                    Some("completed") => "[x]",
                    Some("in_progress") => "[~]",
                    Some("failed") => "[!]",
                    _ => "[ ]",
                };
                text.push_str(&format!(
                    "\n  {mark} {}",
                    todo.content.as_deref().unwrap_or_default()
                ));
            }
            Some(text)
        }
        StreamEvent::File(file) => Some(format!(
            "file: {}",
            file.name.as_deref().unwrap_or_default()
        )),
        _ => None,
    }
}

/// The JSON line `--json` prints for an event: `{"event": KIND, ...}` with KIND one of
/// `answer_delta` and `tool_delta` (`delta`), `status` (`step`, `message`), `tasks` (`todos`),
/// `file` (`file`), `end` (`success`, `output`) and `error` (`message`, `blocked`). `None` for a
/// kind of event this version does not know.
pub fn event_json(event: &StreamEvent) -> Option<Value> {
    use serde_json::json;
    Some(match event {
        StreamEvent::AnswerDelta(delta) => json!({"event": "answer_delta", "delta": delta}),
        StreamEvent::ToolDelta(delta) => json!({"event": "tool_delta", "delta": delta}),
        StreamEvent::Status { step, message } => {
            json!({"event": "status", "step": step, "message": message})
        }
        StreamEvent::Tasks(todos) => json!({"event": "tasks", "todos": todos}),
        StreamEvent::File(file) => json!({"event": "file", "file": file}),
        StreamEvent::End { success, output } => {
            json!({"event": "end", "success": success, "output": output})
        }
        StreamEvent::Error {
            message, blocked, ..
        } => json!({"event": "error", "message": message, "blocked": blocked}),
        _ => return None,
    })
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

/// The redacted message of an error [`cxkit::Error::stream_reported`] built.
fn api_message(error: &cxkit::Error) -> &str {
    match error {
        cxkit::Error::Api {
            message: Some(m), ..
        } => m,
        _ => "the server gave no reason",
    }
}
