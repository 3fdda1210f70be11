//! A set of tokens obtained together (Ejento's two bearer tokens come from one login or
//! refresh), with the wall-clock time they expire.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use cxkit_auth::Secret;

/// Tokens obtained together, and when they expire.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSet {
    tokens: BTreeMap<String, Secret>,
    identity: Option<String>,
    obtained_at: SystemTime,
    expires_at: SystemTime,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("tokens", &self.tokens.keys().collect::<Vec<_>>())
            .field("identity", &self.identity)
            .field("obtained_at", &self.obtained_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl TokenSet {
    /// Tokens obtained at `obtained_at` that expire at `expires_at`.
    pub fn new(
        tokens: impl IntoIterator<Item = (String, Secret)>,
        obtained_at: SystemTime,
        expires_at: SystemTime,
    ) -> Self {
        TokenSet {
            tokens: tokens.into_iter().collect(),
            identity: None,
            obtained_at,
            expires_at,
        }
    }

    /// The same tokens, marked as the session of `identity` (a user name, an email, a token's
    /// `sub`: whatever names the user to the issuer). A session refuses to adopt tokens of
    /// another identity from a shared store; sets without one (written before identities were
    /// recorded) are adopted as before.
    pub fn with_identity(mut self, identity: impl Into<String>) -> Self {
        self.identity = Some(identity.into());
        self
    }

    /// Whose session these tokens are, if known. Not a secret.
    pub fn identity(&self) -> Option<&str> {
        self.identity.as_deref()
    }

    /// One token by name.
    pub fn get(&self, name: &str) -> Option<&Secret> {
        self.tokens.get(name)
    }

    /// Every token, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Secret)> {
        self.tokens.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// When the tokens were obtained.
    pub fn obtained_at(&self) -> SystemTime {
        self.obtained_at
    }

    /// When the first of them expires.
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// Their lifetime as issued.
    pub fn lifetime(&self) -> Duration {
        self.expires_at
            .duration_since(self.obtained_at)
            .unwrap_or_default()
    }

    /// Whether they are still valid at `now`.
    pub fn is_valid_at(&self, now: SystemTime) -> bool {
        now < self.expires_at
    }
}

/// The expiry (`exp`, seconds since the epoch) a JWT states about itself, read without
/// verifying the signature (the server verifies; the client only plans its refresh).
pub fn jwt_expiry(token: &str) -> Option<SystemTime> {
    jwt_claim(token, "exp")
}

/// The issue time (`iat`) a JWT states about itself.
#[cfg_attr(
    not(feature = "ejento"),
    allow(dead_code, reason = "only the Ejento session reads `iat`")
)]
pub fn jwt_issued_at(token: &str) -> Option<SystemTime> {
    jwt_claim(token, "iat")
}

/// The latest time a claim may state: 9999-12-31T23:59:59Z. A server-provided number past it
/// (`1e20`, `u64::MAX`) is garbage, and adding it to the epoch could overflow.
const LATEST_CLAIM_SECS: f64 = 253_402_300_799.0;

/// The subject (`sub`) a JWT names, if it is a non-empty string: whose token it is.
#[cfg_attr(not(feature = "ejento"), allow(dead_code))]
pub fn jwt_subject(token: &str) -> Option<String> {
    let subject = jwt_claims(token)?.get("sub")?.as_str()?.to_owned();
    (!subject.is_empty()).then_some(subject)
}

fn jwt_claims(token: &str) -> Option<serde_json::Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn jwt_claim(token: &str, claim: &str) -> Option<SystemTime> {
    let at = jwt_claims(token)?.get(claim)?.as_f64()?;
    // Negative, zero, fractional-beyond-range or absurd values count as "not stated"; the
    // caller then falls back to the configured lifetime.
    if !(1.0..=LATEST_CLAIM_SECS).contains(&at) {
        return None;
    }
    UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(at).ok()?)
}

/// When to refresh ahead of expiry.
#[derive(Clone, Debug, PartialEq)]
pub struct RefreshConfig {
    /// Refresh at least this long before expiry.
    pub min_margin: Duration,
    /// ... or this fraction of the token's lifetime before expiry, whichever is longer.
    pub lifetime_fraction: f64,
    /// A random extra share of the margin (0.0 to 1.0), so that many clients holding tokens
    /// from the same moment do not all refresh at the same moment.
    pub jitter: f64,
    /// After a failed refresh (or an unreadable store) while the token is still valid, wait
    /// this long before trying again (the still-valid token keeps being used meanwhile). Also
    /// how often a session whose refresh was rejected reads the store for a newer login.
    pub retry_interval: Duration,
    /// The lifetime assumed when neither the token nor the answer states one.
    pub default_lifetime: Duration,
    /// The longest one refresh may take before it counts as a transient failure.
    pub acquire_timeout: Duration,
}

