//! [`RoomError`]: why a room refused an operation.

use crate::error::{BoxError, Error};
use crate::peer::PeerError;
use crate::sdp::SdpError;
use crate::session::tracks::{TrackRefusal, refusals};

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
    /// The SFU refused tracks of a publish or a pull, each with its name, code and
    /// explanation; nothing of the call was kept. (A join pulls what it can and lists the
    /// rest, see [`RoomPeer::not_pulled`](super::RoomPeer::not_pulled).)
    #[error("the SFU refused {}", refusals(.0))]
    TracksRefused(Vec<TrackRefusal>),
    /// The SFU refused the participant's data channels.
    #[error("the SFU refused the room's data channels: {0}")]
    ChannelsRefused(String),
    /// The lease on a session expired before the change was recorded; another process may
    /// hold it now, so the record was left as that process writes it.
    #[error("the lease on session {0} expired before the change was recorded")]
    LeaseLost(String),
    /// The store lost the room: its data was reset (Redis restarted without persistence, say)
    /// while the room was open. The room is gone; its event stream ends here rather than go
    /// on into another room made with the same id.
    #[error("the store lost room {0}")]
    RoomLost(String),
    /// The room's event stream fell behind and missed this many events.
    #[error("the event stream missed {0} events")]
    Lagged(u64),
    /// The store failed (unreachable, or it lost its data).
    #[error("room store: {0}")]
    Store(#[source] BoxError),
    /// The room's server-side peer failed (its connection, a channel, a track).
    #[error(transparent)]
    Peer(PeerError),
    /// A call to the SFU failed.
    #[error(transparent)]
    Api(Error),
}

impl RoomError {
    /// The failed SFU call's error, if this is one (directly or through the room's peer).
    pub fn api(&self) -> Option<&Error> {
        match self {
            Self::Api(e) => Some(e),
            Self::Peer(e) => e.api(),
            _ => None,
        }
    }
}

impl From<PeerError> for RoomError {
    fn from(e: PeerError) -> Self {
        match e {
            PeerError::Api(e) => Self::Api(e),
            PeerError::TracksRefused(refused) => Self::TracksRefused(refused),
            other => Self::Peer(other),
        }
    }
}

/// An SFU call's error; a server-side peer's failure while answering comes back as
/// [`RoomError::Peer`].
impl From<Error> for RoomError {
    fn from(e: Error) -> Self {
        PeerError::from(e).into()
    }
}

/// The room layer's result type.
pub type Result<T, E = RoomError> = std::result::Result<T, E>;
