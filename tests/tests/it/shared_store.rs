//! A token store on a shared host: a lock another process holds, a directory or files that
//! others could tamper with, leftovers of a killed writer, logout in one process, and another
//! user's session in the shared entry. Sessions built on separate `FileTokenStore` values over
//! one directory behave like separate processes: the OS file lock is per open file description.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::support::*;
use cxkit::{
    AUTH_APP_TOKEN, Ejento, Error, FileTokenStore, ManualClock, RefreshConfig, Secret, StoreError,
    TokenStore,
};
use cxkit_testkit::ejento::{FakeEjento, PASSWORD_OF_USER, USER, USERS};

const SESSION: &str = "cli";

fn key(fake: &FakeEjento) -> String {
    format!("ejento|{}|{SESSION}", fake.base_url())
}

fn lock_path(store: &FileTokenStore, key: &str) -> PathBuf {
    store.path_for(key).with_extension("lock")
}

/// A session named [`SESSION`] over its own `FileTokenStore` on `dir`, as another process
/// would build it.
fn process(fake: &FakeEjento, clock: &Arc<ManualClock>, dir: &Path) -> Ejento {
    builder_with(fake, config(clock).store(FileTokenStore::new(dir)))
        .session_name(SESSION)
        .build()
        .unwrap()
}

async fn login(ejento: &Ejento, user: &str, password: &str) {
    ejento
        .login_password(user, &Secret::new(password))
        .await
        .expect("login");
}

