//! The one task per peer that owns the sans-IO str0m `Rtc`: it feeds it datagrams, timers and
//! the handle's commands, and routes what comes out (datagrams, state, messages, frames).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::metrics;
use bytes::Bytes;
use str0m::change::SdpOffer;
use str0m::channel::{ChannelConfig, ChannelId};
use str0m::format::Codec;
use str0m::media::{KeyframeRequestKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Event, IceConnectionState, Input, Output, Rtc, RtcError};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};

use super::connection_state::ConnectionState;
use super::error::PeerError;
use super::frame::{Frame, FrameCodec};
use super::message::{Inbox, Message};

/// How long the connection may stay disconnected before the peer gives up on it.
const DISCONNECTED_LIMIT: Duration = Duration::from_secs(10);
/// Datagrams read per wake-up beyond the first.
const BATCH: usize = 64;

type Reply<T = ()> = oneshot::Sender<Result<T, PeerError>>;

/// What the handle asks of the driver.
pub(super) enum Cmd {
    /// Apply the SFU's offer; reply with the answer's SDP.
    Accept { offer: String, reply: Reply<String> },
    /// Open the negotiated channel with this SCTP stream id; reply once it is open.
    OpenChannel {
        config: ChannelConfig,
        inbox: Option<Inbox>,
        reply: Reply,
    },
    /// Write a message; reply once SCTP buffered it.
    Send {
        id: u16,
        binary: bool,
        data: Vec<u8>,
        reply: Reply,
    },
    /// Start timing frames for a pushed track.
    PushTrack {
        mid: String,
        name: Arc<str>,
        codec: FrameCodec,
        keyframe_requests: Arc<AtomicU64>,
    },
    /// Write one encoded frame of a pushed track.
    Frame {
        mid: String,
        payload: Vec<u8>,
        duration: Duration,
        reply: Reply,
    },
    /// Route a pulled track's frames to a stream.
    PullTrack {
        mid: String,
        name: Arc<str>,
        tx: mpsc::Sender<Frame>,
        dropped: Arc<AtomicU64>,
        /// When the pull was asked for: its first frame's wait is measured from here.
        requested: Instant,
    },
    /// Ask for a keyframe of a pulled track.
    Keyframe { mid: String, reply: Reply },
}

struct Channel {
    cid: ChannelId,
    label: String,
    open: bool,
    waiting: Vec<Reply>,
    inbox: Option<Inbox>,
    /// Writes SCTP had no room for yet, in order; each completes when written.
    queue: VecDeque<(bool, Vec<u8>, Reply)>,
}

struct Outgoing {
    name: Arc<str>,
    codec: FrameCodec,
    /// RTP time of the next frame, in the codec's clock.
    next: u64,
    keyframe_requests: Arc<AtomicU64>,
}

struct Incoming {
    name: Arc<str>,
    tx: mpsc::Sender<Frame>,
    dropped: Arc<AtomicU64>,
    /// Until the first frame: when the pull was asked for.
    waiting_since: Option<Instant>,
}

pub(super) struct Driver {
    /// Boxed: an `Rtc` is large, and moved by value it would be copied into the frames
    /// that build the driver and its task.
    pub(super) rtc: Box<Rtc>,
    /// The host candidate: where the SFU sends, and the destination of what arrives.
    pub(super) local: SocketAddr,
    pub(super) state: watch::Sender<ConnectionState>,
    channels: HashMap<u16, Channel>,
    outgoing: HashMap<String, Outgoing>,
    incoming: HashMap<String, Incoming>,
    disconnected_since: Option<Instant>,
    /// Whether this peer counts in `calls_peers_connected`.
    counted: bool,
}

impl Driver {
    pub(super) fn new(
        rtc: Box<Rtc>,
        local: SocketAddr,
        state: watch::Sender<ConnectionState>,
    ) -> Self {
        Self {
            rtc,
            local,
            state,
            channels: HashMap::new(),
            outgoing: HashMap::new(),
            incoming: HashMap::new(),
            disconnected_since: None,
            counted: false,
        }
    }

    /// Publishes the connection state, and keeps `calls_peers_connected` in step.
    fn set_state(&mut self, state: ConnectionState) {
        let connected = state == ConnectionState::Connected;
        if connected != self.counted {
            let delta = if connected { 1.0 } else { -1.0 };
            metrics::gauge(metrics::PEERS_CONNECTED, &[], delta);
            self.counted = connected;
        }
        self.state.send_replace(state);
    }

