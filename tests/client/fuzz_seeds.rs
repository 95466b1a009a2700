//! Writes the seed corpus of the `responses` fuzz target (fuzz/seeds/responses) from the
//! emulator's real responses: the client runs every operation through a recording proxy,
//! first in working flows (two peers, a track, a data channel, adapters, TURN credentials,
//! apps and TURN keys), then with errors (unknown ids, wrong tokens, injected faults).
//!
//! ```text
//! cargo test --features fuzzing --test client fuzz_seeds:: -- --ignored
//! ```
//!
//! Each seed is one response in the target's input format: the operation's index in
//! `__fuzz::OPERATIONS`, a flags byte (0), the status (big-endian), the `content-type` and
//! `retry-after` headers as `name: value` lines, an empty line, the body.

#![cfg(all(feature = "fuzzing", feature = "peer"))]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::response::Response;
use calls_emulator::{Emulator, Fault};
use cloudflare_calls::__fuzz::OPERATIONS;
use cloudflare_calls::adapters::AdapterItem;
use cloudflare_calls::peer::FrameCodec;
use cloudflare_calls::session::CloseMode;
use cloudflare_calls::{
    Answer, Client, Config, DataChannel, LocalTrack, MediaKind, RemoteTrack, RetryPolicy, Session,
};

/// Seeds by file name.
type Seeds = Arc<Mutex<BTreeMap<String, Vec<u8>>>>;

struct Proxy {
    upstream: String,
    http: reqwest::Client,
    seeds: Seeds,
}

/// The operationId of a request to the emulator.
fn operation(method: &str, path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    Some(match (method, segments.as_slice()) {
        ("POST", [.., "sessions", "new"]) => "new_session",
        ("GET", [.., "sessions", _]) => "get_session_state",
        ("PUT", [.., "renegotiate"]) => "renegotiate_session",
        ("POST", [.., "tracks", "new"]) => "add_tracks",
        ("PUT", [.., "tracks", "update"]) => "update_tracks",
        ("PUT", [.., "tracks", "close"]) => "close_tracks",
        ("POST", [.., "datachannels", "establish"]) => "establish_data_channel_transport",
        ("POST", [.., "datachannels", "new"]) => "add_data_channels",
        ("PUT", [.., "datachannels", "update"]) => "update_data_channels",
        ("PUT", [.., "datachannels", "close"]) => "close_data_channels",
        ("POST", [.., "websocket", "new"]) => "create_websocket_adapters",
        ("POST", [.., "websocket", "close"]) => "close_websocket_adapters",
        ("POST", [.., "generate-ice-servers"]) => "generate_ice_servers",
        ("POST", [.., "credentials", "generate"]) => "generate_turn_credentials",
        ("POST", [.., "revoke"]) => "revoke_turn_credentials",
        ("GET", [.., "calls", "apps"]) => "list_sfu_apps",
        ("POST", [.., "calls", "apps"]) => "create_sfu_app",
        ("GET", [.., "apps", _]) => "get_sfu_app",
        ("PUT", [.., "apps", _]) => "update_sfu_app",
        ("DELETE", [.., "apps", _]) => "delete_sfu_app",
        ("GET", [.., "calls", "turn_keys"]) => "list_turn_keys",
        ("POST", [.., "calls", "turn_keys"]) => "create_turn_key",
        ("GET", [.., "turn_keys", _]) => "get_turn_key",
        ("PUT", [.., "turn_keys", _]) => "update_turn_key",
        ("DELETE", [.., "turn_keys", _]) => "delete_turn_key",
        _ => return None,
    })
}

