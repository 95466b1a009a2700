//! What a join costs, through the embedded emulator on loopback.
//!
//! 1. Pulling the tracks already in a room, K = 4, 16 and 64 of them, into a new peer: the
//!    room's way (`Peer::pull_all`: one `add_tracks` call and one renegotiation per 64 tracks)
//!    side by side with pulling track by track, as a hand-built room does (one call and one
//!    renegotiation per track). Figures: API calls, and the time until every track has
//!    delivered its first frame (median of 5).
//! 2. A whole server-side join (`room.join(..).connect(client.peer())`): session, ICE and
//!    DTLS, both room channels, the pull, the announcement; median and slowest of 10, and its
//!    API calls.
//! 3. Joins per second of a browser's offer (`room.join(..).offer(..).send()`, a Chromium offer
//!    with audio and video into a room with two tracks: session, push, pull), one join at a
//!    time (its latency) and 32 at a time (what a process sustains), with the room in
//!    a `MemoryStore` and, when `REDIS_URL` is set (feature `redis`), in a `RedisStore`: store
//!    operations and Redis commands per join. The stores take five trials of 200 joins in
//!    turns; the figures are medians, and the last line compares the stores trial by trial.
//!    The joins made one at a time then leave one at a time, the room emptying: leaves per
//!    second.
//!
//! ```sh
//! cargo run --release --example room_bench --features room
//! redis-server --port 6390 --save '' &
//! REDIS_URL=redis://127.0.0.1:6390/ cargo run --release --features redis --example room_bench
//! ```

use std::time::{Duration, Instant};

use calls_emulator::Emulator;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cloudflare_calls::peer::{FrameCodec, OutgoingTrack};
use cloudflare_calls::room::{
    EventStream, Lease, MemoryStore, Participant, ParticipantRecord, Room, RoomEvent, RoomPeer,
    RoomRecord, RoomSnapshot, Store, StoreFuture,
};
use cloudflare_calls::{Client, Config, Offer, RemoteTrack};

type Failure = Box<dyn std::error::Error>;

const TRIALS: usize = 5;
const JOINS: usize = 10;

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let emulator = Emulator::start().await?;
    let client = Client::new(Config::new(
        emulator.sfu_base_url(),
        emulator.app_id(),
        emulator.app_secret(),
    ))?;

    println!(
        "| tracks in the room | pulled at once: calls, first frames | one by one: calls, first frames |"
    );
    println!("|---|---|---|");
    for k in [4, 16, 64] {
        // A publisher whose K microphones send Opus silence for the whole run.
        let publisher = client.peer().codecs([FrameCodec::Opus]).connect().await?;
        let mut names = Vec::new();
        for i in 0..k {
            let mic = publisher
                .push_track(format!("mic{i}"), FrameCodec::Opus)
                .await?;
            tokio::spawn(async move { mic.send_silence(Duration::from_secs(600)).await });
            names.push(format!("mic{i}"));
        }
        let tracks: Vec<RemoteTrack> = names
            .iter()
            .map(|n| RemoteTrack::new(publisher.session().id(), n))
            .collect();
        let mut at_once = Vec::new();
        let mut one_by_one = Vec::new();
        for _ in 0..TRIALS {
            at_once.push(measure(&emulator, &client, &tracks, true).await?);
            one_by_one.push(measure(&emulator, &client, &tracks, false).await?);
        }
        println!(
            "| {k} | {} calls, {:.0} ms | {} calls, {:.0} ms |",
            at_once[0].0,
            median(at_once.iter().map(|m| m.1)),
            one_by_one[0].0,
            median(one_by_one.iter().map(|m| m.1)),
        );
        publisher.close().await?;
    }

    let room = client.rooms(MemoryStore::new()).create().send().await?;
    let stage = room.join("stage").connect(client.peer()).await?;
    for mic in stage
        .publish_tracks([
            ("mic".into(), FrameCodec::Opus),
            ("cam".into(), FrameCodec::Vp8),
        ])
        .await?
    {
        if mic.codec() == FrameCodec::Opus {
            tokio::spawn(async move { mic.send_silence(Duration::from_secs(600)).await });
        }
    }
    let mut joins = Vec::new();
    let mut calls = 0;
    for i in 0..JOINS {
        emulator.reset_stats();
        let start = Instant::now();
        let peer = room.join(format!("j{i}")).connect(client.peer()).await?;
        joins.push(start.elapsed().as_secs_f64() * 1000.0);
        calls = emulator.stats().total();
        peer.leave().await?;
    }
    joins.sort_by(f64::total_cmp);
    println!();
    println!(
        "server-side join into a room with 2 tracks: median {:.0} ms, slowest {:.0} ms, {calls} API calls (room peer's included)",
        median(joins.iter().copied()),
        joins[joins.len() - 1],
    );
    room.close().await?;

    let mut stages = vec![Stage::new(&client, "MemoryStore", MemoryStore::new(), None).await?];
    #[cfg(feature = "redis")]
    if let Ok(url) = std::env::var("REDIS_URL") {
        let store = cloudflare_calls::room::RedisStore::connect(&url).await?;
        stages.push(Stage::new(&client, "RedisStore", store, Some(url)).await?);
    }
    // Taken in turns, so that what else the machine does falls on every store alike.
    for _ in 0..OFFER_TRIALS {
        for stage in &mut stages {
            stage.trial().await?;
        }
    }
    println!();
    println!(
        "| store | joins/s, one at a time | joins/s, {IN_FLIGHT} at a time | leaves/s, one at a time | store operations (round trips) per join | Redis commands per join, scripts' included |"
    );
    println!("|---|---|---|---|---|---|");
    for stage in &stages {
        println!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.1} | {} |",
            stage.name,
            median(stage.in_series.iter().copied()),
            median(stage.at_once.iter().copied()),
            median(stage.leaves.iter().copied()),
            stage.operations,
            stage.commands,
        );
    }
    if let [memory, other, ..] = &stages[..] {
        let share = |a: &[f64], b: &[f64]| median(a.iter().zip(b).map(|(a, b)| a / b * 100.0));
        println!();
        println!(
            "{} / {}, trial by trial (median of {OFFER_TRIALS}): {:.0}% one at a time, {:.0}% {IN_FLIGHT} at a time",
            other.name,
            memory.name,
            share(&other.in_series, &memory.in_series),
            share(&other.at_once, &memory.at_once),
        );
    }
    for stage in stages {
        stage.room.close().await?;
    }
    Ok(())
}

