//! What a room tells its app and its participants: [`RoomEvent`]s, numbered in a
//! [`RoomUpdate`], and the JSON format they travel in over the room's data channel.
//!
//! Every text message on the room channel is one `RoomUpdate` as JSON:
//!
//! ```json
//! {"v":1,"seq":7,"type":"tracks_published","participant":"p-3f2a","tracks":[{"sessionId":"…","name":"cam","kind":"video"}]}
//! {"v":1,"seq":8,"type":"message","from":null,"text":"Hello!"}
//! ```
//!
//! `v` is [`PROTOCOL_VERSION`]; it changes only when an existing field changes meaning, so a
//! client may ignore fields and event types it does not know. [`room_update_schema`] is the
//! JSON Schema of the format, for generating a browser app's types.
//!
//! # The `seq` contract
//!
//! `seq` numbers the room's events from 1, without gaps, in the order the room recorded them.
//! A participant receives them on two channels, each in `seq` order:
//!
//! - the **room channel**: every event from its subscription on, except direct messages;
//! - its **participant channel**: the direct messages to it (`message` with a `to`).
//!
//! So the only gaps on the room channel are direct messages (to others, and to this
//! participant on its other channel), and the two channels are not ordered with each other.
//!
//! A participant's snapshot at `seq` N ([`RoomChannels`](super::RoomChannels),
//! [`RoomPeer::view`](super::RoomPeer::view)) is taken after its room channel subscription and
//! before it is announced. Every update with a `seq` above N reaches it, starting with its own
//! `participant_joined`, and every direct message sent to it (the room accepts those only once
//! it is announced); every update up to N is already in the snapshot, or is a message from
//! before it joined. A client therefore ignores updates with `seq` ≤ N and applies the others
//! as each channel delivers them, without raising N as they come.

use serde::{Deserialize, Serialize};

use crate::wire::{MediaKind, wire_enum};

/// The name of the channel a room's host publishes to every participant: `room:` and the
/// room's id. Its host's peer carries the channels of other rooms beside it (see the
/// [module docs](super)), so each room's name is its own.
///
/// ```
/// assert_eq!(cloudflare_calls::room::room_channel("standup"), "room:standup");
/// ```
pub fn room_channel(room_id: &str) -> String {
    format!("room:{room_id}")
}
/// The name of the channel each participant publishes to the server.
pub const PARTICIPANT_CHANNEL: &str = "participant";

/// The version of the room channel's JSON format, the `v` of every [`RoomUpdate`].
pub const PROTOCOL_VERSION: u32 = 1;

wire_enum! {
    /// What a participant does in a room.
    pub enum Role {
        /// Publishes its tracks and pulls everyone's.
        Member = "member",
        /// The room's broadcast: publishes, pulls nothing.
        Broadcaster = "broadcaster",
        /// Watches the broadcast: pulls its tracks, publishes nothing.
        Viewer = "viewer",
    }
}

wire_enum! {
    /// Why a participant left.
    pub enum LeaveReason {
        /// It left.
        Left = "left",
        /// The app removed it.
        Kicked = "kicked",
        /// Its SFU session died (expired, or its connection was lost).
        Expired = "expired",
        /// The room closed.
        RoomClosed = "room_closed",
    }
}

/// A participant as the room announces it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ParticipantInfo {
    /// The room's id for the participant, unique in the room.
    pub id: String,
    /// The name the app joined it under, unique among the room's participants.
    pub identity: String,
    /// What it does in the room.
    pub role: Role,
    /// Its SFU session: where its tracks are pulled from.
    pub session_id: String,
    /// The app's data about it, as given at join.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
}

/// A published track: what another participant pulls.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TrackInfo {
    /// The publisher's SFU session.
    pub session_id: String,
    /// The track's name in that session.
    pub name: String,
    /// Audio or video.
    pub kind: MediaKind,
}

impl TrackInfo {
    /// The track as a pull request for [`AddTracks::pull`](crate::session::AddTracks::pull).
    pub fn remote(&self) -> crate::RemoteTrack {
        crate::RemoteTrack::new(&self.session_id, &self.name)
    }
}

