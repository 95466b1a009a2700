//! Session throughput and memory of the emulator binary, measured from outside:
//! `cargo bench -p calls-emulator --bench sessions`.
//!
//! Prints session creates per second (HTTP, 64 in flight), resident memory per idle session
//! (created, no SDP) and per connected session (a str0m client pushed audio and connected).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use str0m::change::SdpAnswer;
use str0m::media::{Direction, MediaKind};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::Semaphore;

const IDLE: usize = 2000;
const CONNECTED: usize = 50;

struct Target {
    child: Child,
    base: String,
    app: String,
    secret: String,
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn launch() -> Target {
    let mut child = Command::new(env!("CARGO_BIN_EXE_calls-emulator"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("emulator binary starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (mut base, mut app, mut secret) = (String::new(), String::new(), String::new());
    for line in lines.by_ref().map_while(Result::ok) {
        if let Some(v) = line.strip_prefix("SFU_BASE_URL=") {
            base = v.into();
        } else if let Some(v) = line.strip_prefix("APP_ID=") {
            app = v.into();
        } else if let Some(v) = line.strip_prefix("APP_SECRET=") {
            secret = v.into();
            break;
        }
    }
    Target {
        child,
        base,
        app,
        secret,
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn call(http: &reqwest::Client, t: &Target, path: &str, body: Value) -> Value {
    let url = format!("{}/apps/{}{path}", t.base, t.app);
    let resp = http
        .post(url)
        .bearer_auth(&t.secret)
        .json(&body)
        .send()
        .await
        .expect("call");
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.expect("JSON")
}

/// One str0m client that pushes an audio track and keeps its connection alive until `stop`.
async fn connected_client(
    http: reqwest::Client,
    t: Arc<Target>,
    stop: Arc<AtomicBool>,
    up: Arc<Semaphore>,
) {
    let sock = UdpSocket::bind("127.0.0.1:0").await.expect("udp");
    let local: SocketAddr = sock.local_addr().expect("addr");
    let crypto = Arc::new(str0m::crypto::from_feature_flags());
    let mut rtc = Rtc::builder()
        .set_crypto_provider(crypto)
        .build(Instant::now());
    rtc.add_local_candidate(Candidate::host(local, "udp").expect("candidate"));
    let sid = call(&http, &t, "/sessions/new", json!({})).await["sessionId"]
        .as_str()
        .expect("id")
        .to_string();
    let mut change = rtc.sdp_api();
    let mid = change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    let (offer, pending) = change.apply().expect("offer");
    let body = json!({
        "sessionDescription": {"type": "offer", "sdp": offer.to_sdp_string()},
        "tracks": [{"location": "local", "mid": mid.to_string(), "trackName": "a"}],
    });
    let v = call(&http, &t, &format!("/sessions/{sid}/tracks/new"), body).await;
    let answer = SdpAnswer::from_sdp_string(v["sessionDescription"]["sdp"].as_str().expect("sdp"))
        .expect("answer");
    rtc.sdp_api()
        .accept_answer(pending, answer)
        .expect("accepted");
    let mut buf = vec![0u8; 2048];
    let mut announced = false;
    while !stop.load(Ordering::Relaxed) {
        let next = loop {
            match rtc.poll_output().expect("poll") {
                Output::Timeout(t) => break t,
                Output::Transmit(tr) => {
                    let _ = sock.try_send_to(&tr.contents, tr.destination);
                }
                Output::Event(Event::Connected) if !announced => {
                    announced = true;
                    up.add_permits(1);
                }
                Output::Event(_) => {}
            }
        };
        let wait = next
            .saturating_duration_since(Instant::now())
            .clamp(Duration::from_millis(1), Duration::from_millis(100));
        match tokio::time::timeout(wait, sock.recv_from(&mut buf)).await {
            Ok(Ok((n, source))) => {
                let Ok(contents) = buf[..n].try_into() else {
                    continue;
                };
                let r = Receive {
                    proto: Protocol::Udp,
                    source,
                    destination: local,
                    contents,
                };
                let _ = rtc.handle_input(Input::Receive(Instant::now(), r));
            }
            _ => {
                let _ = rtc.handle_input(Input::Timeout(Instant::now()));
            }
        }
    }
}

#[tokio::main]
async fn main() {
    let t = Arc::new(launch());
    let pid = t.child.id();
    let http = reqwest::Client::new();
    for _ in 0..10 {
        call(&http, &t, "/sessions/new", json!({})).await;
    }
    let before = rss_kib(pid);

    let gate = Arc::new(Semaphore::new(64));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        let (http, t, gate) = (http.clone(), t.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.expect("semaphore");
            call(&http, &t, "/sessions/new", json!({})).await;
        }));
    }
    for task in tasks {
        task.await.expect("create");
    }
    let secs = start.elapsed().as_secs_f64();
    let idle_rss = rss_kib(pid);
    println!(
        "session creates: {IDLE} in {secs:.2} s = {:.0}/s",
        IDLE as f64 / secs
    );
    println!(
        "memory per idle session: {:.2} KiB",
        (idle_rss.saturating_sub(before)) as f64 / IDLE as f64
    );

    let stop = Arc::new(AtomicBool::new(false));
    let up = Arc::new(Semaphore::new(0));
    let clients: Vec<_> = (0..CONNECTED)
        .map(|_| {
            tokio::spawn(connected_client(
                http.clone(),
                t.clone(),
                stop.clone(),
                up.clone(),
            ))
        })
        .collect();
    let all = u32::try_from(CONNECTED).expect("small");
    tokio::time::timeout(Duration::from_secs(60), up.acquire_many(all))
        .await
        .expect("all connected")
        .expect("semaphore")
        .forget();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let connected_rss = rss_kib(pid);
    println!(
        "memory per connected session: {:.1} KiB ({CONNECTED} str0m clients connected)",
        (connected_rss.saturating_sub(idle_rss)) as f64 / CONNECTED as f64
    );
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        let _ = c.await;
    }
}