/// Browser joins per trial, one at a time and then [`IN_FLIGHT`] at a time.
const OFFER_JOINS: usize = 200;
/// Trials per store, taken in turns.
const OFFER_TRIALS: usize = 5;

/// A room in one store, with two published tracks, that browsers' offers join.
struct Stage {
    name: &'static str,
    room: Room,
    /// The publisher of the room's tracks and its tracks, kept for the whole run.
    _stage: RoomPeer,
    _tracks: Vec<OutgoingTrack>,
    calls: Arc<AtomicUsize>,
    redis: Option<String>,
    /// Joins per second, trial by trial.
    in_series: Vec<f64>,
    at_once: Vec<f64>,
    /// Leaves per second of the joins made one at a time, one at a time, the room emptying.
    leaves: Vec<f64>,
    /// Store operations and Redis commands per join, read in the first trial.
    operations: f64,
    commands: String,
}

impl Stage {
    async fn new(
        client: &Client,
        name: &'static str,
        store: impl Store,
        redis: Option<String>,
    ) -> Result<Self, Failure> {
        let calls = Arc::new(AtomicUsize::new(0));
        let store = Counting {
            inner: store,
            calls: calls.clone(),
        };
        let room = client.rooms(store).create().send().await?;
        let stage = room.join("stage").connect(client.peer()).await?;
        let tracks = stage
            .publish_tracks([
                ("mic".into(), FrameCodec::Opus),
                ("cam".into(), FrameCodec::Vp8),
            ])
            .await?;
        Ok(Self {
            name,
            room,
            _stage: stage,
            _tracks: tracks,
            calls,
            redis,
            in_series: Vec::new(),
            at_once: Vec::new(),
            leaves: Vec::new(),
            operations: 0.0,
            commands: "–".into(),
        })
    }

    /// Joins [`OFFER_JOINS`] offers one at a time, then [`IN_FLIGHT`] at a time, each batch
    /// followed by its leaves.
    async fn trial(&mut self) -> Result<(), Failure> {
        let offer = include_str!("../tests/fixtures/sdp/chromium_tracks_datachannel.sdp");
        let commands_before = redis_commands(self.redis.as_deref()).await?;
        self.calls.store(0, Ordering::Relaxed);
        let (in_series, joined) = joins_per_second(&self.room, offer, 1, "s").await?;
        if self.in_series.is_empty() {
            self.operations = self.calls.load(Ordering::Relaxed) as f64 / OFFER_JOINS as f64;
            let after = redis_commands(self.redis.as_deref()).await?;
            if let (Some(before), Some(after)) = (commands_before, after) {
                self.commands = format!("{:.1}", (after - before) as f64 / OFFER_JOINS as f64);
            }
        }
        self.in_series.push(in_series);
        let start = Instant::now();
        leave(joined).await?;
        self.leaves
            .push(OFFER_JOINS as f64 / start.elapsed().as_secs_f64());
        let (at_once, joined) = joins_per_second(&self.room, offer, IN_FLIGHT, "c").await?;
        self.at_once.push(at_once);
        leave(joined).await?;
        Ok(())
    }
}

/// Joins in flight at once in the second measurement: enough to keep this machine's two cores
/// busy, as when many people open their calls' links at once.
const IN_FLIGHT: usize = 32;

