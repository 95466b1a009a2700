//! The host of a room: its room channel on one of the process's host peers (see
//! `host_peers`), the relay of the store's events to it, the participants' channels to the
//! server, and the health checks.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use futures_util::{FutureExt, StreamExt};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::error::{Result, RoomError};
use super::event::{LeaveReason, Payload, Role, RoomEvent, RoomUpdate};
use super::event::{PARTICIPANT_CHANNEL, room_channel};
use super::host_peers::HostPeer;
use super::join::now_ms;
use super::room::{Room, close_unlisted, persist};
use super::shared::HostHandle;
use super::store::EventStream;
use super::store::{ParticipantRecord, RoomRecord};
use crate::metrics;
use crate::peer::{Message, Publisher, Subscription};
use crate::session::data_channels::DataChannel;

/// How many health intervals a join may hold a place without a session (a minute by default):
/// a live join makes its session within its first call to the SFU.
const RESERVATION_LAPSE: u32 = 12;

/// At most this many updates relayed (and their participants followed) together.
const RELAYED_TOGETHER: usize = 64;

/// Publishes the room channel on one of the process's host peers.
async fn connect(room: &Room) -> Result<(Arc<HostPeer>, Publisher)> {
    let peers = room.host_peers();
    let peer = peers.acquire(room.client(), &room.node()).await?;
    match peer
        .publish(DataChannel::publish(room_channel(room.id())))
        .await
    {
        Ok(channel) => Ok((peer, channel)),
        Err(e) => {
            peers.release(peer).await;
            Err(e.into())
        }
    }
}

/// What a host of `room` has open on its session: the room channel, and its subscriptions to
/// the participants' channels of `sessions`.
fn host_channels<'a>(
    room: &Room,
    sessions: impl IntoIterator<Item = &'a String>,
) -> Vec<DataChannel> {
    let mut channels = vec![DataChannel::publish(room_channel(room.id()))];
    for session_id in sessions {
        channels.push(DataChannel::subscribe(session_id, PARTICIPANT_CHANNEL));
    }
    channels
}

/// Closes what a host opened on `peer` for `room` (see [`host_channels`]), then gives the
/// peer back.
async fn disconnect(room: &Room, peer: Arc<HostPeer>, sessions: &[String]) {
    if let Err(e) = peer.close_channels(host_channels(room, sessions)).await {
        tracing::warn!(error = %e, "closing the room's channels");
    }
    room.host_peers().release(peer).await;
}

/// Connects the room's peer, publishes the room channel, stores the room (`record`, with this
/// process as its host) and starts its task.
pub(super) async fn start(room: Room, mut record: RoomRecord) -> Result<HostHandle> {
    // Before the SFU is asked: the room's channel is published already on a peer this
    // process shares, and the SFU would refuse it as such.
    match room.snapshot().await {
        Ok(taken) if !taken.room.closed => return Err(RoomError::RoomExists(record.id)),
        Ok(_) | Err(RoomError::RoomNotFound(_)) => {}
        Err(e) => return Err(e),
    }
    let (peer, channel) = connect(&room).await?;
    record.host_session_id = peer.session_id().to_owned();
    record.host_node = room.node();
    if let Err(e) = room.store().create_room(record.clone()).await {
        disconnect(&room, peer, &[]).await;
        return Err(e);
    }
    let events = match room.events().await {
        Ok(events) => events,
        Err(e) => {
            disconnect(&room, peer, &[]).await;
            return Err(e);
        }
    };
    // Beaten first: a node that hosts a room is known to the store before it could die.
    let node = room.node();
    let beaten = room.store().beat(&node, room.takeover_after()).await;
    let hosted = room.store().hosts(&node, room.id(), true).await;
    if let Err(e) = beaten.and(hosted) {
        tracing::warn!(room = room.id(), error = %e, "recording the room's host");
    }
    Ok(spawn(room, peer, channel, record, events, Vec::new()))
}

