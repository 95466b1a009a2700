export type LeaveReason = "left" | "kicked" | "expired" | "room_closed";
export type MediaKind = "audio" | "video";
/** A participant as the room announces it. */
export interface ParticipantInfo {
    /** The room's id for the participant, unique in the room. */
    id: string;
    /** The name the app joined it under, unique among the room's participants. */
    identity: string;
    /** The app's data about it, as given at join. */
    metadata?: string | null;
    /** What it does in the room. */
    role: Role;
    /** Its SFU session: where its tracks are pulled from. */
    sessionId: string;
}
export type Role = "member" | "broadcaster" | "viewer";
/** A published track: what another participant pulls. */
export interface TrackInfo {
    /** Audio or video. */
    kind: MediaKind;
    /** The track's name in that session. */
    name: string;
    /** The publisher's SFU session. */
    sessionId: string;
}
/** A participant is connected and on the room channel. */
export interface ParticipantJoined {
    type: "participant_joined";
    /** Who. */
    participant: ParticipantInfo;
}
/** A participant is gone; its tracks were unpublished just before. */
export interface ParticipantLeft {
    type: "participant_left";
    /** Who. */
    participant: ParticipantInfo;
    /** Why. */
    reason: LeaveReason;
}
/** A participant published tracks (all those of one join or publish): pull them to receive them. */
export interface TracksPublished {
    type: "tracks_published";
    /** The publisher's participant id. */
    participant: string;
    /** The tracks. */
    tracks: TrackInfo[];
}
/** Tracks are no longer published. */
export interface TracksUnpublished {
    type: "tracks_unpublished";
    /** The publisher's participant id. */
    participant: string;
    /** The tracks. */
    tracks: TrackInfo[];
}
/** A message: from the server (`from` is null) or from a participant. */
export type Message = {
    type: "message";
    /** The sending participant's id, or null for the server. */
    from?: string | null;
    /** The one participant it is for; absent when it is for everyone. */
    to?: string | null;
} & (
/** A text message. */
{
    /** The text. */
    text: string;
}
/** A binary message. */
 | {
    /** The bytes. */
    binary: number[];
});
/** Another backend process hosts the room now (the one before stopped beating): the room channel is now `host_session_id`'s. It comes on each participant's own channel as well as on the new room channel. A participant subscribes to the new room channel, then reads every update after the last one it had from the room's log: a server-side [`RoomPeer`](super::RoomPeer) does both itself, and an endpoint of the room API asks `…/follow` (see [`Participant::follow_host`](super::Participant::follow_host)), as the browser library does. */
export interface HostChanged {
    type: "host_changed";
    /** The session that publishes the room channel from now on. */
    host_session_id: string;
}
/** The room closed; nothing follows. */
export interface RoomClosed {
    type: "room_closed";
}
/** One of the room's events, told apart by `type`. */
export type RoomEvent = ParticipantJoined | ParticipantLeft | TracksPublished | TracksUnpublished | Message | HostChanged | RoomClosed;
/** A [`RoomEvent`] with its place in the room's history. */
export type RoomUpdate = RoomEvent & {
    /** The event's number in the room, from 1, without gaps across the room; a participant's room channel skips only direct messages, which come on its participant channel. Updates up to the `seq` of the participant's snapshot are in the snapshot. */
    seq: number;
    /** [`PROTOCOL_VERSION`]. */
    v: number;
};
