//! Rooms over their lifetime, against the emulator: many participants coming and going at
//! once, a participant whose session dies, an empty room closing by itself, and a join that
//! fails halfway. Each test checks what the room tells its participants and its app, and
//! what is left open on the SFU.

#![cfg(feature = "room")]

use crate::support::room as room_support;

use room_support::{client, nothing_open};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use calls_emulator::{Emulator, Fault};
use cloudflare_calls::Client;
use cloudflare_calls::peer::FrameCodec;
use cloudflare_calls::room::{
    EventStream, Lease, LeaveReason, Leaving, MemoryStore, ParticipantRecord, Room, RoomError,
    RoomEvent, RoomPeer, RoomRecord, RoomSnapshot, RoomUpdate, Store, StoreFuture,
};
use futures_util::StreamExt;
use tokio::sync::Barrier;

/// Bounds every wait, so a broken room fails the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(60);

/// The next update matching `want`, skipping others; panics after `PATIENCE`.
async fn until(peer: &mut RoomPeer, what: &str, want: impl Fn(&RoomUpdate) -> bool) -> RoomUpdate {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let update = peer
            .recv_timeout(left)
            .await
            .unwrap_or_else(|| panic!("{what} within {PATIENCE:?}"));
        if want(&update) {
            return update;
        }
    }
}

/// The app's next event; panics after `PATIENCE` or if the stream ends.
async fn next_event(events: &mut EventStream) -> RoomUpdate {
    tokio::time::timeout(PATIENCE, events.next())
        .await
        .expect("a room event in time")
        .expect("the event stream is open")
        .expect("no event missed")
}

/// Whether `session` has nothing active on the SFU (or is gone), without asserting.
async fn is_clean(client: &Client, session: &str) -> bool {
    match client.session(session).state().await {
        Err(e) => e.is_session_gone(),
        Ok(state) => {
            !state.tracks.iter().any(|t| t.is_active())
                && !state
                    .data_channels
                    .iter()
                    .any(|c| c.status == Some(cloudflare_calls::session::ResourceStatus::Active))
        }
    }
}

/// Waits until `session` has nothing open, for work the room finishes in the background
/// (the host closing its peer); then asserts it.
async fn eventually_nothing_open(client: &Client, session: &str) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !is_clean(client, session).await && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    nothing_open(client, &[session.to_owned()]).await;
}

/// A room in `store` whose host checks its health every 200 ms, and a witness in it.
async fn checked_room(emulator: &Emulator, store: impl Store) -> (Client, Room, RoomPeer) {
    let client = client(emulator);
    let room = client
        .rooms(store)
        .create()
        .health_interval(Duration::from_millis(200))
        .send()
        .await
        .unwrap();
    let witness = room.join("witness").connect(client.peer()).await.unwrap();
    (client, room, witness)
}

/// Joins `identity` with a microphone sending silence, so that its track stays active (the
/// health check takes a participant with no active track for dead) until the returned task is
/// aborted.
pub(crate) async fn join_speaking(
    room: &Room,
    client: &Client,
    identity: &str,
) -> (RoomPeer, tokio::task::JoinHandle<()>) {
    let peer = room.join(identity).connect(client.peer()).await.unwrap();
    let mic = peer
        .publish_tracks([("mic".into(), FrameCodec::Opus)])
        .await
        .unwrap()
        .remove(0);
    let silence = tokio::spawn(async move {
        let _ = mic.send_silence(Duration::from_secs(120)).await;
    });
    (peer, silence)
}

