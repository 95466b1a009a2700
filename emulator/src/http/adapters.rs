//! WebSocket adapters. The emulator validates and records them but opens no WebSocket: an
//! endpoint host under the reserved `.invalid` domain simulates a failed handshake.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{Reg, bearer, decode};
use crate::error::ApiError;
use crate::state::{AdapterRec, TrackRec, hex32, lock};
use crate::wire::{Adapter, AdaptersRequest, AdaptersResponse, ItemError};

fn invalid(why: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_ACCEPTABLE, "invalid_params", why)
}

fn items(req: AdaptersRequest) -> Result<Vec<Adapter>, ApiError> {
    let items = req.tracks.unwrap_or_default();
    if items.is_empty() || items.len() > 4 {
        return Err(invalid("between 1 and 4 tracks are required"));
    }
    Ok(items)
}

/// Host part of a ws:// or wss:// URL, or `None` when the URL is not one.
fn ws_host(endpoint: &str) -> Option<String> {
    let rest = endpoint
        .strip_prefix("wss://")
        .or_else(|| endpoint.strip_prefix("ws://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority.split(':').next()?,
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

fn is_local(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
}

pub(crate) async fn create(
    State(reg): State<Reg>,
    Path(app_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    reg.authorize_app(&app_id, bearer(&headers))?;
    let items = items(decode(body)?)?;
    let mut out = Vec::with_capacity(items.len());
    for t in &items {
        let endpoint = t.endpoint.as_deref().unwrap_or_default();
        let host =
            ws_host(endpoint).ok_or_else(|| invalid("endpoint must be a ws:// or wss:// URL"))?;
        if t.track_name.as_deref().is_none_or(str::is_empty) {
            return Err(invalid("trackName is required"));
        }
        match t.location.as_deref() {
            Some("local") if t.input_codec.as_deref() == Some("pcm") => {}
            Some("local") => return Err(invalid("local adapters need inputCodec pcm")),
            Some("remote")
                if t.session_id.is_some()
                    && matches!(t.output_codec.as_deref(), Some("pcm" | "jpeg")) => {}
            Some("remote") => {
                return Err(invalid(
                    "remote adapters need sessionId and outputCodec pcm or jpeg",
                ));
            }
            _ => return Err(invalid("location must be local or remote")),
        }
        let mut item = Adapter {
            track_name: t.track_name.clone(),
            endpoint: t.endpoint.clone(),
            ..Default::default()
        };
        if is_local(&host) {
            item.error = ItemError::new(
                "websocket_localhost_not_allowed",
                "localhost endpoints are not allowed",
            );
        } else if host.ends_with(".invalid") {
            item.error = ItemError::new(
                "websocket_handshake_failed",
                "the endpoint refused the handshake",
            );
        } else if t.location.as_deref() == Some("local") {
            let s = reg.new_session(&app_id, false);
            let mut d = s.data();
            d.adapter = true;
            d.tracks.push(TrackRec {
                mid: "0".into(),
                name: t.track_name.clone().unwrap_or_default(),
                source: None,
                kind: Some("audio".into()),
                closed: false,
                simulcast: None,
            });
            item.session_id = Some(s.id.clone());
        } else {
            let sid = t.session_id.as_deref().unwrap_or_default();
            let name = t.track_name.as_deref().unwrap_or_default();
            let found = reg
                .session(&app_id, sid)
                .ok()
                .and_then(|s| s.live_track(name));
            if found.is_none() {
                item.error = ItemError::new("not_found_track_error", "no such live track");
            }
        }
        if !item.error.is_err() {
            let id = hex32();
            lock(&reg.adapters).insert(
                id.clone(),
                AdapterRec {
                    app_id: app_id.clone(),
                    closed: false,
                },
            );
            item.adapter_id = Some(id);
        }
        out.push(item);
    }
    let status = if out.iter().all(|a| a.error.is_err()) {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    Ok((status, Json(AdaptersResponse { tracks: out })).into_response())
}

pub(crate) async fn close(
    State(reg): State<Reg>,
    Path(app_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<AdaptersResponse>, ApiError> {
    reg.authorize_app(&app_id, bearer(&headers))?;
    let items = items(decode(body)?)?;
    let mut adapters = lock(&reg.adapters);
    let tracks = items
        .into_iter()
        .map(|t| {
            let id = t.adapter_id.unwrap_or_default();
            let mut item = Adapter {
                adapter_id: Some(id.clone()),
                ..Default::default()
            };
            match adapters.get_mut(&id).filter(|a| a.app_id == app_id) {
                None => item.error = ItemError::new("adapter_not_found", "no such adapter"),
                Some(a) if a.closed => {}
                Some(a) => {
                    a.closed = true;
                    // No bytes flow through an emulated adapter.
                    item.bytes_processed = Some(0);
                }
            }
            item
        })
        .collect();
    Ok(Json(AdaptersResponse { tracks }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_and_spots_loopback() {
        assert_eq!(
            ws_host("wss://example.com:443/x").as_deref(),
            Some("example.com")
        );
        assert_eq!(ws_host("ws://[::1]:80/").as_deref(), Some("::1"));
        assert_eq!(ws_host("https://example.com"), None);
        assert!(is_local("127.0.0.1") && is_local("::1") && is_local("localhost"));
        assert!(!is_local("example.com"));
    }
}
