//! Helpers shared by the test binaries (each binary uses a different subset).
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cxkit::{
    AUTH_APP_TOKEN, Config, ConfigBuilder, EJENTO_TOKEN, Ejento, EjentoBuilder, ManualClock,
    RefreshConfig, Secret,
};
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

/// [`builder`], built and logged in as [`USER`].
pub async fn logged_in(fake: &FakeEjento, clock: &Arc<ManualClock>) -> Ejento {
    let ejento = builder(fake, clock).build().expect("build");
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
