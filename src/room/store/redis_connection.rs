//! How [`RedisStore`](super::RedisStore) reaches Redis: one server, a Redis Cluster, or the
//! primary a group of Sentinels names.
//!
//! The store talks to a [`Connection`], which is a redis-rs connection of each kind behind one
//! type, shared by every call; blocking reads of an event log each take a
//! [`Target::dedicated`] connection, so they never hold up the calls. What a failover asks of
//! each kind:
//! - **one server**: redis-rs's `ConnectionManager` reconnects to the same address;
//! - **a cluster**: redis-rs's cluster connection follows the slots to the promoted replica;
//! - **Sentinel**: the primary moves to another address, so a connection that fails (or finds
//!   its server read-only, as a demoted primary is) is dropped, and the next call asks the
//!   Sentinels where the primary is now.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, MultiplexedConnection};
use redis::cluster::{ClusterClient, ClusterConfig};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use redis::{
    Cmd, ConnectionAddr, IntoConnectionInfo, Pipeline, RedisError, RedisFuture, RedisResult,
    TlsMode, Value,
};

/// Where the store's Redis is, and how to open connections to it.
#[derive(Clone)]
pub(super) enum Target {
    Server(redis::Client),
    Cluster(ClusterClient),
    Sentinel(Arc<tokio::sync::Mutex<SentinelClient>>),
}

/// How long to wait for a connection and for each response.
#[derive(Clone, Copy)]
pub(super) struct Timeouts {
    pub connect: Duration,
    pub response: Duration,
}

impl Target {
    pub fn server(url: &str) -> RedisResult<Self> {
        redis::Client::open(url).map(Self::Server)
    }

    pub fn cluster(nodes: Vec<String>) -> RedisResult<Self> {
        ClusterClient::builder(nodes)
            // A failover takes the cluster a few seconds: calls fail fast meanwhile, and the
            // connection finds the new primary on a later call.
            .retries(2)
            .min_retry_wait(50)
            .max_retry_wait(500)
            .build()
            .map(Self::Cluster)
    }

    /// The primary is reached with the username, password and database of the first
    /// Sentinel's URL, and over TLS when that URL is `rediss://`.
    pub fn sentinel(sentinels: Vec<String>, service: &str) -> RedisResult<Self> {
        let first = sentinels
            .first()
            .ok_or_else(|| {
                RedisError::from((redis::ErrorKind::InvalidClientConfig, "no Sentinel"))
            })?
            .as_str()
            .into_connection_info()?;
        let tls_mode = match first.addr {
            ConnectionAddr::TcpTls { insecure, .. } if insecure => Some(TlsMode::Insecure),
            ConnectionAddr::TcpTls { .. } => Some(TlsMode::Secure),
            _ => None,
        };
        let primary = SentinelNodeConnectionInfo {
            tls_mode,
            redis_connection_info: Some(first.redis),
        };
        let client = SentinelClient::build(
            sentinels,
            service.to_owned(),
            Some(primary),
            SentinelServerType::Master,
        )?;
        Ok(Self::Sentinel(Arc::new(tokio::sync::Mutex::new(client))))
    }

    /// Whether the target has replicas that a failover promotes.
    pub fn replicated(&self) -> bool {
        !matches!(self, Self::Server(_))
    }

    /// The connection every call shares.
    pub async fn shared(&self, timeouts: Timeouts) -> RedisResult<Connection> {
        match self {
            Self::Server(client) => {
                let config = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(timeouts.connect)
                    .set_response_timeout(timeouts.response)
                    .set_number_of_retries(2)
                    .set_max_delay(200);
                let manager = ConnectionManager::new_with_config(client.clone(), config).await?;
                Ok(Connection::Server(manager))
            }
            Self::Cluster(_) | Self::Sentinel(_) => self.dedicated(timeouts).await,
        }
    }

    /// A connection of its own, for a caller that blocks on it.
    pub async fn dedicated(&self, timeouts: Timeouts) -> RedisResult<Connection> {
        match self {
            Self::Server(client) => {
                let connection = client
                    .get_multiplexed_async_connection_with_config(&plain_config(timeouts))
                    .await?;
                Ok(Connection::Plain(connection))
            }
            Self::Cluster(client) => {
                let config = ClusterConfig::new()
                    .set_connection_timeout(timeouts.connect)
                    .set_response_timeout(timeouts.response);
                let connection = client.get_async_connection_with_config(config).await?;
                Ok(Connection::Cluster(connection))
            }
            Self::Sentinel(sentinel) => {
                let primary = SentinelPrimary {
                    sentinel: sentinel.clone(),
                    timeouts,
                    current: Arc::new(Mutex::new(None)),
                };
                // Connect now, so a wrong service name or no reachable Sentinel fails here.
                primary.connection().await?;
                Ok(Connection::Sentinel(primary))
            }
        }
    }
}

