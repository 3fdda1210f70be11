//! What the generated `ClientHooks` impls call. Each generated crate's impl is two one-line
//! delegations to [`pre`] and [`exec`] (the impl itself must live in the generated crate: the
//! orphan rule forbids it here).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt as _;
use reqwest::header::{ACCEPT, HeaderName};
use reqwest::{Method, Request, Response, StatusCode};
use tracing::Instrument;

use crate::placement;
use crate::redact::{may_carry_secrets, path_carries_live_secret, scrub_path_secrets, scrub_url};
use crate::retry::{is_retryable_error, is_retryable_status, retry_after};
use crate::{API_VERSION_HEADER, ApiSecurity, Auth, AuthError, OperationDef};

/// The header names the hooks touch on every call, built at compile time: a name given as a
/// string is parsed (and, unless standard, hashed) again on every use.
const API_VERSION: HeaderName = HeaderName::from_static(API_VERSION_HEADER);

/// The error of a call whose operation the generated table does not have: the table and the
/// call disagree.
#[cold]
#[inline(never)]
fn unknown_operation(api: &ApiSecurity, id: &str) -> AuthError {
    AuthError::config(format!(
        "{}: operation `{id}` is not in the generated security table; run `cargo xtask \
         generate`",
        api.api
    ))
}

/// Prepares a request: applies the credentials the operation's `security` asks for and its
/// `X-API-Version`. An error comes back as an [`AuthError`] encoded for
/// progenitor's `Error::Custom` (see [`AuthError::to_hook_message`]).
pub async fn pre(
    auth: &Auth,
    api: &ApiSecurity,
    request: &mut Request,
    operation_id: &str,
) -> Result<(), String> {
    authorize(auth, api, request, operation_id)
        .await
        .map_err(|e| e.to_hook_message())
}

/// Applies an operation's credentials to a request, and its `X-API-Version` (the version the
/// spec was curated against, or the [`crate::AuthBuilder::api_version`] override; none for legacy
/// operations). Hand-written calls (multipart upload, SSE) use this directly, then send with
/// [`exec`], so they get the same headers, auth, retries and replay as generated ones.
pub async fn authorize(
    auth: &Auth,
    api: &ApiSecurity,
    request: &mut Request,
    operation_id: &str,
) -> Result<(), AuthError> {
    let Some(position) = api.position(operation_id) else {
        return Err(unknown_operation(api, operation_id));
    };
    let plan = auth.plan(api, position)?;
    // Per-call headers first, so that the credentials and the version below win over them.
    if let Some(options) = auth.options() {
        options.apply(request)?;
    }
    match &plan.api_version {
        Some(value) => {
            request.headers_mut().insert(API_VERSION, value.clone());
        }
        None => {
            request.headers_mut().remove(API_VERSION);
        }
    }
    for chosen in plan.credentials(auth) {
        let source = &chosen.credential.source;
        let secret = match source.token_now() {
            Some(secret) => secret,
            None => source.token().await?,
        };
        placement::apply_cached(
            request,
            chosen.placement,
            chosen.name,
            &secret,
            &chosen.credential.header,
        )?;
    }
    Ok(())
}

/// The error in the source chain of a call whose request carried only
/// [`crate::Credential::static_key`]s and was answered 401: the key itself is wrong, and there is
/// no session to log in to again. [`exec`] ends such a call with this error instead of the
/// answer (see [`exec`]), so the refusal reaches the caller as a value of this type, which no
/// server can make or forge: a server chooses only the status and the body.
///
/// It keeps the first 64 KiB of the answer's body (read within the call's deadline and
/// [`crate::AuthBuilder::body_timeout`]), for the vendor's explanation. That body is the
/// server's text and may echo what was sent: its `Debug` and `Display` never show it, and
/// whoever shows [`StaticCredentialRejected::body`] redacts it first (the `cxkit` facade's
/// `Error::InvalidCredentials` does).
#[derive(Clone, PartialEq, Eq)]
pub struct StaticCredentialRejected {
    status: StatusCode,
    body: bytes::Bytes,
}

