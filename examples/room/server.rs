//! The room page's server: the page, its configuration, a demo sign-in that mints access
//! tokens, and the crate's room API (`cloudflare_calls::api::RoomApi`) the page joins through.
//!
//! Shared by `cargo run --example room --features api` and the browser test that drives the
//! page (tests/room/browser.rs), so the test exercises exactly what people open.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cloudflare_calls::Secret;
use cloudflare_calls::api::{Claims, Grants, RoomApi};
use cloudflare_calls::room::{Room, RoomError, RoomEvent, Rooms};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;

const PAGE: &str = include_str!("index.html");

/// What the page's handlers share.
#[derive(Clone)]
pub struct App {
    pub rooms: Rooms,
    /// STUN/TURN servers for the browser's `RTCPeerConnection`, as its `iceServers`.
    pub ice_servers: Arc<serde_json::Value>,
    /// The key the access tokens are signed with.
    pub key: Secret,
}

/// The page, its configuration and sign-in, and the room API (rooms made on first join).
pub fn router(app: App) -> Router {
    let api = RoomApi::new(app.rooms.clone(), app.key.expose())
        .create_on_join(true)
        .router();
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/config", get(config))
        .route("/room-update.schema.json", get(schema))
        .route("/token", post(token))
        .with_state(app)
        .merge(api)
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

async fn config(State(app): State<App>) -> Json<serde_json::Value> {
    Json(json!({ "iceServers": *app.ice_servers }))
}

async fn schema() -> Json<serde_json::Value> {
    Json(cloudflare_calls::room::room_update_schema())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    room: String,
    identity: String,
    #[serde(default)]
    role: Option<String>,
}

/// The demo's sign-in: anyone gets a token for the room and name they ask for, valid 10
/// minutes; a viewer's token only watches. A real app mints it after its own sign-in.
async fn token(State(app): State<App>, Json(req): Json<TokenRequest>) -> Response {
    let grants = match req.role.as_deref() {
        Some("viewer") => Grants::viewer(),
        _ => Grants::participant(),
    };
    let claims = Claims::new(req.room, req.identity, grants);
    match claims.to_jwt(&app.key) {
        Ok(token) => Json(json!({ "token": token })).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
