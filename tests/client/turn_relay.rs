//! The emulator's TURN relay (emulator/src/rtc/relay.rs) accepts exactly the credentials its
//! TURN API mints, through the crate's `client.turn()`: webrtc-rs's TURN client allocates and
//! relays with them and is refused once they are revoked or expired, and headless Chromium
//! with `iceTransportPolicy: "relay"` reaches the emulator's SFU only through the relay, with
//! media both ways.

#![cfg(feature = "peer")]

use crate::support::chromium;
use crate::support::turn::{client, only_turn};

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use calls_emulator::Emulator;
use cloudflare_calls::peer::{FrameCodec, TestPattern};
use cloudflare_calls::turn::IceServers;
use cloudflare_calls::{LocalTrack, Offer, RemoteTrack};
use serde_json::Value;
use tokio::net::UdpSocket;
use webrtc_util::Conn;

/// A minted TURN credential and the `host:port` of its `turn:` URL.
struct Minted {
    server: String,
    username: String,
    password: String,
}

fn minted(servers: &IceServers) -> Minted {
    let turn = servers
        .iter()
        .find(|s| s.username.is_some())
        .expect("an ICE server with credentials");
    let url = turn
        .urls
        .iter()
        .find(|u| u.starts_with("turn:") && u.ends_with("?transport=udp"))
        .expect("a turn: URL over UDP");
    let server = url["turn:".len()..url.len() - "?transport=udp".len()].to_string();
    Minted {
        server,
        username: turn.username.clone().unwrap(),
        password: turn.credential.as_ref().unwrap().expose().to_string(),
    }
}

/// A TURN client on its own loopback socket, allocated on the relay with `username` and
/// `password`: the client (kept for the allocation's refreshes) and the relayed socket.
async fn allocate(
    server: &str,
    username: &str,
    password: &str,
) -> Result<(turn::client::Client, impl Conn), turn::Error> {
    let conn = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
    let client = turn::client::Client::new(turn::client::ClientConfig {
        stun_serv_addr: server.to_string(),
        turn_serv_addr: server.to_string(),
        username: username.to_string(),
        password: password.to_string(),
        realm: String::new(),
        software: String::new(),
        rto_in_ms: 0,
        conn,
        vnet: None,
    })
    .await?;
    client.listen().await?;
    let relayed = client.allocate().await?;
    Ok((client, relayed))
}

/// Sends `what` from `peer` to `relayed` and returns what arrives there, if it does within
/// half a second.
async fn through_relay(peer: &UdpSocket, relayed: &impl Conn, what: &[u8]) -> Option<Vec<u8>> {
    let to = relayed.local_addr().ok()?;
    peer.send_to(what, to).await.ok()?;
    let mut buf = [0u8; 1500];
    let (n, from) = tokio::time::timeout(Duration::from_millis(500), relayed.recv_from(&mut buf))
        .await
        .ok()?
        .ok()?;
    assert_eq!(from, peer.local_addr().unwrap());
    Some(buf[..n].to_vec())
}

#[tokio::test]
async fn minted_credentials_allocate_and_relay_until_revoked_or_expired() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let ice = client
        .turn()
        .generate_ice_servers(Duration::from_secs(600))
        .send()
        .await
        .unwrap();
    let a = minted(&ice);
    assert!(a.server.starts_with("127.0.0.1:"), "{}", a.server);
    // The stun: URL names the same server, which answers Binding requests without
    // credentials.
    assert_eq!(ice[0].urls, [format!("stun:{}", a.server)]);

    // Allocate with the minted credential, then relay both ways: out to a peer socket (the
    // client creates the permission) and back from it.
    let (a_client, relayed) = allocate(&a.server, &a.username, &a.password)
        .await
        .expect("the relay accepts a minted credential");
    let relay_addr = relayed.local_addr().unwrap();
    assert_eq!(relay_addr.ip().to_string(), "127.0.0.1");
    assert_ne!(relay_addr.to_string(), a.server, "a port of its own");
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let peer_addr: SocketAddr = peer.local_addr().unwrap();
    relayed.send_to(b"out", peer_addr).await.unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = tokio::time::timeout(Duration::from_secs(2), peer.recv_from(&mut buf))
        .await
        .expect("the relay forwards to the peer")
        .unwrap();
    assert_eq!((&buf[..n], from), (&b"out"[..], relay_addr));
    assert_eq!(
        through_relay(&peer, &relayed, b"back").await.as_deref(),
        Some(&b"back"[..]),
        "the relay forwards the peer's reply"
    );

    // Wrong passwords and unknown usernames are refused with 401 (RFC 8489 section 9.2.4).
    let refused = |r: Result<_, turn::Error>| match r {
        Err(e) => {
            assert!(e.to_string().contains("401"), "refused with {e}, not 401");
            true
        }
        Ok(_) => false,
    };
    assert!(refused(allocate(&a.server, &a.username, "wrong").await));
    assert!(refused(
        allocate(&a.server, "0123456789abcdef0123456789abcdef", &a.password).await
    ));

    // The other endpoint's credentials work too, and outlive the revocation of another one.
    let b = client
        .turn()
        .generate_credentials(Duration::from_secs(600))
        .await
        .unwrap();
    let b_password = b.credential.expose().to_string();

    // Revoked: the allocation is gone when the call returns, and a new one is refused.
    client.turn().revoke(&a.username).await.unwrap();
    assert_eq!(
        through_relay(&peer, &relayed, b"after revoke").await,
        None,
        "a revoked credential's allocation relays nothing"
    );
    assert!(refused(allocate(&a.server, &a.username, &a.password).await));
    let (_b_client, b_relayed) = allocate(&a.server, &b.username, &b_password)
        .await
        .expect("another credential is still accepted");
    assert!(b_relayed.local_addr().is_ok());

    // Expired: accepted within its one-second TTL, refused after it.
    let c = client
        .turn()
        .generate_credentials(Duration::from_secs(1))
        .await
        .unwrap();
    let c_password = c.credential.expose().to_string();
    let (c_client, _) = allocate(&a.server, &c.username, &c_password)
        .await
        .expect("accepted before the TTL passes");
    c_client.close().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(refused(allocate(&a.server, &c.username, &c_password).await));
    a_client.close().await.unwrap();
}

