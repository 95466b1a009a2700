//! The room page (examples/room, built on the browser library in browser/) in headless
//! Chromium with fake camera and microphone, driven as a person would: fill in the join
//! screen, click, read what the page shows. Three pages join the room served by the example's
//! own server, each decodes the other two videos, all three receive the server's "Hello!",
//! one shares a screen, one leaves; a page reloads and rejoins; a token cannot act for
//! another; an expired token is shown as such. Any script error or console error in a page
//! fails its test.

#![cfg(feature = "room")]

use crate::support::room as room_support;

use crate::support::chromium;
#[cfg(feature = "redis")]
use crate::support::redis as redis_server;
#[path = "../../examples/room/server.rs"]
#[allow(dead_code)]
mod server;

use room_support::client;
use std::time::Duration;

use calls_emulator::Emulator;
use cloudflare_calls::Secret;
use cloudflare_calls::api::{Claims, Grants};
use cloudflare_calls::room::{MemoryStore, Rooms};
use serde_json::Value;

const FLAGS: &[&str] = &[
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--window-size=1200,760",
];

/// The key the example's server signs tokens with in these tests.
const KEY: &str = "the room page's signing key in tests";

/// What the page shows: its connection state, its chat, its error banner, and what the
/// browser reported as errors.
async fn page_state(page: &chromium::Browser) -> String {
    let shown = page
        .eval(
            "JSON.stringify({status: document.getElementById('status').dataset.state, \
             error: document.getElementById('error').textContent, chat: chatLines()})",
        )
        .await;
    format!("{shown:?}; errors {:?}", page.errors().await)
}

/// The page's chat lines, as `chatLines()` in the page.
const CHAT: &str = "window.chatLines = () => [...document.querySelectorAll('#chat li')].map(l => l.textContent); true";

async fn wait_for(page: &chromium::Browser, condition: &str, what: &str) {
    for _ in 0..300 {
        if page.eval(condition).await.unwrap() == Value::Bool(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{what}: not reached within 30 s; page {}",
        page_state(page).await
    );
}

/// Waits until the page's chat has a line equal to `line`.
async fn chat_has(page: &chromium::Browser, line: &str, what: &str) {
    let line = serde_json::to_string(line).unwrap();
    wait_for(page, &format!("chatLines().includes({line})"), what).await;
}

/// Fails on any error the page reported.
async fn no_errors(page: &chromium::Browser, name: &str) {
    let errors = page.errors().await;
    assert!(
        errors.is_empty(),
        "{name}'s page reported errors: {errors:?}"
    );
}

/// The page's remote videos that have decoded frames.
const DECODING: &str = r#"(async () => {
  const videos = [...document.querySelectorAll('.tile:not(#tile-me):not(#tile-screen) video')];
  const before = videos.map(v => v.getVideoPlaybackQuality().totalVideoFrames);
  await new Promise(r => setTimeout(r, 500));
  return videos.filter((v, i) => v.videoWidth > 0 && v.getVideoPlaybackQuality().totalVideoFrames > before[i]).length;
})()"#;

/// A canvas stream standing in for a screen, shared as the "Share screen" button shares one.
const SHARE: &str = r#"(() => {
  const c = document.createElement('canvas');
  c.width = 320; c.height = 240;
  const g = c.getContext('2d');
  let n = 0;
  setInterval(() => { g.fillStyle = `hsl(${n++ * 7 % 360}, 70%, 50%)`; g.fillRect(0, 0, 320, 240); }, 40);
  return shareScreen(c.captureStream(25)).then(() => true);
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
    serve_app(server::App::new(
        rooms.clone(),
        serde_json::json!([]),
        Secret::new(KEY),
    ))
    .await
}

async fn serve_app(app: server::App) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, server::router(app)).await });
    base
}

/// What most tests here start from: their turn among the heavy tests, an emulator, rooms on
/// it in memory, and the example's server for them.
struct Stage {
    _heavy: tokio::sync::MutexGuard<'static, ()>,
    emulator: Emulator,
    rooms: Rooms,
    base: String,
}

