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
//! | `OPTIONS` on any | 204 (CORS pre-flight, no token needed) |
//! | any other method | 405 with `Allow` |
//!
//! **When the broadcaster leaves** (its `DELETE`, or the room's health check finding its
//! session dead) the stream ends: the room closes, every player's tracks are closed on the
//! SFU, their resources answer 404, and players see their connection end. A new WHIP `POST`
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
mod ice;
mod reply;
mod resource;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{delete, post};

pub use access::{Access, Action};

use crate::client::turn::IceServers;
use crate::room::Rooms;
use crate::secret::Secret;

/// Builds the WHIP/WHEP router for a set of [`Rooms`]; see the [module docs](self).
#[derive(Clone)]
#[must_use = "a Whip does nothing until .router() is served"]
pub struct Whip {
    shared: Shared,
    origins: cors::Origins,
}

#[derive(Clone)]
pub(crate) struct Shared {
    rooms: Rooms,
    auth: Option<access::Authorize>,
    ice: Ice,
}

impl Shared {
    /// The stream's room while it is open; `None` for an unknown or ended stream.
    async fn stream(&self, stream: &str) -> Result<Option<crate::room::Room>, reply::Reject> {
        use crate::room::RoomError;
        match self.rooms.open(stream).await {
            Ok(room) => Ok(Some(room)),
            Err(e) if matches!(e, RoomError::RoomNotFound(_) | RoomError::RoomClosed(_)) => {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }
}

#[derive(Clone)]
enum Ice {
    None,
    Servers(IceServers),
    Turn(Duration),
}

impl std::fmt::Debug for Whip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Whip")
            .field("authorized", &self.shared.auth.is_some())
            .field("origins", &self.origins)
            .finish_non_exhaustive()
    }
}

impl Whip {
    /// A router over `rooms`, open to anyone until [`authorize`](Self::authorize) or
    /// [`bearer_token`](Self::bearer_token) is set.
    pub fn new(rooms: Rooms) -> Self {
        Self {
            shared: Shared {
                rooms,
                auth: None,
                ice: Ice::None,
            },
            origins: cors::Origins::None,
        }
    }

    /// Decides every request but CORS pre-flights: `f` gets the [`Access`] (stream, action,
    /// bearer token) and says whether to allow it. Requests with no bearer token get 401,
    /// refused ones 403.
    ///
    /// ```
    /// # fn run(rooms: cloudflare_calls::room::Rooms) {
    /// use cloudflare_calls::whip::{Action, Whip};
    /// let whip = Whip::new(rooms).authorize(|access| async move {
    ///     match access.action() {
    ///         Action::Play => true,
    ///         _ => access.token() == format!("publish-{}", access.stream()),
    ///     }
    /// });
    /// # }
    /// ```
    pub fn authorize<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Access) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        self.shared.auth = Some(access::Authorize::new(f));
        self
    }

    /// Allows exactly one bearer token for everything (compared in constant time).
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.shared.auth = Some(access::Authorize::token(Secret::new(token)));
        self
    }

    /// Lets pages from these origins (`https://example.com`) call the router; `"*"` allows
    /// any. Without it, only pages of the router's own origin can.
    pub fn allow_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let list: Vec<String> = origins.into_iter().map(Into::into).collect();
        self.origins = if list.iter().any(|o| o == "*") {
            cors::Origins::Any
        } else {
            cors::Origins::List(list.into())
        };
        self
    }

    /// Announces these STUN/TURN servers to every client in `Link` headers.
    pub fn ice_servers(mut self, servers: IceServers) -> Self {
        self.shared.ice = Ice::Servers(servers);
        self
    }

    /// Mints TURN credentials valid for `ttl` for every publisher and player, and announces
    /// them in `Link` headers (RFC 9725 section 4.6). Needs the client's TURN key.
    pub fn turn(mut self, ttl: Duration) -> Self {
        self.shared.ice = Ice::Turn(ttl);
        self
    }

    /// The router: `/whip/{stream}`, `/whep/{stream}` and their resources. Mount it with
    /// `Router::merge`, or under a prefix with `Router::nest`: `Location`s follow.
    pub fn router(self) -> Router {
        if self.shared.auth.is_none() {
            tracing::warn!("the WHIP/WHEP router has no authorization: anyone can publish");
        }
        let shared = Arc::new(self.shared);
        // The CORS layer answers OPTIONS before these routes; listing it here puts it in the
        // `Allow` of their 405s.
        let preflight = || async { StatusCode::NO_CONTENT };
        Router::new()
            .route("/whip/{stream}", post(endpoint::publish).options(preflight))
            .route(
                "/whip/{stream}/{id}",
                delete(resource::stop_publisher)
                    .patch(resource::patch_publisher)
                    .options(preflight),
            )
            .route("/whep/{stream}", post(endpoint::play).options(preflight))
            .route(
                "/whep/{stream}/{id}",
                delete(resource::stop_player)
                    .patch(resource::patch_player)
                    .options(preflight),
            )
            .with_state(shared)
            .layer(axum::middleware::from_fn_with_state(
                self.origins,
                cors::layer,
            ))
    }
}
