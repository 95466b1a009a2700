//! CORS (the Fetch standard): answers pre-flight `OPTIONS` requests and lets pages of the
//! allowed origins read the headers a WHIP or WHEP client needs. A pre-flight carries no
//! `Authorization`, so it is the one request answered without checking a token.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The origins whose pages may call the router.
#[derive(Clone, Debug, Default)]
pub(crate) enum Origins {
    /// Same-origin pages only: no CORS headers.
    #[default]
    None,
    /// Any origin (`*`); tokens still decide who may publish or play.
    Any,
    /// These origins, exactly as browsers send them (`https://example.com`).
    List(Arc<[String]>),
}

impl Origins {
    fn allows(&self, origin: &str) -> Option<HeaderValue> {
        match self {
            Self::None => None,
            Self::Any => Some(HeaderValue::from_static("*")),
            Self::List(list) => list
                .iter()
                .any(|o| o == origin)
                .then(|| HeaderValue::from_str(origin).ok())
                .flatten(),
        }
    }
}

const EXPOSED: &str = "Location, ETag, Link, Accept-Patch, Retry-After";
const ALLOWED_HEADERS: &str = "Authorization, Content-Type, If-Match";

/// Answers pre-flights and adds `Access-Control-*` headers for an allowed `Origin`.
pub(crate) async fn layer(
    State(origins): State<Origins>,
    request: Request,
    next: Next,
) -> Response {
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .and_then(|o| origins.allows(o));
    if request.method() == Method::OPTIONS {
        let path = request.uri().path().trim_end_matches('/');
        let allow = if path.ends_with("/sse") {
            "POST, GET, HEAD, OPTIONS"
        } else if path.matches('/').count() >= 3 {
            "PATCH, DELETE, OPTIONS"
        } else {
            "POST, OPTIONS"
        };
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        headers.insert(header::ALLOW, HeaderValue::from_static(allow));
        if let Some(origin) = origin {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(allow),
            );
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(ALLOWED_HEADERS),
            );
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
            headers.insert(header::VARY, HeaderValue::from_static("Origin"));
        }
        return response;
    }
    let mut response = next.run(request).await;
    if let Some(origin) = origin {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED),
        );
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}
