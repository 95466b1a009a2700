//! Rooms in Redis, served by two backend processes: two tokio runtimes, each with its own
//! `Client` and `RedisStore`, against one emulator and one `redis-server` of the test's own.

#![cfg(feature = "redis")]

use crate::support::room as room_support;

use crate::support::redis as redis_server;

use room_support::{client, nothing_open};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use calls_emulator::Emulator;
use cloudflare_calls::peer::FrameCodec;
use cloudflare_calls::room::{
    EventStream, Lease, LeaveReason, ParticipantRecord, Payload, RedisStore, Role, RoomError,
    RoomEvent, RoomRecord, RoomSnapshot, RoomUpdate, Rooms, Store, StoreFuture,
};
use cloudflare_calls::{Client, Offer};
use futures_util::StreamExt;

/// A second backend process: its own runtime, client and store connection.
fn process_b() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// Skips the test without Redis; otherwise a Redis and an emulator of the test's own, a
/// client of the emulator, and rooms in that Redis.
async fn rooms_on_redis() -> Option<(redis_server::Redis, Emulator, Client, Rooms)> {
    if redis_server::skip_without_redis() {
        return None;
    }
    let redis = redis_server::Redis::start().await;
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let rooms = client.rooms(RedisStore::connect(&redis.url()).await.unwrap());
    Some((redis, emulator, client, rooms))
}

