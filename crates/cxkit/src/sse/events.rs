//! "Stream Agent Response (SSE)" and "Stream Workflow Response (SSE)": the answer as a
//! [`Stream`] of typed events.
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

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use cxkit_ejento_platform::types::{
    AgentArtifact, AgentResponseResult, AgentStreamEvent, AgentStreamFile, AgentStreamTodo,
};
use futures::{Stream, StreamExt as _};

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
    fn decode(data: &str) -> Result<Self> {
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

/// What a streamed answer amounts to once its events are folded together: what the vendor's
/// own client keeps of an answer (the text, the thought process, a deep agent's plan and files,
/// the artifacts and the guardrail flags). [`AnswerStream::collect_answer`] folds a whole
/// stream; an application that renders progressively can call [`StreamedAnswer::apply`] on each
/// event it shows and read the state at any point.
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

/// An incremental `text/event-stream` parser that keeps only the `data` of each event (the
/// vendor sends no event names or ids). Each byte is scanned for a line end once (`memchr`), so
/// a single huge line costs linear time, and an event's size is checked as it grows.
///
/// An event whose data is one line (every frame the vendor sends) is returned as a slice of the
/// receive buffer, without a copy or an allocation; the data of a multi-line event, or of a line
/// that was still in the buffer when the next chunk arrived, is gathered in one reused string.
#[derive(Debug)]
pub struct Parser {
    /// Received bytes; `buf[start..]` is not consumed yet, and `buf[scanned..]` has not been
    /// searched for a line end yet.
    buf: Vec<u8>,
    start: usize,
    scanned: usize,
    /// The data of the event being built.
    data: Data,
    /// Where the data of an event of more than one line (or of a line no longer in `buf`) is
    /// joined by `\n`; cleared, never freed, between events.
    joined: String,
    /// A `\r` ended the last line: a `\n` right after it belongs to that line end.
    after_cr: bool,
    at_start: bool,
    max_event_bytes: u64,
}

/// The data of the event being built.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Data {
    /// No `data` line yet.
    None,
    /// One `data` line, whose value is `buf[from..to]` (already checked to be UTF-8).
    Line { from: usize, to: usize },
    /// In `joined`.
    Joined,
}

impl Parser {
    /// A parser whose events may hold at most `max_event_bytes` of data (and unfinished line).
    pub fn new(max_event_bytes: u64) -> Self {
        Parser {
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            data: Data::None,
            joined: String::new(),
            after_cr: false,
            at_start: true,
            max_event_bytes,
        }
    }

    /// Adds received bytes. Consumed bytes are dropped here, once per chunk, so that moving the
    /// unconsumed tail costs at most what the chunk brought; an event's one data line, if it is
    /// among them, moves to `joined` first (once: then the event's data is there).
    pub fn push(&mut self, chunk: &[u8]) {
        if self.start > 0 {
            if let Data::Line { from, to } = self.data {
                self.joined.clear();
                self.joined.push_str(line_str(&self.buf[from..to]));
                self.data = Data::Joined;
            }
            if self.start == self.buf.len() {
                self.buf.clear();
            } else {
                self.buf.drain(..self.start);
            }
            self.scanned -= self.start;
            self.start = 0;
        }
        self.buf.extend_from_slice(chunk);
        if self.at_start && self.buf.len() >= 3 {
            if self.buf.starts_with(b"\xEF\xBB\xBF") {
                self.start = 3;
                self.scanned = self.scanned.max(3);
            }
            self.at_start = false;
        }
    }

