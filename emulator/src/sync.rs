//! [`lock`]: a mutex guard that survives a panicked holder.

use std::sync::{Mutex, MutexGuard};

/// Locks `m`; a holder that panicked left data every caller here can still use.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
