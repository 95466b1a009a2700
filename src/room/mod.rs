//! Rooms: participants, their tracks and a data channel to all of them, on top of sessions
//! (feature `room`).
//!
//! A room has participants; each participant is one SFU session, in a browser or anywhere
//! else. Every track a participant publishes is registered in the room and pulled by the
//! others. The room's own server-side [`Peer`](crate::Peer) publishes the room channel, on
//! which every participant receives the room's [`RoomUpdate`]s as JSON, and each participant
//! publishes a channel of its own, on which the server reads its messages and sends it
//! direct ones. Room state lives in a [`Store`]: [`MemoryStore`] for one backend process.
//!
//! ```no_run
//! # async fn run() -> cloudflare_calls::Result<()> {
//! use cloudflare_calls::room::MemoryStore;
//! use cloudflare_calls::{Client, Config, Offer};
//!
//! let client = Client::new(Config::from_env()?)?;
//! let rooms = client.rooms(MemoryStore::new());
//! let room = rooms.create().max_participants(8).send().await?;
//! # let sdp = String::new();
//! let joining = room.join("alice").offer(Offer::new(sdp)).send().await?;
//! // Give the browser `joining.answer`, then the SFU's offer in `joining.negotiation`;
//! // its answer goes to `joining.participant.renegotiate(..)`.
//! room.send_message("Hello!").await?;
//! # Ok(()) }
//! ```
//!
//! The process that creates a room hosts it: it runs the room's peer, relays the store's
//! events to the room channel, removes participants whose sessions died and closes the room
//! when it has been empty for its timeout.

mod error;
mod event;
mod host;
pub(crate) mod ids;
mod join;
mod participant;
mod room_peer;
pub(crate) mod store;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use error::{Result, RoomError};
pub use event::{
    LeaveReason, PROTOCOL_VERSION, ParticipantInfo, Payload, Role, RoomEvent, RoomUpdate,
    TrackInfo, room_update_schema,
};
pub use join::{Join, Joining};
pub use participant::{Participant, ParticipantView, PulledTrack, RoomChannels};
pub use room_peer::RoomPeer;
pub use store::MemoryStore;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use store::RedisStore;
pub use store::{
    EventStream, Lease, ParticipantRecord, RoomRecord, RoomSnapshot, Store, StoreFuture,
};

use crate::client::Client;
use crate::error::Error;
use crate::session::data_channels::DataChannel;
use crate::session::description::Offer;
use crate::session::tracks::CloseMode;

/// The name of the channel the room's peer publishes to every participant.
pub const ROOM_CHANNEL: &str = "room";
/// The name of the channel each participant publishes to the server.
pub const PARTICIPANT_CHANNEL: &str = "participant";

const EMPTY_TIMEOUT: Duration = Duration::from_secs(300);
const HEALTH_INTERVAL: Duration = Duration::from_secs(5);
/// How long one process may hold a session's lease before another may take it.
const LEASE: Duration = Duration::from_secs(30);
/// How many times a cleanup call (closing what a participant opened) is sent while it fails
/// transiently; see [`persist`].
const CLEANUP_ATTEMPTS: u32 = 5;

tokio::task_local! {
    /// The lease of the session being changed, for fencing the records saved meanwhile.
    static FENCE: Lease;
}

/// The rooms of one store: creates and opens [`Room`]s. Made by [`Client::rooms`].
#[derive(Clone)]
pub struct Rooms {
    inner: Arc<RoomsInner>,
}

struct RoomsInner {
    client: Client,
    store: Arc<dyn Store>,
    hosted: Mutex<HashMap<String, host::HostHandle>>,
}

impl std::fmt::Debug for Rooms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rooms").finish_non_exhaustive()
    }
}

