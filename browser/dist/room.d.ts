import { RoomClientError } from "./api.js";
import { Emitter } from "./events.js";
import type { LeaveReason, ParticipantInfo, Role, TrackInfo } from "./updates.js";
/** Where the page's link to the room stands. */
export type ConnectionState = "connecting" | "connected" | "reconnecting" | "disconnected";
/** Why the page is out of the room: it left, was kicked, the room closed, or an error. */
export type DisconnectReason = LeaveReason | "error";
/** How to join. */
export interface RoomOptions {
    /** `member` (sends and receives, the default), `broadcaster`, or `viewer` (receives the broadcast). */
    role?: Role;
    /** The app's data about this participant, shown to the others (at most 4 KiB). */
    metadata?: string;
    /** STUN and TURN servers for the connection to the SFU. */
    iceServers?: RTCIceServer[];
    /** `relay` to reach the SFU only through the TURN servers (behind a strict firewall). */
    iceTransportPolicy?: RTCIceTransportPolicy;
    /** The room, when the token is not one of the crate's (an app's own, for `authorize`). */
    room?: string;
    /**
     * A fresh token, when the one given to `connect` expired: asked for (once per refusal) when
     * the room API refuses an expired token, so a call longer than a token's life goes on.
     */
    refreshToken?: () => Promise<string>;
    /** Rejoin on its own when the connection fails (default true). */
    reconnect?: boolean;
    /** How long a lost connection may try to come back before the page rejoins (default 5 s). */
    reconnectAfterMs?: number;
}
/** A track of another participant this page receives. */
export interface RemoteTrack {
    /** The media: put it in a `<video>` or `<audio>` with `new MediaStream([track])`. */
    track: MediaStreamTrack;
    /** Who publishes it. */
    participant: ParticipantInfo;
    /** Its name and kind in the publisher's session. */
    info: TrackInfo;
}
/** A message from the server or a participant. */
export interface ReceivedMessage {
    /** The sender, or null for the server. */
    from: ParticipantInfo | null;
    /** Whether it was sent to this page alone. */
    direct: boolean;
    /** The text, for a text message. */
    text?: string;
    /** The bytes, for a binary message. */
    binary?: Uint8Array;
}
/** The events of a {@link Room}, and what their listeners get. */
export interface RoomEvents {
    /** Someone is in the room (also everyone already there, as the page joins). */
    participantJoined: (participant: ParticipantInfo) => void;
    /** Someone left, was kicked, or expired. */
    participantLeft: (participant: ParticipantInfo, reason: LeaveReason) => void;
    /** A track of another participant arrived. */
    trackSubscribed: (track: RemoteTrack) => void;
    /** That track is no longer published. */
    trackUnsubscribed: (track: RemoteTrack) => void;
    /** A message. */
    message: (message: ReceivedMessage) => void;
    /** The link to the room changed. */
    connectionState: (state: ConnectionState) => void;
    /** The page is out of the room for good; `error` says why when it is an error. */
    disconnected: (reason: DisconnectReason, error?: RoomClientError) => void;
    /** Something failed that the page stays in the room through (a track that could not be pulled). */
    error: (error: RoomClientError) => void;
}
/**
 * A room, joined through the crate's room API.
 *
 * ```js
 * const room = new Room({ iceServers });
 * room.on("trackSubscribed", ({ track }) => show(track));
 * await room.connect("https://app.example", token, camera.getTracks());
 * ```
 */
export declare class Room extends Emitter<RoomEvents> {
    /** The others in the room, by participant id. */
    readonly participants: Map<string, ParticipantInfo>;
    private readonly options;
    private api;
    private link;
    private local;
    private current;
    private left;
    private reconnecting;
    private lostTimer;
    private readonly onPageHide;
    constructor(options?: RoomOptions);
    /** This page's participant, once connected. */
    get me(): ParticipantInfo | null;
    /** Where the link to the room stands. */
    get state(): ConnectionState;
    /** The room's name. */
    get name(): string | null;
    /**
     * Joins the room the token names, at the room API served at `url`, publishing `tracks`
     * (a camera and microphone; none for a viewer). Resolves once the page is in the room and
     * announced; rejects with a {@link RoomClientError} (an expired token, a full room…).
     */
    connect(url: string, token: string, tracks?: MediaStreamTrack[]): Promise<void>;
    /** Publishes more tracks (a screen share) while in the room. */
    publish(tracks: MediaStreamTrack[]): Promise<void>;
    /** Stops publishing `tracks`, and stops them. */
    unpublish(tracks: MediaStreamTrack[]): Promise<void>;
    /** Sends a text or binary message to everyone in the room. */
    sendMessage(message: string | Uint8Array): void;
    /** Leaves the room: the others are told, and the tracks this page published are stopped. */
    leave(): Promise<void>;
    private join;
    private remember;
    /** Answers the SFU's offer of pulled tracks, if it made one. */
    private answer;
    /** Whether this page receives `track`: a member everyone's, a viewer the broadcast's. */
    private wants;
    /**
     * Pulls `tracks`. The SFU refuses a track that has sent no media yet (a publisher that
     * just connected): those are asked for again, a few times, half a second apart.
     */
    private pull;
    private onTrack;
    /** Reports the tracks that arrived whose publisher is known, once each. */
    private report;
    private openRoomChannel;
    private onUpdate;
    /** After `host_changed`: the new host's room channel, and what this page missed from the
     * room's log; each update is applied once, in order. A page that cannot follow rejoins. */
    private follow;
    private apply;
    private unsubscribe;
    private publisher;
    private onConnection;
    /** Joins again, once `lost` is left; `moved`: the room moved to another host, so a link
     * that is still connected is rejoined too. */
    private rejoin;
    /** On a reload or a closed tab: leave, with a request that outlives the page. */
    private leaveOnUnload;
    private finish;
    /** Closes the connection, and forgets what came through it. */
    private drop;
    private close;
    private joined;
    private post;
    /** Runs `step` after the link's earlier negotiations; a failure is the caller's. */
    private serially;
    private setState;
}
