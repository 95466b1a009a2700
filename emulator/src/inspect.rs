//! What the emulator holds, session by session, for tests that compare an app's state with
//! the SFU's: see [`Emulator::sessions`](crate::Emulator::sessions).

use crate::state::{Registry, lock};

/// One open session: its correlation id, and the tracks and data channels not closed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionView {
    /// The session's id.
    pub id: String,
    /// The `correlationId` it was created with.
    pub correlation_id: Option<String>,
    /// Its tracks not closed (pushed or pulled), in the order they were added.
    pub tracks: Vec<TrackView>,
    /// Its data channels not closed (published or subscribed), in the order they were added.
    pub channels: Vec<ChannelView>,
}

/// A track of a [`SessionView`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackView {
    /// Its mid in the session.
    pub mid: String,
    /// The track's name: its own for a pushed track, the publisher's for a pulled one.
    pub name: String,
    /// The publisher's session id of a pulled track; `None` for a pushed one.
    pub source: Option<String>,
}

/// A data channel of a [`SessionView`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChannelView {
    /// The channel's name.
    pub name: String,
    /// The publisher's session id of a subscribed channel; `None` for a published one.
    pub source: Option<String>,
}

/// Every session of `reg` that is open now, with its tracks and data channels not closed.
pub(crate) fn sessions(reg: &Registry) -> Vec<SessionView> {
    let all: Vec<_> = lock(&reg.sessions).values().cloned().collect();
    let ttl = reg.config.unconnected_session_ttl;
    let mut open: Vec<SessionView> = all
        .into_iter()
        .filter(|s| !s.is_closed(ttl))
        .map(|s| {
            let d = s.data();
            let tracks = d.tracks.iter().filter(|t| !t.closed);
            let channels = d.channels.iter().filter(|c| !c.closed);
            SessionView {
                id: s.id.clone(),
                correlation_id: d.correlation_id.clone(),
                tracks: tracks
                    .map(|t| TrackView {
                        mid: t.mid.clone(),
                        name: t.source.as_ref().map_or(&t.name, |(_, n)| n).clone(),
                        source: t.source.as_ref().map(|(sid, _)| sid.clone()),
                    })
                    .collect(),
                channels: channels
                    .map(|c| ChannelView {
                        name: c.name.clone(),
                        source: c.source.clone(),
                    })
                    .collect(),
            }
        })
        .collect();
    open.sort_by(|a, b| a.id.cmp(&b.id));
    open
}
