//! Server-to-server user tokens: a trusted service mints an Ejento access token for one of its
//! users with the deployment's application secret (`POST {server}/user-token`, header
//! `ejento-auth-key`, as the vendor's Slack app does), instead of logging the user in.
//!
//! The minter is a [`Refresher`] of the session's ordinary [`crate::TokenCache`], so minting
//! gets everything a refresh has: one mint however many callers (single flight), a new token
//! ahead of `expires_on` (refresh-ahead with jitter), a re-mint after a 401, and the token store.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cxkit_auth::{Clock, Credential, Secret};
use cxkit_ejento_auth as gen_auth;
use futures::future::BoxFuture;

use crate::cache::Refresher;
use crate::ejento::{EJENTO_TOKEN, ejento_auth};
use crate::error::checked;
use crate::http::base_url;
use crate::token::{TokenSet, jwt_expiry};
use crate::{Config, Error, Result};

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
        config: &Config,
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
            config,
            &server,
            "ejentoAuthKey",
            Credential::fixed(self.auth_key.clone()),
            None,
            api_version,
        );
        Ok(UserTokenMinter {
            client: gen_auth::Client::new_with_client(&server, config.http_client().clone(), auth),
            auth_key: self.auth_key,
            email: self.email,
            full_name: self.full_name,
            clock: config.clock().clone(),
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

/// The longest a minted token is kept, whatever its answer or its JWT says: a week, the longest
/// session the vendor documents. A server number far in the future (or garbage) would otherwise
/// keep a token unrefreshed for centuries.
pub const MINTED_TOKEN_LONGEST_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// When a minted token expires: its `expires_on` (RFC 3339; an ISO 8601 time without offset,
/// read as UTC; or epoch seconds, as a number or a string), else the token's JWT `exp`, else
/// [`MINTED_TOKEN_FALLBACK_LIFETIME`] from now; never more than
/// [`MINTED_TOKEN_LONGEST_LIFETIME`] from now. A stated expiry that is already past on this
/// clock (skew) also falls back, so the token is not re-minted on every call. No number from the
/// server reaches time arithmetic unchecked: out-of-range values count as not stated.
fn minted_expiry(
    expires_on: Option<&serde_json::Value>,
    token: &Secret,
    now: SystemTime,
) -> SystemTime {
    let stated = expires_on
        .and_then(parse_expires_on)
        .or_else(|| jwt_expiry(token.expose()));
    let fallback = now
        .checked_add(MINTED_TOKEN_FALLBACK_LIFETIME)
        .unwrap_or(now);
    let latest = now
        .checked_add(MINTED_TOKEN_LONGEST_LIFETIME)
        .unwrap_or(fallback);
    match stated {
        Some(at) if at > now => at.min(latest),
        Some(_) => {
            tracing::warn!(
                "the minted token's expiry is already past on this clock; keeping it for the fallback lifetime"
            );
            fallback
        }
        None => fallback,
    }
}

/// The latest time `expires_on` may state (9999-12-31T23:59:59Z, as for JWT claims); anything
/// past it is garbage.
const LATEST_EXPIRES_ON_SECS: f64 = 253_402_300_799.0;

fn parse_expires_on(value: &serde_json::Value) -> Option<SystemTime> {
    let epoch = |secs: f64| {
        // Values this large are milliseconds.
        let secs = if secs > 1e11 { secs / 1000.0 } else { secs };
        if !(secs.is_finite() && secs > 0.0 && secs <= LATEST_EXPIRES_ON_SECS) {
            return None;
        }
        UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(secs).ok()?)
    };
    let from_seconds = |secs: i64, nanos: u32| {
        let secs = u64::try_from(secs).ok().filter(|s| *s > 0)?;
        (secs as f64 <= LATEST_EXPIRES_ON_SECS)
            .then(|| UNIX_EPOCH.checked_add(Duration::new(secs, nanos.min(999_999_999))))
            .flatten()
    };
    match value {
        serde_json::Value::Number(n) => n.as_f64().and_then(epoch),
        serde_json::Value::String(text) => {
            let text = text.trim();
            if let Ok(secs) = text.parse::<f64>() {
                return epoch(secs);
            }
            if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
                return from_seconds(at.timestamp(), at.timestamp_subsec_nanos());
            }
            ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
                .iter()
                .find_map(|format| chrono::NaiveDateTime::parse_from_str(text, format).ok())
                .and_then(|naive| {
                    let at = naive.and_utc();
                    from_seconds(at.timestamp(), at.timestamp_subsec_nanos())
                })
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
        // An hour before: within the longest lifetime a minted token is kept.
        let now = at - Duration::from_secs(3600);
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

    /// Numbers a server may send that no clock holds: never a panic (every later call would
    /// re-mint and panic again), and never a token kept for longer than a week.
    #[test]
    fn absurd_expiries_neither_panic_nor_outlive_the_cap() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let week = Duration::from_secs(7 * 24 * 3600);
        let token = Secret::new("opaque");
        for value in [
            serde_json::json!(1e22),
            serde_json::json!(1e23),
            serde_json::json!(1e300),
            serde_json::json!(u64::MAX),
            serde_json::json!(f64::MAX),
            serde_json::json!("1e23"),
            serde_json::json!("1e22"),
            serde_json::json!("18446744073709551615"),
            serde_json::json!("+262142-12-31T23:59:59Z"),
            serde_json::json!("9999-12-31T23:59:59Z"),
            serde_json::json!("2200-01-01T00:00:00"),
            serde_json::json!(4_000_000_000u64),
        ] {
            let at = minted_expiry(Some(&value), &token, now);
            assert!(at > now && at <= now + week, "{value}: {at:?}");
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        fn value() -> impl Strategy<Value = serde_json::Value> {
            prop_oneof![
                any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
                    .map(serde_json::Value::Number)),
                any::<u64>().prop_map(serde_json::Value::from),
                any::<i64>().prop_map(serde_json::Value::from),
                any::<f64>().prop_map(|f| serde_json::Value::from(f.to_string())),
                any::<u64>().prop_map(|n| serde_json::Value::from(n.to_string())),
                (0i32..=262_143, 1u32..=12, 1u32..=28, 0u32..24).prop_map(|(y, m, d, h)| {
                    serde_json::Value::from(format!("{y:04}-{m:02}-{d:02}T{h:02}:00:00Z"))
                }),
                "\\PC{0,24}".prop_map(serde_json::Value::from),
                Just(serde_json::Value::Null),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// Whatever `expires_on` says, and whatever the token's own claims say, the expiry
            /// is after `now` and at most [`MINTED_TOKEN_LONGEST_LIFETIME`] later.
            #[test]
            fn any_expires_on_gives_an_expiry_within_the_cap(
                value in value(),
                exp in any::<f64>(),
                now_secs in 0u64..=253_402_300_799,
            ) {
                let now = UNIX_EPOCH + Duration::from_secs(now_secs);
                let claims = serde_json::json!({ "exp": exp }).to_string();
                let payload = base64::Engine::encode(
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                    claims,
                );
                for token in [Secret::new("opaque"), Secret::new(format!("h.{payload}.s"))] {
                    let at = minted_expiry(Some(&value), &token, now);
                    prop_assert!(at > now);
                    prop_assert!(at <= now + MINTED_TOKEN_LONGEST_LIFETIME);
                }
            }
        }
    }
}
