//! The main job: create a session, push a track, pull it into a second session, and open a
//! data channel. Against Cloudflare when `CALLS_APP_ID` and `CALLS_APP_SECRET` are set,
//! otherwise against an emulator embedded in this process.
//!
//! No WebRTC endpoint runs here: tracks are pushed with the SFU making the offer, and the SFU's
//! offers are printed where a real endpoint would answer them.

use cloudflare_calls::{Client, Config, ConfigError, DataChannel, LocalTrack, RemoteTrack};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (config, _emulator) = match Config::from_env() {
        Ok(config) => {
            println!("using Cloudflare at {}", config.base_url());
            (config, None)
        }
        Err(ConfigError::MissingEnv(name)) => {
            let emulator = calls_emulator::Emulator::start().await?;
            println!("{name} is not set: using the embedded emulator at {}", emulator.sfu_base_url());
            let config = Config::new(emulator.sfu_base_url(), emulator.app_id(), emulator.app_secret());
            (config, Some(emulator))
        }
        Err(e) => return Err(e.into()),
    };
    let client = Client::new(config)?;

    let publisher = client.new_session().correlation_id("quickstart/publisher").send().await?;
    println!("publisher session {}", publisher.id());
    let pushed = publisher
        .add_tracks()
        .push(LocalTrack::offered_by_sfu("mic", "audio"))
        .send()
        .await?;
    report("push", &pushed);

    let subscriber = client.new_session().correlation_id("quickstart/subscriber").send().await?;
    println!("subscriber session {}", subscriber.id());
    let pulled = subscriber
        .add_tracks()
        .pull(RemoteTrack::new(publisher.id(), "mic"))
        .send()
        .await?;
    report("pull", &pulled);

    let transport = publisher.establish_data_channels(None).await?;
    println!(
        "data channel transport: renegotiation needed = {}",
        transport.requires_immediate_renegotiation
    );
    let channels = publisher
        .add_data_channels()
        .channel(DataChannel::publish("chat"))
        .send()
        .await?;
    for c in &channels.channels {
        println!("data channel {:?} opened with id {:?}", c.name, c.id);
    }
    for f in &channels.failed {
        println!("data channel {:?} refused: {} {:?}", f.name, f.code, f.description);
    }

    let state = subscriber.state().await?;
    println!("subscriber state: {} track(s)", state.tracks.len());
    Ok(())
}

fn report(what: &str, result: &cloudflare_calls::TracksResult) {
    for t in &result.tracks {
        println!("{what}: track {:?} on mid {:?}", t.track_name, t.mid);
    }
    for f in &result.failed {
        println!("{what}: track {:?} refused: {} {:?}", f.track_name, f.code, f.description);
    }
    if let Some(d) = &result.description {
        let kind = if d.offer().is_some() { "offer" } else { "answer" };
        println!(
            "{what}: the SFU sent an {kind} of {} bytes{}",
            d.sdp().len(),
            if result.requires_immediate_renegotiation {
                " (an endpoint answers it with Session::renegotiate)"
            } else {
                ""
            }
        );
    }
}
