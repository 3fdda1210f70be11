//! Credential kinds: where a secret comes from, and under which scheme it is sent.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;

use crate::{AuthError, Secret};

/// A source of one secret: a fixed value, or a token that expires and is refreshed.
///
/// The facade's token cache implements this for refreshable bearer tokens; fixed values (Proto's
/// personal access token, an API key, a Platform28 LSID) use [`Credential::fixed`].
pub trait TokenSource: Send + Sync + fmt::Debug + 'static {
    /// The secret to send now. A refreshable source refreshes here when the token is due.
    fn token(&self) -> BoxFuture<'_, Result<Secret, AuthError>>;

    /// The secret, when it is at hand without waiting (a fixed value, a cached token that is
    /// not due): the hooks try this first and spare the common call a boxed future. `None`, the
    /// default, sends them to [`TokenSource::token`], which must then give the same answer a
    /// `Some` would have.
    fn token_now(&self) -> Option<Secret> {
        None
    }

    /// The server answered 401 to a request that carried `rejected`. A refreshable source
    /// invalidates that token (unless it has already been replaced) and refreshes once; it
    /// returns `true` when a different token is now available, so one replay is worthwhile.
    fn rejected<'a>(&'a self, rejected: &'a Secret) -> BoxFuture<'a, bool> {
        let _ = rejected;
        Box::pin(async { false })
    }
}

#[derive(Debug)]
struct Fixed(Secret);

impl TokenSource for Fixed {
    fn token(&self) -> BoxFuture<'_, Result<Secret, AuthError>> {
        let token = self.0.clone();
        Box::pin(async move { Ok(token) })
    }

    fn token_now(&self) -> Option<Secret> {
        Some(self.0.clone())
    }
}

/// A secret source bound to one security scheme, optionally under another parameter name than
/// the spec's (Platform28's LSID and API key names are not public, so they are configurable).
#[derive(Clone, Debug)]
pub struct Credential {
    pub(crate) source: Arc<dyn TokenSource>,
    pub(crate) name: Option<Cow<'static, str>>,
    pub(crate) static_key: bool,
    /// The header value last built from the source's secret (shared by clones).
    pub(crate) header: Arc<crate::placement::HeaderCache>,
}

impl Credential {
    /// A secret that never changes.
    pub fn fixed(secret: Secret) -> Self {
        Credential::from_source(Arc::new(Fixed(secret)))
    }

    /// A key issued once and never renewed by logging in (a personal access token, an API
    /// key). A 401 to a request that carried only such keys means the key itself is wrong, not
    /// that a session ended: the hooks end such a call with
    /// [`crate::hooks::StaticCredentialRejected`] in its error's source chain, and the facade
    /// reports bad credentials.
    pub fn static_key(secret: Secret) -> Self {
        Credential {
            static_key: true,
            ..Credential::fixed(secret)
        }
    }

    /// A secret from a source, e.g. a refreshable token.
    pub fn from_source(source: Arc<dyn TokenSource>) -> Self {
        Credential {
            source,
            name: None,
            static_key: false,
            header: Arc::default(),
        }
    }

    /// Whether this is a [`Credential::static_key`].
    pub fn is_static_key(&self) -> bool {
        self.static_key
    }

    /// Sends the secret under `name` instead of the header or parameter name in the spec.
    pub fn named(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The source behind this credential.
    pub fn source(&self) -> &Arc<dyn TokenSource> {
        &self.source
    }
}
