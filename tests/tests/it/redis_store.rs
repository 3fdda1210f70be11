//! A fleet sharing one session through `RedisTokenStore`, against a real `redis-server` on a
//! loopback port: OS processes refreshing once across an expiry, a lock holder killed
//! mid-refresh, Redis restarted mid-run, a stale holder fenced off, logout reaching another
//! process, and encryption at rest.
//!
//! Child processes are this test binary run again for `child` only (as in `two_processes.rs`),
//! with `CXKIT_REDIS_CHILD=1` and what to do in the environment.

use crate::support;

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use crate::support::*;
use cxkit::{
    AUTH_APP_TOKEN, Ejento, ManualClock, RedisTokenStore, Secret, StoreError, TokenCipher,
    TokenSet, TokenStore,
};
use cxkit_testkit::ejento::{FakeEjento, PASSWORD_OF_USER, REFRESH, USER, USERS};
use cxkit_testkit::redis_server::RedisServer;

const CHILD: &str = "CXKIT_REDIS_CHILD";
const FAKE_URL: &str = "CXKIT_FAKE_URL";
const REDIS_URL: &str = "CXKIT_REDIS_URL";
const CLOCK_SECS: &str = "CXKIT_CLOCK_SECS";
const ACTION: &str = "CXKIT_CHILD_ACTION";
const CALLERS: &str = "CXKIT_CHILD_CALLERS";
const LEASE_MS: &str = "CXKIT_LEASE_MS";
const CHILD_OK: &str = "CXKIT-REDIS-CHILD-OK";
const SESSION: &str = "fleet";

fn store(url: &str, lease: Duration) -> RedisTokenStore {
    RedisTokenStore::builder(&Secret::new(url))
        .lease(lease)
        .timeout(Duration::from_millis(500))
        .build()
        .expect("a loopback Redis URL")
}

fn session(fake_url: &str, store: RedisTokenStore, clock: Arc<ManualClock>) -> Ejento {
    let config = cxkit::Config::builder()
        .store(store)
        .clock(clock)
        .refresh(no_jitter())
        .build()
        .unwrap();
    Ejento::builder()
        .config(&config)
        .base_url(fake_url)
        .users_base_url(fake_url)
        .session_name(SESSION)
        .build()
        .unwrap()
}

async fn login(ejento: &Ejento) {
    ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .expect("login");
}

/// Runs only in a child process: `callers` concurrent bearer calls (or a logout) on the shared
/// session, on a clock standing at `CXKIT_CLOCK_SECS`.
#[test]
fn child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let var = |name: &str| std::env::var(name).unwrap();
    let clock = Arc::new(ManualClock::new(
        UNIX_EPOCH + Duration::from_secs(var(CLOCK_SECS).parse().unwrap()),
    ));
    let callers: usize = var(CALLERS).parse().unwrap();
    let lease = Duration::from_millis(var(LEASE_MS).parse().unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let ejento = session(&var(FAKE_URL), store(&var(REDIS_URL), lease), clock);
        if var(ACTION) == "logout" {
            ejento.logout().await.expect("the logout succeeds");
            return;
        }
        let calls: Vec<_> = (0..callers)
            .map(|_| {
                let ejento = ejento.clone();
                tokio::spawn(async move { users_call(&ejento).await })
            })
            .collect();
        for call in calls {
            call.await.unwrap().expect("every call succeeds");
        }
    });
    println!("{CHILD_OK}");
}

struct Spawn<'a> {
    fake: &'a FakeEjento,
    redis: &'a RedisServer,
    now_secs: u64,
    lease: Duration,
}

impl Spawn<'_> {
    fn child(&self, action: &str, callers: usize) -> Child {
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "redis_store::child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .env(ACTION, action)
            .env(CALLERS, callers.to_string())
            .env(FAKE_URL, self.fake.base_url())
            .env(REDIS_URL, self.redis.url())
            .env(CLOCK_SECS, self.now_secs.to_string())
            .env(LEASE_MS, self.lease.as_millis().to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }
}

fn is_parent() -> bool {
    std::env::var_os(CHILD).is_none()
}