fn is_text(update: &RoomUpdate, want: &str) -> bool {
    matches!(&update.event, RoomEvent::Message { payload: Payload::Text(t), .. } if t == want)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_serve_one_room() {
    if redis_server::skip_without_redis() {
        return;
    }
    let redis = redis_server::Redis::start().await;
    let emulator = Emulator::start().await.unwrap();
    let client_a = client(&emulator);
    let rooms_a = client_a.rooms(RedisStore::connect(&redis.url()).await.unwrap());
    let room_a = rooms_a.create().id("shared").send().await.unwrap();

    // Process B follows the room's events from before anyone joins.
    let b = process_b();
    let (url, client_b) = (redis.url(), client(&emulator));
    let (events_open, events_opened) = tokio::sync::oneshot::channel();
    let watcher = b.spawn({
        let (url, client_b) = (url.clone(), client_b.clone());
        async move {
            let rooms_b = client_b.rooms(RedisStore::connect(&url).await.unwrap());
            let room_b = rooms_b.open("shared").await.unwrap();
            let mut events = room_b.events().await.unwrap();
            events_open.send(()).unwrap();
            let mut seen = Vec::new();
            while let Some(update) = events.next().await {
                let update = update.unwrap();
                let done = is_text(&update, "from B");
                seen.push(update);
                if done {
                    return seen;
                }
            }
            seen
        }
    });
    events_opened.await.unwrap();

    // Alice joins through A and publishes a microphone.
    let mut alice = room_a.join("alice").connect(client_a.peer()).await.unwrap();
    let mic = alice.publish_track("mic", FrameCodec::Opus).await.unwrap();
    let sending = tokio::spawn(async move { mic.send_silence(Duration::from_secs(20)).await });

    // Bob joins through B: he pulls Alice's microphone, published through A.
    let (joined, bob_joined) = tokio::sync::oneshot::channel();
    let (go_on, proceed) = tokio::sync::oneshot::channel::<()>();
    let bob = b.spawn({
        let (url, client_b) = (url.clone(), client_b.clone());
        async move {
            let rooms_b = client_b.rooms(RedisStore::connect(&url).await.unwrap());
            let room_b = rooms_b.open("shared").await.unwrap();
            let mut bob = room_b.join("bob").connect(client_b.peer()).await.unwrap();
            let mut tracks = bob.take_tracks();
            assert_eq!(tracks.len(), 1, "bob pulled alice's microphone");
            for _ in 0..20 {
                tokio::time::timeout(Duration::from_secs(10), tracks[0].recv())
                    .await
                    .expect("a frame of alice's microphone within 10 s")
                    .unwrap();
            }
            let id = bob.participant().id().to_owned();
            let session = bob.participant().session().id().to_owned();
            joined.send((id.clone(), session)).unwrap();
            // Hello through A, then a message through B: both reach Bob.
            let mut heard = Vec::new();
            while heard.len() < 2 {
                let update = bob.recv_timeout(Duration::from_secs(10)).await.expect("messages");
                if is_text(&update, "Hello!") || is_text(&update, "from B") {
                    heard.push(update.seq);
                }
                if is_text(&update, "Hello!") {
                    room_b.send_message("from B").await.unwrap();
                }
            }
            proceed.await.unwrap();
            // Kicked through A: the room channel closes under Bob.
            let mut kicked = false;
            while let Some(update) = bob.recv_timeout(Duration::from_secs(10)).await {
                if matches!(&update.event, RoomEvent::ParticipantLeft { participant, reason: LeaveReason::Kicked } if participant.id == id)
                {
                    kicked = true;
                    break;
                }
            }
            assert!(kicked, "bob learns he was kicked");
            heard
        }
    });
    let (bob_id, bob_session) = bob_joined.await.unwrap();
    room_a.send_message("Hello!").await.unwrap();
    let mut alice_heard = 0;
    while alice_heard < 2 {
        let update = alice
            .recv_timeout(Duration::from_secs(10))
            .await
            .expect("messages at alice");
        if is_text(&update, "Hello!") || is_text(&update, "from B") {
            alice_heard += 1;
        }
    }
    go_on.send(()).unwrap();
    room_a.kick(&bob_id).await.unwrap();
    let heard = bob.await.unwrap();
    assert_eq!(heard.len(), 2);
    nothing_open(&client_a, &[bob_session]).await;

    // B's event stream shows A's and B's doings in one order, without gaps.
    let seen = watcher.await.unwrap();
    let seqs: Vec<u64> = seen.iter().map(|u| u.seq).collect();
    assert_eq!(
        seqs,
        (seqs[0]..seqs[0] + seqs.len() as u64).collect::<Vec<_>>()
    );
    let joined: Vec<&str> = seen
        .iter()
        .filter_map(|u| match &u.event {
            RoomEvent::ParticipantJoined { participant } => Some(participant.identity.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(joined, ["alice", "bob"]);
    assert_eq!(emulator.stats().with_status(406), 0);

    sending.abort();
    alice.leave().await.unwrap();
    room_a.close().await.unwrap();
    b.shutdown_background();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutations_of_one_session_from_two_processes_never_overlap() {
    if redis_server::skip_without_redis() {
        return;
    }
    let redis = redis_server::Redis::start().await;
    let emulator = Emulator::start().await.unwrap();
    let client_a = client(&emulator);
    let rooms_a = client_a.rooms(RedisStore::connect(&redis.url()).await.unwrap());
    let room_a = rooms_a.create().id("busy").send().await.unwrap();
    let publisher = room_a
        .join("publisher")
        .connect(client_a.peer())
        .await
        .unwrap();
    let names: Vec<String> = (0..12).map(|i| format!("t{i}")).collect();
    let tracks = names.iter().map(|n| (n.clone(), FrameCodec::Opus));
    let _pushed = publisher.publish_tracks(tracks).await.unwrap();
    let id = publisher.participant().id().to_owned();
    emulator.reset_stats();

    // A and B each take half of the tracks down, one call at a time, at the same time.
    let b = process_b();
    let from_b = b.spawn({
        let (url, client_b, id) = (redis.url(), client(&emulator), id.clone());
        let names = names[6..].to_vec();
        async move {
            let rooms_b = client_b.rooms(RedisStore::connect(&url).await.unwrap());
            let participant = rooms_b
                .open("busy")
                .await
                .unwrap()
                .participant(&id)
                .await
                .unwrap();
            for name in names {
                participant.unpublish([name]).await.unwrap();
            }
        }
    });
    let participant = room_a.participant(&id).await.unwrap();
    for name in &names[..6] {
        participant.unpublish([name]).await.unwrap();
    }
    from_b.await.unwrap();
    assert_eq!(emulator.stats().calls("close_tracks"), 12);
    assert_eq!(
        emulator.stats().with_status(406),
        0,
        "two mutations overlapped"
    );
    let record = participant_record(&room_a, &id).await;
    assert!(record.published.is_empty(), "{record:?}");
    room_a.close().await.unwrap();
    b.shutdown_background();
}

async fn participant_record(room: &cloudflare_calls::room::Room, id: &str) -> ParticipantRecord {
    let snapshot = room.snapshot().await.unwrap();
    snapshot
        .participants
        .into_iter()
        .find(|p| p.info.id == id)
        .unwrap()
}

/// A store that kills Redis just before the join records its session: a crash mid-join.
struct KillMidJoin {
    inner: RedisStore,
    redis: Arc<tokio::sync::Mutex<redis_server::Redis>>,
    armed: Mutex<bool>,
    sessions: Mutex<Vec<String>>,
}

impl Store for KillMidJoin {
    fn create_room(&self, room: RoomRecord) -> StoreFuture<'_, ()> {
        self.inner.create_room(room)
    }
    fn close_room(&self, room: &str) -> StoreFuture<'_, Vec<ParticipantRecord>> {
        self.inner.close_room(room)
    }
    fn snapshot(&self, room: &str) -> StoreFuture<'_, RoomSnapshot> {
        self.inner.snapshot(room)
    }
    fn add_participant(
        &self,
        room: &str,
        p: ParticipantRecord,
    ) -> StoreFuture<'_, Vec<ParticipantRecord>> {
        self.inner.add_participant(room, p)
    }
    fn update_participant(&self, room: &str, p: ParticipantRecord) -> StoreFuture<'_, ()> {
        if !p.info.session_id.is_empty() {
            self.sessions
                .lock()
                .unwrap()
                .push(p.info.session_id.clone());
        }
        if std::mem::take(&mut *self.armed.lock().unwrap()) {
            self.redis
                .try_lock()
                .expect("nobody else holds the server")
                .kill();
        }
        self.inner.update_participant(room, p)
    }
    fn remove_participant(
        &self,
        room: &str,
        id: &str,
    ) -> StoreFuture<'_, Option<ParticipantRecord>> {
        self.inner.remove_participant(room, id)
    }
    fn append(&self, room: &str, event: RoomEvent) -> StoreFuture<'_, u64> {
        self.inner.append(room, event)
    }
    fn subscribe(&self, room: &str) -> StoreFuture<'_, EventStream> {
        self.inner.subscribe(room)
    }
    fn lease(&self, room: &str, session: &str, ttl: Duration) -> StoreFuture<'_, Lease> {
        self.inner.lease(room, session, ttl)
    }
    fn release(&self, lease: Lease) -> StoreFuture<'_, ()> {
        self.inner.release(lease)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_during_a_join_leaves_no_ghost_and_no_session() {
    if redis_server::skip_without_redis() {
        return;
    }
    let redis = Arc::new(tokio::sync::Mutex::new(redis_server::Redis::start().await));
    let url = redis.lock().await.url();
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let store = Arc::new(KillMidJoin {
        inner: RedisStore::connect(&url).await.unwrap(),
        redis: redis.clone(),
        armed: Mutex::new(false),
        sessions: Mutex::new(Vec::new()),
    });
    let rooms = client.rooms(store.clone());
    let room = rooms.create().id("fragile").send().await.unwrap();

    // A browser's offer (captured from Chromium): the session is created and its tracks
    // pushed, then Redis dies as the join records them.
    let offer = room_support::OFFER;
    *store.armed.lock().unwrap() = true;
    let err = room
        .join("alice")
        .offer(Offer::new(offer))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(Some(&err), Some(RoomError::Store(_))), "{err}");
    let sessions = store.sessions.lock().unwrap().clone();
    assert_eq!(sessions.len(), 1, "the join created one session");
    nothing_open(&client, &sessions[..1]).await;

    // After the restart (no persistence) nothing of the room or the join is left.
    redis.lock().await.restart().await;
    let err = rooms.open("fragile").await.unwrap_err();
    assert!(
        matches!(Some(&err), Some(RoomError::RoomNotFound(_))),
        "{err}"
    );
}

