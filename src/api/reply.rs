//! What the API answers when it refuses: a status and `{"error": "…", "code": "…"}`, with
//! the `Bearer` challenge on a 401. A [`RoomError`] maps onto the status and code a page can
//! act on (the browser library shows the reason and acts on the code).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::ErrorCode;
use crate::room::RoomError;

/// A refusal.
#[derive(Debug)]
pub(crate) struct Refusal {
    status: StatusCode,
    /// For programs: `token_expired`, `identity_taken`, `room_closed`…
    code: &'static str,
    reason: String,
    challenge: Option<&'static str>,
}

impl Refusal {
    pub(crate) fn new(status: StatusCode, code: &'static str, reason: impl Into<String>) -> Self {
        Self {
            status,
            code,
            reason: reason.into(),
            challenge: None,
        }
    }

    /// 401: no token (`Bearer`, code `token_missing`), or one that is not valid (`Bearer
    /// error="invalid_token"`, code `token_invalid` or `token_expired`).
    pub(crate) fn unauthorized(code: &'static str, reason: impl Into<String>) -> Self {
        Self {
            challenge: Some(if code == "token_missing" {
                "Bearer"
            } else {
                r#"Bearer error="invalid_token""#
            }),
            ..Self::new(StatusCode::UNAUTHORIZED, code, reason)
        }
    }

    /// 403: a valid token that does not grant this.
    pub(crate) fn forbidden(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", reason)
    }

    /// 400: a request the API cannot take.
    pub(crate) fn bad(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", reason)
    }
}

impl From<RoomError> for Refusal {
    fn from(e: RoomError) -> Self {
        let (status, code) = match &e {
            RoomError::RoomExists(_) => (StatusCode::CONFLICT, "room_exists"),
            RoomError::RoomFull { .. } => (StatusCode::CONFLICT, "room_full"),
            RoomError::IdentityTaken { .. } => (StatusCode::CONFLICT, "identity_taken"),
            RoomError::BroadcastTaken(_) => (StatusCode::CONFLICT, "broadcast_taken"),
            RoomError::RoomClosed(_) => (StatusCode::GONE, "room_closed"),
            RoomError::ParticipantNotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
            RoomError::RoomNotFound(_) => (StatusCode::NOT_FOUND, "room_not_found"),
            RoomError::MalformedOffer(_) | RoomError::NoMedia => {
                (StatusCode::BAD_REQUEST, "bad_request")
            }
            // The page's SDP, which the SFU refused: the page's mistake, not a bad gateway.
            e if e.api().and_then(|e| e.code()) == Some(&ErrorCode::InvalidSessionDescription) => {
                (StatusCode::BAD_REQUEST, "bad_request")
            }
            RoomError::Store(_) | RoomError::LeaseLost(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            }
            e if matches!(e.api(), Some(crate::Error::Timeout { .. })) => {
                (StatusCode::GATEWAY_TIMEOUT, "unavailable")
            }
            _ => (StatusCode::BAD_GATEWAY, "sfu"),
        };
        Self::new(status, code, e.to_string())
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(serde_json::json!({ "error": self.reason, "code": self.code })),
        )
            .into_response();
        if let Some(challenge) = self.challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}
