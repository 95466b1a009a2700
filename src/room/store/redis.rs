//! [`RedisStore`]: room state in Redis, shared by every backend process (feature `redis`); its
//! doc has the design note: the keys, their expiry, and what survives a Redis restart.

use std::fmt;
use std::sync::{LazyLock, OnceLock};
use std::time::Duration;

use redis::{AsyncCommands, Script};

use super::redis_connection::{Connection, Target, Timeouts};
use super::store::{
    EventStream, Lease, ParticipantRecord, RoomRecord, RoomSnapshot, Store, StoreFuture,
};
use crate::room::error::RoomError;
use crate::room::event::{Role, RoomEvent, RoomUpdate};

/// Events kept per room (approximately: Redis trims whole stream nodes).
const EVENTS_KEPT: usize = 10_000;
const ROOM_TTL: Duration = Duration::from_secs(24 * 3600);
/// How long one blocking read of the event log waits before it is renewed.
const READ_BLOCK: Duration = Duration::from_secs(5);
const LEASE_POLL: Duration = Duration::from_millis(20);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(3);
const RECONNECT_PAUSE: Duration = Duration::from_millis(500);
/// How long a call waits for a connection, and for its response: it fails fast when Redis is
/// gone, instead of waiting out redis-rs's reconnection schedule with no response timeout.
const TIMEOUTS: Timeouts = Timeouts {
    connect: CONNECT_TIMEOUT,
    response: RESPONSE_TIMEOUT,
};
/// How long an event reader waits for a replica to have what it read.
const REPLICA_WAIT: Duration = Duration::from_secs(1);

/// Room state in Redis: any number of backend processes share the rooms of one Redis, of a
/// Redis Cluster ([`connect_cluster`](Self::connect_cluster)), or of the primary a group of
/// Sentinels names ([`connect_sentinel`](Self::connect_sentinel)).
///
/// Keys of one room share the hash tag `{room id}`, so a Redis Cluster keeps a room on one
/// node and every script stays single-slot:
///
/// | key | type | holds |
/// |---|---|---|
/// | `calls:{id}:room` | string | the [`RoomRecord`] as JSON |
/// | `calls:{id}:closed` | string | present once the room is closed; `ended` once its closing finished and the id may be used again |
/// | `calls:{id}:max` | string | the participant limit (absent: none) |
/// | `calls:{id}:participants` | hash | participant id → [`ParticipantRecord`] as JSON |
/// | `calls:{id}:publishers` | set | the participants a join pulls from ([`ParticipantRecord::publishes`]) |
/// | `calls:{id}:identities` | hash | identity → participant id |
/// | `calls:{id}:broadcaster` | string | the broadcaster's participant id |
/// | `calls:{id}:seq` | string | the number of the room's last event |
/// | `calls:{id}:events` | stream | the events, capped at the last 10,000; entry ids are `<seq>-0` |
/// | `calls:{id}:sync` | string | written by event readers on a cluster or under Sentinels, so that `WAIT` tells when a replica has what they read; expires after a minute |
/// | `calls:{id}:lease:{session}` | string | the lease's token, with a TTL |
/// | `calls:{id}:fence:{session}` | string | the last token granted |
/// | `calls:nodes` | sorted set | the backend processes hosting rooms, by when their beat lapses (Redis's clock) |
/// | `calls:node:{node}:rooms` | set | the rooms a process hosts |
/// | `calls:node:{node}:dead` | string | present once another process took the node's rooms |
///
/// **When a hosting process dies**, its beat (every second) stops; after
/// [`Rooms::takeover_after`](super::super::Rooms::takeover_after) (5 s by default) the first
/// process that looks takes its rooms over, and tells their participants with
/// [`RoomEvent::HostChanged`]. A room whose record says another host is not taken twice.
///
/// A room's keys expire [`RedisStore::room_ttl`] (a day by default) after the room last had a
/// join, an event or its creation, so an abandoned room does not live forever.
///
/// **What survives a Redis restart** depends on Redis's persistence: with RDB or AOF on, the
/// rooms, participants, event log and sequence numbers come back as last saved, and
/// subscribers resume reading the log where they stopped; without it, every room is gone
/// (joins get [`RoomError::RoomNotFound`]), while the SFU sessions of its participants stay
/// until they are left or expire. While Redis is unreachable, every operation fails with
/// [`RoomError::Store`], and the connection is retried on the next call. On a cluster or
/// under Sentinels, the calls go to the replica promoted in a failover: the room goes on, but
/// what the old primary took and had not yet replicated is lost (docs/rooms.md, "when Redis's
/// primary dies").
///
/// ```no_run
/// # async fn run(client: cloudflare_calls::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use cloudflare_calls::room::RedisStore;
/// let store = RedisStore::connect("redis://127.0.0.1:6379/").await?;
/// let rooms = client.rooms(store);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    target: Target,
    connection: Connection,
    room_ttl: Duration,
}

impl fmt::Debug for RedisStore {
    // The URL may carry a password: none of it is printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("room_ttl", &self.room_ttl)
            .finish_non_exhaustive()
    }
}

fn backend(e: redis::RedisError) -> RoomError {
    RoomError::Store(Box::new(e))
}

fn corrupt(what: &str) -> RoomError {
    RoomError::Store(format!("unreadable {what} in Redis").into())
}

struct Keys {
    room: String,
    closed: String,
    max: String,
    participants: String,
    identities: String,
    broadcaster: String,
    seq: String,
    events: String,
    publishers: String,
}

