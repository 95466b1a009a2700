//! Access tokens: what a participant may do in one room, signed by the app's backend.
//!
//! A token is a JWT (HS256) naming the room, the participant's identity and its [`Grants`],
//! valid until it expires. The app's backend mints one per participant with the API's
//! signing key; the browser sends it as a bearer token; the API checks the signature, the
//! expiry, the room and the identity on every request.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// What a token allows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Grants {
    /// Join the room, and read its snapshot.
    #[serde(default)]
    pub join: bool,
    /// Publish tracks (join as a member or the broadcaster; publish and unpublish later).
    #[serde(default)]
    pub publish: bool,
    /// Receive others' tracks (join as a viewer; pull).
    #[serde(default)]
    pub subscribe: bool,
    /// Send messages on the participant's channel.
    #[serde(default)]
    pub data: bool,
    /// Create, close, kick: act on the room and anyone in it.
    #[serde(default)]
    pub admin: bool,
}

impl Grants {
    /// What a participant of a call needs: join, publish, subscribe and send data.
    pub fn participant() -> Self {
        Self {
            join: true,
            publish: true,
            subscribe: true,
            data: true,
            admin: false,
        }
    }

    /// What a viewer of a broadcast needs: join and subscribe.
    pub fn viewer() -> Self {
        Self {
            join: true,
            subscribe: true,
            ..Self::default()
        }
    }

    /// Everything, for the app's own tools.
    pub fn admin() -> Self {
        Self {
            admin: true,
            ..Self::participant()
        }
    }
}

/// Who may do what in which room, as a token says or an `authorize` callback decides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Claims {
    /// The room.
    pub room: String,
    /// The participant's identity (`sub`).
    #[serde(rename = "sub")]
    pub identity: String,
    /// What it may do.
    pub grants: Grants,
    /// Expiry, in seconds since the Unix epoch.
    pub exp: u64,
}

impl Claims {
    /// `identity` in `room` with `grants`, for `ttl` from now.
    pub fn new(room: impl Into<String>, identity: impl Into<String>, grants: Grants) -> Self {
        Self {
            room: room.into(),
            identity: identity.into(),
            grants,
            exp: now() + DEFAULT_TTL.as_secs(),
        }
    }

    /// Valid for `ttl` from now (10 minutes unless set).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.exp = now() + ttl.as_secs();
        self
    }

    /// The signed token, for the participant to send as `Authorization: Bearer …`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use cloudflare_calls::Secret;
    /// use cloudflare_calls::api::{Claims, Grants};
    ///
    /// let key = Secret::new("a long random signing key of the app");
    /// let token = Claims::new("demo", "alice", Grants::participant())
    ///     .ttl(Duration::from_secs(600))
    ///     .to_jwt(&key)
    ///     .unwrap();
    /// let claims = Claims::from_jwt(&token, &key).unwrap();
    /// assert_eq!(claims.identity, "alice");
    /// ```
    pub fn to_jwt(&self, key: &Secret) -> Result<String, TokenError> {
        let key = jsonwebtoken::EncodingKey::from_secret(key.expose().as_bytes())
            .map_err(|_| TokenError::Invalid)?;
        jsonwebtoken::encode(&jsonwebtoken::Header::default(), self, &key)
            .map_err(|_| TokenError::Invalid)
    }

    /// Checks a token's signature and expiry, and reads it.
    pub fn from_jwt(token: &str, key: &Secret) -> Result<Self, TokenError> {
        let key = jsonwebtoken::DecodingKey::from_secret(key.expose().as_bytes())
            .map_err(|_| TokenError::Invalid)?;
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        match jsonwebtoken::decode::<Self>(token, &key, &validation) {
            Ok(data) => Ok(data.claims),
            Err(e) if *e.kind() == jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                Err(TokenError::Expired)
            }
            Err(_) => Err(TokenError::Invalid),
        }
    }
}

/// How long a token is valid unless [`Claims::ttl`] says otherwise.
const DEFAULT_TTL: Duration = Duration::from_secs(600);

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Why a token was not accepted. Never quotes the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not a token signed with the API's key (malformed, forged, another key).
    #[error("the access token is not valid")]
    Invalid,
    /// Signed, but past its expiry.
    #[error("the access token has expired")]
    Expired,
}