/// Joins the offer `OFFER_JOINS` times, `in_flight` at a time; returns joins per second and
/// the participants.
async fn joins_per_second(
    room: &Room,
    offer: &str,
    in_flight: usize,
    prefix: &str,
) -> Result<(f64, Vec<Participant>), Failure> {
    use futures_util::StreamExt;
    let start = Instant::now();
    // Only the participant is kept: a server hands the answer and the pending offer to the
    // browser, and the pending offer holds the session until it is answered or dropped.
    let joined: Vec<_> = futures_util::stream::iter(0..OFFER_JOINS)
        .map(|i| async move {
            let joining = room.join(format!("{prefix}{i}")).offer(Offer::new(offer));
            joining.send().await.map(|j| j.participant)
        })
        .buffer_unordered(in_flight)
        .collect()
        .await;
    let elapsed = start.elapsed().as_secs_f64();
    let joined = joined.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok((OFFER_JOINS as f64 / elapsed, joined))
}

async fn leave(participants: Vec<Participant>) -> Result<(), Failure> {
    for participant in participants {
        participant.leave().await?;
    }
    Ok(())
}

/// Redis's count of commands processed so far (`INFO stats`), when there is a Redis.
async fn redis_commands(url: Option<&str>) -> Result<Option<u64>, Failure> {
    #[cfg(feature = "redis")]
    if let Some(url) = url {
        let mut connection = redis::Client::open(url)?
            .get_multiplexed_async_connection()
            .await?;
        let info: String = redis::cmd("INFO")
            .arg("stats")
            .query_async(&mut connection)
            .await?;
        let count = info
            .lines()
            .find_map(|l| l.strip_prefix("total_commands_processed:"))
            .and_then(|n| n.trim().parse().ok());
        return Ok(count);
    }
    let _ = url;
    Ok(None)
}

/// Counts the store operations the room makes.
struct Counting<S> {
    inner: S,
    calls: Arc<AtomicUsize>,
}

impl<S> Counting<S> {
    fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
}

impl<S: Store> Store for Counting<S> {
    fn create_room(&self, room: RoomRecord) -> StoreFuture<'_, ()> {
        self.count();
        self.inner.create_room(room)
    }
    fn close_room(&self, room: &str) -> StoreFuture<'_, Vec<ParticipantRecord>> {
        self.count();
        self.inner.close_room(room)
    }
    fn snapshot(&self, room: &str) -> StoreFuture<'_, RoomSnapshot> {
        self.count();
        self.inner.snapshot(room)
    }
    fn snapshot_of(&self, room: &str, participant: &str) -> StoreFuture<'_, RoomSnapshot> {
        self.count();
        self.inner.snapshot_of(room, participant)
    }
    fn add_participant(
        &self,
        room: &str,
        p: ParticipantRecord,
    ) -> StoreFuture<'_, Vec<ParticipantRecord>> {
        self.count();
        self.inner.add_participant(room, p)
    }
    fn update_participant(&self, room: &str, p: ParticipantRecord) -> StoreFuture<'_, ()> {
        self.count();
        self.inner.update_participant(room, p)
    }
    fn remove_participant(
        &self,
        room: &str,
        id: &str,
    ) -> StoreFuture<'_, Option<ParticipantRecord>> {
        self.count();
        self.inner.remove_participant(room, id)
    }
    fn append(&self, room: &str, event: RoomEvent) -> StoreFuture<'_, u64> {
        self.count();
        self.inner.append(room, event)
    }
    fn subscribe(&self, room: &str) -> StoreFuture<'_, EventStream> {
        self.count();
        self.inner.subscribe(room)
    }
    fn lease(&self, room: &str, session: &str, ttl: Duration) -> StoreFuture<'_, Lease> {
        self.count();
        self.inner.lease(room, session, ttl)
    }
    fn release(&self, lease: Lease) -> StoreFuture<'_, ()> {
        self.count();
        self.inner.release(lease)
    }
    fn renews_leases(&self) -> bool {
        self.inner.renews_leases()
    }
    fn renew(&self, lease: &Lease, ttl: Duration) -> StoreFuture<'_, bool> {
        self.count();
        self.inner.renew(lease, ttl)
    }
}

/// A fresh peer pulls `tracks`, at once or one by one; returns the API calls made and the
/// milliseconds until every pulled track delivered a frame.
async fn measure(
    emulator: &Emulator,
    client: &Client,
    tracks: &[RemoteTrack],
    at_once: bool,
) -> Result<(usize, f64), Failure> {
    let peer = client.peer().codecs([FrameCodec::Opus]).connect().await?;
    emulator.reset_stats();
    let start = Instant::now();
    let mut pulled = Vec::new();
    if at_once {
        pulled = peer.pull_all(tracks.iter().cloned()).await?;
    } else {
        for track in tracks {
            pulled.push(peer.pull(track.clone()).await?);
        }
    }
    for track in &mut pulled {
        tokio::time::timeout(Duration::from_secs(10), track.recv())
            .await?
            .ok_or("a track ended")?;
    }
    let elapsed = start.elapsed().as_secs_f64() * 1000.0;
    let calls = emulator.stats().total();
    peer.close().await?;
    Ok((calls, elapsed))
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
