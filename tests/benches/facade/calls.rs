//! (a) Per request: the facade's call against the same call through a bare `reqwest`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use cxkit::clients::ejento_platform::types::UserEnvelope;
use cxkit::{EJENTO_TOKEN, Ejento, SystemClock};

use crate::common::*;
use crate::servers::*;

use crate::bare::{bare_call, bare_client};

pub(crate) async fn facade_call(ejento: &Ejento) -> UserEnvelope {
    ejento
        .platform()
        .get_current_user()
        .send()
        .await
        .expect("the facade call succeeds")
        .into_inner()
}

pub(crate) fn per_request(c: &mut Criterion, out: &mut Results, scale: Scale) {
    println!("per request: facade vs bare reqwest, GET /api/v2/users/me on loopback");
    let servers = Servers::start(1);
    let rt = client_runtime(None);
    let ejento = rt.block_on(servers.session(Arc::new(SystemClock)));
    let bearer = ejento
        .token_cache()
        .peek()
        .and_then(|t| t.get(EJENTO_TOKEN).map(|s| s.expose().to_owned()))
        .expect("the session holds an Ejento token");
    let bare = bare_client();
    let url = format!("{}/api/v2/users/me", servers.platform_url);
    let (via_facade, via_bare) = rt.block_on(async {
        (
            facade_call(&ejento).await,
            bare_call(&bare, &url, &bearer).await,
        )
    });
    assert_eq!(via_facade, via_bare, "both paths decode the same answer");
    assert_eq!(via_facade.data.and_then(|u| u.id), Some(1));

    let bare_samples = Samples::default();
    let facade_samples = Samples::default();
    let mut group = c.benchmark_group("per_request");
    group.bench_function("bare_reqwest", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let (bare, url, bearer, samples) = (&bare, &url, &bearer, &bare_samples);
            async move {
                let started = Instant::now();
                for _ in 0..iters {
                    std::hint::black_box(bare_call(bare, url, bearer).await);
                }
                let elapsed = started.elapsed();
                samples
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(nanos(elapsed) / iters as f64);
                elapsed
            }
        });
    });
    group.bench_function("facade", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let (ejento, samples) = (&ejento, &facade_samples);
            async move {
                let started = Instant::now();
                for _ in 0..iters {
                    std::hint::black_box(facade_call(ejento).await);
                }
                let elapsed = started.elapsed();
                samples
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(nanos(elapsed) / iters as f64);
                elapsed
            }
        });
    });
    group.finish();

    // A criterion filter may have skipped one of the two.
    let (mut bare_times, mut facade_times) = (measured(&bare_samples), measured(&facade_samples));
    if !bare_times.is_empty() && !facade_times.is_empty() {
        let bare_median = median(&mut bare_times);
        let facade_median = median(&mut facade_times);
        out.put("per_request_bare_median_ns", bare_median, "ns");
        out.put("per_request_facade_median_ns", facade_median, "ns");
        out.put(
            "per_request_overhead_pct",
            (facade_median - bare_median) / bare_median * 100.0,
            "%",
        );
        out.put("per_request_overhead_ns", facade_median - bare_median, "ns");
    }

    // A cross-check that drift between criterion's two runs cannot bias: alternate blocks of
    // bare and facade calls (in alternating order) and take the median of the per-round ratios.
    // The client runs on this one thread (a current-thread runtime), so its CPU time per call
    // is the client's own cost, free of the wake-up latency that dominates a loopback round
    // trip.
    let (rounds, block) = if scale.full { (120, 400) } else { (2, 5) };
    let mut ratios = Vec::new();
    let (mut bare_cpu, mut facade_cpu) = (Vec::new(), Vec::new());
    rt.block_on(async {
        for round in 0..rounds {
            let mut bare_time = Duration::ZERO;
            let mut facade_time = Duration::ZERO;
            for facade_first in [round % 2 == 0, round % 2 == 1] {
                let started = Instant::now();
                let cpu = thread_cpu_ns();
                if facade_first {
                    for _ in 0..block {
                        std::hint::black_box(facade_call(&ejento).await);
                    }
                    facade_time += started.elapsed();
                    if let (Some(a), Some(b)) = (cpu, thread_cpu_ns()) {
                        facade_cpu.push((b - a) as f64 / block as f64);
                    }
                } else {
                    for _ in 0..block {
                        std::hint::black_box(bare_call(&bare, &url, &bearer).await);
                    }
                    bare_time += started.elapsed();
                    if let (Some(a), Some(b)) = (cpu, thread_cpu_ns()) {
                        bare_cpu.push((b - a) as f64 / block as f64);
                    }
                }
            }
            ratios.push(facade_time.as_secs_f64() / bare_time.as_secs_f64());
        }
    });
    out.put(
        "per_request_paired_overhead_pct",
        (median(&mut ratios) - 1.0) * 100.0,
        "%",
    );
    if !bare_cpu.is_empty() && !facade_cpu.is_empty() {
        // Each round's facade block minus its bare block: drift in the machine's speed between
        // rounds cancels out of the difference.
        let mut differences: Vec<f64> = facade_cpu
            .iter()
            .zip(&bare_cpu)
            .map(|(facade, bare)| facade - bare)
            .collect();
        out.put(
            "per_request_client_cpu_overhead_ns",
            median(&mut differences),
            "ns",
        );
        out.put(
            "per_request_bare_client_cpu_ns",
            median(&mut bare_cpu),
            "ns",
        );
        out.put(
            "per_request_facade_client_cpu_ns",
            median(&mut facade_cpu),
            "ns",
        );
    }
}