impl Rooms {
    pub(crate) fn new(client: Client, store: impl Store) -> Self {
        Self {
            inner: Arc::new(RoomsInner {
                client,
                store: Arc::new(store),
                hosted: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Starts creating a room; this process hosts it.
    ///
    /// ```no_run
    /// # async fn run(rooms: cloudflare_calls::room::Rooms) -> cloudflare_calls::Result<()> {
    /// use std::time::Duration;
    /// let room = rooms
    ///     .create()
    ///     .id("standup")
    ///     .max_participants(12)
    ///     .empty_timeout(Duration::from_secs(60))
    ///     .metadata(r#"{"topic":"standup"}"#)
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn create(&self) -> CreateRoom {
        CreateRoom {
            rooms: self.clone(),
            id: None,
            max_participants: None,
            empty_timeout: EMPTY_TIMEOUT,
            metadata: None,
            health_interval: HEALTH_INTERVAL,
        }
    }

    /// Opens an existing room by id: [`RoomError::RoomNotFound`] or
    /// [`RoomError::RoomClosed`] if it cannot be joined.
    pub async fn open(&self, id: &str) -> Result<Room> {
        let snapshot = self.inner.store.snapshot(id).await?;
        if snapshot.room.closed {
            return Err(RoomError::RoomClosed(id.to_owned()).into());
        }
        Ok(Room {
            rooms: self.clone(),
            id: id.into(),
        })
    }

    /// The store the rooms live in.
    pub fn store(&self) -> &dyn Store {
        &*self.inner.store
    }

    pub(crate) fn client(&self) -> &Client {
        &self.inner.client
    }
}

/// Builder for a new room; see [`Rooms::create`].
#[must_use = "a builder does nothing until .send() is awaited"]
#[derive(Debug)]
pub struct CreateRoom {
    rooms: Rooms,
    id: Option<String>,
    max_participants: Option<u32>,
    empty_timeout: Duration,
    metadata: Option<String>,
    health_interval: Duration,
}

impl CreateRoom {
    /// The room's id; a random one by default.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// At most this many participants at once; no limit by default.
    pub fn max_participants(mut self, max: u32) -> Self {
        self.max_participants = Some(max);
        self
    }

    /// How long the room may stay empty before it closes; 5 minutes by default.
    pub fn empty_timeout(mut self, timeout: Duration) -> Self {
        self.empty_timeout = timeout;
        self
    }

    /// The app's data about the room.
    pub fn metadata(mut self, metadata: impl Into<String>) -> Self {
        self.metadata = Some(metadata.into());
        self
    }

    /// How often the host checks participants' sessions and the empty timeout; 5 s by
    /// default.
    pub fn health_interval(mut self, interval: Duration) -> Self {
        self.health_interval = interval;
        self
    }

    /// Creates the room: its peer connects to the SFU and publishes the room channel.
    pub async fn send(self) -> Result<Room> {
        if self.health_interval.is_zero() {
            return Err(
                Error::InvalidArgument("a room's health interval must not be zero".into()).into(),
            );
        }
        let id = self.id.unwrap_or_else(|| ids::random("room"));
        let room = Room {
            rooms: self.rooms.clone(),
            id: id.as_str().into(),
        };
        let settings = host::Settings {
            max_participants: self.max_participants,
            empty_timeout: self.empty_timeout,
            metadata: self.metadata,
            health_interval: self.health_interval,
        };
        let handle = host::start(room.clone(), settings).await?;
        self.rooms
            .inner
            .hosted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, handle);
        Ok(room)
    }
}

/// A room: every room entry point. Cheap to clone; any process with the room's store can
/// open one with [`Rooms::open`].
#[derive(Clone)]
pub struct Room {
    rooms: Rooms,
    id: Arc<str>,
}

impl std::fmt::Debug for Room {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Room").field("id", &self.id).finish()
    }
}

impl Room {
    /// The room's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The room's record and participants, with the `seq` of the last event they include.
    pub async fn snapshot(&self) -> Result<RoomSnapshot> {
        Ok(self.store().snapshot(&self.id).await?)
    }

    /// The participants that are connected and announced.
    pub async fn participants(&self) -> Result<Vec<ParticipantInfo>> {
        let snapshot = self.snapshot().await?;
        let announced = snapshot.participants.into_iter().filter(|p| p.announced);
        Ok(announced.map(|p| p.info).collect())
    }

    /// Starts a join: the participant's session is created, the tracks of its offer pushed,
    /// the room's tracks pulled. See [`Join`].
    ///
    /// ```no_run
    /// # async fn run(room: cloudflare_calls::room::Room, sdp: String) -> cloudflare_calls::Result<()> {
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

    /// A handle to a participant by id.
    pub async fn participant(&self, id: &str) -> Result<Participant> {
        let snapshot = self.snapshot().await?;
        match snapshot.participants.into_iter().find(|p| p.info.id == id) {
            Some(p) => Ok(Participant::new(self.clone(), p.info)),
            None => Err(self.no_participant(id)),
        }
    }

    /// Sends `payload` to every participant over the room channel; returns its `seq`.
    ///
    /// ```no_run
    /// # async fn run(room: cloudflare_calls::room::Room) -> cloudflare_calls::Result<()> {
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

    /// Sends `payload` to one participant, on its own channel; returns its `seq`.
    pub async fn send_to(&self, participant: &str, payload: impl Into<Payload>) -> Result<u64> {
        self.participant(participant).await?;
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
    /// # async fn run(room: cloudflare_calls::room::Room) -> cloudflare_calls::Result<()> {
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
                self.hosted().insert(self.id.to_string(), host);
            }
            return Err(e);
        }
        if let Some(host) = host {
            host.stop().await;
        }
        Ok(())
    }

