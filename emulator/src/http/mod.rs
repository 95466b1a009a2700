//! The HTTP core: routes, request decoding, auth and the per-session call prelude.

mod account;
mod adapters;
mod channels;
mod control;
mod negotiate;
mod ops;
mod sessions;
mod track_changes;
mod tracks;
mod turn;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post, put};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::{Registry, Session};

pub(crate) type Reg = Arc<Registry>;

/// Builds the whole API.
pub(crate) fn router(reg: Reg) -> Router {
    let limit = reg.config.max_body_bytes;
    let app = "/v1/apps/{app_id}";
    let sess = "/v1/apps/{app_id}/sessions/{session_id}";
    let turn = "/v1/turn/keys/{key_id}/credentials";
    let acct = "/client/v4/accounts/{account_id}/calls";
    Router::new()
        .route(&format!("{app}/sessions/new"), post(sessions::new_session))
        .route(sess, get(sessions::get_session_state))
        .route(&format!("{sess}/renegotiate"), put(sessions::renegotiate))
        .route(&format!("{sess}/tracks/new"), post(tracks::add_tracks))
        .route(
            &format!("{sess}/tracks/update"),
            put(track_changes::update_tracks),
        )
        .route(
            &format!("{sess}/tracks/close"),
            put(track_changes::close_tracks),
        )
        .route(
            &format!("{sess}/datachannels/establish"),
            post(channels::establish),
        )
        .route(&format!("{sess}/datachannels/new"), post(channels::add))
        .route(
            &format!("{sess}/datachannels/update"),
            put(channels::update),
        )
        .route(&format!("{sess}/datachannels/close"), put(channels::close))
        .route(
            &format!("{app}/adapters/websocket/new"),
            post(adapters::create),
        )
        .route(
            &format!("{app}/adapters/websocket/close"),
            post(adapters::close),
        )
        .route(
            &format!("{turn}/generate-ice-servers"),
            post(turn::ice_servers),
        )
        .route(&format!("{turn}/generate"), post(turn::credentials))
        .route(&format!("{turn}/{{username}}/revoke"), post(turn::revoke))
        .route(
            &format!("{acct}/apps"),
            get(account::list_apps).post(account::create_app),
        )
        .route(
            &format!("{acct}/apps/{{id}}"),
            get(account::get_app)
                .put(account::update_app)
                .delete(account::delete_app),
        )
        .route(
            &format!("{acct}/turn_keys"),
            get(account::list_keys).post(account::create_key),
        )
        .route(
            &format!("{acct}/turn_keys/{{id}}"),
            get(account::get_key)
                .put(account::update_key)
                .delete(account::delete_key),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            reg.clone(),
            ops::inject_faults,
        ))
        .route(
            "/__emulator/faults",
            get(control::list_faults)
                .post(control::add_fault)
                .delete(control::clear_faults),
        )
        .route(
            "/__emulator/turn/credentials/{username}",
            get(control::credential),
        )
        .fallback(|| async { ApiError::not_found("no such route") })
        // Our own size check answers with the service's error body instead of axum's text.
        .layer(DefaultBodyLimit::max(limit))
        .with_state(reg)
}

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