impl StaticCredentialRejected {
    /// The answer's status (401).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The start of the answer's body, as the server sent it: unredacted.
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

impl fmt::Debug for StaticCredentialRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticCredentialRejected")
            .field("status", &self.status.as_u16())
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

impl fmt::Display for StaticCredentialRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the server answered {} to a request that carried only static keys: the key is \
             wrong or revoked",
            self.status.as_u16()
        )
    }
}

impl std::error::Error for StaticCredentialRejected {}

/// The error in the source chain of a body read that passed
/// [`crate::AuthBuilder::max_response_bytes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyTooLarge {
    /// The limit, in bytes.
    pub limit: u64,
}

impl fmt::Display for BodyTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the response body is longer than {} bytes", self.limit)
    }
}

impl std::error::Error for BodyTooLarge {}

/// The error in the source chain of a call whose answer came from another URL than the one
/// asked: the HTTP client followed a redirect by itself. cxkit's own clients never do
/// (`redirect::Policy::none()`), and the facade refuses a supplied client that would; this is
/// the last line of defence for a client handed to a generated client directly. The text names
/// the fix and no URL (either may carry a secret).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RedirectFollowed;

impl fmt::Display for RedirectFollowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the HTTP client followed a redirect, which sends a request's credentials on to \
             wherever a server points; build it with \
             `.redirect(reqwest::redirect::Policy::none())`",
        )
    }
}

impl std::error::Error for RedirectFollowed {}

/// A `reqwest::Error` with [`RedirectFollowed`] as its source.
async fn redirect_followed() -> reqwest::Error {
    failed_with(RedirectFollowed).await
}

/// A `reqwest::Error` with `error` as its source: `exec` can only fail with a reqwest error, and
/// reqwest makes one only from a failed transfer, so a body that fails with `error` is read.
async fn failed_with(error: impl std::error::Error + Send + Sync + 'static) -> reqwest::Error {
    type BoxError = Box<dyn std::error::Error + Send + Sync>;
    let body = reqwest::Body::wrap_stream(futures::stream::once(async move {
        Err::<bytes::Bytes, BoxError>(Box::new(error))
    }));
    match Response::from(http::Response::new(body)).bytes().await {
        Err(error) => error,
        // Unreachable: the body's only item is an error.
        Ok(_) => unreachable!("a body that fails cannot be read whole"),
    }
}

/// Whether the caller asked for a stream (SSE or a download), which its own reader bounds,
/// rather than a document read whole.
fn accepts_stream(request: &Request) -> bool {
    request.headers().get_all(ACCEPT).iter().any(|v| {
        // What nearly every generated call sends, answered without a substring search.
        v != "application/json"
            && v.to_str().is_ok_and(|v| {
                v.contains("text/event-stream") || v.contains("application/octet-stream")
            })
    })
}

