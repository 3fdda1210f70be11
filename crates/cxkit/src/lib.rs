#![doc = include_str!("../README.md")]

mod cache;
mod ejento;
mod error;
mod http;
mod paging;
pub mod platform28;
pub mod proto;
mod sse;
mod store;
mod token;
mod upload;
mod user_token;

pub use cache::{CachedToken, Refresher, TokenCache};
pub use cxkit_auth::{
    Auth, Clock, Credential, ManualClock, RetryPolicy, Secret, SystemClock, TokenSource,
};
pub use ejento::{
    AUTH_APP_TOKEN, DEFAULT_USERS_BASE_URL, EJENTO_TOKEN, Ejento, EjentoBuilder, SessionInfo,
    SsoProvider,
};
pub use error::{Error, Result};
pub use http::HttpConfig;
pub use paging::{Page, PageMeta, PageRequest, paginate, paginate_pages};
pub use platform28::{Platform28, Platform28Builder, Platform28Session};
pub use proto::{AccessTokenBridge, Proto, ProtoBuilder};
pub use sse::{AnswerStream, BodyError, StreamEvent};
pub use store::{FileTokenStore, MemoryTokenStore, StoreError, StoreLock, TokenStore};
pub use token::{RefreshConfig, TokenSet, jwt_expiry};
pub use upload::{DocumentUpload, Progress};
pub use user_token::MINTED_TOKEN_FALLBACK_LIFETIME;

/// The generated clients, for their request and response types.
pub mod clients {
    pub use cxkit_ejento_auth as ejento_auth;
    pub use cxkit_ejento_platform as ejento_platform;
    pub use cxkit_platform28 as platform28;
    pub use cxkit_proto as proto;
}
