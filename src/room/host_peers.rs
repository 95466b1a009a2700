//! The peers that carry the channels of the rooms one process hosts.
//!
//! A room's host needs a session on the SFU to publish its room channel from, and to read its
//! participants' channels with. A peer per room costs each room a WebRTC connection: its
//! socket, its ICE keepalives, its DTLS and SCTP state and timers, which at thousands of idle
//! rooms add up to most of the process's idle CPU. So the rooms of one process share peers,
//! up to [`ROOMS_PER_PEER`] on each; each room's channel has its own name
//! ([`room_channel`](super::room_channel)).
//!
//! Two limits of the service shape a shared peer:
//! - **Calls per second.** The SFU takes 50 calls a second on one session, and every room on
//!   the peer opens and closes channels on it (a join's participant channel, a leave's). So a
//!   peer's opens and closes are made in rounds: each round makes at most one close call and
//!   one open call (with its wait until the new channels are active), and a round starts at
//!   once while the peer's budget ([`CALLS_PER_SECOND`]) allows, later when it does not.
//!   However many rooms there are, the session stays under the limit; a quiet peer answers at
//!   once, and a busy one carries many channels in one call.
//! - **Channel numbers.** The SFU numbers a session's channels and, as far as the service
//!   tells, never reuses a number (the emulator does not): a session opens at most 65,534
//!   channels in its life, and its state lists each of them. A peer therefore takes no new
//!   room once it has opened [`CHANNELS_FOR_NEW_ROOMS`], and its rooms move to a new peer once
//!   it has opened [`CHANNELS_BEFORE_MOVING`] (as they do when it loses the SFU; see
//!   `node`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::error::Result;
use crate::client::Client;
use crate::peer::{self, ConnectionState, OpenedChannel, Peer, PeerError, Publisher, Subscription};
use crate::session::data_channels::DataChannel;

/// How many rooms one peer carries at most.
pub(crate) const ROOMS_PER_PEER: usize = 128;

/// A peer that has opened this many channels takes no new room.
const CHANNELS_FOR_NEW_ROOMS: u32 = 2_048;

/// A peer that has opened this many channels hands its rooms to a new one.
const CHANNELS_BEFORE_MOVING: u32 = 16_384;

/// The calls a peer makes on its session per second, and at most this many more at once:
/// together under the SFU's 50 in any second, with room for the calls others make on it (a
/// takeover closing its channels, say).
const CALLS_PER_SECOND: f64 = 35.0;
const BURST: f64 = 10.0;

/// What a round of opens costs: the call, and about two polls of the session's state.
const OPEN_COST: f64 = 3.0;

/// At most this many channels opened by one call.
const BATCH: usize = 64;

/// The peers of one process's hosts, with how many rooms each carries.
#[derive(Default)]
pub(crate) struct HostPeers {
    peers: tokio::sync::Mutex<Vec<(Arc<HostPeer>, usize)>>,
}

/// A peer that carries the channels of some of the rooms a process hosts.
pub(crate) struct HostPeer {
    peer: Peer,
    channels: AtomicU32,
    requests: mpsc::UnboundedSender<Request>,
}

enum Request {
    Open(DataChannel, oneshot::Sender<peer::Result<OpenedChannel>>),
    Close(Vec<DataChannel>, oneshot::Sender<peer::Result<()>>),
}

impl HostPeer {
    /// The peer's session id: what the room's record names as its host.
    pub(crate) fn session_id(&self) -> &str {
        self.peer.session().id()
    }

    /// Publishes a room's channel (see [`Peer::publish`]).
    pub(crate) async fn publish(&self, channel: DataChannel) -> peer::Result<Publisher> {
        match self.open(channel).await? {
            OpenedChannel::Published(publisher) => Ok(publisher),
            OpenedChannel::Subscribed(_) => Err(PeerError::Closed),
        }
    }

    /// Reads a participant's channel (see [`Peer::subscribe`]).
    pub(crate) async fn subscribe(&self, channel: DataChannel) -> peer::Result<Subscription> {
        match self.open(channel).await? {
            OpenedChannel::Subscribed(subscription) => Ok(subscription),
            OpenedChannel::Published(_) => Err(PeerError::Closed),
        }
    }

    /// Closes a room's channels, leaving the other rooms' open.
    pub(crate) async fn close_channels(&self, channels: Vec<DataChannel>) -> peer::Result<()> {
        let (reply, replied) = oneshot::channel();
        self.requests
            .send(Request::Close(channels, reply))
            .map_err(|_| PeerError::Closed)?;
        replied.await.map_err(|_| PeerError::Closed)?
    }

    async fn open(&self, channel: DataChannel) -> peer::Result<OpenedChannel> {
        self.channels.fetch_add(1, Ordering::Relaxed);
        let (reply, replied) = oneshot::channel();
        self.requests
            .send(Request::Open(channel, reply))
            .map_err(|_| PeerError::Closed)?;
        replied.await.map_err(|_| PeerError::Closed)?
    }

    /// Whether the peer's rooms are to move to another peer: it lost the SFU (ICE found it
    /// unreachable: its rooms' updates reach nobody, and waiting for the peer to give up
    /// would take another 10 s), or it was closed, or it has used up its channel numbers.
    pub(crate) fn must_move(&self) -> bool {
        self.peer.is_finished()
            || matches!(
                self.peer.state(),
                ConnectionState::Disconnected | ConnectionState::Failed | ConnectionState::Closed
            )
            || self.channels.load(Ordering::Relaxed) >= CHANNELS_BEFORE_MOVING
    }

