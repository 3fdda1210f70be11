//! OpenTelemetry spans and metrics by the semantic conventions (the `otel` feature).
//!
//! A handle given a [`Telemetry`] ([`crate::AuthBuilder::telemetry`]) instruments every call
//! [`crate::hooks::exec`] sends:
//!
//! - an `INTERNAL` span per operation, `{system}.{operationId}` (e.g.
//!   `ejento-platform.get_agent`), the child of the caller's current OpenTelemetry context;
//! - under it, a `CLIENT` span per attempt (retries and the replay after a 401 each get one),
//!   named `{METHOD} {url.template}` with `http.request.method`, `server.address`,
//!   `server.port`, `url.full` (scrubbed like every URL cxkit prints: user info, credential
//!   query and matrix values, path secrets and live secrets replaced by `REDACTED`),
//!   `url.template`, `http.response.status_code`, `error.type` on failure and
//!   `http.request.resend_count` from the second attempt on; a 4xx or 5xx answer or a failed
//!   transfer marks it (and the operation span) as an error;
//! - the stable metric `http.client.request.duration` (histogram, `s`, the conventions'
//!   buckets); with [`Telemetry::with_development_metrics`], also those the conventions still
//!   have in development: `http.client.request.body.size` and `http.client.response.body.size`
//!   (`By`, where the size is known) and `http.client.active_requests` (up-down counter,
//!   `{request}`).
//!
//! With propagation on ([`crate::AuthBuilder::propagate_trace_context_to`]), each attempt
//! carries a W3C `traceparent` (and `tracestate`) header naming its `CLIENT` span, to the
//! origins the handle was given and no other. (The W3C propagator of the OpenTelemetry SDK is
//! not used: the API crate has none, and a library must not depend on the SDK; the header is
//! the four fields of the W3C Trace Context recommendation.)
//!
//! Nothing here is built without the feature, and a handle without a [`Telemetry`] pays one
//! `None` check per call.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Instant;

use opentelemetry::global::{BoxedSpan, BoxedTracer, ObjectSafeTracerProvider};
use opentelemetry::metrics::{Histogram, Meter, MeterProvider, UpDownCounter};
use opentelemetry::trace::{
    Span as _, SpanBuilder, SpanKind, Status, TraceContextExt as _, Tracer as _,
};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Request, Response};
use url::Url;

use crate::OperationDef;

pub use opentelemetry;

/// The instrumentation scope cxkit's spans and metrics are reported under.
pub const SCOPE_NAME: &str = "cxkit";

/// The bucket boundaries the HTTP semantic conventions give `http.client.request.duration`.
pub const HTTP_DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// Where cxkit reports its spans and metrics: a tracer and a meter, taken from the providers
/// an application configured (or the global ones). Cheap to clone (one `Arc`); build it once and
/// give it to the configuration every client shares (`cxkit::ConfigBuilder::telemetry`).
#[derive(Clone)]
pub struct Telemetry {
    inner: Arc<Instruments>,
}

impl fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telemetry").finish_non_exhaustive()
    }
}

struct Instruments {
    tracer: BoxedTracer,
    meter: Meter,
    duration: Histogram<f64>,
    /// The HTTP metrics whose conventions are still in development, when asked for
    /// ([`Telemetry::with_development_metrics`]).
    development: std::sync::OnceLock<DevelopmentMetrics>,
    /// Whether the tracer has shown itself a no-op: it made a root span with no valid context,
    /// which an SDK never does while it runs. From then on a call with nothing to propagate
    /// builds no span at all. (Asking it up front would take a span, which an SDK exports.)
    noop_tracer: std::sync::atomic::AtomicBool,
}

/// `http.client.request.body.size`, `http.client.response.body.size` and
/// `http.client.active_requests`: in the conventions' "Development" stability, so reported on
/// request (as OpenTelemetry's Java instrumentation reports them only with its experimental
/// switch); each adds a measurement or two to every attempt.
struct DevelopmentMetrics {
    request_body: Histogram<u64>,
    response_body: Histogram<u64>,
    active: UpDownCounter<i64>,
}

