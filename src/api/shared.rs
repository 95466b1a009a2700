//! What the handlers share: the rooms, how callers are identified, and who the caller is.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::http::HeaderMap;

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
        let token = crate::bearer::token(headers)
            .ok_or_else(|| Refusal::unauthorized("token_missing", "an access token is required"))?;
        let claims = match &self.auth {
            Auth::Key(key) => Claims::from_jwt(token, key).map_err(|e| {
                let code = match e {
                    TokenError::Expired => "token_expired",
                    _ => "token_invalid",
                };
                Refusal::unauthorized(code, e.to_string())
            })?,
            Auth::Callback(f) => f(token.to_owned()).await.ok_or_else(|| {
                Refusal::unauthorized("token_invalid", "the access token is not valid")
            })?,
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
