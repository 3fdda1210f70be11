//! What every family shares: the scale of a run, the results file, and the measuring helpers.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::runtime::Runtime;

/// What GET /api/v2/users/me answers.
pub(crate) const USER_JSON: &str = r#"{"success":true,"data":{"id":1,"email":"a@b.c"}}"#;
/// One answer chunk; frames are `data: {"step":"assistant_stream","delta":"<DELTA>"}\n\n`.
pub(crate) const DELTA: &str = "The quick brown fox jumps over the lazy dog; 0123456789.";
/// The frame that ends every streamed answer.
pub(crate) const END_FRAME: &str = "data: {\"step\":\"end\",\"success\":true,\"output\":{\"answer\":\"done\",\"thread_id\":1}}\n\n";
/// How many frames the SSE server writes per body chunk.
pub(crate) const FRAMES_PER_CHUNK: usize = 100;
/// The fake's token lifetime.
pub(crate) const LIFETIME: Duration = Duration::from_secs(3600);
/// Criterion's sample count for the per-request benchmarks.
pub(crate) const SAMPLE_SIZE: usize = 60;

/// How big each phase is: the real run, or a quick check under `cargo test`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scale {
    pub(crate) full: bool,
    pub(crate) herd_callers: usize,
    pub(crate) herd_runs: usize,
    pub(crate) single_calls: usize,
    pub(crate) simulated_latency: Duration,
    pub(crate) sse_frames: usize,
    pub(crate) sse_runs: usize,
    pub(crate) sse_line_bytes: usize,
    pub(crate) upload_bytes: u64,
    pub(crate) upload_runs: usize,
}

impl Scale {
    pub(crate) fn from_args() -> Scale {
        let args: Vec<String> = std::env::args().collect();
        let bench = args.iter().any(|a| a == "--bench");
        let test = args.iter().any(|a| a == "--test");
        if bench && !test {
            Scale {
                full: true,
                herd_callers: 1000,
                herd_runs: 5,
                single_calls: 25,
                simulated_latency: Duration::from_millis(20),
                sse_frames: 200_000,
                sse_runs: 3,
                sse_line_bytes: 10 << 20,
                upload_bytes: 128 << 20,
                upload_runs: 3,
            }
        } else {
            Scale {
                full: false,
                herd_callers: 20,
                herd_runs: 1,
                single_calls: 2,
                simulated_latency: Duration::from_millis(2),
                sse_frames: 1000,
                sse_runs: 1,
                sse_line_bytes: 256 << 10,
                upload_bytes: 1 << 20,
                upload_runs: 1,
            }
        }
    }
}

// ---- results --------------------------------------------------------------------------------

/// Named figures and their units, written as one flat JSON object (plus a `units` map).
#[derive(Debug, Default)]
pub(crate) struct Results {
    pub(crate) figures: BTreeMap<String, f64>,
    pub(crate) units: BTreeMap<String, &'static str>,
}

impl Results {
    pub(crate) fn put(&mut self, name: &str, value: f64, unit: &'static str) {
        println!("  {name} = {value:.3} {unit}");
        self.figures.insert(name.to_owned(), value);
        self.units.insert(name.to_owned(), unit);
    }

    pub(crate) fn write(&self) -> std::io::Result<PathBuf> {
        let path = std::env::var_os("CXKIT_BENCH_OUT")
            .map(PathBuf::from)
            .unwrap_or_else(|| target_dir().join("cxkit-bench/results.json"));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // A run of some phases only updates their figures in the earlier run's file.
        let mut object = serde_json::Map::new();
        let mut units = serde_json::Map::new();
        if std::env::var_os("CXKIT_BENCH_PHASES").is_some()
            && let Ok(text) = std::fs::read_to_string(&path)
            && let Ok(serde_json::Value::Object(mut earlier)) = serde_json::from_str(&text)
        {
            if let Some(serde_json::Value::Object(u)) = earlier.remove("units") {
                units = u;
            }
            object = earlier;
        }
        for (name, unit) in &self.units {
            units.insert(name.clone(), serde_json::json!(unit));
        }
        for (name, value) in &self.figures {
            object.insert(name.clone(), serde_json::json!(value));
        }
        object.insert("units".into(), serde_json::Value::Object(units));
        let text = serde_json::to_string_pretty(&serde_json::Value::Object(object))?;
        std::fs::write(&path, text + "\n")?;
        Ok(path)
    }
}

/// Cargo's target directory: `$CARGO_TARGET_DIR`, else the first ancestor of this binary that
/// cargo marked with `CACHEDIR.TAG`, else `<workspace>/target`.
pub(crate) fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.ancestors()
                .find(|dir| dir.join("CACHEDIR.TAG").is_file())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")))
}

pub(crate) fn median(values: &mut [f64]) -> f64 {
    assert!(!values.is_empty(), "no samples");
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

pub(crate) fn nanos(d: Duration) -> f64 {
    d.as_secs_f64() * 1e9
}

/// Heap growth over a phase: `HEAP`'s peak since [`HeapWatch::start`], minus what was in use
/// then.
pub(crate) struct HeapWatch {
    pub(crate) baseline: usize,
}

impl HeapWatch {
    pub(crate) fn start() -> HeapWatch {
        crate::HEAP.reset_peak_usage();
        HeapWatch {
            baseline: crate::HEAP.current_usage(),
        }
    }

    pub(crate) fn peak_growth(&self) -> usize {
        crate::HEAP.peak_usage().saturating_sub(self.baseline)
    }
}

pub(crate) fn client_runtime(workers: Option<usize>) -> Runtime {
    match workers {
        None => tokio::runtime::Builder::new_current_thread(),
        Some(n) => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n);
            b
        }
    }
    .enable_all()
    .build()
    .expect("a client runtime")
}

/// The per-iteration time of each criterion sample, in ns (warm-up runs included; the
/// measured samples are the last [`SAMPLE_SIZE`]).
pub(crate) type Samples = Arc<Mutex<Vec<f64>>>;

pub(crate) fn measured(samples: &Samples) -> Vec<f64> {
    let all = samples.lock().unwrap_or_else(|e| e.into_inner());
    all[all.len().saturating_sub(SAMPLE_SIZE)..].to_vec()
}

/// CPU time this thread has used, from `clock_gettime(CLOCK_THREAD_CPUTIME_ID)` (`None` off
/// Unix). Not `/proc/thread-self/schedstat`: the kernel brings that figure up to date only at a
/// tick or a context switch, so a thread that runs on without blocking reads it in steps of a
/// whole tick (4 ms here, 10 µs per call in a block of 400).
pub(crate) fn thread_cpu_ns() -> Option<u64> {
    #[cfg(unix)]
    {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        u64::try_from(now.tv_sec)
            .ok()?
            .checked_mul(1_000_000_000)?
            .checked_add(u64::try_from(now.tv_nsec).ok()?)
    }
    #[cfg(not(unix))]
    {
        None
    }
}