/// Sends a request prepared by [`pre`]: retries transient failures of idempotent operations with
/// full-jitter backoff, `Retry-After` and a deadline; on a 401 tells the token sources which
/// token was rejected and, if one of them has a new token, replays once; a 401 to a request
/// that carried only static keys ends in an error with [`StaticCredentialRejected`] as its
/// source (the key is wrong; there is nothing to refresh). Errors and responses come back with
/// every secret scrubbed from their URL. Unless the call streams (an event
/// stream or download answer, or a streamed request body), the whole call is bounded by
/// [`Auth::total_timeout`] and the answer's body by [`Auth::max_response_bytes`].
///
/// A view with [`crate::CallOptions`] ([`Auth::with_options`]) changes this per call: its
/// timeout replaces the total timeout and bounds streamed calls too, its retry policy replaces
/// the handle's, and an idempotency key makes a non-idempotent operation retryable.
///
/// The request is handed to the HTTP client at once, so call this where a Tokio runtime runs
/// (inside an `async` function, as the generated clients do); the future it returns does the
/// rest.
pub fn exec<'a>(
    auth: &'a Auth,
    api: &'a ApiSecurity,
    client: &'a reqwest::Client,
    mut request: Request,
    operation_id: &'a str,
) -> impl Future<Output = reqwest::Result<Response>> + Send + 'a {
    let span = tracing::debug_span!(
        "cxkit.request",
        api = api.api,
        operation = operation_id,
        method = %request.method(),
        attempt = tracing::field::Empty,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
        request_id = tracing::field::Empty,
    );
    let streamed = accepts_stream(&request);
    #[cfg(feature = "otel")]
    let otel = auth.telemetry().map(|handle| {
        Box::new(crate::telemetry::CallTelemetry::start(
            handle,
            api.api,
            operation_id,
            api.operation(operation_id),
            &request,
        ))
    });
    let call = Call {
        auth,
        api,
        client,
        operation_id,
        streamed,
        safe_method: matches!(
            *request.method(),
            Method::GET | Method::PUT | Method::DELETE | Method::HEAD | Method::OPTIONS
        ),
        // A per-call timeout is what the caller asked for this very call, so it bounds
        // streams too; the client-wide one exempts them, and a streamed request body (an
        // upload, which has no bytes to look at).
        deadline: auth.call_timeout().or_else(|| {
            auth.total_timeout()
                .filter(|_| !streamed && request.body().is_none_or(|b| b.as_bytes().is_some()))
        }),
        started: Instant::now(),
        // A span nobody listens to is not entered and left around every poll.
        traced: !span.is_disabled(),
        span,
        #[cfg(feature = "otel")]
        otel,
    };
    // Cloned before the deadline is set: reqwest keeps a request's timeout in its extensions,
    // which would otherwise be copied too (the next attempt sets its own).
    let spare = spare_copy(&request);
    call.bound(&mut request, true);
    let asked = spare.is_none().then(|| request.url().clone());
    let sent_at = call.sending(1);
    #[cfg(feature = "otel")]
    call.otel_sending(&mut request);
    let sending = {
        let _entered = call.traced.then(|| call.span.enter());
        client.execute(request)
    };
    Exec {
        call: Some(call),
        spare,
        asked,
        sent_at,
        sending,
        rest: None,
    }
}

/// The rest of a call after its first answer (a replay, retries, or a refused redirect),
/// boxed: most calls never get there.
type Rest<'a> = Pin<Box<dyn Future<Output = reqwest::Result<Response>> + Send + 'a>>;

pin_project_lite::pin_project! {
    /// The future of one call ([`exec`]): its first attempt is in flight with the HTTP client;
    /// an answer that needs no more is finished here, anything else goes on in [`Rest`]. A
    /// hand-written future, so that it holds the client's (small) future and the spare copy,
    /// and not the request itself again at every level of nested `async` functions.
    struct Exec<'a, F> {
        // `None` once the call has ended or gone on in `rest`.
        call: Option<Call<'a>>,
        spare: Option<Request>,
        asked: Option<reqwest::Url>,
        sent_at: Option<Instant>,
        #[pin]
        sending: F,
        rest: Option<Rest<'a>>,
    }
}

