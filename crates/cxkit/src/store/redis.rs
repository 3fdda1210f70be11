//! A token store in Redis, shared by every process (replica, host) that points at the same
//! server: one login, one refresh per expiry for the whole fleet, and a logout that reaches
//! every process.
//!
//! # Keys
//!
//! A session key (`{system}|{base URL …}|{session}`, as the builders form it) becomes four
//! Redis keys sharing one hash tag, so that a Redis Cluster keeps them in one slot and the
//! scripts below may touch them together:
//!
//! - `{prefix}:{system:hash:session}:tokens`, the record (JSON, or an encrypted envelope), set
//!   to expire [`RedisTokenStoreBuilder::retention`] after the tokens do;
//! - `…:logout`, the logout marker, kept for the retention period or as long as the record it
//!   replaced would have lived, whichever is longer; only a login removes it (a refresh's write
//!   is refused while it exists);
//! - `…:lock`, the lease of the process refreshing now (`SET NX PX`);
//! - `…:fence`, the newest lease ever granted, which fenced writes compare against.
//!
//! `hash` is the SHA-256 (first 16 bytes, hex) of the whole session key, so that the base URLs
//! (and for minted user tokens the user's email) between the system and the session name are not
//! readable in the key space.
//!
//! # Leases and fencing
//!
//! The lock is a lease of [`RedisTokenStoreBuilder::lease`] that a watchdog task renews every
//! third of it while the guard lives, so a holder killed mid-refresh is replaced within one
//! lease. Every grant has a fencing token, `{n}:{nonce}` (`n` counts grants, the nonce tells
//! grants apart across a Redis restart that lost the counter). Saves and logouts by the token
//! cache are compare-and-set scripts that refuse to write unless the newest grant is still the
//! writer's ([`StoreError::Fenced`]): a holder that stalled past its lease while another took
//! over cannot overwrite the newer tokens.
//!
//! # Failures
//!
//! Every operation is bounded by [`RedisTokenStoreBuilder::timeout`]; a Redis that is down,
//! restarting or hung is [`StoreError::Unavailable`] (logged, never a panic), and the token cache
//! keeps serving the valid tokens it holds. The connection is made on first use and remade by
//! itself when Redis comes back.
//!
//! A Redis restarted with persistence (an append-only file) keeps every key above; one restarted
//! without it forgets the session and its logout markers, so a logout made before the restart
//! no longer reaches processes that still hold tokens (the README says more).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cxkit_auth::Secret;
use futures::future::BoxFuture;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;
use zeroize::Zeroizing;

use super::cipher::Sealed;
pub use super::cipher::TokenCipher;
use super::record::{encode, parse};
use super::{StoreError, StoreLock, TokenStore, session_label};
use crate::token::TokenSet;

/// Takes the lock if it is free: a new grant, numbered one past the newest, recorded as the
/// lock's value and as the newest grant. Returns the grant, or nil while another holds the lock.
const ACQUIRE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local last = redis.call('GET', KEYS[2])
local n = 1
if last then n = (tonumber(string.match(last, '^(%d+):')) or 0) + 1 end
local grant = n .. ':' .. ARGV[1]
redis.call('SET', KEYS[1], grant, 'PX', ARGV[2])
redis.call('SET', KEYS[2], grant, 'PX', ARGV[3])
return grant
";

/// Extends the lease if it is still this grant's.
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
";

/// Lets go of the lock if it is still this grant's (a lapsed lease may be another's by now).
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// Writes a record (ARGV[2], expiring after ARGV[3] ms), or with an empty record logs out.
/// With a grant (ARGV[1]), only if no newer grant was made since: a missing fence key means none
/// was (a Redis restart lost it, and any grant since would have set it again). ARGV[5] says
/// whose write it is: a `login` ends a logout (deletes the marker); a `refresh` never does: while
/// the marker exists it writes nothing and answers 2 (compare and set on the marker). A logout
/// keeps its marker for ARGV[4] ms (the retention), or for as long as the record it replaces
/// would have lived, whichever is longer, so that the marker outlives every token it ended.
/// Answers 1 when written, 0 when fenced off.
const WRITE: &str = r"
if ARGV[1] ~= '' then
  local newest = redis.call('GET', KEYS[1])
  if newest and newest ~= ARGV[1] then return 0 end