const FLAGS: &[&str] = &[
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
];

/// Makes `window.pc` on relay-only ICE with `ICE` (the minted servers), sends the fake
/// camera and microphone, and returns the offer once gathering is complete.
const PUBLISH: &str = r#"(async (iceServers) => {
  const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: 'relay' });
  window.pc = pc;
  const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240 } });
  const mic = pc.addTransceiver(media.getAudioTracks()[0], { direction: 'sendonly' });
  const cam = pc.addTransceiver(media.getVideoTracks()[0], { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  return { sdp: pc.localDescription.sdp, mic: mic.mid, cam: cam.mid };
})(ICE)"#;

/// Defines `gathered(pc)`, which resolves once ICE gathering is complete.
const GATHERED: &str = r#"window.gathered = (pc) => new Promise((resolve) => {
  if (pc.iceGatheringState === 'complete') return resolve();
  pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(); });
}); true"#;

/// The selected candidate pair's local and remote candidate types and the RTP packet counts.
const SELECTED: &str = r#"(async () => {
  const stats = await pc.getStats();
  let pair = null;
  stats.forEach((s) => { if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId); });
  const n = { sent: 0, received: 0 };
  stats.forEach((s) => {
    if (s.type === 'outbound-rtp') n.sent += s.packetsSent;
    if (s.type === 'inbound-rtp') n.received += s.packetsReceived;
  });
  const local = pair && stats.get(pair.localCandidateId);
  const remote = pair && stats.get(pair.remoteCandidateId);
  return {
    local: local ? local.candidateType : null,
    relayProtocol: local ? local.relayProtocol || null : null,
    remote: remote ? remote.candidateType : null,
    sent: n.sent,
    received: n.received,
  };
})()"#;

