//! The set-up the suites share: the clock, the settings, a logged-in session, and a token store
//! whose reads can be made to fail.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cxkit::{
    AUTH_APP_TOKEN, Config, ConfigBuilder, EJENTO_TOKEN, Ejento, EjentoBuilder, ManualClock,
    RefreshConfig, Secret,
};
use cxkit_testkit::capture::Capture;
use cxkit_testkit::ejento::{FakeEjento, PASSWORD_OF_USER, USER};

/// Seconds since the epoch of [`t0`].
pub const T0_SECS: u64 = 1_800_000_000;

/// Where every manual clock starts.
pub fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0_SECS)
}

/// The fake's default token lifetime.
pub const LIFETIME: Duration = Duration::from_secs(3600);

/// With the default margin (max(5 min, 10 % of 1 h) = 6 min) and no jitter, one-hour tokens
/// obtained at t0 are refreshed from t0 + 54 min on.
pub const REFRESH_POINT: Duration = Duration::from_secs(3600 - 360);

/// A manual clock at [`t0`].
pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(t0()))
}

/// The default refresh configuration without jitter, so refresh points are exact.
pub fn no_jitter() -> RefreshConfig {
    RefreshConfig::default().without_jitter()
}

/// The shared settings of a test session: `clock`, no jitter; add a store or another refresh
/// policy before [`builder_with`].
pub fn config(clock: &Arc<ManualClock>) -> ConfigBuilder {
    Config::builder().clock(clock.clone()).refresh(no_jitter())
}

/// Shared settings with no retries, for tests that count calls or expect the first answer.
pub fn no_retries() -> Config {
    Config::builder()
        .retry(cxkit::RetryPolicy::never())
        .build()
        .expect("config")
}

/// A session against `fake` on `clock`, memory store, no jitter. The fake serves the older
/// guide's users API too, so it is also the users host.
pub fn builder(fake: &FakeEjento, clock: &Arc<ManualClock>) -> EjentoBuilder {
    builder_with(fake, config(clock))
}

/// [`builder`] with these shared settings (from [`config`]).
pub fn builder_with(fake: &FakeEjento, config: ConfigBuilder) -> EjentoBuilder {
    Ejento::builder()
        .config(&config.build().expect("config"))
        .base_url(fake.base_url())
        .users_base_url(fake.base_url())
}

/// A session on `config` whose Authentication App and platform are `fake`, logged in as
/// [`USER`]: where most suites start.
pub async fn logged_in(fake: &FakeEjento, config: &Config) -> Ejento {
    log_in(
        Ejento::builder()
            .config(config)
            .base_url(fake.base_url())
            .build()
            .expect("build"),
    )
    .await
}

/// [`builder`] (the clock, the fake as users host too), built and logged in as [`USER`].
pub async fn logged_in_at(fake: &FakeEjento, clock: &Arc<ManualClock>) -> Ejento {
    log_in(builder(fake, clock).build().expect("build")).await
}

/// Logs `ejento` in as [`USER`] (a session built some other way).
pub async fn log_in(ejento: Ejento) -> Ejento {
    ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .expect("login");
    ejento
}

/// A call through a generated operation that needs the Authentication App bearer token (a
/// GET, so retried on transient failures), on the users host (the session must set
/// `users_base_url` to the fake, as [`builder`] does).
pub async fn users_call(ejento: &Ejento) -> cxkit::Result<()> {
    ejento.users()?.read_all_users().send().await?;
    Ok(())
}

/// The login feature flags: a public Authentication App call (a GET, so retried on transient
/// failures), on the session's base URL.
pub async fn flags_call(ejento: &Ejento) -> cxkit::Result<()> {
    ejento.auth().get_login_feature_flags().send().await?;
    Ok(())
}

/// Asserts that `err` is a transient failure with `status` (`None`: no answer came).
#[track_caller]
pub fn assert_transient(err: &cxkit::Error, status: Option<u16>) {
    assert!(
        matches!(err, cxkit::Error::Transient { status: s, .. } if *s == status),
        "{err:?}"
    );
}

/// The Authentication App token the session holds now.
pub fn held_auth_app(ejento: &Ejento) -> String {
    held(ejento, AUTH_APP_TOKEN)
}

/// The Ejento token the session holds now.
pub fn held_ejento(ejento: &Ejento) -> String {
    held(ejento, EJENTO_TOKEN)
}

fn held(ejento: &Ejento, name: &str) -> String {
    ejento
        .token_cache()
        .peek()
        .expect("the session holds tokens")
        .get(name)
        .expect("the token is in the set")
        .expose()
        .to_owned()
}