end
if ARGV[2] == '' then
  local ttl = tonumber(ARGV[4])
  local left = redis.call('PTTL', KEYS[2])
  if left > ttl then ttl = left end
  redis.call('DEL', KEYS[2])
  redis.call('SET', KEYS[3], '1', 'PX', ttl)
  return 1
end
if ARGV[5] == 'refresh' and redis.call('EXISTS', KEYS[3]) == 1 then return 2 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
if ARGV[5] == 'login' then redis.call('DEL', KEYS[3]) end
return 1
";

/// The shortest retention a store accepts: a logout marker kept for less could lapse while a
/// process still holds the tokens it ended.
const MIN_RETENTION: Duration = Duration::from_secs(60);
/// The longest: ten years, so that every expiry Redis is given fits its millisecond range.
const MAX_RETENTION: Duration = Duration::from_secs(10 * 366 * 24 * 3600);

/// Whose write [`RedisTokenStore::write`] makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Writer {
    /// A login: ends a logout.
    Login,
    /// A refresh: leaves a logout standing.
    Refresh,
    /// A logout.
    Logout,
}

/// How long a record of tokens expiring at `expires_at` is kept at `now` (until they expire,
/// plus `retention`), in whole milliseconds of at least one. Saturates: no stored time can
/// overflow it.
fn record_ttl_ms(expires_at: SystemTime, now: SystemTime, retention: Duration) -> u64 {
    let left = expires_at.duration_since(now).unwrap_or_default();
    let ttl = left
        .min(MAX_RETENTION)
        .saturating_add(retention.min(MAX_RETENTION));
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// Settings of a [`RedisTokenStore`]; see [`RedisTokenStore::builder`].
#[derive(Debug)]
pub struct RedisTokenStoreBuilder {
    url: Secret,
    prefix: String,
    lease: Duration,
    timeout: Duration,
    retention: Duration,
    cipher: Option<TokenCipher>,
}

impl RedisTokenStoreBuilder {
    /// The first part of every key (default `cxkit`), to keep applications sharing one Redis
    /// apart.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long a refresh lease lasts without renewal (default 15 s): how soon the fleet
    /// replaces a holder that died mid-refresh. The holder renews it every third of it.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The bound on every Redis operation, connecting included (default 2 s); past it the
    /// operation is [`StoreError::Unavailable`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long records outlive their tokens' expiry, and logout markers their logout (default
    /// 7 days), so that abandoned sessions do not fill the server. A logout marker is kept at
    /// least as long as the tokens it ended would have lived, plus this, so that no process
    /// still holding them can refresh after the marker is gone. At least a minute and at most
    /// ten years ([`build`](Self::build) refuses anything else).
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Encrypts tokens at rest with `cipher`; records then hold no token, identity or expiry in
    /// plaintext, and unencrypted records are refused.
    pub fn encryption(mut self, cipher: TokenCipher) -> Self {
        self.cipher = Some(cipher);
        self
    }

    /// Checks the settings. Nothing is sent yet: the store connects on first use (so an
    /// application starts while Redis is down) and reconnects by itself.
    pub fn build(self) -> Result<RedisTokenStore, StoreError> {
        let client = redis::Client::open(self.url.expose()).map_err(|e| {
            StoreError::Insecure(format!(
                "the Redis URL is not valid ({:?}); use `redis://[:password@]host[:port][/db]`",
                e.kind()
            ))
        })?;
        let addr = client.get_connection_info().addr().clone();
        let location = addr.to_string();
        let loopback = match &addr {
            redis::ConnectionAddr::Tcp(host, _) => {
                host == "localhost"
                    || host
                        .trim_start_matches('[')
                        .trim_end_matches(']')
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }
            _ => true,
        };
        // Plain TCP to another host would carry the tokens in the clear: only with encryption.
        if !loopback && self.cipher.is_none() {
            return Err(StoreError::Insecure(format!(
                "the Redis server {location} is not on this host and the connection is not \
                 encrypted, so the tokens would cross the network in plaintext; give the store a \
                 `TokenCipher` (`RedisTokenStoreBuilder::encryption`)"
            )));
        }
        if !(MIN_RETENTION..=MAX_RETENTION).contains(&self.retention) {
            return Err(StoreError::Insecure(format!(
                "the Redis store's retention is {:?}; it must be at least a minute (a logout \
                 marker must outlive the tokens of the session it ended) and at most ten years",
                self.retention
            )));
        }
        if self.lease < Duration::from_millis(30) || self.timeout.is_zero() {
            return Err(StoreError::Insecure(
                "the Redis store's lease must be at least 30 ms and its timeout above zero".into(),
            ));
        }
        Ok(RedisTokenStore {
            inner: Arc::new(Inner {
                client,
                connection: OnceCell::new(),
                location,
                prefix: self.prefix,
                lease: self.lease,
                timeout: self.timeout,
                retention: self.retention,
                cipher: self.cipher,
                acquire: redis::Script::new(ACQUIRE),
                renew: redis::Script::new(RENEW),
                release: redis::Script::new(RELEASE),
                write: redis::Script::new(WRITE),
            }),
        })
    }
}

/// A [`TokenStore`] in Redis that many processes share. See the [module docs](self) for keys,
/// leases, fencing and failure handling; the README says when to choose it.
#[derive(Clone)]
pub struct RedisTokenStore {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    /// `host:port` (or a socket path): never the URL, which may hold the password.
    location: String,
    prefix: String,
    lease: Duration,
    timeout: Duration,
    retention: Duration,
    cipher: Option<TokenCipher>,
    acquire: redis::Script,
    renew: redis::Script,
    release: redis::Script,
    write: redis::Script,
}

impl fmt::Debug for RedisTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisTokenStore")
            .field("server", &self.inner.location)
            .field("prefix", &self.inner.prefix)
            .field("lease", &self.inner.lease)
            .field("encrypted", &self.inner.cipher.is_some())
            .finish_non_exhaustive()
    }
}

