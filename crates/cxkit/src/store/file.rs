//! The file token store: one file per session in a directory of the user's own.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::future::BoxFuture;
use zeroize::Zeroizing;

use super::record::{encode, parse};
use super::{StoreError, StoreLock, TokenStore};
use crate::token::TokenSet;

mod private_file;

/// Keeps tokens in one JSON file per session key in a directory.
///
/// Files are created with mode 0600 (never created open and narrowed later), written to a
/// temporary file and renamed over the old one (a crash leaves the old or the new file, never
/// half of one), and refreshes take an OS file lock on a sibling `.lock` file so that processes
/// sharing the directory refresh once; taking the lock waits at most the session's
/// [`acquire_timeout`](crate::RefreshConfig::acquire_timeout). A corrupt or foreign file is
/// [`StoreError::Corrupt`].
///
/// On a shared host the store refuses ([`StoreError::Insecure`], a configuration error that
/// says what to fix) a directory that other users can write, a token file that another user
/// owns, and a token or lock file that is a symbolic link (files are opened with
/// `O_NOFOLLOW`). Temporary files left by a writer that was killed mid-write are removed when
/// the lock is next taken. Logout replaces the token file with a `.logout` marker that every
/// process sharing the directory honours until the next login.
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    dir: PathBuf,
}

/// The longest session key the file store names by its hex encoding: 226 hex digits, plus the
/// longest suffix the store writes (`.json.tmp-{pid}-{u32}`, 28 bytes), stay within a 255-byte
/// file name. Longer keys are named by a hash (see [`FileTokenStore::path_for`]).
const HEX_NAMED_KEY_BYTES: usize = 113;

