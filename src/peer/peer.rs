//! [`Peer`]: the handle of a server-side peer; its calls open channels and tracks on the SFU
//! and hand them to the driver.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use str0m::channel::{ChannelConfig, Reliability};
use tokio::sync::{mpsc, oneshot, watch};

use super::channels::{Publisher, Replies, Subscription};
use super::connection_state::ConnectionState;
use super::error::{PeerError, Result};
use super::frame::FrameCodec;
use super::media::{IncomingTrack, OutgoingTrack};

use super::channels::{Inbound, Sender};
use super::driver::Cmd;
use super::message::Inbox;
use crate::error::{BoxError, Error};
use crate::session::Session;
use crate::session::data_channels::DataChannel;
use crate::session::description::{Answer, Offer};
use crate::session::negotiation::Answerer;
use crate::session::tracks::{CloseMode, LocalTrack, RemoteTrack, TrackRefusal, TracksOutput};
use crate::wire::{Location, ResourceStatus};

/// What the peer opened on the SFU, to close on [`Peer::close`].
#[derive(Default)]
pub(super) struct Opened {
    mids: Vec<String>,
    channels: Vec<DataChannel>,
}

/// The handle's side of the command channel; answers the SFU's offers through the driver.
#[derive(Clone, Debug)]
pub(super) struct Link {
    pub(super) cmds: mpsc::Sender<Cmd>,
}

impl Link {
    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, PeerError>>) -> Cmd,
    ) -> Result<T, PeerError> {
        let (reply, done) = oneshot::channel();
        self.cmds
            .send(make(reply))
            .await
            .map_err(|_| PeerError::Closed)?;
        done.await.map_err(|_| PeerError::Closed)?
    }
}

impl Answerer for Link {
    async fn answer(&mut self, offer: Offer) -> Result<Answer, BoxError> {
        let offer = offer.into_sdp();
        let sdp = self.call(|reply| Cmd::Accept { offer, reply }).await?;
        Ok(Answer::new(sdp))
    }
}

/// A server-side WebRTC peer of the SFU, owning one session; see the [module docs](super).
///
/// Dropping it stops its task at once (the UDP socket is released; channels and tracks stay on
/// the SFU until they time out); [`close`](Self::close) also closes them on the SFU.
pub struct Peer {
    pub(super) session: Session,
    pub(super) link: Link,
    pub(super) state: watch::Receiver<ConnectionState>,
    pub(super) task: Option<tokio::task::JoinHandle<()>>,
    pub(super) shutdown: Option<oneshot::Sender<()>>,
    pub(super) local: SocketAddr,
    /// Whether the data channel transport is set up; the lock makes it happen once.
    pub(super) transport: tokio::sync::Mutex<bool>,
    pub(super) opened: std::sync::Mutex<Opened>,
    pub(super) connect_timeout: Duration,
    pub(super) channel_buffer: usize,
    pub(super) frame_buffer: usize,
    pub(super) span: tracing::Span,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("session_id", &self.session.id())
            .field("local", &self.local)
            .field("state", &*self.state.borrow())
            .finish_non_exhaustive()
    }
}

impl Peer {
    /// The peer's session on the SFU (its id is what subscribers name).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The UDP address of the peer's host candidate.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The connection's current state.
    pub fn state(&self) -> ConnectionState {
        *self.state.borrow()
    }

    /// The connection's state as it changes: `changed().await` wakes on the next event; the
    /// sender is gone (`changed()` fails) once the peer's task has ended.
    ///
    /// ```no_run
    /// # async fn run(peer: cloudflare_calls::Peer) {
    /// use cloudflare_calls::peer::ConnectionState;
    /// let mut states = peer.watch_state();
    /// while states.changed().await.is_ok() {
    ///     if *states.borrow() == ConnectionState::Failed { break; }
    /// }
    /// # }
    /// ```
    pub fn watch_state(&self) -> watch::Receiver<ConnectionState> {
        let mut states = self.state.clone();
        // The current state is read with borrow(); changed() waits for the next one.
        states.mark_unchanged();
        states
    }

