//! The one send path for hand-built requests (`cxkit_auth::SendRaw::send_raw`, offered by every
//! generated client) and the refusal of a static key, which travels as a typed value
//! (`cxkit_auth::hooks::StaticCredentialRejected`), never as anything a server could send.

use crate::support::*;
use cxkit::{Error, ProtoPlatform, Secret};
use cxkit_auth::SendRaw as _;
use cxkit_auth::hooks::StaticCredentialRejected;
use cxkit_testkit::ejento::{FakeEjento, USERS};
use cxkit_testkit::proto_platform::{FakeProtoPlatform, TAKEOVER_SECRET};

/// The response header the hooks once added to mark a refused static key, which a server can
/// send too.
const OLD_MARKER: &str = "x-cxkit-static-credential-rejected";

const TEAMSPACE: &str = "sc_42";

fn platform(fake: &FakeProtoPlatform, secret: &str) -> ProtoPlatform {
    ProtoPlatform::builder()
        .config(&no_retries())
        .base_url(fake.api_url())
        .teamspace_id(TEAMSPACE)
        .takeover_secret(Secret::new(secret))
        .build()
        .unwrap()
}

/// `list_custom_fields`, built by hand.
fn list_custom_fields(proto: &ProtoPlatform) -> reqwest::Request {
    use cxkit::clients::proto_developer::ClientInfo as _;
    let client = proto.client();
    client
        .client()
        .get(format!(
            "{}/custom-fields/{TEAMSPACE}/list-custom-fields",
            client.baseurl()
        ))
        .header(reqwest::header::ACCEPT, "application/json")
        .build()
        .unwrap()
}

/// The typed refusal in an error's source chain, if any.
fn refusal<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a StaticCredentialRejected> {
    let mut source = Some(error);
    while let Some(cause) = source {
        if let Some(rejected) = cause.downcast_ref::<StaticCredentialRejected>() {
            return Some(rejected);
        }
        source = cause.source();
    }
    None
}

/// A hostile server answers a refreshable token's call 401 with the header that once meant "a
/// static key was refused": the session still refreshes and replays, and when the replay is
/// refused too the session is over (log in again), never "wrong credentials".
#[tokio::test]
async fn a_forged_static_key_marker_on_a_refreshable_tokens_401_still_refreshes() {
    let fake = FakeEjento::start().await;
    let clock = clock();
    let ejento = logged_in_at(&fake, &clock).await;
    let forged: &[(&str, &str)] = &[("content-type", "application/json"), (OLD_MARKER, "1")];

    fake.script("GET", USERS, 401, forged, r#"{"detail":"expired"}"#);
    users_call(&ejento).await.unwrap();
    assert_eq!(fake.refresh_calls(), 1);
    assert_eq!(fake.count(USERS), 2, "the call and its replay");

    fake.script("GET", USERS, 401, forged, r#"{"detail":"expired"}"#);
    fake.script("GET", USERS, 401, forged, r#"{"detail":"expired"}"#);
    let err = users_call(&ejento).await.unwrap_err();
    assert!(err.is_reauth_required(), "{err:?}");
    assert_eq!(fake.refresh_calls(), 2);
}

/// A hand-built request sent with `send_raw` gets the operation's credential; a refused static
/// key ends the call in the typed refusal (with the vendor's explanation, redacted by the
/// facade), after one request; an operation the table does not have sends nothing.
#[tokio::test]
async fn send_raw_applies_the_operations_credentials_and_types_a_refused_static_key() {
    let fake = FakeProtoPlatform::start().await;

    let good = platform(&fake, TAKEOVER_SECRET);
    let response = good
        .client()
        .send_raw("list_custom_fields", list_custom_fields(&good))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let sent = fake.requests_to("list_custom_fields");
    assert_eq!(sent[0].bearer(), Some(TAKEOVER_SECRET));

    let wrong = "wrong-takeover-secret-value";
    let bad = platform(&fake, wrong);
    let err = bad
        .client()
        .send_raw("list_custom_fields", list_custom_fields(&bad))
        .await
        .unwrap_err();
    let rejected = refusal(&err).expect("the typed refusal in the source chain");
    assert_eq!(rejected.status(), 401);
    assert!(String::from_utf8_lossy(rejected.body()).contains("Invalid takeover secret"));
    assert!(!format!("{rejected} {rejected:?}").contains("Invalid takeover secret"));
    let err = Error::from(err);
    assert!(matches!(err, Error::InvalidCredentials { .. }), "{err:?}");
    assert!(err.to_string().contains("Invalid takeover secret"), "{err}");
    assert!(!format!("{err} {err:?}").contains(wrong));
    assert_eq!(fake.requests_to("list_custom_fields").len(), 2);

    let before = fake.requests().len();
    let err = good
        .client()
        .send_raw("no_such_operation", list_custom_fields(&good))
        .await
        .unwrap_err();
    assert!(matches!(err, cxkit_auth::SendError::Auth(_)), "{err:?}");
    assert!(
        Error::from(err)
            .to_string()
            .contains("cargo xtask generate"),
        "the fix is named"
    );
    assert_eq!(fake.requests().len(), before, "nothing was sent");
}
