//! [`Metered`]: the store every room uses, timing each operation of the app's store for
//! `calls_room_store_operation_duration_seconds` and counting its failures.

use std::time::{Duration, Instant};

use super::store::{
    EventStream, Lease, ParticipantRecord, RoomRecord, RoomSnapshot, Store, StoreFuture,
};
use crate::metrics;
use crate::room::error::RoomError;
use crate::room::event::{RoomEvent, RoomUpdate};

/// The app's store, measured.
pub(crate) struct Metered<S>(pub(crate) S);

fn timed<'a, T: 'a>(operation: &'static str, call: StoreFuture<'a, T>) -> StoreFuture<'a, T> {
    Box::pin(async move {
        let started = Instant::now();
        let result = call.await;
        metrics::observe(
            metrics::STORE_DURATION,
            &[("operation", operation)],
            started.elapsed(),
        );
        // A refusal (no such room, a full one) is the store's answer; only its own failure
        // counts.
        if let Err(RoomError::Store(_)) = &result {
            metrics::count(metrics::STORE_ERRORS, &[("operation", operation)], 1);
        }
        result
    })
}

impl<S: Store> Store for Metered<S> {
    fn create_room(&self, room: RoomRecord) -> StoreFuture<'_, ()> {
        timed("create_room", self.0.create_room(room))
    }
    fn close_room(&self, room: &str) -> StoreFuture<'_, Vec<ParticipantRecord>> {
        timed("close_room", self.0.close_room(room))
    }
    fn snapshot(&self, room: &str) -> StoreFuture<'_, RoomSnapshot> {
        timed("snapshot", self.0.snapshot(room))
    }
    fn snapshot_of(&self, room: &str, participant: &str) -> StoreFuture<'_, RoomSnapshot> {
        timed("snapshot_of", self.0.snapshot_of(room, participant))
    }
    fn add_participant(
        &self,
        room: &str,
        participant: ParticipantRecord,
    ) -> StoreFuture<'_, Vec<ParticipantRecord>> {
        timed("add_participant", self.0.add_participant(room, participant))
    }
    fn update_participant(
        &self,
        room: &str,
        participant: ParticipantRecord,
    ) -> StoreFuture<'_, ()> {
        timed(
            "update_participant",
            self.0.update_participant(room, participant),
        )
    }
    fn update_fenced(
        &self,
        room: &str,
        participant: ParticipantRecord,
        fence: &Lease,
    ) -> StoreFuture<'_, ()> {
        timed(
            "update_fenced",
            self.0.update_fenced(room, participant, fence),
        )
    }
    fn remove_participant(
        &self,
        room: &str,
        participant: &str,
    ) -> StoreFuture<'_, Option<ParticipantRecord>> {
        timed(
            "remove_participant",
            self.0.remove_participant(room, participant),
        )
    }
    fn append(&self, room: &str, event: RoomEvent) -> StoreFuture<'_, u64> {
        timed("append", self.0.append(room, event))
    }
    fn subscribe(&self, room: &str) -> StoreFuture<'_, EventStream> {
        timed("subscribe", self.0.subscribe(room))
    }
    fn lease(&self, room: &str, session: &str, ttl: Duration) -> StoreFuture<'_, Lease> {
        timed("lease", self.0.lease(room, session, ttl))
    }
    fn release(&self, lease: Lease) -> StoreFuture<'_, ()> {
        timed("release", self.0.release(lease))
    }
    fn renews_leases(&self) -> bool {
        self.0.renews_leases()
    }
    fn renew(&self, lease: &Lease, ttl: Duration) -> StoreFuture<'_, bool> {
        timed("renew", self.0.renew(lease, ttl))
    }
    fn beat(&self, node: &str, ttl: Duration) -> StoreFuture<'_, bool> {
        timed("beat", self.0.beat(node, ttl))
    }
    fn hosts(&self, node: &str, room: &str, hosting: bool) -> StoreFuture<'_, ()> {
        timed("hosts", self.0.hosts(node, room, hosting))
    }
    fn take_lapsed(&self, node: &str) -> StoreFuture<'_, Vec<String>> {
        timed("take_lapsed", self.0.take_lapsed(node))
    }
    fn set_host(
        &self,
        room: &str,
        from: &str,
        node: &str,
        host_session_id: &str,
    ) -> StoreFuture<'_, bool> {
        timed(
            "set_host",
            self.0.set_host(room, from, node, host_session_id),
        )
    }
    fn updates_after(&self, room: &str, seq: u64) -> StoreFuture<'_, Vec<RoomUpdate>> {
        timed("updates_after", self.0.updates_after(room, seq))
    }
    fn hand_over(&self, node: &str) -> StoreFuture<'_, bool> {
        timed("hand_over", self.0.hand_over(node))
    }
}
