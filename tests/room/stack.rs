//! The stack a room's calls need. A debug build copies each awaited future into its caller's
//! frame a few times over, so large futures nested a few deep once took a join close to a
//! tokio worker's 2 MiB stack, and a test that added its own frames overflowed it.

#![cfg(feature = "room")]

use std::time::Duration;

use calls_emulator::Emulator;
use cloudflare_calls::Client;
use cloudflare_calls::peer::FrameCodec;
use cloudflare_calls::room::MemoryStore;

use crate::support::room::client;

/// Three eighths of a tokio worker's default stack (2 MiB). The flow needed about 420 KiB when
/// this was written, and over 768 KiB before the calls' futures were boxed at `decode`.
const STACK: usize = 768 * 1024;

/// Creates a room, joins two participants, publishes a track one of them pulls and receives,
/// sends a message both ways, and leaves.
async fn flow(client: Client) {
    let room = client
        .rooms(MemoryStore::new())
        .create()
        .send()
        .await
        .unwrap();
    let alice = room.join("alice").connect(client.peer()).await.unwrap();
    let mic = alice.publish_track("mic", FrameCodec::Opus).await.unwrap();
    let sending = tokio::spawn(async move { mic.send_silence(Duration::from_secs(3)).await });
    let mut bob = room.join("bob").connect(client.peer()).await.unwrap();
    let mut from_alice = bob
        .take_tracks()
        .pop()
        .expect("bob pulls alice's mic as he joins");
    tokio::time::timeout(Duration::from_secs(10), from_alice.recv())
        .await
        .expect("a frame within 10 s")
        .expect("the track is open");
    room.send_message("Hello!").await.unwrap();
    alice.send_text("hi").await.unwrap();
    bob.leave().await.unwrap();
    alice.leave().await.unwrap();
    sending.abort();
    room.close().await.unwrap();
}

#[tokio::test]
async fn a_room_flow_runs_within_three_eighths_of_a_worker_stack() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    // The flow runs alone on a thread of that size; an overflow aborts the test binary
    // with this thread's name.
    let small = std::thread::Builder::new()
        .name("room-flow-on-768-KiB".into())
        .stack_size(STACK)
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(flow(client));
        })
        .unwrap();
    tokio::task::spawn_blocking(move || small.join())
        .await
        .unwrap()
        .expect("the flow completes");
}
