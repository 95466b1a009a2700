//! The main job: create a session, push a track, pull it into a second session, and open a
//! data channel. Against Cloudflare when `CALLS_APP_ID` and `CALLS_APP_SECRET` are set,
//! otherwise against an emulator embedded in this process.
//!
//! Each session's endpoint is a str0m peer here (a browser in a real app): the SFU makes the
//! offers, the endpoint answers them as the crate's `Answerer`.

use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cloudflare_calls::{
    Answer, Answerer, BoxError, Client, Config, ConfigError, DataChannel, LocalTrack, MediaKind,
    Negotiation, Offer, RemoteTrack, TracksResult,
};

/// The WebRTC side of a session: answers the SFU's offers and connects over UDP.
struct Endpoint(Arc<Mutex<str0m::Rtc>>);

impl Endpoint {
    fn new() -> Result<Self, Box<dyn std::error::Error>> {
        let crypto = Arc::new(str0m::crypto::from_feature_flags());
        let mut rtc = str0m::Rtc::builder()
            .set_crypto_provider(crypto)
            .build(Instant::now());
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        let local = socket.local_addr()?;
        rtc.add_local_candidate(str0m::Candidate::host(local, "udp")?);
        let rtc = Arc::new(Mutex::new(rtc));
        let driven = rtc.clone();
        std::thread::spawn(move || drive(&driven, &socket, local));
        Ok(Self(rtc))
    }
}

impl Answerer for Endpoint {
    /// Applies the SFU's offer and returns the endpoint's answer.
    async fn answer(&mut self, offer: Offer) -> Result<Answer, BoxError> {
        let offer = str0m::change::SdpOffer::from_sdp_string(offer.sdp())?;
        let answer = self.0.lock().unwrap().sdp_api().accept_offer(offer)?;
        Ok(Answer::new(answer.to_sdp_string()))
    }
}

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

    let publisher = client
        .new_session()
        .correlation_id("quickstart/publisher")
        .send()
        .await?;
    let mut publisher_pc = Endpoint::new()?;
    println!("publisher session {}", publisher.id());
    // The SFU offers a transceiver for the track; the endpoint answers before `send` returns.
    let pushed = publisher
        .add_tracks()
        .push(LocalTrack::offered_by_sfu("mic", MediaKind::Audio))
        .answerer(&mut publisher_pc)
        .send()
        .await?;
    report("push", &pushed);

    let subscriber = client
        .new_session()
        .correlation_id("quickstart/subscriber")
        .send()
        .await?;
    let mut subscriber_pc = Endpoint::new()?;
    println!("subscriber session {}", subscriber.id());
    // Without an answerer, the SFU's offer comes back as a pending step to answer.
    let pulled = subscriber
        .add_tracks()
        .pull(RemoteTrack::new(publisher.id(), "mic"))
        .send()
        .await?;
    report("pull", &pulled);
    if let Negotiation::Offer(pending) = pulled.negotiation {
        pending.answer_with(&mut subscriber_pc).await?;
        println!("session {}: answered the SFU's offer", subscriber.id());
    }

    let transport = publisher.establish_data_channels(None).await?;
    transport.negotiation.settle(&mut publisher_pc).await?;
    let channels = publisher
        .add_data_channels()
        .channel(DataChannel::publish("chat"))
        .send()
        .await?;
    for c in &channels.channels {
        println!("data channel {:?} opened with id {:?}", c.name, c.id);
    }
    for f in &channels.failed {
        println!(
            "data channel {:?} refused: {} {:?}",
            f.name, f.code, f.description
        );
    }

    let state = subscriber.state().await?;
    println!("subscriber state: {} track(s)", state.tracks.len());
    Ok(())
}

/// The sans-IO peer's event loop: datagrams in, datagrams out, timers, until it disconnects.
fn drive(rtc: &Mutex<str0m::Rtc>, socket: &UdpSocket, local: SocketAddr) {
    use str0m::{Event, IceConnectionState, Input, Output};
    let mut buf = vec![0u8; 2000];
    loop {
        let deadline = {
            let mut rtc = rtc.lock().unwrap();
            loop {
                match rtc.poll_output() {
                    Ok(Output::Timeout(t)) => break t,
                    Ok(Output::Transmit(t)) => {
                        let _ = socket.send_to(&t.contents, t.destination);
                    }
                    Ok(Output::Event(Event::IceConnectionStateChange(
                        IceConnectionState::Disconnected,
                    )))
                    | Err(_) => return,
                    Ok(_) => {}
                }
            }
        };
        let wait = deadline.saturating_duration_since(Instant::now());
        let _ = socket.set_read_timeout(Some(
            wait.clamp(Duration::from_millis(1), Duration::from_millis(50)),
        ));
        let input = match socket.recv_from(&mut buf) {
            Ok((n, source)) => match buf[..n].try_into() {
                Ok(contents) => Input::Receive(
                    Instant::now(),
                    str0m::net::Receive {
                        proto: str0m::net::Protocol::Udp,
                        source,
                        destination: local,
                        contents,
                    },
                ),
                Err(_) => continue,
            },
            Err(_) => Input::Timeout(Instant::now()),
        };
        if rtc.lock().unwrap().handle_input(input).is_err() {
            return;
        }
    }
}

fn report(what: &str, result: &TracksResult) {
    for t in &result.tracks {
        println!("{what}: track {:?} on mid {:?}", t.track_name, t.mid);
    }
    for f in &result.failed {
        println!(
            "{what}: track {:?} refused: {} {:?}",
            f.track_name, f.code, f.description
        );
    }
    match &result.negotiation {
        Negotiation::Done => println!("{what}: nothing left to negotiate"),
        Negotiation::Answer(a) => println!("{what}: the SFU answered ({} bytes)", a.sdp().len()),
        Negotiation::Offer(p) => {
            println!("{what}: the SFU offered ({} bytes)", p.offer().sdp().len())
        }
    }
}
