//! [`Shared`]: what every room of one [`Rooms`](super::Rooms) shares: the client, the store,
//! the node this process is to the store, and the handles of the room hosts it runs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use super::host_peers::{HostPeer, HostPeers};
use super::store::Store;
use crate::client::Client;

/// How long after a node's last beat its rooms go to another node, by default (see
/// `super::node`).
pub(crate) const TAKEOVER_AFTER: Duration = Duration::from_secs(5);

pub(crate) struct Shared {
    pub(crate) client: Client,
    pub(crate) store: Arc<dyn Store>,
    hosted: Mutex<HashMap<String, HostHandle>>,
    /// The peers the hosts of this process publish their room channels on.
    pub(crate) host_peers: HostPeers,
    /// Per room this process hosts: the `seq` of the last update its host relayed.
    relayed: Mutex<HashMap<String, watch::Receiver<u64>>>,
    /// This process as a host of rooms (see [`Store::beat`]); a new one once the store took
    /// the old one for dead.
    node: Mutex<String>,
    /// How long after this process's last beat another may take its rooms.
    pub(crate) takeover_after: Mutex<Duration>,
    /// Set by [`Rooms::shutdown`](super::Rooms::shutdown): the node stops beating.
    pub(crate) stopping: std::sync::atomic::AtomicBool,
    /// Set by [`Rooms::without_takeover`](super::Rooms::without_takeover): the node beats only
    /// while it hosts rooms, and takes none over.
    pub(crate) passive: std::sync::atomic::AtomicBool,
}

impl Shared {
    pub(crate) fn new(client: Client, store: Arc<dyn Store>) -> Arc<Self> {
        Arc::new(Self {
            client,
            store,
            hosted: Mutex::new(HashMap::new()),
            host_peers: HostPeers::default(),
            relayed: Mutex::new(HashMap::new()),
            node: Mutex::new(super::ids::random("node")),
            takeover_after: Mutex::new(TAKEOVER_AFTER),
            stopping: std::sync::atomic::AtomicBool::new(false),
            passive: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// This process's node id.
    pub(crate) fn node(&self) -> String {
        self.node.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Becomes a new node, once the store took the old one for dead.
    pub(crate) fn renew_node(&self) {
        *self.node.lock().unwrap_or_else(|e| e.into_inner()) = super::ids::random("node");
    }

    pub(crate) fn takeover_after(&self) -> Duration {
        *self
            .takeover_after
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The hosts this process runs, by room id.
    pub(crate) fn hosted(&self) -> MutexGuard<'_, HashMap<String, HostHandle>> {
        self.hosted.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How far the hosts this process runs have relayed their rooms' updates, by room id.
    pub(crate) fn relayed(&self) -> MutexGuard<'_, HashMap<String, watch::Receiver<u64>>> {
        self.relayed.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Stops a hosted room's task.
pub(crate) struct HostHandle {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
    peer: Arc<HostPeer>,
}

impl HostHandle {
    pub(crate) fn new(
        stop: oneshot::Sender<()>,
        task: JoinHandle<()>,
        peer: Arc<HostPeer>,
    ) -> Self {
        Self { stop, task, peer }
    }

    /// Whether the room is to move to another peer (see `HostPeer::must_move`).
    pub(crate) fn must_move(&self) -> bool {
        self.peer.must_move()
    }

    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}
