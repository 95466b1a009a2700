//! The WHIP/WHEP router: every status against the emulator, and browsers publishing and playing.
//!
//! One test binary for the area (`cargo test --test whip`); each module was a binary of its own.

#![cfg(feature = "whip")]

mod browser;
mod endpoints;
#[path = "../support/mod.rs"]
mod support;
