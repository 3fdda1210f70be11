//! OpenTelemetry spans and metrics (the `otel` feature; everything here is a no-op without it,
//! and no OpenTelemetry crate is compiled).
//!
//! Give the shared [`crate::Config`] a `Telemetry` (`ConfigBuilder::telemetry`) and every
//! client built from it reports, by the OpenTelemetry semantic conventions:
//!
//! - per call, an `INTERNAL` span `{system}.{operationId}` and a `CLIENT` span per attempt
//!   `{METHOD} {url.template}`, with the HTTP client metric `http.client.request.duration`
//!   (and, with `Telemetry::with_development_metrics`, the body sizes and
//!   `http.client.active_requests`); see `cxkit_auth::telemetry`;
//! - per token refresh or first mint, an `INTERNAL` span `cxkit.token.refresh` and the metrics
//!   `cxkit.token.refreshes` (`{refresh}`), `cxkit.token.refresh.duration` (`s`) and
//!   `cxkit.token.refresh.waiters` (`{caller}`: callers that found a refresh under way and
//!   waited for it instead of starting their own, the single flight made visible);
//! - per streamed answer, an `INTERNAL` span `invoke_agent` (or `invoke_workflow`) around the
//!   request and the stream, with `cxkit.sse.time_to_first_event` (`s`) and
//!   `cxkit.sse.event_count`, and the GenAI client metrics
//!   `gen_ai.client.operation.duration`, `gen_ai.client.operation.time_to_first_chunk` and
//!   `gen_ai.client.operation.time_per_output_chunk` (`s`, the conventions' buckets). The
//!   answer stream's events carry no token counts, so `gen_ai.client.token.usage` is not
//!   reported.
//!
//! No attribute carries a secret: URLs are scrubbed as every URL cxkit prints, and no header,
//! body, token, key or server text is ever an attribute.

#[cfg(feature = "otel")]
pub use cxkit_auth::telemetry::{HTTP_DURATION_BUCKETS, SCOPE_NAME, Telemetry};

use cxkit_auth::AuthBuilder;

use crate::Config;
#[cfg(feature = "ejento")]
use crate::cache::TokenCache;

/// Gives an auth handle the configuration's telemetry and, when propagation is on, the origins
/// of `bases` (the handle's configured base URLs) to send `traceparent` to.
#[cfg_attr(not(feature = "otel"), inline(always))]
#[cfg_attr(not(feature = "otel"), allow(unused_variables))]
pub(crate) fn attach(builder: AuthBuilder, config: &Config, bases: &[&str]) -> AuthBuilder {
    #[cfg(feature = "otel")]
    if let Some(telemetry) = config.telemetry() {
        let mut builder = builder.telemetry(telemetry.clone());
        if config.propagates_trace_context() {
            for base in bases.iter().filter_map(|b| url::Url::parse(b).ok()) {
                builder = builder.propagate_trace_context_to(&base);
            }
        }
        return builder;
    }
    builder
}

/// A token cache that reports its refreshes to the configuration's telemetry.
#[cfg(feature = "ejento")]
#[cfg_attr(not(feature = "otel"), inline(always))]
#[cfg_attr(not(feature = "otel"), allow(unused_variables))]
pub(crate) fn cache_with(cache: TokenCache, config: &Config) -> TokenCache {
    #[cfg(feature = "otel")]
    if let Some(instruments) = config.instruments() {
        return cache.with_telemetry(instruments.clone());
    }
    cache
}

#[cfg(feature = "otel")]
pub(crate) use on::Instruments;
#[cfg(all(feature = "otel", feature = "ejento"))]
pub(crate) use on::StreamWatch;

#[cfg(all(not(feature = "otel"), feature = "ejento"))]
pub(crate) use off::StreamWatch;

#[cfg(all(not(feature = "otel"), feature = "ejento"))]
mod off {
    use crate::Config;
    use crate::sse::AnswerStream;

    /// Without the `otel` feature: nothing, at no cost.
    #[derive(Debug)]
    pub(crate) struct StreamWatch;

