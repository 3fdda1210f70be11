//! Every operation of every spec, called through our clients against Prism mocking that spec
//! with request validation on (`prism mock --errors`). A test fails on any request Prism
//! rejects, any answer our types cannot decode, and when the operations exercised are not
//! exactly the spec's.
//!
//! The tests of the APIs that call nothing through the facade are written by the build script
//! from the registry (`specs/systems.toml`, every API without `conformance_by_hand`); the
//! others are here.

include!(concat!(env!("OUT_DIR"), "/prism_tests.rs"));

use cxkit::clients::{ejento_auth, ejento_platform, platform28, proto_developer};
use cxkit::{Auth, Credential, DocumentUpload, Ejento, RetryPolicy, Secret, SsoProvider};
use cxkit_conformance::{Conformance, Failure, Prism, facade_body, http_client};

/// Dummy secrets: Prism checks that each required credential is present, not its value.
fn fixed(secret: &str) -> Credential {
    Credential::fixed(Secret::new(secret))
}

/// The shared settings of every facade handle here: no retries.
fn no_retries() -> cxkit::Config {
    cxkit::Config::builder()
        .retry(RetryPolicy::never())
        .build()
        .expect("config")
}

/// A facade session on `prism`, with dummy tokens installed (no login call).
async fn ejento_session(prism: &Prism) -> Ejento {
    let ejento = Ejento::builder()
        .config(&no_retries())
        .base_url(prism.base_url())
        .subscription_key(Secret::new("conformance-subscription-key"))
        .build()
        .expect("a facade on a loopback URL builds");
    ejento
        .adopt_tokens(
            Secret::new("conformance-auth-app-token"),
            Secret::new("conformance-ejento-token"),
        )
        .await
        .expect("dummy tokens install");
    ejento
}

#[tokio::test]
async fn ejento_auth_conforms_to_its_spec() {
    let Some(prism) = Prism::start(cxkit_conformance::ejento_auth::SPEC) else {
        return;
    };
    let auth = Auth::builder()
        .retry(RetryPolicy::never())
        .credential("authAppToken", fixed("conformance-auth-app-token"))
        .credential("subscriptionKey", fixed("conformance-subscription-key"))
        .credential("ejentoAuthKey", fixed("conformance-ejento-auth-key"))
        .build();
    let client = ejento_auth::Client::new_with_client(prism.base_url(), http_client(), auth);
    let mut run = Conformance::new(&prism);
    run.run(&client, cxkit_conformance::ejento_auth::CALLS)
        .await;

    // Hand-written: the SSO redirects (302, not followed; the facade returns the Location).
    let ejento = ejento_session(&prism).await;
    let sso = [
        (SsoProvider::Google, "initiate_google_sso_login"),
        (SsoProvider::Microsoft, "initiate_microsoft_sso_login"),
        (SsoProvider::LinkedIn, "initiate_linkedin_sso_login"),
        (SsoProvider::Okta, "initiate_okta_sso_login"),
    ];
    for (provider, id) in sso {
        let call = ejento.sso_login_url(provider, "https://example.com/after-sign-in");
        run.check(id, async { Ok::<_, Failure>(call.await?) }).await;
    }
    let called: Vec<&str> = sso.iter().map(|(_, id)| *id).collect();
    run.finish(
        &called,
        cxkit_conformance::ejento_auth::FACADE,
        &ejento_auth::SECURITY,
    );
}

