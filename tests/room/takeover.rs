//! A room outlives the process hosting it: the host is another OS process (this test binary,
//! run again as [`hosting_process`]), killed with SIGKILL or stopped with SIGTERM while
//! participants served by this process are in the room; this process takes the room over.

#![cfg(feature = "redis")]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use calls_emulator::Emulator;
use cloudflare_calls::peer::FrameCodec;
use cloudflare_calls::room::{
    LeaveReason, MemoryStore, Payload, RedisStore, Role, Room, RoomEvent, RoomPeer, RoomUpdate,
};
use cloudflare_calls::{Client, Config};
use tokio::task::JoinHandle;

use crate::support::redis as redis_server;
use crate::support::room::client;

/// What the hosting process reads from its environment: Redis URL, SFU URL, app id, secret.
const CHILD: &str = "CALLS_TAKEOVER_CHILD";
pub(crate) const ROOM: &str = "demo";

/// Run by the tests here as a process of their own: creates and hosts the room until killed,
/// or until SIGTERM, on which it shuts its rooms down (hands them over) and exits. As `join`, it
/// hosts nothing and joins participants to the room one after another until killed; as `kick`,
/// it kicks the participant `kim`.
#[tokio::test]
#[ignore = "a child process of the takeover test"]
async fn hosting_process() {
    let Ok(spec) = std::env::var(CHILD) else {
        return;
    };
    let parts: Vec<&str> = spec.split(' ').collect();
    let [redis, sfu, app, secret, kind] = parts[..] else {
        panic!("{CHILD} is `redis sfu app secret room|stream|serve|join|kick`");
    };
    let client = Client::new(Config::new(sfu, app, secret)).unwrap();
    let rooms = client.rooms(RedisStore::connect(redis).await.unwrap());
    let rooms = if kind == "join" {
        rooms.without_takeover()
    } else {
        rooms
    };
    let create = rooms.create().id(ROOM);
    match kind {
        "stream" => drop(create.ends_with_broadcaster().send().await.unwrap()),
        "room" => drop(create.send().await.unwrap()),
        "join" => {
            let room = rooms.open(ROOM).await.unwrap();
            tokio::spawn(async move {
                let mut joined = Vec::new();
                for n in 0.. {
                    let join = room.join(format!("j{n}")).connect(client.peer());
                    joined.push(join.await.unwrap());
                }
            });
        }
        "kick" => {
            // Kicks `kim`; the test kills this process before the kick can finish.
            let room = rooms.open(ROOM).await.unwrap();
            let snapshot = room.snapshot().await.unwrap();
            let kim = snapshot
                .participants
                .iter()
                .find(|p| p.info.identity == "kim");
            let kim = kim.expect("kim is in the room").info.id.clone();
            tokio::spawn(async move { room.kick(&kim).await });
        }
        _ => {} // "serve": only ready to take rooms over
    }
    let mut term =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap();
    println!("hosting");
    term.recv().await;
    rooms.shutdown().await.unwrap();
}

/// Starts [`hosting_process`] and waits until it hosts the room.
pub(crate) fn start_host(redis: &str, emulator: &Emulator) -> Child {
    start_hosting(redis, emulator, "room")
}

/// Starts [`hosting_process`] hosting a `room`, or a `stream` (a room that ends with its
/// broadcaster), or only serving (`serve`): ready to take rooms over.
fn start_hosting(redis: &str, emulator: &Emulator, kind: &str) -> Child {
    let spec = format!(
        "{redis} {} {} {} {kind}",
        emulator.sfu_base_url(),
        emulator.app_id(),
        emulator.app_secret()
    );
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "takeover::hosting_process",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD, spec)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let hosting = lines.any(|line| line.contains("hosting"));
    assert!(hosting, "the hosting process created the room");
    // Read to the end: a closed pipe would fail the process's last words (its test result).
    std::thread::spawn(move || lines.for_each(drop));
    child
}

