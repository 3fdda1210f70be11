//! The [`AnswerStream`]: a response body's chunks through the [`Parser`], each event's data
//! typed as a [`StreamEvent`], under the event cap and the idle limit.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use cxkit_ejento_platform::types::AgentResponseResult;
use futures::{Stream, StreamExt as _};

use super::{Parser, StreamEvent, StreamedAnswer};
use crate::{Error, Result};

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
    /// Parses a `text/event-stream` response body under `limits`' event cap and idle limit.
    pub(crate) fn from_response(response: reqwest::Response, limits: &crate::HttpConfig) -> Self {
        Self::with_limits(
            response.bytes_stream(),
            limits.max_event_bytes,
            Some(limits.stream_idle_timeout),
        )
    }

    /// Parses any stream of body chunks (exposed for tests and other transports), with the
    /// default event cap and no idle limit.
    pub fn from_bytes<S, B, E>(bytes: S) -> Self
    where
        S: Stream<Item = std::result::Result<B, E>> + Send + 'static,
        B: AsRef<[u8]>,
        E: Into<BodyError>,
    {
        Self::with_limits(bytes, crate::HttpConfig::default().max_event_bytes, None)
    }

    fn with_limits<S, B, E>(bytes: S, max_event_bytes: u64, idle: Option<Duration>) -> Self
    where
        S: Stream<Item = std::result::Result<B, E>> + Send + 'static,
        B: AsRef<[u8]>,
        E: Into<BodyError>,
    {
        let chunks = bytes.map(|chunk| {
            chunk
                .map(|b| bytes::Bytes::copy_from_slice(b.as_ref()))
                .map_err(|e| e.into().0)
        });
        AnswerStream {
            inner: Box::pin(Events {
                chunks: Box::pin(chunks),
                parser: Parser::new(max_event_bytes),
                idle,
                idle_timer: None,
            }),
            finished: false,
        }
    }

    /// The same stream with its events passed through `wrap` (the `otel` feature's watcher,
    /// which counts and times them; `crate::telemetry::StreamWatch`).
    #[cfg(feature = "otel")]
    pub(crate) fn map_events(
        mut self,
        wrap: impl FnOnce(
            Pin<Box<dyn Stream<Item = Result<StreamEvent>> + Send>>,
        ) -> Pin<Box<dyn Stream<Item = Result<StreamEvent>> + Send>>,
    ) -> Self {
        self.inner = wrap(self.inner);
        self
    }

    /// Reads the whole stream and returns the final answer (the `end` event's output), or the
    /// error the stream reported.
    pub async fn into_answer(mut self) -> Result<AgentResponseResult> {
        while let Some(event) = self.next().await {
            match event? {
                StreamEvent::End { output, .. } => {
                    return Ok(output.map(|o| *o).unwrap_or_default());
                }
                StreamEvent::Error { message, .. } => return Err(stream_error(message)),
                _ => {}
            }
        }
        Err(already_ended())
    }

    /// Reads the whole stream and folds it into a [`StreamedAnswer`] (the text, thought
    /// process, progress, a deep agent's plan and files, the artifacts and the guardrail
    /// flags), for applications that do not render the answer as it streams. An `error` event
    /// is returned as an error, like a stream cut before its `end`; an `end` with `success:
    /// false` is an answer whose `success` is false.
    pub async fn collect_answer(mut self) -> Result<StreamedAnswer> {
        let mut answer = StreamedAnswer::new();
        while let Some(event) = self.next().await {
            let event = event?;
            if let StreamEvent::Error { message, .. } = event {
                return Err(stream_error(message));
            }
            answer.apply(&event);
            if answer.finished {
                return Ok(answer);
            }
        }
        Err(already_ended())
    }
}

/// The error an `error` event becomes when a whole answer is awaited.
fn stream_error(message: Option<String>) -> Error {
    // Server text: live secrets removed, redacted and truncated like any other answer's.
    Error::stream_reported(message.as_deref())
}

/// The stream yields an error before it ends without a terminal event; this is only reached if
/// it was already consumed.
fn already_ended() -> Error {
    Error::Transient {
        message: "the answer stream had already ended".into(),
        status: None,
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

/// How many body chunks one poll consumes without completing an event before it yields to the
/// runtime: a server sending data as fast as the client reads would otherwise keep the poll
/// busy, and a timeout around the stream would never get to run.
const CHUNKS_PER_POLL: usize = 32;

/// The events of a body: chunks in, parsed payloads out, with the idle limit.
struct Events {
    chunks: Pin<Box<dyn Stream<Item = Result<bytes::Bytes>> + Send>>,
    parser: Parser,
    idle: Option<Duration>,
    idle_timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Events {
    fn restart_idle_timer(&mut self) {
        if let Some(idle) = self.idle {
            let deadline = tokio::time::Instant::now() + idle;
            match &mut self.idle_timer {
                Some(timer) => timer.as_mut().reset(deadline),
                None => self.idle_timer = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
        }
    }
}

impl Events {
    /// The idle limit's error, once no event arrived for that long (keep-alive comments and
    /// unfinished events, however fast they flow, do not count). Registers the timer's waker.
    fn idle_expired(&mut self, cx: &mut Context<'_>) -> Option<Error> {
        let idle = self.idle?;
        let timer = self.idle_timer.as_mut()?;
        timer
            .as_mut()
            .poll(cx)
            .is_ready()
            .then(|| Error::Transient {
                message: format!("no event arrived for {idle:?} (HttpConfig::stream_idle_timeout)"),
                status: None,
            })
    }
}

impl Stream for Events {
    type Item = Result<StreamEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.idle.is_some() && this.idle_timer.is_none() {
            this.restart_idle_timer();
        }
        let mut chunks = 0;
        loop {
            match this.parser.next_data() {
                Some(Ok(data)) if data.trim().is_empty() => continue,
                Some(Ok(data)) => {
                    let event = StreamEvent::decode(data);
                    this.restart_idle_timer();
                    return Poll::Ready(Some(event));
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => {}
            }
            if chunks == CHUNKS_PER_POLL {
                if let Some(idle) = this.idle_expired(cx) {
                    return Poll::Ready(Some(Err(idle)));
                }
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            match this.chunks.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    chunks += 1;
                    this.parser.push(&chunk);
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                // An event not ended by a blank line is discarded, as the SSE standard says.
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => {
                    if let Some(idle) = this.idle_expired(cx) {
                        return Poll::Ready(Some(Err(idle)));
                    }
                    return Poll::Pending;
                }
            }
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

#[cfg(test)]
mod tests {
    use futures::StreamExt as _;

    use super::*;
    use crate::sse::chunks;

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
}
