//! [`Join`]: how a participant enters a room, as a builder that ends in `.send()`.

use std::time::Instant;

use super::error::Result;
use super::error::RoomError;
use super::event::{ParticipantInfo, Role, TrackInfo};
use super::ids;
use super::offer_tracks::{no_answer, published, pushed_tracks};
use super::participant::{Participant, PulledTrack};
use super::room::Room;
use super::store::ParticipantRecord;
use crate::error::Error;
use crate::metrics;
use crate::sdp::{self, Direction, SectionKind};
use crate::session::description::{Answer, Offer};
use crate::session::negotiation::Negotiation;
use crate::session::tracks::{CloseMode, LocalTrack};
use crate::wire::MediaKind;

/// Builder for a join; see [`Room::join`], [`Room::watch`] and [`Room::start_broadcast`].
///
/// `.offer(..).send()` joins an endpoint that makes its own offer (a browser): it takes
/// `1 + ⌈pushed/64⌉ + ⌈pulled/64⌉` API calls, where the first push carries the offer (with
/// nothing to push or pull, the session is created with the offer: 1 call), and leaves one
/// renegotiation for the endpoint's answer to the pulls. Tracks that fit the offer's
/// receive-only sections (by kind, in order) are pulled in the call that carries the offer,
/// so the answer brings them: a viewer that offers one audio and one video section to
/// receive joins a broadcast in 2 calls and no renegotiation, as a WHEP player needs. `.connect(client.peer())` joins a
/// server-side [`Peer`](crate::Peer) instead ([`RoomPeer`](super::RoomPeer)).
#[must_use = "a builder does nothing until .send() is awaited"]
#[derive(Debug)]
pub struct Join<'a> {
    pub(super) room: &'a Room,
    pub(super) identity: String,
    pub(super) role: Role,
    pub(super) metadata: Option<String>,
    offer: Option<Offer>,
    fitted_only: bool,
}

/// A join in progress: what the endpoint must apply, and the participant's handle.
///
/// The endpoint applies `answer` (to its offer), then answers the SFU's offer in
/// `negotiation` if there is one (the room's tracks to receive), then, once connected,
/// calls [`Participant::open_channels`], opens the two channels, and
/// [`Participant::announce`]s itself.
#[derive(Debug)]
#[must_use = "the endpoint must apply the answer and answer the SFU's offer"]
#[non_exhaustive]
pub struct Joining {
    /// The participant, not announced to the room yet.
    pub participant: Participant,
    /// The SFU's answer to the endpoint's offer.
    pub answer: Answer,
    /// The pull of the room's tracks: an SFU offer to answer, or `Done` if the room had none.
    /// A pending offer holds the participant's session until it is answered or dropped:
    /// [`Participant::leave`] and every other change of the session wait for it.
    pub negotiation: Negotiation,
    /// The tracks pulled, with the mids where the endpoint receives them.
    pub pulled: Vec<PulledTrack>,
}

impl<'a> Join<'a> {
    pub(super) fn new(room: &'a Room, identity: String, role: Role) -> Self {
        Self {
            room,
            identity,
            role,
            metadata: None,
            offer: None,
            fitted_only: false,
        }
    }

    /// What the participant does: [`Role::Member`] for [`Room::join`], [`Role::Viewer`] for
    /// [`Room::watch`]; [`Role::Broadcaster`] makes it the room's broadcast.
    pub fn role(mut self, role: Role) -> Self {
        self.role = role;
        self
    }

    /// The app's data about the participant, announced with it.
    pub fn metadata(mut self, metadata: impl Into<String>) -> Self {
        self.metadata = Some(metadata.into());
        self
    }

    /// The endpoint's offer: its sending audio and video sections become the participant's
    /// published tracks (named after the track id of their `a=msid`, or `<kind>-<mid>`).
    /// A viewer's sending sections are not pushed.
    pub fn offer(mut self, offer: Offer) -> Self {
        self.offer = Some(offer);
        self
    }

    /// Pulls only the room's tracks that fit the offer's receive-only sections, so the join
    /// needs no renegotiation: for an endpoint that cannot answer an SFU offer, such as a
    /// WHEP player. The other tracks are not pulled, and `negotiation` is always `Done`.
    pub fn fitted_only(mut self) -> Self {
        self.fitted_only = true;
        self
    }

    /// Joins: creates the session, pushes the offer's tracks and pulls the room's.
    ///
    /// Refused, with nothing left behind, for a closed, full or unknown room
    /// ([`RoomError`]), an identity already present, a malformed offer or one with no media
    /// section.
    pub async fn send(self) -> Result<Joining> {
        let started = Instant::now();
        let joined = self.join_with_offer().await;
        counted("browser", started, joined.is_ok());
        joined
    }

