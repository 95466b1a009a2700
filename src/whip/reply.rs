//! What the router answers when it refuses: a status, a short plain-text reason, and the
//! headers the status needs. A [`RoomError`] (and the SFU's [`Error`] inside it) maps onto the
//! status a WHIP or WHEP client can act on.

use axum::http::StatusCode;
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};

use crate::error::{Error, ErrorCode};
use crate::room::RoomError;

/// A refusal. Its reason is shown to clients, so it never carries a secret: crate errors
/// never print one.
#[derive(Debug)]
pub(crate) struct Reject {
    status: StatusCode,
    reason: String,
    // Only static headers, kept small: every handler returns `Result<_, Reject>`.
    headers: Vec<(HeaderName, &'static str)>,
}

impl Reject {
    pub(crate) fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
            headers: Vec::new(),
        }
    }

    pub(crate) fn header(mut self, name: HeaderName, value: &'static str) -> Self {
        self.headers.push((name, value));
        self
    }

    /// 503 with `Retry-After` (RFC 9110 sections 15.6.4 and 10.2.3).
    pub(crate) fn retry_after(reason: impl Into<String>, seconds: &'static str) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, reason).header(header::RETRY_AFTER, seconds)
    }
}

impl From<Error> for Reject {
    fn from(e: Error) -> Self {
        RoomError::from(e).into()
    }
}

impl From<RoomError> for Reject {
    fn from(e: RoomError) -> Self {
        let reason = e.to_string();
        if e.api().is_none() {
            return match e {
                RoomError::MalformedOffer(_) | RoomError::NoMedia => {
                    Self::new(StatusCode::BAD_REQUEST, reason)
                }
                RoomError::BroadcastTaken(_) | RoomError::IdentityTaken { .. } => {
                    Self::new(StatusCode::CONFLICT, reason)
                }
                RoomError::RoomNotFound(_)
                | RoomError::RoomClosed(_)
                | RoomError::ParticipantNotFound { .. } => Self::new(StatusCode::NOT_FOUND, reason),
                RoomError::RoomFull { .. } => Self::retry_after(reason, "10"),
                RoomError::Store(_) | RoomError::LeaseLost(_) | RoomError::Lagged(_) => {
                    Self::retry_after(reason, "5")
                }
                _ => Self::new(StatusCode::BAD_GATEWAY, reason),
            };
        }
        match e.api() {
            Some(Error::Timeout { .. }) => Self::new(StatusCode::GATEWAY_TIMEOUT, reason),
            Some(Error::InvalidArgument(_)) => Self::new(StatusCode::BAD_REQUEST, reason),
            // The client's SDP, which the SFU refused: the client's mistake, not a bad gateway.
            Some(e) if e.code() == Some(&ErrorCode::InvalidSessionDescription) => {
                Self::new(StatusCode::BAD_REQUEST, reason)
            }
            _ => Self::new(StatusCode::BAD_GATEWAY, reason),
        }
    }
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.reason).into_response();
        let headers = response.headers_mut();
        for (name, value) in self.headers {
            headers.insert(name, HeaderValue::from_static(value));
        }
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response
    }
}