/// The text of a message update.
pub(crate) fn text(update: &RoomUpdate) -> Option<&str> {
    match &update.event {
        RoomEvent::Message {
            payload: Payload::Text(text),
            ..
        } => Some(text),
        _ => None,
    }
}

/// Reads updates until the message `last` arrives; returns them all.
async fn read_until(peer: &mut RoomPeer, last: &str) -> Vec<RoomUpdate> {
    let got = timed_until(peer, last).await;
    got.into_iter().map(|(_, update)| update).collect()
}

/// Skips the test without Redis; otherwise takes the heavy tests' turn and starts Redis and
/// the emulator `emulator` builds.
async fn stage(
    emulator: calls_emulator::EmulatorBuilder,
) -> Option<(
    tokio::sync::MutexGuard<'static, ()>,
    redis_server::Redis,
    Emulator,
)> {
    if redis_server::skip_without_redis() {
        return None;
    }
    let heavy = crate::support::heavy::heavy().await;
    let redis = redis_server::Redis::start().await;
    Some((heavy, redis, emulator.start().await.unwrap()))
}

/// A process hosting the room and one ready to take it over; a client and the room, served by
/// this process, which never hosts it.
async fn hosted_and_ready(url: &str, emulator: &Emulator) -> (Child, Child, Client, Room) {
    let first = start_hosting(url, emulator, "room");
    let second = start_hosting(url, emulator, "serve");
    let client = client(emulator);
    let rooms = client
        .rooms(RedisStore::connect(url).await.unwrap())
        .without_takeover();
    let room = rooms.open(ROOM).await.unwrap();
    (first, second, client, room)
}

/// Stops `process` with SIGTERM (it hands its rooms over) and waits until it exited cleanly.
async fn terminate(mut process: Child) {
    let pid = process.id().to_string();
    let terminated = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(terminated.success());
    let exited = tokio::task::spawn_blocking(move || process.wait());
    let exited = exited.await.unwrap().unwrap();
    assert!(
        exited.success(),
        "process {pid} shut down cleanly: {exited}"
    );
}

/// Updates as a participant read them, with when each came.
pub(crate) type Timed = Vec<(Instant, RoomUpdate)>;

