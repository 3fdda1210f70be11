//! cxkit's OpenTelemetry spans and metrics, printed to stdout: a session against the test kit's
//! fake Ejento, with the test kit's in-memory capture as the tracer and meter provider, logs in,
//! makes a call the server first rejects (a 401, so the token is refreshed and the call
//! replayed) and streams an agent's answer; then every span and metric data point is printed.
//! No vendor credentials needed:
//!
//! ```text
//! cargo run -p cxkit-tests --features otel --example telemetry_stdout
//! ```
//!
//! An application gives its own providers instead: `cxkit::Telemetry::new(&tracer_provider,
//! &meter_provider)` (an SDK's, with the exporters it ships to), or `Telemetry::global()`.

use cxkit::clients::ejento_platform::types::AgentResponseRequest;
use cxkit::{Config, Ejento, Secret};
use cxkit_testkit::ejento::{FakeEjento, PASSWORD_OF_USER, SseAnswer, USER};
use cxkit_testkit::otel::TelemetryCapture;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fake = FakeEjento::start().await;
    fake.stream_answer(&SseAnswer::classic("Twenty days of paid leave."));
    let capture = TelemetryCapture::new();

    let config = Config::builder()
        .telemetry(capture.telemetry())
        .propagate_trace_context(true)
        .build()?;
    let ejento = Ejento::builder()
        .config(&config)
        .base_url(fake.base_url())
        .users_base_url(fake.base_url())
        .build()?;
    ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await?;

    // The server rejects the token once: a refresh, and the call replayed.
    fake.reject_once(&fake.last_issued().auth_app);
    ejento.users()?.read_all_users().send().await?;

    let question: AgentResponseRequest = AgentResponseRequest::builder()
        .user_query("How many days of leave?")
        .try_into()?;
    let answer = ejento
        .stream_agent_response(7, &question)
        .await?
        .collect_answer()
        .await?;
    println!("answer: {}\n", answer.text);

    print!("{}", capture.dump());
    Ok(())
}
