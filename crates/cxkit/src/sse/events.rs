//! Ejento's stream events: one frame's JSON payload typed as a [`StreamEvent`], the way the
//! vendor's own client reads each `step`.

use cxkit_ejento_platform::types::{
    AgentResponseResult, AgentStreamEvent, AgentStreamFile, AgentStreamTodo,
};

use crate::{Error, Result};

/// One event of an agent's (or workflow's) streamed answer, typed the way the vendor's own
/// client (its Quickstart template's chat hook) reads the steps; see `AgentStreamEvent` in
/// `specs/ejento-platform.yaml` and `specs/evidence/client-quickstart-usechat.md`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum StreamEvent {
    /// `assistant_stream`, or `model_stream` (how a deep agent streams its answer): the next
    /// chunk of the answer.
    AnswerDelta(String),
    /// `tools_stream`: the next chunk of the agent's thought process or tool output.
    ToolDelta(String),
    /// Progress for the user. `start`, `reasoning` and `status` carry it in `output.title`, else
    /// in `message` (both end up in `message` here); `reflection_end`, `reflection_skip`, "Thinking…"
    /// and any step the vendor adds later carry `message`. Unknown steps are kept, never
    /// rejected; so are a `tasks` event without a task list and a `file` event without a named
    /// file.
    Status {
        /// The step's name as the server sent it.
        step: String,
        /// The progress text, if any.
        message: Option<String>,
    },
    /// `tasks`: a deep agent's whole plan (`meta.todos`); it replaces the previous list.
    Tasks(Vec<AgentStreamTodo>),
    /// `file`: a file a deep agent wrote (`meta.file`, or where older servers put it: `meta`,
    /// `output.file`, `output` or `file`). A later file of the same `name` replaces it.
    File(AgentStreamFile),
    /// `error`: the answer failed; the stream ends after this event.
    Error {
        /// The server's explanation: `output.error.details` (a string, or its JSON text), else
        /// `message`.
        message: Option<String>,
        /// Whether a guardrail blocked the answer (`output.blocked`).
        blocked: bool,
        /// The whole payload.
        event: Box<AgentStreamEvent>,
    },
    /// `end`: the answer is complete; the stream ends after this event.
    End {
        /// Whether the answer succeeded (`false` when a guardrail blocked it; then
        /// `output.message` says why). An `end` without `success` counts as success here (the
        /// vendor's client would show it as a failure).
        success: bool,
        /// The final answer, references, follow-up questions, thread id, `artifacts`,
        /// `guardrail_triggered`, `blocked` …
        output: Option<Box<AgentResponseResult>>,
    },
}

/// The payload of an answer or thought chunk with nothing else in it, `{"step": …, "delta": …}`
/// (every frame of a streamed answer but its first and last few): decoded without the whole
/// `AgentStreamEvent`, its step borrowed from the frame.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DeltaFrame<'a> {
    #[serde(borrow)]
    step: Option<std::borrow::Cow<'a, str>>,
    delta: Option<String>,
}

impl StreamEvent {
    /// Decodes one frame's JSON text. A chunk frame takes the short way (its delta is the one
    /// allocation); any other frame, or one with any other field, is decoded whole, so that the
    /// short way decodes a frame exactly as the whole way does.
    pub(super) fn decode(data: &str) -> Result<Self> {
        if let Ok(DeltaFrame {
            step: Some(step),
            delta,
        }) = serde_json::from_str(data)
        {
            match &*step {
                "assistant_stream" | "model_stream" => {
                    return Ok(StreamEvent::AnswerDelta(delta.unwrap_or_default()));
                }
                "tools_stream" => return Ok(StreamEvent::ToolDelta(delta.unwrap_or_default())),
                _ => {}
            }
        }
        serde_json::from_str::<AgentStreamEvent>(data)
            .map(|event| StreamEvent::from_frame(event, data))
            .map_err(|e| Error::decode(&e))
    }

