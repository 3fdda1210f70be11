//! Scripted streamed answers for "Stream Agent Response (SSE)": the frames a classic agent and a
//! deep agent send, in the shapes the vendor's own client reads (see `AgentStreamEvent` in
//! `specs/ejento-platform.yaml` and `specs/evidence/client-quickstart-usechat.md`), plus any
//! frame a test adds (a step a future server may send, a cut, a malformed payload).
//!
//! ```
//! use cxkit_testkit::ejento::{FakeEjento, SseAnswer};
//! # async fn demo(fake: &FakeEjento) {
//! // A deep agent: progress, its plan, a file, the answer in `model_stream` deltas, and
//! // artifacts on `end`; a step no client knows yet goes before the answer.
//! fake.stream_answer(
//!     &SseAnswer::deep_agent("Employees get 20 days.")
//!         .insert(3, serde_json::json!({"step": "critique", "message": "Checking"})),
//! );
//! # }
//! ```

use serde_json::{Value, json};

use crate::server::Reply;

/// The plan a [`SseAnswer::deep_agent`] answer sends first (`content`, `status`).
pub const DEEP_AGENT_PLAN: [(&str, &str); 2] = [
    ("Find the leave policy", "in_progress"),
    ("Write the summary", "pending"),
];
/// The plan it sends once the file is written: every task completed.
pub const DEEP_AGENT_PLAN_DONE: [(&str, &str); 2] = [
    ("Find the leave policy", "completed"),
    ("Write the summary", "completed"),
];
/// The name of the file a deep-agent answer writes (twice: the second version replaces the
/// first) and of its artifact.
pub const DEEP_AGENT_FILE: &str = "summary.md";
/// The storage container of that artifact.
pub const DEEP_AGENT_CONTAINER: &str = "agent-files";
/// The thread id and the agent response id every scripted answer ends with.
pub const THREAD_ID: i64 = 41;
/// See [`THREAD_ID`].
pub const AGENT_RESPONSE_ID: i64 = 4242;

/// A streamed answer, frame by frame; each frame is sent as `data: <json>` and a blank line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SseAnswer {
    frames: Vec<Value>,
    named: bool,
}

impl SseAnswer {
    /// No frames.
    pub fn new() -> Self {
        Self::default()
    }

    /// A classic agent's answer as the vendor page and client show it: `start`, a status step,
    /// a `tools_stream` thought, `reflection_end`, the answer in `assistant_stream` deltas (one
    /// per word, spaces kept), and `end` with the answer, thread, references and follow-up
    /// questions.
    pub fn classic(answer: &str) -> Self {
        let mut frames = vec![
            json!({"step": "start", "message": "Analyzing..."}),
            json!({"step": "query_rewrite_start", "message": "Processing query..."}),
            json!({"step": "tools_stream", "delta": "Searching the policy corpus."}),
            json!({"step": "reflection_end", "message": "The sources answer the question."}),
            json!({"step": "assistant_start", "message": "Preparing response..."}),
        ];
        frames.extend(deltas("assistant_stream", answer));
        frames.push(json!({
            "step": "end",
            "message": "Finished.",
            "success": true,
            "output": {
                "answer": answer,
                "thread_id": THREAD_ID,
                "agent_response_id": AGENT_RESPONSE_ID,
                "chat_thread_name": "Leave policy",
                "references": [{"number": 1, "url": "https://docs.example/leave.pdf", "order": 1}],
                "followup_questions": ["How do I request leave?"],
                "blocked": false,
                "cache_hit": false,
            },
        }));
        SseAnswer {
            frames,
            named: false,
        }
    }

