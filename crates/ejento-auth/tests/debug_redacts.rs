//! The generated types that carry secrets (the spec marks them `format: password`) print
//! `"<redacted>"` instead of the value in `Debug`: the data types, their `types::builder`
//! structs, and the operation builders holding a body with a secret (constrained newtypes are
//! covered by the xtask's `secrets` fixture: this spec no longer has one). Everything else
//! still prints, so `Debug` stays useful.

use cxkit_ejento_auth::{Client, types};

const SECRET: &str = "s3cr3t-VALUE-never-printed";

fn assert_redacted(debug: &str, still_shown: &[&str]) {
    assert!(!debug.contains(SECRET), "secret printed: {debug}");
    assert!(debug.contains("<redacted>"), "no redaction marker: {debug}");
    for shown in still_shown {
        assert!(debug.contains(shown), "`{shown}` missing from {debug}");
    }
}

#[test]
fn login_form_and_its_builder_and_the_operation_builder_hide_the_password() {
    let builder = types::LoginForm::builder()
        .username("user@example.com")
        .password(SECRET)
        .client_secret(Some(SECRET.to_owned()));
    assert_redacted(&format!("{builder:?}"), &["user@example.com"]);

    let form: types::LoginForm = builder.try_into().expect("complete form");
    assert_redacted(
        &format!("{form:?}"),
        &["user@example.com", "client_id: None"],
    );
    assert_redacted(&format!("{form:#?}"), &["user@example.com"]);

    let client = Client::new("http://127.0.0.1:1", cxkit_auth::Auth::builder().build());
    let call = client.login_access_token().body(form);
    assert_redacted(&format!("{call:?}"), &["user@example.com"]);
}

#[test]
fn token_envelope_hides_both_tokens_flat_and_nested() {
    let envelope: types::TokenEnvelope = serde_json::from_value(serde_json::json!({
        "success": true,
        "message": "logged in",
        "access_token": SECRET,
        "ejento_access_token": SECRET,
        "token_type": "bearer",
        "data": {"access_token": SECRET, "ejento_access_token": SECRET, "token_type": "bearer"},
    }))
    .expect("decodes");
    assert_redacted(&format!("{envelope:?}"), &["logged in", "bearer"]);
    // Absent tokens still show as absent.
    let empty = types::TokenEnvelope::default();
    let debug = format!("{empty:?}");
    assert!(debug.contains("access_token: None"), "{debug}");
    // The value is untouched: only its printing is redacted.
    assert_eq!(envelope.access_token.as_deref(), Some(SECRET));
}

#[test]
fn emailed_codes_and_passwords_are_hidden() {
    let exchange = types::PasswordlessExchange::builder().code(SECRET);
    assert_redacted(&format!("{exchange:?}"), &[]);
    let exchange: types::PasswordlessExchange = exchange.try_into().expect("complete");
    assert_redacted(&format!("{exchange:?}"), &[]);

    let otp: types::VerifyOtp = types::VerifyOtp::builder()
        .code(SECRET)
        .otp_session_id("session-42")
        .try_into()
        .expect("complete");
    assert_redacted(&format!("{otp:?}"), &["session-42"]);

    let update: types::UpdatePassword = types::UpdatePassword::builder()
        .current_password(SECRET)
        .new_password(SECRET)
        .try_into()
        .expect("complete");
    assert_redacted(&format!("{update:?}"), &[]);
}
