//! Where tokens live between runs: a trait, an in-memory store and a file store.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cxkit_auth::Secret;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::token::TokenSet;

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
}

impl From<StoreError> for crate::Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Corrupt(_) => crate::Error::reauth(e.to_string()),
            StoreError::Io(_) => crate::Error::config(e.to_string()),
        }
    }
}

/// Held while a session refreshes, so that two processes sharing a store refresh once: the
/// second takes the lock after the first, re-reads the store, and finds fresh tokens.
pub trait StoreLock: Send + fmt::Debug {}

/// Persists token sets by session key.
pub trait TokenStore: Send + Sync + fmt::Debug + 'static {
    /// The tokens stored under `key`, if any.
    fn load<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<TokenSet>, StoreError>>;
    /// Stores `tokens` under `key`, replacing what was there.
    fn save<'a>(
        &'a self,
        key: &'a str,
        tokens: &'a TokenSet,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Forgets `key` (logout).
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Takes the lock for `key`; dropping the guard releases it.
    fn lock<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Box<dyn StoreLock>, StoreError>>;
}

/// Keeps tokens in memory only: nothing survives a restart.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    tokens: Mutex<HashMap<String, TokenSet>>,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

#[derive(Debug)]
struct MemoryLock(#[allow(dead_code)] tokio::sync::OwnedMutexGuard<()>);
impl StoreLock for MemoryLock {}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl TokenStore for MemoryTokenStore {
    fn load<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<TokenSet>, StoreError>> {
        let found = self
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned();
        Box::pin(async move { Ok(found) })
    }

    fn save<'a>(
        &'a self,
        key: &'a str,
        tokens: &'a TokenSet,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_owned(), tokens.clone());
        Box::pin(async { Ok(()) })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
        Box::pin(async { Ok(()) })
    }

    fn lock<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Box<dyn StoreLock>, StoreError>> {
        let mutex = self
            .locks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.to_owned())
            .or_default()
            .clone();
        Box::pin(
            async move { Ok(Box::new(MemoryLock(mutex.lock_owned().await)) as Box<dyn StoreLock>) },
        )
    }
}

/// Keeps tokens in one JSON file per session key in a directory.
///
/// Files are created with mode 0600 (never created open and narrowed later), written to a
/// temporary file and renamed over the old one (a crash leaves the old or the new file, never
/// half of one), and refreshes take an OS file lock on a sibling `.lock` file so that processes
/// sharing the directory refresh once. A corrupt or foreign file is [`StoreError::Corrupt`].
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    dir: PathBuf,
}

const FORMAT: &str = "cxkit-tokens/1";

#[derive(Serialize, Deserialize)]
struct OnDisk {
    format: String,
    key: String,
    obtained_at: f64,
    expires_at: f64,
    tokens: HashMap<String, String>,
}

#[derive(Debug)]
struct FileLock(#[allow(dead_code)] std::fs::File);
impl StoreLock for FileLock {}

impl FileTokenStore {
    /// A store in `dir` (created, mode 0700, on first save).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileTokenStore { dir: dir.into() }
    }

    /// The file that holds `key`. Keys are hex-encoded so any key is a safe file name.
    pub fn path_for(&self, key: &str) -> PathBuf {
        let name: String = key.bytes().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{name}.json"))
    }

    fn io(what: &str, path: &Path, e: std::io::Error) -> StoreError {
        StoreError::Io(format!("{what} {}: {e}", path.display()))
    }

    fn create_dir(&self) -> Result<(), StoreError> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&self.dir)
            .map_err(|e| Self::io("cannot create", &self.dir, e))
    }

    fn load_sync(&self, key: &str) -> Result<Option<TokenSet>, StoreError> {
        let path = self.path_for(key);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => Zeroizing::new(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Self::io("cannot read", &path, e)),
        };
        let disk: OnDisk = serde_json::from_slice(&bytes).map_err(|e| {
            StoreError::Corrupt(format!(
                "{} is not a cxkit token file ({})",
                path.display(),
                e.classify_name()
            ))
        })?;
        if disk.format != FORMAT || disk.key != key {
            return Err(StoreError::Corrupt(format!(
                "{} belongs to another format or session",
                path.display()
            )));
        }
        let at = |secs: f64| {
            (secs.is_finite() && secs >= 0.0)
                .then(|| UNIX_EPOCH + Duration::from_secs_f64(secs))
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("{} has an invalid time", path.display()))
                })
        };
        Ok(Some(TokenSet::new(
            disk.tokens.into_iter().map(|(k, v)| (k, Secret::new(v))),
            at(disk.obtained_at)?,
            at(disk.expires_at)?,
        )))
    }

    fn save_sync(&self, key: &str, tokens: &TokenSet) -> Result<(), StoreError> {
        use std::io::Write as _;
        self.create_dir()?;
        let secs = |t: SystemTime| {
            t.duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs_f64()
        };
        let disk = OnDisk {
            format: FORMAT.to_owned(),
            key: key.to_owned(),
            obtained_at: secs(tokens.obtained_at()),
            expires_at: secs(tokens.expires_at()),
            tokens: tokens
                .iter()
                .map(|(k, v)| (k.to_owned(), v.expose().to_owned()))
                .collect(),
        };
        let text =
            Zeroizing::new(serde_json::to_vec(&disk).map_err(|e| {
                StoreError::Io(format!("cannot encode tokens: {}", e.classify_name()))
            })?);
        drop(disk);
        let path = self.path_for(key);
        let tmp = path.with_extension(format!(
            "json.tmp-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let write = || -> std::io::Result<()> {
            let mut file = options.open(&tmp)?;
            file.write_all(&text)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Self::io("cannot write", &path, e)
        })
    }

    fn lock_sync(&self, key: &str) -> Result<FileLock, StoreError> {
        self.create_dir()?;
        let path = self.path_for(key).with_extension("lock");
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options
            .open(&path)
            .map_err(|e| Self::io("cannot open", &path, e))?;
        file.lock().map_err(|e| Self::io("cannot lock", &path, e))?;
        Ok(FileLock(file))
    }
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "I/O error",
            serde_json::error::Category::Syntax => "malformed JSON",
            serde_json::error::Category::Data => "unexpected fields",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Io(format!("the store task failed: {e}")))?
}

