//! [`Store`]: where room state lives, so that any backend process can serve any room.
//!
//! The room logic keeps nothing in memory that another process would need: rooms,
//! participants and their tracks are records in the store, events are appended to the
//! store's ordered log and read back from it, and a change to a participant's SFU session is
//! made under the store's lease on that session. [`MemoryStore`](super::MemoryStore) keeps
//! all of it in one process.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::room::error::RoomError;
use crate::room::event::{LeaveReason, ParticipantInfo, RoomEvent, RoomUpdate, TrackInfo};

/// The future a [`Store`] method returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, RoomError>> + Send + 'a>>;

/// A room's events in order, from the moment of subscribing.
pub type EventStream =
    Pin<Box<dyn futures_core::Stream<Item = Result<RoomUpdate, RoomError>> + Send>>;

/// A room's settings and state, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RoomRecord {
    /// The room's id.
    pub id: String,
    /// At most this many participants at once (`None`: no limit).
    pub max_participants: Option<u32>,
    /// An empty room closes after this long.
    pub empty_timeout: Duration,
    /// The app's data about the room.
    pub metadata: Option<String>,
    /// The session of the room's own peer, which publishes the room channel.
    pub host_session_id: String,
    /// The backend process that hosts the room (see [`Store::beat`]); empty in records
    /// stored before hosting could move.
    #[serde(default)]
    pub host_node: String,
    /// Closed rooms refuse joins; their records stay until the store expires them.
    pub closed: bool,
    /// The room closes when its broadcaster leaves (a WHIP stream's room does), whichever
    /// process hosts it then.
    #[serde(default)]
    pub ends_with_broadcaster: bool,
    /// How often the host checks participants' sessions and the empty timeout.
    #[serde(default = "default_health_interval")]
    pub health_interval: Duration,
}

/// How often a room's host checks its health unless the room says otherwise.
pub(crate) const HEALTH_INTERVAL: Duration = Duration::from_secs(5);

fn default_health_interval() -> Duration {
    HEALTH_INTERVAL
}

/// A participant, as stored: what the room announced, and what it opened on the SFU.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ParticipantRecord {
    /// What the room announces.
    pub info: ParticipantInfo,
    /// The tracks it publishes, by the mid they have in its session.
    pub published: Vec<(String, TrackInfo)>,
    /// The mids of the tracks it pulled.
    pub pulled: Vec<String>,
    /// Whether it was announced to the room.
    pub announced: bool,
    /// Whether its room channels are open on the SFU (an endpoint with no data channels, such
    /// as a WHIP encoder, is announced without them).
    #[serde(default)]
    pub channels: bool,
    /// When its join took the place, in milliseconds since the Unix epoch (0: not known). A
    /// join that never got to make a session (its process died, or it was cancelled) is
    /// removed once this is long past.
    #[serde(default)]
    pub reserved_at: u64,
    /// Set once its removal began: the removal is finished (announced once, closed on the
    /// SFU, taken out of the store) by whoever finds it here, should the process removing it
    /// die first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaving: Option<Leaving>,
}

/// A participant's removal under way: see [`ParticipantRecord::leaving`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Leaving {
    /// Why it is removed.
    pub reason: LeaveReason,
    /// The room's `seq` when the removal began: its `participant_left` comes after.
    pub after: u64,
}

impl Leaving {
    /// A removal for `reason`, begun when the room's `seq` was `after`.
    pub fn new(reason: LeaveReason, after: u64) -> Self {
        Self { reason, after }
    }
}

impl ParticipantRecord {
    /// Whether the room counts it in: announced, and not being removed.
    pub fn is_present(&self) -> bool {
        self.announced && self.leaving.is_none()
    }

    /// Whether a join pulls from it: present, with tracks published.
    pub fn publishes(&self) -> bool {
        self.is_present() && !self.published.is_empty()
    }

    /// Every mid open in its session.
    pub fn mids(&self) -> Vec<String> {
        let published = self.published.iter().map(|(mid, _)| mid.clone());
        published.chain(self.pulled.iter().cloned()).collect()
    }
}

/// A consistent view of a room: the participants after the room's first `seq` events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RoomSnapshot {
    /// The room.
    pub room: RoomRecord,
    /// The number of the last event this view includes.
    pub seq: u64,
    /// Every participant, announced or still joining.
    pub participants: Vec<ParticipantRecord>,
}

/// The right to change one SFU session; the store hands it to one holder at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Lease {
    /// The room of the session.
    pub room: String,
    /// The session it locks.
    pub key: String,
    /// Increases with every grant of the key: a holder whose lease expired and was granted
    /// again can be told apart by it.
    pub token: u64,
}

