//! TURN credentials minted for a TURN key. The ICE servers point at the emulator's own STUN
//! and TURN server on loopback (src/rtc/relay.rs), which accepts exactly these credentials
//! while they are active.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Reg, bearer, decode};
use crate::error::ApiError;
use crate::state::{TurnCred, hex32, lock, secret, unix_now_ms};

#[derive(Debug, Default, Deserialize)]
struct TtlRequest {
    ttl: Option<i64>,
}

fn authorize(reg: &Reg, key_id: &str, headers: &HeaderMap) -> Result<(), ApiError> {
    match (lock(&reg.turn_keys).get(key_id), bearer(headers)) {
        (Some(k), Some(b)) if k.secret == b => Ok(()),
        _ => Err(ApiError::unauthorized()),
    }
}

/// Mints a credential and returns `(stun urls, turn urls, username, credential)`.
fn mint(
    reg: &Reg,
    key_id: &str,
    body: Result<Bytes, BytesRejection>,
) -> Result<(Value, Value, String, String), ApiError> {
    let req: TtlRequest = decode(body)?;
    let ttl = req
        .ttl
        .ok_or_else(|| ApiError::invalid_params("ttl is required"))?;
    let max = reg.config.max_turn_ttl;
    let ttl = u64::try_from(ttl)
        .ok()
        .filter(|t| (1..=max).contains(t))
        .ok_or_else(|| {
            ApiError::invalid_params(format!("ttl must be between 1 and {max} seconds"))
        })?;
    let username = hex32();
    let credential = secret();
    let cred = TurnCred {
        key_id: key_id.to_string(),
        credential: credential.clone(),
        expires_at_ms: unix_now_ms() + ttl * 1000,
        revoked: false,
    };
    lock(&reg.credentials).insert(username.clone(), cred);
    let (a, tcp) = (reg.stun_addr, reg.turn_tcp_addr.port());
    let host = if a.is_ipv6() {
        format!("[{}]", a.ip())
    } else {
        a.ip().to_string()
    };
    let stun = json!([format!("stun:{host}:{}", a.port())]);
    let turn = json!([
        format!("turn:{host}:{}?transport=udp", a.port()),
        format!("turn:{host}:{tcp}?transport=tcp"),
    ]);
    Ok((stun, turn, username, credential))
}

pub(crate) async fn ice_servers(
    State(reg): State<Reg>,
    Path(key_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&reg, &key_id, &headers)?;
    let (stun, turn, username, credential) = mint(&reg, &key_id, body)?;
    let body = json!({ "iceServers": [
        { "urls": stun },
        { "urls": turn, "username": username, "credential": credential },
    ]});
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

pub(crate) async fn credentials(
    State(reg): State<Reg>,
    Path(key_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&reg, &key_id, &headers)?;
    let (stun, turn, username, credential) = mint(&reg, &key_id, body)?;
    let mut urls = stun.as_array().cloned().unwrap_or_default();
    urls.extend(turn.as_array().cloned().unwrap_or_default());
    let body =
        json!({ "iceServers": { "urls": urls, "username": username, "credential": credential } });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Revoking is idempotent: unknown or already revoked usernames also get 204. The relay
/// refuses the credential from then on, and its allocations are gone when this answers.
pub(crate) async fn revoke(
    State(reg): State<Reg>,
    Path((key_id, username)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    authorize(&reg, &key_id, &headers)?;
    let revoked = match lock(&reg.credentials)
        .get_mut(&username)
        .filter(|c| c.key_id == key_id)
    {
        Some(c) => {
            c.revoked = true;
            true
        }
        None => false,
    };
    let relay = lock(&reg.relay).clone();
    if let (true, Some(relay)) = (revoked, relay) {
        // Fails only once the relay is closed, and then there is nothing left to end.
        let _ = relay.delete_allocations_by_username(username).await;
    }
    Ok(StatusCode::NO_CONTENT)
}