impl TokenStore for FileTokenStore {
    fn load<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<TokenSet>, StoreError>> {
        let (this, key) = (self.clone(), key.to_owned());
        Box::pin(blocking(move || this.load_sync(&key)))
    }

    fn save<'a>(
        &'a self,
        key: &'a str,
        tokens: &'a TokenSet,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let (this, key, tokens) = (self.clone(), key.to_owned(), tokens.clone());
        Box::pin(blocking(move || this.save_sync(&key, &tokens)))
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        let path = self.path_for(key);
        Box::pin(blocking(move || match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Self::io("cannot delete", &path, e)),
        }))
    }

    fn lock<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Box<dyn StoreLock>, StoreError>> {
        let (this, key) = (self.clone(), key.to_owned());
        Box::pin(async move {
            let lock = blocking(move || this.lock_sync(&key)).await?;
            Ok(Box::new(lock) as Box<dyn StoreLock>)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> TokenSet {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        TokenSet::new(
            [
                ("a".to_owned(), Secret::new("canary-a")),
                ("b".to_owned(), Secret::new("canary-b")),
            ],
            t0,
            t0 + Duration::from_secs(3600),
        )
    }

    #[tokio::test]
    async fn file_store_round_trips_with_owner_only_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileTokenStore::new(dir.path().join("tokens"));
        assert!(store.load("k").await.unwrap().is_none());
        store.save("k", &tokens()).await.unwrap();
        assert_eq!(store.load("k").await.unwrap(), Some(tokens()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(store.path_for("k"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            let mode = std::fs::metadata(dir.path().join("tokens"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("tokens"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        store.delete("k").await.unwrap();
        store.delete("k").await.unwrap();
        assert!(store.load("k").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn corrupt_foreign_and_misfiled_files_mean_log_in_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileTokenStore::new(dir.path());
        for content in [
            &b"{\"format\":"[..],
            b"\x00\x01binary",
            br#"{"some":"other program"}"#,
            b"",
        ] {
            std::fs::write(store.path_for("k"), content).unwrap();
            let err = store.load("k").await.unwrap_err();
            assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
            assert!(crate::Error::from(err).is_reauth_required());
        }
        // A file saved for another key, copied over this one.
        store.save("other", &tokens()).await.unwrap();
        std::fs::copy(store.path_for("other"), store.path_for("k")).unwrap();
        assert!(matches!(store.load("k").await, Err(StoreError::Corrupt(_))));
    }

    #[tokio::test]
    async fn errors_never_contain_token_values() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileTokenStore::new(dir.path());
        store.save("k", &tokens()).await.unwrap();
        let mut text = std::fs::read_to_string(store.path_for("k")).unwrap();
        text.truncate(text.len() - 3);
        std::fs::write(store.path_for("k"), text).unwrap();
        let err = store.load("k").await.unwrap_err();
        assert!(!format!("{err} {err:?}").contains("canary"));
    }
}
