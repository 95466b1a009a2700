//! What every handler does first: auth, body decoding, the per-session call prelude.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::{Registry, Session};

pub(crate) type Reg = Arc<Registry>;

/// The bearer token of a request, if any.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))
        .map(str::trim)
}

/// Decodes a JSON body leniently: empty means default, unknown fields are ignored.
pub(crate) fn decode<T: DeserializeOwned + Default>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "request body too large",
            )
        } else {
            ApiError::decoding(r.body_text())
        }
    })?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(&body).map_err(|e| ApiError::decoding(e.to_string()))
}

/// Auth, lookup and rate limit shared by every call on an existing session.
pub(crate) fn session_call(
    reg: &Registry,
    headers: &HeaderMap,
    app_id: &str,
    session_id: &str,
) -> Result<Arc<Session>, ApiError> {
    reg.authorize_app(app_id, bearer(headers))?;
    let s = reg.session(app_id, session_id)?;
    s.rate
        .hit(reg.config.calls_per_second)
        .map_err(ApiError::rate_limited)?;
    Ok(s)
}

/// Claims the session's mutation slot, or reports the overlap as the service does (406).
pub(crate) fn exclusive(s: &Session) -> Result<tokio::sync::MutexGuard<'_, ()>, ApiError> {
    s.op.try_lock()
        .map_err(|_| ApiError::overlap("signaling_state_not_stable"))
}
