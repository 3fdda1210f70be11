//! "Stream Agent Response (SSE)" and "Stream Workflow Response (SSE)": the answer as a
//! [`Stream`](futures::Stream) of typed events.
//!
//! The vendor's page shows `event: <name>` + `data: <json>` frames (`start`, `status`, `token`,
//! `error`, `end`), and its own clients read only the `data:` lines; so does this parser, because
//! each payload has a `step` that says what it is (see `AgentStreamEvent` in
//! `specs/ejento-platform.yaml`) and frames without an `event:` name must work too. The
//! frames are parsed as they arrive, in time linear in the input (each byte is scanned once),
//! so memory stays constant however long the answer; one event is capped
//! ([`crate::HttpConfig::max_event_bytes`]); there is no total timeout, but an idle limit
//! between events ([`crate::HttpConfig::stream_idle_timeout`]); dropping the stream closes the
//! connection, and the stream yields to the runtime regularly even while data keeps arriving,
//! so a timeout around it fires; and a stream that ends before its `end` or `error` event is
//! reported as an error, never as a silent end.
//!
//! One concern per file: `parser` is the generic `text/event-stream` parser (bytes in, each
//! event's `data` out), `events` types one Ejento frame as a [`StreamEvent`], `stream` is
//! the [`AnswerStream`] that drives the parser over a response body under the limits, and
//! `answer` folds the events into a [`StreamedAnswer`].

mod answer;
mod events;
mod parser;
mod stream;

pub use answer::StreamedAnswer;
pub use events::StreamEvent;
pub use parser::Parser;
pub use stream::{AnswerStream, BodyError};

/// A stream over `parts`, each one body chunk (the tests' way to feed frames).
#[cfg(test)]
pub(crate) fn chunks(parts: &[&str]) -> AnswerStream {
    let owned: Vec<std::result::Result<Vec<u8>, std::convert::Infallible>> =
        parts.iter().map(|p| Ok(p.as_bytes().to_vec())).collect();
    AnswerStream::from_bytes(futures::stream::iter(owned))
}