/// The four Redis keys of one session.
struct Keys {
    tokens: String,
    logout: String,
    lock: String,
    fence: String,
}

/// The lease on a session's lock; dropping it stops the renewal and lets go of the lock.
struct RedisLock {
    inner: Arc<Inner>,
    lock_key: String,
    grant: String,
    renewal: tokio::task::AbortHandle,
}

impl fmt::Debug for RedisLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLock")
            .field("lock", &self.lock_key)
            .finish_non_exhaustive()
    }
}

impl StoreLock for RedisLock {
    fn fence(&self) -> Option<&str> {
        Some(&self.grant)
    }
}

impl Drop for RedisLock {
    fn drop(&mut self) {
        self.renewal.abort();
        let (inner, key, grant) = (
            self.inner.clone(),
            std::mem::take(&mut self.lock_key),
            std::mem::take(&mut self.grant),
        );
        // Released in the background (a drop cannot wait); without a runtime, or if Redis is
        // gone, the lease lapses by itself.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let released = inner
                    .run("release the lock", |mut c| {
                        let (inner, key, grant) = (inner.clone(), key.clone(), grant.clone());
                        async move {
                            inner
                                .release
                                .key(&key)
                                .arg(&grant)
                                .invoke_async::<i64>(&mut c)
                                .await
                        }
                    })
                    .await;
                if let Err(e) = released {
                    tracing::debug!(error = %e, "the lock lease lapses by itself instead");
                }
            });
        }
    }
}

impl RedisTokenStore {
    /// Settings for a store on the Redis server at `url` (`redis://[:password@]host[:port][/db]`
    /// or `redis+unix:///path`). A server on another host needs
    /// [`encryption`](RedisTokenStoreBuilder::encryption), since the connection itself is plain
    /// TCP. The URL (and its password) is never printed.
    pub fn builder(url: &Secret) -> RedisTokenStoreBuilder {
        RedisTokenStoreBuilder {
            url: url.clone(),
            prefix: "cxkit".into(),
            lease: Duration::from_secs(15),
            timeout: Duration::from_secs(2),
            retention: Duration::from_secs(7 * 24 * 3600),
            cipher: None,
        }
    }

    /// The Redis keys of session `key` (see the module docs). Public for operators and tests
    /// that inspect the server.
    pub fn redis_key(&self, key: &str) -> String {
        self.keys(key).tokens
    }

