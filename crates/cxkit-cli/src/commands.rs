//! `login`, `logout` and `whoami`.

use std::collections::BTreeMap;
use std::time::SystemTime;

use clap::ArgMatches;
use cxkit::Secret;
use serde_json::json;

use crate::config::{
    EjentoProfile, P28_API_KEY, P28_LSID, P28_SESSION_ID, Platform28Profile, Profile, State,
    StaticProfile,
};
use crate::failure::Failure;
use crate::output::Output;
use crate::table::{StaticCall, StaticLogin, System};

/// A secret from the environment variable `env`, or else a no-echo prompt on the terminal.
async fn secret(env: &'static str, prompt: impl Into<String>) -> Result<Secret, Failure> {
    let prompt = prompt.into();
    if let Some(value) = std::env::var_os(env) {
        let value = value
            .into_string()
            .map_err(|_| Failure::usage(format!("{env} is not valid UTF-8")))?;
        return Ok(Secret::new(value));
    }
    // The prompt blocks on the terminal; off the runtime's thread, so Ctrl-C still cancels.
    let read = tokio::task::spawn_blocking(move || rpassword::prompt_password(&prompt))
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
    if let Some(sys) = System::from_name(system)
        && let Some(login) = sys.static_login()
    {
        return login_static(state, out, sys, login, args).await;
    }
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

/// `cxkit login <system> --<id> ID ...` for a system with a static login: the key from its
/// environment variable or a prompt, checked with the ids and base URL by building the facade
/// handle before anything is kept.
async fn login_static(
    state: &mut State,
    out: &Output,
    system: System,
    login: &StaticLogin,
    args: &ArgMatches,
) -> Result<(), Failure> {
    let base_url = arg(args, "base-url").unwrap_or_else(|| login.default_base_url.to_owned());
    let ids: BTreeMap<String, String> = login
        .ids
        .iter()
        .map(|(id, _)| {
            let value = arg(args, &id.replace('_', "-")).unwrap_or_default();
            ((*id).to_owned(), value)
        })
        .collect();
    let mut prompt = login.secret.to_owned();
    prompt[..1].make_ascii_uppercase();
    let key = secret(login.env, format!("{prompt}: ")).await?;
    /// Building the handle is the check (an https base URL, non-empty ids and key).
    struct Check;
    impl StaticCall for Check {
        async fn call<C>(self, _client: &C) -> Result<(), Failure> {
            Ok(())
        }
    }
    let id = |id: &str| ids.get(id).cloned().unwrap_or_default();
    crate::table::with_static_client(system, &state.config, &base_url, id, key.clone(), Check)
        .await
        .unwrap_or_else(|| Err(Failure::config("not a system with a static login")))?;
    state
        .save_secrets(system.name(), vec![(&login.stored_name(), key)])
        .await?;
    state
        .update(|p| {
            p.statics.insert(
                Profile::static_key(system.name()),
                StaticProfile {
                    base_url: base_url.clone(),
                    ids: ids.clone(),
                },
            );
        })
        .await?;
    let mut answer = json!({ "profile": state.profile, "system": system.name() });
    for (id, value) in ids {
        answer[id] = json!(value);
    }
    out.json(&answer)
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
    for system in System::ALL {
        let name = system.name();
        if system.static_login().is_some() && wanted(name) && profile.static_login(name).is_some() {
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
    for system in System::ALL {
        let name = system.name();
        if let Some(login) = system.static_login()
            && let Some(p) = profile.static_login(name)
        {
            let stored = state.load_secrets(name).await?.is_some();
            let mut entry = json!({
                "base_url": p.base_url,
                "stored": if stored { vec![login.secret] } else { Vec::new() },
            });
            for (id, _) in login.ids {
                entry[*id] = json!(p.ids.get(*id));
            }
            answer[name] = entry;
        }
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
        let names: Vec<&str> = System::ALL.iter().map(|s| s.name()).collect();
        return Err(Failure::config(format!(
            "profile `{}` has no login; run `cxkit login {} ...`",
            state.profile,
            names.join("|")
        )));
    }
    out.json(&answer)
}
