//! The room page's server: the page, the browser library it is built on (browser/, at
//! `/client/`), its configuration, a demo sign-in that mints access tokens, and the crate's
//! room API (`cloudflare_calls::api::RoomApi`) the library joins through.
//!
//! Shared by `cargo run --example room --features api` and the browser tests that drive the
//! page (tests/room/browser.rs), so the tests exercise exactly what people open.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
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

/// The browser library as `cargo xtask browser` built it (browser/dist), file by file.
const CLIENT: &[(&str, &str)] = &[
    ("index.js", include_str!("../../browser/dist/index.js")),
    ("room.js", include_str!("../../browser/dist/room.js")),
    ("api.js", include_str!("../../browser/dist/api.js")),
    ("events.js", include_str!("../../browser/dist/events.js")),
    ("token.js", include_str!("../../browser/dist/token.js")),
    ("updates.js", include_str!("../../browser/dist/updates.js")),
];

/// What the page's handlers share.
#[derive(Clone)]
pub struct App {
    pub rooms: Rooms,
    /// STUN/TURN servers for the browser's `RTCPeerConnection`, as its `iceServers`.
    pub ice_servers: Arc<serde_json::Value>,
    /// Whether pages reach the SFU only through the TURN servers (`iceTransportPolicy:
    /// "relay"`), as behind a firewall that lets no direct traffic through.
    pub relay_only: bool,
    /// The key the access tokens are signed with.
    pub key: Secret,
    /// How long the tokens of the demo's sign-in are valid.
    pub token_ttl: Duration,
}

impl App {
    /// An app over `rooms`, with tokens signed with `key`.
    pub fn new(rooms: Rooms, ice_servers: serde_json::Value, key: Secret) -> Self {
        Self {
            rooms,
            ice_servers: Arc::new(ice_servers),
            relay_only: false,
            key,
            token_ttl: Duration::from_secs(600),
        }
    }
}

/// The page, its library, configuration and sign-in, and the room API.
pub fn router(app: App) -> Router {
    let api = RoomApi::new(app.rooms.clone(), app.key.expose())
        .create_on_join(true)
        .router();
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/client/{file}", get(client))
        .route("/config", get(config))
        .route("/room-update.schema.json", get(schema))
        .route("/token", post(token))
        .with_state(app)
        .merge(api)
}

/// Greets each participant that joins `room` with a direct message, and logs participants'
/// messages; the task ends when the room closes.
pub async fn greet(room: &Room) -> Result<tokio::task::JoinHandle<()>, RoomError> {
    let mut events = room.events().await?;
    let greeter = room.clone();
    Ok(tokio::spawn(async move {
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
    }))
}

/// `GET /client/{file}`: a file of the browser library.
pub async fn client(Path(file): Path<String>) -> Response {
    match CLIENT.iter().find(|(name, _)| *name == file) {
        Some((_, js)) => ([(header::CONTENT_TYPE, "text/javascript")], *js).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn config(State(app): State<App>) -> Json<serde_json::Value> {
    let policy = if app.relay_only { "relay" } else { "all" };
    Json(json!({ "iceServers": *app.ice_servers, "iceTransportPolicy": policy }))
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
/// minutes (the page asks again when it expires); a viewer's token only watches. A real app mints it after its own sign-in.
/// The room is created (re-created when it closed) and greeted in, as a demo wants.
async fn token(State(app): State<App>, Json(req): Json<TokenRequest>) -> Response {
    if let Err(e) = welcome(&app, &req.room).await {
        let body = Json(json!({ "error": format!("the room cannot open: {e}") }));
        return (StatusCode::SERVICE_UNAVAILABLE, body).into_response();
    }
    let grants = match req.role.as_deref() {
        Some("viewer") => Grants::viewer(),
        _ => Grants::participant(),
    };
    let claims = Claims::new(req.room, req.identity, grants).ttl(app.token_ttl);
    match claims.to_jwt(&app.key) {
        Ok(token) => Json(json!({ "token": token })).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// Creates room `id` if it is not open, and greets in it. Only the process that creates a
/// room greets in it, so with several processes sharing a store each welcome is sent once.
async fn welcome(app: &App, id: &str) -> Result<(), RoomError> {
    match app.rooms.open(id).await {
        Err(RoomError::RoomNotFound(_) | RoomError::RoomClosed(_)) => {}
        other => return other.map(drop),
    }
    match app.rooms.create().id(id).send().await {
        Ok(room) => greet(&room).await.map(drop),
        Err(RoomError::RoomExists(_)) => Ok(()),
        Err(e) => Err(e),
    }
}
