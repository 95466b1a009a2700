//! The task that owns one str0m `Rtc`: it feeds it UDP datagrams, timeouts and commands, and
//! forwards what comes out (media, keyframe requests, channel messages) along routes.

mod commands;

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::change::SdpPendingOffer;
use str0m::channel::ChannelId;
use str0m::media::{MediaData, Mid, Rid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc, RtcError};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::{Cmd, Conn, PeerConfig, PeerShared, Target};

/// Messages held for a `waitForAck` subscriber, bounded so a silent one cannot grow memory.
const MAX_HELD: usize = 256;
const HOUSEKEEPING: Duration = Duration::from_millis(200);

pub(super) fn start(
    cfg: &PeerConfig,
    ice_lite: bool,
    socket: UdpSocket,
    rx: mpsc::UnboundedReceiver<Cmd>,
    shared: Arc<PeerShared>,
) -> std::io::Result<()> {
    let bound = socket.local_addr()?;
    let local = SocketAddr::new(cfg.announce.unwrap_or(bound.ip()), bound.port());
    let mut rtc = Rtc::builder()
        .set_crypto_provider(cfg.crypto.clone())
        .set_dtls_cert(cfg.cert.clone())
        .set_ice_lite(ice_lite)
        .build(Instant::now());
    let candidate = Candidate::host(local, "udp")
        .map_err(|e| std::io::Error::other(format!("host candidate: {e}")))?;
    rtc.add_local_candidate(candidate);
    let peer = Peer {
        rtc,
        local,
        shared,
        idle_timeout: cfg.track_idle_timeout,
        silence_timeout: cfg.silence_timeout,
        heard: None,
        ack_timeout: cfg.wait_for_ack_timeout,
        pending: None,
        media_routes: HashMap::new(),
        sources: HashMap::new(),
        preferred_rid: HashMap::new(),
        stopped: HashSet::new(),
        watched: HashMap::new(),
        channels: HashMap::new(),
        channel_routes: HashMap::new(),
        replies: HashMap::new(),
        gated: HashMap::new(),
        outbox: HashMap::new(),
        partitioned_until: None,
    };
    tokio::spawn(peer.run(socket, rx));
    Ok(())
}

/// A data channel message: whether it is binary, and its bytes.
type Message = (bool, Arc<[u8]>);

struct Gate {
    deadline: Instant,
    held: Vec<(bool, Arc<[u8]>)>,
}

struct Peer {
    rtc: Rtc,
    local: SocketAddr,
    shared: Arc<PeerShared>,
    idle_timeout: Duration,
    silence_timeout: Duration,
    /// When the client was last heard from, once connected.
    heard: Option<Instant>,
    ack_timeout: Duration,
    pending: Option<SdpPendingOffer>,
    /// Pushed mid -> pulled mids on other peers.
    media_routes: HashMap<String, Vec<Target<String>>>,
    /// Pulled mid -> where it comes from (for keyframe requests).
    sources: HashMap<String, Target<String>>,
    preferred_rid: HashMap<String, Rid>,
    stopped: HashSet<String>,
    /// Pushed mid -> time of the last packet (or of the start of watching).
    watched: HashMap<String, Instant>,
    /// Our channel id (the SCTP stream id) <-> str0m's handle.
    channels: HashMap<u16, ChannelId>,
    /// Published channel id -> subscriber channels.
    channel_routes: HashMap<u16, Vec<Target<u16>>>,
    /// Subscribed channel id -> publisher channel, for `canReply`.
    replies: HashMap<u16, Target<u16>>,
    gated: HashMap<u16, Gate>,
    /// Messages per channel id that SCTP had no room for yet, in order.
    outbox: HashMap<u16, VecDeque<Message>>,
    /// Until then the network is down: nothing comes in or goes out ([`Cmd::Partition`]).
    partitioned_until: Option<Instant>,
}