impl DevelopmentMetrics {
    fn new(meter: &Meter) -> Self {
        DevelopmentMetrics {
            request_body: meter
                .u64_histogram("http.client.request.body.size")
                .with_unit("By")
                .with_description("Size of HTTP client request bodies.")
                .build(),
            response_body: meter
                .u64_histogram("http.client.response.body.size")
                .with_unit("By")
                .with_description("Size of HTTP client response bodies.")
                .build(),
            active: meter
                .i64_up_down_counter("http.client.active_requests")
                .with_unit("{request}")
                .with_description("Number of active HTTP requests.")
                .build(),
        }
    }
}

fn scope() -> InstrumentationScope {
    InstrumentationScope::builder(SCOPE_NAME)
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

impl Telemetry {
    /// Reports to these providers (an SDK's `SdkTracerProvider` and `SdkMeterProvider`, say).
    pub fn new<T, M>(tracer_provider: &T, meter_provider: &M) -> Self
    where
        T: ObjectSafeTracerProvider,
        M: MeterProvider,
    {
        Self::from_parts(
            BoxedTracer::new(tracer_provider.boxed_tracer(scope())),
            meter_provider.meter_with_scope(scope()),
        )
    }

    /// Reports to the global providers (`opentelemetry::global::set_tracer_provider` and
    /// `set_meter_provider`), as they are set when this is called: set them first.
    pub fn global() -> Self {
        Self::from_parts(
            opentelemetry::global::tracer_with_scope(scope()),
            opentelemetry::global::meter_with_scope(scope()),
        )
    }

    fn from_parts(tracer: BoxedTracer, meter: Meter) -> Self {
        let duration = meter
            .f64_histogram("http.client.request.duration")
            .with_unit("s")
            .with_description("Duration of HTTP client requests.")
            .with_boundaries(HTTP_DURATION_BUCKETS.to_vec())
            .build();
        Telemetry {
            inner: Arc::new(Instruments {
                tracer,
                meter,
                duration,
                development: std::sync::OnceLock::new(),
                noop_tracer: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// Also reports the HTTP client metrics the conventions still have in development:
    /// `http.client.request.body.size` and `http.client.response.body.size` (where the size is
    /// known) and `http.client.active_requests`. Without it, calls report the stable
    /// `http.client.request.duration` alone, and each attempt costs two or three measurements
    /// less (`cargo bench -p cxkit-tests --features otel --bench telemetry` shows both). It
    /// applies to this `Telemetry` and its clones, from their next call on.
    pub fn with_development_metrics(self) -> Self {
        self.inner
            .development
            .get_or_init(|| DevelopmentMetrics::new(&self.inner.meter));
        self
    }

    /// The tracer cxkit's spans come from (the facade adds its token and stream spans).
    pub fn tracer(&self) -> &BoxedTracer {
        &self.inner.tracer
    }

    /// The meter cxkit's instruments come from.
    pub fn meter(&self) -> &Meter {
        &self.inner.meter
    }
}

/// What every call of one operation reports alike, however many [`Telemetry`] instances report
/// it: made on the operation's first call and kept for the process ([`OperationTelemetry::of`]).
struct OperationTelemetry {
    method: &'static str,
    template: &'static str,
    /// `{system}.{operationId}`, the operation span's name.
    name: &'static str,
    /// `{METHOD} {url.template}`, the attempts' span name.
    client_name: &'static str,
    /// The operation span's attributes: `cxkit.api`, `cxkit.operation_id`,
    /// `http.request.method` and `url.template`.
    span_attributes: [KeyValue; 4],
    /// The server the operation's first call went to, and an attempt's metric attributes for
    /// it ([`metric_attributes`]): a call to that server copies them (two shared strings and
    /// two numbers), one elsewhere builds its own.
    server: (Arc<str>, i64),
    server_attributes: Vec<KeyValue>,
}

impl OperationTelemetry {
    /// The operation's entry, made on its first call (by the address of its `'static` table
    /// entry). The generated tables are finite, so the entries, and the span names leaked for
    /// them (a span takes them without copying), are bounded.
    fn of(
        api: &'static str,
        op: &'static OperationDef,
        method: &'static str,
        url: &Url,
    ) -> Arc<OperationTelemetry> {
        type Entries = HashMap<usize, Arc<OperationTelemetry>, PointerHash>;
        static ENTRIES: RwLock<Option<Entries>> = RwLock::new(None);
        let key = std::ptr::from_ref(op) as usize;
        if let Some(entry) = ENTRIES
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .and_then(|entries| entries.get(&key))
        {
            return entry.clone();
        }
        ENTRIES
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(Entries::default)
            .entry(key)
            .or_insert_with(|| {
                let server = server_of(url);
                Arc::new(OperationTelemetry {
                    method,
                    template: op.path,
                    name: Box::leak(format!("{api}.{}", op.id).into_boxed_str()),
                    client_name: Box::leak(format!("{method} {}", op.path).into_boxed_str()),
                    span_attributes: [
                        KeyValue::new("cxkit.api", api),
                        KeyValue::new("cxkit.operation_id", op.id),
                        KeyValue::new("http.request.method", method),
                        KeyValue::new("url.template", op.path),
                    ],
                    server_attributes: metric_attributes(method, &server, Some(op.path)),
                    server,
                })
            })
            .clone()
    }

    /// The metric attributes of an attempt to `url` (see [`metric_attributes`]).
    fn metric_attributes(&self, url: &Url) -> Vec<KeyValue> {
        let same = url.host_str().unwrap_or_default() == &*self.server.0
            && url.port_or_known_default().map_or(0, i64::from) == self.server.1;
        if same {
            // Not `clone`, which would leave no room for the answer's attributes.
            let mut attributes = Vec::with_capacity(self.server_attributes.capacity());
            attributes.extend(self.server_attributes.iter().cloned());
            attributes
        } else {
            metric_attributes(self.method, &server_of(url), Some(self.template))
        }
    }
}

/// `server.address` (shared) and `server.port` of `url`.
fn server_of(url: &Url) -> (Arc<str>, i64) {
    (
        Arc::from(url.host_str().unwrap_or_default()),
        url.port_or_known_default().map_or(0, i64::from),
    )
}

/// An attempt's metric attributes: `http.request.method`, `server.address`, `server.port` and
/// `url.template` when there is one; with room for the answer's two (the status,
/// `error.type`), which are pushed and taken off again (see [`Attempt`]).
fn metric_attributes(
    method: &'static str,
    server: &(Arc<str>, i64),
    template: Option<&'static str>,
) -> Vec<KeyValue> {
    let mut attributes = Vec::with_capacity(6);
    attributes.extend([
        KeyValue::new("http.request.method", method),
        KeyValue::new(
            "server.address",
            opentelemetry::StringValue::from(server.0.clone()),
        ),
        KeyValue::new("server.port", server.1),
    ]);
    attributes.extend(template.map(|t| KeyValue::new("url.template", t)));
    attributes
}

/// A hasher for keys that are addresses of `'static` table entries: one multiplication
/// instead of SipHash, which guards against keys an attacker chooses.
#[derive(Clone, Copy, Default)]
struct PointerHash;

impl std::hash::BuildHasher for PointerHash {
    type Hasher = PointerHasher;

    fn build_hasher(&self) -> PointerHasher {
        PointerHasher(0)
    }
}

struct PointerHasher(u64);

impl std::hash::Hasher for PointerHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0.rotate_left(5) ^ value).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn write_usize(&mut self, value: usize) {
        self.write_u64(value as u64);
    }
}

/// One origin (`scheme://host:port`) a handle sends `traceparent` to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Origin {
    scheme: String,
    host: String,
    port: Option<u16>,
}

impl Origin {
    pub(crate) fn of(url: &Url) -> Option<Origin> {
        Some(Origin {
            scheme: url.scheme().to_owned(),
            host: url.host_str()?.to_ascii_lowercase(),
            port: url.port_or_known_default(),
        })
    }

    fn matches(&self, url: &Url) -> bool {
        url.scheme() == self.scheme
            && url
                .host_str()
                .is_some_and(|h| h.eq_ignore_ascii_case(&self.host))
            && url.port_or_known_default() == self.port
    }
}

/// A handle's telemetry: where it reports, and the origins it propagates trace context to.
#[derive(Clone, Debug)]
pub(crate) struct HandleTelemetry {
    pub(crate) telemetry: Telemetry,
    pub(crate) propagate_to: Vec<Origin>,
}

/// The telemetry of one call: its operation span, and the attempt in flight.
pub(crate) struct CallTelemetry {
    inner: Arc<Instruments>,
    /// What the operation reports on every call; `None` for a call outside the generated
    /// tables (its names are made for it).
    operation: Option<Arc<OperationTelemetry>>,
    /// The operation span's context: the parent of every attempt's span, and what the rest of
    /// the call (a replay's token refresh) runs in. `None` when the tracer is a no-op and there
    /// is no context to propagate.
    cx: Option<Context>,
    method: &'static str,
    /// The attempts' span name.
    client_name: Cow<'static, str>,
    /// Whether the operation span records: when it does not (no SDK, or not sampled), its
    /// attempts' spans are built bare, without attributes (metrics are recorded all the same).
    recording: bool,
    propagate: bool,
    /// Attempts sent so far: retries and the replay after a 401 alike are resends.
    sent: AtomicU32,
    attempt: Mutex<Option<Attempt>>,
}

/// An attempt in flight. Dropped (ended, or the call cancelled), it leaves the active count.
struct Attempt {
    /// The attempt's `CLIENT` span, when it has one (see [`CallTelemetry::sending`]).
    span: Option<BoxedSpan>,
    started: Instant,
    request_body: Option<u64>,
    /// `http.request.method`, `server.address`, `server.port` and `url.template`: the active
    /// count's attributes, and the start of every other metric's (the answer's are pushed and
    /// taken off again).
    attributes: Vec<KeyValue>,
    inner: Arc<Instruments>,
}

impl Drop for Attempt {
    fn drop(&mut self) {
        // The answer's attributes are taken off again before an attempt ends (see
        // `CallTelemetry::answered`), so these are the ones it entered with.
        if let Some(development) = self.inner.development.get() {
            development.active.add(-1, &self.attributes);
        }
    }
}

/// The method as the conventions name it: one of the known ones, or `_OTHER`.
fn method_name(method: &reqwest::Method) -> &'static str {
    use reqwest::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "_OTHER",
    }
}

