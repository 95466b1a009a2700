// The room's HTTP API (the crate's `api` feature) as the library calls it: one request per
// join step, the access token on each, and refusals turned into errors a page can show.
/** Why a request of the room API failed, in words a person can read, with what a program needs. */
export class RoomClientError extends Error {
    constructor(code, status, message) {
        super(message);
        this.name = "RoomClientError";
        this.code = code;
        this.status = status;
    }
    /** Whether the same request may succeed later (the network or the SFU was down). */
    get retryable() {
        return this.code === "network" || this.code === "unavailable";
    }
}
/** What the server says, said for a person who did not write it. */
const PLAIN = {
    token_missing: "This page has no access token: sign in again.",
    token_invalid: "The access token is not valid: sign in again.",
    token_expired: "Your access token has expired: sign in again.",
    room_closed: "This room has closed.",
    room_full: "This room is full.",
    identity_taken: "Someone with your name is already in this room.",
    network: "The room's server cannot be reached: check the connection.",
};
/** The routes of one room, called with one token. */
export class Api {
    constructor(base, token, room, 
    /** A new token when this one expired (the app's sign-in, asked again). */
    refresh) {
        this.base = base;
        this.token = token;
        this.room = room;
        this.refresh = refresh;
    }
    /**
     * `POST /rooms/{room}/{path}` with a JSON body; the JSON answer, or null for 204. An expired
     * token is refreshed once, when the app said how.
     */
    async post(path, body = {}, keepalive = false) {
        try {
            return await this.send(path, body, keepalive);
        }
        catch (e) {
            if (!(e instanceof RoomClientError) || e.code !== "token_expired" || !this.refresh || keepalive)
                throw e;
            this.token = await this.refresh();
            return this.send(path, body, keepalive);
        }
    }
    async send(path, body, keepalive) {
        let response;
        try {
            response = await fetch(this.url(path), {
                method: "POST",
                headers: { "content-type": "application/json", authorization: `Bearer ${this.token}` },
                body: JSON.stringify(body),
                keepalive,
            });
        }
        catch {
            throw new RoomClientError("network", 0, PLAIN.network);
        }
        if (response.ok) {
            return (response.status === 204 ? null : await response.json());
        }
        const refusal = (await response.json().catch(() => ({})));
        const code = refusal.code ?? (response.status >= 500 ? "unavailable" : "bad_request");
        const said = refusal.error ?? `the server answered ${response.status}`;
        throw new RoomClientError(code, response.status, PLAIN[code] ?? capitalized(said));
    }
    /** The URL of a route of this room. */
    url(path) {
        return `${this.base}/rooms/${encodeURIComponent(this.room)}/${path}`;
    }
}
function capitalized(text) {
    return text.charAt(0).toUpperCase() + text.slice(1) + (text.endsWith(".") ? "" : ".");
}
