//! Bearer-token authorization (RFC 9725 section 4.7): the app decides, per request.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode, header};

use super::reply::Reject;

/// What a request asks to do with a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// WHIP `POST`: start publishing the stream.
    Publish,
    /// WHEP `POST`: start playing the stream.
    Play,
    /// `PATCH` on a publisher's or a player's resource (trickle ICE).
    Update,
    /// `DELETE` on a publisher's or a player's resource.
    Stop,
    /// `POST` on a player's server-sent events URL: asking to be told when the stream goes
    /// live or ends.
    Events,
}

/// A request to authorize: the stream, the resource, the action and the bearer token.
///
/// `Debug` never prints the token.
#[derive(Clone)]
pub struct Access {
    stream: String,
    resource: Option<String>,
    action: Action,
    token: String,
}

impl Access {
    /// The stream's id, from the URL.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// The resource (publisher or player) a `PATCH` or `DELETE` is for.
    pub fn resource(&self) -> Option<&str> {
        self.resource.as_deref()
    }

    /// What the request does.
    pub fn action(&self) -> Action {
        self.action
    }

    /// The bearer token the client sent.
    pub fn token(&self) -> &str {
        &self.token
    }
}

impl fmt::Debug for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Access")
            .field("stream", &self.stream)
            .field("resource", &self.resource)
            .field("action", &self.action)
            .field("token", &"[REDACTED]")
            .finish()
    }
}

/// What the app decides about a request; a `bool` converts (`true` allows, `false` forbids).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// The token is not valid (unknown, expired, malformed): 401 with the challenge
    /// `Bearer error="invalid_token"` (RFC 6750 section 3.1), so the client gets a new one.
    InvalidToken,
    /// A valid token that does not grant this request: 403.
    Forbidden,
}

impl From<bool> for Decision {
    fn from(allowed: bool) -> Self {
        if allowed {
            Self::Allow
        } else {
            Self::Forbidden
        }
    }
}

type Verdict = Pin<Box<dyn Future<Output = Decision> + Send>>;

/// The app's decision, shared by every request.
#[derive(Clone)]
pub(crate) struct Authorize(Arc<dyn Fn(Access) -> Verdict + Send + Sync>);

impl Authorize {
    pub(crate) fn new<F, Fut, D>(f: F) -> Self
    where
        F: Fn(Access) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = D> + Send + 'static,
        D: Into<Decision>,
    {
        Self(Arc::new(move |access| {
            let decided = f(access);
            Box::pin(async move { decided.await.into() })
        }))
    }

    /// Accepts one token, compared in time that does not depend on where it differs; any
    /// other token is invalid.
    pub(crate) fn token(expected: crate::Secret) -> Self {
        Self::new(move |access: Access| {
            let same = constant_time_eq(access.token().as_bytes(), expected.expose().as_bytes());
            let decision = if same {
                Decision::Allow
            } else {
                Decision::InvalidToken
            };
            async move { decision }
        })
    }
}

/// Checks the request's bearer token: 401 without one (RFC 9110 section 15.5.2, with the
/// `Bearer` challenge of RFC 6750 section 3) or with one the app calls invalid (the challenge
/// says `error="invalid_token"`), 403 when the app forbids the request (RFC 9110
/// section 15.5.4). With no callback configured, every request passes.
pub(crate) async fn check(
    auth: Option<&Authorize>,
    headers: &HeaderMap,
    stream: &str,
    resource: Option<&str>,
    action: Action,
) -> Result<(), Reject> {
    let Some(auth) = auth else {
        return Ok(());
    };
    let token = crate::bearer::token(headers);
    let Some(token) = token else {
        return Err(
            Reject::new(StatusCode::UNAUTHORIZED, "a bearer token is required")
                .header(header::WWW_AUTHENTICATE, "Bearer"),
        );
    };
    let access = Access {
        stream: stream.to_owned(),
        resource: resource.map(str::to_owned),
        action,
        token: token.to_owned(),
    };
    match (auth.0)(access).await {
        Decision::Allow => Ok(()),
        Decision::InvalidToken => Err(Reject::new(
            StatusCode::UNAUTHORIZED,
            "the bearer token is not valid",
        )
        .header(header::WWW_AUTHENTICATE, r#"Bearer error="invalid_token""#)),
        Decision::Forbidden => Err(Reject::new(
            StatusCode::FORBIDDEN,
            "the bearer token does not grant this",
        )),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i).copied().unwrap_or(!x));
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn compares_tokens() {
        assert!(super::constant_time_eq(b"abc", b"abc"));
        assert!(!super::constant_time_eq(b"abc", b"abd"));
        assert!(!super::constant_time_eq(b"abc", b"ab"));
        assert!(!super::constant_time_eq(b"", b"a"));
    }
}
