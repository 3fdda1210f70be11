//! The token cache: one per session, shared by every client of that session.
//!
//! - Single flight: however many callers find the tokens due, one refresh runs; the others
//!   wait for it and share its result. No lock is held while a caller uses a token.
//! - Refresh ahead of expiry by [`RefreshConfig::margin`], on an injectable wall clock.
//! - A failed refresh is never cached: the still-valid tokens keep being used (and the next
//!   attempt waits [`RefreshConfig::retry_interval`]); once they expire, every call tries again.
//! - Across processes: the refresh runs under the store's lock and re-reads the store first,
//!   so a process that finds fresh tokens written by another adopts them instead of refreshing.
//!   Taking the lock waits at most [`RefreshConfig::acquire_timeout`]. A logout in any process
//!   sharing the store ends the session in all of them (at their next refresh), and a session
//!   never adopts tokens the store holds for another identity: both are
//!   [`Error::ReauthRequired`]. A refresh's save never ends a logout
//!   ([`TokenStore::save_refreshed`]); only a login does.
//! - A store that cannot be read (down, an I/O error) is treated like a lock that cannot be
//!   taken: the valid tokens held here keep serving until the retry interval has passed, and
//!   nothing is refreshed blind (another process may have refreshed already).
//! - A 401 invalidates the rejected token (unless it was already replaced) and forces one
//!   refresh.
//! - A session whose refresh the server rejected is over, but not for good: at most once per
//!   [`RefreshConfig::retry_interval`] it reads the store again and adopts a newer login of the
//!   same identity made by another process (`cxkit login`, another replica).
//! - Logs, errors and `Debug` name the session by a label (system, a hash of the key, session
//!   name), never by the raw key, which holds base URLs and, for minted tokens, an e-mail.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use cxkit_auth::{AuthError, AuthErrorKind, Clock, Secret, TokenSource};
use futures::future::BoxFuture;
use tokio::sync::watch;

use crate::store::{StoreError, StoreLock, TokenStore, session_label};
use crate::token::{RefreshConfig, TokenSet};
use crate::{Error, Result};

/// Obtains new tokens from current ones (e.g. Ejento's refresh call).
pub trait Refresher: Send + Sync + fmt::Debug + 'static {
    /// Refreshes `current`. An error of kind [`Error::ReauthRequired`] ends the session.
    fn refresh<'a>(&'a self, current: &'a TokenSet) -> BoxFuture<'a, Result<TokenSet>>;

    /// Obtains tokens when the cache holds none, for credentials that need no login (a
    /// server-to-server user token is minted from the application secret alone). The default,
    /// `None`, means "log in first": the cache answers [`Error::ReauthRequired`].
    fn initial(&self) -> Option<BoxFuture<'_, Result<TokenSet>>> {
        None
    }
}

#[derive(Default)]
struct State {
    tokens: Option<TokenSet>,
    refresh_at: Option<SystemTime>,
    forced: bool,
    last_failure: Option<SystemTime>,
    /// Set when the server rejected a refresh: the session is over until a newer login, and
    /// every caller learns so at once instead of asking the server again.
    ended: Option<Ended>,
}

/// A session the server refused to refresh.
#[derive(Clone, Debug)]
struct Ended {
    reason: String,
    /// When the store was last read for a newer login: it is read again at most once per
    /// retry interval.
    looked_at: SystemTime,
}

/// A session's tokens, refreshed on demand. See the module docs for the guarantees.
pub struct TokenCache {
    key: String,
    /// What logs and errors call the session ([`session_label`]).
    label: String,
    store: Arc<dyn TokenStore>,
    refresher: Arc<dyn Refresher>,
    clock: Arc<dyn Clock>,
    config: RefreshConfig,
    state: Mutex<State>,
    flight: tokio::sync::Mutex<()>,
    /// Bumped whenever a holder of `flight` lets go, so that callers who found a refresh
    /// under way wait for its end together (a broadcast) instead of filing through the mutex
    /// one by one.
    landed: watch::Sender<u64>,
    updates: watch::Sender<Option<TokenSet>>,
    refreshes: AtomicU64,
    /// Where refreshes are reported (the `otel` feature).
    #[cfg(feature = "otel")]
    telemetry: Option<Arc<crate::telemetry::Instruments>>,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("session", &self.label)
            .field("store", &self.store)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    /// A cache for the session `key`, persisted in `store`.
    pub fn new(
        key: impl Into<String>,
        store: Arc<dyn TokenStore>,
        refresher: Arc<dyn Refresher>,
        clock: Arc<dyn Clock>,
        config: RefreshConfig,
    ) -> Self {
        let key = key.into();
        TokenCache {
            label: session_label(&key),
            key,
            store,
            refresher,
            clock,
            config,
            state: Mutex::new(State::default()),
            flight: tokio::sync::Mutex::new(()),
            landed: watch::channel(0).0,
            updates: watch::channel(None).0,
            refreshes: AtomicU64::new(0),
            #[cfg(feature = "otel")]
            telemetry: None,
        }
    }

    /// Reports every refresh (a span, its duration and outcome) and every caller that waits
    /// for one to `telemetry`.
    #[cfg(all(feature = "otel", feature = "ejento"))]
    pub(crate) fn with_telemetry(mut self, telemetry: Arc<crate::telemetry::Instruments>) -> Self {
        self.telemetry = Some(telemetry);
        self
    }

