//! An in-memory OpenTelemetry pipeline (the `otel` feature), so that an application can assert
//! on the spans and metrics cxkit reports in its own tests.
//!
//! ```no_run
//! # async fn demo() {
//! use cxkit_testkit::otel::TelemetryCapture;
//! let capture = TelemetryCapture::new();
//! // Give `capture.telemetry()` to `cxkit::Config::builder().telemetry(..)`, make calls, then:
//! for span in capture.spans() {
//!     println!("{} {:?}", span.name, span.attributes);
//! }
//! let duration = capture.metric("http.client.request.duration").expect("recorded");
//! assert_eq!(duration.unit, "s");
//! # }
//! ```

use std::fmt::{self, Write as _};

use cxkit_auth::telemetry::Telemetry;
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};

/// The SDK the capture is built on, at the version cxkit's test kit uses (for exporters and
/// providers of a test's own).
pub use opentelemetry_sdk;
pub use opentelemetry_sdk::trace::SpanData;

/// A tracer provider and a meter provider that keep everything in memory: spans as they end,
/// metrics when read.
pub struct TelemetryCapture {
    spans: InMemorySpanExporter,
    metrics: InMemoryMetricExporter,
    tracer_provider: SdkTracerProvider,
    meter_provider: SdkMeterProvider,
}

impl fmt::Debug for TelemetryCapture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelemetryCapture").finish_non_exhaustive()
    }
}

impl Default for TelemetryCapture {
    fn default() -> Self {
        Self::new()
    }
}

/// One metric as last read: its name, unit, kind and data points.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricPoints {
    /// The instrument's name, e.g. `http.client.request.duration`.
    pub name: String,
    /// Its unit, e.g. `s`.
    pub unit: String,
    /// `histogram`, `sum` (a counter or up-down counter) or `gauge`.
    pub kind: &'static str,
    /// One per attribute set.
    pub points: Vec<Point>,
}

/// A data point: its attributes and value (a histogram's sum and count, with its bucket
/// boundaries).
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// The attributes.
    pub attributes: Vec<KeyValue>,
    /// A counter's or gauge's value; a histogram's sum.
    pub value: f64,
    /// A histogram's count of measurements (1 for other kinds).
    pub count: u64,
    /// A histogram's bucket boundaries (empty for other kinds).
    pub bounds: Vec<f64>,
}

impl Point {
    /// The value of the attribute `key`, if the point has it.
    pub fn attribute(&self, key: &str) -> Option<&Value> {
        self.attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| &kv.value)
    }
}

