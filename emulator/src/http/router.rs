//! The routes of the service's API, each to its handler.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};

use crate::error::ApiError;

use super::request::Reg;
use super::{account, adapters, channels, control, ops, sessions, track_changes, tracks, turn};

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
