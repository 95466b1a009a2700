//! [`RoomPeer`]: a server-side [`Peer`] as a room participant, standing in for a browser.

use std::collections::VecDeque;
use std::future::Future;
use std::time::Duration;

use super::error::Result;
use super::error::RoomError;
use super::event::{PARTICIPANT_CHANNEL, room_channel};
use super::event::{RoomEvent, RoomUpdate, TrackInfo};
use super::join::{Join, counted, tracks_in, undo};
use super::participant::{Participant, ParticipantView, RoomChannels};
use super::room::{Room, close_unlisted};
use crate::error::ErrorCode;
use crate::peer::{
    ConnectPeer, FrameCodec, IncomingTrack, Message, OutgoingTrack, Peer, PeerError, Publisher,
    Replies, Subscription,
};
use crate::session::data_channels::DataChannel;
use crate::session::tracks::TrackRefusal;

/// How long a join waits for the room to relay its arrival.
const ANNOUNCE_WAIT: Duration = Duration::from_secs(5);

/// A room participant driven by this process: a [`Peer`] on the room channel.
///
/// ```no_run
/// # async fn run(client: cloudflare_calls::Client, room: cloudflare_calls::room::Room) -> Result<(), Box<dyn std::error::Error>> {
/// use cloudflare_calls::peer::FrameCodec;
/// let mut bot = room.join("bot").connect(client.peer()).await?;
/// let mic = bot.publish_track("mic", FrameCodec::Opus).await?;
/// while let Some(update) = bot.recv().await {
///     println!("{}: {:?}", update.seq, update.event);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct RoomPeer {
    participant: Participant,
    peer: Peer,
    updates: Subscription,
    outbox: Publisher,
    direct: Option<Replies>,
    tracks: Vec<IncomingTrack>,
    not_pulled: Vec<TrackRefusal>,
    seq: u64,
    participants: Vec<ParticipantView>,
    /// The `seq` of the last update [`recv`](Self::recv) returned (at first, the view's).
    last: u64,
    /// Updates [`recv`](Self::recv) returns before reading the channels: those read while the
    /// join waited for its announcement, and after a [`RoomEvent::HostChanged`], those read
    /// from the room's log.
    backlog: VecDeque<RoomUpdate>,
    /// Updates up to this `seq` came from the log; a copy from a channel is dropped.
    covered: u64,
}

impl Join<'_> {
    /// Joins with a server-side peer built by `peer` (e.g. `client.peer()`): it connects,
    /// reaches the room channel, pulls the room's tracks and is announced.
    pub async fn connect(self, peer: ConnectPeer) -> Result<RoomPeer> {
        let started = std::time::Instant::now();
        let joined = self.connect_peer(peer).await;
        counted("server", started, joined.is_ok());
        joined
    }

    async fn connect_peer(self, peer: ConnectPeer) -> Result<RoomPeer> {
        let room = self.room.clone();
        // The reservation's publishers are not used: a server-side join pulls the tracks of a
        // snapshot read once it is subscribed to the host's channel (below), so that no track
        // falls between the two.
        let (record, _) = self.reserve().await?;
        let id = record.info.id.clone();
        let joined = async {
            let peer = peer.correlation_id(room.id()).connect().await?;
            let setup = async {
                let mut record = record;
                record.info.session_id = peer.session().id().to_owned();
                room.save(record.clone()).await?;
                let host = room.host().await?;
                let outbox = peer
                    .publish(DataChannel::publish(PARTICIPANT_CHANNEL))
                    .await?;
                let updates = subscribe_to_host(&room, &peer, host).await?;
                // Subscribed first, so every update after this snapshot reaches the peer; the
                // tracks pulled are the snapshot's, so none falls between the two.
                let snapshot = room.snapshot().await?;
                let wanted = tracks_in(&snapshot.participants, &record);
                let (tracks, not_pulled) = peer
                    .pull_available(wanted.iter().map(TrackInfo::remote))
                    .await?;
                record.pulled = tracks.iter().map(|t| t.mid().to_owned()).collect();
                let participant = Participant::new(room.clone(), record.info.clone());
                record.channels = true;
                participant.announce_record(record).await?;
                room.repair_ghosts(&not_pulled).await;
                let (seq, participants) = RoomChannels::view(snapshot);
                let set = (participant, outbox, updates, tracks, not_pulled);
                Ok::<_, RoomError>((set, seq, participants))
            };
            let ((participant, outbox, updates, tracks, not_pulled), seq, participants) = match setup
                .await
            {
                Ok(set) => set,
                Err(e) => {
                    // The store's record does not list what the peer opened before the
                    // failure (its own channel, say), and the peer does not know what the SFU
                    // opened for a call that failed (the pulls of one it refused a track of):
                    // everything the SFU says the session has is closed, then the peer.
                    if let Err(close) = close_unlisted(peer.session(), &[], true).await {
                        tracing::warn!(room = room.id(), error = %close, "closing a failed join's tracks");
                    }
                    if let Err(close) = peer.close().await {
                        tracing::warn!(room = room.id(), error = %close, "closing a failed join's peer");
                    }
                    return Err(e);
                }
            };
            let mut joined = RoomPeer {
                direct: outbox.take_replies(),
                participant,
                peer,
                updates,
                outbox,
                tracks,
                not_pulled,
                seq,
                participants,
                last: seq,
                backlog: VecDeque::new(),
                covered: seq,
            };
            joined.until_announced().await;
            Ok::<_, RoomError>(joined)
        }
        .await;
        if joined.is_err() {
            undo(&room, &id, None).await;
        }
        joined
    }
}

