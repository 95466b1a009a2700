//! The `sdp` module: lossless edits of real browser SDP, property tests, and what Chromium makes of the edited offers.
//!
//! One test binary for the area (`cargo test --test sdp`); each module was a binary of its own.

mod chromium;
mod edits;
mod props;
#[path = "../support/mod.rs"]
mod support;
