//! Benchmarks of the cxkit facade over real HTTP on loopback. Every server runs inside this
//! binary, on `127.0.0.1`, in its own tokio runtime:
//!
//! - **per request** (criterion): the same `GET /api/v2/users/me` against the same minimal
//!   server, once through the facade (`ejento.platform().get_current_user()`: token cache, auth
//!   hooks, retry loop, progenitor decode) and once through a bare `reqwest::Client` with the
//!   same settings, the bearer header set by hand and the same JSON decode into the same type.
//! - **herd**: 1,000 concurrent callers across token expiry (a `ManualClock` moved past it):
//!   the wall time of the herd against one call with a fresh token and against the same herd
//!   with fresh tokens, and the number of refreshes (must be exactly one per herd). Measured
//!   once on bare loopback and once with a simulated server latency on both the refresh and
//!   the call, which is what a real gateway adds.
//! - **SSE**: an answer of N `assistant_stream` frames and an `end` frame, consumed through
//!   `ejento.stream_agent_response(...)`: events/s, MB/s and peak heap.
//! - **SSE, one long line**: a single 10 MiB `assistant_stream` event (one line, no line
//!   break until its end) through the same call: MB/s, which shows the parser is linear in its
//!   input (a quadratic one takes seconds here).
//! - **SSE parser** (criterion): the same frames in memory, through the raw `text/event-stream`
//!   parser alone, then parsed and decoded through `AnswerStream::from_bytes` (no HTTP):
//!   ns and events/s per event, on the thread's CPU clock (one core) and the wall clock.
//! - **upload**: a 128 MiB file through `ejento.upload_document(...)` to a server that counts
//!   and discards the multipart body: MB/s and peak heap.
//!
//! - **Redis store** (criterion, then processes): the per-call cost on the cached-token path of
//!   a session whose tokens live in a `RedisTokenStore` against one in the memory store (and how
//!   many Redis commands a cached call sends: none), then a herd of 4 OS processes (this binary
//!   again, `CXKIT_BENCH_CHILD=1`) sharing the session through a real `redis-server` on
//!   loopback, across expiry against the same herd with fresh tokens, and the refreshes the
//!   fake saw per herd (exactly one for the fleet).
//!
//! `CXKIT_BENCH_PHASES` (comma-separated: `per_request`, `herd`, `sse`, `sse_parser`, `upload`,
//! `store`) runs only those phases, and merges their figures into an existing results file, so
//! that one phase can be measured again on a busy machine without rerunning the rest.
//!
//! Heap figures come from a counting global allocator (current and peak bytes, atomics); a
//! phase's figure is its peak minus the heap in use when the phase started, and it includes the
//! in-process servers' own buffers (so it is an upper bound for the client alone).
//!
//! `cargo bench -p cxkit-tests --bench facade` runs it for real and writes every figure to
//! `target/cxkit-bench/results.json` (or `$CXKIT_BENCH_OUT`); `cargo xtask bench` prints them as
//! a table. Under `cargo test` (no `--bench` argument, or `--test`) every phase runs a tiny
//! version and nothing is written.
//!
//! One module per family: `calls` (per request), `herd`, `sse` (the streamed answer, the long
//! line and the parser alone), `upload` and `store` (Redis); `servers` are the loopback servers
//! they share and `common` the scale, the results file and the measuring helpers.

use std::time::{Duration, SystemTime};

use criterion::Criterion;
use peak_alloc::PeakAlloc;

use common::{Results, SAMPLE_SIZE, Scale};

#[path = "../../shared/bare.rs"]
mod bare;
mod calls;
mod common;
mod herd;
mod servers;
mod sse;
mod store;
mod upload;

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

fn main() {
    let scale = Scale::from_args();
    let started = SystemTime::now();
    let mut out = Results::default();
    let mut criterion = Criterion::default()
        .sample_size(SAMPLE_SIZE)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8))
        .without_plots()
        .configure_from_args();

    if std::env::var_os(store::CHILD).is_some() {
        store::child();
        return;
    }
    let phases = std::env::var("CXKIT_BENCH_PHASES").ok();
    let runs = |phase: &str| {
        phases
            .as_deref()
            .is_none_or(|p| p.split(',').any(|p| p.trim() == phase))
    };
    if runs("per_request") {
        calls::per_request(&mut criterion, &mut out, scale);
    }
    if runs("herd") {
        herd::herd(&mut out, scale, Duration::ZERO, "herd_loopback");
        herd::herd(&mut out, scale, scale.simulated_latency, "herd_latency");
    }
    if runs("sse") {
        sse::sse(&mut out, scale);
        sse::sse_long_line(&mut out, scale);
    }
    if runs("sse_parser") {
        sse::sse_parser(&mut criterion, &mut out, scale);
    }
    if runs("upload") {
        upload::upload_phase(&mut out, scale);
    }
    if runs("store") {
        store::cached_call(&mut criterion, &mut out);
        store::fleet_herd(&mut out, scale);
    }
    criterion.final_summary();

    let took = started.elapsed().unwrap_or_default();
    if scale.full {
        // The wall time of a run of some phases is not the whole benchmark's.
        if phases.is_none() {
            out.put("bench_wall_s", took.as_secs_f64(), "s");
        }
        match out.write() {
            Ok(path) => println!("wrote {}", path.display()),
            Err(e) => {
                eprintln!("cannot write the results: {e}");
                std::process::exit(1);
            }
        }
    } else {
        println!("facade benchmarks: every phase ran at test scale in {took:.1?}");
    }
}
