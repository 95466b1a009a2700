//! A room people can open in a browser: camera and microphone, everyone's video, a chat.
//!
//! ```sh
//! cargo run --example room --features api   # then open http://127.0.0.1:8080/?name=alice
//! ```
//!
//! Against Cloudflare when `CALLS_APP_ID` and `CALLS_APP_SECRET` are set; against an emulator
//! embedded in this process only when no `CALLS_*` variable is set (examples/common/config.rs).
//! `PORT` picks the port (8080), `ROOM_API_KEY` the key access tokens are signed with. The
//! page's join screen takes a name, a room and a role (`?name=`, `?room=`, `?role=` fill it
//! in; a link with `#token=` joins with a token the app minted). The page is built on the
//! browser library in browser/. The server greets each participant with a direct message.
//! `/metrics`, `/healthz` and `/readyz` are for operators; SIGTERM drains (see
//! examples/common/ops.rs), then shuts the rooms down (`Rooms::shutdown`); `LOG_FORMAT=json`
//! logs JSON.

mod server;

#[path = "../common/config.rs"]
mod config;
#[path = "../common/logs.rs"]
mod logs;
#[path = "../common/ops.rs"]
mod ops;
#[path = "../common/random.rs"]
mod random;
#[path = "../common/report.rs"]
mod report;

use cloudflare_calls::Client;
use cloudflare_calls::room::MemoryStore;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    logs::init();
    report::report(run().await)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // First, so the recorder sees everything the client does.
    let ops = ops::Ops::install();
    let (config, emulator) = config::config_or_emulator().await?;
    // The emulator is on this machine; Cloudflare's STUN server helps browsers elsewhere.
    let ice_servers = match &emulator {
        Some(_) => serde_json::json!([]),
        None => serde_json::json!([{ "urls": "stun:stun.cloudflare.com:3478" }]),
    };
    let client = Client::new(config)?;
    let rooms = client.rooms(MemoryStore::new());

    // Tokens are signed with ROOM_API_KEY, or a key of this process's own.
    let key = std::env::var("ROOM_API_KEY").unwrap_or_else(|_| random::secret());
    let app = server::App::new(
        rooms.clone(),
        ice_servers,
        cloudflare_calls::Secret::new(key),
    );
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| {
            format!("cannot listen on 127.0.0.1:{port} ({e}); set PORT to another port")
        })?;
    println!(
        "open http://{}/?name=alice in a browser",
        listener.local_addr()?
    );
    let router = server::router(app).merge(ops.router());
    axum::serve(listener, router)
        .with_graceful_shutdown(ops.shutdown_signal())
        .await?;
    // Drained: the rooms this process hosts go to another process sharing the store, or,
    // with none (as with `MemoryStore`), close and tell their participants.
    rooms.shutdown().await?;
    Ok(())
}
