//! (b) The herd: concurrent callers across token expiry.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, UNIX_EPOCH};

use cxkit::{Ejento, ManualClock};

use crate::calls::facade_call;
use crate::common::*;
use crate::servers::*;

/// Fires `n` concurrent `get_current_user` calls; returns the wall time until all succeeded,
/// and when the session published new tokens (if it did).
pub(crate) async fn herd_once(ejento: &Ejento, n: usize) -> (Duration, Option<Duration>) {
    let mut updates = ejento.subscribe();
    updates.borrow_and_update();
    let started = Instant::now();
    let refreshed = tokio::spawn(async move {
        updates.changed().await.ok()?;
        Some(started.elapsed())
    });
    let calls: Vec<_> = (0..n)
        .map(|_| {
            let ejento = ejento.clone();
            tokio::spawn(async move {
                ejento
                    .platform()
                    .get_current_user()
                    .send()
                    .await
                    .map(|_| ())
            })
        })
        .collect();
    for result in futures::future::join_all(calls).await {
        result
            .expect("the caller ran")
            .expect("the caller's call succeeded");
    }
    let elapsed = started.elapsed();
    refreshed.abort();
    (elapsed, refreshed.await.ok().flatten())
}

pub(crate) fn herd(out: &mut Results, scale: Scale, latency: Duration, prefix: &str) {
    println!(
        "herd ({prefix}): {} concurrent callers across expiry, {} ms added server latency",
        scale.herd_callers,
        latency.as_millis()
    );
    let servers = Servers::start(2);
    servers.fake().delay_refreshes(latency);
    servers
        .platform
        .latency_us
        .store(latency.as_micros() as u64, Ordering::Relaxed);
    let rt = client_runtime(Some(2));
    let clock = Arc::new(ManualClock::new(
        UNIX_EPOCH + Duration::from_secs(1_800_000_000),
    ));
    let n = scale.herd_callers;
    let (single, fresh, across, refreshes, refreshed_at) = rt.block_on(async {
        let ejento = servers.session(clock.clone()).await;
        // Warm up: open the connections the herd will reuse.
        facade_call(&ejento).await;
        herd_once(&ejento, n).await;

        let mut single = Vec::new();
        for _ in 0..scale.single_calls {
            let started = Instant::now();
            facade_call(&ejento).await;
            single.push(nanos(started.elapsed()));
        }
        let mut fresh = Vec::new();
        for _ in 0..scale.herd_runs {
            fresh.push(nanos(herd_once(&ejento, n).await.0));
        }
        assert_eq!(ejento.token_cache().refresh_count(), 0, "no refresh yet");
        let mut across = Vec::new();
        let mut refreshes = Vec::new();
        let mut refreshed_at = Vec::new();
        for _ in 0..scale.herd_runs {
            // Past expiry, not just past the refresh point: every caller needs new tokens.
            clock.advance(LIFETIME + Duration::from_secs(60));
            let before = (
                ejento.token_cache().refresh_count(),
                servers.fake().refresh_calls(),
            );
            let (total, refreshed) = herd_once(&ejento, n).await;
            across.push(nanos(total));
            refreshed_at.push(nanos(refreshed.expect("the herd refreshed the session")));
            let by_cache = ejento.token_cache().refresh_count() - before.0;
            let by_server = (servers.fake().refresh_calls() - before.1) as u64;
            assert_eq!(by_cache, by_server, "the cache counts what the server saw");
            refreshes.push(by_cache);
        }
        (single, fresh, across, refreshes, refreshed_at)
    });
    let (mut single, mut fresh, mut across, mut refreshed_at) =
        (single, fresh, across, refreshed_at);
    let single = median(&mut single);
    let fresh = median(&mut fresh);
    let across = median(&mut across);
    out.put(
        &format!("{prefix}_latency_ms"),
        latency.as_secs_f64() * 1e3,
        "ms",
    );
    out.put(&format!("{prefix}_callers"), n as f64, "callers");
    out.put(&format!("{prefix}_single_call_ns"), single, "ns");
    out.put(&format!("{prefix}_fresh_herd_ns"), fresh, "ns");
    let refresh_done = median(&mut refreshed_at);
    out.put(&format!("{prefix}_across_expiry_ns"), across, "ns");
    out.put(&format!("{prefix}_refresh_done_ns"), refresh_done, "ns");
    out.put(&format!("{prefix}_ratio_vs_single"), across / single, "x");
    // What a perfect single flight would take: the refresh, then a herd with fresh tokens.
    out.put(
        &format!("{prefix}_floor_ratio_vs_single"),
        (refresh_done + fresh) / single,
        "x",
    );
    out.put(
        &format!("{prefix}_excess_over_floor_ns"),
        across - refresh_done - fresh,
        "ns",
    );
    out.put(
        &format!("{prefix}_ratio_vs_fresh_herd"),
        across / fresh,
        "x",
    );
    out.put(
        &format!("{prefix}_refreshes_min"),
        refreshes.iter().copied().min().unwrap_or(0) as f64,
        "refreshes per herd",
    );
    out.put(
        &format!("{prefix}_refreshes_max"),
        refreshes.iter().copied().max().unwrap_or(0) as f64,
        "refreshes per herd",
    );
    assert!(
        refreshes.iter().all(|&r| r == 1),
        "every herd across expiry refreshes exactly once: {refreshes:?}"
    );
}
