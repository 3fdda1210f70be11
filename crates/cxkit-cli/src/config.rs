//! Where the command line keeps its state: the configuration directory (`CXKIT_CONFIG_DIR`, or
//! the OS configuration directory's `cxkit`), with `config.json` (each profile's non-secret
//! settings: base URLs, user names, ids) and `tokens/` (a [`FileTokenStore`]: the Ejento
//! session's tokens, the static logins' keys (Proto's) and Platform28's API key and login session,
//! each file 0600 in a 0700 directory).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cxkit::{FileTokenStore, Secret, StoreError, TokenSet, TokenStore};
use serde::{Deserialize, Serialize};

use crate::failure::Failure;

/// The environment variable that overrides the configuration directory.
pub const CONFIG_DIR_ENV: &str = "CXKIT_CONFIG_DIR";

/// The settings file in the configuration directory.
pub const CONFIG_FILE: &str = "config.json";

/// The profile used without `--profile`.
pub const DEFAULT_PROFILE: &str = "default";

/// `config.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ConfigFile {
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// One profile's non-secret settings, per system.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Profile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ejento: Option<EjentoProfile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform28: Option<Platform28Profile>,
    /// The systems with a static login (see [`crate::table::StaticLogin`]), by
    /// [`Profile::static_key`] (`proto_messaging`): each one's base URL and ids.
    #[serde(flatten)]
    pub statics: BTreeMap<String, StaticProfile>,
}

impl Profile {
    /// Where a system with a static login is kept in a profile: its name in snake case.
    pub fn static_key(system: &str) -> String {
        system.replace('-', "_")
    }

