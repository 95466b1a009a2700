//! One SFU session: its tracks, data channels and (once SDP flows) its peer.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::limits::RateWindow;
use crate::rtc::{Conn, PeerConfig, PeerHandle};
use crate::wire;

/// A track as the session sees it: pushed (`source` is `None`) or pulled.
#[derive(Debug, Clone)]
pub(crate) struct TrackRec {
    pub mid: String,
    pub name: String,
    /// `(publisher session id, publisher track name)` for a pulled track.
    pub source: Option<(String, String)>,
    pub kind: Option<String>,
    pub closed: bool,
    pub simulcast: Option<wire::Simulcast>,
}

/// Delivery policy of a published channel, which subscribers must mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    pub ordered: bool,
    pub max_retransmits: Option<u32>,
    pub max_packet_life_time: Option<u32>,
}

/// A data channel of the session: published (`source` is `None`) or subscribed.
#[derive(Debug, Clone)]
pub(crate) struct ChannelRec {
    pub id: u16,
    pub name: String,
    /// Publisher session id of a subscribed channel.
    pub source: Option<String>,
    pub policy: Policy,
    pub can_reply: bool,
    pub closed: bool,
}

/// Mutable part of a session, behind a short-lived std mutex (never held across `.await`).
#[derive(Debug, Default)]
pub(crate) struct SessionData {
    pub closed: bool,
    pub peer: Option<PeerHandle>,
    pub tracks: Vec<TrackRec>,
    pub channels: Vec<ChannelRec>,
    pub next_channel_id: u16,
    /// The SCTP transport was set up (`datachannels/establish`).
    pub transport: bool,
    /// Adapter-backed sessions have no peer and never expire for lack of one.
    pub adapter: bool,
    /// The `correlationId` the session was created with, for [`Emulator::sessions`](crate::Emulator::sessions).
    pub correlation_id: Option<String>,
}

impl SessionData {
    /// Ends the session but keeps it as a small tombstone, so later calls get 410 not 404.
    fn shut(&mut self) {
        self.closed = true;
        self.tracks = Vec::new();
        self.channels = Vec::new();
        if let Some(p) = self.peer.take() {
            p.send(crate::rtc::Cmd::Shutdown);
        }
    }
}

/// A session of an app.
#[derive(Debug)]
pub(crate) struct Session {
    pub id: String,
    pub app_id: String,
    pub third_party: bool,
    pub created: Instant,
    /// Serializes mutations: a second concurrent one is refused with 406.
    pub op: tokio::sync::Mutex<()>,
    pub rate: RateWindow,
    data: Mutex<SessionData>,
}

impl Session {
    pub fn new(id: String, app_id: String, third_party: bool) -> Self {
        Self {
            id,
            app_id,
            third_party,
            created: Instant::now(),
            op: tokio::sync::Mutex::new(()),
            rate: RateWindow::new(),
            data: Mutex::default(),
        }
    }

    pub fn data(&self) -> MutexGuard<'_, SessionData> {
        self.data.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the session is over: closed, its peer gone, or never connected in time.
    pub fn is_closed(&self, ttl: Duration) -> bool {
        let mut d = self.data();
        if d.closed {
            return true;
        }
        let conn = d.peer.as_ref().map(PeerHandle::conn).unwrap_or(Conn::New);
        let expired = conn == Conn::New && !d.adapter && self.created.elapsed() >= ttl;
        if conn == Conn::Closed || expired {
            d.shut();
            return true;
        }
        false
    }

    /// The session's peer, started on first use.
    pub async fn peer(self: &Arc<Self>, cfg: &PeerConfig) -> std::io::Result<PeerHandle> {
        if let Some(p) = self.data().peer.clone() {
            return Ok(p);
        }
        let p = PeerHandle::spawn(cfg, !self.third_party).await?;
        // Mutations are serialized by `op`, so no other peer can have been installed meanwhile.
        self.data().peer = Some(p.clone());
        Ok(p)
    }

    /// Marks the session closed and stops its peer.
    pub fn close(&self) {
        self.data().shut();
    }

    /// Whether a pushed track named `name` is live (used to answer pulls).
    pub fn live_track(&self, name: &str) -> Option<TrackRec> {
        let d = self.data();
        let idle = d
            .peer
            .as_ref()
            .map(|p| p.shared.idle_mids.lock().map(|s| s.clone()));
        let idle = idle.and_then(Result::ok).unwrap_or_default();
        d.tracks
            .iter()
            .find(|t| t.source.is_none() && !t.closed && t.name == name && !idle.contains(&t.mid))
            .cloned()
    }
}
