//! What the crate measures, through the [`metrics`](https://docs.rs/metrics) facade.
//!
//! The crate records; the app chooses where it goes by installing a recorder (for Prometheus,
//! `metrics-exporter-prometheus`). With no recorder installed, recording costs next to
//! nothing, and no metric allocates for its labels: every label value is a fixed string from
//! a bounded set (an operation id, a status class, a known error code or `other`).
//!
//! [`CATALOG`] lists every metric with its type, labels and meaning; docs/metrics.md shows the
//! same table, and a test checks that the two agree and that everything the crate records is
//! in it. [`describe`] hands the descriptions and units to the installed recorder.
//!
//! ```no_run
//! // In the app, once, before the client is used:
//! let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
//!     .install_recorder()
//!     .expect("no other recorder");
//! cloudflare_calls::metrics::describe();
//! // Serve `handle.render()` at /metrics.
//! # let _ = handle;
//! ```

/// A metric's type, as Prometheus knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetricKind {
    /// Only goes up (`_total`).
    Counter,
    /// Goes up and down: what is there now.
    Gauge,
    /// A distribution of observations, in base units (`_seconds`).
    Histogram,
}

/// One metric of [`CATALOG`].
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct MetricInfo {
    /// The metric's name.
    pub name: &'static str,
    /// Its type.
    pub kind: MetricKind,
    /// Its labels; each takes values from a fixed set.
    pub labels: &'static [&'static str],
    /// What it counts or measures.
    pub help: &'static str,
}

const fn metric(
    name: &'static str,
    kind: MetricKind,
    labels: &'static [&'static str],
    help: &'static str,
) -> MetricInfo {
    MetricInfo {
        name,
        kind,
        labels,
        help,
    }
}

use MetricKind::{Counter, Gauge, Histogram};

pub(crate) const API_REQUESTS: &str = "calls_api_requests_total";
pub(crate) const API_DURATION: &str = "calls_api_request_duration_seconds";
pub(crate) const API_RETRIES: &str = "calls_api_retries_total";
pub(crate) const SIGNALING_CONFLICTS: &str = "calls_session_signaling_conflicts_total";
pub(crate) const ANSWERS_RESENT: &str = "calls_session_answers_resent_total";
pub(crate) const ANSWERS_OWED: &str = "calls_session_answers_owed_total";
pub(crate) const PEERS_CONNECTED: &str = "calls_peers_connected";
pub(crate) const PEER_MESSAGES: &str = "calls_peer_messages_total";
pub(crate) const PEER_FRAMES: &str = "calls_peer_frames_total";
pub(crate) const PEER_FRAMES_DROPPED: &str = "calls_peer_frames_dropped_total";
pub(crate) const PEER_SUBSCRIPTIONS_LAGGED: &str = "calls_peer_subscriptions_lagged_total";
pub(crate) const PEER_FIRST_FRAME: &str = "calls_peer_pull_first_frame_seconds";
pub(crate) const ROOMS_HOSTED: &str = "calls_rooms_hosted";
pub(crate) const ROOM_PARTICIPANTS: &str = "calls_room_participants";
pub(crate) const ROOM_JOINS: &str = "calls_room_joins_total";
pub(crate) const ROOM_JOIN_DURATION: &str = "calls_room_join_duration_seconds";
pub(crate) const ROOM_LEAVES: &str = "calls_room_leaves_total";
pub(crate) const ROOM_UPDATES_RELAYED: &str = "calls_room_updates_relayed_total";
pub(crate) const STORE_DURATION: &str = "calls_room_store_operation_duration_seconds";
pub(crate) const STORE_ERRORS: &str = "calls_room_store_errors_total";
pub(crate) const WHIP_SESSIONS: &str = "calls_whip_sessions";
pub(crate) const WHIP_REFUSALS: &str = "calls_whip_refusals_total";

