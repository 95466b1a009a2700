//! The room page (examples/room) in headless Chromium with fake camera and microphone: three
//! pages join the room served by the example's own server, each decodes the other two videos,
//! all three receive the server's "Hello!", one leaves and the other two see it go. The third
//! join's API calls are counted at the emulator.

#![cfg(feature = "room")]

use crate::support::room as room_support;

use crate::support::chromium;
#[cfg(feature = "redis")]
use crate::support::redis as redis_server;
#[path = "../../examples/room/server.rs"]
#[allow(dead_code)]
mod server;

use room_support::client;
use std::sync::Arc;
use std::time::Duration;

use calls_emulator::Emulator;
use cloudflare_calls::room::{MemoryStore, Room, Rooms};
use serde_json::Value;

const FLAGS: &[&str] = &[
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--window-size=960,720",
];

async fn wait_for(page: &chromium::Browser, condition: &str, what: &str) {
    for _ in 0..300 {
        if page.eval(condition).await.unwrap() == Value::Bool(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let state = page
        .eval("JSON.stringify({errors: roomState.errors, chat: roomState.chat, joined: roomState.joined})")
        .await
        .unwrap();
    panic!("{what}: not reached within 30 s; page state {state}");
}

/// The page's remote videos that have decoded frames, counted by session.
const DECODING: &str = r#"(async () => {
  const videos = [...document.querySelectorAll('.tile')]
    .filter(t => t.dataset.session !== roomState.me.sessionId)
    .map(t => t.querySelector('video'));
  const before = videos.map(v => v.getVideoPlaybackQuality().totalVideoFrames);
  await new Promise(r => setTimeout(r, 500));
  return videos.filter((v, i) => v.videoWidth > 0 && v.getVideoPlaybackQuality().totalVideoFrames > before[i]).length;
})()"#;

/// A canvas stream standing in for a screen, shared through the page's `share`.
const SHARE: &str = r#"(() => {
  const c = document.createElement('canvas');
  c.width = 320; c.height = 240;
  const g = c.getContext('2d');
  let n = 0;
  setInterval(() => { g.fillStyle = `hsl(${n++ * 7 % 360}, 70%, 50%)`; g.fillRect(0, 0, 320, 240); }, 40);
  return share(c.captureStream(25)).then(() => roomState.errors.length === 0);
})()"#;

/// Waits until the page decodes `want` videos of others.
async fn decodes(page: &chromium::Browser, want: u64, what: &str) {
    let mut decoding = 0;
    for _ in 0..60 {
        decoding = page.eval(DECODING).await.unwrap().as_u64().unwrap();
        if decoding == want {
            return;
        }
    }
    panic!("{what}: {decoding} videos decoding, not {want}");
}

/// Serves the example's page and API for `rooms`; returns its base URL.
async fn serve(rooms: &Rooms) -> String {
    let app = server::App {
        rooms: rooms.clone(),
        ice_servers: Arc::new(serde_json::json!([])),
        key: cloudflare_calls::Secret::new("the room page's signing key in tests"),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, server::router(app)).await });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_pages_see_each_other_hear_the_server_and_see_one_leave() {
    let _heavy = crate::support::heavy::heavy().await;
    if chromium::skip_without_chromium() {
        return;
    }
    let emulator = Emulator::start().await.unwrap();
    let rooms = client(&emulator).rooms(MemoryStore::new());
    let base = serve(&rooms).await;
    let room = server::room(&rooms, "demo").await.unwrap();
    three_pages(&emulator, &room, [&base, &base, &base]).await;
}

