//! A random secret for a demo that was given none: a bearer token, a signing key.

use std::hash::{BuildHasher, Hasher};

/// 32 hex digits from the process's random hasher keys: enough for a demo's token or key.
pub fn secret() -> String {
    let state = std::collections::hash_map::RandomState::new();
    let (mut a, mut b) = (state.build_hasher(), state.build_hasher());
    a.write_u8(1);
    b.write_u8(2);
    format!("{:016x}{:016x}", a.finish(), b.finish())
}
