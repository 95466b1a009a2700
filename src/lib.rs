#![forbid(unsafe_code)]
//! CRATE_DOC_PLACEHOLDER
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// Layers, bottom to top; a file imports only from its own layer or below (checked by
// `cargo xtask layers`, which documents the order): error, secret, adapter_url, wire, sdp | raw, http |
// session | client | peer | room | whip.
mod adapter_url;
mod client;
pub mod error;
// Internal (feature `fuzzing`): drives the response handling of fuzz/fuzz_targets/responses.rs.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
#[path = "fuzzing.rs"]
pub mod __fuzz;
mod http;
#[cfg(feature = "peer")]
#[cfg_attr(docsrs, doc(cfg(feature = "peer")))]
pub mod peer;
pub mod raw;
#[cfg(feature = "room")]
#[cfg_attr(docsrs, doc(cfg(feature = "room")))]
pub mod room;
pub mod sdp;
mod secret;
pub mod session;
#[cfg(feature = "whip")]
#[cfg_attr(docsrs, doc(cfg(feature = "whip")))]
pub mod whip;
mod wire;

pub use client::Client;
pub use client::config::Config;
pub use error::{ApiError, Error, ErrorCode, Result};
pub use http::retry::RetryPolicy;
#[cfg(feature = "peer")]
#[cfg_attr(docsrs, doc(cfg(feature = "peer")))]
pub use peer::Peer;
#[cfg(feature = "room")]
#[cfg_attr(docsrs, doc(cfg(feature = "room")))]
pub use room::{MemoryStore, Room, Rooms};
pub use secret::Secret;
pub use session::{
    Answer, Answerer, DataChannel, LocalTrack, Negotiation, Offer, PendingOffer, RemoteTrack,
    Session,
};
pub use wire::MediaKind;

pub mod config {
    //! What a [`Client`](crate::Client) needs: the app, its secret, the APIs' URLs, optional
    //! TURN and account credentials, timeouts and retries.
    pub use crate::client::config::{Config, DEFAULT_ACCOUNT_API_URL, DEFAULT_BASE_URL};
    pub use crate::error::ConfigError;
    pub use crate::http::retry::RetryPolicy;
}

pub mod turn {
    //! TURN: credentials minted for browsers and other clients ([`Client::turn`](crate::Client::turn)),
    //! and the account's TURN keys they are minted from ([`Client::turn_keys`](crate::Client::turn_keys)).
    pub use crate::client::account::{CreateResource, UpdateResource};
    pub use crate::client::turn::{
        GenerateIceServers, IceServer, IceServers, MAX_TURN_TTL, Turn, TurnCredentials,
    };
    pub use crate::client::turn_keys::{CreateTurnKeyOutput, TurnKey, TurnKeys};
}

pub mod apps {
    //! SFU apps of a Cloudflare account, through the account API ([`Client::apps`](crate::Client::apps)).
    pub use crate::client::account::{AccountResources, CreateResource, UpdateResource};
    pub use crate::client::apps::{App, Apps, CreateAppOutput};
}

pub mod adapters {
    //! WebSocket adapters: the SFU streams a track to a WebSocket endpoint, or a WebSocket
    //! endpoint feeds a track ([`Client::adapters`](crate::Client::adapters)).
    pub use crate::adapter_url::AdapterUrl;
    pub use crate::client::adapters::{
        Adapter, AdapterItem, AdapterRefusal, Adapters, CloseAdaptersOutput, ClosedAdapter,
        CreateAdapters, CreateAdaptersOutput, MAX_ADAPTERS_PER_CALL,
    };
    pub use crate::wire::{AdapterInputCodec, AdapterMode, AdapterOutputCodec};
}
