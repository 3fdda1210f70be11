//! The one send path for a request written by hand (a multipart upload, an event stream, a
//! redirect read rather than followed, any operation built from a table at run time):
//! [`SendRaw::send_raw`], which every generated client offers.

use std::fmt;
use std::future::Future;

use reqwest::{Request, Response};

use crate::{ApiSecurity, Auth, AuthError, hooks};

/// A generated client that sends a request built by hand as one of its spec's operations, with
/// everything its generated calls get: the operation's credentials and `X-API-Version`, the
/// view's per-call [`crate::CallOptions`], retries of transient failures, one replay after a
/// 401 with a fresh token, the deadline and body limit, and URLs scrubbed of secrets. It is the
/// same code ([`hooks::authorize`], then [`hooks::exec`]), so a hand-written call cannot drift
/// from the generated ones.
///
/// `cargo xtask generate` implements it for every generated `Client` (the three required
/// methods, one line each); [`SendRaw::send_raw`] is provided.
pub trait SendRaw: Sync {
    /// The client's operation table: its spec's security, per operation (the generated
    /// `SECURITY`).
    fn security(&self) -> &'static ApiSecurity;

    /// The auth handle (or view) the client's calls go through.
    fn auth(&self) -> &Auth;

    /// The HTTP client the client's calls are sent with.
    fn http_client(&self) -> &reqwest::Client;

    /// Sends `request` as the operation `operation_id` of this client's spec (see the trait).
    /// The answer comes back whatever its status, its URL scrubbed; its body is bounded unless
    /// the request asked for a stream. A request with a streamed body cannot be sent twice, so
    /// it is neither retried nor replayed.
    ///
    /// Fails with [`SendError::Auth`] when the operation's credentials cannot be applied (the
    /// operation is not in the table, no credential is configured for it, the session has
    /// ended), and with [`SendError::Transport`] when the exchange fails; the hooks' own
    /// failures are typed values in that error's source chain
    /// ([`hooks::StaticCredentialRejected`], [`hooks::BodyTooLarge`],
    /// [`hooks::RedirectFollowed`]).
    fn send_raw<'a>(
        &'a self,
        operation_id: &'a str,
        request: Request,
    ) -> impl Future<Output = Result<Response, SendError>> + Send + 'a {
        async move {
            let mut request = request;
            let (auth, security) = (self.auth(), self.security());
            hooks::authorize(auth, security, &mut request, operation_id).await?;
            hooks::exec(auth, security, self.http_client(), request, operation_id)
                .await
                .map_err(SendError::Transport)
        }
    }
}

/// Why [`SendRaw::send_raw`] sent nothing or got no answer. Neither variant's text holds a
/// secret: an [`AuthError`] is written by cxkit, and the transport error's URL is scrubbed.
#[derive(Debug)]
#[non_exhaustive]
pub enum SendError {
    /// The operation's credentials could not be applied; nothing was sent.
    Auth(AuthError),
    /// The request failed in transit, or ended in one of the hooks' typed errors (in its
    /// source chain).
    Transport(reqwest::Error),
}

impl From<AuthError> for SendError {
    fn from(error: AuthError) -> Self {
        SendError::Auth(error)
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Auth(error) => fmt::Display::fmt(error, f),
            SendError::Transport(_) => f.write_str("the request failed in transit"),
        }
    }
}

impl std::error::Error for SendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SendError::Auth(_) => None,
            SendError::Transport(error) => Some(error),
        }
    }
}
