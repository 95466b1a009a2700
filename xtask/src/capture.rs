//! `cargo xtask capture-sdp-fixtures`: rewrites the Chromium offers under `tests/fixtures/sdp/`
//! from the local Chromium, through the same driver the browser tests use. The offers carry
//! random ids and fingerprints, so a new capture differs from the checked-in one even when
//! nothing that matters changed: run it when a newer Chromium's offers are wanted.

use std::path::{Path, PathBuf};

// The tests' Chromium driver, of which capturing needs only a part.
#[allow(dead_code)]
#[path = "../../tests/support/chromium.rs"]
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

/// Captures the offers and writes them under `root/tests/fixtures/sdp`; returns the files
/// written.
pub fn run(root: &Path) -> Result<Vec<PathBuf>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    let offers = runtime
        .block_on(async {
            let browser = chromium::Browser::launch().await?;
            browser.eval(CAPTURE_JS).await
        })
        .map_err(|e| {
            format!(
                "capturing offers from {}: {e}",
                chromium::chromium().display()
            )
        })?;
    let offers = offers
        .as_object()
        .ok_or_else(|| format!("the page returned {offers} instead of an object of offers"))?;
    let dir = root.join("tests/fixtures/sdp");
    let mut written = Vec::new();
    for (name, sdp) in offers {
        let sdp = sdp
            .as_str()
            .filter(|s| s.starts_with("v=0"))
            .ok_or_else(|| format!("{name}: not an SDP offer: {sdp}"))?;
        let path = dir.join(format!("{name}.sdp"));
        std::fs::write(&path, sdp).map_err(|e| format!("writing {}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}