    /// Runs until the handle goes away, the connection fails, or str0m gives up.
    pub(super) async fn run(
        mut self,
        socket: UdpSocket,
        mut cmds: mpsc::Receiver<Cmd>,
        mut stop: oneshot::Receiver<()>,
    ) {
        let mut buf = vec![0u8; 2048];
        loop {
            self.flush();
            let Some(deadline) = self.drain(&socket) else {
                break;
            };
            if self.failed() {
                break;
            }
            tokio::select! {
                // Sent by close(); an error means the handle was dropped: stop either way.
                _ = &mut stop => break,
                cmd = cmds.recv() => match cmd {
                    Some(cmd) => {
                        self.command(cmd);
                        // A change (an accepted offer above all) can start work that str0m
                        // only schedules on its next timeout: without this tick, ICE checks
                        // began up to a second late.
                        self.input(Input::Timeout(Instant::now()));
                    }
                    // Every handle is gone: nothing can use the peer any more.
                    None => break,
                },
                got = socket.recv_from(&mut buf) => {
                    if let Ok((n, source)) = got {
                        self.receive(source, &buf[..n]);
                        // Take what else is queued in the same wake-up: a burst is read
                        // at the pace it arrives, not one datagram per scheduling round.
                        for _ in 0..BATCH {
                            if self.drain(&socket).is_none() {
                                break;
                            }
                            let Ok((n, source)) = socket.try_recv_from(&mut buf) else {
                                break;
                            };
                            self.receive(source, &buf[..n]);
                        }
                    }
                }
                _ = tokio::time::sleep_until(deadline.into()) => {
                    self.input(Input::Timeout(Instant::now()));
                }
            }
        }
        self.rtc.disconnect();
        self.end();
    }

    /// Fails everything still waiting and publishes the final state.
    fn end(&mut self) {
        for (_, c) in self.channels.drain() {
            let name = c.label;
            for w in c.waiting {
                let _ = w.send(Err(PeerError::ChannelClosed(name.clone())));
            }
            for (_, _, r) in c.queue {
                let _ = r.send(Err(PeerError::ChannelClosed(name.clone())));
            }
        }
        if self.counted {
            metrics::gauge(metrics::PEERS_CONNECTED, &[], -1.0);
            self.counted = false;
        }
        self.state.send_if_modified(|s| {
            if *s == ConnectionState::Failed {
                return false;
            }
            *s = ConnectionState::Closed;
            true
        });
    }

    fn failed(&mut self) -> bool {
        let lost = self
            .disconnected_since
            .is_some_and(|t| t.elapsed() >= DISCONNECTED_LIMIT);
        if lost {
            tracing::warn!("connection to the SFU lost for {DISCONNECTED_LIMIT:?}; giving up");
            self.set_state(ConnectionState::Failed);
        }
        lost
    }

    fn input(&mut self, input: Input) {
        if let Err(e) = self.rtc.handle_input(input) {
            tracing::debug!(error = %e, "str0m refused input");
        }
    }

    fn receive(&mut self, source: SocketAddr, bytes: &[u8]) {
        let Ok(contents) = bytes.try_into() else {
            return;
        };
        let receive = Receive {
            proto: Protocol::Udp,
            source,
            destination: self.local,
            contents,
        };
        self.input(Input::Receive(Instant::now(), receive));
    }