impl RoomPeer {
    /// The participant.
    pub fn participant(&self) -> &Participant {
        &self.participant
    }

    /// The peer, for anything the room does not wrap.
    pub fn peer(&self) -> &Peer {
        &self.peer
    }

    /// The room just before this participant was announced, and the `seq` it reflects:
    /// every update after `seq` reaches [`recv`](Self::recv), starting with this
    /// participant's own `participant_joined`.
    pub fn view(&self) -> (u64, &[ParticipantView]) {
        (self.seq, &self.participants)
    }

    /// The room's tracks the join could not pull: the SFU refused them (unpublished
    /// meanwhile, or gone from the SFU while the room still listed them, which the join
    /// reports to the room so it announces them gone).
    pub fn not_pulled(&self) -> &[TrackRefusal] {
        &self.not_pulled
    }

    /// The tracks pulled so far and not taken yet: those of the room at join, then those of
    /// [`RoomPeer::pull`].
    pub fn take_tracks(&mut self) -> Vec<IncomingTrack> {
        std::mem::take(&mut self.tracks)
    }

    /// Publishes a track and announces it; send media on the returned track.
    pub async fn publish_track(
        &self,
        name: impl Into<String>,
        codec: FrameCodec,
    ) -> Result<OutgoingTrack> {
        let mut tracks = self.publish_tracks([(name.into(), codec)]).await?;
        Ok(tracks.remove(0))
    }

    /// Publishes several tracks and announces them together, in one
    /// [`RoomEvent::TracksPublished`](super::RoomEvent::TracksPublished): others pull them in one call.
    ///
    /// All or nothing: if one fails, the tracks pushed before it are closed and none is
    /// recorded or announced.
    pub async fn publish_tracks(
        &self,
        tracks: impl IntoIterator<Item = (String, FrameCodec)>,
    ) -> Result<Vec<OutgoingTrack>> {
        let room = self.participant.room();
        let session_id = self.peer.session().id().to_owned();
        let tracks: Vec<(String, FrameCodec)> = tracks.into_iter().collect();
        let publish = async {
            // A participant removed meanwhile publishes nothing.
            self.participant.record().await?;
            let mut pushed = Vec::with_capacity(tracks.len());
            let mut infos = Vec::with_capacity(tracks.len());
            for (name, codec) in tracks {
                let track = self.peer.push_track(name.clone(), codec).await?;
                let info = TrackInfo {
                    session_id: session_id.clone(),
                    name,
                    kind: codec.kind(),
                };
                pushed.push(track);
                infos.push(info);
            }
            let mut record = self.participant.record().await?;
            let mids = pushed.iter().map(|t| t.mid().to_owned());
            record.published.extend(mids.zip(infos.iter().cloned()));
            room.save(record).await?;
            // Announced under the lease, so a removal waiting for it announces after it.
            room.announce_tracks(self.participant.id(), &infos, true)
                .await?;
            Ok(pushed)
        };
        room.leased(&session_id, self.or_close_unrecorded(publish))
            .await
    }

