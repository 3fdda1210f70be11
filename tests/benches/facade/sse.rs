//! (c) SSE: a streamed answer's throughput and heap, one long line, and the parser alone.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::body::Bytes;
use criterion::Criterion;
use cxkit::__bench::SseParser;
use cxkit::clients::ejento_platform::types::AgentResponseRequest;
use cxkit::{AnswerStream, HttpConfig, StreamEvent, SystemClock};
use futures::StreamExt as _;

use crate::common::*;
use crate::servers::*;

pub(crate) fn sse(out: &mut Results, scale: Scale) {
    let frames = scale.sse_frames;
    let body_bytes = frames * frame().len() + END_FRAME.len();
    println!(
        "sse: {frames} frames + end, {:.1} MB, through stream_agent_response",
        body_bytes as f64 / 1e6
    );
    let servers = Servers::start(1);
    servers
        .platform
        .sse_frames
        .store(frames as u64, Ordering::Relaxed);
    let rt = client_runtime(None);
    let request: AgentResponseRequest =
        serde_json::from_value(serde_json::json!({"user_query": "benchmark"}))
            .expect("a request body");
    let ejento = rt.block_on(servers.session(Arc::new(SystemClock)));
    let mut seconds = Vec::new();
    let mut peaks = Vec::new();
    for _ in 0..scale.sse_runs {
        let watch = HeapWatch::start();
        let (elapsed, events, deltas) = rt.block_on(async {
            let started = Instant::now();
            let mut stream = ejento
                .stream_agent_response(1, &request)
                .await
                .expect("the stream opens");
            let (mut events, mut deltas, mut ended) = (0usize, 0usize, false);
            while let Some(event) = stream.next().await {
                events += 1;
                match event.expect("a well-formed event") {
                    StreamEvent::AnswerDelta(delta) => deltas += delta.len(),
                    StreamEvent::End { success, .. } => ended = success,
                    other => panic!("unexpected event {other:?}"),
                }
            }
            assert!(ended, "the stream ended with a successful `end`");
            (started.elapsed(), events, deltas)
        });
        peaks.push(watch.peak_growth() as f64);
        assert_eq!(events, frames + 1);
        assert_eq!(deltas, frames * DELTA.len());
        seconds.push(elapsed.as_secs_f64());
    }
    let secs = median(&mut seconds);
    out.put("sse_frames", frames as f64, "frames");
    out.put("sse_body_bytes", body_bytes as f64, "bytes");
    out.put("sse_events_per_s", (frames + 1) as f64 / secs, "events/s");
    out.put("sse_mb_per_s", body_bytes as f64 / 1e6 / secs, "MB/s");
    out.put(
        "sse_peak_heap_bytes",
        peaks.iter().copied().fold(0.0, f64::max),
        "bytes",
    );
}

/// One event of `scale.sse_line_bytes` bytes on one line: the parser's cost per byte when a
/// line spans many chunks.
pub(crate) fn sse_long_line(out: &mut Results, scale: Scale) {
    let bytes = scale.sse_line_bytes;
    println!("sse: one {bytes}-byte single-line event through stream_agent_response");
    let servers = Servers::start(1);
    servers
        .platform
        .sse_line_bytes
        .store(bytes as u64, Ordering::Relaxed);
    let rt = client_runtime(None);
    let request: AgentResponseRequest =
        serde_json::from_value(serde_json::json!({"user_query": "benchmark"}))
            .expect("a request body");
    let http = HttpConfig {
        max_event_bytes: 2 * bytes as u64,
        ..HttpConfig::default()
    };
    let ejento = rt.block_on(servers.session_with(Arc::new(SystemClock), http));
    let mut seconds = Vec::new();
    for _ in 0..scale.sse_runs {
        let elapsed = rt.block_on(async {
            let started = Instant::now();
            let mut stream = ejento
                .stream_agent_response(1, &request)
                .await
                .expect("the stream opens");
            let mut delta = 0;
            while let Some(event) = stream.next().await {
                if let StreamEvent::AnswerDelta(d) = event.expect("a well-formed event") {
                    delta += d.len();
                }
            }
            assert_eq!(delta, bytes, "the whole line arrived as one delta");
            started.elapsed()
        });
        seconds.push(elapsed.as_secs_f64());
    }
    let secs = median(&mut seconds);
    out.put("sse_line_bytes", bytes as f64, "bytes");
    out.put("sse_line_seconds", secs, "s");
    out.put("sse_line_mb_per_s", bytes as f64 / 1e6 / secs, "MB/s");
}

// ---- (c2) the SSE parser alone, and parse + decode in memory --------------------------------

