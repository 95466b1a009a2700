//! Rooms under churn: a bounded soak, counted in operations, of one room served by two
//! backend processes sharing Redis (two tokio runtimes, each with its own `Client` and
//! `RedisStore`), while the emulator injects transient faults and the store is sometimes slow.
//!
//! Server-side participants ([`RoomPeer`]s, each driven by a task of the process it joined
//! through) join, publish, unpublish, pull, send messages, leave and get kicked (through
//! either process) at random; the server sends messages to the room. Before about a third of
//! the operations a fault is injected for the next call of one SFU operation: a 503
//! `retryable_transient_error`, a 429 with `Retry-After: 1`, or 300 ms of latency (twice).
//! The choice of operations, faults and store delays follows a seeded RNG: the seed is
//! printed, `CALLS_CHURN_SEED` replays it and `CALLS_CHURN_OPS` sets the number of
//! operations (800 by default); how they interleave follows the machine's timing. Up to four
//! operations run at once, and a kick may hit a participant in the middle of another one.
//! `CALLS_CHURN_TRACE` (a `tracing` targets filter, e.g. `cloudflare_calls=debug`) logs.
//!
//! An operation that fails under a fault must fail with a typed error and leave nothing
//! half-done. Every 200 operations, and at the end, the faults are cleared, the room goes
//! quiet (every participant present has read every event), and at first look:
//!
//! - **state**: every participant in the store is announced and has an open session on the
//!   emulator with exactly the tracks (pushed and pulled, by mid) and room channels its
//!   record lists, its published tracks active; every session the emulator has open carries
//!   the room's correlation id and belongs to a participant in the store or to the room's
//!   host, or has no track and no channel open; the host reads exactly the channels of the
//!   participants in the store.
//!
//! At the end also:
//!
//! - **membership**: the store's participants are those the test has in the room;
//! - **events**: the app's event stream (subscribed before the first join) numbers the events
//!   1, 2, 3… without gaps, and folding it gives the store's room (announced participants and
//!   their tracks; no track of someone absent, nobody leaving with tracks announced); nobody
//!   was removed as expired while its session was alive; each participant received the
//!   events after its snapshot `seq` in order, exactly once, without gaps and equal to the
//!   stream's, up to the end for those still present and up to the moment it was asked to go
//!   for the others; every server message reached every participant present when it was
//!   sent, and every message a participant sent was recorded exactly once.
//!
//! What cannot hold by design, and is not asserted: events appended while a participant is
//! being removed may or may not reach it (the removal closes its room channel while the host
//! relays them), so a participant that leaves or is kicked is only required to have the
//! events up to the moment it was asked to go (it catches up first, as a client reading its
//! channel would; one kicked in the middle of an operation is not asked to); a participant's
//! messages sent before the host subscribed to its channel are lost (the SFU forwards a
//! channel's messages only to its subscribers), so a participant sends only once its own
//! `participant_joined` arrived, which the host relays only after subscribing, and waits for
//! the room to echo it. A participant whose leave failed has stopped its peer: its session
//! may linger until the SFU expires it, and the room may then remove it as expired.

#![cfg(feature = "redis")]

use crate::support::room as room_support;

use crate::support::redis as redis_server;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use calls_emulator::{Emulator, Fault, SessionView};
use cloudflare_calls::Client;
use cloudflare_calls::peer::{FrameCodec, IncomingTrack, OutgoingTrack};
use cloudflare_calls::room::{
    EventStream, Lease, LeaveReason, PARTICIPANT_CHANNEL, ParticipantInfo, ParticipantRecord,
    Payload, RedisStore, Room, RoomError, RoomEvent, RoomPeer, RoomRecord, RoomSnapshot,
    RoomUpdate, Store, StoreFuture, TrackInfo, room_channel,
};
use futures_util::StreamExt;
use room_support::client;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

const ROOM: &str = "churn";
/// Operations of a run unless `CALLS_CHURN_OPS` says otherwise.
const DEFAULT_OPS: usize = 800;
/// Operations running at once.
const IN_FLIGHT: usize = 4;
/// Participants in the room at once, at most (joins in flight included).
const MAX_PRESENT: usize = 7;
/// The chance that an operation is preceded by a fault.
const FAULT_RATE: f64 = 0.35;
/// Operations between two checks of the room's state against the SFU's, the room quiet.
const CHECKPOINT: usize = 200;
/// Bounds every wait for the room to deliver something.
const PATIENCE: Duration = Duration::from_secs(20);

/// The operations faults are injected on: each participant's and the host's calls.
const FAULTED: [&str; 8] = [
    "new_session",
    "add_tracks",
    "renegotiate_session",
    "close_tracks",
    "establish_data_channel_transport",
    "add_data_channels",
    "close_data_channels",
    "get_session_state",
];

/// splitmix64: a small seeded generator, so a run can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value} is not a number")),
    )
}

/// A short name for an error, to count failures by kind.
fn label(e: &RoomError) -> String {
    if let Some(api) = e.api().and_then(cloudflare_calls::Error::api) {
        let code = api.code.as_ref().map(|c| c.as_str()).unwrap_or("-");
        let sub = api.subcode.as_deref().unwrap_or("");
        return format!("{} HTTP {} {code} {sub}", api.operation, api.status)
            .trim_end()
            .to_owned();
    }
    let debug = format!("{e:?}");
    let words: Vec<&str> = debug
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .take(2)
        .collect();
    words.join(" ")
}

/// What one participant received, shared by its task and the checks.
#[derive(Default)]
struct Seen {
    /// The `seq` of the room as it was shown at join.
    view_seq: u64,
    /// Every update, in the order it arrived.
    updates: Vec<RoomUpdate>,
    /// When its room channel ended: after which command, at which `seq`.
    ended: Option<String>,
}

type Reply<T> = oneshot::Sender<Result<T, RoomError>>;

/// What the test asks of a participant's task.
enum Cmd {
    Publish(Vec<String>, Reply<()>),
    Unpublish(String, Reply<()>),
    Pull(Reply<usize>),
    /// Sends a text on its channel; `Ok(false)` if the room did not echo it in time.
    Text(String, Reply<bool>),
    /// Reads the room channel until it has the update `seq`; what it missed if it did not
    /// come in time.
    CatchUp(u64, oneshot::Sender<Result<u64, String>>),
    Leave(Reply<()>),
    /// Drops the peer (for a kicked participant, at the end).
    Stop(oneshot::Sender<()>),
}

