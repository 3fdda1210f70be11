#![doc = include_str!("../README.md")]

#[cfg(feature = "ejento")]
mod answers;
pub mod capture;
pub mod raw_tcp;
#[cfg(feature = "redis")]
pub mod redis_server;

#[cfg(feature = "otel")]
pub mod otel;

// BEGIN systems: modules (cargo xtask generate writes this block from specs/systems.toml)
#[cfg(feature = "ejento")]
pub mod ejento;
#[cfg(feature = "platform28")]
pub mod platform28;
#[cfg(feature = "proto")]
pub mod proto;
#[cfg(feature = "proto-messaging")]
pub mod proto_messaging;
#[cfg(feature = "proto-developer")]
pub mod proto_platform;
// END systems: modules

// With no vendor feature on, only the vendor-neutral helpers remain and the shared server core
// is unused; it is kept compiling so every feature combination builds.
// BEGIN systems: features (cargo xtask generate writes this block from specs/systems.toml)
#[cfg_attr(
    not(any(
        feature = "ejento",
        feature = "proto",
        feature = "proto-developer",
        feature = "proto-messaging",
        feature = "platform28"
    )),
    allow(dead_code, unused_macros, unused_imports)
)]
mod server;
// END systems: features

// BEGIN systems: exports (cargo xtask generate writes this block from specs/systems.toml)
#[cfg(feature = "ejento")]
pub use ejento::FakeEjento;
#[cfg(feature = "platform28")]
pub use platform28::FakePlatform28;
#[cfg(feature = "proto")]
pub use proto::FakeProto;
#[cfg(feature = "proto-messaging")]
pub use proto_messaging::{FakeProtoMessaging, WebhookSender};
#[cfg(feature = "proto-developer")]
pub use proto_platform::FakeProtoPlatform;
// END systems: exports

pub use server::{Recorded, Reply, UnknownOperation, strip_matrix};
