//! The vendor's request id travels with a failed call: kept in `Error::Api` (and in the text of
//! a transient error), and recorded on the request's `cxkit.request` tracing span, so a user can
//! quote it to the vendor's support. Real HTTP on loopback.

use crate::support;

use cxkit::{Ejento, Error};
use cxkit_testkit::ejento::FakeEjento;

const ME: &str = "/api/v2/users/me";

async fn session(server: &FakeEjento) -> Ejento {
    support::logged_in(server, &support::no_retries()).await
}

/// The error of "Get Current User", mapped as `?` maps it.
async fn current_user_error(ejento: &Ejento) -> Error {
    Error::from(
        ejento
            .platform()
            .get_current_user()
            .send()
            .await
            .unwrap_err(),
    )
}

#[tokio::test]
async fn the_request_id_is_kept_in_errors_and_recorded_on_the_span() {
    let capture = support::logs();
    let server = FakeEjento::start().await;
    let ejento = session(&server).await;

    // A documented error status, answered through APIM (its header) with a vendor message.
    server.script(
        "GET",
        ME,
        404,
        &[
            ("content-type", "application/json"),
            ("apim-request-id", "3f1c2a9e-0b7d-4c55-9d1e-2f6a7b8c9d0e"),
        ],
        r#"{"success":false,"message":"No such user"}"#,
    );
    let generated = ejento.platform().get_current_user().send().await;
    let err = Error::from_generated(generated.unwrap_err()).await;
    match &err {
        Error::Api {
            status: 404,
            request_id: Some(id),
            ..
        } => assert_eq!(id, "3f1c2a9e-0b7d-4c55-9d1e-2f6a7b8c9d0e"),
        other => panic!("expected an API error with the request id, got {other:?}"),
    }
    assert!(
        err.to_string()
            .ends_with("(request id 3f1c2a9e-0b7d-4c55-9d1e-2f6a7b8c9d0e)"),
        "{err}"
    );

    // A transient failure names it in its text; an answer without one has none.
    server.script("GET", ME, 503, &[("x-request-id", "req-503-a")], "");
    let err = current_user_error(&ejento).await;
    assert!(err.to_string().contains("(request id req-503-a)"), "{err}");
    server.script(
        "GET",
        ME,
        404,
        &[("content-type", "application/json")],
        "{}",
    );
    let err = current_user_error(&ejento).await;
    assert!(
        matches!(
            err,
            Error::Api {
                request_id: None,
                ..
            }
        ),
        "{err:?}"
    );

    // A header that is not an id (free text a server echoes) is never taken for one.
    server.script("GET", ME, 404, &[("x-request-id", "not an id <b>")], "{}");
    let err = current_user_error(&ejento).await;
    assert!(
        matches!(
            err,
            Error::Api {
                request_id: None,
                ..
            }
        ),
        "{err:?}"
    );

    let logs = capture.text();
    assert!(
        logs.contains("request_id=3f1c2a9e-0b7d-4c55-9d1e-2f6a7b8c9d0e"),
        "the span records the request id:\n{logs}"
    );
    assert!(!logs.contains("not an id"), "{logs}");
}