#[tokio::test]
async fn the_redis_password_never_shows() {
    if redis_server::skip_without_redis() {
        return;
    }
    let redis = redis_server::Redis::start().await;
    let url = redis.url().replace("redis://", "redis://:hunter2@");
    // This server has no password, so authenticating fails: the error must not repeat it.
    match RedisStore::connect(&url).await {
        Ok(store) => assert!(!format!("{store:?}").contains("hunter2")),
        Err(e) => {
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains("hunter2"), "{shown}");
        }
    }
    let unreachable = "redis://:hunter2@127.0.0.1:1/";
    let e = RedisStore::connect(unreachable).await.unwrap_err();
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    // Nor through a cluster's nodes or the Sentinels, reachable (not a cluster, not a
    // Sentinel) or not.
    for url in [url.as_str(), unreachable] {
        let cluster = RedisStore::connect_cluster([url]).await.unwrap_err();
        let sentinel = RedisStore::connect_sentinel([url], "rooms")
            .await
            .unwrap_err();
        for e in [cluster, sentinel] {
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains("hunter2"), "{shown}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_under_an_expired_lease_is_refused() {
    if redis_server::skip_without_redis() {
        return;
    }
    let redis = redis_server::Redis::start().await;
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let store = Arc::new(RedisStore::connect(&redis.url()).await.unwrap());
    let room = client
        .rooms(store.clone())
        .create()
        .id("fenced")
        .send()
        .await
        .unwrap();
    let alice = room.join("alice").connect(client.peer()).await.unwrap();
    let session = alice.participant().session().id().to_owned();
    let record = participant_record(&room, alice.participant().id()).await;

    // A holder stalls past its lease; another process takes the session over.
    let stalled = store
        .lease("fenced", &session, Duration::from_millis(200))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let current = store
        .lease("fenced", &session, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(current.token > stalled.token, "fencing tokens increase");
    let err = store
        .update_fenced("fenced", record.clone(), &stalled)
        .await
        .unwrap_err();
    assert!(matches!(err, RoomError::LeaseLost(_)), "{err}");
    store
        .update_fenced("fenced", record, &current)
        .await
        .unwrap();
    store.release(current).await.unwrap();
    room.close().await.unwrap();
}

/// Redis loses its data while a room is open (a restart without persistence, here a
/// `FLUSHALL`): the participant is told the room closed and nothing of it stays open on the
/// SFU; the app's event stream ends with `RoomLost` instead of going on; a room made again
/// with the same id is a new room whose events start over, in a new stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_the_store_lost_is_closed_for_its_participants_and_not_mixed_with_a_new_one() {
    let Some((redis, _emulator, client, rooms)) = rooms_on_redis().await else {
        return;
    };
    let room = rooms.create().id("lost").send().await.unwrap();
    let mut events = room.events().await.unwrap();
    let mut alice = room.join("alice").connect(client.peer()).await.unwrap();
    let alice_session = alice.peer().session().id().to_owned();
    let joined = events.next().await.unwrap().unwrap();
    assert!(matches!(joined.event, RoomEvent::ParticipantJoined { .. }));

    let mut admin = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let () = redis::cmd("FLUSHALL")
        .query_async(&mut admin)
        .await
        .unwrap();

    // The app's stream says the room is lost, then ends.
    let next = tokio::time::timeout(Duration::from_secs(15), events.next())
        .await
        .expect("the event stream reacts within 15 s");
    assert!(
        matches!(next, Some(Err(RoomError::RoomLost(ref id))) if id == "lost"),
        "{next:?}"
    );
    assert!(events.next().await.is_none());

    // Alice hears that the room closed, and her channel and tracks are closed on the SFU.
    let closed = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(update) = alice.recv().await {
            if update.event == RoomEvent::RoomClosed {
                return true;
            }
        }
        false
    })
    .await
    .expect("alice hears within 15 s");
    assert!(closed, "alice's channel closed without room_closed");
    // Told first, then closed: her channels close on the SFU right after.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let state = client.session(&alice_session).state().await.unwrap();
        let open = state
            .data_channels
            .iter()
            .any(|c| c.status == Some(cloudflare_calls::session::ResourceStatus::Active));
        if !open {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "alice's channels still open: {state:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    nothing_open(&client, &[alice_session]).await;

    // The id can be used again; the new room's events are its own.
    let again = rooms.create().id("lost").send().await.unwrap();
    let mut fresh = again.events().await.unwrap();
    let seq = again.send_message("new room").await.unwrap();
    let first = fresh.next().await.unwrap().unwrap();
    assert_eq!(first.seq, seq);
    assert!(is_text(&first, "new room"));
}

