#![forbid(unsafe_code)]
//! A client for [Cloudflare Calls](https://developers.cloudflare.com/realtime/) (now
//! *Realtime*): the WebRTC SFU and its TURN service, from a Rust backend. It covers every
//! operation of the SFU, TURN and account APIs, first as raw bindings generated from OpenAPI
//! documents, then as a handwritten layer where each negotiation step is a value. Above that
//! come a server-side WebRTC peer, rooms and a WHIP/WHEP router. Every call has a timeout,
//! retries only where repeating is safe, and errors that never show a secret. The examples and
//! tests run offline against the `calls-emulator` crate.
//!
//! # Map of the modules
//!
//! - The crate root holds what a first program needs: [`Client`], [`Config`], [`Error`],
//!   [`Result`], [`ApiError`], [`ErrorCode`], [`Secret`], [`RetryPolicy`], [`Session`],
//!   [`Offer`], [`Answer`], [`Negotiation`], [`PendingOffer`], [`Answerer`], [`LocalTrack`],
//!   [`RemoteTrack`], [`DataChannel`] and [`MediaKind`]; also `Peer` (feature `peer`), and
//!   `Rooms`, `Room` and `MemoryStore` (feature `room`).
//! - [`session`]: one SFU session: its builders, outputs, per-item refusals and state.
//! - [`turn`]: ICE servers and TURN credentials, and the TURN keys that mint them.
//! - [`apps`]: SFU apps, through Cloudflare's account API.
//! - [`adapters`]: WebSocket adapters, which bridge tracks to WebSocket endpoints.
//! - [`config`]: [`Config`], its [`ConfigError`](config::ConfigError), [`RetryPolicy`] and the
//!   default base URLs.
//! - [`error`]: the HTTP layer's errors: [`Error`], [`ApiError`], [`ErrorCode`] and their parts.
//! - `peer` (feature `peer`): the backend as a WebRTC peer of the SFU: data channels, media,
//!   an H.264 test pattern. Its methods return `peer::PeerError`, which wraps [`Error`].
//! - `room` (feature `room`): rooms of participants, their events and data channel, and the
//!   stores that keep them. Its methods return `room::RoomError`, which wraps `PeerError` and
//!   [`Error`].
//! - `whip` (feature `whip`): WHIP ingest and WHEP playback as an axum `Router` over rooms.
//! - `api` (feature `api`): the room's HTTP API for browsers, an axum `Router`, with access
//!   tokens (`api::Claims`, `api::Grants`) the app's backend mints.
//! - [`metrics`]: what the crate measures through the `metrics` facade (calls, retries,
//!   rooms, peers, WHIP), for the recorder the app installs; [`metrics::CATALOG`] lists it all.
//! - [`sdp`]: lossless edits of browser SDP (Opus DTX and settings, codec filters), and parsing.
//! - [`raw`]: the generated bindings, one module per API, going through the same transport.
//!
//! # A first program
//!
//! Pull another session's microphone into a new session:
//!
//! ```no_run
//! use cloudflare_calls::{Client, Config, RemoteTrack};
//!
//! # async fn run() -> cloudflare_calls::Result<()> {
//! let client = Client::new(Config::from_env()?)?;
//! let session = client.new_session().send().await?;
//! let pulled = session
//!     .add_tracks()
//!     .pull(RemoteTrack::new("2a45361d5fd7cc14eface0587c276c94", "mic"))
//!     .send()
//!     .await?;
//! // A refused track does not fail the call: each is a `session::TrackRefusal`.
//! for refusal in &pulled.failed {
//!     eprintln!("{:?}: {}", refusal.track_name, refusal.code);
//! }
//! // `pulled.negotiation` says what the endpoint must do next.
//! # Ok(()) }
//! ```
//!
//! [`Config::from_env`] reads `CALLS_APP_ID`, `CALLS_APP_SECRET` and optionally `CALLS_API`,
//! plus `CLOUDFLARE_ACCOUNT_ID` and `CLOUDFLARE_API_TOKEN` for the account API, and
//! `CALLS_TURN_KEY_ID` and `CALLS_TURN_KEY_TOKEN` for TURN credentials.
//!
//! # Features
//!
//! - `rustls` (default): TLS through rustls, with no system OpenSSL.
//! - `native-tls`: the platform's TLS instead; use it with `default-features = false`.
//! - `peer`: the `peer` module and `Peer`, on str0m.
//! - `room`: the `room` module, `Rooms`, `Room` and `MemoryStore`; turns on `peer`.
//! - `redis`: `room::RedisStore`, room state shared by many processes; turns on `room`.
//! - `whip`: the `whip` module; turns on `room`.
//! - `api`: the `api` module, the room's HTTP API with access tokens; turns on `room`.
//!
//! On docs.rs, which builds with every feature, each item behind a feature says which one it
//! needs (`doc(cfg)`). Items without a note are always there.
//!
//! # Going further
//!
//! The [README](https://github.com/cloudflare-calls/cloudflare-calls#readme) is the front door.
//! The guides in [`docs/`](https://github.com/cloudflare-calls/cloudflare-calls/tree/main/docs)
//! go into depth: sessions and negotiation, rooms, the peer, WHIP and WHEP, errors, faults,
//! fuzzing and benchmarks. The room example serves a page to join a room from a browser:
//!
//! ![Alice's page in the room example](https://raw.githubusercontent.com/cloudflare-calls/cloudflare-calls/main/examples/room/screenshots/room-alice.png)
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// Layers, bottom to top; a file imports only from its own layer or below (checked by
// `cargo xtask layers`, which documents the order): error, secret, adapter_url, bearer,
// operation, wire, metrics, sdp | raw, http |
// session | client | peer | room | whip, api.
mod adapter_url;
#[cfg(feature = "api")]
#[cfg_attr(docsrs, doc(cfg(feature = "api")))]
pub mod api;
#[cfg(any(feature = "whip", feature = "api"))]
mod bearer;
mod client;
pub mod error;
// Internal (feature `fuzzing`): drives the response handling of fuzz/fuzz_targets/responses.rs.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
#[path = "fuzzing.rs"]
pub mod __fuzz;
mod http;
pub mod metrics;
mod operation;
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

// The README's examples compile as doctests, so the front door cannot drift from the API.
#[cfg(all(doctest, feature = "room"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub mod config {
    //! What a [`Client`](crate::Client) needs: the app, its secret, the APIs' URLs, optional
    //! TURN and account credentials, timeouts and retries.
    pub use crate::client::config::{Config, DEFAULT_ACCOUNT_API_URL, DEFAULT_BASE_URL, ENV_VARS};
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
