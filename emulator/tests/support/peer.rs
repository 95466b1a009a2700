//! A str0m WebRTC endpoint for the emulator's tests: answers the SFU's offers, connects over
//! loopback UDP, sends frames and channel messages, and records what it receives. (The
//! emulator cannot depend on the crate, whose own tests use the crate's `Peer`.)

#![allow(dead_code)] // Each test binary uses a different subset.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::change::SdpOffer;
use str0m::channel::{ChannelConfig, ChannelId};
use str0m::format::Codec;
use str0m::media::{MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;

pub struct Peer {
    pub rtc: Rtc,
    sock: UdpSocket,
    /// The UDP address the peer's host candidate uses.
    pub local: SocketAddr,
    pub connected: bool,
    /// Media frames received, by mid.
    pub frames: HashMap<String, usize>,
    /// Last byte of each received frame, by mid (tests tag frames with it).
    pub tags: HashMap<String, Vec<u8>>,
    /// Channels that opened.
    pub open: Vec<ChannelId>,
    /// Messages received, by channel.
    pub messages: Vec<(ChannelId, Vec<u8>)>,
    /// Mids the remote side asked a keyframe for.
    pub keyframe_requests: Vec<String>,
}

impl Peer {
    pub async fn new() -> Self {
        Self::with(Rtc::builder()).await
    }

    async fn with(config: str0m::RtcConfig) -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let local = sock.local_addr().unwrap();
        let crypto = Arc::new(str0m::crypto::from_feature_flags());
        let mut rtc = config.set_crypto_provider(crypto).build(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
        Self {
            rtc,
            sock,
            local,
            connected: false,
            frames: HashMap::new(),
            tags: HashMap::new(),
            open: Vec::new(),
            messages: Vec::new(),
            keyframe_requests: Vec::new(),
        }
    }

    /// Accepts the SFU's offer and returns the answer's SDP.
    pub fn answer(&mut self, offer_sdp: &str) -> String {
        let offer = SdpOffer::from_sdp_string(offer_sdp).expect("the SFU's offer parses");
        self.rtc
            .sdp_api()
            .accept_offer(offer)
            .expect("the SFU's offer is acceptable")
            .to_sdp_string()
    }

    /// Opens the negotiated data channel the SFU allocated `id` for.
    pub fn channel(&mut self, id: u16, label: &str) -> ChannelId {
        let config = ChannelConfig {
            label: label.into(),
            negotiated: Some(id),
            ..Default::default()
        };
        self.rtc.direct_api().create_data_channel(config)
    }

    /// Sends a text message; false while the channel is not open yet.
    pub fn send_text(&mut self, channel: ChannelId, text: &str) -> bool {
        self.rtc
            .channel(channel)
            .is_some_and(|mut c| c.write(false, text.as_bytes()).unwrap_or(false))
    }

    /// Sends frame number `n` of a pushed track.
    pub fn send_frame(&mut self, mid: Mid, codec: Codec, n: u64, payload: &[u8]) {
        let writer = self.rtc.writer(mid).expect("writer for a pushed mid");
        let pt = writer
            .payload_params()
            .find(|p| p.spec().codec == codec)
            .expect("codec negotiated")
            .pt();
        let (step, rate) = match codec {
            Codec::Opus => (960, str0m::media::Frequency::FORTY_EIGHT_KHZ),
            _ => (3000, str0m::media::Frequency::NINETY_KHZ),
        };
        writer
            .write(
                pt,
                Instant::now(),
                MediaTime::new(n * step, rate),
                payload.to_vec(),
            )
            .unwrap();
    }

    /// Runs the peer for `duration`, recording what arrives.
    pub async fn pump(&mut self, duration: Duration) {
        let end = Instant::now() + duration;
        let mut buf = vec![0u8; 2048];
        loop {
            let next = loop {
                match self.rtc.poll_output().expect("the peer keeps working") {
                    Output::Timeout(t) => break t,
                    Output::Transmit(t) => {
                        let _ = self.sock.try_send_to(&t.contents, t.destination);
                    }
                    Output::Event(e) => self.event(e),
                }
            };
            let now = Instant::now();
            if now >= end {
                return;
            }
            let wait = next
                .min(end)
                .saturating_duration_since(now)
                .max(Duration::from_millis(1));
            let input = match tokio::time::timeout(wait, self.sock.recv_from(&mut buf)).await {
                Ok(Ok((n, source))) => Input::Receive(
                    Instant::now(),
                    Receive {
                        proto: Protocol::Udp,
                        source,
                        destination: self.local,
                        contents: buf[..n].try_into().expect("a datagram fits"),
                    },
                ),
                _ => Input::Timeout(Instant::now()),
            };
            self.rtc.handle_input(input).expect("input accepted");
        }
    }

    /// Pumps until `done` holds; panics with `what` after `limit`.
    pub async fn until(&mut self, limit: Duration, what: &str, done: impl Fn(&Peer) -> bool) {
        let end = Instant::now() + limit;
        while !done(self) {
            assert!(Instant::now() < end, "{what}: not reached within {limit:?}");
            self.pump(Duration::from_millis(20)).await;
        }
    }

    fn event(&mut self, e: Event) {
        match e {
            Event::Connected => self.connected = true,
            Event::MediaData(d) => {
                *self.frames.entry(d.mid.to_string()).or_default() += 1;
                let tag = d.data.last().copied().unwrap_or_default();
                self.tags.entry(d.mid.to_string()).or_default().push(tag);
            }
            Event::ChannelOpen(id, _) => self.open.push(id),
            Event::ChannelData(d) => self.messages.push((d.id, d.data)),
            Event::KeyframeRequest(r) => self.keyframe_requests.push(r.mid.to_string()),
            _ => {}
        }
    }
}
