//! What the router answers when it refuses: a status, a short plain-text reason, and the
//! headers the status needs. A crate [`Error`] maps onto the status a WHIP or WHEP client
//! can act on.

use axum::http::header::{self, HeaderName, HeaderValue};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::Error;
use crate::room::RoomError;

/// A refusal. Its reason is shown to clients, so it never carries a secret: crate errors
/// never print one.
#[derive(Debug)]
pub(crate) struct Reject {
    status: StatusCode,
    reason: String,
    headers: HeaderMap,
}

impl Reject {
    pub(crate) fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
            headers: HeaderMap::new(),
        }
    }

    pub(crate) fn header(mut self, name: HeaderName, value: &'static str) -> Self {
        self.headers.insert(name, HeaderValue::from_static(value));
        self
    }

    /// 503 with `Retry-After` (RFC 9110 sections 15.6.4 and 10.2.3).
    pub(crate) fn retry_after(reason: impl Into<String>, seconds: &'static str) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, reason).header(header::RETRY_AFTER, seconds)
    }

    #[cfg(test)]
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<Error> for Reject {
    fn from(e: Error) -> Self {
        let reason = e.to_string();
        if let Some(room) = e.room() {
            return match room {
                RoomError::MalformedOffer(_) | RoomError::NoMedia => {
                    Self::new(StatusCode::BAD_REQUEST, reason)
                }
                RoomError::BroadcastTaken(_) => Self::new(StatusCode::CONFLICT, reason),
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
        match e {
            Error::Timeout { .. } => Self::new(StatusCode::GATEWAY_TIMEOUT, reason),
            Error::InvalidArgument(_) => Self::new(StatusCode::BAD_REQUEST, reason),
            _ => Self::new(StatusCode::BAD_GATEWAY, reason),
        }
    }
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.headers, self.reason).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response
    }
}
