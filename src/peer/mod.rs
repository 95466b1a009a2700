//! A server-side WebRTC peer of the SFU: Rust code that joins as a participant, with data
//! channels and media both ways (feature `peer`).
//!
//! A [`Peer`] owns one SFU session and connects to it for real (ICE, DTLS, SCTP, SRTP over
//! UDP). One tokio task per peer drives a sans-IO [str0m](https://docs.rs/str0m) `Rtc`:
//! datagrams in and out, timers, the handle's commands. Every offer the SFU makes for it is
//! answered by the peer before the call that caused it returns, under the session's lock, so
//! its exchanges never overlap.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use cloudflare_calls::{Client, Config, DataChannel};
//!
//! let client = Client::new(Config::from_env()?)?;
//! let peer = client.peer().connect().await?;
//! let chat = peer.publish(DataChannel::publish("chat")).await?;
//! chat.send_text("Hello!").await?;
//! println!("subscribe to session {} channel \"chat\"", peer.session().id());
//! peer.close().await?;
//! # Ok(()) }
//! ```
//!
//! The session is created without `thirdparty`: str0m is a full ICE agent that runs its own
//! connectivity checks, as a browser does, so the SFU can stay ICE-lite as it does for
//! browsers. The peer needs outbound UDP to the SFU; str0m has no TURN client, so a network
//! that only allows relayed traffic cannot host it (the connect then fails with
//! [`PeerError::ConnectTimeout`]).

mod channels;
mod connect;
mod connection_state;
mod driver;
mod error;
mod frame;
mod media;
mod message;
mod net;
// The concept's file is named after it, also when the concept names its folder.
#[allow(clippy::module_inception)]
mod peer;
mod test_pattern;

pub use channels::{Publisher, Replies, Subscription};
pub use connect::ConnectPeer;
pub use connection_state::ConnectionState;
pub use error::{PeerError, Result};
pub use frame::{Frame, FrameCodec, OPUS_SILENCE_20MS};
pub use media::{IncomingTrack, OutgoingTrack};
pub use message::Message;
#[cfg(feature = "room")]
pub(crate) use peer::OpenedChannel;
pub use peer::Peer;
pub use test_pattern::{PatternSizeError, TestPattern};