/// Waits for a child test process and asserts it exited successfully after printing `ok_line`
/// (the child's own test passed, not merely "no test matched"), showing its output otherwise.
pub async fn child_succeeded(child: std::process::Child, ok_line: &str) {
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains(ok_line),
        "child failed: {}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A token store (any) whose reads can be made to fail, as a store's blip would: `fail_loads`
/// makes the next reads fail with the given error (one each). Everything else goes through.
#[derive(Debug)]
pub struct Blip<S> {
    pub inner: S,
    failures: std::sync::Mutex<std::collections::VecDeque<cxkit::StoreError>>,
    pub loads: std::sync::atomic::AtomicUsize,
    /// Every this many reads, one fails (0: none), alternately unavailable and an I/O error.
    every: std::sync::atomic::AtomicUsize,
    /// How many reads were made to fail.
    pub failed: std::sync::atomic::AtomicUsize,
}

impl<S> Blip<S> {
    pub fn new(inner: S) -> Self {
        Blip {
            inner,
            failures: Default::default(),
            loads: Default::default(),
            every: Default::default(),
            failed: Default::default(),
        }
    }

    /// One read in every `n` fails from now on (0: none).
    pub fn fail_every(&self, n: usize) {
        self.every.store(n, std::sync::atomic::Ordering::SeqCst);
    }

    /// The next reads fail with `errors`, in order.
    pub fn fail_loads(&self, errors: impl IntoIterator<Item = cxkit::StoreError>) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(errors);
    }
}

type StoreResult<T> = Result<T, cxkit::StoreError>;

impl<S: cxkit::TokenStore> cxkit::TokenStore for Blip<S> {
    fn load<'a>(
        &'a self,
        key: &'a str,
    ) -> futures::future::BoxFuture<'a, StoreResult<Option<cxkit::TokenSet>>> {
        use std::sync::atomic::Ordering::SeqCst;
        let n = self.loads.fetch_add(1, SeqCst) + 1;
        let every = self.every.load(SeqCst);
        let failure = self
            .failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
            .or_else(|| {
                (every > 0 && n.is_multiple_of(every)).then(|| {
                    if (n / every).is_multiple_of(2) {
                        cxkit::StoreError::Unavailable("a read made to fail".into())
                    } else {
                        cxkit::StoreError::Io("a read made to fail".into())
                    }
                })
            });
        match failure {
            Some(e) => {
                self.failed.fetch_add(1, SeqCst);
                Box::pin(async move { Err(e) })
            }
            None => self.inner.load(key),
        }
    }
    fn save<'a>(
        &'a self,
        key: &'a str,
        tokens: &'a cxkit::TokenSet,
    ) -> futures::future::BoxFuture<'a, StoreResult<()>> {
        self.inner.save(key, tokens)
    }
    fn delete<'a>(&'a self, key: &'a str) -> futures::future::BoxFuture<'a, StoreResult<()>> {
        self.inner.delete(key)
    }
    fn lock<'a>(
        &'a self,
        key: &'a str,
        wait: Duration,
    ) -> futures::future::BoxFuture<'a, StoreResult<Box<dyn cxkit::StoreLock>>> {
        self.inner.lock(key, wait)
    }
    fn save_locked<'a>(
        &'a self,
        key: &'a str,
        tokens: &'a cxkit::TokenSet,
        lock: &'a dyn cxkit::StoreLock,
    ) -> futures::future::BoxFuture<'a, StoreResult<()>> {
        self.inner.save_locked(key, tokens, lock)
    }
    fn delete_locked<'a>(
        &'a self,
        key: &'a str,
        lock: &'a dyn cxkit::StoreLock,
    ) -> futures::future::BoxFuture<'a, StoreResult<()>> {
        self.inner.delete_locked(key, lock)
    }
    fn save_refreshed<'a>(
        &'a self,
        key: &'a str,
        tokens: &'a cxkit::TokenSet,
        lock: &'a dyn cxkit::StoreLock,
    ) -> futures::future::BoxFuture<'a, StoreResult<()>> {
        self.inner.save_refreshed(key, tokens, lock)
    }
}

/// The log capture of this process: every test that reads the logs reads this one. A process has
/// one global subscriber, and the suites share a process, so it is installed once (at TRACE
/// level) and holds every test's lines; each test looks for values of its own (its canaries,
/// its request id), and a secret in any test's lines is a failure for whoever reads them.
pub fn logs() -> &'static Capture {
    static LOGS: OnceLock<Capture> = OnceLock::new();
    LOGS.get_or_init(|| {
        let capture = Capture::new();
        assert!(
            capture.install_global(),
            "nothing else in this binary installs a global subscriber"
        );
        capture
    })
}
