//! Runs any operation of a spec from its generated table: builds the request from the options
//! and `--body`, then sends it with the session's generated client's `send_raw`
//! (`cxkit_auth::SendRaw`, the one send path for hand-built requests), so credentials, retries,
//! the 401 refresh-and-replay, URL scrubbing and `X-API-Version` apply exactly as they do to the
//! generated clients' own calls; failures are reported through `cxkit::Error`'s constructors.

use clap::ArgMatches;
use cxkit::{Auth, Error};
use cxkit_auth::SendRaw;
use futures::StreamExt as _;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use progenitor_client::ClientInfo;
use serde_json::Value;

use crate::cli::option_name;
use crate::config::State;
use crate::failure::{Exit, Failure};
use crate::output::Output;
use crate::table::{Api, Location, Operation, StaticCall, StaticLogin, System};

/// An operation the generic path does not send as it is.
#[derive(Clone, Copy, Debug)]
pub enum Dedicated {
    /// Its answer is a session's credentials: a dedicated command keeps them instead of
    /// printing them.
    Refuse(&'static str),
    /// A dedicated command does it better (the multipart upload, with progress).
    Command(&'static str),
    /// Sent through the facade's hand-written helper (SSE, SSO redirects).
    Facade(&'static str),
}

impl Dedicated {
    pub fn refuses(self) -> bool {
        matches!(self, Dedicated::Refuse(_) | Dedicated::Command(_))
    }

    pub fn text(self) -> &'static str {
        match self {
            Dedicated::Refuse(t) | Dedicated::Command(t) | Dedicated::Facade(t) => t,
        }
    }
}

/// The operations with a dedicated route.
pub fn dedicated(system: System, id: &str) -> Option<Dedicated> {
    const LOGIN: &str = "its answer is the session's tokens; use `cxkit login ejento` \
                         (`--code` for the emailed code), which keeps them without printing them";
    match (system, id) {
        (
            System::Ejento,
            "login_access_token"
            | "exchange_passwordless_token"
            | "verify_email_otp"
            | "refresh_access_token",
        ) => Some(Dedicated::Refuse(LOGIN)),
        (System::Ejento, "upload_corpus_document") => Some(Dedicated::Command(
            "a streamed multipart upload; use `cxkit ejento upload --corpus ID FILE`",
        )),
        (System::Ejento, "stream_agent_response" | "stream_workflow_response") => {
            Some(Dedicated::Facade(
                "sent through the facade's SSE reader; the answer is printed as it streams \
                 (`cxkit ejento ask` is the short form)",
            ))
        }
        (System::Ejento, id) if id.starts_with("initiate_") && id.ends_with("_sso_login") => {
            Some(Dedicated::Facade(
                "prints the identity provider's sign-in URL (`{\"url\": ...}`) to send the user to",
            ))
        }
        (System::ProtoPlatform, "text_to_speech") => Some(Dedicated::Facade(
            "sent through the facade, which decodes the audio whichever encoding the server \
             uses; the audio is written to stdout (redirect it to a file)",
        )),
        (System::ProtoPlatform, "speech_to_text") => Some(Dedicated::Refuse(
            "a multipart upload of an audio file; call `ProtoPlatform::speech_to_text` from \
             code (the command line does not send files to it yet)",
        )),
        (System::Platform28, "create_login_session" | "clone_session") => Some(Dedicated::Refuse(
            "its answer is a login session id; use `cxkit login platform28 --username NAME`, \
             which keeps it without printing it",
        )),
        _ => None,
    }
}

/// `cxkit <system> operations`.
pub fn list(system: System, out: &Output, json: bool) -> Result<(), Failure> {
    if json {
        let ops: Vec<Value> = system
            .operations()
            .map(|(_, op)| {
                serde_json::json!({
                    "name": op.name,
                    "operation_id": op.id,
                    "summary": op.summary,
                    "method": op.method,
                    "path": op.path,
                    "sourced": op.sourced,
                    "inferred": op.inferred(),
                    "handwritten": op.handwritten.is_some(),
                })
            })
            .collect();
        return out.json(&Value::Array(ops));
    }
    let width = system
        .operations()
        .map(|(_, op)| op.name.len())
        .max()
        .unwrap_or(0);
    for (_, op) in system.operations() {
        let mut marks = Vec::new();
        if op.inferred() {
            marks.push("inferred");
        }
        if op.handwritten.is_some() {
            marks.push("hand-written");
        }
        let marks = if marks.is_empty() {
            String::new()
        } else {
            format!(" [{}]", marks.join(", "))
        };
        out.line(&format!(
            "{:width$}  {:6} {}  {}{marks}",
            op.name, op.method, op.path, op.summary
        ))?;
    }
    Ok(())
}

/// The characters a path parameter's value keeps as they are (RFC 3986 unreserved).
const PATH_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `cxkit <system> <operation> ...`.
pub async fn run(
    state: &State,
    out: &Output,
    system: System,
    api: Api,
    op: &'static Operation,
    args: &ArgMatches,
) -> Result<(), Failure> {
    match dedicated(system, op.id) {
        Some(d @ (Dedicated::Refuse(_) | Dedicated::Command(_))) => {
            return Err(Failure::usage(format!("`{}`: {}", op.name, d.text())));
        }
        Some(Dedicated::Facade(_)) if system == System::ProtoPlatform => {
            return speech(state, out, op, args).await;
        }
        Some(Dedicated::Facade(_)) => return facade(state, out, op, args).await,
        None => {}
    }
    if let Some(login) = system.static_login() {
        return run_static(state, out, system, login, op, args).await;
    }
    match api {
        Api::EjentoAuth => {
            let ejento = crate::session::ejento(state)?;
            let client = if op.server == Some("users") {
                ejento.users().map_err(|_| {
                    Failure::config(
                        "the older guide's users API has no host in this profile: log in again \
                         with `cxkit login ejento --users-base-url URL ...` (there is no default \
                         host, so that the token goes only to a host you named)",
                    )
                })?
            } else {
                ejento.auth()
            };
            send(out, op, args, client, &[]).await
        }
        Api::EjentoPlatform => {
            let ejento = crate::session::ejento(state)?;
            send(out, op, args, ejento.platform(), &[]).await
        }
        Api::Platform28 => {
            let handle = crate::session::platform28(state).await?;
            let (client, defaults, login) = match &handle.session {
                // Calls on "the" session default `sessionId` to the logged-in one's id (kept
                // at login; the LSID only for a login stored before the id was).
                Some(session) => (
                    session.client().clone(),
                    vec![("sessionId", session.session_id().expose().to_owned())],
                    "cxkit login platform28 --base-url URL --username NAME",
                ),
                None => (
                    handle.platform.as_system()?,
                    Vec::new(),
                    "cxkit login platform28 --base-url URL --api-key",
                ),
            };
            send(out, op, args, &client, &defaults)
                .await
                .map_err(|f| f.naming_login(login))
        }
        // The systems with a static login, whichever they are, are run above.
        _ => Err(Failure::config(format!(
            "`{}` has no login the command line knows",
            system.name()
        ))),
    }
}

/// An operation of a system with a static login (see [`StaticLogin`]): the facade handle is
/// built from the profile's settings and stored key, and the login's ids fill their path
/// parameters unless given.
async fn run_static(
    state: &State,
    out: &Output,
    system: System,
    login: &StaticLogin,
    op: &'static Operation,
    args: &ArgMatches,
) -> Result<(), Failure> {
    let (p, key) = crate::session::static_login(state, system, login).await?;
    let id = |id: &str| p.ids.get(id).cloned().unwrap_or_default();
    let defaults: Vec<(&str, String)> = login
        .ids
        .iter()
        .map(|(name, param)| (*param, id(name)))
        .collect();
    let call = SendStatic {
        out,
        op,
        args,
        defaults: &defaults,
    };
    crate::table::with_static_client(system, &state.config, &p.base_url, id, key, call)
        .await
        .unwrap_or_else(|| Err(Failure::config("not a system with a static login")))
        .map_err(|f| f.naming_login(&login.command(system)))
}

/// [`send`] as a [`StaticCall`].
struct SendStatic<'a> {
    out: &'a Output,
    op: &'static Operation,
    args: &'a ArgMatches,
    defaults: &'a [(&'a str, String)],
}