/// The stage, on the emulator `builder` makes; `None` (the test returns) without Chromium.
async fn stage(builder: calls_emulator::EmulatorBuilder) -> Option<Stage> {
    let heavy = crate::support::heavy::heavy().await;
    if chromium::skip_without_chromium() {
        return None;
    }
    let emulator = builder.start().await.unwrap();
    let rooms = client(&emulator).rooms(MemoryStore::new());
    let base = serve(&rooms).await;
    Some(Stage {
        _heavy: heavy,
        emulator,
        rooms,
        base,
    })
}

/// Opens the page at `url` and prepares the test's view of it.
async fn open(url: &str) -> chromium::Browser {
    let page = chromium::Browser::launch_with(FLAGS).await.unwrap();
    page.goto(url).await.unwrap();
    page.eval(CHAT).await.unwrap();
    page
}

/// Opens the page as `name` would: the join screen filled in by the link, then Join.
async fn join(base: &str, room: &str, name: &str, role: &str) -> chromium::Browser {
    let page = open(&format!("{base}/?room={room}&name={name}&role={role}")).await;
    click_join(&page, name).await;
    page
}

async fn click_join(page: &chromium::Browser, name: &str) {
    page.eval("document.getElementById('enter').click(); true")
        .await
        .unwrap();
    wait_for(
        page,
        "document.getElementById('status').dataset.state === 'connected'",
        &format!("{name} connected"),
    )
    .await;
}

/// With `CALLS_SCREENSHOTS=dir`, a screenshot of the page in `dir/{name}.png` (the README's).
async fn shoot(page: &chromium::Browser, name: &str) {
    if let Ok(dir) = std::env::var("CALLS_SCREENSHOTS") {
        let png = page.screenshot().await.unwrap();
        std::fs::write(format!("{dir}/{name}.png"), png).unwrap();
    }
}

async fn count_is(page: &chromium::Browser, n: usize, what: &str) {
    let condition = format!("document.getElementById('count').textContent === '{n} here'");
    wait_for(page, &condition, what).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_pages_see_each_other_hear_the_server_and_see_one_leave() {
    let Some(stage) = stage(Emulator::builder()).await else {
        return;
    };
    let Stage {
        emulator,
        rooms,
        base,
        ..
    } = &stage;
    three_pages(emulator, rooms, [base, base, base]).await;
}

/// The same three pages, served by two backend processes sharing Redis: Alice and Carol
/// through A (which hosts the room), Bob through B.
#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_pages_served_by_two_processes_sharing_redis() {
    let Some(two) = two_processes().await else {
        return;
    };
    let (base_a, base_b) = (serve(&two.a).await, serve(&two.b).await);
    three_pages(&two.emulator, &two.a, [&base_a, &base_b, &base_a]).await;
}

/// Two backend processes sharing one Redis, as two `Rooms` of this one (each has its own node
/// and host peers), with their turn among the heavy tests.
#[cfg(feature = "redis")]
struct TwoProcesses {
    _heavy: tokio::sync::MutexGuard<'static, ()>,
    _redis: redis_server::Redis,
    emulator: Emulator,
    a: Rooms,
    b: Rooms,
}

/// The two processes; `None` (the test returns) without Chromium or Redis.
#[cfg(feature = "redis")]
async fn two_processes() -> Option<TwoProcesses> {
    let heavy = crate::support::heavy::heavy().await;
    if chromium::skip_without_chromium() || redis_server::skip_without_redis() {
        return None;
    }
    let redis = redis_server::Redis::start().await;
    let emulator = Emulator::start().await.unwrap();
    let url = redis.url();
    let store = || cloudflare_calls::room::RedisStore::connect(&url);
    let a = client(&emulator).rooms(store().await.unwrap());
    let b = client(&emulator).rooms(store().await.unwrap());
    Some(TwoProcesses {
        _heavy: heavy,
        _redis: redis,
        emulator,
        a,
        b,
    })
}

