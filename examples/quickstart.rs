//! The main job: two server-side peers join the SFU. One pushes an audio and a video track and
//! publishes a data channel; the other pulls the tracks and subscribes to the channel, then
//! replies. It exits with an error unless every step was observed.
//! Against Cloudflare when `CALLS_APP_ID` and `CALLS_APP_SECRET` are set, otherwise against
//! an emulator embedded in this process.
//!
//! Each peer is the crate's `Peer` (feature `peer`, on by default): it owns a session, answers
//! the SFU's offers itself, and connects over UDP.

use std::time::Duration;

use cloudflare_calls::{
    Client, Config, ConfigError, DataChannel, FrameCodec, IncomingTrack, Message, RemoteTrack,
    TestPattern,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (config, _emulator) = match Config::from_env() {
        Ok(config) => {
            println!("using Cloudflare at {}", config.base_url());
            (config, None)
        }
        Err(ConfigError::MissingEnv(name)) => {
            let emulator = calls_emulator::Emulator::start().await?;
            println!(
                "{name} is not set: using the embedded emulator at {}",
                emulator.sfu_base_url()
            );
            let config = Config::new(
                emulator.sfu_base_url(),
                emulator.app_id(),
                emulator.app_secret(),
            );
            (config, Some(emulator))
        }
        Err(e) => return Err(e.into()),
    };
    let client = Client::new(config)?;

    // The publisher: a session, a UDP socket, one task driving WebRTC.
    let alice = client
        .peer()
        .correlation_id("quickstart/alice")
        .connect()
        .await?;
    println!("alice: session {} connected", alice.session().id());
    let mic = alice.push_track("mic", FrameCodec::Opus).await?;
    println!("alice: pushing track {:?} on mid {}", mic.name(), mic.mid());
    let silence = {
        let mic = mic.clone();
        tokio::spawn(async move { mic.send_silence(Duration::from_secs(30)).await })
    };
    let cam = alice.push_track("cam", FrameCodec::H264).await?;
    println!(
        "alice: pushing track {:?} (an H.264 test pattern)",
        cam.name()
    );
    let pattern = {
        let cam = cam.clone();
        let mut pattern = TestPattern::new(320, 240)?;
        let every = Duration::from_millis(66);
        tokio::spawn(async move {
            cam.send_test_pattern(&mut pattern, every, Duration::from_secs(30))
                .await
        })
    };
    let chat = alice.publish(DataChannel::publish("chat")).await?;
    println!("alice: publishing data channel {:?}", chat.name());

    // The subscriber pulls the track and subscribes to the channel, with the right to reply.
    let bob = client
        .peer()
        .correlation_id("quickstart/bob")
        .connect()
        .await?;
    println!("bob: session {} connected", bob.session().id());
    let mut audio = bob
        .pull(RemoteTrack::new(alice.session().id(), "mic"))
        .await?;
    let mut video = bob
        .pull(RemoteTrack::new(alice.session().id(), "cam"))
        .await?;
    let mut inbox = bob
        .subscribe(DataChannel::subscribe(alice.session().id(), "chat").can_reply(true))
        .await?;

    for (track, codec) in [(&mut audio, "Opus"), (&mut video, "H.264")] {
        let frames = receive(track, 10).await;
        println!(
            "bob: received {frames} {codec} frames of {:?}",
            track.name()
        );
        if frames < 10 {
            return Err(format!("only {frames} frames of {:?} arrived", track.name()).into());
        }
    }

    chat.send_text("Hello!").await?;
    let wait = Duration::from_secs(5);
    let Ok(Some(Ok(Message::Text(text)))) = tokio::time::timeout(wait, inbox.recv()).await else {
        return Err("bob did not receive alice's message".into());
    };
    println!("bob: got {text:?} on {:?}", inbox.name());
    inbox.reply_text("Hello, Alice!").await?;
    let mut replies = chat
        .take_replies()
        .ok_or("alice's channel takes no replies")?;
    let Ok(Some(Ok(Message::Text(text)))) = tokio::time::timeout(wait, replies.recv()).await else {
        return Err("alice did not receive bob's reply".into());
    };
    println!("alice: got the reply {text:?}");

    silence.abort();
    pattern.abort();
    // Close the tracks and channels on the SFU and stop both peers.
    bob.close().await?;
    alice.close().await?;
    println!("closed both peers");
    Ok(())
}

/// Counts frames of `track` until `want` arrived or none came for 5 s.
async fn receive(track: &mut IncomingTrack, want: usize) -> usize {
    let mut frames = 0;
    while frames < want {
        match tokio::time::timeout(Duration::from_secs(5), track.recv()).await {
            Ok(Some(_frame)) => frames += 1,
            _ => break,
        }
    }
    frames
}
