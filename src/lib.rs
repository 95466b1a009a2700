#![forbid(unsafe_code)]
#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod adapters;
mod apps;
mod client;
mod config;
mod data_channels;
mod description;
mod endpoint;
mod error;
pub mod raw;
mod response;
mod retry;
pub mod sdp;
mod secret;
mod session;
mod tracks;
mod transport;
mod turn;
mod wire;

pub use adapters::{
    Adapter, AdapterError, AdapterItem, Adapters, AdaptersResult, CloseAdaptersResult,
    ClosedAdapter, CreateAdapters, MAX_ADAPTERS_PER_CALL,
};
pub use apps::{App, Apps, CreatedApp};
pub use client::Client;
pub use config::{Config, ConfigError, DEFAULT_ACCOUNT_API_URL, DEFAULT_BASE_URL};
pub use data_channels::{
    DataChannel, DataChannelError, DataChannelInfo, DataChannels, DataChannelsResult,
    TransportResult,
};
pub use description::{Answer, Offer, SessionDescription};
pub use endpoint::Endpoint;
pub use error::{AccountMessage, ApiError, Error, ErrorCode, Result};
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use session::{DataChannelStatus, NewSession, Session, SessionState, TrackStatus};
pub use tracks::{
    AddTracks, CloseResult, CloseTracks, LocalTrack, MAX_TRACKS_PER_CALL, RemoteTrack, Simulcast,
    Track, TrackError, TracksResult, UpdateTracks,
};
pub use turn::{
    CreatedTurnKey, GenerateIceServers, IceServer, IceServers, MAX_TURN_TTL, Turn, TurnCredentials,
    TurnKey,
};
pub use wire::{
    AdapterInputCodec, AdapterMode, AdapterOutputCodec, Location, PriorityOrdering, ResourceStatus,
    RidNotAvailable, SdpType,
};
