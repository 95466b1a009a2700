#![forbid(unsafe_code)]
#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod config;
mod error;
mod faults;
mod http;
mod inspect;
mod limits;
mod rtc;
mod state;
mod stats;
mod sync;
mod wire;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

pub use config::Config;
pub use error::StartError;
pub use faults::{Fault, FaultKind};
pub use inspect::{ChannelView, SessionView, TrackView};
pub use stats::{CallStats, Inventory};

use state::{Named, Registry, lock};

/// Builder for an [`Emulator`] with non-default address, timings or faults.
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    addr: SocketAddr,
    announce: Option<IpAddr>,
    config: Config,
    faults: Vec<Fault>,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        Self {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            announce: None,
            config: Config::default(),
            faults: Vec::new(),
        }
    }
}

impl EmulatorBuilder {
    /// Listens on this port of 127.0.0.1 (0, the default, picks a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.addr.set_port(port);
        self
    }
    /// Listens on this address; media sockets use the same IP.
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }
    /// Announces `ip` in the SFU's ICE candidates instead of the listening address, and binds
    /// media sockets on every interface: for clients that cannot reach the listening address
    /// (a WebRTC stack that skips loopback candidates, a client outside the emulator's
    /// container). `ip` must reach this machine from the client.
    pub fn announce(mut self, ip: IpAddr) -> Self {
        self.announce = Some(ip);
        self
    }
    /// Replaces all timings and limits.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }
    /// How long a pushed track may go without packets before it becomes inactive.
    pub fn track_idle_timeout(mut self, d: Duration) -> Self {
        self.config.track_idle_timeout = d;
        self
    }
    /// How long a connected peer may send nothing before its session closes.
    pub fn silence_timeout(mut self, d: Duration) -> Self {
        self.config.silence_timeout = d;
        self
    }
    /// How long a session may stay unconnected before it expires.
    pub fn unconnected_session_ttl(mut self, d: Duration) -> Self {
        self.config.unconnected_session_ttl = d;
        self
    }
    /// How long transport-dependent operations wait for the connection before 425.
    pub fn connect_wait(mut self, d: Duration) -> Self {
        self.config.connect_wait = d;
        self
    }
    /// Installs a fault rule from the start.
    pub fn fault(mut self, f: Fault) -> Self {
        self.faults.push(f);
        self
    }

    /// Binds the sockets and starts serving on the current Tokio runtime.
    pub async fn start(self) -> Result<Emulator, StartError> {
        let bind_err = |addr, source| StartError::Bind { addr, source };
        let listener = tokio::net::TcpListener::bind(self.addr)
            .await
            .map_err(|e| bind_err(self.addr, e))?;
        let addr = listener.local_addr().map_err(|e| bind_err(self.addr, e))?;
        let stun_at = SocketAddr::new(addr.ip(), 0);
        let stun = tokio::net::UdpSocket::bind(stun_at)
            .await
            .map_err(|e| bind_err(stun_at, e))?;
        let stun_addr = stun.local_addr().map_err(|e| bind_err(stun_at, e))?;
        // TURN over TCP on the same port, as the service lists it; another when that is taken.
        let turn_tcp = match tokio::net::TcpListener::bind(stun_addr).await {
            Ok(listener) => listener,
            Err(_) => tokio::net::TcpListener::bind(stun_at)
                .await
                .map_err(|e| bind_err(stun_at, e))?,
        };
        let turn_tcp_addr = turn_tcp.local_addr().map_err(|e| bind_err(stun_at, e))?;
        let mut peer_cfg = rtc::PeerConfig::new(
            addr.ip(),
            self.config.track_idle_timeout,
            self.config.wait_for_ack_timeout,
        )
        .map_err(StartError::Crypto)?;
        peer_cfg.announce = self.announce;
        peer_cfg.silence_timeout = self.config.silence_timeout;
        let reg = Arc::new(Registry::new(
            self.config,
            peer_cfg,
            stun_addr,
            turn_tcp_addr,
        ));
        for f in self.faults {
            reg.faults.add(f);
        }
        let app = Named::new("emulator".into());
        let key = Named::new("emulator".into());
        lock(&reg.apps).insert(app.uid.clone(), app.clone());
        lock(&reg.turn_keys).insert(key.uid.clone(), key.clone());

        let router = http::router(reg.clone());
        let stop = Arc::new(tokio::sync::Notify::new());
        let stopped = stop.clone();
        // Graceful shutdown also closes idle keep-alive connections, which an abort would leave.
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move { stopped.notified().await })
                .await;
        });
        let relay = rtc::relay::start(stun, turn_tcp, addr.ip(), Arc::downgrade(&reg))
            .await
            .map_err(|e| StartError::Relay(e.to_string()))?;
        *lock(&reg.relay) = Some(Arc::new(relay));
        let reaper_reg = reg.clone();
        let reaper = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            loop {
                tick.tick().await;
                reaper_reg.reap();
            }
        });
        Ok(Emulator {
            addr,
            app,
            key,
            reg,
            stop,
            tasks: vec![reaper],
        })
    }
}

