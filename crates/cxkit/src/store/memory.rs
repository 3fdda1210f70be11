//! The in-memory token store.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;

use super::{StoreError, StoreLock, TokenStore, session_label};
use crate::token::TokenSet;

/// Keeps tokens in memory only: nothing survives a restart. Sessions that share one (through
/// [`crate::ConfigBuilder::shared_store`]) see each other's logins, refreshes and logouts.
/// Its `Debug` shows how many sessions it holds, not their keys.
#[derive(Default)]
pub struct MemoryTokenStore {
    /// `None` is a logout marker.
    tokens: Mutex<HashMap<String, Option<TokenSet>>>,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl fmt::Debug for MemoryTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryTokenStore")
            .field("sessions", &self.tokens().len())
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct MemoryLock(#[allow(dead_code)] tokio::sync::OwnedMutexGuard<()>);
impl StoreLock for MemoryLock {}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn tokens(&self) -> std::sync::MutexGuard<'_, HashMap<String, Option<TokenSet>>> {
        self.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl TokenStore for MemoryTokenStore {
    fn load<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<TokenSet>, StoreError>> {
        let found = match self.tokens().get(key) {
            None => Ok(None),
            Some(Some(tokens)) => Ok(Some(tokens.clone())),
            Some(None) => Err(StoreError::LoggedOut(format!(
                "session `{}` in the memory store",
                session_label(key)
            ))),
        };
        Box::pin(async move { found })
    }

    fn save<'a>(
        &'a self,
        key: &'a str,
        tokens: &'a TokenSet,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.tokens().insert(key.to_owned(), Some(tokens.clone()));
        Box::pin(async { Ok(()) })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        self.tokens().insert(key.to_owned(), None);
        Box::pin(async { Ok(()) })
    }

    fn save_refreshed<'a>(
        &'a self,
        key: &'a str,
        tokens: &'a TokenSet,
        _: &'a dyn StoreLock,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let mut all = self.tokens();
        let outcome = match all.get(key) {
            Some(None) => Err(StoreError::LoggedOut(format!(
                "session `{}` in the memory store",
                session_label(key)
            ))),
            _ => {
                all.insert(key.to_owned(), Some(tokens.clone()));
                Ok(())
            }
        };
        Box::pin(async move { outcome })
    }

    fn lock<'a>(
        &'a self,
        key: &'a str,
        wait: Duration,
    ) -> BoxFuture<'a, Result<Box<dyn StoreLock>, StoreError>> {
        let mutex = self
            .locks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.to_owned())
            .or_default()
            .clone();
        Box::pin(async move {
            match tokio::time::timeout(wait, mutex.lock_owned()).await {
                Ok(guard) => Ok(Box::new(MemoryLock(guard)) as Box<dyn StoreLock>),
                Err(_) => Err(StoreError::LockTimeout {
                    lock: format!("of session `{}` in the memory store", session_label(key)),
                    waited: wait,
                }),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_tokens as tokens;
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_memory_store_keeps_logouts_and_bounds_its_lock() {
        let store = MemoryTokenStore::new();
        store.save("k", &tokens()).await.unwrap();
        store.delete("k").await.unwrap();
        assert!(matches!(
            store.load("k").await,
            Err(StoreError::LoggedOut(_))
        ));
        store.save("k", &tokens()).await.unwrap();
        assert_eq!(store.load("k").await.unwrap(), Some(tokens()));

        let held = store.lock("k", Duration::from_secs(1)).await.unwrap();
        let err = store.lock("k", Duration::from_secs(5)).await.unwrap_err();
        assert!(
            matches!(err, StoreError::LockTimeout { waited, .. } if waited == Duration::from_secs(5)),
            "{err:?}"
        );
        // Another key is not held.
        store.lock("other", Duration::ZERO).await.unwrap();
        drop(held);
        store.lock("k", Duration::ZERO).await.unwrap();
    }
}
