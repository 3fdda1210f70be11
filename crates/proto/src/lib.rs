//! Client for Proto AICX's CRM humans, generated from `specs/proto.yaml` by
//! `cargo xtask generate`. Use it through the `cxkit` facade (`Proto`), which binds the company
//! id, bot id and personal access token.
//!
//! Every request goes through the hooks at the bottom of `generated.rs`, which send the
//! personal access token in the `X-SINITIC-TOKEN` header (see `cxkit_auth::hooks`).

#[rustfmt::skip]
#[allow(clippy::all, clippy::pedantic, missing_debug_implementations, unused_imports, dead_code)]
mod generated;

pub use generated::*;
