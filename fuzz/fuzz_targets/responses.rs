//! Every operation of the client (12 SFU, 3 TURN, 10 account API) on an arbitrary response:
//! status, headers and body. The call runs through the crate's real response handling
//! (`cloudflare_calls::__fuzz`, feature `fuzzing`: a real `Client` whose transport gets the
//! scripted response instead of the network), and must
//!
//! - never panic;
//! - never show a secret-marked value of the body in the error's `Display` (with its
//!   sources), its `Debug`, the `Debug` of what a successful call returned, or any tracing
//!   event or span recorded meanwhile (the error is logged too, as an application would);
//! - never show the client's own tokens there either;
//! - report the scripted status as the error's status, if it has one.
//!
//! Secret-marked values are those the API documents as secrets: an app's `secret`
//! (create_sfu_app), a TURN key's `key` (create_turn_key), TURN `credential`s
//! (generate_ice_servers, generate_turn_credentials), and the credentials in an adapter's
//! `endpoint` URL (create_websocket_adapters). When the body is JSON, the target writes a
//! marker into every such field of it, then optionally cuts the body short.
//!
//! Input: byte 0 picks the operation (modulo 25); byte 1 holds flags (bit 0: leave the body
//! as it is; bits 1-7: when secrets were seeded, keep only that many 128ths of the body);
//! bytes 2-3 are the status, big-endian (outside 100..=999 they pick a documented status);
//! then `name: value` header lines up to an empty line, then the body. Seeds of this format
//! are in fuzz/seeds/responses (real responses of the emulator). From the repository root:
//!
//! ```text
//! mkdir -p fuzz/corpus/responses && cp fuzz/seeds/responses/* fuzz/corpus/responses/
//! RUSTC_BOOTSTRAP=1 cargo fuzz run responses fuzz/corpus/responses -- -max_total_time=600 -timeout=2
//! ```
#![no_main]

use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use cloudflare_calls::__fuzz::{self, ADAPTER_URL, OPERATIONS, TOKENS};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata};

/// Written into every secret-marked field of a JSON body.
const MARKER: &str = "SeededSecret-k3Vq9ZtW8xLr2Mf";
/// What counts as a leak: the marker's start, so that a body cut inside it still counts.
const NEEDLE: &str = "SeededSecret-k3V";

/// Statuses the API documents, for status bytes that are not an HTTP status.
const STATUSES: [u16; 20] = [
    200, 201, 204, 400, 401, 403, 404, 405, 406, 409, 410, 413, 415, 422, 425, 429, 500, 502, 503,
    504,
];

/// The secret-marked field of an operation's responses: the object key, and the value to
/// write there so that it carries the marker.
fn secret_field(operation: &str) -> Option<(&'static str, String)> {
    match operation {
        "create_sfu_app" => Some(("secret", MARKER.to_owned())),
        "create_turn_key" => Some(("key", MARKER.to_owned())),
        "generate_ice_servers" | "generate_turn_credentials" => {
            Some(("credential", MARKER.to_owned()))
        }
        // An adapter URL's credentials: the user info and the query.
        "create_websocket_adapters" => Some((
            "endpoint",
            format!("wss://bot:{MARKER}@adapter.example/ws?token={MARKER}"),
        )),
        _ => None,
    }
}

/// Sets every `key` of every object in `json` to `value`; returns whether any was set.
fn seed(json: &mut Value, key: &str, value: &str) -> bool {
    match json {
        Value::Object(map) => {
            let mut seeded = false;
            for (k, v) in map.iter_mut() {
                if k == key {
                    *v = Value::String(value.to_owned());
                    seeded = true;
                } else {
                    seeded |= seed(v, key, value);
                }
            }
            seeded
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |seeded, v| seed(v, key, value) | seeded),
        _ => false,
    }
}

thread_local! {
    /// Everything the subscriber saw during the current input.
    static LOG: RefCell<String> = const { RefCell::new(String::new()) };
}

/// A minimal subscriber: every span and event, at every level, with all its fields, into
/// [`LOG`].
struct Capture {
    next_id: AtomicU64,
}

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