    /// Pulls published tracks, such as those of a [`RoomEvent::TracksPublished`](super::RoomEvent::TracksPublished), in one
    /// call per 64.
    ///
    /// All or nothing: if the SFU refuses one (unpublished meanwhile), the others are closed
    /// and none is recorded.
    pub async fn pull(&self, tracks: &[TrackInfo]) -> Result<Vec<IncomingTrack>> {
        let room = self.participant.room();
        let session_id = self.peer.session().id().to_owned();
        let pull = async {
            self.participant.record().await?;
            let incoming = self
                .peer
                .pull_all(tracks.iter().map(TrackInfo::remote))
                .await?;
            let mut record = self.participant.record().await?;
            record
                .pulled
                .extend(incoming.iter().map(|t| t.mid().to_owned()));
            room.save(record).await?;
            Ok(incoming)
        };
        room.leased(&session_id, self.or_close_unrecorded(pull))
            .await
    }

    /// Runs a change of the session (under its lease); if it fails, closes the tracks the
    /// SFU has in the session that the store's record does not list: those the change opened
    /// before failing (a track pushed whose renegotiation failed, the pulls of a call the SFU
    /// refused one of), or all of them if the participant was removed meanwhile. The record
    /// and the SFU agree again; the change's error is returned.
    async fn or_close_unrecorded<T>(&self, change: impl Future<Output = Result<T>>) -> Result<T> {
        let failed = match change.await {
            Ok(done) => return Ok(done),
            Err(e) => e,
        };
        let listed = match self.participant.record().await {
            Ok(record) => Ok(record.mids()),
            Err(RoomError::ParticipantNotFound { .. }) => Ok(Vec::new()),
            Err(e) => Err(e),
        };
        let session = self.peer.session();
        let closed = async { close_unlisted(session, &listed?, false).await };
        if let Err(e) = closed.await {
            tracing::warn!(session_id = session.id(), error = %e, "closing what a failed change opened");
        }
        Err(failed)
    }

    /// Sends a text message to the server; the room announces it as a
    /// [`RoomEvent::Message`](super::RoomEvent::Message) from this participant.
    pub async fn send_text(&self, text: &str) -> Result<()> {
        Ok(self.outbox.send_text(text).await?)
    }

    /// Sends a binary message to the server.
    pub async fn send_binary(&self, data: &[u8]) -> Result<()> {
        Ok(self.outbox.send_binary(data).await?)
    }

    /// The next update for this participant: from the room channel, or a direct message
    /// from the server. `None` once both channels are closed (it left or was removed).
    ///
    /// When another backend process takes the room over ([`RoomEvent::HostChanged`]), the
    /// peer moves to the new room channel and reads what it missed from the room's log: the
    /// updates keep coming in order, none twice.
    pub async fn recv(&mut self) -> Option<RoomUpdate> {
        loop {
            if let Some(update) = self.backlog.pop_front() {
                self.last = self.last.max(update.seq);
                return Some(update);
            }
            let update = self.next_update().await?;
            if update.seq <= self.covered {
                continue;
            }
            if let RoomEvent::HostChanged { host_session_id } = &update.event {
                if let Err(e) = self.move_to(host_session_id, update.seq).await {
                    // Still on the old channel, which no longer carries anything: the next
                    // update will not come, and the caller sees the room's silence.
                    tracing::warn!(error = %e, "following the room to its new host");
                }
                continue;
            }
            self.last = self.last.max(update.seq);
            return Some(update);
        }
    }

