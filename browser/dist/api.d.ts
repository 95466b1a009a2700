import type { ParticipantInfo, RoomUpdate, TrackInfo } from "./updates.js";
/** Why a request of the room API failed, in words a person can read, with what a program needs. */
export declare class RoomClientError extends Error {
    /** The HTTP status, or 0 when the server could not be reached. */
    readonly status: number;
    /** What went wrong, for programs: see {@link ErrorCode}. */
    readonly code: ErrorCode;
    constructor(code: ErrorCode, status: number, message: string);
    /** Whether the same request may succeed later (the network or the SFU was down). */
    get retryable(): boolean;
}
/**
 * What went wrong: the token (`token_missing`, `token_invalid`, `token_expired`, `forbidden`),
 * the room (`room_not_found`, `room_closed`, `room_full`, `identity_taken`,
 * `broadcast_taken`), the request (`bad_request`), or the way there (`network`,
 * `unavailable`). A server newer than the library may send codes not listed here.
 */
export type ErrorCode = "token_missing" | "token_invalid" | "token_expired" | "forbidden" | "room_not_found" | "room_closed" | "room_full" | "identity_taken" | "broadcast_taken" | "room_exists" | "not_found" | "bad_request" | "unavailable" | "network" | (string & {});
/** A participant of the room with its published tracks, as a snapshot lists it. */
export interface ParticipantView extends ParticipantInfo {
    tracks: TrackInfo[];
}
/** A track pulled into this endpoint's session, at the mid it arrives on. */
export interface PulledTrack {
    mid: string;
    track: TrackInfo;
}
export interface JoinResponse {
    participant: ParticipantInfo;
    answer: string;
    offer: string | null;
    pulled: PulledTrack[];
}
export interface ChannelsResponse {
    roomChannel: number;
    participantChannel: number;
    seq: number;
    participants: ParticipantView[];
}
export interface FollowResponse {
    roomChannel: number;
    updates: RoomUpdate[];
}
export interface PullResponse {
    offer: string | null;
    pulled: PulledTrack[];
}
export interface PublishResponse {
    answer: string;
    tracks: TrackInfo[];
}
/** The routes of one room, called with one token. */
export declare class Api {
    private readonly base;
    private token;
    readonly room: string;
    /** A new token when this one expired (the app's sign-in, asked again). */
    private readonly refresh?;
    constructor(base: string, token: string, room: string, 
    /** A new token when this one expired (the app's sign-in, asked again). */
    refresh?: (() => Promise<string>) | undefined);
    /**
     * `POST /rooms/{room}/{path}` with a JSON body; the JSON answer, or null for 204. An expired
     * token is refreshed once, when the app said how.
     */
    post<T>(path: string, body?: unknown, keepalive?: boolean): Promise<T>;
    private send;
    /** The URL of a route of this room. */
    url(path: string): string;
}
