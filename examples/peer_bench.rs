//! Data channel fan-out through the embedded emulator on loopback: one publishing peer, 1, 10
//! and 100 subscribing peers. Prints, per size:
//! - throughput: 1,000 messages sent back to back in windows of 100 (each window delivered to
//!   every subscriber before the next), deliveries per second, and the latency p50/p99 of those
//!   bursts, which is mostly queueing;
//! - latency: 200 messages paced 5 ms apart, p50/p99 from `send_text` to the subscriber's stream;
//! - resident memory per connected subscribing peer.
//!
//! ```sh
//! cargo run --release --example peer_bench --features peer
//! ```
//!
//! Everything runs in one process: each subscribing peer costs a crate `Peer` (task, socket,
//! str0m state) plus the emulator's side of its session, and the memory figure includes both.

use std::time::{Duration, Instant};

use cloudflare_calls::peer::Message;
use cloudflare_calls::{Client, Config, DataChannel};

const BURST: usize = 1_000;
const WINDOW: usize = 100;
const PACED: usize = 200;
const PACE: Duration = Duration::from_millis(5);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = calls_emulator::Emulator::start().await?;
    let client = Client::new(Config::new(
        emulator.sfu_base_url(),
        emulator.app_id(),
        emulator.app_secret(),
    ))?;
    println!(
        "| subscribers | burst: delivered/s | burst p50 / p99 | paced p50 / p99 | RSS per peer |"
    );
    println!("|---|---|---|---|---|");
    for subscribers in [1, 10, 100] {
        run(&client, subscribers).await?;
    }
    Ok(())
}

async fn run(client: &Client, subscribers: usize) -> Result<(), Box<dyn std::error::Error>> {
    let publisher = client.peer().connect().await?;
    let feed = publisher.publish(DataChannel::publish("bench")).await?;
    let id = publisher.session().id().to_owned();

    let rss_before = rss_kib();
    let mut peers = Vec::new();
    let mut subs = Vec::new();
    // A few connections at a time: each is a full ICE + DTLS + SCTP setup.
    let mut joining = tokio::task::JoinSet::new();
    for chunk in 0..subscribers.div_ceil(8) {
        for _ in 0..8.min(subscribers - chunk * 8) {
            let (client, id) = (client.clone(), id.clone());
            joining.spawn(async move {
                let peer = client.peer().connect().await?;
                let sub = peer.subscribe(DataChannel::subscribe(&id, "bench")).await?;
                Ok::<_, cloudflare_calls::peer::PeerError>((peer, sub))
            });
        }
        while let Some(joined) = joining.join_next().await {
            let (peer, sub) = joined??;
            peers.push(peer);
            subs.push(sub);
        }
    }
    let per_peer = rss_kib().saturating_sub(rss_before) / subscribers as u64;

    let origin = Instant::now();
    let (tx, mut done) = tokio::sync::mpsc::unbounded_channel();
    for mut sub in subs {
        let tx = tx.clone();
        tokio::spawn(async move {
            // Each message carries its send time; the reader reports its latency.
            loop {
                match sub.recv().await {
                    Some(Ok(Message::Text(sent))) => {
                        let sent = Duration::from_nanos(sent.parse().unwrap_or_default());
                        if tx.send(origin.elapsed().saturating_sub(sent)).is_err() {
                            break;
                        }
                    }
                    None => break,
                    other => eprintln!("unexpected: {other:?}"),
                }
            }
        });
    }

    // Back to back in windows of WINDOW messages, each window delivered everywhere before the
    // next: the emulator forwards through bounded queues that drop on overflow, as a lossy
    // link would, which a real SFU does not do to a reliable channel.
    let start = Instant::now();
    let mut burst = Vec::with_capacity(BURST * subscribers);
    for _ in 0..BURST / WINDOW {
        for _ in 0..WINDOW {
            feed.send_text(&origin.elapsed().as_nanos().to_string())
                .await?;
        }
        burst.extend(collect(&mut done, WINDOW * subscribers).await);
    }
    let rate = burst.len() as f64 / start.elapsed().as_secs_f64();
    burst.sort();

    let mut pace = tokio::time::interval(PACE);
    for _ in 0..PACED {
        pace.tick().await;
        feed.send_text(&origin.elapsed().as_nanos().to_string())
            .await?;
    }
    let paced = collect(&mut done, PACED * subscribers).await;

    println!(
        "| {subscribers} | {rate:.0} | {} / {} | {} / {} | {per_peer} KiB |",
        ms(quantile(&burst, 0.50)),
        ms(quantile(&burst, 0.99)),
        ms(quantile(&paced, 0.50)),
        ms(quantile(&paced, 0.99)),
    );
    drop(peers);
    publisher.close().await?;
    Ok(())
}

/// Latencies of `n` deliveries, sorted; panics when some never arrive (nothing may be lost).
async fn collect(
    done: &mut tokio::sync::mpsc::UnboundedReceiver<Duration>,
    n: usize,
) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(n);
    while latencies.len() < n {
        match tokio::time::timeout(Duration::from_secs(60), done.recv()).await {
            Ok(Some(l)) => latencies.push(l),
            _ => panic!("only {} of {n} deliveries arrived", latencies.len()),
        }
    }
    latencies.sort();
    latencies
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// Resident memory of this process, from /proc (0 where there is none).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}
