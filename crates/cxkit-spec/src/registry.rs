//! The system registry, `specs/systems.toml`: the one place that lists the systems cxkit
//! generates. Everything else that needs the list (the xtask's generation, the command line's
//! system and API enums and tables, the conformance calls, the CI feature lists, the security
//! tables test) reads it or is written from it by `cargo xtask generate`.
//!
//! ```toml
//! [[cli]]                     # a system of the command line (`cxkit <name> ...`)
//! name = "ejento"
//! about = "Ejento: ..."
//!
//! [[api]]                     # one generated client
//! name = "ejento-auth"        # its name in the SECURITY table and on `cargo xtask` lines
//! spec = "specs/ejento-auth.yaml"
//! package = "cxkit-ejento-auth"
//! dir = "crates/ejento-auth"
//! cli = "ejento"              # the command-line system it belongs to
//! feature = "ejento"          # the facade's (and the test kit's) Cargo feature
//! module = "ejento"           # the facade module that wraps it
//! credentials = ["ejentoAuthKey", "ejentoToken"]   # its spec's security schemes
//! ```
//!
//! Unknown keys, duplicate names, an API naming an unknown command-line system and a
//! command-line system without an API are refused, each with the file named.

use std::path::Path;

use serde::Deserialize;

use crate::Problem;

/// Where the registry lives, relative to the workspace root.
pub const FILE: &str = "specs/systems.toml";

/// The registry: command-line systems and generated APIs, in the file's order.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    /// The command line's systems (`cxkit <system> <operation>`).
    #[serde(default)]
    pub cli: Vec<CliSystem>,
    /// The generated clients, in generation order.
    #[serde(default)]
    pub api: Vec<Api>,
    /// The facade's (and the test kit's) system features, in registry order.
    #[serde(default)]
    pub feature: Vec<Feature>,
}

/// A system feature of the facade and the test kit: the generated crates it turns on (the
/// APIs naming it), the facade module that wraps them and the test kit's fake. The xtask
/// writes the feature, its optional dependencies and the module's `mod`/`pub use` lines into
/// the marked regions of both crates' manifests and `lib.rs`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Feature {
    /// The Cargo feature (`proto-messaging`).
    pub name: String,
    /// The comment above the feature in the facade's manifest, if any.
    #[serde(default)]
    pub about: Option<String>,
    /// The facade module (`crates/cxkit/src/<module>.rs` or `<module>/`).
    pub module: String,
    /// Whether the module is public (`pub mod`) or private (`mod`).
    #[serde(default)]
    pub public: bool,
    /// More facade modules of the feature, with the same visibility (`proto_webhook`).
    #[serde(default)]
    pub modules: Vec<String>,
    /// Private facade modules several features share (`handle`): declared once, under any of
    /// the features that name them.
    #[serde(default)]
    pub shared: Vec<String>,
    /// The types the facade re-exports from the module (`ProtoMessaging`).
    #[serde(default)]
    pub exports: Vec<String>,
    /// What the facade feature turns on besides the generated crates (`"reqwest/multipart"`).
    #[serde(default)]
    pub extras: Vec<String>,
    /// The test kit's fake of the feature.
    pub testkit: Testkit,
}

/// The test kit's side of a [`Feature`].
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Testkit {
    /// Its public module (`crates/cxkit-testkit/src/<module>.rs`).
    pub module: String,
    /// The types the test kit re-exports from the module (`FakeProtoMessaging`).
    #[serde(default)]
    pub exports: Vec<String>,
    /// What the test kit's feature turns on besides the generated crates (`"dep:base64"`).
    #[serde(default)]
    pub extras: Vec<String>,
}

/// A system of the command line; it groups one or more APIs.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CliSystem {
    /// `cxkit <name> ...`, kebab case.
    pub name: String,
    /// The one-line `--help` text.
    pub about: String,
    /// How `cxkit login <name>` works, when the command line handles it from the registry
    /// (a system whose credentials are all static keys); without it the login is
    /// hand-written (Ejento's and Platform28's sessions).
    #[serde(default)]
    pub login: Option<Login>,
}