    /// Types one frame's payload; `data` is the frame's JSON text, read again only for a `file`
    /// event whose file is `output` itself (a shape the typed payload does not model).
    fn from_frame(event: AgentStreamEvent, data: &str) -> Self {
        match event.step.as_deref().unwrap_or_default() {
            "assistant_stream" | "model_stream" => {
                StreamEvent::AnswerDelta(event.delta.unwrap_or_default())
            }
            "tools_stream" => StreamEvent::ToolDelta(event.delta.unwrap_or_default()),
            "end" => StreamEvent::End {
                success: event.success.unwrap_or(true),
                output: event.output.map(Box::new),
            },
            "error" => {
                let output = event.output.as_ref();
                let details = output
                    .and_then(|o| o.error.as_ref())
                    .and_then(|e| e.details.as_ref())
                    .and_then(|d| match d {
                        serde_json::Value::Null => None,
                        serde_json::Value::String(s) => Some(s.clone()),
                        other => Some(other.to_string()),
                    });
                StreamEvent::Error {
                    message: details.or_else(|| event.message.clone()),
                    blocked: output.and_then(|o| o.blocked).unwrap_or(false),
                    event: Box::new(event),
                }
            }
            "start" | "reasoning" | "status" => {
                let title = event.output.and_then(|o| o.title);
                StreamEvent::Status {
                    step: event.step.unwrap_or_default(),
                    message: title.or(event.message),
                }
            }
            "tasks" => match event.meta.and_then(|m| m.todos) {
                Some(todos) => StreamEvent::Tasks(todos),
                None => StreamEvent::status(event.step, event.message),
            },
            "file" => match file_of(&event, data) {
                Some(file) => StreamEvent::File(file),
                None => StreamEvent::status(event.step, event.message),
            },
            _ => StreamEvent::status(event.step, event.message),
        }
    }

    fn status(step: Option<String>, message: Option<String>) -> Self {
        StreamEvent::Status {
            step: step.unwrap_or_default(),
            message,
        }
    }

    /// Whether this event ends the stream.
    pub fn is_terminal(&self) -> bool {
        matches!(self, StreamEvent::End { .. } | StreamEvent::Error { .. })
    }
}

/// The file of a `file` event: the first of `meta.file`, `meta` itself, `output.file`, `output`
/// itself and `file` that has a name. (The vendor's client takes the first of these that is
/// present and drops the event when that one has no name; taking the first named one reads
/// every frame the client reads the same way.)
fn file_of(event: &AgentStreamEvent, data: &str) -> Option<AgentStreamFile> {
    let named = |file: &AgentStreamFile| file.name.as_deref().is_some_and(|n| !n.is_empty());
    let meta = event.meta.as_ref();
    let meta_itself = meta.map(|m| AgentStreamFile {
        name: m.name.clone(),
        content: m.content.clone(),
        created_at: m.created_at.clone(),
        modified_at: m.modified_at.clone(),
    });
    let output_file = event.output.as_ref().and_then(|o| o.file.clone());
    let output_itself = || {
        #[derive(serde::Deserialize)]
        struct Frame {
            output: Option<AgentStreamFile>,
        }
        serde_json::from_str::<Frame>(data).ok()?.output
    };
    meta.and_then(|m| m.file.clone())
        .filter(named)
        .or(meta_itself.filter(named))
        .or(output_file.filter(named))
        .or_else(|| output_itself().filter(named))
        .or(event.file.clone().filter(named))
}

#[cfg(test)]
mod tests {
    use futures::StreamExt as _;

    use super::*;
    use crate::sse::chunks;

