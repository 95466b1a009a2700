//! Rooms: server-side and browser participants, their lifecycle, Redis, churn under faults, load, the room channel's schema, and the stack a room's calls need.
//!
//! One test binary for the area (`cargo test --test room`); each module was a binary of its own.

#![cfg(feature = "room")]

mod api;
mod browser;
mod churn;
mod failover;
mod lifecycle;
mod load;
mod peers;
mod redis;
mod schema;
mod second_steps;
mod stack;
#[path = "../support/mod.rs"]
mod support;
mod takeover;
