//! The token cache end to end: single flight, refresh ahead of expiry (with jitter), failed
//! refreshes, 401 → refresh → replay once, timeouts, clock skew, persistence and logout.
//! Time is a `ManualClock`; nothing sleeps.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use crate::support::*;
use cxkit::{Ejento, Error, FileTokenStore, MemoryTokenStore, RefreshConfig, Secret, TokenStore};
use cxkit_testkit::ejento::{
    FEATURE_FLAGS, FakeEjento, LOGIN, PASSWORD_OF_USER, REFRESH, USER, USERS,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_calls_across_expiry_refresh_once() {
    let fake = FakeEjento::start().await;
    let clock = clock();
    let ejento = logged_in_at(&fake, &clock).await;
    let first = fake.last_issued();
    // Past expiry, not just past the refresh point: every caller needs new tokens.
    clock.advance(LIFETIME + Duration::from_secs(60));

    let calls: Vec<_> = (0..1000)
        .map(|_| {
            let ejento = ejento.clone();
            tokio::spawn(async move { users_call(&ejento).await })
        })
        .collect();
    let mut ok = 0;
    for call in calls {
        call.await
            .expect("the task ran")
            .expect("the call succeeded");
        ok += 1;
    }
    assert_eq!(ok, 1000);
    assert_eq!(fake.refresh_calls(), 1);
    assert_eq!(ejento.token_cache().refresh_count(), 1);
    let second = fake.last_issued();
    assert_eq!(second.n, first.n + 1);
    let refresh = fake.requests_to(REFRESH);
    assert_eq!(refresh[0].bearer(), Some(first.auth_app.as_str()));
    let users = fake.requests_to(USERS);
    assert_eq!(users.len(), 1000);
    let bearers: BTreeSet<_> = users
        .iter()
        .map(|r| r.bearer().unwrap().to_owned())
        .collect();
    assert_eq!(bearers, BTreeSet::from([second.auth_app]));
}

#[tokio::test]
async fn refresh_happens_at_the_margin_and_not_before() {
    let fake = FakeEjento::start().await;
    let clock = clock();
    let ejento = logged_in_at(&fake, &clock).await;
    let first = fake.last_issued();
    let info = ejento.session().await.unwrap();
    assert_eq!(info.obtained_at, t0());
    assert_eq!(info.expires_at, t0() + LIFETIME);

    // One-hour tokens: the margin is max(5 min, 10 %) = 6 min, so the refresh point is 54 min.
    clock.advance(REFRESH_POINT - Duration::from_secs(1));
    users_call(&ejento).await.unwrap();
    ejento.session().await.unwrap();
    assert_eq!(fake.refresh_calls(), 0);
    assert_eq!(
        fake.requests_to(USERS)[0].bearer(),
        Some(first.auth_app.as_str())
    );

    clock.advance(Duration::from_secs(1));
    users_call(&ejento).await.unwrap();
    assert_eq!(fake.refresh_calls(), 1);
    let second = fake.last_issued();
    assert_eq!(
        fake.requests_to(USERS)[1].bearer(),
        Some(second.auth_app.as_str())
    );
    let info = ejento.session().await.unwrap();
    assert_eq!(info.obtained_at, t0() + REFRESH_POINT);
    assert_eq!(info.expires_at, t0() + REFRESH_POINT + LIFETIME);
    assert_eq!(fake.refresh_calls(), 1);
}

#[tokio::test]
async fn short_lived_tokens_use_the_five_minute_floor() {
    let fake = FakeEjento::start().await;
    fake.set_lifetime(Duration::from_secs(30 * 60));
    let clock = clock();
    let ejento = logged_in_at(&fake, &clock).await;
    // 10 % of 30 min is 3 min: the 5-minute floor wins, so the refresh point is 25 min.
    clock.advance(Duration::from_secs(25 * 60 - 1));
    ejento.session().await.unwrap();
    assert_eq!(fake.refresh_calls(), 0);
    clock.advance(Duration::from_secs(1));
    ejento.session().await.unwrap();
    assert_eq!(fake.refresh_calls(), 1);
}

#[tokio::test]
async fn jitter_spreads_refresh_points_over_the_extra_margin() {
    // Default jitter (0.5): each session's margin is 6 min plus up to 3 min, drawn when its
    // tokens are adopted, so one-hour tokens are refreshed between 51 and 54 minutes.
    const SESSIONS: usize = 40;
    let fake = FakeEjento::start().await;
    let clock = clock();
    let mut sessions = Vec::new();
    for _ in 0..SESSIONS {
        let ejento = Ejento::builder()
            .config(
                &cxkit::Config::builder()
                    .clock(clock.clone())
                    .refresh(RefreshConfig::default())
                    .build()
                    .expect("config"),
            )
            .base_url(fake.base_url())
            .build()
            .unwrap();
        ejento
            .login_password(USER, &Secret::new(PASSWORD_OF_USER))
            .await
            .unwrap();
        sessions.push(ejento);
    }
    clock.advance(Duration::from_secs(51 * 60 - 1));
    for s in &sessions {
        s.session().await.unwrap();
    }
    assert_eq!(fake.refresh_calls(), 0, "nobody refreshes before 51 min");

    // Half-way through the jitter window about half the sessions are due; all 40 landing on
    // the same side has probability 2^-39.
    clock.advance(Duration::from_secs(90 + 1));
    for s in &sessions {
        s.session().await.unwrap();
    }
    let at_midpoint = fake.refresh_calls();
    assert!(
        at_midpoint > 0 && at_midpoint < SESSIONS,
        "{at_midpoint} of {SESSIONS} sessions refreshed half-way through the jitter window"
    );

    clock.advance(Duration::from_secs(90));
    for s in &sessions {
        s.session().await.unwrap();
    }
    assert_eq!(
        fake.refresh_calls(),
        SESSIONS,
        "everybody refreshed by 54 min"
    );
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_valid_token_and_is_not_cached() {
    let fake = FakeEjento::start().await;
    let clock = clock();
    let ejento = logged_in_at(&fake, &clock).await;
    let first = fake.last_issued();

    // Past the refresh point, still valid; the refresh answers 500.
    fake.fail_next_refreshes(1);
    clock.advance(REFRESH_POINT + Duration::from_secs(10));
    users_call(&ejento)
        .await
        .expect("the still-valid token is used");
    assert_eq!(fake.refresh_calls(), 1);
    assert_eq!(
        fake.requests_to(USERS)[0].bearer(),
        Some(first.auth_app.as_str())
    );

    // Within the retry interval (30 s) no new attempt is made.
    users_call(&ejento).await.unwrap();
    clock.advance(Duration::from_secs(29));
    users_call(&ejento).await.unwrap();
    assert_eq!(fake.refresh_calls(), 1);

    // After it, the next call refreshes, successfully: the failure was not cached.
    clock.advance(Duration::from_secs(1));
    users_call(&ejento).await.unwrap();
    assert_eq!(fake.refresh_calls(), 2);
    let second = fake.last_issued();
    assert_eq!(second.n, first.n + 1);
    let users = fake.requests_to(USERS);
    assert_eq!(users.len(), 4);
    assert_eq!(users[3].bearer(), Some(second.auth_app.as_str()));
}

#[tokio::test]
async fn once_expired_a_failed_refresh_is_transient_and_every_call_retries() {
    let fake = FakeEjento::start().await;
    let clock = clock();
    let ejento = logged_in_at(&fake, &clock).await;
    fake.fail_next_refreshes(2);
    clock.advance(LIFETIME + Duration::from_secs(1));

    let err = users_call(&ejento).await.unwrap_err();
    assert!(matches!(err, Error::Transient { .. }), "{err:?}");
    assert!(err.is_retryable());
    let err = ejento.session().await.unwrap_err();
    assert!(matches!(err, Error::Transient { .. }), "{err:?}");
    assert_eq!(
        fake.refresh_calls(),
        2,
        "an expired session retries on every call"
    );
    assert_eq!(
        fake.count(USERS),
        0,
        "nothing is sent with an expired token"
    );

    // The outage ends: the next call recovers.
    users_call(&ejento).await.unwrap();
    assert_eq!(fake.refresh_calls(), 3);
    assert_eq!(
        fake.requests_to(USERS)[0].bearer(),
        Some(fake.last_issued().auth_app.as_str())
    );
}

#[tokio::test]
async fn a_401_on_refresh_means_reauth_even_while_the_token_is_valid() {
    let fake = FakeEjento::start().await;
    let clock = clock();
    let ejento = logged_in_at(&fake, &clock).await;
    fake.revoke_all();
    clock.advance(REFRESH_POINT + Duration::from_secs(1));
    let err = users_call(&ejento).await.unwrap_err();
    assert!(matches!(err, Error::ReauthRequired { .. }), "{err:?}");
    assert_eq!(fake.refresh_calls(), 1);
    assert_eq!(fake.count(USERS), 0);
    let err = ejento.refresh().await.unwrap_err();
    assert!(err.is_reauth_required(), "{err:?}");

    // Logging in again ends it.
    ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .unwrap();
    users_call(&ejento).await.unwrap();
}

#[tokio::test]
async fn a_401_invalidates_refreshes_once_and_replays_once() {
    let fake = FakeEjento::start().await;
    let clock = clock();
    let ejento = logged_in_at(&fake, &clock).await;
    let first = fake.last_issued();

    // The server rejects the (unexpired) token once.
    fake.reject_once(&first.auth_app);
    users_call(&ejento).await.expect("the replay succeeds");
    assert_eq!(fake.refresh_calls(), 1);
    let second = fake.last_issued();
    let users = fake.requests_to(USERS);
    assert_eq!(users.len(), 2, "the request arrived twice");
    assert_eq!(users[0].bearer(), Some(first.auth_app.as_str()));
    assert_eq!(users[1].bearer(), Some(second.auth_app.as_str()));
    assert_eq!(
        fake.requests_to(REFRESH)[0].bearer(),
        Some(first.auth_app.as_str())
    );

    // A 401 to the replay too: no second replay.
    fake.unauthorized_next(2);
    let err = users_call(&ejento).await.unwrap_err();
    assert!(matches!(err, Error::ReauthRequired { .. }), "{err:?}");
    assert_eq!(fake.count(USERS), 4, "one request and one replay");
    assert_eq!(fake.refresh_calls(), 2, "one forced refresh");

    // A PATCH (never retried) is replayed after a 401 too: its body is replayable.
    let third = fake.last_issued();
    fake.reject_once(&third.auth_app);
    ejento
        .change_password(
            &Secret::new(PASSWORD_OF_USER),
            &Secret::new("a-new-password"),
        )
        .await
        .unwrap();
    let patches = fake.requests_to(cxkit_testkit::ejento::PASSWORD);
    assert_eq!(patches.len(), 2);
    assert_eq!(patches[0].body, patches[1].body);
    assert_eq!(fake.refresh_calls(), 3);
}

#[tokio::test]
async fn a_streamed_body_is_not_replayed_after_a_401() {
    use cxkit::clients::ejento_auth::ClientInfo as _;
    use cxkit_auth::SendRaw as _;
    let fake = FakeEjento::start().await;
    let clock = clock();
    let ejento = logged_in_at(&fake, &clock).await;
    fake.reject_once(&fake.last_issued().auth_app);

    let client = ejento.auth();
    let body = reqwest::Body::wrap_stream(futures::stream::once(async {
        Ok::<_, std::io::Error>(
            r#"{"current_password":"correct-horse-battery","new_password":"long-enough"}"#
                .to_owned(),
        )
    }));
    let request = client
        .client()
        .patch(format!(
            "{}{}",
            client.baseurl(),
            cxkit_testkit::ejento::PASSWORD
        ))
        .header("content-type", "application/json")
        .body(body)
        .build()
        .unwrap();
    let response = client
        .send_raw("update_own_password", request)
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(fake.count(cxkit_testkit::ejento::PASSWORD), 1);
    assert_eq!(fake.refresh_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_refresh_that_hangs_is_bounded_by_the_acquire_timeout() {
    let fake = FakeEjento::start().await;
    fake.delay_refreshes(Duration::from_secs(3600));
    let clock = clock();
    let ejento = builder_with(
        &fake,
        config(&clock).refresh(RefreshConfig {
            acquire_timeout: Duration::from_secs(10),
            ..no_jitter()
        }),
    )
    .build()
    .unwrap();
    ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .unwrap();
    let first = fake.last_issued();

    // Still valid: the hung refresh times out and the current token is used.
    clock.advance(REFRESH_POINT + Duration::from_secs(1));
    let started = tokio::time::Instant::now();
    users_call(&ejento).await.unwrap();
    // Virtual time: the call waited for the 10 s bound, not for the hour the refresh takes.
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(10) && waited < Duration::from_secs(11),
        "{waited:?}"
    );
    assert_eq!(fake.refresh_calls(), 1);
    assert_eq!(
        fake.requests_to(USERS)[0].bearer(),
        Some(first.auth_app.as_str())
    );

    // Expired: the timeout is a transient error.
    clock.advance(LIFETIME);
    let err = users_call(&ejento).await.unwrap_err();
    assert!(matches!(err, Error::Transient { .. }), "{err:?}");
    assert_eq!(fake.refresh_calls(), 2);
}

#[tokio::test]
async fn expiry_is_measured_from_receipt_whatever_the_server_clock() {
    for offset in [-3 * 86_400, 0, 3 * 86_400] {
        let fake = FakeEjento::start().await;
        fake.set_clock_offset(offset);
        let clock = clock();
        let ejento = logged_in_at(&fake, &clock).await;
        let info = ejento.session().await.unwrap();
        assert_eq!(info.obtained_at, t0(), "offset {offset}");
        assert_eq!(info.expires_at, t0() + LIFETIME, "offset {offset}");
        clock.advance(REFRESH_POINT - Duration::from_secs(1));
        users_call(&ejento).await.unwrap();
        assert_eq!(fake.refresh_calls(), 0, "offset {offset}");
    }
}

#[tokio::test]
async fn tokens_without_a_stated_expiry_get_the_configured_lifetime() {
    let fake = FakeEjento::start().await;
    fake.script(
        "POST",
        LOGIN,
        200,
        &[],
        r#"{"success":true,"data":{"access_token":"opaque-auth-app","ejento_access_token":"opaque-ejento","token_type":"bearer"}}"#,
    );
    let clock = clock();
    let ejento = builder_with(
        &fake,
        config(&clock).refresh(RefreshConfig {
            default_lifetime: Duration::from_secs(2 * 3600),
            ..no_jitter()
        }),
    )
    .build()
    .unwrap();
    let info = ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .unwrap();
    assert_eq!(info.expires_at, t0() + Duration::from_secs(2 * 3600));
    assert_eq!(held_auth_app(&ejento), "opaque-auth-app");
}

#[tokio::test]
async fn the_platform_client_shares_the_session_and_sends_the_ejento_token() {
    let fake = FakeEjento::start().await;
    let clock = clock();
    let ejento = builder(&fake, &clock)
        .subscription_key(Secret::new("key-1"))
        .build()
        .unwrap();
    ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .unwrap();
    let first = fake.last_issued();
    let platform_call = || async {
        // The fake does not serve the platform; only the request matters here.
        let _ = ejento.platform().get_user().user_id(7).send().await;
    };
    platform_call().await;
    let users = fake.requests_to("/api/v2/users/7");
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].bearer(), Some(first.ejento.as_str()));
    assert_eq!(users[0].header("ocp-apim-subscription-key"), Some("key-1"));

    // A refresh through the auth-service client is seen by the platform client.
    clock.advance(REFRESH_POINT);
    users_call(&ejento).await.unwrap();
    platform_call().await;
    let second = fake.last_issued();
    assert_eq!(fake.refresh_calls(), 1);
    assert_eq!(
        fake.requests_to("/api/v2/users/7")[1].bearer(),
        Some(second.ejento.as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_lock_is_held_while_a_token_is_in_use() {
    let fake = FakeEjento::start().await;
    let clock = clock();
    let ejento = logged_in_at(&fake, &clock).await;
    fake.hold(USERS);
    let held = {
        let ejento = ejento.clone();
        tokio::spawn(async move { users_call(&ejento).await })
    };
    fake.wait_for(USERS, 1).await;

    // While that request is in flight with the token, the session reads, refreshes, and
    // serves other calls.
    ejento.session().await.unwrap();
    ejento.refresh().await.unwrap();
    ejento
        .auth()
        .get_login_feature_flags()
        .send()
        .await
        .unwrap();
    ejento
        .change_password(
            &Secret::new(PASSWORD_OF_USER),
            &Secret::new("a-new-password"),
        )
        .await
        .unwrap();
    assert!(!held.is_finished());
    assert_eq!(fake.refresh_calls(), 1);
    assert_eq!(fake.count(FEATURE_FLAGS), 1);

    fake.release(USERS);
    held.await.unwrap().unwrap();
}

#[tokio::test]
async fn sessions_in_one_store_are_keyed_and_refresh_separately() {
    let fake = FakeEjento::start().await;
    fake.add_user("bob@example.com", "bobs-password");
    let clock = clock();
    let store: Arc<dyn TokenStore> = Arc::new(MemoryTokenStore::new());
    let session = |name: &str| {
        builder_with(&fake, config(&clock).shared_store(store.clone()))
            .session_name(name)
            .build()
            .unwrap()
    };
    let alice = session("alice");
    let bob = session("bob");
    alice
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .unwrap();
    bob.login_password("bob@example.com", &Secret::new("bobs-password"))
        .await
        .unwrap();
    let issued = fake.issued();
    assert_ne!(held_auth_app(&alice), held_auth_app(&bob));
    assert_eq!(held_auth_app(&alice), issued[0].auth_app);
    assert_eq!(held_auth_app(&bob), issued[1].auth_app);

    clock.advance(REFRESH_POINT);
    users_call(&alice).await.unwrap();
    users_call(&bob).await.unwrap();
    assert_eq!(fake.refresh_calls(), 2);
    let refreshes = fake.requests_to(REFRESH);
    let bearers: BTreeSet<_> = refreshes
        .iter()
        .map(|r| r.bearer().unwrap().to_owned())
        .collect();
    assert_eq!(
        bearers,
        BTreeSet::from([issued[0].auth_app.clone(), issued[1].auth_app.clone()])
    );
    let subs: BTreeSet<_> = fake.issued()[2..].iter().map(|i| i.sub.clone()).collect();
    assert_eq!(
        subs,
        BTreeSet::from([USER.to_owned(), "bob@example.com".to_owned()])
    );

    // A third handle on alice's session finds her refreshed tokens in the store.
    let alice_again = session("alice");
    alice_again.session().await.unwrap();
    assert_eq!(held_auth_app(&alice_again), held_auth_app(&alice));
    assert_eq!(fake.refresh_calls(), 2);
}

#[tokio::test]
async fn tokens_persist_across_restarts_in_an_owner_only_file() {
    let fake = FakeEjento::start().await;
    let clock = clock();
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("tokens");
    {
        let ejento = builder_with(&fake, config(&clock).store(FileTokenStore::new(&store_dir)))
            .session_name("cli")
            .build()
            .unwrap();
        ejento
            .login_password(USER, &Secret::new(PASSWORD_OF_USER))
            .await
            .unwrap();
    }
    let files: Vec<_> = std::fs::read_dir(&store_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    // Written through a temporary file renamed into place: none is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&store_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // A new process (here: a new session object) resumes without logging in.
    let ejento = builder_with(&fake, config(&clock).store(FileTokenStore::new(&store_dir)))
        .session_name("cli")
        .build()
        .unwrap();
    let info = ejento.session().await.unwrap();
    assert_eq!(info.expires_at, t0() + LIFETIME);
    users_call(&ejento).await.unwrap();
    assert_eq!(
        fake.requests_to(USERS)[0].bearer(),
        Some(fake.last_issued().auth_app.as_str())
    );
    assert_eq!(fake.count(LOGIN), 1);
    assert_eq!(fake.refresh_calls(), 0);
}

#[tokio::test]
async fn a_corrupt_token_file_means_reauth_and_logout_wipes_the_file() {
    let fake = FakeEjento::start().await;
    let clock = clock();
    let dir = tempfile::tempdir().unwrap();
    let store = FileTokenStore::new(dir.path());
    let key = format!("ejento|{}|cli", fake.base_url());
    let path = store.path_for(&key);
    std::fs::write(&path, b"{\"format\":\"cxkit-tokens/1\",\"key\":").unwrap();

    let ejento = builder_with(&fake, config(&clock).store(store.clone()))
        .session_name("cli")
        .build()
        .unwrap();
    let err = ejento.session().await.unwrap_err();
    assert!(matches!(err, Error::ReauthRequired { .. }), "{err:?}");
    let err = users_call(&ejento).await.unwrap_err();
    assert!(matches!(err, Error::ReauthRequired { .. }), "{err:?}");
    assert_eq!(fake.count(USERS), 0);
    assert_eq!(fake.refresh_calls(), 0);

    // Logging in replaces the corrupt file.
    ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .unwrap();
    let stored = store.load(&key).await.unwrap().expect("tokens stored");
    assert_eq!(
        stored.get(cxkit::AUTH_APP_TOKEN).unwrap().expose(),
        fake.last_issued().auth_app
    );

    // Logout forgets the session here and on disk.
    let mut updates = ejento.subscribe();
    ejento.logout().await.unwrap();
    assert!(!path.exists());
    assert!(updates.borrow_and_update().is_none());
    assert!(ejento.token_cache().peek().is_none());
    let err = users_call(&ejento).await.unwrap_err();
    assert!(err.is_reauth_required(), "{err:?}");
    assert_eq!(fake.count(USERS), 0);
}

#[tokio::test]
async fn an_explicit_refresh_that_fails_says_so_and_keeps_the_session() {
    let fake = FakeEjento::start().await;
    let clock = clock();
    let ejento = logged_in_at(&fake, &clock).await;
    let first = fake.last_issued();

    fake.fail_next_refreshes(1);
    let err = ejento.refresh().await.unwrap_err();
    assert!(matches!(err, Error::Transient { .. }), "{err:?}");
    assert_eq!(fake.refresh_calls(), 1);

    // The still-valid tokens stay in use, and are not refreshed on every call.
    users_call(&ejento).await.unwrap();
    users_call(&ejento).await.unwrap();
    assert_eq!(fake.refresh_calls(), 1);
    assert_eq!(held_auth_app(&ejento), first.auth_app);
    assert_eq!(
        fake.requests_to(USERS)[1].bearer(),
        Some(first.auth_app.as_str())
    );

    // The next explicit refresh works.
    let info = ejento.refresh().await.unwrap();
    assert_eq!(fake.refresh_calls(), 2);
    assert_eq!(info.obtained_at, t0());
    assert_eq!(held_auth_app(&ejento), fake.last_issued().auth_app);
    assert_ne!(held_auth_app(&ejento), first.auth_app);
}

#[tokio::test(start_paused = true)]
async fn opt_in_background_refresh_runs_before_any_request_needs_it() {
    let fake = FakeEjento::start().await;
    let clock = clock();
    let ejento = logged_in_at(&fake, &clock).await;
    let first = fake.last_issued();
    let task = tokio::spawn(ejento.background_refresh());

    // Tokio's (paused) clock and the session's wall clock move together.
    let step = REFRESH_POINT - Duration::from_secs(60);
    clock.advance(step);
    tokio::time::sleep(step).await;
    assert_eq!(fake.refresh_calls(), 0);

    clock.advance(Duration::from_secs(120));
    tokio::time::sleep(Duration::from_secs(120)).await;
    fake.wait_for(REFRESH, 1).await;
    // Waits for the refresh in flight, if any, without starting another.
    ejento.session().await.unwrap();
    assert_eq!(fake.refresh_calls(), 1);
    let second = fake.last_issued();
    assert_eq!(
        fake.requests_to(REFRESH)[0].bearer(),
        Some(first.auth_app.as_str())
    );
    assert_eq!(held_auth_app(&ejento), second.auth_app);
    users_call(&ejento).await.unwrap();
    assert_eq!(
        fake.requests_to(USERS)[0].bearer(),
        Some(second.auth_app.as_str())
    );
    assert_eq!(fake.refresh_calls(), 1);

    // The task ends by itself once the session is gone.
    drop(ejento);
    tokio::time::timeout(Duration::from_secs(3 * 3600), task)
        .await
        .expect("the background task ended")
        .unwrap();
    assert_eq!(fake.refresh_calls(), 1);
}

/// Only the auth service's own rejection ends a session: a 401 or 403 from the refresh route
/// whose body is the auth service's JSON error (`{"detail": ...}` or `{"success": false, ...}`).
/// A gateway's or proxy's page (HTML, or another JSON shape such as Azure API Management's
/// `{statusCode, message}`), and any other 4xx, keep the valid tokens and are tried again after
/// the retry interval.
#[tokio::test]
async fn a_gateway_4xx_page_on_refresh_does_not_end_the_session() {
    for (status, content_type, body) in [
        (
            403,
            "text/html",
            "<html><body><h1>403 Forbidden</h1></body></html>",
        ),
        (404, "text/html", "<html><body>404 Not Found</body></html>"),
        (
            400,
            "text/html",
            "<html><body>400 Bad Request</body></html>",
        ),
        (
            401,
            "application/json",
            r#"{"statusCode":401,"message":"Access denied due to invalid subscription key."}"#,
        ),
        (
            403,
            "application/json",
            r#"{"statusCode":403,"message":"Out of call volume quota."}"#,
        ),
        (404, "application/json", r#"{"detail":"Not Found"}"#),
        (401, "text/html", "<html>401 Authorization Required</html>"),
    ] {
        let fake = FakeEjento::start().await;
        let clock = clock();
        let ejento = logged_in_at(&fake, &clock).await;
        fake.script(
            "POST",
            REFRESH,
            status,
            &[("content-type", content_type)],
            body,
        );
        clock.advance(REFRESH_POINT + Duration::from_secs(1));
        users_call(&ejento)
            .await
            .unwrap_or_else(|e| panic!("{status} {body}: {e:?}"));
        assert_eq!(fake.refresh_calls(), 1);
        clock.advance(Duration::from_secs(31));
        users_call(&ejento)
            .await
            .unwrap_or_else(|e| panic!("{status} {body}, then: {e:?}"));
        assert_eq!(fake.refresh_calls(), 2, "{status} {body}: tried again");
        assert_eq!(held_auth_app(&ejento), fake.last_issued().auth_app);
    }
    // The auth service's own answers end it.
    for (status, body) in [
        (401, r#"{"detail":"Could not validate credentials"}"#),
        (403, r#"{"detail":"Could not validate credentials"}"#),
        (401, r#"{"success":false,"message":"Token revoked"}"#),
    ] {
        let fake = FakeEjento::start().await;
        let clock = clock();
        let ejento = logged_in_at(&fake, &clock).await;
        fake.script(
            "POST",
            REFRESH,
            status,
            &[("content-type", "application/json")],
            body,
        );
        clock.advance(REFRESH_POINT + Duration::from_secs(1));
        let err = users_call(&ejento).await.unwrap_err();
        assert!(err.is_reauth_required(), "{status} {body}: {err:?}");
        assert_eq!(fake.refresh_calls(), 1);
    }
}