impl<F> Future for Exec<'_, F>
where
    F: Future<Output = reqwest::Result<Response>>,
{
    type Output = reqwest::Result<Response>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Some(rest) = this.rest {
            return rest.as_mut().poll(cx);
        }
        let Some(call) = this.call.as_ref() else {
            panic!("a cxkit call polled after it ended");
        };
        // Entered while this poll lasts (as `Instrument` would), when it listens.
        let _entered = call.traced.then(|| call.span.clone().entered());
        let result = ready!(this.sending.poll(cx));
        let asked = this
            .asked
            .as_ref()
            .or(this.spare.as_ref().map(Request::url));
        let redirected = call.answered(&result, asked, *this.sent_at);
        let call = this.call.take().unwrap_or_else(|| unreachable!());
        let rest: Rest<'_> = match result {
            // The common end: an answer that is neither a 401 nor a status worth retrying.
            Ok(response)
                if !redirected
                    && response.status() != StatusCode::UNAUTHORIZED
                    && !is_retryable_status(response.status()) =>
            {
                return Poll::Ready(call.end(Ok(response)));
            }
            result => {
                let spare = this.spare.take();
                let traced = call.traced.then(|| call.span.clone());
                #[cfg(feature = "otel")]
                let otel_cx = call.otel.as_ref().and_then(|o| o.context().cloned());
                let rest = async move {
                    let result = match result {
                        Ok(_) if redirected => Err(redirect_followed().await),
                        result => result,
                    };
                    call.recover(result, spare).await
                };
                let rest: Rest<'_> = match traced {
                    Some(span) => Box::pin(rest.instrument(span)),
                    None => Box::pin(rest),
                };
                // The replay's token refresh and the retries run in the operation span.
                #[cfg(feature = "otel")]
                let rest = crate::telemetry::in_context(rest, otel_cx);
                rest
            }
        };
        this.rest.insert(rest).as_mut().poll(cx)
    }
}

/// A copy of `request` for another attempt, or `None` when its body is a stream (which cannot
/// be sent twice). The same as `Request::try_clone`, which also allocates a request extension
/// and drops it again on every call, unless the request has a body (reqwest alone can copy
/// one without copying its bytes).
fn spare_copy(request: &Request) -> Option<Request> {
    if request.body().is_some() {
        return request.try_clone();
    }
    let mut copy = Request::new(request.method().clone(), request.url().clone());
    *copy.headers_mut() = request.headers().clone();
    *copy.version_mut() = request.version();
    // The one extension reqwest reads from a request.
    if let Some(timeout) = request.timeout() {
        *copy.timeout_mut() = Some(*timeout);
    }
    Some(copy)
}

/// The timeout that lifts a client-wide one: reqwest hands it to `tokio::time::sleep`, which
/// turns a deadline past the clock's range into "never".
const NO_DEADLINE: Duration = Duration::MAX;

/// What the attempts of one call share.
struct Call<'a> {
    auth: &'a Auth,
    api: &'a ApiSecurity,
    client: &'a reqwest::Client,
    operation_id: &'a str,
    /// The caller asked for a stream (an event stream or a download), which its own reader
    /// bounds: no body limit, and no client-wide deadline.
    streamed: bool,
    /// GET, PUT, DELETE, HEAD and OPTIONS: idempotent by their definition (the generated table
    /// says so too; `x-cxkit-idempotent` only ever marks a POST or PATCH).
    safe_method: bool,
    /// The deadline of the whole call, if it has one.
    deadline: Option<Duration>,
    /// The one clock read of a call answered at once; the deadline and the retry policy
    /// measure from it.
    started: Instant,
    span: tracing::Span,
    /// Whether the span listens: its fields cost a look-up each, and are recorded only then.
    traced: bool,
    /// The OpenTelemetry spans and metrics of the call, when the handle reports them.
    #[cfg(feature = "otel")]
    otel: Option<Box<crate::telemetry::CallTelemetry>>,
}

