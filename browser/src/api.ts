// The room's HTTP API (the crate's `api` feature) as the library calls it: one request per
// join step, the access token on each, and refusals turned into errors a page can show.

import type { ParticipantInfo, RoomUpdate, TrackInfo } from "./updates.js";

/** Why a request of the room API failed, in words a person can read, with what a program needs. */
export class RoomClientError extends Error {
  /** The HTTP status, or 0 when the server could not be reached. */
  readonly status: number;
  /** What went wrong, for programs: see {@link ErrorCode}. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, status: number, message: string) {
    super(message);
    this.name = "RoomClientError";
    this.code = code;
    this.status = status;
  }

  /** Whether the same request may succeed later (the network or the SFU was down). */
  get retryable(): boolean {
    return this.code === "network" || this.code === "unavailable";
  }
}

/**
 * What went wrong: the token (`token_missing`, `token_invalid`, `token_expired`, `forbidden`),
 * the room (`room_not_found`, `room_closed`, `room_full`, `identity_taken`,
 * `broadcast_taken`), the request (`bad_request`), or the way there (`network`,
 * `unavailable`). A server newer than the library may send codes not listed here.
 */
export type ErrorCode =
  | "token_missing"
  | "token_invalid"
  | "token_expired"
  | "forbidden"
  | "room_not_found"
  | "room_closed"
  | "room_full"
  | "identity_taken"
  | "broadcast_taken"
  | "room_exists"
  | "not_found"
  | "bad_request"
  | "unavailable"
  | "network"
  | (string & {});

/** What the server says, said for a person who did not write it. */
const PLAIN: Partial<Record<string, string>> = {
  token_missing: "This page has no access token: sign in again.",
  token_invalid: "The access token is not valid: sign in again.",
  token_expired: "Your access token has expired: sign in again.",
  room_closed: "This room has closed.",
  room_full: "This room is full.",
  identity_taken: "Someone with your name is already in this room.",
  network: "The room's server cannot be reached: check the connection.",
};

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
export class Api {
  constructor(
    private readonly base: string,
    private token: string,
    readonly room: string,
    /** A new token when this one expired (the app's sign-in, asked again). */
    private readonly refresh?: () => Promise<string>,
  ) {}

  /**
   * `POST /rooms/{room}/{path}` with a JSON body; the JSON answer, or null for 204. An expired
   * token is refreshed once, when the app said how.
   */
  async post<T>(path: string, body: unknown = {}, keepalive = false): Promise<T> {
    try {
      return await this.send<T>(path, body, keepalive);
    } catch (e) {
      if (!(e instanceof RoomClientError) || e.code !== "token_expired" || !this.refresh || keepalive) throw e;
      this.token = await this.refresh();
      return this.send<T>(path, body, keepalive);
    }
  }

  private async send<T>(path: string, body: unknown, keepalive: boolean): Promise<T> {
    let response: Response;
    try {
      response = await fetch(this.url(path), {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${this.token}` },
        body: JSON.stringify(body),
        keepalive,
      });
    } catch {
      throw new RoomClientError("network", 0, PLAIN.network!);
    }
    if (response.ok) {
      return (response.status === 204 ? null : await response.json()) as T;
    }
    const refusal = (await response.json().catch(() => ({}))) as { error?: string; code?: string };
    const code = refusal.code ?? (response.status >= 500 ? "unavailable" : "bad_request");
    const said = refusal.error ?? `the server answered ${response.status}`;
    throw new RoomClientError(code, response.status, PLAIN[code] ?? capitalized(said));
  }

  /** The URL of a route of this room. */
  url(path: string): string {
    return `${this.base}/rooms/${encodeURIComponent(this.room)}/${path}`;
  }
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1) + (text.endsWith(".") ? "" : ".");
}
