//! [`RoomError`]: why a room refused an operation.

use crate::error::BoxError;
use crate::sdp::SdpError;
use crate::tracks::TrackError;

/// Why a room operation was refused. Nothing is left half-done when one is returned: a
/// refused join leaves no participant in the store and no session open on the SFU.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RoomError {
    /// A room with this id exists already.
    #[error("room {0} already exists")]
    RoomExists(String),
    /// No room has this id.
    #[error("no room {0}")]
    RoomNotFound(String),
    /// The room was closed.
    #[error("room {0} is closed")]
    RoomClosed(String),
    /// The room has its maximum number of participants.
    #[error("room {room} is full ({max} participants)")]
    RoomFull {
        /// The room's id.
        room: String,
        /// Its maximum.
        max: u32,
    },
    /// A participant with this identity is in the room already.
    #[error("{identity} is already in room {room}")]
    IdentityTaken {
        /// The room's id.
        room: String,
        /// The identity.
        identity: String,
    },
    /// The room has a broadcast already.
    #[error("room {0} already has a broadcast")]
    BroadcastTaken(String),
    /// No participant has this id (it left, or never joined).
    #[error("no participant {participant} in room {room}")]
    ParticipantNotFound {
        /// The room's id.
        room: String,
        /// The participant's id.
        participant: String,
    },
    /// The endpoint's offer is not valid SDP.
    #[error("the offer is not valid SDP: {0}")]
    MalformedOffer(#[source] SdpError),
    /// The endpoint's offer has no media section at all.
    #[error("the offer has no media section")]
    NoMedia,
    /// The SFU refused tracks of the join or publish; nothing of it was kept.
    #[error("the SFU refused {} track(s): {}", .0.len(), .0.first().map(|t| t.code.as_str()).unwrap_or_default())]
    TracksRefused(Vec<TrackError>),
    /// The SFU refused the participant's data channels.
    #[error("the SFU refused the room's data channels: {0}")]
    ChannelsRefused(String),
    /// The lease on a session expired before the change was recorded; another process may
    /// hold it now, so the record was left as that process writes it.
    #[error("the lease on session {0} expired before the change was recorded")]
    LeaseLost(String),
    /// The room's event stream fell behind and missed this many events.
    #[error("the event stream missed {0} events")]
    Lagged(u64),
    /// The store failed (unreachable, or it lost its data).
    #[error("room store: {0}")]
    Store(#[source] BoxError),
}