/// Alice, Bob and Carol open the page at their base URLs and join room "demo".
async fn three_pages(emulator: &Emulator, rooms: &Rooms, bases: [&str; 3]) {
    let names = ["alice", "bob", "carol"];
    let alice = open(&format!("{}/?room=demo&name=alice", bases[0])).await;
    shoot(&alice, "room-join").await;
    click_join(&alice, "alice").await;
    let mut pages = vec![alice, join(bases[1], "demo", "bob", "member").await];
    // Alice and Bob receive each other before Carol comes, so what her join costs is hers.
    decodes(&pages[0], 1, "alice decodes bob").await;
    decodes(&pages[1], 1, "bob decodes alice").await;
    emulator.reset_stats();
    pages.push(join(bases[2], "demo", "carol", "member").await);
    let room = rooms.open("demo").await.unwrap();
    for (page, name) in pages.iter().zip(names) {
        // The welcome sent on each join is above the page's snapshot, so none is dropped.
        let welcome = format!("server (to you): Welcome, {name}!");
        chat_has(page, &welcome, &format!("{name} got its welcome")).await;
        count_is(page, 3, &format!("{name} sees three")).await;
        decodes(page, 2, &format!("{name} decodes both other videos")).await;
        // Each video under its publisher's name, however the media and the room's news raced.
        let labels = page
            .eval("JSON.stringify([...document.querySelectorAll('.tile span')].map(s => s.textContent).sort())")
            .await
            .unwrap();
        let mut want: Vec<String> = names
            .iter()
            .filter(|n| **n != name)
            .map(|n| n.to_string())
            .collect();
        want.push(format!("{name} (you)"));
        want.sort();
        assert_eq!(
            labels,
            serde_json::to_string(&want).unwrap(),
            "{name}'s tiles"
        );
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
    for (page, name) in pages.iter().zip(names) {
        chat_has(page, "server: Hello!", &format!("{name} got Hello!")).await;
        // Welcomed once, whichever process served the page.
        let welcome = format!("server (to you): Welcome, {name}!");
        let welcomes = format!("chatLines().filter(l => l === '{welcome}').length");
        assert_eq!(page.eval(&welcomes).await.unwrap(), 1, "{name}'s welcomes");
    }
    // A participant's chat message reaches everyone through the room, its sender too.
    pages[0]
        .eval("document.getElementById('text').value = 'hi from alice'; document.getElementById('send').requestSubmit(); true")
        .await
        .unwrap();
    chat_has(&pages[1], "alice: hi from alice", "bob got alice's message").await;
    chat_has(&pages[0], "you: hi from alice", "alice sees her message").await;

    // Her toggles: the camera and the microphone stop sending, and say so; then send again.
    let toggled = r#"(() => {
      const cam = document.querySelector('#tile-me video').srcObject.getVideoTracks()[0];
      const seen = [];
      for (const id of ['camera', 'mic', 'camera', 'mic']) {
        document.getElementById(id).click();
        seen.push(document.getElementById(id).textContent);
        if (id === 'camera') seen.push(cam.enabled);
      }
      return JSON.stringify(seen);
    })()"#;
    let seen = pages[0].eval(toggled).await.unwrap();
    assert_eq!(
        seen, r#"["Camera on",false,"Unmute","Camera off",true,"Mute"]"#,
        "alice's toggles"
    );

    // Alice shares a second video (what "Share screen" does with getDisplayMedia): the
    // others pull it as it is announced, then see it go when she stops.
    assert_eq!(pages[0].eval(SHARE).await.unwrap(), Value::Bool(true));
    for (page, name) in pages[1..].iter().zip(["bob", "carol"]) {
        decodes(page, 3, &format!("{name} decodes alice's share")).await;
    }
    shoot(&pages[1], "room-bob").await;
    pages[0]
        .eval("document.getElementById('share').click(); true")
        .await
        .unwrap();
    for page in &pages[1..] {
        let tiles = "document.querySelectorAll('.tile').length === 3";
        wait_for(page, tiles, "the share's tile gone").await;
    }

    // Carol leaves: her camera stops, her page is back at the join screen.
    pages[2]
        .eval("window.camera = document.querySelector('#tile-me video').srcObject.getTracks(); document.getElementById('leave').click(); true")
        .await
        .unwrap();
    let lobby = "!document.body.classList.contains('in-room') && document.getElementById('note').textContent === 'You left the room.'";
    wait_for(&pages[2], lobby, "carol back at the join screen").await;
    let released = pages[2]
        .eval("camera.every(t => t.readyState === 'ended')")
        .await
        .unwrap();
    assert_eq!(released, true, "carol's camera still runs after leaving");
    for (page, name) in pages.iter().take(2).zip(names) {
        count_is(page, 2, &format!("{name} sees carol go")).await;
        chat_has(page, "carol left", &format!("{name} told carol left")).await;
    }
    assert_eq!(room.snapshot().await.unwrap().participants.len(), 2);

    // The room closes: the pages say so and are ready to join again.
    room.close().await.unwrap();
    let closed = "!document.body.classList.contains('in-room') && document.getElementById('note').textContent === 'The room closed.'";
    for (page, name) in pages.iter().take(2).zip(names) {
        wait_for(page, closed, &format!("{name} told the room closed")).await;
    }
    for (page, name) in pages.iter().zip(names) {
        no_errors(page, name).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_viewer_pages_watch_a_broadcasting_page() {
    let Some(stage) = stage(Emulator::builder()).await else {
        return;
    };
    let Stage {
        emulator,
        rooms,
        base,
        ..
    } = &stage;

    let mut pages = Vec::new();
    for (name, role) in [("stage", "broadcaster"), ("v1", "viewer"), ("v2", "viewer")] {
        emulator.reset_stats();
        pages.push(join(base, "show", name, role).await);
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
        let what = format!("{name} decodes the broadcast, and only it");
        decodes(page, 1, &what).await;
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
        chat_has(page, "server: Hello!", "Hello! everywhere").await;
    }
    pages[0]
        .eval("document.getElementById('leave').click(); true")
        .await
        .unwrap();
    for page in &pages[1..] {
        let what = "viewers told the broadcaster, by the name it joined with, left";
        chat_has(page, "stage left", what).await;
        let tiles = "document.querySelectorAll('.tile').length === 0";
        wait_for(page, tiles, "the broadcast's tile gone").await;
    }
    room.close().await.unwrap();
    for (page, name) in pages.iter().zip(["stage", "v1", "v2"]) {
        no_errors(page, name).await;
    }
}

/// Bob reloads his page and joins again: the others see him go and come back, once, and
/// decode his new video; a room closed meanwhile is re-created by the next join.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_reloads_rejoins_and_a_closed_room_opens_again() {
    let Some(stage) = stage(Emulator::builder()).await else {
        return;
    };
    let Stage { rooms, base, .. } = &stage;
    let alice = join(base, "reload", "alice", "member").await;
    let bob = join(base, "reload", "bob", "member").await;
    decodes(&alice, 1, "alice decodes bob").await;

    bob.reload().await.unwrap();
    bob.eval(CHAT).await.unwrap();
    // Leaving as the page unloaded freed his name at once: the same join works again.
    chat_has(&alice, "bob left", "alice saw bob's page go").await;
    click_join(&bob, "bob, again").await;
    count_is(&alice, 2, "alice sees bob back, once").await;
    count_is(&bob, 2, "bob sees alice").await;
    decodes(&alice, 1, "alice decodes bob's new video").await;
    decodes(&bob, 1, "bob decodes alice").await;
    let room = rooms.open("reload").await.unwrap();
    assert_eq!(room.snapshot().await.unwrap().participants.len(), 2);

    // The room closes under them; the next join re-creates it and the server greets again.
    room.close().await.unwrap();
    let lobby = "!document.body.classList.contains('in-room')";
    wait_for(&alice, lobby, "alice told the room closed").await;
    click_join(&alice, "alice, in the room re-created").await;
    chat_has(
        &alice,
        "server (to you): Welcome, alice!",
        "greeted in the new room",
    )
    .await;
    for (page, name) in [(&alice, "alice"), (&bob, "bob")] {
        no_errors(page, name).await;
    }
}

