//! The resources a `POST` creates (RFC 9725 section 4.2): `DELETE` ends the publisher or the
//! player, `PATCH` takes trickle ICE (section 4.3).
//!
//! Trickled candidates are accepted only when the SFU's answer said `a=ice-lite`, as the
//! Cloudflare SFU's does: an ICE-lite agent never uses the peer's candidates (RFC 8445
//! section 2.5), it learns the client's address from the client's connectivity checks, so
//! taking the candidates and doing nothing with them is all there is to do. ICE restarts are
//! not supported, because the Calls API has no way to give a session new ICE credentials:
//! they get 422, as section 4.3.1 asks of a resource that supports trickle ICE only. Against
//! an SFU that is not ICE-lite, every `PATCH` gets 501: nothing would be done with it.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap};

use super::access::{self, Action};
use super::endpoint::content_type_is;
use super::ice;
use super::meta::{Meta, etag};
use super::reply::Reject;
use super::shared::Shared;
use crate::room::{Participant, Role, RoomError};

/// `DELETE` on a publisher: the stream ends, its players with it. 200 (RFC 9725 section 4.2).
pub(crate) async fn stop_publisher(
    state: State<Arc<Shared>>,
    path: Path<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, Reject> {
    stop(state, path, headers, Role::Broadcaster).await
}

/// `DELETE` on a player: its session's tracks are closed and it leaves the stream.
pub(crate) async fn stop_player(
    state: State<Arc<Shared>>,
    path: Path<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, Reject> {
    stop(state, path, headers, Role::Viewer).await
}

async fn stop(
    State(shared): State<Arc<Shared>>,
    Path((stream, id)): Path<(String, String)>,
    headers: HeaderMap,
    role: Role,
) -> Result<StatusCode, Reject> {
    access::check(
        shared.auth.as_ref(),
        &headers,
        &stream,
        Some(&id),
        Action::Stop,
    )
    .await?;
    let participant = find(&shared, &stream, &id, &role).await?;
    let room = participant.room().clone();
    if role == Role::Broadcaster {
        room.close().await?;
    } else {
        participant.leave().await?;
    }
    tracing::info!(stream, participant = id, "WHIP/WHEP resource deleted");
    Ok(StatusCode::OK)
}

/// `PATCH` on a publisher.
pub(crate) async fn patch_publisher(
    state: State<Arc<Shared>>,
    path: Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> Result<StatusCode, Reject> {
    patch(state, path, headers, body, Role::Broadcaster).await
}

/// `PATCH` on a player.
pub(crate) async fn patch_player(
    state: State<Arc<Shared>>,
    path: Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> Result<StatusCode, Reject> {
    patch(state, path, headers, body, Role::Viewer).await
}

async fn patch(
    State(shared): State<Arc<Shared>>,
    Path((stream, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: String,
    role: Role,
) -> Result<StatusCode, Reject> {
    access::check(
        shared.auth.as_ref(),
        &headers,
        &stream,
        Some(&id),
        Action::Update,
    )
    .await?;
    let participant = find(&shared, &stream, &id, &role).await?;
    if !content_type_is(&headers, "application/trickle-ice-sdpfrag") {
        return Err(Reject::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "a PATCH must be sent as application/trickle-ice-sdpfrag",
        ));
    }
    let meta = Meta::from_json(participant.info().metadata.as_deref());
    if !meta.trickle {
        return Err(Reject::new(
            StatusCode::NOT_IMPLEMENTED,
            "the SFU is not ICE-lite, and trickle ICE and ICE restarts cannot be passed to it",
        ));
    }
    // RFC 9110 section 13.1.1: `*` matches any current tag, and RFC 9725 section 4.3.3 has
    // ICE restarts send exactly that.
    let current = etag(&id, &meta);
    match if_match(&headers) {
        Some(IfMatch::Any) => return Err(restart_refused()),
        Some(IfMatch::Tags(tags)) if !tags.contains(&current) => {
            return Err(Reject::new(
                StatusCode::PRECONDITION_FAILED,
                "If-Match does not name this resource's current ICE session",
            ));
        }
        _ => {}
    }
    let fragment = ice::fragment(&body).map_err(|e| {
        Reject::new(
            StatusCode::BAD_REQUEST,
            format!("malformed SDP fragment: {e}"),
        )
    })?;
    if fragment
        .ufrag
        .as_deref()
        .is_some_and(|u| u != meta.ice_ufrag)
    {
        return Err(restart_refused());
    }
    tracing::debug!(
        stream,
        participant = id,
        candidates = fragment.candidates,
        "trickled candidates taken (the SFU is ICE-lite)"
    );
    Ok(StatusCode::NO_CONTENT)
}

fn restart_refused() -> Reject {
    Reject::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "ICE restarts are not supported: the Calls API cannot give a session new ICE credentials; POST again for a new session",
    )
}

enum IfMatch {
    Any,
    Tags(Vec<String>),
}

/// The `If-Match` header: `*`, or the strong tags it lists (weak ones never match).
fn if_match(headers: &HeaderMap) -> Option<IfMatch> {
    let values: Vec<&str> = headers
        .get_all(header::IF_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if values.is_empty() {
        return None;
    }
    let items: Vec<&str> = values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    if items.contains(&"*") {
        return Some(IfMatch::Any);
    }
    let strong = items.into_iter().filter(|t| !t.starts_with("W/"));
    Some(IfMatch::Tags(strong.map(str::to_owned).collect()))
}

/// The resource's participant: 404 unless the stream has a participant of that id and role.
async fn find(shared: &Shared, stream: &str, id: &str, role: &Role) -> Result<Participant, Reject> {
    let missing = || {
        Reject::new(
            StatusCode::NOT_FOUND,
            format!("no resource {id} on stream {stream}"),
        )
    };
    let room = shared.stream(stream).await?.ok_or_else(missing)?;
    match room.participant(id).await {
        Ok(p) if p.info().role == *role => Ok(p),
        Ok(_) => Err(missing()),
        Err(RoomError::ParticipantNotFound { .. }) => Err(missing()),
        Err(e) => Err(e.into()),
    }
}