    /// The session key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// How many refresh calls this cache has made (for tests and metrics).
    pub fn refresh_count(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }

    /// Notified with the new tokens after every login and refresh, and with `None` on logout.
    pub fn subscribe(&self) -> watch::Receiver<Option<TokenSet>> {
        self.updates.subscribe()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The tokens if they need no refresh now.
    fn fresh(&self) -> Option<TokenSet> {
        self.with_fresh(|tokens| Some(tokens.clone()))
    }

    /// One token of the fresh set, if the set is fresh: what [`CachedToken`] needs on every
    /// call, without copying the whole set.
    fn fresh_token(&self, name: &str) -> Option<Secret> {
        self.with_fresh(|tokens| tokens.get(name).cloned())
    }

    /// `read` of the held set, if it is fresh (not due, not forced, not ended).
    fn with_fresh<T>(&self, read: impl FnOnce(&TokenSet) -> Option<T>) -> Option<T> {
        let state = self.state();
        let now = self.clock.now();
        match (&state.tokens, state.refresh_at) {
            (Some(tokens), Some(at)) if !state.forced && state.ended.is_none() && now < at => {
                read(tokens)
            }
            _ => None,
        }
    }

    /// The error every caller gets once a refresh was rejected, until a newer login.
    fn ended(&self) -> Result<()> {
        match &self.state().ended {
            Some(ended) => Err(Error::reauth(ended.reason.clone())),
            None => Ok(()),
        }
    }

    /// [`ended`](Self::ended), while the store was read for a newer login less than the retry
    /// interval ago; after that, the caller goes on to read it again.
    fn ended_recently(&self) -> Result<()> {
        let state = self.state();
        match &state.ended {
            Some(ended)
                if self
                    .clock
                    .now()
                    .duration_since(ended.looked_at)
                    .unwrap_or_default()
                    < self.config.retry_interval =>
            {
                Err(Error::reauth(ended.reason.clone()))
            }
            _ => Ok(()),
        }
    }

    /// Takes the single-flight lock; releasing it wakes every caller waiting in
    /// [`TokenCache::current`].
    async fn take_flight(&self) -> Flight<'_> {
        Flight {
            _guard: self.flight.lock().await,
            landed: &self.landed,
        }
    }

    /// Valid tokens, refreshing first if they are due. The fast path takes one uncontended
    /// mutex and clones the set. When a refresh is already under way, callers wait for it to
    /// land and all wake at once; only if the tokens are still due then do they queue for the
    /// lock (after a failed refresh, say).
    pub async fn current(&self) -> Result<TokenSet> {
        if let Some(tokens) = self.fresh() {
            return Ok(tokens);
        }
        self.ended_recently()?;
        // Subscribe before trying the lock, so a refresh that lands in between is not missed.
        let mut landed = self.landed.subscribe();
        let flight = match self.flight.try_lock() {
            Ok(guard) => Flight {
                _guard: guard,
                landed: &self.landed,
            },
            Err(_) => {
                #[cfg(feature = "otel")]
                if let Some(telemetry) = &self.telemetry {
                    telemetry.waited();
                }
                let _ = landed.changed().await;
                if let Some(tokens) = self.fresh() {
                    return Ok(tokens);
                }
                self.ended_recently()?;
                self.take_flight().await
            }
        };
        if let Some(tokens) = self.fresh() {
            return Ok(tokens);
        }
        self.ended_recently()?;
        let result = self.refresh_locked(None).await;
        drop(flight);
        result
    }

    /// Refreshes now, whatever the expiry (e.g. after the user's roles changed).
    pub async fn force_refresh(&self) -> Result<TokenSet> {
        let _flight = self.take_flight().await;
        self.ended_recently()?;
        self.state().forced = true;
        self.refresh_locked(None).await
    }

    /// The server rejected `token` (named `name` in the set). Returns whether different
    /// tokens are available now, so that one replay is worthwhile.
    pub async fn rejected(&self, name: &str, token: &Secret) -> bool {
        let _flight = self.take_flight().await;
        if self.ended().is_err() {
            return false;
        }
        let still_current = self
            .state()
            .tokens
            .as_ref()
            .is_some_and(|t| t.get(name) == Some(token));
        if !still_current {
            // Another caller already replaced it while this request was in flight.
            return self.state().tokens.is_some();
        }
        self.state().forced = true;
        match self.refresh_locked(Some((name, token))).await {
            Ok(tokens) => tokens.get(name) != Some(token),
            Err(_) => false,
        }
    }

    /// Installs tokens from a login and persists them (which ends a logout).
    pub async fn set(&self, tokens: TokenSet) -> Result<()> {
        let _flight = self.take_flight().await;
        let lock = self.lock_store().await?;
        self.store.save_locked(&self.key, &tokens, &*lock).await?;
        self.adopt(tokens);
        Ok(())
    }

    /// Forgets the session here and in the store, leaving the store's logout marker so that
    /// other processes sharing it do not refresh the session back to life.
    pub async fn clear(&self) -> Result<()> {
        let _flight = self.take_flight().await;
        let lock = self.lock_store().await?;
        self.store.delete_locked(&self.key, &*lock).await?;
        self.forget();
        Ok(())
    }

