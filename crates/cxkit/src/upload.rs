//! "Upload a Document to a Corpus": a multipart upload, streamed from a file or any async
//! reader in constant memory, with an optional progress callback.

use std::fmt;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use tokio::io::AsyncRead;
use tokio_util::io::ReaderStream;

use crate::{Error, Result};

/// Called as the body is sent, with the bytes sent so far and the total when known.
pub type Progress = Arc<dyn Fn(u64, Option<u64>) + Send + Sync>;

/// A document to upload.
pub struct DocumentUpload {
    pub(crate) file_name: String,
    pub(crate) mime: String,
    pub(crate) length: Option<u64>,
    pub(crate) reader: Pin<Box<dyn AsyncRead + Send + Sync>>,
    pub(crate) user_id: Option<String>,
    pub(crate) tags: Option<String>,
    pub(crate) attachment: bool,
    pub(crate) progress: Option<Progress>,
}

impl fmt::Debug for DocumentUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocumentUpload")
            .field("file_name", &self.file_name)
            .field("mime", &self.mime)
            .field("length", &self.length)
            .field("tags", &self.tags)
            .field("attachment", &self.attachment)
            .finish_non_exhaustive()
    }
}

impl DocumentUpload {
    /// Uploads the file at `path`, read in chunks as it is sent.
    pub async fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| Error::config(format!("cannot open {}: {e}", path.display())))?;
        let length = file.metadata().await.ok().map(|m| m.len());
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "document".to_owned());
        Ok(DocumentUpload::from_reader(name, file, length))
    }

    /// Uploads whatever `reader` yields, under `file_name`. With `length`, the request carries
    /// a `Content-Length` for the part and progress reports a total.
    pub fn from_reader(
        file_name: impl Into<String>,
        reader: impl AsyncRead + Send + Sync + 'static,
        length: Option<u64>,
    ) -> Self {
        let file_name = file_name.into();
        let mime = mime_for(&file_name).to_owned();
        DocumentUpload {
            file_name,
            mime,
            length,
            reader: Box::pin(reader),
            user_id: None,
            tags: None,
            attachment: false,
            progress: None,
        }
    }

    /// The uploader's Ejento user id (the vendor's own client sends it).
    pub fn user_id(mut self, id: impl Into<String>) -> Self {
        self.user_id = Some(id.into());
        self
    }

    /// Comma-separated tags for the document, e.g. `finance,report` (the vendor's "Indexing
    /// API Migration" guide lists this optional form field for the indexing service).
    pub fn tags(mut self, tags: impl Into<String>) -> Self {
        self.tags = Some(tags.into());
        self
    }

    /// Marks the document as a chat attachment.
    pub fn attachment(mut self, yes: bool) -> Self {
        self.attachment = yes;
        self
    }

    /// Sets the MIME type (default: from the file name's extension).
    pub fn mime(mut self, mime: impl Into<String>) -> Self {
        self.mime = mime.into();
        self
    }

    /// Reports progress as the body is sent.
    pub fn on_progress(
        mut self,
        progress: impl Fn(u64, Option<u64>) + Send + Sync + 'static,
    ) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }

    /// The multipart form, with the file part streamed.
    pub(crate) fn into_form(self) -> Result<reqwest::multipart::Form> {
        let total = self.length;
        let counted = Counted {
            inner: ReaderStream::with_capacity(self.reader, 64 * 1024),
            sent: Arc::new(AtomicU64::new(0)),
            total,
            progress: self.progress,
        };
        let body = reqwest::Body::wrap_stream(counted);
        let part = match total {
            Some(len) => reqwest::multipart::Part::stream_with_length(body, len),
            None => reqwest::multipart::Part::stream(body),
        }
        .file_name(self.file_name)
        .mime_str(&self.mime)
        .map_err(|_| Error::config(format!("`{}` is not a MIME type", self.mime)))?;
        let mut form = reqwest::multipart::Form::new()
            .text("content_type", "file")
            .text("upload_from", "web")
            .text("attachment", if self.attachment { "true" } else { "false" });
        if let Some(user) = self.user_id {
            form = form.text("user_id", user);
        }
        if let Some(tags) = self.tags {
            form = form.text("tags", tags);
        }
        Ok(form.part("source", part))
    }
}

fn mime_for(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "md" => "text/markdown",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        _ => "application/octet-stream",
    }
}

/// Counts bytes as the HTTP client pulls them, and reports progress.
struct Counted<S> {
    inner: S,
    sent: Arc<AtomicU64>,
    total: Option<u64>,
    progress: Option<Progress>,
}

impl<S> Stream for Counted<S>
where
    S: Stream<Item = std::io::Result<Bytes>> + Unpin,
{
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &polled {
            let sent =
                self.sent.fetch_add(chunk.len() as u64, Ordering::Relaxed) + chunk.len() as u64;
            if let Some(progress) = &self.progress {
                progress(sent, self.total);
            }
        }
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_types_follow_the_extension() {
        assert_eq!(mime_for("Policy.PDF"), "application/pdf");
        assert_eq!(mime_for("notes"), "application/octet-stream");
    }
}