#[derive(Debug)]
struct FileLock(#[allow(dead_code)] std::fs::File);
impl StoreLock for FileLock {}

impl FileTokenStore {
    /// A store in `dir` (created, mode 0700, on first save).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileTokenStore { dir: dir.into() }
    }

    /// The file that holds `key`. A key of up to 113 bytes is hex-encoded
    /// (any key is then a safe file name, and the files of earlier versions keep their
    /// names); a longer one, whose hex would pass the 255 bytes a file name may have, is named
    /// by a readable start (letters, digits, `-` and `_`; anything else becomes `_`), `~`, and
    /// the SHA-256 of the whole key in hex. `~` never occurs in a hex name, so the two forms
    /// cannot collide.
    pub fn path_for(&self, key: &str) -> PathBuf {
        let name: String = if key.len() <= HEX_NAMED_KEY_BYTES {
            key.bytes().map(|b| format!("{b:02x}")).collect()
        } else {
            use sha2::Digest as _;
            let start: String = key
                .chars()
                .take(64)
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let digest = sha2::Sha256::digest(key.as_bytes());
            let hash: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            format!("{start}~{hash}")
        };
        self.dir.join(format!("{name}.json"))
    }

    /// The marker a logout of `key` leaves.
    fn marker_for(&self, key: &str) -> PathBuf {
        self.path_for(key).with_extension("logout")
    }

    fn io(what: &str, path: &Path, e: std::io::Error) -> StoreError {
        StoreError::Io(format!("{what} {}: {e}", path.display()))
    }

    /// An error opening `path` with `O_NOFOLLOW`: a symbolic link is refused, anything else is
    /// an I/O error.
    fn open_error(what: &str, path: &Path, e: std::io::Error) -> StoreError {
        #[cfg(unix)]
        if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
            return StoreError::Insecure(format!(
                "{} is a symbolic link, which could point the tokens anywhere; remove it (`rm {}`) \
                 and log in again",
                path.display(),
                path.display()
            ));
        }
        Self::io(what, path, e)
    }

    /// Options that never follow a symbolic link in the last path component and create files
    /// with mode 0600.
    fn options() -> std::fs::OpenOptions {
        #[allow(unused_mut)]
        let mut options = std::fs::OpenOptions::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
            // The flag's bits fit an `i32` (they are a C `int`).
            options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
        }
        options
    }

    fn create_dir(&self) -> Result<(), StoreError> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&self.dir)
            .map_err(|e| Self::io("cannot create", &self.dir, e))?;
        self.check_dir().map(drop)
    }

    /// Refuses a directory that users other than its owner can write: they could replace or
    /// remove the token files, or plant links in their place. Returns whether it exists.
    fn check_dir(&self) -> Result<bool, StoreError> {
        let metadata = match std::fs::metadata(&self.dir) {
            Ok(metadata) => metadata,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(Self::io("cannot inspect", &self.dir, e)),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = metadata.permissions().mode() & 0o7777;
            if mode & 0o022 != 0 {
                return Err(StoreError::Insecure(format!(
                    "the token directory {} can be written by other users (mode {mode:o}), who \
                     could replace the token files; run `chmod 700 {}` or choose a directory of \
                     your own",
                    self.dir.display(),
                    self.dir.display()
                )));
            }
        }
        #[cfg(not(unix))]
        let _ = metadata;
        Ok(true)
    }

    /// Refuses a token file that another user owns (they could have written any tokens into
    /// it), or that is not a regular file.
    fn check_file(path: &Path, file: &std::fs::File) -> Result<(), StoreError> {
        let metadata = file
            .metadata()
            .map_err(|e| Self::io("cannot inspect", path, e))?;
        if !metadata.is_file() {
            return Err(StoreError::Insecure(format!(
                "{} is not a regular file; remove it and log in again",
                path.display()
            )));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            let me = rustix::process::geteuid().as_raw();
            if metadata.uid() != me {
                return Err(StoreError::Insecure(format!(
                    "{} is owned by uid {}, not by this process's user (uid {me}); remove it \
                     (`rm {}`) and log in again, or run as the user who owns it",
                    path.display(),
                    metadata.uid(),
                    path.display()
                )));
            }
        }
        Ok(())
    }

    fn load_sync(&self, key: &str) -> Result<Option<TokenSet>, StoreError> {
        use std::io::Read as _;
        if !self.check_dir()? {
            return Ok(None);
        }
        let marker = self.marker_for(key);
        match std::fs::symlink_metadata(&marker) {
            Ok(_) => {
                return Err(StoreError::LoggedOut(format!(
                    "marker {}",
                    marker.display()
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Self::io("cannot inspect", &marker, e)),
        }
        let path = self.path_for(key);
        let mut file = match Self::options().read(true).open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Self::open_error("cannot read", &path, e)),
        };
        Self::check_file(&path, &file)?;
        let mut bytes = Zeroizing::new(Vec::new());
        file.read_to_end(&mut bytes)
            .map_err(|e| Self::io("cannot read", &path, e))?;
        parse(&bytes, key, &path.display()).map(Some)
    }

    /// Writes the tokens of `key`: from a login (which ends a logout), or from a refresh,
    /// which leaves a logout standing ([`StoreError::LoggedOut`], nothing written). The token
    /// cache saves under the store's lock, and a logout takes the same lock, so the marker
    /// cannot appear between the check and the write.
    fn save_sync(&self, key: &str, tokens: &TokenSet, login: bool) -> Result<(), StoreError> {
        use std::io::Write as _;
        self.create_dir()?;
        if !login {
            let marker = self.marker_for(key);
            match std::fs::symlink_metadata(&marker) {
                Ok(_) => {
                    return Err(StoreError::LoggedOut(format!(
                        "marker {}; a refresh does not end a logout",
                        marker.display()
                    )));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Self::io("cannot inspect", &marker, e)),
            }
        }
        let text = encode(key, tokens)?;
        let path = self.path_for(key);
        let tmp = path.with_extension(format!(
            "json.tmp-{}-{}",
            std::process::id(),
            fastrand::u32(..)
        ));
        let mut options = Self::options();
        options.write(true).create_new(true);
        let write = || -> std::io::Result<()> {
            let mut file = options.open(&tmp)?;
            file.write_all(&text)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Self::io("cannot write", &path, e)
        })?;
        if !login {
            return Ok(());
        }
        // A login ends a logout. Removed only after the tokens are in place: a crash in
        // between leaves the session logged out, never a logout undone.
        remove_if_present(&self.marker_for(key))
    }

    fn delete_sync(&self, key: &str) -> Result<(), StoreError> {
        use std::io::Write as _;
        self.create_dir()?;
        // The marker first: a crash before the token file is gone still reads as logged out.
        let marker = self.marker_for(key);
        let mut file = Self::options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&marker)
            .map_err(|e| Self::open_error("cannot write", &marker, e))?;
        // For whoever looks at the directory; readers only test that the marker exists.
        file.write_all(b"logged out; the next login removes this file\n")
            .map_err(|e| Self::io("cannot write", &marker, e))?;
        remove_if_present(&self.path_for(key))
    }

    /// Opens (creating) the lock file of `key`, refusing a symbolic link.
    fn open_lock(&self, key: &str) -> Result<(std::fs::File, PathBuf), StoreError> {
        self.create_dir()?;
        let path = self.path_for(key).with_extension("lock");
        let file = Self::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Self::open_error("cannot open", &path, e))?;
        Ok((file, path))
    }

    /// With the lock of `key` held: removes the temporary files a writer killed between
    /// creating and renaming them left behind. Every writer writes under the lock, so any such
    /// file now is a leftover.
    fn remove_leftovers(&self, key: &str) -> Result<(), StoreError> {
        let prefix = self
            .path_for(key)
            .with_extension("json.tmp-")
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let entries =
            std::fs::read_dir(&self.dir).map_err(|e| Self::io("cannot list", &self.dir, e))?;
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                remove_if_present(&entry.path())?;
            }
        }
        Ok(())
    }

    async fn lock_async(&self, key: &str, wait: Duration) -> Result<FileLock, StoreError> {
        let this = self.clone();
        let owned = key.to_owned();
        let (file, path) = blocking(move || this.open_lock(&owned)).await?;
        // Polled rather than a blocking `lock()`: a blocked thread could not be given up on
        // when the wait is over (or the caller goes away), and would take the lock later.
        let started = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {}
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(Self::io("cannot lock", &path, e));
                }
            }
            let waited = started.elapsed();
            if waited >= wait {
                return Err(StoreError::LockTimeout {
                    lock: path.display().to_string(),
                    waited,
                });
            }
            tokio::time::sleep(pause.min(wait - waited)).await;
            pause = (pause * 2).min(Duration::from_millis(100));
        }
        let (this, key) = (self.clone(), key.to_owned());
        blocking(move || this.remove_leftovers(&key)).await?;
        Ok(FileLock(file))
    }
}

