//! [`Room`]: one room's entry points (messages, events, kicks, closing) and the record keeping
//! every change of a participant goes through (leases, fencing, cleanup on the SFU).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::error::{Result, RoomError};
use super::event::{
    LeaveReason, PARTICIPANT_CHANNEL, ParticipantInfo, Payload, RoomEvent, TrackInfo, room_channel,
};
use super::host_peers::HostPeers;
use super::shared::{HostHandle, Shared};
use super::store::{EventStream, Lease, Leaving, ParticipantRecord, RoomSnapshot, Store};
use crate::client::Client;
use crate::error::Error;
use crate::metrics;
use crate::session::Session;
use crate::session::data_channels::DataChannel;
use crate::session::tracks::CloseMode;
use crate::wire::{Location, ResourceStatus};

/// How long one process may hold a session's lease before another may take it, when the
/// store cannot renew leases: the longest change (a join waits up to 20 s for a connection).
const LEASE: Duration = Duration::from_secs(30);
/// How long a renewable lease holds between renewals: a process that dies holding it holds
/// up the session this long at most. It is renewed every third of it.
const RENEWED_LEASE: Duration = Duration::from_secs(6);
/// How many times a cleanup call (closing what a participant opened) is sent while it fails
/// transiently; see [`persist`].
const CLEANUP_ATTEMPTS: u32 = 5;
/// How long a removal waits for this process's host to relay it before closing the
/// participant's channels anyway.
const RELAY_WAIT: Duration = Duration::from_secs(2);

tokio::task_local! {
    /// The lease of the session being changed, for fencing the records saved meanwhile.
    static FENCE: Lease;
}

/// A room: every room entry point. Cheap to clone; any process with the room's store can
/// open one with [`Rooms::open`](super::Rooms::open).
#[derive(Clone)]
pub struct Room {
    shared: Arc<Shared>,
    id: Arc<str>,
}

impl std::fmt::Debug for Room {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Room").field("id", &self.id).finish()
    }
}

impl Room {
    pub(crate) fn new(shared: Arc<Shared>, id: Arc<str>) -> Self {
        Self { shared, id }
    }

    /// The room's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The room's record and participants, with the `seq` of the last event they include.
    pub async fn snapshot(&self) -> Result<RoomSnapshot> {
        self.store().snapshot(&self.id).await
    }

    /// The room's snapshot with one participant in it, or no one: see [`Store::snapshot_of`].
    pub(crate) async fn snapshot_of(&self, participant: &str) -> Result<RoomSnapshot> {
        self.store().snapshot_of(&self.id, participant).await
    }

    /// The session of the room's host, read from the store (it moves in a takeover).
    pub(crate) async fn host(&self) -> Result<String> {
        // No participant has an empty id: the room's record alone.
        Ok(self.snapshot_of("").await?.room.host_session_id)
    }

    /// The participants that are connected and announced.
    pub async fn participants(&self) -> Result<Vec<ParticipantInfo>> {
        let snapshot = self.snapshot().await?;
        let announced = snapshot.participants.into_iter().filter(|p| p.is_present());
        Ok(announced.map(|p| p.info).collect())
    }

