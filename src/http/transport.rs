//! The one place where every HTTP request of every generated client is executed:
//! bearer auth, per-attempt timeout, bounded retries and a tracing span per call.

use std::cell::Cell;
use std::future::Future;
use std::time::Duration;

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use tracing::Instrument;

use crate::http::retry::{Outcome, RetryPolicy, retry_after};
use crate::metrics;
use crate::operation::is_idempotent;
use crate::secret::Secret;

/// State each generated client carries; see `build.rs`.
#[derive(Clone, Debug)]
pub struct Transport {
    token: Secret,
    retry: RetryPolicy,
    timeout: Duration,
}

impl Transport {
    pub(crate) fn new(token: Secret, retry: RetryPolicy, timeout: Duration) -> Self {
        Self {
            token,
            retry,
            timeout,
        }
    }

    async fn execute(
        &self,
        http: &reqwest::Client,
        mut request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let operation = info.operation_id;
        let (app_id, session_id) = ids_in_path(request.url().path());
        let span = tracing::info_span!(
            "calls",
            operation,
            method = %request.method(),
            app_id,
            session_id,
        );
        // Sensitive header values are left out of reqwest's and hyper's Debug output.
        let mut bearer = HeaderValue::from_str(&format!("Bearer {}", self.token.expose()))
            .unwrap_or_else(|_| HeaderValue::from_static("Bearer"));
        bearer.set_sensitive(true);
        request.headers_mut().insert(AUTHORIZATION, bearer);
        // progenitor adds the document's `info.version` as an `api-version` header; the
        // service does not define it, so requests carry only what the API documents.
        request.headers_mut().remove("api-version");
        if request.timeout().is_none() {
            *request.timeout_mut() = Some(self.timeout);
        }
        self.attempts(http, request, operation)
            .instrument(span)
            .await
    }

    async fn attempts(
        &self,
        http: &reqwest::Client,
        request: reqwest::Request,
        operation: &'static str,
    ) -> reqwest::Result<reqwest::Response> {
        let mut attempt = 0;
        loop {
            // JSON bodies are buffered, so cloning always succeeds; without a clone there is
            // nothing to retry with and the single attempt is all there is.
            let Some(copy) = request.try_clone() else {
                return send(http, request).await;
            };
            let result = send(http, copy).await;
            let outcome = match &result {
                Ok(response) => outcome_of(response, operation),
                Err(e) if e.is_connect() => Outcome::NotSent,
                Err(e) if e.is_timeout() => Outcome::TimedOut,
                Err(_) => Outcome::Failed,
            };
            match self.retry.next_delay(operation, attempt, outcome) {
                Some(delay) => {
                    tracing::debug!(attempt, ?outcome, ?delay, "retrying");
                    metrics::count(metrics::API_RETRIES, &[("operation", operation)], 1);
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                None => {
                    match &result {
                        Ok(r) => {
                            record_status(r.status().as_u16());
                            tracing::debug!(status = r.status().as_u16(), "done")
                        }
                        Err(e) => tracing::debug!(error = %e, "failed"),
                    }
                    return result;
                }
            }
        }
    }
}

/// One attempt on the network; with the internal `fuzzing` feature, inside
/// `__fuzz::call`, the response it scripts instead.
async fn send(
    http: &reqwest::Client,
    request: reqwest::Request,
) -> reqwest::Result<reqwest::Response> {
    #[cfg(feature = "fuzzing")]
    if let Some(response) = scripted() {
        return Ok(response);
    }
    http.execute(request).await
}

fn outcome_of(response: &reqwest::Response, operation: &str) -> Outcome {
    let status = response.status().as_u16();
    let honours_retry_after =
        matches!(status, 425 | 429) || (status == 503 && is_idempotent(operation));
    match retry_after(response.headers()) {
        Some(wait) if honours_retry_after => Outcome::RetryAfter(wait),
        _ => Outcome::Status(status),
    }
}

tokio::task_local! {
    /// The status of the last response handed to progenitor within [`observe_status`]:
    /// progenitor reports an undecodable body without its status.
    static LAST_STATUS: Cell<Option<u16>>;
}

/// Runs `call` (a generated call) and returns its output with the status of the last
/// response the transport received for it, if any.
pub(crate) async fn observe_status<F: Future>(call: F) -> (F::Output, Option<u16>) {
    let watched = async {
        let output = call.await;
        (output, LAST_STATUS.with(Cell::get))
    };
    LAST_STATUS.scope(Cell::new(None), watched).await
}

/// Outside [`observe_status`] (raw bindings used directly) nobody asks for the status, so
/// there is nowhere to put it.
fn record_status(status: u16) {
    let _ = LAST_STATUS.try_with(|last| last.set(Some(status)));
}

/// App and session ids from a path such as `/v1/apps/{app}/sessions/{session}/tracks/new`,
/// for the tracing span.
fn ids_in_path(path: &str) -> (Option<&str>, Option<&str>) {
    let mut segments = path.split('/');
    let (mut app, mut session) = (None, None);
    while let Some(segment) = segments.next() {
        match segment {
            "apps" => app = segments.next(),
            "sessions" => session = segments.next().filter(|s| *s != "new"),
            _ => {}
        }
    }
    (app, session)
}

macro_rules! hooks {
    ($($api:ident),*) => {$(
        impl ClientHooks<Transport> for crate::raw::$api::Client {
            async fn exec(
                &self,
                request: reqwest::Request,
                info: &OperationInfo,
            ) -> reqwest::Result<reqwest::Response> {
                self.inner().execute(self.client(), request, info).await
            }
        }
    )*};
}
hooks!(sfu, turn, account);

#[cfg(test)]
mod tests {
    use super::ids_in_path;

    #[test]
    fn span_ids_come_from_the_path() {
        assert_eq!(
            ids_in_path("/v1/apps/a1/sessions/s1/tracks/new"),
            (Some("a1"), Some("s1"))
        );
        assert_eq!(ids_in_path("/v1/apps/a1/sessions/new"), (Some("a1"), None));
        assert_eq!(
            ids_in_path("/client/v4/accounts/x/calls/apps/a2"),
            (Some("a2"), None)
        );
    }
}

// The internal `fuzzing` feature's hook: `__fuzz::call` scripts every attempt's response.
/// The response every attempt of the current call receives.
#[cfg(feature = "fuzzing")]
#[derive(Clone)]
pub(crate) struct Scripted {
    pub(crate) status: reqwest::StatusCode,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: bytes::Bytes,
}

#[cfg(feature = "fuzzing")]
tokio::task_local! {
    pub(crate) static SCRIPTED: Scripted;
}

#[cfg(feature = "fuzzing")]
/// Inside `__fuzz::call`, the scripted response for one attempt; elsewhere `None` (the network).
pub(crate) fn scripted() -> Option<reqwest::Response> {
    SCRIPTED
        .try_with(|s| {
            let mut response = http::Response::new(s.body.clone());
            *response.status_mut() = s.status;
            *response.headers_mut() = s.headers.clone();
            reqwest::Response::from(response)
        })
        .ok()
}
