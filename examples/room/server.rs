//! The room page's HTTP API: the signalling a browser needs to join a room, on axum.
//!
//! Shared by `cargo run --example room --features room` and the browser test that drives the page
//! (tests/room/browser.rs), so the test exercises exactly what people open.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cloudflare_calls::room::{
    ParticipantInfo, PulledTrack, Role, Room, RoomChannels, RoomError, RoomEvent, Rooms, TrackInfo,
};
use cloudflare_calls::{Answer, ErrorCode, Negotiation, Offer};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;

const PAGE: &str = include_str!("index.html");

/// What the page's handlers share.
#[derive(Clone)]
pub struct App {
    pub rooms: Rooms,
    /// STUN/TURN servers for the browser's `RTCPeerConnection`, as its `iceServers`.
    pub ice_servers: Arc<serde_json::Value>,
}

/// The page and its API.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/config", get(config))
        .route("/room-update.schema.json", get(schema))
        .route("/rooms/{room}/join", post(join))
        .route("/rooms/{room}/participants/{id}/answer", post(answer))
        .route("/rooms/{room}/participants/{id}/channels", post(channels))
        .route("/rooms/{room}/participants/{id}/announce", post(announce))
        .route("/rooms/{room}/participants/{id}/pull", post(pull))
        .route("/rooms/{room}/participants/{id}/publish", post(publish))
        .route("/rooms/{room}/participants/{id}/unpublish", post(unpublish))
        .route("/rooms/{room}/participants/{id}/leave", post(leave))
        .with_state(app)
}

/// Opens the room, creating it on first use.
pub async fn room(rooms: &Rooms, id: &str) -> Result<Room, RoomError> {
    match rooms.open(id).await {
        Ok(room) => Ok(room),
        Err(RoomError::RoomNotFound(_)) => match rooms.create().id(id).send().await {
            Err(RoomError::RoomExists(_)) => rooms.open(id).await,
            other => other,
        },
        Err(e) => Err(e),
    }
}

/// Greets each participant that joins `room` with a direct message, and logs participants'
/// messages; runs until the room closes.
pub async fn greet(room: &Room) -> Result<(), RoomError> {
    let mut events = room.events().await?;
    let greeter = room.clone();
    tokio::spawn(async move {
        while let Some(Ok(update)) = events.next().await {
            match update.event {
                RoomEvent::ParticipantJoined { participant } => {
                    let hello = format!("Welcome, {}!", participant.identity);
                    if let Err(e) = greeter.send_to(&participant.id, hello).await {
                        tracing::warn!(error = %e, "welcoming {}", participant.identity);
                    }
                }
                RoomEvent::Message {
                    from: Some(from), ..
                } => tracing::info!("message from {from}"),
                _ => {}
            }
        }
    });
    Ok(())
}

/// A crate error as an HTTP status and a JSON body the page shows.
struct Failure(RoomError);

impl From<RoomError> for Failure {
    fn from(e: RoomError) -> Self {
        Self(e)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let status = match &self.0 {
            RoomError::RoomFull { .. } | RoomError::IdentityTaken { .. } => StatusCode::CONFLICT,
            RoomError::BroadcastTaken(_) => StatusCode::CONFLICT,
            RoomError::RoomClosed(_) => StatusCode::GONE,
            RoomError::ParticipantNotFound { .. } | RoomError::RoomNotFound(_) => {
                StatusCode::NOT_FOUND
            }
            RoomError::MalformedOffer(_) | RoomError::NoMedia => StatusCode::BAD_REQUEST,
            // The page's SDP, which the SFU refused: the page's mistake, not a bad gateway.
            e if e.api().and_then(|e| e.code()) == Some(&ErrorCode::InvalidSessionDescription) => {
                StatusCode::BAD_REQUEST
            }
            _ => StatusCode::BAD_GATEWAY,
        };
        (status, Json(json!({ "error": self.0.to_string() }))).into_response()
    }
}

async fn config(State(app): State<App>) -> Json<serde_json::Value> {
    Json(json!({ "iceServers": *app.ice_servers }))
}

async fn schema() -> Json<serde_json::Value> {
    Json(cloudflare_calls::room::room_update_schema())
}