    /// The vendor page's own example stream (https://api.ejento.ai/v2/stream-agent-response),
    /// with its `event:` names, decodes by `step` like unnamed frames.
    #[tokio::test]
    async fn the_vendor_pages_named_events_are_typed_by_step() {
        let s = chunks(&[
            "event: start\ndata: {\"message\":\"Analyzing...\",\"step\":\"start\"}\n\n",
            "event: status\ndata: {\"message\":\"Processing query...\",\"step\":\"query_rewrite_start\"}\n\n",
            "event: token\ndata: {\"delta\":\"Hello\",\"step\":\"assistant_stream\"}\n\n",
            "event: token\ndata: {\"delta\":\"!\",\"step\":\"assistant_stream\"}\n\n",
            "event: end\ndata: {\"message\":\"Finished.\",\"step\":\"end\",\"output\":{\"answer\":\"Hello! ...\",",
            "\"thread_id\":1,\"agent_response_id\":1,\"references\":[],\"chat_thread_name\":\"Greeting Exchange\",",
            "\"blocked\":false,\"cache_hit\":false},\"success\":true}\n\n",
        ]);
        let events: Vec<StreamEvent> = s.map(|e| e.unwrap()).collect().await;
        assert_eq!(events.len(), 5, "{events:?}");
        assert_eq!(
            events[0],
            StreamEvent::Status {
                step: "start".into(),
                message: Some("Analyzing...".into())
            }
        );
        assert!(
            matches!(&events[1], StreamEvent::Status { step, .. } if step == "query_rewrite_start")
        );
        assert_eq!(events[2], StreamEvent::AnswerDelta("Hello".into()));
        assert_eq!(events[3], StreamEvent::AnswerDelta("!".into()));
        match &events[4] {
            StreamEvent::End {
                success: true,
                output: Some(o),
            } => {
                assert_eq!(o.answer.as_deref(), Some("Hello! ..."));
                assert_eq!(o.thread_id, Some(1));
                assert_eq!(o.agent_response_id, Some(1));
                assert_eq!(o.blocked, Some(false));
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn events_are_typed_and_unknown_steps_kept() {
        let s = chunks(&[
            "data: {\"step\":\"Thinking\",\"message\":\"Thinking...\"}\n\n",
            "data: {\"step\":\"assistant_stream\",\"del",
            "ta\":\"Hel\"}\n\ndata: {\"step\":\"assistant_stream\",\"delta\":\"lo\"}\n\n",
            "data: {\"step\":\"tools_stream\",\"delta\":\"search\"}\n\n",
            "data: {\"step\":\"brand_new_step\",\"message\":\"x\"}\n\n",
            "data: {\"step\":\"end\",\"success\":true,\"output\":{\"answer\":\"Hello\",\"thread_id\":7}}\n\n",
            "data: {\"step\":\"assistant_stream\",\"delta\":\"after the end\"}\n\n",
        ]);
        let events: Vec<_> = s.collect().await;
        let events: Vec<StreamEvent> = events.into_iter().map(|e| e.unwrap()).collect();
        assert_eq!(events.len(), 6, "{events:?}");
        assert_eq!(
            events[0],
            StreamEvent::Status {
                step: "Thinking".into(),
                message: Some("Thinking...".into())
            }
        );
        assert_eq!(events[1], StreamEvent::AnswerDelta("Hel".into()));
        assert_eq!(events[2], StreamEvent::AnswerDelta("lo".into()));
        assert_eq!(events[3], StreamEvent::ToolDelta("search".into()));
        assert!(matches!(&events[4], StreamEvent::Status { step, .. } if step == "brand_new_step"));
        match &events[5] {
            StreamEvent::End {
                success: true,
                output: Some(o),
            } => assert_eq!(o.answer.as_deref(), Some("Hello")),
            other => panic!("{other:?}"),
        }
    }

    /// A deep agent's answer as the vendor's newer client reads it: progress in `output.title`,
    /// the plan in `meta.todos`, files in `meta.file`, the answer in `model_stream` deltas and
    /// artifacts on `end`.
    #[tokio::test]
    async fn a_deep_agents_steps_are_typed_like_the_vendors_client_reads_them() {
        let s = chunks(&[
            "data: {\"step\":\"start\",\"message\":\"Starting\",\"output\":{\"title\":\"Planning the report\"}}\n\n",
            "data: {\"step\":\"reasoning\",\"message\":\"Weighing sources\"}\n\n",
            "data: {\"step\":\"tasks\",\"meta\":{\"todos\":[{\"content\":\"Read\",\"status\":\"completed\"},",
            "{\"content\":\"Write\",\"status\":\"in_progress\"}]}}\n\n",
            "data: {\"step\":\"file\",\"meta\":{\"file\":{\"name\":\"report.md\",\"content\":\"# R\",",
            "\"createdAt\":\"2026-01-01T00:00:00Z\",\"modifiedAt\":\"2026-01-01T00:00:01Z\"}}}\n\n",
            "data: {\"step\":\"model_stream\",\"delta\":\"Done: \"}\n\n",
            "data: {\"step\":\"assistant_stream\",\"delta\":\"see (file:1)\"}\n\n",
            "data: {\"step\":\"end\",\"success\":true,\"output\":{\"answer\":\"Done: see (file:1)\",",
            "\"guardrail_triggered\":false,\"blocked\":false,\"artifacts\":[{\"number\":1,",
            "\"url\":\"https://files.example/r\",\"type\":\"file\",\"name\":\"report.md\",\"container\":\"c1\"}]}}\n\n",
        ]);
        let events: Vec<StreamEvent> = s.map(|e| e.unwrap()).collect().await;
        assert_eq!(events.len(), 7, "{events:?}");
        assert_eq!(
            events[0],
            StreamEvent::Status {
                step: "start".into(),
                message: Some("Planning the report".into())
            },
            "`output.title` is preferred to `message`"
        );
        assert_eq!(
            events[1],
            StreamEvent::Status {
                step: "reasoning".into(),
                message: Some("Weighing sources".into())
            }
        );
        match &events[2] {
            StreamEvent::Tasks(todos) => {
                assert_eq!(todos.len(), 2);
                assert_eq!(todos[1].content.as_deref(), Some("Write"));
                assert_eq!(todos[1].status.as_deref(), Some("in_progress"));
            }
            other => panic!("{other:?}"),
        }
        match &events[3] {
            StreamEvent::File(file) => {
                assert_eq!(file.name.as_deref(), Some("report.md"));
                assert_eq!(file.content.as_deref(), Some("# R"));
                assert_eq!(file.modified_at.as_deref(), Some("2026-01-01T00:00:01Z"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(events[4], StreamEvent::AnswerDelta("Done: ".into()));
        assert_eq!(events[5], StreamEvent::AnswerDelta("see (file:1)".into()));
        match &events[6] {
            StreamEvent::End {
                success: true,
                output: Some(o),
            } => {
                let artifacts = o.artifacts.as_deref().unwrap_or_default();
                assert_eq!(artifacts.len(), 1);
                assert_eq!(artifacts[0].number, Some(1));
                assert_eq!(artifacts[0].container.as_deref(), Some("c1"));
            }
            other => panic!("{other:?}"),
        }
    }

    /// Older servers put a file in `meta`, `output.file`, `output` or `file`; a `file` or
    /// `tasks` event without its payload is a status, not an error.
    #[tokio::test]
    async fn files_are_found_where_older_servers_put_them() {
        let s = chunks(&[
            "data: {\"step\":\"file\",\"meta\":{\"name\":\"a.md\",\"content\":\"A\"}}\n\n",
            "data: {\"step\":\"file\",\"output\":{\"file\":{\"name\":\"b.md\"}}}\n\n",
            "data: {\"step\":\"file\",\"output\":{\"name\":\"c.md\",\"content\":\"C\",\"createdAt\":\"t\"}}\n\n",
            "data: {\"step\":\"file\",\"file\":{\"name\":\"d.md\"}}\n\n",
            "data: {\"step\":\"file\",\"message\":\"no file\",\"meta\":{}}\n\n",
            "data: {\"step\":\"tasks\",\"message\":\"no plan\"}\n\n",
            "data: {\"step\":\"end\",\"success\":true}\n\n",
        ]);
        let events: Vec<StreamEvent> = s.map(|e| e.unwrap()).collect().await;
        let names: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::File(f) => f.name.clone(),
                _ => None,
            })
            .collect();
        assert_eq!(names, ["a.md", "b.md", "c.md", "d.md"], "{events:?}");
        assert!(
            matches!(&events[2], StreamEvent::File(f) if f.content.as_deref() == Some("C") && f.created_at.as_deref() == Some("t"))
        );
        assert_eq!(
            events[4],
            StreamEvent::Status {
                step: "file".into(),
                message: Some("no file".into())
            }
        );
        assert_eq!(
            events[5],
            StreamEvent::Status {
                step: "tasks".into(),
                message: Some("no plan".into())
            }
        );
    }

    #[tokio::test]
    async fn an_error_event_says_its_details_and_whether_a_guardrail_blocked_it() {
        let s = chunks(&[
            "data: {\"step\":\"error\",\"message\":\"failed\",\"output\":{\"blocked\":true,\"error\":{\"details\":\"policy violation\"}}}\n\n",
        ]);
        let events: Vec<StreamEvent> = s.map(|e| e.unwrap()).collect().await;
        assert!(
            matches!(&events[0], StreamEvent::Error { message: Some(m), blocked: true, .. } if m == "policy violation"),
            "{events:?}"
        );
        let s = chunks(&[
            "data: {\"step\":\"error\",\"message\":\"failed\",\"output\":{\"error\":{\"details\":{\"code\":7}}}}\n\n",
        ]);
        let events: Vec<StreamEvent> = s.map(|e| e.unwrap()).collect().await;
        assert!(
            matches!(&events[0], StreamEvent::Error { message: Some(m), blocked: false, .. } if m == "{\"code\":7}"),
            "{events:?}"
        );
        let s = chunks(&["data: {\"step\":\"error\",\"message\":\"failed\"}\n\n"]);
        let events: Vec<StreamEvent> = s.map(|e| e.unwrap()).collect().await;
        assert!(
            matches!(&events[0], StreamEvent::Error { message: Some(m), .. } if m == "failed"),
            "{events:?}"
        );
    }

    #[tokio::test]
    async fn malformed_json_is_a_decode_error_without_its_text() {
        let s = chunks(&["data: {\"step\": canary-secret}\n\n"]);
        let events: Vec<_> = s.collect().await;
        let err = events[0].as_ref().unwrap_err();
        assert!(matches!(err, Error::Decode { .. }));
        assert!(!format!("{err} {err:?}").contains("canary"));
    }

    /// The short way for chunk frames decodes every frame as the whole `AgentStreamEvent` way
    /// does: the same event, or an error where it errs.
    #[test]
    fn chunk_frames_decode_as_whole_frames_do() {
        let whole = |data: &str| {
            serde_json::from_str::<AgentStreamEvent>(data)
                .map(|event| StreamEvent::from_frame(event, data))
                .map_err(|e| Error::decode(&e))
        };
        for data in [
            r#"{"step":"assistant_stream","delta":"Hel"}"#,
            r#"{"delta":"lo","step":"model_stream"}"#,
            r#" { "step" : "tools_stream" , "delta" : "a \"q\" \u00e9\n" } "#,
            r#"{"step":"assistant\u005fstream","delta":"escaped step"}"#,
            r#"{"step":"assistant_stream"}"#,
            r#"{"step":"assistant_stream","delta":null}"#,
            r#"{"step":"assistant_stream","delta":""}"#,
            r#"{"step":"assistant_stream","delta":"x","message":"also"}"#,
            r#"{"step":"assistant_stream","delta":"x","output":{"answer":"a"}}"#,
            r#"{"step":"tools_stream","delta":"x","unknown":[1,2]}"#,
            r#"{"step":"end","delta":"x"}"#,
            r#"{"step":"error","delta":"x"}"#,
            r#"{"step":"status","delta":"x"}"#,
            r#"{"step":null,"delta":"x"}"#,
            r#"{"delta":"no step"}"#,
            r#"{}"#,
        ] {
            assert_eq!(StreamEvent::decode(data).ok(), whole(data).ok(), "{data}");
        }
        for bad in [
            r#"{"step":"assistant_stream","delta":7}"#,
            r#"{"step":"assistant_stream","delta":"x","delta":"y"}"#,
            r#"{"step":"assistant_stream","delta":"x"} trailing"#,
            r#"{"step":"assistant_stream","delta":"x""#,
            r#"{"step":"assistant_stream","delta":"x","output":"not an object"}"#,
            r#"{"step":7,"delta":"x"}"#,
            r#"[]"#,
        ] {
            assert!(
                matches!(StreamEvent::decode(bad), Err(Error::Decode { .. })),
                "{bad}"
            );
            assert!(whole(bad).is_err(), "{bad}");
        }
    }
}
