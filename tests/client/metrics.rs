//! The metrics table of docs/metrics.md is `cloudflare_calls::metrics::CATALOG`, rendered: the
//! docs cannot drift from what the crate records (`CALLS_UPDATE_DOCS=1` rewrites the table).
//! tests/ops/main.rs scrapes a running service and checks that every metric it records is in
//! the catalog.

use std::fmt::Write as _;

use cloudflare_calls::metrics::{CATALOG, MetricKind};

fn markdown() -> String {
    let mut out = String::from("| metric | type | labels | meaning |\n|---|---|---|---|\n");
    for m in CATALOG {
        let kind = match m.kind {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
            _ => "other",
        };
        let labels = if m.labels.is_empty() {
            "–".to_owned()
        } else {
            m.labels
                .iter()
                .map(|l| format!("`{l}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(out, "| `{}` | {kind} | {labels} | {} |", m.name, m.help);
    }
    out
}

#[test]
fn the_docs_list_every_metric() {
    let wanted = format!("\n{}", markdown());
    crate::support::docs::check_table(
        "docs/metrics.md",
        "<!-- metrics:start -->",
        "<!-- metrics:end -->",
        &wanted,
    );
}

/// Prometheus's conventions: counters end in `_total`, histograms in a base unit, names are
/// unique.
#[test]
fn names_follow_prometheus_conventions() {
    let mut seen = std::collections::HashSet::new();
    for m in CATALOG {
        assert!(seen.insert(m.name), "{} twice", m.name);
        assert!(m.name.starts_with("calls_"), "{}", m.name);
        match m.kind {
            MetricKind::Counter => assert!(m.name.ends_with("_total"), "{}", m.name),
            MetricKind::Histogram => assert!(m.name.ends_with("_seconds"), "{}", m.name),
            _ => assert!(
                !m.name.ends_with("_total") && !m.name.ends_with("_seconds"),
                "{}",
                m.name
            ),
        }
    }
}
