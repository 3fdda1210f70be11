//! Per-call options on the facade's sessions: one mechanism, [`CallOptions`], for a timeout, a
//! retry policy, an idempotency key and extra headers on some calls of a session without
//! changing the others.
//!
//! A 10-minute answer stream, a 2 GB upload and a 50 ms lookup can share one session:
//!
//! ```no_run
//! # async fn demo(ejento: cxkit::Ejento, upload: cxkit::DocumentUpload,
//! #     question: cxkit::clients::ejento_platform::types::AgentResponseRequest) -> cxkit::Result<()> {
//! use std::time::Duration;
//! use cxkit::CallOptions;
//!
//! // The lookup: fail fast, one attempt.
//! let quick = ejento.with_options(CallOptions::new().timeout(Duration::from_millis(50)).no_retry());
//! let me = quick.platform().get_current_user().send().await?;
//!
//! // The stream: the whole answer within 15 minutes (the client-wide total timeout does not
//! // apply to streams; a per-call one does).
//! let long = ejento.with_options(CallOptions::new().timeout(Duration::from_secs(15 * 60)));
//! let answer = long.stream_agent_response(7, &question).await?.into_answer().await?;
//!
//! // The upload, tagged for the gateway's logs.
//! let tagged = ejento.with_options(CallOptions::new().header("x-batch-id", "2026-11-30"));
//! let document = tagged.upload_document(5, upload).await?;
//! # let _ = (me, answer, document); Ok(()) }
//! ```
//!
//! Every view (`Ejento::with_options`, `Proto::with_options`,
//! `Platform28Session::with_options`, and `with_options` on each generated client) is built on
//! `cxkit_auth::Auth::with_options`: the options ride on the client's auth handle, and the
//! hooks every call goes through (generated or hand-written) apply them. A view shares the
//! session's tokens and refreshes, connection pool and retry budget; token refreshes never take
//! a view's options. What each option means, for streamed calls too, is documented on
//! [`CallOptions`].

pub use cxkit_auth::{CallOptions, IDEMPOTENCY_KEY_HEADER, WithOptions};