/// Room state shared by every backend process that serves the room.
///
/// Each method is one atomic step: `add_participant` checks capacity, identity and the
/// room's state and inserts in one go; `append` numbers events without gaps.
///
/// A store that wraps another (to count or time its calls, say) forwards every method, the
/// ones with a default too: a default answers correctly but without what the inner store
/// does better (`snapshot_of` reads the whole room, leases are not renewed, rooms never move).
pub trait Store: Send + Sync + 'static {
    /// Stores a new room; [`RoomError::RoomExists`] if the id is taken. The id of a room
    /// whose closing finished (its `RoomClosed` was appended) may be used again: the new
    /// room starts with no participants, and its events continue the old log's `seq`.
    fn create_room(&self, room: RoomRecord) -> StoreFuture<'_, ()>;
    /// Marks a room closed and returns the participants still in it. Idempotent.
    fn close_room(&self, room: &str) -> StoreFuture<'_, Vec<ParticipantRecord>>;
    /// The room and its participants, with the `seq` they reflect.
    fn snapshot(&self, room: &str) -> StoreFuture<'_, RoomSnapshot>;
    /// The room's snapshot with only `participant` in it (or no one, once it is gone): what
    /// an operation on one participant reads, a leave or a direct message, at a cost that does
    /// not grow with the room. Stores that keep the default read every participant.
    fn snapshot_of(&self, room: &str, participant: &str) -> StoreFuture<'_, RoomSnapshot> {
        let (whole, participant) = (self.snapshot(room), participant.to_owned());
        Box::pin(async move {
            let mut snapshot = whole.await?;
            snapshot.participants.retain(|p| p.info.id == participant);
            Ok(snapshot)
        })
    }
    /// Adds a participant and returns the room's publishers then: every participant for
    /// which [`ParticipantRecord::publishes`] holds. A join pulls their tracks, so it reads
    /// them in the same round trip, and reads no more of a room than it pulls (a viewer in a
    /// webinar of 1,000 reads the one broadcaster). Refuses with [`RoomError::RoomFull`],
    /// [`RoomError::IdentityTaken`], [`RoomError::BroadcastTaken`] or
    /// [`RoomError::RoomClosed`].
    fn add_participant(
        &self,
        room: &str,
        participant: ParticipantRecord,
    ) -> StoreFuture<'_, Vec<ParticipantRecord>>;
    /// Replaces a participant's record; [`RoomError::ParticipantNotFound`] if it is gone.
    fn update_participant(&self, room: &str, participant: ParticipantRecord)
    -> StoreFuture<'_, ()>;
    /// Replaces a participant's record only while `fence` is still the lease on its session:
    /// [`RoomError::LeaseLost`] if the lease expired (and may be someone else's now). Stores
    /// that cannot check it atomically keep the default, which does not.
    fn update_fenced(
        &self,
        room: &str,
        participant: ParticipantRecord,
        fence: &Lease,
    ) -> StoreFuture<'_, ()> {
        let _ = fence;
        self.update_participant(room, participant)
    }
    /// Removes a participant and returns its record; `None` if it was already gone.
    fn remove_participant(
        &self,
        room: &str,
        participant: &str,
    ) -> StoreFuture<'_, Option<ParticipantRecord>>;
    /// Appends an event to the room's log and returns its `seq`. Appending
    /// [`RoomEvent::RoomClosed`] ends the room: its id may be used again.
    fn append(&self, room: &str, event: RoomEvent) -> StoreFuture<'_, u64>;
    /// The room's events from now on, in order.
    fn subscribe(&self, room: &str) -> StoreFuture<'_, EventStream>;
    /// Waits for, then takes, the lease on `session` of `room` for at most `ttl`.
    fn lease(&self, room: &str, session: &str, ttl: Duration) -> StoreFuture<'_, Lease>;
    /// Gives a lease back early; a lease that expired meanwhile is left alone.
    fn release(&self, lease: Lease) -> StoreFuture<'_, ()>;
    /// Whether [`renew`](Self::renew) can extend a lease. A room takes a renewable lease for a
    /// few seconds and renews it while it works, so a process that dies holding one holds up
    /// the session for those seconds only; other leases are taken for the longest change.
    fn renews_leases(&self) -> bool {
        false
    }
    /// Extends `lease` to `ttl` from now if it still holds; `false` if it lapsed (and may be
    /// someone else's now). The default cannot: see [`renews_leases`](Self::renews_leases).
    fn renew(&self, lease: &Lease, ttl: Duration) -> StoreFuture<'_, bool> {
        let _ = (lease, ttl);
        Box::pin(std::future::ready(Ok(false)))
    }

    // Hosting that moves between processes. A store that keeps the default of these methods
    // never moves a room: its rooms live as long as the process that hosts them.

    /// Says that `node` (a backend process) is alive for another `ttl`. `false` when the
    /// node had been taken for dead and its rooms given to others: it must stop hosting them.
    fn beat(&self, node: &str, ttl: Duration) -> StoreFuture<'_, bool> {
        let _ = (node, ttl);
        Box::pin(std::future::ready(Ok(true)))
    }
    /// Records that `node` hosts `room` (or, `hosting` false, no longer does), so that the
    /// room goes to another node when this one's beat lapses.
    fn hosts(&self, node: &str, room: &str, hosting: bool) -> StoreFuture<'_, ()> {
        let _ = (node, room, hosting);
        Box::pin(std::future::ready(Ok(())))
    }
    /// Takes, for `node`, the rooms of the nodes whose beat lapsed: each lapsed node's rooms
    /// go to one caller only, and to another if that caller dies before it has them. The
    /// caller is then to take each room over ([`Store::set_host`]).
    fn take_lapsed(&self, node: &str) -> StoreFuture<'_, Vec<String>> {
        let _ = node;
        Box::pin(std::future::ready(Ok(Vec::new())))
    }
    /// Makes `node`, with its session `host_session_id`, the room's host, if its host is still
    /// `from` and `from` was taken for dead (or is `node`). `false` if not (someone else took
    /// it over already, or its host is alive), or the room is gone or closed.
    fn set_host(
        &self,
        room: &str,
        from: &str,
        node: &str,
        host_session_id: &str,
    ) -> StoreFuture<'_, bool> {
        let _ = (room, from, node, host_session_id);
        Box::pin(std::future::ready(Ok(false)))
    }
    /// The room's updates after `seq`, as far as the log still holds them, in order.
    fn updates_after(&self, room: &str, seq: u64) -> StoreFuture<'_, Vec<RoomUpdate>> {
        let _ = (room, seq);
        Box::pin(std::future::ready(Ok(Vec::new())))
    }
    /// For a node that shuts down: lets its beat lapse now, so that another node takes its
    /// rooms at once. `false`, and nothing changes, when no other node is alive to take them.
    fn hand_over(&self, node: &str) -> StoreFuture<'_, bool> {
        let _ = node;
        Box::pin(std::future::ready(Ok(false)))
    }
}