/// Every key of a room carries the store's TTL, whichever write made it (the record, the
/// participants, the broadcaster, the log), and an abandoned room's keys all expire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_room_expires_whole() {
    if redis_server::skip_without_redis() {
        return;
    }
    let redis = redis_server::Redis::start().await;
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let ttl = 3;
    let store = RedisStore::connect(&redis.url()).await.unwrap();
    let rooms = client.rooms(store.room_ttl(Duration::from_secs(ttl)));
    let room = rooms
        .create()
        .id("ttl")
        .max_participants(4)
        .send()
        .await
        .unwrap();
    let _alice = room.join("alice").connect(client.peer()).await.unwrap();
    let _bob = room
        .join("bob")
        .role(Role::Broadcaster)
        .connect(client.peer())
        .await
        .unwrap();
    room.send_message("hello").await.unwrap();

    let mut admin = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("calls:{ttl}:*")
        .query_async(&mut admin)
        .await
        .unwrap();
    for part in [
        "room",
        "max",
        "participants",
        "identities",
        "broadcaster",
        "seq",
        "events",
    ] {
        assert!(
            keys.contains(&format!("calls:{{ttl}}:{part}")),
            "{part} is among {keys:?}"
        );
    }
    for key in &keys {
        let left: i64 = redis::cmd("TTL")
            .arg(key)
            .query_async(&mut admin)
            .await
            .unwrap();
        assert!(
            (1..=ttl as i64).contains(&left),
            "{key} expires in {left} s"
        );
    }
    tokio::time::sleep(Duration::from_secs(ttl + 1)).await;
    let left: Vec<String> = redis::cmd("KEYS")
        .arg("calls:{ttl}:*")
        .query_async(&mut admin)
        .await
        .unwrap();
    assert!(left.is_empty(), "still there: {left:?}");
}