/// `login = { kind = "static", ... }` of a `[[cli]]` entry: the system's one API takes one
/// static key (a personal access token, a takeover secret) plus ids bound at login. The
/// command line keeps the key in the profile's token store and the ids and base URL in its
/// settings, and builds the facade handle as `cxkit::<handle>::builder().config(..)
/// .base_url(..).<id>(..)....<secret in snake case>(..).build()`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// `"static"`, the one kind the registry declares (sessions stay hand-written).
    pub kind: String,
    /// The `cxkit login <name> --help` line, before `(ENV or a prompt)`.
    pub about: String,
    /// The key in words (`personal access token`): named in prompts, in `whoami`, and (in
    /// snake case) the stored secret's name and the facade builder's setter.
    pub secret: String,
    /// The environment variable the key may come from (`CXKIT_PROTO_TOKEN`).
    pub env: String,
    /// The ids bound at login, snake case: each a `--kebab-case` option of the login, a
    /// setting of the profile and a setter of the facade builder; each fills the operations'
    /// path parameter of the same name unless `fills` says otherwise.
    pub ids: Vec<String>,
    /// Path parameters filled from an id of another name (`subcompany_id = "teamspace_id"`).
    #[serde(default)]
    pub fills: std::collections::BTreeMap<String, String>,
    /// The facade handle (`ProtoMessaging`), re-exported at the facade's root.
    pub handle: String,
    /// The `--base-url` option's help, before `(default <the facade module's
    /// DEFAULT_BASE_URL>)`.
    pub base_help: String,
}

impl Login {
    /// The ids with the path parameter each fills, in the order declared.
    pub fn id_params(&self) -> Vec<(&str, &str)> {
        self.ids
            .iter()
            .map(|id| {
                let param = self
                    .fills
                    .iter()
                    .find(|(_, from)| *from == id)
                    .map_or(id.as_str(), |(param, _)| param.as_str());
                (id.as_str(), param)
            })
            .collect()
    }

    /// The secret's stored name and builder setter (`personal_access_token`).
    pub fn secret_ident(&self) -> String {
        self.secret.replace(' ', "_")
    }
}

/// One generated client.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Api {
    /// Kebab case; the security table's `api` and the name on `cargo xtask` lines.
    pub name: String,
    /// The spec, relative to the workspace root.
    pub spec: String,
    /// The generated crate's package name.
    pub package: String,
    /// The generated crate's directory, relative to the workspace root.
    pub dir: String,
    /// The command-line system it belongs to ([`CliSystem::name`]).
    pub cli: String,
    /// The facade's Cargo feature that turns it on (the test kit has the same feature): a
    /// [`Feature::name`].
    pub feature: String,
    /// The kinds of credential it takes: its spec's security scheme names.
    pub credentials: Vec<String>,
    /// The generated crate's manifest `description`.
    pub description: String,
    /// The generated crate's documentation (its `lib.rs` opening paragraphs, Markdown).
    pub doc: String,
    /// Hand-written modules of the generated crate besides the generated ones
    /// (`crates/<dir>/src/<module>.rs`, private; `humans`).
    #[serde(default)]
    pub extra_modules: Vec<String>,
    /// Workspace dependencies of the generated crate besides those every generated crate has
    /// (`chrono`).
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// Whether its conformance test is hand-written in `tests/conformance/tests/prism.rs`
    /// (it calls operations through the facade, or needs its own credentials); otherwise the
    /// conformance build writes it: every credential a dummy, every call generated.
    #[serde(default)]
    pub conformance_by_hand: bool,
    /// For the live check (`cxkit-live`): the environment variable holding each static
    /// credential, by security scheme (`{ takeoverSecret = "PROTO_TAKEOVER_SECRET" }`).
    #[serde(default)]
    pub live_env: std::collections::BTreeMap<String, String>,
}

impl Api {
    /// The Rust name of the generated crate and of its module under `cxkit::clients`
    /// (`ejento-auth` -> `ejento_auth`).
    pub fn ident(&self) -> String {
        self.name.replace('-', "_")
    }

    /// The generated client, relative to the workspace root.
    pub fn output(&self) -> String {
        format!("{}/src/generated.rs", self.dir)
    }
}

