//! Every tracing event and span, at every level, while calls succeed, fail and retry: none of
//! them may carry a secret, and each call is in a span naming its operation and ids.

use crate::support::logs::capture;
use crate::support::mock;

use std::time::Duration;

use cloudflare_calls::{Answer, Client, Config, RetryPolicy};
use mock::MockServer;
use serde_json::json;

const SECRET: &str = "app-secret-that-must-not-leak";

#[tokio::test]
async fn logs_name_the_call_and_never_the_secret() {
    let captured = capture();

    let server = MockServer::start().await;
    server.json(503, json!({"errorCode": "retryable_transient_error"}));
    server.json(200, json!({"tracks": []}));
    server.json(401, json!({"errorCode": "unauthorized"}));
    let client = Client::new(
        Config::new(format!("{}/v1", server.url), "app-7", SECRET)
            .retry_policy(RetryPolicy::default().base_delay(Duration::from_millis(1))),
    )
    .unwrap();
    let session = client.session("sess-9");
    session.state().await.unwrap();
    let err = session.renegotiate(Answer::new("v=0")).await.unwrap_err();
    tracing::error!(error = %err, debug = ?err, ?client, "reported by the application");

    let logs = captured.text();
    assert!(!logs.contains(SECRET), "secret in logs:\n{logs}");
    assert!(logs.contains("operation=\"get_session_state\""), "{logs}");
    assert!(logs.contains("app_id=\"app-7\""), "{logs}");
    assert!(logs.contains("session_id=\"sess-9\""), "{logs}");
    assert!(logs.contains("retrying"), "the retry is logged:\n{logs}");
}