/// Joins `names` to `room`; then each reads its updates as they come until the message "end".
pub(crate) async fn readers(
    room: &Room,
    client: &Client,
    names: &[&'static str],
) -> Vec<JoinHandle<(RoomPeer, Timed)>> {
    let mut readers = Vec::new();
    for name in names {
        let mut peer = room.join(*name).connect(client.peer()).await.unwrap();
        readers.push(tokio::spawn(async move {
            let got = timed_until(&mut peer, "end").await;
            (peer, got)
        }));
    }
    readers
}

/// Checks that `name` got the `sent` numbered messages once each, in order, with every
/// update once; returns the longest wait between two messages.
fn every_message_once(name: &str, got: &[(Instant, RoomUpdate)], sent: u32) -> Duration {
    let (numbers, longest) = numbered(got);
    let all: Vec<u32> = (0..sent).collect();
    assert_eq!(numbers, all, "{name} got every message once, in order");
    let seqs: Vec<u64> = got.iter().map(|(_, u)| u.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{name}: {seqs:?}");
    longest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_whose_host_process_is_killed_is_taken_over() {
    let Some((_heavy, redis, emulator)) = stage(Emulator::builder()).await else {
        return;
    };
    let mut host = start_host(&redis.url(), &emulator);

    let client = client(&emulator);
    let rooms = client.rooms(RedisStore::connect(&redis.url()).await.unwrap());
    let room = rooms.open(ROOM).await.unwrap();
    let old_host = room.snapshot().await.unwrap().room.host_session_id;
    let alice = room.join("alice").connect(client.peer()).await.unwrap();
    let mic = alice.publish_track("mic", FrameCodec::Opus).await.unwrap();
    let sending = tokio::spawn(async move { mic.send_silence(Duration::from_secs(60)).await });
    let mut bob = room.join("bob").connect(client.peer()).await.unwrap();
    let mut from_alice = bob.take_tracks().pop().expect("bob pulls alice's mic");
    let mut carol = room.join("carol").connect(client.peer()).await.unwrap();
    // The longest pause between two of alice's frames reaching bob, until told to stop.
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let pauses = tokio::spawn(async move {
        let (mut frames, mut longest, mut at) = (0u64, Duration::ZERO, None::<Instant>);
        loop {
            tokio::select! {
                frame = from_alice.recv() => {
                    frame.expect("alice's track stays open");
                    let now = Instant::now();
                    if let Some(at) = at {
                        longest = longest.max(now - at);
                    }
                    at = Some(now);
                    frames += 1;
                }
                _ = &mut stopped => return (frames, longest),
            }
        }
    });

    room.send_message("before").await.unwrap();
    read_until(&mut bob, "before").await;
    read_until(&mut carol, "before").await;

    host.kill().unwrap();
    host.wait().unwrap();
    let killed = Instant::now();
    // Sent while no process hosts the room: they are in the log, and must arrive.
    let first_gap = room.send_message("gap 1").await.unwrap();
    room.send_message("gap 2").await.unwrap();
    room.send_to(bob.participant().id(), "to bob in the gap")
        .await
        .unwrap();
    let bob_got = read_until(&mut bob, "gap 1").await;
    let took = killed.elapsed();
    eprintln!("takeover: gap 1 reached bob {took:?} after the kill");
    assert!(
        took < Duration::from_secs(10),
        "the room channel works again within 10 s of the kill: {took:?}"
    );
    assert_eq!(bob_got.last().unwrap().seq, first_gap);

    room.send_message("after").await.unwrap();
    let mut bob_rest = read_until(&mut bob, "after").await;
    let carol_got = read_until(&mut carol, "after").await;
    let mut bob_all = bob_got;
    bob_all.append(&mut bob_rest);

    for (name, got) in [("bob", &bob_all), ("carol", &carol_got)] {
        let seqs: Vec<u64> = got.iter().map(|u| u.seq).collect();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "{name} got every update once, in order: {seqs:?}"
        );
        let texts: Vec<&str> = got.iter().filter_map(text).collect();
        let mut want = vec!["gap 1", "gap 2"];
        if name == "bob" {
            want.push("to bob in the gap");
        }
        want.push("after");
        assert_eq!(texts, want, "{name}'s messages");
        let moved = got
            .iter()
            .filter(|u| matches!(u.event, RoomEvent::HostChanged { .. }))
            .count();
        assert_eq!(moved, 1, "{name} learned of the new host once");
    }
    // Nothing is missing between the first and last update carol got: she skips only the
    // direct message to bob.
    let first = carol_got.first().unwrap().seq;
    let last = carol_got.last().unwrap().seq;
    assert_eq!(
        carol_got.len() as u64,
        last - first,
        "carol skipped only bob's direct message"
    );

    let snapshot = room.snapshot().await.unwrap();
    assert_ne!(
        snapshot.room.host_session_id, old_host,
        "another session hosts the room"
    );
    // A join after the takeover works, and the media never stopped.
    let dave = room.join("dave").connect(client.peer()).await.unwrap();
    dave.send_text("hi from dave").await.unwrap();
    read_until(&mut carol, "hi from dave").await;
    stop.send(()).unwrap();
    let (frames, longest) = pauses.await.unwrap();
    sending.abort();
    assert!(
        frames > 200 && longest < Duration::from_millis(500),
        "bob kept receiving alice's mic through the takeover: {frames} frames, \
         the longest pause {longest:?}"
    );
    for peer in [alice, bob, carol, dave] {
        peer.leave().await.unwrap();
    }
    room.close().await.unwrap();
}

/// Sends numbered messages through `room` every 20 ms until told to stop; returns how many.
fn chatter(room: Room, mut stop: tokio::sync::oneshot::Receiver<()>) -> JoinHandle<u32> {
    tokio::spawn(async move {
        let mut sent = 0;
        loop {
            room.send_message(format!("m{sent}").as_str())
                .await
                .unwrap();
            sent += 1;
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
                _ = &mut stop => return sent,
            }
        }
    })
}

/// The numbered messages among `got`, and the longest wait between two of them.
pub(crate) fn numbered(got: &[(Instant, RoomUpdate)]) -> (Vec<u32>, Duration) {
    let mut numbers = Vec::new();
    let (mut longest, mut at) = (Duration::ZERO, None::<Instant>);
    for (when, update) in got {
        let Some(n) = text(update).and_then(|t| t.strip_prefix('m')?.parse().ok()) else {
            continue;
        };
        numbers.push(n);
        if let Some(at) = at {
            longest = longest.max(*when - at);
        }
        at = Some(*when);
    }
    (numbers, longest)
}

/// Reads updates, with when each came, until the message `last`.
async fn timed_until(peer: &mut RoomPeer, last: &str) -> Timed {
    let mut got = Vec::new();
    loop {
        let update = peer.recv_timeout(Duration::from_secs(20)).await;
        let update = update.unwrap_or_else(|| {
            let who = peer.participant().identity();
            panic!("{who} got {last:?} within 20 s; got {got:?}")
        });
        let done = text(&update) == Some(last);
        got.push((Instant::now(), update));
        if done {
            return got;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_process_stopped_with_sigterm_hands_its_room_over_losing_nothing() {
    let Some((_heavy, redis, emulator)) = stage(Emulator::builder()).await else {
        return;
    };
    let host = start_host(&redis.url(), &emulator);

    let client = client(&emulator);
    let rooms = client.rooms(RedisStore::connect(&redis.url()).await.unwrap());
    let room = rooms.open(ROOM).await.unwrap();
    let names = ["bob", "carol"];
    let readers = readers(&room, &client, &names).await;
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let sending = chatter(room.clone(), stopped);
    tokio::time::sleep(Duration::from_millis(500)).await;

    terminate(host).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.send(()).unwrap();
    let sent = sending.await.unwrap();
    room.send_message("end").await.unwrap();

    for (reader, name) in readers.into_iter().zip(names) {
        let (peer, got) = reader.await.unwrap();
        let longest = every_message_once(name, &got, sent);
        let moved = got
            .iter()
            .filter(|(_, u)| matches!(u.event, RoomEvent::HostChanged { .. }))
            .count();
        assert_eq!(moved, 1, "{name} learned of the new host once");
        println!(
            "hand-over: {name} got {sent} messages sent every 20 ms; the longest wait between two {longest:?}"
        );
        peer.leave().await.unwrap();
    }
    room.close().await.unwrap();
}

/// With no other process to take them, a process that shuts down closes its rooms.
#[tokio::test]
async fn a_process_alone_closes_its_rooms_on_shutdown() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let rooms = client.rooms(MemoryStore::new());
    let room = rooms.create().send().await.unwrap();
    let mut bob = room.join("bob").connect(client.peer()).await.unwrap();
    rooms.shutdown().await.unwrap();
    // Bob is removed as the room closes, and told so.
    loop {
        let update = bob.recv_timeout(Duration::from_secs(10)).await;
        let update = update.expect("bob is told before his channels close");
        if let RoomEvent::ParticipantLeft {
            participant,
            reason,
        } = &update.event
        {
            assert_eq!(participant.identity, "bob");
            assert_eq!(*reason, LeaveReason::RoomClosed);
            break;
        }
    }
    assert!(room.snapshot().await.unwrap().room.closed);
}

/// A stream's room ends when its broadcaster leaves, also once another process hosts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_taken_over_still_ends_with_its_broadcaster() {
    let Some((_heavy, redis, emulator)) = stage(Emulator::builder()).await else {
        return;
    };
    let mut host = start_hosting(&redis.url(), &emulator, "stream");

    let client = client(&emulator);
    let rooms = client.rooms(RedisStore::connect(&redis.url()).await.unwrap());
    let room = rooms.open(ROOM).await.unwrap();
    let broadcaster = room
        .join("encoder")
        .role(Role::Broadcaster)
        .connect(client.peer())
        .await
        .unwrap();
    let mut viewer = room.watch("player").connect(client.peer()).await.unwrap();
    host.kill().unwrap();
    host.wait().unwrap();
    let moved = read_until_event(&mut viewer, |e| matches!(e, RoomEvent::HostChanged { .. })).await;
    assert!(moved.seq > 0);

    broadcaster.leave().await.unwrap();
    read_until_event(&mut viewer, |e| {
        matches!(e, RoomEvent::ParticipantLeft { participant, reason }
            if participant.identity == "player" && *reason == LeaveReason::RoomClosed)
    })
    .await;
    assert!(
        room.snapshot().await.unwrap().room.closed,
        "the stream's room closed"
    );
}

/// Reads updates until one whose event `want` accepts; returns it.
async fn read_until_event(peer: &mut RoomPeer, want: impl Fn(&RoomEvent) -> bool) -> RoomUpdate {
    loop {
        let update = peer
            .recv_timeout(Duration::from_secs(20))
            .await
            .expect("the awaited update within 20 s");
        if want(&update.event) {
            return update;
        }
    }
}

/// Three backend processes, each stopped with SIGTERM and started again in turn, while the room
/// is busy (a message every 20 ms, a guest joining and leaving every 100 ms): every
/// participant gets every update once, in order, and no session is left open at the end.
/// This process only serves its participants: it never hosts the room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_of_three_processes_loses_and_repeats_nothing() {
    let silence = Duration::from_secs(2);
    let builder = Emulator::builder().silence_timeout(silence);
    let Some((_heavy, redis, emulator)) = stage(builder).await else {
        return;
    };
    let url = redis.url();
    let mut processes = vec![
        start_hosting(&url, &emulator, "room"),
        start_hosting(&url, &emulator, "serve"),
        start_hosting(&url, &emulator, "serve"),
    ];

    let client = client(&emulator);
    let store = RedisStore::connect(&url).await.unwrap();
    let rooms = client.rooms(store).without_takeover();
    let room = rooms.open(ROOM).await.unwrap();
    let names = ["bob", "carol"];
    let readers = readers(&room, &client, &names).await;
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let sending = chatter(room.clone(), stopped);
    let (stop_guests, mut guests_stopped) = tokio::sync::oneshot::channel::<()>();
    let guests = {
        let (room, client) = (room.clone(), client.clone());
        tokio::spawn(async move {
            let mut n = 0;
            loop {
                let guest = room.join(format!("guest {n}")).connect(client.peer());
                guest.await.unwrap().leave().await.unwrap();
                n += 1;
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                    _ = &mut guests_stopped => return n,
                }
            }
        })
    };

    // Each process in turn, again and again, until the room moved three times: a process
    // that does not host stops at once; one that hosts hands the room over first.
    let mut moves = 0;
    for step in 0..12 {
        if moves == 3 {
            break;
        }
        let i = step % processes.len();
        let hosted_by = room.snapshot().await.unwrap().room.host_session_id;
        terminate(processes.remove(i)).await;
        processes.insert(i, start_hosting(&url, &emulator, "serve"));
        let now = room.snapshot().await.unwrap().room.host_session_id;
        moves += usize::from(now != hosted_by);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(moves, 3, "the room moved three times");
    stop.send(()).unwrap();
    stop_guests.send(()).unwrap();
    let sent = sending.await.unwrap();
    let joined = guests.await.unwrap();
    room.send_message("end").await.unwrap();

    for (reader, name) in readers.into_iter().zip(names) {
        let (peer, got) = reader.await.unwrap();
        let longest = every_message_once(name, &got, sent);
        println!(
            "rolling restart: {moves} moves, {joined} guests, {sent} messages; {name}'s longest \
             wait between two {longest:?}"
        );
        peer.leave().await.unwrap();
    }
    room.close().await.unwrap();
    for process in processes {
        terminate(process).await;
    }
    // Sessions whose process stopped go quiet, and the SFU drops them.
    no_session_left(&emulator, silence).await;
}

/// The room's host is killed, and so is the process that took it over: the room is taken over
/// again, and its participants still get every update once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_whose_new_host_dies_too_is_taken_over_again() {
    let Some((_heavy, redis, emulator)) = stage(Emulator::builder()).await else {
        return;
    };
    let url = redis.url();
    let (mut first, mut second, client, room) = hosted_and_ready(&url, &emulator).await;
    let mut bob = room.join("bob").connect(client.peer()).await.unwrap();

    first.kill().unwrap();
    first.wait().unwrap();
    room.send_message("gap 1").await.unwrap();
    let mut got = read_until(&mut bob, "gap 1").await;
    // The second process hosts the room now; a third one is ready before the second dies.
    let mut third = start_hosting(&url, &emulator, "serve");
    second.kill().unwrap();
    second.wait().unwrap();
    room.send_message("gap 2").await.unwrap();
    got.extend(read_until(&mut bob, "gap 2").await);
    room.send_message("after").await.unwrap();
    got.extend(read_until(&mut bob, "after").await);
    let texts: Vec<&str> = got.iter().filter_map(text).collect();
    assert_eq!(texts, ["gap 1", "gap 2", "after"], "bob's messages");
    let seqs: Vec<u64> = got.iter().map(|u| u.seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "in order, once: {seqs:?}"
    );
    let moves = got
        .iter()
        .filter(|u| matches!(u.event, RoomEvent::HostChanged { .. }))
        .count();
    assert_eq!(moves, 2, "bob followed the room twice");

    bob.leave().await.unwrap();
    room.close().await.unwrap();
    third.kill().unwrap();
    third.wait().unwrap();
}