/// What one participant of `fifty_participants_join_and_leave_concurrently` saw.
struct Seen {
    id: String,
    session: String,
    view_seq: u64,
    view: Vec<String>,
    received: Vec<u64>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_participants_join_and_leave_concurrently() {
    const N: usize = 50;
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let room = client
        .rooms(MemoryStore::new())
        .create()
        .send()
        .await
        .unwrap();
    let host = room.snapshot().await.unwrap().room.host_session_id;
    let mut events = room.events().await.unwrap();

    let joined = Arc::new(Barrier::new(N));
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let (room, client, joined) = (room.clone(), client.clone(), joined.clone());
            tokio::spawn(async move {
                let mut peer = room
                    .join(format!("p{i}"))
                    .connect(client.peer())
                    .await
                    .unwrap_or_else(|e| panic!("p{i} joins: {e}"));
                let (view_seq, view) = peer.view();
                let view: Vec<String> = view.iter().map(|p| p.info.id.clone()).collect();
                // Once everyone has joined, the room's events are the N joins, seq 1 to N:
                // this participant must see every one after its view.
                joined.wait().await;
                let mut received = Vec::new();
                while received.last() < Some(&(N as u64)) {
                    let update = peer
                        .recv_timeout(PATIENCE)
                        .await
                        .unwrap_or_else(|| panic!("p{i}: every join after seq {view_seq}"));
                    received.push(update.seq);
                }
                let seen = Seen {
                    id: peer.participant().id().to_owned(),
                    session: peer.participant().session().id().to_owned(),
                    view_seq,
                    view,
                    received,
                };
                peer.leave()
                    .await
                    .unwrap_or_else(|e| panic!("p{i} leaves: {e}"));
                seen
            })
        })
        .collect();
    let mut everyone = Vec::new();
    for task in tasks {
        everyone.push(task.await.unwrap());
    }

    // The app saw N joins, then N leaves, each participant joining before it left.
    let mut joined_at = HashMap::new();
    let mut left_at = HashMap::new();
    while left_at.len() < N {
        let update = next_event(&mut events).await;
        match update.event {
            RoomEvent::ParticipantJoined { participant } => {
                assert!(joined_at.insert(participant.id, update.seq).is_none());
            }
            RoomEvent::ParticipantLeft {
                participant,
                reason,
            } => {
                assert_eq!(reason, LeaveReason::Left);
                assert!(left_at.insert(participant.id, update.seq).is_none());
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert_eq!(joined_at.len(), N);
    for seen in &everyone {
        let (joined, left) = (joined_at[&seen.id], left_at[&seen.id]);
        assert!(
            joined < left,
            "{} left (seq {left}) before joining (seq {joined})",
            seen.id
        );
        // The view is taken just before the participant is announced: its own join is the
        // first update it gets after the view.
        assert!(
            joined > seen.view_seq,
            "{}: its own join (seq {joined}) comes after its view (seq {})",
            seen.id,
            seen.view_seq
        );
        assert!(
            !seen.view.contains(&seen.id),
            "{}: not in its own view",
            seen.id
        );
    }

    // Each participant received the room's events in order, once each, and every one after
    // its view; every join its view claims to include is in it.
    for seen in &everyone {
        let Seen {
            id,
            view_seq,
            received,
            ..
        } = seen;
        assert!(
            received.windows(2).all(|w| w[0] < w[1]),
            "{id}: out of order or repeated: {received:?}"
        );
        let after: Vec<u64> = received.iter().copied().filter(|s| s > view_seq).collect();
        let expected: Vec<u64> = (view_seq + 1..=N as u64).collect();
        assert_eq!(
            after, expected,
            "{id}: the updates after its view at {view_seq}"
        );
        for (other, at) in &joined_at {
            if at <= view_seq {
                assert!(
                    seen.view.contains(other),
                    "{id}: {other} joined at {at}, before the view at {view_seq}, but is not in it"
                );
            }
        }
    }

    assert!(room.participants().await.unwrap().is_empty());
    let sessions: Vec<String> = everyone.iter().map(|s| s.session.clone()).collect();
    nothing_open(&client, &sessions).await;
    room.close().await.unwrap();
    nothing_open(&client, &[host]).await;
    assert_eq!(
        emulator.stats().with_status(406),
        0,
        "overlapping session changes"
    );
}

#[tokio::test]
async fn a_participant_whose_session_died_is_removed_and_announced() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let room = client
        .rooms(MemoryStore::new())
        .create()
        .health_interval(Duration::from_millis(200))
        .send()
        .await
        .unwrap();
    let doomed = room.join("doomed").connect(client.peer()).await.unwrap();
    let mut witness = room.join("witness").connect(client.peer()).await.unwrap();
    let doomed_id = doomed.participant().id().to_owned();
    let doomed_session = doomed.participant().session().id().to_owned();

    // The process running the participant's peer dies: no more ICE consent checks, so the
    // SFU ends the session after its consent timeout (15 s in the emulator's ICE-lite agent).
    drop(doomed);

    let left = until(&mut witness, "the dead participant's departure", |u| {
        matches!(&u.event, RoomEvent::ParticipantLeft { .. })
    })
    .await;
    let RoomEvent::ParticipantLeft {
        participant,
        reason,
    } = left.event
    else {
        unreachable!()
    };
    assert_eq!(participant.id, doomed_id);
    assert_eq!(reason, LeaveReason::Expired);
    let present: Vec<String> = room
        .participants()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.identity)
        .collect();
    assert_eq!(present, ["witness"]);
    nothing_open(&client, &[doomed_session]).await;
    witness.leave().await.unwrap();
    room.close().await.unwrap();
}

