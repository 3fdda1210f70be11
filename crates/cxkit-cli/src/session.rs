//! The facade handles of a profile: an Ejento session over the file token store, a static
//! login's settings and stored key (its handle is built by `table::with_static_client`), a
//! Platform28 handle with the stored API key and login
//! session.

use cxkit::{Ejento, Platform28, ProtoPlatform, Secret};

use crate::config::{P28_API_KEY, P28_LSID, P28_SESSION_ID, State, StaticProfile};
use crate::failure::Failure;
use crate::table::{StaticLogin, System};

/// The Ejento session of the profile. Its tokens are read (and refreshed if due) on first use.
pub fn ejento(state: &State) -> Result<Ejento, Failure> {
    let Some(p) = state.profile().ejento else {
        return Err(Failure::config(format!(
            "profile `{}` has no Ejento login; run `cxkit login ejento --base-url URL --username NAME`",
            state.profile
        )));
    };
    ejento_builder(
        state,
        &p.base_url,
        p.users_base_url.as_deref(),
        p.indexing_base_url.as_deref(),
    )
    .build()
    .map_err(Failure::from)
}

/// A builder bound to the profile's store and session name.
pub fn ejento_builder(
    state: &State,
    base_url: &str,
    users_base_url: Option<&str>,
    indexing_base_url: Option<&str>,
) -> cxkit::EjentoBuilder {
    let mut builder = Ejento::builder()
        .base_url(base_url)
        .config(&state.config)
        .session_name(state.profile.clone());
    if let Some(url) = users_base_url {
        builder = builder.users_base_url(url);
    }
    if let Some(url) = indexing_base_url {
        builder = builder.indexing_base_url(url);
    }
    builder
}

/// A static login of the profile (see [`StaticLogin`]): its settings and stored key.
pub async fn static_login(
    state: &State,
    system: System,
    login: &StaticLogin,
) -> Result<(StaticProfile, Secret), Failure> {
    let missing = || {
        Failure::config(format!(
            "profile `{}` has no {} login; run `{}`",
            state.profile,
            system.name(),
            login.command(system)
        ))
    };
    let p = state
        .profile()
        .static_login(system.name())
        .cloned()
        .ok_or_else(missing)?;
    let secrets = state
        .load_secrets(system.name())
        .await?
        .ok_or_else(missing)?;
    let key = secrets
        .get(&login.stored_name())
        .cloned()
        .ok_or_else(missing)?;
    Ok((p, key))
}

/// The Proto Developer API handle of the profile (for its hand-written voice calls).
pub async fn proto_platform(state: &State) -> Result<ProtoPlatform, Failure> {
    let system = System::ProtoPlatform;
    let login = system
        .static_login()
        .ok_or_else(|| Failure::config("proto-platform has no static login in the registry"))?;
    let (p, secret) = static_login(state, system, login).await?;
    ProtoPlatform::builder()
        .config(&state.config)
        .base_url(p.base_url)
        .teamspace_id(p.ids.get("teamspace_id").cloned().unwrap_or_default())
        .takeover_secret(secret)
        .build()
        .map_err(Failure::from)
}

/// The Platform28 handle of the profile, with its login session if there is one.
pub struct P28 {
    pub platform: Platform28,
    pub session: Option<cxkit::Platform28Session>,
}

pub async fn platform28(state: &State) -> Result<P28, Failure> {
    let missing = || {
        Failure::config(format!(
            "profile `{}` has no Platform28 login; run `cxkit login platform28 --base-url URL \
             [--username NAME] [--api-key]`",
            state.profile
        ))
    };
    let p = state.profile().platform28.ok_or_else(missing)?;
    let secrets = state
        .load_secrets("platform28")
        .await?
        .ok_or_else(missing)?;
    let platform = platform28_handle(
        &p.base_url,
        secrets.get(P28_API_KEY).cloned(),
        p.api_key_param.as_deref(),
        p.lsid_param.as_deref(),
    )?;
    let session = secrets.get(P28_LSID).map(|lsid| {
        platform.resume(
            lsid.clone(),
            secrets.get(P28_SESSION_ID).map(|s| s.expose().to_owned()),
        )
    });
    Ok(P28 { platform, session })
}

pub fn platform28_handle(
    base_url: &str,
    api_key: Option<Secret>,
    api_key_param: Option<&str>,
    lsid_param: Option<&str>,
) -> Result<Platform28, Failure> {
    let mut builder = Platform28::builder().base_url(base_url);
    if let Some(key) = api_key {
        builder = builder.api_key(key);
    }
    if let Some(name) = api_key_param {
        builder = builder.api_key_param(name);
    }
    if let Some(name) = lsid_param {
        builder = builder.lsid_param(name);
    }
    builder.build().map_err(Failure::from)
}
