//! The room page's server: the page, the browser library it is built on (browser/, at
//! `/client/`), its configuration, a demo sign-in that mints access tokens, and the crate's
//! room API (`cloudflare_calls::api::RoomApi`) the library joins through.
//!
//! Shared by `cargo run --example room --features api` and the browser tests that drive the
//! page (tests/room/browser.rs), so the tests exercise exactly what people open.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

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
    /// The key the access tokens are signed with.
    pub key: Secret,
    /// The rooms this process greets in (each gets one greeter while it is open).
    pub greeted: Arc<Mutex<HashSet<String>>>,
}

impl App {
    /// An app over `rooms`, with tokens signed with `key`.
    pub fn new(rooms: Rooms, ice_servers: serde_json::Value, key: Secret) -> Self {
        Self {
            rooms,
            ice_servers: Arc::new(ice_servers),
            key,
            greeted: Arc::default(),
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

/// Opens the room, creating it on first use or after it closed.
pub async fn room(rooms: &Rooms, id: &str) -> Result<Room, RoomError> {
    match rooms.open(id).await {
        Ok(room) => Ok(room),
        Err(RoomError::RoomNotFound(_) | RoomError::RoomClosed(_)) => {
            match rooms.create().id(id).send().await {
                Err(RoomError::RoomExists(_)) => rooms.open(id).await,
                other => other,
            }
        }
        Err(e) => Err(e),
    }
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

async fn client(Path(file): Path<String>) -> Response {
    match CLIENT.iter().find(|(name, _)| *name == file) {
        Some((_, js)) => ([(header::CONTENT_TYPE, "text/javascript")], *js).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
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
/// The room is opened (re-created when it closed) and greeted in, as a demo wants.
async fn token(State(app): State<App>, Json(req): Json<TokenRequest>) -> Response {
    if let Err(e) = welcome(&app, &req.room).await {
        let body = Json(json!({ "error": format!("the room cannot open: {e}") }));
        return (StatusCode::SERVICE_UNAVAILABLE, body).into_response();
    }
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

/// Opens `id` and greets in it, once per room while it is open.
async fn welcome(app: &App, id: &str) -> Result<(), RoomError> {
    let room = room(&app.rooms, id).await?;
    if !app.greeted.lock().unwrap().insert(id.to_owned()) {
        return Ok(());
    }
    let greeter = greet(&room).await;
    // The greeter ends with the room: one re-created later under the same id is greeted again.
    let (greeted, id) = (app.greeted.clone(), id.to_owned());
    let Ok(greeter) = greeter else {
        greeted.lock().unwrap().remove(&id);
        return greeter.map(|_| ());
    };
    tokio::spawn(async move {
        let _ = greeter.await;
        greeted.lock().unwrap().remove(&id);
    });
    Ok(())
}
