#![doc = include_str!("../README.md")]
// With no system feature only the token layer is built, and the HTTP and error helpers the
// systems share have no caller.
// BEGIN systems: features (cargo xtask generate writes this block from specs/systems.toml)
#![cfg_attr(
    not(any(
        feature = "ejento",
        feature = "proto",
        feature = "proto-developer",
        feature = "proto-messaging",
        feature = "platform28"
    )),
    allow(dead_code)
)]
// END systems: features

// The repository README's examples are compiled as doctests too (only under `cargo test
// --doc`, so packaging never reads a file outside the crate).
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct RepositoryReadme;

mod cache;
mod config;
mod error;
mod http;
mod options;
mod paging;
#[cfg(feature = "ejento")]
mod sse;
mod store;
pub mod telemetry;
mod token;
#[cfg(feature = "ejento")]
mod upload;
#[cfg(feature = "ejento")]
mod user_token;

// BEGIN systems: modules (cargo xtask generate writes this block from specs/systems.toml)
#[cfg(feature = "ejento")]
mod ejento;
#[cfg(any(
    feature = "proto",
    feature = "proto-developer",
    feature = "proto-messaging"
))]
mod handle;
#[cfg(feature = "platform28")]
pub mod platform28;
#[cfg(feature = "proto")]
pub mod proto;
#[cfg(feature = "proto-developer")]
pub mod proto_developer;
#[cfg(feature = "proto-messaging")]
pub mod proto_messaging;
#[cfg(feature = "proto-messaging")]
pub mod proto_webhook;
// END systems: modules

pub use cache::{CachedToken, Refresher, TokenCache};
pub use config::{Config, ConfigBuilder};
/// The OpenTelemetry API crate cxkit reports to, at the version it was built with (the `otel`
/// feature).
#[cfg(feature = "otel")]
pub use cxkit_auth::telemetry::opentelemetry;
pub use cxkit_auth::tls::ensure_crypto_provider;
pub use cxkit_auth::{
    Auth, Clock, Credential, ManualClock, RetryPolicy, Secret, SystemClock, TokenSource,
};
pub use error::{Error, Result};
pub use http::HttpConfig;
pub use options::{CallOptions, IDEMPOTENCY_KEY_HEADER, WithOptions};
pub use paging::{Page, paginate};
#[cfg(feature = "ejento")]
pub use paging::{PageMeta, PageRequest, paginate_pages};
#[cfg(all(feature = "proto", feature = "ejento"))]
pub use proto::AccessTokenBridge;
/// The `reqwest` cxkit is built on, for an application that brings its own client
/// ([`ConfigBuilder::http_client`]): a client of this version is the one cxkit accepts.
pub use reqwest;
#[cfg(feature = "ejento")]
pub use sse::{AnswerStream, BodyError, StreamEvent, StreamedAnswer};
#[cfg(feature = "file-store")]
pub use store::FileTokenStore;
#[cfg(feature = "redis")]
pub use store::redis as redis_store;
#[cfg(feature = "redis")]
pub use store::redis::{RedisTokenStore, RedisTokenStoreBuilder, TokenCipher};
pub use store::{MemoryTokenStore, StoreError, StoreLock, TokenStore};
#[cfg(feature = "otel")]
pub use telemetry::Telemetry;
pub use token::{RefreshConfig, TokenSet, jwt_expiry};
#[cfg(feature = "ejento")]
pub use upload::{DocumentUpload, Progress};
#[cfg(feature = "ejento")]
pub use user_token::{MINTED_TOKEN_FALLBACK_LIFETIME, MINTED_TOKEN_LONGEST_LIFETIME};

// BEGIN systems: exports (cargo xtask generate writes this block from specs/systems.toml)
#[cfg(feature = "ejento")]
pub use ejento::{
    AUTH_APP_TOKEN, EJENTO_TOKEN, Ejento, EjentoBuilder, GUIDE_USERS_BASE_URL, SessionInfo,
    SsoProvider,
};
#[cfg(feature = "platform28")]
pub use platform28::{Platform28, Platform28Builder, Platform28Session};
#[cfg(feature = "proto")]
pub use proto::{Proto, ProtoBuilder};
#[cfg(feature = "proto-developer")]
pub use proto_developer::{ProtoPlatform, ProtoPlatformBuilder, SpeechFormat, TextToSpeechRequest};
#[cfg(feature = "proto-messaging")]
pub use proto_messaging::{ProtoMessaging, ProtoMessagingBuilder};
// END systems: exports

/// Internals that the benchmarks and the allocation test in `tests/` drive directly: the raw
/// `text/event-stream` parser under [`AnswerStream`]. Not part of the public API (hidden from
/// the docs, no semver promise): applications parse a stream with [`AnswerStream::from_bytes`].
#[cfg(feature = "ejento")]
#[doc(hidden)]
pub mod __bench {
    pub use crate::sse::Parser as SseParser;
}

/// The generated clients, for their request and response types (each behind its system's
/// feature).
pub mod clients {
    // BEGIN systems: clients (cargo xtask generate writes this block from specs/systems.toml)
    #[cfg(feature = "ejento")]
    pub use cxkit_ejento_auth as ejento_auth;
    #[cfg(feature = "ejento")]
    pub use cxkit_ejento_platform as ejento_platform;
    #[cfg(feature = "platform28")]
    pub use cxkit_platform28 as platform28;
    #[cfg(feature = "proto")]
    pub use cxkit_proto as proto;
    #[cfg(feature = "proto-developer")]
    pub use cxkit_proto_developer as proto_developer;
    #[cfg(feature = "proto-messaging")]
    pub use cxkit_proto_messaging as proto_messaging;
    // END systems: clients
}
