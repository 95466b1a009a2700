//! Headless Chromium publishes audio, video and a data channel through the emulator; the
//! crate's server-side peer pulls them, and publishes audio and a channel of its own that the
//! page receives and answers. Every SFU call on both sides goes through the crate's API.

#![cfg(feature = "peer")]

use crate::support::chromium;

use std::time::Duration;

use calls_emulator::Emulator;
use cloudflare_calls::peer::{FrameCodec, Message, TestPattern};
use cloudflare_calls::{
    Answer, Client, Config, DataChannel, LocalTrack, Offer, PendingOffer, RemoteTrack,
};
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
async fn chromium_and_the_server_side_peer_exchange_media_and_messages() {
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

    // Subscriber: the crate's peer pulls both tracks and subscribes to the channel.
    let peer = client.peer().connect().await.unwrap();
    let mut mic = peer
        .pull(RemoteTrack::new(publisher.id(), "mic"))
        .await
        .unwrap();
    let mut cam = peer
        .pull(RemoteTrack::new(publisher.id(), "cam"))
        .await
        .unwrap();
    let mut chat = peer
        .subscribe(DataChannel::subscribe(publisher.id(), "chat"))
        .await
        .unwrap();
    for track in [&mut mic, &mut cam] {
        for _ in 0..10 {
            let frame = tokio::time::timeout(Duration::from_secs(10), track.recv())
                .await
                .expect("a frame from Chromium within 10 s")
                .expect("the track is open");
            assert!(!frame.payload.is_empty());
        }
    }
    match tokio::time::timeout(Duration::from_secs(10), chat.recv()).await {
        Ok(Some(Ok(Message::Text(t)))) => assert!(t.starts_with("hello "), "{t}"),
        other => panic!("expected a message from Chromium, got {other:?}"),
    }

    // The other way: the peer pushes Opus silence and publishes a channel; the page pulls the
    // track and subscribes with the right to reply.
    let voice = peer.push_track("voice", FrameCodec::Opus).await.unwrap();
    let silence = {
        let voice = voice.clone();
        tokio::spawn(async move { voice.send_silence(Duration::from_secs(20)).await })
    };
    let camera = peer.push_track("pattern", FrameCodec::H264).await.unwrap();
    let pattern = {
        let camera = camera.clone();
        let mut pattern = TestPattern::new(128, 96).unwrap();
        let every = Duration::from_millis(66);
        tokio::spawn(async move {
            camera
                .send_test_pattern(&mut pattern, every, Duration::from_secs(30))
                .await
        })
    };
    let news = peer.publish(DataChannel::publish("news")).await.unwrap();
    browser
        .eval(
            "pc.ontrack = (e) => { if (e.track.kind !== 'video') return; \
               const v = document.createElement('video'); v.muted = true; v.autoplay = true; \
               v.srcObject = new MediaStream([e.track]); document.body.append(v); window.remote = v; }; true",
        )
        .await
        .unwrap();
    let pulled = publisher
        .add_tracks()
        .pull(RemoteTrack::new(peer.session().id(), "voice"))
        .pull(RemoteTrack::new(peer.session().id(), "pattern"))
        .send()
        .await
        .unwrap();
    assert!(pulled.failed.is_empty(), "{:?}", pulled.failed);
    browser_answers(
        &browser,
        pulled.negotiation.into_pending().expect("an SFU offer"),
    )
    .await;
    let subscribed = publisher
        .add_data_channels()
        .channel(DataChannel::subscribe(peer.session().id(), "news").can_reply(true))
        .send()
        .await
        .unwrap();
    let id = subscribed.channels[0].id.expect("a channel id");
    browser
        .eval(&format!(
            "window.news = pc.createDataChannel('news', {{negotiated: true, id: {id}}}); \
             window.got = []; news.onmessage = (e) => {{ got.push(e.data); news.send('ack ' + e.data); }}; true"
        ))
        .await
        .unwrap();
    wait_in_page(&browser, "news.readyState === 'open'", "news channel open").await;
    let mut replies = news.take_replies().unwrap();
    news.send_text("from the server").await.unwrap();
    wait_in_page(
        &browser,
        "got.includes('from the server')",
        "the page received the peer's message",
    )
    .await;
    match tokio::time::timeout(Duration::from_secs(10), replies.recv()).await {
        Ok(Some(Ok(Message::Text(t)))) => assert_eq!(t, "ack from the server"),
        other => panic!("expected the page's reply, got {other:?}"),
    }
    wait_in_page(
        &browser,
        "(async () => { const n = { audio: 0, video: 0 }; (await pc.getStats()).forEach(r => { \
           if (r.type === 'inbound-rtp') n[r.kind] += r.packetsReceived; }); \
           return n.audio > 10 && n.video > 10; })()",
        "Chromium's getStats shows inbound RTP of the peer's audio and video",
    )
    .await;
    // The peer's H.264 test pattern plays in a <video>: decoded, sized, and moving.
    wait_in_page(
        &browser,
        "window.remote !== undefined && remote.videoWidth === 128 && remote.videoHeight === 96",
        "a <video> of the peer's track has the pattern's size",
    )
    .await;
    let decoded = "remote.getVideoPlaybackQuality().totalVideoFrames";
    let before = browser.eval(decoded).await.unwrap().as_u64().unwrap();
    wait_in_page(
        &browser,
        &format!("{decoded} >= {} + 5", before),
        "the peer's video keeps playing",
    )
    .await;
    silence.abort();
    pattern.abort();

    let state = peer.session().state().await.unwrap();
    assert!(state.tracks.iter().all(|t| t.is_active()), "{state:?}");
    peer.close().await.unwrap();
}