#[tokio::test]
async fn ejento_platform_conforms_to_its_spec() {
    use cxkit_conformance::ejento_platform::{CALLS, FACADE, FACADE_BODIES, SPEC};
    let Some(prism) = Prism::start(SPEC) else {
        return;
    };
    let auth = Auth::builder()
        .retry(RetryPolicy::never())
        .credential("ejentoToken", fixed("conformance-ejento-token"))
        .credential("subscriptionKey", fixed("conformance-subscription-key"))
        .build();
    let client = ejento_platform::Client::new_with_client(prism.base_url(), http_client(), auth);
    let mut run = Conformance::new(&prism);
    run.run(&client, CALLS).await;

    let ejento = ejento_session(&prism).await;
    // SSE: Prism answers with the operation's `example` stream; the facade must parse it to
    // its `end` event.
    let id = "stream_agent_response";
    let call = async {
        let body: ejento_platform::types::AgentResponseRequest =
            facade_body(FACADE_BODIES, id, "AgentResponseRequest")?;
        let stream = ejento.stream_agent_response(1, &body).await?;
        Ok::<_, Failure>(stream.into_answer().await?)
    };
    run.check(id, call).await;

    let id = "stream_workflow_response";
    let call = async {
        let body: ejento_platform::types::WorkflowResponseRequest =
            facade_body(FACADE_BODIES, id, "WorkflowResponseRequest")?;
        let stream = ejento.stream_workflow_response(1, &body).await?;
        Ok::<_, Failure>(stream.into_answer().await?)
    };
    run.check(id, call).await;

    // Multipart: streamed from a reader.
    let content: &'static [u8] = b"conformance test document\n";
    let upload =
        DocumentUpload::from_reader("conformance.txt", content, Some(content.len() as u64))
            .user_id("1");
    let call = ejento.upload_document(1, upload);
    run.check("upload_corpus_document", async {
        Ok::<_, Failure>(call.await?)
    })
    .await;

    run.finish(
        &[
            "stream_agent_response",
            "stream_workflow_response",
            "upload_corpus_document",
        ],
        FACADE,
        &ejento_platform::SECURITY,
    );
}

#[tokio::test]
async fn proto_developer_conforms_to_its_spec() {
    let Some(prism) = Prism::start(cxkit_conformance::proto_developer::SPEC) else {
        return;
    };
    let auth = Auth::builder()
        .retry(RetryPolicy::never())
        .credential("takeoverSecret", fixed("conformance-takeover-secret"))
        .build();
    let client = proto_developer::Client::new_with_client(prism.base_url(), http_client(), auth);
    let mut run = Conformance::new(&prism);
    run.run(&client, cxkit_conformance::proto_developer::CALLS)
        .await;

    // Hand-written: text to speech (streamed audio) and speech recognition (multipart).
    let facade = cxkit::ProtoPlatform::builder()
        .config(&no_retries())
        .base_url(prism.base_url())
        .teamspace_id("conformance-teamspace")
        .takeover_secret(Secret::new("conformance-takeover-secret"))
        .build()
        .expect("a facade on a loopback URL builds");
    let call = async {
        let mut audio = Vec::new();
        let request = cxkit::TextToSpeechRequest::new("Muraho neza").lang("rw");
        Ok::<_, Failure>(facade.text_to_speech(&request, &mut audio).await?)
    };
    run.check("text_to_speech", call).await;
    let call = async {
        Ok::<_, Failure>(
            facade
                .speech_to_text(b"ID3conformance".to_vec(), "hello.mp3", "audio/mpeg")
                .await?,
        )
    };
    run.check("speech_to_text", call).await;
    run.finish(
        &["text_to_speech", "speech_to_text"],
        cxkit_conformance::proto_developer::FACADE,
        &proto_developer::SECURITY,
    );
}

#[tokio::test]
async fn platform28_conforms_to_its_spec() {
    let Some(prism) = Prism::start(cxkit_conformance::platform28::SPEC) else {
        return;
    };
    // The API key only. With a login session the hooks send the LSID as a `;lsid=...` matrix
    // parameter on the last path segment, which Prism cannot parse (it treats it as part of the
    // path parameter's value, or matches no path at all); the LSID's wire format is covered by
    // the loopback tests of the facade instead.
    let auth = Auth::builder()
        .retry(RetryPolicy::never())
        .credential("apiKey", fixed("conformance-api-key"))
        .build();
    let client = platform28::Client::new_with_client(prism.base_url(), http_client(), auth);
    let mut run = Conformance::new(&prism);
    run.run(&client, cxkit_conformance::platform28::CALLS).await;
    run.finish(
        &[],
        cxkit_conformance::platform28::FACADE,
        &platform28::SECURITY,
    );

    // Negative control: the validator is on, so a suite that passes means something. A body
    // of the wrong type and a missing credential must both be refused.
    let url = format!("{}/session/x", prism.base_url());
    let wrong_body = http_client()
        .delete(format!("{url}?apiKey=conformance-api-key"))
        .header("content-type", "application/json")
        .body("\"not a boolean\"")
        .send()
        .await
        .expect("Prism answers");
    assert_eq!(wrong_body.status().as_u16(), 422, "a wrong body type");
    let no_credential = http_client()
        .delete(url)
        .header("content-type", "application/json")
        .body("true")
        .send()
        .await
        .expect("Prism answers");
    assert_eq!(no_credential.status().as_u16(), 401, "a missing credential");
}
