//! The main job, the seed's story end to end: create a room; two participants join and
//! receive each other's media; a broadcast starts and a viewer receives it;
//! `send_message("Hello!")` reaches everyone; everyone leaves and nothing is left open.
//! It prints what happened and exits with an error unless every step was observed.
//!
//! Against Cloudflare when `CALLS_APP_ID` and `CALLS_APP_SECRET` are set; against an emulator
//! embedded in this process only when no `CALLS_*` variable is set (examples/common/config.rs). The
//! participants are the crate's server-side peers (feature `peer`), standing in for browsers: each
//! is an SFU session with real WebRTC over UDP. `cargo run --example room --features room` serves
//! the same room to browsers.

#[path = "common/config.rs"]
mod config;
#[path = "common/logs.rs"]
mod logs;
#[path = "common/report.rs"]
mod report;

use std::time::Duration;

use cloudflare_calls::Client;
use cloudflare_calls::peer::{FrameCodec, IncomingTrack, TestPattern};
use cloudflare_calls::room::{MemoryStore, Payload, Role, RoomEvent, RoomPeer, TrackInfo};
use tokio::task::JoinHandle;

type Failure = Box<dyn std::error::Error>;

/// Frames each receiver must count per track: a second of audio, half a second of video.
const AUDIO_FRAMES: usize = 50;
const VIDEO_FRAMES: usize = 15;
const WAIT: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> std::process::ExitCode {
    logs::init();
    report::report(run().await)
}

async fn run() -> Result<(), Failure> {
    let (config, _emulator) = config::config_or_emulator().await?;
    let client = Client::new(config)?;

    let room = client.rooms(MemoryStore::new()).create().send().await?;
    let host_session = room.snapshot().await?.room.host_session_id;
    println!("room {} created", room.id());

    // Two participants, each publishing a microphone and a camera, each receiving the other's.
    let mut alice = room.join("alice").connect(client.peer()).await?;
    println!("alice joined");
    let mut senders = publish(&alice, "alice").await?;
    let mut bob = room.join("bob").connect(client.peer()).await?;
    let mut at_bob = bob.take_tracks();
    println!("bob joined and pulled alice's {} tracks", at_bob.len());
    senders.extend(publish(&bob, "bob").await?);
    let from_bob = tracks_published(&mut alice, "bob").await?;
    let mut at_alice = alice.pull(&from_bob).await?;
    println!("alice pulled bob's {} tracks", at_alice.len());
    receive("alice", &mut at_alice).await?;
    receive("bob", &mut at_bob).await?;

    // A broadcast, and a viewer who receives it.
    let mut stage = room
        .join("stage")
        .role(Role::Broadcaster)
        .connect(client.peer())
        .await?;
    println!("stage started a broadcast");
    senders.extend(publish(&stage, "stage").await?);
    let mut viewer = room.watch("viewer").connect(client.peer()).await?;
    let mut watched = viewer.take_tracks();
    println!(
        "viewer joined and pulled the broadcast's {} tracks",
        watched.len()
    );
    receive("viewer", &mut watched).await?;

    // One message from the server to everyone in the room, over the room's data channel.
    room.send_message("Hello!").await?;
    for (name, participant) in [
        ("alice", &mut alice),
        ("bob", &mut bob),
        ("stage", &mut stage),
        ("viewer", &mut viewer),
    ] {
        hello(participant)
            .await
            .ok_or_else(|| format!("\"Hello!\" did not reach {name}"))?;
    }
    println!("\"Hello!\" reached alice, bob, stage and viewer");

    // Everyone leaves; closing the room closes its own peer too.
    for task in senders {
        task.abort();
    }
    let mut sessions = vec![host_session];
    for participant in [alice, bob, stage, viewer] {
        sessions.push(participant.participant().session().id().to_owned());
        participant.leave().await?;
    }
    println!("everyone left");
    room.close().await?;
    let mut open = 0;
    for id in &sessions {
        match client.session(id).state().await {
            Ok(state) => {
                open += state.tracks.iter().filter(|t| t.is_active()).count();
                open += state
                    .data_channels
                    .iter()
                    .filter(|c| c.status == Some(cloudflare_calls::session::ResourceStatus::Active))
                    .count();
            }
            Err(e) if e.is_session_gone() => {}
            Err(e) => return Err(e.into()),
        }
    }
    if open > 0 {
        return Err(format!("{open} tracks or channels are still open on the SFU").into());
    }
    println!(
        "room closed; {} sessions checked, nothing left open",
        sessions.len()
    );
    Ok(())
}

/// Publishes a microphone (Opus silence) and a camera (an H.264 test pattern), sending for
/// a minute.
async fn publish(participant: &RoomPeer, name: &str) -> Result<Vec<JoinHandle<()>>, Failure> {
    let tracks = [
        ("mic".into(), FrameCodec::Opus),
        ("cam".into(), FrameCodec::H264),
    ];
    let [mic, cam]: [_; 2] = participant
        .publish_tracks(tracks)
        .await?
        .try_into()
        .map_err(|_| "two tracks published")?;
    println!("{name} publishes mic (Opus) and cam (H.264)");
    let mut pattern = TestPattern::new(160, 128)?;
    let minute = Duration::from_secs(60);
    Ok(vec![
        tokio::spawn(async move {
            let _ = mic.send_silence(minute).await;
        }),
        tokio::spawn(async move {
            let _ = cam
                .send_test_pattern(&mut pattern, Duration::from_millis(33), minute)
                .await;
        }),
    ])
}

/// The tracks `publisher` announced, as `participant` learns of them on the room channel.
async fn tracks_published(
    participant: &mut RoomPeer,
    publisher: &str,
) -> Result<Vec<TrackInfo>, Failure> {
    let id = participant_id(participant, publisher).await?;
    while let Some(update) = participant.recv_timeout(WAIT).await {
        if let RoomEvent::TracksPublished {
            participant: from,
            tracks,
        } = update.event
            && from == id
        {
            return Ok(tracks);
        }
    }
    Err(format!("no tracks of {publisher} announced").into())
}

async fn participant_id(participant: &mut RoomPeer, identity: &str) -> Result<String, Failure> {
    while let Some(update) = participant.recv_timeout(WAIT).await {
        if let RoomEvent::ParticipantJoined { participant: p } = update.event
            && p.identity == identity
        {
            return Ok(p.id);
        }
    }
    Err(format!("{identity} was never announced").into())
}

/// Counts frames on every track until each has enough.
async fn receive(name: &str, tracks: &mut [IncomingTrack]) -> Result<(), Failure> {
    let mut counts = Vec::new();
    for track in tracks.iter_mut() {
        let want = if track.name() == "mic" {
            AUDIO_FRAMES
        } else {
            VIDEO_FRAMES
        };
        let mut frames = 0;
        while frames < want {
            match tokio::time::timeout(WAIT, track.recv()).await {
                Ok(Some(_)) => frames += 1,
                _ => return Err(format!("{name}: only {frames} frames of {}", track.name()).into()),
            }
        }
        counts.push(format!("{frames} frames of {}", track.name()));
    }
    println!("{name} received {}", counts.join(", "));
    Ok(())
}

/// Waits for the server's "Hello!".
async fn hello(participant: &mut RoomPeer) -> Option<()> {
    loop {
        let update = participant.recv_timeout(WAIT).await?;
        if let RoomEvent::Message {
            from: None,
            payload: Payload::Text(text),
            ..
        } = update.event
            && text == "Hello!"
        {
            return Some(());
        }
    }
}
