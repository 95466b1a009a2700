//! Rooms: server-side and browser participants, their lifecycle, Redis, churn under faults, load, and the room channel's schema.
//!
//! One test binary for the area (`cargo test --test room`); each module was a binary of its own.

#![cfg(feature = "room")]

mod api;
mod browser;
mod churn;
mod lifecycle;
mod load;
mod peers;
mod redis;
mod schema;
mod second_steps;
#[path = "../support/mod.rs"]
mod support;
