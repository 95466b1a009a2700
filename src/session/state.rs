//! What the SFU reports about a session: [`SessionState`] and its items.

use crate::raw::sfu::types as raw;
use crate::wire::{Location, MediaKind, ResourceStatus};

/// What [`Session::state`](crate::Session::state) reports.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionState {
    /// Tracks pushed or pulled by the session.
    pub tracks: Vec<TrackStatus>,
    /// Data channels published or subscribed by the session.
    pub data_channels: Vec<DataChannelStatus>,
}

/// One track of [`SessionState`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackStatus {
    /// Pushed (local) or pulled (remote).
    pub location: Option<Location>,
    /// The transceiver's media id in this session.
    pub mid: Option<String>,
    /// The publisher's session, for a pulled track.
    pub session_id: Option<String>,
    /// The track's name.
    pub track_name: Option<String>,
    /// Audio or video.
    pub kind: Option<MediaKind>,
    /// Whether the track is live.
    pub status: Option<ResourceStatus>,
}

impl TrackStatus {
    /// Whether the SFU reports the track as live.
    pub fn is_active(&self) -> bool {
        self.status == Some(ResourceStatus::Active)
    }
}

/// One data channel of [`SessionState`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DataChannelStatus {
    /// Published (local) or subscribed (remote).
    pub location: Option<Location>,
    /// The publisher's session, for a subscription.
    pub session_id: Option<String>,
    /// The channel's name.
    pub name: Option<String>,
    /// The negotiated channel id on this session.
    pub id: Option<u16>,
    /// Whether the channel is open.
    pub status: Option<ResourceStatus>,
}

impl From<raw::GetSessionStateResponse> for SessionState {
    fn from(state: raw::GetSessionStateResponse) -> Self {
        Self {
            tracks: state
                .tracks
                .into_iter()
                .map(|t| TrackStatus {
                    location: t.location,
                    mid: t.mid,
                    session_id: t.session_id,
                    track_name: t.track_name,
                    kind: t.kind.as_deref().map(MediaKind::from),
                    status: t.status,
                })
                .collect(),
            data_channels: state
                .data_channels
                .into_iter()
                .map(|d| DataChannelStatus {
                    location: d.location,
                    session_id: d.session_id,
                    name: d.data_channel_name,
                    id: d.id,
                    status: d.status,
                })
                .collect(),
        }
    }
}
