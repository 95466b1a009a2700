//! The main job: two server-side peers join the SFU. One pushes an audio track and publishes a
//! data channel; the other pulls the track and subscribes to the channel, then replies.
//! Against Cloudflare when `CALLS_APP_ID` and `CALLS_APP_SECRET` are set, otherwise against
//! an emulator embedded in this process.
//!
//! Each peer is the crate's `Peer` (feature `peer`, on by default): it owns a session, answers
//! the SFU's offers itself, and connects over UDP.

use std::time::Duration;

use cloudflare_calls::{
    Client, Config, ConfigError, DataChannel, FrameCodec, Message, RemoteTrack,
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
        tokio::spawn(async move { mic.send_silence(Duration::from_secs(3)).await })
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
    let mut inbox = bob
        .subscribe(DataChannel::subscribe(alice.session().id(), "chat").can_reply(true))
        .await?;

    let mut frames = 0;
    while frames < 10 {
        match tokio::time::timeout(Duration::from_secs(5), audio.recv()).await {
            Ok(Some(_frame)) => frames += 1,
            _ => break,
        }
    }
    println!("bob: received {frames} Opus frames of {:?}", audio.name());

    chat.send_text("Hello!").await?;
    if let Some(Ok(Message::Text(text))) = inbox.recv().await {
        println!("bob: got {text:?} on {:?}", inbox.name());
        inbox.reply_text("Hello, Alice!").await?;
    }
    if let Some(mut replies) = chat.take_replies()
        && let Some(Ok(Message::Text(text))) = replies.recv().await
    {
        println!("alice: got the reply {text:?}");
    }

    silence.abort();
    // Close the tracks and channels on the SFU and stop both peers.
    bob.close().await?;
    alice.close().await?;
    println!("closed both peers");
    Ok(())
}
