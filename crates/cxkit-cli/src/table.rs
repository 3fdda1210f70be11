//! The types of the operation tables `cargo xtask generate` writes from the specs
//! (`src/generated/`), and the systems the command line groups them into (written from the
//! registry, `specs/systems.toml`).

/// Where a parameter goes in the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// A `{name}` segment of the path template.
    Path,
    /// A query pair.
    Query,
    /// A request header.
    #[allow(
        dead_code,
        reason = "no spec has header or cookie parameters today; a spec may"
    )]
    Header,
    /// A cookie (sent as a `Cookie` header).
    #[allow(
        dead_code,
        reason = "no spec has header or cookie parameters today; a spec may"
    )]
    Cookie,
}

impl Location {
    pub fn as_str(self) -> &'static str {
        match self {
            Location::Path => "path",
            Location::Query => "query",
            Location::Header => "header",
            Location::Cookie => "cookie",
        }
    }
}

/// One parameter of an operation.
#[derive(Clone, Copy, Debug)]
pub struct Param {
    /// The name in the spec (also the `--name` option, as written there).
    pub name: &'static str,
    pub location: Location,
    pub required: bool,
    /// `string`, `integer`, `array of integer`, ...
    pub kind: &'static str,
    /// `format: password` in the spec: refused inline on the command line (it would show in
    /// `ps` and the shell's history).
    pub secret: bool,
    pub description: &'static str,
}

/// An operation's request body.
#[derive(Clone, Copy, Debug)]
pub struct Body {
    pub required: bool,
    /// The first content type the spec lists.
    pub content_type: &'static str,
    /// Its top-level fields marked `format: password`: refused in inline `--body` text.
    pub secret_fields: &'static [&'static str],
}

/// One operation of a spec.
#[derive(Clone, Copy, Debug)]
pub struct Operation {
    /// The spec's `operationId`.
    pub id: &'static str,
    /// The command name: the `operationId` in kebab case.
    pub name: &'static str,
    /// The spec's `summary` (the vendor's title).
    pub summary: &'static str,
    /// Upper case.
    pub method: &'static str,
    /// The path template, e.g. `/api/v2/agents/{agent_id}`.
    pub path: &'static str,
    pub params: &'static [Param],
    pub body: Option<Body>,
    /// The spec's `x-cxkit-server` (e.g. `users`), when the operation is not on the default host.
    pub server: Option<&'static str>,
    /// The spec's `x-cxkit-handwritten` reason, when the facade implements it by hand.
    pub handwritten: Option<&'static str>,
    /// The first content type of the first success answer, if the spec gives one.
    pub accept: Option<&'static str>,
    /// Whether `x-cxkit-source` names a vendor page or seed.
    pub sourced: bool,
    /// The sources and inferred parts, as the operation index writes them.
    pub provenance: &'static str,
}

impl Operation {
    /// Whether the spec marks the operation, or any part of it, inferred.
    pub fn inferred(&self) -> bool {
        self.provenance.contains("inferred:")
    }
}

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