impl Peer {
    async fn run(mut self, socket: UdpSocket, mut rx: mpsc::UnboundedReceiver<Cmd>) {
        let mut buf = vec![0u8; 2048];
        let mut tick = tokio::time::interval(HOUSEKEEPING);
        loop {
            // Queued messages first, so the packets they make leave in this drain.
            self.flush_outbox();
            let Some(deadline) = self.drain(&socket) else {
                break;
            };
            let sleep = tokio::time::sleep_until(deadline.into());
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(Cmd::Shutdown) | None => break,
                    Some(cmd) => self.command(cmd),
                },
                got = socket.recv_from(&mut buf) => {
                    // Commands queued before this datagram apply first: select! picks among
                    // ready branches at random, and a route the API added before answering a
                    // client must exist when the client's next message arrives.
                    if !self.apply_queued(&mut rx, &socket) {
                        break;
                    }
                    if let Ok((n, source)) = got {
                        self.receive(source, &buf[..n]);
                    }
                }
                _ = sleep => self.input(Input::Timeout(Instant::now())),
                _ = tick.tick() => self.housekeeping(),
            }
        }
        self.rtc.disconnect();
        self.shared.conn.send_replace(Conn::Closed);
    }

    /// Applies the commands waiting when the datagram was read (not those queued meanwhile,
    /// so a flood of forwarded media cannot hold the datagram back), each followed by what it
    /// makes str0m send, as the loop does; false once the peer is to stop.
    fn apply_queued(&mut self, rx: &mut mpsc::UnboundedReceiver<Cmd>, socket: &UdpSocket) -> bool {
        for _ in 0..rx.len() {
            match rx.try_recv() {
                Ok(Cmd::Shutdown) | Err(mpsc::error::TryRecvError::Disconnected) => return false,
                Ok(cmd) => {
                    self.command(cmd);
                    self.flush_outbox();
                    if self.drain(socket).is_none() {
                        return false;
                    }
                }
                Err(mpsc::error::TryRecvError::Empty) => break,
            }
        }
        true
    }

    fn input(&mut self, input: Input) {
        if self.rtc.handle_input(input).is_err() {
            self.rtc.disconnect();
        }
    }

    fn partitioned(&self) -> bool {
        self.partitioned_until.is_some_and(|t| Instant::now() < t)
    }

    fn receive(&mut self, source: SocketAddr, bytes: &[u8]) {
        let Ok(contents) = bytes.try_into() else {
            return;
        };
        if self.partitioned() {
            return;
        }
        if self.heard.is_some() {
            self.heard = Some(Instant::now());
        }
        let receive = Receive {
            proto: Protocol::Udp,
            source,
            destination: self.local,
            contents,
        };
        self.input(Input::Receive(Instant::now(), receive));
    }

    /// Polls str0m until it asks to be woken later; `None` once the peer is dead.
    fn drain(&mut self, socket: &UdpSocket) -> Option<Instant> {
        loop {
            if !self.rtc.is_alive() {
                return None;
            }
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => return Some(t),
                Ok(Output::Transmit(t)) if !self.partitioned() => {
                    let _ = socket.try_send_to(&t.contents, t.destination);
                }
                Ok(Output::Transmit(_)) => {}
                Ok(Output::Event(e)) => self.event(e),
                // One frame that does not depacketize (a client's malformed payload) is
                // dropped; the SFU forwards the rest, as Cloudflare's does.
                Err(RtcError::Packet(..)) => {}
                Err(_) => {
                    self.rtc.disconnect();
                    return None;
                }
            }
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Connected => {
                // Packets cannot flow before the connection, so idle clocks start here.
                let now = Instant::now();
                self.watched.values_mut().for_each(|seen| *seen = now);
                self.heard = Some(now);
                self.shared.conn.send_replace(Conn::Connected);
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                self.rtc.disconnect();
            }
            Event::MediaData(data) => self.forward_media(data),
            Event::KeyframeRequest(req) => {
                if let Some(src) = self.sources.get(&req.mid.to_string()) {
                    let cmd = Cmd::Keyframe {
                        mid_in: src.id.clone(),
                        kind: req.kind,
                    };
                    let _ = src.tx.send(cmd);
                }
            }
            Event::ChannelOpen(cid, _) => {
                if let Some(id) = self.channel_number(cid) {
                    lock(&self.shared.open_channels).insert(id);
                }
            }
            Event::ChannelClose(cid) => {
                if let Some(id) = self.channel_number(cid) {
                    lock(&self.shared.open_channels).remove(&id);
                }
            }
            Event::ChannelData(d) => {
                if let Some(id) = self.channel_number(d.id) {
                    self.forward_message(id, d.binary, d.data.into());
                }
            }
            _ => {}
        }
    }

    fn channel_number(&self, cid: ChannelId) -> Option<u16> {
        self.channels
            .iter()
            .find(|(_, c)| **c == cid)
            .map(|(id, _)| *id)
    }

    fn forward_media(&mut self, data: MediaData) {
        let mid = data.mid.to_string();
        if let Some(seen) = self.watched.get_mut(&mid) {
            *seen = Instant::now();
        }
        let Some(routes) = self.media_routes.get(&mid) else {
            return;
        };
        let data = Arc::new(data);
        for t in routes {
            let _ = t.tx.send(Cmd::Media {
                mid_out: t.id.clone(),
                data: data.clone(),
            });
        }
    }

    fn forward_message(&mut self, id: u16, binary: bool, data: Arc<[u8]>) {
        // A gated subscriber's first message is the acknowledgement; it is consumed.
        if let Some(gate) = self.gated.remove(&id) {
            for (b, m) in gate.held {
                self.write_channel(id, b, &m);
            }
            return;
        }
        if let Some(routes) = self.channel_routes.get(&id) {
            for t in routes {
                let cmd = Cmd::ChannelSend {
                    id: t.id,
                    binary,
                    data: data.clone(),
                };
                let _ = t.tx.send(cmd);
            }
        }
        if let Some(t) = self.replies.get(&id) {
            let _ = t.tx.send(Cmd::ChannelSend {
                id: t.id,
                binary,
                data,
            });
        }
    }

    /// Writes a message, or queues it behind the ones SCTP had no room for yet, so a fast
    /// publisher and a slow subscriber lose nothing and keep their order.
    fn write_channel(&mut self, id: u16, binary: bool, data: &[u8]) {
        if !self.channels.contains_key(&id) {
            return;
        }
        let queue = self.outbox.entry(id).or_default();
        queue.push_back((binary, data.into()));
        self.flush_channel(id);
    }

    /// Writes queued messages of channel `id` while SCTP takes them.
    fn flush_channel(&mut self, id: u16) {
        let Some(cid) = self.channels.get(&id).copied() else {
            return;
        };
        let Some(queue) = self.outbox.get_mut(&id) else {
            return;
        };
        while let Some((binary, data)) = queue.front() {
            let Some(mut ch) = self.rtc.channel(cid) else {
                return;
            };
            match ch.write(*binary, data) {
                Ok(true) => {
                    queue.pop_front();
                }
                // No room (or not open yet): try again once input has freed some.
                Ok(false) => return,
                Err(_) => {
                    queue.pop_front();
                }
            }
        }
    }

    fn flush_outbox(&mut self) {
        let waiting: Vec<u16> = self
            .outbox
            .iter()
            .filter(|(_, q)| !q.is_empty())
            .map(|(id, _)| *id)
            .collect();
        for id in waiting {
            self.flush_channel(id);
        }
    }

    fn housekeeping(&mut self) {
        let now = Instant::now();
        if self
            .heard
            .is_some_and(|heard| now.duration_since(heard) >= self.silence_timeout)
        {
            // The client is gone without a word (a closed laptop, a lost network).
            self.rtc.disconnect();
            return;
        }
        let idle: Vec<String> = self
            .watched
            .iter()
            .filter(|(_, seen)| now.duration_since(**seen) >= self.idle_timeout)
            .map(|(mid, _)| mid.clone())
            .collect();
        for mid in idle {
            self.watched.remove(&mid);
            self.media_routes.remove(&mid);
            lock(&self.shared.idle_mids).insert(mid);
        }
        let expired: Vec<u16> = self
            .gated
            .iter()
            .filter(|(_, g)| now >= g.deadline)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            self.gated.remove(&id);
            self.close_channel(id);
        }
    }

    fn close_channel(&mut self, id: u16) {
        if let Some(cid) = self.channels.remove(&id) {
            self.rtc.direct_api().close_data_channel(cid);
        }
        self.channel_routes.remove(&id);
        self.replies.remove(&id);
        self.gated.remove(&id);
        self.outbox.remove(&id);
        lock(&self.shared.open_channels).remove(&id);
    }

    fn write_media(&mut self, mid_out: &str, data: &MediaData) {
        if self.stopped.contains(mid_out) {
            return;
        }
        if let Some(rid) = data.rid {
            // Without a preference the first layer seen wins, so one layer reaches the subscriber.
            let want = *self.preferred_rid.entry(mid_out.to_string()).or_insert(rid);
            if want != rid {
                return;
            }
        }
        let Some(writer) = self.rtc.writer(Mid::from(mid_out)) else {
            return;
        };
        let Some(pt) = writer.match_params(data.params) else {
            return;
        };
        let _ = writer.write(pt, data.network_time, data.time, data.data.clone());
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
