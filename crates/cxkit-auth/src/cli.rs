//! The operation metadata a command line needs (behind the `cli` feature): every generated
//! crate's `cli::OPERATIONS`, written by `cargo xtask generate` from its spec (parameters,
//! request body, summary, accepted answer, provenance), built only when an application (the
//! `cxkit` command line) turns the feature on.

/// Where a parameter goes in the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// A `{name}` segment of the path template.
    Path,
    /// A query pair.
    Query,
    /// A request header.
    Header,
    /// A cookie (sent as a `Cookie` header).
    Cookie,
}

impl Location {
    /// The OpenAPI name of the location.
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
    /// Where it goes.
    pub location: Location,
    /// Whether the spec requires it.
    pub required: bool,
    /// `string`, `integer`, `array of integer`, ...
    pub kind: &'static str,
    /// `format: password` in the spec: refused inline on the command line (it would show in
    /// `ps` and the shell's history).
    pub secret: bool,
    /// The spec's description, on one line.
    pub description: &'static str,
}

/// An operation's request body.
#[derive(Clone, Copy, Debug)]
pub struct Body {
    /// Whether the spec requires a body.
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
    /// The path item's parameters, then the operation's own.
    pub params: &'static [Param],
    /// The request body, if the operation takes one.
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
