//! WHIP ingest and WHEP playback (src/whip) with real browsers: headless Chromium publishes its
//! fake camera and microphone with WHIP and plays the stream back with WHEP, against the
//! emulator, through the router served with the example's page (examples/whip/index.html, the
//! page `cargo run --example whip` serves) on one origin. Any script error in the page fails
//! the test.
//!
//! - Plain `fetch` clients: one publisher, three players in three more browsers; each player
//!   decodes the video and receives the audio; when the publisher stops, every player's page
//!   says the stream ended (WHEP's server-sent events); DELETEs leave nothing open.
//! - medooze's `whip-whep` npm library (pinned in tests/whip/package-lock.json, installed by
//!   `npm ci --prefix tests/whip`, which `cargo xtask ci` runs), driven in the same page by
//!   tests/whip/library.js: publish, play, trickle PATCHes, stop.
//! - Two backend processes sharing Redis: published through A, played through B (a
//!   cross-origin call B's router allows), each resource deleted through the other process.

#![cfg(feature = "whip")]

use crate::support::room as room_support;

use crate::support::chromium;
#[cfg(feature = "redis")]
use crate::support::redis as redis_server;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::header;
use axum::response::Html;
use axum::routing::get;
use calls_emulator::Emulator;
use cloudflare_calls::Client;
use cloudflare_calls::room::{MemoryStore, Role, RoomError, Rooms};
use cloudflare_calls::session::ResourceStatus;
use cloudflare_calls::whip::Whip;
use room_support::{client, nothing_open};
use serde_json::Value;

const TOKEN: &str = "whip-browser-token";

const FLAGS: &[&str] = &[
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
];