impl Keys {
    fn of(id: &str) -> Self {
        let key = |part: &str| format!("calls:{{{id}}}:{part}");
        Self {
            room: key("room"),
            closed: key("closed"),
            max: key("max"),
            participants: key("participants"),
            identities: key("identities"),
            broadcaster: key("broadcaster"),
            seq: key("seq"),
            events: key("events"),
            publishers: key("publishers"),
        }
    }

    /// What event readers write so that `WAIT` tells when a replica has what they read.
    fn sync(room: &str) -> String {
        format!("calls:{{{room}}}:sync")
    }

    /// A session's lease, under the room's hash tag so a fenced write stays single-slot.
    fn lease(room: &str, session: &str) -> String {
        format!("calls:{{{room}}}:lease:{session}")
    }

    fn all(&self) -> [&str; 9] {
        [
            &self.room,
            &self.closed,
            &self.max,
            &self.participants,
            &self.identities,
            &self.broadcaster,
            &self.seq,
            &self.events,
            &self.publishers,
        ]
    }
}

/// A write script over a room's keys; it may call [`PUBLISHES`]'s `mark`.
struct Write {
    body: &'static str,
    /// Whether the write keeps the room alive: the room's keys get their TTL again once the
    /// record is past half of it. Creating a room, a join and every event do; the many
    /// updates of a participant's record within a join need not. A body that creates a key
    /// gives it its TTL itself.
    refresh: bool,
    /// Made on first use: `Script::new` hashes the code, which every write would do again.
    script: OnceLock<Script>,
}

impl Write {
    const fn new(refresh: bool, body: &'static str) -> Self {
        Self {
            body,
            refresh,
            script: OnceLock::new(),
        }
    }

    fn script(&self) -> &Script {
        self.script
            .get_or_init(|| Script::new(&format!("{PUBLISHES}{}", with_touch(self))))
    }
}

/// Wraps a write script's body: it runs, then, for a write that refreshes, every key of the
/// room gets the TTL in ARGV[1] (seconds) if the record is past half of it (or has none, as
/// `SET` drops it), and the body's result is returned. A busy room costs one `PTTL` a write.
fn with_touch(write: &Write) -> String {
    if !write.refresh {
        return write.body.to_owned();
    }
    format!(
        "local function body()\n{body}\nend\nlocal result = body()\n\
         local ttl = tonumber(ARGV[1])\n\
         local left = redis.call('PTTL', KEYS[1])\n\
         if left ~= -2 and left < ttl * 500 then\n\
           for i = 1, 9 do redis.call('EXPIRE', KEYS[i], ttl) end\n\
         end\n\
         return result",
        body = write.body,
    )
}

/// Keeps KEYS[9], the room's publishers, in step with the record of participant ARGV[2]:
/// `mark` takes its [`publishing`].
const PUBLISHES: &str = "
local function mark(publishes)
  if publishes == '1' then
    if redis.call('SADD', KEYS[9], ARGV[2]) == 1 then redis.call('EXPIRE', KEYS[9], ARGV[1]) end
  elseif publishes == '-' then
    redis.call('SREM', KEYS[9], ARGV[2])
  end
end
";

/// What a write of a participant's record does to the room's publishers. The set holds
/// every publisher and may hold a few more (a record stored by hand as not announced again):
/// readers keep the records that [`ParticipantRecord::publishes`], and a removal takes the
/// participant out. So a participant not announced yet, whose join writes its record several
/// times, costs the set nothing.
fn publishing(record: &ParticipantRecord) -> &'static str {
    if record.publishes() {
        "1"
    } else if record.announced {
        "-"
    } else {
        "0"
    }
}

