//! When a failed call is sent again, and after how long (including what a `Retry-After`
//! header asks for). Pure decisions, no I/O.

use std::time::Duration;

use crate::operation::is_idempotent;

/// Bounded exponential backoff for calls that are safe to repeat.
///
/// A call is repeated only when the service cannot have acted on it: the connection never
/// reached the server, or the server refused it outright (425 not ready, 429 rate limited).
/// Calls that are safe to send twice (reads, closing adapters, renames, deletes, TURN
/// credentials) are also repeated after 502/503/504 and timeouts. Creating a session, tracks,
/// data channels, adapters, apps or TURN keys is never re-sent once the server may have seen
/// it. The README's "Faults" table shows the outcome of every operation under every fault.
///
/// ```
/// use std::time::Duration;
/// use cloudflare_calls::RetryPolicy;
///
/// let policy = RetryPolicy::default().max_retries(5).max_delay(Duration::from_secs(2));
/// let never = RetryPolicy::none();
/// # let _ = (policy, never);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    base_delay: Duration,
    max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        Self::default().max_retries(0)
    }

    /// How many times a call may be repeated (default 3).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// The first backoff delay, doubled on each retry (default 100 ms).
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The longest wait before a retry (default 5 s). A `Retry-After` longer than this is
    /// not waited for: the error is returned with its `retry_after` instead.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The wait before retry number `attempt + 1`, or `None` to give up.
    pub(crate) fn next_delay(
        &self,
        operation: &str,
        attempt: u32,
        outcome: Outcome,
    ) -> Option<Duration> {
        if attempt >= self.max_retries {
            return None;
        }
        let safe = is_idempotent(operation);
        let backoff = || self.backoff(attempt);
        match outcome {
            Outcome::NotSent => Some(backoff()),
            Outcome::Status(425) => Some(backoff()),
            Outcome::Status(429) => Some(backoff()),
            Outcome::RetryAfter(wait) => (wait <= self.max_delay).then_some(wait),
            Outcome::Status(502..=504) | Outcome::TimedOut if safe => Some(backoff()),
            _ => None,
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32.checked_shl(attempt).unwrap_or(u32::MAX));
        let capped = exp.min(self.max_delay);
        // Up to half of the delay is random so that clients failing together do not retry
        // together; the clock's nanoseconds are random enough for that.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        capped.mul_f64(0.5 + f64::from(nanos % 1000) / 2000.0)
    }
}

/// What happened to one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The connection failed before the request was sent.
    NotSent,
    /// The attempt ran out of time; the server may have acted.
    TimedOut,
    /// Any other failure to get a response.
    Failed,
    /// A response with this status.
    Status(u16),
    /// A 425/429/503 whose `Retry-After` asks for this wait.
    RetryAfter(Duration),
}

/// `Retry-After` in seconds; the HTTP-date form is rare for APIs and treated as absent.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creations_are_not_resent_after_the_server_may_have_acted() {
        let p = RetryPolicy::default();
        for op in [
            "new_session",
            "add_tracks",
            "add_data_channels",
            "create_websocket_adapters",
        ] {
            assert_eq!(p.next_delay(op, 0, Outcome::Status(503)), None, "{op}");
            assert_eq!(p.next_delay(op, 0, Outcome::TimedOut), None, "{op}");
            assert_eq!(p.next_delay(op, 0, Outcome::Status(500)), None, "{op}");
            assert!(p.next_delay(op, 0, Outcome::NotSent).is_some(), "{op}");
            assert!(p.next_delay(op, 0, Outcome::Status(425)).is_some(), "{op}");
            assert!(p.next_delay(op, 0, Outcome::Status(429)).is_some(), "{op}");
        }
    }

    #[test]
    fn safe_operations_retry_transient_failures_a_bounded_number_of_times() {
        let p = RetryPolicy::default().max_retries(2);
        assert!(
            p.next_delay("get_session_state", 0, Outcome::Status(503))
                .is_some()
        );
        assert!(
            p.next_delay("get_session_state", 1, Outcome::TimedOut)
                .is_some()
        );
        assert_eq!(
            p.next_delay("get_session_state", 2, Outcome::Status(503)),
            None
        );
        assert_eq!(
            p.next_delay("get_session_state", 0, Outcome::Status(400)),
            None
        );
        assert_eq!(p.next_delay("get_session_state", 0, Outcome::Failed), None);
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let p = RetryPolicy::default().max_delay(Duration::from_secs(2));
        let wait = Duration::from_secs(1);
        assert_eq!(
            p.next_delay("new_session", 0, Outcome::RetryAfter(wait)),
            Some(wait)
        );
        let long = Duration::from_secs(30);
        assert_eq!(
            p.next_delay("new_session", 0, Outcome::RetryAfter(long)),
            None
        );
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        let p = RetryPolicy::default()
            .max_retries(100)
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_secs(1));
        let first = p.next_delay("get_sfu_app", 0, Outcome::NotSent).unwrap();
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
        let late = p.next_delay("get_sfu_app", 60, Outcome::NotSent).unwrap();
        assert!(late >= Duration::from_millis(500) && late <= Duration::from_secs(1));
    }
}
