//! The spec model every cxkit tool shares: the generator (`xtask`), the conformance build, the
//! command line's operation tables (written by the xtask) and the live checker read specs only
//! through it, so they agree on what a spec says.
//!
//! - [`yaml`]: YAML read into JSON with duplicate mapping keys refused (the key named);
//! - [`Spec`]: a spec document and its operation walk;
//! - [`refs`]: the one `$ref` resolver (local references, chains followed, cycles and dangling
//!   references reported) and the `allOf` view of an object schema;
//! - [`security`]: security schemes mapped to where their secret goes ([`Placement`]);
//! - [`ext`]: the operation extensions (`x-cxkit-source`, `x-cxkit-inferred`,
//!   `x-cxkit-handwritten`, `x-cxkit-facade`, ...);
//! - [`registry`]: `specs/systems.toml`, the one list of the systems cxkit generates.

pub mod ext;
pub mod refs;
pub mod registry;
pub mod security;
mod spec;
pub mod yaml;

pub use refs::RefError;
pub use registry::{Api, CliSystem, Feature, Registry, Testkit};
pub use security::Placement;
pub use spec::{METHODS, Problem, Spec, op_label, template_params};
