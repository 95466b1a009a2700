//! Rooms: participants, their tracks and a data channel to all of them, on top of sessions
//! (feature `room`).
//!
//! A room has participants; each participant is one SFU session, in a browser or anywhere
//! else. Every track a participant publishes is registered in the room and pulled by the
//! others. The room's host, a server-side [`Peer`](crate::Peer), publishes the room channel, on
//! which every participant receives the room's [`RoomUpdate`]s as JSON, and each participant
//! publishes a channel of its own, on which the server reads its messages and sends it
//! direct ones. Room state lives in a [`Store`]: [`MemoryStore`] for one backend process.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use cloudflare_calls::room::MemoryStore;
//! use cloudflare_calls::{Client, Config, Offer};
//!
//! let client = Client::new(Config::from_env()?)?;
//! let rooms = client.rooms(MemoryStore::new());
//! let room = rooms.create().max_participants(8).send().await?;
//! # let sdp = String::new();
//! let joining = room.join("alice").offer(Offer::new(sdp)).send().await?;
//! // Give the browser `joining.answer`, then the SFU's offer in `joining.negotiation`;
//! // its answer goes to `joining.participant.renegotiate(..)`.
//! room.send_message("Hello!").await?;
//! # Ok(()) }
//! ```
//!
//! The process that creates a room hosts it: it publishes the room channel, relays the
//! store's events to it, removes participants whose sessions died and closes the room when it
//! has been empty for its timeout. One peer of the process carries the channels of up to 128
//! rooms it hosts, each under its own name ([`room_channel`]), so an idle room costs its host
//! no WebRTC connection of its own.

mod error;
mod event;
mod ghosts;
mod host;
mod host_peers;
pub(crate) mod ids;
mod join;
mod node;
mod offer_tracks;
mod participant;
// The concept's file is named after it, also when the concept names its folder.
#[allow(clippy::module_inception)]
mod room;
mod room_peer;
mod rooms;
mod shared;
pub(crate) mod store;

pub use error::{Result, RoomError};
pub use event::{
    LeaveReason, PARTICIPANT_CHANNEL, PROTOCOL_VERSION, ParticipantInfo, Payload, Role, RoomEvent,
    RoomUpdate, TrackInfo, room_channel, room_update_schema,
};
pub use join::{Join, Joining};
pub use participant::{HostChannel, Participant, ParticipantView, PulledTrack, RoomChannels};
pub use room::Room;
pub use room_peer::RoomPeer;
pub use rooms::{CreateRoom, Rooms};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use store::RedisStore;
pub use store::{
    EventStream, Lease, Leaving, MemoryStore, ParticipantRecord, RoomRecord, RoomSnapshot, Store,
    StoreFuture,
};
