//! Account API (v4 envelope): SFU apps and TURN keys.

use std::collections::BTreeMap;
use std::sync::Mutex;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Reg, bearer};
use crate::state::{Named, lock, rfc3339, unix_now};

/// `{success: false, errors: [{code, message}]}` with the given status.
pub(crate) fn envelope_error(status: StatusCode, code: u32, message: &str) -> Response {
    let body = json!({
        "success": false,
        "errors": [{ "code": code, "message": message }],
        "messages": [],
        "result": null,
    });
    (status, Json(body)).into_response()
}

fn ok(status: StatusCode, result: Value) -> Response {
    let body = json!({ "success": true, "errors": [], "messages": [], "result": result });
    (status, Json(body)).into_response()
}

type Failure = Box<Response>;
type Outcome = Result<Response, Failure>;

fn authorize(reg: &Reg, account_id: &str, headers: &HeaderMap) -> Result<(), Failure> {
    if bearer(headers) != Some(reg.api_token.as_str()) {
        return Err(Box::new(envelope_error(
            StatusCode::UNAUTHORIZED,
            10_000,
            "Authentication error",
        )));
    }
    if account_id != reg.account_id {
        return Err(Box::new(envelope_error(
            StatusCode::NOT_FOUND,
            7_003,
            "No such account",
        )));
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
struct NameBody {
    name: Option<String>,
}

/// The optional `name` of a create or update body. The service documents it as optional on
/// both, and its own SDK examples send none.
fn name_of(body: Result<Bytes, BytesRejection>) -> Result<Option<String>, Failure> {
    let bad = |m: &str| Box::new(envelope_error(StatusCode::BAD_REQUEST, 10_001, m));
    let body = body.map_err(|r| bad(&r.body_text()))?;
    if body.is_empty() {
        return Ok(None);
    }
    let parsed: NameBody = serde_json::from_slice(&body).map_err(|e| bad(&e.to_string()))?;
    Ok(parsed.name)
}

/// Which collection a handler works on, and the field its secret is returned as.
#[derive(Clone, Copy)]
enum Kind {
    Apps,
    Keys,
}

impl Kind {
    fn map(self, reg: &Reg) -> &Mutex<BTreeMap<String, Named>> {
        match self {
            Kind::Apps => &reg.apps,
            Kind::Keys => &reg.turn_keys,
        }
    }
    fn secret_field(self) -> &'static str {
        match self {
            Kind::Apps => "secret",
            Kind::Keys => "key",
        }
    }
}

fn view(n: &Named, secret: Option<&str>) -> Value {
    let mut v =
        json!({ "uid": n.uid, "name": n.name, "created": n.created, "modified": n.modified });
    if let Some(field) = secret {
        v[field] = n.secret.clone().into();
    }
    v
}

fn missing() -> Failure {
    Box::new(envelope_error(StatusCode::NOT_FOUND, 10_404, "Not found"))
}

fn list(reg: &Reg, kind: Kind, account: &str, h: &HeaderMap) -> Outcome {
    authorize(reg, account, h)?;
    let items: Vec<Value> = lock(kind.map(reg))
        .values()
        .map(|n| view(n, None))
        .collect();
    Ok(ok(StatusCode::OK, items.into()))
}

fn create(
    reg: &Reg,
    kind: Kind,
    account: &str,
    h: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Outcome {
    authorize(reg, account, h)?;
    // Without a name the resource is named "", as the service does.
    let n = Named::new(name_of(body)?.unwrap_or_default());
    let v = view(&n, Some(kind.secret_field()));
    lock(kind.map(reg)).insert(n.uid.clone(), n);
    Ok(ok(StatusCode::CREATED, v))
}

fn get(reg: &Reg, kind: Kind, account: &str, id: &str, h: &HeaderMap) -> Outcome {
    authorize(reg, account, h)?;
    let map = lock(kind.map(reg));
    let n = map.get(id).ok_or_else(missing)?;
    Ok(ok(StatusCode::OK, view(n, None)))
}

fn update(
    reg: &Reg,
    kind: Kind,
    account: &str,
    id: &str,
    h: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Outcome {
    authorize(reg, account, h)?;
    let name = name_of(body)?;
    let mut map = lock(kind.map(reg));
    let n = map.get_mut(id).ok_or_else(missing)?;
    // Without a name there is nothing to change, so not even `modified` moves.
    if let Some(name) = name {
        n.name = name;
        n.modified = rfc3339(unix_now());
    }
    Ok(ok(StatusCode::OK, view(n, None)))
}

fn delete(reg: &Reg, kind: Kind, account: &str, id: &str, h: &HeaderMap) -> Outcome {
    authorize(reg, account, h)?;
    let n = lock(kind.map(reg)).remove(id).ok_or_else(missing)?;
    Ok(ok(StatusCode::OK, view(&n, None)))
}

fn flat(o: Outcome) -> Response {
    o.unwrap_or_else(|e| *e)
}

type P1 = Path<String>;
type P2 = Path<(String, String)>;
type Body = Result<Bytes, BytesRejection>;

pub(crate) async fn list_apps(State(r): State<Reg>, Path(a): P1, h: HeaderMap) -> Response {
    flat(list(&r, Kind::Apps, &a, &h))
}
pub(crate) async fn create_app(
    State(r): State<Reg>,
    Path(a): P1,
    h: HeaderMap,
    b: Body,
) -> Response {
    flat(create(&r, Kind::Apps, &a, &h, b))
}
pub(crate) async fn get_app(State(r): State<Reg>, Path((a, id)): P2, h: HeaderMap) -> Response {
    flat(get(&r, Kind::Apps, &a, &id, &h))
}
pub(crate) async fn update_app(
    State(r): State<Reg>,
    Path((a, id)): P2,
    h: HeaderMap,
    b: Body,
) -> Response {
    flat(update(&r, Kind::Apps, &a, &id, &h, b))
}
pub(crate) async fn delete_app(State(r): State<Reg>, Path((a, id)): P2, h: HeaderMap) -> Response {
    flat(delete(&r, Kind::Apps, &a, &id, &h))
}
pub(crate) async fn list_keys(State(r): State<Reg>, Path(a): P1, h: HeaderMap) -> Response {
    flat(list(&r, Kind::Keys, &a, &h))
}
pub(crate) async fn create_key(
    State(r): State<Reg>,
    Path(a): P1,
    h: HeaderMap,
    b: Body,
) -> Response {
    flat(create(&r, Kind::Keys, &a, &h, b))
}
pub(crate) async fn get_key(State(r): State<Reg>, Path((a, id)): P2, h: HeaderMap) -> Response {
    flat(get(&r, Kind::Keys, &a, &id, &h))
}
pub(crate) async fn update_key(
    State(r): State<Reg>,
    Path((a, id)): P2,
    h: HeaderMap,
    b: Body,
) -> Response {
    flat(update(&r, Kind::Keys, &a, &id, &h, b))
}
pub(crate) async fn delete_key(State(r): State<Reg>, Path((a, id)): P2, h: HeaderMap) -> Response {
    flat(delete(&r, Kind::Keys, &a, &id, &h))
}