/// Joins that Redis refuses get the typed errors one process gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_through_redis_are_refused_as_in_one_process() {
    let Some((_redis, _emulator, client, rooms)) = rooms_on_redis().await else {
        return;
    };
    let room = rooms
        .create()
        .id("pair")
        .max_participants(2)
        .send()
        .await
        .unwrap();
    let alice = room.join("alice").connect(client.peer()).await.unwrap();
    let again = room.join("alice").connect(client.peer()).await.unwrap_err();
    assert!(
        matches!(&again, RoomError::IdentityTaken { identity, .. } if identity == "alice"),
        "{again}"
    );
    let bob = room.join("bob").connect(client.peer()).await.unwrap();
    let full = room.join("carol").connect(client.peer()).await.unwrap_err();
    assert!(matches!(full, RoomError::RoomFull { max: 2, .. }), "{full}");
    let snapshot = room.snapshot().await.unwrap();
    let identities: Vec<&str> = snapshot
        .participants
        .iter()
        .map(|p| p.info.identity.as_str())
        .collect();
    assert_eq!(identities.len(), 2, "{identities:?}");
    alice.leave().await.unwrap();
    bob.leave().await.unwrap();
    room.close().await.unwrap();
}

/// A browser's join through Redis reads the room from its own reservation: it pulls the
/// broadcast's tracks. A second broadcaster, and any join once the room closed, are refused
/// as in one process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_through_redis_sees_the_room_and_is_refused_once_it_closed() {
    let Some((_redis, _emulator, client, rooms)) = rooms_on_redis().await else {
        return;
    };
    let offer = Offer::new(room_support::OFFER);
    let room = rooms.create().id("stage").send().await.unwrap();
    let stage = room
        .join("stage")
        .role(Role::Broadcaster)
        .connect(client.peer())
        .await
        .unwrap();
    let _tracks = stage
        .publish_tracks([
            ("mic".into(), FrameCodec::Opus),
            ("cam".into(), FrameCodec::Vp8),
        ])
        .await
        .unwrap();
    let second = room.start_broadcast(offer.clone()).await.unwrap_err();
    assert!(matches!(second, RoomError::BroadcastTaken(_)), "{second}");

    let viewer = room
        .watch("dora")
        .offer(offer.clone())
        .send()
        .await
        .unwrap();
    let mut pulled: Vec<&str> = viewer
        .pulled
        .iter()
        .map(|p| p.track.name.as_str())
        .collect();
    pulled.sort_unstable();
    assert_eq!(pulled, ["cam", "mic"]);

    drop(viewer.negotiation);
    viewer.participant.leave().await.unwrap();
    stage.leave().await.unwrap();
    room.close().await.unwrap();
    let closed = room.join("late").offer(offer).send().await.unwrap_err();
    assert!(matches!(closed, RoomError::RoomClosed(_)), "{closed}");
}