/// Every metric the crate records.
pub const CATALOG: &[MetricInfo] = &[
    metric(
        API_REQUESTS,
        Counter,
        &["operation", "outcome", "code"],
        "Calls of the SFU, TURN and account APIs, by operationId; outcome is ok, 2xx (an error \
         body with HTTP 200), 4xx, 5xx, timeout, connection, decode or invalid; code is the \
         service's errorCode (none, or other for one the crate does not know).",
    ),
    metric(
        API_DURATION,
        Histogram,
        &["operation"],
        "Time of a call, retries included, until its result.",
    ),
    metric(
        API_RETRIES,
        Counter,
        &["operation"],
        "Attempts sent again by the retry policy.",
    ),
    metric(
        SIGNALING_CONFLICTS,
        Counter,
        &["operation"],
        "406 signalling conflicts met by a session change (each is retried a bounded number \
         of times).",
    ),
    metric(
        ANSWERS_RESENT,
        Counter,
        &[],
        "Endpoint answers sent again after a transient or ambiguous failure.",
    ),
    metric(
        ANSWERS_OWED,
        Counter,
        &[],
        "Endpoint answers that could not be delivered and were kept for the session's next \
         change.",
    ),
    metric(
        PEERS_CONNECTED,
        Gauge,
        &[],
        "Server-side peers connected to the SFU.",
    ),
    metric(
        PEER_MESSAGES,
        Counter,
        &["direction"],
        "Data channel messages of server-side peers; direction is in or out.",
    ),
    metric(
        PEER_FRAMES,
        Counter,
        &["direction"],
        "Media frames of server-side peers; direction is in or out.",
    ),
    metric(
        PEER_FRAMES_DROPPED,
        Counter,
        &["reason"],
        "Incoming frames dropped: buffer_full (the app reads too slowly) or malformed (does \
         not depacketize).",
    ),
    metric(
        PEER_SUBSCRIPTIONS_LAGGED,
        Counter,
        &[],
        "Messages a subscriber read too slowly to take: a reliable channel's subscription \
         ends as lagged at the first; an unreliable one skips them.",
    ),
    metric(
        PEER_FIRST_FRAME,
        Histogram,
        &[],
        "Time from a server-side peer's pull (a join's pulls included) to the track's first \
         frame: the time to first media where the crate sees it.",
    ),
    metric(
        ROOMS_HOSTED,
        Gauge,
        &[],
        "Rooms this process hosts (runs the room channel and health checks of).",
    ),
    metric(
        ROOM_PARTICIPANTS,
        Gauge,
        &[],
        "Participants with room channels in the rooms this process hosts.",
    ),
    metric(
        ROOM_JOINS,
        Counter,
        &["endpoint", "outcome"],
        "Joins through this process; endpoint is browser (an offer) or server (a server-side \
         peer), outcome ok or refused.",
    ),
    metric(
        ROOM_JOIN_DURATION,
        Histogram,
        &["endpoint"],
        "Time of a successful join: to the SFU's answer for a browser, to connected and \
         announced for a server-side peer.",
    ),
    metric(
        ROOM_LEAVES,
        Counter,
        &["reason"],
        "Participants removed through this process, by reason: left, kicked, expired, \
         room_closed.",
    ),
    metric(
        ROOM_UPDATES_RELAYED,
        Counter,
        &[],
        "Room updates the rooms this process hosts relayed to participants.",
    ),
    metric(
        STORE_DURATION,
        Histogram,
        &["operation"],
        "Time of a room store operation (snapshot, append, lease, ...); its count is the \
         number of operations.",
    ),
    metric(
        STORE_ERRORS,
        Counter,
        &["operation"],
        "Room store operations that failed (the store unreachable or broken); a refusal such \
         as a full room is an answer, not counted here.",
    ),
    metric(
        WHIP_SESSIONS,
        Gauge,
        &["endpoint"],
        "Active WHIP publishers (endpoint whip) and WHEP players (whep) of this process.",
    ),
    metric(
        WHIP_REFUSALS,
        Counter,
        &["endpoint", "status"],
        "WHIP and WHEP requests answered with an error, by HTTP status.",
    ),
];

/// Hands every metric's description and unit to the installed recorder (call it once, after
/// installing one).
pub fn describe() {
    for m in CATALOG {
        let unit = match m.kind {
            Histogram => Some(::metrics::Unit::Seconds),
            _ => None,
        };
        match (m.kind, unit) {
            (Counter, _) => ::metrics::describe_counter!(m.name, m.help),
            (Gauge, _) => ::metrics::describe_gauge!(m.name, m.help),
            (Histogram, Some(unit)) => ::metrics::describe_histogram!(m.name, unit, m.help),
            (Histogram, None) => ::metrics::describe_histogram!(m.name, m.help),
        }
    }
}

/// An HTTP status as a bounded label.
pub(crate) fn status_class(status: u16) -> &'static str {
    match status {
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "other",
    }
}