impl StaticCall for SendStatic<'_> {
    async fn call<C: ClientInfo<Auth> + SendRaw>(self, client: &C) -> Result<(), Failure> {
        send(self.out, self.op, self.args, client, self.defaults).await
    }
}

/// The values of a parameter's option (several for an array).
fn values(args: &ArgMatches, name: &str) -> Vec<String> {
    args.try_get_many::<String>(&option_name(name))
        .ok()
        .flatten()
        .map(|v| v.cloned().collect())
        .unwrap_or_default()
}

/// Whether `--allow-inline-secrets` was given.
fn inline_secrets_allowed(args: &ArgMatches) -> bool {
    args.try_get_one::<bool>(crate::cli::ALLOW_INLINE_SECRETS)
        .ok()
        .flatten()
        .copied()
        .unwrap_or(false)
}

/// The environment variable a secret parameter's value may come from: `CXKIT_` and the
/// option's name (`sessionId` -> `CXKIT_SESSION_ID`).
pub fn secret_env(param: &str) -> String {
    format!(
        "CXKIT_{}",
        option_name(param).replace('-', "_").to_uppercase()
    )
}

/// Text from `@FILE` or `@-` (stdin), or `None` for anything else.
fn from_file_or_stdin(value: &str, what: &str) -> Result<Option<String>, Failure> {
    match value.strip_prefix('@') {
        Some("-") => std::io::read_to_string(std::io::stdin())
            .map(Some)
            .map_err(|e| Failure::other(format!("cannot read {what} from stdin: {e}"))),
        Some(path) => std::fs::read_to_string(path)
            .map(Some)
            .map_err(|e| Failure::other(format!("cannot read {what} from {path}: {e}"))),
        None => Ok(None),
    }
}

