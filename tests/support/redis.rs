//! `redis-server`s of the test's own on free ports, stopped when dropped: one server, a Redis
//! Cluster, or a primary and its replica watched by Sentinels.
//!
//! Redis tests skip, saying why, when `redis-server` is missing, unless
//! `CALLS_REQUIRE_REDIS=1` (set by `cargo xtask ci`, which installs Debian's `redis-server`).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const SERVER: &str = "/usr/bin/redis-server";

/// True when the test should return early: no `redis-server`, and not required.
pub fn skip_without_redis() -> bool {
    if Path::new(SERVER).is_file() {
        return false;
    }
    if std::env::var("CALLS_REQUIRE_REDIS").as_deref() == Ok("1") {
        panic!("{SERVER} is missing: install Debian's redis-server (cargo xtask ci does)");
    }
    eprintln!("skipped: {SERVER} is missing (install Debian's redis-server)");
    true
}

/// A running `redis-server`, killed on drop: with no persistence, or with an append-only file
/// written on every write.
pub struct Redis {
    node: Node,
    /// Where the append-only file is kept, when the server persists.
    aof: Option<Scratch>,
}

impl Redis {
    /// Starts a server with no persistence on a free port and waits until it answers.
    pub async fn start() -> Redis {
        Self::on(None).await
    }

    /// Starts a server that logs every write to an append-only file (`appendfsync always`),
    /// which it reads back when [restarted](Self::restart).
    pub async fn start_persistent() -> Redis {
        Self::on(Some(Scratch::new("aof"))).await
    }

    async fn on(aof: Option<Scratch>) -> Redis {
        let node = Node {
            port: free_port(),
            child: None,
        };
        let mut redis = Redis { node, aof };
        redis.restart().await;
        redis
    }

    /// The URL to connect to.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.node.port)
    }

    /// Kills the server (as a crash would: no shutdown, no save).
    pub fn kill(&mut self) {
        self.node.kill();
    }

    /// What `redis-cli` prints for a command to this server.
    pub fn cli(&self, args: &[&str]) -> String {
        cli(self.node.port, args)
    }

    /// Starts the server again on the same port: empty, or with what its append-only file
    /// holds.
    pub async fn restart(&mut self) {
        let port = self.node.port;
        self.node.kill();
        let mut args = node_args(port, &std::env::temp_dir());
        if let Some(aof) = &self.aof {
            let dir = aof.0.to_string_lossy().into_owned();
            args.extend(
                [
                    "--dir",
                    &dir,
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "always",
                ]
                .map(String::from),
            );
        }
        self.node = Node::spawn(port, &args);
        wait_until("redis-server answers", || {
            cli(port, &["ping"]).contains("PONG")
        })
        .await;
    }
}

/// A free TCP port on loopback.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One `redis-server` process, killed on drop.
struct Node {
    port: u16,
    child: Option<Child>,
}

impl Node {
    fn spawn(port: u16, args: &[String]) -> Node {
        let child = Command::new(SERVER)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        Node {
            port,
            child: Some(child),
        }
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("a running node");
        let sent = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -{signal}");
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What `redis-cli` prints for one command to the server on `port` (empty if it fails).
fn cli(port: u16, args: &[&str]) -> String {
    Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default()
}

/// Polls `ready` every 100 ms, for 30 s at most.
async fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    for _ in 0..300 {
        if ready() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} within 30 s");
}

/// A scratch folder for nodes' files, removed on drop.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(what: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("calls-{what}-{}", free_port()));
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Arguments every node shares: loopback, no persistence, files in `dir`.
fn node_args(port: u16, dir: &Path) -> Vec<String> {
    [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        &dir.to_string_lossy(),
    ]
    .map(String::from)
    .to_vec()
}

/// A `redis-server` that takes TLS connections only (`rediss://`), with a certificate for
/// 127.0.0.1 signed by a certificate authority of its own, made with `openssl`. A client
/// trusts it only if told to, as with `SSL_CERT_FILE` set to [`ca`](Self::ca).
pub struct TlsRedis {
    node: Node,
    dir: Scratch,
}

impl TlsRedis {
    pub async fn start() -> TlsRedis {
        let dir = Scratch::new("tls");
        let key = "rsa:2048";
        openssl(
            &dir,
            &["req", "-x509", "-newkey", key, "-nodes", "-days", "2"],
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-subj",
                "/CN=calls test CA",
            ],
        );
        openssl(
            &dir,
            &["req", "-newkey", key, "-nodes"],
            &[
                "-keyout",
                "redis.key",
                "-out",
                "redis.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        );
        std::fs::write(dir.0.join("san"), "subjectAltName=IP:127.0.0.1\n").unwrap();
        openssl(
            &dir,
            &[
                "x509",
                "-req",
                "-in",
                "redis.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
            ],
            &[
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "san",
                "-out",
                "redis.crt",
            ],
        );
        let port = free_port();
        let mut args = node_args(0, &dir.0);
        let file = |name: &str| dir.0.join(name).to_string_lossy().into_owned();
        args.extend([
            "--tls-port".into(),
            port.to_string(),
            "--tls-cert-file".into(),
            file("redis.crt"),
            "--tls-key-file".into(),
            file("redis.key"),
            "--tls-ca-cert-file".into(),
            file("ca.crt"),
            "--tls-auth-clients".into(),
            "no".into(),
        ]);
        let node = Node::spawn(port, &args);
        let ca = file("ca.crt");
        wait_until("redis-server answers over TLS", || {
            let out = Command::new("redis-cli")
                .args(["--tls", "--cacert", &ca, "-p", &port.to_string(), "ping"])
                .output();
            out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("PONG"))
        })
        .await;
        TlsRedis { node, dir }
    }