/// Forwards a request to the emulator and records its response as a seed.
async fn forward(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let mut forwarded = proxy
        .http
        .request(parts.method.clone(), format!("{}{target}", proxy.upstream))
        .body(body);
    for (name, value) in &parts.headers {
        if name != "host" {
            forwarded = forwarded.header(name, value);
        }
    }
    let answer = forwarded.send().await.unwrap();
    let (status, headers) = (answer.status(), answer.headers().clone());
    let body = answer.bytes().await.unwrap();

    let op = operation(parts.method.as_str(), parts.uri.path()).expect("a known route");
    let index = OPERATIONS.iter().position(|o| *o == op).unwrap();
    let mut seed = vec![u8::try_from(index).unwrap(), 0];
    seed.extend_from_slice(&status.as_u16().to_be_bytes());
    for name in ["content-type", "retry-after"] {
        if let Some(value) = headers.get(name) {
            seed.extend_from_slice(format!("{name}: ").as_bytes());
            seed.extend_from_slice(value.as_bytes());
            seed.push(b'\n');
        }
    }
    seed.push(b'\n');
    seed.extend_from_slice(&body);
    // Identical responses (most 401s, say) are one seed.
    let hash = seed.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    });
    let name = format!("{op}-{}-{:08x}", status.as_u16(), hash as u32);
    proxy.seeds.lock().unwrap().insert(name, seed);

    let mut response = Response::new(axum::body::Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

async fn proxy(upstream: String, seeds: Seeds) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let proxy = Arc::new(Proxy {
        upstream,
        http: reqwest::Client::new(),
        seeds,
    });
    let app = axum::Router::new().fallback(forward).with_state(proxy);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn through(proxy: &str, emulator: &Emulator, tokens: [&str; 3]) -> Client {
    let config = Config::new(format!("{proxy}/v1"), emulator.app_id(), tokens[0])
        .account(emulator.account_id(), tokens[1])
        .account_api_url(format!("{proxy}/client/v4"))
        .turn_key(emulator.turn_key_id(), tokens[2])
        .retry_policy(RetryPolicy::none());
    Client::new(config).unwrap()
}

/// Working flows: every operation succeeds at least once.
async fn flows(client: &Client) {
    let publisher = client.peer().connect().await.unwrap();
    let _chat = publisher
        .publish(DataChannel::publish("chat"))
        .await
        .unwrap();
    let mic = publisher.push_track("mic", FrameCodec::Opus).await.unwrap();
    // The SFU refuses to forward a track that has sent nothing yet.
    mic.send_silence(Duration::from_millis(300)).await.unwrap();
    let subscriber = client.peer().connect().await.unwrap();
    let from = publisher.session().id().to_owned();
    let pulled = subscriber.pull(RemoteTrack::new(&from, "mic")).await;
    let _sub = subscriber
        .subscribe(DataChannel::subscribe(&from, "chat"))
        .await;
    publisher.session().state().await.unwrap();
    subscriber.session().state().await.unwrap();
    let mid = pulled.as_ref().map_or("1", |track| track.mid());
    let _ = subscriber
        .session()
        .update_tracks()
        .pull(RemoteTrack::new(&from, "mic").mid(mid))
        .send()
        .await;
    let _ = publisher
        .session()
        .update_data_channels()
        .channel(DataChannel::publish("chat").ordered(false))
        .send()
        .await;
    let _ = subscriber.close().await;
    let _ = publisher.close().await;

    let adapters = client.adapters();
    let created = adapters
        .create()
        .item(AdapterItem::ingest(
            "tts",
            "wss://bot.example.com/tts?token=t0k",
        ))
        .send()
        .await
        .unwrap();
    let ids = created.adapters.iter().map(|a| a.adapter_id.clone());
    adapters.close(ids).await.unwrap();

    let turn = client.turn();
    let ttl = Duration::from_secs(600);
    turn.generate_ice_servers(ttl).send().await.unwrap();
    let credentials = turn.generate_credentials(ttl).await.unwrap();
    turn.revoke(&credentials.username).await.unwrap();

    let app = client.apps().create().name("web").send().await.unwrap();
    client.apps().list().await.unwrap();
    client.apps().get(&app.app.uid).await.unwrap();
    let _ = client.apps().update(&app.app.uid).name("web2").send().await;
    client.apps().delete(&app.app.uid).await.unwrap();
    let key = client
        .turn_keys()
        .create()
        .name("web")
        .send()
        .await
        .unwrap();
    client.turn_keys().list().await.unwrap();
    client.turn_keys().get(&key.turn_key.uid).await.unwrap();
    let _ = client
        .turn_keys()
        .update(&key.turn_key.uid)
        .name("web2")
        .send()
        .await;
    client.turn_keys().delete(&key.turn_key.uid).await.unwrap();
}

/// Every operation once, on `session`, whatever the outcome.
async fn every_operation(client: &Client, session: &Session) {
    let offer = cloudflare_calls::Offer::new("v=0\r\n");
    let _ = client.new_session().offer(offer.clone()).send().await;
    let _ = session.state().await;
    let _ = session
        .add_tracks()
        .push(LocalTrack::offered_by_sfu("extra", MediaKind::Audio))
        .send()
        .await;
    let _ = session.renegotiate(Answer::new("v=0\r\n")).await;
    let _ = session
        .update_tracks()
        .push(LocalTrack::new("0", "mic"))
        .send()
        .await;
    let _ = session
        .close_tracks(["0"], CloseMode::Offer(offer))
        .send()
        .await;
    let _ = session.establish_data_channels(None).await;
    let channel = || DataChannel::publish("chat");
    let _ = session.add_data_channels().channel(channel()).send().await;
    let _ = session
        .update_data_channels()
        .channel(channel())
        .send()
        .await;
    let _ = session
        .close_data_channels()
        .channel(channel())
        .send()
        .await;
    let item = AdapterItem::ingest("tts", "wss://handshake.invalid/tts?token=t0k");
    let _ = client.adapters().create().item(item).send().await;
    let _ = client.adapters().close(["no-such-adapter"]).await;
    let ttl = Duration::from_secs(600);
    let _ = client.turn().generate_ice_servers(ttl).send().await;
    let _ = client.turn().generate_credentials(ttl).await;
    let _ = client.turn().revoke("no-such-user").await;
    let _ = client.apps().list().await;
    let _ = client.apps().create().send().await;
    let _ = client.apps().get("no-such-app").await;
    let _ = client.apps().update("no-such-app").name("x").send().await;
    let _ = client.apps().delete("no-such-app").await;
    let _ = client.turn_keys().list().await;
    let _ = client.turn_keys().create().send().await;
    let _ = client.turn_keys().get("no-such-key").await;
    let _ = client
        .turn_keys()
        .update("no-such-key")
        .name("x")
        .send()
        .await;
    let _ = client.turn_keys().delete("no-such-key").await;
}

#[tokio::test]
#[ignore = "writes fuzz/seeds/responses; run by hand"]
async fn write_seeds() {
    let emulator = Emulator::start().await.unwrap();
    let seeds = Seeds::default();
    let proxy = proxy(emulator.base_url(), seeds.clone()).await;
    let tokens = [
        emulator.app_secret(),
        emulator.api_token(),
        emulator.turn_key_token(),
    ];
    let client = through(&proxy, &emulator, tokens);
    flows(&client).await;

    let fresh = client.new_session().send().await.unwrap();
    every_operation(&client, &fresh).await;
    every_operation(&client, &client.session("no-such-session")).await;
    let strangers = through(&proxy, &emulator, ["wrong"; 3]);
    every_operation(&strangers, &fresh).await;
    for fault in [
        Fault::transient(),
        Fault::status(500, "internal_error"),
        Fault::rate_limited(2),
        Fault::error_body("backend_error"),
    ] {
        emulator.inject(fault);
        every_operation(&client, &fresh).await;
        emulator.clear_faults();
    }

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/responses");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let seeds = seeds.lock().unwrap();
    for (name, seed) in seeds.iter() {
        std::fs::write(dir.join(name), seed).unwrap();
    }
    let covered: std::collections::BTreeSet<&str> = seeds
        .keys()
        .filter_map(|name| {
            OPERATIONS
                .iter()
                .find(|op| name.starts_with(&format!("{op}-")))
        })
        .copied()
        .collect();
    assert_eq!(covered.len(), OPERATIONS.len(), "every operation has seeds");
    println!("{} seeds in {}", seeds.len(), dir.display());
}
