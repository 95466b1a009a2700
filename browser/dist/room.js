// A participant of a cloudflare-calls room, in a browser.
//
// The model: one RTCPeerConnection to the SFU carries this page's tracks, everyone else's
// tracks it pulls, and two data channels: `room` (updates for everyone, from the room's host)
// and `participant` (this page's messages out, direct messages in). The room's HTTP API does
// each step for the page: join with an offer, answer the SFU's offers, open the channels,
// announce, pull, publish. The room numbers its updates (`seq`); the snapshot taken when the
// channels open reflects every update up to its `seq`, so those are skipped when they arrive.
import { Api, RoomClientError, } from "./api.js";
import { Emitter } from "./events.js";
import { readToken } from "./token.js";
/** How many times a track the SFU refuses is asked for again, half a second apart. */
const PULL_ATTEMPTS = 10;
/** How long a join waits for the room to relay its arrival. */
const ANNOUNCE_WAIT_MS = 5000;
/**
 * A room, joined through the crate's room API.
 *
 * ```js
 * const room = new Room({ iceServers });
 * room.on("trackSubscribed", ({ track }) => show(track));
 * await room.connect("https://app.example", token, camera.getTracks());
 * ```
 */
export class Room extends Emitter {
    constructor(options = {}) {
        super();
        /** The others in the room, by participant id. */
        this.participants = new Map();
        this.api = null;
        this.link = null;
        this.local = [];
        this.current = "disconnected";
        this.left = false;
        this.reconnecting = null;
        this.onPageHide = () => this.leaveOnUnload();
        this.options = options;
    }
    /** This page's participant, once connected. */
    get me() {
        return this.link?.me ?? null;
    }
    /** Where the link to the room stands. */
    get state() {
        return this.current;
    }
    /** The room's name. */
    get name() {
        return this.api?.room ?? null;
    }
    /**
     * Joins the room the token names, at the room API served at `url`, publishing `tracks`
     * (a camera and microphone; none for a viewer). Resolves once the page is in the room and
     * announced; rejects with a {@link RoomClientError} (an expired token, a full room…).
     */
    async connect(url, token, tracks = []) {
        const room = this.options.room ?? readToken(token)?.room;
        if (!room) {
            throw new RoomClientError("bad_request", 0, "The access token names no room: pass the room in the options.");
        }
        this.api = new Api(url.replace(/\/$/, ""), token, room, this.options.refreshToken);
        this.local = [...tracks];
        this.left = false;
        this.setState("connecting");
        try {
            await this.join();
        }
        catch (e) {
            this.drop();
            this.setState("disconnected");
            throw e;
        }
        addEventListener("pagehide", this.onPageHide);
    }
    /** Publishes more tracks (a screen share) while in the room. */
    async publish(tracks) {
        const link = this.joined();
        await this.serially(link, async () => {
            for (const track of tracks)
                link.pc.addTransceiver(track, { direction: "sendonly" });
            await link.pc.setLocalDescription(await link.pc.createOffer());
            const published = await this.post(link, "publish", { offer: link.pc.localDescription.sdp });
            await link.pc.setRemoteDescription({ type: "answer", sdp: published.answer });
            this.local.push(...tracks);
        });
    }
    /** Stops publishing `tracks`, and stops them. */
    async unpublish(tracks) {
        const link = this.joined();
        await this.serially(link, async () => {
            // The room names a browser's track after its id (the `msid` of its section).
            await this.post(link, "unpublish", { names: tracks.map((t) => t.id) });
            for (const transceiver of link.pc.getTransceivers()) {
                if (transceiver.sender.track && tracks.includes(transceiver.sender.track)) {
                    await transceiver.sender.replaceTrack(null);
                }
            }
            this.local = this.local.filter((t) => !tracks.includes(t));
            tracks.forEach((t) => t.stop());
        });
    }
    /** Sends a text or binary message to everyone in the room. */
    sendMessage(message) {
        const channel = this.joined().mine;
        if (!channel || channel.readyState !== "open") {
            throw new RoomClientError("network", 0, "Not connected to the room: the message was not sent.");
        }
        if (typeof message === "string")
            channel.send(message);
        else
            channel.send(new Uint8Array(message));
    }
    /** Leaves the room: the others are told, and the tracks this page published are stopped. */
    async leave() {
        if (this.left)
            return;
        this.left = true;
        const link = this.link;
        if (link)
            await this.post(link, "leave").catch(() => undefined);
        this.finish("left");
    }
    // ---- joining ----
    async join() {
        const role = this.options.role ?? "member";
        const pc = new RTCPeerConnection({
            iceServers: this.options.iceServers ?? [],
            iceTransportPolicy: this.options.iceTransportPolicy ?? "all",
            bundlePolicy: "max-bundle",
        });
        const link = {
            pc,
            me: undefined,
            seq: 0,
            roomSeq: 0,
            direct: new Set(),
            mine: null,
            roomChannel: null,
            pulled: new Map(),
            asked: new Set(),
            queue: Promise.resolve(),
            heard: () => undefined,
        };
        this.link = link;
        pc.ontrack = (e) => this.onTrack(link, e);
        pc.onconnectionstatechange = () => this.onConnection(link);
        if (role === "viewer") {
            // Sections to receive the broadcast in: the answer to this offer carries it.
            pc.addTransceiver("audio", { direction: "recvonly" });
            pc.addTransceiver("video", { direction: "recvonly" });
        }
        for (const track of this.local)
            pc.addTransceiver(track, { direction: "sendonly" });
        // A data channel in the first offer puts the SCTP section in it; the room's channels are
        // then opened with the ids the server hands out, with no renegotiation.
        const boot = pc.createDataChannel("boot");
        await pc.setLocalDescription(await pc.createOffer());
        boot.close();
        const joined = await this.api.post("join", {
            role,
            metadata: this.options.metadata,
            offer: pc.localDescription.sdp,
        });
        link.me = joined.participant;
        this.remember(link, joined.pulled);
        await pc.setRemoteDescription({ type: "answer", sdp: joined.answer });
        await this.answer(link, joined.offer);
        const channels = await this.post(link, "channels");
        link.seq = link.roomSeq = channels.seq;
        const known = new Set();
        for (const p of channels.participants) {
            if (p.id === link.me.id)
                continue;
            known.add(p.id);
            if (!this.participants.has(p.id)) {
                const { tracks: _, ...info } = p;
                this.participants.set(p.id, info);
                this.emit("participantJoined", info);
            }
        }
        this.report(link);
        // After a rejoin: whoever left while this page was away.
        for (const [id, p] of this.participants) {
            if (!known.has(id)) {
                this.participants.delete(id);
                this.emit("participantLeft", p, "left");
            }
        }
        this.openRoomChannel(link, channels.roomChannel);
        link.mine = pc.createDataChannel("participant", { negotiated: true, id: channels.participantChannel });
        link.mine.onmessage = (e) => this.onUpdate(link, e.data, false);
        // The room relays this page's arrival once it reads the page's channel: until then, a
        // message the page sends would be lost, so the join waits for it (5 s at most).
        const heard = new Promise((resolve) => (link.heard = resolve));
        // Announced only once both channels exist, so nothing the room sends is dropped.
        await this.post(link, "announce");
        // Tracks published between the join's pull and the snapshot.
        await this.pull(link, channels.participants.flatMap((p) => p.tracks));
        await Promise.race([heard, new Promise((r) => setTimeout(r, ANNOUNCE_WAIT_MS))]);
        if (link.pc.connectionState === "connected")
            this.setState("connected");
    }
    remember(link, pulled) {
        for (const p of pulled) {
            link.asked.add(key(p.track));
            link.pulled.set(p.mid, { info: p.track });
        }
    }
    /** Answers the SFU's offer of pulled tracks, if it made one. */
    async answer(link, offer) {
        if (!offer)
            return;
        await link.pc.setRemoteDescription({ type: "offer", sdp: offer });
        await link.pc.setLocalDescription(await link.pc.createAnswer());
        await this.post(link, "answer", { answer: link.pc.localDescription.sdp });
    }
    /** Whether this page receives `track`: a member everyone's, a viewer the broadcast's. */
    wants(link, track) {
        const role = this.options.role ?? "member";
        if (role === "broadcaster" || track.sessionId === link.me.sessionId)
            return false;
        const publisher = this.publisher(track.sessionId);
        if (!publisher)
            return false; // gone, or not announced yet
        return role !== "viewer" || publisher.role === "broadcaster";
    }
    /**
     * Pulls `tracks`. The SFU refuses a track that has sent no media yet (a publisher that
     * just connected): those are asked for again, a few times, half a second apart.
     */
    pull(link, tracks, attempt = 0) {
        return this.serially(link, async () => {
            const wanted = tracks.filter((t) => this.wants(link, t) && !link.asked.has(key(t)));
            if (!wanted.length)
                return;
            wanted.forEach((t) => link.asked.add(key(t)));
            const pulled = await this.post(link, "pull", { tracks: wanted });
            this.remember(link, pulled.pulled);
            await this.answer(link, pulled.offer);
            const got = new Set(pulled.pulled.map((p) => key(p.track)));
            const missing = wanted.filter((t) => !got.has(key(t)));
            missing.forEach((t) => link.asked.delete(key(t)));
            if (missing.length && attempt < PULL_ATTEMPTS) {
                setTimeout(() => this.pull(link, missing, attempt + 1).catch((e) => this.emit("error", asError(e))), 500);
            }
        });
    }
    // ---- what arrives ----
    onTrack(link, e) {
        const mid = e.transceiver.mid;
        const pulled = mid === null ? undefined : link.pulled.get(mid);
        if (!pulled)
            return;
        pulled.track = e.track;
        this.report(link);
    }
    /** Reports the tracks that arrived whose publisher is known, once each. */
    report(link) {
        for (const pulled of link.pulled.values()) {
            const participant = this.publisher(pulled.info.sessionId);
            if (pulled.remote || !pulled.track || !participant)
                continue;
            pulled.remote = { track: pulled.track, participant, info: pulled.info };
            this.emit("trackSubscribed", pulled.remote);
        }
    }
    openRoomChannel(link, id) {
        link.roomChannel?.close();
        const channel = link.pc.createDataChannel("room", { negotiated: true, id });
        // The SFU holds the room's updates until the page says it is ready for them.
        channel.onopen = () => channel.send("ready");
        channel.onmessage = (e) => this.onUpdate(link, e.data, true);
        link.roomChannel = channel;
    }
    onUpdate(link, data, onRoomChannel) {
        if (link !== this.link || typeof data !== "string")
            return;
        let update;
        try {
            update = JSON.parse(data);
        }
        catch {
            return; // not the room's: nothing a page can do with it
        }
        // Up to `link.seq`, already applied. Not raised as updates come: the room channel and
        // the participant channel are each in order, but not with each other.
        if (update.seq <= link.seq)
            return;
        if (onRoomChannel) {
            link.roomSeq = update.seq;
            for (const seq of link.direct)
                if (seq <= update.seq)
                    link.direct.delete(seq);
        }
        else {
            link.direct.add(update.seq);
        }
        this.apply(link, update);
    }
    /** After `host_changed`: the new host's room channel, and what this page missed from the
     * room's log; each update is applied once, in order. A page that cannot follow rejoins. */
    async follow(link) {
        try {
            const got = await this.post(link, "follow", { after: link.roomSeq });
            if (link !== this.link)
                return;
            for (const update of got.updates) {
                if (update.seq <= link.seq || link.direct.has(update.seq))
                    continue;
                if (update.type !== "host_changed")
                    this.apply(link, update);
            }
            const last = got.updates.length ? got.updates[got.updates.length - 1].seq : link.roomSeq;
            link.seq = link.roomSeq = Math.max(link.seq, last);
            link.direct.clear();
            this.openRoomChannel(link, got.roomChannel);
        }
        catch {
            this.rejoin(link, true);
        }
    }
    apply(link, update) {
        switch (update.type) {
            case "participant_joined":
                if (update.participant.id === link.me.id)
                    link.heard();
                if (update.participant.id === link.me.id || this.participants.has(update.participant.id))
                    return;
                this.participants.set(update.participant.id, update.participant);
                this.emit("participantJoined", update.participant);
                this.report(link);
                break;
            case "participant_left": {
                if (update.participant.id === link.me.id) {
                    // Expired: the room thought this page gone, but it is here; kicked: it is not.
                    if (update.reason === "expired")
                        this.rejoin(link);
                    else if (update.reason !== "left")
                        this.finish(update.reason);
                    return;
                }
                this.unsubscribe(link, (t) => t.sessionId === update.participant.sessionId);
                if (this.participants.delete(update.participant.id)) {
                    this.emit("participantLeft", update.participant, update.reason);
                }
                break;
            }
            case "tracks_published":
                this.pull(link, update.tracks).catch((e) => this.emit("error", asError(e)));
                break;
            case "tracks_unpublished": {
                const gone = new Set(update.tracks.map(key));
                this.unsubscribe(link, (t) => gone.has(key(t)));
                break;
            }
            case "message": {
                const from = update.from ? (this.participants.get(update.from) ?? (update.from === link.me.id ? link.me : null)) : null;
                const message = { from, direct: Boolean(update.to) };
                if ("text" in update)
                    message.text = update.text;
                else
                    message.binary = Uint8Array.from(update.binary);
                this.emit("message", message);
                break;
            }
            case "host_changed":
                // The room channel this page listens on is gone with the old host.
                this.follow(link);
                break;
            case "room_closed":
                this.finish("room_closed");
                break;
        }
    }
    unsubscribe(link, which) {
        for (const [mid, pulled] of link.pulled) {
            if (!which(pulled.info))
                continue;
            link.pulled.delete(mid);
            link.asked.delete(key(pulled.info));
            if (pulled.remote)
                this.emit("trackUnsubscribed", pulled.remote);
        }
    }
    publisher(sessionId) {
        for (const p of this.participants.values())
            if (p.sessionId === sessionId)
                return p;
        return undefined;
    }
    // ---- staying connected ----
    onConnection(link) {
        if (link !== this.link || this.left)
            return;
        const state = link.pc.connectionState;
        if (state === "connected") {
            clearTimeout(this.lostTimer);
            this.lostTimer = undefined;
            if (link.mine)
                this.setState("connected");
        }
        else if (state === "disconnected" || state === "failed") {
            this.setState("reconnecting");
            // A short loss heals itself (ICE keeps checking); a long one, or a failure, is
            // rejoined. The old participant is left first, so the room never shows two.
            const after = state === "failed" ? 0 : (this.options.reconnectAfterMs ?? 5000);
            if (this.lostTimer === undefined || state === "failed") {
                clearTimeout(this.lostTimer);
                this.lostTimer = setTimeout(() => this.rejoin(link), after);
            }
        }
    }
    /** Joins again, once `lost` is left; `moved`: the room moved to another host, so a link
     * that is still connected is rejoined too. */
    rejoin(lost, moved = false) {
        this.lostTimer = undefined;
        if (this.options.reconnect === false) {
            this.finish("error", new RoomClientError("network", 0, "The connection to the room was lost."));
            return;
        }
        if (this.reconnecting || lost !== this.link || this.left)
            return;
        this.reconnecting = (async () => {
            for (let attempt = 0; !this.left; attempt++) {
                // Healed while the network was still too down to rejoin: nothing to do.
                if (!moved && lost.pc.connectionState === "connected") {
                    this.setState("connected");
                    return;
                }
                try {
                    await this.api.post(`participants/${encodeURIComponent(lost.me.id)}/leave`).catch((e) => {
                        if (e.code === "network")
                            throw e;
                    });
                    this.close(lost);
                    await this.join();
                    return;
                }
                catch (e) {
                    const error = asError(e);
                    if (!error.retryable) {
                        this.finish("error", error);
                        return;
                    }
                    await new Promise((r) => setTimeout(r, Math.min(500 * 2 ** attempt, 2000)));
                }
            }
        })().finally(() => (this.reconnecting = null));
    }
    /** On a reload or a closed tab: leave, with a request that outlives the page. */
    leaveOnUnload() {
        const link = this.link;
        if (this.left || !link)
            return;
        this.left = true;
        void this.post(link, "leave", {}, true).catch(() => undefined);
        this.drop();
    }
    // ---- plumbing ----
    finish(reason, error) {
        this.left = true;
        this.drop();
        for (const track of this.local)
            track.stop();
        this.participants.clear();
        this.setState("disconnected");
        this.emit("disconnected", reason, error);
    }
    /** Closes the connection, and forgets what came through it. */
    drop() {
        clearTimeout(this.lostTimer);
        removeEventListener("pagehide", this.onPageHide);
        if (this.link)
            this.close(this.link);
        this.link = null;
    }
    close(link) {
        link.pc.onconnectionstatechange = null;
        link.pc.close();
        this.unsubscribe(link, () => true);
    }
    joined() {
        if (!this.link || this.left)
            throw new RoomClientError("network", 0, "Not in the room.");
        return this.link;
    }
    post(link, step, body = {}, keepalive = false) {
        return this.api.post(`participants/${encodeURIComponent(link.me.id)}/${step}`, body, keepalive);
    }
    /** Runs `step` after the link's earlier negotiations; a failure is the caller's. */
    serially(link, step) {
        const run = link.queue.then(step);
        link.queue = run.catch(() => undefined);
        return run;
    }
    setState(state) {
        if (state === this.current)
            return;
        this.current = state;
        this.emit("connectionState", state);
    }
}
function asError(e) {
    return e instanceof RoomClientError ? e : new RoomClientError("network", 0, String(e));
}
function key(track) {
    return `${track.sessionId}/${track.name}`;
}
