//! "Stream Agent Response (SSE)" and "Stream Workflow Response (SSE)": the answer as a
//! [`Stream`] of typed events.
//!
//! The vendor's page shows `event: <name>` + `data: <json>` frames (`start`, `status`, `token`,
//! `error`, `end`), and its own clients read only the `data:` lines; so does this parser, because
//! each payload has a `step` that says what it is (see `AgentStreamEvent` in
//! `specs/ejento-platform.yaml`) and frames without an `event:` name must work too. The
//! frames are parsed by `eventsource-stream` as they arrive, so memory stays constant however
//! long the answer; there is no total timeout (only the HTTP client's read timeout between
//! chunks); dropping the stream closes the connection; and a stream that ends before its `end`
//! or `error` event is reported as an error, never as a silent end.

use std::pin::Pin;
use std::task::{Context, Poll};

use cxkit_ejento_platform::types::{AgentResponseResult, AgentStreamEvent};
use eventsource_stream::Eventsource as _;
use futures::{Stream, StreamExt as _};

use crate::{Error, Result};

/// One event of an agent's (or workflow's) streamed answer.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum StreamEvent {
    /// `assistant_stream`: the next chunk of the answer.
    AnswerDelta(String),
    /// `tools_stream`: the next chunk of the agent's thought process or tool output.
    ToolDelta(String),
    /// Any other step (`reflection_end`, `reflection_skip`, "Thinking…", steps the vendor adds
    /// later): a status for the user. Unknown steps are kept, not rejected.
    Status {
        /// The step's name as the server sent it.
        step: String,
        /// Its text, if any.
        message: Option<String>,
    },
    /// `error`: the answer failed; the stream ends after this event.
    Error {
        /// The server's explanation.
        message: Option<String>,
        /// The whole payload (e.g. `output.blocked` when a guardrail blocked the answer).
        event: Box<AgentStreamEvent>,
    },
    /// `end`: the answer is complete; the stream ends after this event.
    End {
        /// Whether the answer succeeded (`false` when a guardrail blocked it).
        success: bool,
        /// The final answer, references, follow-up questions, thread id …
        output: Option<Box<AgentResponseResult>>,
    },
}

impl StreamEvent {
    fn from_payload(event: AgentStreamEvent) -> Self {
        match event.step.as_deref().unwrap_or_default() {
            "assistant_stream" => StreamEvent::AnswerDelta(event.delta.unwrap_or_default()),
            "tools_stream" => StreamEvent::ToolDelta(event.delta.unwrap_or_default()),
            "end" => StreamEvent::End {
                success: event.success.unwrap_or(true),
                output: event.output.map(Box::new),
            },
            "error" => StreamEvent::Error {
                message: event.message.clone(),
                event: Box::new(event),
            },
            step => StreamEvent::Status {
                step: step.to_owned(),
                message: event.message,
            },
        }
    }

    /// Whether this event ends the stream.
    pub fn is_terminal(&self) -> bool {
        matches!(self, StreamEvent::End { .. } | StreamEvent::Error { .. })
    }
}

/// A streamed answer: yields events until `end` or `error`, then `None`. Dropping it cancels
/// the answer and closes the connection.
pub struct AnswerStream {
    inner: Pin<Box<dyn Stream<Item = Result<StreamEvent>> + Send>>,
    finished: bool,
}