/// Bob's network drops out (no HTTP, no media), first for 7 s, which the connection rides
/// out, then for 14 s, long enough for the SFU to close his session (after 9 s of silence
/// here), so the page rejoins as the network comes back. Each time his page says
/// it is reconnecting, then is back in the room on its own, receiving and received, and the
/// room holds him once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_whose_network_drops_out_recovers() {
    let silent = Emulator::builder().silence_timeout(Duration::from_secs(9));
    let Some(stage) = stage(silent).await else {
        return;
    };
    let Stage {
        emulator,
        rooms,
        base,
        ..
    } = &stage;
    let alice = join(base, "flaky", "alice", "member").await;
    let bob = join(base, "flaky", "bob", "member").await;
    let room = rooms.open("flaky").await.unwrap();
    for (outage, rejoins) in [(7, false), (14, true)] {
        decodes(&alice, 1, "alice decodes bob").await;
        decodes(&bob, 1, "bob decodes alice").await;
        bob.eval("window.states = []; room.on('connectionState', s => states.push(s)); true")
            .await
            .unwrap();
        let session = bob.eval("room.me.sessionId").await.unwrap();
        let outage = Duration::from_secs(outage);
        let started = std::time::Instant::now();
        bob.offline(true).await.unwrap();
        assert!(emulator.partition(session.as_str().unwrap(), outage));
        tokio::time::sleep(outage).await;
        bob.offline(false).await.unwrap();
        let back = "states.includes('reconnecting') && states[states.length - 1] === 'connected'";
        wait_for(&bob, back, "bob's page reconnected").await;
        let rejoined = bob.eval("room.me.sessionId").await.unwrap() != session;
        println!(
            "bob's network out for {outage:?}: connected again {:?} after it dropped; rejoined: {rejoined}",
            started.elapsed()
        );
        assert_eq!(rejoined, rejoins, "after {outage:?}");
        decodes(&alice, 1, "alice decodes bob again").await;
        decodes(&bob, 1, "bob decodes alice again").await;
        count_is(&alice, 2, "alice sees bob, once").await;
        count_is(&bob, 2, "bob sees alice").await;
        assert_eq!(room.snapshot().await.unwrap().participants.len(), 2);
        let said = format!("still here after {outage:?}?");
        room.send_message(said.as_str()).await.unwrap();
        chat_has(&bob, &format!("server: {said}"), "bob hears the room again").await;
    }
    no_errors(&alice, "alice").await;
    // Bob's page logs the requests the outage refused, and the 404 of leaving a participant
    // the room had already removed as gone; nothing else.
    let errors = bob.errors().await;
    assert!(
        errors
            .iter()
            .all(|e| e.contains("ERR_INTERNET_DISCONNECTED")
                || (e.contains("404") && e.ends_with("/leave)"))),
        "bob's page: {errors:?}"
    );
}