impl TelemetryCapture {
    /// A fresh capture.
    pub fn new() -> Self {
        let spans = InMemorySpanExporter::default();
        let metrics = InMemoryMetricExporter::default();
        let tracer_provider = SdkTracerProvider::builder()
            .with_simple_exporter(spans.clone())
            .build();
        let meter_provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(metrics.clone()).build())
            .build();
        TelemetryCapture {
            spans,
            metrics,
            tracer_provider,
            meter_provider,
        }
    }

    /// The [`Telemetry`] to give cxkit's `Config`, with the default metrics; add
    /// `.with_development_metrics()` to capture those too, as your application does.
    pub fn telemetry(&self) -> Telemetry {
        Telemetry::new(&self.tracer_provider, &self.meter_provider)
    }

    /// The tracer provider, for spans of the test's own to parent cxkit's.
    pub fn tracer_provider(&self) -> &SdkTracerProvider {
        &self.tracer_provider
    }

    /// The meter provider, for a `Telemetry` of the test's own making (with another tracer,
    /// say) whose metrics are captured here.
    pub fn meter_provider(&self) -> &SdkMeterProvider {
        &self.meter_provider
    }

    /// Every span that has ended, in the order they ended.
    pub fn spans(&self) -> Vec<SpanData> {
        self.spans.get_finished_spans().unwrap_or_default()
    }

    /// The ended spans named `name`.
    pub fn spans_named(&self, name: &str) -> Vec<SpanData> {
        self.spans()
            .into_iter()
            .filter(|s| s.name == name)
            .collect()
    }

    /// Forgets the spans ended so far. (Metrics are cumulative, as most backends read them:
    /// [`TelemetryCapture::metrics`] always holds everything recorded since the capture began.)
    pub fn reset_spans(&self) {
        self.spans.reset();
    }

    fn read(&self) -> Vec<ResourceMetrics> {
        let _ = self.meter_provider.force_flush();
        self.metrics.get_finished_metrics().unwrap_or_default()
    }

    /// Every metric recorded so far (cumulative), read now.
    pub fn metrics(&self) -> Vec<MetricPoints> {
        let exported = self.read();
        // Cumulative: the last export holds every instrument recorded so far.
        let Some(last) = exported.last() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for scope in last.scope_metrics() {
            for metric in scope.metrics() {
                let (kind, points) = match metric.data() {
                    AggregatedMetrics::F64(data) => points(data, |v| v),
                    AggregatedMetrics::U64(data) => points(data, |v| v as f64),
                    AggregatedMetrics::I64(data) => points(data, |v| v as f64),
                };
                out.push(MetricPoints {
                    name: metric.name().to_owned(),
                    unit: metric.unit().to_owned(),
                    kind,
                    points,
                });
            }
        }
        out
    }

    /// The metric named `name`, if recorded.
    pub fn metric(&self, name: &str) -> Option<MetricPoints> {
        self.metrics().into_iter().find(|m| m.name == name)
    }

    /// Everything captured, as text: each span's name, kind, status, attributes and events,
    /// and each metric's data points with their attributes. What a test scans for secrets, and
    /// what the example prints.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        for span in self.spans() {
            let _ = writeln!(
                out,
                "span {:?} kind={:?} status={:?} trace={} id={} parent={}",
                span.name,
                span.span_kind,
                span.status,
                span.span_context.trace_id(),
                span.span_context.span_id(),
                span.parent_span_id
            );
            for kv in &span.attributes {
                let _ = writeln!(out, "  {} = {}", kv.key, kv.value);
            }
            for event in span.events.iter() {
                let _ = writeln!(out, "  event {:?}", event.name);
                for kv in &event.attributes {
                    let _ = writeln!(out, "    {} = {}", kv.key, kv.value);
                }
            }
        }
        for metric in self.metrics() {
            let _ = writeln!(
                out,
                "metric {} ({}, {})",
                metric.name, metric.unit, metric.kind
            );
            for point in &metric.points {
                let attributes: Vec<String> = point
                    .attributes
                    .iter()
                    .map(|kv| format!("{}={}", kv.key, kv.value))
                    .collect();
                let _ = writeln!(
                    out,
                    "  [{}] value={} count={}",
                    attributes.join(", "),
                    point.value,
                    point.count
                );
            }
        }
        out
    }
}

fn points<T: Copy>(data: &MetricData<T>, value: impl Fn(T) -> f64) -> (&'static str, Vec<Point>) {
    match data {
        MetricData::Histogram(h) => (
            "histogram",
            h.data_points()
                .map(|p| Point {
                    attributes: p.attributes().cloned().collect(),
                    value: value(p.sum()),
                    count: p.count(),
                    bounds: p.bounds().collect(),
                })
                .collect(),
        ),
        MetricData::Sum(s) => (
            "sum",
            s.data_points()
                .map(|p| Point {
                    attributes: p.attributes().cloned().collect(),
                    value: value(p.value()),
                    count: 1,
                    bounds: Vec::new(),
                })
                .collect(),
        ),
        MetricData::Gauge(g) => (
            "gauge",
            g.data_points()
                .map(|p| Point {
                    attributes: p.attributes().cloned().collect(),
                    value: value(p.value()),
                    count: 1,
                    bounds: Vec::new(),
                })
                .collect(),
        ),
        MetricData::ExponentialHistogram(h) => (
            "exponential_histogram",
            h.data_points()
                .map(|p| Point {
                    attributes: p.attributes().cloned().collect(),
                    value: value(p.sum()),
                    count: p.count() as u64,
                    bounds: Vec::new(),
                })
                .collect(),
        ),
    }
}