#[tokio::test]
async fn a_participant_whose_tracks_all_went_idle_is_removed_as_expired() {
    let emulator = Emulator::builder()
        .track_idle_timeout(Duration::from_secs(1))
        .start()
        .await
        .unwrap();
    let (client, room, mut witness) = checked_room(&emulator, MemoryStore::new()).await;
    let silent = room.join("silent").connect(client.peer()).await.unwrap();
    // It publishes a microphone and never sends on it: the SFU marks the track inactive.
    let _mic = silent.publish_track("mic", FrameCodec::Opus).await.unwrap();
    let silent_id = silent.participant().id().to_owned();

    let left = until(&mut witness, "the silent participant's departure", |u| {
        matches!(&u.event, RoomEvent::ParticipantLeft { .. })
    })
    .await;
    let RoomEvent::ParticipantLeft {
        participant,
        reason,
    } = left.event
    else {
        unreachable!()
    };
    assert_eq!((participant.id, reason), (silent_id, LeaveReason::Expired));
    let present: Vec<String> = room
        .participants()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.identity)
        .collect();
    assert_eq!(present, ["witness"]);
    nothing_open(&client, &[silent.participant().session().id().to_owned()]).await;
    drop(silent);
    room.close().await.unwrap();
}

#[tokio::test]
async fn an_empty_room_closes_after_its_timeout() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let rooms = client.rooms(MemoryStore::new());
    let room = rooms
        .create()
        .empty_timeout(Duration::from_millis(500))
        .health_interval(Duration::from_millis(100))
        .send()
        .await
        .unwrap();
    let host = room.snapshot().await.unwrap().room.host_session_id;
    let mut events = room.events().await.unwrap();
    let alone = room.join("alone").connect(client.peer()).await.unwrap();
    alone.leave().await.unwrap();

    let mut seen = Vec::new();
    loop {
        let update = next_event(&mut events).await;
        let closed = update.event == RoomEvent::RoomClosed;
        seen.push(update.event);
        if closed {
            break;
        }
    }
    assert!(
        matches!(
            seen.as_slice(),
            [
                RoomEvent::ParticipantJoined { .. },
                RoomEvent::ParticipantLeft {
                    reason: LeaveReason::Left,
                    ..
                },
                RoomEvent::RoomClosed
            ]
        ),
        "{seen:?}"
    );
    // Nothing follows RoomClosed: the app's loop over its events ends.
    let end = tokio::time::timeout(PATIENCE, events.next()).await;
    assert!(matches!(end, Ok(None)), "{end:?}");
    let err = rooms.open(room.id()).await.unwrap_err();
    assert!(
        matches!(Some(&err), Some(RoomError::RoomClosed(_))),
        "{err}"
    );
    let err = room.join("late").connect(client.peer()).await.unwrap_err();
    assert!(
        matches!(Some(&err), Some(RoomError::RoomClosed(_))),
        "{err}"
    );
    eventually_nothing_open(&client, &host).await;
    // Closing it again is harmless.
    room.close().await.unwrap();
}

/// A [`MemoryStore`] that remembers every session a participant record named, so a test
/// can find the session of a join that failed.
#[derive(Clone, Default)]
struct Recording {
    store: MemoryStore,
    sessions: Arc<Mutex<Vec<String>>>,
}

