//! Server-to-server user tokens: a trusted service mints an Ejento access token for one of its
//! users with the deployment's application secret (`POST {server}/user-token`, header
//! `ejento-auth-key`, as the vendor's Slack app does), instead of logging the user in.
//!
//! The minter is a [`Refresher`] of the session's ordinary [`crate::TokenCache`], so minting
//! gets everything a refresh has: one mint however many callers (single flight), a new token
//! ahead of `expires_on` (refresh-ahead with jitter), a re-mint after a 401, and the token store.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cxkit_auth::{Clock, Credential, RetryPolicy, Secret};
use cxkit_ejento_auth as gen_auth;
use futures::future::BoxFuture;

use crate::cache::Refresher;
use crate::ejento::{EJENTO_TOKEN, ejento_auth};
use crate::error::checked;
use crate::http::{HttpConfig, base_url};
use crate::token::{TokenSet, jwt_expiry};
use crate::{Error, Result};

/// How long a minted token is kept when its answer states no usable `expires_on` and the token
/// is not a JWT with an `exp`: the vendor's Slack app caches user tokens for 55 minutes.
pub const MINTED_TOKEN_FALLBACK_LIFETIME: Duration = Duration::from_secs(55 * 60);

/// What [`crate::EjentoBuilder::user_token_minter`] collects. Its `Debug` redacts the key.
#[derive(Debug)]
pub(crate) struct MinterConfig {
    pub(crate) server: String,
    pub(crate) auth_key: Secret,
    pub(crate) email: String,
    pub(crate) full_name: Option<String>,
}

impl MinterConfig {
    /// Checks the settings and builds the refresher.
    pub(crate) fn into_minter(
        self,
        http: reqwest::Client,
        limits: &HttpConfig,
        client_timeout: Option<std::time::Duration>,
        retry: RetryPolicy,
        clock: Arc<dyn Clock>,
        api_version: Option<&str>,
    ) -> Result<UserTokenMinter> {
        let server = base_url(&self.server, "the Ejento user-token server URL")?;
        if self.auth_key.is_empty() {
            return Err(Error::config(
                "the user-token auth key (`ejento-auth-key`) is empty",
            ));
        }
        if self.email.trim().is_empty() {
            return Err(Error::config(
                "the user-token email is empty; name the user to mint a token for",
            ));
        }
        let auth = ejento_auth(
            limits,
            client_timeout,
            &retry,
            "ejentoAuthKey",
            Credential::fixed(self.auth_key.clone()),
            None,
            api_version,
        );
        Ok(UserTokenMinter {
            client: gen_auth::Client::new_with_client(&server, http, auth),
            auth_key: self.auth_key,
            email: self.email,
            full_name: self.full_name,
            clock,
        })
    }
}

/// Mints a user token; the session's token cache calls it for the first token and whenever the
/// token is due or rejected.
#[derive(Debug)]
pub(crate) struct UserTokenMinter {
    client: gen_auth::Client,
    auth_key: Secret,
    email: String,
    full_name: Option<String>,
    clock: Arc<dyn Clock>,
}

impl UserTokenMinter {
    async fn mint(&self) -> Result<TokenSet> {
        let answer = self
            .client
            .mint_user_token()
            .body_map(|b| {
                b.email(self.email.clone())
                    .full_name(self.full_name.clone())
            })
            .send()
            .await;
        let minted = checked(answer).await.map_err(|e| {
            e.into_refused_credentials(&[401, 403], "the user-token server refused the key")
                .without(&[&self.auth_key])
        })?;
        if minted.token.is_empty() {
            return Err(Error::Decode {
                message: "the user-token answer holds an empty `token`".into(),
            });
        }
        let token = Secret::new(minted.token);
        let now = self.clock.now();
        let expires_at = minted_expiry(minted.expires_on.as_ref(), &token, now);
        Ok(TokenSet::new(
            [(EJENTO_TOKEN.to_owned(), token)],
            now,
            expires_at,
        ))
    }
}

impl Refresher for UserTokenMinter {
    fn refresh<'a>(&'a self, _current: &'a TokenSet) -> BoxFuture<'a, Result<TokenSet>> {
        // A minted token cannot be refreshed with itself: mint a new one.
        Box::pin(self.mint())
    }

    fn initial(&self) -> Option<BoxFuture<'_, Result<TokenSet>>> {
        Some(Box::pin(self.mint()))
    }
}

/// When a minted token expires: its `expires_on` (RFC 3339; an ISO 8601 time without offset,
/// read as UTC; or epoch seconds, as a number or a string), else the token's JWT `exp`, else
/// [`MINTED_TOKEN_FALLBACK_LIFETIME`] from now. A stated expiry that is already past on this
/// clock (skew) also falls back, so the token is not re-minted on every call.
fn minted_expiry(
    expires_on: Option<&serde_json::Value>,
    token: &Secret,
    now: SystemTime,
) -> SystemTime {
    let stated = expires_on
        .and_then(parse_expires_on)
        .or_else(|| jwt_expiry(token.expose()));
    match stated {
        Some(at) if at > now => at,
        Some(_) => {
            tracing::warn!(
                "the minted token's expiry is already past on this clock; keeping it for the fallback lifetime"
            );
            now + MINTED_TOKEN_FALLBACK_LIFETIME
        }
        None => now + MINTED_TOKEN_FALLBACK_LIFETIME,
    }
}

fn parse_expires_on(value: &serde_json::Value) -> Option<SystemTime> {
    let epoch = |secs: f64| {
        // Values this large are milliseconds.
        let secs = if secs > 1e11 { secs / 1000.0 } else { secs };
        (secs.is_finite() && secs > 0.0).then(|| UNIX_EPOCH + Duration::from_secs_f64(secs))
    };
    match value {
        serde_json::Value::Number(n) => n.as_f64().and_then(epoch),
        serde_json::Value::String(text) => {
            let text = text.trim();
            if let Ok(secs) = text.parse::<f64>() {
                return epoch(secs);
            }
            if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
                return Some(SystemTime::from(at.with_timezone(&chrono::Utc)));
            }
            ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
                .iter()
                .find_map(|format| chrono::NaiveDateTime::parse_from_str(text, format).ok())
                .map(|naive| SystemTime::from(naive.and_utc()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_on_is_read_in_every_shape_seen_or_likely() {
        let at = UNIX_EPOCH + Duration::from_secs(1_900_000_000);
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let token = Secret::new("opaque");
        for value in [
            serde_json::json!("2030-03-17T17:46:40Z"),
            serde_json::json!("2030-03-17T19:46:40+02:00"),
            serde_json::json!("2030-03-17T17:46:40"),
            serde_json::json!("2030-03-17 17:46:40.000"),
            serde_json::json!(1_900_000_000),
            serde_json::json!(1_900_000_000_000u64),
            serde_json::json!("1900000000"),
        ] {
            assert_eq!(minted_expiry(Some(&value), &token, now), at, "{value}");
        }
        for value in [serde_json::json!("soon"), serde_json::json!(null)] {
            assert_eq!(
                minted_expiry(Some(&value), &token, now),
                now + MINTED_TOKEN_FALLBACK_LIFETIME
            );
        }
        let past = serde_json::json!(1_700_000_000);
        assert_eq!(
            minted_expiry(Some(&past), &token, now),
            now + MINTED_TOKEN_FALLBACK_LIFETIME
        );
    }
}
