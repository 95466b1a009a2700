#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod client;
mod config;
mod description;
mod error;
pub mod raw;
mod response;
mod retry;
pub mod sdp;
mod secret;
mod transport;
mod wire;

pub use client::Client;
pub use description::{Answer, Offer, SessionDescription};
pub use config::{Config, ConfigError, DEFAULT_ACCOUNT_API_URL, DEFAULT_BASE_URL};
pub use error::{AccountMessage, ApiError, Error, ErrorCode, Result};
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use wire::{
    AdapterInputCodec, AdapterMode, AdapterOutputCodec, Location, PriorityOrdering,
    ResourceStatus, RidNotAvailable, SdpType,
};
