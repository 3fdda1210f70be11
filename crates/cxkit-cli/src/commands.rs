//! `login`, `logout` and `whoami`.

use std::time::SystemTime;

use clap::ArgMatches;
use cxkit::Secret;
use serde_json::json;

use crate::config::{
    EjentoProfile, P28_API_KEY, P28_LSID, P28_SESSION_ID, PROTO_PAT, PROTO_TAKEOVER_SECRET,
    Platform28Profile, ProtoMessagingProfile, ProtoPlatformProfile, ProtoProfile, State,
};
use crate::failure::Failure;
use crate::output::Output;

/// A secret from the environment variable `env`, or else a no-echo prompt on the terminal.
async fn secret(env: &'static str, prompt: &'static str) -> Result<Secret, Failure> {
    if let Some(value) = std::env::var_os(env) {
        let value = value
            .into_string()
            .map_err(|_| Failure::usage(format!("{env} is not valid UTF-8")))?;
        return Ok(Secret::new(value));
    }
    // The prompt blocks on the terminal; off the runtime's thread, so Ctrl-C still cancels.
    let read = tokio::task::spawn_blocking(move || rpassword::prompt_password(prompt))
        .await
        .map_err(|_| Failure::other("the prompt failed"))?;
    let value = read.map_err(|e| {
        Failure::usage(format!(
            "cannot prompt for it ({e}); set {env} when there is no terminal"
        ))
    })?;
    if value.is_empty() {
        return Err(Failure::usage(format!(
            "nothing was entered; set {env} or type it"
        )));
    }
    Ok(Secret::new(value))
}