/// An HTTP error status as a bounded label: the number for the statuses a router answers,
/// the class for any other.
#[cfg_attr(not(feature = "whip"), allow(dead_code))]
pub(crate) fn status_label(status: u16) -> &'static str {
    match status {
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        409 => "409",
        412 => "412",
        413 => "413",
        415 => "415",
        422 => "422",
        428 => "428",
        429 => "429",
        500 => "500",
        501 => "501",
        502 => "502",
        503 => "503",
        504 => "504",
        other => status_class(other),
    }
}

/// A metric's labels: at most three, each a fixed string.
type Labels<'a> = &'a [(&'static str, &'static str)];

/// The keys of labelled metrics, each built once: recording with labels then allocates
/// nothing, while the recorder (installed before or after) is asked on every call.
static KEYS: std::sync::Mutex<Option<KeyCache>> = std::sync::Mutex::new(None);

type KeyCache =
    std::collections::HashMap<(&'static str, [(&'static str, &'static str); 3]), ::metrics::Key>;

static METADATA: ::metrics::Metadata<'static> =
    ::metrics::Metadata::new(module_path!(), ::metrics::Level::INFO, Some(module_path!()));

fn with_key<T>(name: &'static str, labels: Labels<'_>, f: impl FnOnce(&::metrics::Key) -> T) -> T {
    if labels.is_empty() {
        return f(&::metrics::Key::from_static_name(name));
    }
    let mut set = [("", ""); 3];
    for (slot, label) in set.iter_mut().zip(labels) {
        *slot = *label;
    }
    let mut keys = KEYS.lock().unwrap_or_else(|e| e.into_inner());
    let key = keys
        .get_or_insert_with(Default::default)
        .entry((name, set))
        .or_insert_with(|| {
            let labels: Vec<::metrics::Label> = labels
                .iter()
                .map(|(k, v)| ::metrics::Label::from_static_parts(k, v))
                .collect();
            ::metrics::Key::from_parts(name, labels)
        });
    f(key)
}

/// The keys of what a peer counts per frame and per message, built at compile time, so
/// counting them takes no lock: [`count_static`].
macro_rules! static_keys {
    ($($key:ident = $metric:ident { $label:literal => $value:literal };)*) => {
        $(
            #[cfg_attr(not(feature = "peer"), allow(dead_code))]
            pub(crate) static $key: ::metrics::Key = {
                static LABELS: [::metrics::Label; 1] =
                    [::metrics::Label::from_static_parts($label, $value)];
                ::metrics::Key::from_static_parts($metric, &LABELS)
            };
        )*
    };
}

static_keys! {
    FRAMES_IN = PEER_FRAMES { "direction" => "in" };
    FRAMES_OUT = PEER_FRAMES { "direction" => "out" };
    MESSAGES_IN = PEER_MESSAGES { "direction" => "in" };
    MESSAGES_OUT = PEER_MESSAGES { "direction" => "out" };
    DROPPED_MALFORMED = PEER_FRAMES_DROPPED { "reason" => "malformed" };
    DROPPED_BUFFER_FULL = PEER_FRAMES_DROPPED { "reason" => "buffer_full" };
}

/// Adds `n` to a counter whose key is static.
#[cfg_attr(not(feature = "peer"), allow(dead_code))]
pub(crate) fn count_static(key: &'static ::metrics::Key, n: u64) {
    ::metrics::with_recorder(|r| r.register_counter(key, &METADATA).increment(n));
}

/// Adds `n` to a counter.
pub(crate) fn count(name: &'static str, labels: Labels<'_>, n: u64) {
    with_key(name, labels, |key| {
        ::metrics::with_recorder(|r| r.register_counter(key, &METADATA).increment(n))
    });
}

/// Moves a gauge by `delta`.
#[cfg_attr(not(feature = "peer"), allow(dead_code))]
pub(crate) fn gauge(name: &'static str, labels: Labels<'_>, delta: f64) {
    with_key(name, labels, |key| {
        ::metrics::with_recorder(|r| r.register_gauge(key, &METADATA).increment(delta))
    });
}

/// Records a duration in a histogram, in seconds.
pub(crate) fn observe(name: &'static str, labels: Labels<'_>, took: std::time::Duration) {
    with_key(name, labels, |key| {
        ::metrics::with_recorder(|r| {
            r.register_histogram(key, &METADATA)
                .record(took.as_secs_f64())
        })
    });
}