    fn hosted(&self) -> std::sync::MutexGuard<'_, HashMap<String, host::HostHandle>> {
        self.rooms
            .inner
            .hosted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Drops this process's handle on the room's host, if it hosts the room.
    fn forget_host(&self) -> Option<host::HostHandle> {
        self.hosted().remove(&*self.id)
    }

    pub(crate) fn client(&self) -> &Client {
        self.rooms.client()
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
        self.rooms.store()
    }

    pub(crate) async fn append(&self, event: RoomEvent) -> Result<u64> {
        Ok(self.store().append(&self.id, event).await?)
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
        let lease = self.store().lease(&self.id, session_id, LEASE).await?;
        let result = FENCE.scope(lease.clone(), f).await.map_err(RoomError::from);
        self.store().release(lease).await?;
        result
    }

    /// Saves a participant's record, fenced by the lease of [`Room::leased`] when inside one.
    pub(crate) async fn save(&self, record: ParticipantRecord) -> Result<()> {
        let fence = FENCE.try_with(Lease::clone).ok();
        let saved = match &fence {
            Some(fence) if fence.key == record.info.session_id => {
                self.store().update_fenced(&self.id, record, fence).await
            }
            _ => self.store().update_participant(&self.id, record).await,
        };
        Ok(saved?)
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
        let snapshot = self.snapshot().await?;
        let Some(known) = snapshot.participants.iter().find(|p| p.info.id == id) else {
            return Ok(false);
        };
        let session_id = known.info.session_id.clone();
        self.leased(&session_id, self.remove_leased(id, reason))
            .await
    }

    /// [`Room::remove`] for a caller that holds the lease on the participant's session.
    pub(crate) async fn remove_leased(&self, id: &str, reason: LeaveReason) -> Result<bool> {
        let Some(record) = self.store().remove_participant(&self.id, id).await? else {
            return Ok(false);
        };
        if record.announced {
            let tracks: Vec<TrackInfo> = record.published.iter().map(|(_, t)| t.clone()).collect();
            self.announce_tracks(id, &tracks, false).await?;
            self.append(RoomEvent::ParticipantLeft {
                participant: record.info.clone(),
                reason,
            })
            .await?;
        }
        self.close_on_sfu(&record).await?;
        Ok(true)
    }

    /// Closes a participant's tracks and channels; a session already gone counts as closed.
    /// The participant is out of the store already, so the calls are repeated while they fail
    /// transiently rather than leave its tracks open with nobody to close them.
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
            let host = self.snapshot().await?.room.host_session_id;
            let closed = persist(|| {
                session
                    .close_data_channels()
                    .channel(DataChannel::publish(PARTICIPANT_CHANNEL))
                    .channel(DataChannel::subscribe(&host, ROOM_CHANNEL))
                    .send()
            });
            gone(closed.await.map(drop))?;
        }
        Ok(())
    }
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
            Err(e) if e.api().is_some_and(Error::is_retryable) && attempt < CLEANUP_ATTEMPTS => {
                tracing::debug!(error = %e, attempt, "repeating a cleanup call");
                tokio::time::sleep(pause).await;
                pause *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}

// `Client` hands out rooms without naming this layer.
impl Client {
    /// The rooms kept in `store`: create one, or open one by id (feature `room`).
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// use cloudflare_calls::room::MemoryStore;
    /// let rooms = client.rooms(MemoryStore::new());
    /// let room = rooms.create().send().await?;
    /// room.send_message("Hello!").await?;
    /// # Ok(()) }
    /// ```
    pub fn rooms(&self, store: impl Store) -> Rooms {
        Rooms::new(self.clone(), store)
    }
}