/// `error.type` of a transfer that failed: a short, fixed name.
fn transfer_error(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else if error.is_body() || error.is_decode() {
        "body"
    } else if error.is_request() {
        "request"
    } else {
        "_OTHER"
    }
}

impl CallTelemetry {
    /// Starts the operation span of a call, the child of the caller's current context.
    pub(crate) fn start(
        handle: &HandleTelemetry,
        api: &'static str,
        operation_id: &str,
        operation: Option<&'static OperationDef>,
        request: &Request,
    ) -> CallTelemetry {
        let inner = handle.telemetry.inner.clone();
        let method = method_name(request.method());
        let operation = operation.map(|op| OperationTelemetry::of(api, op, method, request.url()));
        let propagate = !handle.propagate_to.is_empty()
            && handle
                .propagate_to
                .iter()
                .any(|origin| origin.matches(request.url()));
        let (cx, recording) = if !propagate && inner.noop_tracer.load(Ordering::Relaxed) {
            (None, false)
        } else {
            let (cx, recording) =
                Self::operation_span(&inner, api, operation_id, &operation, method);
            (Some(cx), recording)
        };
        CallTelemetry {
            cx,
            propagate,
            client_name: match &operation {
                Some(op) => Cow::Borrowed(op.client_name),
                None => Cow::Borrowed(method),
            },
            inner,
            operation,
            method,
            recording,
            sent: AtomicU32::new(0),
            attempt: Mutex::new(None),
        }
    }

