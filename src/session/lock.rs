//! The per-session mutation locks of one [`Client`](crate::Client): the SFU runs one
//! offer/answer state machine per session, so changes of one session must never overlap,
//! while different sessions proceed in parallel.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

/// One lock per session id, shared by every handle of that session and dropped with the last.
#[derive(Default)]
pub(crate) struct SessionLocks(Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>);

impl SessionLocks {
    pub(crate) fn get(&self, session_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(lock) = map.get(session_id).and_then(Weak::upgrade) {
            return lock;
        }
        map.retain(|_, weak| weak.strong_count() > 0);
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        map.insert(session_id.to_owned(), Arc::downgrade(&lock));
        lock
    }
}