/// The content of a message: text, or bytes (a JSON array of numbers on the wire).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Payload {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

impl From<&str> for Payload {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<String> for Payload {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<Vec<u8>> for Payload {
    fn from(bytes: Vec<u8>) -> Self {
        Self::Binary(bytes)
    }
}

impl From<&[u8]> for Payload {
    fn from(bytes: &[u8]) -> Self {
        Self::Binary(bytes.to_vec())
    }
}

/// [`Payload`] in the schema of a message, where its key sits beside the message's fields:
/// schemars closes an externally tagged enum's variants (`additionalProperties: false`),
/// which would reject every message once flattened into it.
#[derive(schemars::JsonSchema)]
#[schemars(untagged)]
#[allow(dead_code)] // only its schema is used
enum FlatPayload {
    /// A text message.
    Text {
        /// The text.
        text: String,
    },
    /// A binary message.
    Binary {
        /// The bytes.
        binary: Vec<u8>,
    },
}

/// Something that happened in a room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RoomEvent {
    /// A participant is connected and on the room channel.
    ParticipantJoined {
        /// Who.
        participant: ParticipantInfo,
    },
    /// A participant is gone; its tracks were unpublished just before.
    ParticipantLeft {
        /// Who.
        participant: ParticipantInfo,
        /// Why.
        reason: LeaveReason,
    },
    /// A participant published tracks (all those of one join or publish): pull them to
    /// receive them.
    TracksPublished {
        /// The publisher's participant id.
        participant: String,
        /// The tracks.
        tracks: Vec<TrackInfo>,
    },
    /// Tracks are no longer published.
    TracksUnpublished {
        /// The publisher's participant id.
        participant: String,
        /// The tracks.
        tracks: Vec<TrackInfo>,
    },
    /// A message: from the server (`from` is null) or from a participant.
    Message {
        /// The sending participant's id, or null for the server.
        from: Option<String>,
        /// The one participant it is for; absent when it is for everyone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
        /// What it says.
        #[serde(flatten)]
        #[schemars(with = "FlatPayload")]
        payload: Payload,
    },
    /// Another backend process hosts the room now (the one before stopped beating): the room
    /// channel is now `host_session_id`'s. It comes on each participant's own channel as well
    /// as on the new room channel. A participant subscribes to the new room channel, then
    /// reads every update after the last one it had from the room's log: a server-side
    /// [`RoomPeer`](super::RoomPeer) does both itself, and an endpoint of the room API asks
    /// `…/follow` (see [`Participant::follow_host`](super::Participant::follow_host)), as the
    /// browser library does.
    HostChanged {
        /// The session that publishes the room channel from now on.
        host_session_id: String,
    },
    /// The room closed; nothing follows.
    RoomClosed,
}

/// A [`RoomEvent`] with its place in the room's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct RoomUpdate {
    /// [`PROTOCOL_VERSION`].
    pub v: u32,
    /// The event's number in the room, from 1, without gaps across the room; a participant's
    /// room channel skips only direct messages, which come on its participant channel.
    /// Updates up to the `seq` of the participant's snapshot are in the snapshot.
    pub seq: u64,
    /// What happened.
    #[serde(flatten)]
    pub event: RoomEvent,
}

impl RoomUpdate {
    /// Numbers `event` as the room's event `seq`.
    pub fn new(seq: u64, event: RoomEvent) -> Self {
        Self {
            v: PROTOCOL_VERSION,
            seq,
            event,
        }
    }

    /// The update as the room channel carries it.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Whether `participant` receives the update: a direct message only its addressee does.
    pub(crate) fn is_for(&self, participant: &str) -> bool {
        match &self.event {
            RoomEvent::Message { to: Some(to), .. } => to == participant,
            _ => true,
        }
    }

    /// Reads an update from the room channel; `None` for text that is not one.
    pub fn from_json(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}

/// The JSON Schema (draft 7) of the room channel's messages, [`RoomUpdate`].
///
/// ```
/// let schema = cloudflare_calls::room::room_update_schema();
/// assert_eq!(schema["title"], "RoomUpdate");
/// ```
pub fn room_update_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(RoomUpdate)).unwrap_or_default()
}