/// Returns `{code, publishers' records}`: 0 ok; 1 no room; 2 closed; 3 full; 5 broadcast
/// taken (checked first); 4 identity taken. ARGV: ttl, id, identity, is broadcaster
/// ("1"/"0"), record JSON, its [`publishing`]. The participants' and identities' hashes
/// come and go together: made with the first participant, gone with the last. The
/// publishers are read in slices, as Lua's `unpack` takes a few thousand values at most.
static ADD_PARTICIPANT: Write = Write::new(
    false,
    "
local function refused(code) return {code, {}} end
if redis.call('EXISTS', KEYS[1]) == 0 then return refused(1) end
local state = redis.call('MGET', KEYS[2], KEYS[3])
if state[1] then return refused(2) end
local max = state[2]
if max and redis.call('HLEN', KEYS[4]) >= tonumber(max) then return refused(3) end
if ARGV[4] == '1' and redis.call('EXISTS', KEYS[6]) == 1 then return refused(5) end
if redis.call('HSETNX', KEYS[5], ARGV[3], ARGV[2]) == 0 then return refused(4) end
if ARGV[4] == '1' then redis.call('SET', KEYS[6], ARGV[2], 'EX', ARGV[1]) end
redis.call('HSET', KEYS[4], ARGV[2], ARGV[5])
if redis.call('TTL', KEYS[4]) == -1 then
  redis.call('EXPIRE', KEYS[4], ARGV[1])
  redis.call('EXPIRE', KEYS[5], ARGV[1])
end
mark(ARGV[6])
local ids = redis.call('SMEMBERS', KEYS[9])
local records = {}
for first = 1, #ids, 1000 do
  local slice = redis.call('HMGET', KEYS[4], unpack(ids, first, math.min(first + 999, #ids)))
  for _, record in ipairs(slice) do
    if record then records[#records + 1] = record end
  end
end
return {0, records}
",
);

/// Like UPDATE_PARTICIPANT, only while KEYS[10] (the lease) holds ARGV[5] (its token).
/// 0 ok; 1 not there; 2 lease lost.
static UPDATE_FENCED: Write = Write::new(
    false,
    "
if redis.call('GET', KEYS[10]) ~= ARGV[5] then return 2 end
if redis.call('HEXISTS', KEYS[4], ARGV[2]) == 0 then return 1 end
redis.call('HSET', KEYS[4], ARGV[2], ARGV[3])
mark(ARGV[4])
return 0
",
);

/// ARGV: ttl, id, record JSON, its [`publishing`]. 0 ok; 1 not there.
static UPDATE_PARTICIPANT: Write = Write::new(
    false,
    "
if redis.call('HEXISTS', KEYS[4], ARGV[2]) == 0 then return 1 end
redis.call('HSET', KEYS[4], ARGV[2], ARGV[3])
mark(ARGV[4])
return 0
",
);

/// ARGV: ttl, id. Returns `{whether the room exists, the record's JSON or false}`. The
/// identity to free is read from the record, so a leave reads one record, not the room.
static REMOVE_PARTICIPANT: Write = Write::new(
    false,
    "
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, false} end
local record = redis.call('HGET', KEYS[4], ARGV[2])
if not record then return {1, false} end
redis.call('HDEL', KEYS[4], ARGV[2])
mark('-')
local identity = cjson.decode(record).info.identity
if redis.call('HGET', KEYS[5], identity) == ARGV[2] then redis.call('HDEL', KEYS[5], identity) end
if redis.call('GET', KEYS[6]) == ARGV[2] then redis.call('DEL', KEYS[6]) end
return {1, record}
",
);

/// ARGV: ttl, room JSON, max participants or "". 0 created; 1 taken. A room whose closing
/// finished (KEYS[2] is "ended") is replaced; its seq and events stay, so seqs never repeat.
static CREATE: Write = Write::new(
    true,
    "
if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('GET', KEYS[2]) ~= 'ended' then return 1 end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[9])
redis.call('SET', KEYS[1], ARGV[2])
if ARGV[3] ~= '' then redis.call('SET', KEYS[3], ARGV[3]) end
return 0
",
);

/// ARGV: ttl, event JSON, events kept, "1" if the event ends the room. Returns the event's seq.
/// An entry's id is `<seq>-0`, so the log can be read from any seq on. The counter and the
/// log are made by the room's first event.
static APPEND: Write = Write::new(
    true,
    "
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if ARGV[4] == '1' then redis.call('SET', KEYS[2], 'ended', 'EX', ARGV[1]) end
local seq = redis.call('INCR', KEYS[7])
redis.call('XADD', KEYS[8], 'MAXLEN', '~', ARGV[3], seq .. '-0', 'seq', seq, 'event', ARGV[2])
if seq == 1 then
  redis.call('EXPIRE', KEYS[7], ARGV[1])
  redis.call('EXPIRE', KEYS[8], ARGV[1])
end
return seq
",
);

/// A consistent read of a room: its record, whether it is closed, its participants (every
/// one, or only ARGV[1] when given), its seq.
static SNAPSHOT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "
local participants
if ARGV[1] then
  local record = redis.call('HGET', KEYS[3], ARGV[1])
  participants = record and {record} or {}
else
  participants = redis.call('HVALS', KEYS[3])
end
return {
  redis.call('GET', KEYS[1]),
  redis.call('EXISTS', KEYS[2]),
  participants,
  redis.call('GET', KEYS[4]),
}
",
    )
});

/// Replaces the room's record if it is still ARGV[2] and the room is not closing.
/// ARGV: ttl, expected record JSON, new record JSON. 1 replaced; 0 not.
static SWAP_RECORD: Write = Write::new(
    true,
    "
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('GET', KEYS[1]) ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[3])
return 1
",
);

/// The nodes and their beats: a sorted set of node ids by when their beat lapses, in Redis's
/// own clock (one clock for every process).
const NODES: &str = "calls:nodes";

/// Sets `now` to Redis's clock, in milliseconds: one clock for every process.
const NOW: &str = "local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
";

/// A script that starts with [`NOW`].
fn clocked(body: &str) -> Script {
    Script::new(&format!("{NOW}{body}"))
}

/// KEYS[1] the nodes. ARGV: node, ttl in ms.
const BEAT: &str = "
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return 0
";

/// KEYS[1] the nodes. ARGV: how long a claim holds, in ms. Claims and returns the nodes whose
/// beat lapsed: each goes to one caller, which removes it once it has its rooms; if that
/// caller dies first, the claim lapses in turn, and the node goes to another.
const LAPSED: &str = "
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, node in ipairs(lapsed) do redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), node) end
return lapsed
";

/// How long a claim on a dead node's rooms holds (see [`LAPSED`]).
const CLAIM: Duration = Duration::from_secs(10);

/// KEYS[1] the nodes. ARGV: node. Lets the node's beat lapse now if another node is alive;
/// 1 if so, 0 if none is.
const HAND_OVER: &str = "
for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')) do
  if node ~= ARGV[1] then
    redis.call('ZADD', KEYS[1], 0, ARGV[1])
    return 1
  end
end
return 0
";

/// A node's rooms, under the node's hash tag.
fn node_rooms(node: &str) -> String {
    format!("calls:node:{{{node}}}:rooms")
}

