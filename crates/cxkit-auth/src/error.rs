//! Errors raised while obtaining or applying a credential.
//!
//! progenitor's `pre` hook can only fail with `Error::Custom(String)`, so an [`AuthError`] crosses
//! the generated client as a string. [`AuthError::to_hook_message`] and
//! [`AuthError::from_hook_message`] are the two ends of that crossing; they live side by side so
//! the encoding cannot drift.

use std::fmt;

/// What the caller may conclude from an [`AuthError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// The session is gone (expired, revoked, refresh rejected, corrupt store): log in again.
    ReauthRequired,
    /// The server rejected the credentials themselves (wrong password, bad code): fix them.
    InvalidCredentials,
    /// A network or server failure while refreshing; the same call may succeed later.
    Transient,
    /// The client is misconfigured (no credential for a scheme, bad base URL): fix the setup.
    Config,
}

impl AuthErrorKind {
    fn code(self) -> &'static str {
        match self {
            AuthErrorKind::ReauthRequired => "reauth-required",
            AuthErrorKind::InvalidCredentials => "invalid-credentials",
            AuthErrorKind::Transient => "transient",
            AuthErrorKind::Config => "config",
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "reauth-required" => AuthErrorKind::ReauthRequired,
            "invalid-credentials" => AuthErrorKind::InvalidCredentials,
            "transient" => AuthErrorKind::Transient,
            "config" => AuthErrorKind::Config,
            _ => return None,
        })
    }
}

/// A failure to obtain or apply a credential. Its message never contains a secret: every
/// constructor takes text written by cxkit, not text received from a server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthError {
    kind: AuthErrorKind,
    message: String,
}

const HOOK_PREFIX: &str = "cxkit-auth/";

impl AuthError {
    /// Creates an error of the given kind. `message` must not contain secrets.
    pub fn new(kind: AuthErrorKind, message: impl Into<String>) -> Self {
        AuthError {
            kind,
            message: message.into(),
        }
    }

    /// Shorthand for [`AuthErrorKind::ReauthRequired`].
    pub fn reauth(message: impl Into<String>) -> Self {
        Self::new(AuthErrorKind::ReauthRequired, message)
    }

    /// Shorthand for [`AuthErrorKind::Config`].
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(AuthErrorKind::Config, message)
    }

    /// Shorthand for [`AuthErrorKind::Transient`].
    pub fn transient(message: impl Into<String>) -> Self {
        Self::new(AuthErrorKind::Transient, message)
    }

    /// What the caller may conclude.
    pub fn kind(&self) -> AuthErrorKind {
        self.kind
    }

    /// The human-readable explanation, free of secrets.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Encodes the error for progenitor's `Error::Custom(String)`.
    pub fn to_hook_message(&self) -> String {
        format!("{HOOK_PREFIX}{}: {}", self.kind.code(), self.message)
    }

    /// Decodes a string made by [`AuthError::to_hook_message`]; `None` for any other string.
    pub fn from_hook_message(text: &str) -> Option<Self> {
        let rest = text.strip_prefix(HOOK_PREFIX)?;
        let (code, message) = rest.split_once(": ")?;
        Some(AuthError::new(AuthErrorKind::from_code(code)?, message))
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AuthError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_message_round_trips_every_kind() {
        for kind in [
            AuthErrorKind::ReauthRequired,
            AuthErrorKind::InvalidCredentials,
            AuthErrorKind::Transient,
            AuthErrorKind::Config,
        ] {
            let e = AuthError::new(kind, "the session expired: log in again");
            assert_eq!(AuthError::from_hook_message(&e.to_hook_message()), Some(e));
        }
        assert_eq!(AuthError::from_hook_message("something else"), None);
        assert_eq!(AuthError::from_hook_message("cxkit-auth/unknown: x"), None);
    }
}
