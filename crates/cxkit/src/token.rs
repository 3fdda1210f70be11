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
    obtained_at: SystemTime,
    expires_at: SystemTime,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("tokens", &self.tokens.keys().collect::<Vec<_>>())
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
            obtained_at,
            expires_at,
        }
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

fn jwt_claim(token: &str, claim: &str) -> Option<SystemTime> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let at = claims.get(claim)?.as_f64()?;
    (at > 0.0 && at.is_finite()).then(|| UNIX_EPOCH + Duration::from_secs_f64(at))
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
    /// After a failed refresh while the token is still valid, wait this long before trying
    /// again (the still-valid token keeps being used meanwhile).
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
}
