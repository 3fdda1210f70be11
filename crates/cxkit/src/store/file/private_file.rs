//! Small files of an application's own (the command line's `config.json`) kept with the
//! guarantees of the token files: in the store's directory (created 0700, refused when others
//! can write it), opened without following a symbolic link, refused when another user owns
//! them or they are not regular files, and replaced whole through a temporary file of a unique
//! name created with `O_EXCL`, then renamed. Take the store's lock of the file's name
//! ([`TokenStore::lock`](crate::TokenStore::lock)) around a read-change-write, so that processes sharing the directory
//! do not lose each other's changes.

use std::io::{Read as _, Write as _};
use std::path::PathBuf;

use super::{FileTokenStore, StoreError, remove_if_present};

impl FileTokenStore {
    /// The path of `name` in the store's directory; a name that is not one plain file name
    /// (empty, `.`, `..`, a separator, a leading dot) is refused.
    fn private_path(&self, name: &str) -> Result<PathBuf, StoreError> {
        if name.is_empty()
            || name.starts_with('.')
            || name.contains(['/', '\\'])
            || name.ends_with(".lock")
        {
            return Err(StoreError::Io(format!(
                "`{name}` is not a plain file name for the store's directory"
            )));
        }
        Ok(self.dir.join(name))
    }

    /// Reads the file `name` of the store's directory (`None` when it does not exist), with
    /// the token files' checks: the directory must not be writable by other users, and the
    /// file must be a regular file this process's user owns, not a symbolic link
    /// ([`StoreError::Insecure`] otherwise, saying what to fix).
    pub fn read_file(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.private_path(name)?;
        if !self.check_dir()? {
            return Ok(None);
        }
        let mut file = match Self::options().read(true).open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Self::open_error("cannot read", &path, e)),
        };
        Self::check_file(&path, &file)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| Self::io("cannot read", &path, e))?;
        Ok(Some(bytes))
    }

    /// Replaces the file `name` of the store's directory with `bytes` (mode 0600): written
    /// whole to a temporary file of a name no other writer uses, created with `O_EXCL` and
    /// `O_NOFOLLOW` (a planted file or link there is never written through), synced, then
    /// renamed over `name`, so readers see the old file or the new one. Temporary files of
    /// `name` that a killed writer left are removed first; call it holding the store's lock of
    /// `name` ([`TokenStore::lock`](crate::TokenStore::lock)), as every writer of the file should.
    pub fn write_file(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.private_path(name)?;
        self.create_dir()?;
        let prefix = format!(".{name}.tmp-");
        let entries =
            std::fs::read_dir(&self.dir).map_err(|e| Self::io("cannot list", &self.dir, e))?;
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                remove_if_present(&entry.path())?;
            }
        }
        let tmp = self.dir.join(format!(
            "{prefix}{}-{}",
            std::process::id(),
            fastrand::u32(..)
        ));
        let mut options = Self::options();
        options.write(true).create_new(true);
        let write = || -> std::io::Result<()> {
            let mut file = options.open(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Self::open_error("cannot write", &path, e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_round_trip_and_links_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileTokenStore::new(dir.path().join("cfg"));
        assert_eq!(store.read_file("config.json").unwrap(), None);
        store.write_file("config.json", b"{}").unwrap();
        assert_eq!(
            store.read_file("config.json").unwrap().as_deref(),
            Some(&b"{}"[..])
        );
        for bad in ["", ".x", "../x", "a/b", "x.lock"] {
            assert!(store.write_file(bad, b"").is_err(), "{bad}");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let path = dir.path().join("cfg/config.json");
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
            // A leftover temporary file that is a link to a victim is removed, never written
            // through.
            let victim = dir.path().join("victim");
            std::fs::write(&victim, b"keep").unwrap();
            std::os::unix::fs::symlink(&victim, dir.path().join("cfg/.config.json.tmp-1-2"))
                .unwrap();
            store.write_file("config.json", b"{\"a\":1}").unwrap();
            assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
            // The file itself a link: refused on read.
            std::fs::remove_file(&path).unwrap();
            std::os::unix::fs::symlink(&victim, &path).unwrap();
            assert!(matches!(
                store.read_file("config.json"),
                Err(StoreError::Insecure(_))
            ));
            // A directory others can write: refused.
            std::fs::remove_file(&path).unwrap();
            std::fs::set_permissions(
                dir.path().join("cfg"),
                std::fs::Permissions::from_mode(0o777),
            )
            .unwrap();
            assert!(matches!(
                store.read_file("config.json"),
                Err(StoreError::Insecure(_))
            ));
        }
    }
}
