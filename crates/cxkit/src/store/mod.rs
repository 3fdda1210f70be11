//! Where tokens live between runs: the [`TokenStore`] trait and what every store shares (its
//! errors, its lock, how logs name a session).
//!
//! One store per file: `memory` keeps tokens in memory, `file` in a directory of files (feature
//! `file-store`), `redis` in Redis (feature `redis`) with its at-rest encryption in `cipher`;
//! `record` is the `cxkit-tokens/1` record that the file and Redis stores write.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use crate::token::TokenSet;

#[cfg(feature = "redis")]
mod cipher;
#[cfg(feature = "file-store")]
mod file;
mod memory;
#[cfg(any(feature = "file-store", feature = "redis"))]
mod record;
#[cfg(feature = "redis")]
pub mod redis;

#[cfg(feature = "file-store")]
pub use file::FileTokenStore;
pub use memory::MemoryTokenStore;

/// A store failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The stored tokens cannot be read (corrupt, truncated, another program's file, another
    /// session's key): the user must log in again. Never a panic.
    #[error("the stored tokens are unreadable ({0}); log in again")]
    Corrupt(String),
    /// The store itself failed (permissions, disk full).
    #[error("the token store failed: {0}")]
    Io(String),
    /// The session was logged out (by this process or another sharing the store), and nobody
    /// has logged in since: the user must log in again.
    #[error("the session was logged out ({0}); log in again")]
    LoggedOut(String),
    /// The store is set up so that another user could read or replace the tokens (a directory
    /// others can write, a file another user owns, a symbolic link): fix what the text says.
    #[error("the token store is not safe to use: {0}")]
    Insecure(String),
    /// Another holder kept the session's lock longer than the caller would wait.
    #[error(
        "gave up after {waited:?} waiting for the token store lock {lock}, which another process \
         holds; retry later, or find and stop the process that holds it (for a lock file: `fuser` \
         or `lsof` on it)"
    )]
    LockTimeout {
        /// The lock: for a file store, the lock file's path.
        lock: String,
        /// How long the caller waited.
        waited: Duration,
    },
    /// The store cannot be reached now (a networked store that is down, restarting or too
    /// slow to answer within its timeout). Tokens held in memory stay usable meanwhile; the
    /// store reconnects by itself.
    #[error(
        "the token store is unavailable: {0}; tokens held in memory stay in use and the store \
         reconnects by itself, so retry later"
    )]
    Unavailable(String),
    /// A write by a lock holder whose lease had lapsed and been granted to another holder since
    /// (a process that stalled past its lease): refused, so that it cannot replace the newer
    /// tokens the other holder wrote. Re-read the store.
    #[error("the token store refused a stale write: {0}")]
    Fenced(String),
}

impl From<StoreError> for crate::Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Corrupt(_) | StoreError::LoggedOut(_) => {
                crate::Error::reauth(e.to_string())
            }
            StoreError::Io(_) | StoreError::Insecure(_) => crate::Error::config(e.to_string()),
            StoreError::LockTimeout { .. } | StoreError::Unavailable(_) | StoreError::Fenced(_) => {
                crate::Error::Transient {
                    message: e.to_string(),
                    status: None,
                }
            }
        }
    }
}

/// Held while a session refreshes, so that two processes sharing a store refresh once: the
/// second takes the lock after the first, re-reads the store, and finds fresh tokens.
pub trait StoreLock: Send + Sync + fmt::Debug {
    /// The fencing token of a lock that is a lease (it can lapse while its holder stalls, and
    /// be granted to another holder), for [`TokenStore::save_locked`] to check; `None` for a
    /// lock that lasts as long as its guard (the memory and file stores').
    fn fence(&self) -> Option<&str> {
        None
    }
}