    pub fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}/", self.node.port)
    }

    /// The certificate of the authority that signed the server's.
    pub fn ca(&self) -> std::path::PathBuf {
        self.dir.0.join("ca.crt")
    }
}

/// Runs `openssl` in `dir` with `args` then `more`.
fn openssl(dir: &Scratch, args: &[&str], more: &[&str]) {
    let made = Command::new("openssl")
        .args(args)
        .args(more)
        .current_dir(&dir.0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs (Debian's openssl; cargo xtask ci installs it)");
    assert!(made.success(), "openssl {}", args.join(" "));
}

/// A Redis Cluster of three primaries with a replica each, made by `redis-cli --cluster
/// create`; a primary's replica takes its place a second or two after it dies.
pub struct Cluster {
    nodes: Vec<Node>,
    _dir: Scratch,
}

impl Cluster {
    /// Starts six nodes, makes the cluster, and waits until every slot is served and every
    /// replica has its primary's data.
    pub async fn start() -> Cluster {
        let dir = Scratch::new("cluster");
        let nodes: Vec<Node> = (0..6)
            .map(|_| {
                let (port, bus) = (free_port(), free_port());
                let mut args = node_args(port, &dir.0);
                args.extend(
                    [
                        "--cluster-enabled",
                        "yes",
                        "--cluster-port",
                        &bus.to_string(),
                        "--cluster-config-file",
                        &format!("nodes-{port}.conf"),
                        "--cluster-node-timeout",
                        "1000",
                    ]
                    .map(String::from),
                );
                Node::spawn(port, &args)
            })
            .collect();
        for node in &nodes {
            let port = node.port;
            wait_until("a cluster node answers", || {
                cli(port, &["ping"]).contains("PONG")
            })
            .await;
        }
        let addresses: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdout(Stdio::null())
            .status()
            .expect("redis-cli runs");
        assert!(created.success(), "redis-cli --cluster create failed");
        let cluster = Cluster { nodes, _dir: dir };
        cluster.wait_healthy().await;
        cluster
    }

    /// The URL of every node still running.
    pub fn urls(&self) -> Vec<String> {
        self.live()
            .map(|port| format!("redis://127.0.0.1:{port}/"))
            .collect()
    }

    fn live(&self) -> impl Iterator<Item = u16> + '_ {
        self.nodes
            .iter()
            .filter(|n| n.child.is_some())
            .map(|n| n.port)
    }

    /// Waits until every live node sees the whole cluster up, and every replica is in sync.
    pub async fn wait_healthy(&self) {
        let ports: Vec<u16> = self.live().collect();
        wait_until("the cluster is up, its replicas in sync", || {
            ports.iter().all(|&port| {
                let info = cli(port, &["cluster", "info"]);
                let replication = cli(port, &["info", "replication"]);
                info.contains("cluster_state:ok")
                    && (replication.contains("role:master")
                        || replication.contains("master_link_status:up"))
            })
        })
        .await;
    }

    /// Kills (as a crash would) the primary that holds `key`, and returns its port.
    pub fn kill_primary_of(&mut self, key: &str) -> u16 {
        let any = self.live().next().expect("a live node");
        let slot: u16 = cli(any, &["cluster", "keyslot", key])
            .trim()
            .parse()
            .expect("a slot number");
        let nodes = cli(any, &["cluster", "nodes"]);
        let port = nodes
            .lines()
            .find_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let serves = fields.iter().skip(8).any(|range| {
                    let mut ends = range.split('-').map(|n| n.parse::<u16>());
                    match (ends.next(), ends.next()) {
                        (Some(Ok(first)), Some(Ok(last))) => (first..=last).contains(&slot),
                        (Some(Ok(only)), None) => only == slot,
                        _ => false,
                    }
                });
                let primary = fields.get(2).is_some_and(|flags| flags.contains("master"));
                let address = fields.get(1)?;
                let port = address.split(['@', ':']).nth(1)?.parse::<u16>().ok()?;
                (serves && primary).then_some(port)
            })
            .expect("a primary serves the key's slot");
        self.nodes
            .iter_mut()
            .filter(|n| n.port == port)
            .for_each(Node::kill);
        port
    }
}

