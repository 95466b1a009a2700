//! Operating a service built on the crate: the room and WHIP routers of the examples served
//! with examples/common/ops.rs (`/metrics`, `/healthz`, `/readyz`), driven for real against
//! the emulator, and scraped.
//!
//! A binary of its own: the metrics recorder is global to the process, and the counts are
//! asserted exactly, so nothing else may record beside it.

#![cfg(all(feature = "whip", feature = "api"))]

#[path = "../../examples/common/ops.rs"]
#[allow(dead_code)]
mod ops;
#[path = "../../examples/room/server.rs"]
#[allow(dead_code)]
mod server;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use calls_emulator::Emulator;
use cloudflare_calls::metrics::{CATALOG, MetricKind};
use cloudflare_calls::peer::FrameCodec;
use cloudflare_calls::room::{MemoryStore, RoomEvent};
use cloudflare_calls::whip::Whip;
use cloudflare_calls::{Client, Config};
use futures_util::StreamExt;

/// One scrape: each series (name and sorted labels) and its value.
#[derive(Debug)]
struct Scrape(HashMap<(String, BTreeMap<String, String>), f64>);

impl Scrape {
    async fn take(base: &str) -> Self {
        let text = reqwest::get(format!("{base}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let mut series = HashMap::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (key, value) = line.rsplit_once(' ').expect("name and value");
            let (name, labels) = match key.split_once('{') {
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
                None => (key, ""),
            };
            let labels = labels
                .split(',')
                .filter(|l| !l.is_empty())
                .map(|l| {
                    let (k, v) = l.split_once('=').expect("label=value");
                    (k.to_owned(), v.trim_matches('"').to_owned())
                })
                .collect();
            series.insert((name.to_owned(), labels), value.parse().unwrap());
        }
        Self(series)
    }

    /// The series' value, 0 when it was never recorded.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let labels = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.0
            .get(&(name.to_owned(), labels))
            .copied()
            .unwrap_or(0.0)
    }

    /// How much a series grew since `before`.
    fn delta(&self, before: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels) - before.get(name, labels)
    }
}

