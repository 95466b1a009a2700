//! [`MemoryStore`]: room state in this process, for a backend that runs as one process.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};

use super::store::{
    EventStream, Lease, ParticipantRecord, RoomRecord, RoomSnapshot, Store, StoreFuture,
};
use crate::room::error::RoomError;
use crate::room::event::{Role, RoomEvent, RoomUpdate};

/// Updates kept per room for subscribers that are slow to read.
const EVENTS_KEPT: usize = 4096;
/// Updates a subscriber takes from the log at a time.
const READ_BATCH: usize = 256;

/// Room state in memory: rooms, participants, event logs and leases of one process.
///
/// Rooms are forgotten when the store is dropped. Clones share the same state.
///
/// ```
/// use cloudflare_calls::room::MemoryStore;
/// let store = MemoryStore::new();
/// let shared = store.clone();
/// # drop(shared);
/// ```
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    rooms: Mutex<HashMap<String, RoomState>>,
    leases: Mutex<HashMap<String, (u64, Instant)>>,
    next_token: Mutex<u64>,
    released: Notify,
}

#[derive(Debug)]
struct RoomState {
    record: RoomRecord,
    seq: u64,
    participants: Vec<ParticipantRecord>,
    /// The last [`EVENTS_KEPT`] updates. It grows as updates come: a channel that allocated
    /// all its slots up front (`tokio::sync::broadcast`) made an idle room cost 131 KiB, and
    /// 750 KiB before its slots held `Arc`s.
    events: VecDeque<Arc<RoomUpdate>>,
    /// The last `seq`, watched by subscribers.
    appended: watch::Sender<u64>,
    /// `RoomClosed` was appended: the closing finished, and the id may be used again.
    ended: bool,
}

impl RoomState {
    /// The room with the participants `keep` picks.
    fn snapshot(&self, keep: impl Fn(&ParticipantRecord) -> bool) -> RoomSnapshot {
        RoomSnapshot {
            room: self.record.clone(),
            seq: self.seq,
            participants: self
                .participants
                .iter()
                .filter(|p| keep(p))
                .cloned()
                .collect(),
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn rooms(&self) -> MutexGuard<'_, HashMap<String, RoomState>> {
        self.inner.rooms.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn with_room<T>(
        &self,
        room: &str,
        f: impl FnOnce(&mut RoomState) -> Result<T, RoomError>,
    ) -> Result<T, RoomError> {
        match self.rooms().get_mut(room) {
            Some(state) => f(state),
            None => Err(RoomError::RoomNotFound(room.to_owned())),
        }
    }

    fn try_lease(&self, room: &str, session: &str, ttl: Duration) -> Option<Lease> {
        let key = lease_key(room, session);
        let key = key.as_str();
        let now = Instant::now();
        let mut leases = self.inner.leases.lock().unwrap_or_else(|e| e.into_inner());
        if leases.get(key).is_some_and(|(_, until)| *until > now) {
            return None;
        }
        let mut next = self
            .inner
            .next_token
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *next += 1;
        leases.insert(key.to_owned(), (*next, now + ttl));
        Some(Lease {
            room: room.to_owned(),
            key: session.to_owned(),
            token: *next,
        })
    }

    fn lease_expiry(&self, key: &str) -> Option<Instant> {
        let leases = self.inner.leases.lock().unwrap_or_else(|e| e.into_inner());
        leases.get(key).map(|(_, until)| *until)
    }
}

/// One subscriber's read of a room's log. It holds the store weakly: the stream ends when the
/// store is dropped.
struct Reader {
    store: Weak<Inner>,
    room: String,
    /// The `seq` of the last update handed out (or skipped).
    after: u64,
    appended: watch::Receiver<u64>,
    pending: VecDeque<Arc<RoomUpdate>>,
}

impl Reader {
    async fn next(&mut self) -> Option<Result<RoomUpdate, RoomError>> {
        loop {
            if let Some(update) = self.pending.pop_front() {
                self.after = update.seq;
                return Some(Ok(Arc::unwrap_or_clone(update)));
            }
            let missed = self.read()?;
            if missed > 0 {
                return Some(Err(RoomError::Lagged(missed)));
            }
            if self.pending.is_empty() && self.appended.changed().await.is_err() {
                return None;
            }
        }
    }

    /// Takes what the log holds after this reader's last update into `pending`; returns how
    /// many updates were trimmed before it got to them (then it skips them, and takes none).
    /// `None` once the store or the room is gone.
    fn read(&mut self) -> Option<u64> {
        let inner = self.store.upgrade()?;
        let rooms = inner.rooms.lock().unwrap_or_else(|e| e.into_inner());
        let state = rooms.get(&self.room)?;
        let first = state.events.front().map_or(state.seq + 1, |u| u.seq);
        if first > self.after + 1 {
            let missed = first - self.after - 1;
            self.after = first - 1;
            return Some(missed);
        }
        let unread = (state.seq - self.after) as usize;
        let start = state.events.len() - unread;
        let batch = state.events.range(start..).take(READ_BATCH).cloned();
        self.pending.extend(batch);
        Some(0)
    }
}

fn lease_key(room: &str, session: &str) -> String {
    format!("{room}/{session}")
}

fn ready<'a, T: Send + 'a>(result: Result<T, RoomError>) -> StoreFuture<'a, T> {
    Box::pin(std::future::ready(result))
}

impl Store for MemoryStore {
    fn create_room(&self, room: RoomRecord) -> StoreFuture<'_, ()> {
        let mut rooms = self.rooms();
        if let Some(old) = rooms.get_mut(&room.id) {
            if !old.ended {
                return ready(Err(RoomError::RoomExists(room.id)));
            }
            // The log goes on, so a seq never repeats within an id.
            old.record = room;
            old.participants.clear();
            old.ended = false;
            return ready(Ok(()));
        }
        rooms.insert(
            room.id.clone(),
            RoomState {
                record: room,
                seq: 0,
                participants: Vec::new(),
                events: VecDeque::new(),
                appended: watch::Sender::new(0),
                ended: false,
            },
        );
        ready(Ok(()))
    }