/// What a reservation reads back is the room's publishers, and only them: not a member who
/// publishes nothing, not a join that was never answered, not a publisher that left. Both
/// stores keep to it, Redis through its set of publishers, which every write keeps in step.
/// A read for one participant (a leave's) holds that participant alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reservation_reads_the_publishers_and_a_leave_one_record() {
    let Some((_redis, _emulator, client, rooms)) = rooms_on_redis().await else {
        return;
    };
    let in_memory = client.rooms(cloudflare_calls::room::MemoryStore::new());
    for (store, rooms) in [("RedisStore", rooms), ("MemoryStore", in_memory)] {
        let offer = Offer::new(room_support::OFFER);
        let room = rooms.create().send().await.unwrap();
        let stage = room.join("stage").connect(client.peer()).await.unwrap();
        let _tracks = stage
            .publish_tracks([("mic".into(), FrameCodec::Opus)])
            .await
            .unwrap();
        let quiet = room.join("quiet").connect(client.peer()).await.unwrap();
        let unanswered = room.join("unanswered").offer(offer).send().await.unwrap();
        // Its endpoint never answers: the session is left alone, so the room can close it.
        drop(unanswered.negotiation);
        let gone = room.join("gone").connect(client.peer()).await.unwrap();
        let _gone_tracks = gone
            .publish_tracks([("mic".into(), FrameCodec::Opus)])
            .await
            .unwrap();
        let gone_id = gone.participant().id().to_owned();
        gone.leave().await.unwrap();
        let pending = participant_record(&room, unanswered.participant.id()).await;
        assert!(!pending.published.is_empty(), "the offer pushes tracks");

        let mut newcomer = participant_record(&room, quiet.participant().id()).await;
        newcomer.info.id = "p-newcomer".into();
        newcomer.info.identity = "newcomer".into();
        newcomer.announced = false;
        let publishers = rooms
            .store()
            .add_participant(room.id(), newcomer)
            .await
            .unwrap();
        let names: Vec<_> = publishers
            .iter()
            .map(|p| p.info.identity.as_str())
            .collect();
        assert_eq!(names, ["stage"], "{store}");

        let one = rooms.store().snapshot_of(room.id(), "p-newcomer").await;
        let one = one.unwrap();
        let ids: Vec<_> = one
            .participants
            .iter()
            .map(|p| p.info.id.as_str())
            .collect();
        assert_eq!((one.room.id.as_str(), ids), (room.id(), vec!["p-newcomer"]));
        assert_eq!(one.seq, room.snapshot().await.unwrap().seq, "{store}");
        let left = rooms.store().snapshot_of(room.id(), &gone_id).await;
        assert!(left.unwrap().participants.is_empty(), "{store}");
        let none = rooms
            .store()
            .snapshot_of("no-such-room", "p-newcomer")
            .await;
        assert!(matches!(none, Err(RoomError::RoomNotFound(_))), "{store}");
        room.close().await.unwrap();
    }
}

