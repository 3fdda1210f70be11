//! Client for the Platform28 Cloud API (Auth V2), generated from `specs/platform28.yaml` by
//! `cargo xtask generate`. Use it through the `cxkit` facade (`Platform28`).
//!
//! The login session id (a `;lsid=` matrix parameter) and the API key (a query parameter) are
//! never method arguments: the hooks at the bottom of `generated.rs` add them to each request,
//! and scrub them from every URL an error could print (see `cxkit_auth::hooks`).
//!
//! Every operation, with its client method, the facade call that wraps it, its HTTP method
//! and path and where it comes from, is listed in [`operations`] (`OPERATIONS.md`, generated
//! by `cargo xtask generate`).

#[rustfmt::skip]
#[allow(clippy::all, clippy::pedantic, missing_debug_implementations, unused_imports, dead_code)]
mod generated;

pub use generated::*;

/// The operation metadata a command line needs (the `cli` feature, which the `cxkit` command
/// line turns on): every operation's parameters, body, summary, accepted answer and provenance,
/// written by `cargo xtask generate` from the spec.
#[cfg(feature = "cli")]
#[rustfmt::skip]
#[allow(unused_imports)]
pub mod cli;

/// The operation index: every operation of the spec with its title, client method, facade
/// call, HTTP method and path, and provenance.
#[doc = include_str!("../OPERATIONS.md")]
pub mod operations {}
