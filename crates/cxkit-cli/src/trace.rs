//! `--trace`: the command's OpenTelemetry spans (cxkit's `otel` feature) printed to stderr as
//! each one ends, one line per span: its name, kind, duration, status and attributes. Secrets
//! never appear: cxkit puts none into a span (URLs are scrubbed as everywhere else).

use std::fmt::Write as _;
use std::time::Duration;

use cxkit::Telemetry;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};

use crate::config::State;
use crate::failure::Failure;

/// Prints each span to stderr as it ends.
#[derive(Debug)]
struct Stderr;

/// One line for a span.
fn line(span: &SpanData) -> String {
    let took = span
        .end_time
        .duration_since(span.start_time)
        .unwrap_or(Duration::ZERO);
    let mut out = format!(
        "trace: {} [{:?}] {:.1} ms",
        span.name,
        span.span_kind,
        took.as_secs_f64() * 1e3
    );
    if let opentelemetry::trace::Status::Error { description } = &span.status {
        let _ = write!(out, " error({description})");
    }
    for kv in &span.attributes {
        let _ = write!(out, " {}={}", kv.key, kv.value);
    }
    out
}

impl SpanExporter for Stderr {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        for span in &batch {
            eprintln!("{}", line(span));
        }
        std::future::ready(Ok(()))
    }
}

/// Rebuilds the invocation's configuration so that its calls report their spans to stderr.
/// The providers live as long as the returned guard.
pub fn install(state: &mut State) -> Result<(SdkTracerProvider, SdkMeterProvider), Failure> {
    let tracer = SdkTracerProvider::builder()
        .with_simple_exporter(Stderr)
        .build();
    // No metric reader: `--trace` shows spans only.
    let meter = SdkMeterProvider::builder().build();
    state.config = cxkit::Config::builder()
        .shared_store(state.store.clone())
        .telemetry(Telemetry::new(&tracer, &meter))
        .build()
        .map_err(Failure::from)?;
    Ok((tracer, meter))
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::KeyValue;
    use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
    use opentelemetry::trace::{SpanKind, Status};
    use opentelemetry_sdk::trace::InMemorySpanExporter;

    #[test]
    fn a_span_is_one_line_with_its_name_status_and_attributes() {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let tracer = provider.tracer("t");
        let mut span = tracer
            .span_builder("GET /api/v2/agents/{agent_id}")
            .with_kind(SpanKind::Client)
            .start(&tracer);
        span.set_attribute(KeyValue::new("http.response.status_code", 404));
        span.set_status(Status::error("404"));
        span.end();
        let spans = exporter.get_finished_spans().unwrap();
        let text = line(&spans[0]);
        assert!(
            text.starts_with("trace: GET /api/v2/agents/{agent_id} [Client] "),
            "{text}"
        );
        assert!(text.contains(" error(404)"), "{text}");
        assert!(text.ends_with(" http.response.status_code=404"), "{text}");
        assert!(!text.contains('\n'));
    }
}