    impl StreamWatch {
        #[inline(always)]
        pub(crate) fn start(_: &Config, _: &'static str, _: i64) -> Self {
            StreamWatch
        }

        #[inline(always)]
        pub(crate) fn sending<F: Future>(&mut self, send: F) -> F {
            send
        }

        #[inline(always)]
        pub(crate) fn watch(self, stream: AnswerStream) -> AnswerStream {
            stream
        }
    }
}

#[cfg(feature = "otel")]
mod on {
    use std::time::Instant;

    use opentelemetry::metrics::{Counter, Histogram};
    use opentelemetry::trace::{
        FutureExt as _, SpanBuilder, SpanKind, Status, TraceContextExt as _, Tracer as _,
    };
    use opentelemetry::{Context, KeyValue};

    use super::Telemetry;
    use crate::{Error, Result};
    #[cfg(feature = "ejento")]
    use {
        crate::Config,
        crate::sse::{AnswerStream, StreamEvent},
        futures::Stream,
        std::pin::Pin,
        std::sync::Arc,
        std::task::{Context as TaskContext, Poll},
    };

    /// The GenAI conventions' buckets for `gen_ai.client.operation.duration` and the time to
    /// the first chunk.
    pub(crate) const GEN_AI_DURATION_BUCKETS: [f64; 14] = [
        0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
    ];
    /// The GenAI conventions' buckets for the time per output chunk.
    pub(crate) const GEN_AI_CHUNK_BUCKETS: [f64; 13] = [
        0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
    ];

    /// The facade's instruments, built once per configuration.
    #[cfg_attr(not(feature = "ejento"), allow(dead_code))]
    pub(crate) struct Instruments {
        pub(crate) telemetry: Telemetry,
        refreshes: Counter<u64>,
        refresh_duration: Histogram<f64>,
        waiters: Counter<u64>,
        operation_duration: Histogram<f64>,
        time_to_first_chunk: Histogram<f64>,
        time_per_output_chunk: Histogram<f64>,
    }