    /// Drops the tokens held in memory, and tells subscribers.
    fn forget(&self) {
        *self.state() = State::default();
        self.updates.send_replace(None);
    }

    /// Takes the store's lock for this session, waiting at most the acquire timeout. The outer
    /// timeout (with a second of grace) only guards against a store that ignores the wait.
    async fn lock_store(&self) -> Result<Box<dyn StoreLock>> {
        let wait = self.config.acquire_timeout;
        let grace = wait + std::time::Duration::from_secs(1);
        match tokio::time::timeout(grace, self.store.lock(&self.key, wait)).await {
            Ok(lock) => Ok(lock?),
            Err(_) => Err(StoreError::LockTimeout {
                lock: format!("of session `{}` in {:?}", self.label, self.store),
                waited: grace,
            }
            .into()),
        }
    }

    /// How long until the held tokens are due for refresh (`None` without tokens).
    pub fn time_until_refresh(&self) -> Option<std::time::Duration> {
        let state = self.state();
        let at = state.refresh_at?;
        state.tokens.as_ref()?;
        Some(at.duration_since(self.clock.now()).unwrap_or_default())
    }

    /// Opt-in proactive refresh: a future that refreshes the tokens when they come due, so that
    /// no request waits for a refresh. Spawn it on your runtime (`tokio::spawn(...)`); it ends
    /// by itself once the cache is dropped. Failures are logged and retried after
    /// [`RefreshConfig::retry_interval`]; the lazy path still covers every request meanwhile.
    pub fn background_refresh(
        self: &Arc<Self>,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let weak = Arc::downgrade(self);
        let mut updates = self.subscribe();
        async move {
            loop {
                let Some(cache) = weak.upgrade() else { return };
                let wait = cache.time_until_refresh();
                let retry = cache.config.retry_interval;
                drop(cache);
                match wait {
                    // Wake at the refresh point, or earlier if the tokens change meanwhile.
                    Some(wait) => {
                        tokio::select! {
                            () = tokio::time::sleep(wait) => {}
                            changed = updates.changed() => {
                                if changed.is_err() { return }
                                continue;
                            }
                        }
                    }
                    None => {
                        if updates.changed().await.is_err() {
                            return;
                        }
                        continue;
                    }
                }
                let Some(cache) = weak.upgrade() else { return };
                if let Err(e) = cache.current().await {
                    tracing::warn!(session = %cache.label, error = %e, "background refresh failed");
                    drop(cache);
                    tokio::time::sleep(retry).await;
                }
            }
        }
    }

    /// The tokens held now, without refreshing (`None` before login or after logout).
    pub fn peek(&self) -> Option<TokenSet> {
        self.state().tokens.clone()
    }

    fn adopt(&self, tokens: TokenSet) {
        let margin = self.config.margin(&tokens, fastrand::f64());
        let refresh_at = tokens
            .expires_at()
            .checked_sub(margin)
            .unwrap_or(tokens.expires_at());
        {
            let mut state = self.state();
            state.refresh_at = Some(refresh_at);
            state.forced = false;
            state.last_failure = None;
            state.ended = None;
            state.tokens = Some(tokens.clone());
        }
        self.updates.send_replace(Some(tokens));
    }