fn config_message(err: StoreError) -> String {
    match Error::from(err) {
        Error::Config { message } => message,
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

/// Takes the OS lock on `path` through an open file description of its own, as another process
/// holding the store's lock would.
fn hold_lock(path: &Path) -> std::fs::File {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .unwrap();
    file.lock().unwrap();
    file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_store_lock_bounds_login_and_startup_by_the_acquire_timeout() {
    let fake = FakeEjento::start().await;
    let clock = clock();
    let dir = tempfile::tempdir().unwrap();
    let store = FileTokenStore::new(dir.path());
    let lock = lock_path(&store, &key(&fake));
    let refresh = RefreshConfig {
        acquire_timeout: Duration::from_millis(300),
        ..no_jitter()
    };
    let ejento = builder_with(
        &fake,
        config(&clock).store(store.clone()).refresh(refresh.clone()),
    )
    .session_name(SESSION)
    .build()
    .unwrap();

    let holder = hold_lock(&lock);
    // The outer timeout only keeps a regression from hanging the suite; the bound under test
    // is the 300 ms acquire timeout.
    let first_login = tokio::time::timeout(
        Duration::from_secs(20),
        ejento.login_password(USER, &Secret::new(PASSWORD_OF_USER)),
    )
    .await;
    // A session on startup (nothing in memory) reads the store under the same lock.
    let startup = tokio::time::timeout(Duration::from_secs(20), ejento.session()).await;
    // Let a login stuck on the lock finish, so that a regression fails instead of hanging.
    drop(holder);

    for (what, outcome) in [
        ("login", first_login.map(|r| r.map(|_| ()))),
        ("startup", startup.map(|r| r.map(|_| ()))),
    ] {
        let err = outcome
            .unwrap_or_else(|_| panic!("{what} waited for the lock beyond the acquire timeout"))
            .expect_err("the lock is held by another");
        assert!(matches!(err, Error::Transient { .. }), "{what}: {err:?}");
        let text = err.to_string();
        assert!(
            text.contains(&lock.display().to_string()),
            "{what}: the error names the lock file: {text}"
        );
    }
    assert!(fake.requests_to(USERS).is_empty());

    // Once the other holder lets go, the same session logs in.
    login(&ejento, USER, PASSWORD_OF_USER).await;
    users_call(&ejento).await.unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn a_directory_others_can_write_is_refused_with_the_fix() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    let store = FileTokenStore::new(&tokens);
    store.save("k", &a_token_set()).await.unwrap();
    for mode in [0o770, 0o707, 0o777] {
        std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(mode)).unwrap();
        let results = [
            store.load("k").await.map(|_| ()),
            store.save("k", &a_token_set()).await,
            store.lock("k", Duration::from_secs(1)).await.map(|_| ()),
        ];
        for result in results {
            let message = config_message(result.expect_err("the store refuses the directory"));
            assert!(
                message.contains(&tokens.display().to_string()) && message.contains("chmod"),
                "{mode:o}: {message}"
            );
        }
    }
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(store.load("k").await.unwrap(), Some(a_token_set()));
}

#[cfg(unix)]
#[tokio::test]
async fn a_token_file_owned_by_another_user_is_refused() {
    use std::os::unix::fs::MetadataExt as _;
    let dir = tempfile::tempdir().unwrap();
    let store = FileTokenStore::new(dir.path());
    store.save("k", &a_token_set()).await.unwrap();
    let path = store.path_for("k");
    let me = std::fs::metadata(&path).unwrap().uid();
    let other = if me == 65534 { 65533 } else { 65534 };
    if let Err(e) = std::os::unix::fs::chown(&path, Some(other), None) {
        // Only root (or CAP_CHOWN) can give a file away; tests run as root here and in CI.
        eprintln!("skipped: cannot chown a file to another user as uid {me}: {e}");
        return;
    }
    let message = config_message(store.load("k").await.expect_err("refused"));
    assert!(
        message.contains(&path.display().to_string()) && message.contains("owned by"),
        "{message}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn symlinked_token_and_lock_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileTokenStore::new(dir.path().join("tokens"));
    // A real token file for the same key elsewhere, and links to it where the store looks.
    let elsewhere = FileTokenStore::new(dir.path().join("elsewhere"));
    elsewhere.save("k", &a_token_set()).await.unwrap();
    store.save("other", &a_token_set()).await.unwrap();
    std::os::unix::fs::symlink(elsewhere.path_for("k"), store.path_for("k")).unwrap();
    let message = config_message(store.load("k").await.expect_err("refused"));
    assert!(
        message.contains(&store.path_for("k").display().to_string())
            && message.contains("symbolic link"),
        "{message}"
    );

    let lock = lock_path(&store, "other");
    std::fs::write(dir.path().join("target.lock"), b"").unwrap();
    std::os::unix::fs::symlink(dir.path().join("target.lock"), &lock).unwrap();
    let message = config_message(
        store
            .lock("other", Duration::from_secs(1))
            .await
            .expect_err("refused"),
    );
    assert!(
        message.contains(&lock.display().to_string()) && message.contains("symbolic link"),
        "{message}"
    );
}

#[tokio::test]
async fn a_killed_writers_temporary_files_are_removed() {
    let fake = FakeEjento::start().await;
    let clock = clock();
    let dir = tempfile::tempdir().unwrap();
    let store = FileTokenStore::new(dir.path());
    let token_file = store.path_for(&key(&fake));
    // What a writer killed between creating and renaming its temporary file leaves behind.
    let leftover = token_file.with_extension("json.tmp-4242-17");
    std::fs::write(&leftover, b"{\"format\":\"cxkit-tokens/1\",\"ke").unwrap();
    // Another session's file in the same directory is not touched.
    let unrelated = store
        .path_for("another session")
        .with_extension("json.tmp-4242-18");
    std::fs::write(&unrelated, b"").unwrap();

    let ejento = process(&fake, &clock, dir.path());
    login(&ejento, USER, PASSWORD_OF_USER).await;
    assert!(!leftover.exists(), "the leftover temporary file is removed");
    assert!(unrelated.exists());
    assert!(token_file.exists());
}

#[tokio::test]
async fn logout_in_one_process_sticks_for_every_process_sharing_the_store() {
    let fake = FakeEjento::start().await;
    let clock = clock();
    let dir = tempfile::tempdir().unwrap();
    let a = process(&fake, &clock, dir.path());
    let b = process(&fake, &clock, dir.path());
    login(&a, USER, PASSWORD_OF_USER).await;
    // B resumes the stored session, as a second process would.
    b.session().await.unwrap();
    assert_eq!(held_auth_app(&b), fake.last_issued().auth_app);

    a.logout().await.unwrap();
    // Past B's refresh point: B would refresh its (still valid) tokens back to life.
    clock.advance(REFRESH_POINT + Duration::from_secs(1));
    let err = users_call(&b).await.unwrap_err();
    assert!(err.is_reauth_required(), "{err:?}");
    assert!(err.to_string().contains("logged out"), "{err}");
    assert_eq!(fake.refresh_calls(), 0);
    assert!(fake.requests_to(USERS).is_empty());
    assert!(b.token_cache().peek().is_none());
    let store = FileTokenStore::new(dir.path());
    assert!(
        store
            .load(&key(&fake))
            .await
            .is_err_and(|e| matches!(Error::from(e), Error::ReauthRequired { .. }))
    );
    // A process started after the logout finds no session either.
    let c = process(&fake, &clock, dir.path());
    assert!(c.session().await.unwrap_err().is_reauth_required());

    // A new login, in any process, ends the logout for all of them.
    login(&c, USER, PASSWORD_OF_USER).await;
    b.session().await.unwrap();
    assert_eq!(held_auth_app(&b), fake.last_issued().auth_app);
}

#[tokio::test]
async fn a_session_never_adopts_another_users_tokens_from_the_shared_entry() {
    const BOB: &str = "bob@example.com";
    const BOBS_PASSWORD: &str = "bobs-password";
    let fake = FakeEjento::start().await;
    fake.add_user(BOB, BOBS_PASSWORD);
    let clock = clock();
    let dir = tempfile::tempdir().unwrap();
    let alice = process(&fake, &clock, dir.path());
    login(&alice, USER, PASSWORD_OF_USER).await;
    clock.advance(Duration::from_secs(10 * 60));
    // Bob logs in under the same session name on the same host.
    let bob = process(&fake, &clock, dir.path());
    login(&bob, BOB, BOBS_PASSWORD).await;
    let bobs = fake.last_issued();
    assert_eq!(bobs.sub, BOB);

    // Alice's tokens come due; Bob's, in the shared entry, are newer and fresh.
    clock.advance(REFRESH_POINT - Duration::from_secs(10 * 60) + Duration::from_secs(1));
    let err = users_call(&alice).await.unwrap_err();
    assert!(err.is_reauth_required(), "{err:?}");
    assert!(err.to_string().contains("another user"), "{err}");
    assert!(
        fake.requests_to(USERS).is_empty(),
        "no call went out, least of all with Bob's token"
    );
    assert!(alice.token_cache().peek().is_none());
    // Bob's entry is untouched.
    let stored = FileTokenStore::new(dir.path())
        .load(&key(&fake))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.get(AUTH_APP_TOKEN).unwrap().expose(), bobs.auth_app);
    users_call(&bob).await.unwrap();
}

fn a_token_set() -> cxkit::TokenSet {
    cxkit::TokenSet::new(
        [("a".to_owned(), Secret::new("canary-a"))],
        t0(),
        t0() + LIFETIME,
    )
}

/// The same guarantees hold for sessions sharing one `MemoryTokenStore` (the trait's contract,
/// not a file-store special).
#[tokio::test]
async fn sessions_sharing_a_memory_store_honour_logouts_and_identities() {
    const BOB: &str = "bob@example.com";
    let fake = FakeEjento::start().await;
    fake.add_user(BOB, "bobs-password");
    let clock = clock();
    let store: Arc<dyn TokenStore> = Arc::new(cxkit::MemoryTokenStore::new());
    let session = || {
        builder_with(&fake, config(&clock).shared_store(store.clone()))
            .session_name(SESSION)
            .build()
            .unwrap()
    };
    let (a, b) = (session(), session());
    login(&a, USER, PASSWORD_OF_USER).await;
    b.session().await.unwrap();
    a.logout().await.unwrap();
    clock.advance(REFRESH_POINT + Duration::from_secs(1));
    assert!(users_call(&b).await.unwrap_err().is_reauth_required());
    assert_eq!(fake.refresh_calls(), 0);

    login(&a, USER, PASSWORD_OF_USER).await;
    clock.advance(Duration::from_secs(60));
    login(&b, BOB, "bobs-password").await;
    // Alice's tokens are due, Bob's newer ones are not.
    clock.advance(REFRESH_POINT - Duration::from_secs(30));
    let err = users_call(&a).await.unwrap_err();
    assert!(err.to_string().contains("another user"), "{err}");
    assert!(fake.requests_to(USERS).is_empty());
}

/// Another process logs the shared session out; this one, which still holds valid tokens,
/// fails to read the store once at its refresh point (a blip): the logout stands for every
/// process, and this one learns of it too.
#[tokio::test]
async fn a_store_read_blip_never_undoes_a_logout() {
    for blip in [
        StoreError::Io("EIO".into()),
        StoreError::Corrupt("torn read".into()),
    ] {
        let fake = FakeEjento::start().await;
        let clock = clock();
        let dir = tempfile::tempdir().unwrap();
        let flaky = Arc::new(Blip::new(FileTokenStore::new(dir.path())));
        let a = builder_with(&fake, config(&clock).shared_store(flaky.clone()))
            .session_name(SESSION)
            .build()
            .unwrap();
        login(&a, USER, PASSWORD_OF_USER).await;
        let b = process(&fake, &clock, dir.path());
        b.logout().await.unwrap();

        flaky.fail_loads([blip]);
        clock.advance(REFRESH_POINT + Duration::from_secs(1));
        let mut ended = false;
        for _ in 0..3 {
            let outcome = users_call(&a).await;
            let stored = FileTokenStore::new(dir.path()).load(&key(&fake)).await;
            assert!(
                matches!(stored, Err(StoreError::LoggedOut(_))),
                "the logout was undone: {stored:?}"
            );
            if let Err(e) = outcome {
                assert!(e.is_reauth_required(), "{e:?}");
                ended = true;
                break;
            }
            clock.advance(Duration::from_secs(31));
        }
        assert!(ended);
        // A login (and only a login) ends the logout.
        login(&b, USER, PASSWORD_OF_USER).await;
        users_call(&a).await.unwrap();
    }
}

/// A session whose refresh the auth service rejected, and the same user logging in again in
/// another process (`cxkit login`, another replica): the ended session finds the new login in
/// the shared store and carries on, without a restart.
#[tokio::test]
async fn an_ended_session_adopts_a_login_made_in_another_process() {
    let fake = FakeEjento::start().await;
    let clock = clock();
    let dir = tempfile::tempdir().unwrap();
    let daemon = process(&fake, &clock, dir.path());
    login(&daemon, USER, PASSWORD_OF_USER).await;
    fake.revoke_all();
    clock.advance(REFRESH_POINT + Duration::from_secs(1));
    assert!(users_call(&daemon).await.unwrap_err().is_reauth_required());
    assert_eq!(fake.refresh_calls(), 1);

    let cli = process(&fake, &clock, dir.path());
    login(&cli, USER, PASSWORD_OF_USER).await;
    clock.advance(Duration::from_secs(31));
    users_call(&daemon)
        .await
        .expect("the daemon adopts the new login");
    assert_eq!(held_auth_app(&daemon), fake.last_issued().auth_app);
    assert_eq!(fake.refresh_calls(), 1);
}

/// A session key longer than a file name may be (a long base URL and session name) works with
/// the file store, as a short one does.
#[tokio::test]
async fn a_long_session_key_works_with_the_file_store() {
    let fake = FakeEjento::start().await;
    let clock = clock();
    let dir = tempfile::tempdir().unwrap();
    let session = format!("nightly-{}", "report-".repeat(30));
    let build = || {
        builder_with(&fake, config(&clock).store(FileTokenStore::new(dir.path())))
            .session_name(&session)
            .build()
            .unwrap()
    };
    let ejento = build();
    login(&ejento, USER, PASSWORD_OF_USER).await;
    users_call(&ejento).await.unwrap();
    // Another process finds it.
    build().session().await.unwrap();
}
