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
    reg.stats.receive(op);
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
        FaultKind::DropAfter => {
            // The handler runs to completion: what it created or changed stays.
            drop(next.run(req).await);
            broken(Vec::new())
        }
        FaultKind::ErrorBody { error_code } => {
            if account_api {
                return envelope_error(StatusCode::OK, 10_200, &error_code);
            }
            ApiError::new(StatusCode::OK, error_code, "injected fault").into_response()
        }
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

#[cfg(test)]
mod tests {
    use crate::{Emulator, Fault};

    /// Sends `POST /sessions/new`; `Err` when no complete response arrived.
    async fn new_session(emu: &Emulator) -> Result<(u16, serde_json::Value), reqwest::Error> {
        let url = format!("{}/apps/{}/sessions/new", emu.sfu_base_url(), emu.app_id());
        let resp = reqwest::Client::new()
            .post(url)
            .bearer_auth(emu.app_secret())
            .send()
            .await?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await?))
    }

    #[tokio::test]
    async fn a_drop_after_acting_keeps_what_the_call_did_and_a_drop_before_does_not() {
        let emu = Emulator::start().await.unwrap();
        emu.inject(Fault::drop_connection().on("new_session").times(1));
        assert!(new_session(&emu).await.is_err());
        assert_eq!(emu.session_count(), 0, "dropped before acting");

        emu.inject(Fault::drop_after_acting().on("new_session").times(1));
        assert!(new_session(&emu).await.is_err());
        assert_eq!(emu.session_count(), 1, "dropped after acting");
        assert_eq!(emu.inventory().sessions, 1);
    }

    #[tokio::test]
    async fn an_error_body_comes_with_http_200_and_the_call_is_not_handled() {
        let emu = Emulator::start().await.unwrap();
        emu.inject(
            Fault::error_body("internal_error")
                .on("new_session")
                .times(1),
        );
        let (status, body) = new_session(&emu).await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(body["errorCode"], "internal_error");
        assert_eq!(emu.session_count(), 0);

        emu.inject(
            Fault::error_body("internal_error")
                .on("list_sfu_apps")
                .times(1),
        );
        let url = format!(
            "{}/accounts/{}/calls/apps",
            emu.account_base_url(),
            emu.account_id()
        );
        let resp = reqwest::Client::new()
            .get(url)
            .bearer_auth(emu.api_token())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["success"], false);
        assert_eq!(body["errors"][0]["message"], "internal_error");
    }
}