fn remove_if_present(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(FileTokenStore::io("cannot remove", path, e)),
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
        Box::pin(blocking(move || this.save_sync(&key, &tokens, true)))
    }

    fn save_refreshed<'a>(
        &'a self,
        key: &'a str,
        tokens: &'a TokenSet,
        _: &'a dyn StoreLock,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let (this, key, tokens) = (self.clone(), key.to_owned(), tokens.clone());
        Box::pin(blocking(move || this.save_sync(&key, &tokens, false)))
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        let (this, key) = (self.clone(), key.to_owned());
        Box::pin(blocking(move || this.delete_sync(&key)))
    }

    fn lock<'a>(
        &'a self,
        key: &'a str,
        wait: Duration,
    ) -> BoxFuture<'a, Result<Box<dyn StoreLock>, StoreError>> {
        Box::pin(async move {
            let lock = self.lock_async(key, wait).await?;
            Ok(Box::new(lock) as Box<dyn StoreLock>)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::test_tokens as tokens;
    use super::*;

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
        // Logout removes the tokens and leaves a marker, until the next save.
        store.delete("k").await.unwrap();
        store.delete("k").await.unwrap();
        assert!(!store.path_for("k").exists());
        let err = store.load("k").await.unwrap_err();
        assert!(matches!(err, StoreError::LoggedOut(_)), "{err:?}");
        assert!(crate::Error::from(err).is_reauth_required());
        store.save("k", &tokens()).await.unwrap();
        assert_eq!(store.load("k").await.unwrap(), Some(tokens()));
    }

    /// A session key as long as a long base URL, an e-mail and a session name make it: every
    /// operation works (the file names stay under the 255 bytes a file system allows), while a
    /// key short enough to have worked before keeps its hex-encoded file name, so existing token
    /// files are still found.
    #[tokio::test]
    async fn any_key_length_works_and_short_keys_keep_their_file_names() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileTokenStore::new(dir.path());
        assert_eq!(store.path_for("k"), dir.path().join("6b.json"));
        let short = format!("ejento|https://{}|s", "h".repeat(96));
        assert_eq!(short.len(), 113);
        let hex: String = short.bytes().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            store.path_for(&short),
            dir.path().join(format!("{hex}.json"))
        );

        let base = format!(
            "ejento-user-token|https://{}.example.com/tenants/acme/auth|someone.with.a.long.name@example.com|",
            "very-long-subdomain-name".repeat(4)
        );
        for key in [
            format!("{base}nightly-report-session"),
            format!("{base}nightly-report-session-2"),
            format!("{short}x"),
            "x".repeat(4000),
        ] {
            let name = store.path_for(&key);
            let name = name.file_name().unwrap().to_string_lossy().into_owned();
            assert!(name.len() <= 160, "{name}");
            let lock = store.lock(&key, Duration::from_secs(1)).await.unwrap();
            store.save_locked(&key, &tokens(), &*lock).await.unwrap();
            assert_eq!(store.load(&key).await.unwrap(), Some(tokens()), "{key}");
            store.delete_locked(&key, &*lock).await.unwrap();
            assert!(matches!(
                store.load(&key).await,
                Err(StoreError::LoggedOut(_))
            ));
            store.save(&key, &tokens()).await.unwrap();
        }
        // Long keys that differ only at their end are different files, with a readable start.
        let a = store.path_for(&format!("{base}nightly-report-session"));
        let b = store.path_for(&format!("{base}nightly-report-session-2"));
        assert_ne!(a, b);
        assert!(
            a.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("ejento-user-token"),
            "{a:?}"
        );
        assert!(
            store
                .load(&format!("{base}nightly-report-session"))
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn identities_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileTokenStore::new(dir.path());
        store
            .save("k", &tokens().with_identity("alice@example.com"))
            .await
            .unwrap();
        let loaded = store.load("k").await.unwrap().unwrap();
        assert_eq!(loaded.identity(), Some("alice@example.com"));
        let text = std::fs::read_to_string(store.path_for("k")).unwrap();
        assert!(text.contains(r#""identity":"alice@example.com""#), "{text}");
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

    /// What `cxkit-tokens/1` files written before identities and logout markers look like
    /// (byte for byte what that version wrote); they must keep loading.
    const TODAYS_FILE: &str = r#"{"format":"cxkit-tokens/1","key":"k","obtained_at":1700000000.0,"expires_at":1700003600.0,"tokens":{"a":"canary-a","b":"canary-b"}}"#;

    #[test]
    fn a_file_in_the_format_without_identity_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileTokenStore::new(dir.path());
        std::fs::write(store.path_for("k"), TODAYS_FILE).unwrap();
        assert_eq!(store.load_sync("k").unwrap(), Some(tokens()));
    }

    /// Numbers that parse as JSON but are no time (too large for a `Duration`, negative, or
    /// beyond what `SystemTime` holds).
    #[test]
    fn out_of_range_times_mean_log_in_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileTokenStore::new(dir.path());
        for time in ["1e300", "-1", "1.8e19", "18446744073709551615"] {
            let text = TODAYS_FILE.replace("1700003600.0", time);
            std::fs::write(store.path_for("k"), text).unwrap();
            let err = store.load_sync("k").unwrap_err();
            assert!(matches!(err, StoreError::Corrupt(_)), "{time}: {err:?}");
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        /// Loads `bytes` as the file of key `k`: it must be tokens or `Corrupt`, never a panic
        /// or another error.
        fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
            let dir = tempfile::tempdir().unwrap();
            let store = FileTokenStore::new(dir.path());
            std::fs::write(store.path_for("k"), bytes).unwrap();
            match store.load_sync("k") {
                Ok(Some(_)) => Ok(()),
                Err(e @ StoreError::Corrupt(_)) => {
                    prop_assert!(crate::Error::from(e).is_reauth_required());
                    Ok(())
                }
                other => Err(TestCaseError::fail(format!("{other:?}"))),
            }
        }

        /// A file of the right shape with arbitrary values in each field.
        fn shaped_file() -> impl Strategy<Value = String> {
            let number = prop_oneof![
                any::<f64>().prop_map(|f| serde_json::to_string(&f).unwrap()),
                any::<u64>().prop_map(|n| n.to_string()),
                any::<i64>().prop_map(|n| n.to_string()),
                Just("1e400".to_owned()),
                Just("\"1700000000\"".to_owned()),
                Just("null".to_owned()),
            ];
            (
                prop_oneof![Just("cxkit-tokens/1".to_owned()), ".{0,20}"],
                prop_oneof![Just("k".to_owned()), ".{0,8}"],
                number.clone(),
                number,
                proptest::collection::hash_map(".{0,8}", ".{0,16}", 0..4),
                proptest::option::of(".{0,16}"),
            )
                .prop_map(|(format, key, obtained, expires, tokens, identity)| {
                    let mut value = serde_json::json!({
                        "format": format,
                        "key": key,
                        "tokens": tokens,
                    });
                    if let Some(identity) = identity {
                        value["identity"] = identity.into();
                    }
                    let text = value.to_string();
                    // Splice the numbers in as raw text, so that out-of-range literals reach
                    // the parser too.
                    format!(
                        "{},\"obtained_at\":{obtained},\"expires_at\":{expires}}}",
                        &text[..text.len() - 1]
                    )
                })
        }

        proptest! {
            // CI-sized: each case writes and reads one small file.
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
                check(&bytes)?;
            }

            #[test]
            fn arbitrary_field_values_never_panic(text in shaped_file()) {
                check(text.as_bytes())?;
            }

            #[test]
            fn a_truncated_or_flipped_valid_file_never_panics(cut in 0..TODAYS_FILE.len(), flip in any::<(usize, u8)>()) {
                let mut bytes = TODAYS_FILE.as_bytes()[..cut].to_vec();
                if !bytes.is_empty() {
                    let at = flip.0 % bytes.len();
                    bytes[at] ^= flip.1;
                }
                check(&bytes)?;
            }
        }
    }
}
