//! Changing tracks after the fact: rebinding and simulcast (`tracks/update`) and closing.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;

use super::negotiate::{answer, offer_of, peer};
use super::tracks::{bind, check_count, find_source, unbind};
use super::{Reg, decode, exclusive, session_call};
use crate::error::ApiError;
use crate::rtc::Cmd;
use crate::state::{Session, TrackRec};
use crate::wire::{
    CloseTracksRequest, ItemError, SdpResponse, SessionDescription, Track, TracksRequest,
};

type Path2 = Path<(String, String)>;

/// Applies `f` to the session's open track addressed by `mid` (or `#trackName`), in one
/// critical section so a concurrent close cannot pull it away half-way.
fn with_track<R>(s: &Session, mid: &str, f: impl FnOnce(&mut TrackRec) -> R) -> Option<R> {
    let mut d = s.data();
    let found = match mid.strip_prefix('#') {
        Some(name) => d.tracks.iter_mut().find(|t| !t.closed && t.name == name),
        None => d.tracks.iter_mut().find(|t| !t.closed && t.mid == mid),
    };
    found.map(f)
}

pub(crate) async fn update_tracks(
    State(reg): State<Reg>,
    Path((app_id, session_id)): Path2,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SdpResponse>, ApiError> {
    let s = session_call(&reg, &headers, &app_id, &session_id)?;
    let req: TracksRequest = decode(body)?;
    let _op = exclusive(&s)?;
    let items = req.tracks.unwrap_or_default();
    check_count(&reg, items.len(), false)?;
    let p = peer(&reg, &s).await?;
    let mut resp = SdpResponse {
        requires_immediate_renegotiation: Some(false),
        ..Default::default()
    };
    if let Some(desc) = &req.session_description {
        let sdp = answer(&p, offer_of(desc)?).await?;
        resp.session_description = Some(SessionDescription::answer(sdp));
    }
    let mut out = Vec::with_capacity(items.len());
    for mut t in items {
        let Some(rec) = t
            .mid
            .as_deref()
            .and_then(|m| with_track(&s, m, |r| r.clone()))
        else {
            t.error = ItemError::new("update_track_error", "no open track with that mid");
            out.push(t);
            continue;
        };
        t.mid = Some(rec.mid.clone());
        let wanted = t.session_id.clone().zip(t.track_name.clone());
        if rec.source.is_some()
            && let Some((sid, name)) = wanted.filter(|w| Some(w) != rec.source.as_ref())
        {
            let Some((from, src)) = find_source(&reg, &app_id, &sid, &name) else {
                t.error = ItemError::new("not_found_track_error", "no such live track");
                out.push(t);
                continue;
            };
            unbind(&reg, &app_id, &p, &rec);
            bind(&p, &rec.mid, &from, &src);
            with_track(&s, &rec.mid, |r| {
                r.source = Some((sid, name.clone()));
                r.name = name;
                r.kind = src.kind;
            });
        }
        if let Some(sim) = &t.simulcast {
            let rid = sim.preferred_rid.clone();
            p.send(Cmd::SetPreferredRid {
                mid_out: rec.mid.clone(),
                rid,
            });
            with_track(&s, &rec.mid, |r| r.simulcast = Some(sim.clone()));
        }
        out.push(t);
    }
    resp.tracks = Some(out);
    Ok(Json(resp))
}

pub(crate) async fn close_tracks(
    State(reg): State<Reg>,
    Path((app_id, session_id)): Path2,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SdpResponse>, ApiError> {
    let s = session_call(&reg, &headers, &app_id, &session_id)?;
    let req: CloseTracksRequest = decode(body)?;
    let _op = exclusive(&s)?;
    let force = req
        .force
        .ok_or_else(|| ApiError::invalid_params("force is required"))?;
    let items = req.tracks.unwrap_or_default();
    check_count(&reg, items.len(), false)?;
    if items
        .iter()
        .any(|t| t.mid.as_deref().is_none_or(str::is_empty))
    {
        return Err(ApiError::invalid_params("every track needs its mid"));
    }
    let mut resp = SdpResponse {
        requires_immediate_renegotiation: Some(false),
        ..Default::default()
    };
    let p = peer(&reg, &s).await?;
    if !force {
        let desc = req.session_description.as_ref().ok_or_else(|| {
            ApiError::invalid_params("sessionDescription is required unless force is true")
        })?;
        let sdp = answer(&p, offer_of(desc)?).await?;
        resp.session_description = Some(SessionDescription::answer(sdp));
    }
    let mut out = Vec::with_capacity(items.len());
    for t in items {
        let mid = t.mid.unwrap_or_default();
        let rec = {
            let mut d = s.data();
            d.tracks
                .iter_mut()
                .find(|r| !r.closed && r.mid == mid)
                .map(|r| {
                    r.closed = true;
                    r.clone()
                })
        };
        let mut item = Track {
            mid: Some(mid.clone()),
            ..Default::default()
        };
        match rec {
            None => {
                item.error = ItemError::new(
                    "close_track_error",
                    "track does not exist or is already closed",
                );
            }
            Some(rec) => {
                unbind(&reg, &app_id, &p, &rec);
                p.send(Cmd::StopMids(vec![mid]));
            }
        }
        out.push(item);
    }
    resp.tracks = Some(out);
    Ok(Json(resp))
}
