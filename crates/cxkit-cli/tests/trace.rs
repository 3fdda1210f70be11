//! `cxkit --trace`: a command's OpenTelemetry spans on stderr, one line each, without secrets;
//! and nothing of the kind without the flag.

mod support;

use cxkit_testkit::ejento::{self as fake_ejento, FakeEjento};
use support::Cli;

const ME: &str = "/api/v2/users/me";
const ME_ANSWER: &str =
    r#"{"success":true,"data":{"id":42,"email":"user@example.com","full_name":"Ada"}}"#;

#[tokio::test(flavor = "multi_thread")]
async fn trace_prints_the_calls_spans_on_stderr_without_secrets() {
    let fake = FakeEjento::start().await;
    fake.set_token_prefix("sigcanary");
    let cli = Cli::new();
    cli.run(
        &[
            "login",
            "ejento",
            "--base-url",
            fake.base_url(),
            "--username",
            fake_ejento::USER,
            "--trace",
        ],
        &[("CXKIT_PASSWORD", fake_ejento::PASSWORD_OF_USER)],
    )
    .await
    .ok();
    fake.script("GET", ME, 200, &[], ME_ANSWER);

    let quiet = cli.run(&["ejento", "get-current-user"], &[]).await.ok();
    assert!(!quiet.stderr.contains("trace:"), "{quiet:?}");

    fake.script("GET", ME, 200, &[], ME_ANSWER);
    let traced = cli
        .run(&["--trace", "ejento", "get-current-user"], &[])
        .await
        .ok();
    assert_eq!(
        traced.json()["data"]["id"],
        42,
        "stdout is the answer alone"
    );
    let lines: Vec<&str> = traced.stderr.lines().collect();
    let client = lines
        .iter()
        .find(|l| l.starts_with(&format!("trace: GET {ME} [Client] ")))
        .unwrap_or_else(|| panic!("no attempt span: {lines:?}"));
    assert!(
        client.contains(" http.response.status_code=200"),
        "{client}"
    );
    assert!(client.contains(" server.address=127.0.0.1"), "{client}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("trace: ejento-platform.get_current_user [Internal] ")),
        "no operation span: {lines:?}"
    );

    let mut secrets = vec![
        fake_ejento::PASSWORD_OF_USER.to_owned(),
        "sigcanary".to_owned(),
    ];
    for issued in fake.issued() {
        secrets.push(issued.auth_app);
        secrets.push(issued.ejento);
    }
    cli.assert_no_secrets(&secrets);
}
