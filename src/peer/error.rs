//! [`PeerError`]: what can go wrong in the server-side peer, the SFU calls it makes included.

use std::time::Duration;

use crate::error::{Error, ErrorCode};
use crate::session::tracks::{TrackRefusal, refusals};

/// A failure of the server-side [`Peer`](super::Peer): of the peer itself, or of a call it made
/// to the SFU ([`PeerError::Api`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PeerError {
    /// ICE and DTLS did not complete within the connect timeout: no UDP path to the SFU
    /// (blocked outbound UDP, or a network that needs a TURN relay, which this peer cannot use).
    #[error("the peer did not connect to the SFU within {0:?}")]
    ConnectTimeout(Duration),
    /// The connection to the SFU was lost and did not come back.
    #[error("the peer's connection to the SFU failed")]
    ConnectionFailed,
    /// The peer was closed or dropped, or its task ended; nothing more can be sent.
    #[error("the peer is closed")]
    Closed,
    /// The data channel is closed (by [`Peer::close`](super::Peer::close), by the SFU, or
    /// because the peer ended).
    #[error("data channel {0:?} is closed")]
    ChannelClosed(String),
    /// The SFU refused a data channel (e.g. `not_found` when nobody publishes it).
    #[error("the SFU refused data channel {name:?}: {code}{}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    ChannelRefused {
        /// The channel's name.
        name: String,
        /// The SFU's per-item error code.
        code: ErrorCode,
        /// The SFU's explanation.
        description: Option<String>,
    },
    /// The SFU refused tracks (e.g. `not_found_track_error` when nobody pushes one), each
    /// with its name, code and explanation: the same [`TrackRefusal`]s as
    /// [`RoomError::TracksRefused`](crate::room::RoomError::TracksRefused).
    #[error("the SFU refused {}", refusals(.0))]
    TracksRefused(Vec<TrackRefusal>),
    /// A reply on a subscription whose `can_reply` was not asked for.
    #[error("data channel {0:?}: replies need DataChannel::can_reply(true)")]
    ReplyNotGranted(String),
    /// A subscriber on a reliable channel fell behind: its buffer was full, so it was ended
    /// rather than silently skipping messages. `missed` messages were not delivered.
    #[error("the subscription fell behind and was ended; {missed} message(s) not delivered")]
    Lagged {
        /// How many messages arrived while the buffer was full.
        missed: u64,
    },
    /// The peer could not apply the SFU's session description.
    #[error("the peer could not apply the SFU's offer: {0}")]
    Sdp(String),
    /// The WebRTC stack refused an operation (a frame, a channel write).
    #[error("WebRTC: {0}")]
    Rtc(String),
    /// The track's negotiated codecs do not include the one frames are sent with.
    #[error("track {track:?}: the SFU did not negotiate {codec}")]
    CodecNotNegotiated {
        /// The track's name.
        track: String,
        /// The codec the frames are encoded with.
        codec: &'static str,
    },
    /// Binding or using the UDP socket failed.
    #[error("UDP socket: {0}")]
    Io(#[from] std::io::Error),
    /// A call to the SFU failed.
    #[error(transparent)]
    Api(Error),
}

impl PeerError {
    /// The failed SFU call's error, if this is one.
    pub fn api(&self) -> Option<&Error> {
        match self {
            Self::Api(e) => Some(e),
            _ => None,
        }
    }
}

/// An SFU call's error; the peer's own failure while answering an SFU offer (which the session
/// carries as an [`Error::Answerer`]) comes back as itself.
impl From<Error> for PeerError {
    fn from(e: Error) -> Self {
        match e {
            Error::Answerer(source) => match source.downcast::<PeerError>() {
                Ok(peer) => *peer,
                Err(other) => Self::Api(Error::Answerer(other)),
            },
            other => Self::Api(other),
        }
    }
}

/// The peer layer's result type.
pub type Result<T, E = PeerError> = std::result::Result<T, E>;
