//! The MSRV is the workspace's `rust-version`. Cargo's MSRV-aware resolver (resolver 3) picks
//! dependency versions that support it, but `cargo update` or a hand-edited lock can still
//! pull in one that does not; this test fails then, naming the packages and the fix. (Our own
//! code is held to the MSRV by clippy's `incompatible_msrv` lint, which reads the same field.)

use std::process::Command;

/// `1.89` or `1.89.0` as comparable numbers.
fn version(text: &str) -> Vec<u64> {
    let mut parts: Vec<u64> = text.split('.').map(|p| p.parse().unwrap_or(0)).collect();
    parts.resize(3, 0);
    parts
}

#[test]
fn locked_dependencies_support_the_msrv() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(xtask::workspace_root().expect("workspace root"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let members: Vec<&str> = meta["workspace_members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    let packages = meta["packages"].as_array().expect("packages");
    let msrv = packages
        .iter()
        .find(|p| p["id"].as_str().is_some_and(|id| members.contains(&id)))
        .and_then(|p| p["rust_version"].as_str())
        .expect("the workspace members declare rust-version");
    let too_new: Vec<String> = packages
        .iter()
        .filter(|p| !p["id"].as_str().is_some_and(|id| members.contains(&id)))
        .filter_map(|p| {
            let needs = p["rust_version"].as_str()?;
            (version(needs) > version(msrv)).then(|| {
                format!(
                    "{} {} needs Rust {needs}",
                    p["name"].as_str().unwrap_or("?"),
                    p["version"].as_str().unwrap_or("?")
                )
            })
        })
        .collect();
    assert!(
        too_new.is_empty(),
        "these locked dependencies need a newer Rust than the MSRV {msrv}:\n  {}\n\
         pin an older version (`cargo update -p NAME --precise VERSION`) or raise \
         `rust-version` in Cargo.toml (a breaking change: see the README's MSRV policy)",
        too_new.join("\n  ")
    );
    // The comparison itself: a newer minor is newer, a patch-less version equals its .0.
    assert!(version("1.90") > version("1.89.0"));
    assert!(version("1.89") == version("1.89.0"));
}
