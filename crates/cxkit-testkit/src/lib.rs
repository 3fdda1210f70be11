//! Fakes for testing cxkit over real HTTP on loopback: a stateful fake of Ejento's
//! Authentication App ([`ejento`]), a raw TCP server that breaks connections on purpose
//! ([`raw_tcp`]), and a capture of tracing output ([`capture`]).

pub mod capture;
pub mod ejento;
pub mod raw_tcp;
