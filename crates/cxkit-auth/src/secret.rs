//! The one secret type every cxkit crate uses for passwords, tokens, API keys, LSIDs and emailed
//! codes.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// A secret value: a password, a token, an API key, a login session id, an emailed code.
///
/// It has no `Display` and no `Serialize`, its `Debug` prints `Secret(** redacted **)`, and its
/// memory is zeroized when it is dropped. The only way to read it is [`Secret::expose`], which
/// makes every place that does so easy to find in review.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps a value. The `String` is moved in, so no unzeroized copy is left behind by this call.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(SecretString::from(value.into()))
    }

    /// Reads the secret. Call it only where the value goes on the wire or into a store.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Whether the secret is the empty string (a configuration mistake worth reporting).
    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(** redacted **)")
    }
}

impl PartialEq for Secret {
    /// Compares in time independent of where the first difference is, so a comparison cannot be
    /// used as a timing oracle.
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.expose().as_bytes(), other.expose().as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl Eq for Secret {}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("canary-7f3a");
        assert_eq!(format!("{s:?}"), "Secret(** redacted **)");
        assert_eq!(
            format!("{:#?}", Some(&s)),
            "Some(\n    Secret(** redacted **),\n)"
        );
        assert_eq!(s.expose(), "canary-7f3a");
    }

    #[test]
    fn equality_compares_values() {
        assert_eq!(Secret::new("a"), Secret::new("a"));
        assert_ne!(Secret::new("a"), Secret::new("ab"));
        assert_ne!(Secret::new("ab"), Secret::new("ac"));
    }
}
