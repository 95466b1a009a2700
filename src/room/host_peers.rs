//! The peers that carry the channels of the rooms one process hosts.
//!
//! A room's host needs a session on the SFU to publish its room channel from, and to read its
//! participants' channels with. A peer per room costs each room a WebRTC connection: its
//! socket, its ICE keepalives, its DTLS and SCTP state and timers, which at thousands of idle
//! rooms add up to most of the process's idle CPU. So the rooms of one process share peers,
//! up to [`ROOMS_PER_PEER`] on each; each room's channel has its own name
//! ([`room_channel`](super::room_channel)).
//!
//! The SFU numbers a session's channels and, as far as the service tells, never reuses a
//! number (the emulator does not): a session opens at most 65,534 channels in its life. A peer
//! therefore takes no new room once it has opened [`CHANNELS_FOR_NEW_ROOMS`], leaving the rest
//! to the participants of the rooms it has; the room that ends last closes it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use super::error::Result;
use crate::client::Client;
use crate::peer::{self, ConnectionState, Peer, Publisher, Subscription};
use crate::session::data_channels::DataChannel;

/// How many rooms one peer carries at most.
pub(crate) const ROOMS_PER_PEER: usize = 128;

/// A peer that has opened this many channels takes no new room.
const CHANNELS_FOR_NEW_ROOMS: u32 = 32_768;

/// The peers of one process's hosts, with how many rooms each carries.
#[derive(Default)]
pub(crate) struct HostPeers {
    peers: tokio::sync::Mutex<Vec<(Arc<HostPeer>, usize)>>,
}

/// A peer that carries the channels of some of the rooms a process hosts.
pub(crate) struct HostPeer {
    peer: Peer,
    channels: AtomicU32,
}

impl HostPeer {
    /// The peer's session id: what the room's record names as its host.
    pub(crate) fn session_id(&self) -> &str {
        self.peer.session().id()
    }

    /// Publishes a room's channel (see [`Peer::publish`]).
    pub(crate) async fn publish(&self, channel: DataChannel) -> peer::Result<Publisher> {
        self.channels.fetch_add(1, Ordering::Relaxed);
        self.peer.publish(channel).await
    }

    /// Reads a participant's channel (see [`Peer::subscribe`]).
    pub(crate) async fn subscribe(&self, channel: DataChannel) -> peer::Result<Subscription> {
        self.channels.fetch_add(1, Ordering::Relaxed);
        self.peer.subscribe(channel).await
    }

    /// Closes a room's channels, leaving the other rooms' open.
    pub(crate) async fn close_channels(&self, channels: Vec<DataChannel>) -> peer::Result<()> {
        self.peer.close_channels(channels).await
    }

    fn takes_rooms(&self) -> bool {
        self.peer.state() == ConnectionState::Connected
            && self.channels.load(Ordering::Relaxed) < CHANNELS_FOR_NEW_ROOMS
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
        let peer = Arc::new(HostPeer {
            peer,
            channels: AtomicU32::new(0),
        });
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
        // Another holder (a room still stopping) would make it fail; dropping ends the task.
        if let Ok(last) = Arc::try_unwrap(last)
            && let Err(e) = last.peer.close().await
        {
            tracing::warn!(error = %e, "closing a host peer");
        }
    }
}
