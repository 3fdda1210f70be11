#![doc = include_str!("../README.md")]

#[cfg(feature = "ejento")]
mod answers;
pub mod capture;
#[cfg(feature = "ejento")]
pub mod ejento;
#[cfg(feature = "platform28")]
pub mod platform28;
#[cfg(feature = "proto")]
pub mod proto;
pub mod raw_tcp;
#[cfg(feature = "redis")]
pub mod redis_server;
// With no vendor feature on, only the vendor-neutral helpers remain and the shared server core
// is unused; it is kept compiling so every feature combination builds.
#[cfg_attr(
    not(any(feature = "ejento", feature = "proto", feature = "platform28")),
    allow(dead_code, unused_macros, unused_imports)
)]
mod server;

#[cfg(feature = "ejento")]
pub use ejento::FakeEjento;
#[cfg(feature = "platform28")]
pub use platform28::FakePlatform28;
#[cfg(feature = "proto")]
pub use proto::FakeProto;
pub use server::{Recorded, Reply, UnknownOperation, strip_matrix};
