//! The live check behind `cargo xtask verify-live`: calls the read-only (GET) operations of a
//! system's specs on a real deployment and reports, per operation, whether the route exists and
//! whether the body matches the spec's response schema.
//!
//! - Operations without path parameters go first; then those whose path ids can be taken from
//!   earlier answers (an agent id from the agents list feeds `/agents/{agent_id}/...`), pass
//!   after pass until no more can be resolved. The rest are skipped, with the missing id named.
//! - Outcomes: `ok`, `route_not_found` (404/405), `decode_mismatch` (each JSON path that breaks
//!   decoding: missing required field, type change, closed enum, forbidden field), `forbidden`
//!   (401/403), `error` (another status, or the request failed), `skipped` (no id, a required
//!   query parameter, no credential, a hand-written or legacy call). Undocumented extra fields
//!   are listed for every answer that has them.
//! - Only GET is ever sent: see [`wire`]. Secrets are [`cxkit::Secret`]s, sent as sensitive
//!   headers, never written to the report or printed.
//! - [`apply()`] marks the `ok` operations `x-cxkit-verified: '<date>'` in their spec files with a
//!   one-line edit each.
//!
//! One concern per module: `runner` reads the specs' GET operations and calls them,
//! `ids` harvests ids from answers and fills them into paths, `report` is what the check
//! found, `apply` writes the `ok` marks into the specs, `credentials` gathers what to send;
//! [`schema`] walks a body against its response schema and [`wire`] is the GET-only sender.

mod apply;
mod credentials;
mod ids;
mod report;
mod runner;
pub mod schema;
pub mod wire;

pub use apply::{Applied, apply};
pub use credentials::{
    Credentials, ejento_credentials_from_env, login, proto_credentials_from_env,
    registry_credentials,
};
pub use report::{OperationReport, Outcome, Report};
pub use runner::{CheckConfig, System, check};