    fn keys(&self, key: &str) -> Keys {
        // The system and session name are kept readable for operators; the hash covers the
        // whole key, so that distinct keys never share an entry whatever their shape.
        let base = format!("{}:{{{}}}", self.inner.prefix, session_label(key));
        Keys {
            tokens: format!("{base}:tokens"),
            logout: format!("{base}:logout"),
            lock: format!("{base}:lock"),
            fence: format!("{base}:fence"),
        }
    }

    /// Writes (or with `None`, logs out) session `key` for `writer`, fenced by `grant` when
    /// there is one.
    async fn write(
        &self,
        key: &str,
        tokens: Option<&TokenSet>,
        grant: Option<&str>,
        writer: Writer,
    ) -> Result<(), StoreError> {
        let keys = self.keys(key);
        let inner = &self.inner;
        let record = match tokens {
            Some(tokens) => {
                let plain = encode(key, tokens)?;
                match &inner.cipher {
                    Some(cipher) => Zeroizing::new(cipher.seal(&keys.tokens, &plain)?),
                    None => plain,
                }
            }
            None => Zeroizing::new(Vec::new()),
        };
        let retention = inner.retention;
        let record_ttl = tokens
            .map(|t| record_ttl_ms(t.expires_at(), SystemTime::now(), retention))
            .unwrap_or(1)
            .to_string();
        let marker_ttl =
            record_ttl_ms(SystemTime::UNIX_EPOCH, SystemTime::now(), retention).to_string();
        let mode = match writer {
            Writer::Login => "login",
            Writer::Refresh => "refresh",
            Writer::Logout => "logout",
        };
        let grant = grant.unwrap_or_default();
        let written: i64 = inner
            .run("write the session", |mut c| {
                let (keys, record, grant) = (&keys, &record, grant);
                let (record_ttl, marker_ttl, mode) = (&record_ttl, &marker_ttl, mode);
                async move {
                    inner
                        .write
                        .key(&keys.fence)
                        .key(&keys.tokens)
                        .key(&keys.logout)
                        .arg(grant)
                        .arg(record.as_slice())
                        .arg(record_ttl)
                        .arg(marker_ttl)
                        .arg(mode)
                        .invoke_async(&mut c)
                        .await
                }
            })
            .await?;
        if written == 1 {
            Ok(())
        } else if written == 2 {
            Err(StoreError::LoggedOut(format!(
                "marker {}; a refresh does not end a logout",
                keys.logout
            )))
        } else {
            Err(StoreError::Fenced(format!(
                "this process's lease on {} lapsed and was granted to another process, whose \
                 tokens stand",
                keys.lock
            )))
        }
    }

    async fn read(&self, key: &str) -> Result<Option<TokenSet>, StoreError> {
        let keys = self.keys(key);
        let inner = &self.inner;
        let (marker, record): (Option<Vec<u8>>, Option<Vec<u8>>) = inner
            .run("read the session", |mut c| {
                let keys = &keys;
                async move {
                    redis::cmd("MGET")
                        .arg(&keys.logout)
                        .arg(&keys.tokens)
                        .query_async(&mut c)
                        .await
                }
            })
            .await?;
        if marker.is_some() {
            return Err(StoreError::LoggedOut(format!("marker {}", keys.logout)));
        }
        let Some(record) = record.map(Zeroizing::new) else {
            return Ok(None);
        };
        let origin = &keys.tokens;
        let sealed = Sealed::from_record(&record);
        match (&inner.cipher, sealed) {
            (Some(cipher), Some(sealed)) => {
                parse(&cipher.open(&keys.tokens, &sealed)?, key, origin).map(Some)
            }
            (None, Some(sealed)) => Err(StoreError::Corrupt(format!(
                "{origin} is encrypted (key id `{}`) and this store has no key; configure the \
                 application's token key",
                sealed.kid
            ))),
            (Some(_), None) => Err(StoreError::Corrupt(format!(
                "{origin} is not encrypted, and this store accepts only encrypted records"
            ))),
            (None, None) => parse(&record, key, origin).map(Some),
        }
    }

