//! The registry (`specs/systems.toml`) describes the workspace as it is: each entry's crate,
//! facade feature and module exist, and its credential kinds are its spec's security schemes.

use xtask::spec::Spec;

#[test]
fn every_entry_names_a_real_crate_feature_and_facade_module() {
    let root = xtask::workspace_root().expect("workspace root");
    let registry = xtask::systems::registry(&root).expect("the registry reads");
    let facade_manifest =
        std::fs::read_to_string(root.join("crates/cxkit/Cargo.toml")).expect("facade manifest");
    let testkit_manifest = std::fs::read_to_string(root.join("crates/cxkit-testkit/Cargo.toml"))
        .expect("test kit manifest");
    for api in &registry.api {
        let manifest = std::fs::read_to_string(root.join(&api.dir).join("Cargo.toml"))
            .unwrap_or_else(|e| panic!("{}: {}/Cargo.toml: {e}", api.name, api.dir));
        assert!(
            manifest.contains(&format!("name = \"{}\"", api.package)),
            "{}: {}/Cargo.toml is not the package `{}`",
            api.name,
            api.dir,
            api.package
        );
        for (what, text) in [
            ("crates/cxkit", &facade_manifest),
            ("crates/cxkit-testkit", &testkit_manifest),
        ] {
            assert!(
                text.contains(&format!("\n{} = [", api.feature)),
                "{}: no feature `{}` in {what}/Cargo.toml",
                api.name,
                api.feature
            );
            assert!(
                text.contains(&format!("dep:{}", api.package)),
                "{}: the feature `{}` of {what} does not turn on `{}`",
                api.name,
                api.feature,
                api.package
            );
        }
        assert!(
            facade_manifest.contains(&format!("\"{}?/cli\"", api.package)),
            "{}: the facade's `cli` feature does not turn on `{}?/cli`",
            api.name,
            api.package
        );
        let feature = registry.feature_of(api);
        let module = root.join("crates/cxkit/src").join(&feature.module);
        assert!(
            module.with_extension("rs").is_file() || module.join("mod.rs").is_file(),
            "{}: no facade module `{}`",
            api.name,
            feature.module
        );
        let fake = root
            .join("crates/cxkit-testkit/src")
            .join(&feature.testkit.module)
            .with_extension("rs");
        assert!(
            fake.is_file(),
            "{}: no test kit module `{}`",
            api.name,
            feature.testkit.module
        );
        let spec = Spec::load(&root, &api.spec).expect("spec");
        let system = xtask::systems::System {
            name: Box::leak(api.name.clone().into_boxed_str()),
            spec: Box::leak(api.spec.clone().into_boxed_str()),
            output: "unused",
        };
        assert_eq!(xtask::credential_problems(&root, &system, &spec), []);
    }
}

/// A registry entry whose credentials differ from its spec's security schemes is a problem
/// naming the registry, the API and both lists.
#[test]
fn credentials_that_differ_from_the_specs_schemes_are_a_problem() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("specs")).expect("mkdir");
    std::fs::write(
        root.join("specs/systems.toml"),
        "[[cli]]\nname = \"x\"\nabout = \"X\"\n\n[[api]]\nname = \"x\"\nspec = \"specs/x.yaml\"\npackage = \"cxkit-x\"\ndir = \"crates/x\"\ncli = \"x\"\nfeature = \"x\"\ncredentials = [\"token\", \"stale\"]\ndescription = \"X\"\ndoc = \"X.\"\n\n[[feature]]\nname = \"x\"\nmodule = \"x\"\ntestkit = { module = \"x\" }\n",
    )
    .expect("write registry");
    let text = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\ncomponents:\n  securitySchemes:\n    token: {type: http, scheme: bearer}\n    key: {type: apiKey, in: header, name: X-Key}\n";
    std::fs::write(root.join("specs/x.yaml"), text).expect("write spec");
    let spec = Spec::load(root, "specs/x.yaml").expect("spec");
    let system = xtask::systems::all(root).expect("registry")[0];
    let problems = xtask::credential_problems(root, &system, &spec);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(
        problems[0].to_string(),
        "specs/systems.toml: api `x` lists the credentials [stale, token], but specs/x.yaml defines the security schemes [key, token]; list exactly the spec's schemes"
    );
}
