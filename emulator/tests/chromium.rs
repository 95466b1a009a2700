//! Headless Chromium on both sides: one page connection publishes audio, video and a data
//! channel; a second one pulls them from an emulator-made offer, decodes video and receives
//! messages. This checks that browsers accept the emulator's answers and offers.

// The crate's Chromium driver, of which this test needs only a part.
#[allow(dead_code)]
#[path = "../../tests/support/chromium.rs"]
mod chromium;

use std::time::Duration;

#[path = "support/api.rs"]
mod api;

use api::Api;
use serde_json::{Value, json};

const PUBLISH: &str = r#"(async () => {
  const pc = new RTCPeerConnection();
  window.pc1 = pc;
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
  let n = 0;
  setInterval(() => { g.fillStyle = `hsl(${n++ % 360}, 70%, 50%)`; g.fillRect(0, 0, 160, 120); }, 33);
  const mic = pc.addTransceiver(sink.stream.getAudioTracks()[0], { direction: 'sendonly' });
  const cam = pc.addTransceiver(canvas.captureStream(30).getVideoTracks()[0], { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  return { sdp: pc.localDescription.sdp, mic: mic.mid, cam: cam.mid };
})()"#;

/// Has page connection `pc` answer the emulator's offer in `v`, and renegotiates with it.
async fn page_answers(api: &Api, browser: &chromium::Browser, pc: &str, sid: &str, v: &Value) {
    let offer = serde_json::to_string(&v["sessionDescription"]["sdp"]).unwrap();
    let js = format!(
        "(async () => {{ await {pc}.setRemoteDescription({{type: 'offer', sdp: {offer}}}); \
         await {pc}.setLocalDescription(await {pc}.createAnswer()); return {pc}.localDescription.sdp; }})()"
    );
    let answer = browser.eval(&js).await.unwrap();
    let body = json!({"sessionDescription": {"type": "answer", "sdp": answer}});
    api.call(
        reqwest::Method::PUT,
        &format!("/sessions/{sid}/renegotiate"),
        body,
    )
    .await;
}

async fn wait_for(browser: &chromium::Browser, condition: &str) {
    for _ in 0..300 {
        if browser.eval(condition).await.unwrap() == Value::Bool(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not reached within 15 s: {condition}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_publishes_and_chromium_subscribes() {
    if chromium::skip_without_chromium() {
        return;
    }
    let api = Api::start().await;
    let browser = chromium::Browser::launch_with(&["--autoplay-policy=no-user-gesture-required"])
        .await
        .unwrap();

    let a = api.session().await;
    let published = browser.eval(PUBLISH).await.unwrap();
    let body = json!({
        "sessionDescription": {"type": "offer", "sdp": published["sdp"]},
        "tracks": [
            {"location": "local", "mid": published["mic"], "trackName": "mic"},
            {"location": "local", "mid": published["cam"], "trackName": "cam"},
        ],
    });
    let v = api
        .call(
            reqwest::Method::POST,
            &format!("/sessions/{a}/tracks/new"),
            body,
        )
        .await;
    let answer = serde_json::to_string(&v["sessionDescription"]["sdp"]).unwrap();
    browser
        .eval(&format!(
            "pc1.setRemoteDescription({{type: 'answer', sdp: {answer}}}).then(() => true)"
        ))
        .await
        .unwrap();
    wait_for(&browser, "pc1.connectionState === 'connected'").await;

    let b = api.session().await;
    browser
        .eval("window.pc2 = new RTCPeerConnection(); true")
        .await
        .unwrap();
    let pull = json!({"tracks": [
        {"location": "remote", "sessionId": a, "trackName": "mic"},
        {"location": "remote", "sessionId": a, "trackName": "cam"},
    ]});
    let v = api
        .call(
            reqwest::Method::POST,
            &format!("/sessions/{b}/tracks/new"),
            pull,
        )
        .await;
    assert_eq!(v["requiresImmediateRenegotiation"], true);
    page_answers(&api, &browser, "pc2", &b, &v).await;
    wait_for(&browser, "pc2.connectionState === 'connected'").await;
    let decoded = r#"(async () => {
      let audio = 0, video = 0;
      (await pc2.getStats()).forEach(s => {
        if (s.type === 'inbound-rtp' && s.kind === 'audio') audio = s.packetsReceived;
        if (s.type === 'inbound-rtp' && s.kind === 'video') video = s.framesDecoded || 0;
      });
      return audio > 10 && video > 5;
    })()"#;
    wait_for(&browser, decoded).await;

    // Data channel: both page connections set up SCTP, A publishes, B subscribes.
    for (pc, sid) in [("pc1", &a), ("pc2", &b)] {
        let v = api
            .call(
                reqwest::Method::POST,
                &format!("/sessions/{sid}/datachannels/establish"),
                json!({}),
            )
            .await;
        page_answers(&api, &browser, pc, sid, &v).await;
    }
    let v = api
        .call(
            reqwest::Method::POST,
            &format!("/sessions/{a}/datachannels/new"),
            json!({"dataChannels": [{"location": "local", "dataChannelName": "chat"}]}),
        )
        .await;
    let id = &v["dataChannels"][0]["id"];
    browser
        .eval(&format!(
            "window.dc1 = pc1.createDataChannel('chat', {{negotiated: true, id: {id}}}); true"
        ))
        .await
        .unwrap();
    let sub = json!({"dataChannels": [{"location": "remote", "sessionId": a, "dataChannelName": "chat"}]});
    let v = api
        .call(
            reqwest::Method::POST,
            &format!("/sessions/{b}/datachannels/new"),
            sub,
        )
        .await;
    let id = &v["dataChannels"][0]["id"];
    browser
        .eval(&format!(
            "window.got = []; window.dc2 = pc2.createDataChannel('chat', {{negotiated: true, id: {id}}}); \
             dc2.onmessage = e => got.push(e.data); true"
        ))
        .await
        .unwrap();
    wait_for(
        &browser,
        "dc1.readyState === 'open' && dc2.readyState === 'open'",
    )
    .await;
    wait_for(
        &browser,
        "(dc1.send('hello from the page'), got.includes('hello from the page'))",
    )
    .await;
}
