#![doc = include_str!("../README.md")]

pub mod capture;
#[cfg(feature = "ejento")]
pub mod ejento;
#[cfg(feature = "platform28")]
pub mod platform28;
#[cfg(feature = "proto")]
pub mod proto;
pub mod raw_tcp;
mod server;

#[cfg(feature = "ejento")]
pub use ejento::FakeEjento;
#[cfg(feature = "platform28")]
pub use platform28::FakePlatform28;
#[cfg(feature = "proto")]
pub use proto::FakeProto;
pub use server::{Recorded, Reply, UnknownOperation, strip_matrix};
