//! Helpers the test binaries share. Each binary uses a different subset.
#![allow(dead_code)]

pub mod chromium;
pub mod docs;
pub mod heavy;
pub mod logs;
pub mod mock;
pub mod redis;
pub mod room;
pub mod turn;
