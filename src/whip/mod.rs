//! WHIP ingest and WHEP playback (feature `whip`): an [`axum::Router`] that maps RFC 9725
//! onto rooms, so encoders (OBS, GStreamer, ffmpeg, browsers) publish a stream and players
//! watch it through the SFU.
//!
//! A stream is a [room](crate::room) with the stream's id. WHIP `POST /whip/{stream}` starts
//! its broadcast; WHEP `POST /whep/{stream}` starts a player that receives the broadcast's
//! tracks in the sections its offer receives on, in the call that carries the offer. Both
//! answer `201 Created` with a `Location` to `DELETE`. Every record lives in the rooms'
//! [`Store`](crate::room::Store), so with a `RedisStore` any backend process serves any
//! stream: publish through one, play and stop through another.
//!
//! | request | answers |
//! |---|---|
//! | `POST /whip/{stream}` | 201, 400, 401, 403, 409, 415, 502, 503, 504 |
//! | `POST /whep/{stream}` | 201, 400, 401, 403, 404, 415, 502, 503, 504 |
//! | `DELETE /whip/{stream}/{id}`, `/whep/{stream}/{id}` | 200, 401, 403, 404, 502, 503, 504 |
//! | `PATCH` on those | 204, 400, 401, 403, 404, 412, 415, 422, 501, 503 |
//! | `POST /whep/{stream}/{id}/sse` | 201 with the `Location` of the player's events, 400, 401, 403, 404 |
//! | `GET /whep/{stream}/{id}/sse` | 200 `text/event-stream` (`active`, `inactive`), 404 |
//! | `OPTIONS` on any | 204 (CORS pre-flight, no token needed) |
//! | any other method | 405 with `Allow` |
//!
//! 401 comes with `WWW-Authenticate: Bearer` when the token is missing and with
//! `Bearer error="invalid_token"` when it is not valid; 403 is a valid token that does not
//! grant the request (see [`Decision`]).
//!
//! **When the broadcaster leaves** (its `DELETE`, or the room's health check finding its
//! session dead) the stream ends: the room closes, every player's tracks are closed on the
//! SFU and their resources answer 404. A player's connection stays up and its media simply
//! stops; a player that reads its server-sent events (WHEP's extension, linked from its 201)
//! gets `inactive` and the end of the event stream. A new WHIP `POST`
//! starts the stream again; players `POST` again to watch it.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use cloudflare_calls::room::MemoryStore;
//! use cloudflare_calls::whip::Whip;
//! use cloudflare_calls::{Client, Config};
//! use std::time::Duration;
//!
//! let client = Client::new(Config::from_env()?)?;
//! let app = Whip::new(client.rooms(MemoryStore::new()))
//!     .bearer_token("s3cret")
//!     .turn(Duration::from_secs(3600))
//!     .router();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```

mod access;
mod cors;
mod endpoint;
mod events;
mod ice;
mod meta;
mod refusals;
mod reply;
mod resource;
mod router;
mod shared;

pub use access::{Access, Action, Decision};
pub use router::Whip;
