//! The end-to-end suites of the cxkit facade over real HTTP on loopback, against the test kit's
//! fakes: one test binary, so the generated clients are linked once rather than once per suite,
//! with a module per suite and the set-up they share in `support`.
//!
//! The tests that spawn processes (`two_processes`, `redis_store`, `soak`) run this same binary
//! again as the child, filtered to the child's test by its full name (`--exact
//! <module>::<test>`). The tests that read the logs share the process's one capture
//! (`support::logs`). `sse_alloc.rs` stays a binary of its own: it installs a counting
//! `#[global_allocator]` and measures the heap of one parse, which the other suites, running
//! in parallel threads of this process, would disturb.

mod support;

mod call_options;
mod canary;
mod config;
mod hostile;
mod one_send_path;
mod platform;
mod proto_apis;
mod proto_platform28;
mod redis_store;
mod refresh;
mod request_ids;
mod retries;
mod shared_store;
mod soak;
mod tables;
mod two_processes;
mod vendor_fidelity;
mod vendor_pages;
mod wire;