/// A participant's task: owns its [`RoomPeer`], reads its room channel between commands.
struct Actor {
    peer: RoomPeer,
    me: String,
    seen: Arc<Mutex<Seen>>,
    /// Tracks of others as the room announced them, by name (names are unique in the test).
    others: BTreeMap<String, TrackInfo>,
    pulled: BTreeSet<String>,
    outgoing: Vec<OutgoingTrack>,
    incoming: Vec<IncomingTrack>,
    /// Its own `participant_joined` arrived: the host reads its channel.
    followed: bool,
    ended: bool,
    commands: usize,
    last_command: &'static str,
}

impl Actor {
    fn new(peer: RoomPeer, seen: Arc<Mutex<Seen>>) -> Self {
        let me = peer.participant().id().to_owned();
        let (view_seq, view) = peer.view();
        seen.lock().unwrap().view_seq = view_seq;
        let others = view
            .iter()
            .filter(|p| p.info.id != me)
            .flat_map(|p| p.tracks.iter().map(|t| (t.name.clone(), t.clone())))
            .collect();
        let mut actor = Self {
            peer,
            me,
            seen,
            others,
            pulled: BTreeSet::new(),
            outgoing: Vec::new(),
            incoming: Vec::new(),
            followed: false,
            ended: false,
            commands: 0,
            last_command: "",
        };
        // The room's tracks pulled at join are those of the room then: all of them or fewer.
        actor.incoming = actor.peer.take_tracks();
        actor.pulled = actor.incoming.iter().map(|t| t.name().to_owned()).collect();
        actor
    }

    fn record(&mut self, update: RoomUpdate) {
        match &update.event {
            RoomEvent::ParticipantJoined { participant } if participant.id == self.me => {
                self.followed = true;
            }
            RoomEvent::TracksPublished {
                participant,
                tracks,
            } if *participant != self.me => {
                for t in tracks {
                    self.others.insert(t.name.clone(), t.clone());
                }
            }
            RoomEvent::TracksUnpublished { tracks, .. } => {
                for t in tracks {
                    self.others.remove(&t.name);
                }
            }
            RoomEvent::ParticipantLeft { participant, .. } => {
                self.others
                    .retain(|_, t| t.session_id != participant.session_id);
            }
            _ => {}
        }
        self.seen.lock().unwrap().updates.push(update);
    }

    /// Receives and records one update; `false` on timeout or once the channel ended.
    async fn step(&mut self, until: tokio::time::Instant) -> bool {
        if self.ended {
            return false;
        }
        match tokio::time::timeout_at(until, self.peer.recv()).await {
            Ok(Some(update)) => {
                self.record(update);
                true
            }
            Ok(None) => {
                self.end();
                false
            }
            Err(_) => false,
        }
    }

    fn end(&mut self) {
        self.ended = true;
        let at = format!(
            "after {} command(s), the last {:?}, at seq {}, connection {:?}",
            self.commands,
            self.last_command,
            self.last_seq(),
            self.peer.peer().state()
        );
        self.seen.lock().unwrap().ended = Some(at);
    }

    fn last_seq(&self) -> u64 {
        let seen = self.seen.lock().unwrap();
        seen.updates.last().map_or(0, |u| u.seq)
    }

    async fn run(mut self, mut cmds: mpsc::UnboundedReceiver<Cmd>) {
        enum Next {
            Cmd(Option<Cmd>),
            Update(Option<RoomUpdate>),
        }
        loop {
            let next = tokio::select! {
                biased;
                cmd = cmds.recv() => Next::Cmd(cmd),
                update = self.peer.recv(), if !self.ended => Next::Update(update),
            };
            let cmd = match next {
                Next::Update(Some(update)) => {
                    self.record(update);
                    continue;
                }
                Next::Update(None) => {
                    self.end();
                    continue;
                }
                Next::Cmd(cmd) => cmd,
            };
            match cmd {
                None => return,
                Some(Cmd::Stop(done)) => {
                    drop(self);
                    let _ = done.send(());
                    return;
                }
                Some(Cmd::Leave(reply)) => {
                    let left = self.peer.leave().await;
                    let _ = reply.send(left);
                    return;
                }
                Some(cmd) => self.handle(cmd).await,
            }
        }
    }

    async fn handle(&mut self, cmd: Cmd) {
        self.commands += 1;
        self.last_command = match &cmd {
            Cmd::Publish(..) => "publish",
            Cmd::Unpublish(..) => "unpublish",
            Cmd::Pull(..) => "pull",
            Cmd::Text(..) => "text",
            Cmd::CatchUp(..) => "catch up",
            Cmd::Leave(..) | Cmd::Stop(..) => "end",
        };
        match cmd {
            Cmd::Publish(names, reply) => {
                let tracks = names.into_iter().map(|n| (n, FrameCodec::Opus));
                let published = self.peer.publish_tracks(tracks).await;
                let _ = reply.send(published.map(|tracks| self.outgoing.extend(tracks)));
            }
            Cmd::Unpublish(name, reply) => {
                let _ = reply.send(self.peer.participant().unpublish([name]).await);
            }
            Cmd::Pull(reply) => {
                let wanted: Vec<TrackInfo> = self
                    .others
                    .values()
                    .filter(|t| !self.pulled.contains(&t.name))
                    .cloned()
                    .collect();
                let pulled = self.peer.pull(&wanted).await.map(|tracks| {
                    self.pulled
                        .extend(tracks.iter().map(|t| t.name().to_owned()));
                    let n = tracks.len();
                    self.incoming.extend(tracks);
                    n
                });
                let _ = reply.send(pulled);
            }
            Cmd::Text(text, reply) => {
                let until = tokio::time::Instant::now() + PATIENCE;
                while !self.followed && self.step(until).await {}
                if !self.followed {
                    let _ = reply.send(Ok(false));
                    return;
                }
                if let Err(e) = self.peer.send_text(&text).await {
                    let _ = reply.send(Err(e));
                    return;
                }
                let echoed = |u: &RoomUpdate, me: &str| match &u.event {
                    RoomEvent::Message {
                        from: Some(from),
                        payload: Payload::Text(t),
                        ..
                    } => from == me && *t == text,
                    _ => false,
                };
                let mut heard = false;
                while !heard && self.step(until).await {
                    let seen = self.seen.lock().unwrap();
                    heard = seen.updates.last().is_some_and(|u| echoed(u, &self.me));
                }
                let _ = reply.send(Ok(heard));
            }
            Cmd::CatchUp(seq, done) => {
                let until = tokio::time::Instant::now() + PATIENCE;
                while self.last_seq() < seq && self.step(until).await {}
                let last = self.last_seq();
                let _ = done.send(if last >= seq {
                    Ok(seq)
                } else {
                    let ended = self.seen.lock().unwrap().ended.clone();
                    Err(format!(
                        "received up to {last} of {seq}; room channel ended: {ended:?}, connection {:?}",
                        self.peer.peer().state()
                    ))
                });
            }
            Cmd::Leave(_) | Cmd::Stop(_) => unreachable!("handled by run"),
        }
    }
}

