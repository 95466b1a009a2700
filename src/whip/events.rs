//! WHEP's server-sent events: a player learns when the stream it watches goes live or ends.
//!
//! The 201 of a WHEP `POST` carries a `Link` with the relation [`SSE_REL`] and the events it
//! offers (`active`, `inactive`). The player `POST`s the list of events it wants (a JSON array;
//! an empty body means all) to that URL with its bearer token and gets 201 with a `Location`,
//! which it reads with `GET` as `text/event-stream` (a browser's `EventSource` can, as the
//! `GET` needs no token: the player's resource id in the URL is unguessable).
//!
//! The stream says `active` when the broadcast is live and `inactive` when it is not. When
//! the broadcaster leaves, the stream ends: `inactive`, then the event stream closes. Media
//! simply stops on the player's connection, which the SFU keeps up, so without these events a
//! player cannot tell an ended stream from a stalled one.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use futures_util::stream;

use super::access::{self, Action};
use super::reply::Reject;
use super::shared::Shared;
use crate::room::{EventStream, Role, Room, RoomEvent, RoomSnapshot};

/// The `Link` relation of WHEP's server-sent events extension.
pub(crate) const SSE_REL: &str = "urn:ietf:params:whep:ext:core:server-sent-events";

/// The events a player can ask for.
const EVENTS: [&str; 2] = ["active", "inactive"];

/// The `Link` of a player's event stream, for the 201 of its `POST`.
pub(crate) fn link(location: &str) -> String {
    format!(
        "<{location}/sse>; rel=\"{SSE_REL}\"; events=\"{}\"",
        EVENTS.join(",")
    )
}

/// `POST` on a player's events URL: 201 with the `Location` to read them from.
pub(crate) async fn subscribe(
    State(shared): State<Arc<Shared>>,
    Path((stream, id)): Path<(String, String)>,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
    headers: HeaderMap,
    body: String,
) -> Result<Response, Reject> {
    access::check(
        shared.auth.as_ref(),
        &headers,
        &stream,
        Some(&id),
        Action::Events,
    )
    .await?;
    if !body.trim().is_empty() {
        let wanted: Vec<String> = serde_json::from_str(&body).map_err(|_| {
            Reject::new(
                StatusCode::BAD_REQUEST,
                "the body must be a JSON array of event names",
            )
        })?;
        if let Some(unknown) = wanted.iter().find(|e| !EVENTS.contains(&e.as_str())) {
            return Err(Reject::new(
                StatusCode::BAD_REQUEST,
                format!("unknown event {unknown:?}; this server sends active and inactive"),
            ));
        }
    }
    player_room(&shared, &stream, &id).await?;
    let location = HeaderValue::from_str(uri.path())
        .map_err(|_| Reject::new(StatusCode::BAD_REQUEST, "unprintable path"))?;
    Ok((StatusCode::CREATED, [(header::LOCATION, location)]).into_response())
}

/// `GET` on a player's events URL: `active` and `inactive` as the broadcast comes and goes.
pub(crate) async fn read(
    State(shared): State<Arc<Shared>>,
    Path((stream, id)): Path<(String, String)>,
) -> Result<Response, Reject> {
    let room = player_room(&shared, &stream, &id).await?;
    // Subscribed before the snapshot, so nothing between the two is missed.
    let updates = room.events().await?;
    let snapshot = room.snapshot().await?;
    let first = state(is_live(&snapshot));
    let rest = stream::unfold(Some(updates), move |updates| follow(updates, id.clone()));
    let events = stream::once(async move { first }).chain(rest);
    let sse = Sse::new(events.map(Ok::<_, Infallible>))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)));
    Ok(sse.into_response())
}

/// The room of stream `stream` when `id` is one of its players; 404 otherwise.
async fn player_room(shared: &Shared, stream: &str, id: &str) -> Result<Room, Reject> {
    let not_found = || Reject::new(StatusCode::NOT_FOUND, format!("no player {id} on {stream}"));
    let room = shared.stream(stream).await?.ok_or_else(not_found)?;
    let snapshot = room.snapshot().await?;
    let player = snapshot
        .participants
        .iter()
        .any(|p| p.info.id == id && p.info.role == Role::Viewer);
    if player { Ok(room) } else { Err(not_found()) }
}

fn is_live(snapshot: &RoomSnapshot) -> bool {
    snapshot
        .participants
        .iter()
        .any(|p| p.info.role == Role::Broadcaster && p.is_present())
}

fn state(live: bool) -> Event {
    Event::default()
        .event(if live { "active" } else { "inactive" })
        .data("{}")
}

/// The next event from the room's updates; the stream ends after the broadcast does, or
/// when the player leaves.
async fn follow(
    updates: Option<EventStream>,
    player: String,
) -> Option<(Event, Option<EventStream>)> {
    let mut updates = updates?;
    while let Some(update) = updates.next().await {
        let Ok(update) = update else {
            // The room's events fell behind: say what is known, and stop.
            return Some((state(false), None));
        };
        match update.event {
            RoomEvent::ParticipantJoined { participant }
                if participant.role == Role::Broadcaster =>
            {
                return Some((state(true), Some(updates)));
            }
            RoomEvent::ParticipantLeft { participant, .. }
                if participant.role == Role::Broadcaster =>
            {
                return Some((state(false), None));
            }
            RoomEvent::ParticipantLeft { participant, .. } if participant.id == player => {
                return None;
            }
            RoomEvent::RoomClosed => return Some((state(false), None)),
            _ => {}
        }
    }
    None
}
