//! Everything the emulator remembers: account, apps, TURN keys and credentials, sessions,
//! adapters. Maps sit behind std mutexes held only for short, non-async sections.

mod ids;
mod session;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

pub(crate) use ids::{hex32, rfc3339, secret, unix_now, unix_now_ms};
pub(crate) use session::{ChannelRec, Policy, Session, TrackRec};

use crate::config::Config;
use crate::error::ApiError;
use crate::faults::Faults;
use crate::rtc::PeerConfig;
use crate::stats::Stats;
pub(crate) use crate::sync::lock;

/// An SFU app or a TURN key: both are a named secret with timestamps.
#[derive(Clone)]
pub(crate) struct Named {
    pub uid: String,
    pub name: String,
    pub secret: String,
    pub created: String,
    pub modified: String,
}

impl std::fmt::Debug for Named {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Named")
            .field("uid", &self.uid)
            .field("name", &self.name)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl Named {
    pub fn new(name: String) -> Self {
        let now = rfc3339(unix_now());
        Self {
            uid: hex32(),
            name,
            secret: secret(),
            created: now.clone(),
            modified: now,
        }
    }
}

/// A minted TURN credential.
#[derive(Clone)]
pub(crate) struct TurnCred {
    pub key_id: String,
    /// The password the TURN relay checks requests against.
    pub credential: String,
    /// Expiry in milliseconds since the epoch.
    pub expires_at_ms: u64,
    pub revoked: bool,
}

impl std::fmt::Debug for TurnCred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnCred")
            .field("key_id", &self.key_id)
            .field("credential", &"<redacted>")
            .field("expires_at_ms", &self.expires_at_ms)
            .field("revoked", &self.revoked)
            .finish()
    }
}

impl TurnCred {
    /// Neither revoked nor past its TTL: the relay accepts it.
    pub fn active(&self) -> bool {
        !self.revoked && unix_now_ms() < self.expires_at_ms
    }
}

/// A WebSocket adapter.
#[derive(Debug, Clone)]
pub(crate) struct AdapterRec {
    pub app_id: String,
    pub closed: bool,
}

/// Shared state of one emulator instance.
pub(crate) struct Registry {
    pub config: Config,
    pub peer_cfg: PeerConfig,
    pub account_id: String,
    pub api_token: String,
    pub apps: Mutex<BTreeMap<String, Named>>,
    pub turn_keys: Mutex<BTreeMap<String, Named>>,
    pub credentials: Mutex<HashMap<String, TurnCred>>,
    pub sessions: Mutex<HashMap<String, Arc<Session>>>,
    pub adapters: Mutex<HashMap<String, AdapterRec>>,
    pub faults: Faults,
    pub stats: Stats,
    /// Address of the built-in STUN and TURN server advertised in ICE server lists.
    pub stun_addr: SocketAddr,
    /// Where the relay listens for TURN over TCP.
    pub turn_tcp_addr: SocketAddr,
    /// That TURN server (src/rtc/relay.rs), set once it runs; taken (and so stopped) at
    /// shutdown.
    pub relay: Mutex<Option<Arc<turn::server::Server>>>,
}

impl Registry {
    pub fn new(
        config: Config,
        peer_cfg: PeerConfig,
        stun_addr: SocketAddr,
        turn_tcp_addr: SocketAddr,
    ) -> Self {
        Self {
            config,
            peer_cfg,
            account_id: hex32(),
            api_token: secret(),
            apps: Mutex::default(),
            turn_keys: Mutex::default(),
            credentials: Mutex::default(),
            sessions: Mutex::default(),
            adapters: Mutex::default(),
            faults: Faults::default(),
            stats: Stats::default(),
            stun_addr,
            turn_tcp_addr,
            relay: Mutex::default(),
        }
    }

    /// Checks the bearer secret of `app_id`. Unknown apps are refused the same way as wrong
    /// secrets so that app ids cannot be probed.
    pub fn authorize_app(&self, app_id: &str, bearer: Option<&str>) -> Result<(), ApiError> {
        match (lock(&self.apps).get(app_id), bearer) {
            (Some(app), Some(b)) if app.secret == b => Ok(()),
            _ => Err(ApiError::unauthorized()),
        }
    }

    pub fn new_session(&self, app_id: &str, third_party: bool) -> Arc<Session> {
        let s = Arc::new(Session::new(hex32(), app_id.to_string(), third_party));
        lock(&self.sessions).insert(s.id.clone(), s.clone());
        s
    }

    /// A live session of `app_id`: 404 if unknown to that app, 410 once closed or expired.
    pub fn session(&self, app_id: &str, id: &str) -> Result<Arc<Session>, ApiError> {
        let s = lock(&self.sessions)
            .get(id)
            .filter(|s| s.app_id == app_id)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("session {id} does not exist")))?;
        if s.is_closed(self.config.unconnected_session_ttl) {
            return Err(ApiError::session_gone());
        }
        Ok(s)
    }

    /// Closes sessions that expired, so their peers stop even if nobody asks about them.
    pub fn reap(&self) {
        let all: Vec<Arc<Session>> = lock(&self.sessions).values().cloned().collect();
        for s in all {
            s.is_closed(self.config.unconnected_session_ttl);
        }
    }

    /// Stops every peer.
    pub fn shutdown(&self) {
        // Dropping the TURN server ends its read loop and closes every allocation.
        drop(lock(&self.relay).take());
        for s in lock(&self.sessions).values() {
            s.close();
        }
    }
}