/// The clock of processes standing past the refresh point (54 min) of tokens obtained at t0,
/// before their expiry (60 min).
const DUE_SECS: u64 = T0_SECS + REFRESH_POINT.as_secs() + 60;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_of_250_callers_refresh_once_across_an_expiry() {
    if !is_parent() {
        return;
    }
    let redis = RedisServer::start();
    let fake = FakeEjento::start().await;
    fake.set_rotate_on_refresh(true);
    // Held open a little, so that the other processes are waiting on the lease meanwhile.
    fake.delay_refreshes(Duration::from_millis(300));
    let lease = Duration::from_secs(15);
    let parent = session(fake.base_url(), store(&redis.url(), lease), clock());
    login(&parent).await;
    let first = fake.last_issued();

    let spawn = Spawn {
        fake: &fake,
        redis: &redis,
        now_secs: DUE_SECS,
        lease,
    };
    let children: Vec<_> = (0..4).map(|_| spawn.child("call", 250)).collect();
    for child in children {
        child_succeeded(child, CHILD_OK).await;
    }

    assert_eq!(fake.refresh_calls(), 1, "one refresh for the whole fleet");
    let second = fake.last_issued();
    assert_eq!(second.n, first.n + 1);
    let users = fake.requests_to(USERS);
    assert_eq!(users.len(), 1000);
    assert!(
        users
            .iter()
            .all(|r| r.bearer() == Some(second.auth_app.as_str())),
        "every call used the refreshed token"
    );
    let key = format!("ejento|{}|{SESSION}", fake.base_url());
    let stored = store(&redis.url(), lease)
        .load(&key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.get(AUTH_APP_TOKEN).unwrap().expose(),
        second.auth_app
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_holder_killed_mid_refresh_is_replaced_after_its_lease() {
    if !is_parent() {
        return;
    }
    let redis = RedisServer::start();
    let fake = FakeEjento::start().await;
    let lease = Duration::from_millis(800);
    let clock = clock();
    let parent = session(fake.base_url(), store(&redis.url(), lease), clock.clone());
    login(&parent).await;

    // The child takes the lease and hangs in its refresh; it is killed there.
    fake.delay_refreshes(Duration::from_secs(120));
    let spawn = Spawn {
        fake: &fake,
        redis: &redis,
        now_secs: DUE_SECS,
        lease,
    };
    let mut holder = spawn.child("call", 1);
    tokio::time::timeout(Duration::from_secs(60), fake.wait_for(REFRESH, 1))
        .await
        .expect("the child starts its refresh");
    holder.kill().expect("kill -9 the lock holder");
    holder.wait().unwrap();
    fake.delay_refreshes(Duration::ZERO);

    // The parent's tokens are due but valid: its callers wait out the dead holder's lease,
    // then one of them refreshes; none of them sees an error.
    clock.set(UNIX_EPOCH + Duration::from_secs(DUE_SECS));
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let parent = parent.clone();
            tokio::spawn(async move { users_call(&parent).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().expect("no error reaches a caller");
    }
    assert_eq!(
        fake.refresh_calls(),
        2,
        "the killed holder's refresh and exactly one more"
    );
    assert_eq!(held_auth_app(&parent), fake.last_issued().auth_app);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_keep_working_while_redis_restarts_and_the_store_reconnects() {
    if !is_parent() {
        return;
    }
    let capture = logs();
    let mut redis = RedisServer::start();
    let fake = FakeEjento::start().await;
    let clock = clock();
    let lease = Duration::from_secs(15);
    let ejento = session(fake.base_url(), store(&redis.url(), lease), clock.clone());
    login(&ejento).await;
    let first = fake.last_issued();

    redis.stop();
    // The cached-token path never asks Redis.
    for _ in 0..20 {
        users_call(&ejento)
            .await
            .expect("a call with cached tokens");
    }
    // Due while Redis is down: the valid tokens keep serving, nothing is refreshed.
    clock.advance(REFRESH_POINT + Duration::from_secs(60));
    for _ in 0..20 {
        let call = tokio::time::timeout(Duration::from_secs(10), users_call(&ejento)).await;
        call.expect("bounded by the store's timeout")
            .expect("a due but valid token keeps serving");
    }
    assert_eq!(fake.refresh_calls(), 0);

    redis.restart();
    // After the retry interval the session refreshes through the store, which has reconnected
    // by itself; the restarted (empty) Redis holds the session again.
    clock.advance(Duration::from_secs(31));
    let mut refreshed = false;
    for _ in 0..50 {
        users_call(&ejento).await.expect("calls keep working");
        if fake.refresh_calls() == 1 {
            refreshed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        clock.advance(Duration::from_secs(31));
    }
    assert!(refreshed, "the store came back and the session refreshed");
    let second = fake.last_issued();
    let key = format!("ejento|{}|{SESSION}", fake.base_url());
    let stored = store(&redis.url(), lease)
        .load(&key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.get(AUTH_APP_TOKEN).unwrap().expose(),
        second.auth_app
    );

    let logs = capture.text();
    assert!(logs.contains("unavailable"), "the outage is logged: {logs}");
    for secret in [
        &first.auth_app,
        &first.ejento,
        &second.auth_app,
        &second.ejento,
    ] {
        assert!(!logs.contains(secret.as_str()), "a token in the logs");
    }
    assert!(!logs.contains(PASSWORD_OF_USER));
}

fn token_set(value: &str) -> TokenSet {
    TokenSet::new(
        [(AUTH_APP_TOKEN.to_owned(), Secret::new(value))],
        t0(),
        t0() + LIFETIME,
    )
    .with_identity(USER)
}

#[test]
fn a_stalled_holders_writes_are_refused_by_the_fence() {
    let redis = RedisServer::start();
    let url = redis.url();
    let lease = Duration::from_millis(300);
    // A runtime of one thread: blocking it stalls the holder, lease renewal included, as a
    // process paused past its lease would be.
    let stalled = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let a = store(&url, lease);
    let lock = stalled
        .block_on(a.lock("k", Duration::from_secs(5)))
        .unwrap();
    assert!(lock.fence().is_some());

    let other = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let b = store(&url, lease);
            let lock = b.lock("k", Duration::from_secs(10)).await.unwrap();
            b.save_locked("k", &token_set("newer-token"), &*lock)
                .await
                .unwrap();
        });
    });
    std::thread::sleep(Duration::from_millis(1200));
    other.join().unwrap();

    stalled.block_on(async {
        let err = a
            .save_locked("k", &token_set("stale-token"), &*lock)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Fenced(_)), "{err:?}");
        let err = a.delete_locked("k", &*lock).await.unwrap_err();
        assert!(matches!(err, StoreError::Fenced(_)), "{err:?}");
        let stored = a.load("k").await.unwrap().unwrap();
        assert_eq!(stored.get(AUTH_APP_TOKEN).unwrap().expose(), "newer-token");
        drop(lock);
        // The current holder's writes go through.
        let lock = a.lock("k", Duration::from_secs(5)).await.unwrap();
        a.save_locked("k", &token_set("newest-token"), &*lock)
            .await
            .unwrap();
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_in_one_process_ends_the_session_in_another() {
    if !is_parent() {
        return;
    }
    let redis = RedisServer::start();
    let fake = FakeEjento::start().await;
    let clock = clock();
    let lease = Duration::from_secs(15);
    let parent = session(fake.base_url(), store(&redis.url(), lease), clock.clone());
    login(&parent).await;
    users_call(&parent).await.unwrap();

    let spawn = Spawn {
        fake: &fake,
        redis: &redis,
        now_secs: T0_SECS + 60,
        lease,
    };
    child_succeeded(spawn.child("logout", 0), CHILD_OK).await;

    // The parent still holds valid tokens; at its refresh point it learns of the logout
    // instead of refreshing the session back to life.
    clock.advance(REFRESH_POINT + Duration::from_secs(60));
    let err = users_call(&parent).await.unwrap_err();
    assert!(err.is_reauth_required(), "{err:?}");
    assert_eq!(fake.refresh_calls(), 0);
    // A new login ends the logout for everyone.
    login(&parent).await;
    users_call(&parent).await.unwrap();
}

fn cipher(kid: &str, byte: u8) -> TokenCipher {
    use base64::Engine as _;
    let key = base64::engine::general_purpose::STANDARD.encode([byte; 32]);
    TokenCipher::new(kid, &Secret::new(key)).unwrap()
}

fn encrypted(url: &str, cipher: TokenCipher) -> RedisTokenStore {
    RedisTokenStore::builder(&Secret::new(url))
        .encryption(cipher)
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_encrypted_record_needs_its_key_and_rotates() {
    let redis = RedisServer::start();
    let url = redis.url();
    let sealed = encrypted(&url, cipher("2026-01", 1));
    sealed.save("k", &token_set("canary-token")).await.unwrap();
    assert_eq!(
        sealed.load("k").await.unwrap(),
        Some(token_set("canary-token"))
    );

    // Without the key, with a wrong key under the same id, with an unknown id: log in again.
    for other in [
        store(&url, Duration::from_secs(15)),
        encrypted(&url, cipher("2026-01", 2)),
        encrypted(&url, cipher("2026-02", 1)),
    ] {
        let err = other.load("k").await.unwrap_err();
        assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
        assert!(!format!("{err} {err:?}").contains("canary"));
        assert!(cxkit::Error::from(err).is_reauth_required());
    }

    // Rotation: the new key seals, the old one still opens what it sealed.
    use base64::Engine as _;
    let old_key = base64::engine::general_purpose::STANDARD.encode([1u8; 32]);
    let rotated = encrypted(
        &url,
        cipher("2026-02", 3)
            .previous("2026-01", &Secret::new(old_key))
            .unwrap(),
    );
    assert_eq!(
        rotated.load("k").await.unwrap(),
        Some(token_set("canary-token"))
    );
    rotated.save("k", &token_set("canary-token")).await.unwrap();
    let err = sealed.load("k").await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");

    // A plaintext record is refused by a store that requires encryption.
    store(&url, Duration::from_secs(15))
        .save("plain", &token_set("canary-token"))
        .await
        .unwrap();
    assert!(matches!(
        rotated.load("plain").await,
        Err(StoreError::Corrupt(_))
    ));

    // A key that is not 32 bytes of base64 is refused with the fix.
    let err = TokenCipher::new("k", &Secret::new("c2hvcnQ=")).unwrap_err();
    assert!(err.to_string().contains("openssl rand -base64 32"), "{err}");
}

/// Every key and value in the server, as text.
async fn dump(url: &str) -> Vec<(String, String)> {
    let client = redis::Client::open(url).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut c)
        .await
        .unwrap();
    let mut all = Vec::new();
    for key in keys {
        let value: Option<Vec<u8>> = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut c)
            .await
            .unwrap();
        all.push((
            key,
            String::from_utf8_lossy(&value.unwrap_or_default()).into_owned(),
        ));
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_encryption_nothing_secret_is_in_redis_in_plaintext() {
    let redis = RedisServer::start();
    let fake = FakeEjento::start().await;
    let clock = clock();
    let ejento = session(
        fake.base_url(),
        RedisTokenStore::builder(&Secret::new(redis.url()))
            .encryption(cipher("k1", 7))
            .build()
            .unwrap(),
        clock.clone(),
    );
    login(&ejento).await;
    clock.advance(REFRESH_POINT + Duration::from_secs(60));
    users_call(&ejento).await.unwrap();
    assert_eq!(fake.refresh_calls(), 1);

    let dump = dump(&redis.url()).await;
    let kinds: HashSet<&str> = dump
        .iter()
        .filter_map(|(k, _)| k.rsplit(':').next())
        .collect();
    assert!(kinds.contains("tokens"), "{dump:?}");
    assert!(
        kinds.is_subset(&HashSet::from(["tokens", "fence", "lock"])),
        "{kinds:?}"
    );
    let mut secrets: Vec<String> = fake
        .issued()
        .iter()
        .flat_map(|i| [i.auth_app.clone(), i.ejento.clone()])
        .collect();
    // The signature part alone is secret enough to look for (and shorter than the token).
    secrets.extend(
        secrets
            .clone()
            .iter()
            .filter_map(|t| t.rsplit('.').next().map(str::to_owned)),
    );
    secrets.push(PASSWORD_OF_USER.to_owned());
    // Whose session it is, and the server's address, are not readable either.
    secrets.push(USER.to_owned());
    secrets.push(fake.base_url().to_owned());
    for (key, value) in &dump {
        for secret in &secrets {
            assert!(
                !key.contains(secret.as_str()) && !value.contains(secret.as_str()),
                "{key} holds something secret in plaintext"
            );
        }
    }
}

#[test]
fn a_redis_on_another_host_needs_encryption() {
    let err = RedisTokenStore::builder(&Secret::new("redis://:hunter22@10.0.0.5:6379"))
        .build()
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(text.contains("encryption"), "{text}");
    assert!(!text.contains("hunter22"));
    let store = RedisTokenStore::builder(&Secret::new("redis://:hunter22@10.0.0.5:6379"))
        .encryption(cipher("k1", 1))
        .build()
        .unwrap();
    assert!(!format!("{store:?}").contains("hunter22"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_redis_costs_a_call_its_timeout_not_forever() {
    // A server that accepts and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("redis://{}", listener.local_addr().unwrap());
    let _hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let store = store(&url, Duration::from_secs(15));
    let started = std::time::Instant::now();
    let err = store.load("k").await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let err = store.lock("k", Duration::from_secs(1)).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(cxkit::Error::from(err).is_retryable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_with_cached_tokens_send_nothing_to_redis() {
    let redis = RedisServer::start();
    let fake = FakeEjento::start().await;
    let clock = clock();
    let ejento = session(
        fake.base_url(),
        store(&redis.url(), Duration::from_secs(15)),
        clock.clone(),
    );
    login(&ejento).await;
    users_call(&ejento).await.unwrap();
    // Let the lock's background release land first.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = redis.commands_processed();
    for _ in 0..100 {
        users_call(&ejento).await.unwrap();
    }
    clock.advance(Duration::from_secs(30 * 60));
    for _ in 0..100 {
        users_call(&ejento).await.unwrap();
    }
    let after = redis.commands_processed();
    assert_eq!(after - before, 1, "only the INFO asking");
}

/// A logout made by another process, then one torn read of Redis at this process's refresh
/// point: the refresh's write does not remove the logout marker (only a login does).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_blip_never_undoes_a_logout_in_redis() {
    if !is_parent() {
        return;
    }
    let redis = RedisServer::start();
    let fake = FakeEjento::start().await;
    let clock = clock();
    let lease = Duration::from_secs(15);
    let flaky = Arc::new(support::Blip::new(store(&redis.url(), lease)));
    let config = cxkit::Config::builder()
        .shared_store(flaky.clone())
        .clock(clock.clone())
        .refresh(no_jitter())
        .build()
        .unwrap();
    let a = Ejento::builder()
        .config(&config)
        .base_url(fake.base_url())
        .users_base_url(fake.base_url())
        .session_name(SESSION)
        .build()
        .unwrap();
    login(&a).await;
    let b = session(fake.base_url(), store(&redis.url(), lease), clock.clone());
    b.logout().await.unwrap();

    flaky.fail_loads([StoreError::Corrupt("torn read".into())]);
    clock.advance(REFRESH_POINT + Duration::from_secs(1));
    let outcome = users_call(&a).await;
    let key = format!("ejento|{}|{SESSION}", fake.base_url());
    let stored = store(&redis.url(), lease).load(&key).await;
    assert!(
        matches!(stored, Err(StoreError::LoggedOut(_))),
        "the logout was undone: {stored:?}"
    );
    assert!(outcome.unwrap_err().is_reauth_required());
    login(&b).await;
    users_call(&a).await.unwrap();
}

/// The logout marker's retention must be able to outlive a session: zero (or anything under a
/// minute) is refused, and a marker is kept at least as long as the tokens it ended would
/// have lived.
#[tokio::test]
async fn the_logout_markers_retention_is_validated_and_outlives_the_tokens() {
    for short in [
        Duration::ZERO,
        Duration::from_secs(1),
        Duration::from_secs(59),
    ] {
        let err = RedisTokenStore::builder(&Secret::new("redis://127.0.0.1:1"))
            .retention(short)
            .build()
            .expect_err("a retention under a minute is refused");
        assert!(err.to_string().contains("retention"), "{err}");
    }
    let redis = RedisServer::start();
    let store = RedisTokenStore::builder(&Secret::new(redis.url()))
        .retention(Duration::from_secs(60))
        .build()
        .unwrap();
    let now = std::time::SystemTime::now();
    let day = TokenSet::new(
        [(AUTH_APP_TOKEN.to_owned(), Secret::new("t"))],
        now,
        now + Duration::from_secs(24 * 3600),
    );
    store.save("k", &day).await.unwrap();
    store.delete("k").await.unwrap();
    let marker = store.redis_key("k").replace(":tokens", ":logout");
    let client = redis::Client::open(redis.url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&marker)
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(
        ttl >= (24 * 3600 - 60) * 1000,
        "the marker outlives the tokens it ended: {ttl} ms"
    );
}