    /// Whether the peer's task has ended (closed, dropped channels, failed connection).
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Publishes a data channel; every [`Publisher`] send reaches all its subscribers.
    ///
    /// The first channel sets up the session's data channel transport (once per session).
    /// The peer opens its negotiated channel with the id the SFU gives and the channel's
    /// delivery policy, and returns once it is open on both ends (the SFU's session state
    /// says `active`).
    ///
    /// ```no_run
    /// # async fn run(peer: cloudflare_calls::Peer) -> Result<(), Box<dyn std::error::Error>> {
    /// use cloudflare_calls::DataChannel;
    /// let cursor = peer.publish(DataChannel::publish("cursor").ordered(false).max_retransmits(0)).await?;
    /// cursor.send_binary(&[1, 2, 3]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn publish(&self, channel: DataChannel) -> Result<Publisher> {
        if channel.wire().location != Some(Location::Local) {
            return Err(Error::InvalidArgument(
                "Peer::publish takes DataChannel::publish(..)".into(),
            )
            .into());
        }
        match self.open_all(vec![channel]).await?.remove(0)? {
            OpenedChannel::Published(publisher) => Ok(publisher),
            OpenedChannel::Subscribed(_) => Err(PeerError::Closed),
        }
    }

    /// Subscribes to another session's data channel; the [`Subscription`] is a stream of its
    /// messages. The channel must name the publisher's delivery policy. With
    /// `wait_for_ack(true)` the peer sends the acknowledgement itself.
    ///
    /// A channel nobody publishes fails with [`PeerError::ChannelRefused`].
    ///
    /// ```no_run
    /// # async fn run(peer: cloudflare_calls::Peer, publisher: &str) -> Result<(), Box<dyn std::error::Error>> {
    /// use cloudflare_calls::DataChannel;
    /// use cloudflare_calls::peer::Message;
    /// let mut chat = peer.subscribe(DataChannel::subscribe(publisher, "chat").can_reply(true)).await?;
    /// while let Some(message) = chat.recv().await {
    ///     if let Message::Text(text) = message? {
    ///         chat.reply_text(&format!("echo: {text}")).await?;
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn subscribe(&self, channel: DataChannel) -> Result<Subscription> {
        if channel.wire().location != Some(Location::Remote) {
            return Err(Error::InvalidArgument(
                "Peer::subscribe takes DataChannel::subscribe(..)".into(),
            )
            .into());
        }
        match self.open_all(vec![channel]).await?.remove(0)? {
            OpenedChannel::Subscribed(subscription) => Ok(subscription),
            OpenedChannel::Published(_) => Err(PeerError::Closed),
        }
    }

    /// Publishes and subscribes to `channels` with one call to the SFU and one wait (see
    /// `add_channels`): what [`publish`](Self::publish) and [`subscribe`](Self::subscribe)
    /// do for one channel. The outer error is the call's; each channel's own is its item's.
    pub(crate) async fn open_all(
        &self,
        channels: Vec<DataChannel>,
    ) -> Result<Vec<Result<OpenedChannel>>> {
        let (inbounds, inboxes): (Vec<Inbound>, Vec<Option<Inbox>>) = channels
            .iter()
            .map(|c| {
                let (inbound, inbox) = Inbound::new(self.channel_buffer, reliable(c));
                (inbound, Some(inbox))
            })
            .unzip();
        let added = self.add_channels(&channels, inboxes).await?;
        let mut opened = Vec::with_capacity(channels.len());
        for ((channel, inbound), added) in channels.iter().zip(inbounds).zip(added) {
            opened.push(match added {
                Err(e) => Err(e),
                Ok((sender, _)) => finish(channel, inbound, sender).await,
            });
        }
        Ok(opened)
    }

    /// Opens `channels` on the SFU in one call, then each negotiated one here, then waits until
    /// the SFU reports them all active: one call and one wait however many channels there
    /// are, which keeps a busy session under the service's calls per second. The outer error
    /// is the call's; each channel's own refusal is its item's.
    async fn add_channels(
        &self,
        channels: &[DataChannel],
        inboxes: Vec<Option<Inbox>>,
    ) -> Result<Vec<Result<(Sender, u16)>>> {
        self.ensure_transport().await?;
        let call = channels
            .iter()
            .fold(self.session.add_data_channels(), |call, c| {
                call.channel(c.clone())
            });
        let result = call.send().await?;
        let mut added: Vec<Result<(Sender, u16)>> = Vec::with_capacity(channels.len());
        let mut opening = Vec::new();
        for (channel, inbox) in channels.iter().zip(inboxes) {
            let wire = channel.wire();
            let name = wire.data_channel_name.clone().unwrap_or_default();
            let remote = wire.location == Some(Location::Remote);
            let accepted = result.channels.iter().find(|c| {
                c.name.as_deref() == Some(name.as_str())
                    && (!remote || c.session_id == wire.session_id)
            });
            let Some(id) = accepted.and_then(|c| c.id) else {
                let refused = result.failed.iter().find(|f| {
                    f.name.as_deref() == Some(name.as_str())
                        && (f.session_id.is_none() || !remote || f.session_id == wire.session_id)
                });
                added.push(Err(match refused {
                    Some(f) => PeerError::ChannelRefused {
                        name,
                        code: f.code.clone(),
                        description: f.description.clone(),
                    },
                    None => Error::Decode {
                        operation: "add_data_channels",
                        status: None,
                        reason: format!(
                            "the SFU said nothing of channel {name:?}, or gave it no id"
                        ),
                        body: String::new(),
                    }
                    .into(),
                }));
                continue;
            };
            lock(&self.opened).channels.push(channel.clone());
            let reliability = match (wire.max_retransmits, wire.max_packet_life_time) {
                (Some(retransmits), _) => Reliability::MaxRetransmits { retransmits },
                (None, Some(lifetime)) => Reliability::MaxPacketLifetime { lifetime },
                (None, None) => Reliability::Reliable,
            };
            let config = ChannelConfig {
                label: name.clone(),
                ordered: wire.ordered.unwrap_or(true),
                reliability,
                negotiated: Some(id),
                protocol: String::new(),
            };
            let open = self.link.call(|reply| Cmd::OpenChannel {
                config,
                inbox,
                reply,
            });
            let opened = match tokio::time::timeout(self.connect_timeout, open).await {
                Err(_) => Err(PeerError::ConnectTimeout(self.connect_timeout)),
                Ok(r) => r,
            };
            match opened {
                Ok(()) => {
                    opening.push((added.len(), id, name));
                    added.push(Err(PeerError::Closed));
                }
                Err(e) => added.push(Err(e)),
            }
        }
        let waiting: Vec<(u16, &str)> =
            opening.iter().map(|(_, id, n)| (*id, n.as_str())).collect();
        let active = self.until_active_on_the_sfu(&waiting).await?;
        for ((at, id, name), active) in opening.into_iter().zip(active) {
            added[at] = active.map(|()| {
                tracing::debug!(parent: &self.span, channel = %name, id, "data channel open");
                let sender = Sender {
                    cmds: self.link.cmds.clone(),
                    id,
                    name: name.into(),
                };
                (sender, id)
            });
        }
        Ok(added)
    }

    /// Waits until the SFU reports each channel (id, name) active. Our side of a negotiated
    /// channel opens on its own; the SFU's side may open a moment later, and what it forwards
    /// before then can be lost (the emulator drops it). A service that reports no status is
    /// taken at its word; one that never says active within the connect timeout gets a
    /// warning, not an error, since the channel may work anyway. One poll serves every channel.
    async fn until_active_on_the_sfu(&self, channels: &[(u16, &str)]) -> Result<Vec<Result<()>>> {
        let end = Instant::now() + self.connect_timeout;
        let mut pause = Duration::from_millis(5);
        let mut outcome: Vec<Option<Result<()>>> = channels.iter().map(|_| None).collect();
        while outcome.iter().any(Option::is_none) {
            let state = self.session.state().await?;
            let late = Instant::now() >= end;
            for ((id, name), outcome) in channels.iter().zip(outcome.iter_mut()) {
                if outcome.is_some() {
                    continue;
                }
                let status = state
                    .data_channels
                    .iter()
                    .find(|c| c.id == Some(*id))
                    .and_then(|c| c.status.clone());
                *outcome = match status {
                    None | Some(ResourceStatus::Active) => Some(Ok(())),
                    Some(ResourceStatus::Inactive) => {
                        Some(Err(PeerError::ChannelClosed((*name).to_owned())))
                    }
                    Some(_) if late => {
                        tracing::warn!(parent: &self.span, channel = %name, "the SFU does not report the channel active yet");
                        Some(Ok(()))
                    }
                    Some(_) => None,
                };
            }
            if outcome.iter().any(Option::is_none) {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(100));
            }
        }
        Ok(outcome.into_iter().flatten().collect())
    }

    /// Pushes a track whose frames the caller supplies, encoded with `codec`. The SFU offers
    /// the transceiver and the peer answers.
    ///
    /// ```no_run
    /// # async fn run(peer: cloudflare_calls::Peer) -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use cloudflare_calls::peer::{FrameCodec, TestPattern};
    /// let mic = peer.push_track("mic", FrameCodec::Opus).await?;
    /// let cam = peer.push_track("cam", FrameCodec::H264).await?;
    /// let mut pattern = TestPattern::new(320, 240).expect("whole macroblocks");
    /// let second = Duration::from_secs(1);
    /// tokio::try_join!(
    ///     mic.send_silence(second),
    ///     cam.send_test_pattern(&mut pattern, Duration::from_millis(66), second),
    /// )?;
    /// # Ok(()) }
    /// ```
    pub async fn push_track(
        &self,
        name: impl Into<String>,
        codec: FrameCodec,
    ) -> Result<OutgoingTrack> {
        let name: String = name.into();
        let result = self
            .add_track(
                Some(LocalTrack::offered_by_sfu(name.clone(), codec.kind())),
                None,
            )
            .await?;
        let mid = Self::single_mid(&name, result)?;
        lock(&self.opened).mids.push(mid.clone());
        let keyframe_requests = Arc::new(AtomicU64::new(0));
        let track: Arc<str> = name.into();
        self.link
            .cmds
            .send(Cmd::PushTrack {
                mid: mid.clone(),
                name: track.clone(),
                codec,
                keyframe_requests: keyframe_requests.clone(),
            })
            .await
            .map_err(|_| PeerError::Closed)?;
        self.wait_connected().await?;
        Ok(OutgoingTrack {
            cmds: self.link.cmds.clone(),
            name: track,
            mid,
            codec,
            keyframe_requests,
        })
    }

    /// Pulls another session's track; the [`IncomingTrack`] is a stream of its frames. A track
    /// nobody pushes fails with [`PeerError::TracksRefused`].
    ///
    /// ```no_run
    /// # async fn run(peer: cloudflare_calls::Peer, publisher: &str) -> Result<(), Box<dyn std::error::Error>> {
    /// use cloudflare_calls::RemoteTrack;
    /// let mut mic = peer.pull(RemoteTrack::new(publisher, "mic")).await?;
    /// while let Some(frame) = mic.recv().await {
    ///     println!("{} bytes at {:?}", frame.payload.len(), frame.timestamp);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn pull(&self, track: RemoteTrack) -> Result<IncomingTrack> {
        let mut pulled = self.pull_all([track]).await?;
        pulled.pop().ok_or_else(|| {
            Error::Decode {
                operation: "add_tracks",
                status: None,
                reason: "the SFU answered a pull with no track".into(),
                body: String::new(),
            }
            .into()
        })
    }

    /// Pulls several tracks at once: one `add_tracks` call and one renegotiation per 64
    /// tracks, instead of one of each per track. Fails with [`PeerError::TracksRefused`] if
    /// the SFU refuses any of them; the ones it accepted in the same call stay open on the
    /// session (close them with `Session::close_tracks`, or use [`Peer::close`]).
    ///
    /// ```no_run
    /// # async fn run(peer: cloudflare_calls::Peer, publisher: &str) -> Result<(), Box<dyn std::error::Error>> {
    /// use cloudflare_calls::RemoteTrack;
    /// let tracks = peer
    ///     .pull_all([RemoteTrack::new(publisher, "mic"), RemoteTrack::new(publisher, "cam")])
    ///     .await?;
    /// assert_eq!(tracks.len(), 2);
    /// # Ok(()) }
    /// ```
    pub async fn pull_all(
        &self,
        tracks: impl IntoIterator<Item = RemoteTrack>,
    ) -> Result<Vec<IncomingTrack>> {
        let (pulled, refused) = self.pull_available(tracks).await?;
        if !refused.is_empty() {
            return Err(PeerError::TracksRefused(refused));
        }
        Ok(pulled)
    }

    /// Pulls what the SFU has of `tracks`, and says which it refused (unpublished meanwhile,
    /// say): a join takes the room as it finds it.
    pub(crate) async fn pull_available(
        &self,
        tracks: impl IntoIterator<Item = RemoteTrack>,
    ) -> Result<(Vec<IncomingTrack>, Vec<TrackRefusal>)> {
        let requested = Instant::now();
        let tracks: Vec<RemoteTrack> = tracks.into_iter().collect();
        if tracks.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let mut link = self.link.clone();
        let result = self
            .session
            .add_tracks()
            .pull_all(tracks)
            .answerer(&mut link)
            .send()
            .await
            .map_err(PeerError::from)?;
        let mut pulled = Vec::with_capacity(result.tracks.len());
        for track in result.tracks {
            let name = track.track_name.unwrap_or_default();
            let mid = track.mid.ok_or_else(|| Error::Decode {
                operation: "add_tracks",
                status: None,
                reason: "the SFU accepted a track without a mid".into(),
                body: String::new(),
            })?;
            lock(&self.opened).mids.push(mid.clone());
            let (tx, rx) = mpsc::channel(self.frame_buffer);
            let dropped = Arc::new(AtomicU64::new(0));
            let name: Arc<str> = name.into();
            self.link
                .cmds
                .send(Cmd::PullTrack {
                    mid: mid.clone(),
                    name: name.clone(),
                    tx,
                    dropped: dropped.clone(),
                    requested,
                })
                .await
                .map_err(|_| PeerError::Closed)?;
            pulled.push(IncomingTrack {
                rx,
                cmds: self.link.cmds.clone(),
                name,
                mid,
                dropped,
            });
        }
        self.wait_connected().await?;
        Ok((pulled, result.failed))
    }

    async fn add_track(
        &self,
        push: Option<LocalTrack>,
        pull: Option<RemoteTrack>,
    ) -> Result<TracksOutput> {
        let mut link = self.link.clone();
        let mut call = self.session.add_tracks();
        if let Some(t) = push {
            call = call.push(t);
        }
        if let Some(t) = pull {
            call = call.pull(t);
        }
        call.answerer(&mut link)
            .send()
            .await
            .map_err(PeerError::from)
    }

    fn single_mid(name: &str, result: TracksOutput) -> Result<String> {
        if !result.failed.is_empty() {
            let mut refused = result.failed;
            for r in &mut refused {
                r.track_name.get_or_insert_with(|| name.to_owned());
            }
            return Err(PeerError::TracksRefused(refused));
        }
        result
            .tracks
            .into_iter()
            .next()
            .and_then(|t| t.mid)
            .ok_or_else(|| {
                Error::Decode {
                    operation: "add_tracks",
                    status: None,
                    reason: "the SFU accepted a track without a mid".into(),
                    body: String::new(),
                }
                .into()
            })
    }

    /// Sets up the session's data channel transport once, and waits for the connection.
    pub(super) async fn ensure_transport(&self) -> Result<()> {
        let mut done = self.transport.lock().await;
        if *done {
            return Ok(());
        }
        let transport = self.session.establish_data_channels(None).await?;
        let mut link = self.link.clone();
        let _ = transport
            .negotiation
            .settle(&mut link)
            .await
            .map_err(PeerError::from)?;
        self.wait_connected().await?;
        *done = true;
        Ok(())
    }

    async fn wait_connected(&self) -> Result<()> {
        let mut states = self.state.clone();
        let settled =
            states.wait_for(|s| !matches!(s, ConnectionState::New | ConnectionState::Disconnected));
        let state = match tokio::time::timeout(self.connect_timeout, settled).await {
            Err(_) => return Err(PeerError::ConnectTimeout(self.connect_timeout)),
            Ok(Err(_)) => return Err(PeerError::Closed),
            Ok(Ok(s)) => *s,
        };
        match state {
            ConnectionState::Connected => Ok(()),
            ConnectionState::Failed => Err(PeerError::ConnectionFailed),
            _ => Err(PeerError::Closed),
        }
    }

    /// Closes some of the peer's data channels on the SFU, in one call, as named when they
    /// were opened (`DataChannel::publish(name)`, or `DataChannel::subscribe(session, name)`);
    /// the peer's other channels and tracks stay open. Their handles fail with
    /// [`PeerError::ChannelClosed`] once the SFU has closed them. A peer that lives long and
    /// opens and closes many channels closes them this way.
    ///
    /// ```no_run
    /// # async fn run(peer: cloudflare_calls::Peer) -> Result<(), Box<dyn std::error::Error>> {
    /// use cloudflare_calls::DataChannel;
    /// let chat = peer.publish(DataChannel::publish("chat")).await?;
    /// peer.close_channels([DataChannel::publish("chat")]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn close_channels(
        &self,
        channels: impl IntoIterator<Item = DataChannel>,
    ) -> Result<()> {
        let channels: Vec<DataChannel> = channels.into_iter().collect();
        if channels.is_empty() {
            return Ok(());
        }
        let key = |c: &DataChannel| {
            let wire = c.wire();
            (
                wire.location.clone(),
                wire.session_id.clone(),
                wire.data_channel_name.clone(),
            )
        };
        let closing: Vec<_> = channels.iter().map(key).collect();
        lock(&self.opened)
            .channels
            .retain(|c| !closing.contains(&key(c)));
        let call = channels
            .into_iter()
            .fold(self.session.close_data_channels(), |call, c| {
                call.channel(c)
            });
        call.send().await?;
        Ok(())
    }

    /// Closes the peer's tracks (`force`, no renegotiation) and data channels on the SFU, then
    /// stops its task. Handles it gave out fail with [`PeerError::Closed`] afterwards. The
    /// task stops even when the SFU calls fail; the first failure is returned.
    pub async fn close(mut self) -> Result<()> {
        let opened = std::mem::take(&mut *lock(&self.opened));
        let mut first_error = None;
        if !opened.mids.is_empty() {
            let closed = self
                .session
                .close_tracks(opened.mids, CloseMode::Force)
                .send()
                .await;
            first_error = closed.err();
        }
        if !opened.channels.is_empty() {
            let mut call = self.session.close_data_channels();
            for c in opened.channels {
                call = call.channel(c);
            }
            if let Err(e) = call.send().await {
                first_error.get_or_insert(e);
            }
        }
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        tracing::debug!(parent: &self.span, "peer closed");
        first_error.map_or(Ok(()), |e| Err(e.into()))
    }
}