fn log(write: impl FnOnce(&mut String)) {
    LOG.with(|log| {
        if let Ok(mut log) = log.try_borrow_mut() {
            write(&mut log);
        }
    });
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        log(|out| {
            out.push_str(span.metadata().name());
            span.record(&mut Fields(out));
            out.push('\n');
        });
        Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, _: &Id, values: &Record<'_>) {
        log(|out| {
            values.record(&mut Fields(out));
            out.push('\n');
        });
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        log(|out| {
            out.push_str(event.metadata().target());
            event.record(&mut Fields(out));
            out.push('\n');
        });
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != b' ').unwrap_or(bytes.len());
    &bytes[start..]
}

fuzz_target!(
    init: {
        assert!(MARKER.starts_with(NEEDLE));
        tracing::subscriber::set_global_default(Capture { next_id: AtomicU64::new(0) })
            .expect("the only subscriber");
    },
    |data: &[u8]| {
        let [op, flags, status_hi, status_lo, rest @ ..] = data else {
            return;
        };
        let operation = usize::from(*op) % OPERATIONS.len();
        let name = OPERATIONS[operation];
        let raw_status = u16::from_be_bytes([*status_hi, *status_lo]);
        let status = if (100..=999).contains(&raw_status) {
            raw_status
        } else {
            STATUSES[usize::from(raw_status) % STATUSES.len()]
        };
        let (head, body) = match rest.windows(2).position(|w| w == b"\n\n") {
            Some(end) => (&rest[..end], &rest[end + 2..]),
            None => (&[][..], rest),
        };
        let headers: Vec<(&[u8], &[u8])> = head
            .split(|b| *b == b'\n')
            .filter_map(|line| {
                let colon = line.iter().position(|b| *b == b':')?;
                Some((&line[..colon], trim(&line[colon + 1..])))
            })
            .collect();

        let mut body = body.to_vec();
        let mut seeded = false;
        if flags & 1 == 0
            && let Some((key, value)) = secret_field(name)
            && let Ok(mut json) = serde_json::from_slice::<Value>(&body)
            && seed(&mut json, key, &value)
        {
            seeded = true;
            body = serde_json::to_vec(&json).expect("a Value serializes");
            let cut = usize::from(flags >> 1);
            if cut > 0 {
                body.truncate(body.len() * cut / 128);
            }
        }

        LOG.with(|log| log.borrow_mut().clear());
        let Some(result) = __fuzz::call(operation, status, &headers, &body) else {
            return;
        };
        let shown = match &result {
            Ok(debug) => debug.clone(),
            Err(err) => {
                if let Some(reported) = err.status() {
                    assert_eq!(reported, status, "{name}: {err:?}");
                }
                // What an application does with an error: print it, with its sources, and
                // log it.
                tracing::error!(error = %err, debug = ?err, "call failed");
                let mut shown = format!("{err}\n{err:?}");
                let mut source = std::error::Error::source(err);
                while let Some(e) = source {
                    let _ = write!(shown, "\n{e}\n{e:?}");
                    source = e.source();
                }
                shown
            }
        };
        let logs = LOG.with(|log| log.borrow().clone());
        assert!(logs.contains("status="), "{name}: the capture works:\n{logs}");

        let adapter_token = ADAPTER_URL.rsplit_once('=').map_or(ADAPTER_URL, |(_, t)| t);
        let mut secrets = TOKENS.to_vec();
        secrets.push(adapter_token);
        if seeded {
            secrets.push(NEEDLE);
        }
        for secret in secrets {
            // A value the input itself carries may show anywhere. (Looked for only on a hit:
            // comparing the input with the secrets on every run would teach them to the
            // fuzzer, whose inputs would then escape the check.)
            let leaked = |text: &str| text.contains(secret) && !contains(data, secret);
            assert!(
                !leaked(&shown),
                "{name}: HTTP {status}: {secret} shown:\n{shown}"
            );
            assert!(
                !leaked(&logs),
                "{name}: HTTP {status}: {secret} logged:\n{logs}"
            );
        }
    }
);