    /// Runs with `flight` held: re-reads the store under its lock, adopts newer tokens found
    /// there, and otherwise refreshes. `rejected` is a token the server refused, which must not
    /// be adopted again even if the store still holds it.
    async fn refresh_locked(&self, rejected: Option<(&str, &Secret)>) -> Result<TokenSet> {
        let now = self.clock.now();
        let ended = self.state().ended.clone();
        if let Some(ended) = ended {
            self.look_for_a_newer_login(ended, now).await?;
        }
        let memory = self.state().tokens.clone();
        let is_rejected =
            |t: &TokenSet| rejected.is_some_and(|(name, token)| t.get(name) == Some(token));
        // Tokens this process holds that stay usable if the refresh cannot happen now: valid,
        // not refused by the server, and no explicit refresh asked for.
        let usable = memory
            .clone()
            .filter(|t| t.is_valid_at(now) && !is_rejected(t) && !self.state().forced);
        // A refresh (or the store) failed moments ago: keep using the valid tokens until the
        // retry interval has passed, without asking the store again on every call (a store that
        // is down or hung would otherwise cost each call its timeout).
        if let Some(tokens) = &usable
            && self.recently_failed(now)
        {
            return Ok(tokens.clone());
        }
        let lock = match self.lock_store().await {
            Ok(lock) => lock,
            // The store is down, or another process has held the lock longer than this one
            // waits: valid tokens held here keep serving (the next attempt comes after the
            // retry interval). Without them the error surfaces.
            Err(e @ Error::Transient { .. }) => match usable {
                Some(tokens) => {
                    tracing::warn!(session = %self.label, error = %e, "cannot take the token store's lock; the current tokens stay valid and are kept");
                    self.state().last_failure = Some(now);
                    return Ok(tokens);
                }
                None => return Err(e),
            },
            Err(e) => return Err(e),
        };
        let stored = match self.store.load(&self.key).await {
            Ok(stored) => stored,
            // Logged out (here or by another process sharing the store): the tokens this
            // process still holds must not refresh the session back to life.
            Err(e @ StoreError::LoggedOut(_)) => {
                self.forget();
                return Err(e.into());
            }
            // The store cannot be read now (down, restarting, an I/O error): as when its lock
            // cannot be taken, valid tokens held here keep serving and the next attempt comes
            // after the retry interval. Refreshing blind could refresh what another process has
            // refreshed already, or what it has logged out.
            Err(e @ (StoreError::Io(_) | StoreError::Unavailable(_))) => match usable {
                Some(tokens) => {
                    tracing::warn!(session = %self.label, error = %e, "cannot read the token store; the current tokens stay valid and are kept");
                    self.state().last_failure = Some(now);
                    return Ok(tokens);
                }
                None => return Err(e.into()),
            },
            // A corrupt record while this process holds tokens: refresh from those (the save
            // replaces the record, and never ends a logout); without them the user must log in
            // again. A store that refuses to be used (`Insecure`) is never ignored.
            Err(e @ StoreError::Corrupt(_)) if memory.is_some() => {
                tracing::warn!(session = %self.label, error = %e, "ignoring an unreadable token record");
                None
            }
            Err(e) => return Err(e.into()),
        };
        // Another user logged in under this session's key: never adopt (or overwrite) their
        // tokens. Sets without an identity (older files) cannot be told apart and are adopted.
        if let (Some(mine), Some(theirs)) = (
            memory.as_ref().and_then(TokenSet::identity),
            stored.as_ref().and_then(TokenSet::identity),
        ) && mine != theirs
        {
            let _ = mine;
            let reason = format!(
                "the shared token store's entry for session `{}` now holds another user's \
                 session; log in again, and give each user's session its own session name",
                self.label
            );
            self.forget();
            return Err(Error::reauth(reason));
        }
        let newest = [stored, memory]
            .into_iter()
            .flatten()
            .max_by_key(TokenSet::obtained_at);
        let Some(candidate) = newest else {
            // Credentials that need no login obtain their first tokens here, in the same single
            // flight as a refresh.
            let Some(first) = self.refresher.initial() else {
                return Err(Error::reauth(
                    "not logged in (no stored session); log in first",
                ));
            };
            self.refreshes.fetch_add(1, Ordering::Relaxed);
            let tokens = self.bounded(first).await?;
            return self.install_refreshed(tokens, &*lock).await;
        };

        // Another process refreshed (or this one is starting up): adopt what the store holds
        // if it needs no refresh.
        let forced = self.state().forced;
        let margin = self.config.margin(&candidate, 0.0);
        let due = candidate
            .expires_at()
            .checked_sub(margin)
            .unwrap_or(candidate.expires_at());
        let replaced = self.state().tokens.as_ref() != Some(&candidate);
        // The tokens this cache already holds are due at their jittered refresh point (drawn
        // when they were adopted); re-adopting them here against the unjittered margin would
        // postpone every refresh to that margin and defeat the jitter.
        let due = match self.state().refresh_at {
            Some(at) if !replaced => at.min(due),
            _ => due,
        };
        if !is_rejected(&candidate) && now < due && (!forced || replaced) {
            self.adopt(candidate.clone());
            return Ok(candidate);
        }

        // A refresh failed recently while the tokens are still valid: keep using them.
        if !forced && candidate.is_valid_at(now) && self.recently_failed(now) {
            return Ok(candidate);
        }

        self.refreshes.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(session = %self.label, forced, "refreshing tokens");
        let outcome = self.bounded(self.refresher.refresh(&candidate)).await;
        match outcome {
            Ok(tokens) => self.install_refreshed(tokens, &*lock).await,
            Err(e) => {
                self.state().last_failure = Some(now);
                if let Error::ReauthRequired { reason } = &e {
                    tracing::warn!(session = %self.label, "the server rejected the refresh; the session is over until a newer login");
                    self.state().ended = Some(Ended {
                        reason: reason.clone(),
                        looked_at: now,
                    });
                }
                if !e.is_reauth_required() && candidate.is_valid_at(now) && !is_rejected(&candidate)
                {
                    tracing::warn!(session = %self.label, error = %e, "refresh failed; the current tokens stay valid and are kept");
                    self.state().forced = false;
                    if forced && rejected.is_none() {
                        // An explicit `force_refresh`: its caller must learn that nothing was
                        // refreshed. The session keeps the still-valid tokens all the same.
                        return Err(e);
                    }
                    Ok(candidate)
                } else {
                    Err(e)
                }
            }
        }
    }
}

impl TokenCache {
    /// Runs one refresh (or first acquisition), failing as transient after
    /// [`RefreshConfig::acquire_timeout`].
    async fn bounded(&self, refresh: BoxFuture<'_, Result<TokenSet>>) -> Result<TokenSet> {
        let bounded = async move {
            tokio::time::timeout(self.config.acquire_timeout, refresh)
                .await
                .unwrap_or_else(|_| {
                    Err(Error::Transient {
                        message: format!(
                            "refreshing the session took longer than {:?}",
                            self.config.acquire_timeout
                        ),
                        status: None,
                    })
                })
        };
        #[cfg(feature = "otel")]
        if let Some(telemetry) = &self.telemetry {
            // No tokens held yet: the first mint of a credential that needs no login.
            let mint = self.state().tokens.is_none();
            return telemetry.refresh(mint, bounded).await;
        }
        bounded.await
    }

