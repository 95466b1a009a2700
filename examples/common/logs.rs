//! The examples' logs: what `RUST_LOG` asks for (`RUST_LOG=cloudflare_calls=debug` shows every
//! call), warnings and errors otherwise, on stderr; one JSON object per line with
//! `LOG_FORMAT=json`, for a log pipeline.

use tracing_subscriber::EnvFilter;

/// Installs the examples' log subscriber.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("LOG_FORMAT").as_deref() == Ok("json") {
        logs.json().init();
    } else {
        logs.init();
    }
}