    async fn acquire(&self, key: &str, wait: Duration) -> Result<RedisLock, StoreError> {
        let keys = self.keys(key);
        let inner = &self.inner;
        let nonce = format!("{:032x}", fastrand::u128(..));
        let lease = inner.lease.as_millis().to_string();
        let fence_ttl =
            record_ttl_ms(SystemTime::UNIX_EPOCH, SystemTime::now(), inner.retention).to_string();
        let started = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            let grant: Option<String> = inner
                .run("take the lock", |mut c| {
                    let (keys, nonce, lease, fence_ttl) = (&keys, &nonce, &lease, &fence_ttl);
                    async move {
                        inner
                            .acquire
                            .key(&keys.lock)
                            .key(&keys.fence)
                            .arg(nonce)
                            .arg(lease)
                            .arg(fence_ttl)
                            .invoke_async(&mut c)
                            .await
                    }
                })
                .await?;
            if let Some(grant) = grant {
                let renewal = tokio::spawn(renew(
                    Arc::downgrade(&self.inner),
                    keys.lock.clone(),
                    grant.clone(),
                ))
                .abort_handle();
                return Ok(RedisLock {
                    inner: self.inner.clone(),
                    lock_key: keys.lock,
                    grant,
                    renewal,
                });
            }
            let waited = started.elapsed();
            if waited >= wait {
                return Err(StoreError::LockTimeout {
                    lock: format!("{} on Redis {}", keys.lock, inner.location),
                    waited,
                });
            }
            // Polled with a growing pause: the lock is held for one refresh, rarely long.
            tokio::time::sleep(pause.min(wait - waited)).await;
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }
}

/// Renews the lease every third of it while the guard lives (the guard aborts this task).
async fn renew(inner: std::sync::Weak<Inner>, lock_key: String, grant: String) {
    loop {
        let Some(period) = inner.upgrade().map(|i| i.lease / 3) else {
            return;
        };
        tokio::time::sleep(period).await;
        let Some(store) = inner.upgrade() else { return };
        let lease = store.lease.as_millis().to_string();
        let renewed = store
            .run("renew the lock", |mut c| {
                let (store, lock_key, grant, lease) = (&store, &lock_key, &grant, &lease);
                async move {
                    store
                        .renew
                        .key(lock_key)
                        .arg(grant)
                        .arg(lease)
                        .invoke_async::<i64>(&mut c)
                        .await
                }
            })
            .await;
        match renewed {
            Ok(1) => {}
            Ok(_) => {
                tracing::warn!(lock = %lock_key, "the refresh lease lapsed and another process may hold it; this process's writes will be refused");
                return;
            }
            Err(e) => {
                tracing::warn!(lock = %lock_key, error = %e, "cannot renew the refresh lease")
            }
        }
    }
}

impl Inner {
    /// The connection, made on first use; a failure leaves none, so the next call tries again.
    async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        self.connection
            .get_or_try_init(|| {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout))
                    .set_number_of_retries(2)
                    .set_max_delay(Duration::from_millis(500));
                self.client.get_connection_manager_with_config(config)
            })
            .await
            .cloned()
    }

    /// Runs `op` on the connection within the timeout; a failure is
    /// [`StoreError::Unavailable`], described without any value sent.
    async fn run<T, F, Fut>(&self, what: &str, op: F) -> Result<T, StoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let attempt = async {
            let connection = self.connection().await?;
            op(connection).await
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(StoreError::Unavailable(format!(
                "cannot {what} on Redis {} ({})",
                self.location,
                describe(&e)
            ))),
            Err(_) => Err(StoreError::Unavailable(format!(
                "Redis {} did not answer within {:?} when asked to {what}",
                self.location, self.timeout
            ))),
        }
    }
}

/// A Redis error's kind and code, without its detail text, which for a script error may quote
/// what was sent.
fn describe(e: &redis::RedisError) -> String {
    match e.code() {
        Some(code) => format!("{:?}, {code}", e.kind()),
        None if e.is_connection_refusal() => "connection refused".into(),
        None if e.is_timeout() => "timed out".into(),
        None if e.is_connection_dropped() => "connection dropped".into(),
        None => format!("{:?}", e.kind()),
    }
}

impl TokenStore for RedisTokenStore {
    fn load<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<TokenSet>, StoreError>> {
        Box::pin(self.read(key))
    }