impl Store for Recording {
    fn create_room(&self, room: RoomRecord) -> StoreFuture<'_, ()> {
        self.store.create_room(room)
    }
    fn close_room(&self, room: &str) -> StoreFuture<'_, Vec<ParticipantRecord>> {
        self.store.close_room(room)
    }
    fn snapshot(&self, room: &str) -> StoreFuture<'_, RoomSnapshot> {
        self.store.snapshot(room)
    }
    fn add_participant(
        &self,
        room: &str,
        participant: ParticipantRecord,
    ) -> StoreFuture<'_, Vec<ParticipantRecord>> {
        self.store.add_participant(room, participant)
    }
    fn update_participant(
        &self,
        room: &str,
        participant: ParticipantRecord,
    ) -> StoreFuture<'_, ()> {
        let session = &participant.info.session_id;
        let mut sessions = self.sessions.lock().unwrap();
        if !session.is_empty() && !sessions.contains(session) {
            sessions.push(session.clone());
        }
        drop(sessions);
        self.store.update_participant(room, participant)
    }
    fn remove_participant(
        &self,
        room: &str,
        participant: &str,
    ) -> StoreFuture<'_, Option<ParticipantRecord>> {
        self.store.remove_participant(room, participant)
    }
    fn append(&self, room: &str, event: RoomEvent) -> StoreFuture<'_, u64> {
        self.store.append(room, event)
    }
    fn subscribe(&self, room: &str) -> StoreFuture<'_, EventStream> {
        self.store.subscribe(room)
    }
    fn lease(&self, room: &str, session: &str, ttl: Duration) -> StoreFuture<'_, Lease> {
        self.store.lease(room, session, ttl)
    }
    fn release(&self, lease: Lease) -> StoreFuture<'_, ()> {
        self.store.release(lease)
    }
}

#[tokio::test]
async fn a_join_refused_midway_leaves_nothing() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let store = Recording::default();
    let room = client.rooms(store.clone()).create().send().await.unwrap();

    // A join with a server-side peer makes its session, publishes its own channel, then
    // subscribes to the room channel. The SFU fails, first the publish, then (letting the
    // publish through) the subscription, once the participant's channel is open.
    let cases = [
        (
            "publish",
            vec![
                Fault::status(500, "internal_error")
                    .on("add_data_channels")
                    .times(1),
            ],
        ),
        (
            "subscribe",
            vec![
                Fault::latency(Duration::ZERO)
                    .on("add_data_channels")
                    .times(1),
                Fault::status(503, "service_unavailable")
                    .on("add_data_channels")
                    .times(1),
            ],
        ),
    ];
    for (step, faults) in cases {
        let before = store.sessions.lock().unwrap().len();
        for fault in faults {
            emulator.inject(fault);
        }
        let err = room
            .join(format!("refused-at-{step}"))
            .connect(client.peer())
            .await
            .unwrap_err();
        assert_eq!(
            err.api().and_then(cloudflare_calls::Error::status),
            Some(if step == "publish" { 500 } else { 503 }),
            "{step}: {err}"
        );
        assert!(room.participants().await.unwrap().is_empty(), "{step}");
        let snapshot = room.snapshot().await.unwrap();
        assert!(
            snapshot.participants.is_empty(),
            "{step}: {:?}",
            snapshot.participants
        );
        let sessions = store.sessions.lock().unwrap().clone();
        assert_eq!(
            sessions.len(),
            before + 1,
            "{step}: the join made one session"
        );
        nothing_open(&client, &sessions[before..]).await;
    }

    // The room still works: a join without faults succeeds.
    let fine = room.join("fine").connect(client.peer()).await.unwrap();
    assert_eq!(room.participants().await.unwrap().len(), 1);
    fine.leave().await.unwrap();
    room.close().await.unwrap();
    assert_eq!(emulator.stats().with_status(406), 0);
}

/// A join cancelled before it made its session (as when its process dies) cannot undo
/// itself: its place is taken back once it has been held without a session for 12 health
/// intervals, and the identity can join again.
#[tokio::test]
async fn a_join_cancelled_before_its_session_frees_its_place() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let rooms = client.rooms(MemoryStore::new());
    let room = rooms
        .create()
        .health_interval(Duration::from_millis(100))
        .send()
        .await
        .unwrap();
    emulator.inject(
        Fault::latency(Duration::from_secs(5))
            .on("new_session")
            .times(1),
    );
    let cancelled = tokio::time::timeout(
        Duration::from_millis(300),
        room.join("alice").connect(client.peer()),
    );
    assert!(
        cancelled.await.is_err(),
        "the join was still making its session"
    );
    let held = room.snapshot().await.unwrap().participants;
    assert_eq!(held.len(), 1, "the cancelled join holds its place");
    let again = room.join("alice").connect(client.peer()).await;
    assert!(
        matches!(again, Err(RoomError::IdentityTaken { .. })),
        "{again:?}"
    );

    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !room.snapshot().await.unwrap().participants.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place is still held"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let alice = room.join("alice").connect(client.peer()).await.unwrap();
    alice.leave().await.unwrap();
}

