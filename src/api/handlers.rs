//! The routes: each checks the caller's claims, then does one step of the room for it.
//!
//! A participant acts only on itself (its identity is the token's); `kick`, `close` and
//! `create` need the `admin` grant, which also acts on anyone.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};

use super::reply::Refusal;
use super::shared::Api;
use super::token::Claims;
use crate::room::{
    HostChannel, Participant, ParticipantInfo, ParticipantView, PulledTrack, Role, Room,
    RoomChannels, RoomError, TrackInfo,
};
use crate::session::description::{Answer, Offer};
use crate::session::negotiation::Negotiation;

type Reply<T> = Result<T, Refusal>;

/// The longest identity, in characters.
const MAX_IDENTITY: usize = 64;
/// The longest metadata, in bytes.
const MAX_METADATA: usize = 4096;

/// A JSON body, refused with 400 and the reason when it does not parse (unknown fields and
/// roles included).
fn body<T>(parsed: Result<Json<T>, JsonRejection>) -> Reply<T> {
    parsed
        .map(|Json(t)| t)
        .map_err(|e| Refusal::bad(e.body_text()))
}

fn need(granted: bool, what: &str) -> Reply<()> {
    if granted {
        Ok(())
    } else {
        Err(Refusal::forbidden(format!(
            "the access token does not grant {what}"
        )))
    }
}

/// The participant `id` of `room`, when the caller may act on it: itself (with `join`), or
/// anyone with `admin`.
async fn own(api: &Api, claims: &Claims, room: &str, id: &str) -> Reply<Participant> {
    need(claims.grants.join || claims.grants.admin, "join")?;
    let participant = api.rooms.open(room).await?.participant(id).await?;
    if participant.identity() != claims.identity && !claims.grants.admin {
        return Err(Refusal::forbidden(format!(
            "{} may act only on itself",
            claims.identity
        )));
    }
    Ok(participant)
}

/// Letters, digits and ` _-.@`, 1 to 64 of them.
fn valid_identity(identity: &str) -> Reply<()> {
    let n = identity.chars().count();
    let ok = (1..=MAX_IDENTITY).contains(&n)
        && identity
            .chars()
            .all(|c| c.is_alphanumeric() || " _-.@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Refusal::bad(format!(
            "an identity is 1 to {MAX_IDENTITY} letters, digits, spaces or _-.@"
        )))
    }
}

/// `GET /rooms/{room}`: who is there, and their tracks.
pub(crate) async fn snapshot(
    State(api): State<Arc<Api>>,
    Path(room): Path<String>,
    headers: HeaderMap,
) -> Reply<Json<SnapshotResponse>> {
    let claims = api.caller(&headers, &room).await?;
    need(claims.grants.join || claims.grants.admin, "join")?;
    let snapshot = api.rooms.open(&room).await?.snapshot().await?;
    let (seq, participants) = RoomChannels::view(snapshot);
    Ok(Json(SnapshotResponse { seq, participants }))
}

