//! The credentials a live check sends: from the environment, or from a password login.

use std::collections::BTreeMap;

use anyhow::Context as _;
use cxkit::Secret;

/// The credentials a live check sends, by security scheme name.
#[derive(Debug, Default)]
pub struct Credentials {
    /// Bearer tokens and API keys by the spec's scheme name (`ejentoToken`, `authAppToken`,
    /// `subscriptionKey`).
    pub by_scheme: BTreeMap<String, Secret>,
}

/// Reads the credentials from the environment: `EJENTO_ACCESS_TOKEN` (the Ejento platform
/// token; a leading `Bearer ` is dropped) and optionally `EJENTO_AUTH_APP_TOKEN`, or
/// `EJENTO_USERNAME` + `EJENTO_PASSWORD` (a password login on the base URL); plus
/// `EJENTO_SUBSCRIPTION_KEY` when the gateway wants one.
pub async fn ejento_credentials_from_env(base_url: &str) -> anyhow::Result<Credentials> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let key = var("EJENTO_SUBSCRIPTION_KEY").map(Secret::new);
    let mut credentials = Credentials::default();
    if let Some(key) = &key {
        credentials
            .by_scheme
            .insert("subscriptionKey".into(), key.clone());
    }
    if let Some(token) = var("EJENTO_ACCESS_TOKEN") {
        let token = token.trim();
        let token = token.strip_prefix("Bearer ").unwrap_or(token);
        credentials
            .by_scheme
            .insert("ejentoToken".into(), Secret::new(token));
        if let Some(auth_app) = var("EJENTO_AUTH_APP_TOKEN") {
            credentials
                .by_scheme
                .insert("authAppToken".into(), Secret::new(auth_app));
        }
        return Ok(credentials);
    }
    let (Some(username), Some(password)) = (var("EJENTO_USERNAME"), var("EJENTO_PASSWORD")) else {
        anyhow::bail!(
            "no Ejento credentials: set EJENTO_ACCESS_TOKEN (and optionally EJENTO_AUTH_APP_TOKEN), or EJENTO_USERNAME and EJENTO_PASSWORD; EJENTO_SUBSCRIPTION_KEY if the gateway needs one"
        );
    };
    login(
        base_url,
        &username,
        &Secret::new(password),
        key,
        &mut credentials,
    )
    .await?;
    Ok(credentials)
}

/// Reads Proto's credential from the environment: `PROTO_TOKEN` (a personal access token, sent
/// as `X-SINITIC-TOKEN`).
pub fn proto_credentials_from_env() -> anyhow::Result<Credentials> {
    let token = std::env::var("PROTO_TOKEN")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .context("no Proto credential: set PROTO_TOKEN to a personal access token")?;
    Ok(Credentials {
        by_scheme: BTreeMap::from([("siniticToken".to_owned(), Secret::new(token.trim()))]),
    })
}

/// Reads the static credentials of a registry system ([`crate::System::Registry`]): for each of
/// its APIs' credentials, the environment variable its `live_env` names, looked up with `var`
/// (`|name| std::env::var(name).ok()`). A missing or empty variable is an error naming it.
pub fn registry_credentials(
    root: &std::path::Path,
    system: &str,
    var: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<Credentials> {
    let registry = cxkit_spec::Registry::load(root).map_err(|p| anyhow::anyhow!("{p}"))?;
    let mut credentials = Credentials::default();
    for api in registry.apis_of(system) {
        for scheme in &api.credentials {
            let env = api.live_env.get(scheme).with_context(|| {
                format!(
                    "{}: api `{}` names no live_env variable for `{scheme}`",
                    cxkit_spec::registry::FILE,
                    api.name
                )
            })?;
            let value = var(env)
                .filter(|v| !v.trim().is_empty())
                .with_context(|| format!("no {system} credential: set {env} ({scheme})"))?;
            credentials
                .by_scheme
                .insert(scheme.clone(), Secret::new(value.trim()));
        }
    }
    Ok(credentials)
}

/// Logs in with a password through the facade and keeps both tokens as credentials.
pub async fn login(
    base_url: &str,
    username: &str,
    password: &Secret,
    subscription_key: Option<Secret>,
    credentials: &mut Credentials,
) -> anyhow::Result<()> {
    let mut builder = cxkit::Ejento::builder().base_url(base_url);
    if let Some(key) = subscription_key {
        builder = builder.subscription_key(key);
    }
    let ejento = builder.build().map_err(|e| anyhow::anyhow!("{e}"))?;
    ejento
        .login_password(username, password)
        .await
        .map_err(|e| anyhow::anyhow!("logging in as {username} failed: {e}"))?;
    let tokens = ejento
        .token_cache()
        .peek()
        .context("the login stored no tokens")?;
    for (name, scheme) in [
        (cxkit::EJENTO_TOKEN, "ejentoToken"),
        (cxkit::AUTH_APP_TOKEN, "authAppToken"),
    ] {
        if let Some(token) = tokens.get(name) {
            credentials.by_scheme.insert(scheme.into(), token.clone());
        }
    }
    Ok(())
}