    fn save<'a>(
        &'a self,
        key: &'a str,
        tokens: &'a TokenSet,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.write(key, Some(tokens), None, Writer::Login))
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.write(key, None, None, Writer::Logout))
    }

    fn lock<'a>(
        &'a self,
        key: &'a str,
        wait: Duration,
    ) -> BoxFuture<'a, Result<Box<dyn StoreLock>, StoreError>> {
        Box::pin(async move {
            let lock = self.acquire(key, wait).await?;
            Ok(Box::new(lock) as Box<dyn StoreLock>)
        })
    }

    fn save_locked<'a>(
        &'a self,
        key: &'a str,
        tokens: &'a TokenSet,
        lock: &'a dyn StoreLock,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.write(key, Some(tokens), lock.fence(), Writer::Login))
    }

    fn delete_locked<'a>(
        &'a self,
        key: &'a str,
        lock: &'a dyn StoreLock,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.write(key, None, lock.fence(), Writer::Logout))
    }

    fn save_refreshed<'a>(
        &'a self,
        key: &'a str,
        tokens: &'a TokenSet,
        lock: &'a dyn StoreLock,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.write(key, Some(tokens), lock.fence(), Writer::Refresh))
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use base64::Engine as _;

    use super::*;

    fn key(byte: u8) -> Secret {
        Secret::new(base64::engine::general_purpose::STANDARD.encode([byte; 32]))
    }

    fn store() -> RedisTokenStore {
        RedisTokenStore::builder(&Secret::new("redis://127.0.0.1:1"))
            .prefix("app")
            .build()
            .unwrap()
    }

    #[test]
    fn a_sessions_keys_share_one_hash_tag_and_hide_urls_and_emails() {
        let store = store();
        let keys = store.keys("ejento-user-token|https://h.example|alice@example.com|s1");
        assert!(
            keys.tokens.starts_with("app:{ejento-user-token:"),
            "{}",
            keys.tokens
        );
        assert!(keys.tokens.ends_with(":s1}:tokens"), "{}", keys.tokens);
        let tag = |k: &str| k[..k.find('}').unwrap() + 1].to_owned();
        for k in [&keys.logout, &keys.lock, &keys.fence] {
            assert_eq!(tag(k), tag(&keys.tokens));
        }
        for k in [&keys.tokens, &keys.logout, &keys.lock, &keys.fence] {
            assert!(!k.contains("alice") && !k.contains("h.example"), "{k}");
        }
        // Another base URL or another session is another entry.
        assert_ne!(
            store.keys("ejento|https://a|s").tokens,
            store.keys("ejento|https://b|s").tokens
        );
        assert_ne!(
            store.keys("ejento|https://a|s").tokens,
            store.keys("ejento|https://a|t").tokens
        );
        assert_ne!(
            store.keys("ejento|https://a|s").tokens,
            store.keys("proto|https://a|s").tokens
        );
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            /// Whatever expiry a stored token set states and whatever retention the store was
            /// built with, the expiry given to Redis is computed without a panic, at least one
            /// millisecond, and within what Redis accepts.
            #[test]
            fn record_expiries_never_overflow(
                expires in any::<u64>(),
                now in 0u64..=253_402_300_799,
                retention in any::<(u64, u32)>(),
            ) {
                let at = |secs: u64| UNIX_EPOCH.checked_add(Duration::from_secs(secs));
                let Some(expires_at) = at(expires) else { return Ok(()) };
                let retention = Duration::new(retention.0, retention.1 % 1_000_000_000);
                let ms = record_ttl_ms(expires_at, at(now).unwrap(), retention);
                prop_assert!(ms >= 1);
                prop_assert!(u128::from(ms) <= 2 * MAX_RETENTION.as_millis());
            }
        }
    }

    #[test]
    fn bad_keys_and_urls_are_refused_with_the_fix() {
        for bad in ["", "c2hvcnQ=", "not base64!"] {
            let err = TokenCipher::new("k", &Secret::new(bad)).unwrap_err();
            assert!(err.to_string().contains("openssl rand -base64 32"), "{err}");
        }
        assert!(TokenCipher::new("", &key(1)).is_err());
        let err = RedisTokenStore::builder(&Secret::new("http://:pw-123456@x"))
            .build()
            .unwrap_err();
        assert!(!err.to_string().contains("pw-123456"), "{err}");
        assert!(
            RedisTokenStore::builder(&Secret::new("redis://[::1]:6379"))
                .build()
                .is_ok()
        );
    }
}
