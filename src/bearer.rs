//! The bearer token of a request (RFC 6750 section 2.1), for the routers that check one: the
//! WHIP/WHEP router and the room API.

use axum::http::{HeaderMap, header};

/// The token of `Authorization: Bearer <token>` (the scheme in any case); `None` without one,
/// with another scheme, or with an empty token.
pub(crate) fn token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty())
}