impl Call<'_> {
    /// The operation, looked up again (`pre` did already) only on the paths that need it: a
    /// 401, or a failure of a POST or PATCH worth retrying.
    fn op(&self) -> Option<&'static OperationDef> {
        self.api.operation(self.operation_id)
    }

    /// The credentials `authorize` applied: the operation's plan, read again only on a 401
    /// (to mark a rejected static key, or to replay with a fresh token).
    fn chosen(&self) -> Vec<crate::auth::Chosen<'_>> {
        self.api
            .position(self.operation_id)
            .and_then(|position| self.auth.plan(self.api, position).ok())
            .map(|plan| plan.credentials(self.auth).collect())
            .unwrap_or_default()
    }

    /// Whether a transient failure may be retried: an idempotent operation, or a call with an
    /// idempotency key, which lets the server recognise a repeat.
    fn idempotent(&self) -> bool {
        self.safe_method
            || self
                .auth
                .options()
                .is_some_and(|o| o.idempotency_key.is_some())
            || self.op().is_some_and(|op| op.idempotent)
    }

    /// Bounds an attempt by what is left of the call's deadline, body included. The first
    /// attempt has all of it, without a clock read, and is left to the client when the client
    /// applies that very bound itself ([`crate::AuthBuilder::client_timeout`]).
    fn bound(&self, request: &mut Request, first: bool) {
        let client = self.auth.client_timeout();
        let Some(deadline) = self.deadline else {
            if client.is_some() {
                // A call without a deadline (a stream): the client's is lifted.
                *request.timeout_mut() = Some(NO_DEADLINE);
            }
            return;
        };
        if first && client == Some(deadline) && request.timeout().is_none() {
            return;
        }
        let left = if first {
            deadline
        } else {
            deadline
                .saturating_sub(self.started.elapsed())
                .max(Duration::from_millis(1))
        };
        let timeout = request.timeout_mut();
        *timeout = Some(timeout.map_or(left, |own| own.min(left)));
    }

    /// Notes that an attempt is about to be sent: its number on the span, and the time it
    /// leaves, when the span listens.
    fn sending(&self, attempt: u32) -> Option<Instant> {
        self.traced.then(|| {
            self.span.record("attempt", attempt);
            Instant::now()
        })
    }

    /// Looks at an attempt's answer: records it on the span (when it listens), and tells
    /// whether it came from another URL than `asked`, which means the client followed a
    /// redirect, and the answer is refused.
    fn answered(
        &self,
        result: &reqwest::Result<Response>,
        asked: Option<&reqwest::Url>,
        sent_at: Option<Instant>,
    ) -> bool {
        if let Some(sent_at) = sent_at {
            self.record(result, sent_at);
        }
        let redirected =
            matches!((result, asked), (Ok(response), Some(asked)) if response.url() != asked);
        if redirected {
            tracing::warn!("the HTTP client followed a redirect; the answer is refused");
        }
        #[cfg(feature = "otel")]
        if let Some(otel) = &self.otel {
            otel.answered(result, redirected);
        }
        redirected
    }

    /// Starts an attempt's `CLIENT` span (and sends `traceparent`, where allowed), when the
    /// handle reports telemetry. Its `url.full` is scrubbed as an error's URL is.
    #[cfg(feature = "otel")]
    fn otel_sending(&self, request: &mut Request) {
        if let Some(otel) = &self.otel {
            let template = otel.template();
            otel.sending(request, |url| {
                // The end of the path that is the spec's own template, with no parameter in it,
                // is public text: only what precedes it (the base URL's path) is looked at.
                let path = url.path();
                let written = template
                    .filter(|t| !t.contains('{') && path.ends_with(t))
                    .map_or(0, str::len);
                // A URL with nowhere a secret could be is taken as it is.
                if !may_carry_secrets(url)
                    && self.auth.path_secrets().is_empty()
                    && !crate::redact::text_carries_live_secret(&path[..path.len() - written])
                {
                    url.as_str().to_owned()
                } else {
                    clean_url(url, self.auth, self.api).into()
                }
            });
        }
    }

    #[inline(never)]
    fn record(&self, result: &reqwest::Result<Response>, sent_at: Instant) {
        self.span.record(
            "latency_ms",
            u64::try_from(sent_at.elapsed().as_millis()).unwrap_or(u64::MAX),
        );
        if let Ok(response) = result {
            self.span.record("status", response.status().as_u16());
            if let Some(id) = crate::request_id::request_id(response.headers()) {
                self.span.record("request_id", tracing::field::display(&id));
            }
        }
    }

    /// Sends one attempt after the first. `spare`, the copy kept for another attempt, holds
    /// the URL asked (else it is copied here).
    async fn attempt(
        &self,
        request: Request,
        attempt: u32,
        spare: Option<&Request>,
    ) -> reqwest::Result<Response> {
        let asked = match spare {
            Some(_) => None,
            None => Some(request.url().clone()),
        };
        let sent_at = self.sending(attempt);
        #[cfg(feature = "otel")]
        let mut request = request;
        #[cfg(feature = "otel")]
        self.otel_sending(&mut request);
        let result = self.client.execute(request).await;
        if self.answered(&result, asked.as_ref().or(spare.map(Request::url)), sent_at) {
            return Err(Box::pin(redirect_followed()).await);
        }
        result
    }

    /// The answer as the caller gets it: its URL scrubbed, and its body bounded unless it
    /// streams.
    fn finish(&self, response: Response) -> Response {
        let response = scrubbed_response(response, self.auth, self.api);
        if self.streamed {
            response
        } else {
            limited(response, self.auth.max_response_bytes())
        }
    }

    /// Whether the request carried static keys only ([`crate::Credential::static_key`]): a 401
    /// to it refuses the key itself.
    #[cold]
    #[inline(never)]
    fn static_keys_only(&self) -> bool {
        let chosen = self.chosen();
        !chosen.is_empty() && chosen.iter().all(|c| c.credential.static_key)
    }

    /// The end of a call after a 401 or a failure worth retrying ([`Call::recover`]): a 401 to
    /// static keys only ends in [`StaticCredentialRejected`], anything else as [`Call::end`].
    async fn close(&self, result: reqwest::Result<Response>) -> reqwest::Result<Response> {
        match result {
            Ok(response)
                if response.status() == StatusCode::UNAUTHORIZED && self.static_keys_only() =>
            {
                let within = self
                    .deadline
                    .map(|d| d.saturating_sub(self.started.elapsed()))
                    .map_or(self.auth.body_timeout(), |left| {
                        left.min(self.auth.body_timeout())
                    });
                Err(Box::pin(static_rejection(response, within)).await)
            }
            result => self.end(result),
        }
    }

    /// The end of a call whose last attempt is not tried again.
    fn end(&self, result: reqwest::Result<Response>) -> reqwest::Result<Response> {
        #[cfg(feature = "otel")]
        if let Some(otel) = &self.otel {
            otel.finish(&result);
        }
        match result {
            Ok(response) => {
                if response.status().is_success() {
                    self.auth.budget().refund();
                }
                Ok(self.finish(response))
            }
            Err(error) => Err(scrubbed_error(error, self.auth, self.api)),
        }
    }

    /// What follows an attempt that was answered 401 or failed in a way worth retrying: one
    /// replay with a fresh credential, retries with backoff, or the end.
    async fn recover(
        &self,
        mut result: reqwest::Result<Response>,
        mut spare: Option<Request>,
    ) -> reqwest::Result<Response> {
        let mut attempt = 1u32;
        let mut replayed = false;
        loop {
            let (retryable, wait_hint) = match &result {
                Ok(response) => {
                    if response.status() == StatusCode::UNAUTHORIZED && !replayed {
                        let Some(mut next) = spare.take() else {
                            return self.close(result).await;
                        };
                        if !replay_after_rejection(&self.chosen(), &mut next).await {
                            return self.close(result).await;
                        }
                        tracing::debug!("401: a fresh credential is available, replaying once");
                        replayed = true;
                        spare = spare_copy(&next);
                        self.bound(&mut next, false);
                        result = self.attempt(next, attempt, spare.as_ref()).await;
                        continue;
                    }
                    // The clock is read only for an answer worth retrying.
                    let retryable = is_retryable_status(response.status());
                    let hint = retryable
                        .then(|| retry_after(response.headers(), SystemTime::now()))
                        .flatten();
                    (retryable, hint)
                }
                Err(error) => (is_retryable_error(error), None),
            };
            let policy = self.auth.retry_policy();
            let next = spare
                .take()
                .filter(|_| retryable && attempt < policy.max_attempts && self.idempotent());
            let elapsed = self.started.elapsed();
            let delay = next
                .as_ref()
                .and_then(|_| policy.delay(attempt, wait_hint))
                // A server's `Retry-After` can be near `u64::MAX` seconds, and a policy may
                // allow any: the sum is checked, and one past the clock's range is "too late".
                .filter(|delay| {
                    elapsed
                        .checked_add(*delay)
                        .is_some_and(|at| at <= policy.deadline)
                })
                .filter(|delay| {
                    self.deadline
                        .is_none_or(|d| elapsed.checked_add(*delay).is_some_and(|at| at < d))
                });
            match (next, delay) {
                (Some(mut next), Some(delay)) if self.auth.budget().try_spend() => {
                    tracing::debug!(
                        delay_ms = delay.as_millis() as u64,
                        "transient failure, retrying"
                    );
                    drop(result);
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                    spare = spare_copy(&next);
                    self.bound(&mut next, false);
                    result = self.attempt(next, attempt, spare.as_ref()).await;
                }
                _ => return self.close(result).await,
            }
        }
    }
}

