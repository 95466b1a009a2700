//! Data channels: the SCTP transport, publishing, subscribing, `canReply` and closing.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;

use super::negotiate::{answer, offer, offer_of, peer};
use super::{Reg, decode, exclusive, session_call};
use crate::error::ApiError;
use crate::rtc::{ChannelSpec, Cmd, Conn, OfferSpec, PeerHandle};
use crate::state::{ChannelRec, Policy, Session, lock};
use crate::wire::{DataChannel, DataChannelsRequest, ItemError, SdpResponse, SessionDescription};

/// Label of the channel that carries the SCTP association.
const SERVER_EVENTS: &str = "server-events";

type Path2 = Path<(String, String)>;

/// The next unused SCTP stream id of the session; ids are never reused because str0m keeps
/// closed negotiated ids reserved.
fn next_id(s: &Session) -> Result<u16, ApiError> {
    let mut d = s.data();
    let id = d.next_channel_id;
    d.next_channel_id = id
        .checked_add(1)
        .filter(|n| *n < u16::MAX)
        .ok_or_else(|| ApiError::invalid_params("no data channel ids left on this session"))?;
    Ok(id)
}

fn spec(id: u16, label: &str, p: Policy) -> ChannelSpec {
    ChannelSpec {
        id,
        label: label.to_string(),
        ordered: p.ordered,
        max_retransmits: p.max_retransmits,
        max_packet_life_time: p.max_packet_life_time,
    }
}