/// One backend process: a runtime, its client and its handle on the room.
#[derive(Clone)]
struct Process {
    index: usize,
    handle: Handle,
    client: Client,
    room: Room,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Presence {
    Present,
    /// A kick or a leave is under way.
    Going,
    Left,
    Kicked,
}

/// A participant as the test follows it.
struct Member {
    identity: String,
    id: String,
    session: String,
    /// What happened to it, for the report of a failed run.
    history: Vec<String>,
    process: usize,
    cmds: mpsc::UnboundedSender<Cmd>,
    seen: Arc<Mutex<Seen>>,
    presence: Presence,
    busy: bool,
    /// A kick hit it in the middle of an operation.
    kicked_while_busy: bool,
    /// Its leave failed: its peer stopped, the room may find its session dead.
    leave_failed: bool,
    /// The names of the tracks it (maybe) publishes.
    names: Vec<String>,
    tracks_made: usize,
    /// The `seq` up to which it must have received every event.
    required: u64,
}

/// A participant that joined: its id, session, task and what it received.
type Joined = (String, String, mpsc::UnboundedSender<Cmd>, Arc<Mutex<Seen>>);

/// A finished operation.
enum Done {
    Joined {
        process: usize,
        identity: String,
        result: Result<Joined, RoomError>,
        ghost: Option<String>,
    },
    Op {
        member: usize,
        op: &'static str,
        what: String,
        result: Result<(), RoomError>,
    },
    Text {
        member: usize,
        text: String,
        result: Result<bool, RoomError>,
    },
    Gone {
        member: usize,
        kicked: bool,
        /// `None` for a participant kicked in the middle of an operation.
        caught_up: Option<Result<u64, String>>,
        result: Result<(), RoomError>,
        still_in_store: bool,
    },
    Message {
        text: String,
        result: Result<u64, RoomError>,
    },
}

#[derive(Default)]
struct Counts {
    joins: usize,
    publishes: usize,
    unpublishes: usize,
    pulls: usize,
    texts: usize,
    leaves: usize,
    kicks: usize,
    messages: usize,
    faults: BTreeMap<&'static str, usize>,
    failures: BTreeMap<String, usize>,
    failed_ops: usize,
}

impl Counts {
    fn failed(&mut self, e: &RoomError) {
        self.failed_ops += 1;
        *self.failures.entry(label(e)).or_default() += 1;
    }
}

/// A store whose calls are sometimes slow (a busy Redis, a long round trip): a seeded third of
/// them wait 1 to 15 ms first, which widens the windows in which two processes' changes meet.
struct Sluggish {
    inner: RedisStore,
    rng: Mutex<Rng>,
}

impl Sluggish {
    fn new(inner: RedisStore, seed: u64) -> Self {
        Self {
            inner,
            rng: Mutex::new(Rng(seed)),
        }
    }

    async fn pause(&self) {
        let wait = {
            let mut rng = self.rng.lock().unwrap();
            rng.chance(0.33).then(|| 1 + rng.below(15) as u64)
        };
        if let Some(ms) = wait {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }
}

impl Store for Sluggish {
    fn create_room(&self, room: RoomRecord) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            self.pause().await;
            self.inner.create_room(room).await
        })
    }
    fn close_room(&self, room: &str) -> StoreFuture<'_, Vec<ParticipantRecord>> {
        let room = room.to_owned();
        Box::pin(async move {
            self.pause().await;
            self.inner.close_room(&room).await
        })
    }
    fn snapshot(&self, room: &str) -> StoreFuture<'_, RoomSnapshot> {
        let room = room.to_owned();
        Box::pin(async move {
            self.pause().await;
            self.inner.snapshot(&room).await
        })
    }
    fn add_participant(
        &self,
        room: &str,
        p: ParticipantRecord,
    ) -> StoreFuture<'_, Vec<ParticipantRecord>> {
        let room = room.to_owned();
        Box::pin(async move {
            self.pause().await;
            self.inner.add_participant(&room, p).await
        })
    }
    fn update_participant(&self, room: &str, p: ParticipantRecord) -> StoreFuture<'_, ()> {
        let room = room.to_owned();
        Box::pin(async move {
            self.pause().await;
            self.inner.update_participant(&room, p).await
        })
    }
    fn update_fenced(
        &self,
        room: &str,
        p: ParticipantRecord,
        fence: &Lease,
    ) -> StoreFuture<'_, ()> {
        let (room, fence) = (room.to_owned(), fence.clone());
        Box::pin(async move {
            self.pause().await;
            self.inner.update_fenced(&room, p, &fence).await
        })
    }
    fn remove_participant(
        &self,
        room: &str,
        id: &str,
    ) -> StoreFuture<'_, Option<ParticipantRecord>> {
        let (room, id) = (room.to_owned(), id.to_owned());
        Box::pin(async move {
            self.pause().await;
            self.inner.remove_participant(&room, &id).await
        })
    }
    fn append(&self, room: &str, event: RoomEvent) -> StoreFuture<'_, u64> {
        let room = room.to_owned();
        Box::pin(async move {
            self.pause().await;
            self.inner.append(&room, event).await
        })
    }
    fn subscribe(&self, room: &str) -> StoreFuture<'_, EventStream> {
        self.inner.subscribe(room)
    }
    fn lease(&self, room: &str, session: &str, ttl: Duration) -> StoreFuture<'_, Lease> {
        let (room, session) = (room.to_owned(), session.to_owned());
        Box::pin(async move {
            self.pause().await;
            self.inner.lease(&room, &session, ttl).await
        })
    }
    fn release(&self, lease: Lease) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            self.pause().await;
            self.inner.release(lease).await
        })
    }
}

/// A second backend process: its own runtime, client and store connection.
fn process_b() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