    fn close_room(&self, room: &str) -> StoreFuture<'_, Vec<ParticipantRecord>> {
        ready(self.with_room(room, |state| {
            state.record.closed = true;
            Ok(state.participants.clone())
        }))
    }

    fn snapshot(&self, room: &str) -> StoreFuture<'_, RoomSnapshot> {
        ready(self.with_room(room, |state| Ok(state.snapshot(|_| true))))
    }

    fn snapshot_of(&self, room: &str, participant: &str) -> StoreFuture<'_, RoomSnapshot> {
        ready(self.with_room(room, |state| {
            Ok(state.snapshot(|p| p.info.id == participant))
        }))
    }

    fn add_participant(
        &self,
        room: &str,
        participant: ParticipantRecord,
    ) -> StoreFuture<'_, Vec<ParticipantRecord>> {
        ready(self.with_room(room, |state| {
            let id = &state.record.id;
            if state.record.closed {
                return Err(RoomError::RoomClosed(id.clone()));
            }
            if let Some(max) = state.record.max_participants
                && state.participants.len() >= max as usize
            {
                return Err(RoomError::RoomFull {
                    room: id.clone(),
                    max,
                });
            }
            // A second broadcaster is refused as such, whatever its identity.
            let broadcaster = |p: &ParticipantRecord| p.info.role == Role::Broadcaster;
            if broadcaster(&participant) && state.participants.iter().any(broadcaster) {
                return Err(RoomError::BroadcastTaken(id.clone()));
            }
            let info = &participant.info;
            if state
                .participants
                .iter()
                .any(|p| p.info.identity == info.identity)
            {
                return Err(RoomError::IdentityTaken {
                    room: id.clone(),
                    identity: info.identity.clone(),
                });
            }
            state.participants.push(participant);
            let publishers = state.participants.iter().filter(|p| p.publishes());
            Ok(publishers.cloned().collect())
        }))
    }

    fn update_participant(
        &self,
        room: &str,
        participant: ParticipantRecord,
    ) -> StoreFuture<'_, ()> {
        ready(self.with_room(room, |state| {
            let slot = state
                .participants
                .iter_mut()
                .find(|p| p.info.id == participant.info.id);
            match slot {
                Some(slot) => {
                    *slot = participant;
                    Ok(())
                }
                None => Err(RoomError::ParticipantNotFound {
                    room: state.record.id.clone(),
                    participant: participant.info.id,
                }),
            }
        }))
    }

    fn remove_participant(
        &self,
        room: &str,
        participant: &str,
    ) -> StoreFuture<'_, Option<ParticipantRecord>> {
        ready(self.with_room(room, |state| {
            let at = state
                .participants
                .iter()
                .position(|p| p.info.id == participant);
            Ok(at.map(|i| state.participants.remove(i)))
        }))
    }

    fn append(&self, room: &str, event: RoomEvent) -> StoreFuture<'_, u64> {
        ready(self.with_room(room, |state| {
            state.seq += 1;
            state.ended |= event == RoomEvent::RoomClosed;
            if state.events.len() == EVENTS_KEPT {
                state.events.pop_front();
            }
            state
                .events
                .push_back(Arc::new(RoomUpdate::new(state.seq, event)));
            state.appended.send_replace(state.seq);
            Ok(state.seq)
        }))
    }

    fn subscribe(&self, room: &str) -> StoreFuture<'_, EventStream> {
        let reader = self.with_room(room, |state| {
            Ok(Reader {
                store: Arc::downgrade(&self.inner),
                room: room.to_owned(),
                after: state.seq,
                appended: state.appended.subscribe(),
                pending: VecDeque::new(),
            })
        });
        ready(reader.map(|reader| {
            let stream = futures_util::stream::unfold(reader, |mut reader| async move {
                let item = reader.next().await?;
                Some((item, reader))
            });
            Box::pin(stream) as EventStream
        }))
    }

    /// One process holds every room here, so a room moves only within it: from a host peer
    /// that failed to a new one.
    fn set_host(
        &self,
        room: &str,
        from: &str,
        node: &str,
        host_session_id: &str,
    ) -> StoreFuture<'_, bool> {
        ready(self.with_room(room, |state| {
            let record = &mut state.record;
            let moves = from == node && record.host_node == from && !record.closed;
            if moves {
                record.host_session_id = host_session_id.to_owned();
            }
            Ok(moves)
        }))
    }

    fn updates_after(&self, room: &str, seq: u64) -> StoreFuture<'_, Vec<RoomUpdate>> {
        ready(self.with_room(room, |state| {
            let after = state.events.iter().filter(|u| u.seq > seq);
            Ok(after.map(|u| RoomUpdate::clone(u)).collect())
        }))
    }

    fn update_fenced(
        &self,
        room: &str,
        participant: ParticipantRecord,
        fence: &Lease,
    ) -> StoreFuture<'_, ()> {
        let leases = self.inner.leases.lock().unwrap_or_else(|e| e.into_inner());
        let held = leases
            .get(&lease_key(&fence.room, &fence.key))
            .is_some_and(|(token, until)| *token == fence.token && *until > Instant::now());
        if !held {
            return ready(Err(RoomError::LeaseLost(fence.key.clone())));
        }
        // Still holding the leases' lock: the lease cannot change hands before the write.
        let saved = self.update_participant(room, participant);
        drop(leases);
        saved
    }

    fn lease(&self, room: &str, session: &str, ttl: Duration) -> StoreFuture<'_, Lease> {
        let (room, session) = (room.to_owned(), session.to_owned());
        Box::pin(async move {
            let key = lease_key(&room, &session);
            loop {
                let released = self.inner.released.notified();
                if let Some(lease) = self.try_lease(&room, &session, ttl) {
                    return Ok(lease);
                }
                let until = self.lease_expiry(&key).unwrap_or_else(Instant::now);
                let _ = tokio::time::timeout_at(until.into(), released).await;
            }
        })
    }

    fn release(&self, lease: Lease) -> StoreFuture<'_, ()> {
        let mut leases = self.inner.leases.lock().unwrap_or_else(|e| e.into_inner());
        let key = lease_key(&lease.room, &lease.key);
        if leases
            .get(&key)
            .is_some_and(|(token, _)| *token == lease.token)
        {
            leases.remove(&key);
        }
        drop(leases);
        self.inner.released.notify_waiters();
        ready(Ok(()))
    }

    fn renews_leases(&self) -> bool {
        true
    }

    fn renew(&self, lease: &Lease, ttl: Duration) -> StoreFuture<'_, bool> {
        let mut leases = self.inner.leases.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let held = leases.get_mut(&lease_key(&lease.room, &lease.key));
        let renewed = match held {
            Some((token, until)) if *token == lease.token && *until > now => {
                *until = now + ttl;
                true
            }
            _ => false,
        };
        ready(Ok(renewed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::room::event::ParticipantInfo;

    fn record(session: &str) -> ParticipantRecord {
        ParticipantRecord {
            info: ParticipantInfo {
                id: "p-1".into(),
                identity: "alice".into(),
                role: Role::Member,
                session_id: session.into(),
                metadata: None,
            },
            published: Vec::new(),
            pulled: Vec::new(),
            announced: false,
            channels: false,
            reserved_at: 0,
            leaving: None,
        }
    }

    fn room() -> RoomRecord {
        RoomRecord {
            id: "r".into(),
            max_participants: None,
            empty_timeout: Duration::from_secs(60),
            metadata: None,
            host_session_id: "host".into(),
            host_node: String::new(),
            ends_with_broadcaster: false,
            health_interval: Duration::from_secs(5),
            closed: false,
        }
    }

    fn text(n: u64) -> RoomEvent {
        RoomEvent::Message {
            from: None,
            payload: crate::room::Payload::Text(format!("m{n}")),
            to: None,
        }
    }

    /// A subscriber gets every update once, in order; one that falls more than the log keeps
    /// behind is told how many it missed and goes on with the oldest kept; its stream ends
    /// with the store.
    #[tokio::test]
    async fn subscribers_read_the_log_in_order_and_learn_what_they_missed() {
        use futures_util::StreamExt;
        let store = MemoryStore::new();
        store.create_room(room()).await.unwrap();
        let mut events = store.subscribe("r").await.unwrap();
        for n in 1..=3 {
            store.append("r", text(n)).await.unwrap();
        }
        for seq in 1..=3 {
            assert_eq!(events.next().await.unwrap().unwrap().seq, seq);
        }
        let last = EVENTS_KEPT as u64 + 13;
        for n in 4..=last {
            store.append("r", text(n)).await.unwrap();
        }
        let missed = events.next().await.unwrap().unwrap_err();
        assert!(matches!(missed, RoomError::Lagged(10)), "{missed}");
        let next = events.next().await.unwrap().unwrap();
        assert_eq!((next.seq, next.event), (14, text(14)));
        assert_eq!(store.updates_after("r", last - 2).await.unwrap().len(), 2);
        for seq in 15..=last {
            assert_eq!(events.next().await.unwrap().unwrap().seq, seq);
        }
        drop(store);
        let end = tokio::time::timeout(Duration::from_secs(1), events.next()).await;
        assert!(matches!(end, Ok(None)), "the stream ends with the store");
    }

    #[tokio::test]
    async fn a_lease_is_renewed_by_its_holder_only_while_it_holds() {
        let store = MemoryStore::new();
        let lease = store.lease("r", "s", Duration::from_secs(1)).await.unwrap();
        assert!(store.renew(&lease, Duration::from_secs(60)).await.unwrap());
        let stranger = Lease {
            token: lease.token + 1,
            ..lease.clone()
        };
        assert!(
            !store
                .renew(&stranger, Duration::from_secs(60))
                .await
                .unwrap()
        );
        store.release(lease.clone()).await.unwrap();
        assert!(!store.renew(&lease, Duration::from_secs(60)).await.unwrap());
    }

    #[tokio::test]
    async fn a_write_under_an_expired_lease_is_refused() {
        let store = MemoryStore::new();
        store.create_room(room()).await.unwrap();
        store.add_participant("r", record("s")).await.unwrap();
        let stalled = store
            .lease("r", "s", Duration::from_millis(20))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
        let current = store.lease("r", "s", Duration::from_secs(5)).await.unwrap();
        assert!(current.token > stalled.token);
        let err = store
            .update_fenced("r", record("s"), &stalled)
            .await
            .unwrap_err();
        assert!(matches!(err, RoomError::LeaseLost(_)), "{err}");
        store
            .update_fenced("r", record("s"), &current)
            .await
            .unwrap();
        // A second holder waits until the first releases.
        let waiting = store.lease("r", "s", Duration::from_secs(5));
        tokio::pin!(waiting);
        assert!(
            tokio::time::timeout(Duration::from_millis(50), &mut waiting)
                .await
                .is_err()
        );
        store.release(current).await.unwrap();
        tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .unwrap()
            .unwrap();
    }
}