/// A kick whose process died after marking the participant's record as leaving and before
/// announcing it: the room's host finishes it, announcing `participant_left` once, with the
/// reason in the mark, before closing what the participant opened on the SFU.
#[tokio::test]
async fn a_removal_begun_and_never_announced_is_finished_by_the_host() {
    let emulator = Emulator::start().await.unwrap();
    let store = Arc::new(MemoryStore::new());
    let (client, room, mut witness) = checked_room(&emulator, store.clone()).await;
    let mut kim = room.join("kim").connect(client.peer()).await.unwrap();
    let kim_id = kim.participant().id().to_owned();
    let kim_session = kim.participant().session().id().to_owned();

    let snapshot = store.snapshot(room.id()).await.unwrap();
    let mut record = snapshot
        .participants
        .into_iter()
        .find(|p| p.info.id == kim_id)
        .unwrap();
    record.leaving = Some(Leaving::new(LeaveReason::Kicked, snapshot.seq));
    store.update_participant(room.id(), record).await.unwrap();

    let is_kims = |u: &RoomUpdate| matches!(&u.event, RoomEvent::ParticipantLeft { participant, .. } if participant.id == kim_id);
    for peer in [&mut witness, &mut kim] {
        let left = until(peer, "kim's departure", is_kims).await;
        assert!(matches!(
            left.event,
            RoomEvent::ParticipantLeft {
                reason: LeaveReason::Kicked,
                ..
            }
        ));
    }
    eventually_nothing_open(&client, &kim_session).await;
    let present: Vec<String> = room
        .participants()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.identity)
        .collect();
    assert_eq!(present, ["witness"]);
    room.send_message("after").await.unwrap();
    let after = until(&mut witness, "the message after", |u| {
        matches!(&u.event, RoomEvent::Message { .. })
    })
    .await;
    let log = store.updates_after(room.id(), snapshot.seq).await.unwrap();
    let announced = log.iter().filter(|u| is_kims(u)).count();
    assert_eq!(announced, 1, "participant_left is announced once: {log:?}");
    assert!(after.seq > snapshot.seq);
    witness.leave().await.unwrap();
    room.close().await.unwrap();
}

/// A kick given up halfway (its task dropped after the room heard it, while the SFU held the
/// call closing the participant's track): its lease on the session is given back, so the
/// room's host finishes the kick at its next health check rather than when the lease would
/// have lapsed, at least 4 s later (6 s from its last renewal).
#[tokio::test]
async fn a_kick_given_up_halfway_is_finished_by_the_host() {
    let emulator = Emulator::start().await.unwrap();
    let (client, room, mut witness) = checked_room(&emulator, MemoryStore::new()).await;
    let (kim, silence) = join_speaking(&room, &client, "kim").await;
    let kim_id = kim.participant().id().to_owned();
    let kim_session = kim.participant().session().id().to_owned();

    emulator.inject(Fault::latency(Duration::from_secs(600)).on("close_tracks"));
    let kick = tokio::spawn({
        let (room, kim_id) = (room.clone(), kim_id.clone());
        async move { room.kick(&kim_id).await }
    });
    until(&mut witness, "kim's departure", |u| {
        matches!(&u.event, RoomEvent::ParticipantLeft { participant, .. } if participant.id == kim_id)
    })
    .await;
    kick.abort();
    emulator.clear_faults();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while !is_clean(&client, &kim_session).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the host finished the kick well before the lease lapsed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        room.snapshot()
            .await
            .unwrap()
            .participants
            .iter()
            .all(|p| p.info.id != kim_id)
    );
    silence.abort();
    witness.leave().await.unwrap();
    room.close().await.unwrap();
}

