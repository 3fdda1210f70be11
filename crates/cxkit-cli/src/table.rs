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

pub use systems::{Api, System, with_static_client};

/// How a system whose credentials are all static keys logs in, as its registry entry declares
/// (`login = { kind = "static", ... }`): the command line handles every such system with the
/// same code (`cxkit login`, `logout`, `whoami`, the operations).
#[derive(Debug)]
pub struct StaticLogin {
    /// The login's `--help` line, before `(<env> or a prompt)`.
    pub about: &'static str,
    /// The key in words (`personal access token`); in snake case, its stored name.
    pub secret: &'static str,
    /// The environment variable the key may come from.
    pub env: &'static str,
    /// The ids bound at login (each a `--kebab-case` option and a profile setting) with the
    /// path parameter each fills.
    pub ids: &'static [(&'static str, &'static str)],
    /// The `--base-url` help, before `(default ...)`.
    pub base_help: &'static str,
    /// The facade's production base URL.
    pub default_base_url: &'static str,
}

impl StaticLogin {
    /// The key's stored name (`personal_access_token`).
    pub fn stored_name(&self) -> String {
        self.secret.replace(' ', "_")
    }

    /// The login command line, for "run `...`" hints.
    pub fn command(&self, system: System) -> String {
        let mut line = format!("cxkit login {}", system.name());
        for (id, _) in self.ids {
            line.push_str(&format!(" --{} ID", id.replace('_', "-")));
        }
        line
    }
}

/// What runs on the generated client of a system with a static login (see
/// [`with_static_client`]): each system's client is its own type.
pub trait StaticCall {
    fn call<C: progenitor_client::ClientInfo<cxkit::Auth> + cxkit_auth::SendRaw>(
        self,
        client: &C,
    ) -> impl Future<Output = Result<(), crate::failure::Failure>>;
}

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
