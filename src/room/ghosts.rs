//! Ghost tracks: listed in the store as published, but gone from the SFU (closed, expired,
//! or idle long enough for the SFU to drop them), which no join can pull.
//!
//! A join that the SFU refuses a track with `not_found_track_error` asks the room to look:
//! if the publisher's session no longer has that track active, the track is unpublished in
//! the publisher's name (closed, taken out of its record, announced gone), so the next join
//! does not meet it again. A refusal of a live track (its media not flowing yet) changes
//! nothing.

use super::error::Result;
use super::participant::Participant;
use super::room::Room;
use crate::error::ErrorCode;
use crate::session::tracks::TrackRefusal;
use crate::wire::Location;

impl Room {
    /// Unpublishes each refused track whose publisher's session no longer has it active.
    /// Best effort: a failure is logged, and the next refused join tries again.
    pub(super) async fn repair_ghosts(&self, refused: &[TrackRefusal]) {
        for r in refused {
            let (Some(session_id), Some(name)) = (&r.session_id, &r.track_name) else {
                continue;
            };
            if r.code != ErrorCode::NotFoundTrackError {
                continue;
            }
            match self.repair_ghost(session_id, name).await {
                Ok(true) => tracing::info!(
                    room = self.id(),
                    session_id,
                    track = name,
                    "unpublished a ghost track"
                ),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(room = self.id(), session_id, track = name, error = %e, "checking a refused track")
                }
            }
        }
    }

    async fn repair_ghost(&self, session_id: &str, name: &str) -> Result<bool> {
        let snapshot = self.snapshot().await?;
        let publisher = snapshot.participants.into_iter().find(|p| {
            p.info.session_id == session_id && p.published.iter().any(|(_, t)| t.name == name)
        });
        let Some(publisher) = publisher else {
            return Ok(false);
        };
        let live = match self.client().session(session_id).state().await {
            Err(e) if e.is_session_gone() => false,
            Err(e) => return Err(e.into()),
            Ok(state) => state.tracks.iter().any(|t| {
                t.location == Some(Location::Local)
                    && t.track_name.as_deref() == Some(name)
                    && t.is_active()
            }),
        };
        if live {
            return Ok(false);
        }
        Participant::new(self.clone(), publisher.info)
            .unpublish([name])
            .await?;
        Ok(true)
    }
}
