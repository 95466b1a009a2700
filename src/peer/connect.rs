//! [`ConnectPeer`]: the builder that creates a peer's session and starts (or connects) it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};
use tracing::Instrument;

use super::connection_state::ConnectionState;
use super::error::{PeerError, Result};
use super::frame::FrameCodec;

use super::driver::Driver;
use super::net;
use super::peer::{Link, Opened, Peer};
use crate::client::Client;

/// How long ICE and DTLS may take by default.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Commands queued to the driver before a handle's call waits.
const COMMAND_QUEUE: usize = 256;
const CHANNEL_BUFFER: usize = 1024;
const FRAME_BUFFER: usize = 256;

/// Builder for a [`Peer`]; see [`Client::peer`].
#[derive(Debug)]
#[must_use = "a builder does nothing until .connect() or .start() is awaited"]
pub struct ConnectPeer {
    client: Client,
    correlation_id: Option<String>,
    connect_timeout: Duration,
    channel_buffer: usize,
    frame_buffer: usize,
    codecs: Vec<FrameCodec>,
}

// `Client` hands out the peer without naming this layer.
impl Client {
    /// Starts a server-side WebRTC peer of the SFU: it creates its own session.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// let peer = client.peer().correlation_id("room-7").connect_timeout(Duration::from_secs(5)).connect().await?;
    /// # let _ = peer; Ok(()) }
    /// ```
    pub fn peer(&self) -> ConnectPeer {
        ConnectPeer::new(self.clone())
    }
}

impl ConnectPeer {
    pub(crate) fn new(client: Client) -> Self {
        Self {
            client,
            correlation_id: None,
            connect_timeout: CONNECT_TIMEOUT,
            channel_buffer: CHANNEL_BUFFER,
            frame_buffer: FRAME_BUFFER,
            codecs: vec![FrameCodec::Opus, FrameCodec::Vp8, FrameCodec::H264],
        }
    }

    /// The codecs the peer negotiates, for the tracks it pushes and pulls (default: all of
    /// [`FrameCodec`]). Each one adds payload types to every media section of its answers;
    /// a session with a hundred and more tracks keeps its SDP small with fewer.
    pub fn codecs(mut self, codecs: impl IntoIterator<Item = FrameCodec>) -> Self {
        self.codecs = codecs.into_iter().collect();
        self
    }

    /// A label for the session (e.g. the room), for diagnostics.
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.correlation_id = Some(id.into());
        self
    }

    /// How long connecting may take before [`PeerError::ConnectTimeout`] (10 s by default):
    /// the whole setup in [`ConnectPeer::connect`], ICE and DTLS when a channel or track
    /// connects a peer made with [`ConnectPeer::start`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Messages buffered per subscription before a slow reader counts as lagging (1024 by
    /// default, at least 1); see [`Subscription`](super::Subscription).
    pub fn channel_buffer(mut self, messages: usize) -> Self {
        self.channel_buffer = messages.max(1);
        self
    }

    /// Frames buffered per pulled track before new ones are dropped (256 by default).
    pub fn frame_buffer(mut self, frames: usize) -> Self {
        self.frame_buffer = frames.max(1);
        self
    }

    /// Creates the session and starts the peer, then connects it: sets up the data channel
    /// transport and waits until ICE and DTLS are up. A peer that cannot reach the SFU, or
    /// whose setup takes longer than the connect timeout, fails here with
    /// [`PeerError::ConnectTimeout`].
    pub async fn connect(self) -> Result<Peer> {
        let timeout = self.connect_timeout;
        let peer = self.start().await?;
        // The whole setup counts, not only ICE and DTLS: on loopback they finish within the
        // renegotiation's round trip, so a slow SFU shows in its calls.
        match tokio::time::timeout(timeout, peer.ensure_transport()).await {
            Ok(connected) => connected?,
            Err(_) => return Err(PeerError::ConnectTimeout(timeout)),
        }
        Ok(peer)
    }

    /// Creates the session and starts the peer without connecting it yet: the first channel
    /// or track connects it.
    pub async fn start(self) -> Result<Peer> {
        let mut new = self.client.new_session();
        if let Some(id) = self.correlation_id {
            new = new.correlation_id(id);
        }
        let session = new.send().await?;
        let (socket, local) = net::bind(self.client.base_url())
            .await
            .map_err(PeerError::Io)?;
        let span = tracing::info_span!("peer", session_id = %session.id(), %local);
        let Launched {
            task,
            link,
            state,
            shutdown,
        } = launch(&self.codecs, socket, local, span.clone())?;
        span.in_scope(|| tracing::debug!("peer started"));
        Ok(Peer {
            session,
            link,
            state,
            task: Some(task),
            shutdown: Some(shutdown),
            local,
            transport: tokio::sync::Mutex::new(false),
            opened: std::sync::Mutex::new(Opened::default()),
            connect_timeout: self.connect_timeout,
            channel_buffer: self.channel_buffer,
            frame_buffer: self.frame_buffer,
            span,
        })
    }
}

/// A started driver and the handle's ends of its channels.
struct Launched {
    task: tokio::task::JoinHandle<()>,
    link: Link,
    state: watch::Receiver<ConnectionState>,
    shutdown: oneshot::Sender<()>,
}

/// Builds the peer's `Rtc` and spawns its driver. A plain function, apart from the `async`
/// [`ConnectPeer::start`]: the `Rtc` is large, and a debug build would reserve room for its
/// copies in every poll of the future that built it.
fn launch(
    codecs: &[FrameCodec],
    socket: tokio::net::UdpSocket,
    local: std::net::SocketAddr,
    span: tracing::Span,
) -> Result<Launched> {
    let crypto = Arc::new(str0m::crypto::from_feature_flags());
    // Only the codecs asked for, so answers stay small.
    let has = |codec| codecs.contains(&codec);
    let mut rtc = Box::new(
        str0m::Rtc::builder()
            .set_crypto_provider(crypto)
            .clear_codecs()
            .enable_opus(has(FrameCodec::Opus), false)
            .enable_vp8(has(FrameCodec::Vp8))
            .enable_h264(has(FrameCodec::H264))
            .build(Instant::now()),
    );
    let candidate =
        str0m::Candidate::host(local, "udp").map_err(|e| PeerError::Rtc(e.to_string()))?;
    rtc.add_local_candidate(candidate);

    let (cmds, rx) = mpsc::channel(COMMAND_QUEUE);
    let (state_tx, state) = watch::channel(ConnectionState::New);
    let (shutdown, stop) = oneshot::channel();
    let driver = Driver::new(rtc, local, state_tx);
    let task = tokio::spawn(driver.run(socket, rx, stop).instrument(span));
    Ok(Launched {
        task,
        link: Link { cmds },
        state,
        shutdown,
    })
}