/// Set when a node was taken for dead: its next beat learns it lost its rooms.
fn node_dead(node: &str) -> String {
    format!("calls:node:{{{node}}}:dead")
}

/// Deletes the lease if it still holds this token. ARGV: token.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
",
    )
});

/// Extends the lease if it still holds this token. ARGV: token, how long it holds now (ms).
static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
",
    )
});

/// KEYS[1] the lease, KEYS[2] its fencing counter. ARGV: how long the lease holds (ms), the
/// counter's TTL (s). Draws the next token and takes the lease with it if nobody holds it;
/// returns the token, or nothing. One round trip where three commands were three.
static LEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "
local token = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
if redis.call('SET', KEYS[1], token, 'NX', 'PX', ARGV[1]) then return token end
return false
",
    )
});

impl RedisStore {
    /// Connects to Redis at `url` (`redis://[:password@]host:port/[db]`), or over TLS with
    /// `rediss://`, as managed Redis services ask: the server's certificate is checked
    /// against the system's roots, or the PEM file `SSL_CERT_FILE` names (for a private
    /// authority). The URL's password is never printed, by this store or its errors.
    pub async fn connect(url: &str) -> Result<Self, RoomError> {
        Self::on(Target::server(url).map_err(backend)?).await
    }

    /// Connects to a Redis Cluster through any of its `nodes` (URLs as for
    /// [`connect`](Self::connect)); the others are found from the cluster's slot map. Every
    /// room lives on one node, as its keys share a hash tag.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), cloudflare_calls::room::RoomError> {
    /// use cloudflare_calls::room::RedisStore;
    /// let nodes = ["redis://10.0.0.1:6379/", "redis://10.0.0.2:6379/"];
    /// let store = RedisStore::connect_cluster(nodes).await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect_cluster<I, S>(nodes: I) -> Result<Self, RoomError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let nodes = nodes.into_iter().map(Into::into).collect();
        Self::on(Target::cluster(nodes).map_err(backend)?).await
    }

    /// Connects to the primary that the Sentinels at `sentinels` (URLs, usually on port 26379)
    /// name for `service`, and to its successor after a failover. The primary is reached with
    /// the username, password and database of the first Sentinel's URL.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), cloudflare_calls::room::RoomError> {
    /// use cloudflare_calls::room::RedisStore;
    /// let sentinels = ["redis://10.0.0.1:26379/", "redis://10.0.0.2:26379/"];
    /// let store = RedisStore::connect_sentinel(sentinels, "rooms").await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect_sentinel<I, S>(sentinels: I, service: &str) -> Result<Self, RoomError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let sentinels = sentinels.into_iter().map(Into::into).collect();
        Self::on(Target::sentinel(sentinels, service).map_err(backend)?).await
    }

    async fn on(target: Target) -> Result<Self, RoomError> {
        let connection = target.shared(TIMEOUTS).await.map_err(backend)?;
        Ok(Self {
            target,
            connection,
            room_ttl: ROOM_TTL,
        })
    }

    /// How long a room's keys live after its last change; a day by default.
    pub fn room_ttl(mut self, ttl: Duration) -> Self {
        self.room_ttl = ttl;
        self
    }

    fn ttl(&self) -> u64 {
        self.room_ttl.as_secs().max(1)
    }

    /// Runs a write script over the room's keys, refreshing their TTL.
    async fn write<T: redis::FromRedisValue>(
        &self,
        room: &str,
        write: &Write,
        args: &[&str],
    ) -> Result<T, RoomError> {
        self.write_with(room, write, &[], args).await
    }

    /// Like `write`, with `extra` keys after the room's eight (left out of the TTL refresh).
    async fn write_with<T: redis::FromRedisValue>(
        &self,
        room: &str,
        write: &Write,
        extra: &[&str],
        args: &[&str],
    ) -> Result<T, RoomError> {
        let keys = Keys::of(room);
        let mut call = write.script().prepare_invoke();
        for key in keys.all().into_iter().chain(extra.iter().copied()) {
            call.key(key);
        }
        call.arg(self.ttl());
        for arg in args {
            call.arg(*arg);
        }
        let mut connection = self.connection.clone();
        call.invoke_async(&mut connection).await.map_err(backend)
    }

    async fn create(&self, room: RoomRecord) -> Result<(), RoomError> {
        let json = serde_json::to_string(&room).map_err(|e| RoomError::Store(e.into()))?;
        let max = room
            .max_participants
            .map(|m| m.to_string())
            .unwrap_or_default();
        let code: i64 = self.write(&room.id, &CREATE, &[&json, &max]).await?;
        match code {
            0 => Ok(()),
            _ => Err(RoomError::RoomExists(room.id)),
        }
    }

    /// The room with every participant, or with `participant` alone.
    async fn read_snapshot(
        &self,
        room: &str,
        participant: Option<&str>,
    ) -> Result<RoomSnapshot, RoomError> {
        let keys = Keys::of(room);
        let mut connection = self.connection.clone();
        let mut call = SNAPSHOT.prepare_invoke();
        call.key(&keys.room)
            .key(&keys.closed)
            .key(&keys.participants)
            .key(&keys.seq);
        if let Some(participant) = participant {
            call.arg(participant);
        }
        let (record, closed, participants, seq): (Option<String>, bool, Vec<String>, Option<u64>) =
            call.invoke_async(&mut connection).await.map_err(backend)?;
        snapshot_of(room, record, closed, &participants, seq)
    }

    async fn add(
        &self,
        room: &str,
        participant: ParticipantRecord,
    ) -> Result<Vec<ParticipantRecord>, RoomError> {
        let json = to_json(&participant)?;
        let broadcaster = if participant.info.role == Role::Broadcaster {
            "1"
        } else {
            "0"
        };
        let info = &participant.info;
        let (code, publishers): (i64, Vec<String>) = self
            .write(
                room,
                &ADD_PARTICIPANT,
                &[
                    &info.id,
                    &info.identity,
                    broadcaster,
                    &json,
                    publishing(&participant),
                ],
            )
            .await?;
        match code {
            0 => {
                let records = publishers.iter().map(|p| participant_of(p));
                let records = records.collect::<Result<Vec<_>, _>>()?;
                Ok(records.into_iter().filter(|p| p.publishes()).collect())
            }
            1 => Err(RoomError::RoomNotFound(room.to_owned())),
            2 => Err(RoomError::RoomClosed(room.to_owned())),
            3 => {
                // The room alone: no participant has an empty id.
                let max = self
                    .read_snapshot(room, Some(""))
                    .await?
                    .room
                    .max_participants;
                Err(RoomError::RoomFull {
                    room: room.to_owned(),
                    max: max.unwrap_or_default(),
                })
            }
            4 => Err(RoomError::IdentityTaken {
                room: room.to_owned(),
                identity: info.identity.clone(),
            }),
            _ => Err(RoomError::BroadcastTaken(room.to_owned())),
        }
    }

    async fn close(&self, room: &str) -> Result<Vec<ParticipantRecord>, RoomError> {
        let keys = Keys::of(room);
        let mut connection = self.connection.clone();
        let exists: bool = connection.exists(&keys.room).await.map_err(backend)?;
        if !exists {
            return Err(RoomError::RoomNotFound(room.to_owned()));
        }
        let _: () = connection
            .set_ex(&keys.closed, 1, self.ttl())
            .await
            .map_err(backend)?;
        Ok(self.read_snapshot(room, None).await?.participants)
    }

    async fn take_lease(
        &self,
        room: &str,
        session: &str,
        ttl: Duration,
    ) -> Result<Lease, RoomError> {
        let lease_key = Keys::lease(room, session);
        let fence_key = format!("calls:{{{room}}}:fence:{session}");
        let mut connection = self.connection.clone();
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        loop {
            let taken: Option<u64> = LEASE
                .key(&lease_key)
                .key(&fence_key)
                .arg(millis)
                .arg(self.ttl())
                .invoke_async(&mut connection)
                .await
                .map_err(backend)?;
            if let Some(token) = taken {
                return Ok(Lease {
                    room: room.to_owned(),
                    key: session.to_owned(),
                    token,
                });
            }
            tokio::time::sleep(LEASE_POLL).await;
        }
    }

    async fn give_back(&self, lease: Lease) -> Result<(), RoomError> {
        let mut connection = self.connection.clone();
        let _: i64 = RELEASE
            .key(Keys::lease(&lease.room, &lease.key))
            .arg(lease.token)
            .invoke_async(&mut connection)
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// Reads the room's event log from now on, in order, on a connection of its own (a
    /// blocking read would hold up a shared one). It reconnects after Redis restarts,
    /// resuming after the last entry read; an error item says when it did.
    async fn events(&self, room: &str) -> Result<EventStream, RoomError> {
        let keys = Keys::of(room);
        let mut connection = self.connection.clone();
        let exists: bool = connection.exists(&keys.room).await.map_err(backend)?;
        if !exists {
            return Err(RoomError::RoomNotFound(room.to_owned()));
        }
        // The last entry now: reading starts after it.
        let last: redis::streams::StreamRangeReply = connection
            .xrevrange_count(&keys.events, "+", "-", 1)
            .await
            .map_err(backend)?;
        let start = last
            .ids
            .first()
            .map_or_else(|| "0-0".to_owned(), |e| e.id.clone());
        let reader = Reader {
            target: self.target.clone(),
            connection: None,
            key: keys.events,
            room_key: keys.room,
            sync_key: Keys::sync(room),
            room: room.to_owned(),
            last: start,
            replicas: None,
            seq: None,
            pending: std::collections::VecDeque::new(),
            closed: false,
        };
        let stream = futures_util::stream::unfold(reader, |mut reader| async move {
            let item = reader.next().await?;
            Some((item, reader))
        });
        Ok(Box::pin(stream))
    }
}

