//! The endpoints: WHIP `POST /whip/{stream}` starts the stream's broadcast, WHEP
//! `POST /whep/{stream}` starts a player of it (RFC 9725 section 4.2, and the same shape in
//! the WHEP draft).

use std::sync::Arc;

use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use super::access::{self, Action};
use super::events;
use super::ice;
use super::meta::{Meta, etag};
use super::reply::Reject;
use super::shared::{Ice, Shared};
use crate::metrics;
use crate::room::{Joining, Role, Room, RoomError, RoomEvent, Rooms, ids};
use crate::sdp::{self, Direction, SectionKind};
use crate::session::description::{Answer, Offer};

/// WHIP `POST`: the offer's audio and video become the stream's broadcast.
pub(crate) async fn publish(
    State(shared): State<Arc<Shared>>,
    Path(stream): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: String,
) -> Result<Response, Reject> {
    access::check(
        shared.auth.as_ref(),
        &headers,
        &stream,
        None,
        Action::Publish,
    )
    .await?;
    let offer = offer(&headers, body, Role::Broadcaster)?;
    let links = shared.links().await?;
    let (room, created) = open_or_create(&shared.rooms, &stream).await?;
    let joined = async {
        let joining = room
            .join("broadcast")
            .role(Role::Broadcaster)
            .metadata(Meta::of(&offer).to_json())
            .offer(offer)
            .send()
            .await?;
        let trickle = settle(&joining).await?;
        Ok::<_, RoomError>((joining, trickle))
    }
    .await;
    let (joining, trickle) = match joined {
        Ok(joined) => joined,
        Err(e) => {
            // A room made for this publish goes with it; one that existed stays as it was
            // (a failed join takes itself back out).
            if created {
                let _ = room.close().await;
            }
            // 409 rather than 503: trying again does not help until the publisher leaves,
            // and RFC 9725 section 4.5 keeps 503 for an endpoint that is overloaded.
            if let RoomError::BroadcastTaken(_) | RoomError::IdentityTaken { .. } = e {
                return Err(Reject::new(
                    StatusCode::CONFLICT,
                    format!("stream {stream} already has a publisher"),
                ));
            }
            return Err(e.into());
        }
    };
    tracing::info!(
        stream,
        participant = joining.participant.id(),
        "WHIP publish started"
    );
    created_response(&uri, joining, trickle, links)
}

/// WHEP `POST`: a player receives the stream's tracks in the sections its offer receives on.
pub(crate) async fn play(
    State(shared): State<Arc<Shared>>,
    Path(stream): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: String,
) -> Result<Response, Reject> {
    access::check(shared.auth.as_ref(), &headers, &stream, None, Action::Play).await?;
    let offer = offer(&headers, body, Role::Viewer)?;
    let not_live = || {
        Reject::new(
            StatusCode::NOT_FOUND,
            format!("no broadcast is live on stream {stream}"),
        )
    };
    let room = shared.stream(&stream).await?.ok_or_else(not_live)?;
    let snapshot = room.snapshot().await.map_err(Reject::from)?;
    let broadcast: Vec<&crate::wire::MediaKind> = snapshot
        .participants
        .iter()
        .filter(|p| p.info.role == Role::Broadcaster && p.is_present())
        .flat_map(|p| p.published.iter().map(|(_, track)| &track.kind))
        .collect();
    if broadcast.is_empty() {
        return Err(not_live());
    }
    // Only tracks that fit the offer's receive-only sections are pulled: with none of the
    // broadcast's kinds there, the 503 below would have the player retry for nothing.
    let expected = fitting(&offer, &broadcast);
    if expected == 0 {
        return Err(Reject::new(
            StatusCode::BAD_REQUEST,
            "the offer receives none of the kinds of media (audio, video) the stream sends",
        ));
    }
    let links = shared.links().await?;
    let joining = room
        .watch(ids::random("player"))
        .metadata(Meta::of(&offer).to_json())
        .fitted_only()
        .offer(offer)
        .send()
        .await
        .map_err(|e| match e {
            RoomError::RoomClosed(_) => not_live(),
            _ => Reject::from(e),
        })?;
    if joining.pulled.len() < expected {
        // The SFU refused a pull: the broadcast's media has not started flowing. No partial
        // answers (RFC 9725 section 4.4.3 asks the same of a WHIP session): the player
        // comes back for all of it.
        let _ = joining.participant.leave().await;
        return Err(Reject::retry_after(
            "the broadcast's tracks are not live yet",
            "1",
        ));
    }
    let trickle = match settle(&joining).await {
        Ok(trickle) => trickle,
        Err(e) => {
            let _ = joining.participant.leave().await;
            return Err(e.into());
        }
    };
    tracing::info!(
        stream,
        participant = joining.participant.id(),
        tracks = joining.pulled.len(),
        "WHEP player started"
    );
    created_response(&uri, joining, trickle, links)
}

