//! Counts of the calls the emulator answered, so a test can assert how many calls a flow
//! needed and that none of them overlapped (HTTP 406).

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::sync::lock;

/// A snapshot of the calls answered so far; see [`Emulator::stats`](crate::Emulator::stats).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallStats {
    received: BTreeMap<&'static str, usize>,
    by_operation: BTreeMap<&'static str, usize>,
    by_status: BTreeMap<u16, usize>,
}

impl CallStats {
    /// Calls of one operation, by the project's operationId (`add_tracks`, `renegotiate_session`).
    pub fn calls(&self, operation: &str) -> usize {
        self.by_operation.get(operation).copied().unwrap_or(0)
    }

    /// Calls of one operation that arrived, answered or not: a call whose client gave up
    /// (a timeout) or whose connection an injected fault dropped counts here, and in
    /// [`calls`](Self::calls) only once its handler finished.
    pub fn received(&self, operation: &str) -> usize {
        self.received.get(operation).copied().unwrap_or(0)
    }

    /// Calls of every operation.
    pub fn total(&self) -> usize {
        self.by_operation.values().sum()
    }

    /// Responses with this HTTP status; `with_status(406)` counts overlapping session changes.
    pub fn with_status(&self, status: u16) -> usize {
        self.by_status.get(&status).copied().unwrap_or(0)
    }
}

/// The live counters behind [`CallStats`].
#[derive(Debug, Default)]
pub(crate) struct Stats(Mutex<CallStats>);

impl Stats {
    pub fn receive(&self, operation: &'static str) {
        *lock(&self.0).received.entry(operation).or_default() += 1;
    }

    pub fn record(&self, operation: &'static str, status: u16) {
        let mut stats = lock(&self.0);
        *stats.by_operation.entry(operation).or_default() += 1;
        *stats.by_status.entry(status).or_default() += 1;
    }

    pub fn snapshot(&self) -> CallStats {
        lock(&self.0).clone()
    }

    pub fn reset(&self) {
        *lock(&self.0) = CallStats::default();
    }
}

/// What the emulator holds, counted; see [`Emulator::inventory`](crate::Emulator::inventory).
/// Comparing two snapshots tells whether a call created something once, twice or not at all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Inventory {
    /// Sessions created, closed ones and those of local WebSocket adapters included.
    pub sessions: usize,
    /// Tracks added to sessions (pushed or pulled), closed ones included.
    pub tracks: usize,
    /// Sessions whose data channel transport is set up.
    pub data_channel_transports: usize,
    /// Data channels published or subscribed, closed ones included (`server-events` is not
    /// counted).
    pub data_channels: usize,
    /// WebSocket adapters created, closed ones included.
    pub adapters: usize,
    /// SFU apps that exist now (the one made at start included; deleted ones are gone).
    pub apps: usize,
    /// TURN keys that exist now (the one made at start included; deleted ones are gone).
    pub turn_keys: usize,
    /// TURN credentials minted, revoked and expired ones included.
    pub turn_credentials: usize,
}