    async fn join_with_offer(self) -> Result<Joining> {
        let Some(offer) = self.offer.clone() else {
            return Err(Error::InvalidArgument(
                "Join::send needs the endpoint's offer (.offer); a server-side peer joins with .connect"
                    .into(),
            ).into());
        };
        // Both refusals come before anything exists, in the store or on the SFU.
        let sends = pushed_tracks(&offer)?;
        if sdp::parse(offer.sdp()).is_ok_and(|p| p.media.is_empty()) {
            return Err(RoomError::NoMedia);
        }
        let pushes = if self.role == Role::Viewer {
            Vec::new()
        } else {
            sends
        };
        let (room, fitted_only) = (self.room, self.fitted_only);
        let (record, publishers) = self.reserve().await?;
        let id = record.info.id.clone();
        // The session as soon as it exists, to close it if the store cannot help.
        let mut opened: Option<String> = None;
        let joined = async {
            let mut record = record;
            let client = room.client();
            // The room's tracks go into the offer's receive sections where they fit (a WHEP
            // player's offer, say): the SFU's answer then carries them, with no
            // renegotiation. The rest come in an SFU offer.
            let wanted = tracks_in(&publishers, &record);
            let (mut pulled, mut rest) = fit(wanted, &offer);
            if fitted_only {
                rest.clear();
            }
            let (session, answer) = if pushes.is_empty() && pulled.is_empty() {
                let session = client
                    .new_session()
                    .correlation_id(room.id())
                    .offer(offer)
                    .send()
                    .await?;
                opened = Some(session.id().to_owned());
                record.info.session_id = session.id().to_owned();
                room.save(record.clone()).await?;
                let answer = session.answer().cloned().ok_or_else(no_answer)?;
                (session, answer)
            } else {
                let session = client
                    .new_session()
                    .correlation_id(room.id())
                    .send()
                    .await?;
                opened = Some(session.id().to_owned());
                // The record names what the session is about to have, before the SFU has
                // it: whoever removes the participant (an undo, or the host once a process
                // that died here is found out) closes it all from the record. One write, not
                // one before the call and one after it.
                record.info.session_id = session.id().to_owned();
                record.published = published(session.id(), pushes.clone());
                record.pulled = pulled.iter().map(|p| p.mid.clone()).collect();
                room.save(record.clone()).await?;
                let locals = pushes
                    .iter()
                    .map(|(mid, name, _)| LocalTrack::new(mid, name));
                let remotes = pulled.iter().map(|p| p.track.remote().mid(&p.mid));
                let result = session
                    .add_tracks()
                    .offer(offer)
                    .push_all(locals)
                    .pull_all(remotes)
                    .send()
                    .await?;
                // A refused pull (a track that went away) only leaves its section empty.
                let (refused_pulls, refused_pushes): (Vec<_>, Vec<_>) = result
                    .failed
                    .into_iter()
                    .partition(|f| f.session_id.is_some());
                if !refused_pushes.is_empty() {
                    return Err(RoomError::TracksRefused(refused_pushes));
                }
                if !refused_pulls.is_empty() {
                    pulled
                        .retain(|p| !refused_pulls.iter().any(|f| f.mid.as_ref() == Some(&p.mid)));
                    record.pulled = pulled.iter().map(|p| p.mid.clone()).collect();
                    room.save(record.clone()).await?;
                    room.repair_ghosts(&refused_pulls).await;
                }
                let answer = result.negotiation.answer().cloned().ok_or_else(no_answer)?;
                (session, answer)
            };

            let negotiation = if rest.is_empty() {
                Negotiation::Done
            } else {
                let result = session
                    .add_tracks()
                    .pull_all(rest.iter().map(TrackInfo::remote))
                    .send()
                    .await?;
                let more = PulledTrack::matched(&rest, &result);
                record.pulled.extend(more.iter().map(|p| p.mid.clone()));
                pulled.extend(more);
                room.save(record.clone()).await?;
                result.negotiation
            };
            Ok(Joining {
                participant: Participant::new(room.clone(), record.info),
                answer,
                negotiation,
                pulled,
            })
        }
        .await;
        if joined.is_err() {
            undo(room, &id, opened.as_deref()).await;
        }
        joined
    }

    /// Adds the participant to the store, not announced and with no session yet: the
    /// room's capacity and the identity are checked here, atomically. Returns its record and
    /// the room's publishers then.
    pub(super) async fn reserve(&self) -> Result<(ParticipantRecord, Vec<ParticipantRecord>)> {
        let record = ParticipantRecord {
            info: ParticipantInfo {
                id: ids::random("p"),
                identity: self.identity.clone(),
                role: self.role.clone(),
                session_id: String::new(),
                metadata: self.metadata.clone(),
            },
            published: Vec::new(),
            pulled: Vec::new(),
            announced: false,
            channels: false,
            reserved_at: now_ms(),
            leaving: None,
        };
        let publishers = self
            .room
            .store()
            .add_participant(self.room.id(), record.clone())
            .await?;
        Ok((record, publishers))
    }
}