    impl std::fmt::Debug for Instruments {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Instruments").finish_non_exhaustive()
        }
    }

    /// `error.type` of a failed refresh or stream: the error's kind, never its text.
    fn error_type(error: &Error) -> &'static str {
        match error {
            Error::ReauthRequired { .. } => "reauth_required",
            Error::InvalidCredentials { .. } => "invalid_credentials",
            Error::Transient { .. } => "transient",
            Error::Api { .. } => "api",
            Error::Config { .. } => "config",
            Error::Decode { .. } => "decode",
            Error::ResponseTooLarge { .. } => "response_too_large",
            #[allow(unreachable_patterns)]
            _ => "_OTHER",
        }
    }

    impl Instruments {
        pub(crate) fn new(telemetry: Telemetry) -> Self {
            let meter = telemetry.meter();
            Instruments {
                refreshes: meter
                    .u64_counter("cxkit.token.refreshes")
                    .with_unit("{refresh}")
                    .with_description("Token refreshes and first mints, by outcome.")
                    .build(),
                refresh_duration: meter
                    .f64_histogram("cxkit.token.refresh.duration")
                    .with_unit("s")
                    .with_description("Duration of token refreshes and first mints.")
                    .with_boundaries(cxkit_auth::telemetry::HTTP_DURATION_BUCKETS.to_vec())
                    .build(),
                waiters: meter
                    .u64_counter("cxkit.token.refresh.waiters")
                    .with_unit("{caller}")
                    .with_description(
                        "Callers that found a token refresh under way and waited for it.",
                    )
                    .build(),
                operation_duration: meter
                    .f64_histogram("gen_ai.client.operation.duration")
                    .with_unit("s")
                    .with_description("GenAI operation duration.")
                    .with_boundaries(GEN_AI_DURATION_BUCKETS.to_vec())
                    .build(),
                time_to_first_chunk: meter
                    .f64_histogram("gen_ai.client.operation.time_to_first_chunk")
                    .with_unit("s")
                    .with_description("Time to receive the first chunk of a streamed answer.")
                    .with_boundaries(GEN_AI_DURATION_BUCKETS.to_vec())
                    .build(),
                time_per_output_chunk: meter
                    .f64_histogram("gen_ai.client.operation.time_per_output_chunk")
                    .with_unit("s")
                    .with_description("Time per output chunk after the first one.")
                    .with_boundaries(GEN_AI_CHUNK_BUCKETS.to_vec())
                    .build(),
                telemetry,
            }
        }

        /// A caller found a refresh under way and waits for it.
        pub(crate) fn waited(&self) {
            self.waiters.add(1, &[]);
        }

        /// Runs a refresh (`mint`: the first tokens of a credential that needs no login) in its
        /// span, the child of the current context, and records it.
        pub(crate) async fn refresh<T>(
            &self,
            mint: bool,
            refresh: impl Future<Output = Result<T>>,
        ) -> Result<T> {
            let kind = if mint { "mint" } else { "refresh" };
            let parent = Context::current();
            let span = self.telemetry.tracer().build_with_context(
                SpanBuilder::from_name("cxkit.token.refresh")
                    .with_kind(SpanKind::Internal)
                    .with_attributes([KeyValue::new("cxkit.token.operation", kind)]),
                &parent,
            );
            let cx = parent.with_span(span);
            let started = Instant::now();
            let result = refresh.with_context(cx.clone()).await;
            let mut attributes = vec![KeyValue::new("cxkit.token.operation", kind)];
            if let Err(error) = &result {
                let error = error_type(error);
                attributes.push(KeyValue::new("error.type", error));
                cx.span().set_attribute(KeyValue::new("error.type", error));
                cx.span().set_status(Status::error(error));
            }
            cx.span().end();
            self.refresh_duration
                .record(started.elapsed().as_secs_f64(), &attributes);
            self.refreshes.add(1, &attributes);
            result
        }
    }

    #[cfg(feature = "ejento")]
    /// The telemetry of one streamed answer: its span (from the request on) and its GenAI
    /// metrics.
    #[derive(Debug)]
    pub(crate) struct StreamWatch {
        state: Option<Watched>,
    }

    #[cfg(feature = "ejento")]
    struct Watched {
        instruments: Arc<Instruments>,
        cx: Context,
        operation: &'static str,
        started: Instant,
        events: u64,
        first_event: bool,
        last_chunk: Option<Instant>,
        ended: bool,
    }

    #[cfg(feature = "ejento")]
    impl std::fmt::Debug for Watched {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Watched").finish_non_exhaustive()
        }
    }

    #[cfg(feature = "ejento")]
    impl StreamWatch {
        /// Starts the span of a streamed answer of `operation` (`stream_agent_response` or
        /// `stream_workflow_response`) for the agent or workflow `id`.
        pub(crate) fn start(config: &Config, operation: &'static str, id: i64) -> Self {
            let Some(instruments) = config.instruments() else {
                return StreamWatch { state: None };
            };
            let (name, id_key) = match operation {
                "stream_workflow_response" => ("invoke_workflow", "cxkit.workflow.id"),
                _ => ("invoke_agent", "gen_ai.agent.id"),
            };
            let parent = Context::current();
            let span = instruments.telemetry.tracer().build_with_context(
                SpanBuilder::from_name(name)
                    .with_kind(SpanKind::Internal)
                    .with_attributes([
                        KeyValue::new("gen_ai.operation.name", name),
                        KeyValue::new("gen_ai.provider.name", "ejento"),
                        KeyValue::new(id_key, id.to_string()),
                        KeyValue::new("cxkit.operation_id", operation),
                    ]),
                &parent,
            );
            StreamWatch {
                state: Some(Watched {
                    instruments: instruments.clone(),
                    cx: parent.with_span(span),
                    operation: name,
                    started: Instant::now(),
                    events: 0,
                    first_event: true,
                    last_chunk: None,
                    ended: false,
                }),
            }
        }

        /// Sends the request within the stream's span, so that the call's spans are its
        /// children.
        pub(crate) async fn sending<T>(
            &mut self,
            send: impl Future<Output = Result<T>>,
        ) -> Result<T> {
            let Some(state) = &mut self.state else {
                return send.await;
            };
            let result = send.with_context(state.cx.clone()).await;
            if let Err(error) = &result {
                state.end(Some(error_type(error)));
            }
            result
        }

        /// The answer's events, counted and timed as they pass.
        pub(crate) fn watch(self, stream: AnswerStream) -> AnswerStream {
            match self.state {
                Some(state) => stream.map_events(|events| Box::pin(Watching { events, state })),
                None => stream,
            }
        }
    }

    #[cfg(feature = "ejento")]
    impl Watched {
        fn attributes(&self, error: Option<&'static str>) -> Vec<KeyValue> {
            let mut attributes = vec![
                KeyValue::new("gen_ai.operation.name", self.operation),
                KeyValue::new("gen_ai.provider.name", "ejento"),
            ];
            if let Some(error) = error {
                attributes.push(KeyValue::new("error.type", error));
            }
            attributes
        }

        fn seen(&mut self, event: &StreamEvent) {
            let now = Instant::now();
            self.events += 1;
            if self.first_event {
                self.first_event = false;
                self.cx.span().set_attribute(KeyValue::new(
                    "cxkit.sse.time_to_first_event",
                    (now - self.started).as_secs_f64(),
                ));
            }
            if let StreamEvent::AnswerDelta(_) = event {
                let attributes = self.attributes(None);
                match self.last_chunk {
                    None => self
                        .instruments
                        .time_to_first_chunk
                        .record((now - self.started).as_secs_f64(), &attributes),
                    Some(last) => self
                        .instruments
                        .time_per_output_chunk
                        .record((now - last).as_secs_f64(), &attributes),
                }
                self.last_chunk = Some(now);
            }
        }

        fn end(&mut self, error: Option<&'static str>) {
            if std::mem::replace(&mut self.ended, true) {
                return;
            }
            let span = self.cx.span();
            span.set_attribute(KeyValue::new(
                "cxkit.sse.event_count",
                i64::try_from(self.events).unwrap_or(i64::MAX),
            ));
            if let Some(error) = error {
                span.set_attribute(KeyValue::new("error.type", error));
                span.set_status(Status::error(error));
            }
            span.end();
            self.instruments.operation_duration.record(
                self.started.elapsed().as_secs_f64(),
                &self.attributes(error),
            );
        }
    }

    #[cfg(feature = "ejento")]
    impl Drop for Watched {
        fn drop(&mut self) {
            // Dropped before its end: the caller stopped reading.
            self.end(Some("cancelled"));
        }
    }

    #[cfg(feature = "ejento")]
    type Events = Pin<Box<dyn Stream<Item = Result<StreamEvent>> + Send>>;

    #[cfg(feature = "ejento")]
    struct Watching {
        events: Events,
        state: Watched,
    }

    #[cfg(feature = "ejento")]
    impl Stream for Watching {
        type Item = Result<StreamEvent>;

        fn poll_next(
            mut self: Pin<&mut Self>,
            cx: &mut TaskContext<'_>,
        ) -> Poll<Option<Self::Item>> {
            let this = &mut *self;
            let polled = this.events.as_mut().poll_next(cx);
            match &polled {
                Poll::Ready(Some(Ok(event))) => {
                    this.state.seen(event);
                    match event {
                        StreamEvent::End { success: true, .. } => this.state.end(None),
                        StreamEvent::End { .. } => this.state.end(Some("unsuccessful")),
                        StreamEvent::Error { .. } => this.state.end(Some("stream_error")),
                        _ => {}
                    }
                }
                Poll::Ready(Some(Err(error))) => this.state.end(Some(error_type(error))),
                Poll::Ready(None) => this.state.end(Some("cut_off")),
                Poll::Pending => {}
            }
            polled
        }
    }
}
