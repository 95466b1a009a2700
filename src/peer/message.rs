//! [`Message`]: one data channel message, and the inbox the driver delivers a channel's
//! messages to.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};

use bytes::Bytes;
use tokio::sync::mpsc;

#[cfg(doc)]
use super::error::PeerError;

/// One data channel message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message (UTF-8).
    Text(String),
    /// A binary message. A "text" message that is not valid UTF-8 arrives as binary too, so
    /// no byte is lost.
    Binary(Bytes),
}

impl Message {
    /// The message's bytes, whatever its kind.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) => b,
        }
    }
}

/// What the driver and a subscription share: counters the driver bumps, the stream reads.
#[derive(Debug, Default)]
pub(super) struct Lag {
    /// Messages not delivered because the buffer was full.
    pub(super) missed: AtomicU64,
    /// Set when a reliable channel's subscriber was ended for falling behind.
    pub(super) ended: AtomicBool,
}

/// Where the driver delivers one channel's messages.
pub(super) struct Inbox {
    /// `None` once the subscription was ended for lagging.
    pub(super) tx: Option<mpsc::Sender<Message>>,
    /// Reliable (no retransmit or lifetime limit): a full buffer ends the subscription with
    /// [`PeerError::Lagged`] instead of skipping messages.
    pub(super) reliable: bool,
    pub(super) lag: Arc<Lag>,
}
