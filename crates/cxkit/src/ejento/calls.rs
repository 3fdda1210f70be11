//! The calls progenitor cannot generate (the SSE answer streams and the multipart upload),
//! written by hand and sent through the generated client's own hooks.

use cxkit_auth::SendRaw as _;
use cxkit_ejento_platform as gen_platform;
use gen_platform::ClientInfo as _;

use super::Ejento;
use crate::{Error, Result};

impl Ejento {
    /// Asks an agent and streams its answer ("Stream Agent Response (SSE)"). Not retried (a
    /// POST); a 401 is refreshed and replayed once like any call.
    pub async fn stream_agent_response(
        &self,
        agent_id: i64,
        request: &gen_platform::types::AgentResponseRequest,
    ) -> Result<crate::sse::AnswerStream> {
        let path = format!("/response-service/api/v2/agents/{agent_id}/responses/stream");
        self.stream("stream_agent_response", agent_id, &path, request)
            .await
    }

    /// Runs a workflow and streams its answer ("Stream Workflow Response (SSE)").
    pub async fn stream_workflow_response(
        &self,
        workflow_id: i64,
        request: &gen_platform::types::WorkflowResponseRequest,
    ) -> Result<crate::sse::AnswerStream> {
        let path = format!("/response-service/api/v2/workflows/{workflow_id}/responses/stream");
        self.stream("stream_workflow_response", workflow_id, &path, request)
            .await
    }

    async fn stream(
        &self,
        operation: &'static str,
        id: i64,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<crate::sse::AnswerStream> {
        // The answer's span and GenAI metrics (the `otel` feature), timed from here.
        let mut watch = crate::telemetry::StreamWatch::start(&self.inner.config, operation, id);
        let client = &self.inner.platform;
        let request = client
            .client()
            .post(format!("{}{path}", client.baseurl()))
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .json(body)
            .build()
            .map_err(|e| Error::transport(&e))?;
        let response = watch
            .sending(self.send_platform(operation, request))
            .await?;
        Ok(watch.watch(crate::sse::AnswerStream::from_response(
            response,
            self.inner.config.http(),
        )))
    }

    /// Uploads a document to a corpus ("Upload a Document to a Corpus") as a streamed multipart
    /// body: memory stays constant whatever the file size. Not retried and not replayed (the
    /// body is a stream); the token is refreshed first if it is due. The answer is read within
    /// [`crate::HttpConfig::body_timeout`].
    pub async fn upload_document(
        &self,
        corpus_id: i64,
        upload: crate::upload::DocumentUpload,
    ) -> Result<gen_platform::types::DocumentEnvelope> {
        let url = format!(
            "{}/indexing-service/api/v2/corpora/{corpus_id}/documents",
            self.inner.indexing_base
        );
        let request = self
            .inner
            .platform
            .client()
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .multipart(upload.into_form()?)
            .build()
            .map_err(|e| Error::transport(&e))?;
        let response = self
            .send_platform("upload_corpus_document", request)
            .await?;
        let bytes =
            crate::error::read_whole(response, self.inner.config.http().body_timeout).await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::decode(&e))
    }

    /// Sends a hand-written platform request through the generated client's hooks (the same
    /// credentials, retry policy, 401 replay and URL scrubbing as generated calls); a non-2xx
    /// answer becomes an [`Error`].
    async fn send_platform(
        &self,
        operation: &str,
        request: reqwest::Request,
    ) -> Result<reqwest::Response> {
        let response = self.inner.platform.send_raw(operation, request).await?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let body = crate::error::read_capped(response, self.inner.config.http().body_timeout).await;
        Err(Error::api(status, &body))
    }
}
