//! [`Whip`]: the builder of the WHIP/WHEP router, and the routes it serves.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{delete, post};

use super::access::{self, Access};
use super::endpoint;
use super::resource;
use super::shared::{Ice, Shared};
use super::{cors, events, refusals};
use crate::client::turn::IceServers;
use crate::room::Rooms;
use crate::secret::Secret;

/// Builds the WHIP/WHEP router for a set of [`Rooms`]; see the [module docs](super).
#[derive(Clone)]
#[must_use = "a Whip does nothing until .router() is served"]
pub struct Whip {
    shared: Shared,
    origins: cors::Origins,
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
    /// bearer token) and returns a [`Decision`](super::Decision), or a `bool` (allow or
    /// forbid). Requests with no bearer token, or one the decision calls invalid, get 401;
    /// forbidden ones 403.
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
    pub fn authorize<F, Fut, D>(mut self, f: F) -> Self
    where
        F: Fn(Access) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = D> + Send + 'static,
        D: Into<access::Decision>,
    {
        self.shared.auth = Some(access::Authorize::new(f));
        self
    }

    /// Allows exactly one bearer token for everything (compared in constant time); any other
    /// token gets 401 `invalid_token`.
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
                "/whep/{stream}/{id}/sse",
                post(events::subscribe).get(events::read).options(preflight),
            )
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
            .layer(axum::middleware::from_fn(refusals::layer))
    }
}