/// The checks of a `[[cli]]` entry's `login`.
fn check_login(registry: &Registry, cli: &CliSystem, login: &Login) -> Result<(), String> {
    let snake = |s: &str| {
        !s.is_empty()
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    if login.kind != "static" {
        return Err(format!(
            "kind `{}` is not one the registry declares; only `static` (a session's login is hand-written)",
            login.kind
        ));
    }
    let apis: Vec<&Api> = registry.apis_of(&cli.name).collect();
    if apis.len() != 1 || apis[0].credentials.len() != 1 {
        return Err(
            "a static login is for a system of one API taking one credential (its key)".to_owned(),
        );
    }
    if !snake(&login.secret_ident()) {
        return Err(format!(
            "secret `{}` is lower-case words (`personal access token`)",
            login.secret
        ));
    }
    if !login.env.starts_with("CXKIT_")
        || !login
            .env
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(format!(
            "env `{}` is an upper-case variable starting with CXKIT_",
            login.env
        ));
    }
    if let Some(id) = login.ids.iter().find(|id| !snake(id)) {
        return Err(format!("id `{id}` is snake case (`channel_id`)"));
    }
    if let Some((param, id)) = login.fills.iter().find(|(_, id)| !login.ids.contains(id)) {
        return Err(format!(
            "fills `{param}` from `{id}`, which is not among its ids"
        ));
    }
    let rust_ident = |s: &str| {
        s.starts_with(|c: char| c.is_ascii_uppercase())
            && s.chars().all(|c| c.is_ascii_alphanumeric())
    };
    if !rust_ident(&login.handle) {
        return Err(format!(
            "handle `{}` is a facade type in upper camel case (`ProtoMessaging`)",
            login.handle
        ));
    }
    Ok(())
}

impl Registry {
    /// Reads `root/specs/systems.toml`.
    pub fn load(root: &Path) -> Result<Registry, Problem> {
        let text = std::fs::read_to_string(root.join(FILE)).map_err(|e| Problem {
            file: FILE.to_owned(),
            operation: None,
            message: format!("cannot read the system registry: {e}"),
        })?;
        Registry::parse(&text)
    }