/// Tokens that last 2 s: a call goes on past its token, as the page signs in again when the
/// API refuses an expired one; Alice shares her screen after hers expired.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_outlives_its_tokens() {
    let _heavy = crate::support::heavy::heavy().await;
    if chromium::skip_without_chromium() {
        return;
    }
    let emulator = Emulator::start().await.unwrap();
    let rooms = client(&emulator).rooms(MemoryStore::new());
    let mut app = server::App::new(rooms.clone(), serde_json::json!([]), Secret::new(KEY));
    app.token_ttl = Duration::from_secs(2);
    let base = serve_app(app).await;
    let alice = join(&base, "long", "alice", "member").await;
    let bob = join(&base, "long", "bob", "member").await;
    decodes(&bob, 1, "bob decodes alice").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(alice.eval(SHARE).await.unwrap(), Value::Bool(true));
    decodes(
        &bob,
        2,
        "bob decodes alice's share, published on a refreshed token",
    )
    .await;
    // The browser logs each call refused for an expired token, which the page then made
    // again (Alice's publish, Bob's pull of her share); nothing else.
    for (page, name) in [(&alice, "alice"), (&bob, "bob")] {
        let errors = page.errors().await;
        assert!(
            !errors.is_empty() && errors.iter().all(|e| e.contains("401 (Unauthorized)")),
            "{name}'s page: {errors:?}"
        );
    }
}

