//! Rooms whose Redis dies while the room is busy: on a Redis Cluster or under Sentinels, the
//! replica is promoted; a single Redis with an append-only file comes back with its data. The
//! room goes on. (A Redis that comes back empty closes its rooms: `redis::a_room_the_store_lost…`.)

#![cfg(feature = "redis")]

use std::time::{Duration, Instant};

use calls_emulator::Emulator;
use cloudflare_calls::room::{RedisStore, Room, Store};
use tokio::task::JoinHandle;

use crate::support::redis::{self as redis_server, Cluster, Sentinels};
use crate::support::room::client;
use crate::takeover::{numbered, readers};

const ROOM: &str = "busy";

/// Skips the test without Redis; otherwise takes the heavy tests' turn.
async fn turn() -> Option<tokio::sync::MutexGuard<'static, ()>> {
    if redis_server::skip_without_redis() {
        return None;
    }
    Some(crate::support::heavy::heavy().await)
}

/// A primary and its replica under three Sentinels, and a store on them.
async fn on_sentinels() -> (Sentinels, RedisStore) {
    let sentinels = Sentinels::start().await;
    let store = RedisStore::connect_sentinel(sentinels.urls(), Sentinels::SERVICE)
        .await
        .unwrap();
    (sentinels, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_on_a_redis_cluster_survives_the_failover_of_its_primary() {
    let Some(_heavy) = turn().await else {
        return;
    };
    let mut cluster = Cluster::start().await;
    let store = RedisStore::connect_cluster(cluster.urls()).await.unwrap();
    let key = format!("calls:{{{ROOM}}}:room");
    busy_room_survives("cluster", store, async move || {
        cluster.kill_primary_of(&key);
        cluster
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_on_a_sentinel_watched_redis_survives_the_failover_of_its_primary() {
    let Some(_heavy) = turn().await else {
        return;
    };
    let (mut sentinels, store) = on_sentinels().await;
    busy_room_survives("sentinel", store, async move || {
        sentinels.kill_primary();
        sentinels
    })
    .await;
}

/// Redis, logging every write to its append-only file, is killed and started again a second
/// later: the room refuses messages meanwhile, then goes on with everything it had.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_on_a_redis_restarted_with_its_data_goes_on() {
    let Some(_heavy) = turn().await else {
        return;
    };
    let mut redis = redis_server::Redis::start_persistent().await;
    let store = RedisStore::connect(&redis.url()).await.unwrap();
    busy_room_survives("restart, append-only file", store, async move || {
        redis.kill();
        tokio::time::sleep(Duration::from_secs(1)).await;
        redis.restart().await;
        redis
    })
    .await;
}

/// The replica falls 300 ms behind just before its primary dies: the messages the primary took
/// meanwhile are lost with it, but no participant heard them, so none of the `seq`s that the
/// promoted replica hands out again is skipped or heard twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_after_the_replica_lagged_loses_nothing_a_participant_heard() {
    let Some(_heavy) = turn().await else {
        return;
    };
    let (mut sentinels, store) = on_sentinels().await;
    busy_room_survives("lagging replica", store, async move || {
        sentinels.pause_replica();
        tokio::time::sleep(Duration::from_millis(300)).await;
        sentinels.kill_primary();
        sentinels.resume_replica();
        sentinels
    })
    .await;
}

/// A participant that follows a new host reads what it missed from the log
/// (`Store::updates_after`), and only what a replica has too. The replica is stopped, so it
/// confirms nothing the primary takes then, and the primary dies while the read waits for it:
/// the read fails (the participant asks again once the replica is promoted) rather than hand
/// out a message the promoted replica may not have, whose `seq` it would give another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_never_reads_what_a_failover_then_loses() {
    let Some(_heavy) = turn().await else {
        return;
    };
    let (mut sentinels, store) = on_sentinels().await;
    let emulator = Emulator::start().await.unwrap();
    let room = client(&emulator)
        .rooms(store.clone())
        .create()
        .send()
        .await
        .unwrap();
    let before = room.send_message("replicated").await.unwrap();
    sentinels.stop_replica();
    room.send_message("on the primary only").await.unwrap();
    let read = tokio::spawn({
        let id = room.id().to_owned();
        async move { store.updates_after(&id, before).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    sentinels.kill_primary();
    let read = read.await.unwrap();
    sentinels.resume_replica();
    assert!(
        read.is_err(),
        "the read handed out {:?}, which no replica had confirmed",
        read.map(|updates| updates.len())
    );
}

/// What the sender saw of one message: when it was sent, and whether the room took it.
struct Sent {
    at: Instant,
    taken: bool,
}

/// Sends a numbered message every 20 ms until `stop`, whatever the store answers.
fn chatter(room: Room, mut stop: tokio::sync::oneshot::Receiver<()>) -> JoinHandle<Vec<Sent>> {
    tokio::spawn(async move {
        let mut sent = Vec::new();
        loop {
            let at = Instant::now();
            let taken = room.send_message(format!("m{}", sent.len()).as_str()).await;
            sent.push(Sent {
                at,
                taken: taken.is_ok(),
            });
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
                _ = &mut stop => return sent,
            }
        }
    })
}

/// Bob and Carol in a room with a message every 20 ms; `kill` kills the room's primary (and
/// returns what must live until the end). The room must take messages again, every
/// participant must get every message after the failover, none twice or out of order; what
/// the failover cost is printed.
async fn busy_room_survives<T>(kind: &str, store: RedisStore, kill: impl AsyncFnOnce() -> T) {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let rooms = client.rooms(store);
    let room = rooms.create().id(ROOM).send().await.unwrap();
    let names = ["bob", "carol"];
    let readers = readers(&room, &client, &names).await;
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let sending = chatter(room.clone(), stopped);
    tokio::time::sleep(Duration::from_secs(1)).await;

    let killed = Instant::now();
    let _alive = kill().await;
    // Wait until the room takes messages again, then let it run a second more.
    let back = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if room.send_message("probe").await.is_ok() {
            break killed.elapsed();
        }
        assert!(
            killed.elapsed() < Duration::from_secs(30),
            "the room takes messages again within 30 s"
        );
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.send(()).unwrap();
    let sent = sending.await.unwrap();
    room.send_message("end").await.unwrap();

    let refused = sent.iter().filter(|s| !s.taken).count();
    let last_refused = sent.iter().rposition(|s| !s.taken);
    for (reader, name) in readers.into_iter().zip(names) {
        let (peer, got) = reader.await.unwrap();
        let (numbers, longest) = numbered(&got);
        let seqs: Vec<u64> = got.iter().map(|(_, u)| u.seq).collect();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "{name}: seqs in order, once: {seqs:?}"
        );
        assert!(
            numbers.windows(2).all(|w| w[0] < w[1]),
            "{name}: messages in order, once: {numbers:?}"
        );
        let lost: Vec<usize> = (0..sent.len())
            .filter(|&n| sent[n].taken && !numbers.contains(&(n as u32)))
            .collect();
        // Every message the room took after the failover reaches everyone.
        let after = last_refused.map_or(0, |n| n + 1);
        assert!(
            lost.iter().all(|&n| n < after),
            "{name} missed messages taken after the failover: {lost:?}"
        );
        let lost_at: Vec<Duration> = lost.iter().map(|&n| sent[n].at - killed).collect();
        // A refused message may still have been written before the error reached the sender.
        let refused_heard = numbers.iter().filter(|&&n| !sent[n as usize].taken).count();
        println!(
            "failover ({kind}): {name}: {} messages sent every 20 ms, {refused} refused ({refused_heard} of them heard anyway), {} taken and lost ({lost_at:?} after the kill); the room took messages again {back:?} after the kill; longest wait between two messages {longest:?}",
            sent.len(),
            lost.len(),
        );
        peer.leave().await.unwrap();
    }
    room.close().await.unwrap();
}