/// Waits until `check` holds on a fresh scrape (gauges follow background tasks).
async fn eventually(base: &str, what: &str, check: impl Fn(&Scrape) -> bool) -> Scrape {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let scrape = Scrape::take(base).await;
        if check(&scrape) {
            return scrape;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} within 10 s: {scrape:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `path` answers `status`.
async fn eventually_status(base: &str, path: &str, status: u16) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while reqwest::get(format!("{base}{path}"))
        .await
        .unwrap()
        .status()
        != status
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} answers {status} within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_move_by_exactly_what_was_done_and_a_draining_process_is_not_ready() {
    let ops = ops::Ops::install();
    let emulator = Emulator::start().await.unwrap();
    let config = Config::new(
        emulator.sfu_base_url(),
        emulator.app_id(),
        emulator.app_secret(),
    );
    let client = Client::new(config).unwrap();
    let rooms = client.rooms(MemoryStore::new());
    let key = cloudflare_calls::Secret::new("the room page's signing key in tests");
    let app = server::App::new(rooms.clone(), serde_json::json!([]), key);
    let whip = Whip::new(client.rooms(MemoryStore::new())).bearer_token("s3cret");
    let router = server::router(app).merge(whip.router()).merge(ops.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });

    let health = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(
        reqwest::get(format!("{base}/readyz"))
            .await
            .unwrap()
            .status(),
        200
    );

    // A room: hosted here, with the room's own peer connected.
    let before = Scrape::take(&base).await;
    let room = rooms.create().id("ops").send().await.unwrap();
    let mut events = room.events().await.unwrap();
    let hosted = eventually(&base, "the room hosted", |s| {
        s.delta(&before, "calls_rooms_hosted", &[]) == 1.0
            && s.delta(&before, "calls_peers_connected", &[]) == 1.0
    })
    .await;
    // Opening a room that did not exist yet is a refusal, not a store failure.
    assert_eq!(
        hosted.get(
            "calls_room_store_errors_total",
            &[("operation", "snapshot")]
        ),
        0.0
    );
    assert_eq!(
        hosted.delta(
            &before,
            "calls_api_requests_total",
            &[
                ("operation", "new_session"),
                ("outcome", "ok"),
                ("code", "none")
            ]
        ),
        1.0,
        "the room's own session"
    );

    // Three server-side participants join; one publishes and talks.
    let before = Scrape::take(&base).await;
    let mut members = Vec::new();
    for name in ["alice", "bob", "carol"] {
        members.push(room.join(name).connect(client.peer()).await.unwrap());
    }
    let joins = [("endpoint", "server"), ("outcome", "ok")];
    let after = eventually(&base, "three participants followed", |s| {
        s.delta(&before, "calls_room_participants", &[]) == 3.0
    })
    .await;
    assert_eq!(after.delta(&before, "calls_room_joins_total", &joins), 3.0);
    assert_eq!(
        after.delta(
            &before,
            "calls_room_join_duration_seconds_count",
            &[("endpoint", "server")]
        ),
        3.0
    );
    assert_eq!(after.delta(&before, "calls_peers_connected", &[]), 3.0);
    let new_sessions = [
        ("operation", "new_session"),
        ("outcome", "ok"),
        ("code", "none"),
    ];
    assert_eq!(
        after.delta(&before, "calls_api_requests_total", &new_sessions),
        3.0
    );
    assert_eq!(
        after.delta(
            &before,
            "calls_api_request_duration_seconds_count",
            &[("operation", "new_session")]
        ),
        3.0
    );

    // The server says hello; alice answers; everyone reads both.
    let before = Scrape::take(&base).await;
    room.send_message("Hello!").await.unwrap();
    members[0].send_text("hi").await.unwrap();
    let mut said = 0;
    while said < 2 {
        let update = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("an event within 10 s")
            .unwrap()
            .unwrap();
        if let RoomEvent::Message { .. } = update.event {
            said += 1;
        }
    }
    let after = eventually(&base, "both messages relayed", |s| {
        s.delta(&before, "calls_room_updates_relayed_total", &[]) == 2.0
    })
    .await;
    // The room's peer sent 2 updates on the room channel; alice sent one message.
    assert!(
        after.delta(
            &before,
            "calls_peer_messages_total",
            &[("direction", "out")]
        ) >= 3.0
    );
    assert!(after.delta(&before, "calls_peer_messages_total", &[("direction", "in")]) >= 1.0);
    let mic = members[0]
        .publish_track("mic", FrameCodec::Opus)
        .await
        .unwrap();
    let before = Scrape::take(&base).await;
    mic.send_silence(Duration::from_millis(200)).await.unwrap();
    let after = Scrape::take(&base).await;
    assert_eq!(
        after.delta(&before, "calls_peer_frames_total", &[("direction", "out")]),
        10.0,
        "200 ms of 20 ms frames"
    );

    // Dave joins while alice talks: his join pulls her mic, and its first frame is timed.
    let before = Scrape::take(&base).await;
    tokio::spawn(async move { mic.send_silence(Duration::from_secs(5)).await });
    let mut dave = room.join("dave").connect(client.peer()).await.unwrap();
    let mut pulled = dave.take_tracks();
    assert_eq!(pulled.len(), 1, "dave pulls alice's mic");
    tokio::time::timeout(Duration::from_secs(10), pulled[0].recv())
        .await
        .expect("a frame within 10 s")
        .expect("the track is open");
    eventually(&base, "the time to dave's first frame", |s| {
        s.delta(&before, "calls_peer_pull_first_frame_seconds_count", &[]) == 1.0
    })
    .await;

    // Carol is kicked.
    let before = Scrape::take(&base).await;
    let carol = members.pop().unwrap();
    room.kick(carol.participant().id()).await.unwrap();
    let after = eventually(&base, "carol's removal", |s| {
        s.delta(&before, "calls_room_participants", &[]) == -1.0
    })
    .await;
    assert_eq!(
        after.delta(&before, "calls_room_leaves_total", &[("reason", "kicked")]),
        1.0
    );

    // A WHIP POST without the token is refused and counted.
    let before = Scrape::take(&base).await;
    let refused = reqwest::Client::new()
        .post(format!("{base}/whip/live"))
        .header("content-type", "application/sdp")
        .body("v=0\r\n")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let after = Scrape::take(&base).await;
    assert_eq!(
        after.delta(
            &before,
            "calls_whip_refusals_total",
            &[("endpoint", "whip"), ("status", "401")]
        ),
        1.0
    );
    assert_eq!(
        after.delta(&before, "calls_whip_sessions", &[("endpoint", "whip")]),
        0.0
    );

    // Nothing the crate recorded is missing from the catalog (and the docs' table).
    for (name, _) in after.0.keys() {
        let base_name = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .filter(|n| {
                CATALOG
                    .iter()
                    .any(|m| m.name == *n && m.kind == MetricKind::Histogram)
            })
            .unwrap_or(name);
        assert!(
            CATALOG.iter().any(|m| m.name == base_name),
            "{name} is recorded but not in metrics::CATALOG"
        );
    }

    // SIGTERM: not ready any more but still serving while it drains, then gone.
    let drain = Duration::from_millis(800);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let second = format!("http://{}", listener.local_addr().unwrap());
    let stopping = ops.clone().on_signal(drain);
    let served = tokio::spawn(async move {
        axum::serve(listener, ops.router())
            .with_graceful_shutdown(stopping)
            .await
    });
    assert_eq!(
        reqwest::get(format!("{second}/readyz"))
            .await
            .unwrap()
            .status(),
        200
    );
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    eventually_status(&second, "/readyz", 503).await;
    assert_eq!(
        reqwest::get(format!("{second}/healthz"))
            .await
            .unwrap()
            .status(),
        200,
        "alive while draining"
    );
    tokio::time::timeout(Duration::from_secs(10), served)
        .await
        .expect("the server stops after draining")
        .unwrap()
        .unwrap();
    assert!(reqwest::get(format!("{second}/healthz")).await.is_err());
    drop((members, dave));
}