/// A primary, its replica, and three Sentinels (quorum two) watching it as `rooms`.
pub struct Sentinels {
    primary: Node,
    replica: Node,
    sentinels: Vec<Node>,
    _dir: Scratch,
}

impl Sentinels {
    /// The name the Sentinels know the primary by.
    pub const SERVICE: &str = "rooms";

    /// Starts the servers and the Sentinels, and waits until the replica is in sync and every
    /// Sentinel sees the others.
    pub async fn start() -> Sentinels {
        let dir = Scratch::new("sentinel");
        let primary_port = free_port();
        let primary = Node::spawn(primary_port, &node_args(primary_port, &dir.0));
        wait_until("the primary answers", || {
            cli(primary_port, &["ping"]).contains("PONG")
        })
        .await;
        let replica_port = free_port();
        let mut args = node_args(replica_port, &dir.0);
        args.extend(["--replicaof", "127.0.0.1", &primary_port.to_string()].map(String::from));
        let replica = Node::spawn(replica_port, &args);
        wait_until("the replica is in sync", || {
            cli(replica_port, &["info", "replication"]).contains("master_link_status:up")
        })
        .await;
        let sentinels = (0..3)
            .map(|_| {
                let port = free_port();
                // A Sentinel rewrites its configuration file: each gets its own.
                let conf = dir.0.join(format!("sentinel-{port}.conf"));
                let text = format!(
                    "port {port}\nbind 127.0.0.1\ndir {dir}\n\
                     sentinel monitor {service} 127.0.0.1 {primary_port} 2\n\
                     sentinel down-after-milliseconds {service} 1000\n\
                     sentinel failover-timeout {service} 10000\n",
                    dir = dir.0.display(),
                    service = Self::SERVICE,
                );
                std::fs::write(&conf, text).expect("a Sentinel configuration");
                Node::spawn(
                    port,
                    &[conf.to_string_lossy().into_owned(), "--sentinel".into()],
                )
            })
            .collect::<Vec<_>>();
        let ports: Vec<u16> = sentinels.iter().map(|s| s.port).collect();
        wait_until("every Sentinel knows the others and the replica", || {
            ports.iter().all(|&port| {
                let info = cli(port, &["info", "sentinel"]);
                info.contains("sentinels=3") && info.contains("slaves=1")
            })
        })
        .await;
        Sentinels {
            primary,
            replica,
            sentinels,
            _dir: dir,
        }
    }

    /// The Sentinels' URLs.
    pub fn urls(&self) -> Vec<String> {
        self.sentinels
            .iter()
            .map(|s| format!("redis://127.0.0.1:{}/", s.port))
            .collect()
    }

    /// Kills (as a crash would) the primary.
    pub fn kill_primary(&mut self) {
        self.primary.kill();
    }

    /// Stops the replica (SIGSTOP) and has the primary drop its link: what the primary takes
    /// from then on reaches no replica. (A stopped replica alone would still get it later, from
    /// its socket's buffer.)
    pub fn pause_replica(&self) {
        self.replica.signal("STOP");
        let dropped = cli(self.primary.port, &["client", "kill", "type", "replica"]);
        assert_eq!(
            dropped.trim(),
            "1",
            "the primary dropped its replica's link"
        );
    }

    /// Stops the replica (SIGSTOP), its link kept: the primary still counts it, and waits in
    /// vain for it to confirm what it sends.
    pub fn stop_replica(&self) {
        self.replica.signal("STOP");
    }

    /// Lets the replica run again (SIGCONT).
    pub fn resume_replica(&self) {
        self.replica.signal("CONT");
    }
}