    /// Whether a refresh (or taking the store's lock) failed less than the retry interval ago.
    fn recently_failed(&self, now: SystemTime) -> bool {
        self.state().last_failure.is_some_and(|at| {
            now.duration_since(at).unwrap_or_default() < self.config.retry_interval
        })
    }

    /// Persists (best effort, as the holder of `lock`) and adopts tokens a refresh produced,
    /// returning what the session now holds. When the store refuses the write because this
    /// process's lease lapsed and another process has refreshed since, the other's tokens
    /// (newer, and the ones the fleet shares) are adopted instead, if they are this user's.
    /// When it refuses because the session was logged out meanwhile, the logout stands: the
    /// new tokens are dropped and the session ends here too.
    async fn install_refreshed(&self, tokens: TokenSet, lock: &dyn StoreLock) -> Result<TokenSet> {
        match self.store.save_refreshed(&self.key, &tokens, lock).await {
            Ok(()) => {}
            Err(e @ StoreError::LoggedOut(_)) => {
                tracing::warn!(session = %self.label, "the session was logged out; the refreshed tokens are dropped and the logout stands");
                self.forget();
                return Err(e.into());
            }
            Err(e @ StoreError::Fenced(_)) => {
                tracing::warn!(session = %self.label, error = %e, "adopting the tokens another process stored instead");
                if let Ok(Some(stored)) = self.store.load(&self.key).await
                    && stored.identity() == tokens.identity()
                    && stored.obtained_at() >= tokens.obtained_at()
                {
                    self.adopt(stored.clone());
                    return Ok(stored);
                }
            }
            Err(e) => {
                tracing::warn!(session = %self.label, error = %e, "refreshed tokens could not be persisted");
            }
        }
        self.adopt(tokens.clone());
        Ok(tokens)
    }

    /// With `flight` held, for a session whose refresh was rejected: reads the store (under
    /// its lock) for a login made since by another process, and adopts it if it is newer than
    /// the rejected tokens and the same user's. Otherwise the session stays over, and the store
    /// is not read again for a retry interval.
    async fn look_for_a_newer_login(&self, ended: Ended, now: SystemTime) -> Result<()> {
        let over = || Err(Error::reauth(ended.reason.clone()));
        if let Some(state) = self.state().ended.as_mut() {
            state.looked_at = now;
        }
        let Ok(lock) = self.lock_store().await else {
            return over();
        };
        let stored = match self.store.load(&self.key).await {
            Ok(Some(stored)) => stored,
            Err(e @ StoreError::LoggedOut(_)) => {
                self.forget();
                return Err(e.into());
            }
            Ok(None) | Err(_) => return over(),
        };
        drop(lock);
        let memory = self.state().tokens.clone();
        let newer = memory
            .as_ref()
            .is_none_or(|m| stored.obtained_at() > m.obtained_at());
        let same_user = match (
            memory.as_ref().and_then(TokenSet::identity),
            stored.identity(),
        ) {
            (Some(mine), Some(theirs)) => mine == theirs,
            _ => true,
        };
        if !(newer && same_user) {
            return over();
        }
        tracing::info!(session = %self.label, "adopting a newer login from the token store; the session goes on");
        self.adopt(stored);
        Ok(())
    }
}

/// The single-flight lock, held; dropping it announces that the flight has landed.
struct Flight<'a> {
    _guard: tokio::sync::MutexGuard<'a, ()>,
    landed: &'a watch::Sender<u64>,
}

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        self.landed.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// Maps a cache error for the hooks, which speak [`AuthError`].
pub(crate) fn to_auth_error(e: &Error) -> AuthError {
    let kind = match e {
        Error::ReauthRequired { .. } | Error::InvalidCredentials { .. } => {
            AuthErrorKind::ReauthRequired
        }
        Error::Transient { .. } | Error::Decode { .. } => AuthErrorKind::Transient,
        Error::Api { status, .. } if *status >= 500 => AuthErrorKind::Transient,
        Error::Api { .. } => AuthErrorKind::ReauthRequired,
        _ => AuthErrorKind::Config,
    };
    // The reason alone: the facade's `From<AuthError>` adds the variant's lead-in again.
    AuthError::new(kind, e.detail())
}

/// One named token of a cached session, as a credential source for the hooks.
#[derive(Debug, Clone)]
pub struct CachedToken {
    cache: Arc<TokenCache>,
    name: &'static str,
}

impl CachedToken {
    /// The token `name` of `cache`'s set.
    pub fn new(cache: Arc<TokenCache>, name: &'static str) -> Self {
        CachedToken { cache, name }
    }
}

impl TokenSource for CachedToken {
    fn token(&self) -> BoxFuture<'_, std::result::Result<Secret, AuthError>> {
        Box::pin(async move {
            // The common case: a fresh token, taken without copying the set.
            if let Some(token) = self.cache.fresh_token(self.name) {
                return Ok(token);
            }
            let tokens = self.cache.current().await.map_err(|e| to_auth_error(&e))?;
            tokens.get(self.name).cloned().ok_or_else(|| {
                AuthError::reauth(format!(
                    "the session holds no `{}` token; log in again",
                    self.name
                ))
            })
        })
    }

    fn token_now(&self) -> Option<Secret> {
        self.cache.fresh_token(self.name)
    }

    fn rejected<'a>(&'a self, rejected: &'a Secret) -> BoxFuture<'a, bool> {
        Box::pin(self.cache.rejected(self.name, rejected))
    }
}

