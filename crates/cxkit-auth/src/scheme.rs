//! The security table `cargo xtask generate` emits into every generated crate.
//!
//! progenitor ignores `securitySchemes` and `security`; the xtask reads them and writes one
//! [`ApiSecurity`] constant per spec, which the hooks consult on every request.

/// Where a scheme's secret goes on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// `Authorization: Bearer <secret>`.
    Bearer,
    /// A request header with this name.
    Header(&'static str),
    /// A query pair with this name (`?name=secret`).
    Query(&'static str),
    /// A matrix parameter on the last path segment (`/path;name=secret`).
    Matrix(&'static str),
}

impl Placement {
    /// The header or parameter name the spec gives (empty for a bearer token).
    pub fn name(self) -> &'static str {
        match self {
            Placement::Bearer => "",
            Placement::Header(n) | Placement::Query(n) | Placement::Matrix(n) => n,
        }
    }

    /// Whether the secret ends up in the URL (and so must be scrubbed before a URL is printed).
    pub fn in_url(self) -> bool {
        matches!(self, Placement::Query(_) | Placement::Matrix(_))
    }
}

/// One entry of the spec's `components.securitySchemes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchemeDef {
    /// The scheme's name in the spec, e.g. `ejentoToken`.
    pub name: &'static str,
    /// Where its secret goes by default.
    pub placement: Placement,
}

/// One operation of the spec, as the hooks need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperationDef {
    /// The spec's `operationId`.
    pub id: &'static str,
    /// The HTTP method, upper case.
    pub method: &'static str,
    /// The path template, e.g. `/api/v2/agents/{agent_id}`.
    pub path: &'static str,
    /// The spec's `security`: alternatives, each a list of scheme names that must all apply.
    /// An empty alternative means "no credential needed".
    pub security: &'static [&'static [&'static str]],
    /// Whether a transient failure may be retried automatically.
    pub idempotent: bool,
    /// Whether the facade implements the call by hand (`x-cxkit-handwritten`), so the generated
    /// client has no method for it.
    pub handwritten: bool,
    /// The `X-API-Version` the operation is sent with: the spec's `info.x-cxkit-api-version`
    /// (the version it was curated against), or `None` for legacy operations that opt out with
    /// `x-cxkit-api-version: false` (and for every operation of a spec that declares none).
    /// An [`crate::AuthBuilder::api_version`] override replaces the value, never the `None`.
    pub api_version: Option<&'static str>,
    /// The host the operation lives on when it is not the spec's default server: the name the
    /// spec gives with `x-cxkit-server` (e.g. `users` for the older guide's users API). A handle
    /// bound to a server ([`crate::AuthBuilder::server`]) refuses operations of other hosts, so a
    /// call cannot silently go to the wrong one.
    pub server: Option<&'static str>,
}

/// The request header that pins an operation to an API version (Ejento's versioning page:
/// "the latest v2 APIs take `X-API-Version: MAJOR.MINOR`").
pub const API_VERSION_HEADER: &str = "x-api-version";

/// Everything the hooks know about one spec.
#[derive(Clone, Copy, Debug)]
pub struct ApiSecurity {
    /// The system's name, e.g. `ejento-auth`.
    pub api: &'static str,
    /// The spec's security schemes.
    pub schemes: &'static [SchemeDef],
    /// All operations, sorted by `id`.
    pub operations: &'static [OperationDef],
    /// A hash index of `operations`, which the hooks look an operation up in on every call:
    /// an open-addressing table whose length is a power of two, each slot `0` (empty) or one
    /// more than a position in `operations`, an id's probe starting at
    /// `operation_hash(id) & (len - 1)` and moving on one slot at a time. Empty: no index, and
    /// [`ApiSecurity::operation`] binary-searches instead.
    pub index: &'static [u16],
}

/// The hash [`ApiSecurity::index`] is laid out by: 32-bit FNV-1a of the id's bytes.
/// `cargo xtask generate` lays out every generated index with this same function.
pub const fn operation_hash(id: &str) -> u32 {
    let bytes = id.as_bytes();
    let mut hash = 0x811c_9dc5_u32;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u32;
        hash = hash.wrapping_mul(0x0100_0193);
        i += 1;
    }
    hash
}

impl ApiSecurity {
    /// Looks an operation up by its `operationId`: in the hash index (one hash and, nearly
    /// always, one comparison), else by binary search. A lookup the index misses is searched
    /// too, so a table whose index does not match its operations is slower, never wrong.
    pub fn operation(&self, id: &str) -> Option<&'static OperationDef> {
        self.position(id).map(|at| &self.operations[at])
    }

    /// Where [`ApiSecurity::operation`] finds an operation in `operations`.
    pub fn position(&self, id: &str) -> Option<usize> {
        let len = self.index.len();
        if len.is_power_of_two() {
            let mask = len - 1;
            let mut slot = operation_hash(id) as usize & mask;
            for _ in 0..len {
                let Some(at) = self.index[slot].checked_sub(1).map(usize::from) else {
                    break;
                };
                if self.operations.get(at).is_some_and(|op| op.id == id) {
                    return Some(at);
                }
                slot = (slot + 1) & mask;
            }
        }
        self.operations.binary_search_by(|op| op.id.cmp(id)).ok()
    }

    /// Looks a scheme up by name.
    pub fn scheme(&self, name: &str) -> Option<&'static SchemeDef> {
        self.schemes.iter().find(|s| s.name == name)
    }
}
