//! Data channel handles: a publisher that sends, a subscription that is a stream.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use tokio::sync::{mpsc, oneshot};

use super::driver::Cmd;
use super::error::PeerError;
use super::error::Result;
use super::message::{Inbox, Lag, Message};

/// The sending side of one channel, shared by [`Publisher`] and [`Subscription::reply_text`].
#[derive(Clone, Debug)]
pub(super) struct Sender {
    pub(super) cmds: mpsc::Sender<Cmd>,
    pub(super) id: u16,
    pub(super) name: Arc<str>,
}

impl Sender {
    pub(super) async fn send(&self, binary: bool, data: Vec<u8>) -> Result<()> {
        let (reply, done) = oneshot::channel();
        let cmd = Cmd::Send {
            id: self.id,
            binary,
            data,
            reply,
        };
        if self.cmds.send(cmd).await.is_err() {
            return Err(PeerError::Closed);
        }
        // The driver answers once SCTP has taken the message into its send buffer: awaiting
        // that is the backpressure a fast sender gets.
        match done.await {
            Ok(result) => result,
            Err(_) => Err(PeerError::Closed),
        }
    }
}

/// A data channel this peer publishes; see [`Peer::publish`](super::Peer::publish).
///
/// One send reaches every subscriber of the channel through the SFU. Each send completes once
/// the peer's SCTP stack has buffered the message (at most 128 KiB are in flight per peer), so
/// a fast sender waits instead of growing memory. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Publisher {
    pub(super) sender: Sender,
    pub(super) replies: Arc<std::sync::Mutex<Option<Replies>>>,
}

impl Publisher {
    /// The channel's name.
    pub fn name(&self) -> &str {
        &self.sender.name
    }

    /// The channel's id on this peer's session.
    pub fn id(&self) -> u16 {
        self.sender.id
    }

    /// The messages the subscriber holding `can_reply` sends back, as a stream; `Some` the
    /// first time only. Buffered like a [`Subscription`]'s: unread replies that fill the buffer
    /// end this stream with [`PeerError::Lagged`]; publishing is unaffected.
    pub fn take_replies(&self) -> Option<Replies> {
        self.replies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// Sends a text message to every subscriber.
    pub async fn send_text(&self, text: &str) -> Result<()> {
        self.sender.send(false, text.as_bytes().to_vec()).await
    }

    /// Sends a binary message to every subscriber.
    pub async fn send_binary(&self, data: &[u8]) -> Result<()> {
        self.sender.send(true, data.to_vec()).await
    }
}

/// A bounded stream of one channel's messages, with the lag accounting both
/// [`Subscription`] and [`Replies`] document.
#[derive(Debug)]
pub(super) struct Inbound {
    pub(super) rx: mpsc::Receiver<Message>,
    pub(super) lag: Arc<Lag>,
    pub(super) reported: bool,
}

impl Inbound {
    pub(super) fn new(capacity: usize, reliable: bool) -> (Self, Inbox) {
        let (tx, rx) = mpsc::channel(capacity);
        let lag = Arc::new(Lag::default());
        let inbox = Inbox {
            tx: Some(tx),
            reliable,
            lag: lag.clone(),
        };
        let inbound = Self {
            rx,
            lag,
            reported: false,
        };
        (inbound, inbox)
    }

    fn dropped(&self) -> u64 {
        self.lag.missed.load(Ordering::Relaxed)
    }

    fn poll_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message>>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(m)) => Poll::Ready(Some(Ok(m))),
            Poll::Ready(None) if !self.reported && self.lag.ended.load(Ordering::Acquire) => {
                self.reported = true;
                let missed = self.lag.missed.load(Ordering::Relaxed);
                Poll::Ready(Some(Err(PeerError::Lagged { missed })))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Replies to a published channel; see [`Publisher::take_replies`]. A
/// [`Stream`](futures_core::Stream) of messages.
#[derive(Debug)]
pub struct Replies {
    pub(super) inbound: Inbound,
}

impl Replies {
    /// The next reply; `None` once the channel or the peer ended.
    pub async fn recv(&mut self) -> Option<Result<Message>> {
        std::future::poll_fn(|cx| self.inbound.poll_item(cx)).await
    }

    /// Replies not delivered because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.inbound.dropped()
    }
}

impl futures_core::Stream for Replies {
    type Item = Result<Message>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().inbound.poll_item(cx)
    }
}

/// Another session's data channel, received here; see [`Peer::subscribe`](super::Peer::subscribe).
///
/// A [`Stream`](futures_core::Stream) of messages in the channel's delivery order. Messages
/// wait in a bounded buffer ([`ConnectPeer::channel_buffer`](super::ConnectPeer::channel_buffer),
/// 1024 by default) until read. When a slow reader lets it fill:
/// - on a reliable channel (no `max_retransmits` / `max_packet_life_time`), the subscription
///   ends: the buffered messages are still yielded, then one
///   `Err(Error::Peer(PeerError::Lagged { missed }))`, then the stream ends. Nothing is skipped
///   silently; resubscribe to continue.
/// - on an unreliable channel, where loss is the chosen policy, the newest messages are
///   dropped and counted in [`dropped`](Self::dropped).
#[derive(Debug)]
pub struct Subscription {
    pub(super) inbound: Inbound,
    pub(super) sender: Sender,
    pub(super) can_reply: bool,
    pub(super) publisher: String,
}

impl Subscription {
    /// The channel's name.
    pub fn name(&self) -> &str {
        &self.sender.name
    }

    /// The publishing session.
    pub fn publisher(&self) -> &str {
        &self.publisher
    }

    /// The channel's id on this peer's session.
    pub fn id(&self) -> u16 {
        self.sender.id
    }

    /// Messages not delivered because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.inbound.dropped()
    }

    /// The next message; `None` once the subscription ended. Same as the stream's `next`.
    pub async fn recv(&mut self) -> Option<Result<Message>> {
        std::future::poll_fn(|cx| self.inbound.poll_item(cx)).await
    }

    /// Sends a text message back to the publisher (needs `can_reply(true)`).
    pub async fn reply_text(&self, text: &str) -> Result<()> {
        self.reply(false, text.as_bytes().to_vec()).await
    }

    /// Sends a binary message back to the publisher (needs `can_reply(true)`).
    pub async fn reply_binary(&self, data: &[u8]) -> Result<()> {
        self.reply(true, data.to_vec()).await
    }

    async fn reply(&self, binary: bool, data: Vec<u8>) -> Result<()> {
        if !self.can_reply {
            return Err(PeerError::ReplyNotGranted(self.name().to_owned()));
        }
        self.sender.send(binary, data).await
    }
}

impl futures_core::Stream for Subscription {
    type Item = Result<Message>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().inbound.poll_item(cx)
    }
}