/// The values of a secret parameter (`format: password` in the spec): from `@FILE` or `@-`
/// (stdin; a trailing line end dropped), else the environment ([`secret_env`]); an inline
/// value, which `ps` and the shell's history would show, only with `--allow-inline-secrets`.
fn secret_values(args: &ArgMatches, name: &str) -> Result<Vec<String>, Failure> {
    let option = option_name(name);
    let mut out = Vec::new();
    for given in values(args, name) {
        match from_file_or_stdin(&given, &format!("--{option}"))? {
            Some(text) => out.push(text.trim_end_matches(['\n', '\r']).to_owned()),
            None if inline_secrets_allowed(args) => out.push(given),
            None => {
                return Err(Failure::usage(format!(
                    "--{option} is a secret, and a value on the command line shows in `ps` and \
                     the shell's history; give --{option} @FILE or --{option} @- (stdin), or set \
                     {} (or pass --{} to accept it inline)",
                    secret_env(name),
                    crate::cli::ALLOW_INLINE_SECRETS
                )));
            }
        }
    }
    if out.is_empty()
        && let Some(value) = std::env::var_os(secret_env(name))
    {
        let value = value
            .into_string()
            .map_err(|_| Failure::usage(format!("{} is not valid UTF-8", secret_env(name))))?;
        out.push(value);
    }
    Ok(out)
}

/// `--body`: JSON text, `@FILE`, or `@-` for stdin. Inline JSON text holding one of
/// `secret_fields` (the body's `format: password` fields) is refused unless
/// `--allow-inline-secrets` is given: `ps` and the shell's history would show it.
fn body_text(args: &ArgMatches, secret_fields: &[&str]) -> Result<Option<String>, Failure> {
    let Some(body) = args.try_get_one::<String>("body").ok().flatten() else {
        return Ok(None);
    };
    if let Some(text) = from_file_or_stdin(body, "the body")? {
        return Ok(Some(text));
    }
    if !inline_secrets_allowed(args)
        && let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(body)
        && let Some(secret) = secret_fields
            .iter()
            .find(|f| fields.get(**f).is_some_and(|v| !v.is_null()))
    {
        return Err(Failure::usage(format!(
            "--body holds `{secret}`, a secret, and text on the command line shows in `ps` and \
             the shell's history; put the body in a file and give --body @FILE, or pipe it \
             with --body @- (or pass --{} to accept it inline)",
            crate::cli::ALLOW_INLINE_SECRETS
        )));
    }
    Ok(Some(body.clone()))
}

fn body_json(args: &ArgMatches, secret_fields: &[&str]) -> Result<Option<Value>, Failure> {
    body_text(args, secret_fields)?
        .map(|text| parse_body(&text))
        .transpose()
}

fn parse_body(text: &str) -> Result<Value, Failure> {
    serde_json::from_str(text)
        .map_err(|e| Failure::usage(format!("--body is not JSON ({e}); give JSON text or @FILE")))
}

fn check_kind(name: &str, kind: &str, value: &str) -> Result<(), Failure> {
    let scalar = kind.strip_prefix("array of ").unwrap_or(kind);
    let ok = match scalar {
        "integer" => value.parse::<i64>().is_ok(),
        "number" => value.parse::<f64>().is_ok(),
        "boolean" => value == "true" || value == "false",
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(Failure::usage(format!(
            "--{} expects {scalar}, got `{value}`",
            option_name(name)
        )))
    }
}