    /// Sends `payload` to every participant over the room channel; returns its `seq`.
    ///
    /// ```no_run
    /// # async fn run(room: cloudflare_calls::room::Room) -> Result<(), Box<dyn std::error::Error>> {
    /// room.send_message("Hello!").await?;
    /// room.send_message(vec![1u8, 2, 3]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_message(&self, payload: impl Into<Payload>) -> Result<u64> {
        self.append(RoomEvent::Message {
            from: None,
            to: None,
            payload: payload.into(),
        })
        .await
    }

    /// Sends `payload` to one announced participant, on its own channel; returns its `seq`.
    /// A participant that is still joining is [`RoomError::ParticipantNotFound`]: send it
    /// once its `participant_joined` is in [`events`](Self::events).
    pub async fn send_to(&self, participant: &str, payload: impl Into<Payload>) -> Result<u64> {
        let snapshot = self.snapshot_of(participant).await?;
        // Only once announced: the room relays a participant's direct messages from its
        // `participant_joined` on.
        if !snapshot
            .participants
            .iter()
            .any(|p| p.info.id == participant && p.is_present())
        {
            return Err(self.no_participant(participant));
        }
        self.append(RoomEvent::Message {
            from: None,
            to: Some(participant.to_owned()),
            payload: payload.into(),
        })
        .await
    }

    /// The room's events from now on: joins, leaves, tracks, participants' messages. The
    /// stream ends after [`RoomEvent::RoomClosed`].
    ///
    /// ```no_run
    /// # async fn run(room: cloudflare_calls::room::Room) -> Result<(), Box<dyn std::error::Error>> {
    /// use cloudflare_calls::room::RoomEvent;
    /// use futures_util::StreamExt;
    /// let mut events = room.events().await?;
    /// while let Some(update) = events.next().await {
    ///     if let RoomEvent::ParticipantJoined { participant } = update?.event {
    ///         println!("{} joined", participant.identity);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn events(&self) -> Result<EventStream> {
        use futures_util::StreamExt;
        let events = self.store().subscribe(&self.id).await?;
        // Nothing follows RoomClosed, so a loop over the stream ends with the room.
        let events = futures_util::stream::unfold(Some(events), |events| async move {
            let mut events = events?;
            let update = events.next().await?;
            let closed = matches!(&update, Ok(u) if u.event == RoomEvent::RoomClosed);
            Some((update, (!closed).then_some(events)))
        });
        Ok(Box::pin(events))
    }

    /// Removes a participant: its tracks and channels are closed on the SFU, and everyone
    /// is told it was kicked. [`RoomError::ParticipantNotFound`] if it is not in the room.
    pub async fn kick(&self, participant: &str) -> Result<()> {
        match self.remove(participant, LeaveReason::Kicked).await? {
            true => Ok(()),
            false => Err(self.no_participant(participant)),
        }
    }

    /// Closes the room: every participant is removed, its peer leaves the SFU, and joins are
    /// refused from now on. Idempotent.
    pub async fn close(&self) -> Result<()> {
        // Taken first, so the host cannot forget itself before this waits for its peer.
        let host = self.forget_host();
        if let Err(e) = self.shut().await {
            if let Some(host) = host {
                self.shared.hosted().insert(self.id.to_string(), host);
            }
            return Err(e);
        }
        if let Some(host) = host {
            host.stop().await;
        }
        Ok(())
    }

    /// This process's node id, as a host of rooms.
    pub(crate) fn node(&self) -> String {
        self.shared.node()
    }

    /// How long after this process's last beat another may take its rooms.
    pub(crate) fn takeover_after(&self) -> Duration {
        self.shared.takeover_after()
    }

    /// Drops this process's handle on the room's host, if it hosts the room.
    pub(crate) fn forget_host(&self) -> Option<HostHandle> {
        self.shared.hosted().remove(&*self.id)
    }

    /// Lets this process's changes wait for its host to relay them (see [`Room::until_relayed`]).
    pub(crate) fn follow_relay(&self, relayed: Option<watch::Receiver<u64>>) {
        match relayed {
            Some(relayed) => self.shared.relayed().insert(self.id.to_string(), relayed),
            None => self.shared.relayed().remove(&*self.id),
        };
    }

    /// Waits (at most [`RELAY_WAIT`]) until this process's host of the room has relayed the
    /// update `seq` to the room channel; returns at once when another process hosts the room.
    /// A participant's channels are closed only after its removal is relayed, so it learns why
    /// it was removed before its channel closes.
    async fn until_relayed(&self, seq: u64) {
        let relayed = self.shared.relayed().get(&*self.id).cloned();
        if let Some(mut relayed) = relayed {
            let waited = tokio::time::timeout(RELAY_WAIT, relayed.wait_for(|r| *r >= seq)).await;
            if waited.is_err() {
                tracing::warn!(seq, "the room's host did not relay the update in time");
            }
        }
    }

    pub(crate) fn client(&self) -> &Client {
        &self.shared.client
    }

    /// The peers this process's hosts publish their room channels on.
    pub(crate) fn host_peers(&self) -> &HostPeers {
        &self.shared.host_peers
    }

    /// Closes the room in the store: participants removed, `RoomClosed` announced. The
    /// host's task ends when it relays that.
    pub(crate) async fn shut(&self) -> Result<()> {
        let left = self.store().close_room(&self.id).await?;
        for p in left {
            self.remove(&p.info.id, LeaveReason::RoomClosed).await?;
        }
        self.append(RoomEvent::RoomClosed).await?;
        Ok(())
    }

    pub(crate) fn store(&self) -> &dyn Store {
        &*self.shared.store
    }

    pub(crate) async fn append(&self, event: RoomEvent) -> Result<u64> {
        self.store().append(&self.id, event).await
    }

    pub(crate) fn no_participant(&self, id: &str) -> RoomError {
        RoomError::ParticipantNotFound {
            room: self.id.to_string(),
            participant: id.to_owned(),
        }
    }

    /// Runs `f` holding the store's lease on a session.
    ///
    /// Records saved with [`Room::save`] inside `f` are fenced by the lease: if it expired
    /// meanwhile, they are refused rather than overwriting another holder's.
    pub(crate) async fn leased<T, E>(
        &self,
        session_id: &str,
        f: impl Future<Output = Result<T, E>>,
    ) -> Result<T>
    where
        RoomError: From<E>,
    {
        let store = self.store();
        let ttl = match store.renews_leases() {
            true => RENEWED_LEASE,
            false => LEASE,
        };
        let lease = store.lease(&self.id, session_id, ttl).await?;
        let held = Held {
            store: self.shared.store.clone(),
            lease: Some(lease.clone()),
        };
        let work = FENCE.scope(lease.clone(), f);
        let result = match store.renews_leases() {
            true => renewing(store, &lease, ttl, work).await,
            false => work.await,
        };
        let result = result.map_err(RoomError::from);
        held.keep();
        self.store().release(lease).await?;
        result
    }

    /// Saves a participant's record, fenced by the lease of [`Room::leased`] when inside one.
    pub(crate) async fn save(&self, record: ParticipantRecord) -> Result<()> {
        let fence = FENCE.try_with(Lease::clone).ok();

        match &fence {
            Some(fence) if fence.key == record.info.session_id => {
                self.store().update_fenced(&self.id, record, fence).await
            }
            _ => self.store().update_participant(&self.id, record).await,
        }
    }

    /// Announces a participant's tracks published or unpublished, in one event.
    pub(crate) async fn announce_tracks(
        &self,
        participant: &str,
        tracks: &[TrackInfo],
        published: bool,
    ) -> Result<()> {
        if tracks.is_empty() {
            return Ok(());
        }
        let (participant, tracks) = (participant.to_owned(), tracks.to_vec());
        let event = if published {
            RoomEvent::TracksPublished {
                participant,
                tracks,
            }
        } else {
            RoomEvent::TracksUnpublished {
                participant,
                tracks,
            }
        };
        self.append(event).await.map(drop)
    }

    /// Takes a participant out of the room and closes what it opened on the SFU. `false` if
    /// it was not there.
    ///
    /// All of it happens under the lease on the participant's session: a change of the
    /// participant in flight (a publish, say) finishes first, so its events come before the
    /// participant's last ones and what it opened is in the record closed here; a change that
    /// starts later finds the participant gone.
    pub(crate) async fn remove(&self, id: &str, reason: LeaveReason) -> Result<bool> {
        let snapshot = self.snapshot_of(id).await?;
        let Some(known) = snapshot.participants.iter().find(|p| p.info.id == id) else {
            return Ok(false);
        };
        let session_id = known.info.session_id.clone();
        self.leased(&session_id, self.remove_leased(id, reason))
            .await
    }

    /// [`Room::remove`] for a caller that holds the lease on the participant's session.
    ///
    /// The record is marked [`leaving`](ParticipantRecord::leaving) before anything else, and
    /// taken out of the store last: a process that dies in between leaves the mark, and the
    /// room's host finishes the removal once the lease lapses.
    pub(crate) async fn remove_leased(&self, id: &str, reason: LeaveReason) -> Result<bool> {
        let snapshot = self.snapshot_of(id).await?;
        let Some(mut record) = snapshot.participants.into_iter().find(|p| p.info.id == id) else {
            return Ok(false);
        };
        let (reason, announce) = match &record.leaving {
            // Begun by a process that died: announced already if its `participant_left` is
            // in the log.
            Some(leaving) => {
                let reason = leaving.reason.clone();
                (
                    reason,
                    record.announced && !self.left_after(id, leaving.after).await?,
                )
            }
            None => {
                record.leaving = Some(Leaving {
                    reason: reason.clone(),
                    after: snapshot.seq,
                });
                self.save(record.clone()).await?;
                (reason, record.announced)
            }
        };
        if announce {
            let tracks: Vec<TrackInfo> = record.published.iter().map(|(_, t)| t.clone()).collect();
            self.announce_tracks(id, &tracks, false).await?;
            let left = RoomEvent::ParticipantLeft {
                participant: record.info.clone(),
                reason: reason.clone(),
            };
            let seq = self.append(left).await?;
            // An expired participant cannot hear it, and one that left knows; the host itself
            // removes expired ones, so it must not wait for itself.
            if matches!(reason, LeaveReason::Kicked | LeaveReason::RoomClosed) {
                self.until_relayed(seq).await;
            }
        }
        self.close_on_sfu(&record).await?;
        self.store().remove_participant(&self.id, id).await?;
        metrics::count(metrics::ROOM_LEAVES, &[("reason", reason.label())], 1);
        Ok(true)
    }

    /// Whether the log has `participant`'s `participant_left` after `seq`.
    async fn left_after(&self, participant: &str, seq: u64) -> Result<bool> {
        let updates = self.store().updates_after(&self.id, seq).await?;
        Ok(updates.iter().any(|u| {
            matches!(&u.event, RoomEvent::ParticipantLeft { participant: p, .. } if p.id == participant)
        }))
    }

    /// Closes a participant's tracks and channels; a session already gone counts as closed.
    /// The calls are repeated while they fail transiently; a removal that still fails keeps
    /// its record marked, and the room's host tries again at its next health check.
    async fn close_on_sfu(&self, record: &ParticipantRecord) -> Result<()> {
        let session = self.client().session(&record.info.session_id);
        let mids = record.mids();
        let gone = |r: Result<()>| match r {
            Err(e) if e.api().is_some_and(Error::is_session_gone) => Ok(()),
            other => other,
        };
        if !mids.is_empty() {
            let closed = persist(|| session.close_tracks(mids.clone(), CloseMode::Force).send());
            gone(closed.await.map(drop))?;
        }
        if record.channels {
            let host = self.host().await?;
            let closed = persist(|| {
                session
                    .close_data_channels()
                    .channel(DataChannel::publish(PARTICIPANT_CHANNEL))
                    .channel(DataChannel::subscribe(&host, room_channel(&self.id)))
                    .send()
            });
            gone(closed.await.map(drop))?;
        }
        Ok(())
    }
}

