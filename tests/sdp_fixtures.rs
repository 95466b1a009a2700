//! Captures the browser offers under `tests/fixtures/sdp/` from the local
//! Chromium. Run on purpose only, since it rewrites checked-in fixtures:
//! `cargo test --test sdp_fixtures -- --ignored`.

#[path = "support/chromium.rs"]
mod chromium;

/// Builds each offer in the page; every entry becomes `<name>.sdp`.
const CAPTURE_JS: &str = r#"
(async () => {
  const offer = async (setup) => {
    const pc = new RTCPeerConnection();
    await setup(pc);
    const o = await pc.createOffer();
    pc.close();
    return o.sdp;
  };
  // about:blank is no secure context, so synthetic tracks stand in for
  // getUserMedia; the offers look the same to the remote side.
  const canvas = document.createElement('canvas');
  canvas.getContext('2d').fillRect(0, 0, 1, 1);
  const [video] = canvas.captureStream(30).getVideoTracks();
  const [audio] = new AudioContext().createMediaStreamDestination().stream.getAudioTracks();
  const stream = new MediaStream([audio, video]);
  return {
    chromium_transceivers_datachannel: await offer(async (pc) => {
      pc.addTransceiver('audio');
      pc.addTransceiver('video');
      pc.createDataChannel('chat');
    }),
    chromium_tracks_datachannel: await offer(async (pc) => {
      for (const t of stream.getTracks()) pc.addTrack(t, stream);
      pc.createDataChannel('chat');
    }),
    chromium_simulcast: await offer(async (pc) => {
      pc.addTransceiver(audio, { direction: 'sendonly', streams: [stream] });
      pc.addTransceiver(video, {
        direction: 'sendonly',
        streams: [stream],
        sendEncodings: [
          { rid: 'f' },
          { rid: 'h', scaleResolutionDownBy: 2 },
          { rid: 'q', scaleResolutionDownBy: 4 },
        ],
      });
    }),
    chromium_recvonly: await offer(async (pc) => {
      pc.addTransceiver('audio', { direction: 'recvonly' });
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('video', { direction: 'recvonly' });
    }),
  };
})()
"#;

#[tokio::test]
#[ignore = "rewrites tests/fixtures/sdp from the local Chromium"]
async fn capture_chromium_offers() {
    let browser = chromium::Browser::launch().await.expect("launch chromium");
    let offers = browser.eval(CAPTURE_JS).await.expect("capture offers");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sdp");
    for (name, sdp) in offers.as_object().expect("offers object") {
        let sdp = sdp.as_str().expect("sdp string");
        std::fs::write(dir.join(format!("{name}.sdp")), sdp).expect("write fixture");
    }
}