/// The complete page of browser/README.md, as an app would serve it with its own sign-in:
/// two people open it, see and hear each other, chat, and one leaves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_in_the_library_readme_works() {
    use axum::routing::{get, post};
    use std::sync::atomic::{AtomicUsize, Ordering};

    let _heavy = crate::support::heavy::heavy().await;
    if chromium::skip_without_chromium() {
        return;
    }
    let readme = include_str!("../../browser/README.md");
    let page = readme
        .split("```html\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("browser/README.md has an html block");
    let emulator = Emulator::start().await.unwrap();
    let rooms = client(&emulator).rooms(MemoryStore::new());
    // The app's sign-in: the n-th visitor is user-n, in room "readme".
    let visitors = std::sync::Arc::new(AtomicUsize::new(0));
    let sign_in = move || {
        let n = visitors.fetch_add(1, Ordering::Relaxed);
        let claims = Claims::new("readme", format!("user-{n}"), Grants::participant());
        async move {
            axum::Json(serde_json::json!({ "token": claims.to_jwt(&Secret::new(KEY)).unwrap() }))
        }
    };
    let api = cloudflare_calls::api::RoomApi::new(rooms.clone(), KEY)
        .create_on_join(true)
        .router();
    let app = axum::Router::new()
        .route("/", get(move || async move { axum::response::Html(page) }))
        .route("/token", post(sign_in))
        .route("/client/{file}", get(server::client))
        .merge(api);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let first = open(&base).await;
    let second = open(&base).await;
    let playing = r#"[...document.querySelectorAll('#videos video')].some(v => v.videoWidth > 0)
        && document.querySelectorAll('#videos audio').length === 1"#;
    for (page, other) in [(&first, "user-1"), (&second, "user-0")] {
        chat_has(page, &format!("{other} joined"), "told who joined").await;
        wait_for(
            page,
            playing,
            "the other's video plays, and their audio is there",
        )
        .await;
    }
    first
        .eval("document.querySelector('#text').value = 'hi'; document.querySelector('#send').click(); true")
        .await
        .unwrap();
    chat_has(&second, "user-0: hi", "the message arrived").await;
    second
        .eval("document.querySelector('#leave').click(); true")
        .await
        .unwrap();
    chat_has(&first, "user-1 left", "told who left").await;
    wait_for(
        &first,
        "document.querySelectorAll('#videos > *').length === 0",
        "their media gone",
    )
    .await;
    chat_has(&second, "out: left", "the leaver is out").await;
    for (page, name) in [(&first, "first"), (&second, "second")] {
        no_errors(page, name).await;
    }
}

/// Two pages behind a firewall that lets only TCP out: relay-only ICE, with only the minted
/// `turn:` URL over TCP. They see and hear each other through the room, every packet relayed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_that_reach_the_sfu_only_through_turn_over_tcp() {
    let _heavy = crate::support::heavy::heavy().await;
    if chromium::skip_without_chromium() {
        return;
    }
    let emulator = Emulator::start().await.unwrap();
    let client = crate::support::turn::client(&emulator);
    let minted = client
        .turn()
        .generate_ice_servers(Duration::from_secs(600))
        .send()
        .await
        .unwrap();
    let ice = crate::support::turn::only_turn(&minted, "tcp");
    let rooms = client.rooms(MemoryStore::new());
    let mut app = server::App::new(rooms.clone(), ice, Secret::new(KEY));
    app.relay_only = true;
    let base = serve_app(app).await;
    let alice = join(&base, "firewalled", "alice", "member").await;
    let bob = join(&base, "firewalled", "bob", "member").await;
    decodes(&alice, 1, "alice decodes bob").await;
    decodes(&bob, 1, "bob decodes alice").await;
    let selected = r#"(async () => {
      const stats = await room.link.pc.getStats();
      let pair = null;
      stats.forEach(s => { if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId); });
      const local = pair && stats.get(pair.localCandidateId);
      return local ? `${local.candidateType}/${local.relayProtocol}` : 'none';
    })()"#;
    for (page, name) in [(&alice, "alice"), (&bob, "bob")] {
        assert_eq!(page.eval(selected).await.unwrap(), "relay/tcp", "{name}");
        no_errors(page, name).await;
    }
}

