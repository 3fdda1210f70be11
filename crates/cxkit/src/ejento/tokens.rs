//! An Ejento session's tokens: reading them from an answer, their expiry, and the refresher
//! the session's token cache calls.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cxkit_auth::{Clock, Credential, RetryPolicy, Secret};
use cxkit_ejento_auth as gen_auth;
use futures::future::BoxFuture;

use super::builder::ejento_auth;
use super::{AUTH_APP_TOKEN, EJENTO_TOKEN};
use crate::cache::Refresher;
use crate::http::HttpConfig;
use crate::token::{TokenSet, jwt_expiry, jwt_subject};
use crate::{Error, Result};

fn message_text(m: impl Into<Option<String>>) -> String {
    m.into().unwrap_or_else(|| "no reason given".to_owned())
}

/// Builds a token set from an answer, flat or enveloped.
pub(super) fn tokens_from_answer(
    answer: gen_auth::types::TokenEnvelope,
    now: SystemTime,
    default_lifetime: Duration,
) -> Result<TokenSet> {
    let data = answer.data.unwrap_or_default();
    let auth_app = data.access_token.or(answer.access_token);
    let ejento = data.ejento_access_token.or(answer.ejento_access_token);
    match (auth_app, ejento) {
        (Some(a), Some(e)) if !a.is_empty() && !e.is_empty() => Ok(token_set(
            Secret::new(a),
            Secret::new(e),
            now,
            default_lifetime,
        )),
        _ => Err(Error::Decode {
            message: "the answer holds no `access_token` and `ejento_access_token`".into(),
        }),
    }
}

/// The expiry of a token received at `now`: the lifetime it states (`exp - iat`) applied from
/// `now`, which is immune to clock skew between client and server; else its absolute `exp`;
/// else `now + default_lifetime`.
///
/// Whatever the token states, the result is at most [`LONGEST_LIFETIME`] from `now`: a server
/// number far in the future must not keep a token unrefreshed for centuries (or overflow).
fn expiry(token: &Secret, now: SystemTime, default_lifetime: Duration) -> SystemTime {
    let issued = crate::token::jwt_issued_at(token.expose());
    let latest = now.checked_add(LONGEST_LIFETIME).unwrap_or(now);
    let stated = match (jwt_expiry(token.expose()), issued) {
        (Some(exp), Some(iat)) if exp > iat => {
            now.checked_add(exp.duration_since(iat).unwrap_or_default())
        }
        (Some(exp), _) => Some(exp),
        _ => now.checked_add(default_lifetime),
    };
    stated.map_or(latest, |at| at.min(latest))
}

/// The longest lifetime a token is trusted with: Ejento documents days, so a token claiming
/// more than a year is refreshed within a year all the same.
const LONGEST_LIFETIME: Duration = Duration::from_secs(366 * 24 * 3600);

pub(super) fn token_set(
    auth_app: Secret,
    ejento: Secret,
    now: SystemTime,
    default_lifetime: Duration,
) -> TokenSet {
    let expires_at =
        expiry(&auth_app, now, default_lifetime).min(expiry(&ejento, now, default_lifetime));
    // Whose session it is, for the shared-store check: the subject the tokens name.
    let identity = jwt_subject(auth_app.expose()).or_else(|| jwt_subject(ejento.expose()));
    let tokens = TokenSet::new(
        [
            (AUTH_APP_TOKEN.to_owned(), auth_app),
            (EJENTO_TOKEN.to_owned(), ejento),
        ],
        now,
        expires_at,
    );
    match identity {
        Some(identity) => tokens.with_identity(identity),
        None => tokens,
    }
}

/// Refreshes an Ejento session with its Authentication App token. It calls the auth-service
/// through a client authorized with the *current* token directly, not through the cache (which
/// is mid-refresh and would wait on itself).
#[derive(Debug)]
pub(super) struct EjentoRefresher {
    pub(super) http: reqwest::Client,
    pub(super) auth_base: String,
    pub(super) subscription_key: Option<Secret>,
    pub(super) retry: RetryPolicy,
    pub(super) limits: HttpConfig,
    /// What `http` bounds each request by itself (see `Config::client_timeout`).
    pub(super) client_timeout: Option<Duration>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) default_lifetime: Duration,
    pub(super) api_version: Option<String>,
}

impl Refresher for EjentoRefresher {
    fn refresh<'a>(&'a self, current: &'a TokenSet) -> BoxFuture<'a, Result<TokenSet>> {
        Box::pin(async move {
            let token = current
                .get(AUTH_APP_TOKEN)
                .ok_or_else(|| Error::reauth("the session holds no Authentication App token"))?;
            let auth = ejento_auth(
                &self.limits,
                self.client_timeout,
                &self.retry,
                "authAppToken",
                Credential::fixed(token.clone()),
                self.subscription_key.as_ref(),
                self.api_version.as_deref(),
            );
            let client =
                gen_auth::Client::new_with_client(&self.auth_base, self.http.clone(), auth);
            let answer =
                client
                    .refresh_access_token()
                    .send()
                    .await
                    .map_err(|e| match Error::from(e) {
                        Error::ReauthRequired { reason } => {
                            Error::reauth(format!("the refresh was rejected: {reason}"))
                        }
                        Error::Api {
                            status, message, ..
                        } if (400..500).contains(&status) => Error::reauth(format!(
                            "the refresh was rejected ({status}): {}",
                            message_text(message)
                        )),
                        other => other,
                    })?;
            let tokens =
                tokens_from_answer(answer.into_inner(), self.clock.now(), self.default_lifetime)?;
            // A refresh continues the same user's session.
            Ok(match (tokens.identity(), current.identity()) {
                (None, Some(identity)) => tokens.with_identity(identity),
                _ => tokens,
            })
        })
    }
}
