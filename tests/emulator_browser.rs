//! Headless Chromium publishes audio, video and a data channel through the emulator; a str0m
//! peer pulls them. Every SFU call on both sides goes through the crate's API.

#[path = "support/chromium.rs"]
mod chromium;
#[path = "support/peer.rs"]
mod peer;

use std::time::Duration;

use calls_emulator::Emulator;
use cloudflare_calls::{
    Answer, Client, Config, DataChannel, LocalTrack, Offer, PendingOffer, RemoteTrack,
};
use peer::Peer;
use serde_json::Value;

/// Builds the page's publisher: a tone and an animated canvas on sendonly transceivers.
const PUBLISH: &str = r#"(async () => {
  const pc = new RTCPeerConnection();
  window.pc = pc;
  const audio = new AudioContext();
  const tone = audio.createOscillator();
  const sink = audio.createMediaStreamDestination();
  tone.connect(sink);
  tone.start();
  await audio.resume();
  const canvas = document.createElement('canvas');
  canvas.width = 160;
  canvas.height = 120;
  const g = canvas.getContext('2d');
  let frame = 0;
  setInterval(() => { g.fillStyle = `hsl(${frame++ % 360}, 80%, 50%)`; g.fillRect(0, 0, 160, 120); }, 33);
  const mic = pc.addTransceiver(sink.stream.getAudioTracks()[0], { direction: 'sendonly' });
  const cam = pc.addTransceiver(canvas.captureStream(30).getVideoTracks()[0], { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  return { sdp: pc.localDescription.sdp, mic: mic.mid, cam: cam.mid };
})()"#;

fn client(emulator: &Emulator) -> Client {
    Client::new(Config::new(
        emulator.sfu_base_url(),
        emulator.app_id(),
        emulator.app_secret(),
    ))
    .unwrap()
}

/// Applies the SFU's offer in the page and sends the page's answer back.
async fn browser_answers(browser: &chromium::Browser, pending: PendingOffer) {
    let js = format!(
        "(async () => {{ await pc.setRemoteDescription({{type: 'offer', sdp: {}}}); \
         await pc.setLocalDescription(await pc.createAnswer()); return pc.localDescription.sdp; }})()",
        serde_json::to_string(pending.offer().sdp()).unwrap()
    );
    let answer = browser.eval(&js).await.unwrap();
    pending
        .answer(Answer::new(answer.as_str().unwrap()))
        .await
        .unwrap();
}

async fn wait_in_page(browser: &chromium::Browser, condition: &str, what: &str) {
    for _ in 0..200 {
        if browser.eval(condition).await.unwrap() == Value::Bool(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: not reached in the browser within 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_publishes_and_a_str0m_peer_receives_media_and_messages() {
    if chromium::skip_without_chromium() {
        return;
    }
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let browser = chromium::Browser::launch_with(&["--autoplay-policy=no-user-gesture-required"])
        .await
        .unwrap();

    // Publisher: Chromium's offer, pushed through the crate.
    let page = browser.eval(PUBLISH).await.unwrap();
    let publisher = client.new_session().send().await.unwrap();
    let pushed = publisher
        .add_tracks()
        .offer(Offer::new(page["sdp"].as_str().unwrap()))
        .push(LocalTrack::new(page["mic"].as_str().unwrap(), "mic"))
        .push(LocalTrack::new(page["cam"].as_str().unwrap(), "cam"))
        .send()
        .await
        .unwrap();
    assert!(pushed.failed.is_empty(), "{:?}", pushed.failed);
    let answer = pushed.negotiation.answer().expect("an answer");
    let js = format!(
        "pc.setRemoteDescription({{type: 'answer', sdp: {}}}).then(() => true)",
        serde_json::to_string(answer.sdp()).unwrap()
    );
    browser.eval(&js).await.unwrap();
    wait_in_page(
        &browser,
        "pc.connectionState === 'connected'",
        "publisher connected",
    )
    .await;

    // The publisher's data channel: transport first, then a named channel.
    let transport = publisher.establish_data_channels(None).await.unwrap();
    let pending = transport.negotiation.into_pending().expect("an SFU offer");
    browser_answers(&browser, pending).await;
    let published = publisher
        .add_data_channels()
        .channel(DataChannel::publish("chat"))
        .send()
        .await
        .unwrap();
    let id = published.channels[0].id.expect("a channel id");
    browser
        .eval(&format!(
            "window.chat = pc.createDataChannel('chat', {{negotiated: true, id: {id}}}); \
             window.sent = 0; setInterval(() => {{ if (chat.readyState === 'open') chat.send('hello ' + sent++); }}, 50); true"
        ))
        .await
        .unwrap();

    // Subscriber: a str0m peer pulls both tracks and subscribes to the channel.
    let mut sub_peer = Peer::new().await;
    let subscriber = client.new_session().send().await.unwrap();
    let pulled = subscriber
        .add_tracks()
        .pull(RemoteTrack::new(publisher.id(), "mic"))
        .pull(RemoteTrack::new(publisher.id(), "cam"))
        .send()
        .await
        .unwrap();
    let mids: Vec<String> = pulled
        .tracks
        .iter()
        .map(|t| t.mid.clone().unwrap())
        .collect();
    let pending = pulled.negotiation.into_pending().expect("an SFU offer");
    let answer = sub_peer.answer(pending.offer().sdp());
    pending.answer(Answer::new(answer)).await.unwrap();
    sub_peer
        .until(Duration::from_secs(10), "subscriber connected", |p| {
            p.connected
        })
        .await;

    let transport = subscriber.establish_data_channels(None).await.unwrap();
    let pending = transport.negotiation.into_pending().expect("an SFU offer");
    let answer = sub_peer.answer(pending.offer().sdp());
    pending.answer(Answer::new(answer)).await.unwrap();
    let subscribed = subscriber
        .add_data_channels()
        .channel(DataChannel::subscribe(publisher.id(), "chat"))
        .send()
        .await
        .unwrap();
    let channel = sub_peer.channel(subscribed.channels[0].id.unwrap(), "chat");

    sub_peer
        .until(
            Duration::from_secs(20),
            "media and messages from Chromium",
            |p| {
                let media = mids
                    .iter()
                    .all(|mid| p.frames.get(mid).is_some_and(|n| *n >= 10));
                let message = p
                    .messages
                    .iter()
                    .any(|(id, m)| *id == channel && m.starts_with(b"hello "));
                media && message
            },
        )
        .await;

    let state = subscriber.state().await.unwrap();
    assert!(state.tracks.iter().all(|t| t.is_active()), "{state:?}");
}