/// The same three pages, served by two backend processes sharing Redis: Alice and Carol
/// through A (which hosts the room), Bob through B.
#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_pages_served_by_two_processes_sharing_redis() {
    let _heavy = crate::support::heavy::heavy().await;
    if chromium::skip_without_chromium() || redis_server::skip_without_redis() {
        return;
    }
    let redis = redis_server::Redis::start().await;
    let emulator = Emulator::start().await.unwrap();
    let url = redis.url();
    let store = || cloudflare_calls::room::RedisStore::connect(&url);
    let rooms_a = client(&emulator).rooms(store().await.unwrap());
    let rooms_b = client(&emulator).rooms(store().await.unwrap());
    let (base_a, base_b) = (serve(&rooms_a).await, serve(&rooms_b).await);
    let room = server::room(&rooms_a, "demo").await.unwrap();
    three_pages(&emulator, &room, [&base_a, &base_b, &base_a]).await;
}

/// Alice, Bob and Carol open the page at their base URLs.
async fn three_pages(emulator: &Emulator, room: &Room, bases: [&str; 3]) {
    server::greet(room).await.unwrap();
    let mut pages = Vec::new();
    for (name, base) in ["alice", "bob", "carol"].into_iter().zip(bases) {
        let page = chromium::Browser::launch_with(FLAGS).await.unwrap();
        if name == "carol" {
            emulator.reset_stats();
        }
        page.goto(&format!("{base}/?room=demo&name={name}"))
            .await
            .unwrap();
        wait_for(&page, "roomState.joined", &format!("{name} joined")).await;
        pages.push(page);
    }
    for (page, name) in pages.iter().zip(["alice", "bob", "carol"]) {
        // The welcome sent on each join is above the page's snapshot, so none is dropped.
        wait_for(
            page,
            &format!("roomState.chat.includes('server (to you): Welcome, {name}!')"),
            &format!("{name} got the welcome sent on its join"),
        )
        .await;
        wait_for(
            page,
            "roomState.participants.size === 3",
            &format!("{name} sees three"),
        )
        .await;
        decodes(page, 2, &format!("{name} decodes both other videos")).await;
    }
    // Carol's join: one session, one push carrying the page's offer, one pull of the four
    // tracks already in the room, one renegotiation with the page's answer, one call for her
    // two room channels. Alice and Bob then each pull her two tracks: one pull and one
    // renegotiation each, as her tracks come in one event.
    let stats = emulator.stats();
    let calls = [
        "new_session",
        "add_tracks",
        "renegotiate_session",
        "add_data_channels",
    ]
    .map(|op| (op, stats.calls(op)));
    println!("calls since carol's page opened: {calls:?}");
    assert_eq!(stats.calls("new_session"), 1);
    assert_eq!(stats.calls("add_tracks"), 2 + 2);
    assert_eq!(stats.calls("renegotiate_session"), 1 + 2);
    // Hers, and the room's peer subscribing to her channel.
    assert_eq!(stats.calls("add_data_channels"), 1 + 1);
    assert_eq!(stats.with_status(406), 0);

    room.send_message("Hello!").await.unwrap();
    for (page, name) in pages.iter().zip(["alice", "bob", "carol"]) {
        wait_for(
            page,
            "roomState.chat.includes('server: Hello!')",
            &format!("{name} got Hello!"),
        )
        .await;
    }
    // A participant's chat message reaches the others through the server.
    pages[0]
        .eval("document.getElementById('text').value = 'hi from alice'; document.getElementById('send').requestSubmit(); true")
        .await
        .unwrap();
    wait_for(
        &pages[1],
        "roomState.chat.includes('alice: hi from alice')",
        "bob got alice's message",
    )
    .await;

    // Alice shares a second video (what the page's "Share screen" button does with
    // getDisplayMedia): the others pull it as it is announced, then see it go.
    assert_eq!(pages[0].eval(SHARE).await.unwrap(), Value::Bool(true));
    for (page, name) in pages[1..].iter().zip(["bob", "carol"]) {
        decodes(page, 3, &format!("{name} decodes alice's share")).await;
    }
    if let Ok(dir) = std::env::var("CALLS_SCREENSHOTS") {
        for (page, name) in pages.iter().zip(["alice", "bob"]) {
            let png = page.screenshot().await.unwrap();
            std::fs::write(format!("{dir}/room-{name}.png"), png).unwrap();
        }
    }
    let unshared = pages[0].eval("unshare().then(() => roomState.errors.length === 0)");
    assert_eq!(unshared.await.unwrap(), Value::Bool(true));
    for page in &pages[1..] {
        wait_for(
            page,
            "document.querySelectorAll('.tile').length === 3",
            "the share's tile gone",
        )
        .await;
    }

    pages[2].eval("leaveRoom().then(() => true)").await.unwrap();
    // Leaving released carol's camera and microphone.
    let released = pages[2]
        .eval("roomState.media.getTracks().every(t => t.readyState === 'ended')")
        .await
        .unwrap();
    assert_eq!(released, true, "carol's devices still run after leaving");
    for (page, name) in pages.iter().take(2).zip(["alice", "bob"]) {
        wait_for(
            page,
            "roomState.participants.size === 2",
            &format!("{name} sees carol go"),
        )
        .await;
        wait_for(
            page,
            "roomState.chat.some(l => l.startsWith('carol left'))",
            &format!("{name} told carol left"),
        )
        .await;
    }
    let snapshot = room.snapshot().await.unwrap();
    assert_eq!(snapshot.participants.len(), 2);
    room.close().await.unwrap();
    for page in &pages {
        let errors = page.eval("JSON.stringify(roomState.errors)").await.unwrap();
        assert_eq!(errors, Value::String("[]".into()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_viewer_pages_watch_a_broadcasting_page() {
    let _heavy = crate::support::heavy::heavy().await;
    if chromium::skip_without_chromium() {
        return;
    }
    let emulator = Emulator::start().await.unwrap();
    let rooms = client(&emulator).rooms(MemoryStore::new());
    let base = serve(&rooms).await;

    let mut pages = Vec::new();
    for (name, role) in [("stage", "broadcaster"), ("v1", "viewer"), ("v2", "viewer")] {
        let page = chromium::Browser::launch_with(FLAGS).await.unwrap();
        emulator.reset_stats();
        page.goto(&format!("{base}/?room=show&name={name}&role={role}"))
            .await
            .unwrap();
        wait_for(&page, "roomState.joined", &format!("{name} joined")).await;
        pages.push(page);
    }
    // The last viewer offered sections to receive in, so the broadcast came in the answer to
    // its offer: one session, one pull carrying the offer, no renegotiation; then its
    // channels, and the room peer's subscription to its own.
    let stats = emulator.stats();
    assert_eq!(stats.calls("new_session"), 1);
    assert_eq!(stats.calls("add_tracks"), 1);
    assert_eq!(stats.calls("renegotiate_session"), 0);
    assert_eq!(stats.calls("add_data_channels"), 2);
    for (page, name) in pages[1..].iter().zip(["v1", "v2"]) {
        decodes(
            page,
            1,
            &format!("{name} decodes the broadcast, and only it"),
        )
        .await;
    }
    let stage_videos = pages[0].eval(DECODING).await.unwrap();
    assert_eq!(
        stage_videos,
        Value::from(0),
        "the broadcaster pulls nothing"
    );

    let room = rooms.open("show").await.unwrap();
    room.send_message("Hello!").await.unwrap();
    for page in &pages {
        wait_for(
            page,
            "roomState.chat.includes('server: Hello!')",
            "Hello! everywhere",
        )
        .await;
    }
    pages[0].eval("leaveRoom().then(() => true)").await.unwrap();
    for page in &pages[1..] {
        wait_for(
            page,
            "roomState.chat.some(l => l.startsWith('stage left'))",
            "viewers told the broadcaster, by the name it joined with, left",
        )
        .await;
        wait_for(
            page,
            "document.querySelectorAll('.tile').length === 0",
            "the broadcast's tile gone",
        )
        .await;
    }
    room.close().await.unwrap();
}