/// Runs `work`, renewing `lease` for `ttl` every third of it. A lease found lapsed is not
/// renewed again: the work's fenced writes are refused from then on.
async fn renewing<T>(
    store: &dyn Store,
    lease: &Lease,
    ttl: Duration,
    work: impl Future<Output = T>,
) -> T {
    let keep = async {
        loop {
            tokio::time::sleep(ttl / 3).await;
            match store.renew(lease, ttl).await {
                Ok(true) => {}
                Ok(false) => return,
                // The next renewal may get through before the lease lapses.
                Err(e) => {
                    tracing::warn!(session = %lease.key, error = %e, "could not renew a lease")
                }
            }
        }
    };
    tokio::pin!(work, keep);
    tokio::select! {
        done = &mut work => done,
        () = keep => {
            tracing::warn!(session = %lease.key, "a lease lapsed while its change went on");
            work.await
        }
    }
}

/// A lease held by a [`Room::leased`] call, given back if the call is dropped before it
/// finishes (a caller's timeout, an HTTP client gone), so the session's next change does not
/// wait for the lease to lapse.
struct Held {
    store: Arc<dyn Store>,
    lease: Option<Lease>,
}

impl Held {
    /// The call finished: it gives the lease back itself.
    fn keep(mut self) {
        self.lease = None;
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let (Some(lease), Ok(runtime)) = (self.lease.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let store = self.store.clone();
        runtime.spawn(async move {
            if let Err(e) = store.release(lease).await {
                tracing::debug!(error = %e, "giving back the lease of a cancelled change");
            }
        });
    }
}

/// Whether a cleanup call may succeed if sent again: closing is safe to repeat, so a call
/// whose outcome is unknown is sent again too.
fn transient(e: &Error) -> bool {
    e.is_retryable() || e.is_outcome_unknown()
}

/// Sends a cleanup call again while it fails transiently (a 503, a 429 beyond the client's
/// retries, a timeout), up to [`CLEANUP_ATTEMPTS`] times with a growing pause. Closing tracks
/// (forced) and channels is safe to repeat: what is closed already counts as closed.
pub(crate) async fn persist<T, E, F>(mut call: impl FnMut() -> F) -> Result<T>
where
    F: Future<Output = Result<T, E>>,
    RoomError: From<E>,
{
    let mut pause = Duration::from_millis(100);
    let mut attempt = 1;
    loop {
        match call().await.map_err(RoomError::from) {
            Err(e) if e.api().is_some_and(transient) && attempt < CLEANUP_ATTEMPTS => {
                tracing::debug!(error = %e, attempt, "repeating a cleanup call");
                tokio::time::sleep(pause).await;
                pause *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Closes (forced) every track the SFU has in `session` but `listed`, and with `channels`
/// every data channel it has open; what is closed already counts as closed.
pub(super) async fn close_unlisted(
    session: &Session,
    listed: &[String],
    channels: bool,
) -> Result<()> {
    let state = session.state().await?;
    let stray: Vec<String> = state
        .tracks
        .into_iter()
        .filter_map(|t| t.mid)
        .filter(|mid| !listed.contains(mid))
        .collect();
    if !stray.is_empty() {
        persist(|| session.close_tracks(stray.clone(), CloseMode::Force).send()).await?;
    }
    let open: Vec<DataChannel> = state
        .data_channels
        .into_iter()
        .filter(|c| channels && c.status != Some(ResourceStatus::Inactive))
        .filter_map(|c| match (c.location, c.session_id, c.name) {
            (Some(Location::Remote), Some(from), Some(name)) => {
                Some(DataChannel::subscribe(from, name))
            }
            (_, _, Some(name)) => Some(DataChannel::publish(name)),
            _ => None,
        })
        .collect();
    if !open.is_empty() {
        persist(|| {
            let close = open.iter().cloned();
            close
                .fold(session.close_data_channels(), |call, c| call.channel(c))
                .send()
        })
        .await?;
    }
    Ok(())
}