/// Records whether `PATCH` may take trickled candidates, then announces the participant;
/// returns whether it may. Only an ICE-lite SFU can do without the client's candidates (see
/// resource.rs); the Cloudflare SFU and the emulator are, so the record is written only
/// for one that is not.
async fn settle(joining: &Joining) -> crate::room::Result<bool> {
    let participant = &joining.participant;
    let trickle = ice::is_lite(joining.answer.sdp());
    if !trickle {
        let room = participant.room();
        let snapshot = room.snapshot().await?;
        let record = snapshot
            .participants
            .into_iter()
            .find(|p| p.info.id == participant.id());
        let Some(mut record) = record else {
            return Err(room.no_participant(participant.id()));
        };
        let mut meta = Meta::from_json(record.info.metadata.as_deref());
        meta.trickle = false;
        record.info.metadata = Some(meta.to_json());
        room.save(record).await?;
    }
    participant.announce().await?;
    Ok(trickle)
}

/// 201 Created with the answer, `Location`, `ETag`, and `Link`s to the ICE servers.
fn created_response(
    uri: &axum::http::Uri,
    joining: Joining,
    trickle: bool,
    links: Vec<HeaderValue>,
) -> Result<Response, Reject> {
    let id = joining.participant.id().to_owned();
    let answer: Answer = joining.answer;
    let meta = Meta::from_json(joining.participant.info().metadata.as_deref());
    let location = format!("{}/{}", uri.path().trim_end_matches('/'), id);
    let mut response = (StatusCode::CREATED, answer.sdp().to_owned()).into_response();
    let headers = response.headers_mut();
    let value = |s: String| {
        HeaderValue::from_str(&s)
            .map_err(|_| Reject::new(StatusCode::INTERNAL_SERVER_ERROR, "unprintable header"))
    };
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/sdp"),
    );
    headers.insert(header::LOCATION, value(location.clone())?);
    headers.insert(header::ETAG, value(etag(&id, &meta))?);
    if trickle {
        headers.insert(
            header::HeaderName::from_static("accept-patch"),
            HeaderValue::from_static("application/trickle-ice-sdpfrag"),
        );
    }
    for link in links {
        headers.append(header::LINK, link);
    }
    if joining.participant.info().role == Role::Viewer {
        headers.append(header::LINK, value(events::link(&location))?);
    }
    Ok(response)
}

/// The request's SDP offer: 415 for another content type (RFC 9725 section 4.2), 400 for one
/// that does not parse or has nothing to send (WHIP) or receive (WHEP).
fn offer(headers: &HeaderMap, body: String, role: Role) -> Result<Offer, Reject> {
    if !content_type_is(headers, "application/sdp") {
        return Err(Reject::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the offer must be sent as application/sdp",
        )
        .header(
            header::HeaderName::from_static("accept-post"),
            "application/sdp",
        ));
    }
    let parsed = sdp::parse(&body)
        .map_err(|e| Reject::new(StatusCode::BAD_REQUEST, format!("malformed SDP offer: {e}")))?;
    let media = |directions: &[Direction]| {
        parsed.media.iter().any(|m| {
            matches!(m.kind, SectionKind::Audio | SectionKind::Video)
                && m.port != 0
                && directions.contains(&m.direction)
        })
    };
    let (ok, missing) = match role {
        Role::Broadcaster => (
            media(&[Direction::SendOnly, Direction::SendRecv]),
            "the offer sends no audio or video",
        ),
        _ => (
            media(&[Direction::RecvOnly]),
            "the offer has no receive-only audio or video section",
        ),
    };
    if !ok {
        return Err(Reject::new(StatusCode::BAD_REQUEST, missing));
    }
    drop(parsed);
    Ok(Offer::new(body))
}