/// A participant's token acts only on itself: with it, a page's script cannot make another
/// participant leave, kick them, or close the room; nothing changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_token_cannot_act_for_another() {
    let Some(stage) = stage(Emulator::builder()).await else {
        return;
    };
    let Stage { rooms, base, .. } = &stage;
    let alice = join(base, "guarded", "alice", "member").await;
    let bob = join(base, "guarded", "bob", "member").await;
    count_is(&alice, 2, "alice sees bob").await;
    let attempts = r#"(async () => {
      const signIn = await fetch('/token', { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ room: 'guarded', identity: 'alice' }) });
      const auth = { authorization: 'Bearer ' + (await signIn.json()).token };
      const bob = [...room.participants.values()].find(p => p.identity === 'bob').id;
      const at = (path, method = 'POST') => fetch('/rooms/guarded/' + path, { method, headers: auth }).then(r => r.status);
      const close = await fetch('/rooms/guarded', { method: 'DELETE', headers: auth }).then(r => r.status);
      return [await at(`participants/${bob}/leave`), await at(`participants/${bob}`, 'DELETE'), close];
    })()"#;
    let statuses = alice.eval(attempts).await.unwrap();
    assert_eq!(statuses, serde_json::json!([403, 403, 403]));
    let room = rooms.open("guarded").await.unwrap();
    assert_eq!(room.snapshot().await.unwrap().participants.len(), 2);
    count_is(&bob, 2, "bob is still in").await;
    // The browser logs each refused request; nothing else went wrong.
    let errors = alice.errors().await;
    assert!(
        errors.iter().all(|e| e.contains("403")),
        "alice's page: {errors:?}"
    );
    no_errors(&bob, "bob").await;
}

/// A link with an expired token: the page says so in words, and stays at the join screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_with_an_expired_token_says_so() {
    let Some(stage) = stage(Emulator::builder()).await else {
        return;
    };
    let Stage { base, .. } = &stage;
    let mut claims = Claims::new("late", "dave", Grants::participant());
    claims.exp = 1_000_000_000; // 2001
    let token = claims.to_jwt(&Secret::new(KEY)).unwrap();
    let page = open(&format!("{base}/#token={token}")).await;
    let shown = "document.getElementById('error').textContent === 'Your access token has expired: sign in again.' \
                 && !document.body.classList.contains('in-room')";
    wait_for(&page, shown, "the expired token shown").await;
    shoot(&page, "room-expired").await;
    let errors = page.errors().await;
    assert!(
        errors.len() == 1 && errors[0].contains("401"),
        "the page reported more than the refused join: {errors:?}"
    );
}

/// Two pages joined through this process, in a room hosted by another OS process that is
/// then killed: this process takes the room over, the pages move to its room channel without
/// rejoining, and hear what was said while no process hosted the room, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_follow_a_room_whose_host_process_is_killed() {
    let _heavy = crate::support::heavy::heavy().await;
    if chromium::skip_without_chromium() || redis_server::skip_without_redis() {
        return;
    }
    let redis = redis_server::Redis::start().await;
    let emulator = Emulator::start().await.unwrap();
    let mut host = crate::takeover::start_host(&redis.url(), &emulator);
    let store = cloudflare_calls::room::RedisStore::connect(&redis.url()).await;
    let rooms = client(&emulator).rooms(store.unwrap());
    let base = serve(&rooms).await;
    let room_id = crate::takeover::ROOM;
    let alice = join(&base, room_id, "alice", "member").await;
    let bob = join(&base, room_id, "bob", "member").await;
    decodes(&alice, 1, "alice decodes bob").await;
    decodes(&bob, 1, "bob decodes alice").await;
    let room = rooms.open(room_id).await.unwrap();
    let sessions = "JSON.stringify([room.me.sessionId])";
    let before = [
        alice.eval(sessions).await.unwrap(),
        bob.eval(sessions).await.unwrap(),
    ];

    host.kill().unwrap();
    host.wait().unwrap();
    let killed = std::time::Instant::now();
    for text in ["gap 1", "gap 2"] {
        room.send_message(text).await.unwrap();
    }
    let bob_id = bob.eval("room.me.id").await.unwrap();
    room.send_to(bob_id.as_str().unwrap(), "to bob in the gap")
        .await
        .unwrap();
    chat_has(&alice, "server: gap 2", "alice hears the gap").await;
    println!(
        "the gap reached a page {:?} after the kill",
        killed.elapsed()
    );
    room.send_message("after").await.unwrap();
    let lines = "JSON.stringify(chatLines())";
    for (page, name) in [(&alice, "alice"), (&bob, "bob")] {
        chat_has(page, "server: after", &format!("{name} hears the new host")).await;
        let mut want = vec!["server: gap 1", "server: gap 2"];
        if name == "bob" {
            want.push("server (to you): to bob in the gap");
        }
        want.push("server: after");
        let got: Vec<String> =
            serde_json::from_str(page.eval(lines).await.unwrap().as_str().unwrap()).unwrap();
        let got: Vec<&str> = got
            .iter()
            .map(String::as_str)
            .filter(|l| want.contains(l))
            .collect();
        assert_eq!(got, want, "{name} heard each once, in order");
        count_is(page, 2, &format!("{name} sees two")).await;
        decodes(page, 1, &format!("{name} still decodes the other")).await;
    }
    let after = [
        alice.eval(sessions).await.unwrap(),
        bob.eval(sessions).await.unwrap(),
    ];
    assert_eq!(before, after, "the pages kept their sessions: no rejoin");
    assert_eq!(room.snapshot().await.unwrap().participants.len(), 2);
    no_errors(&alice, "alice").await;
    no_errors(&bob, "bob").await;
}