/// A running emulator; dropping it stops the server and every peer.
pub struct Emulator {
    addr: SocketAddr,
    app: Named,
    key: Named,
    reg: Arc<Registry>,
    stop: Arc<tokio::sync::Notify>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.addr)
            .field("app_id", &self.app.uid)
            .field("turn_key_id", &self.key.uid)
            .field("account_id", &self.reg.account_id)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Starts an emulator on a free loopback port with default settings.
    pub async fn start() -> Result<Self, StartError> {
        Self::builder().start().await
    }
    /// A builder for custom settings.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }
    /// Address the HTTP server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// `http://host:port`, the root of every API.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// Base URL of the SFU and TURN APIs (the service's `https://rtc.live.cloudflare.com/v1`).
    pub fn sfu_base_url(&self) -> String {
        format!("{}/v1", self.base_url())
    }
    /// Base URL of the account API (the service's `https://api.cloudflare.com/client/v4`).
    pub fn account_base_url(&self) -> String {
        format!("{}/client/v4", self.base_url())
    }
    /// Id of the SFU app created at start.
    pub fn app_id(&self) -> &str {
        &self.app.uid
    }
    /// Bearer secret of that app.
    pub fn app_secret(&self) -> &str {
        &self.app.secret
    }
    /// Account id for the account API.
    pub fn account_id(&self) -> &str {
        &self.reg.account_id
    }
    /// API token for the account API.
    pub fn api_token(&self) -> &str {
        &self.reg.api_token
    }
    /// Id of the TURN key created at start.
    pub fn turn_key_id(&self) -> &str {
        &self.key.uid
    }
    /// Bearer token of that TURN key.
    pub fn turn_key_token(&self) -> &str {
        &self.key.secret
    }
    /// Adds a fault rule.
    pub fn inject(&self, fault: Fault) {
        self.reg.faults.add(fault);
    }
    /// The fault rules still active: a rule limited by `times` leaves once its last use is
    /// taken, so a test can tell that the call it holds has arrived.
    pub fn faults(&self) -> Vec<Fault> {
        self.reg.faults.list()
    }
    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.reg.faults.clear();
    }
    /// Cuts session `id` off the network for `duration`: every datagram to and from its
    /// peer is dropped, as when a participant's Wi-Fi drops out, while the HTTP API keeps
    /// answering. A partition longer than the silence timeout
    /// ([`EmulatorBuilder::silence_timeout`], 30 s) closes the session, as the service closes
    /// one whose client went silent; a shorter one the client's ICE rides out. Tests use it to
    /// prove a client recovers. Returns false when no such session has a peer.
    pub fn partition(&self, id: &str, duration: Duration) -> bool {
        let session = lock(&self.reg.sessions).get(id).cloned();
        let Some(peer) = session.and_then(|s| s.data().peer.clone()) else {
            return false;
        };
        peer.send(rtc::Cmd::Partition(duration));
        true
    }
    /// Every session that is open now (not closed, expired or with its peer gone), with its
    /// tracks and data channels that are not closed; sorted by id.
    pub fn sessions(&self) -> Vec<SessionView> {
        inspect::sessions(&self.reg)
    }
    /// The calls answered so far, by operation and by status.
    pub fn stats(&self) -> CallStats {
        self.reg.stats.snapshot()
    }
    /// Starts counting calls from zero.
    pub fn reset_stats(&self) {
        self.reg.stats.reset();
    }
    /// Number of sessions created so far (closed ones included).
    pub fn session_count(&self) -> usize {
        lock(&self.reg.sessions).len()
    }
    /// What exists now: sessions, tracks, data channels, adapters, apps, TURN keys and
    /// credentials. Tests compare two snapshots to prove a call created something only once.
    pub fn inventory(&self) -> Inventory {
        let sessions: Vec<_> = lock(&self.reg.sessions).values().cloned().collect();
        let mut inventory = Inventory {
            sessions: sessions.len(),
            adapters: lock(&self.reg.adapters).len(),
            apps: lock(&self.reg.apps).len(),
            turn_keys: lock(&self.reg.turn_keys).len(),
            turn_credentials: lock(&self.reg.credentials).len(),
            ..Inventory::default()
        };
        for s in sessions {
            let d = s.data();
            inventory.tracks += d.tracks.len();
            inventory.data_channels += d.channels.len();
            inventory.data_channel_transports += usize::from(d.transport);
        }
        inventory
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // notify_one stores a permit, so the signal is not lost if the server is not waiting yet.
        self.stop.notify_one();
        for t in &self.tasks {
            t.abort();
        }
        self.reg.shutdown();
    }
}
