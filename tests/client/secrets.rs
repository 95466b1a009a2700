//! Responses that carry secrets (a new app's secret, a new TURN key, TURN credentials) and
//! fail to decode: the secret must not reach the error's Display or Debug, nor any tracing
//! event, while the error stays typed and keeps its status.

use crate::support::logs::{Capture, capture};
use crate::support::mock;

use std::time::Duration;

use cloudflare_calls::{Client, Config, Error, RetryPolicy};
use mock::{MockServer, Reply};
use serde_json::json;

const SECRET: &str = "KNOWN-SECRET-123";

async fn setup() -> (MockServer, Client) {
    let server = MockServer::start().await;
    let config = Config::new(format!("{}/v1", server.url), "app-1", "app-secret")
        .account("acct-1", "account-token")
        .account_api_url(format!("{}/client/v4", server.url))
        .turn_key("key-1", "turn-token")
        .retry_policy(RetryPolicy::none())
        .timeout(Duration::from_secs(5));
    let client = Client::new(config).unwrap();
    (server, client)
}

#[derive(Clone, Copy, Debug)]
enum Op {
    CreateApp,
    CreateTurnKey,
    GenerateIceServers,
    GenerateTurnCredentials,
}

const OPS: [Op; 4] = [
    Op::CreateApp,
    Op::CreateTurnKey,
    Op::GenerateIceServers,
    Op::GenerateTurnCredentials,
];

impl Op {
    async fn call(self, client: &Client) -> Error {
        let ttl = Duration::from_secs(600);
        match self {
            Op::CreateApp => client.apps().create().name("web").send().await.map(drop),
            Op::CreateTurnKey => client
                .turn_keys()
                .create()
                .name("web")
                .send()
                .await
                .map(drop),
            Op::GenerateIceServers => client
                .turn()
                .generate_ice_servers(ttl)
                .send()
                .await
                .map(drop),
            Op::GenerateTurnCredentials => client.turn().generate_credentials(ttl).await.map(drop),
        }
        .expect_err("the scripted body is not decodable")
    }

    /// A 200 body of the documented shape with the secret in place and one field of the
    /// wrong type beside it.
    fn wrong_type_beside_the_secret(self) -> serde_json::Value {
        let account =
            |result| json!({"success": true, "errors": [], "messages": [], "result": result});
        match self {
            Op::CreateApp => account(json!({"uid": 42, "name": "web", "secret": SECRET})),
            Op::CreateTurnKey => account(json!({"uid": 42, "name": "web", "key": SECRET})),
            Op::GenerateIceServers => json!({"iceServers": [
                {"urls": 53, "username": "u", "credential": SECRET}
            ]}),
            Op::GenerateTurnCredentials => json!({"iceServers":
                {"urls": 53, "username": "u", "credential": SECRET}
            }),
        }
    }

    /// A 200 body where the secret itself is the wrongly typed value, so serde's message
    /// would quote it.
    fn secret_as_the_wrong_type(self) -> serde_json::Value {
        match self {
            Op::CreateApp | Op::CreateTurnKey => {
                json!({"success": SECRET, "errors": [], "messages": [], "result": null})
            }
            Op::GenerateIceServers | Op::GenerateTurnCredentials => json!({"iceServers": SECRET}),
        }
    }

    /// A complete HTTP response whose JSON stops inside the secret.
    fn cut_json(self) -> String {
        let full = self.wrong_type_beside_the_secret().to_string();
        let end = full.find(SECRET).unwrap() + SECRET.len();
        full[..end].to_owned()
    }
}

fn html() -> String {
    format!("<html><body>upstream said: {{\"secret\": \"{SECRET}\"}}</body></html>")
}

