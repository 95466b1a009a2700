//! What the crate's metrics cost a call: `get_session_state` against the emulator on
//! loopback, first with no recorder installed (recording is a no-op), then with the
//! Prometheus recorder the examples install, side by side. The emulator's per-session rate
//! limit is lifted: the benchmark calls far more often than the service allows.
//!
//! `cargo bench --bench metrics -- --warm-up-time 2 --measurement-time 5`

use std::hint::black_box;

use calls_emulator::Emulator;
use cloudflare_calls::{Client, Config};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (_emulator, session) = rt.block_on(async {
        // The service allows 50 calls per second on one session; the benchmark calls faster.
        let mut limits = calls_emulator::Config::default();
        limits.calls_per_second = u32::MAX;
        let emulator = Emulator::builder().config(limits).start().await.unwrap();
        let config = Config::new(
            emulator.sfu_base_url(),
            emulator.app_id(),
            emulator.app_secret(),
        );
        let client = Client::new(config).unwrap();
        let session = client.new_session().send().await.unwrap();
        (emulator, session)
    });
    let mut group = c.benchmark_group("get_session_state");
    group.bench_function("no recorder", |b| {
        b.iter(|| black_box(rt.block_on(session.state()).unwrap()))
    });
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .unwrap();
    cloudflare_calls::metrics::describe();
    group.bench_function("prometheus recorder", |b| {
        b.iter(|| black_box(rt.block_on(session.state()).unwrap()))
    });
    group.finish();
    assert!(handle.render().contains("calls_api_requests_total"));
}

criterion_group!(benches, bench);
criterion_main!(benches);