impl Peer {
    /// Ends the peer's task without closing anything on the SFU: for an owner (a room) that
    /// closed the peer's tracks and channels itself.
    #[cfg(feature = "room")]
    pub(crate) async fn stop(mut self) {
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // Handles given out keep the command channel open, so ending the task is explicit.
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Answerer for Peer {
    /// Applies the SFU's offer to the peer's WebRTC stack and returns its answer, for
    /// negotiations the app drives itself on [`Peer::session`].
    async fn answer(&mut self, offer: Offer) -> Result<Answer, BoxError> {
        self.link.answer(offer).await
    }
}

/// Whether a channel retransmits until delivered (no retransmit or lifetime limit).
/// A channel [`Peer::open_all`] opened.
pub(crate) enum OpenedChannel {
    Published(Publisher),
    Subscribed(Subscription),
}

/// The handle of a channel opened on the SFU and here. The SFU holds a `waitForAck`
/// subscription's messages until the subscriber's first one, which it consumes: the peer
/// sends it.
async fn finish(channel: &DataChannel, inbound: Inbound, sender: Sender) -> Result<OpenedChannel> {
    let wire = channel.wire();
    if wire.location != Some(Location::Remote) {
        return Ok(OpenedChannel::Published(Publisher {
            sender,
            replies: Arc::new(std::sync::Mutex::new(Some(Replies { inbound }))),
        }));
    }
    if wire.wait_for_ack == Some(true) {
        sender.send(false, b"ack".to_vec()).await?;
    }
    Ok(OpenedChannel::Subscribed(Subscription {
        inbound,
        sender,
        can_reply: wire.can_reply == Some(true),
        publisher: wire.session_id.clone().unwrap_or_default(),
    }))
}

fn reliable(channel: &DataChannel) -> bool {
    let wire = channel.wire();
    wire.max_retransmits.is_none() && wire.max_packet_life_time.is_none()
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answerer_failures_of_the_peer_stay_typed() {
        let e = PeerError::from(Error::Answerer(Box::new(PeerError::Closed)));
        assert!(matches!(e, PeerError::Closed), "{e:?}");
        let other = PeerError::from(Error::Answerer("nope".into()));
        assert!(matches!(other, PeerError::Api(Error::Answerer(_))));
    }
}
