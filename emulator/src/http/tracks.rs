//! Pushing and pulling tracks (`tracks/new`).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use str0m::media::{Direction, MediaKind};

use super::negotiate::{answer, offer, offer_of, peer};
use super::{Reg, decode, exclusive, session_call};
use crate::error::ApiError;
use crate::rtc::{Cmd, MediaSpec, OfferSpec, PeerHandle, sdp};
use crate::state::{Session, TrackRec};
use crate::wire::{ItemError, SdpResponse, SessionDescription, Track, TracksRequest};

/// What one requested track turns into.
enum Plan {
    Push {
        name: String,
        mid: Option<String>,
        kind: Option<String>,
    },
    Pull {
        from: Arc<Session>,
        src: TrackRec,
        mid: Option<String>,
        bidi: bool,
    },
    Failed(ItemError),
}

type Path2 = Path<(String, String)>;

pub(crate) async fn add_tracks(
    State(reg): State<Reg>,
    Path((app_id, session_id)): Path2,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SdpResponse>, ApiError> {
    let s = session_call(&reg, &headers, &app_id, &session_id)?;
    let req: TracksRequest = decode(body)?;
    let _op = exclusive(&s)?;
    let items = req.tracks.unwrap_or_default();
    let auto = req.auto_discover.unwrap_or(false);
    check_count(&reg, items.len(), auto)?;
    let offered = req.session_description.as_ref().map(offer_of).transpose()?;
    let sections = req
        .session_description
        .as_ref()
        .map(|d| sdp::sections(&d.sdp));
    let mut plans = Vec::with_capacity(items.len());
    for (i, t) in items.iter().enumerate() {
        plans.push(plan(
            &reg,
            &s,
            &app_id,
            t,
            &items[..i],
            sections.as_deref(),
        )?);
    }
    let mut items = items;
    if let Some(sections) = &sections
        && auto
    {
        discover(&s, sections, &mut items, &mut plans);
    }
    let p = peer(&reg, &s).await?;
    let mut resp = SdpResponse {
        requires_immediate_renegotiation: Some(false),
        ..Default::default()
    };
    match offered {
        Some(o) => {
            let sdp = answer(&p, o).await?;
            // An endpoint offer with an SCTP section sets up the data channel transport, as
            // `datachannels/establish` would.
            if sections.iter().flatten().any(|x| x.kind == "application") {
                s.data().transport = true;
            }
            resp.session_description = Some(SessionDescription::answer(sdp));
        }
        None => {
            let spec = OfferSpec {
                add: plans.iter().filter_map(media_spec).collect(),
                ..Default::default()
            };
            if !spec.add.is_empty() {
                let (sdp, mids) = offer(&p, spec).await?;
                let mut mids = mids.into_iter();
                for plan in &mut plans {
                    match plan {
                        Plan::Push { mid, .. } | Plan::Pull { mid, .. } => *mid = mids.next(),
                        Plan::Failed(_) => {}
                    }
                }
                resp.requires_immediate_renegotiation = Some(true);
                resp.session_description = Some(SessionDescription::offer(sdp));
            }
        }
    }
    let tracks = items
        .into_iter()
        .zip(plans)
        .map(|(t, plan)| commit(&s, &p, t, plan))
        .collect();
    resp.tracks = Some(tracks);
    Ok(Json(resp))
}

pub(super) fn check_count(reg: &Reg, n: usize, auto: bool) -> Result<(), ApiError> {
    if n > reg.config.max_tracks_per_call {
        return Err(ApiError::invalid_params(format!(
            "at most {} tracks per call",
            reg.config.max_tracks_per_call
        )));
    }
    if n == 0 && !auto {
        return Err(ApiError::invalid_params("tracks must not be empty"));
    }
    Ok(())
}

fn plan(
    reg: &Reg,
    s: &Session,
    app_id: &str,
    t: &Track,
    earlier: &[Track],
    sections: Option<&[sdp::Section]>,
) -> Result<Plan, ApiError> {
    let name = t
        .track_name
        .clone()
        .ok_or_else(|| ApiError::invalid_params("every track needs a trackName"))?;
    let mid = match (sections, &t.mid) {
        (Some(secs), Some(mid)) if secs.iter().any(|x| x.mid == *mid) => Some(mid.clone()),
        (Some(_), Some(mid)) => {
            return Err(ApiError::invalid_params(format!(
                "mid {mid} is not in the offer"
            )));
        }
        (Some(_), None) => {
            return Err(ApiError::invalid_params(
                "with an offer, every track needs its mid",
            ));
        }
        (None, _) => None,
    };
    let kind = match sections {
        Some(secs) => secs
            .iter()
            .find(|x| Some(&x.mid) == mid.as_ref())
            .map(|x| x.kind.clone()),
        None => t.kind.clone(),
    };
    match t.location.as_deref() {
        Some("local") => {
            let dup_earlier = earlier.iter().any(|e| {
                e.location.as_deref() == Some("local") && e.track_name.as_deref() == Some(&name)
            });
            if dup_earlier || s.live_track(&name).is_some() {
                return Ok(Plan::Failed(ItemError::new(
                    "repeated_local_track_error",
                    format!("track {name} is already pushed on this session"),
                )));
            }
            if sections.is_none() && !matches!(kind.as_deref(), Some("audio" | "video")) {
                return Err(ApiError::invalid_params("kind audio or video is required"));
            }
            Ok(Plan::Push { name, mid, kind })
        }
        Some("remote") => {
            let sid = t
                .session_id
                .as_deref()
                .ok_or_else(|| ApiError::invalid_params("remote tracks need a sessionId"))?;
            let Some((from, src)) = find_source(reg, app_id, sid, &name) else {
                return Ok(Plan::Failed(ItemError::new(
                    "not_found_track_error",
                    format!("no live track {name} on session {sid}"),
                )));
            };
            let bidi = t.bidirectional_media_stream.unwrap_or(false);
            Ok(Plan::Pull {
                from,
                src,
                mid,
                bidi,
            })
        }
        _ => Err(ApiError::invalid_params("location must be local or remote")),
    }
}

pub(super) fn find_source(
    reg: &Reg,
    app_id: &str,
    sid: &str,
    name: &str,
) -> Option<(Arc<Session>, TrackRec)> {
    let from = reg.session(app_id, sid).ok()?;
    let src = from.live_track(name)?;
    Some((from, src))
}

/// Sending m-lines of the offer that no item names become tracks named after their msid.
fn discover(s: &Session, sections: &[sdp::Section], items: &mut Vec<Track>, plans: &mut Vec<Plan>) {
    let known: Vec<String> = s.data().tracks.iter().map(|t| t.mid.clone()).collect();
    for sec in sections {
        let named = items.iter().any(|t| t.mid.as_deref() == Some(&sec.mid));
        if named || known.contains(&sec.mid) || !sec.sends() || sec.kind == "application" {
            continue;
        }
        let name = sec.msid_track.clone().unwrap_or_else(|| sec.mid.clone());
        items.push(Track {
            location: Some("local".into()),
            mid: Some(sec.mid.clone()),
            track_name: Some(name.clone()),
            ..Default::default()
        });
        plans.push(Plan::Push {
            name,
            mid: Some(sec.mid.clone()),
            kind: Some(sec.kind.clone()),
        });
    }
}

fn media_kind(kind: Option<&str>) -> MediaKind {
    if kind == Some("video") {
        MediaKind::Video
    } else {
        MediaKind::Audio
    }
}

fn media_spec(plan: &Plan) -> Option<MediaSpec> {
    match plan {
        Plan::Push { kind, .. } => Some(MediaSpec {
            kind: media_kind(kind.as_deref()),
            dir: Direction::RecvOnly,
        }),
        Plan::Pull { src, bidi, .. } => Some(MediaSpec {
            kind: media_kind(src.kind.as_deref()),
            dir: if *bidi {
                Direction::SendRecv
            } else {
                Direction::SendOnly
            },
        }),
        Plan::Failed(_) => None,
    }
}

/// Records a planned track and wires its media; returns the response item.
fn commit(s: &Session, p: &PeerHandle, mut t: Track, plan: Plan) -> Track {
    match plan {
        Plan::Failed(e) => t.error = e,
        Plan::Push {
            name,
            mid: Some(mid),
            kind,
        } => {
            p.send(Cmd::WatchIdle(vec![mid.clone()]));
            s.data().tracks.push(TrackRec {
                mid: mid.clone(),
                name,
                source: None,
                kind,
                closed: false,
                simulcast: None,
            });
            t.mid = Some(mid);
        }
        Plan::Pull {
            from,
            src,
            mid: Some(mid),
            ..
        } => {
            bind(p, &mid, &from, &src);
            s.data().tracks.push(TrackRec {
                mid: mid.clone(),
                name: src.name.clone(),
                source: Some((from.id.clone(), src.name)),
                kind: src.kind,
                closed: false,
                simulcast: t.simulcast.clone(),
            });
            if let Some(rid) = t.simulcast.as_ref().and_then(|x| x.preferred_rid.clone()) {
                p.send(Cmd::SetPreferredRid {
                    mid_out: mid.clone(),
                    rid: Some(rid),
                });
            }
            t.mid = Some(mid);
        }
        Plan::Push { .. } | Plan::Pull { .. } => {
            t.error = ItemError::new("internal_error", "no transceiver was allocated");
        }
    }
    t
}

/// Routes the publisher's `src` track to `mid` on the subscriber peer `p`.
pub(super) fn bind(p: &PeerHandle, mid: &str, from: &Session, src: &TrackRec) {
    let Some(pp) = from.data().peer.clone() else {
        return;
    };
    pp.send(Cmd::AddMediaRoute {
        mid_in: src.mid.clone(),
        to: p.target(mid.to_string()),
    });
    p.send(Cmd::SetSource {
        mid_out: mid.to_string(),
        from: pp.target(src.mid.clone()),
    });
}

/// Stops whatever feeds the pulled `mid` on `p`.
pub(super) fn unbind(reg: &Reg, app_id: &str, p: &PeerHandle, rec: &TrackRec) {
    if let Some((sid, _)) = &rec.source
        && let Ok(from) = reg.session(app_id, sid)
        && let Some(pp) = from.data().peer.clone()
    {
        pp.send(Cmd::RemoveMediaRoutes {
            peer: p.id,
            mid_out: Some(rec.mid.clone()),
        });
    }
}
