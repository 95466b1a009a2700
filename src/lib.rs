#![forbid(unsafe_code)]
#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod account;
mod adapter_url;
mod adapters;
mod apps;
mod client;
mod config;
mod data_channels;
mod description;
mod error;
// Internal (feature `fuzzing`): drives the response handling of fuzz/fuzz_targets/responses.rs.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
#[path = "fuzzing.rs"]
pub mod __fuzz;
mod negotiation;
#[cfg(feature = "peer")]
#[cfg_attr(docsrs, doc(cfg(feature = "peer")))]
pub mod peer;
pub mod raw;
mod response;
mod retry;
#[cfg(feature = "room")]
#[cfg_attr(docsrs, doc(cfg(feature = "room")))]
pub mod room;
pub mod sdp;
mod secret;
mod session;
mod session_locks;
mod session_state;
mod test_pattern;
mod tracks;
mod transport;
mod turn;
mod turn_keys;
#[cfg(feature = "whip")]
#[cfg_attr(docsrs, doc(cfg(feature = "whip")))]
pub mod whip;
mod wire;

pub use account::{AccountResources, CreateResource, UpdateResource};
pub use adapter_url::AdapterUrl;
pub use adapters::{
    Adapter, AdapterError, AdapterItem, Adapters, AdaptersResult, CloseAdaptersResult,
    ClosedAdapter, CreateAdapters, MAX_ADAPTERS_PER_CALL,
};
pub use apps::{App, Apps, CreatedApp};
pub use client::Client;
pub use config::{Config, ConfigError, DEFAULT_ACCOUNT_API_URL, DEFAULT_BASE_URL};
pub use data_channels::{
    DataChannel, DataChannelError, DataChannelInfo, DataChannelTransport, DataChannels,
    DataChannelsResult,
};
pub use description::{Answer, Offer};
pub use error::{AccountMessage, ApiError, BoxError, Error, ErrorCode, Result};
pub use negotiation::{Answerer, Negotiation, PendingOffer};
#[cfg(feature = "peer")]
#[cfg_attr(docsrs, doc(cfg(feature = "peer")))]
pub use peer::{
    ConnectionState, Frame, FrameCodec, IncomingTrack, Message, OPUS_SILENCE_20MS, OutgoingTrack,
    Peer, PeerBuilder, PeerError, Publisher, Replies, Subscription,
};
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use session::{NewSession, Session};
pub use session_state::{DataChannelStatus, SessionState, TrackStatus};
pub use test_pattern::{PatternSizeError, TestPattern};
pub use tracks::{
    AddTracks, CloseMode, CloseTracks, CloseTracksResult, LocalTrack, MAX_TRACKS_PER_CALL,
    RemoteTrack, Simulcast, Track, TrackError, TracksResult, UpdateTracks,
};
pub use turn::{GenerateIceServers, IceServer, IceServers, MAX_TURN_TTL, Turn, TurnCredentials};
pub use turn_keys::{CreatedTurnKey, TurnKey, TurnKeys};
pub use wire::{
    AdapterInputCodec, AdapterMode, AdapterOutputCodec, Location, MediaKind, PriorityOrdering,
    ResourceStatus, RidNotAvailable, SdpType,
};
