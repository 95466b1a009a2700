//! Timings and limits of the emulated service; tests shorten the timings.

use std::time::Duration;

/// Behaviour knobs. [`Config::default`] matches the documented service.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// A pushed track that receives no packet for this long becomes inactive (service: 30 s).
    pub track_idle_timeout: Duration,
    /// A session whose peer never connected is closed after this long (service: about 30 s).
    pub unconnected_session_ttl: Duration,
    /// A connected peer from which nothing arrives for this long is gone: its session closes
    /// (RFC 7675's consent expiry, 30 s; an ICE-lite server never checks on its own).
    pub silence_timeout: Duration,
    /// How long operations that need a connected transport wait before answering 425.
    pub connect_wait: Duration,
    /// How long a `waitForAck` subscriber has to send its first message.
    pub wait_for_ack_timeout: Duration,
    /// Calls allowed per second on one session.
    pub calls_per_second: u32,
    /// Tracks allowed in one call.
    pub max_tracks_per_call: usize,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Longest TURN credential TTL, in seconds (service: 48 h).
    pub max_turn_ttl: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            track_idle_timeout: Duration::from_secs(30),
            unconnected_session_ttl: Duration::from_secs(30),
            silence_timeout: Duration::from_secs(30),
            connect_wait: Duration::from_secs(5),
            wait_for_ack_timeout: Duration::from_secs(30),
            calls_per_second: 50,
            max_tracks_per_call: 64,
            max_body_bytes: 256 * 1024,
            max_turn_ttl: 48 * 3600,
        }
    }
}