/// The state of one subscriber's read of an event log.
struct Reader {
    target: Target,
    connection: Option<Connection>,
    key: String,
    /// The room's record, whose disappearance means the store lost the room.
    room_key: String,
    /// What the reader writes so that `WAIT` can tell when a replica has what it read.
    sync_key: String,
    room: String,
    last: String,
    /// How many replicas the room's primary has, learned on each new connection: `Some(0)`
    /// on a single Redis, where nothing is waited for.
    replicas: Option<usize>,
    /// The `seq` of the last update handed out: the next one must follow it.
    seq: Option<u64>,
    pending: std::collections::VecDeque<RoomUpdate>,
    closed: bool,
}

impl Reader {
    async fn next(&mut self) -> Option<Result<RoomUpdate, RoomError>> {
        loop {
            if let Some(update) = self.pending.pop_front() {
                // A log that starts again (Redis restarted without its data, and the room
                // was made anew) is another room's: this one is lost, not continued.
                if self.seq.is_some_and(|seq| update.seq <= seq) {
                    return self.lost();
                }
                // Entries trimmed before this reader got to them: say how many, go on.
                if let Some(seq) = self.seq.filter(|seq| update.seq > seq + 1) {
                    let missed = update.seq - seq - 1;
                    self.seq = Some(update.seq - 1);
                    self.pending.push_front(update);
                    return Some(Err(RoomError::Lagged(missed)));
                }
                self.seq = Some(update.seq);
                self.closed = update.event == RoomEvent::RoomClosed;
                return Some(Ok(update));
            }
            if self.closed {
                return None;
            }
            match self.read().await {
                Err(e) => {
                    self.connection = None;
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                    return Some(Err(e));
                }
                // Nothing new for a while: make sure there is still a room to wait for.
                Ok(0) if !self.room_exists().await => return self.lost(),
                Ok(_) => {}
            }
        }
    }