    /// Parses and checks registry text; every problem names [`FILE`].
    pub fn parse(text: &str) -> Result<Registry, Problem> {
        let problem = |message: String| Problem {
            file: FILE.to_owned(),
            operation: None,
            message,
        };
        let registry: Registry =
            toml::from_str(text).map_err(|e| problem(format!("not a valid registry: {e}")))?;
        let mut seen = std::collections::BTreeSet::new();
        // An API and a command-line system may share a name (`proto`); two of a kind may not.
        for (kind, names) in [
            (
                "api",
                registry.api.iter().map(|a| &a.name).collect::<Vec<_>>(),
            ),
            ("cli", registry.cli.iter().map(|c| &c.name).collect()),
            ("api", registry.api.iter().map(|a| &a.spec).collect()),
            ("api", registry.api.iter().map(|a| &a.package).collect()),
            ("api", registry.api.iter().map(|a| &a.dir).collect()),
        ] {
            seen.clear();
            for name in names {
                if !seen.insert(name) {
                    return Err(problem(format!(
                        "`{name}` is listed twice among the [[{kind}]] entries; each must be unique"
                    )));
                }
            }
        }
        for api in &registry.api {
            let well_formed = |s: &str| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && s.starts_with(|c: char| c.is_ascii_lowercase())
            };
            if !well_formed(&api.name) {
                return Err(problem(format!(
                    "api `{}`: a name is lower-case kebab case (`ejento-auth`)",
                    api.name
                )));
            }
            if !registry.cli.iter().any(|c| c.name == api.cli) {
                return Err(problem(format!(
                    "api `{}` belongs to the command-line system `{}`, which no [[cli]] entry names; add it",
                    api.name, api.cli
                )));
            }
            if let Some(scheme) = api.live_env.keys().find(|k| !api.credentials.contains(k)) {
                return Err(problem(format!(
                    "api `{}`: live_env names `{scheme}`, which is not among its credentials",
                    api.name
                )));
            }
            if !api.spec.starts_with("specs/") {
                return Err(problem(format!(
                    "api `{}`: its spec `{}` must be under `specs/`",
                    api.name, api.spec
                )));
            }
        }
        for api in &registry.api {
            if !registry.feature.iter().any(|f| f.name == api.feature) {
                return Err(problem(format!(
                    "api `{}` is turned on by the feature `{}`, which no [[feature]] entry names; add it",
                    api.name, api.feature
                )));
            }
        }
        seen.clear();
        for feature in &registry.feature {
            if !seen.insert(&feature.name) {
                return Err(problem(format!(
                    "`{}` is listed twice among the [[feature]] entries; each must be unique",
                    feature.name
                )));
            }
            if !registry.api.iter().any(|a| a.feature == feature.name) {
                return Err(problem(format!(
                    "feature `{}` has no [[api]] entry; give it one or remove it",
                    feature.name
                )));
            }
        }
        for cli in &registry.cli {
            if !registry.api.iter().any(|a| a.cli == cli.name) {
                return Err(problem(format!(
                    "command-line system `{}` has no [[api]] entry; give it one or remove it",
                    cli.name
                )));
            }
            if let Some(login) = &cli.login {
                check_login(&registry, cli, login).map_err(|m| {
                    problem(format!("command-line system `{}`: login: {m}", cli.name))
                })?;
            }
        }
        Ok(registry)
    }

    /// The API of this name.
    pub fn api(&self, name: &str) -> Option<&Api> {
        self.api.iter().find(|a| a.name == name)
    }

    /// The APIs of a command-line system, in registry order.
    pub fn apis_of<'a>(&'a self, cli: &'a str) -> impl Iterator<Item = &'a Api> {
        self.api.iter().filter(move |a| a.cli == cli)
    }

    /// The facade features of the systems, each once, in registry order.
    pub fn features(&self) -> Vec<&str> {
        self.feature.iter().map(|f| f.name.as_str()).collect()
    }

    /// The feature entry that turns this API on.
    pub fn feature_of(&self, api: &Api) -> &Feature {
        self.feature
            .iter()
            .find(|f| f.name == api.feature)
            .expect("a parsed registry names only features it has")
    }

    /// The APIs a feature turns on, in registry order.
    pub fn apis_of_feature<'a>(&'a self, feature: &'a str) -> impl Iterator<Item = &'a Api> {
        self.api.iter().filter(move |a| a.feature == feature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[cli]]
name = "ejento"
about = "Ejento"

[[api]]
name = "ejento-auth"
spec = "specs/ejento-auth.yaml"
package = "cxkit-ejento-auth"
dir = "crates/ejento-auth"
cli = "ejento"
feature = "ejento"
credentials = ["ejentoAuthKey"]
description = "Auth"
doc = "The auth app."

[[api]]
name = "ejento-platform"
spec = "specs/ejento-platform.yaml"
package = "cxkit-ejento-platform"
dir = "crates/ejento-platform"
cli = "ejento"
feature = "ejento"
credentials = ["ejentoToken"]
description = "Platform"
doc = "The platform."
extra_modules = ["extra"]
dependencies = ["chrono"]

[[feature]]
name = "ejento"
module = "ejento"
exports = ["Ejento"]
testkit = { module = "ejento", exports = ["FakeEjento"] }
"#;

    #[test]
    fn a_registry_reads_in_order_with_its_groups() {
        let r = Registry::parse(GOOD).unwrap();
        assert_eq!(r.api.len(), 2);
        assert_eq!(r.apis_of("ejento").count(), 2);
        assert_eq!(r.features(), ["ejento"]);
        assert_eq!(r.feature_of(&r.api[1]).module, "ejento");
        assert_eq!(r.apis_of_feature("ejento").count(), 2);
        assert_eq!(r.api[1].extra_modules, ["extra"]);
        assert_eq!(r.api("ejento-platform").unwrap().ident(), "ejento_platform");
        assert_eq!(r.api[0].output(), "crates/ejento-auth/src/generated.rs");
    }

    #[test]
    fn unknown_keys_are_refused_naming_the_file_and_the_key() {
        let text = GOOD.replace(
            "credentials = [\"ejentoToken\"]",
            "credentials = []\nfeatures = \"x\"",
        );
        let e = Registry::parse(&text).unwrap_err().to_string();
        assert!(
            e.starts_with("specs/systems.toml: not a valid registry"),
            "{e}"
        );
        assert!(e.contains("unknown field `features`"), "{e}");
    }

    #[test]
    fn duplicate_names_are_refused() {
        let twice = format!(
            "{GOOD}\n{}",
            &GOOD[GOOD.find("[[api]]").unwrap()
                ..GOOD.find("[[api]]\nname = \"ejento-platform\"").unwrap()]
        );
        let e = Registry::parse(&twice).unwrap_err().to_string();
        assert!(e.contains("`ejento-auth` is listed twice"), "{e}");
        let e = Registry::parse(&format!(
            "{GOOD}\n[[cli]]\nname = \"ejento\"\nabout = \"again\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("`ejento` is listed twice among the [[cli]] entries"),
            "{e}"
        );
    }

    #[test]
    fn a_live_env_variable_for_a_credential_the_api_lacks_is_refused() {
        let ok = GOOD.replacen(
            "credentials = [\"ejentoAuthKey\"]",
            "credentials = [\"ejentoAuthKey\"]\nlive_env = { ejentoAuthKey = \"KEY\" }",
            1,
        );
        let r = Registry::parse(&ok).unwrap();
        assert_eq!(r.api[0].live_env["ejentoAuthKey"], "KEY");
        let e = Registry::parse(&ok.replace("{ ejentoAuthKey =", "{ stale ="))
            .unwrap_err()
            .to_string();
        assert!(e.contains("live_env names `stale`"), "{e}");
    }

    #[test]
    fn a_static_login_is_read_and_checked() {
        let line = r#"login = { kind = "static", about = "Keep a key", secret = "personal access token", env = "CXKIT_CHAT_TOKEN", ids = ["team_id", "channel_id"], fills = { subcompany_id = "team_id" }, handle = "Chat", base_help = "The API" }"#;
        let chat = format!(
            "{GOOD}\n[[cli]]\nname = \"chat\"\nabout = \"Chat\"\n{line}\n\n[[api]]\nname = \"chat\"\nspec = \"specs/chat.yaml\"\npackage = \"cxkit-chat\"\ndir = \"crates/chat\"\ncli = \"chat\"\nfeature = \"chat\"\ncredentials = [\"chatToken\"]\ndescription = \"Chat\"\ndoc = \"Chat.\"\n\n[[feature]]\nname = \"chat\"\nmodule = \"chat\"\ntestkit = {{ module = \"chat\" }}\n"
        );
        let r = Registry::parse(&chat).unwrap();
        let login = r.cli[1].login.as_ref().unwrap();
        assert_eq!(
            login.id_params(),
            [("team_id", "subcompany_id"), ("channel_id", "channel_id")]
        );
        assert_eq!(login.secret_ident(), "personal_access_token");
        assert!(r.cli[0].login.is_none());
        for (change, expected) in [
            (
                ("kind = \"static\"", "kind = \"session\""),
                "kind `session`",
            ),
            (
                ("= \"team_id\" }", "= \"teem_id\" }"),
                "`teem_id`, which is not among its ids",
            ),
            (
                ("\"channel_id\"]", "\"Channel\"]"),
                "id `Channel` is snake case",
            ),
            (("CXKIT_CHAT_TOKEN", "CHAT_TOKEN"), "env `CHAT_TOKEN`"),
            (
                ("handle = \"Chat\"", "handle = \"chat::Chat\""),
                "handle `chat::Chat`",
            ),
            (
                ("[\"chatToken\"]", "[\"chatToken\", \"other\"]"),
                "one API taking one credential",
            ),
        ] {
            let e = Registry::parse(&chat.replacen(change.0, change.1, 1))
                .unwrap_err()
                .to_string();
            assert!(e.contains("command-line system `chat`: login: "), "{e}");
            assert!(e.contains(expected), "{expected}: {e}");
        }
        // A system of several APIs cannot have one.
        let e = Registry::parse(&GOOD.replacen(
            "about = \"Ejento\"",
            &format!("about = \"Ejento\"\n{line}"),
            1,
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("one API taking one credential"), "{e}");
    }

    #[test]
    fn groups_must_match_both_ways() {
        let e = Registry::parse(&GOOD.replacen("cli = \"ejento\"", "cli = \"ejnto\"", 1))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("command-line system `ejnto`, which no [[cli]] entry names"),
            "{e}"
        );
        let e = Registry::parse(&format!(
            "{GOOD}\n[[cli]]\nname = \"lonely\"\nabout = \"x\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("`lonely` has no [[api]] entry"), "{e}");
        let e = Registry::parse(&GOOD.replacen("feature = \"ejento\"", "feature = \"ejnto\"", 1))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("the feature `ejnto`, which no [[feature]] entry names"),
            "{e}"
        );
    }
}