/// Takes the room over from the node `from`, whose beat lapsed: connects a peer of this
/// process, makes it the room's host in the store, closes the old host's session, follows the
/// participants' channels and announces [`RoomEvent::HostChanged`], which goes to each
/// participant directly as well as on the new room channel. `None` when the room needs no
/// host from here (it closed, or another process took it first).
pub(super) async fn take_over(room: Room) -> Result<Option<HostHandle>> {
    let snapshot = room.snapshot().await?;
    let record = snapshot.room;
    if record.closed {
        return Ok(None);
    }
    let (peer, channel) = connect(&room).await?;
    let session_id = peer.session_id().to_owned();
    let node = room.node();
    let events = async {
        if !room
            .store()
            .set_host(room.id(), &record.host_node, &node, &session_id)
            .await?
        {
            return Ok(None);
        }
        room.events().await.map(Some)
    };
    let events = match events.await {
        Ok(Some(events)) => events,
        other => {
            disconnect(&room, peer, &[]).await;
            return other.map(|_| None);
        }
    };
    let followed: Vec<(String, String)> = snapshot
        .participants
        .into_iter()
        .filter(|p| p.channels && !p.info.session_id.is_empty())
        .map(|p| (p.info.id, p.info.session_id))
        .collect();
    // The old host's session may live on at the SFU for a while, carrying other rooms; this
    // room's channels on it must not. Closed beside the takeover: a dead node's session closes
    // at the SFU anyway when it falls silent, and the calls of many rooms taken at once wait
    // on that session's rate limit.
    let old = room.client().session(&record.host_session_id);
    let channels = host_channels(&room, followed.iter().map(|(_, session)| session));
    let closing = async move {
        let call = channels
            .into_iter()
            .fold(old.close_data_channels(), |call, c| call.channel(c));
        if let Err(e) = call.send().await {
            tracing::debug!(error = %e, "closing the old host's channels");
        }
    };
    tokio::spawn(closing.in_current_span());
    let handle = spawn(room.clone(), peer, channel, record, events, followed);
    room.append(RoomEvent::HostChanged {
        host_session_id: session_id,
    })
    .await?;
    tracing::info!(room = room.id(), "took the room over");
    Ok(Some(handle))
}

/// Starts the host's task; it follows `followed` (participant id, session id) first.
fn spawn(
    room: Room,
    peer: Arc<HostPeer>,
    channel: Publisher,
    record: RoomRecord,
    events: EventStream,
    followed: Vec<(String, String)>,
) -> HostHandle {
    let (stop, stopped) = oneshot::channel();
    let (relayed, follow) = watch::channel(0);
    room.follow_relay(Some(follow));
    let span = tracing::info_span!("room_host", room = room.id());
    let host = Host {
        relayed,
        room,
        peer,
        channel,
        inboxes: HashMap::new(),
        record,
        empty_since: Some(Instant::now()),
        removing: HashMap::new(),
    };
    let peer = host.peer.clone();
    let task = tokio::spawn(host.run(events, stopped, followed).instrument(span));
    HostHandle::new(stop, task, peer)
}

struct Host {
    /// The `seq` of the last update relayed, for removals waiting to close channels.
    relayed: watch::Sender<u64>,
    room: Room,
    peer: Arc<HostPeer>,
    channel: Publisher,
    /// Per participant: where to queue the server's direct messages to it.
    inboxes: HashMap<String, Inbox>,
    /// The room's settings, as stored when this host took it.
    record: RoomRecord,
    empty_since: Option<Instant>,
    /// Per participant: the task removing it (see [`Host::remove_aside`]).
    removing: HashMap<String, JoinHandle<()>>,
}

struct Inbox {
    session_id: String,
    direct: mpsc::UnboundedSender<String>,
    task: JoinHandle<()>,
}