/// Whether the offer has a receive-only section of one of `kinds`.
/// How many of the broadcast's tracks fit the offer's receive-only sections, kind by kind.
fn fitting(offer: &Offer, kinds: &[&crate::wire::MediaKind]) -> usize {
    use crate::wire::MediaKind as Kind;
    let Ok(parsed) = sdp::parse(offer.sdp()) else {
        return 0;
    };
    let sections = |kind: SectionKind| {
        let receiving = parsed.media.iter();
        receiving
            .filter(|m| m.kind == kind && m.port != 0 && m.direction == Direction::RecvOnly)
            .count()
    };
    let tracks = |kind: &Kind| kinds.iter().filter(|k| **k == kind).count();
    sections(SectionKind::Audio).min(tracks(&Kind::Audio))
        + sections(SectionKind::Video).min(tracks(&Kind::Video))
}

/// Whether the request's `Content-Type` is `mime` (parameters and case aside).
pub(crate) fn content_type_is(headers: &HeaderMap, mime: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(mime))
}

/// The stream's room, and whether this call created it. A room created here closes when its
/// broadcaster leaves for any reason (its host does it, wherever it runs), so its players do
/// not wait on a dead stream.
async fn open_or_create(rooms: &Rooms, stream: &str) -> Result<(Room, bool), Reject> {
    let created = rooms
        .create()
        .id(stream)
        .ends_with_broadcaster()
        .send()
        .await;
    let created = match created {
        Ok(room) => room,
        Err(RoomError::RoomExists(_)) => {
            return Ok((rooms.open(stream).await?, false));
        }
        Err(e) => return Err(e.into()),
    };
    match created.events().await {
        Ok(mut events) => {
            tokio::spawn(async move {
                // Counts the stream's publisher and players in `calls_whip_sessions` until
                // its room closes.
                let mut counted = Vec::new();
                while let Some(Ok(update)) = events.next().await {
                    match update.event {
                        RoomEvent::ParticipantJoined { participant } => {
                            sessions(&participant.role, 1.0);
                            counted.push((participant.id, participant.role));
                        }
                        RoomEvent::ParticipantLeft { participant, .. } => {
                            if let Some(at) =
                                counted.iter().position(|(id, _)| *id == participant.id)
                            {
                                counted.swap_remove(at);
                                sessions(&participant.role, -1.0);
                            }
                        }
                        _ => {}
                    }
                }
                // The events ended early (the store failed): the sessions still counted go
                // out of the gauge with them, whatever becomes of them.
                for (_, role) in counted {
                    sessions(&role, -1.0);
                }
            });
        }
        Err(e) => {
            let _ = created.close().await;
            return Err(e.into());
        }
    }
    Ok((created, true))
}

/// Moves the gauge of WHIP publishers (a broadcaster) or WHEP players (viewers).
fn sessions(role: &Role, delta: f64) {
    let endpoint = if *role == Role::Broadcaster {
        "whip"
    } else {
        "whep"
    };
    metrics::gauge(metrics::WHIP_SESSIONS, &[("endpoint", endpoint)], delta);
}

impl Shared {
    /// `Link` headers for the ICE servers (RFC 9725 section 4.6), minted before anything is
    /// created so a failure leaves nothing behind.
    async fn links(&self) -> Result<Vec<HeaderValue>, Reject> {
        let servers = match &self.ice {
            Ice::None => return Ok(Vec::new()),
            Ice::Servers(servers) => servers.clone(),
            Ice::Turn(ttl) => self
                .rooms
                .client()
                .turn()
                .generate_ice_servers(*ttl)
                .send()
                .await
                .map_err(|e| {
                    Reject::new(
                        StatusCode::BAD_GATEWAY,
                        format!("could not mint TURN credentials: {e}"),
                    )
                })?
                .without_port_53(),
        };
        let mut links = Vec::new();
        for server in servers.iter() {
            for url in &server.urls {
                let mut link = format!("<{url}>; rel=\"ice-server\"");
                if let (Some(user), Some(credential)) = (&server.username, &server.credential) {
                    link.push_str(&format!(
                        "; username=\"{}\"; credential=\"{}\"; credential-type=\"password\"",
                        quoted(user),
                        quoted(credential.expose())
                    ));
                }
                // A value that cannot be a header is left out rather than failing the call.
                if let Ok(value) = HeaderValue::from_str(&link) {
                    links.push(value);
                }
            }
        }
        Ok(links)
    }
}

fn quoted(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