    fn lost(&mut self) -> Option<Result<RoomUpdate, RoomError>> {
        self.closed = true;
        self.pending.clear();
        Some(Err(RoomError::RoomLost(self.room.clone())))
    }

    /// Whether the room's record is still there; a failed look counts as yes (the read that
    /// follows reports the failure).
    async fn room_exists(&mut self) -> bool {
        let Some(connection) = self.connection.as_mut() else {
            return true;
        };
        let exists: Result<bool, _> = connection.exists(&self.room_key).await;
        exists.unwrap_or(true)
    }

    /// Reads what was appended since the last read; returns how many updates came.
    async fn read(&mut self) -> Result<usize, RoomError> {
        if self.connection.is_none() {
            let timeouts = Timeouts {
                connect: CONNECT_TIMEOUT,
                response: READ_BLOCK + RESPONSE_TIMEOUT,
            };
            self.connection = Some(self.target.dedicated(timeouts).await.map_err(backend)?);
            self.replicas = None;
        }
        let Some(connection) = self.connection.as_mut() else {
            return Ok(0);
        };
        let options = redis::streams::StreamReadOptions::default()
            .block(READ_BLOCK.as_millis() as usize)
            .count(256);
        let reply: Option<redis::streams::StreamReadReply> = connection
            .xread_options(&[&self.key], &[&self.last], &options)
            .await
            .map_err(backend)?;
        let entries: Vec<_> = reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .collect();
        let Some(last) = entries.last() else {
            return Ok(0);
        };
        self.replicated(&last.id).await?;
        self.last = last.id.clone();
        for entry in &entries {
            self.pending.push_back(entry_update(entry)?);
        }
        Ok(self.pending.len())
    }

    /// Waits until a replica has what was read: see [`until_replicated`].
    async fn replicated(&mut self, last: &str) -> Result<(), RoomError> {
        let Some(connection) = self.connection.as_mut() else {
            return Ok(());
        };
        let log = Log {
            target: &self.target,
            key: &self.key,
            sync_key: &self.sync_key,
            room: &self.room,
        };
        self.replicas = until_replicated(connection, &log, last, self.replicas).await?;
        Ok(())
    }
}

/// A room's event log, as [`until_replicated`] needs it.
struct Log<'a> {
    target: &'a Target,
    key: &'a str,
    /// What a reader writes so that `WAIT` can tell when a replica has what it read.
    sync_key: &'a str,
    room: &'a str,
}

/// Waits until a replica has what `connection` read of the log, up to entry `last`, so that no
/// participant gets an update that a failover then loses: the promoted replica would hand its
/// `seq` out again, to another update. `WAIT` counts the replicas that have this connection's
/// last write, and the replication stream is in order: one write after the read covers the
/// entries read. A replica that lags more than [`REPLICA_WAIT`] is not waited for longer.
/// `replicas` is how many the primary had at the last look (`None`: look now); returns what to
/// remember, `None` when some replica did not confirm (one that is gone is not waited for
/// again).
async fn until_replicated(
    connection: &mut Connection,
    log: &Log<'_>,
    last: &str,
    replicas: Option<usize>,
) -> Result<Option<usize>, RoomError> {
    let replicas = match replicas {
        Some(replicas) => replicas,
        None if !log.target.replicated() => 0,
        None => {
            let role = connection
                .on_primary_of(log.key, &redis::cmd("ROLE"))
                .await
                .map_err(backend)?;
            // A primary's role: ["master", offset, [[host, port, offset], ...]].
            let role: (String, i64, Vec<redis::Value>) =
                redis::from_redis_value(&role).map_err(|_| corrupt("role"))?;
            role.2.len()
        }
    };
    if replicas == 0 {
        return Ok(Some(0));
    }
    let _: () = connection
        .set_ex(log.sync_key, last, 60)
        .await
        .map_err(backend)?;
    let wait = redis::cmd("WAIT")
        .arg(replicas)
        .arg(REPLICA_WAIT.as_millis() as u64)
        .clone();
    let acked = connection
        .on_primary_of(log.key, &wait)
        .await
        .map_err(backend)?;
    let acked: usize = redis::from_redis_value(&acked).map_err(|_| corrupt("WAIT reply"))?;
    if acked == 0 {
        tracing::warn!(
            room = %log.room,
            "no replica confirmed the room's events within {REPLICA_WAIT:?}: a failover now may lose them"
        );
    }
    Ok((acked >= replicas).then_some(replicas))
}

