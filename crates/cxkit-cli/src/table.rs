//! The operation tables `cargo xtask generate` writes into each generated crate (its `cli`
//! module, behind its `cli` feature), and the systems the command line groups them into
//! (`src/generated/systems.rs`, written from the registry, `specs/systems.toml`).

// The operation tables' types: cxkit-auth's (its `cli` feature), which the generated crates'
// `cli` modules are written in.
pub use cxkit_auth::cli::{Location, Operation};

// The systems, the APIs and their tables: written by `cargo xtask generate` from
// specs/systems.toml.
#[rustfmt::skip]
#[path = "generated/systems.rs"]
mod systems;

pub use systems::{Api, System};

impl System {
    pub fn from_name(name: &str) -> Option<System> {
        System::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Every operation of the system, with the API it belongs to.
    pub fn operations(self) -> impl Iterator<Item = (Api, &'static Operation)> {
        self.apis()
            .iter()
            .flat_map(|(api, ops)| ops.iter().map(move |op| (*api, op)))
    }

    /// The operation with this command name.
    pub fn find(self, name: &str) -> Option<(Api, &'static Operation)> {
        self.operations().find(|(_, op)| op.name == name)
    }
}