    /// Starts the operation span, the child of the caller's current context: the context it
    /// makes, and whether the span records. A no-op tracer is noted when it shows itself.
    fn operation_span(
        inner: &Instruments,
        api: &'static str,
        operation_id: &str,
        operation: &Option<Arc<OperationTelemetry>>,
        method: &'static str,
    ) -> (Context, bool) {
        let parent = Context::current();
        let builder = match operation {
            Some(op) => SpanBuilder::from_name(op.name),
            None => SpanBuilder::from_name(format!("{api}.{operation_id}")),
        }
        .with_kind(SpanKind::Internal);
        // Whether the span records is known only once it is built; its attributes are then
        // given to the builder whole (one move), which a no-op tracer drops unread. With room
        // for the two the end adds (the status, `error.type`): the SDK keeps this vector.
        let mut attributes = Vec::with_capacity(6);
        match operation {
            Some(op) => attributes.extend(op.span_attributes.iter().cloned()),
            None => attributes.extend([
                KeyValue::new("cxkit.api", api),
                KeyValue::new("cxkit.operation_id", operation_id.to_owned()),
                KeyValue::new("http.request.method", method),
            ]),
        }
        let span = inner
            .tracer
            .build_with_context(builder.with_attributes(attributes), &parent);
        let recording = span.is_recording();
        if !recording && !span.span_context().is_valid() && !parent.has_active_span() {
            inner.noop_tracer.store(true, Ordering::Relaxed);
        }
        (parent.with_span(span), recording)
    }

