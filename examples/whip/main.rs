//! WHIP ingest and WHEP playback: publish from OBS, GStreamer, ffmpeg or a browser, and watch
//! in a browser, through the SFU.
//!
//! ```sh
//! cargo run --example whip --features whip   # prints the URLs and the token to use
//! ```
//!
//! Against Cloudflare when `CALLS_APP_ID` and `CALLS_APP_SECRET` are set (with TURN credentials in
//! `Link` headers when `CALLS_TURN_KEY_ID` and `CALLS_TURN_KEY_TOKEN` are too); against an emulator
//! embedded in this process only when no `CALLS_*` variable is set. `PORT` picks the port (8080),
//! `WHIP_TOKEN` the bearer token (a random one otherwise), `STREAM` the stream (`live`).
//! `/metrics`, `/healthz` and `/readyz` are for operators; SIGTERM drains (examples/common/ops.rs),
//! `LOG_FORMAT=json` logs JSON.

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

use std::time::Duration;

use axum::response::Html;
use axum::routing::get;
use cloudflare_calls::Client;
use cloudflare_calls::room::MemoryStore;
use cloudflare_calls::whip::Whip;

const PAGE: &str = include_str!("index.html");

#[tokio::main]
async fn main() -> std::process::ExitCode {
    logs::init();
    report::report(run().await)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // First, so the recorder sees everything the client does.
    let ops = ops::Ops::install();
    let (config, _emulator) = config::config_or_emulator().await?;
    let turn = std::env::var_os("CALLS_TURN_KEY_ID").is_some();
    let client = Client::new(config)?;
    let token = std::env::var("WHIP_TOKEN").unwrap_or_else(|_| random::secret());
    let stream = std::env::var("STREAM").unwrap_or_else(|_| "live".into());

    let mut whip = Whip::new(client.rooms(MemoryStore::new())).bearer_token(&token);
    if turn {
        whip = whip.turn(Duration::from_secs(3600));
    }
    let app = whip
        .router()
        .route("/", get(|| async { Html(PAGE) }))
        .merge(ops.router());

    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| {
            format!("cannot listen on 127.0.0.1:{port} ({e}); set PORT to another port")
        })?;
    let base = format!("http://{}", listener.local_addr()?);
    println!("WHIP (publish): {base}/whip/{stream}");
    println!("WHEP (play):    {base}/whep/{stream}");
    println!("bearer token:   {token}");
    println!("browser:        {base}/?stream={stream}#token={token}");
    axum::serve(listener, app)
        .with_graceful_shutdown(ops.shutdown_signal())
        .await?;
    Ok(())
}
