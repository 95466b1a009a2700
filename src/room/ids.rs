//! Random ids for rooms and participants.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// `prefix-` and 16 hex digits. Not a secret: ids are only unique, and hard to guess for
/// someone who has not seen them. The hasher's keys are random per process.
pub(crate) fn random(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    if let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(now.as_nanos());
    }
    format!("{prefix}-{:016x}", hasher.finish())
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_differ() {
        let a = super::random("p");
        let b = super::random("p");
        assert_ne!(a, b);
        assert!(a.starts_with("p-") && a.len() == 18);
    }
}
