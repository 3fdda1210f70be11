//! Two OS processes sharing one token file across the refresh point refresh once.
//!
//! The parent test logs in (the tokens land in a `FileTokenStore`), then runs this test binary
//! twice more, each time for `child_calls_a_bearer_op` only, with `CXKIT_CHILD=1`. Both
//! children's clocks stand past the stored tokens' refresh point, so both need a refresh; the
//! store's file lock and re-read make the second adopt what the first wrote. The fake rotates
//! the Authentication App token on refresh, so a child that refreshed with the stale token
//! would be refused. Works under `cargo test` and under nextest (one process per test).

mod support;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use cxkit::{AUTH_APP_TOKEN, Ejento, FileTokenStore, ManualClock, TokenStore};
use cxkit_tests::fake_ejento::{FakeEjento, REFRESH, USERS};
use support::*;

const CHILD: &str = "CXKIT_CHILD";
const FAKE_URL: &str = "CXKIT_FAKE_URL";
const TOKEN_DIR: &str = "CXKIT_TOKEN_DIR";
const CLOCK_SECS: &str = "CXKIT_CLOCK_SECS";
const SESSION: &str = "shared";
const CHILD_OK: &str = "CXKIT-CHILD-OK";

fn session(base: &str, dir: &std::path::Path, clock: Arc<ManualClock>) -> Ejento {
    Ejento::builder()
        .base_url(base)
        .users_base_url(base)
        .store(FileTokenStore::new(dir))
        .session_name(SESSION)
        .clock(clock)
        .refresh(no_jitter())
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
    runtime.block_on(async {
        let ejento = session(&base, dir.as_ref(), clock);
        users_call(&ejento).await.expect("the bearer call succeeds");
    });
    println!("{CHILD_OK}");
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
            cxkit_tests::fake_ejento::USER,
            &cxkit::Secret::new(cxkit_tests::fake_ejento::PASSWORD_OF_USER),
        )
        .await
        .unwrap();
    let first = fake.last_issued();

    // Both children stand 55 minutes after the login: past the refresh point (54 min), before
    // expiry (60 min).
    let child_now = T0_SECS + REFRESH_POINT.as_secs() + 60;
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "child_calls_a_bearer_op",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD, "1")
                .env(FAKE_URL, fake.base_url())
                .env(TOKEN_DIR, dir.path())
                .env(CLOCK_SECS, child_now.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = tokio::task::spawn_blocking(move || child.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains(CHILD_OK),
            "child failed: {}\nstdout:\n{stdout}\nstderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
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