/// A page that joins while the room's host hands it over to another process (a deploy)
/// subscribes to the new host's room channel: the old host's is closed by the time the page
/// asks for it.
#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_joins_during_a_hand_over_follows_the_new_host() {
    let Some(two) = two_processes().await else {
        return;
    };
    let (emulator, first, second) = (&two.emulator, &two.a, &two.b);
    let room = first.create().id("deploy").send().await.unwrap();
    let old_host = room.snapshot().await.unwrap().room.host_session_id;
    let base = serve(second).await;
    let page = open(&format!("{base}/?room=deploy&name=late")).await;

    // The SFU holds the page's channel call (after the server read the host) while the first
    // process hands the room over.
    let held = calls_emulator::Fault::latency(Duration::from_secs(4));
    emulator.inject(held.on("add_data_channels").times(1));
    page.eval("document.getElementById('enter').click(); true")
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !emulator.faults().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the page never asked for its channels"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.shutdown().await.unwrap();
    let later = second.open("deploy").await.unwrap();
    let new_host = later.snapshot().await.unwrap().room.host_session_id;
    assert_ne!(
        new_host, old_host,
        "the room moved before the page's call returned"
    );
    wait_for(
        &page,
        "document.getElementById('status').dataset.state === 'connected'",
        "late connected",
    )
    .await;
    later.send_message("hello").await.unwrap();
    chat_has(&page, "server: hello", "the page hears the new host").await;
    no_errors(&page, "late").await;
    later.close().await.unwrap();
}

/// A page's `connect` resolves once the room reads the page's channel: a message sent the
/// moment it resolves is heard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_sent_as_soon_as_a_page_connects_is_heard() {
    let Some(stage) = stage(Emulator::builder()).await else {
        return;
    };
    let Stage {
        emulator,
        rooms,
        base,
        ..
    } = &stage;
    let room = rooms.create().id("eager").send().await.unwrap();
    let mut listener = room
        .join("listener")
        .connect(client(emulator).peer())
        .await
        .unwrap();
    let page = open(&format!("{base}/?room=eager&name=eager")).await;
    let script = r#"(async () => {
      const { Room } = await import("/client/index.js");
      const res = await fetch("/token", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ room: "eager", identity: "eager", role: "member" }),
      });
      const { token } = await res.json();
      const eager = new Room();
      await eager.connect(location.origin, token, []);
      await eager.sendMessage("at once");
      return true;
    })()"#;
    page.eval(script).await.unwrap();
    loop {
        let update = listener
            .recv_timeout(Duration::from_secs(10))
            .await
            .expect("the page's message within 10 s");
        if let cloudflare_calls::room::RoomEvent::Message { payload, .. } = &update.event {
            assert_eq!(
                *payload,
                cloudflare_calls::room::Payload::Text("at once".into())
            );
            break;
        }
    }
    no_errors(&page, "the page").await;
}