impl Host {
    async fn run(
        mut self,
        events: EventStream,
        mut stopped: oneshot::Receiver<()>,
        followed: Vec<(String, String)>,
    ) {
        metrics::gauge(metrics::ROOMS_HOSTED, &[], 1.0);
        self.follow(followed).await;
        let mut events = events.peekable();
        let mut ended = false;
        let health = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(health);
        loop {
            tokio::select! {
                update = events.next() => match update {
                    Some(Ok(update)) => {
                        // With what else has come: the participants they bring in are
                        // followed together, in one call when the peer is busy.
                        let mut updates = vec![update];
                        while updates.len() < RELAYED_TOGETHER {
                            match std::pin::Pin::new(&mut events).next_if(Result::is_ok).now_or_never() {
                                Some(Some(Ok(update))) => updates.push(update),
                                _ => break,
                            }
                        }
                        let joined = updates
                            .iter()
                            .any(|u| matches!(u.event, RoomEvent::ParticipantJoined { .. }));
                        if self.relay_all(updates).await {
                            ended = true;
                            break;
                        }
                        // An empty room that someone joined is checked again from now on.
                        if joined && self.empty_since.take().is_some() {
                            let next = Instant::now() + self.record.health_interval;
                            health.as_mut().reset(next.into());
                        }
                    }
                    Some(Err(RoomError::RoomLost(_))) => {
                        self.lost().await;
                        ended = true;
                        break;
                    }
                    Some(Err(e)) => tracing::warn!(error = %e, "room events"),
                    None => break,
                },
                _ = &mut health => {
                    if let Err(e) = self.check_health().await {
                        tracing::warn!(error = %e, "room health check");
                    }
                    health.as_mut().reset(self.next_check());
                }
                _ = &mut stopped => break,
            }
        }
        for (_, task) in self.removing.drain() {
            task.abort();
        }
        let mut followed = Vec::new();
        for (_, inbox) in self.inboxes.drain() {
            inbox.task.abort();
            followed.push(inbox.session_id);
            metrics::gauge(metrics::ROOM_PARTICIPANTS, &[], -1.0);
        }
        metrics::gauge(metrics::ROOMS_HOSTED, &[], -1.0);
        disconnect(&self.room, self.peer.clone(), &followed).await;
        // A room that ended needs no host; one whose host was stopped (this process lost it,
        // or shuts down) stays on the node's list, for whoever takes the node's rooms.
        if ended {
            let (store, node) = (self.room.store(), self.room.node());
            if let Err(e) = store.hosts(&node, self.room.id(), false).await {
                tracing::debug!(error = %e, "forgetting the room's host");
            }
        }
        // A room that closed itself (empty for its timeout) leaves nothing in `Rooms`.
        drop(self.room.forget_host());
        self.room.follow_relay(None);
        tracing::debug!("room host stopped");
    }

    /// Relays `updates` in order, having followed the participants who joined in them first
    /// (a participant may send as soon as it hears its join); whether the room closed.
    async fn relay_all(&mut self, updates: Vec<RoomUpdate>) -> bool {
        let joined = updates.iter().filter_map(|u| match &u.event {
            RoomEvent::ParticipantJoined { participant } => {
                Some((participant.id.clone(), participant.session_id.clone()))
            }
            _ => None,
        });
        self.follow(joined.collect()).await;
        for update in updates {
            let closed = update.event == RoomEvent::RoomClosed;
            self.relay(update).await;
            if closed {
                return true;
            }
        }
        false
    }

    /// Sends an update where it goes, and stops following participants who left.
    async fn relay(&mut self, update: RoomUpdate) {
        metrics::count(metrics::ROOM_UPDATES_RELAYED, &[], 1);
        let json = update.to_json();
        match &update.event {
            RoomEvent::Message { to: Some(to), .. } => {
                if let Some(inbox) = self.inboxes.get(to) {
                    let _ = inbox.direct.send(json);
                }
                self.relayed.send_replace(update.seq);
            }
            RoomEvent::HostChanged { .. } => {
                // The participants still listen on the old room channel: each is told on its
                // own channel, which this host follows since it took over.
                for inbox in self.inboxes.values() {
                    let _ = inbox.direct.send(json.clone());
                }
                self.send(&json, update.seq).await;
            }
            RoomEvent::ParticipantLeft {
                participant,
                reason,
            } => {
                // The room stops reading the participant's channel first, so once anyone
                // has the event (its removal waits for it before closing the participant's
                // channels; the others read it on the room channel), nothing of it is left
                // open on the room's side.
                self.unfollow(&participant.id).await;
                self.send(&json, update.seq).await;
                let ends =
                    participant.role == Role::Broadcaster && *reason != LeaveReason::RoomClosed;
                if ends && self.record.ends_with_broadcaster {
                    tracing::info!(?reason, "the broadcaster left: closing the room");
                    // Apart, as the closing waits for this host to relay each removal.
                    let room = self.room.clone();
                    tokio::spawn(
                        async move {
                            if let Err(e) = room.shut().await {
                                tracing::warn!(error = %e, "closing the room after its broadcaster");
                            }
                        }
                        .in_current_span(),
                    );
                }
            }
            _ => self.send(&json, update.seq).await,
        }
    }

