//! Session creation, state and renegotiation.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::negotiate::{accept_answer, answer, answer_of, offer_of, peer};
use super::{Reg, bearer, decode, exclusive, session_call};
use crate::error::ApiError;
use crate::rtc::Conn;
use crate::state::lock;
use crate::wire::{
    DataChannel, NewSessionRequest, RenegotiateRequest, SdpResponse, SessionDescription,
    SessionState, Track,
};

pub(crate) async fn new_session(
    State(reg): State<Reg>,
    Path(app_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    reg.authorize_app(&app_id, bearer(&headers))?;
    let req: NewSessionRequest = decode(body)?;
    let third_party = query
        .get("thirdparty")
        .is_some_and(|v| v == "true" || v == "1");
    let offer = req.session_description.as_ref().map(offer_of).transpose()?;
    let sctp = req.session_description.as_ref().is_some_and(|d| {
        crate::rtc::sdp::sections(&d.sdp)
            .iter()
            .any(|x| x.kind == "application")
    });
    let session = reg.new_session(&app_id, third_party);
    session.data().correlation_id = query.get("correlationId").cloned();
    let mut resp = SdpResponse {
        session_id: Some(session.id.clone()),
        ..Default::default()
    };
    if let Some(offer) = offer {
        let result = async {
            let p = peer(&reg, &session).await?;
            answer(&p, offer).await
        }
        .await;
        match result {
            Ok(sdp) => {
                session.data().transport |= sctp;
                resp.session_description = Some(SessionDescription::answer(sdp));
            }
            Err(e) => {
                session.close();
                lock(&reg.sessions).remove(&session.id);
                return Err(e);
            }
        }
    }
    Ok((StatusCode::CREATED, Json(resp)).into_response())
}

pub(crate) async fn get_session_state(
    State(reg): State<Reg>,
    Path((app_id, session_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<SessionState>, ApiError> {
    let s = session_call(&reg, &headers, &app_id, &session_id)?;
    let (tracks, channels, peer) = {
        let d = s.data();
        (d.tracks.clone(), d.channels.clone(), d.peer.clone())
    };
    let idle = peer
        .as_ref()
        .map(|p| lock(&p.shared.idle_mids).clone())
        .unwrap_or_default();
    let open = peer
        .as_ref()
        .map(|p| lock(&p.shared.open_channels).clone())
        .unwrap_or_default();
    let peer_closed = peer.as_ref().is_some_and(|p| p.conn() == Conn::Closed);
    let status = |active: bool| Some(if active { "active" } else { "inactive" }.to_string());
    let tracks = tracks
        .into_iter()
        .map(|t| {
            let live = !t.closed
                && match &t.source {
                    None => !idle.contains(&t.mid),
                    Some((sid, name)) => source_live(&reg, &app_id, sid, name),
                };
            Track {
                location: Some(
                    if t.source.is_some() {
                        "remote"
                    } else {
                        "local"
                    }
                    .into(),
                ),
                mid: Some(t.mid),
                session_id: t.source.as_ref().map(|(sid, _)| sid.clone()),
                track_name: Some(t.source.map(|(_, n)| n).unwrap_or(t.name)),
                kind: t.kind,
                status: status(live),
                ..Default::default()
            }
        })
        .collect();
    let data_channels = channels
        .into_iter()
        .map(|c| {
            let state = if c.closed || peer_closed {
                "inactive"
            } else if open.contains(&c.id) {
                "active"
            } else {
                "initializing"
            };
            DataChannel {
                location: Some(
                    if c.source.is_some() {
                        "remote"
                    } else {
                        "local"
                    }
                    .into(),
                ),
                session_id: c.source,
                data_channel_name: Some(c.name),
                id: Some(c.id),
                status: Some(state.into()),
                ..Default::default()
            }
        })
        .collect();
    Ok(Json(SessionState {
        tracks,
        data_channels,
    }))
}

fn source_live(reg: &Reg, app_id: &str, session_id: &str, name: &str) -> bool {
    reg.session(app_id, session_id)
        .ok()
        .and_then(|s| s.live_track(name))
        .is_some()
}

pub(crate) async fn renegotiate(
    State(reg): State<Reg>,
    Path((app_id, session_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SdpResponse>, ApiError> {
    let s = session_call(&reg, &headers, &app_id, &session_id)?;
    let req: RenegotiateRequest = decode(body)?;
    let _op = exclusive(&s)?;
    let desc = req
        .session_description
        .ok_or_else(|| ApiError::invalid_params("sessionDescription is required"))?;
    let answer = answer_of(&desc)?;
    let p = s
        .data()
        .peer
        .clone()
        .ok_or_else(|| ApiError::bad_sdp("no offer is waiting for an answer"))?;
    accept_answer(&p, answer).await?;
    Ok(Json(SdpResponse::default()))
}