#[derive(Deserialize)]
struct JoinRequest {
    identity: String,
    #[serde(default)]
    role: Option<String>,
    offer: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JoinResponse {
    participant: ParticipantInfo,
    answer: String,
    /// The SFU's offer of the room's tracks, to answer at `/answer`.
    offer: Option<String>,
    pulled: Vec<PulledTrack>,
}

async fn join(
    State(app): State<App>,
    Path(id): Path<String>,
    Json(req): Json<JoinRequest>,
) -> Result<Json<JoinResponse>, Failure> {
    let room = room(&app.rooms, &id).await?;
    let offer = Offer::new(req.offer);
    let joining = match Role::from(req.role.as_deref().unwrap_or("member")) {
        // `start_broadcast` names the broadcaster "broadcast"; a page keeps its own name.
        Role::Broadcaster => {
            let join = room.join(req.identity).role(Role::Broadcaster);
            join.offer(offer).send().await?
        }
        Role::Viewer => room.watch(req.identity).offer(offer).send().await?,
        _ => room.join(req.identity).offer(offer).send().await?,
    };
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

#[derive(Deserialize)]
struct AnswerRequest {
    answer: String,
}

async fn answer(
    State(app): State<App>,
    Path((room_id, id)): Path<(String, String)>,
    Json(req): Json<AnswerRequest>,
) -> Result<StatusCode, Failure> {
    let room = app.rooms.open(&room_id).await?;
    let participant = room.participant(&id).await?;
    participant.renegotiate(Answer::new(req.answer)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn channels(
    State(app): State<App>,
    Path((room_id, id)): Path<(String, String)>,
) -> Result<Json<RoomChannels>, Failure> {
    let room = app.rooms.open(&room_id).await?;
    let participant = room.participant(&id).await?;
    Ok(Json(participant.open_channels().await?))
}

/// Once the page has opened its two channels: the room announces it (and may send to it).
async fn announce(
    State(app): State<App>,
    Path((room_id, id)): Path<(String, String)>,
) -> Result<StatusCode, Failure> {
    let room = app.rooms.open(&room_id).await?;
    room.participant(&id).await?.announce().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct PullRequest {
    tracks: Vec<TrackInfo>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PullResponse {
    offer: Option<String>,
    pulled: Vec<PulledTrack>,
}

async fn pull(
    State(app): State<App>,
    Path((room_id, id)): Path<(String, String)>,
    Json(req): Json<PullRequest>,
) -> Result<Json<PullResponse>, Failure> {
    let room = app.rooms.open(&room_id).await?;
    let participant = room.participant(&id).await?;
    let (negotiation, pulled) = participant.subscribe(req.tracks).await?;
    let offer = match negotiation {
        Negotiation::Offer(pending) => Some(pending.offer().sdp().to_owned()),
        _ => None,
    };
    Ok(Json(PullResponse { offer, pulled }))
}

#[derive(Deserialize)]
struct PublishRequest {
    offer: String,
}

#[derive(Serialize)]
struct PublishResponse {
    answer: String,
    tracks: Vec<TrackInfo>,
}

async fn publish(
    State(app): State<App>,
    Path((room_id, id)): Path<(String, String)>,
    Json(req): Json<PublishRequest>,
) -> Result<Json<PublishResponse>, Failure> {
    let room = app.rooms.open(&room_id).await?;
    let participant = room.participant(&id).await?;
    let (answer, tracks) = participant.publish(Offer::new(req.offer)).await?;
    Ok(Json(PublishResponse {
        answer: answer.into_sdp(),
        tracks,
    }))
}

#[derive(Deserialize)]
struct UnpublishRequest {
    names: Vec<String>,
}

async fn unpublish(
    State(app): State<App>,
    Path((room_id, id)): Path<(String, String)>,
    Json(req): Json<UnpublishRequest>,
) -> Result<StatusCode, Failure> {
    let room = app.rooms.open(&room_id).await?;
    room.participant(&id).await?.unpublish(req.names).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn leave(
    State(app): State<App>,
    Path((room_id, id)): Path<(String, String)>,
) -> Result<StatusCode, Failure> {
    let room = app.rooms.open(&room_id).await?;
    room.participant(&id).await?.leave().await?;
    Ok(StatusCode::NO_CONTENT)
}