/// Milliseconds since the Unix epoch.
pub(super) fn now_ms() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Takes a participant that failed to join back out, closing what it opened. When the store
/// cannot say what that was (it is unreachable), every track of `session` is closed.
pub(super) async fn undo(room: &Room, participant: &str, session: Option<&str>) {
    let Err(e) = room
        .remove(participant, super::event::LeaveReason::Left)
        .await
    else {
        return;
    };
    tracing::warn!(room = room.id(), participant, error = %e, "could not undo a failed join in the store");
    let Some(session) = session else {
        return;
    };
    let session = room.client().session(session);
    let mids = match session.state().await {
        Ok(state) => state
            .tracks
            .into_iter()
            .filter_map(|t| t.mid)
            .collect::<Vec<_>>(),
        Err(_) => return,
    };
    if !mids.is_empty()
        && let Err(e) = session.close_tracks(mids, CloseMode::Force).send().await
    {
        tracing::warn!(room = room.id(), participant, error = %e, "could not close a failed join's tracks");
    }
}

/// Counts a join through this process, and times it when it succeeded.
pub(super) fn counted(endpoint: &'static str, started: Instant, ok: bool) {
    let outcome = if ok { "ok" } else { "refused" };
    metrics::count(
        metrics::ROOM_JOINS,
        &[("endpoint", endpoint), ("outcome", outcome)],
        1,
    );
    if ok {
        metrics::observe(
            metrics::ROOM_JOIN_DURATION,
            &[("endpoint", endpoint)],
            started.elapsed(),
        );
    }
}

/// The tracks a participant with `record`'s role receives: a member everyone's but its own,
/// a viewer the broadcast's, a broadcaster nothing.
pub(super) fn tracks_in(
    participants: &[ParticipantRecord],
    record: &ParticipantRecord,
) -> Vec<TrackInfo> {
    if record.info.role == Role::Broadcaster {
        return Vec::new();
    }
    participants
        .iter()
        .filter(|p| p.publishes() && p.info.id != record.info.id)
        .filter(|p| record.info.role != Role::Viewer || p.info.role == Role::Broadcaster)
        .flat_map(|p| p.published.iter().map(|(_, t)| t.clone()))
        .collect()
}

/// Pairs `wanted` tracks with the offer's receive-only audio and video sections of the same
/// kind, in order; returns the pairs and the tracks left over.
fn fit(wanted: Vec<TrackInfo>, offer: &Offer) -> (Vec<PulledTrack>, Vec<TrackInfo>) {
    let mut free: Vec<(String, MediaKind)> = match sdp::parse(offer.sdp()) {
        Ok(parsed) => parsed
            .media
            .iter()
            .filter(|m| m.direction == Direction::RecvOnly && m.port != 0)
            .filter_map(|m| {
                let kind = match m.kind {
                    SectionKind::Audio => MediaKind::Audio,
                    SectionKind::Video => MediaKind::Video,
                    _ => return None,
                };
                Some((m.mid?.to_owned(), kind))
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    let mut fitted = Vec::new();
    let mut rest = Vec::new();
    for track in wanted {
        match free.iter().position(|(_, kind)| *kind == track.kind) {
            Some(at) => {
                let (mid, _) = free.remove(at);
                fitted.push(PulledTrack { mid, track });
            }
            None => rest.push(track),
        }
    }
    (fitted, rest)
}

/// The ways into a room.
impl Room {
    /// Starts a join: the participant's session is created, the tracks of its offer pushed,
    /// the room's tracks pulled. See [`Join`].
    ///
    /// ```no_run
    /// # async fn run(room: cloudflare_calls::room::Room, sdp: String) -> Result<(), Box<dyn std::error::Error>> {
    /// use cloudflare_calls::Offer;
    /// let joining = room.join("alice").offer(Offer::new(sdp)).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn join(&self, identity: impl Into<String>) -> Join<'_> {
        Join::new(self, identity.into(), Role::Member)
    }

    /// Starts the room's broadcast from `offer`: a participant whose tracks viewers pull.
    /// [`RoomError::BroadcastTaken`] if there is one already.
    pub async fn start_broadcast(&self, offer: Offer) -> Result<Joining> {
        Join::new(self, "broadcast".into(), Role::Broadcaster)
            .offer(offer)
            .send()
            .await
    }

    /// Starts joining a viewer of the broadcast: it publishes nothing and pulls the
    /// broadcast's tracks.
    pub fn watch(&self, identity: impl Into<String>) -> Join<'_> {
        Join::new(self, identity.into(), Role::Viewer)
    }
}
