//! One SFU session: tracks, data channels and negotiation, against a mock for exact requests and against the emulator for flows.
//!
//! One test binary for the area (`cargo test --test session`); each module was a binary of its own.

mod negotiation;
mod session;
#[path = "../support/mod.rs"]
mod support;