const PAGE: &str = include_str!("../../examples/whip/index.html");
/// The library's functions, imported into the page by the test.
const LIBRARY: &str = include_str!("library.js");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_publisher_and_three_fetch_players() {
    let _heavy = crate::support::heavy::heavy().await;
    if chromium::skip_without_chromium() {
        return;
    }
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let rooms = client.rooms(MemoryStore::new());
    let base = serve(app(&rooms)).await;

    let publisher = open_page(&base).await;
    let published = eval(&publisher, &format!("publish('/whip/show', {})", js(TOKEN))).await;
    let published = published.as_str().unwrap().to_owned();
    assert!(published.starts_with("/whip/show/"), "{published}");
    wait_for(
        &publisher,
        "sending()",
        "the publisher sends audio and video",
    )
    .await;

    let mut players = Vec::new();
    for _ in 0..3 {
        let page = open_page(&base).await;
        let played = eval(&page, &format!("play('/whep/show', {})", js(TOKEN))).await;
        let location = played["location"].as_str().unwrap().to_owned();
        assert!(location.starts_with("/whep/show/"), "{location}");
        players.push((page, location));
    }
    for (n, (page, _)) in players.iter().enumerate() {
        let what = format!("player {n} decodes video and receives audio");
        wait_for(page, "receiving(0)", &what).await;
    }

    let sessions = stream_sessions(&rooms, "show", 3).await;
    // The publisher stops: every player's page is told the stream ended, and the players'
    // resources went with the stream.
    assert_eq!(stop(&publisher, &published, None).await, 200);
    for (n, (page, location)) in players.iter().enumerate() {
        wait_for(
            page,
            "players[0].ended",
            &format!("player {n} is told the stream ended"),
        )
        .await;
        let status = eval(page, "document.getElementById('status').textContent").await;
        assert_eq!(status, "the stream ended");
        assert_eq!(stop(page, location, None).await, 404, "DELETE {location}");
    }
    all_closed(&client, &sessions).await;
    assert_closed(&rooms, "show").await;
    no_errors(&publisher).await;
    for (page, location) in &players {
        // The DELETE after the stream ended, refused with 404 above.
        no_errors_but(page, Some(location)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whip_whep_npm_library_publishes_plays_trickles_and_stops() {
    let _heavy = crate::support::heavy::heavy().await;
    if chromium::skip_without_chromium() {
        return;
    }
    let Some(library) = whip_whep_library() else {
        return;
    };
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let rooms = client.rooms(MemoryStore::new());
    let base = serve(app(&rooms).merge(library)).await;

    // The library resolves the Location against the URL it is given: an absolute one.
    let url = |path: &str| js(&format!("{base}{path}"));
    let publisher = open_page(&base).await;
    let publish = format!(
        "{LIB}.then(lib => lib.libPublish({}, {})).then(() => true)",
        url("/whip/lib"),
        js(TOKEN)
    );
    assert_eq!(eval(&publisher, &publish).await, true);
    wait_for(&publisher, "sending()", "the library's publisher sends").await;

    let player = open_page(&base).await;
    let play = format!(
        "{LIB}.then(lib => lib.libPlay({}, {}))",
        url("/whep/lib"),
        js(TOKEN)
    );
    assert_eq!(eval(&player, &play).await, 0);
    wait_for(&player, "receiving(0)", "the library's player decodes").await;

    // Both clients trickle their candidates (at least `a=end-of-candidates`) once gathering
    // ends: the emulator is ICE-lite like the SFU, so the router takes them with a 204.
    const PATCHES: &str =
        "log.requests.filter(r => r.method === 'PATCH' && r.status).map(r => r.status)";
    for (page, who) in [(&publisher, "publisher"), (&player, "player")] {
        let patched = format!("{PATCHES}.length > 0");
        wait_for(page, &patched, &format!("the library's {who} trickles")).await;
        let statuses = eval(page, PATCHES).await;
        let statuses = statuses.as_array().unwrap();
        assert!(
            statuses.iter().all(|s| s == 204),
            "{who} PATCHes: {statuses:?}"
        );
    }

    let sessions = stream_sessions(&rooms, "lib", 1).await;
    const DELETES: &str = "log.requests.filter(r => r.method === 'DELETE').map(r => r.status)";
    for page in [&player, &publisher] {
        let stop_all = format!("{LIB}.then(lib => lib.libStopAll()).then(() => true)");
        eval(page, &stop_all).await;
        assert_eq!(eval(page, DELETES).await, serde_json::json!([200]));
    }
    all_closed(&client, &sessions).await;
    assert_closed(&rooms, "lib").await;
    no_errors(&publisher).await;
    no_errors(&player).await;
}

/// Two backend processes (two runtimes, each with its own client, `RedisStore` and router)
/// share one Redis. The page, served by A, publishes through A and plays through B, whose
/// router allows A's origin; then the player is deleted through A and the publisher through
/// B, so each DELETE is served by the process that did not create the resource.
#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_sharing_redis_publish_through_one_and_play_through_the_other() {
    let _heavy = crate::support::heavy::heavy().await;
    use cloudflare_calls::room::RedisStore;
    if chromium::skip_without_chromium() || redis_server::skip_without_redis() {
        return;
    }
    let redis = redis_server::Redis::start().await;
    let emulator = Emulator::start().await.unwrap();
    let client_a = client(&emulator);
    let rooms_a = client_a.rooms(RedisStore::connect(&redis.url()).await.unwrap());
    let base_a = serve(app(&rooms_a)).await;

    let process_b = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (url, client_b, origin_a) = (redis.url(), client(&emulator), base_a.clone());
    let base_b = process_b
        .spawn(async move {
            let rooms_b = client_b.rooms(RedisStore::connect(&url).await.unwrap());
            let whip = Whip::new(rooms_b).bearer_token(TOKEN);
            serve(whip.allow_origins([origin_a]).router()).await
        })
        .await
        .unwrap();

    let page = open_page(&base_a).await;
    let published = eval(&page, &format!("publish('/whip/relay', {})", js(TOKEN))).await;
    let published = published.as_str().unwrap().to_owned();
    wait_for(&page, "sending()", "the publisher sends through A").await;
    let play = format!(
        "play({}, {})",
        js(&format!("{base_b}/whep/relay")),
        js(TOKEN)
    );
    let played = eval(&page, &play).await;
    let location = played["location"].as_str().unwrap().to_owned();
    wait_for(&page, "receiving(0)", "the player through B decodes").await;

    let sessions = stream_sessions(&rooms_a, "relay", 1).await;
    assert_eq!(stop(&page, &location, None).await, 200, "player through A");
    let through_b = stop(&page, &published, Some(&base_b)).await;
    assert_eq!(through_b, 200, "publisher through B");
    // A hosts the room: its peer leaves when A reads the room's close, made by B, from Redis.
    all_closed(&client_a, &sessions).await;
    assert_closed(&rooms_a, "relay").await;
    no_errors(&page).await;
    process_b.shutdown_background();
}

/// Imports tests/whip/library.js into the page.
const LIB: &str = "import('/library.js')";

/// The router with the example's page at `/`.
fn app(rooms: &Rooms) -> Router {
    let whip = Whip::new(rooms.clone()).bearer_token(TOKEN).router();
    whip.route("/", get(|| async { Html(PAGE) }))
}

/// Serves `router` on a free port of 127.0.0.1 (on the current runtime); returns its base URL.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

/// medooze's whip.js and whep.js at `/whip-whep/`, from tests/whip/node_modules. Missing, the
/// test skips (or fails under `CALLS_REQUIRE_CHROMIUM`, as `cargo xtask ci` sets it).
fn whip_whep_library() -> Option<Router> {
    let dir: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests/whip/node_modules/whip-whep",
    ]
    .iter()
    .collect();
    let read = |file: &str| std::fs::read_to_string(dir.join(file));
    let (Ok(package), Ok(whip), Ok(whep)) =
        (read("package.json"), read("whip.js"), read("whep.js"))
    else {
        let why = format!(
            "{} is not installed: run `npm ci --prefix tests/whip` (cargo xtask ci does)",
            dir.display()
        );
        let required =
            std::env::var(chromium::REQUIRE_ENV).is_ok_and(|v| !v.is_empty() && v != "0");
        assert!(
            !required,
            "{why}; {} is set, so this is a failure",
            chromium::REQUIRE_ENV
        );
        eprintln!("skipped: {why}");
        return None;
    };
    let package: Value = serde_json::from_str(&package).unwrap();
    assert_eq!(
        package["version"], "1.2.0",
        "tests/whip/package-lock.json pins whip-whep 1.2.0: run `npm ci --prefix tests/whip`"
    );
    let script = |body: String| {
        get(move || async move { ([(header::CONTENT_TYPE, "text/javascript")], body) })
    };
    Some(
        Router::new()
            .route("/whip-whep/whip.js", script(whip))
            .route("/whip-whep/whep.js", script(whep))
            .route("/library.js", script(LIBRARY.to_owned())),
    )
}

async fn open_page(base: &str) -> chromium::Browser {
    let page = chromium::Browser::launch_with(FLAGS).await.unwrap();
    page.goto(&format!("{base}/")).await.unwrap();
    page
}

/// A string as a JavaScript literal.
fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// Evaluates `expression` in the page; a JavaScript error fails the test with the page state.
async fn eval(page: &chromium::Browser, expression: &str) -> Value {
    match page.eval(expression).await {
        Ok(value) => value,
        Err(e) => panic!("{expression}: {e}; page state {}", page_state(page).await),
    }
}

async fn page_state(page: &chromium::Browser) -> String {
    match page.eval("state()").await {
        Ok(Value::String(state)) => state,
        other => format!("{other:?}"),
    }
}

/// Polls `condition` until it is true, for at most 30 s.
async fn wait_for(page: &chromium::Browser, condition: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if eval(page, condition).await == true {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{what}: not within 30 s; page state {}",
        page_state(page).await
    );
}

/// DELETE on a resource, through `origin` (the page's own when `None`); the status.
async fn stop(page: &chromium::Browser, location: &str, origin: Option<&str>) -> Value {
    let origin = origin.map_or("undefined".to_owned(), js);
    let expression = format!("stop({}, {}, {origin})", js(location), js(TOKEN));
    eval(page, &expression).await
}

/// Fails on an error the page caught and showed, or one the browser saw (an uncaught
/// exception, `console.error`, a failed load).
async fn no_errors(page: &chromium::Browser) {
    no_errors_but(page, None).await;
}

/// [`no_errors`], but for the failed load of `expected` the test asked for.
async fn no_errors_but(page: &chromium::Browser, expected: Option<&str>) {
    let errors = eval(page, "JSON.stringify(log.errors)").await;
    assert_eq!(errors, "[]", "page state {}", page_state(page).await);
    let seen = page.errors().await;
    let unexpected: Vec<_> = seen
        .iter()
        .filter(|e| expected.is_none_or(|url| !e.contains(url)))
        .collect();
    assert!(unexpected.is_empty(), "the browser saw errors: {seen:?}");
}

/// Every SFU session of the stream: its publisher's, its `players` players', and its room
/// host's.
async fn stream_sessions(rooms: &Rooms, stream: &str, players: usize) -> Vec<String> {
    let snapshot = rooms.open(stream).await.unwrap().snapshot().await.unwrap();
    let infos: Vec<_> = snapshot.participants.iter().map(|p| &p.info).collect();
    let count = |role: Role| infos.iter().filter(|i| i.role == role).count();
    assert_eq!(count(Role::Broadcaster), 1, "{infos:?}");
    assert_eq!(count(Role::Viewer), players, "{infos:?}");
    let mut sessions: Vec<String> = infos.iter().map(|i| i.session_id.clone()).collect();
    sessions.push(snapshot.room.host_session_id);
    sessions
}

/// Waits (at most 10 s) until none of `sessions` has an active track or channel on the SFU,
/// then checks it with `nothing_open`.
async fn all_closed(client: &Client, sessions: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && anything_open(client, sessions).await {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    nothing_open(client, sessions).await;
}

async fn anything_open(client: &Client, sessions: &[String]) -> bool {
    for id in sessions {
        if let Ok(state) = client.session(id).state().await {
            let tracks = state.tracks.iter().any(|t| t.is_active());
            let channels = state
                .data_channels
                .iter()
                .any(|c| c.status == Some(ResourceStatus::Active));
            if tracks || channels {
                return true;
            }
        }
    }
    false
}

async fn assert_closed(rooms: &Rooms, stream: &str) {
    match rooms.open(stream).await {
        Err(e) if matches!(Some(&e), Some(RoomError::RoomClosed(_))) => {}
        Err(e) => panic!("stream {stream}: {e}"),
        Ok(_) => panic!("stream {stream} is still open"),
    }
}