/// A participant's session dies while a process that died holds the lease on it: the host
/// removes the participant once the lease lapses, and relays the room's updates meanwhile.
#[tokio::test]
async fn a_host_relays_while_a_dead_participants_lease_is_held() {
    let emulator = Emulator::start().await.unwrap();
    let store = Arc::new(MemoryStore::new());
    let (client, room, mut witness) = checked_room(&emulator, store.clone()).await;
    let (doomed, silence) = join_speaking(&room, &client, "doomed").await;
    let doomed_id = doomed.participant().id().to_owned();
    let doomed_session = doomed.participant().session().id().to_owned();

    // The lease a process took before it died; then the session's only track goes.
    let held = store
        .lease(room.id(), &doomed_session, Duration::from_secs(30))
        .await
        .unwrap();
    let mids: Vec<String> = room
        .snapshot()
        .await
        .unwrap()
        .participants
        .into_iter()
        .find(|p| p.info.id == doomed_id)
        .unwrap()
        .published
        .into_iter()
        .map(|(mid, _)| mid)
        .collect();
    client
        .session(&doomed_session)
        .close_tracks(mids, cloudflare_calls::session::CloseMode::Force)
        .send()
        .await
        .unwrap();
    // Health checks find the participant dead and wait for the lease.
    tokio::time::sleep(Duration::from_secs(1)).await;

    room.send_message("still relaying").await.unwrap();
    let heard = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let update = witness.recv().await.expect("the room channel is open");
            if matches!(&update.event, RoomEvent::Message { .. }) {
                return update;
            }
        }
    })
    .await;
    assert!(
        heard.is_ok(),
        "the host relays while a removal waits for a lease"
    );

    store.release(held).await.unwrap();
    let left = until(&mut witness, "the dead participant's departure", |u| {
        matches!(&u.event, RoomEvent::ParticipantLeft { participant, .. } if participant.id == doomed_id)
    })
    .await;
    assert!(matches!(
        left.event,
        RoomEvent::ParticipantLeft {
            reason: LeaveReason::Expired,
            ..
        }
    ));
    silence.abort();
    witness.leave().await.unwrap();
    room.close().await.unwrap();
}

/// The rooms of one process share a host peer; when that peer loses the SFU for good, the
/// process moves each of its rooms to a new peer, and their participants follow without
/// losing or repeating an update, what was sent during the outage included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_whose_host_peer_lost_the_sfu_move_to_a_new_peer() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let rooms = client.rooms(MemoryStore::new());
    let mut joined = Vec::new();
    for id in ["first", "second"] {
        let room = rooms.create().id(id).send().await.unwrap();
        let witness = room.join("witness").connect(client.peer()).await.unwrap();
        joined.push((room, witness));
    }
    let host = |room: &Room| {
        let room = room.clone();
        async move { room.snapshot().await.unwrap().room.host_session_id }
    };
    let old_host = host(&joined[0].0).await;
    assert_eq!(host(&joined[1].0).await, old_host, "the rooms share a peer");

    assert!(emulator.partition(&old_host, Duration::from_secs(120)));
    let cut = std::time::Instant::now();
    for (room, _) in &joined {
        room.send_message("during").await.unwrap();
    }
    for (room, witness) in &mut joined {
        let during = until(witness, "the update sent during the outage", |u| {
            matches!(&u.event, RoomEvent::Message { .. })
        })
        .await;
        println!("{}: heard {:?} after the cut", room.id(), cut.elapsed());
        room.send_message("after").await.unwrap();
        let after = until(witness, "an update after the move", |u| {
            matches!(&u.event, RoomEvent::Message { .. })
        })
        .await;
        let text = |u: &RoomUpdate| match &u.event {
            RoomEvent::Message { payload, .. } => format!("{payload:?}"),
            other => format!("{other:?}"),
        };
        assert!(text(&during).contains("during"), "{during:?}");
        assert!(
            text(&after).contains("after"),
            "once each, in order: {after:?}"
        );
        assert!(after.seq > during.seq);
        let new_host = host(room).await;
        assert_ne!(new_host, old_host, "{} moved to a new peer", room.id());
    }
    assert_eq!(
        host(&joined[0].0).await,
        host(&joined[1].0).await,
        "the moved rooms share their new peer"
    );
    for (room, witness) in joined {
        witness.leave().await.unwrap();
        room.close().await.unwrap();
    }
}