/// A change that outlasts its lease's few seconds keeps the session to itself: the lease is
/// renewed while the change goes on, so another process cannot take it meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_that_outlasts_its_lease_renews_it() {
    let Some((redis, emulator, client, rooms)) = rooms_on_redis().await else {
        return;
    };
    // The host does not check the room meanwhile: it would finish the kick itself once the
    // lease lapsed, and hold the lease as the kick does.
    let quiet = rooms.create().health_interval(Duration::from_secs(60));
    let room = quiet.send().await.unwrap();
    let mut witness = room.join("witness").connect(client.peer()).await.unwrap();
    let (kim, silence) = crate::lifecycle::join_speaking(&room, &client, "kim").await;
    let (kim_id, kim_session) = (
        kim.participant().id().to_owned(),
        kim.participant().session().id().to_owned(),
    );

    // The SFU holds the kick's closing call for 8 s, past the lease's 6 s.
    emulator.inject(calls_emulator::Fault::latency(Duration::from_secs(8)).on("close_tracks"));
    let kick = tokio::spawn({
        let (room, kim_id) = (room.clone(), kim_id.clone());
        async move { room.kick(&kim_id).await }
    });
    while !witness.recv().await.is_some_and(|u| {
        matches!(&u.event, RoomEvent::ParticipantLeft { participant, .. } if participant.id == kim_id)
    }) {}
    let other = RedisStore::connect(&redis.url()).await.unwrap();
    let taken = tokio::time::timeout(
        Duration::from_secs(7),
        other.lease(room.id(), &kim_session, Duration::from_secs(1)),
    )
    .await;
    assert!(
        taken.is_err(),
        "another process took the lease of a change under way"
    );
    kick.await.unwrap().unwrap();
    emulator.clear_faults();
    let snapshot = room.snapshot().await.unwrap();
    assert!(snapshot.participants.iter().all(|p| p.info.id != kim_id));
    silence.abort();
    witness.leave().await.unwrap();
    room.close().await.unwrap();
}

/// What [`rooms_over_tls_process`] reads: the `rediss://` URL of a Redis whose certificate
/// authority is in `SSL_CERT_FILE`.
const TLS_CHILD: &str = "CALLS_TLS_REDIS_CHILD";

/// Rooms in a Redis reached over TLS (`rediss://`). A process that trusts the server's
/// certificate authority (`SSL_CERT_FILE`, which is the process's own: hence a process of its
/// own) keeps its rooms there; this one, which does not, is refused with a typed error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_in_a_redis_over_tls() {
    if redis_server::skip_without_redis() {
        return;
    }
    let redis = redis_server::TlsRedis::start().await;
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "--exact",
            "redis::rooms_over_tls_process",
            "--ignored",
            "--nocapture",
        ])
        .env(TLS_CHILD, redis.url())
        .env("SSL_CERT_FILE", redis.ca());
    let child = tokio::task::spawn_blocking(move || child.output().unwrap())
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&child.stdout);
    assert!(
        child.status.success() && said.contains("over TLS: heard"),
        "the process that trusts the CA keeps its rooms in Redis over TLS: {said}"
    );

    let untrusted = RedisStore::connect(&redis.url()).await.unwrap_err();
    let said = untrusted.to_string();
    assert!(matches!(untrusted, RoomError::Store(_)), "{said}");
    assert!(said.contains("certificate"), "the error says why: {said}");
}

/// Run by [`rooms_in_a_redis_over_tls`] as a process of its own: a room in the Redis of
/// [`TLS_CHILD`], a participant, and a message it hears through the room's event log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a child process of rooms_in_a_redis_over_tls"]
async fn rooms_over_tls_process() {
    let Ok(url) = std::env::var(TLS_CHILD) else {
        return;
    };
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let rooms = client.rooms(RedisStore::connect(&url).await.unwrap());
    let room = rooms.create().send().await.unwrap();
    let mut alice = room.join("alice").connect(client.peer()).await.unwrap();
    room.send_message("over TLS").await.unwrap();
    let heard = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let update = alice.recv().await.expect("the room channel is open");
            if is_text(&update, "over TLS") {
                return update;
            }
        }
    })
    .await
    .expect("alice hears the message");
    println!("over TLS: heard seq {}", heard.seq);
    alice.leave().await.unwrap();
    room.close().await.unwrap();
}
