// cloudflare-calls-room: join a cloudflare-calls room from a browser.
//
// `Room` is the participant: connect with the room API's URL and an access token, listen to
// its events, publish, send messages, leave. `RoomClientError` is every failure, with a
// message a person can read and a `code` a program can act on. The room channel's message
// types (`RoomUpdate`, …) are generated from the crate's JSON Schema.
export { Room } from "./room.js";
export { RoomClientError } from "./api.js";
export { readToken } from "./token.js";
