//! Two OS processes sharing one token file across the refresh point refresh once.
//!
//! The parent test logs in (the tokens land in a `FileTokenStore`), then runs this test binary
//! twice more, each time for `child_calls_a_bearer_op` only, with `CXKIT_CHILD=1`. Both
//! children's clocks stand past the stored tokens' refresh point, so both need a refresh; the
//! store's file lock and re-read make the second adopt what the first wrote. The fake rotates
//! the Authentication App token on refresh, so a child that refreshed with the stale token
//! would be refused. Works under `cargo test` and under nextest (one process per test).
//!
//! A logout in one process sticks for another: a child logs the shared session out, and the
//! parent, which still holds valid tokens, gets `ReauthRequired` at its refresh point instead
//! of refreshing the session back to life.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use crate::support::*;
use cxkit::{AUTH_APP_TOKEN, Ejento, FileTokenStore, ManualClock, TokenStore};
use cxkit_testkit::ejento::{FakeEjento, REFRESH, USERS};

const CHILD: &str = "CXKIT_CHILD";
const FAKE_URL: &str = "CXKIT_FAKE_URL";
const TOKEN_DIR: &str = "CXKIT_TOKEN_DIR";
const CLOCK_SECS: &str = "CXKIT_CLOCK_SECS";
const SESSION: &str = "shared";
const CHILD_OK: &str = "CXKIT-CHILD-OK";
/// What the child does: a bearer call (the default) or `logout`.
const ACTION: &str = "CXKIT_CHILD_ACTION";

fn session(base: &str, dir: &std::path::Path, clock: Arc<ManualClock>) -> Ejento {
    Ejento::builder()
        .config(
            &cxkit::Config::builder()
                .store(FileTokenStore::new(dir))
                .clock(clock)
                .refresh(no_jitter())
                .build()
                .expect("config"),
        )
        .base_url(base)
        .users_base_url(base)
        .session_name(SESSION)
        .build()
        .unwrap()
}

/// Runs only in a child process; a no-op otherwise.
#[test]
fn child_calls_a_bearer_op() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let base = std::env::var(FAKE_URL).unwrap();
    let dir = std::env::var_os(TOKEN_DIR).unwrap();
    let secs: u64 = std::env::var(CLOCK_SECS).unwrap().parse().unwrap();
    let clock = Arc::new(ManualClock::new(UNIX_EPOCH + Duration::from_secs(secs)));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let logout = std::env::var(ACTION).is_ok_and(|a| a == "logout");
    runtime.block_on(async {
        let ejento = session(&base, dir.as_ref(), clock);
        if logout {
            ejento.logout().await.expect("the logout succeeds");
        } else {
            users_call(&ejento).await.expect("the bearer call succeeds");
        }
    });
    println!("{CHILD_OK}");
}

/// Runs this test binary as a child doing `action` on the shared session.
fn spawn_child(base: &str, dir: &std::path::Path, now_secs: u64, action: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "two_processes::child_calls_a_bearer_op",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env(ACTION, action)
        .env(FAKE_URL, base)
        .env(TOKEN_DIR, dir)
        .env(CLOCK_SECS, now_secs.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_in_another_process_sticks() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let fake = FakeEjento::start().await;
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let parent = session(fake.base_url(), dir.path(), clock.clone());
    parent
        .login_password(
            cxkit_testkit::ejento::USER,
            &cxkit::Secret::new(cxkit_testkit::ejento::PASSWORD_OF_USER),
        )
        .await
        .unwrap();

    child_succeeded(
        spawn_child(fake.base_url(), dir.path(), T0_SECS + 60, "logout"),
        CHILD_OK,
    )
    .await;

    // The parent's tokens are still valid, but due: it must not refresh them back to life.
    clock.advance(REFRESH_POINT + Duration::from_secs(60));
    let err = users_call(&parent).await.unwrap_err();
    assert!(err.is_reauth_required(), "{err:?}");
    assert_eq!(fake.refresh_calls(), 0);
    assert!(fake.requests_to(USERS).is_empty());
    let key = format!("ejento|{}|{SESSION}", fake.base_url());
    let stored = FileTokenStore::new(dir.path()).load(&key).await;
    assert!(
        stored.is_err_and(|e| cxkit::Error::from(e).is_reauth_required()),
        "the store still says logged out"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_sharing_a_token_file_refresh_once() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let fake = FakeEjento::start().await;
    fake.set_rotate_on_refresh(true);
    // Holding the first refresh open a little makes it likely that the second child is
    // waiting on the file lock meanwhile (the assertions hold either way).
    fake.delay_refreshes(Duration::from_millis(300));
    let dir = tempfile::tempdir().unwrap();
    let parent = session(fake.base_url(), dir.path(), clock());
    parent
        .login_password(
            cxkit_testkit::ejento::USER,
            &cxkit::Secret::new(cxkit_testkit::ejento::PASSWORD_OF_USER),
        )
        .await
        .unwrap();
    let first = fake.last_issued();

    // Both children stand 55 minutes after the login: past the refresh point (54 min), before
    // expiry (60 min).
    let child_now = T0_SECS + REFRESH_POINT.as_secs() + 60;
    let children: Vec<_> = (0..2)
        .map(|_| spawn_child(fake.base_url(), dir.path(), child_now, "call"))
        .collect();
    for child in children {
        child_succeeded(child, CHILD_OK).await;
    }

    assert_eq!(fake.refresh_calls(), 1);
    let second = fake.last_issued();
    assert_eq!(second.n, first.n + 1);
    assert_eq!(
        fake.requests_to(REFRESH)[0].bearer(),
        Some(first.auth_app.as_str())
    );
    let users = fake.requests_to(USERS);
    assert_eq!(users.len(), 2);
    for r in &users {
        assert_eq!(r.bearer(), Some(second.auth_app.as_str()));
    }
    // The file holds the refreshed tokens.
    let key = format!("ejento|{}|{SESSION}", fake.base_url());
    let stored = FileTokenStore::new(dir.path())
        .load(&key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.get(AUTH_APP_TOKEN).unwrap().expose(),
        second.auth_app
    );
}
