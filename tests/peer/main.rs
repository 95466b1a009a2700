//! The server-side peer against the emulator, and the emulator's media seen from Chromium.
//!
//! One test binary for the area (`cargo test --test peer`); each module was a binary of its own.

#![cfg(feature = "peer")]

mod browser;
mod peer;
#[path = "../support/mod.rs"]
mod support;
mod test_pattern;