    /// The path template of the operation, if it is one of the generated tables'.
    pub(crate) fn template(&self) -> Option<&'static str> {
        self.operation.as_ref().map(|op| op.template)
    }

    /// The operation span's context, for what the call does after its first answer.
    pub(crate) fn context(&self) -> Option<&Context> {
        self.cx.as_ref()
    }

    fn attempt(&self) -> MutexGuard<'_, Option<Attempt>> {
        self.attempt.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An attempt leaves: its span starts (named after the operation's path template), the
    /// active count rises, and `traceparent` goes along when the host is one the handle may
    /// tell. `url_full` gives the request's URL with its secrets scrubbed; it is called only
    /// when the span records.
    pub(crate) fn sending(&self, request: &mut Request, url_full: impl FnOnce(&Url) -> String) {
        let resends = self.sent.fetch_add(1, Ordering::Relaxed);
        let url = request.url();
        let attributes = match &self.operation {
            Some(op) => op.metric_attributes(url),
            None => metric_attributes(self.method, &server_of(url), None),
        };
        // Under an operation span that does not record (no SDK, or not sampled), the attempt's
        // would not either: it is built only when its context is to be sent.
        let parent = self
            .cx
            .as_ref()
            .filter(|_| self.recording || self.propagate);
        let span = parent.map(|parent| {
            let mut builder =
                SpanBuilder::from_name(self.client_name.clone()).with_kind(SpanKind::Client);
            if self.recording {
                // Given whole to the builder: one move, not a call per attribute; with room for
                // the answer's two (the status, `error.type`), as the SDK keeps this vector.
                let mut span_attributes = Vec::with_capacity(attributes.len() + 4);
                span_attributes.extend(attributes.iter().cloned());
                span_attributes.push(KeyValue::new("url.full", url_full(url)));
                if resends > 0 {
                    span_attributes.push(KeyValue::new(
                        "http.request.resend_count",
                        i64::from(resends),
                    ));
                }
                builder = builder.with_attributes(span_attributes);
            }
            self.inner.tracer.build_with_context(builder, parent)
        });
        if self.propagate
            && let Some(span) = &span
        {
            inject(span.span_context(), request);
        }
        let request_body = request
            .body()
            .and_then(|b| b.as_bytes())
            .map(|b| b.len() as u64);
        if let Some(development) = self.inner.development.get() {
            development.active.add(1, &attributes);
        }
        *self.attempt() = Some(Attempt {
            span,
            started: Instant::now(),
            request_body,
            attributes,
            inner: self.inner.clone(),
        });
    }

    /// An attempt's answer (or failure) came: its span ends with the status or error, and its
    /// duration and body sizes are recorded.
    pub(crate) fn answered(&self, result: &reqwest::Result<Response>, redirected: bool) {
        let Some(mut attempt) = self.attempt().take() else {
            return;
        };
        let elapsed = attempt.started.elapsed().as_secs_f64();
        let (status, error) = outcome(result, redirected);
        let base = attempt.attributes.len();
        let mut span = attempt.span.take();
        if let Some(status) = status {
            let status = KeyValue::new("http.response.status_code", i64::from(status));
            if self.recording
                && let Some(span) = span.as_mut()
            {
                span.set_attribute(status.clone());
            }
            attempt.attributes.push(status);
        }
        if let Some(error) = error {
            let error_type = KeyValue::new("error.type", error.clone());
            if let Some(span) = span.as_mut() {
                if self.recording {
                    span.set_attribute(error_type.clone());
                }
                span.set_status(Status::error(error));
            }
            attempt.attributes.push(error_type);
        }
        if let Some(mut span) = span {
            span.end();
        }
        let attributes = &attempt.attributes;
        self.inner.duration.record(elapsed, attributes);
        if let Some(development) = self.inner.development.get() {
            if let Some(size) = attempt.request_body {
                development.request_body.record(size, attributes);
            }
            if let Ok(response) = result
                && let Some(size) = response.content_length()
            {
                development.response_body.record(size, attributes);
            }
        }
        // The active count is left with the attributes it was entered with.
        attempt.attributes.truncate(base);
    }

    /// The call ends: the operation span takes the last answer's status (or the failure) and
    /// ends.
    pub(crate) fn finish(&self, result: &reqwest::Result<Response>) {
        let Some(cx) = &self.cx else {
            return;
        };
        let span = cx.span();
        let (status, error) = outcome(result, false);
        if let Some(status) = status
            && self.recording
        {
            span.set_attribute(KeyValue::new(
                "http.response.status_code",
                i64::from(status),
            ));
        }
        if let Some(error) = error {
            if self.recording {
                span.set_attribute(KeyValue::new("error.type", error.clone()));
            }
            span.set_status(Status::error(error));
        }
        span.end();
    }
}

