//! An Ejento session's tokens: reading them from an answer, their expiry, and the refresher
//! the session's token cache calls.

use std::time::{Duration, SystemTime};

use cxkit_auth::{Credential, Secret};
use cxkit_ejento_auth as gen_auth;
use futures::future::BoxFuture;

use super::builder::ejento_auth;
use super::{AUTH_APP_TOKEN, EJENTO_TOKEN};
use crate::cache::Refresher;
use crate::token::{TokenSet, jwt_expiry, jwt_subject};
use crate::{Config, Error, Result};

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

/// The statuses with which the auth service refuses a token: 401 (its documented answer on the
/// refresh route) and 403 (FastAPI's "Could not validate credentials", in the lineage the
/// service comes from).
const REJECTION_STATUSES: [u16; 2] = [401, 403];

/// Whether `body` is the auth service's own JSON error: an object with a `detail` string or
/// list (FastAPI's shape) or with `"success": false` (the platform's envelope). A gateway's or
/// proxy's page is not: HTML, or JSON of another shape, such as Azure API Management's
/// `{"statusCode", "message"}`.
fn is_auth_service_error(body: &serde_json::Value) -> bool {
    matches!(
        body.get("detail"),
        Some(serde_json::Value::String(_) | serde_json::Value::Array(_))
    ) || body.get("success") == Some(&serde_json::Value::Bool(false))
}

/// What a failed refresh means. Only the auth service's own rejection ends the session: a
/// status in [`REJECTION_STATUSES`] whose body [`is_auth_service_error`]
/// ([`Error::ReauthRequired`]). Any other 4xx (a gateway's 403 or 404 page, an API gateway's
/// own 401 for a bad subscription key, a 400 from a proxy) is [`Error::Transient`], like a 5xx
/// or a dropped connection: the valid tokens stay in use and the refresh is tried again after
/// the retry interval; once they expire, callers see the transient error.
async fn refresh_failure(e: progenitor_client::Error<gen_auth::types::AuthServiceError>) -> Error {
    use progenitor_client::Error as G;
    let (status, body) = match e {
        G::ErrorResponse(answer) => {
            let status = answer.status().as_u16();
            let body = serde_json::to_value(answer.into_inner()).unwrap_or_default();
            (status, Some(body))
        }
        G::UnexpectedResponse(response) => {
            let status = response.status().as_u16();
            let bytes =
                crate::error::read_capped(response, crate::http::DEFAULT_BODY_TIMEOUT).await;
            (status, serde_json::from_slice(&bytes).ok())
        }
        other => {
            return match Error::from(other) {
                // Decided above, from the answer; anything else is not the service's word.
                Error::ReauthRequired { reason }
                | Error::InvalidCredentials { message: reason } => Error::Transient {
                    message: format!("the refresh failed: {reason}"),
                    status: None,
                },
                other => other,
            };
        }
    };
    let message = body.as_ref().and_then(crate::error::vendor_message);
    if REJECTION_STATUSES.contains(&status) && body.as_ref().is_some_and(is_auth_service_error) {
        return Error::reauth(format!(
            "the refresh was rejected ({status}): {}",
            message_text(message)
        ));
    }
    if (500..600).contains(&status) || status == 408 || status == 429 {
        return Error::Transient {
            message: format!("the refresh answered {status}: {}", message_text(message)),
            status: Some(status),
        };
    }
    Error::Transient {
        message: format!(
            "the refresh answered {status}, not in the auth service's error shape (a gateway's or \
             proxy's answer?); the session is kept and the refresh tried again later"
        ),
        status: Some(status),
    }
}

/// Refreshes an Ejento session with its Authentication App token. It calls the auth-service
/// through a client authorized with the *current* token directly, not through the cache (which
/// is mid-refresh and would wait on itself).
#[derive(Debug)]
pub(super) struct EjentoRefresher {
    /// The session's configuration: its HTTP client, limits, retry policy, clock and telemetry
    /// (a refresh reports its request as every call does, inside the refresh's span).
    pub(super) config: Config,
    pub(super) auth_base: String,
    pub(super) subscription_key: Option<Secret>,
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
                &self.config,
                &self.auth_base,
                "authAppToken",
                Credential::fixed(token.clone()),
                self.subscription_key.as_ref(),
                self.api_version.as_deref(),
            );
            let client = gen_auth::Client::new_with_client(
                &self.auth_base,
                self.config.http_client().clone(),
                auth,
            );
            let answer = match client.refresh_access_token().send().await {
                Ok(answer) => answer,
                Err(e) => return Err(refresh_failure(e).await),
            };
            let tokens = tokens_from_answer(
                answer.into_inner(),
                self.config.clock().now(),
                self.default_lifetime,
            )?;
            // A refresh continues the same user's session.
            Ok(match (tokens.identity(), current.identity()) {
                (None, Some(identity)) => tokens.with_identity(identity),
                _ => tokens,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use base64::Engine as _;
    use proptest::prelude::*;

    use super::*;

    fn jwt(claims: &serde_json::Value) -> Secret {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
        Secret::new(format!("h.{payload}.s"))
    }

    fn claim() -> impl Strategy<Value = serde_json::Value> {
        prop_oneof![
            any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
                .map(serde_json::Value::Number)),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            (0u64..=300_000_000_000).prop_map(serde_json::Value::from),
            Just(serde_json::Value::Null),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Whatever `exp` and `iat` a token states, and whatever the configured default
        /// lifetime, its expiry is computed without a panic and lies within a year of receipt.
        #[test]
        fn any_claims_give_an_expiry_within_the_longest_lifetime(
            exp in claim(),
            iat in claim(),
            now_secs in 0u64..=253_402_300_799,
            default_secs in any::<u64>(),
        ) {
            let now = UNIX_EPOCH + Duration::from_secs(now_secs);
            let token = jwt(&serde_json::json!({"exp": exp, "iat": iat}));
            let at = expiry(&token, now, Duration::from_secs(default_secs));
            prop_assert!(at <= now + LONGEST_LIFETIME);
            let set = token_set(token.clone(), token, now, Duration::from_secs(default_secs));
            prop_assert!(set.expires_at() <= now + LONGEST_LIFETIME);
        }
    }

    #[test]
    fn only_the_auth_services_own_error_shape_is_a_rejection() {
        for body in [
            serde_json::json!({"detail": "Could not validate credentials"}),
            serde_json::json!({"detail": [{"msg": "bad"}]}),
            serde_json::json!({"success": false, "message": "revoked"}),
        ] {
            assert!(is_auth_service_error(&body), "{body}");
        }
        for body in [
            serde_json::json!({"statusCode": 401, "message": "Access denied"}),
            serde_json::json!({"message": "Forbidden"}),
            serde_json::json!({"detail": null}),
            serde_json::json!({"success": true}),
            serde_json::json!("<html>"),
            serde_json::json!([]),
        ] {
            assert!(!is_auth_service_error(&body), "{body}");
        }
    }
}