impl RefreshConfig {
    /// Shorthand used by tests: no jitter.
    pub fn without_jitter(mut self) -> Self {
        self.jitter = 0.0;
        self
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::{Duration, UNIX_EPOCH};

    use cxkit_auth::ManualClock;

    use super::*;
    use crate::MemoryTokenStore;

    #[derive(Debug)]
    struct Counting {
        calls: AtomicUsize,
        clock: Arc<ManualClock>,
        fail: bool,
    }

    impl Refresher for Counting {
        fn refresh<'a>(&'a self, _: &'a TokenSet) -> BoxFuture<'a, Result<TokenSet>> {
            Box::pin(async move {
                let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
                if self.fail {
                    return Err(Error::Transient {
                        message: "down".into(),
                        status: Some(503),
                    });
                }
                Ok(set(self.clock.now(), n))
            })
        }
    }

    fn set(now: SystemTime, n: usize) -> TokenSet {
        TokenSet::new(
            [("t".to_owned(), Secret::new(format!("token-{n}")))],
            now,
            now + Duration::from_secs(3600),
        )
    }

    fn cache(fail: bool) -> (Arc<TokenCache>, Arc<Counting>, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(
            UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        ));
        let refresher = Arc::new(Counting {
            calls: AtomicUsize::new(0),
            clock: clock.clone(),
            fail,
        });
        let config = RefreshConfig::default().without_jitter();
        let cache = Arc::new(TokenCache::new(
            "k",
            Arc::new(MemoryTokenStore::new()),
            refresher.clone(),
            clock.clone(),
            config,
        ));
        (cache, refresher, clock)
    }

