//! The facade handles of a profile: an Ejento session over the file token store, a Proto handle
//! with the stored personal access token, a Platform28 handle with the stored API key and login
//! session.

use cxkit::{Ejento, Platform28, Proto, ProtoMessaging, ProtoPlatform, Secret};

use crate::config::{
    P28_API_KEY, P28_LSID, P28_SESSION_ID, PROTO_PAT, PROTO_TAKEOVER_SECRET, State,
};
use crate::failure::Failure;

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

/// The Proto handle of the profile.
pub async fn proto(state: &State) -> Result<Proto, Failure> {
    let missing = || {
        Failure::config(format!(
            "profile `{}` has no Proto login; run `cxkit login proto --company-id ID --bot-id ID`",
            state.profile
        ))
    };
    let p = state.profile().proto.ok_or_else(missing)?;
    let secrets = state.load_secrets("proto").await?.ok_or_else(missing)?;
    let pat = secrets.get(PROTO_PAT).cloned().ok_or_else(missing)?;
    Proto::builder()
        .config(&state.config)
        .base_url(p.base_url)
        .company_id(p.company_id)
        .bot_id(p.bot_id)
        .personal_access_token(pat)
        .build()
        .map_err(Failure::from)
}

/// The Proto Developer API handle of the profile.
pub async fn proto_platform(state: &State) -> Result<ProtoPlatform, Failure> {
    let missing = || {
        Failure::config(format!(
            "profile `{}` has no Proto Developer API login; run `cxkit login proto-platform --teamspace-id ID`",
            state.profile
        ))
    };
    let p = state.profile().proto_platform.ok_or_else(missing)?;
    let secrets = state
        .load_secrets("proto-platform")
        .await?
        .ok_or_else(missing)?;
    let secret = secrets
        .get(PROTO_TAKEOVER_SECRET)
        .cloned()
        .ok_or_else(missing)?;
    ProtoPlatform::builder()
        .config(&state.config)
        .base_url(p.base_url)
        .teamspace_id(p.teamspace_id)
        .takeover_secret(secret)
        .build()
        .map_err(Failure::from)
}

/// The Proto Messaging API handle of the profile.
pub async fn proto_messaging(state: &State) -> Result<ProtoMessaging, Failure> {
    let missing = || {
        Failure::config(format!(
            "profile `{}` has no Proto Messaging API login; run `cxkit login proto-messaging --channel-id ID`",
            state.profile
        ))
    };
    let p = state.profile().proto_messaging.ok_or_else(missing)?;
    let secrets = state
        .load_secrets("proto-messaging")
        .await?
        .ok_or_else(missing)?;
    let pat = secrets.get(PROTO_PAT).cloned().ok_or_else(missing)?;
    ProtoMessaging::builder()
        .config(&state.config)
        .base_url(p.base_url)
        .channel_id(p.channel_id)
        .personal_access_token(pat)
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
