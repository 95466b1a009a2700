//! Injected failures: chosen operations (by operationId) answer slowly, with an error status,
//! with 429, with an error body under HTTP 200, by dropping the connection (before or after
//! acting on the call), or with a truncated body, for the next N calls or until cleared.

use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What an injected fault does to a matching call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
#[non_exhaustive]
pub enum FaultKind {
    /// Waits this long, then handles the call normally.
    Latency {
        /// Delay in milliseconds.
        delay_ms: u64,
    },
    /// Answers with this HTTP status and error code instead of handling the call.
    Status {
        /// HTTP status, e.g. 500 or 503.
        status: u16,
        /// `errorCode` in the body (`retryable_transient_error` when omitted).
        #[serde(default = "transient_code")]
        error_code: String,
    },
    /// Answers 429 with a `Retry-After` header.
    RateLimit {
        /// Value of `Retry-After`, in seconds.
        retry_after: u64,
    },
    /// Closes the connection without a complete response, without handling the call.
    Drop,
    /// Handles the call (whatever it creates or changes stays), then closes the connection
    /// without a response: the client cannot tell whether it happened.
    DropAfter,
    /// Handles the call, then sends only the first half of the body and closes.
    Truncate,
    /// Answers HTTP 200 whose body is an error (`errorCode` on the SFU and TURN APIs,
    /// `success: false` on the account API) instead of handling the call.
    ErrorBody {
        /// `errorCode` in the body (`retryable_transient_error` when omitted).
        #[serde(default = "transient_code")]
        error_code: String,
    },
}

fn transient_code() -> String {
    "retryable_transient_error".into()
}

/// A fault rule: which operation, what happens, how many times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    /// operationId the rule applies to (e.g. `new_session`); `None` matches every operation.
    #[serde(default)]
    pub operation: Option<String>,
    /// The failure.
    #[serde(flatten)]
    pub kind: FaultKind,
    /// How many matching calls fail; `None` means until cleared.
    #[serde(default)]
    pub count: Option<u32>,
}

impl Fault {
    /// A rule applying `kind` to every operation until cleared.
    pub fn new(kind: FaultKind) -> Self {
        Self {
            operation: None,
            kind,
            count: None,
        }
    }
    /// 503 `retryable_transient_error`.
    pub fn transient() -> Self {
        Self::new(FaultKind::Status {
            status: 503,
            error_code: transient_code(),
        })
    }
    /// An error status with the given `errorCode`.
    pub fn status(status: u16, error_code: &str) -> Self {
        Self::new(FaultKind::Status {
            status,
            error_code: error_code.into(),
        })
    }
    /// 429 with `Retry-After: secs`.
    pub fn rate_limited(secs: u64) -> Self {
        Self::new(FaultKind::RateLimit { retry_after: secs })
    }
    /// Added latency.
    pub fn latency(delay: Duration) -> Self {
        let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        Self::new(FaultKind::Latency { delay_ms })
    }
    /// Connection dropped before any response; the call is not handled.
    pub fn drop_connection() -> Self {
        Self::new(FaultKind::Drop)
    }
    /// Connection dropped after the call was handled, before its response.
    pub fn drop_after_acting() -> Self {
        Self::new(FaultKind::DropAfter)
    }
    /// HTTP 200 with an error body carrying this `errorCode`; the call is not handled.
    pub fn error_body(error_code: &str) -> Self {
        Self::new(FaultKind::ErrorBody {
            error_code: error_code.into(),
        })
    }
    /// Response body cut in half.
    pub fn truncate() -> Self {
        Self::new(FaultKind::Truncate)
    }
    /// Restricts the rule to one operationId.
    pub fn on(mut self, operation: &str) -> Self {
        self.operation = Some(operation.into());
        self
    }
    /// Limits the rule to the next `n` matching calls.
    pub fn times(mut self, n: u32) -> Self {
        self.count = Some(n);
        self
    }
}

/// The active rules, first match wins.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    rules: Mutex<Vec<Fault>>,
}

impl Faults {
    fn rules(&self) -> std::sync::MutexGuard<'_, Vec<Fault>> {
        self.rules.lock().unwrap_or_else(|p| p.into_inner())
    }
    pub fn add(&self, f: Fault) {
        self.rules().push(f);
    }
    pub fn clear(&self) {
        self.rules().clear();
    }
    pub fn list(&self) -> Vec<Fault> {
        self.rules().clone()
    }
    /// Consumes one use of the first rule matching `operation`.
    pub fn take(&self, operation: &str) -> Option<FaultKind> {
        let mut rules = self.rules();
        let i = rules
            .iter()
            .position(|f| f.operation.as_deref().is_none_or(|o| o == operation))?;
        let kind = rules[i].kind.clone();
        if let Some(n) = rules[i].count.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                rules.remove(i);
            }
        }
        Some(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_rules_expire_and_operation_filters() {
        let f = Faults::default();
        f.add(Fault::transient().on("new_session").times(2));
        assert!(f.take("add_tracks").is_none());
        assert!(f.take("new_session").is_some());
        assert!(f.take("new_session").is_some());
        assert!(f.take("new_session").is_none());
    }

    #[test]
    fn control_api_json_round_trips() {
        let f: Fault = serde_json::from_str(
            r#"{"operation":"add_tracks","kind":"rate_limit","retryAfter":3,"count":1}"#,
        )
        .unwrap();
        assert_eq!(f, Fault::rate_limited(3).on("add_tracks").times(1));
        let d: Fault =
            serde_json::from_str(r#"{"kind":"drop_after","operation":"new_session"}"#).unwrap();
        assert_eq!(d, Fault::drop_after_acting().on("new_session"));
        let e: Fault =
            serde_json::from_str(r#"{"kind":"error_body","errorCode":"internal_error"}"#).unwrap();
        assert_eq!(e, Fault::error_body("internal_error"));
        let s: Fault = serde_json::from_str(r#"{"kind":"status","status":500}"#).unwrap();
        assert_eq!(
            s.kind,
            FaultKind::Status {
                status: 500,
                error_code: transient_code()
            }
        );
    }
}
