// What a page can read of its access token without the key: the room and identity it names.
// The server checks the signature; the library only needs to know where it is going.
/** The token's claims, or null when it is not a JWT (an app's own token for `authorize`). */
export function readToken(token) {
    const payload = token.split(".")[1];
    if (!payload)
        return null;
    try {
        const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
        const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
        return typeof claims.room === "string" && typeof claims.sub === "string" ? claims : null;
    }
    catch {
        return null;
    }
}