pub(crate) async fn establish(
    State(reg): State<Reg>,
    Path((app_id, session_id)): Path2,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SdpResponse>, ApiError> {
    let s = session_call(&reg, &headers, &app_id, &session_id)?;
    let req: DataChannelsRequest = decode(body)?;
    let _op = exclusive(&s)?;
    if s.data().transport {
        return Err(ApiError::invalid_params(
            "the data channel transport already exists",
        ));
    }
    let p = peer(&reg, &s).await?;
    let id = next_id(&s)?;
    let reliable = Policy {
        ordered: true,
        max_retransmits: None,
        max_packet_life_time: None,
    };
    let spec = spec(id, SERVER_EVENTS, reliable);
    let mut resp = SdpResponse {
        requires_immediate_renegotiation: Some(false),
        ..Default::default()
    };
    match &req.session_description {
        Some(desc) => {
            let sdp = answer(&p, offer_of(desc)?).await?;
            p.send(Cmd::OpenChannel(spec));
            resp.session_description = Some(SessionDescription::answer(sdp));
        }
        None => {
            let (sdp, _) = offer(
                &p,
                OfferSpec {
                    channels: vec![spec],
                    ..Default::default()
                },
            )
            .await?;
            resp.session_description = Some(SessionDescription::offer(sdp));
            resp.requires_immediate_renegotiation = Some(true);
        }
    }
    s.data().transport = true;
    resp.data_channel = Some(DataChannel {
        location: Some("remote".into()),
        data_channel_name: Some(SERVER_EVENTS.into()),
        id: Some(id),
        ..Default::default()
    });
    Ok(Json(resp))
}

/// Waits (up to the configured time) for the session's transport to connect.
async fn connected(reg: &Reg, p: &PeerHandle) -> Result<(), ApiError> {
    let mut rx = p.shared.conn.subscribe();
    let wait = rx.wait_for(|c| *c != Conn::New);
    match tokio::time::timeout(reg.config.connect_wait, wait).await {
        Err(_) => Err(ApiError::session_not_ready()),
        Ok(Ok(c)) if *c == Conn::Connected => Ok(()),
        Ok(_) => Err(ApiError::session_gone()),
    }
}

fn policy_of(dc: &DataChannel) -> Result<Policy, ApiError> {
    if dc.max_retransmits.is_some() && dc.max_packet_life_time.is_some() {
        return Err(ApiError::invalid_params(
            "maxRetransmits and maxPacketLifeTime are mutually exclusive",
        ));
    }
    Ok(Policy {
        ordered: dc.ordered.unwrap_or(true),
        max_retransmits: dc.max_retransmits,
        max_packet_life_time: dc.max_packet_life_time,
    })
}

fn items(req: DataChannelsRequest) -> Result<Vec<DataChannel>, ApiError> {
    let items = req.data_channels.unwrap_or_default();
    if items.is_empty() {
        return Err(ApiError::invalid_params("dataChannels must not be empty"));
    }
    if items
        .iter()
        .any(|d| d.data_channel_name.as_deref().is_none_or(str::is_empty))
    {
        return Err(ApiError::invalid_params(
            "every data channel needs a dataChannelName",
        ));
    }
    Ok(items)
}

/// The publisher side of a subscription: session, its peer and its channel.
fn publisher(
    reg: &Reg,
    app_id: &str,
    sid: &str,
    name: &str,
) -> Option<(Arc<Session>, PeerHandle, ChannelRec)> {
    let from = reg.session(app_id, sid).ok()?;
    let d = from.data();
    let rec = d
        .channels
        .iter()
        .find(|c| c.source.is_none() && !c.closed && c.name == name)?
        .clone();
    let peer = d.peer.clone()?;
    drop(d);
    Some((from, peer, rec))
}

pub(crate) async fn add(
    State(reg): State<Reg>,
    Path((app_id, session_id)): Path2,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SdpResponse>, ApiError> {
    let s = session_call(&reg, &headers, &app_id, &session_id)?;
    let items = items(decode(body)?)?;
    let _op = exclusive(&s)?;
    if !s.data().transport {
        return Err(ApiError::invalid_params(
            "establish the data channel transport first",
        ));
    }
    let p = peer(&reg, &s).await?;
    connected(&reg, &p).await?;
    let mut out = Vec::with_capacity(items.len());
    for mut dc in items {
        let name = dc.data_channel_name.clone().unwrap_or_default();
        let policy = policy_of(&dc)?;
        match dc.location.as_deref() {
            Some("local") => {
                let taken = s
                    .data()
                    .channels
                    .iter()
                    .any(|c| c.source.is_none() && !c.closed && c.name == name);
                if taken {
                    dc.error = ItemError::new("invalid_params", "channel already published");
                } else {
                    let id = next_id(&s)?;
                    p.send(Cmd::OpenChannel(spec(id, &name, policy)));
                    s.data().channels.push(ChannelRec {
                        id,
                        name,
                        source: None,
                        policy,
                        can_reply: false,
                        closed: false,
                    });
                    dc.id = Some(id);
                }
            }
            Some("remote") => {
                let sid = dc.session_id.clone().unwrap_or_default();
                match publisher(&reg, &app_id, &sid, &name) {
                    None => dc.error = ItemError::new("not_found", "no such published channel"),
                    Some((_, _, pub_rec)) if pub_rec.policy != policy => {
                        dc.error = ItemError::new(
                            "invalid_params",
                            "the subscriber must mirror the publisher's delivery policy",
                        );
                    }
                    Some((_, pp, pub_rec)) => {
                        let id = next_id(&s)?;
                        p.send(Cmd::OpenChannel(spec(id, &name, policy)));
                        if dc.wait_for_ack.unwrap_or(false) {
                            p.send(Cmd::GateUntilAck { id });
                        }
                        pp.send(Cmd::AddChannelRoute {
                            id_in: pub_rec.id,
                            to: p.target(id),
                        });
                        let rec = ChannelRec {
                            id,
                            name,
                            source: Some(sid),
                            policy,
                            can_reply: false,
                            closed: false,
                        };
                        s.data().channels.push(rec);
                        if dc.can_reply.unwrap_or(false) {
                            grant_reply(&reg, &s, &p, id, &pp, &pub_rec);
                        }
                        dc.id = Some(id);
                    }
                }
            }
            _ => return Err(ApiError::invalid_params("location must be local or remote")),
        }
        out.push(dc);
    }
    Ok(Json(SdpResponse {
        data_channels: Some(out),
        ..Default::default()
    }))
}

/// Makes subscriber channel `id` of `s` the one reply path to the publisher's channel,
/// revoking it from whoever held it.
fn grant_reply(
    reg: &Reg,
    s: &Session,
    p: &PeerHandle,
    id: u16,
    pp: &PeerHandle,
    pub_rec: &ChannelRec,
) {
    let all: Vec<Arc<Session>> = lock(&reg.sessions).values().cloned().collect();
    let publisher_sid = all
        .iter()
        .find(|x| x.data().peer.as_ref().is_some_and(|q| q.id == pp.id))
        .map(|x| x.id.clone());
    for other in all.iter().filter(|x| x.app_id == s.app_id) {
        let mut d = other.data();
        let holder = d.peer.clone();
        for c in d.channels.iter_mut() {
            let same = c.source.is_some() && c.source == publisher_sid && c.name == pub_rec.name;
            if same && c.can_reply && !(other.id == s.id && c.id == id) {
                c.can_reply = false;
                if let Some(h) = &holder {
                    h.send(Cmd::SetReply { id: c.id, to: None });
                }
            }
        }
    }
    p.send(Cmd::SetReply {
        id,
        to: Some(pp.target(pub_rec.id)),
    });
    if let Some(c) = s.data().channels.iter_mut().find(|c| c.id == id) {
        c.can_reply = true;
    }
}

/// Applies `f` to the session's open channel named by the item (by id, else by name and
/// source), in one critical section.
fn with_channel<R>(
    s: &Session,
    dc: &DataChannel,
    f: impl FnOnce(&mut ChannelRec) -> R,
) -> Option<R> {
    let mut d = s.data();
    let found = d.channels.iter_mut().find(|c| {
        !c.closed
            && match dc.id {
                Some(id) => c.id == id,
                // By name: a session may publish a channel and subscribe to another
                // session's of the same name; the location says which is meant.
                None => {
                    let located = match dc.location.as_deref() {
                        Some("local") => c.source.is_none(),
                        Some("remote") => c.source.is_some(),
                        _ => true,
                    };
                    located
                        && dc.data_channel_name.as_deref() == Some(&c.name)
                        && (dc.session_id.is_none() || dc.session_id == c.source)
                }
            }
    });
    found.map(f)
}

pub(crate) async fn update(
    State(reg): State<Reg>,
    Path((app_id, session_id)): Path2,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SdpResponse>, ApiError> {
    let s = session_call(&reg, &headers, &app_id, &session_id)?;
    let items = items(decode(body)?)?;
    let _op = exclusive(&s)?;
    let p = peer(&reg, &s).await?;
    let mut out = Vec::with_capacity(items.len());
    for mut dc in items {
        let rec = with_channel(&s, &dc, |c| c.clone());
        match rec {
            Some(rec) if rec.source.is_some() => {
                let sid = rec.source.clone().unwrap_or_default();
                match (dc.can_reply, publisher(&reg, &app_id, &sid, &rec.name)) {
                    (Some(true), Some((_, pp, pub_rec))) => {
                        grant_reply(&reg, &s, &p, rec.id, &pp, &pub_rec)
                    }
                    (Some(true), None) => {
                        dc.error = ItemError::new("not_found", "publisher channel is gone")
                    }
                    (Some(false), _) => {
                        p.send(Cmd::SetReply {
                            id: rec.id,
                            to: None,
                        });
                        if let Some(c) = s.data().channels.iter_mut().find(|c| c.id == rec.id) {
                            c.can_reply = false;
                        }
                    }
                    (None, _) => {}
                }
                dc.id = Some(rec.id);
            }
            _ => dc.error = ItemError::new("not_found", "no open subscribed channel matches"),
        }
        out.push(dc);
    }
    Ok(Json(SdpResponse {
        data_channels: Some(out),
        ..Default::default()
    }))
}

pub(crate) async fn close(
    State(reg): State<Reg>,
    Path((app_id, session_id)): Path2,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SdpResponse>, ApiError> {
    let s = session_call(&reg, &headers, &app_id, &session_id)?;
    let req: DataChannelsRequest = decode(body)?;
    let items = req.data_channels.unwrap_or_default();
    if items.is_empty() {
        return Err(ApiError::invalid_params("dataChannels must not be empty"));
    }
    let _op = exclusive(&s)?;
    let p = peer(&reg, &s).await?;
    let mut out = Vec::with_capacity(items.len());
    for mut dc in items {
        let rec = with_channel(&s, &dc, |c| {
            c.closed = true;
            c.clone()
        });
        match rec {
            None => dc.error = ItemError::new("not_found", "no open channel matches"),
            Some(rec) => {
                p.send(Cmd::CloseChannel(rec.id));
                if let Some(sid) = &rec.source
                    && let Some((_, pp, _)) = publisher(&reg, &app_id, sid, &rec.name)
                {
                    pp.send(Cmd::RemoveChannelRoutes {
                        peer: p.id,
                        id_out: Some(rec.id),
                    });
                }
                dc.id = Some(rec.id);
            }
        }
        out.push(dc);
    }
    Ok(Json(SdpResponse {
        data_channels: Some(out),
        ..Default::default()
    }))
}