async fn join(process: Process, identity: String) -> Done {
    let peer = process
        .client
        .peer()
        .channel_buffer(4096)
        .correlation_id(ROOM);
    let result = match process.room.join(identity.clone()).connect(peer).await {
        Ok(peer) => {
            let seen = Arc::new(Mutex::new(Seen::default()));
            let actor = Actor::new(peer, seen.clone());
            let id = actor.me.clone();
            let session = actor.peer.peer().session().id().to_owned();
            let (cmds, rx) = mpsc::unbounded_channel();
            tokio::spawn(actor.run(rx));
            Ok((id, session, cmds, seen))
        }
        Err(e) => Err(e),
    };
    // A refused join leaves nobody in the store.
    let mut ghost = None;
    if result.is_err() {
        let snapshot = process.room.snapshot().await.unwrap();
        if let Some(p) = snapshot
            .participants
            .iter()
            .find(|p| p.info.identity == identity)
        {
            ghost = Some(format!(
                "a failed join of {identity} left {} in the store",
                p.info.id
            ));
        }
    }
    Done::Joined {
        process: process.index,
        identity,
        result,
        ghost,
    }
}

async fn ask<T>(
    cmds: &mpsc::UnboundedSender<Cmd>,
    make: impl FnOnce(Reply<T>) -> Cmd,
) -> Result<T, RoomError> {
    let (reply, answer) = oneshot::channel();
    cmds.send(make(reply)).expect("the participant's task runs");
    answer.await.expect("the participant's task answers")
}

/// Lets a participant read its channel up to the room's last event.
async fn catch_up(cmds: &mpsc::UnboundedSender<Cmd>, room: &Room) -> Result<u64, String> {
    let seq = room.snapshot().await.unwrap().seq;
    let (done, caught_up) = oneshot::channel();
    cmds.send(Cmd::CatchUp(seq, done))
        .expect("the participant's task runs");
    caught_up.await.expect("the participant's task answers")
}

/// Waits until the room is quiet and every participant present has received every event:
/// the room's last `seq`, and who missed some.
async fn quiesce(room: &Room, members: &[Member]) -> (u64, Vec<String>) {
    let mut missing = Vec::new();
    loop {
        let seq = room.snapshot().await.unwrap().seq;
        for m in members.iter().filter(|m| m.presence == Presence::Present) {
            let (done, caught_up) = oneshot::channel();
            m.cmds.send(Cmd::CatchUp(seq, done)).unwrap();
            if let Err(e) = caught_up.await.unwrap() {
                missing.push(format!(
                    "{} ({}) did not receive every event up to {seq}: {e}",
                    m.identity, m.id
                ));
            }
        }
        if room.snapshot().await.unwrap().seq == seq || !missing.is_empty() {
            return (seq, missing);
        }
    }
}

/// Whether participant `id` is in the room's store.
async fn in_store(room: &Room, id: &str) -> bool {
    let snapshot = room.snapshot().await.unwrap();
    snapshot.participants.iter().any(|p| p.info.id == id)
}

/// Announced participants by id, with the names of the tracks they publish.
type Roster = BTreeMap<String, (ParticipantInfo, BTreeSet<String>)>;

/// The room as its events tell it: announced participants and the names of their tracks,
/// with the events that do not fit (tracks of someone absent, a participant leaving with
/// tracks still announced).
fn fold(events: &[RoomUpdate]) -> (Roster, Vec<String>) {
    let mut room = Roster::new();
    let mut problems = Vec::new();
    for u in events {
        match &u.event {
            RoomEvent::ParticipantJoined { participant } => {
                let before = room.insert(
                    participant.id.clone(),
                    (participant.clone(), BTreeSet::new()),
                );
                if before.is_some() {
                    problems.push(format!("seq {}: {} joined twice", u.seq, participant.id));
                }
            }
            RoomEvent::TracksPublished {
                participant,
                tracks,
            } => match room.get_mut(participant) {
                Some((_, names)) => names.extend(tracks.iter().map(|t| t.name.clone())),
                None => problems.push(format!(
                    "seq {}: tracks published by {participant}, who is not in the room",
                    u.seq
                )),
            },
            RoomEvent::TracksUnpublished {
                participant,
                tracks,
            } => {
                match room.get_mut(participant) {
                    Some((_, names)) => {
                        for t in tracks {
                            if !names.remove(&t.name) {
                                problems.push(format!("seq {}: {participant} unpublished {}, which it did not publish", u.seq, t.name));
                            }
                        }
                    }
                    None => problems.push(format!(
                        "seq {}: tracks unpublished by {participant}, who is not in the room",
                        u.seq
                    )),
                }
            }
            RoomEvent::ParticipantLeft { participant, .. } => match room.remove(&participant.id) {
                Some((_, names)) if !names.is_empty() => problems.push(format!(
                    "seq {}: {} left with tracks {names:?} still announced",
                    u.seq, participant.id
                )),
                Some(_) => {}
                None => problems.push(format!(
                    "seq {}: {} left, but was not in the room",
                    u.seq, participant.id
                )),
            },
            _ => {}
        }
    }
    (room, problems)
}