impl std::fmt::Debug for AnswerStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnswerStream")
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl AnswerStream {
    /// Parses a `text/event-stream` response body.
    pub(crate) fn from_response(response: reqwest::Response) -> Self {
        Self::from_bytes(response.bytes_stream())
    }

    /// Parses any stream of body chunks (exposed for tests and other transports).
    pub fn from_bytes<S, B, E>(bytes: S) -> Self
    where
        S: Stream<Item = std::result::Result<B, E>> + Send + 'static,
        B: AsRef<[u8]>,
        E: Into<BodyError>,
    {
        let events = bytes
            .map(|chunk| {
                chunk
                    .map(|b| bytes::Bytes::copy_from_slice(b.as_ref()))
                    .map_err(Into::into)
            })
            .eventsource()
            .filter_map(|frame| async move {
                match frame {
                    Ok(frame) if frame.data.trim().is_empty() => None,
                    Ok(frame) => Some(
                        serde_json::from_str::<AgentStreamEvent>(&frame.data)
                            .map(StreamEvent::from_payload)
                            .map_err(|e| Error::decode(&e)),
                    ),
                    Err(eventsource_stream::EventStreamError::Transport(BodyError(e))) => {
                        Some(Err(e))
                    }
                    Err(e) => Some(Err(Error::Decode {
                        message: format!("the event stream is malformed: {}", describe(&e)),
                    })),
                }
            });
        AnswerStream {
            inner: Box::pin(events),
            finished: false,
        }
    }

    /// Reads the whole stream and returns the final answer (the `end` event's output), or the
    /// error the stream reported.
    pub async fn into_answer(mut self) -> Result<AgentResponseResult> {
        while let Some(event) = self.next().await {
            match event? {
                StreamEvent::End { output, .. } => {
                    return Ok(output.map(|o| *o).unwrap_or_default());
                }
                StreamEvent::Error { message, .. } => {
                    return Err(Error::Api {
                        status: 200,
                        message: Some(
                            message.unwrap_or_else(|| "the stream reported an error".into()),
                        ),
                        body: String::new(),
                    });
                }
                _ => {}
            }
        }
        // The stream yields an error before it ends without a terminal event; this is only
        // reached if it was already consumed.
        Err(Error::Transient {
            message: "the answer stream had already ended".into(),
            status: None,
        })
    }
}

impl Stream for AnswerStream {
    type Item = Result<StreamEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.finished {
            return Poll::Ready(None);
        }
        match self.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(event))) => {
                self.finished = event.is_terminal();
                Poll::Ready(Some(Ok(event)))
            }
            Poll::Ready(Some(Err(e))) => {
                self.finished = true;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => {
                self.finished = true;
                Poll::Ready(Some(Err(Error::Transient {
                    message: "the answer stream was cut off before its `end` event".into(),
                    status: None,
                })))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// A transport failure while reading a stream, already mapped to [`Error`].
#[derive(Debug)]
pub struct BodyError(Error);

impl From<reqwest::Error> for BodyError {
    fn from(e: reqwest::Error) -> Self {
        BodyError(Error::transport(&e))
    }
}

impl From<std::io::Error> for BodyError {
    fn from(e: std::io::Error) -> Self {
        BodyError(Error::Transient {
            message: format!("the connection broke while streaming ({:?})", e.kind()),
            status: None,
        })
    }
}

impl From<std::convert::Infallible> for BodyError {
    fn from(e: std::convert::Infallible) -> Self {
        match e {}
    }
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

fn describe<E>(e: &eventsource_stream::EventStreamError<E>) -> &'static str {
    match e {
        eventsource_stream::EventStreamError::Utf8(_) => "not UTF-8",
        eventsource_stream::EventStreamError::Parser(_) => "unparsable frame",
        eventsource_stream::EventStreamError::Transport(_) => "transport failure",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(parts: &[&str]) -> AnswerStream {
        let owned: Vec<std::result::Result<Vec<u8>, std::convert::Infallible>> =
            parts.iter().map(|p| Ok(p.as_bytes().to_vec())).collect();
        AnswerStream::from_bytes(futures::stream::iter(owned))
    }

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

    #[tokio::test]
    async fn a_stream_cut_mid_event_is_an_error() {
        let s = chunks(&[
            "data: {\"step\":\"assistant_stream\",\"delta\":\"Hel\"}\n\n",
            "data: {\"step\":\"assis",
        ]);
        let events: Vec<_> = s.collect().await;
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[0].as_ref().unwrap(),
            &StreamEvent::AnswerDelta("Hel".into())
        );
        assert!(
            matches!(events[1], Err(Error::Transient { .. })),
            "{:?}",
            events[1]
        );
    }

    #[tokio::test]
    async fn error_events_end_the_stream_and_into_answer_reports_them() {
        let s = chunks(&["data: {\"step\":\"error\",\"message\":\"blocked by guardrail\"}\n\n"]);
        let err = s.into_answer().await.unwrap_err();
        assert!(err.to_string().contains("blocked by guardrail"), "{err}");
    }

    #[tokio::test]
    async fn malformed_json_is_a_decode_error_without_its_text() {
        let s = chunks(&["data: {\"step\": canary-secret}\n\n"]);
        let events: Vec<_> = s.collect().await;
        let err = events[0].as_ref().unwrap_err();
        assert!(matches!(err, Error::Decode { .. }));
        assert!(!format!("{err} {err:?}").contains("canary"));
    }
}