    /// The store lost the room: its participants are told it closed (numbered after the
    /// last update they had), and what they had open on the SFU is closed, since no record
    /// is left to say what it was. The host then stops.
    async fn lost(&mut self) {
        tracing::warn!("the store lost the room: closing it for its participants");
        let seq = *self.relayed.borrow() + 1;
        let closed = RoomUpdate::new(seq, RoomEvent::RoomClosed);
        self.send(&closed.to_json(), seq).await;
        let sessions: Vec<String> = self
            .inboxes
            .values()
            .map(|i| i.session_id.clone())
            .collect();
        for session_id in sessions {
            let session = self.room.client().session(&session_id);
            if let Err(e) = close_unlisted(&session, &[], true).await {
                tracing::warn!(session_id, error = %e, "closing a lost room's participant");
            }
        }
    }

    /// Sends an update on the room channel and marks it relayed.
    async fn send(&self, json: &str, seq: u64) {
        if let Err(e) = self.channel.send_text(json).await {
            tracing::warn!(error = %e, seq, "relaying to the room channel");
        }
        self.relayed.send_replace(seq);
    }

    /// Subscribes to participants' channels (participant id, session id), all at once: their
    /// messages become room events, and the server's direct messages to them go back as
    /// replies. A transient failure is tried again (a participant's messages are lost until
    /// the host reads its channel).
    async fn follow(&mut self, participants: Vec<(String, String)>) {
        let peer = &self.peer;
        let subscribing = participants
            .into_iter()
            .map(|(participant, session_id)| async move {
                let channel =
                    DataChannel::subscribe(&session_id, PARTICIPANT_CHANNEL).can_reply(true);
                let subscribed = persist(|| peer.subscribe(channel.clone())).await;
                (participant, session_id, subscribed)
            });
        for (participant, session_id, subscribed) in join_all(subscribing).await {
            let subscription = match subscribed {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(participant, error = %e, "cannot read the participant's channel");
                    continue;
                }
            };
            let (direct, outgoing) = mpsc::unbounded_channel();
            let task = tokio::spawn(
                serve(
                    self.room.clone(),
                    participant.clone(),
                    subscription,
                    outgoing,
                )
                .in_current_span(),
            );
            let inbox = Inbox {
                session_id,
                direct,
                task,
            };
            match self.inboxes.insert(participant, inbox) {
                Some(old) => old.task.abort(),
                None => metrics::gauge(metrics::ROOM_PARTICIPANTS, &[], 1.0),
            }
        }
    }

    async fn unfollow(&mut self, participant: &str) {
        let Some(inbox) = self.inboxes.remove(participant) else {
            return;
        };
        metrics::gauge(metrics::ROOM_PARTICIPANTS, &[], -1.0);
        inbox.task.abort();
        // Tried again while it fails transiently: nobody else would close it.
        let closed = persist(|| {
            let channel = DataChannel::subscribe(&inbox.session_id, PARTICIPANT_CHANNEL);
            self.peer.close_channels(vec![channel])
        })
        .await;
        if let Err(e) = closed {
            tracing::warn!(participant, error = %e, "closing the participant's channel");
        }
    }

    /// Removes participants whose sessions died, and closes the room once it has been
    /// empty for its timeout.
    async fn check_health(&mut self) -> Result<()> {
        let snapshot = self.room.snapshot().await?;
        if snapshot.participants.is_empty() {
            let since = *self.empty_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= self.record.empty_timeout {
                tracing::info!("closing the room: empty for its timeout");
                return self.room.shut().await;
            }
            return Ok(());
        }
        self.empty_since = None;
        self.removing.retain(|_, task| !task.is_finished());
        for p in snapshot.participants {
            if self.removing.contains_key(&p.info.id) {
                continue;
            }
            let (id, room) = (p.info.id.clone(), self.room.clone());
            // A removal whose process died midway (the reason in its mark wins over this one),
            // or a join whose process died before it made a session.
            if p.leaving.is_some() || self.is_stale_reservation(&p) {
                let remove = async move { room.remove(&id, LeaveReason::Expired).await };
                self.remove_aside(p.info.id, remove, "removed what a dead process left behind");
                continue;
            }
            if p.info.session_id.is_empty() {
                continue;
            }
            if !is_dead(&self.room, &p).await {
                continue;
            }
            // Decided again under the lease on its session, on its record as it is then: a
            // change that was in flight (an unpublish closing its last track, say) has
            // finished, and the record read before it would make a live participant look dead.
            let key = p.info.id.clone();
            let remove = async move {
                let decide = async {
                    let snapshot = room.snapshot().await?;
                    let current = snapshot.participants.into_iter().find(|c| c.info.id == id);
                    match current {
                        Some(current) if is_dead(&room, &current).await => {
                            room.remove_leased(&id, LeaveReason::Expired).await
                        }
                        _ => Ok(false),
                    }
                };
                room.leased(&p.info.session_id, decide).await
            };
            self.remove_aside(key, remove, "removed a participant whose session died");
        }
        Ok(())
    }

    /// When to check the room's health next: after its health interval, or, for a room with
    /// nobody in it, when it will have been empty for its timeout (a join wakes it earlier).
    /// Idle empty rooms then cost their host no wake-ups; a place a join took and never used
    /// (its process died before it made a session) is found at that check.
    fn next_check(&self) -> tokio::time::Instant {
        let interval = Instant::now() + self.record.health_interval;
        let at = match self.empty_since {
            Some(since) => (since + self.record.empty_timeout).max(interval),
            None => interval,
        };
        at.into()
    }

    /// Runs a removal in a task of its own, one per participant at a time. A removal waits
    /// for the lease on the participant's session, which a change in flight holds, or a
    /// process that died holding it until the lease lapses (30 s); meanwhile the host goes on
    /// relaying, what the removal announces included.
    fn remove_aside(
        &mut self,
        participant: String,
        removal: impl Future<Output = Result<bool>> + Send + 'static,
        done: &'static str,
    ) {
        let id = participant.clone();
        let task = async move {
            match removal.await {
                Ok(true) => tracing::info!(participant = %id, "{done}"),
                Ok(false) => {}
                Err(e) => tracing::warn!(participant = %id, error = %e, "removing a participant"),
            }
        };
        let task = tokio::spawn(task.in_current_span());
        self.removing.insert(participant, task);
    }

    /// Whether a participant's join took its place but made no session for
    /// [`RESERVATION_LAPSE`] health intervals: the join's process died, or the join was
    /// cancelled, before it could make one or undo itself. Removing it frees its identity.
    fn is_stale_reservation(&self, p: &ParticipantRecord) -> bool {
        let lapse = self.record.health_interval * RESERVATION_LAPSE;
        let lapse = u64::try_from(lapse.as_millis()).unwrap_or(u64::MAX);
        p.info.session_id.is_empty()
            && !p.announced
            && now_ms().saturating_sub(p.reserved_at) >= lapse
    }
}

