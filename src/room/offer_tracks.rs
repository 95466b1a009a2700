//! The tracks an endpoint's offer sends, as a room records them.

use super::error::{Result, RoomError};
use super::event::TrackInfo;
use crate::error::Error;
use crate::sdp::{self, Direction, SectionKind};
use crate::session::description::Offer;
use crate::wire::MediaKind;

/// The offer's sending audio and video sections: `(mid, track name, kind)`.
pub(super) fn pushed_tracks(offer: &Offer) -> Result<Vec<(String, String, MediaKind)>> {
    let parsed = sdp::parse(offer.sdp()).map_err(RoomError::MalformedOffer)?;
    let mut tracks: Vec<(String, String, MediaKind)> = Vec::new();
    for section in &parsed.media {
        let kind = match section.kind {
            SectionKind::Audio => MediaKind::Audio,
            SectionKind::Video => MediaKind::Video,
            _ => continue,
        };
        let sends = matches!(section.direction, Direction::SendOnly | Direction::SendRecv);
        let (true, Some(mid)) = (sends && section.port != 0, section.mid) else {
            continue;
        };
        let mut name = section
            .track_id()
            .map_or_else(|| format!("{kind}-{mid}"), str::to_owned);
        if tracks.iter().any(|(_, n, _)| *n == name) {
            name = format!("{name}-{mid}");
        }
        tracks.push((mid.to_owned(), name, kind));
    }
    Ok(tracks)
}

/// The offer's sending sections as the tracks `session` publishes, by mid.
pub(super) fn published(
    session: &str,
    pushes: Vec<(String, String, MediaKind)>,
) -> Vec<(String, TrackInfo)> {
    pushes
        .into_iter()
        .map(|(mid, name, kind)| {
            let track = TrackInfo {
                session_id: session.to_owned(),
                name,
                kind,
            };
            (mid, track)
        })
        .collect()
}

pub(super) fn no_answer() -> Error {
    Error::Decode {
        operation: "add_tracks",
        status: None,
        reason: "the SFU did not answer the endpoint's offer".into(),
        body: String::new(),
    }
}
