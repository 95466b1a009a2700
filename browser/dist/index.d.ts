export { Room } from "./room.js";
export type { ConnectionState, DisconnectReason, ReceivedMessage, RemoteTrack, RoomEvents, RoomOptions, } from "./room.js";
export { RoomClientError } from "./api.js";
export type { ErrorCode, ParticipantView } from "./api.js";
export { readToken } from "./token.js";
export type { TokenClaims } from "./token.js";
export type * from "./updates.js";
