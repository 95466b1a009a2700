//! [`PeerHandle`]: the HTTP layer's handle on one peer task.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot, watch};

use super::command::{Cmd, Conn, PeerConfig, PeerShared, Reply, Target};
use super::peer;

/// The API layer's handle on one peer task.
#[derive(Debug, Clone)]
pub(crate) struct PeerHandle {
    pub id: u64,
    /// Unbounded: a reliable data channel message must not be dropped on the way between two
    /// peer tasks (the SFU does not lose them either).
    pub tx: mpsc::UnboundedSender<Cmd>,
    pub shared: Arc<PeerShared>,
}

/// Receive buffer asked of the OS for each session's socket. The default (about 200 KiB, some
/// 90 full-size datagrams) overflows when a publisher sends a large video frame as one burst
/// while the session's task, which forwards each packet to every subscriber, waits for a core:
/// `examples/room_load.rs` with a 320x240 test pattern (about 106 datagrams a frame) at 5 fps
/// and 99 subscribers lost 82–88% of the frames there, and none with this buffer. Linux caps
/// the request at `net.core.rmem_max`; the memory is only used while datagrams wait.
const RECEIVE_BUFFER: usize = 4 << 20;

/// A non-blocking UDP socket on `addr` with [`RECEIVE_BUFFER`] (best effort: a smaller buffer
/// still works, it only drops sooner under load).
fn media_socket(addr: SocketAddr) -> std::io::Result<tokio::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    let _ = socket.set_recv_buffer_size(RECEIVE_BUFFER);
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    tokio::net::UdpSocket::from_std(socket.into())
}

impl PeerHandle {
    /// Binds a UDP socket and starts the peer task. `ice_lite` is false only when the remote
    /// side announced itself as ICE-lite (a server), because two lite agents cannot connect.
    pub async fn spawn(cfg: &PeerConfig, ice_lite: bool) -> std::io::Result<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        // Announcing another address (a container's host, an interface a client can reach),
        // the socket takes what arrives on any interface.
        let ip = match cfg.announce {
            Some(std::net::IpAddr::V4(_)) => std::net::Ipv4Addr::UNSPECIFIED.into(),
            Some(std::net::IpAddr::V6(_)) => std::net::Ipv6Addr::UNSPECIFIED.into(),
            None => cfg.host,
        };
        let socket = media_socket(SocketAddr::new(ip, 0))?;
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(PeerShared {
            conn: watch::channel(Conn::New).0,
            idle_mids: Mutex::default(),
            open_channels: Mutex::default(),
        });
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        peer::start(cfg, ice_lite, socket, rx, shared.clone())?;
        Ok(Self { id, tx, shared })
    }

    /// Sends a command that needs no answer; a peer that has ended drops it.
    pub fn send(&self, cmd: Cmd) {
        let _ = self.tx.send(cmd);
    }

    /// Sends a command and waits for its reply.
    pub async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Cmd) -> Option<T> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(make(reply)).ok()?;
        rx.await.ok()
    }

    /// A target on this peer for routes set on other peers.
    pub fn target<T>(&self, id: T) -> Target<T> {
        Target {
            peer: self.id,
            tx: self.tx.clone(),
            id,
        }
    }

    pub fn conn(&self) -> Conn {
        *self.shared.conn.borrow()
    }
}