/// `rest` run in the operation span's context `cx` (each poll attaches it), so that what it
/// starts (a token refresh before a replay) is the operation's child.
pub(crate) fn in_context<'a>(
    rest: std::pin::Pin<Box<dyn Future<Output = reqwest::Result<Response>> + Send + 'a>>,
    cx: Option<Context>,
) -> std::pin::Pin<Box<dyn Future<Output = reqwest::Result<Response>> + Send + 'a>> {
    use opentelemetry::trace::FutureExt as _;
    match cx {
        Some(cx) => Box::pin(rest.with_context(cx)),
        None => rest,
    }
}

/// The status code of an answer, and `error.type`: the status for a 4xx or 5xx, a short name
/// for a failed transfer or a refused redirect.
fn outcome(
    result: &reqwest::Result<Response>,
    redirected: bool,
) -> (Option<u16>, Option<Cow<'static, str>>) {
    match result {
        Ok(_) if redirected => (None, Some("redirect_followed".into())),
        Ok(response) => {
            let status = response.status().as_u16();
            let error = (status >= 400).then(|| Cow::Owned(status.to_string()));
            (Some(status), error)
        }
        Err(error) => (
            error.status().map(|s| s.as_u16()),
            Some(transfer_error(error).into()),
        ),
    }
}

/// Writes the W3C `traceparent` (and a non-empty `tracestate`) of `span` into the request.
fn inject(span: &opentelemetry::trace::SpanContext, request: &mut Request) {
    if !span.is_valid() {
        return;
    }
    let parent = format!(
        "00-{}-{}-{:02x}",
        span.trace_id(),
        span.span_id(),
        span.trace_flags().to_u8()
    );
    let headers = request.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&parent) {
        headers.insert(TRACEPARENT, value);
    }
    let state = span.trace_state().header();
    match HeaderValue::from_str(&state) {
        Ok(value) if !state.is_empty() => {
            headers.insert(TRACESTATE, value);
        }
        _ => {
            headers.remove(TRACESTATE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_matches_its_scheme_host_and_port_only() {
        let origin = Origin::of(&Url::parse("https://API.example.com/base/").unwrap()).unwrap();
        assert!(origin.matches(&Url::parse("https://api.example.com:443/x?y=1").unwrap()));
        assert!(!origin.matches(&Url::parse("http://api.example.com/x").unwrap()));
        assert!(!origin.matches(&Url::parse("https://api.example.com:8443/x").unwrap()));
        assert!(!origin.matches(&Url::parse("https://api.example.com.evil.test/x").unwrap()));
        assert!(!origin.matches(&Url::parse("https://other.example.com/x").unwrap()));
    }

    #[test]
    fn the_http_duration_buckets_are_the_conventions() {
        assert_eq!(HTTP_DURATION_BUCKETS.len(), 14);
        assert!(HTTP_DURATION_BUCKETS.windows(2).all(|w| w[0] < w[1]));
    }
}