async fn send<C: ClientInfo<Auth> + SendRaw>(
    out: &Output,
    op: &'static Operation,
    args: &ArgMatches,
    client: &C,
    defaults: &[(&str, String)],
) -> Result<(), Failure> {
    let mut path = op.path.to_owned();
    let mut query: Vec<(String, String)> = Vec::new();
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut cookies: Vec<String> = Vec::new();
    for p in op.params {
        let mut given = if p.secret {
            secret_values(args, p.name)?
        } else {
            values(args, p.name)
        };
        if given.is_empty()
            && let Some((_, v)) = defaults.iter().find(|(n, _)| *n == p.name)
        {
            given.push(v.clone());
        }
        for v in &given {
            check_kind(p.name, p.kind, v)?;
        }
        match p.location {
            Location::Path => {
                let Some(v) = given.first() else {
                    return Err(Failure::usage(format!(
                        "`{}` needs --{}",
                        op.name,
                        option_name(p.name)
                    )));
                };
                let encoded = utf8_percent_encode(v, PATH_VALUE).to_string();
                path = path.replace(&format!("{{{}}}", p.name), &encoded);
            }
            Location::Query => query.extend(given.into_iter().map(|v| (p.name.to_owned(), v))),
            Location::Header => headers.extend(given.into_iter().map(|v| (p.name.to_owned(), v))),
            Location::Cookie => {
                cookies.extend(given.into_iter().map(|v| format!("{}={v}", p.name)))
            }
        }
    }
    let method = reqwest::Method::from_bytes(op.method.as_bytes())
        .map_err(|_| Failure::config(format!("`{}` is not an HTTP method", op.method)))?;
    let mut builder = client
        .client()
        .request(method, format!("{}{path}", client.baseurl()))
        .header(
            reqwest::header::ACCEPT,
            op.accept.unwrap_or("application/json"),
        );
    if !query.is_empty() {
        builder = builder.query(&query);
    }
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    if !cookies.is_empty() {
        builder = builder.header(reqwest::header::COOKIE, cookies.join("; "));
    }
    if let Some(body) = op.body
        && let Some(text) = body_text(args, body.secret_fields)?
    {
        builder = encode_body(builder, body.content_type, &text)?;
    }
    let request = builder.build().map_err(|e| Error::from_transport(&e))?;
    let response = client.send_raw(op.id, request).await.map_err(Error::from)?;
    if !response.status().is_success() {
        return Err(Error::from_response(response).await.into());
    }
    let streamed = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if streamed {
        // An event stream nobody hand-wrote a reader for: its lines, as they arrive.
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| Error::from_transport(&e))?;
            out.chunk(&String::from_utf8_lossy(&chunk))?;
        }
        return Ok(());
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|e| Error::from_transport(&e))?;
    print_answer(out, &bytes)
}

/// A success answer: JSON as JSON, anything else as text, nothing for an empty body.
fn print_answer(out: &Output, bytes: &[u8]) -> Result<(), Failure> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => out.json(&value),
        Err(_) => out.line(String::from_utf8_lossy(bytes).trim_end()),
    }
}

fn encode_body(
    builder: reqwest::RequestBuilder,
    content_type: &str,
    text: &str,
) -> Result<reqwest::RequestBuilder, Failure> {
    if content_type.contains("json") {
        return Ok(builder.json(&parse_body(text)?));
    }
    if content_type == "application/x-www-form-urlencoded" {
        let Value::Object(map) = parse_body(text)? else {
            return Err(Failure::usage(
                "--body must be a JSON object of the form's fields",
            ));
        };
        let fields: Vec<(String, String)> = map
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect();
        return Ok(builder.form(&fields));
    }
    Ok(builder
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(text.to_owned()))
}

/// Text to speech through `ProtoPlatform`: the `--body` JSON (`text`, and optionally `lang`,
/// `response_format`, `speed`, `gender`) in, the decoded audio out on stdout.
async fn speech(
    state: &State,
    out: &Output,
    op: &'static Operation,
    args: &ArgMatches,
) -> Result<(), Failure> {
    let handle = crate::session::proto_platform(state).await?;
    let body = body_json(args, op.body.map(|b| b.secret_fields).unwrap_or_default())?
        .unwrap_or(Value::Null);
    let text = body
        .get("text")
        .and_then(Value::as_str)
        .ok_or_else(|| Failure::usage(format!("`{}` needs --body with a `text`", op.name)))?;
    let mut request = cxkit::TextToSpeechRequest::new(text);
    if let Some(lang) = body.get("lang").and_then(Value::as_str) {
        request = request.lang(lang);
    }
    match body.get("response_format").and_then(Value::as_str) {
        Some("mp3") => request = request.format(cxkit::SpeechFormat::Mp3),
        Some("wav") => request = request.format(cxkit::SpeechFormat::Wav),
        Some(other) => {
            return Err(Failure::usage(format!(
                "response_format is mp3 or wav, not `{other}`"
            )));
        }
        None => {}
    }
    if let Some(speed) = body.get("speed").and_then(Value::as_f64) {
        request = request.speed(speed);
    }
    if let Some(gender) = body.get("gender").and_then(Value::as_str) {
        request = request.gender(gender);
    }
    let mut stdout = tokio::io::stdout();
    handle.text_to_speech(&request, &mut stdout).await?;
    let _ = out;
    Ok(())
}