/// The body the SSE server sends for `frames` frames, in the chunks it writes them in.
pub(crate) fn sse_body(frames: usize) -> Vec<Bytes> {
    let chunk = Bytes::from(frame().repeat(FRAMES_PER_CHUNK));
    let frame_len = chunk.len() / FRAMES_PER_CHUNK;
    let mut body = vec![chunk.clone(); frames / FRAMES_PER_CHUNK];
    if !frames.is_multiple_of(FRAMES_PER_CHUNK) {
        body.push(chunk.slice(..(frames % FRAMES_PER_CHUNK) * frame_len));
    }
    body.push(Bytes::from_static(END_FRAME.as_bytes()));
    body
}

/// Every event's data of `body`, through the raw parser: how many events, and their bytes.
pub(crate) fn parse_body(parser: &mut SseParser, body: &[Bytes]) -> (usize, usize) {
    let (mut events, mut bytes) = (0, 0);
    for chunk in body {
        parser.push(chunk);
        while let Some(data) = parser.next_data() {
            let data = data.expect("a well-formed event");
            bytes += std::hint::black_box(&data).len();
            events += 1;
        }
    }
    (events, bytes)
}

/// Every event of `body` through `AnswerStream::from_bytes` (parse and JSON decode, no HTTP).
pub(crate) async fn decode_body(body: &[Bytes]) -> usize {
    let chunks: Vec<Result<Bytes, Infallible>> = body.iter().cloned().map(Ok).collect();
    let mut stream = AnswerStream::from_bytes(futures::stream::iter(chunks));
    let mut events = 0;
    while let Some(event) = stream.next().await {
        std::hint::black_box(event.expect("a well-formed event"));
        events += 1;
    }
    events
}

/// Criterion: the `text/event-stream` parser alone on the SSE phase's body (its frames, in its
/// chunks), then parse + JSON decode through `AnswerStream::from_bytes` in memory. Figures are
/// per event, from the benchmark thread's CPU clock (one core, whatever else the machine runs)
/// and from the wall clock.
pub(crate) fn sse_parser(c: &mut Criterion, out: &mut Results, scale: Scale) {
    let frames = if scale.full { 10_000 } else { 1000 };
    let body = sse_body(frames);
    let events = frames + 1;
    println!("sse parser: {frames} frames + end, in memory, parser alone and parse + decode");
    let max = HttpConfig::default().max_event_bytes;
    assert_eq!(parse_body(&mut SseParser::new(max), &body).0, events);
    let rt = client_runtime(None);
    assert_eq!(rt.block_on(decode_body(&body)), events);

    let (parser_wall, parser_cpu) = (Samples::default(), Samples::default());
    let (decode_wall, decode_cpu) = (Samples::default(), Samples::default());
    let per_event = |samples: &Samples, total_ns: f64, iters: u64| {
        samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(total_ns / (iters as f64 * events as f64));
    };
    let mut group = c.benchmark_group("sse_parser");
    group.throughput(criterion::Throughput::Elements(events as u64));
    group.bench_function("parser_alone", |b| {
        let mut parser = SseParser::new(max);
        b.iter_custom(|iters| {
            let (started, cpu) = (Instant::now(), thread_cpu_ns());
            for _ in 0..iters {
                std::hint::black_box(parse_body(&mut parser, &body));
            }
            let elapsed = started.elapsed();
            if let (Some(before), Some(after)) = (cpu, thread_cpu_ns()) {
                per_event(&parser_cpu, (after - before) as f64, iters);
            }
            per_event(&parser_wall, nanos(elapsed), iters);
            elapsed
        });
    });
    group.bench_function("parse_and_decode", |b| {
        b.iter_custom(|iters| {
            let (started, cpu) = (Instant::now(), thread_cpu_ns());
            for _ in 0..iters {
                std::hint::black_box(rt.block_on(decode_body(&body)));
            }
            let elapsed = started.elapsed();
            if let (Some(before), Some(after)) = (cpu, thread_cpu_ns()) {
                per_event(&decode_cpu, (after - before) as f64, iters);
            }
            per_event(&decode_wall, nanos(elapsed), iters);
            elapsed
        });
    });
    group.finish();

    for (name, wall, cpu) in [
        ("sse_parser", &parser_wall, &parser_cpu),
        ("sse_decode", &decode_wall, &decode_cpu),
    ] {
        let (mut wall, mut cpu) = (measured(wall), measured(cpu));
        if !wall.is_empty() {
            let ns = median(&mut wall);
            out.put(&format!("{name}_wall_ns_per_event"), ns, "ns");
            out.put(&format!("{name}_wall_events_per_s"), 1e9 / ns, "events/s");
        }
        if !cpu.is_empty() {
            let ns = median(&mut cpu);
            out.put(&format!("{name}_cpu_ns_per_event"), ns, "ns");
            out.put(&format!("{name}_events_per_s"), 1e9 / ns, "events/s");
        }
    }
}
