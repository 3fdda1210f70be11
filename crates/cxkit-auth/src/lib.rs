//! The hand-written core every generated cxkit client depends on.
//!
//! - [`Auth`]: progenitor's inner type; holds one [`Credential`] per security scheme and the
//!   [`RetryPolicy`].
//! - [`ApiSecurity`]: the per-spec table `cargo xtask generate` emits from the spec's `security`
//!   (progenitor itself ignores security).
//! - [`hooks`]: what the generated `ClientHooks` impls delegate to: apply the credentials the
//!   operation needs and its `X-API-Version`, retry transient failures, refresh and replay once
//!   on a 401, and scrub secrets from URLs. (progenitor's own `api-version` header is removed
//!   from the generated code by `cargo xtask generate`.)
//! - [`SendRaw`]: the one send path for a request written by hand, offered by every generated
//!   client: the same hooks, the same credentials, retries, replay and scrubbing.
//! - [`CallOptions`]: per-call timeout, retry policy, idempotency key and extra headers, on a
//!   view of a client ([`Auth::with_options`], and `with_options` on every generated client).
//! - [`Secret`]: the one secret type; [`redact`]: URL scrubbing.
//! - `telemetry` (feature `otel`): OpenTelemetry spans and metrics of every call, by the
//!   semantic conventions.
//! - [`tls`]: the rustls crypto provider (ring by default, aws-lc-rs behind the `aws-lc-rs`
//!   feature), installed by [`AuthBuilder::build`].
//!
//! Application code normally uses the `cxkit` facade rather than this crate.

mod auth;
#[cfg(feature = "cli")]
pub mod cli;
mod clock;
mod credential;
mod error;
pub mod hooks;
mod options;
mod placement;
pub mod redact;
pub mod request_id;
pub mod retry;
mod scheme;
mod secret;
mod send;
#[cfg(feature = "otel")]
pub mod telemetry;
pub mod tls;

pub use auth::{Auth, AuthBuilder, DEFAULT_BODY_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES};
pub use clock::{Clock, ManualClock, SystemClock};
pub use credential::{Credential, TokenSource};
pub use error::{AuthError, AuthErrorKind};
pub use options::{CallOptions, IDEMPOTENCY_KEY_HEADER, WithOptions};
pub use retry::RetryPolicy;
pub use scheme::{
    API_VERSION_HEADER, ApiSecurity, OperationDef, Placement, SchemeDef, operation_hash,
};
pub use secret::{MIN_REGISTERED_LEN, Secret, scrub_live_secrets, scrub_secret};
pub use send::{SendError, SendRaw};
