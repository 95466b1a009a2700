//! Maps routes to the project's operationIds and applies injected faults to them.

use std::io;

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Reg;
use super::account::envelope_error;
use crate::error::ApiError;
use crate::faults::FaultKind;

/// The operationId of a matched route.
pub(crate) fn operation_id(method: &Method, path: &str) -> &'static str {
    let tail = path.rsplit('}').next().unwrap_or_default();
    let m = method.as_str();
    match (m, tail) {
        ("POST", "/sessions/new") => "new_session",
        ("GET", "") if path.ends_with("{session_id}") => "get_session_state",
        ("PUT", "/renegotiate") => "renegotiate_session",
        ("POST", "/tracks/new") => "add_tracks",
        ("PUT", "/tracks/update") => "update_tracks",
        ("PUT", "/tracks/close") => "close_tracks",
        ("POST", "/datachannels/establish") => "establish_data_channel_transport",
        ("POST", "/datachannels/new") => "add_data_channels",
        ("PUT", "/datachannels/update") => "update_data_channels",
        ("PUT", "/datachannels/close") => "close_data_channels",
        ("POST", "/adapters/websocket/new") => "create_websocket_adapters",
        ("POST", "/adapters/websocket/close") => "close_websocket_adapters",
        ("POST", "/credentials/generate-ice-servers") => "generate_ice_servers",
        ("POST", "/credentials/generate") => "generate_turn_credentials",
        ("POST", "/revoke") => "revoke_turn_credentials",
        ("GET", "/calls/apps") => "list_sfu_apps",
        ("POST", "/calls/apps") => "create_sfu_app",
        ("GET", "/calls/turn_keys") => "list_turn_keys",
        ("POST", "/calls/turn_keys") => "create_turn_key",
        (_, "") if path.contains("/calls/apps/") => match m {
            "GET" => "get_sfu_app",
            "PUT" => "update_sfu_app",
            _ => "delete_sfu_app",
        },
        (_, "") if path.contains("/calls/turn_keys/") => match m {
            "GET" => "get_turn_key",
            "PUT" => "update_turn_key",
            _ => "delete_turn_key",
        },
        _ => "unknown",
    }
}

/// Every call goes through here: injected faults first, then the handler; the answer is counted.
pub(crate) async fn inject_faults(
    State(reg): State<Reg>,
    matched: MatchedPath,
    req: Request,
    next: Next,
) -> Response {
    let op = operation_id(req.method(), matched.as_str());
    let resp = answer(&reg, op, matched, req, next).await;
    reg.stats.record(op, resp.status().as_u16());
    resp
}

async fn answer(
    reg: &Reg,
    op: &'static str,
    matched: MatchedPath,
    req: Request,
    next: Next,
) -> Response {
    let account_api = matched.as_str().starts_with("/client/v4");
    let Some(kind) = reg.faults.take(op) else {
        return next.run(req).await;
    };
    match kind {
        FaultKind::Latency { delay_ms } => {
            tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
            next.run(req).await
        }
        FaultKind::Status { status, error_code } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            if account_api {
                return envelope_error(status, 10_000 + u32::from(status.as_u16()), &error_code);
            }
            ApiError::new(status, error_code, "injected fault").into_response()
        }
        FaultKind::RateLimit { retry_after } => {
            let mut resp = if account_api {
                envelope_error(StatusCode::TOO_MANY_REQUESTS, 10_429, "rate limited")
            } else {
                ApiError::rate_limited(retry_after).into_response()
            };
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            resp
        }
        FaultKind::Drop => broken(Vec::new()),
        FaultKind::Truncate => {
            let resp = next.run(req).await;
            let (mut parts, body) = resp.into_parts();
            let full = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            parts
                .headers
                .insert(header::CONTENT_LENGTH, HeaderValue::from(full.len().max(1)));
            let half = full.slice(..full.len() / 2);
            let mut resp = broken(vec![half]);
            *resp.status_mut() = parts.status;
            *resp.headers_mut() = parts.headers;
            resp
        }
    }
}

/// A response whose body yields `chunks`, pauses so they reach the wire, then fails, which
/// makes the server close the connection mid-message (before any byte when `chunks` is empty).
fn broken(chunks: Vec<Bytes>) -> Response {
    use futures_util::StreamExt;
    let pause = !chunks.is_empty();
    let fail = futures_util::stream::once(async move {
        if pause {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Err(io::Error::other("injected connection drop"))
    });
    let body = futures_util::stream::iter(chunks.into_iter().map(Ok)).chain(fail);
    Response::new(Body::from_stream(body))
}
