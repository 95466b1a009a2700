//! The emulator's own control API under `/__emulator`: fault rules and credential inspection.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{Reg, decode};
use crate::error::ApiError;
use crate::faults::Fault;
use crate::state::lock;

pub(crate) async fn list_faults(State(reg): State<Reg>) -> Json<Vec<Fault>> {
    Json(reg.faults.list())
}

/// Accepts one rule or an array of rules.
pub(crate) async fn add_fault(
    State(reg): State<Reg>,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    let v: Value = decode(body)?;
    let rules: Vec<Fault> = match v {
        Value::Array(_) => serde_json::from_value(v),
        other => serde_json::from_value(other).map(|f| vec![f]),
    }
    .map_err(|e| ApiError::invalid_params(e.to_string()))?;
    for f in rules {
        reg.faults.add(f);
    }
    Ok(StatusCode::CREATED)
}

pub(crate) async fn clear_faults(State(reg): State<Reg>) -> StatusCode {
    reg.faults.clear();
    StatusCode::NO_CONTENT
}

pub(crate) async fn credential(
    State(reg): State<Reg>,
    Path(username): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let c = lock(&reg.credentials)
        .get(&username)
        .cloned()
        .ok_or_else(|| ApiError::not_found("no such credential"))?;
    let active = c.active();
    Ok(Json(
        json!({ "username": username, "active": active, "revoked": c.revoked, "expiresAt": c.expires_at_ms.div_ceil(1000) }),
    ))
}