/// A room as [`static@SNAPSHOT`] reads it: its record's JSON (none when there is no room), whether
/// it is closed, its participants' JSON, its seq.
fn snapshot_of(
    room: &str,
    record: Option<String>,
    closed: bool,
    participants: &[String],
    seq: Option<u64>,
) -> Result<RoomSnapshot, RoomError> {
    let Some(record) = record else {
        return Err(RoomError::RoomNotFound(room.to_owned()));
    };
    let mut record: RoomRecord =
        serde_json::from_str(&record).map_err(|_| corrupt("room record"))?;
    record.closed = closed;
    let mut participants: Vec<ParticipantRecord> = participants
        .iter()
        .map(|p| participant_of(p))
        .collect::<Result<_, _>>()?;
    participants.sort_by(|a, b| a.info.id.cmp(&b.info.id));
    Ok(RoomSnapshot {
        room: record,
        seq: seq.unwrap_or(0),
        participants,
    })
}

fn participant_of(json: &str) -> Result<ParticipantRecord, RoomError> {
    serde_json::from_str(json).map_err(|_| corrupt("participant record"))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, RoomError> {
    serde_json::to_string(value).map_err(|e| RoomError::Store(e.into()))
}

impl Store for RedisStore {
    fn create_room(&self, room: RoomRecord) -> StoreFuture<'_, ()> {
        Box::pin(self.create(room))
    }

    fn close_room(&self, room: &str) -> StoreFuture<'_, Vec<ParticipantRecord>> {
        let room = room.to_owned();
        Box::pin(async move { self.close(&room).await })
    }

    fn snapshot(&self, room: &str) -> StoreFuture<'_, RoomSnapshot> {
        let room = room.to_owned();
        Box::pin(async move { self.read_snapshot(&room, None).await })
    }

    fn snapshot_of(&self, room: &str, participant: &str) -> StoreFuture<'_, RoomSnapshot> {
        let (room, participant) = (room.to_owned(), participant.to_owned());
        Box::pin(async move { self.read_snapshot(&room, Some(&participant)).await })
    }

    fn add_participant(
        &self,
        room: &str,
        participant: ParticipantRecord,
    ) -> StoreFuture<'_, Vec<ParticipantRecord>> {
        let room = room.to_owned();
        Box::pin(async move { self.add(&room, participant).await })
    }

    fn update_participant(
        &self,
        room: &str,
        participant: ParticipantRecord,
    ) -> StoreFuture<'_, ()> {
        let room = room.to_owned();
        Box::pin(async move {
            let json = to_json(&participant)?;
            let publishes = publishing(&participant);
            let code: i64 = self
                .write(
                    &room,
                    &UPDATE_PARTICIPANT,
                    &[&participant.info.id, &json, publishes],
                )
                .await?;
            match code {
                0 => Ok(()),
                _ => Err(RoomError::ParticipantNotFound {
                    room,
                    participant: participant.info.id,
                }),
            }
        })
    }

    fn remove_participant(
        &self,
        room: &str,
        participant: &str,
    ) -> StoreFuture<'_, Option<ParticipantRecord>> {
        let (room, participant) = (room.to_owned(), participant.to_owned());
        Box::pin(async move {
            let (exists, removed): (bool, Option<String>) = self
                .write(&room, &REMOVE_PARTICIPANT, &[&participant])
                .await?;
            if !exists {
                return Err(RoomError::RoomNotFound(room));
            }
            removed.as_deref().map(participant_of).transpose()
        })
    }

    fn append(&self, room: &str, event: RoomEvent) -> StoreFuture<'_, u64> {
        let room = room.to_owned();
        Box::pin(async move {
            let json = to_json(&event)?;
            let kept = EVENTS_KEPT.to_string();
            let ends = if event == RoomEvent::RoomClosed {
                "1"
            } else {
                "0"
            };
            let seq: i64 = self.write(&room, &APPEND, &[&json, &kept, ends]).await?;
            u64::try_from(seq).map_err(|_| RoomError::RoomNotFound(room))
        })
    }

    fn subscribe(&self, room: &str) -> StoreFuture<'_, EventStream> {
        let room = room.to_owned();
        Box::pin(async move { self.events(&room).await })
    }

    fn update_fenced(
        &self,
        room: &str,
        participant: ParticipantRecord,
        fence: &Lease,
    ) -> StoreFuture<'_, ()> {
        let room = room.to_owned();
        let fence = fence.clone();
        Box::pin(async move {
            let json = to_json(&participant)?;
            let token = fence.token.to_string();
            let code: i64 = self
                .write_with(
                    &room,
                    &UPDATE_FENCED,
                    &[&Keys::lease(&fence.room, &fence.key)],
                    &[
                        &participant.info.id,
                        &json,
                        publishing(&participant),
                        &token,
                    ],
                )
                .await?;
            match code {
                0 => Ok(()),
                2 => Err(RoomError::LeaseLost(fence.key)),
                _ => Err(RoomError::ParticipantNotFound {
                    room,
                    participant: participant.info.id,
                }),
            }
        })
    }

    fn lease(&self, room: &str, session: &str, ttl: Duration) -> StoreFuture<'_, Lease> {
        let (room, session) = (room.to_owned(), session.to_owned());
        Box::pin(async move { self.take_lease(&room, &session, ttl).await })
    }

    fn release(&self, lease: Lease) -> StoreFuture<'_, ()> {
        Box::pin(self.give_back(lease))
    }

    fn renews_leases(&self) -> bool {
        true
    }

    fn renew(&self, lease: &Lease, ttl: Duration) -> StoreFuture<'_, bool> {
        let key = Keys::lease(&lease.room, &lease.key);
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let token = lease.token;
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let renewed: i64 = RENEW
                .key(key)
                .arg(token)
                .arg(millis)
                .invoke_async(&mut connection)
                .await
                .map_err(backend)?;
            Ok(renewed == 1)
        })
    }

    fn beat(&self, node: &str, ttl: Duration) -> StoreFuture<'_, bool> {
        let node = node.to_owned();
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let dead: bool = connection.exists(node_dead(&node)).await.map_err(backend)?;
            if dead {
                return Ok(false);
            }
            let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
            let _: i64 = clocked(BEAT)
                .key(NODES)
                .arg(&node)
                .arg(millis)
                .invoke_async(&mut connection)
                .await
                .map_err(backend)?;
            Ok(true)
        })
    }

    fn hosts(&self, node: &str, room: &str, hosting: bool) -> StoreFuture<'_, ()> {
        let (key, room) = (node_rooms(node), room.to_owned());
        Box::pin(async move {
            let mut connection = self.connection.clone();
            if hosting {
                let _: i64 = connection.sadd(&key, &room).await.map_err(backend)?;
            } else {
                let _: i64 = connection.srem(&key, &room).await.map_err(backend)?;
            }
            Ok(())
        })
    }

    fn take_lapsed(&self, node: &str) -> StoreFuture<'_, Vec<String>> {
        let mine = node_rooms(node);
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let lapsed: Vec<String> = clocked(LAPSED)
                .key(NODES)
                .arg(CLAIM.as_millis() as u64)
                .invoke_async(&mut connection)
                .await
                .map_err(backend)?;
            // Each step can be done again: a caller that dies midway leaves the claim to lapse.
            let mut taken = Vec::new();
            for dead in lapsed {
                let _: () = connection
                    .set_ex(node_dead(&dead), 1, self.ttl())
                    .await
                    .map_err(backend)?;
                let rooms: Vec<String> = connection
                    .smembers(node_rooms(&dead))
                    .await
                    .map_err(backend)?;
                if !rooms.is_empty() {
                    let _: i64 = connection.sadd(&mine, &rooms).await.map_err(backend)?;
                }
                let _: i64 = connection.del(node_rooms(&dead)).await.map_err(backend)?;
                let _: i64 = connection.zrem(NODES, &dead).await.map_err(backend)?;
                taken.extend(rooms);
            }
            Ok(taken)
        })
    }

    fn set_host(
        &self,
        room: &str,
        from: &str,
        node: &str,
        host_session_id: &str,
    ) -> StoreFuture<'_, bool> {
        let (room, from, node) = (room.to_owned(), from.to_owned(), node.to_owned());
        let host_session_id = host_session_id.to_owned();
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let before: Option<String> = connection
                .get(Keys::of(&room).room)
                .await
                .map_err(backend)?;
            let Some(before) = before else {
                return Ok(false);
            };
            let mut record: RoomRecord =
                serde_json::from_str(&before).map_err(|_| corrupt("room record"))?;
            if record.host_node != from || record.closed {
                return Ok(false);
            }
            // A room that two callers came to hold (one died while taking a node's rooms,
            // after moving them) is never taken from a live host.
            if from != node {
                let dead: bool = connection.exists(node_dead(&from)).await.map_err(backend)?;
                if !dead {
                    return Ok(false);
                }
            }
            record.host_node = node;
            record.host_session_id = host_session_id;
            let after = to_json(&record)?;
            let swapped: i64 = self.write(&room, &SWAP_RECORD, &[&before, &after]).await?;
            Ok(swapped == 1)
        })
    }

    fn hand_over(&self, node: &str) -> StoreFuture<'_, bool> {
        let node = node.to_owned();
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let handed: i64 = clocked(HAND_OVER)
                .key(NODES)
                .arg(&node)
                .invoke_async(&mut connection)
                .await
                .map_err(backend)?;
            Ok(handed == 1)
        })
    }

    fn updates_after(&self, room: &str, seq: u64) -> StoreFuture<'_, Vec<RoomUpdate>> {
        let (key, room) = (Keys::of(room).events, room.to_owned());
        Box::pin(async move {
            // With replicas, as an event reader does: on a connection of its own, as `WAIT`
            // holds up the calls behind it.
            let mut connection = match self.target.replicated() {
                true => self.target.dedicated(TIMEOUTS).await.map_err(backend)?,
                false => self.connection.clone(),
            };
            let start = format!("{}-0", seq.saturating_add(1));
            let reply: redis::streams::StreamRangeReply = connection
                .xrange(&key, &start, "+")
                .await
                .map_err(backend)?;
            if let Some(last) = reply.ids.last() {
                let log = Log {
                    target: &self.target,
                    key: &key,
                    sync_key: &Keys::sync(&room),
                    room: &room,
                };
                until_replicated(&mut connection, &log, &last.id, None).await?;
            }
            reply.ids.iter().map(entry_update).collect()
        })
    }
}

/// The update a log entry holds.
fn entry_update(entry: &redis::streams::StreamId) -> Result<RoomUpdate, RoomError> {
    let seq: Option<u64> = entry.get("seq");
    let event: Option<String> = entry.get("event");
    let (Some(seq), Some(event)) = (seq, event) else {
        return Err(corrupt("event"));
    };
    let event: RoomEvent = serde_json::from_str(&event).map_err(|_| corrupt("event"))?;
    Ok(RoomUpdate::new(seq, event))
}
