//! One heavy test at a time in a test binary.
//!
//! A heavy test keeps both cores of the machine busy: several Chromium pages encoding and
//! decoding video, a hundred WebRTC peers, rooms churning across two processes. Two of them at
//! once starved each other's timers (a Redis reply took over 3 s, a page's screen share never
//! negotiated), so they failed for want of CPU, not for a bug. Each holds this lock for its
//! whole run; the light tests of the binary still run beside it.

use tokio::sync::{Mutex, MutexGuard};

static HEAVY: Mutex<()> = Mutex::const_new(());

/// Waits until no other heavy test of this binary runs; hold the guard to the test's end.
pub async fn heavy() -> MutexGuard<'static, ()> {
    HEAVY.lock().await
}
