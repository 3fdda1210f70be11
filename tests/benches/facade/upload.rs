//! (d) Upload: throughput and heap of a large document.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use cxkit::{DocumentUpload, SystemClock};

use crate::common::*;
use crate::servers::*;

pub(crate) fn write_file(path: &std::path::Path, size: u64) {
    use std::io::Write as _;
    let block: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create the file"));
    let mut left = size;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        file.write_all(&block[..n]).expect("write the file");
        left -= n as u64;
    }
    file.flush().expect("flush the file");
}

pub(crate) fn upload_phase(out: &mut Results, scale: Scale) {
    let size = scale.upload_bytes;
    println!("upload: a {} MiB file through upload_document", size >> 20);
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("bench-upload.bin");
    write_file(&path, size);
    let servers = Servers::start(1);
    let rt = client_runtime(None);
    let ejento = rt.block_on(servers.session(Arc::new(SystemClock)));
    let mut seconds = Vec::new();
    let mut peaks = Vec::new();
    let mut received = 0;
    for _ in 0..scale.upload_runs {
        servers.platform.received.store(0, Ordering::Relaxed);
        let watch = HeapWatch::start();
        let elapsed = rt.block_on(async {
            let started = Instant::now();
            let upload = DocumentUpload::from_path(&path)
                .await
                .expect("open the file");
            let answer = ejento
                .upload_document(7, upload)
                .await
                .expect("the upload succeeds");
            assert_eq!(answer.data.and_then(|d| d.id), Some(42));
            started.elapsed()
        });
        peaks.push(watch.peak_growth() as f64);
        received = servers.platform.received.load(Ordering::Relaxed);
        assert!(
            received >= size,
            "the server got {received} bytes of a {size}-byte file"
        );
        seconds.push(elapsed.as_secs_f64());
    }
    let secs = median(&mut seconds);
    out.put("upload_file_bytes", size as f64, "bytes");
    out.put("upload_received_bytes", received as f64, "bytes");
    out.put("upload_mb_per_s", size as f64 / 1e6 / secs, "MB/s");
    out.put(
        "upload_peak_heap_bytes",
        peaks.iter().copied().fold(0.0, f64::max),
        "bytes",
    );
}