/// Persists token sets by session key, shared by every process (or host) that uses the same
/// store.
///
/// The session's token cache calls [`save`](TokenStore::save) and
/// [`delete`](TokenStore::delete), and the [`load`](TokenStore::load) that decides whether to
/// refresh, only while it holds [`lock`](TokenStore::lock) for the key; an implementation may
/// rely on that (the file store removes a killed writer's leftovers when it takes the lock).
///
/// A [`TokenSet`] may name whose session it is ([`TokenSet::identity`]); a store keeps that
/// name with the tokens, so that a session never adopts another user's tokens from a shared
/// entry.
pub trait TokenStore: Send + Sync + fmt::Debug + 'static {
    /// The tokens stored under `key`, if any. After a [`delete`](TokenStore::delete) (logout),
    /// and until the next [`save`](TokenStore::save), [`StoreError::LoggedOut`].
    fn load<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<TokenSet>, StoreError>>;
    /// Stores `tokens` under `key`, replacing what was there (a login or a refresh); this also
    /// ends a logout of `key`.
    fn save<'a>(
        &'a self,
        key: &'a str,
        tokens: &'a TokenSet,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Logs `key` out: forgets its tokens and leaves a marker, so that every process sharing
    /// the store learns of the logout from [`load`](TokenStore::load) (instead of refreshing
    /// the tokens it still holds back to life) until someone logs in again.
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Takes the lock for `key`, waiting at most `wait` for another holder to let go (then
    /// [`StoreError::LockTimeout`], naming the lock); dropping the guard releases it. Dropping
    /// the returned future must stop waiting and leave the lock free.
    fn lock<'a>(
        &'a self,
        key: &'a str,
        wait: Duration,
    ) -> BoxFuture<'a, Result<Box<dyn StoreLock>, StoreError>>;

    /// [`save`](TokenStore::save) by the holder of `lock` (taken with
    /// [`lock`](TokenStore::lock) for `key`), which is how the token cache saves. A store whose
    /// lock is a lease refuses the write ([`StoreError::Fenced`]) when the lease has been
    /// granted to another holder since; the default, for locks that cannot lapse, saves.
    fn save_locked<'a>(
        &'a self,
        key: &'a str,
        tokens: &'a TokenSet,
        lock: &'a dyn StoreLock,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let _ = lock;
        self.save(key, tokens)
    }

    /// [`delete`](TokenStore::delete) by the holder of `lock`, fenced like
    /// [`save_locked`](TokenStore::save_locked).
    fn delete_locked<'a>(
        &'a self,
        key: &'a str,
        lock: &'a dyn StoreLock,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let _ = lock;
        self.delete(key)
    }

    /// Stores tokens a *refresh* produced, as the holder of `lock`: like
    /// [`save_locked`](TokenStore::save_locked) (fenced the same way), except that it never
    /// ends a logout. While `key` is logged out it writes nothing and answers
    /// [`StoreError::LoggedOut`]; checking the marker and writing are one step (compare and
    /// set), so a logout made by any process sharing the store is undone only by a login
    /// ([`save`](TokenStore::save) / [`save_locked`](TokenStore::save_locked)).
    ///
    /// The default reads the store first and saves only if it is not logged out, which is a
    /// compare-and-set for a store whose every write is made under its lock (as the token
    /// cache's are); a read that fails is returned as is, and nothing is written.
    fn save_refreshed<'a>(
        &'a self,
        key: &'a str,
        tokens: &'a TokenSet,
        lock: &'a dyn StoreLock,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            match self.load(key).await {
                Ok(_) | Err(StoreError::Corrupt(_)) => self.save_locked(key, tokens, lock).await,
                Err(e) => Err(e),
            }
        })
    }
}

/// A shared store (`Arc<dyn TokenStore>`, or any `Arc` of a store) is a store: every call goes
/// to the one behind it.
impl<T: TokenStore + ?Sized> TokenStore for Arc<T> {
    fn load<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<TokenSet>, StoreError>> {
        (**self).load(key)
    }
    fn save<'a>(
        &'a self,
        key: &'a str,
        tokens: &'a TokenSet,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).save(key, tokens)
    }
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).delete(key)
    }
    fn lock<'a>(
        &'a self,
        key: &'a str,
        wait: Duration,
    ) -> BoxFuture<'a, Result<Box<dyn StoreLock>, StoreError>> {
        (**self).lock(key, wait)
    }
    fn save_locked<'a>(
        &'a self,
        key: &'a str,
        tokens: &'a TokenSet,
        lock: &'a dyn StoreLock,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).save_locked(key, tokens, lock)
    }
    fn delete_locked<'a>(
        &'a self,
        key: &'a str,
        lock: &'a dyn StoreLock,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).delete_locked(key, lock)
    }
    fn save_refreshed<'a>(
        &'a self,
        key: &'a str,
        tokens: &'a TokenSet,
        lock: &'a dyn StoreLock,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).save_refreshed(key, tokens, lock)
    }
}

