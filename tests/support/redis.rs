//! A `redis-server` of the test's own, on a free port, stopped when dropped.
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

/// A running `redis-server` with no persistence, killed on drop.
pub struct Redis {
    child: Option<Child>,
    port: u16,
}

impl Redis {
    /// Starts a server on a free port and waits until it answers.
    pub async fn start() -> Redis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let mut redis = Redis { child: None, port };
        redis.restart().await;
        redis
    }

    /// The URL to connect to.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server (as a crash would: no shutdown, no save).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty.
    pub async fn restart(&mut self) {
        self.kill();
        let child = Command::new(SERVER)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "redis-server did not listen on port {} within 5 s",
            self.port
        );
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}