/// A shared store: the app can keep a handle on the store it gives [`Client::rooms`](crate::Client::rooms).
impl<S: Store> Store for std::sync::Arc<S> {
    fn create_room(&self, room: RoomRecord) -> StoreFuture<'_, ()> {
        (**self).create_room(room)
    }
    fn close_room(&self, room: &str) -> StoreFuture<'_, Vec<ParticipantRecord>> {
        (**self).close_room(room)
    }
    fn snapshot(&self, room: &str) -> StoreFuture<'_, RoomSnapshot> {
        (**self).snapshot(room)
    }
    fn snapshot_of(&self, room: &str, participant: &str) -> StoreFuture<'_, RoomSnapshot> {
        (**self).snapshot_of(room, participant)
    }
    fn add_participant(
        &self,
        room: &str,
        participant: ParticipantRecord,
    ) -> StoreFuture<'_, Vec<ParticipantRecord>> {
        (**self).add_participant(room, participant)
    }
    fn update_participant(
        &self,
        room: &str,
        participant: ParticipantRecord,
    ) -> StoreFuture<'_, ()> {
        (**self).update_participant(room, participant)
    }
    fn remove_participant(
        &self,
        room: &str,
        participant: &str,
    ) -> StoreFuture<'_, Option<ParticipantRecord>> {
        (**self).remove_participant(room, participant)
    }
    fn append(&self, room: &str, event: RoomEvent) -> StoreFuture<'_, u64> {
        (**self).append(room, event)
    }
    fn subscribe(&self, room: &str) -> StoreFuture<'_, EventStream> {
        (**self).subscribe(room)
    }
    fn update_fenced(
        &self,
        room: &str,
        participant: ParticipantRecord,
        fence: &Lease,
    ) -> StoreFuture<'_, ()> {
        (**self).update_fenced(room, participant, fence)
    }
    fn lease(&self, room: &str, session: &str, ttl: Duration) -> StoreFuture<'_, Lease> {
        (**self).lease(room, session, ttl)
    }
    fn release(&self, lease: Lease) -> StoreFuture<'_, ()> {
        (**self).release(lease)
    }
    fn renews_leases(&self) -> bool {
        (**self).renews_leases()
    }
    fn renew(&self, lease: &Lease, ttl: Duration) -> StoreFuture<'_, bool> {
        (**self).renew(lease, ttl)
    }
    fn beat(&self, node: &str, ttl: Duration) -> StoreFuture<'_, bool> {
        (**self).beat(node, ttl)
    }
    fn hosts(&self, node: &str, room: &str, hosting: bool) -> StoreFuture<'_, ()> {
        (**self).hosts(node, room, hosting)
    }
    fn take_lapsed(&self, node: &str) -> StoreFuture<'_, Vec<String>> {
        (**self).take_lapsed(node)
    }
    fn set_host(
        &self,
        room: &str,
        from: &str,
        node: &str,
        host_session_id: &str,
    ) -> StoreFuture<'_, bool> {
        (**self).set_host(room, from, node, host_session_id)
    }
    fn updates_after(&self, room: &str, seq: u64) -> StoreFuture<'_, Vec<RoomUpdate>> {
        (**self).updates_after(room, seq)
    }
    fn hand_over(&self, node: &str) -> StoreFuture<'_, bool> {
        (**self).hand_over(node)
    }
}