fn plain_config(timeouts: Timeouts) -> redis::AsyncConnectionConfig {
    redis::AsyncConnectionConfig::new()
        .set_connection_timeout(timeouts.connect)
        .set_response_timeout(timeouts.response)
}

/// A connection to the store's Redis, whatever its kind.
#[derive(Clone)]
pub(super) enum Connection {
    Server(ConnectionManager),
    Plain(MultiplexedConnection),
    Cluster(ClusterConnection),
    Sentinel(SentinelPrimary),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Server(c) => c.req_packed_command(cmd),
            Self::Plain(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
            Self::Sentinel(c) => Box::pin(c.command(cmd)),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Server(c) => c.req_packed_commands(cmd, offset, count),
            Self::Plain(c) => c.req_packed_commands(cmd, offset, count),
            Self::Cluster(c) => c.req_packed_commands(cmd, offset, count),
            Self::Sentinel(c) => Box::pin(c.commands(cmd, offset, count)),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Server(c) => c.get_db(),
            Self::Plain(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
            Self::Sentinel(_) => 0,
        }
    }
}

impl Connection {
    /// Runs `cmd` on the primary that holds `key`: on a cluster, a command without keys
    /// (`WAIT`, `ROLE`) would go to another node, or to all of them.
    pub async fn on_primary_of(&mut self, key: &str, cmd: &Cmd) -> RedisResult<Value> {
        match self {
            Self::Cluster(c) => {
                let route = Route::new(slot(key), SlotAddr::Master);
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route));
                c.route_command(cmd, routing).await
            }
            other => cmd.query_async(other).await,
        }
    }
}

/// The cluster slot of `key`: CRC16 (XMODEM) of its hash tag (the part between the first `{`
/// and the next `}`, when not empty) or of the whole key, modulo 16384.
fn slot(key: &str) -> u16 {
    let key = key.as_bytes();
    let tagged = key.iter().position(|&b| b == b'{').and_then(|open| {
        let rest = &key[open + 1..];
        let close = rest.iter().position(|&b| b == b'}')?;
        (close > 0).then(|| &rest[..close])
    });
    let mut crc: u16 = 0;
    for &byte in tagged.unwrap_or(key) {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc % 16384
}

/// The primary the Sentinels name, found again after a connection to it fails.
#[derive(Clone)]
pub(super) struct SentinelPrimary {
    sentinel: Arc<tokio::sync::Mutex<SentinelClient>>,
    timeouts: Timeouts,
    current: Arc<Mutex<Option<MultiplexedConnection>>>,
}

impl SentinelPrimary {
    fn cached(&self) -> Option<MultiplexedConnection> {
        self.current.lock().ok().and_then(|c| c.clone())
    }

    async fn connection(&self) -> RedisResult<MultiplexedConnection> {
        if let Some(connection) = self.cached() {
            return Ok(connection);
        }
        let mut sentinel = self.sentinel.lock().await;
        // Another caller may have found the primary while this one waited for the lock.
        if let Some(connection) = self.cached() {
            return Ok(connection);
        }
        let client = sentinel.async_get_client().await?;
        let connection = client
            .get_multiplexed_async_connection_with_config(&plain_config(self.timeouts))
            .await?;
        if let Ok(mut current) = self.current.lock() {
            *current = Some(connection.clone());
        }
        Ok(connection)
    }

    fn forget(&self) {
        if let Ok(mut current) = self.current.lock() {
            *current = None;
        }
    }

    /// Forgets the connection after an error that says the primary may have moved.
    fn check<T>(&self, result: RedisResult<T>) -> RedisResult<T> {
        if let Err(e) = &result {
            let moved = e.is_io_error()
                || e.is_timeout()
                || e.is_connection_dropped()
                || e.is_connection_refusal()
                || e.kind() == redis::ErrorKind::ReadOnly;
            if moved {
                self.forget();
            }
        }
        result
    }

    async fn command(&self, cmd: &Cmd) -> RedisResult<Value> {
        let mut connection = self.connection().await?;
        let result = connection.req_packed_command(cmd).await;
        self.check(result)
    }

    async fn commands(
        &self,
        cmd: &Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        let mut connection = self.connection().await?;
        let result = connection.req_packed_commands(cmd, offset, count).await;
        self.check(result)
    }
}

#[cfg(test)]
mod tests {
    use super::slot;

    #[test]
    fn slots_are_the_ones_redis_computes() {
        // Each as `CLUSTER KEYSLOT` gives it (Redis 7.0).
        for (key, want) in [
            ("123456789", 12739),
            ("foo", 12182),
            ("foo{}{bar}", 8363),
            ("foo{{bar}}zap", 4015),
            ("calls:{demo}:room", 903),
            ("calls:nodes", 12440),
            ("a{}", 6082),
        ] {
            assert_eq!(slot(key), want, "{key}");
        }
    }
}