/// Neither the error nor anything logged while making or reporting it shows the secret.
fn assert_hidden(op: Op, what: &str, err: &Error, logs: &Capture) {
    // What an application typically does with an error.
    tracing::error!(error = %err, debug = ?err, "call failed");
    let display = format!("{err}");
    let debug = format!("{err:?}");
    let logs = logs.text();
    assert!(
        !display.contains(SECRET),
        "{op:?} {what}: Display: {display}"
    );
    assert!(!debug.contains(SECRET), "{op:?} {what}: Debug: {debug}");
    assert!(!logs.contains(SECRET), "{op:?} {what}: logs:\n{logs}");
    assert!(
        logs.contains("call failed"),
        "{op:?} {what}: the capture works"
    );
}

#[tokio::test]
async fn undecodable_success_bodies_keep_the_secret_out() {
    let (server, client) = setup().await;
    for op in OPS {
        let cases = [
            (
                "wrong type beside the secret",
                Reply::Json(200, op.wrong_type_beside_the_secret()),
            ),
            (
                "secret as the wrong type",
                Reply::Json(200, op.secret_as_the_wrong_type()),
            ),
            (
                "JSON cut inside the secret",
                Reply::Raw(200, vec![], op.cut_json()),
            ),
            ("HTML page with a 200", Reply::Raw(200, vec![], html())),
        ];
        for (what, reply) in cases {
            let logs = capture();
            server.reply(reply);
            let err = op.call(&client).await;
            assert_hidden(op, what, &err, &logs);
            match &err {
                Error::Decode {
                    status,
                    body,
                    reason,
                    ..
                } => {
                    assert_eq!(*status, Some(200), "{op:?} {what}");
                    assert!(body.is_empty(), "{op:?} {what}: {body}");
                    assert!(reason.contains("withheld"), "{op:?} {what}: {reason}");
                    assert!(reason.contains("line 1 column"), "{op:?} {what}: {reason}");
                }
                other => panic!("{op:?} {what}: {other:?}"),
            }
        }
    }
}

#[tokio::test]
async fn error_pages_of_secret_carrying_operations_are_not_quoted() {
    let (server, client) = setup().await;
    for op in OPS {
        let logs = capture();
        server.reply(Reply::Raw(500, vec![], html()));
        let err = op.call(&client).await;
        assert_hidden(op, "HTML page with a 500", &err, &logs);
        assert_eq!(err.status(), Some(500), "{op:?}: {err:?}");
        assert!(
            matches!(err, Error::Api(_) | Error::Decode { .. }),
            "{op:?}: {err:?}"
        );
    }
}

#[tokio::test]
async fn a_connection_cut_inside_the_secret_keeps_it_out() {
    let (server, client) = setup().await;
    for op in OPS {
        let logs = capture();
        server.reply(Reply::Truncated(200, op.cut_json()));
        let err = op.call(&client).await;
        assert_hidden(op, "connection cut", &err, &logs);
        assert!(
            matches!(err, Error::Transport { .. } | Error::Decode { .. }),
            "{op:?}: {err:?}"
        );
    }
}

/// Other operations keep their body for diagnosis, but serde's quoted values still go.
#[tokio::test]
async fn other_operations_keep_the_body_but_not_quoted_values() {
    let (server, client) = setup().await;
    let quoted = "value-serde-would-quote";
    server.json(
        200,
        json!({"success": quoted, "errors": [], "messages": [], "result": null}),
    );
    match client.apps().get("a1").await.unwrap_err() {
        Error::Decode { reason, body, .. } => {
            assert!(!reason.contains(quoted), "{reason}");
            assert!(reason.contains("expected a boolean"), "{reason}");
            assert!(body.contains(quoted), "the body is kept: {body}");
        }
        other => panic!("{other:?}"),
    }

    let page = format!("<html>{}</html>", "bad gateway ".repeat(1000));
    server.reply(Reply::Raw(200, vec![], page));
    match client.session("s1").state().await.unwrap_err() {
        Error::Decode { body, status, .. } => {
            assert_eq!(status, Some(200));
            assert!(body.starts_with("<html>bad gateway"), "{body}");
            assert!(body.chars().count() < 3000, "the body is truncated");
        }
        other => panic!("{other:?}"),
    }
}
