/** The claims of an access token minted by the crate's `Claims::to_jwt`. */
export interface TokenClaims {
    room: string;
    sub: string;
    exp: number;
}
/** The token's claims, or null when it is not a JWT (an app's own token for `authorize`). */
export declare function readToken(token: string): TokenClaims | null;
