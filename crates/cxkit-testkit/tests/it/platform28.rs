//! FakePlatform28 as a downstream application uses it: the `cxkit` facade's Platform28 client
//! against login sessions kept in memory.

use cxkit::clients::platform28::types::PasswordUpdate;
use cxkit::{Error, Platform28, Platform28Session, Secret};
use cxkit_testkit::platform28::{API_KEY, PASSWORD_OF_USER, USER, USER_ID};
use cxkit_testkit::{FakePlatform28, Reply};

fn client(fake: &FakePlatform28) -> cxkit::Platform28Builder {
    Platform28::builder().base_url(fake.api_url())
}

/// A client without an API key, and a session of [`USER`].
async fn logged_in(fake: &FakePlatform28) -> (Platform28, Platform28Session) {
    let p28 = client(fake).build().unwrap();
    let session = p28
        .login(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .unwrap();
    (p28, session)
}

#[tokio::test]
async fn a_login_session_lives_on_the_lsid_matrix_parameter() {
    let fake = FakePlatform28::start().await;
    let (_p28, session) = logged_in(&fake).await;

    session.set_effective_user("u-bob").await.unwrap();
    let info = session.info().await.unwrap();
    assert_eq!(info.user_id.as_deref(), Some(USER_ID));
    assert_eq!(info.effective_user_id.as_deref(), Some("u-bob"));
    session.reset_assumed_identity().await.unwrap();
    assert_eq!(session.info().await.unwrap().effective_user_id, None);

    let clone = session.clone_session().await.unwrap();
    assert_ne!(clone.lsid().expose(), session.lsid().expose());
    assert_eq!(fake.sessions().len(), 2);

    let login = &fake.requests_to("create_login_session")[0];
    assert_eq!(
        login.form(),
        vec![("password".to_owned(), PASSWORD_OF_USER.to_owned())]
    );
    for r in fake.requests_to("get_session") {
        assert_eq!(
            r.matrix_param("lsid").as_deref(),
            Some(session.lsid().expose())
        );
        assert_eq!(r.query, None);
    }

    // Terminating with `true` ends every session of the user, the clone included.
    session.terminate(true).await.unwrap();
    assert!(fake.sessions().is_empty());
    assert!(clone.info().await.unwrap_err().is_reauth_required());
}

#[tokio::test]
async fn the_api_key_is_a_query_pair_and_a_wrong_one_is_refused() {
    let fake = FakePlatform28::start().await;
    let system = client(&fake).api_key(Secret::new(API_KEY)).build().unwrap();
    let session = system
        .login(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .unwrap();
    let id = fake.sessions()[0].clone();
    let info = system
        .as_system()
        .unwrap()
        .get_session()
        .session_id(&id)
        .send()
        .await
        .map_err(Error::from)
        .unwrap()
        .into_inner();
    assert_eq!(info.user_id.as_deref(), Some(USER_ID));
    let read = fake.requests_to("get_session").pop().unwrap();
    assert_eq!(read.query_param("apiKey").as_deref(), Some(API_KEY));

    let wrong = client(&fake)
        .api_key(Secret::new("wrong-key"))
        .build()
        .unwrap();
    let err = wrong
        .as_system()
        .unwrap()
        .get_session()
        .session_id(&id)
        .send()
        .await
        .map_err(Error::from)
        .unwrap_err();
    assert!(
        err.is_reauth_required() || matches!(err, Error::InvalidCredentials { .. }),
        "{err:?}"
    );
    drop(session);
}

#[tokio::test]
async fn a_session_ended_by_the_server_means_log_in_again() {
    let fake = FakePlatform28::start().await;
    let (p28, session) = logged_in(&fake).await;
    fake.expire_session(&fake.sessions()[0]);
    assert!(session.info().await.unwrap_err().is_reauth_required());
    // A wrong password is bad credentials, not a generic error.
    let err = p28.login(USER, &Secret::new("nope")).await.unwrap_err();
    assert!(matches!(err, Error::InvalidCredentials { .. }), "{err:?}");
}

#[tokio::test]
async fn a_password_change_needs_the_old_password() {
    let fake = FakePlatform28::start().await;
    let (_p28, session) = logged_in(&fake).await;
    let change = |old: &str| PasswordUpdate {
        admin_password_hash: None,
        old_password_hash: Some(old.to_owned()),
        new_password_hash: "new-hash".to_owned(),
    };
    let wrong = session
        .client()
        .update_user_password()
        .user_id(USER_ID)
        .body(change("not-it"))
        .send()
        .await;
    assert!(wrong.is_err());
    assert_eq!(fake.password_of(USER).as_deref(), Some(PASSWORD_OF_USER));
    session
        .client()
        .update_user_password()
        .user_id(USER_ID)
        .body(change(PASSWORD_OF_USER))
        .send()
        .await
        .map_err(Error::from)
        .unwrap();
    assert_eq!(fake.password_of(USER).as_deref(), Some("new-hash"));
}

#[tokio::test]
async fn scripted_faults_come_before_the_simulation() {
    let fake = FakePlatform28::start().await;
    fake.on_sequence("create_login_session", [Reply::error(500, "Server error")]);
    let p28 = client(&fake).build().unwrap();
    assert!(
        p28.login(USER, &Secret::new(PASSWORD_OF_USER))
            .await
            .is_err()
    );
    assert!(
        p28.login(USER, &Secret::new(PASSWORD_OF_USER))
            .await
            .is_ok()
    );
    assert_eq!(fake.count("create_login_session"), 2);
}

#[tokio::test]
async fn renamed_parameters_are_accepted_once_the_fake_is_told() {
    let fake = FakePlatform28::start().await;
    fake.set_param_names("key", "sid");
    let p28 = client(&fake)
        .api_key(Secret::new(API_KEY))
        .api_key_param("key")
        .lsid_param("sid")
        .build()
        .unwrap();
    let session = p28
        .login(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .unwrap();
    assert_eq!(
        session.info().await.unwrap().user_id.as_deref(),
        Some(USER_ID)
    );
    let read = &fake.requests_to("get_session")[0];
    assert_eq!(
        read.matrix_param("sid").as_deref(),
        Some(session.lsid().expose())
    );
    let login = &fake.requests_to("create_login_session")[0];
    assert_eq!(login.query_param("key").as_deref(), Some(API_KEY));
}
