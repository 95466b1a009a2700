//! Per-session call rate limit: a fixed one-second window, which is what the service's
//! "calls per second" wording implies.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts calls in the current one-second window.
#[derive(Debug)]
pub(crate) struct RateWindow {
    inner: Mutex<(Instant, u32)>,
}

impl RateWindow {
    pub fn new() -> Self {
        Self {
            inner: Mutex::new((Instant::now(), 0)),
        }
    }

    /// Records a call; `Err(seconds)` tells how long to wait when the limit is exceeded.
    pub fn hit(&self, limit: u32) -> Result<(), u64> {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if now.duration_since(g.0) >= Duration::from_secs(1) {
            *g = (now, 0);
        }
        if g.1 >= limit {
            return Err(1);
        }
        g.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_limit_within_a_second() {
        let w = RateWindow::new();
        for _ in 0..3 {
            assert!(w.hit(3).is_ok());
        }
        assert_eq!(w.hit(3), Err(1));
    }
}