    fn takes_rooms(&self) -> bool {
        self.peer.state() == ConnectionState::Connected
            && self.channels.load(Ordering::Relaxed) < CHANNELS_FOR_NEW_ROOMS
    }
}

/// Serves a peer's opens and closes in rounds (see the module docs). A call that fails as a
/// whole fails its first request; the others wait for the next round.
async fn serve(host: Weak<HostPeer>, mut requests: mpsc::UnboundedReceiver<Request>) {
    let mut pending: VecDeque<Request> = VecDeque::new();
    let mut budget = Budget::new();
    loop {
        if pending.is_empty() {
            match requests.recv().await {
                Some(request) => pending.push_back(request),
                None => return,
            }
        }
        while let Ok(request) = requests.try_recv() {
            pending.push_back(request);
        }
        let closes = pending.iter().any(|r| matches!(r, Request::Close(..)));
        let opens = pending.iter().any(|r| matches!(r, Request::Open(..)));
        let cost = f64::from(u8::from(closes)) + if opens { OPEN_COST } else { 0.0 };
        // What comes while the budget refills joins this round.
        if budget.spend(cost).await {
            while let Ok(request) = requests.try_recv() {
                pending.push_back(request);
            }
        }
        let Some(host) = host.upgrade() else {
            return;
        };
        let (mut closes, mut opens) = (Vec::new(), Vec::new());
        let mut later = VecDeque::new();
        for request in pending.drain(..) {
            match request {
                Request::Close(channels, reply) => closes.push((channels, reply)),
                Request::Open(channel, reply) if opens.len() < BATCH => {
                    opens.push((channel, reply));
                }
                open => later.push_back(open),
            }
        }
        if !closes.is_empty() {
            let channels = closes.iter().flat_map(|(c, _)| c.iter().cloned());
            match host.peer.close_channels(channels).await {
                Ok(()) => closes.into_iter().for_each(|(_, reply)| {
                    let _ = reply.send(Ok(()));
                }),
                Err(e) => {
                    let mut closes = closes.into_iter();
                    if let Some((_, first)) = closes.next() {
                        let _ = first.send(Err(e));
                    }
                    later.extend(closes.map(|(c, reply)| Request::Close(c, reply)));
                }
            }
        }
        if !opens.is_empty() {
            let channels = opens.iter().map(|(c, _)| c.clone()).collect();
            match host.peer.open_all(channels).await {
                Ok(opened) => {
                    for ((_, reply), opened) in opens.into_iter().zip(opened) {
                        let _ = reply.send(opened);
                    }
                }
                Err(e) => {
                    let mut opens = opens.into_iter();
                    if let Some((_, first)) = opens.next() {
                        let _ = first.send(Err(e));
                    }
                    later.extend(opens.map(|(c, reply)| Request::Open(c, reply)));
                }
            }
        }
        drop(host);
        pending = later;
    }
}

/// A peer's calls per second: a bucket of [`BURST`] calls that refills by
/// [`CALLS_PER_SECOND`].
struct Budget {
    calls: f64,
    at: tokio::time::Instant,
}

impl Budget {
    fn new() -> Self {
        Self {
            calls: BURST,
            at: tokio::time::Instant::now(),
        }
    }

    /// Takes `cost` calls, waiting until the bucket has them; whether it waited.
    async fn spend(&mut self, cost: f64) -> bool {
        let now = tokio::time::Instant::now();
        let refilled = now.duration_since(self.at).as_secs_f64() * CALLS_PER_SECOND;
        self.calls = (self.calls + refilled).min(BURST);
        self.at = now;
        let short = cost - self.calls;
        self.calls -= cost;
        if short <= 0.0 {
            return false;
        }
        tokio::time::sleep(Duration::from_secs_f64(short / CALLS_PER_SECOND)).await;
        true
    }
}

impl HostPeers {
    /// A peer for one more room: one that has room for it, or a new one (named `node` in the
    /// SFU's logs). Give it back with [`release`](Self::release).
    pub(crate) async fn acquire(&self, client: &Client, node: &str) -> Result<Arc<HostPeer>> {
        let mut peers = self.peers.lock().await;
        let free = peers
            .iter_mut()
            .find(|(p, rooms)| *rooms < ROOMS_PER_PEER && p.takes_rooms());
        if let Some((peer, rooms)) = free {
            *rooms += 1;
            return Ok(peer.clone());
        }
        // Under the lock: the rooms created meanwhile wait for this peer rather than make
        // one each.
        let peer = client.peer().correlation_id(node).connect().await?;
        let (requests, served) = mpsc::unbounded_channel();
        let peer = Arc::new(HostPeer {
            peer,
            channels: AtomicU32::new(0),
            requests,
        });
        tokio::spawn(serve(Arc::downgrade(&peer), served));
        peers.push((peer.clone(), 1));
        Ok(peer)
    }

    /// Gives back a room's peer, once the room closed its channels on it. The last room of a
    /// peer closes the peer.
    pub(crate) async fn release(&self, peer: Arc<HostPeer>) {
        let mut peers = self.peers.lock().await;
        let Some(at) = peers.iter().position(|(p, _)| Arc::ptr_eq(p, &peer)) else {
            return;
        };
        peers[at].1 -= 1;
        if peers[at].1 > 0 {
            return;
        }
        let (last, _) = peers.swap_remove(at);
        drop(peers);
        drop(peer);
        // Another holder (a round in flight) makes this fail; the peer's task then ends
        // when that lets go.
        if let Ok(last) = Arc::try_unwrap(last)
            && let Err(e) = last.peer.close().await
        {
            tracing::warn!(error = %e, "closing a host peer");
        }
    }
}