/// How logs, errors and `Debug` name a session: `{system}:{hash}:{session}`, the first and last
/// `|`-separated parts of the key (the system and the session name, which the application
/// chose) around the first 16 bytes of the key's SHA-256 in hex. The base URLs and, for a
/// minted user token, the user's e-mail between them stay out of every log line; the Redis
/// store's key names use the same form.
///
/// Without the `file-store` and `redis` features (a lean build, whose sessions live in memory),
/// the hash is std's 64-bit `DefaultHasher` instead, which keeps the key out of logs as well.
pub(crate) fn session_label(key: &str) -> String {
    let mut parts = key.split('|');
    let system = parts.next().unwrap_or_default();
    let session = parts.next_back().unwrap_or_default();
    #[cfg(any(feature = "file-store", feature = "redis"))]
    let hash: String = {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(key.as_bytes());
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    };
    #[cfg(not(any(feature = "file-store", feature = "redis")))]
    let hash = {
        use std::hash::{Hash as _, Hasher as _};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut hasher);
        format!("{:016x}", hasher.finish())
    };
    format!("{system}:{hash}:{session}")
}

/// A token set for the stores' tests: two values that must never show in any output.
#[cfg(test)]
fn test_tokens() -> TokenSet {
    use cxkit_auth::Secret;
    let t0 = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    TokenSet::new(
        [
            ("a".to_owned(), Secret::new("canary-a")),
            ("b".to_owned(), Secret::new("canary-b")),
        ],
        t0,
        t0 + Duration::from_secs(3600),
    )
}

#[cfg(test)]
mod tests {
    use super::test_tokens as tokens;
    use super::*;

    /// A refresh's save is refused while the session is logged out, and leaves the logout in
    /// place; a login's save ends it. (The Redis store's script is tested against a real
    /// server in the `redis_store` suite.)
    #[tokio::test]
    async fn a_refreshs_save_never_ends_a_logout() {
        let dir = tempfile::tempdir().unwrap();
        let stores: Vec<Box<dyn TokenStore>> = vec![
            Box::new(MemoryTokenStore::new()),
            #[cfg(feature = "file-store")]
            Box::new(FileTokenStore::new(dir.path())),
        ];
        let _ = &dir;
        for store in stores {
            let lock = store.lock("k", Duration::from_secs(1)).await.unwrap();
            // Not logged out: a refresh saves.
            store.save_refreshed("k", &tokens(), &*lock).await.unwrap();
            assert_eq!(store.load("k").await.unwrap(), Some(tokens()));
            store.delete_locked("k", &*lock).await.unwrap();
            let err = store
                .save_refreshed("k", &tokens(), &*lock)
                .await
                .unwrap_err();
            assert!(
                matches!(err, StoreError::LoggedOut(_)),
                "{store:?}: {err:?}"
            );
            assert!(matches!(
                store.load("k").await,
                Err(StoreError::LoggedOut(_))
            ));
            store.save_locked("k", &tokens(), &*lock).await.unwrap();
            assert_eq!(store.load("k").await.unwrap(), Some(tokens()));
        }
    }

    #[test]
    fn session_labels_hide_urls_and_emails() {
        let label = session_label("ejento-user-token|https://h.example|alice@example.com|s1");
        assert!(
            label.starts_with("ejento-user-token:") && label.ends_with(":s1"),
            "{label}"
        );
        assert!(
            !label.contains("alice") && !label.contains("h.example"),
            "{label}"
        );
        assert_ne!(
            session_label("ejento|https://a|s"),
            session_label("ejento|https://b|s")
        );
    }
}