    /// The data of the next complete event, if the buffer holds one; an error once the event
    /// being built (its data so far and its unfinished line) passes the cap. The data is
    /// borrowed from the parser until the next call.
    pub fn next_data(&mut self) -> Option<Result<&str>> {
        loop {
            if self.after_cr && self.start < self.buf.len() {
                if self.buf[self.start] == b'\n' {
                    self.start += 1;
                    self.scanned = self.scanned.max(self.start);
                }
                self.after_cr = false;
            }
            let from = self.scanned.max(self.start);
            let Some(end) = memchr::memchr2(b'\n', b'\r', &self.buf[from..]).map(|i| from + i)
            else {
                self.scanned = self.buf.len();
                let unfinished = self.buf.len() - self.start;
                if (self.data_len() + unfinished) as u64 > self.max_event_bytes {
                    return Some(Err(self.too_large()));
                }
                return None;
            };
            let mut next = end + 1;
            if self.buf[end] == b'\r' {
                match self.buf.get(next) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            let line_start = self.start;
            self.start = next;
            self.scanned = next;
            // A byte-order mark counts only at the very start of the stream.
            self.at_start = false;
            let line = &self.buf[line_start..end];
            if line.is_empty() {
                match std::mem::replace(&mut self.data, Data::None) {
                    Data::None => continue,
                    Data::Line { from, to } => return Some(Ok(line_str(&self.buf[from..to]))),
                    Data::Joined => return Some(Ok(&self.joined)),
                }
            }
            if std::str::from_utf8(line).is_err() {
                return Some(Err(Error::Decode {
                    message: "the event stream is malformed: not UTF-8".into(),
                }));
            }
            if line[0] == b':' {
                continue;
            }
            let (field, mut value) = match memchr::memchr(b':', line) {
                Some(colon) => (&line[..colon], line_start + colon + 1),
                None => (line, end),
            };
            if field != b"data" {
                continue;
            }
            if self.buf.get(value) == Some(&b' ') && value < end {
                value += 1;
            }
            match self.data {
                Data::None => {
                    self.data = Data::Line {
                        from: value,
                        to: end,
                    }
                }
                Data::Line { from, to } => {
                    self.joined.clear();
                    self.joined.push_str(line_str(&self.buf[from..to]));
                    self.joined.push('\n');
                    self.joined.push_str(line_str(&self.buf[value..end]));
                    self.data = Data::Joined;
                }
                Data::Joined => {
                    self.joined.push('\n');
                    self.joined.push_str(line_str(&self.buf[value..end]));
                }
            }
            if self.data_len() as u64 > self.max_event_bytes {
                return Some(Err(self.too_large()));
            }
        }
    }

    /// The size of the event's data so far.
    fn data_len(&self) -> usize {
        match self.data {
            Data::None => 0,
            Data::Line { from, to } => to - from,
            Data::Joined => self.joined.len(),
        }
    }

    fn too_large(&self) -> Error {
        Error::ResponseTooLarge {
            limit: self.max_event_bytes,
            setting: "HttpConfig::max_event_bytes",
        }
    }
}

/// A part of a line already checked to be UTF-8 (a whole line, or what follows its first `:`
/// or the one space after it, which cannot split a character).
fn line_str(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
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

    /// Every event's data from `input` fed in `cuts` pieces, or the first error.
    fn parse_in_pieces(input: &[u8], cuts: &[usize], cap: u64) -> Result<Vec<String>> {
        let mut parser = Parser::new(cap);
        let mut out = Vec::new();
        let mut at = 0;
        let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        bounds.sort_unstable();
        bounds.push(input.len());
        for end in bounds {
            parser.push(&input[at..end.max(at)]);
            at = end.max(at);
            while let Some(data) = parser.next_data() {
                out.push(data?.to_owned());
            }
        }
        Ok(out)
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

    #[test]
    fn line_endings_comments_and_multi_line_data_follow_the_standard() {
        let input =
            b"\xEF\xBB\xBF: comment\r\ndata: a\r\ndata:b\r\rdata: c\n\nevent: x\nid: 1\n\ndata\n\n";
        for cut in 0..input.len() {
            assert_eq!(
                parse_in_pieces(input, &[cut], 1024).unwrap(),
                ["a\nb", "c", ""],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn an_event_past_the_cap_is_a_typed_error() {
        let big = format!("data: {}", "x".repeat(100));
        let err = parse_in_pieces(big.as_bytes(), &[10, 50], 64).unwrap_err();
        assert!(
            matches!(err, Error::ResponseTooLarge { limit: 64, .. }),
            "{err:?}"
        );
        // Many small events add up to more than the cap without being one large event.
        let many = "data: 0123456789\n\n".repeat(100);
        assert_eq!(
            parse_in_pieces(many.as_bytes(), &[7], 64).unwrap().len(),
            100
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn any_input_in_any_pieces_never_panics(
                input in proptest::collection::vec(any::<u8>(), 0..400),
                cuts in proptest::collection::vec(any::<usize>(), 0..8),
                cap in 1u64..512,
            ) {
                let _ = parse_in_pieces(&input, &cuts, cap);
            }

            #[test]
            fn how_the_body_is_cut_never_changes_the_events(
                datas in proptest::collection::vec("[^\r\n]{0,40}", 1..8),
                ending in prop::sample::select(vec!["\n", "\r\n", "\r"]),
                cuts in proptest::collection::vec(any::<usize>(), 0..8),
            ) {
                let input: String = datas
                    .iter()
                    .map(|d| format!(": keep-alive{ending}data: {d}{ending}{ending}"))
                    .collect();
                let whole = parse_in_pieces(input.as_bytes(), &[], 1 << 20).unwrap();
                prop_assert_eq!(&whole, &datas);
                prop_assert_eq!(parse_in_pieces(input.as_bytes(), &cuts, 1 << 20).unwrap(), whole);
            }
        }
    }
}
