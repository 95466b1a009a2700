//! What an operator runs a service with: `/metrics` (Prometheus's text format, from the
//! crate's metrics and the process's own), `/healthz` (the process is alive), `/readyz` (it
//! takes new work; 503 once it drains), and a graceful shutdown on SIGTERM or Ctrl-C.
//!
//! On SIGTERM the process first turns `/readyz` to 503 and keeps serving for `DRAIN_SECONDS`
//! (5 by default), so a load balancer stops sending it new joins before it stops accepting
//! connections; then it finishes the requests in flight and exits.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// The histograms' buckets, in seconds: from a fast SFU call to a slow join.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's metrics handle and readiness.
#[derive(Clone)]
pub struct Ops {
    metrics: PrometheusHandle,
    ready: Arc<AtomicBool>,
}

impl Ops {
    /// Installs the Prometheus recorder for the whole process (once), describes the crate's
    /// metrics and keeps the recorder's upkeep running. Call it inside the tokio runtime.
    pub fn install() -> Self {
        static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
        let metrics = HANDLE
            .get_or_init(|| {
                let handle = PrometheusBuilder::new()
                    .set_buckets(BUCKETS)
                    .expect("the buckets are not empty")
                    .install_recorder()
                    .expect("no other metrics recorder is installed");
                cloudflare_calls::metrics::describe();
                // Histograms keep their samples until upkeep folds them in: without it, a
                // process nobody scrapes grows.
                let upkeep = handle.clone();
                tokio::spawn(async move {
                    let mut every = tokio::time::interval(Duration::from_secs(5));
                    loop {
                        every.tick().await;
                        upkeep.run_upkeep();
                    }
                });
                handle
            })
            .clone();
        Self {
            metrics,
            ready: Arc::new(AtomicBool::new(true)),
        }
    }

    /// `/metrics`, `/healthz` and `/readyz`, to merge into the service's router.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/metrics", get(metrics))
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(ready))
            .with_state(self.clone())
    }

    /// Whether the process takes new work.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Stops taking new work: `/readyz` answers 503 from now on.
    pub fn drain(&self) {
        self.ready.store(false, Ordering::Release);
    }

    /// Resolves on SIGTERM or Ctrl-C, after draining for `DRAIN_SECONDS`: pass it to
    /// `axum::serve(..).with_graceful_shutdown`.
    pub fn shutdown_signal(self) -> impl Future<Output = ()> {
        let drain = std::env::var("DRAIN_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(5);
        self.on_signal(Duration::from_secs(drain))
    }

    /// Resolves on SIGTERM or Ctrl-C, once `/readyz` has said 503 for `drain`. The handlers
    /// are in place when this returns, so a signal from then on is never the default (death).
    pub fn on_signal(self, drain: Duration) -> impl Future<Output = ()> {
        #[cfg(unix)]
        let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
        async move {
            #[cfg(unix)]
            let term = async {
                match term {
                    Ok(mut term) => {
                        term.recv().await;
                    }
                    Err(_) => std::future::pending().await,
                }
            };
            #[cfg(not(unix))]
            let term = std::future::pending::<()>();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term => {}
            }
            self.drain();
            tracing::info!(?drain, "shutting down: not ready, draining");
            tokio::time::sleep(drain).await;
        }
    }
}

async fn metrics(State(ops): State<Ops>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        ops.metrics.render(),
    )
}

async fn ready(State(ops): State<Ops>) -> impl IntoResponse {
    if ops.is_ready() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "draining")
    }
}