    /// A deep agent's answer (sent with `overrides.use_reasoning_middleware: true`): `start`
    /// with its progress in `output.title`, `reasoning`, the plan ([`DEEP_AGENT_PLAN`]) in
    /// `meta.todos`, the file [`DEEP_AGENT_FILE`] in `meta.file`, a second version of it, the
    /// finished plan ([`DEEP_AGENT_PLAN_DONE`]), a `status`, the answer in `model_stream`
    /// deltas (one per word), and `end` with the answer and one artifact (number 1, the file,
    /// in [`DEEP_AGENT_CONTAINER`]).
    pub fn deep_agent(answer: &str) -> Self {
        let file = |content: &str, modified: &str| {
            json!({
                "step": "file",
                "meta": {"file": {
                    "name": DEEP_AGENT_FILE,
                    "content": content,
                    "createdAt": "2026-01-05T10:00:00Z",
                    "modifiedAt": modified,
                }},
            })
        };
        let mut frames = vec![
            json!({"step": "start", "message": "Starting", "output": {"title": "Planning the answer"}}),
            json!({"step": "reasoning", "message": "Looking for the leave policy"}),
            json!({"step": "tasks", "meta": {"todos": todos(&DEEP_AGENT_PLAN)}}),
            file("# Draft", "2026-01-05T10:00:00Z"),
            file(&format!("# Summary\n\n{answer}\n"), "2026-01-05T10:00:05Z"),
            json!({"step": "tasks", "meta": {"todos": todos(&DEEP_AGENT_PLAN_DONE)}}),
            json!({"step": "status", "message": "Writing the answer"}),
        ];
        frames.extend(deltas("model_stream", answer));
        frames.push(json!({
            "step": "end",
            "success": true,
            "output": {
                "answer": answer,
                "thread_id": THREAD_ID,
                "agent_response_id": AGENT_RESPONSE_ID,
                "chat_thread_name": "Leave policy",
                "references": [],
                "followup_questions": [],
                "guardrail_triggered": false,
                "blocked": false,
                "artifacts": [{
                    "number": 1,
                    "url": format!("https://files.example/{DEEP_AGENT_CONTAINER}/{DEEP_AGENT_FILE}"),
                    "type": "file",
                    "name": DEEP_AGENT_FILE,
                    "container": DEEP_AGENT_CONTAINER,
                }],
            },
        }));
        SseAnswer {
            frames,
            named: false,
        }
    }

    /// Appends a frame (any JSON: a step a future server may send, a terminal event …).
    pub fn push(mut self, frame: Value) -> Self {
        self.frames.push(frame);
        self
    }

    /// Inserts a frame before the one at `index` (at the end if `index` is past it).
    pub fn insert(mut self, index: usize, frame: Value) -> Self {
        let index = index.min(self.frames.len());
        self.frames.insert(index, frame);
        self
    }

    /// Removes the last frame (a stream cut before its `end`, for example).
    pub fn without_last(mut self) -> Self {
        self.frames.pop();
        self
    }

    /// Sends each frame with an `event:` name first, as the vendor page shows them (`start`,
    /// `status`, `token`, `error`, `end`); clients read only the `data`.
    pub fn with_event_names(mut self) -> Self {
        self.named = true;
        self
    }

    /// The frames, in order.
    pub fn frames(&self) -> &[Value] {
        &self.frames
    }

    /// The `text/event-stream` body.
    pub fn body(&self) -> String {
        let mut body = String::new();
        for frame in &self.frames {
            if self.named {
                let name = match frame["step"].as_str().unwrap_or_default() {
                    "start" => "start",
                    "end" => "end",
                    "error" => "error",
                    "assistant_stream" | "model_stream" => "token",
                    _ => "status",
                };
                body.push_str("event: ");
                body.push_str(name);
                body.push('\n');
            }
            body.push_str("data: ");
            body.push_str(&frame.to_string());
            body.push_str("\n\n");
        }
        body
    }

    /// A `200 text/event-stream` reply with [`SseAnswer::body`].
    pub fn reply(&self) -> Reply {
        Reply::sse(self.body())
    }
}

fn todos(plan: &[(&str, &str)]) -> Vec<Value> {
    plan.iter()
        .map(|(content, status)| json!({"content": content, "status": status}))
        .collect()
}

/// One `step` frame per word of `answer`, each word with the space before it.
fn deltas<'a>(step: &'a str, answer: &'a str) -> impl Iterator<Item = Value> + 'a {
    answer
        .split_inclusive(' ')
        .map(move |chunk| json!({"step": step, "delta": chunk}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deltas_join_into_the_answer_and_the_frames_are_sse() {
        let answer = "Employees get 20 days.";
        for script in [SseAnswer::classic(answer), SseAnswer::deep_agent(answer)] {
            let joined: String = script
                .frames()
                .iter()
                .filter(|f| {
                    matches!(
                        f["step"].as_str(),
                        Some("assistant_stream" | "model_stream")
                    )
                })
                .map(|f| f["delta"].as_str().unwrap())
                .collect();
            assert_eq!(joined, answer);
            assert_eq!(script.frames().last().unwrap()["step"], "end");
            let body = script.body();
            assert_eq!(body.matches("data: ").count(), script.frames().len());
            assert!(body.ends_with("}\n\n"));
        }
        let named = SseAnswer::classic("Hi").with_event_names().body();
        assert!(named.starts_with("event: start\ndata: {"), "{named}");
        assert!(named.contains("event: token\ndata: {"), "{named}");
    }
}
