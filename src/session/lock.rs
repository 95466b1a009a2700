//! The per-session mutation locks of one [`Client`](crate::Client): the SFU runs one
//! offer/answer state machine per session, so changes of one session must never overlap,
//! while different sessions proceed in parallel.
//!
//! The lock also guards what the session still owes the SFU: an endpoint's answer that could
//! not be delivered (the service failed transiently, the connection dropped). The SFU keeps
//! waiting for it and refuses every other change until it arrives, so whoever takes the lock
//! next delivers it first (see [`Session::lock`](crate::Session)).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::OwnedMutexGuard;

use crate::session::description::Answer;

/// What one session's lock guards.
#[derive(Default)]
pub(crate) struct Owed {
    /// The endpoint's answer to the SFU's last offer, when its delivery failed.
    pub(crate) answer: Option<OwedAnswer>,
}

/// An answer the SFU is still waiting for, as far as this client knows.
pub(crate) struct OwedAnswer {
    pub(crate) answer: Answer,
    /// A failed delivery may have reached the SFU (a timeout, a dropped connection), so the
    /// SFU refusing it later because no offer is waiting means it was delivered.
    pub(crate) may_have_landed: bool,
}

/// The lock of one session, held for one change (and by a pending offer until answered).
pub(crate) type SessionGuard = OwnedMutexGuard<Owed>;

type SessionLock = Arc<tokio::sync::Mutex<Owed>>;

/// One lock per session id, shared by every handle of that session and dropped with the last.
#[derive(Default)]
pub(crate) struct SessionLocks(Mutex<HashMap<String, Weak<tokio::sync::Mutex<Owed>>>>);

impl SessionLocks {
    pub(crate) fn get(&self, session_id: &str) -> SessionLock {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(lock) = map.get(session_id).and_then(Weak::upgrade) {
            return lock;
        }
        map.retain(|_, weak| weak.strong_count() > 0);
        let lock = Arc::new(tokio::sync::Mutex::new(Owed::default()));
        map.insert(session_id.to_owned(), Arc::downgrade(&lock));
        lock
    }
}
