//! The systems cxkit generates clients for: one spec, one crate each.

/// One generated client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct System {
    /// Short name, used on the command line and in the security table (`ejento-auth`).
    pub name: &'static str,
    /// The spec, relative to the workspace root.
    pub spec: &'static str,
    /// The generated file, relative to the workspace root.
    pub output: &'static str,
}

/// Every system, in generation order.
pub const SYSTEMS: &[System] = &[
    System {
        name: "ejento-auth",
        spec: "specs/ejento-auth.yaml",
        output: "crates/ejento-auth/src/generated.rs",
    },
    System {
        name: "ejento-platform",
        spec: "specs/ejento-platform.yaml",
        output: "crates/ejento-platform/src/generated.rs",
    },
    System {
        name: "proto",
        spec: "specs/proto.yaml",
        output: "crates/proto/src/generated.rs",
    },
    System {
        name: "proto-developer",
        spec: "specs/proto-developer.yaml",
        output: "crates/proto-developer/src/generated.rs",
    },
    System {
        name: "proto-messaging",
        spec: "specs/proto-messaging.yaml",
        output: "crates/proto-messaging/src/generated.rs",
    },
    System {
        name: "platform28",
        spec: "specs/platform28.yaml",
        output: "crates/platform28/src/generated.rs",
    },
];

/// Finds systems by name; an unknown name is an error that lists the known ones.
pub fn select(names: &[String]) -> anyhow::Result<Vec<System>> {
    if names.is_empty() {
        return Ok(SYSTEMS.to_vec());
    }
    names
        .iter()
        .map(|name| {
            SYSTEMS
                .iter()
                .find(|s| s.name == name)
                .copied()
                .ok_or_else(|| {
                    let known: Vec<_> = SYSTEMS.iter().map(|s| s.name).collect();
                    anyhow::anyhow!(
                        "unknown system `{name}`; known systems: {}",
                        known.join(", ")
                    )
                })
        })
        .collect()
}
