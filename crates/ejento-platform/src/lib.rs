//! Client for the Ejento platform API (agents, chat threads, agent responses, corpora,
//! documents, projects, teams, users, analytics, guardrails, feature flags, workflows …),
//! generated from `specs/ejento-platform.yaml` by `cargo xtask generate`. Use it through the
//! `cxkit` facade (`Ejento::platform()`), which authorizes it with the session's Ejento token.
//!
//! The SSE streams and the multipart document upload are hand-written in the facade over this
//! client's hooks (`cxkit_auth::hooks`), since progenitor cannot type them.
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
