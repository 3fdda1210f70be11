//! Ejento's typical flow with no vendor credentials: starts the fake Authentication App the
//! tests use on loopback, then logs in, creates a chat thread, asks an agent and prints the
//! streamed answer, refreshes, and logs out.
//!
//! ```sh
//! cargo run -p cxkit-tests --example ejento_local
//! ```

use cxkit::clients::ejento_platform::types::{AgentResponseRequest, ChatThreadCreate};
use cxkit::{Ejento, Secret, StreamEvent};
use cxkit_testkit::ejento::{FakeEjento, PASSWORD_OF_USER, Reply, USER};
use futures::StreamExt as _;
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = FakeEjento::start().await;
    // The fake simulates the Authentication App; the two platform calls this flow makes are
    // answered by operation id (and only to the platform token the fake issued).
    server.on(
        "create_agent_chat_thread",
        Reply::json(&json!({"success": true, "message": "created",
                             "data": {"id": 123, "agent": 7, "title": "New Chat"}}))
        .with_status(201),
    );
    let stream = concat!(
        "data: {\"step\":\"Thinking\",\"message\":\"Thinking...\"}\n\n",
        "data: {\"step\":\"assistant_stream\",\"delta\":\"Employees get \"}\n\n",
        "data: {\"step\":\"assistant_stream\",\"delta\":\"20 days of leave.\"}\n\n",
        "data: {\"step\":\"end\",\"success\":true,\"output\":{\"answer\":\"Employees get 20 days of leave.\",",
        "\"references\":[{\"order\":1,\"url\":\"https://intranet.example/policy.pdf\",\"number\":1}],\"thread_id\":123}}\n\n",
    );
    server.on("stream_agent_response", Reply::sse(stream));

    let ejento = Ejento::builder().base_url(server.base_url()).build()?;
    let session = ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await?;
    let valid_for = |at: std::time::SystemTime| {
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default()
            .as_secs()
    };
    println!(
        "logged in; the tokens are valid for {} s",
        valid_for(session.expires_at)
    );

    let thread = ejento
        .platform()
        .create_agent_chat_thread()
        .agent_id(7)
        .body(ChatThreadCreate {
            agent: Some(7),
            created_by: Some(USER.to_owned()),
        })
        .send()
        .await
        .map_err(cxkit::Error::from)?
        .into_inner();
    let thread_id = thread.data.map(|t| t.id);
    println!("chat thread {thread_id:?}");

    let request: AgentResponseRequest = AgentResponseRequest::builder()
        .user_query("How many days of leave do employees get?")
        .chat_thread_id(thread_id)
        .try_into()?;
    let mut answer = ejento.stream_agent_response(7, &request).await?;
    while let Some(event) = answer.next().await {
        match event? {
            StreamEvent::AnswerDelta(text) => print!("{text}"),
            StreamEvent::Status {
                message: Some(m), ..
            } => println!("[{m}]"),
            StreamEvent::End { output, .. } => {
                println!();
                for r in output.map(|o| o.references).unwrap_or_default() {
                    println!("source: {}", r.url.unwrap_or_default());
                }
            }
            _ => {}
        }
    }

    let refreshed = ejento.refresh().await?;
    println!(
        "refreshed ({} refresh call at the server); valid for {} s",
        server.refresh_calls(),
        valid_for(refreshed.expires_at)
    );
    ejento.logout().await?;
    println!("logged out: {}", ejento.session().await.unwrap_err());
    Ok(())
}