    /// The settings of a system with a static login, if it is logged in.
    pub fn static_login(&self, system: &str) -> Option<&StaticProfile> {
        self.statics.get(&Profile::static_key(system))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EjentoProfile {
    pub base_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users_base_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indexing_base_url: Option<String>,
    pub username: String,
}

/// A static login's settings: the base URL and the ids the registry declares.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StaticProfile {
    pub base_url: String,
    #[serde(flatten)]
    pub ids: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Platform28Profile {
    pub base_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_param: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lsid_param: Option<String>,
}

/// The configuration directory and what is in it, for one profile.
#[derive(Debug)]
pub struct State {
    pub dir: PathBuf,
    pub profile: String,
    pub file: ConfigFile,
    pub store: Arc<FileTokenStore>,
    /// The configuration directory itself, as a store: `config.json` is read and written
    /// through it (its checks, its lock).
    pub files: FileTokenStore,
    /// The one configuration every session of this invocation is built with (its HTTP client
    /// and pool, and the token store above).
    pub config: cxkit::Config,
}

/// The names Platform28's stored secrets go under, in a [`TokenSet`] (a static login's key
/// goes under [`crate::table::StaticLogin::stored_name`]).
pub const P28_API_KEY: &str = "api_key";
pub const P28_LSID: &str = "lsid";
pub const P28_SESSION_ID: &str = "session_id";

impl State {
    /// Reads the configuration directory; a missing one is empty. `config.json` is read with
    /// the token files' checks (see [`FileTokenStore::read_file`]).
    pub fn open(profile: &str) -> Result<State, Failure> {
        let dir = match std::env::var_os(CONFIG_DIR_ENV).filter(|d| !d.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => dirs::config_dir().map(|d| d.join("cxkit")).ok_or_else(|| {
                Failure::config(format!(
                    "cannot find the OS configuration directory; set {CONFIG_DIR_ENV}"
                ))
            })?,
        };
        let files = FileTokenStore::new(dir.clone());
        let file = read_config(&files, &dir)?;
        let store = Arc::new(FileTokenStore::new(dir.join("tokens")));
        let config = cxkit::Config::builder()
            .shared_store(store.clone())
            .build()
            .map_err(Failure::from)?;
        Ok(State {
            store,
            config,
            files,
            dir,
            profile: profile.to_owned(),
            file,
        })
    }

    /// This profile's settings (empty if it has none yet).
    pub fn profile(&self) -> Profile {
        self.file
            .profiles
            .get(&self.profile)
            .cloned()
            .unwrap_or_default()
    }

    /// Changes this profile's settings in `config.json`: under the directory's lock of the
    /// file, read again (another `cxkit` may have changed another profile or system since this
    /// one started), changed, and replaced whole through a temporary file of a unique name (see
    /// [`FileTokenStore::write_file`]), so concurrent logins keep each other's changes and a
    /// crash leaves either the old or the new file.
    pub async fn update(&mut self, change: impl FnOnce(&mut Profile)) -> Result<(), Failure> {
        let _lock = self
            .files
            .lock(CONFIG_FILE, Duration::from_secs(10))
            .await
            .map_err(cxkit::Error::from)?;
        let mut file = read_config(&self.files, &self.dir)?;
        let profile = file.profiles.entry(self.profile.clone()).or_default();
        change(profile);
        if profile.ejento.is_none() && profile.statics.is_empty() && profile.platform28.is_none() {
            file.profiles.remove(&self.profile);
        }
        let text = serde_json::to_string_pretty(&file)
            .map_err(|e| Failure::config(format!("cannot encode the configuration: {e}")))?;
        self.files
            .write_file(CONFIG_FILE, text.as_bytes())
            .map_err(cxkit::Error::from)?;
        self.file = file;
        Ok(())
    }

    /// The key of a system's stored credentials in the token store.
    fn key(&self, system: &str) -> String {
        format!("cxkit-cli|{system}|{}", self.profile)
    }

    /// Stores static credentials (a static login's key, Platform28's API key and LSID) in the token
    /// store, which keeps them 0600 like the session tokens.
    pub async fn save_secrets(
        &self,
        system: &str,
        secrets: Vec<(&str, Secret)>,
    ) -> Result<(), Failure> {
        let key = self.key(system);
        let now = SystemTime::now();
        // Static credentials do not expire; the store needs a date all the same.
        let set = TokenSet::new(
            secrets.into_iter().map(|(k, v)| (k.to_owned(), v)),
            now,
            now + Duration::from_secs(100 * 365 * 24 * 3600),
        );
        let _lock = self
            .store
            .lock(&key, Duration::from_secs(10))
            .await
            .map_err(cxkit::Error::from)?;
        self.store
            .save(&key, &set)
            .await
            .map_err(cxkit::Error::from)?;
        Ok(())
    }

    /// The static credentials stored for a system, if any.
    pub async fn load_secrets(&self, system: &str) -> Result<Option<TokenSet>, Failure> {
        match self.store.load(&self.key(system)).await {
            Ok(set) => Ok(set),
            Err(StoreError::LoggedOut(_)) => Ok(None),
            Err(e) => Err(cxkit::Error::from(e).into()),
        }
    }

    /// Forgets a system's static credentials.
    pub async fn delete_secrets(&self, system: &str) -> Result<(), Failure> {
        let key = self.key(system);
        let _lock = self
            .store
            .lock(&key, Duration::from_secs(10))
            .await
            .map_err(cxkit::Error::from)?;
        self.store.delete(&key).await.map_err(cxkit::Error::from)?;
        Ok(())
    }
}

/// `config.json`, read with the token files' checks; a missing one is empty.
fn read_config(files: &FileTokenStore, dir: &Path) -> Result<ConfigFile, Failure> {
    let path = dir.join(CONFIG_FILE);
    match files.read_file(CONFIG_FILE).map_err(cxkit::Error::from)? {
        Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            Failure::config(format!(
                "{} is not a cxkit configuration ({e}); fix or delete it and log in again",
                path.display()
            ))
        }),
        None => Ok(ConfigFile::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `config.json` written before the static logins were read from the registry (one
    /// struct per Proto system) reads into the same settings and is written back unchanged.
    #[test]
    fn a_config_of_the_per_system_layout_reads_and_writes_back_the_same() {
        let text = serde_json::json!({
            "profiles": {
                "default": {
                    "ejento": { "base_url": "https://e.example", "username": "ada" },
                    "proto": { "base_url": "https://p.example", "company_id": "c1", "bot_id": "b1" },
                    "proto_platform": { "base_url": "https://d.example", "teamspace_id": "sc_9" },
                    "proto_messaging": { "base_url": "https://m.example", "channel_id": "ch_1" },
                    "platform28": { "base_url": "https://x.example", "username": "bob" }
                }
            }
        });
        let file: ConfigFile = serde_json::from_value(text.clone()).unwrap();
        let profile = &file.profiles["default"];
        let messaging = profile.static_login("proto-messaging").unwrap();
        assert_eq!(messaging.base_url, "https://m.example");
        assert_eq!(messaging.ids["channel_id"], "ch_1");
        let platform = profile.static_login("proto-platform").unwrap();
        assert_eq!(platform.ids["teamspace_id"], "sc_9");
        assert_eq!(profile.static_login("proto").unwrap().ids["bot_id"], "b1");
        assert_eq!(profile.statics.len(), 3, "{:?}", profile.statics);
        assert_eq!(profile.ejento.as_ref().unwrap().username, "ada");
        assert_eq!(serde_json::to_value(&file).unwrap(), text);
    }
}
