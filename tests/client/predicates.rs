//! The error predicates, as the table of docs/errors.md states them. Each row is a failure made
//! for real (a closed port, a mock server that answers, drops the connection or answers late),
//! met by a create (`new_session`) and by a read (`get_session_state`).
//! `CALLS_UPDATE_DOCS=1` rewrites the table.

use std::fmt::Write as _;
use std::time::Duration;

use cloudflare_calls::{Client, Config, Error, RetryPolicy};
use serde_json::json;

use crate::support::mock::{MockServer, Reply};

/// How a row's failure is made.
enum Fault {
    /// Nothing listens: the request never leaves.
    Refused,
    /// The server answers this.
    Reply(fn() -> Reply),
}

const ROWS: &[(&str, Fault)] = &[
    ("connection refused (nothing sent)", Fault::Refused),
    (
        "connection lost after sending",
        Fault::Reply(|| Reply::Drop),
    ),
    (
        "timeout",
        Fault::Reply(|| {
            Reply::Delayed(
                Duration::from_secs(5),
                Box::new(Reply::Json(200, json!({}))),
            )
        }),
    ),
    (
        "425 `session_error`",
        Fault::Reply(|| Reply::Json(425, json!({"errorCode": "session_error"}))),
    ),
    ("429", Fault::Reply(|| Reply::Json(429, json!({})))),
    (
        "502 from a gateway",
        Fault::Reply(|| Reply::Raw(502, vec![], "<html>bad gateway</html>".into())),
    ),
    ("503", Fault::Reply(|| Reply::Json(503, json!({})))),
    (
        "503 `retryable_transient_error`",
        Fault::Reply(|| Reply::Json(503, json!({"errorCode": "retryable_transient_error"}))),
    ),
    (
        "504 from a gateway",
        Fault::Reply(|| Reply::Raw(504, vec![], "<html>timeout</html>".into())),
    ),
    (
        "406 `signaling_state_not_stable`",
        Fault::Reply(|| {
            Reply::Json(
                406,
                json!({"errorCode": "invalid_session_description", "errorSubcode": "signaling_state_not_stable"}),
            )
        }),
    ),
    (
        "406 `invalid_modification_have_local_offer`",
        Fault::Reply(|| {
            Reply::Json(
                406,
                json!({"errorCode": "invalid_session_description", "errorSubcode": "invalid_modification_have_local_offer"}),
            )
        }),
    ),
    (
        "410 `session_error`",
        Fault::Reply(|| Reply::Json(410, json!({"errorCode": "session_error"}))),
    ),
    (
        "401 `unauthorized`",
        Fault::Reply(|| Reply::Json(401, json!({"errorCode": "unauthorized"}))),
    ),
    (
        "500 `internal_error`",
        Fault::Reply(|| Reply::Json(500, json!({"errorCode": "internal_error"}))),
    ),
];

/// The error a create and a read meet under `fault`.
async fn errors(fault: &Fault) -> [Error; 2] {
    let mut server = None;
    let base = match fault {
        Fault::Refused => {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("http://{}/v1", listener.local_addr().unwrap());
            drop(listener);
            url
        }
        Fault::Reply(reply) => {
            let mock = server.insert(MockServer::start().await);
            mock.reply(reply()).reply(reply());
            format!("{}/v1", mock.url)
        }
    };
    let config = Config::new(base, "app", "secret")
        .retry_policy(RetryPolicy::none())
        // Far above what the mock takes to answer on loopback, far below the slow reply.
        .timeout(Duration::from_secs(1));
    let client = Client::new(config).unwrap();
    let create = client.new_session().send().await.unwrap_err();
    let read = client.session("s").state().await.unwrap_err();
    [create, read]
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

async fn table() -> String {
    let mut out = String::from(
        "| failure | `is_retryable` create / read | `is_outcome_unknown` create / read | `is_signaling_conflict` | `is_session_gone` | `is_not_ready` |\n|---|---|---|---|---|---|\n",
    );
    for (label, fault) in ROWS {
        let [create, read] = errors(fault).await;
        let _ = writeln!(
            out,
            "| {label} | {} / {} | {} / {} | {} | {} | {} |",
            yes(create.is_retryable()),
            yes(read.is_retryable()),
            yes(create.is_outcome_unknown()),
            yes(read.is_outcome_unknown()),
            yes(create.is_signaling_conflict()),
            yes(create.is_session_gone()),
            yes(create.is_not_ready()),
        );
    }
    out
}

#[tokio::test]
async fn the_docs_show_what_the_predicates_say() {
    let wanted = table().await;
    let (start, end) = ("<!-- predicates:start -->\n", "<!-- predicates:end -->");
    crate::support::docs::check_table("docs/errors.md", start, end, &wanted);
}