    #[tokio::test(start_paused = true)]
    async fn background_refresh_refreshes_at_the_refresh_point_once() {
        let (cache, refresher, clock) = cache(false);
        cache.set(set(clock.now(), 0)).await.unwrap();
        // One hour of lifetime, 6-minute margin: due after 54 minutes.
        assert_eq!(
            cache.time_until_refresh(),
            Some(Duration::from_secs(54 * 60))
        );
        let task = tokio::spawn(cache.background_refresh());
        tokio::time::sleep(Duration::from_secs(53 * 60)).await;
        assert_eq!(refresher.calls.load(Ordering::SeqCst), 0);
        clock.advance(Duration::from_secs(54 * 60));
        tokio::time::sleep(Duration::from_secs(2 * 60)).await;
        assert_eq!(refresher.calls.load(Ordering::SeqCst), 1);
        assert_eq!(cache.peek().unwrap().get("t").unwrap().expose(), "token-1");
        drop(cache);
        // The task ends by itself once the cache is gone.
        tokio::time::timeout(Duration::from_secs(3600 * 2), task)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn a_failed_refresh_keeps_the_valid_token_and_is_not_cached() {
        let (cache, refresher, clock) = cache(true);
        cache.set(set(clock.now(), 0)).await.unwrap();
        clock.advance(Duration::from_secs(55 * 60));
        // Due, the refresh fails, the still-valid token is served.
        assert_eq!(
            cache.current().await.unwrap().get("t").unwrap().expose(),
            "token-0"
        );
        assert_eq!(refresher.calls.load(Ordering::SeqCst), 1);
        // Within the retry interval: no new attempt.
        clock.advance(Duration::from_secs(10));
        cache.current().await.unwrap();
        assert_eq!(refresher.calls.load(Ordering::SeqCst), 1);
        // After it: a new attempt.
        clock.advance(Duration::from_secs(30));
        cache.current().await.unwrap();
        assert_eq!(refresher.calls.load(Ordering::SeqCst), 2);
        // Expired: the failure surfaces.
        clock.advance(Duration::from_secs(3600));
        assert!(matches!(
            cache.current().await,
            Err(Error::Transient { .. })
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_share_one_refresh() {
        let (cache, refresher, clock) = cache(false);
        cache.set(set(clock.now(), 0)).await.unwrap();
        clock.advance(Duration::from_secs(59 * 60));
        let calls: Vec<_> = (0..200)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move {
                    cache
                        .current()
                        .await
                        .map(|t| t.get("t").unwrap().expose().to_owned())
                })
            })
            .collect();
        for call in calls {
            assert_eq!(call.await.unwrap().unwrap(), "token-1");
        }
        assert_eq!(refresher.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_rejected_token_forces_one_refresh_and_a_replaced_one_none() {
        let (cache, refresher, clock) = cache(false);
        cache.set(set(clock.now(), 0)).await.unwrap();
        let old = Secret::new("token-0");
        assert!(
            cache.rejected("t", &old).await,
            "a fresh token is available"
        );
        assert_eq!(refresher.calls.load(Ordering::SeqCst), 1);
        // A second request that carried the same old token: already replaced, no refresh.
        assert!(cache.rejected("t", &old).await);
        assert_eq!(refresher.calls.load(Ordering::SeqCst), 1);
    }

    /// A store whose lock lapsed mid-refresh: another process stored newer tokens, and this
    /// holder's save is fenced off.
    #[derive(Debug, Default)]
    struct Overtaken {
        inner: MemoryTokenStore,
        down: std::sync::atomic::AtomicBool,
    }

    impl TokenStore for Overtaken {
        fn load<'a>(
            &'a self,
            key: &'a str,
        ) -> BoxFuture<'a, std::result::Result<Option<TokenSet>, StoreError>> {
            self.inner.load(key)
        }
        fn save<'a>(
            &'a self,
            key: &'a str,
            tokens: &'a TokenSet,
        ) -> BoxFuture<'a, std::result::Result<(), StoreError>> {
            self.inner.save(key, tokens)
        }
        fn delete<'a>(
            &'a self,
            key: &'a str,
        ) -> BoxFuture<'a, std::result::Result<(), StoreError>> {
            self.inner.delete(key)
        }
        fn lock<'a>(
            &'a self,
            key: &'a str,
            wait: Duration,
        ) -> BoxFuture<'a, std::result::Result<Box<dyn StoreLock>, StoreError>> {
            if self.down.load(Ordering::SeqCst) {
                return Box::pin(async { Err(StoreError::Unavailable("down".into())) });
            }
            self.inner.lock(key, wait)
        }
        fn save_locked<'a>(
            &'a self,
            key: &'a str,
            _: &'a TokenSet,
            _: &'a dyn StoreLock,
        ) -> BoxFuture<'a, std::result::Result<(), StoreError>> {
            Box::pin(async move {
                let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000 + 55 * 60);
                self.inner.save(key, &set(now, 99)).await?;
                Err(StoreError::Fenced("overtaken".into()))
            })
        }
    }

    #[tokio::test]
    async fn a_fenced_save_adopts_what_the_newer_holder_stored() {
        let (_, refresher, clock) = cache(false);
        let store = Arc::new(Overtaken::default());
        let cache = TokenCache::new(
            "k",
            store.clone(),
            refresher.clone(),
            clock.clone(),
            RefreshConfig::default().without_jitter(),
        );
        store.inner.save("k", &set(clock.now(), 0)).await.unwrap();
        cache.current().await.unwrap();
        clock.advance(Duration::from_secs(55 * 60));
        let tokens = cache.current().await.unwrap();
        assert_eq!(refresher.calls.load(Ordering::SeqCst), 1);
        assert_eq!(tokens.get("t").unwrap().expose(), "token-99");
        assert_eq!(cache.peek().unwrap().get("t").unwrap().expose(), "token-99");
    }

    #[tokio::test]
    async fn a_store_that_is_down_keeps_valid_tokens_serving_and_is_retried_later() {
        let (_, refresher, clock) = cache(false);
        let store = Arc::new(Overtaken::default());
        let cache = TokenCache::new(
            "k",
            store.clone(),
            refresher.clone(),
            clock.clone(),
            RefreshConfig::default().without_jitter(),
        );
        store.inner.save("k", &set(clock.now(), 0)).await.unwrap();
        cache.current().await.unwrap();
        store.down.store(true, Ordering::SeqCst);
        clock.advance(Duration::from_secs(55 * 60));
        // Due, the store cannot be locked: the valid tokens serve, nothing is refreshed.
        for _ in 0..3 {
            let tokens = cache.current().await.unwrap();
            assert_eq!(tokens.get("t").unwrap().expose(), "token-0");
        }
        assert_eq!(refresher.calls.load(Ordering::SeqCst), 0);
        // Expired while still down: the error surfaces, retryable.
        clock.advance(Duration::from_secs(10 * 60));
        assert!(cache.current().await.unwrap_err().is_retryable());
        // Back: the next attempt refreshes.
        store.down.store(false, Ordering::SeqCst);
        clock.advance(Duration::from_secs(31));
        cache.current().await.unwrap();
        assert_eq!(refresher.calls.load(Ordering::SeqCst), 1);
    }

    /// A memory store shared by "processes", whose next read can be made to fail, and which
    /// counts reads.
    #[derive(Debug, Default)]
    struct Blip {
        inner: MemoryTokenStore,
        fail_next_load: Mutex<Option<StoreError>>,
        loads: AtomicUsize,
    }

    impl TokenStore for Blip {
        fn load<'a>(
            &'a self,
            key: &'a str,
        ) -> BoxFuture<'a, std::result::Result<Option<TokenSet>, StoreError>> {
            self.loads.fetch_add(1, Ordering::SeqCst);
            if let Some(e) = self.fail_next_load.lock().unwrap().take() {
                return Box::pin(async { Err(e) });
            }
            self.inner.load(key)
        }
        fn save<'a>(
            &'a self,
            key: &'a str,
            tokens: &'a TokenSet,
        ) -> BoxFuture<'a, std::result::Result<(), StoreError>> {
            self.inner.save(key, tokens)
        }
        fn delete<'a>(
            &'a self,
            key: &'a str,
        ) -> BoxFuture<'a, std::result::Result<(), StoreError>> {
            self.inner.delete(key)
        }
        fn lock<'a>(
            &'a self,
            key: &'a str,
            wait: Duration,
        ) -> BoxFuture<'a, std::result::Result<Box<dyn StoreLock>, StoreError>> {
            self.inner.lock(key, wait)
        }
    }

    fn on(store: Arc<Blip>, refresher: Arc<dyn Refresher>, clock: Arc<ManualClock>) -> TokenCache {
        TokenCache::new(
            "k",
            store,
            refresher,
            clock,
            RefreshConfig::default().without_jitter(),
        )
    }

    /// A logout made elsewhere while this process holds valid tokens, then one failed read of
    /// the store at this process's refresh point: the logout stands (the store still says
    /// logged out afterwards), and the session ends here too.
    #[tokio::test]
    async fn a_store_read_that_fails_once_never_undoes_a_logout() {
        for blip in [
            StoreError::Unavailable("restarting".into()),
            StoreError::Io("EIO".into()),
            StoreError::Corrupt("torn".into()),
        ] {
            let (_, refresher, clock) = cache(false);
            let store = Arc::new(Blip::default());
            let cache = on(store.clone(), refresher.clone(), clock.clone());
            cache.set(set(clock.now(), 0)).await.unwrap();
            store.inner.delete("k").await.unwrap();
            *store.fail_next_load.lock().unwrap() = Some(blip);
            clock.advance(Duration::from_secs(55 * 60));
            let mut ended = false;
            for _ in 0..3 {
                let outcome = cache.current().await;
                assert!(
                    matches!(store.inner.load("k").await, Err(StoreError::LoggedOut(_))),
                    "the logout was undone"
                );
                if let Err(e) = outcome {
                    assert!(e.is_reauth_required(), "{e:?}");
                    ended = true;
                    break;
                }
                clock.advance(Duration::from_secs(31));
            }
            assert!(ended, "the session ends here too");
        }
    }

    /// Refuses every refresh (the auth service's own rejection) until told otherwise.
    #[derive(Debug)]
    struct Refusing {
        calls: AtomicUsize,
    }

    impl Refresher for Refusing {
        fn refresh<'a>(&'a self, _: &'a TokenSet) -> BoxFuture<'a, Result<TokenSet>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Err(Error::reauth("the refresh was rejected (401)")) })
        }
    }

    /// After a rejected refresh, another process logs the same user in: this session finds
    /// the new login in the store (looking at most once per retry interval) and carries on;
    /// another user's login is never adopted.
    #[tokio::test]
    async fn an_ended_session_adopts_a_newer_login_of_the_same_user() {
        let (_, _, clock) = cache(false);
        let refresher = Arc::new(Refusing {
            calls: AtomicUsize::new(0),
        });
        let store = Arc::new(Blip::default());
        let cache = on(store.clone(), refresher.clone(), clock.clone());
        cache
            .set(set(clock.now(), 0).with_identity("alice"))
            .await
            .unwrap();
        clock.advance(Duration::from_secs(55 * 60));
        assert!(cache.current().await.unwrap_err().is_reauth_required());
        assert_eq!(refresher.calls.load(Ordering::SeqCst), 1);

        // Another user logs in under this key first: not adopted.
        clock.advance(Duration::from_secs(60));
        store
            .inner
            .save("k", &set(clock.now(), 7).with_identity("bob"))
            .await
            .unwrap();
        clock.advance(Duration::from_secs(31));
        assert!(cache.current().await.unwrap_err().is_reauth_required());
        assert!(cache.peek().is_none_or(|t| t.identity() != Some("bob")));

        // The same user logs in elsewhere (`cxkit login`, another replica).
        store
            .inner
            .save("k", &set(clock.now(), 1).with_identity("alice"))
            .await
            .unwrap();
        // Within the retry interval of the last look, the store is not read again.
        let loads = store.loads.load(Ordering::SeqCst);
        clock.advance(Duration::from_secs(1));
        for _ in 0..10 {
            assert!(cache.current().await.is_err());
        }
        assert!(store.loads.load(Ordering::SeqCst) <= loads + 1);
        clock.advance(Duration::from_secs(31));
        let tokens = cache.current().await.expect("the new login is adopted");
        assert_eq!(tokens.get("t").unwrap().expose(), "token-1");
        assert_eq!(
            refresher.calls.load(Ordering::SeqCst),
            1,
            "no refresh was needed"
        );
    }

    /// Warnings name the session by a label that keeps the e-mail (and base URL) in the key
    /// out of the logs.
    #[tokio::test]
    async fn warnings_never_print_the_raw_session_key() {
        #[derive(Clone, Default)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        let (_, refresher, clock) = cache(true);
        let key = "ejento-user-token|https://tenant.example.com|alice@example.com|s1";
        let store = Arc::new(Blip::default());
        let cache = TokenCache::new(
            key,
            store.clone(),
            refresher,
            clock.clone(),
            RefreshConfig::default().without_jitter(),
        );
        cache.set(set(clock.now(), 0)).await.unwrap();
        // A refresh that fails, then a store that cannot be read: both warn.
        clock.advance(Duration::from_secs(55 * 60));
        cache.current().await.unwrap();
        *store.fail_next_load.lock().unwrap() = Some(StoreError::Unavailable("down".into()));
        clock.advance(Duration::from_secs(31));
        cache.current().await.unwrap();
        let logs = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert!(logs.contains("WARN"), "{logs}");
        for private in ["alice@example.com", "alice", "tenant.example.com", key] {
            assert!(!logs.contains(private), "{private} in {logs}");
        }
        assert!(
            logs.contains("ejento-user-token:") && logs.contains(":s1"),
            "{logs}"
        );
        assert!(!format!("{cache:?}").contains("alice"));
    }

    #[tokio::test]
    async fn no_session_means_log_in() {
        let (cache, _, _) = cache(false);
        assert!(cache.current().await.unwrap_err().is_reauth_required());
    }
}