fn time(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn arg(args: &ArgMatches, name: &str) -> Option<String> {
    args.get_one::<String>(name).cloned()
}

/// `cxkit login <system> ...`.
pub async fn login(
    state: &mut State,
    out: &Output,
    system: &str,
    args: &ArgMatches,
) -> Result<(), Failure> {
    match system {
        "ejento" => {
            let base_url = arg(args, "base-url").unwrap_or_default();
            let username = arg(args, "username").unwrap_or_default();
            let users = arg(args, "users-base-url");
            let indexing = arg(args, "indexing-base-url");
            let ejento = crate::session::ejento_builder(
                state,
                &base_url,
                users.as_deref(),
                indexing.as_deref(),
            )
            .build()?;
            let info = if args.get_flag("code") {
                ejento.request_login_code(&username).await?;
                eprintln!("cxkit: a login code was sent to {username}");
                let code = secret("CXKIT_CODE", "Code: ").await?;
                ejento.login_with_code(&code).await?
            } else {
                let password = secret("CXKIT_PASSWORD", "Password: ").await?;
                ejento.login_password(&username, &password).await?
            };
            state
                .update(|p| {
                    p.ejento = Some(EjentoProfile {
                        base_url: base_url.clone(),
                        users_base_url: users,
                        indexing_base_url: indexing,
                        username: username.clone(),
                    });
                })
                .await?;
            out.json(&json!({
                "profile": state.profile,
                "system": "ejento",
                "username": username,
                "expires_at": time(info.expires_at),
            }))
        }
        "proto" => {
            let base_url =
                arg(args, "base-url").unwrap_or_else(|| cxkit::proto::DEFAULT_BASE_URL.to_owned());
            let company_id = arg(args, "company-id").unwrap_or_default();
            let bot_id = arg(args, "bot-id").unwrap_or_default();
            let pat = secret("CXKIT_PROTO_TOKEN", "Personal access token: ").await?;
            // Checks the settings (an https base URL, non-empty ids) before keeping anything.
            cxkit::Proto::builder()
                .base_url(&base_url)
                .company_id(&company_id)
                .bot_id(&bot_id)
                .personal_access_token(pat.clone())
                .build()?;
            state.save_secrets("proto", vec![(PROTO_PAT, pat)]).await?;
            state
                .update(|p| {
                    p.proto = Some(ProtoProfile {
                        base_url: base_url.clone(),
                        company_id: company_id.clone(),
                        bot_id: bot_id.clone(),
                    });
                })
                .await?;
            out.json(&json!({
                "profile": state.profile,
                "system": "proto",
                "company_id": company_id,
                "bot_id": bot_id,
            }))
        }
        "proto-platform" => {
            let base_url = arg(args, "base-url")
                .unwrap_or_else(|| cxkit::proto_developer::DEFAULT_BASE_URL.to_owned());
            let teamspace_id = arg(args, "teamspace-id").unwrap_or_default();
            let secret = secret("CXKIT_PROTO_TAKEOVER_SECRET", "Takeover secret: ").await?;
            cxkit::ProtoPlatform::builder()
                .base_url(&base_url)
                .teamspace_id(&teamspace_id)
                .takeover_secret(secret.clone())
                .build()?;
            state
                .save_secrets("proto-platform", vec![(PROTO_TAKEOVER_SECRET, secret)])
                .await?;
            state
                .update(|p| {
                    p.proto_platform = Some(ProtoPlatformProfile {
                        base_url: base_url.clone(),
                        teamspace_id: teamspace_id.clone(),
                    });
                })
                .await?;
            out.json(&json!({
                "profile": state.profile,
                "system": "proto-platform",
                "teamspace_id": teamspace_id,
            }))
        }
        "proto-messaging" => {
            let base_url = arg(args, "base-url")
                .unwrap_or_else(|| cxkit::proto_messaging::DEFAULT_BASE_URL.to_owned());
            let channel_id = arg(args, "channel-id").unwrap_or_default();
            let pat = secret("CXKIT_PROTO_TOKEN", "Personal access token: ").await?;
            cxkit::ProtoMessaging::builder()
                .base_url(&base_url)
                .channel_id(&channel_id)
                .personal_access_token(pat.clone())
                .build()?;
            state
                .save_secrets("proto-messaging", vec![(PROTO_PAT, pat)])
                .await?;
            state
                .update(|p| {
                    p.proto_messaging = Some(ProtoMessagingProfile {
                        base_url: base_url.clone(),
                        channel_id: channel_id.clone(),
                    });
                })
                .await?;
            out.json(&json!({
                "profile": state.profile,
                "system": "proto-messaging",
                "channel_id": channel_id,
            }))
        }
        _ => {
            let base_url = arg(args, "base-url").unwrap_or_default();
            let username = arg(args, "username");
            let with_key = args.get_flag("api-key");
            if username.is_none() && !with_key {
                return Err(Failure::usage(
                    "give --username NAME (a login session), --api-key (act as the system), or both",
                ));
            }
            let key_param = arg(args, "api-key-param");
            let lsid_param = arg(args, "lsid-param");
            let key = if with_key {
                Some(secret("CXKIT_PLATFORM28_API_KEY", "API key: ").await?)
            } else {
                None
            };
            let platform = crate::session::platform28_handle(
                &base_url,
                key.clone(),
                key_param.as_deref(),
                lsid_param.as_deref(),
            )?;
            let mut secrets = Vec::new();
            if let Some(key) = key {
                secrets.push((P28_API_KEY, key));
            }
            if let Some(user) = &username {
                let password = secret("CXKIT_PASSWORD", "Password: ").await?;
                let session = platform.login(user, &password).await?;
                secrets.push((P28_LSID, session.lsid().clone()));
                // The session's id is kept beside the LSID: the server may name them apart,
                // and it may be the LSID itself, so it is as private.
                secrets.push((P28_SESSION_ID, session.session_id().clone()));
            }
            state.save_secrets("platform28", secrets).await?;
            state
                .update(|p| {
                    p.platform28 = Some(Platform28Profile {
                        base_url: base_url.clone(),
                        username: username.clone(),
                        api_key_param: key_param,
                        lsid_param,
                    });
                })
                .await?;
            out.json(&json!({
                "profile": state.profile,
                "system": "platform28",
                "username": username,
                "api_key": with_key,
            }))
        }
    }
}

/// `cxkit logout [system]`: forgets the sessions and credentials of the profile (its base URLs
/// stay, so later commands say "log in again"). A Platform28 login session is ended on the
/// server too; Ejento documents no revocation, so its tokens stay valid there until they expire.
pub async fn logout(state: &State, out: &Output, only: Option<&str>) -> Result<(), Failure> {
    let profile = state.profile();
    let wanted = |s: &str| only.is_none_or(|o| o == s);
    let mut done = Vec::new();
    if wanted("ejento") && profile.ejento.is_some() {
        crate::session::ejento(state)?.logout().await?;
        done.push("ejento");
    }
    if wanted("proto") && profile.proto.is_some() {
        state.delete_secrets("proto").await?;
        done.push("proto");
    }
    for (name, present) in [
        ("proto-platform", profile.proto_platform.is_some()),
        ("proto-messaging", profile.proto_messaging.is_some()),
    ] {
        if wanted(name) && present {
            state.delete_secrets(name).await?;
            done.push(name);
        }
    }
    if wanted("platform28") && profile.platform28.is_some() {
        if let Ok(handle) = crate::session::platform28(state).await
            && let Some(session) = handle.session
            && let Err(e) = session.terminate(false).await
        {
            eprintln!(
                "{}",
                Failure::from(e).line() + " (the session was forgotten here all the same)"
            );
        }
        state.delete_secrets("platform28").await?;
        done.push("platform28");
    }
    out.json(&json!({ "profile": state.profile, "logged_out": done }))
}

/// `cxkit whoami`.
pub async fn whoami(state: &State, out: &Output) -> Result<(), Failure> {
    let profile = state.profile();
    let mut answer = json!({ "profile": state.profile });
    if let Some(p) = &profile.ejento {
        let info = crate::session::ejento(state)?.session().await?;
        answer["ejento"] = json!({
            "base_url": p.base_url,
            "username": p.username,
            "obtained_at": time(info.obtained_at),
            "expires_at": time(info.expires_at),
        });
    }
    if let Some(p) = &profile.proto {
        let stored = state.load_secrets("proto").await?.is_some();
        answer["proto"] = json!({
            "base_url": p.base_url,
            "company_id": p.company_id,
            "bot_id": p.bot_id,
            "stored": if stored { vec!["personal access token"] } else { Vec::new() },
        });
    }
    if let Some(p) = &profile.proto_platform {
        let stored = state.load_secrets("proto-platform").await?.is_some();
        answer["proto-platform"] = json!({
            "base_url": p.base_url,
            "teamspace_id": p.teamspace_id,
            "stored": if stored { vec!["takeover secret"] } else { Vec::new() },
        });
    }
    if let Some(p) = &profile.proto_messaging {
        let stored = state.load_secrets("proto-messaging").await?.is_some();
        answer["proto-messaging"] = json!({
            "base_url": p.base_url,
            "channel_id": p.channel_id,
            "stored": if stored { vec!["personal access token"] } else { Vec::new() },
        });
    }
    if let Some(p) = &profile.platform28 {
        let secrets = state.load_secrets("platform28").await?;
        let has = |name| secrets.as_ref().is_some_and(|s| s.get(name).is_some());
        let mut stored = Vec::new();
        if has(P28_API_KEY) {
            stored.push("api key");
        }
        if has(P28_LSID) {
            stored.push("login session");
        }
        answer["platform28"] = json!({
            "base_url": p.base_url,
            "username": p.username,
            "stored": stored,
        });
    }
    if answer.as_object().is_some_and(|o| o.len() == 1) {
        return Err(Failure::config(format!(
            "profile `{}` has no login; run `cxkit login ejento|proto|proto-platform|proto-messaging|platform28 ...`",
            state.profile
        )));
    }
    out.json(&answer)
}