    /// Subscribes to the new host's room channel, then queues every update after the last one
    /// returned that the log holds by then: one appended later comes on the new channel, which
    /// was listening already. `seq` is the `HostChanged`'s.
    async fn move_to(&mut self, host_session_id: &str, seq: u64) -> Result<()> {
        let room = self.participant.room();
        let name = room_channel(room.id());
        let channel = DataChannel::subscribe(host_session_id, name).wait_for_ack(true);
        self.updates = self.peer.subscribe(channel).await?;
        let missed = room.store().updates_after(room.id(), self.last).await?;
        let me = self.participant.id();
        self.covered = missed.last().map_or(seq, |u| u.seq.max(seq));
        self.backlog = missed.into_iter().filter(|u| u.is_for(me)).collect();
        Ok(())
    }

    /// Waits (at most [`ANNOUNCE_WAIT`]) until the room channel carries this participant's
    /// arrival: the host relays it once it reads the participant's channel, so a message sent
    /// as soon as the join returns is not lost. What comes meanwhile is kept for `recv`.
    async fn until_announced(&mut self) {
        let me = self.participant.id().to_owned();
        let mut kept = VecDeque::new();
        let heard = async {
            while let Some(update) = self.recv().await {
                let mine = matches!(&update.event,
                    RoomEvent::ParticipantJoined { participant } if participant.id == me);
                kept.push_back(update);
                if mine {
                    return;
                }
            }
        };
        if tokio::time::timeout(ANNOUNCE_WAIT, heard).await.is_err() {
            tracing::warn!(participant = %me, "the room did not relay this join in time");
        }
        kept.append(&mut self.backlog);
        self.backlog = kept;
    }

    /// The next update from either channel.
    async fn next_update(&mut self) -> Option<RoomUpdate> {
        loop {
            let message = match &mut self.direct {
                Some(direct) => tokio::select! {
                    m = self.updates.recv() => m,
                    m = direct.recv() => match m {
                        Some(m) => Some(m),
                        None => { self.direct = None; continue; }
                    },
                },
                None => self.updates.recv().await,
            };
            match message? {
                Ok(Message::Text(text)) => {
                    if let Some(update) = RoomUpdate::from_json(&text) {
                        return Some(update);
                    }
                    tracing::debug!("ignoring a room channel message that is not an update");
                }
                Ok(Message::Binary(_)) => {}
                Err(e) => tracing::warn!(error = %e, "room channel"),
            }
        }
    }

    /// Like [`RoomPeer::recv`], giving up after `timeout`.
    pub async fn recv_timeout(&mut self, timeout: Duration) -> Option<RoomUpdate> {
        tokio::time::timeout(timeout, self.recv())
            .await
            .ok()
            .flatten()
    }

    /// Leaves the room and stops the peer. The room closes its tracks and channels on the
    /// SFU, so the peer does not close them again.
    pub async fn leave(self) -> Result<()> {
        self.participant.clone().leave().await?;
        self.peer.stop().await;
        Ok(())
    }
}

/// Subscribes `peer` to the room channel of the room's host, read as `host`. A host that
/// handed the room over since (a deploy) has closed its channel, and the SFU answers
/// `not_found`: then the channel of the host the record names now is subscribed to.
async fn subscribe_to_host(room: &Room, peer: &Peer, mut host: String) -> Result<Subscription> {
    loop {
        let channel = DataChannel::subscribe(&host, room_channel(room.id())).wait_for_ack(true);
        match peer.subscribe(channel).await {
            Err(
                refused @ PeerError::ChannelRefused {
                    code: ErrorCode::NotFound,
                    ..
                },
            ) => {
                let now = room.host().await?;
                if now == host {
                    return Err(refused.into());
                }
                tracing::debug!(room = room.id(), "the room's host moved while joining");
                host = now;
            }
            subscribed => return Ok(subscribed?),
        }
    }
}
