//! What the API answers when it refuses: a status and `{"error": "…"}`, with the `Bearer`
//! challenge on a 401. A [`RoomError`] maps onto the status a page can act on.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::ErrorCode;
use crate::room::RoomError;

/// A refusal.
#[derive(Debug)]
pub(crate) struct Refusal {
    status: StatusCode,
    reason: String,
    challenge: Option<&'static str>,
}

impl Refusal {
    pub(crate) fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
            challenge: None,
        }
    }

    /// 401: no token (`Bearer`), or one that is not valid (`Bearer error="invalid_token"`).
    pub(crate) fn unauthorized(reason: impl Into<String>, invalid: bool) -> Self {
        Self {
            challenge: Some(if invalid {
                r#"Bearer error="invalid_token""#
            } else {
                "Bearer"
            }),
            ..Self::new(StatusCode::UNAUTHORIZED, reason)
        }
    }

    /// 403: a valid token that does not grant this.
    pub(crate) fn forbidden(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, reason)
    }

    /// 400: a request the API cannot take.
    pub(crate) fn bad(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, reason)
    }
}

impl From<RoomError> for Refusal {
    fn from(e: RoomError) -> Self {
        let status = match &e {
            RoomError::RoomExists(_)
            | RoomError::RoomFull { .. }
            | RoomError::IdentityTaken { .. }
            | RoomError::BroadcastTaken(_) => StatusCode::CONFLICT,
            RoomError::RoomClosed(_) => StatusCode::GONE,
            RoomError::ParticipantNotFound { .. } | RoomError::RoomNotFound(_) => {
                StatusCode::NOT_FOUND
            }
            RoomError::MalformedOffer(_) | RoomError::NoMedia => StatusCode::BAD_REQUEST,
            // The page's SDP, which the SFU refused: the page's mistake, not a bad gateway.
            e if e.api().and_then(|e| e.code()) == Some(&ErrorCode::InvalidSessionDescription) => {
                StatusCode::BAD_REQUEST
            }
            RoomError::Store(_) | RoomError::LeaseLost(_) => StatusCode::SERVICE_UNAVAILABLE,
            e if matches!(e.api(), Some(crate::Error::Timeout { .. })) => {
                StatusCode::GATEWAY_TIMEOUT
            }
            _ => StatusCode::BAD_GATEWAY,
        };
        Self::new(status, e.to_string())
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(serde_json::json!({ "error": self.reason })),
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
