//! [`RoomApi`]: the builder of the room API's router, and who the caller is.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, header};
use axum::routing::{delete, get, post};

use super::handlers;
use super::reply::Refusal;
use super::token::{Claims, TokenError};
use crate::room::Rooms;
use crate::secret::Secret;

type Decided = Pin<Box<dyn Future<Output = Option<Claims>> + Send>>;

/// How the API learns who calls.
#[derive(Clone)]
pub(crate) enum Auth {
    /// Tokens signed with this key ([`Claims::to_jwt`]).
    Key(Secret),
    /// The app's own: the bearer token in, the caller's claims (or `None`, 401) out.
    Callback(Arc<dyn Fn(String) -> Decided + Send + Sync>),
}

/// What the handlers share.
#[derive(Clone)]
pub(crate) struct Api {
    pub(crate) rooms: Rooms,
    pub(crate) auth: Auth,
    pub(crate) create_on_join: bool,
}

impl Api {
    /// The caller's claims for `room`: 401 without a token or with one that is not valid,
    /// 403 for a token of another room.
    pub(crate) async fn caller(&self, headers: &HeaderMap, room: &str) -> Result<Claims, Refusal> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Refusal::unauthorized("an access token is required", false))?;
        let claims = match &self.auth {
            Auth::Key(key) => Claims::from_jwt(token, key).map_err(|e| {
                let invalid = matches!(e, TokenError::Invalid | TokenError::Expired);
                Refusal::unauthorized(e.to_string(), invalid)
            })?,
            Auth::Callback(f) => f(token.to_owned())
                .await
                .ok_or_else(|| Refusal::unauthorized("the access token is not valid", true))?,
        };
        if claims.room != room {
            return Err(Refusal::forbidden(format!(
                "the access token is for room {}, not {room}",
                claims.room
            )));
        }
        Ok(claims)
    }
}

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
            .route(&format!("{p}/pull"), post(handlers::pull))
            .route(&format!("{p}/publish"), post(handlers::publish))
            .route(&format!("{p}/unpublish"), post(handlers::unpublish))
            .route(&format!("{p}/leave"), post(handlers::leave))
            .route(p, delete(handlers::kick))
            .with_state(Arc::new(self.api))
    }
}
