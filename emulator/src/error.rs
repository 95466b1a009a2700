//! Errors: the API errors the emulator answers with, and the typed errors of its Rust API.

use std::borrow::Cow;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answered on the SFU or TURN API as `{errorCode, errorDescription[, errorSubcode]}`.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: Cow<'static, str>,
    pub description: String,
    pub subcode: Option<&'static str>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        description: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code: code.into(),
            description: description.into(),
            subcode: None,
            retry_after: None,
        }
    }
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or invalid bearer token",
        )
    }
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", what)
    }
    pub fn decoding(why: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "decoding_error", why)
    }
    pub fn invalid_params(why: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_params", why)
    }
    pub fn bad_sdp(why: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_session_description", why)
    }
    pub fn session_gone() -> Self {
        Self::new(
            StatusCode::GONE,
            "session_error",
            "session is closed or expired",
        )
    }
    pub fn session_not_ready() -> Self {
        Self::new(
            StatusCode::TOO_EARLY,
            "session_error",
            "peer connection is not connected yet",
        )
    }
    /// A mutation that collided with another one on the same session.
    pub fn overlap(subcode: &'static str) -> Self {
        let mut e = Self::new(
            StatusCode::NOT_ACCEPTABLE,
            "session_error",
            "another operation on this session is in progress",
        );
        e.subcode = Some(subcode);
        e
    }
    pub fn rate_limited(retry_after: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "more than the allowed calls per second on this session",
        );
        e.retry_after = Some(retry_after);
        e
    }
    pub fn internal(why: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", why)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "errorCode": self.code, "errorDescription": self.description });
        if let Some(sub) = self.subcode {
            body["errorSubcode"] = sub.into();
        }
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// Failure to start the emulator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The HTTP listener could not be bound.
    #[error("cannot bind the HTTP listener on {addr}: {source}")]
    Bind {
        /// Address that was requested.
        addr: std::net::SocketAddr,
        /// Underlying I/O error.
        source: std::io::Error,
    },
    /// The WebRTC crypto provider could not make a DTLS certificate.
    #[error("cannot set up WebRTC crypto: {0}")]
    Crypto(String),
    /// The STUN and TURN server could not start.
    #[error("cannot start the TURN relay: {0}")]
    Relay(String),
}
