//! Fakes for testing cxkit over real HTTP on loopback: a stateful fake of Ejento's
//! Authentication App ([`fake_ejento`]), a raw TCP server that breaks connections on purpose
//! ([`raw_tcp`]), a capture of tracing output ([`capture`]), and a real `redis-server` on a
//! loopback port ([`redis_server`]).
//!
//! They live in a library so that examples and benchmarks can reuse them.

pub mod capture;
pub mod fake_ejento;
pub mod raw_tcp;
pub mod redis_server;