/// The room's host is killed, and the process taking it over is killed as soon as it has taken
/// the dead host's rooms, in the middle of its takeover: a third process takes the room over,
/// its participants get every update once, in order, and no session is left on the SFU.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_in_the_middle_of_a_takeover_is_taken_over_in_turn() {
    // Longer than a quiet peer's keepalives (3 s): the participants hear nothing for 10 s.
    let silence = Duration::from_secs(6);
    let builder = Emulator::builder().silence_timeout(silence);
    let Some((_heavy, redis, emulator)) = stage(builder).await else {
        return;
    };
    let url = redis.url();
    let (mut first, mut second, client, room) = hosted_and_ready(&url, &emulator).await;
    let names = ["bob", "carol"];
    let readers = readers(&room, &client, &names).await;
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let sending = chatter(room.clone(), stopped);

    let dead = room.snapshot().await.unwrap().room.host_node;
    first.kill().unwrap();
    first.wait().unwrap();
    // The second process marks the first dead as it takes its rooms: kill it right then.
    let tombstone = format!("calls:node:{{{dead}}}:dead");
    let killed = Instant::now();
    let deadline = killed + Duration::from_secs(20);
    while redis.cli(&["exists", &tombstone]).trim() != "1" {
        assert!(
            Instant::now() < deadline,
            "the second process takes the rooms over"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    second.kill().unwrap();
    second.wait().unwrap();
    let left_at = room.snapshot().await.unwrap().room.host_node;
    let third = start_hosting(&url, &emulator, "serve");
    loop {
        let host = room.snapshot().await.unwrap().room.host_node;
        if host != dead && host != left_at {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the third process takes the room over"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let moved = killed.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.send(()).unwrap();
    let sent = sending.await.unwrap();
    room.send_message("end").await.unwrap();

    let stage = if left_at == dead { "before" } else { "after" };
    for (reader, name) in readers.into_iter().zip(names) {
        let (peer, got) = reader.await.unwrap();
        every_message_once(name, &got, sent);
        println!(
            "killed mid-takeover ({stage} it made itself the host): the third process hosted \
             the room {moved:?} after the first died; {name} got each of {sent} messages once"
        );
        peer.leave().await.unwrap();
    }
    room.close().await.unwrap();
    terminate(third).await;
    // The half-made host session of the second process goes quiet, and the SFU drops it.
    no_session_left(&emulator, silence).await;
}

/// Waits until the SFU has no session left, for five times its `silence` timeout at most.
async fn no_session_left(emulator: &Emulator, silence: Duration) {
    let deadline = Instant::now() + silence * 5;
    while !emulator.sessions().is_empty() {
        let left: Vec<_> = emulator.sessions().into_iter().map(|s| s.id).collect();
        assert!(Instant::now() < deadline, "sessions left open: {left:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Creates the room in Redis at `url`, hosted by this process, which checks its health every
/// 200 ms.
async fn checked_room(url: &str, client: &Client) -> Room {
    let rooms = client.rooms(RedisStore::connect(url).await.unwrap());
    let create = rooms.create().id(ROOM);
    create
        .health_interval(Duration::from_millis(200))
        .send()
        .await
        .unwrap()
}

/// A process is killed while its participants join the room one after another, so in the
/// middle of a join: the host takes back what the dead process held (places reserved with no
/// session, participants whose sessions the SFU drops), until the store and the SFU agree again;
/// the identities it held are free, and the room goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_in_the_middle_of_a_join_leaves_nothing_behind() {
    // The SFU drops the dead process's sessions: those it connected once they go quiet, the
    // one its last join had made but not connected yet once that lasted as long.
    let silence = Duration::from_secs(6);
    let builder = Emulator::builder()
        .silence_timeout(silence)
        .unconnected_session_ttl(silence);
    let Some((_heavy, redis, emulator)) = stage(builder).await else {
        return;
    };
    let url = redis.url();
    let client = client(&emulator);
    let room = checked_room(&url, &client).await;
    let host = room.snapshot().await.unwrap().room.host_session_id;
    let bob = room.join("bob").connect(client.peer()).await.unwrap();
    let mut keep = vec![host, bob.participant().session().id().to_owned()];
    keep.sort();

    let mut joiner = start_hosting(&url, &emulator, "join");
    let deadline = Instant::now() + Duration::from_secs(20);
    while room.snapshot().await.unwrap().participants.len() < 6 {
        assert!(
            Instant::now() < deadline,
            "the other process joins participants"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    joiner.kill().unwrap();
    joiner.wait().unwrap();
    let killed = Instant::now();
    let held = room.snapshot().await.unwrap().participants.len() - 1;

    // Only Bob in the store, and only his and the host's sessions on the SFU.
    let deadline = killed + silence * 5;
    loop {
        let snapshot = room.snapshot().await.unwrap();
        let identities: Vec<String> = snapshot
            .participants
            .iter()
            .map(|p| p.info.identity.clone())
            .collect();
        let mut sessions: Vec<String> = emulator.sessions().into_iter().map(|s| s.id).collect();
        sessions.sort();
        if identities == ["bob"] && sessions == keep {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "store and SFU agree; store: {identities:?}, SFU: {sessions:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "killed mid-join: the {held} participants the dead process held were gone from the store \
         and the SFU {:?} after the kill",
        killed.elapsed()
    );
    let mut again = room.join("j0").connect(client.peer()).await.unwrap();
    room.send_message("after").await.unwrap();
    read_until(&mut again, "after").await;
    again.leave().await.unwrap();
    bob.leave().await.unwrap();
    room.close().await.unwrap();
}

/// A process is killed in the middle of a kick: the room has told everyone (the kicked
/// participant too), and the SFU has not yet closed what the participant opened. The room's
/// host finishes the kick once the dead process's lease on the session lapses (seconds, not
/// the longest change a lease covers, as a live holder renews it): the session's
/// tracks and channels closed, the participant out of the store, and `participant_left`
/// announced once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_in_the_middle_of_a_kick_leaves_nothing_behind() {
    let Some((_heavy, redis, emulator)) = stage(Emulator::builder()).await else {
        return;
    };
    let url = redis.url();
    let client = client(&emulator);
    let room = checked_room(&url, &client).await;
    let mut bob = room.join("bob").connect(client.peer()).await.unwrap();
    let (mut kim, silence) = crate::lifecycle::join_speaking(&room, &client, "kim").await;
    let kim_id = kim.participant().id().to_owned();
    let kim_session = kim.participant().session().id().to_owned();
    let left_kim = |e: &RoomEvent| matches!(e, RoomEvent::ParticipantLeft { participant, reason: LeaveReason::Kicked } if participant.id == kim_id);

    // The SFU holds the kick's closing calls, so the kill lands after the announcement.
    emulator.inject(calls_emulator::Fault::latency(Duration::from_secs(600)).on("close_tracks"));
    let mut kicker = start_hosting(&url, &emulator, "kick");
    read_until_event(&mut bob, left_kim).await;
    read_until_event(&mut kim, left_kim).await;
    kicker.kill().unwrap();
    kicker.wait().unwrap();
    let killed = Instant::now();
    emulator.clear_faults();

    // The dead process's lease lapses within 6 s, as nobody renews it any more (it held for
    // 30 s before leases were renewed); the host's next check finishes the kick.
    let deadline = killed + Duration::from_secs(15);
    loop {
        let snapshot = room.snapshot().await.unwrap();
        let in_store: Vec<String> = snapshot
            .participants
            .iter()
            .map(|p| p.info.identity.clone())
            .collect();
        let state = client.session(&kim_session).state().await.unwrap();
        let open = state.tracks.iter().filter(|t| t.is_active()).count()
            + state
                .data_channels
                .iter()
                .filter(|c| c.status == Some(cloudflare_calls::session::ResourceStatus::Active))
                .count();
        if in_store == ["bob"] && open == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the kick is finished; store: {in_store:?}, open on kim's session: {open}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "killed mid-kick: the kick was finished {:?} after the kill",
        killed.elapsed()
    );
    room.send_message("after").await.unwrap();
    let heard = read_until(&mut bob, "after").await;
    let again = heard.iter().filter(|u| left_kim(&u.event)).count();
    assert_eq!(again, 0, "participant_left is announced once");
    silence.abort();
    bob.leave().await.unwrap();
    room.close().await.unwrap();
}

/// A participant joins while the room's host hands the room over (a deploy): by the time it
/// subscribes to the room channel of the host it read, that host has closed it. It subscribes
/// to the new host's instead, and hears the room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_during_a_hand_over_subscribes_to_the_new_host() {
    let Some((_heavy, redis, emulator)) = stage(Emulator::builder()).await else {
        return;
    };
    let url = redis.url();
    let client = client(&emulator);
    let first = client.rooms(RedisStore::connect(&url).await.unwrap());
    let second = client.rooms(RedisStore::connect(&url).await.unwrap());
    let room = first.create().id(ROOM).send().await.unwrap();
    let old_host = room.snapshot().await.unwrap().room.host_session_id;
    let later = second.open(ROOM).await.unwrap();

    // The SFU holds the join's first channel call (its own channel, after it read the host),
    // while the first process hands the room over.
    let held = calls_emulator::Fault::latency(Duration::from_secs(4));
    emulator.inject(held.on("add_data_channels").times(1));
    let joining = tokio::spawn({
        let (later, client) = (later.clone(), client.clone());
        async move { later.join("late").connect(client.peer()).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    first.shutdown().await.unwrap();
    assert!(
        !joining.is_finished(),
        "the hand-over came before the subscription"
    );
    let mut late = joining
        .await
        .unwrap()
        .expect("the join subscribes to the new host");
    let new_host = later.snapshot().await.unwrap().room.host_session_id;
    assert_ne!(new_host, old_host, "the room moved");
    later.send_message("hello").await.unwrap();
    read_until(&mut late, "hello").await;
    late.leave().await.unwrap();
    later.close().await.unwrap();
}