impl Default for RefreshConfig {
    fn default() -> Self {
        RefreshConfig {
            min_margin: Duration::from_secs(5 * 60),
            lifetime_fraction: 0.10,
            jitter: 0.5,
            retry_interval: Duration::from_secs(30),
            // Ejento documents 2 days (older guide) and 7 days (newer page); one day is below
            // both, so a token of unknown lifetime is refreshed before either could expire.
            default_lifetime: Duration::from_secs(24 * 3600),
            acquire_timeout: Duration::from_secs(60),
        }
    }
}

impl RefreshConfig {
    /// The margin before expiry at which `tokens` are refreshed: max(min_margin, fraction of
    /// lifetime), never more than half the lifetime (a short-lived token would otherwise be
    /// refreshed on every call), plus jitter drawn from `unit` (0.0 to 1.0).
    pub fn margin(&self, tokens: &TokenSet, unit: f64) -> Duration {
        let lifetime = tokens.lifetime();
        let base = self
            .min_margin
            .max(lifetime.mul_f64(self.lifetime_fraction.clamp(0.0, 1.0)));
        let jittered = base.mul_f64(1.0 + self.jitter.clamp(0.0, 1.0) * unit.clamp(0.0, 1.0));
        jittered.min(lifetime / 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(lifetime: Duration) -> TokenSet {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_000_000);
        TokenSet::new([("a".to_owned(), Secret::new("x"))], t0, t0 + lifetime)
    }

    #[test]
    fn margin_is_the_larger_of_five_minutes_and_ten_percent() {
        let c = RefreshConfig {
            jitter: 0.0,
            ..RefreshConfig::default()
        };
        // 10% of 30 minutes is 3 minutes: the 5-minute floor wins.
        assert_eq!(
            c.margin(&set(Duration::from_secs(1800)), 0.0),
            Duration::from_secs(300)
        );
        // 10% of an hour is 6 minutes: the fraction wins.
        assert_eq!(
            c.margin(&set(Duration::from_secs(3600)), 0.0),
            Duration::from_secs(360)
        );
        let week = Duration::from_secs(7 * 86400);
        assert_eq!(c.margin(&set(week), 0.0), week / 10);
        // Never more than half the lifetime.
        assert_eq!(
            c.margin(&set(Duration::from_secs(60)), 0.0),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn jitter_adds_up_to_its_share_of_the_margin() {
        let c = RefreshConfig::default();
        let s = set(Duration::from_secs(86400));
        let base = Duration::from_secs(8640);
        assert_eq!(c.margin(&s, 0.0), base);
        assert_eq!(c.margin(&s, 1.0), base.mul_f64(1.5));
    }

    #[test]
    fn jwt_expiry_reads_exp_and_ignores_garbage() {
        let payload =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"exp":1700000000}"#);
        let token = format!("eyJhbGciOiJub25lIn0.{payload}.sig");
        assert_eq!(
            jwt_expiry(&token),
            Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
        assert_eq!(jwt_expiry("opaque-token"), None);
        let huge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"exp":1e300}"#);
        assert_eq!(jwt_expiry(&format!("h.{huge}.s")), None);
        for absurd in [
            r#"{"exp":1e20}"#,
            r#"{"exp":-5}"#,
            r#"{"exp":0}"#,
            r#"{"exp":18446744073709551615}"#,
            r#"{"exp":"1700000000"}"#,
        ] {
            let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(absurd);
            assert_eq!(jwt_expiry(&format!("h.{payload}.s")), None, "{absurd}");
        }
        assert_eq!(jwt_expiry("a.!!!.c"), None);
    }

    #[test]
    fn debug_names_tokens_but_never_their_values() {
        let s = TokenSet::new(
            [("ejento".to_owned(), Secret::new("canary-tok"))],
            UNIX_EPOCH,
            UNIX_EPOCH,
        );
        let text = format!("{s:?}");
        assert!(text.contains("ejento") && !text.contains("canary-tok"));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn number() -> impl Strategy<Value = serde_json::Value> {
            prop_oneof![
                any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
                    .map(serde_json::Value::Number)),
                any::<i64>().prop_map(serde_json::Value::from),
                any::<u64>().prop_map(serde_json::Value::from),
                "\\PC{0,12}".prop_map(serde_json::Value::from),
                Just(serde_json::Value::Null),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn any_claims_give_a_sane_time_or_none(exp in number(), iat in number(), garbage in "\\PC{0,40}") {
                let claims = serde_json::json!({"exp": exp, "iat": iat}).to_string();
                let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims);
                let token = format!("h.{payload}.s");
                for at in [jwt_expiry(&token), jwt_issued_at(&token)].into_iter().flatten() {
                    let secs = at.duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
                    prop_assert!(secs > 0.0 && secs <= LATEST_CLAIM_SECS + 1.0);
                }
                let _ = jwt_expiry(&garbage);
                let _ = jwt_expiry(&format!("a.{garbage}.c"));
            }
        }
    }
}
