//! [`RoomApi`]: the builder of the room API's router.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::routing::{delete, get, post};

use super::handlers;
use super::shared::{Api, Auth};
use super::token::Claims;
use crate::room::Rooms;
use crate::secret::Secret;

/// Builds the room API's router over a set of [`Rooms`]; see the [module docs](super).
#[must_use = "a RoomApi does nothing until .router() is served"]
pub struct RoomApi {
    api: Api,
}

impl std::fmt::Debug for RoomApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomApi").finish_non_exhaustive()
    }
}

impl RoomApi {
    /// An API over `rooms` that accepts the access tokens signed with `key`
    /// ([`Claims::to_jwt`]).
    pub fn new(rooms: Rooms, key: impl Into<String>) -> Self {
        Self {
            api: Api {
                rooms,
                auth: Auth::Key(Secret::new(key)),
                create_on_join: false,
            },
        }
    }

    /// An API whose callers the app identifies itself: `f` gets the bearer token and returns
    /// the caller's [`Claims`], or `None` for 401.
    ///
    /// ```
    /// # fn run(rooms: cloudflare_calls::room::Rooms) {
    /// use cloudflare_calls::api::{Claims, Grants, RoomApi};
    /// let api = RoomApi::authorize(rooms, |token: String| async move {
    ///     // Look the session cookie or token up in the app's own store.
    ///     (token == "alice-session").then(|| Claims::new("demo", "alice", Grants::participant()))
    /// });
    /// # let _ = api.router(); }
    /// ```
    pub fn authorize<F, Fut>(rooms: Rooms, f: F) -> Self
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<Claims>> + Send + 'static,
    {
        Self {
            api: Api {
                rooms,
                auth: Auth::Callback(Arc::new(move |token| Box::pin(f(token)))),
                create_on_join: false,
            },
        }
    }

    /// A join into a room that does not exist (or closed) creates it, as a demo wants;
    /// otherwise rooms are created with `POST /rooms/{room}` (admin) or by the app.
    pub fn create_on_join(mut self, create: bool) -> Self {
        self.api.create_on_join = create;
        self
    }

    /// The router. Mount it with `Router::merge`, or under a prefix with `Router::nest`.
    pub fn router(self) -> Router {
        let p = "/rooms/{room}/participants/{id}";
        Router::new()
            .route(
                "/rooms/{room}",
                get(handlers::snapshot)
                    .post(handlers::create)
                    .delete(handlers::close),
            )
            .route("/rooms/{room}/join", post(handlers::join))
            .route(&format!("{p}/answer"), post(handlers::answer))
            .route(&format!("{p}/channels"), post(handlers::channels))
            .route(&format!("{p}/announce"), post(handlers::announce))
            .route(&format!("{p}/follow"), post(handlers::follow))
            .route(&format!("{p}/pull"), post(handlers::pull))
            .route(&format!("{p}/publish"), post(handlers::publish))
            .route(&format!("{p}/unpublish"), post(handlers::unpublish))
            .route(&format!("{p}/leave"), post(handlers::leave))
            .route(p, delete(handlers::kick))
            .with_state(Arc::new(self.api))
    }
}