/// The error that ends a call whose static keys were refused: the first 64 KiB of the answer's
/// body, read within `within` (what arrived by then is kept), as a [`StaticCredentialRejected`].
#[cold]
#[inline(never)]
async fn static_rejection(mut response: Response, within: Duration) -> reqwest::Error {
    const CAP: usize = 64 * 1024;
    let status = response.status();
    let mut body = Vec::new();
    let read = async {
        while let Ok(Some(chunk)) = response.chunk().await {
            body.extend_from_slice(&chunk[..chunk.len().min(CAP - body.len())]);
            if body.len() >= CAP {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(within, read).await;
    failed_with(StaticCredentialRejected {
        status,
        body: body.into(),
    })
    .await
}

/// Tells each token source which token the server rejected; when one of them has a different
/// token now, re-applies all credentials to `request` and returns `true`.
async fn replay_after_rejection(chosen: &[crate::auth::Chosen<'_>], request: &mut Request) -> bool {
    let mut renewed = false;
    for c in chosen {
        if let Some(used) = placement::read(request, c.placement, c.name) {
            renewed |= c.credential.source.rejected(&used).await;
        }
    }
    if !renewed {
        return false;
    }
    for c in chosen {
        let Ok(secret) = c.credential.source.token().await else {
            return false;
        };
        if placement::apply_cached(request, c.placement, c.name, &secret, &c.credential.header)
            .is_err()
        {
            return false;
        }
    }
    true
}

/// Rebuilds a response whose URL carries a secret so that its URL is scrubbed; progenitor prints
/// a response's URL in `Error::UnexpectedResponse`.
/// The names of the handle's URL-borne secrets are looked up only for a URL that may carry
/// one: user info, a query or matrix parameters, a handle with path secrets, or, on an error
/// answer (the one a generated error prints), a path segment holding a live secret.
fn scrubbed_response(response: Response, auth: &Auth, api: &ApiSecurity) -> Response {
    if !may_carry_secrets(response.url())
        && auth.path_secrets().is_empty()
        && (response.status().is_success() || !path_carries_live_secret(response.url()))
    {
        return response;
    }
    rescrubbed(response, auth, api)
}

/// `url` without the handle's URL-borne secrets, its path secrets, and live secrets in its path.
fn clean_url(url: &reqwest::Url, auth: &Auth, api: &ApiSecurity) -> reqwest::Url {
    let clean = scrub_url(url, &auth.url_secret_names(api));
    let path_secrets: Vec<&str> = auth.path_secrets().iter().map(|s| s.expose()).collect();
    if path_secrets.is_empty() {
        clean
    } else {
        scrub_path_secrets(&clean, &path_secrets)
    }
}

/// The rare half of [`scrubbed_response`]: a URL that may carry a secret.
#[cold]
#[inline(never)]
fn rescrubbed(response: Response, auth: &Auth, api: &ApiSecurity) -> Response {
    let clean = clean_url(response.url(), auth, api);
    if &clean == response.url() {
        return response;
    }
    let http: http::Response<reqwest::Body> = response.into();
    let (parts, body) = http.into_parts();
    rebuilt(parts.status, parts.version, clean, parts.headers, body)
}

/// A response with this head and body: reqwest offers no way to replace one part of a
/// response, so scrubbing its URL or bounding its body means building it anew.
fn rebuilt(
    status: StatusCode,
    version: http::Version,
    url: reqwest::Url,
    headers: reqwest::header::HeaderMap,
    body: reqwest::Body,
) -> Response {
    use reqwest::ResponseBuilderExt as _;
    let mut builder = http::Response::builder()
        .status(status)
        .version(version)
        .url(url);
    if let Some(slot) = builder.headers_mut() {
        *slot = headers;
    }
    match builder.body(body) {
        Ok(rebuilt) => Response::from(rebuilt),
        // Unreachable: status and version come from a valid response.
        Err(_) => unreachable!("rebuilding a valid response cannot fail"),
    }
}

/// Rebuilds a response around a body that fails with [`BodyTooLarge`] once it passes `limit`
/// bytes, so that whoever reads it whole holds at most `limit` bytes. A declared length within
/// the limit needs no wrapper: hyper never reads past a `Content-Length`.
fn limited(response: Response, limit: u64) -> Response {
    if response.content_length().is_some_and(|n| n <= limit) {
        return response;
    }
    bounded(response, limit)
}

/// [`limited`]'s wrapper, apart: the answers of most calls declare a length and need none.
#[inline(never)]
fn bounded(mut response: Response, limit: u64) -> Response {
    let declared = response.content_length();
    let (status, version, url) = (
        response.status(),
        response.version(),
        response.url().clone(),
    );
    let headers = std::mem::take(response.headers_mut());
    type BoxError = Box<dyn std::error::Error + Send + Sync>;
    let too_large = move || -> BoxError { Box::new(BodyTooLarge { limit }) };
    let body = if declared.is_some() {
        // Declared longer than the limit: fail at once, without reading (dropping the response
        // closes the connection).
        drop(response);
        reqwest::Body::wrap_stream(futures::stream::once(async move {
            Err::<bytes::Bytes, _>(too_large())
        }))
    } else {
        let mut seen = 0u64;
        reqwest::Body::wrap_stream(response.bytes_stream().map(move |chunk| {
            let chunk = chunk.map_err(BoxError::from)?;
            seen = seen.saturating_add(chunk.len() as u64);
            if seen > limit {
                return Err(too_large());
            }
            Ok(chunk)
        }))
    };
    rebuilt(status, version, url, headers, body)
}

#[cold]
#[inline(never)]
fn scrubbed_error(error: reqwest::Error, auth: &Auth, api: &ApiSecurity) -> reqwest::Error {
    match error.url().map(|url| clean_url(url, auth, api)) {
        Some(clean) => error.with_url(clean),
        None => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message is one sentence a user reads in an error line: no run of spaces left by a
    /// broken line continuation.
    #[test]
    fn the_redirect_message_reads_as_one_sentence() {
        let text = RedirectFollowed.to_string();
        assert!(!text.contains("  "), "{text}");
        assert!(text.contains("Policy::none()"), "{text}");
    }
}