async fn wait_in_page(browser: &chromium::Browser, condition: &str, what: &str) {
    for _ in 0..300 {
        if browser.eval(condition).await.unwrap() == Value::Bool(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stats = browser.eval(SELECTED).await.unwrap_or_default();
    panic!("{what}: not reached in the browser within 15 s; {stats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_reaches_the_sfu_only_through_the_relay() {
    relayed("udp").await;
}

/// As behind a firewall that lets no UDP through: the page has only the `turn:` URL over TCP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_reaches_the_sfu_only_through_the_relay_over_tcp() {
    relayed("tcp").await;
}

/// Chromium with relay-only ICE, given only the minted `turn:` URL over `protocol`, sends to
/// and receives from the SFU through the emulator's relay.
async fn relayed(protocol: &str) {
    if chromium::skip_without_chromium() {
        return;
    }
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let ice = client
        .turn()
        .generate_ice_servers(Duration::from_secs(600))
        .drop_port_53(true)
        .send()
        .await
        .unwrap();
    // Only the turn: URL over `protocol`.
    let ice_json = only_turn(&ice, protocol);
    let ice_json = ice_json.to_string();
    let browser = chromium::Browser::launch_with(FLAGS).await.unwrap();
    // A page on http://127.0.0.1 is a secure context, which getUserMedia needs.
    browser
        .goto(&format!("{}/__emulator/faults", emulator.base_url()))
        .await
        .unwrap();
    browser.eval(GATHERED).await.unwrap();

    // Revoked credentials: Chromium gathers no relay candidate, so there is none at all.
    let revoked = client
        .turn()
        .generate_ice_servers(Duration::from_secs(600))
        .send()
        .await
        .unwrap();
    client
        .turn()
        .revoke(&minted(&revoked).username)
        .await
        .unwrap();
    let revoked_sdp = browser
        .eval(&format!(
            "(async (iceServers) => {{ const pc = new RTCPeerConnection({{ iceServers, iceTransportPolicy: 'relay' }}); \
             pc.addTransceiver('audio'); await pc.setLocalDescription(await pc.createOffer()); \
             await gathered(pc); const sdp = pc.localDescription.sdp; pc.close(); return sdp; }})({})",
            serde_json::to_string(&revoked).unwrap()
        ))
        .await
        .unwrap();
    assert!(
        !revoked_sdp.as_str().unwrap().contains("a=candidate"),
        "{revoked_sdp}"
    );

    // The minted credentials: the offer's only candidates are relayed ones.
    let page = browser
        .eval(&PUBLISH.replace("(ICE)", &format!("({ice_json})")))
        .await
        .unwrap();
    let sdp = page["sdp"].as_str().unwrap();
    let candidates: Vec<_> = sdp
        .lines()
        .filter(|l| l.starts_with("a=candidate"))
        .collect();
    assert!(!candidates.is_empty(), "{sdp}");
    assert!(
        candidates.iter().all(|c| c.contains(" typ relay")),
        "{candidates:?}"
    );

    // Publish the fake camera and microphone through the crate, as a backend would.
    let publisher = client.new_session().send().await.unwrap();
    let pushed = publisher
        .add_tracks()
        .offer(Offer::new(sdp))
        .push(LocalTrack::new(page["mic"].as_str().unwrap(), "mic"))
        .push(LocalTrack::new(page["cam"].as_str().unwrap(), "cam"))
        .send()
        .await
        .unwrap();
    assert!(pushed.failed.is_empty(), "{:?}", pushed.failed);
    let answer = pushed.negotiation.answer().expect("an answer");
    browser
        .eval(&format!(
            "pc.setRemoteDescription({{type: 'answer', sdp: {}}}).then(() => true)",
            serde_json::to_string(answer.sdp()).unwrap()
        ))
        .await
        .unwrap();
    wait_in_page(
        &browser,
        "pc.connectionState === 'connected'",
        "the page connected",
    )
    .await;
    let selected = browser.eval(SELECTED).await.unwrap();
    assert_eq!(selected["local"], "relay", "{selected}");
    assert_eq!(selected["relayProtocol"], protocol, "{selected}");

    // The crate's peer (host candidates, no relay) pulls what the page sends via the relay.
    let peer = client.peer().connect().await.unwrap();
    for name in ["mic", "cam"] {
        let mut track = peer
            .pull(RemoteTrack::new(publisher.id(), name))
            .await
            .unwrap();
        for _ in 0..10 {
            let frame = tokio::time::timeout(Duration::from_secs(10), track.recv())
                .await
                .unwrap_or_else(|_| panic!("a {name} frame from Chromium within 10 s"))
                .expect("the track is open");
            assert!(!frame.payload.is_empty());
        }
    }

    // And back: the page pulls the peer's test pattern, which arrives through the relay.
    let camera = peer.push_track("pattern", FrameCodec::H264).await.unwrap();
    let pattern = {
        let camera = camera.clone();
        let mut pattern = TestPattern::new(128, 96).unwrap();
        tokio::spawn(async move {
            camera
                .send_test_pattern(
                    &mut pattern,
                    Duration::from_millis(66),
                    Duration::from_secs(30),
                )
                .await
        })
    };
    let pulled = publisher
        .add_tracks()
        .pull(RemoteTrack::new(peer.session().id(), "pattern"))
        .send()
        .await
        .unwrap();
    assert!(pulled.failed.is_empty(), "{:?}", pulled.failed);
    let pending = pulled.negotiation.into_pending().expect("an SFU offer");
    let answer = browser
        .eval(&format!(
            "(async () => {{ await pc.setRemoteDescription({{type: 'offer', sdp: {}}}); \
             await pc.setLocalDescription(await pc.createAnswer()); return pc.localDescription.sdp; }})()",
            serde_json::to_string(pending.offer().sdp()).unwrap()
        ))
        .await
        .unwrap();
    pending
        .answer(cloudflare_calls::Answer::new(answer.as_str().unwrap()))
        .await
        .unwrap();
    let before = browser.eval(SELECTED).await.unwrap();
    wait_in_page(
        &browser,
        &format!(
            "(async () => {{ const s = await ({SELECTED}); return s.local === 'relay' && \
             s.sent >= {} + 50 && s.received >= {} + 50; }})()",
            before["sent"], before["received"]
        ),
        "RTP flows both ways on the relayed pair",
    )
    .await;
    pattern.abort();
    peer.close().await.unwrap();
}
