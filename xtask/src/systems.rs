//! The systems cxkit generates clients for, as the registry `specs/systems.toml` lists them
//! (read through `cxkit_spec::Registry`): one spec and one crate each. Nothing here lists a
//! system.

use std::path::Path;

use cxkit_spec::{Problem, Registry};

/// One generated client, as the generator needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct System {
    /// Short name, used on the command line and in the security table (`ejento-auth`).
    pub name: &'static str,
    /// The spec, relative to the workspace root.
    pub spec: &'static str,
    /// The generated file, relative to the workspace root.
    pub output: &'static str,
}

/// The registry of the workspace at `root`.
pub fn registry(root: &Path) -> Result<Registry, Problem> {
    Registry::load(root)
}

/// Every system of the registry, in generation order. The names live as long as the process
/// (the xtask reads the registry a few times per run).
pub fn all(root: &Path) -> Result<Vec<System>, Problem> {
    Ok(of(&registry(root)?))
}

/// The systems of a registry already read.
pub fn of(registry: &Registry) -> Vec<System> {
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    registry
        .api
        .iter()
        .map(|api| System {
            name: leak(api.name.clone()),
            spec: leak(api.spec.clone()),
            output: leak(api.output()),
        })
        .collect()
}

/// Finds systems by name (all of them for no names); an unknown name is an error that lists
/// the known ones.
pub fn select(root: &Path, names: &[String]) -> anyhow::Result<Vec<System>> {
    let all = all(root).map_err(|p| anyhow::anyhow!("{p}"))?;
    if names.is_empty() {
        return Ok(all);
    }
    names
        .iter()
        .map(|name| {
            all.iter().find(|s| s.name == name).copied().ok_or_else(|| {
                let known: Vec<_> = all.iter().map(|s| s.name).collect();
                anyhow::anyhow!(
                    "unknown system `{name}`; known systems: {} (specs/systems.toml)",
                    known.join(", ")
                )
            })
        })
        .collect()
}