/// Whether a participant's session died: it is gone, or none of the tracks its record says it
/// publishes is active any more.
async fn is_dead(room: &Room, p: &ParticipantRecord) -> bool {
    let state = room.client().session(&p.info.session_id).state().await;
    match state {
        Err(e) => e.is_session_gone(),
        Ok(state) => {
            let published: Vec<&str> = p.published.iter().map(|(m, _)| m.as_str()).collect();
            let active = state
                .tracks
                .iter()
                .any(|t| t.is_active() && t.mid.as_deref().is_some_and(|m| published.contains(&m)));
            p.announced && !published.is_empty() && !active
        }
    }
}

/// Reads one participant's channel and writes the server's direct messages to it.
async fn serve(
    room: Room,
    participant: String,
    mut subscription: Subscription,
    mut direct: mpsc::UnboundedReceiver<String>,
) {
    loop {
        tokio::select! {
            message = subscription.recv() => {
                let payload = match message {
                    Some(Ok(Message::Text(text))) => Payload::Text(text),
                    Some(Ok(Message::Binary(bytes))) => Payload::Binary(bytes.to_vec()),
                    Some(Err(e)) => {
                        tracing::warn!(%participant, error = %e, "participant channel");
                        continue;
                    }
                    None => return,
                };
                let event = RoomEvent::Message { from: Some(participant.clone()), to: None, payload };
                if let Err(e) = room.append(event).await {
                    tracing::warn!(%participant, error = %e, "recording a participant's message");
                }
            }
            json = direct.recv() => match json {
                Some(json) => {
                    if let Err(e) = subscription.reply_text(&json).await {
                        tracing::warn!(%participant, error = %e, "direct message");
                    }
                }
                None => return,
            },
        }
    }
}
