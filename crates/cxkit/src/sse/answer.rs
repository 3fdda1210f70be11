//! The fold of a streamed answer's events into what the vendor's client keeps of it.

use cxkit_ejento_platform::types::{
    AgentArtifact, AgentResponseResult, AgentStreamFile, AgentStreamTodo,
};

use super::StreamEvent;

/// What a streamed answer amounts to once its events are folded together: what the vendor's
/// own client keeps of an answer (the text, the thought process, a deep agent's plan and files,
/// the artifacts and the guardrail flags).
/// [`AnswerStream::collect_answer`](super::AnswerStream::collect_answer) folds a whole stream;
/// an application that renders progressively can call [`StreamedAnswer::apply`] on each event
/// it shows and read the state at any point.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct StreamedAnswer {
    /// The answer: the answer deltas joined as they arrive, then, once `end` arrives, its
    /// `output.answer` when that is not empty (the final text the vendor's client keeps).
    pub text: String,
    /// The thought process (the `tools_stream` deltas, joined).
    pub thoughts: String,
    /// Every progress text, in order (the timeline the vendor's client shows as "Thought").
    pub progress: Vec<String>,
    /// The latest plan of a deep agent.
    pub todos: Vec<AgentStreamTodo>,
    /// The files a deep agent wrote, one per name, in the order their names first appeared.
    pub files: Vec<AgentStreamFile>,
    /// The `end` event's `output.artifacts`.
    pub artifacts: Vec<AgentArtifact>,
    /// Whether an `end` event arrived.
    pub finished: bool,
    /// The `end` event's `success` (false until it arrives).
    pub success: bool,
    /// Whether a guardrail fired (`end`'s `output.guardrail_triggered`, or an `error` event's
    /// `output.blocked`).
    pub guardrail_triggered: bool,
    /// Whether a guardrail blocked the answer (`output.blocked` of `end` or `error`).
    pub blocked: bool,
    /// The `end` event's whole output (thread id, references, follow-up questions …).
    pub output: Option<AgentResponseResult>,
}

impl StreamedAnswer {
    /// An empty answer, before any event.
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds one event into the answer.
    pub fn apply(&mut self, event: &StreamEvent) {
        match event {
            StreamEvent::AnswerDelta(delta) => self.text.push_str(delta),
            StreamEvent::ToolDelta(delta) => self.thoughts.push_str(delta),
            StreamEvent::Status {
                message: Some(message),
                ..
            } if !message.is_empty() => self.progress.push(message.clone()),
            StreamEvent::Status { .. } => {}
            StreamEvent::Tasks(todos) => self.todos.clone_from(todos),
            StreamEvent::File(file) => match self.files.iter_mut().find(|f| f.name == file.name) {
                Some(known) => *known = file.clone(),
                None => self.files.push(file.clone()),
            },
            StreamEvent::Error { blocked, .. } => {
                self.blocked |= *blocked;
                self.guardrail_triggered |= *blocked;
            }
            StreamEvent::End { success, output } => {
                self.finished = true;
                self.success = *success;
                if let Some(output) = output {
                    if let Some(answer) = output.answer.as_deref().filter(|a| !a.is_empty()) {
                        answer.clone_into(&mut self.text);
                    }
                    self.artifacts = output.artifacts.clone().unwrap_or_default();
                    self.guardrail_triggered |= output.guardrail_triggered.unwrap_or(false);
                    self.blocked |= output.blocked.unwrap_or(false);
                    self.output = Some((**output).clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Error;
    use crate::sse::chunks;

    #[tokio::test]
    async fn collect_answer_folds_text_plan_files_and_artifacts() {
        let s = chunks(&[
            "data: {\"step\":\"status\",\"message\":\"Working\"}\n\n",
            "data: {\"step\":\"tools_stream\",\"delta\":\"think \"}\n\n",
            "data: {\"step\":\"tools_stream\",\"delta\":\"more\"}\n\n",
            "data: {\"step\":\"tasks\",\"meta\":{\"todos\":[{\"content\":\"Old\",\"status\":\"pending\"}]}}\n\n",
            "data: {\"step\":\"tasks\",\"meta\":{\"todos\":[{\"content\":\"New\",\"status\":\"completed\"}]}}\n\n",
            "data: {\"step\":\"file\",\"meta\":{\"file\":{\"name\":\"a.md\",\"content\":\"v1\"}}}\n\n",
            "data: {\"step\":\"file\",\"meta\":{\"file\":{\"name\":\"b.md\",\"content\":\"b\"}}}\n\n",
            "data: {\"step\":\"file\",\"meta\":{\"file\":{\"name\":\"a.md\",\"content\":\"v2\"}}}\n\n",
            "data: {\"step\":\"model_stream\",\"delta\":\"Hel\"}\n\n",
            "data: {\"step\":\"model_stream\",\"delta\":\"lo\"}\n\n",
            "data: {\"step\":\"end\",\"success\":true,\"output\":{\"thread_id\":4,\"guardrail_triggered\":true,",
            "\"artifacts\":[{\"number\":2,\"name\":\"a.md\",\"container\":\"c\"}]}}\n\n",
        ]);
        let answer = s.collect_answer().await.unwrap();
        assert_eq!(
            answer.text, "Hello",
            "no `output.answer`: the deltas stay the text"
        );
        assert_eq!(answer.thoughts, "think more");
        assert_eq!(answer.progress, ["Working"]);
        assert_eq!(answer.todos.len(), 1);
        assert_eq!(answer.todos[0].content.as_deref(), Some("New"));
        let files: Vec<_> = answer
            .files
            .iter()
            .map(|f| (f.name.as_deref().unwrap(), f.content.as_deref().unwrap()))
            .collect();
        assert_eq!(
            files,
            [("a.md", "v2"), ("b.md", "b")],
            "merged by name, in place"
        );
        assert_eq!(answer.artifacts.len(), 1);
        assert_eq!(answer.artifacts[0].number, Some(2));
        assert!(answer.finished && answer.success && answer.guardrail_triggered && !answer.blocked);
        assert_eq!(answer.output.unwrap().thread_id, Some(4));

        // `output.answer`, when present, is the final text.
        let s = chunks(&[
            "data: {\"step\":\"assistant_stream\",\"delta\":\"draft\"}\n\n",
            "data: {\"step\":\"end\",\"success\":false,\"output\":{\"answer\":\"final\",\"blocked\":true,\"message\":\"no\"}}\n\n",
        ]);
        let answer = s.collect_answer().await.unwrap();
        assert_eq!(answer.text, "final");
        assert!(answer.finished && !answer.success && answer.blocked);

        // An `error` event is an error, with its text.
        let s = chunks(&[
            "data: {\"step\":\"model_stream\",\"delta\":\"x\"}\n\n",
            "data: {\"step\":\"error\",\"output\":{\"error\":{\"details\":\"tool crashed\"}}}\n\n",
        ]);
        let err = s.collect_answer().await.unwrap_err();
        assert!(err.to_string().contains("tool crashed"), "{err}");
        // A stream cut before its end is an error too.
        let s = chunks(&["data: {\"step\":\"model_stream\",\"delta\":\"x\"}\n\n"]);
        assert!(matches!(
            s.collect_answer().await.unwrap_err(),
            Error::Transient { .. }
        ));
    }
}