/// The operations sent through the facade's hand-written helpers.
async fn facade(
    state: &State,
    out: &Output,
    op: &'static Operation,
    args: &ArgMatches,
) -> Result<(), Failure> {
    let ejento = crate::session::ejento(state)?;
    let id = |name: &str| -> Result<i64, Failure> {
        values(args, name)
            .first()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| Failure::usage(format!("`{}` needs --{}", op.name, option_name(name))))
    };
    let decode = |e: serde_json::Error| {
        Failure::usage(format!("--body does not fit `{}`'s request ({e})", op.name))
    };
    match op.id {
        "stream_agent_response" => {
            let body = body_json(args, op.body.map(|b| b.secret_fields).unwrap_or_default())?
                .unwrap_or(Value::Null);
            let request = serde_json::from_value(body).map_err(decode)?;
            let stream = ejento
                .stream_agent_response(id("agent_id")?, &request)
                .await?;
            crate::long::print_stream(out, stream).await
        }
        "stream_workflow_response" => {
            let body = body_json(args, op.body.map(|b| b.secret_fields).unwrap_or_default())?
                .unwrap_or(Value::Null);
            let request = serde_json::from_value(body).map_err(decode)?;
            let stream = ejento
                .stream_workflow_response(id("workflow_id")?, &request)
                .await?;
            crate::long::print_stream(out, stream).await
        }
        sso => {
            let provider = match sso {
                "initiate_google_sso_login" => cxkit::SsoProvider::Google,
                "initiate_microsoft_sso_login" => cxkit::SsoProvider::Microsoft,
                "initiate_linkedin_sso_login" => cxkit::SsoProvider::LinkedIn,
                "initiate_okta_sso_login" => cxkit::SsoProvider::Okta,
                other => {
                    return Err(Failure::new(
                        Exit::Config,
                        format!("`{other}` has no facade route; run `cargo xtask generate`"),
                    ));
                }
            };
            let next = values(args, "next").into_iter().next().unwrap_or_default();
            let url = ejento.sso_login_url(provider, &next).await?;
            out.json(&serde_json::json!({ "url": url.as_str() }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation the facade hand-writes has a route here (a facade helper or a command to
    /// name), so a new hand-written operation in a spec fails this test rather than going out
    /// through the generic path it cannot take.
    #[test]
    fn every_hand_written_operation_has_a_route() {
        for system in System::ALL {
            for (_, op) in system.operations() {
                if op.handwritten.is_some() {
                    assert!(
                        dedicated(system, op.id).is_some(),
                        "{}: {} is hand-written but has no route",
                        system.name(),
                        op.id
                    );
                }
            }
        }
    }

    /// Every operation named in the routes exists in its system's tables.
    #[test]
    fn the_routes_name_real_operations() {
        let named = [
            (System::Ejento, "login_access_token"),
            (System::Ejento, "exchange_passwordless_token"),
            (System::Ejento, "verify_email_otp"),
            (System::Ejento, "refresh_access_token"),
            (System::Ejento, "upload_corpus_document"),
            (System::Ejento, "stream_agent_response"),
            (System::Ejento, "stream_workflow_response"),
            (System::ProtoPlatform, "text_to_speech"),
            (System::ProtoPlatform, "speech_to_text"),
            (System::Platform28, "create_login_session"),
            (System::Platform28, "clone_session"),
        ];
        for (system, id) in named {
            assert!(
                system.operations().any(|(_, op)| op.id == id),
                "{}: no operation {id}",
                system.name()
            );
            assert!(dedicated(system, id).is_some(), "{id}");
        }
    }

    #[test]
    fn parameter_values_are_checked_against_their_type() {
        assert!(check_kind("agent_id", "integer", "12").is_ok());
        assert!(check_kind("agent_id", "integer", "twelve").is_err());
        assert!(check_kind("ids", "array of integer", "3").is_ok());
        assert!(check_kind("flag", "boolean", "yes").is_err());
        assert!(check_kind("name", "string", "anything").is_ok());
    }
}