/// The room as its participants see it: everyone announced, and the `seq` it reflects.
#[derive(Serialize)]
pub(crate) struct SnapshotResponse {
    seq: u64,
    participants: Vec<ParticipantView>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CreateRequest {
    #[serde(default)]
    max_participants: Option<u32>,
}

/// `POST /rooms/{room}` (admin): creates the room; 409 when it exists.
pub(crate) async fn create(
    State(api): State<Arc<Api>>,
    Path(room): Path<String>,
    headers: HeaderMap,
    request: Option<Json<CreateRequest>>,
) -> Reply<StatusCode> {
    let claims = api.caller(&headers, &room).await?;
    need(claims.grants.admin, "admin")?;
    let mut create = api.rooms.create().id(&room);
    if let Some(max) = request.and_then(|Json(r)| r.max_participants) {
        create = create.max_participants(max);
    }
    create.send().await?;
    Ok(StatusCode::CREATED)
}

/// `DELETE /rooms/{room}` (admin): closes the room; everyone in it is told.
pub(crate) async fn close(
    State(api): State<Arc<Api>>,
    Path(room): Path<String>,
    headers: HeaderMap,
) -> Reply<StatusCode> {
    let claims = api.caller(&headers, &room).await?;
    need(claims.grants.admin, "admin")?;
    api.rooms.open(&room).await?.close().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct JoinRequest {
    /// The token's identity when absent; refused when it differs.
    #[serde(default)]
    identity: Option<String>,
    #[serde(default)]
    role: JoinRole,
    #[serde(default)]
    metadata: Option<String>,
    offer: String,
}

/// The roles a join may ask for; anything else is refused (no typo becomes a member).
#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum JoinRole {
    #[default]
    Member,
    Broadcaster,
    Viewer,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JoinResponse {
    participant: ParticipantInfo,
    answer: String,
    /// The SFU's offer of the room's tracks, to answer at `…/answer`.
    offer: Option<String>,
    pulled: Vec<PulledTrack>,
}

/// `POST /rooms/{room}/join`: the endpoint's offer in, the SFU's answer (and offer) out.
pub(crate) async fn join(
    State(api): State<Arc<Api>>,
    Path(room_id): Path<String>,
    headers: HeaderMap,
    request: Result<Json<JoinRequest>, JsonRejection>,
) -> Reply<Json<JoinResponse>> {
    let claims = api.caller(&headers, &room_id).await?;
    let request = body(request)?;
    let identity = request.identity.unwrap_or_else(|| claims.identity.clone());
    valid_identity(&identity)?;
    if identity != claims.identity {
        return Err(Refusal::forbidden(format!(
            "the access token is for {}, not {identity}",
            claims.identity
        )));
    }
    if request
        .metadata
        .as_ref()
        .is_some_and(|m| m.len() > MAX_METADATA)
    {
        return Err(Refusal::bad(format!(
            "metadata is at most {MAX_METADATA} bytes"
        )));
    }
    need(claims.grants.join, "join")?;
    match request.role {
        JoinRole::Viewer => need(claims.grants.subscribe, "subscribe")?,
        _ => need(claims.grants.publish, "publish")?,
    }
    let room = open(&api, &room_id).await?;
    let offer = Offer::new(request.offer);
    let join = match request.role {
        JoinRole::Viewer => room.watch(identity),
        JoinRole::Broadcaster => room.join(identity).role(Role::Broadcaster),
        JoinRole::Member => room.join(identity),
    };
    let join = match request.metadata {
        Some(metadata) => join.metadata(metadata),
        None => join,
    };
    let joining = join.offer(offer).send().await?;
    // The browser answers in another request, which may reach another process: the offer
    // leaves as text, and its answer comes back through `Participant::renegotiate`.
    let offer = match joining.negotiation {
        Negotiation::Offer(pending) => Some(pending.offer().sdp().to_owned()),
        _ => None,
    };
    Ok(Json(JoinResponse {
        participant: joining.participant.info().clone(),
        answer: joining.answer.into_sdp(),
        offer,
        pulled: joining.pulled,
    }))
}

/// The room, created on first use when the API is set to.
async fn open(api: &Api, id: &str) -> Result<Room, RoomError> {
    match api.rooms.open(id).await {
        Err(RoomError::RoomNotFound(_) | RoomError::RoomClosed(_)) if api.create_on_join => {
            match api.rooms.create().id(id).send().await {
                Err(RoomError::RoomExists(_)) => api.rooms.open(id).await,
                other => other,
            }
        }
        other => other,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AnswerRequest {
    answer: String,
}

/// `…/answer`: the endpoint's answer to the SFU's offer.
pub(crate) async fn answer(
    State(api): State<Arc<Api>>,
    Path((room, id)): Path<(String, String)>,
    headers: HeaderMap,
    request: Result<Json<AnswerRequest>, JsonRejection>,
) -> Reply<StatusCode> {
    let claims = api.caller(&headers, &room).await?;
    let request = body(request)?;
    let participant = own(&api, &claims, &room, &id).await?;
    participant.renegotiate(Answer::new(request.answer)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `…/channels`: opens the participant's room channels; their ids and the room's snapshot.
pub(crate) async fn channels(
    State(api): State<Arc<Api>>,
    Path((room, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Reply<Json<RoomChannels>> {
    let claims = api.caller(&headers, &room).await?;
    let participant = own(&api, &claims, &room, &id).await?;
    Ok(Json(participant.open_channels().await?))
}

/// `{"after": seq}`: the last update the endpoint has.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FollowRequest {
    after: u64,
}

/// `…/follow`: after `host_changed`, the new host's room channel and what the endpoint
/// missed.
pub(crate) async fn follow(
    State(api): State<Arc<Api>>,
    Path((room, id)): Path<(String, String)>,
    headers: HeaderMap,
    request: Result<Json<FollowRequest>, JsonRejection>,
) -> Reply<Json<HostChannel>> {
    let claims = api.caller(&headers, &room).await?;
    let request = body(request)?;
    let participant = own(&api, &claims, &room, &id).await?;
    Ok(Json(participant.follow_host(request.after).await?))
}

/// `…/announce`: once the endpoint opened its channels, the room announces it.
pub(crate) async fn announce(
    State(api): State<Arc<Api>>,
    Path((room, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Reply<StatusCode> {
    let claims = api.caller(&headers, &room).await?;
    own(&api, &claims, &room, &id).await?.announce().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PullRequest {
    tracks: Vec<TrackInfo>,
}

#[derive(Serialize)]
pub(crate) struct PullResponse {
    offer: Option<String>,
    pulled: Vec<PulledTrack>,
}

/// `…/pull`: pulls published tracks; the SFU's offer to answer at `…/answer`.
pub(crate) async fn pull(
    State(api): State<Arc<Api>>,
    Path((room, id)): Path<(String, String)>,
    headers: HeaderMap,
    request: Result<Json<PullRequest>, JsonRejection>,
) -> Reply<Json<PullResponse>> {
    let claims = api.caller(&headers, &room).await?;
    let request = body(request)?;
    need(claims.grants.subscribe, "subscribe")?;
    let participant = own(&api, &claims, &room, &id).await?;
    let (negotiation, pulled) = participant.subscribe(request.tracks).await?;
    let offer = match negotiation {
        Negotiation::Offer(pending) => Some(pending.offer().sdp().to_owned()),
        _ => None,
    };
    Ok(Json(PullResponse { offer, pulled }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PublishRequest {
    offer: String,
}

#[derive(Serialize)]
pub(crate) struct PublishResponse {
    answer: String,
    tracks: Vec<TrackInfo>,
}

/// `…/publish`: publishes the new sending sections of the endpoint's offer.
pub(crate) async fn publish(
    State(api): State<Arc<Api>>,
    Path((room, id)): Path<(String, String)>,
    headers: HeaderMap,
    request: Result<Json<PublishRequest>, JsonRejection>,
) -> Reply<Json<PublishResponse>> {
    let claims = api.caller(&headers, &room).await?;
    let request = body(request)?;
    need(claims.grants.publish, "publish")?;
    let participant = own(&api, &claims, &room, &id).await?;
    let (answer, tracks) = participant.publish(Offer::new(request.offer)).await?;
    Ok(Json(PublishResponse {
        answer: answer.into_sdp(),
        tracks,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UnpublishRequest {
    names: Vec<String>,
}

/// `…/unpublish`: stops publishing the named tracks.
pub(crate) async fn unpublish(
    State(api): State<Arc<Api>>,
    Path((room, id)): Path<(String, String)>,
    headers: HeaderMap,
    request: Result<Json<UnpublishRequest>, JsonRejection>,
) -> Reply<StatusCode> {
    let claims = api.caller(&headers, &room).await?;
    let request = body(request)?;
    need(claims.grants.publish, "publish")?;
    own(&api, &claims, &room, &id)
        .await?
        .unpublish(request.names)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `…/leave`: the participant leaves; everyone is told.
pub(crate) async fn leave(
    State(api): State<Arc<Api>>,
    Path((room, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Reply<StatusCode> {
    let claims = api.caller(&headers, &room).await?;
    own(&api, &claims, &room, &id).await?.leave().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE …/participants/{id}` (admin): kicks the participant; it is told why.
pub(crate) async fn kick(
    State(api): State<Arc<Api>>,
    Path((room, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Reply<StatusCode> {
    let claims = api.caller(&headers, &room).await?;
    need(claims.grants.admin, "admin")?;
    api.rooms.open(&room).await?.kick(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
