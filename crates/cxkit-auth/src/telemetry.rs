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
//! - the metrics `http.client.request.duration` (histogram, `s`, the conventions' buckets),
//!   `http.client.request.body.size` and `http.client.response.body.size` (`By`, where the size
//!   is known) and `http.client.active_requests` (up-down counter, `{request}`).
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
    /// The span names of each operation, `{system}.{operationId}` and `{METHOD} {template}`,
    /// made once (by the address of its `'static` table entry) and kept for the process: the
    /// generated tables are finite, and a call then builds its spans without formatting.
    names: RwLock<HashMap<usize, (&'static str, &'static str)>>,
    tracer: BoxedTracer,
    meter: Meter,
    duration: Histogram<f64>,
    request_body: Histogram<u64>,
    response_body: Histogram<u64>,
    active: UpDownCounter<i64>,
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
        let request_body = meter
            .u64_histogram("http.client.request.body.size")
            .with_unit("By")
            .with_description("Size of HTTP client request bodies.")
            .build();
        let response_body = meter
            .u64_histogram("http.client.response.body.size")
            .with_unit("By")
            .with_description("Size of HTTP client response bodies.")
            .build();
        let active = meter
            .i64_up_down_counter("http.client.active_requests")
            .with_unit("{request}")
            .with_description("Number of active HTTP requests.")
            .build();
        Telemetry {
            inner: Arc::new(Instruments {
                names: RwLock::default(),
                tracer,
                meter,
                duration,
                request_body,
                response_body,
                active,
            }),
        }
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

impl Instruments {
    /// The span names of `operation` (see the `names` field).
    fn names(
        &self,
        api: &'static str,
        operation: &'static OperationDef,
        method: &'static str,
    ) -> (&'static str, &'static str) {
        let key = std::ptr::from_ref(operation) as usize;
        if let Some(names) = self
            .names
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return *names;
        }
        let names: (&'static str, &'static str) = (
            Box::leak(format!("{api}.{}", operation.id).into_boxed_str()),
            Box::leak(format!("{method} {}", operation.path).into_boxed_str()),
        );
        *self
            .names
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_insert(names)
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
    /// The operation span's context: the parent of every attempt's span, and what the rest of
    /// the call (a replay's token refresh) runs in.
    cx: Context,
    method: &'static str,
    template: Option<&'static str>,
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
    span: BoxedSpan,
    started: Instant,
    request_body: Option<u64>,
    /// `http.request.method`, `server.address`, `server.port` and `url.template`: the active
    /// count's attributes, and the start of every other metric's.
    attributes: Vec<KeyValue>,
    active: UpDownCounter<i64>,
}

impl Drop for Attempt {
    fn drop(&mut self) {
        self.active.add(-1, &self.attributes);
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
        let template = operation.map(|op| op.path);
        let (name, client_name): (Cow<'static, str>, Cow<'static, str>) = match operation {
            Some(op) => {
                let (name, client) = inner.names(api, op, method);
                (name.into(), client.into())
            }
            None => (format!("{api}.{operation_id}").into(), method.into()),
        };
        let parent = Context::current();
        let mut span = inner.tracer.build_with_context(
            SpanBuilder::from_name(name).with_kind(SpanKind::Internal),
            &parent,
        );
        let recording = span.is_recording();
        if recording {
            span.set_attribute(KeyValue::new("cxkit.api", api));
            span.set_attribute(KeyValue::new(
                "cxkit.operation_id",
                match operation {
                    Some(op) => Cow::Borrowed(op.id),
                    None => Cow::Owned(operation_id.to_owned()),
                },
            ));
            span.set_attribute(KeyValue::new("http.request.method", method));
            if let Some(template) = template {
                span.set_attribute(KeyValue::new("url.template", template));
            }
        }
        CallTelemetry {
            cx: parent.with_span(span),
            propagate: !handle.propagate_to.is_empty()
                && handle
                    .propagate_to
                    .iter()
                    .any(|origin| origin.matches(request.url())),
            inner,
            method,
            template,
            client_name,
            recording,
            sent: AtomicU32::new(0),
            attempt: Mutex::new(None),
        }
    }

    /// The operation span's context, for what the call does after its first answer.
    pub(crate) fn context(&self) -> &Context {
        &self.cx
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
        let host = url.host_str().unwrap_or_default().to_owned();
        let port = url.port_or_known_default().map_or(0, i64::from);
        let mut attributes = Vec::with_capacity(6);
        attributes.push(KeyValue::new("http.request.method", self.method));
        attributes.push(KeyValue::new("server.address", host));
        attributes.push(KeyValue::new("server.port", port));
        if let Some(template) = self.template {
            attributes.push(KeyValue::new("url.template", template));
        }
        let mut builder =
            SpanBuilder::from_name(self.client_name.clone()).with_kind(SpanKind::Client);
        if self.recording {
            // Given whole to the builder: one move, not a call per attribute.
            let mut span_attributes = Vec::with_capacity(attributes.len() + 2);
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
        let span = self.inner.tracer.build_with_context(builder, &self.cx);
        if self.propagate {
            inject(span.span_context(), request);
        }
        let request_body = request
            .body()
            .and_then(|b| b.as_bytes())
            .map(|b| b.len() as u64);
        self.inner.active.add(1, &attributes);
        *self.attempt() = Some(Attempt {
            span,
            started: Instant::now(),
            request_body,
            attributes,
            active: self.inner.active.clone(),
        });
    }

    /// An attempt's answer (or failure) came: its span ends with the status or error, and its
    /// duration and body sizes are recorded.
    pub(crate) fn answered(&self, result: &reqwest::Result<Response>, redirected: bool) {
        let Some(mut attempt) = self.attempt().take() else {
            return;
        };
        let elapsed = attempt.started.elapsed().as_secs_f64();
        let mut attributes = attempt.attributes.clone();
        let (status, error) = outcome(result, redirected);
        if let Some(status) = status {
            attributes.push(KeyValue::new(
                "http.response.status_code",
                i64::from(status),
            ));
        }
        if let Some(error) = error.clone() {
            attributes.push(KeyValue::new("error.type", error));
        }
        if let Some(status) = status
            && self.recording
        {
            attempt.span.set_attribute(KeyValue::new(
                "http.response.status_code",
                i64::from(status),
            ));
        }
        if let Some(error) = error {
            if self.recording {
                attempt
                    .span
                    .set_attribute(KeyValue::new("error.type", error.clone()));
            }
            attempt.span.set_status(Status::error(error));
        }
        attempt.span.end();
        self.inner.duration.record(elapsed, &attributes);
        if let Some(size) = attempt.request_body {
            self.inner.request_body.record(size, &attributes);
        }
        if let Ok(response) = result
            && let Some(size) = response.content_length()
        {
            self.inner.response_body.record(size, &attributes);
        }
    }

    /// The call ends: the operation span takes the last answer's status (or the failure) and
    /// ends.
    pub(crate) fn finish(&self, result: &reqwest::Result<Response>) {
        let span = self.cx.span();
        let (status, error) = outcome(result, false);
        if let Some(status) = status {
            span.set_attribute(KeyValue::new(
                "http.response.status_code",
                i64::from(status),
            ));
        }
        if let Some(error) = error {
            span.set_attribute(KeyValue::new("error.type", error.clone()));
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
