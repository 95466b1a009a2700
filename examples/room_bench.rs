//! What a join costs, through the embedded emulator on loopback.
//!
//! 1. Pulling the tracks already in a room, K = 4, 16 and 64 of them, into a new peer: the
//!    room's way (`Peer::pull_all`: one `add_tracks` call and one renegotiation per 64 tracks)
//!    side by side with pulling track by track, as a hand-built room does (one call and one
//!    renegotiation per track). Figures: API calls, and the time until every track has
//!    delivered its first frame (median of 5).
//! 2. A whole server-side join (`room.join(..).connect(client.peer())`): session, ICE and
//!    DTLS, both room channels, the pull, the announcement; median and slowest of 10, and its
//!    API calls.
//!
//! ```sh
//! cargo run --release --example room_bench
//! ```

use std::time::{Duration, Instant};

use calls_emulator::Emulator;
use cloudflare_calls::room::MemoryStore;
use cloudflare_calls::{Client, Config, FrameCodec, RemoteTrack};

type Failure = Box<dyn std::error::Error>;

const TRIALS: usize = 5;
const JOINS: usize = 10;

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let emulator = Emulator::start().await?;
    let client = Client::new(Config::new(
        emulator.sfu_base_url(),
        emulator.app_id(),
        emulator.app_secret(),
    ))?;

    println!(
        "| tracks in the room | pulled at once: calls, first frames | one by one: calls, first frames |"
    );
    println!("|---|---|---|");
    for k in [4, 16, 64] {
        // A publisher whose K microphones send Opus silence for the whole run.
        let publisher = client.peer().codecs([FrameCodec::Opus]).connect().await?;
        let mut names = Vec::new();
        for i in 0..k {
            let mic = publisher
                .push_track(format!("mic{i}"), FrameCodec::Opus)
                .await?;
            tokio::spawn(async move { mic.send_silence(Duration::from_secs(600)).await });
            names.push(format!("mic{i}"));
        }
        let tracks: Vec<RemoteTrack> = names
            .iter()
            .map(|n| RemoteTrack::new(publisher.session().id(), n))
            .collect();
        let mut at_once = Vec::new();
        let mut one_by_one = Vec::new();
        for _ in 0..TRIALS {
            at_once.push(measure(&emulator, &client, &tracks, true).await?);
            one_by_one.push(measure(&emulator, &client, &tracks, false).await?);
        }
        println!(
            "| {k} | {} calls, {:.0} ms | {} calls, {:.0} ms |",
            at_once[0].0,
            median(at_once.iter().map(|m| m.1)),
            one_by_one[0].0,
            median(one_by_one.iter().map(|m| m.1)),
        );
        publisher.close().await?;
    }

    let room = client.rooms(MemoryStore::new()).create().send().await?;
    let stage = room.join("stage").connect(client.peer()).await?;
    for mic in stage
        .publish_tracks([
            ("mic".into(), FrameCodec::Opus),
            ("cam".into(), FrameCodec::Vp8),
        ])
        .await?
    {
        if mic.codec() == FrameCodec::Opus {
            tokio::spawn(async move { mic.send_silence(Duration::from_secs(600)).await });
        }
    }
    let mut joins = Vec::new();
    let mut calls = 0;
    for i in 0..JOINS {
        emulator.reset_stats();
        let start = Instant::now();
        let peer = room.join(format!("j{i}")).connect(client.peer()).await?;
        joins.push(start.elapsed().as_secs_f64() * 1000.0);
        calls = emulator.stats().total();
        peer.leave().await?;
    }
    joins.sort_by(f64::total_cmp);
    println!();
    println!(
        "server-side join into a room with 2 tracks: median {:.0} ms, slowest {:.0} ms, {calls} API calls (room peer's included)",
        median(joins.iter().copied()),
        joins[joins.len() - 1],
    );
    room.close().await?;
    Ok(())
}

/// A fresh peer pulls `tracks`, at once or one by one; returns the API calls made and the
/// milliseconds until every pulled track delivered a frame.
async fn measure(
    emulator: &Emulator,
    client: &Client,
    tracks: &[RemoteTrack],
    at_once: bool,
) -> Result<(usize, f64), Failure> {
    let peer = client.peer().codecs([FrameCodec::Opus]).connect().await?;
    emulator.reset_stats();
    let start = Instant::now();
    let mut pulled = Vec::new();
    if at_once {
        pulled = peer.pull_all(tracks.iter().cloned()).await?;
    } else {
        for track in tracks {
            pulled.push(peer.pull(track.clone()).await?);
        }
    }
    for track in &mut pulled {
        tokio::time::timeout(Duration::from_secs(10), track.recv())
            .await?
            .ok_or("a track ended")?;
    }
    let elapsed = start.elapsed().as_secs_f64() * 1000.0;
    let calls = emulator.stats().total();
    peer.close().await?;
    Ok((calls, elapsed))
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