/// The room's state against the emulator's: the problems found.
async fn state_problems(
    emulator: &Emulator,
    client: &Client,
    snapshot: &RoomSnapshot,
) -> Vec<String> {
    let mut problems = Vec::new();
    let sessions = emulator.sessions();
    let by_id: HashMap<&str, &SessionView> = sessions.iter().map(|s| (s.id.as_str(), s)).collect();
    let host = snapshot.room.host_session_id.as_str();
    for p in &snapshot.participants {
        let who = format!("{} ({})", p.info.identity, p.info.id);
        if !p.announced {
            problems.push(format!("{who} is in the store but was never announced"));
        }
        let Some(session) = by_id.get(p.info.session_id.as_str()) else {
            problems.push(format!(
                "ghost: {who} has no open session {}",
                p.info.session_id
            ));
            continue;
        };
        let pushed: BTreeSet<(String, String)> = session
            .tracks
            .iter()
            .filter(|t| t.source.is_none())
            .map(|t| (t.mid.clone(), t.name.clone()))
            .collect();
        let recorded: BTreeSet<(String, String)> = p
            .published
            .iter()
            .map(|(mid, t)| (mid.clone(), t.name.clone()))
            .collect();
        if pushed != recorded {
            problems.push(format!(
                "{who} publishes {pushed:?} on the SFU, its record says {recorded:?}"
            ));
        }
        let pulled: BTreeSet<&str> = session
            .tracks
            .iter()
            .filter(|t| t.source.is_some())
            .map(|t| t.mid.as_str())
            .collect();
        let recorded: BTreeSet<&str> = p.pulled.iter().map(String::as_str).collect();
        if pulled != recorded {
            problems.push(format!(
                "{who} pulls mids {pulled:?} on the SFU, its record says {recorded:?}"
            ));
        }
        let mut channels: Vec<(String, Option<String>)> = session
            .channels
            .iter()
            .map(|c| (c.name.clone(), c.source.clone()))
            .collect();
        channels.sort();
        let expected = if p.channels {
            vec![
                (PARTICIPANT_CHANNEL.to_owned(), None),
                (room_channel(ROOM), Some(host.to_owned())),
            ]
        } else {
            Vec::new()
        };
        if channels != expected {
            problems.push(format!("{who} has channels {channels:?} open on the SFU"));
        }
        match client.session(&p.info.session_id).state().await {
            Ok(state) => {
                for (mid, t) in &p.published {
                    let active = state
                        .tracks
                        .iter()
                        .any(|s| s.mid.as_deref() == Some(mid) && s.is_active());
                    if !active {
                        problems.push(format!("{who}: its track {} ({mid}) is not active", t.name));
                    }
                }
            }
            Err(e) => problems.push(format!("{who}: session state: {e}")),
        }
    }
    let participants: HashMap<&str, bool> = snapshot
        .participants
        .iter()
        .map(|p| (p.info.session_id.as_str(), p.channels))
        .collect();
    for s in &sessions {
        // The host's peer carries other rooms too: it is named after its process.
        if s.id != host && s.correlation_id.as_deref() != Some(ROOM) {
            problems.push(format!(
                "session {} has correlation id {:?}",
                s.id, s.correlation_id
            ));
        }
        if s.id == host {
            if !s.tracks.is_empty() {
                problems.push(format!("the host has tracks open: {:?}", s.tracks));
            }
            for c in &s.channels {
                let fine = match &c.source {
                    None => c.name == room_channel(ROOM),
                    Some(from) => {
                        c.name == PARTICIPANT_CHANNEL
                            && participants.get(from.as_str()) == Some(&true)
                    }
                };
                if !fine {
                    problems.push(format!("orphan: the host still has {c:?} open"));
                }
            }
            let followed = s.channels.iter().filter(|c| c.source.is_some()).count();
            let expected = participants.values().filter(|c| **c).count();
            if followed != expected {
                problems.push(format!(
                    "the host reads {followed} participant channels, the store has {expected} participants with channels"
                ));
            }
        } else if !participants.contains_key(s.id.as_str())
            && (!s.tracks.is_empty() || !s.channels.is_empty())
        {
            problems.push(format!(
                "orphan: session {} is nobody's but has tracks {:?} and channels {:?} open",
                s.id, s.tracks, s.channels
            ));
        }
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_under_churn() {
    let _heavy = crate::support::heavy::heavy().await;
    if redis_server::skip_without_redis() {
        return;
    }
    if let Ok(filter) = std::env::var("CALLS_CHURN_TRACE") {
        use tracing_subscriber::layer::SubscriberExt;
        let targets: tracing_subscriber::filter::Targets = filter.parse().unwrap();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(std::io::stderr)
            .finish()
            .with(targets);
        let _ = tracing::subscriber::set_global_default(subscriber);
    }
    let started = Instant::now();
    let seed = env_u64("CALLS_CHURN_SEED").unwrap_or_else(|| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        now.map_or(1, |d| d.as_nanos() as u64)
    });
    let ops = env_u64("CALLS_CHURN_OPS").map_or(DEFAULT_OPS, |n| n as usize);
    println!(
        "room churn: seed {seed}, {ops} operations (CALLS_CHURN_SEED={seed} replays the choices)"
    );
    let mut rng = Rng(seed);

    let redis = redis_server::Redis::start().await;
    // Tracks carry no media in this test: they must not go idle.
    let emulator = Emulator::builder()
        .track_idle_timeout(Duration::from_secs(3600))
        .start()
        .await
        .unwrap();

    // Process A: the test's runtime. It creates, hosts and follows the room.
    let client_a = client(&emulator);
    let store_a = RedisStore::connect(&redis.url()).await.unwrap();
    let rooms_a = client_a.rooms(Sluggish::new(store_a, seed ^ 0xa));
    // The host checks its participants' sessions often, so its checks meet the churn.
    let room_a = rooms_a
        .create()
        .id(ROOM)
        .health_interval(Duration::from_millis(500))
        .send()
        .await
        .unwrap();
    let reference: Arc<Mutex<Vec<RoomUpdate>>> = Arc::default();
    let stream_errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let follower = tokio::spawn({
        let mut events = room_a.events().await.unwrap();
        let (reference, errors) = (reference.clone(), stream_errors.clone());
        async move {
            while let Some(update) = events.next().await {
                match update {
                    Ok(update) => reference.lock().unwrap().push(update),
                    Err(e) => errors.lock().unwrap().push(e.to_string()),
                }
            }
        }
    });

    // Process B: a runtime of its own, with its own client and Redis connection.
    let b = process_b();
    let client_b = client(&emulator);
    let room_b = b
        .spawn({
            let (url, client_b) = (redis.url(), client_b.clone());
            async move {
                let store_b = RedisStore::connect(&url).await.unwrap();
                let rooms = client_b.rooms(Sluggish::new(store_b, seed ^ 0xb));
                rooms.open(ROOM).await.unwrap()
            }
        })
        .await
        .unwrap();
    let processes = [
        Process {
            index: 0,
            handle: Handle::current(),
            client: client_a.clone(),
            room: room_a.clone(),
        },
        Process {
            index: 1,
            handle: b.handle().clone(),
            client: client_b,
            room: room_b,
        },
    ];

    let mut counts = Counts::default();
    let mut violations: Vec<String> = Vec::new();
    let mut members: Vec<Member> = Vec::new();
    let mut joining = 0usize;
    let mut next_identity = 0usize;
    let mut server_messages: Vec<(u64, String)> = Vec::new();
    let mut texts: Vec<(usize, String)> = Vec::new();
    let mut running: JoinSet<Done> = JoinSet::new();
    let mut issued = 0usize;

    let mut checked = 0usize;
    let mut checkpoints = 0usize;
    while issued < ops || !running.is_empty() {
        // Every CHECKPOINT operations the room goes quiet and its state is checked at once:
        // what a failed operation leaves for a moment shows here.
        let pause = issued.is_multiple_of(CHECKPOINT) && issued != checked && issued < ops;
        if pause && running.is_empty() {
            checked = issued;
            checkpoints += 1;
            emulator.clear_faults();
            let (_, missing) = quiesce(&room_a, &members).await;
            violations.extend(missing);
            let snapshot = room_a.snapshot().await.unwrap();
            let problems = state_problems(&emulator, &client_a, &snapshot).await;
            if !members.iter().any(|m| m.leave_failed) {
                violations.extend(
                    problems
                        .into_iter()
                        .map(|p| format!("after {issued} operations: {p}")),
                );
            }
            continue;
        }
        while !pause && issued < ops && running.len() < IN_FLIGHT {
            issued += 1;
            if rng.chance(FAULT_RATE) {
                let operation = rng.pick(&FAULTED);
                let (kind, fault) = match rng.below(3) {
                    0 => ("503", Fault::transient().on(operation).times(1)),
                    1 => ("429", Fault::rate_limited(1).on(operation).times(1)),
                    _ => (
                        "latency",
                        Fault::latency(Duration::from_millis(300))
                            .on(operation)
                            .times(2),
                    ),
                };
                emulator.inject(fault);
                *counts.faults.entry(kind).or_default() += 1;
            }
            let present: Vec<usize> = (0..members.len())
                .filter(|&m| members[m].presence == Presence::Present)
                .collect();
            let idle: Vec<usize> = present
                .iter()
                .copied()
                .filter(|&m| !members[m].busy)
                .collect();
            let room_for_more = present.len() + joining < MAX_PRESENT;
            let few = present.len() + joining < 3;
            let has_names = idle.iter().any(|&m| !members[m].names.is_empty());
            // Weighted by how often a room sees them; only those possible now.
            let weights = [
                (
                    "join",
                    if few {
                        12
                    } else if room_for_more {
                        4
                    } else {
                        0
                    },
                ),
                ("publish", if idle.is_empty() { 0 } else { 4 }),
                ("unpublish", if has_names { 3 } else { 0 }),
                ("pull", if idle.is_empty() { 0 } else { 2 }),
                ("text", if idle.is_empty() { 0 } else { 2 }),
                ("message", 2),
                ("leave", if idle.is_empty() { 0 } else { 1 }),
                ("kick", if present.is_empty() { 0 } else { 1 }),
            ];
            let mut roll = rng.below(weights.iter().map(|(_, w)| w).sum());
            let (choice, _) = *weights
                .iter()
                .find(|(_, w)| {
                    let hit = roll < *w;
                    roll = roll.saturating_sub(*w);
                    hit
                })
                .expect("a weight was rolled");
            let process = processes[rng.below(2)].clone();
            match choice {
                "join" => {
                    joining += 1;
                    next_identity += 1;
                    let identity = format!("u{next_identity}");
                    let handle = process.handle.clone();
                    running.spawn_on(join(process, identity), &handle);
                }
                "message" => {
                    let text = format!("server message {issued}");
                    let room = process.room.clone();
                    running.spawn_on(
                        async move {
                            let result = room.send_message(text.as_str()).await;
                            Done::Message { text, result }
                        },
                        &process.handle,
                    );
                }
                "kick" => {
                    let member = rng.pick(&present);
                    let m = &mut members[member];
                    let busy = m.busy;
                    m.presence = Presence::Going;
                    m.kicked_while_busy = busy;
                    let (id, cmds) = (m.id.clone(), m.cmds.clone());
                    let room = process.room.clone();
                    running.spawn_on(
                        async move {
                            // A client reads its channel: an idle one has caught up first.
                            let caught_up = if busy {
                                None
                            } else {
                                Some(catch_up(&cmds, &room).await)
                            };
                            let result = room.kick(&id).await;
                            let still_in_store = in_store(&room, &id).await;
                            Done::Gone {
                                member,
                                kicked: true,
                                caught_up,
                                result,
                                still_in_store,
                            }
                        },
                        &process.handle,
                    );
                }
                "unpublish" => {
                    let with_names: Vec<usize> = idle
                        .iter()
                        .copied()
                        .filter(|&m| !members[m].names.is_empty())
                        .collect();
                    let member = rng.pick(&with_names);
                    let m = &mut members[member];
                    m.busy = true;
                    let cmds = m.cmds.clone();
                    let name = m.names.remove(rng.below(m.names.len()));
                    running.spawn(async move {
                        let what = name.clone();
                        let result = ask(&cmds, |r| Cmd::Unpublish(name, r)).await;
                        Done::Op {
                            member,
                            op: "unpublish",
                            what,
                            result,
                        }
                    });
                }
                op => {
                    let member = rng.pick(&idle);
                    let m = &mut members[member];
                    m.busy = true;
                    let cmds = m.cmds.clone();
                    match op {
                        "publish" => {
                            let n = 1 + rng.below(2);
                            let names: Vec<String> = (0..n)
                                .map(|_| {
                                    m.tracks_made += 1;
                                    format!("{}-t{}", m.identity, m.tracks_made)
                                })
                                .collect();
                            m.names.extend(names.iter().cloned());
                            running.spawn(async move {
                                let what = names.join(",");
                                let result = ask(&cmds, |r| Cmd::Publish(names, r)).await;
                                Done::Op {
                                    member,
                                    op: "publish",
                                    what,
                                    result,
                                }
                            });
                        }
                        "pull" => {
                            running.spawn(async move {
                                let result = ask(&cmds, Cmd::Pull).await;
                                let what = format!("{:?} tracks", result.as_ref().ok());
                                Done::Op {
                                    member,
                                    op: "pull",
                                    what,
                                    result: result.map(drop),
                                }
                            });
                        }
                        "text" => {
                            let text = format!("{} says {issued}", m.identity);
                            running.spawn(async move {
                                let result = ask(&cmds, |r| Cmd::Text(text.clone(), r)).await;
                                Done::Text {
                                    member,
                                    text,
                                    result,
                                }
                            });
                        }
                        _ => {
                            m.presence = Presence::Going;
                            let room = processes[m.process].room.clone();
                            running.spawn_on(
                                async move {
                                    let caught_up = Some(catch_up(&cmds, &room).await);
                                    let result = ask(&cmds, Cmd::Leave).await;
                                    Done::Gone {
                                        member,
                                        kicked: false,
                                        caught_up,
                                        result,
                                        still_in_store: false,
                                    }
                                },
                                &processes[m.process].handle.clone(),
                            );
                        }
                    }
                }
            }
            if issued.is_multiple_of(CHECKPOINT) {
                break;
            }
        }
        if running.is_empty() {
            continue;
        }

        let done = running
            .join_next()
            .await
            .expect("an operation runs")
            .expect("operations do not panic");
        match done {
            Done::Joined {
                process,
                identity,
                result,
                ghost,
            } => {
                joining -= 1;
                violations.extend(ghost);
                match result {
                    Ok((id, session, cmds, seen)) => {
                        counts.joins += 1;
                        let required = seen.lock().unwrap().view_seq;
                        members.push(Member {
                            history: vec![format!(
                                "joined through {} at seq {required}",
                                "AB".as_bytes()[process] as char
                            )],
                            identity,
                            id,
                            session,
                            process,
                            cmds,
                            seen,
                            presence: Presence::Present,
                            busy: false,
                            kicked_while_busy: false,
                            leave_failed: false,
                            names: Vec::new(),
                            tracks_made: 0,
                            required,
                        });
                    }
                    Err(e) => {
                        println!("  join of {identity} failed: {e}");
                        counts.failed(&e);
                    }
                }
            }
            Done::Op {
                member,
                op,
                what,
                result,
            } => {
                let m = &mut members[member];
                m.busy = false;
                m.history.push(match &result {
                    Ok(()) => format!("{op} {what}: ok"),
                    Err(e) => format!("{op} {what}: {e}"),
                });
                match result {
                    Ok(()) => match op {
                        "publish" => counts.publishes += 1,
                        "unpublish" => counts.unpublishes += 1,
                        _ => counts.pulls += 1,
                    },
                    Err(e) => counts.failed(&e),
                }
            }
            Done::Text {
                member,
                text,
                result,
            } => {
                let m = &mut members[member];
                m.busy = false;
                m.history.push(format!("text {text:?}: {result:?}"));
                match result {
                    Ok(true) => {
                        counts.texts += 1;
                        texts.push((member, text));
                    }
                    // Kicked meanwhile: its channel may have closed under the message.
                    Ok(false) if m.kicked_while_busy => {}
                    Ok(false) => violations.push(format!(
                        "{} ({}): the room did not echo {text:?} within {PATIENCE:?}",
                        m.identity, m.id
                    )),
                    Err(e) => counts.failed(&e),
                }
            }
            Done::Gone {
                member,
                kicked,
                caught_up,
                result,
                still_in_store,
            } => {
                let m = &mut members[member];
                m.history.push(format!(
                    "{} (caught up to {caught_up:?}): {result:?}, in the store after: {still_in_store}",
                    if kicked { "kicked" } else { "leave" }
                ));
                match caught_up {
                    Some(Ok(seq)) => m.required = seq,
                    Some(Err(missing)) => violations.push(format!(
                        "{} ({}) did not receive the room's events before going, within {PATIENCE:?}: {missing}",
                        m.identity, m.id
                    )),
                    None => {}
                }
                m.leave_failed = !kicked && result.is_err();
                match (&result, kicked) {
                    (Ok(()), true) => counts.kicks += 1,
                    (Ok(()), false) => counts.leaves += 1,
                    (Err(e), _) => counts.failed(e),
                }
                // A failed kick leaves the participant in the room, or takes it out entirely.
                m.presence = match (kicked, &result, still_in_store) {
                    (true, Err(_), true) => Presence::Present,
                    (true, _, _) => Presence::Kicked,
                    (false, _, _) => Presence::Left,
                };
                if m.presence == Presence::Present {
                    m.kicked_while_busy = false;
                }
            }
            Done::Message { text, result } => match result {
                Ok(seq) => {
                    counts.messages += 1;
                    server_messages.push((seq, text));
                }
                Err(e) => counts.failed(&e),
            },
        }
    }
    let churned = started.elapsed();
    emulator.clear_faults();

    // Quiet: every participant still present has every event.
    let (final_seq, missing) = quiesce(&room_a, &members).await;
    violations.extend(missing);
    let deadline = Instant::now() + PATIENCE;
    while reference.lock().unwrap().last().map_or(0, |u| u.seq) < final_seq
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // State: the store against the SFU. Background work (a peer closing) may need a moment.
    let checking = Instant::now();
    let deadline = checking + PATIENCE;
    let mut first_look = None;
    let (snapshot, problems) = loop {
        let snapshot = room_a.snapshot().await.unwrap();
        let problems = state_problems(&emulator, &client_a, &snapshot).await;
        if problems.is_empty() || Instant::now() >= deadline {
            break (snapshot, problems);
        }
        first_look.get_or_insert_with(|| problems.clone());
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    if let Some(first) = first_look {
        println!(
            "  the SFU's state matched the store's after {:.1?}; at first: {first:?}",
            checking.elapsed()
        );
        // Only a participant whose leave failed (its peer stopped, its session expiring)
        // may leave something behind for a moment.
        if !members.iter().any(|m| m.leave_failed) {
            violations.extend(first.into_iter().map(|p| format!("at the end: {p}")));
        }
    }
    violations.extend(problems);
    assert_eq!(snapshot.seq, final_seq, "the room stayed quiet");
    let stored: BTreeSet<&str> = snapshot
        .participants
        .iter()
        .map(|p| p.info.id.as_str())
        .collect();
    let present: BTreeSet<&str> = members
        .iter()
        .filter(|m| m.presence == Presence::Present)
        .map(|m| m.id.as_str())
        .collect();
    let present_at_end = present.len();
    if stored != present {
        violations.push(format!(
            "the store has participants {stored:?}, the test expects {present:?}"
        ));
    }

    // Events: the reference log, then what each participant received.
    let reference = reference.lock().unwrap().clone();
    violations.extend(
        stream_errors
            .lock()
            .unwrap()
            .iter()
            .map(|e| format!("the app's event stream: {e}")),
    );
    let seqs: Vec<u64> = reference.iter().map(|u| u.seq).collect();
    if seqs != (1..=final_seq).collect::<Vec<_>>() {
        violations.push(format!(
            "the app's event stream is not 1..={final_seq} without gaps: {seqs:?}"
        ));
    }
    // The store's room is the one its events describe.
    let (told, problems) = fold(&reference);
    violations.extend(
        problems
            .into_iter()
            .map(|p| format!("the app's event stream: {p}")),
    );
    let stored: Roster = snapshot
        .participants
        .iter()
        .filter(|p| p.announced)
        .map(|p| {
            let names = p.published.iter().map(|(_, t)| t.name.clone()).collect();
            (p.info.id.clone(), (p.info.clone(), names))
        })
        .collect();
    if told != stored {
        violations.push(format!(
            "the events describe the room as {told:?}, the store has {stored:?}"
        ));
    }
    // Every session stayed alive while its participant was in the room (a participant whose
    // leave failed stopped its peer, so the room may find its session dead).
    for u in &reference {
        if let RoomEvent::ParticipantLeft {
            participant,
            reason: LeaveReason::Expired,
        } = &u.event
        {
            let failed_leave = members
                .iter()
                .any(|m| m.id == participant.id && m.leave_failed);
            if !failed_leave {
                violations.push(format!(
                    "seq {}: {} ({}) was removed as expired, but its session was alive",
                    u.seq, participant.identity, participant.id
                ));
            }
        }
    }
    let by_seq: HashMap<u64, &RoomUpdate> = reference.iter().map(|u| (u.seq, u)).collect();
    let mut delivered = 0usize;
    for m in &mut members {
        if m.presence == Presence::Present {
            m.required = final_seq;
        }
        let seen = m.seen.lock().unwrap();
        delivered += seen.updates.len();
        let who = format!("{} ({})", m.identity, m.id);
        let mut last = 0;
        for u in &seen.updates {
            if u.seq <= last {
                violations.push(format!("{who} received seq {} after {last}", u.seq));
            }
            last = u.seq;
            if by_seq.get(&u.seq) != Some(&u) {
                violations.push(format!(
                    "{who} received {u:?}, the app's stream has {:?}",
                    by_seq.get(&u.seq)
                ));
            }
        }
        let after: Vec<u64> = seen
            .updates
            .iter()
            .map(|u| u.seq)
            .filter(|s| *s > seen.view_seq)
            .collect();
        let reached = seen.view_seq + after.len() as u64;
        if after != (seen.view_seq + 1..=reached).collect::<Vec<_>>() {
            violations.push(format!(
                "{who} received {after:?} after its view at {}: not consecutive",
                seen.view_seq
            ));
        }
        if reached < m.required {
            violations.push(format!(
                "{who} ({:?}) received events up to {reached}, needed {}",
                m.presence, m.required
            ));
        }
    }
    let mut message_deliveries = 0usize;
    for (seq, text) in &server_messages {
        let sent = RoomEvent::Message {
            from: None,
            to: None,
            payload: Payload::Text(text.clone()),
        };
        if by_seq.get(seq).map(|u| &u.event) != Some(&sent) {
            violations.push(format!("the app's stream has no {text:?} at {seq}"));
        }
        for m in &members {
            let seen = m.seen.lock().unwrap();
            if seen.view_seq >= *seq || *seq > m.required {
                continue;
            }
            let got = seen
                .updates
                .iter()
                .any(|u| u.seq == *seq && u.event == sent);
            if got {
                message_deliveries += 1;
            } else {
                violations.push(format!(
                    "{} ({}) was present for {text:?} (seq {seq}) but did not get it",
                    m.identity, m.id
                ));
            }
        }
    }
    for (member, text) in &texts {
        let id = &members[*member].id;
        let recorded = reference
            .iter()
            .filter(|u| {
                matches!(&u.event, RoomEvent::Message { from: Some(from), payload: Payload::Text(t), .. } if from == id && t == text)
            })
            .count();
        if recorded != 1 {
            violations.push(format!("{text:?} of {id} was recorded {recorded} times"));
        }
    }

    // Typed failures, each of a kind the faults explain: none is an unreadable response.
    for (kind, n) in &counts.failures {
        if kind.starts_with("Decode") {
            violations.push(format!(
                "{n} operation(s) failed decoding a response: {kind}"
            ));
        }
    }
    let stats = emulator.stats();
    let mut report = String::new();
    let _ = writeln!(
        report,
        "room churn: seed {seed}, {ops} operations in {:.1?} ({checkpoints} checkpoints, final checks and teardown excluded), {} events",
        churned, final_seq
    );
    let _ = writeln!(
        report,
        "  succeeded: {} joins, {} publishes, {} unpublishes, {} pulls, {} participant texts, {} leaves, {} kicks, {} server messages",
        counts.joins,
        counts.publishes,
        counts.unpublishes,
        counts.pulls,
        counts.texts,
        counts.leaves,
        counts.kicks,
        counts.messages
    );
    let _ = writeln!(
        report,
        "  faults injected: {:?}; answered 503: {}, 429: {}",
        counts.faults,
        stats.with_status(503),
        stats.with_status(429)
    );
    let _ = writeln!(
        report,
        "  typed failures: {} ({:?})",
        counts.failed_ops, counts.failures
    );
    let _ = writeln!(
        report,
        "  events delivered to participants: {delivered}; server messages delivered: {message_deliveries}; participants at the end: {}",
        present_at_end
    );
    println!("{report}");
    if !violations.is_empty() {
        for m in &members {
            println!(
                "  {} {} session {} {:?}: {}",
                m.identity,
                m.id,
                m.session,
                m.presence,
                m.history.join("; ")
            );
        }
    }
    assert!(
        violations.is_empty(),
        "{} violation(s) (seed {seed}):\n{}",
        violations.len(),
        violations.join("\n")
    );

    // Everyone leaves, the room closes: nothing of it stays open on the SFU.
    for m in &members {
        match m.presence {
            Presence::Present => ask(&m.cmds, Cmd::Leave).await.unwrap(),
            Presence::Kicked => {
                let (done, stopped) = oneshot::channel();
                if m.cmds.send(Cmd::Stop(done)).is_ok() {
                    let _ = stopped.await;
                }
            }
            Presence::Left | Presence::Going => {}
        }
    }
    room_a.close().await.unwrap();
    follower.await.unwrap();
    let closing = Instant::now();
    let deadline = closing + PATIENCE;
    let mut first_look = None;
    loop {
        let open: Vec<SessionView> = emulator
            .sessions()
            .into_iter()
            .filter(|s| !s.tracks.is_empty() || !s.channels.is_empty())
            .collect();
        if open.is_empty() {
            break;
        }
        first_look.get_or_insert_with(|| open.clone());
        assert!(
            Instant::now() < deadline,
            "after the room closed, still open: {open:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    if let Some(first) = first_look {
        println!(
            "  after the room closed, the SFU closed everything within {:.1?}; at first open: {first:?}",
            closing.elapsed()
        );
    }
    println!("room churn: done in {:.1?}", started.elapsed());
    b.shutdown_background();
}
