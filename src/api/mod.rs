//! The room's HTTP API (feature `api`): an [`axum::Router`] a browser joins a room through,
//! and the access tokens that say who may do what.
//!
//! The app's backend mints a token per participant ([`Claims::to_jwt`]: the room, the
//! identity, the [`Grants`], an expiry) and gives it to the page; the page sends it as
//! `Authorization: Bearer …` on every request. An app with its own sign-in maps its session
//! to [`Claims`] in [`RoomApi::authorize`] instead. A participant acts only on itself;
//! creating, closing and kicking need `admin`.
//!
//! A browser joins in steps (see docs/rooms.md): `join` with its offer (the SFU's answer,
//! and its offer of the room's tracks, come back); `answer`; once connected, `channels` (the
//! room channel's ids and the room's snapshot); it opens both channels, then `announce`.
//!
//! | request | grant | answers |
//! |---|---|---|
//! | `POST /rooms/{room}` | admin | 201, 401, 403, 409 |
//! | `GET /rooms/{room}` | join | 200 `{seq, participants}`, 401, 403, 404 |
//! | `DELETE /rooms/{room}` | admin | 204, 401, 403, 404 |
//! | `POST /rooms/{room}/join` `{identity?, role?, metadata?, offer}` | join, and publish (member, broadcaster) or subscribe (viewer) | 200 `{participant, answer, offer?, pulled}`, 400, 401, 403, 404, 409, 410, 502, 503 |
//! | `POST …/participants/{id}/answer` `{answer}` | itself | 204, 400, 401, 403, 404, 502 |
//! | `POST …/participants/{id}/channels` | itself | 200 `RoomChannels`, 401, 403, 404, 502 |
//! | `POST …/participants/{id}/announce` | itself | 204, 401, 403, 404 |
//! | `POST …/participants/{id}/follow` `{after}` | itself | 200 `HostChannel` (after `host_changed`: the new room channel's id and the updates after `after`), 400, 401, 403, 404, 502 |
//! | `POST …/participants/{id}/pull` `{tracks}` | itself, subscribe | 200 `{offer?, pulled}`, 400, 401, 403, 404, 502 |
//! | `POST …/participants/{id}/publish` `{offer}` | itself, publish | 200 `{answer, tracks}`, 400, 401, 403, 404, 502 |
//! | `POST …/participants/{id}/unpublish` `{names}` | itself, publish | 204, 400, 401, 403, 404, 502 |
//! | `POST …/participants/{id}/leave` | itself | 204, 401, 403, 404 |
//! | `DELETE …/participants/{id}` | admin | 204, 401, 403, 404 |
//!
//! 401 carries `WWW-Authenticate: Bearer` without a token, and `Bearer
//! error="invalid_token"` with one that is forged, malformed or expired; 403 is a valid token
//! of another room, another identity, or without the grant. Bodies are JSON; an unknown field,
//! an unknown role, an identity that is not 1 to 64 letters, digits, spaces or `_-.@`, or
//! metadata over 4 KiB is 400. Refusals are `{"error": "…", "code": "…"}`: the reason in words,
//! and for programs one of `token_missing`, `token_invalid`, `token_expired`, `forbidden`,
//! `bad_request`, `room_not_found`, `not_found` (a participant), `room_exists`, `room_full`,
//! `identity_taken`, `broadcast_taken`, `room_closed`, `unavailable` (503, 504: try again),
//! `sfu` (502). The browser library in browser/ is a client of this API.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use cloudflare_calls::api::{Claims, Grants, RoomApi};
//! use cloudflare_calls::room::MemoryStore;
//! use cloudflare_calls::{Client, Config, Secret};
//!
//! let key = std::env::var("ROOM_API_KEY")?; // a long random secret of the app
//! let client = Client::new(Config::from_env()?)?;
//! let app = RoomApi::new(client.rooms(MemoryStore::new()), key.clone()).router();
//! // In the app's sign-in: a token for alice, valid 10 minutes.
//! let token = Claims::new("demo", "alice", Grants::participant()).to_jwt(&Secret::new(key))?;
//! # let _ = token;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```

mod handlers;
mod reply;
mod router;
mod shared;
mod token;

pub use router::RoomApi;
pub use token::{Claims, Grants, TokenError};