    /// Polls str0m until it asks to be woken later; `None` once it is dead.
    fn drain(&mut self, socket: &UdpSocket) -> Option<Instant> {
        loop {
            if !self.rtc.is_alive() {
                return None;
            }
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    // A disconnected peer must wake up to notice it stayed disconnected. A
                    // connected one sleeps until str0m needs it: an idle peer wakes every 3 s
                    // instead of every second, which was most of what idle rooms cost.
                    if self.disconnected_since.is_some() {
                        let cap = Instant::now() + Duration::from_secs(1);
                        return Some(t.min(cap));
                    }
                    return Some(t);
                }
                Ok(Output::Transmit(t)) => {
                    let _ = socket.try_send_to(&t.contents, t.destination);
                }
                Ok(Output::Event(e)) => self.event(e),
                // A frame of a pulled track that does not depacketize is dropped; the
                // connection and the track's later frames are fine.
                Err(RtcError::Packet(mid, pt, e)) => {
                    tracing::debug!(%mid, %pt, error = %e, "dropped a frame that does not depacketize");
                    metrics::count_static(&metrics::DROPPED_MALFORMED, 1);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "str0m failed");
                    self.set_state(ConnectionState::Failed);
                    return None;
                }
            }
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Connected => {
                tracing::debug!("connected");
                self.set_state(ConnectionState::Connected);
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                tracing::debug!("disconnected");
                self.disconnected_since.get_or_insert_with(Instant::now);
                self.set_state(ConnectionState::Disconnected);
            }
            Event::IceConnectionStateChange(
                IceConnectionState::Connected | IceConnectionState::Completed,
            ) if self.disconnected_since.take().is_some() => {
                self.set_state(ConnectionState::Connected);
            }
            Event::ChannelOpen(cid, _) => {
                if let Some(c) = self.channel_mut(cid) {
                    c.open = true;
                    for w in c.waiting.drain(..) {
                        let _ = w.send(Ok(()));
                    }
                }
            }
            Event::ChannelClose(cid) => {
                let id = self
                    .channels
                    .iter()
                    .find(|(_, c)| c.cid == cid)
                    .map(|(i, _)| *i);
                if let Some(c) = id.and_then(|id| self.channels.remove(&id)) {
                    for w in c.waiting {
                        let _ = w.send(Err(PeerError::ChannelClosed(c.label.clone())));
                    }
                    for (_, _, r) in c.queue {
                        let _ = r.send(Err(PeerError::ChannelClosed(c.label.clone())));
                    }
                }
            }
            Event::ChannelData(d) => {
                let message = if d.binary {
                    Message::Binary(Bytes::from(d.data))
                } else {
                    match String::from_utf8(d.data) {
                        Ok(text) => Message::Text(text),
                        Err(e) => Message::Binary(Bytes::from(e.into_bytes())),
                    }
                };
                metrics::count_static(&metrics::MESSAGES_IN, 1);
                if let Some(c) = self.channel_mut(d.id) {
                    deliver(c, message);
                }
            }
            Event::MediaData(d) => {
                let mid = d.mid.to_string();
                let Some(track) = self.incoming.get_mut(&mid) else {
                    return;
                };
                if let Some(since) = track.waiting_since.take() {
                    metrics::observe(metrics::PEER_FIRST_FRAME, &[], since.elapsed());
                }
                let frame = Frame {
                    track: track.name.clone(),
                    timestamp: d.time.into(),
                    payload: Bytes::copy_from_slice(&d.data),
                };
                metrics::count_static(&metrics::FRAMES_IN, 1);
                match track.tx.try_send(frame) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        track.dropped.fetch_add(1, Ordering::Relaxed);
                        metrics::count_static(&metrics::DROPPED_BUFFER_FULL, 1);
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => {
                        self.incoming.remove(&mid);
                    }
                }
            }
            Event::KeyframeRequest(r) => {
                if let Some(t) = self.outgoing.get(&r.mid.to_string()) {
                    t.keyframe_requests.fetch_add(1, Ordering::Relaxed);
                }
            }
            _ => {}
        }
    }

    fn channel_mut(&mut self, cid: ChannelId) -> Option<&mut Channel> {
        self.channels.values_mut().find(|c| c.cid == cid)
    }

    fn command(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Accept { offer, reply } => {
                let _ = reply.send(self.accept(&offer));
            }
            Cmd::OpenChannel {
                config,
                inbox,
                reply,
            } => {
                let Some(id) = config.negotiated else {
                    let _ = reply.send(Err(PeerError::Rtc("channel without an id".into())));
                    return;
                };
                let label = config.label.clone();
                let cid = self.rtc.direct_api().create_data_channel(config);
                self.channels.insert(
                    id,
                    Channel {
                        cid,
                        label,
                        open: false,
                        waiting: vec![reply],
                        inbox,
                        queue: VecDeque::new(),
                    },
                );
            }
            Cmd::Send {
                id,
                binary,
                data,
                reply,
            } => match self.channels.get_mut(&id) {
                Some(c) => c.queue.push_back((binary, data, reply)),
                None => {
                    let _ = reply.send(Err(PeerError::ChannelClosed(format!("#{id}"))));
                }
            },
            Cmd::PushTrack {
                mid,
                name,
                codec,
                keyframe_requests,
            } => {
                self.outgoing.insert(
                    mid,
                    Outgoing {
                        name,
                        codec,
                        next: 0,
                        keyframe_requests,
                    },
                );
            }
            Cmd::Frame {
                mid,
                payload,
                duration,
                reply,
            } => {
                let _ = reply.send(self.write_frame(&mid, payload, duration));
            }
            Cmd::PullTrack {
                mid,
                name,
                tx,
                dropped,
                requested,
            } => {
                let incoming = Incoming {
                    name,
                    tx,
                    dropped,
                    waiting_since: Some(requested),
                };
                self.incoming.insert(mid, incoming);
            }
            Cmd::Keyframe { mid, reply } => {
                let result = match self.rtc.writer(Mid::from(mid.as_str())) {
                    Some(mut w) => w
                        .request_keyframe(None, KeyframeRequestKind::Pli)
                        .map_err(|e| PeerError::Rtc(e.to_string())),
                    None => Err(PeerError::Rtc(format!("no transceiver {mid}"))),
                };
                let _ = reply.send(result);
            }
        }
    }

    fn accept(&mut self, offer: &str) -> Result<String, PeerError> {
        // The parser's message may quote the offer, ICE password included: keep it out.
        let offer = SdpOffer::from_sdp_string(offer)
            .map_err(|_| PeerError::Sdp("the offer is not SDP the peer can parse".into()))?;
        let answer = self
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| PeerError::Sdp(e.to_string()))?;
        Ok(answer.to_sdp_string())
    }

    fn write_frame(
        &mut self,
        mid: &str,
        payload: Vec<u8>,
        duration: Duration,
    ) -> Result<(), PeerError> {
        let Some(track) = self.outgoing.get_mut(mid) else {
            return Err(PeerError::Closed);
        };
        let Some(writer) = self.rtc.writer(Mid::from(mid)) else {
            return Err(PeerError::Closed);
        };
        let codec = match track.codec {
            FrameCodec::Opus => Codec::Opus,
            FrameCodec::Vp8 => Codec::Vp8,
            FrameCodec::H264 => Codec::H264,
        };
        let found = writer
            .payload_params()
            .find(|p| p.spec().codec == codec)
            .map(|p| (p.pt(), p.spec().clock_rate));
        let Some((pt, clock)) = found else {
            return Err(PeerError::CodecNotNegotiated {
                track: track.name.to_string(),
                codec: track.codec.name(),
            });
        };
        let time = MediaTime::new(track.next, clock);
        let ticks = duration.as_micros() * u128::from(clock.get()) / 1_000_000;
        track.next = track
            .next
            .wrapping_add(u64::try_from(ticks).unwrap_or(u64::MAX));
        writer
            .write(pt, Instant::now(), time, payload)
            .map_err(|e| PeerError::Rtc(e.to_string()))?;
        metrics::count_static(&metrics::FRAMES_OUT, 1);
        Ok(())
    }

    /// Writes queued messages while SCTP has room, in order per channel.
    fn flush(&mut self) {
        for c in self.channels.values_mut() {
            if !c.open {
                continue;
            }
            while let Some((binary, data, _)) = c.queue.front() {
                let Some(mut ch) = self.rtc.channel(c.cid) else {
                    break;
                };
                match ch.write(*binary, data) {
                    Ok(true) => {
                        metrics::count_static(&metrics::MESSAGES_OUT, 1);
                        if let Some((_, _, r)) = c.queue.pop_front() {
                            let _ = r.send(Ok(()));
                        }
                    }
                    // No room: try again after the next input frees some.
                    Ok(false) => break,
                    Err(e) => {
                        if let Some((_, _, r)) = c.queue.pop_front() {
                            let _ = r.send(Err(PeerError::Rtc(e.to_string())));
                        }
                    }
                }
            }
        }
    }
}

/// Hands a message to a subscription, or counts it when its reader is too slow.
fn deliver(c: &mut Channel, message: Message) {
    let Some(inbox) = &mut c.inbox else {
        return;
    };
    let Some(tx) = &inbox.tx else {
        // Ended for lagging: keep counting what it misses.
        inbox.lag.missed.fetch_add(1, Ordering::Relaxed);
        metrics::count(metrics::PEER_SUBSCRIPTIONS_LAGGED, &[], 1);
        return;
    };
    match tx.try_send(message) {
        Ok(()) => {}
        Err(mpsc::error::TrySendError::Full(_)) => {
            inbox.lag.missed.fetch_add(1, Ordering::Relaxed);
            metrics::count(metrics::PEER_SUBSCRIPTIONS_LAGGED, &[], 1);
            if inbox.reliable {
                // Skipping a message of a reliable channel would be silent loss: end the
                // subscription instead; its stream reports `Lagged` after the buffered ones.
                tracing::warn!(channel = %c.label, "subscriber fell behind; ending its subscription");
                inbox.lag.ended.store(true, Ordering::Release);
                inbox.tx = None;
            }
        }
        Err(mpsc::error::TrySendError::Closed(_)) => c.inbox = None,
    }
}
