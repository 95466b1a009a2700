//! [`Rooms`]: the rooms of one store, which creates (and hosts) and opens [`Room`]s.

use std::sync::Arc;
use std::time::Duration;

use super::error::{Result, RoomError};
use super::host;
use super::ids;
use super::node;
use super::room::Room;
use super::shared::Shared;
use super::store::{HEALTH_INTERVAL, Metered, RoomRecord, Store};
use crate::client::Client;
use crate::error::Error;

const EMPTY_TIMEOUT: Duration = Duration::from_secs(300);

/// The rooms of one store: creates and opens [`Room`]s. Made by [`Client::rooms`].
#[derive(Clone)]
pub struct Rooms {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Rooms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rooms").finish_non_exhaustive()
    }
}

impl Rooms {
    pub(crate) fn new(client: Client, store: impl Store) -> Self {
        let shared = Shared::new(client, Arc::new(Metered(store)));
        node::start(&shared);
        Self { shared }
    }

    /// How long after this process stops beating (killed, hung, or cut off from the store)
    /// another process takes its rooms over; 5 s by default. Only a store shared by processes
    /// moves rooms (`RedisStore` does). Every process that serves rooms from a store takes
    /// over the rooms of processes that stopped; they should all be given the same value.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use cloudflare_calls::room::MemoryStore;
    /// let rooms = client.rooms(MemoryStore::new()).takeover_after(Duration::from_secs(3));
    /// # Ok(()) }
    /// ```
    pub fn takeover_after(self, after: Duration) -> Self {
        *self
            .shared
            .takeover_after
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = after.max(Duration::from_millis(100));
        self
    }

    /// Makes this process one that never takes rooms over from others, nor counts as alive for
    /// a [`shutdown`](Self::shutdown) to hand its rooms to: a process that only serves the
    /// room API beside processes that host, say. It still hosts the rooms it creates, until
    /// it shuts down. By default, every process takes over.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use cloudflare_calls::room::MemoryStore;
    /// let rooms = client.rooms(MemoryStore::new()).without_takeover();
    /// # Ok(()) }
    /// ```
    pub fn without_takeover(self) -> Self {
        self.shared
            .passive
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self
    }

    /// Starts creating a room; this process hosts it.
    ///
    /// ```no_run
    /// # async fn run(rooms: cloudflare_calls::room::Rooms) -> Result<(), Box<dyn std::error::Error>> {
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
            ends_with_broadcaster: false,
        }
    }

    /// Opens an existing room by id: [`RoomError::RoomNotFound`] or
    /// [`RoomError::RoomClosed`] if it cannot be joined.
    pub async fn open(&self, id: &str) -> Result<Room> {
        let snapshot = self.shared.store.snapshot(id).await?;
        if snapshot.room.closed {
            return Err(RoomError::RoomClosed(id.to_owned()));
        }
        Ok(Room::new(self.shared.clone(), id.into()))
    }

    /// Stops this process hosting rooms, for a graceful exit (on SIGTERM, say). With a store
    /// that other live processes share, each room this process hosts goes to one of them at
    /// once, and its participants follow as after a crash, losing no update (see
    /// [`RoomEvent::HostChanged`](super::RoomEvent::HostChanged)); the gap is the new host's
    /// set-up, not [`takeover_after`](Self::takeover_after). With no other process (and with
    /// `MemoryStore`), the rooms close and their participants are told. This process takes
    /// no rooms over afterwards.
    ///
    /// ```no_run
    /// # async fn run(rooms: cloudflare_calls::room::Rooms) -> Result<(), Box<dyn std::error::Error>> {
    /// tokio::signal::ctrl_c().await?;
    /// rooms.shutdown().await?;
    /// # Ok(()) }
    /// ```
    pub async fn shutdown(&self) -> Result<()> {
        node::shut_down(&self.shared).await
    }

    /// The store the rooms live in.
    pub fn store(&self) -> &dyn Store {
        &*self.shared.store
    }

    /// The client the rooms make their SFU calls with.
    pub fn client(&self) -> &Client {
        &self.shared.client
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
    ends_with_broadcaster: bool,
}

impl CreateRoom {
    /// The room closes when its broadcaster leaves, for any reason but the room closing: a
    /// stream's room, whose players would otherwise wait on a dead stream. The host does it,
    /// so it holds after the room moved to another process.
    pub fn ends_with_broadcaster(mut self) -> Self {
        self.ends_with_broadcaster = true;
        self
    }

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

    /// How often the host checks participants' sessions; 5 s by default. A room with nobody
    /// in it is checked when its [`empty_timeout`](Self::empty_timeout) runs out, or when
    /// someone joins.
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
        let room = Room::new(self.rooms.shared.clone(), id.as_str().into());
        let record = RoomRecord {
            id: id.clone(),
            max_participants: self.max_participants,
            empty_timeout: self.empty_timeout,
            metadata: self.metadata,
            host_session_id: String::new(),
            host_node: String::new(),
            closed: false,
            ends_with_broadcaster: self.ends_with_broadcaster,
            health_interval: self.health_interval,
        };
        let handle = host::start(room.clone(), record).await?;
        self.rooms.shared.hosted().insert(id, handle);
        Ok(room)
    }
}

// `Client` hands out rooms without naming this layer.
impl Client {
    /// The rooms kept in `store`: create one, or open one by id (feature `room`).
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> Result<(), Box<dyn std::error::Error>> {
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
