//! `client.turn_keys()` against the scripted server: TURN keys on the account API.

use crate::support::mock;

use cloudflare_calls::{Client, Config, Error, RetryPolicy};
use mock::MockServer;
use serde_json::json;

async fn setup() -> (MockServer, Client) {
    let mock = MockServer::start().await;
    let config = Config::new(&mock.url, "app-1", "app-secret")
        .account("acct-1", "account-token")
        .account_api_url(&mock.url)
        .retry_policy(RetryPolicy::none());
    (mock, Client::new(config).unwrap())
}

fn envelope(result: serde_json::Value) -> serde_json::Value {
    json!({"success": true, "errors": [], "messages": [], "result": result})
}

#[tokio::test]
async fn key_crud_sends_exact_requests_and_hides_the_token() {
    let (mock, client) = setup().await;
    let key = |name: &str| json!({"uid": "k1", "name": name, "created": "2026-11-01T10:00:00Z", "modified": "2026-11-01T10:00:00Z"});
    mock.json(200, envelope(json!([key("web")])));
    mock.json(201, {
        let mut created = key("web");
        created["key"] = json!("turn-key-token-value");
        envelope(created)
    });
    mock.json(200, envelope(key("web")));
    mock.json(200, envelope(key("mobile")));
    mock.json(200, envelope(json!({"uid": "k1"})));

    let keys = client.turn_keys();
    let listed = keys.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].uid, "k1");

    let created = keys.create().name("web").send().await.unwrap();
    assert_eq!(created.turn_key, listed[0]);
    assert_eq!(created.key.expose(), "turn-key-token-value");
    let debug = format!("{created:?}");
    assert!(!debug.contains("turn-key-token-value"), "{debug}");
    assert_eq!(
        serde_json::to_value(&created).unwrap()["key"],
        "turn-key-token-value"
    );

    assert_eq!(keys.get("k1").await.unwrap().name.as_deref(), Some("web"));
    let renamed = keys.update("k1").name("mobile").send().await.unwrap();
    assert_eq!(renamed.name.as_deref(), Some("mobile"));
    keys.delete("k1").await.unwrap();

    let requests = mock.requests();
    for r in &requests {
        assert_eq!(r.header("authorization"), Some("Bearer account-token"));
    }
    insta::assert_json_snapshot!("turn_key_crud_requests", requests);
}

#[tokio::test]
async fn key_errors_with_http_200_and_error_status() {
    let (mock, client) = setup().await;
    mock.json(
        200,
        json!({"success": false, "errors": [{"code": 10001, "message": "quota"}], "messages": [], "result": null}),
    );
    mock.json(
        403,
        json!({"success": false, "errors": [{"code": 10000, "message": "Authentication error"}]}),
    );
    let err = client
        .turn_keys()
        .create()
        .name("web")
        .send()
        .await
        .unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(
        (api.operation, api.status, api.errors[0].code),
        ("create_turn_key", 200, 10001)
    );
    let err = client.turn_keys().delete("k1").await.unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(
        (api.operation, api.status, api.errors[0].code),
        ("delete_turn_key", 403, 10000)
    );
}

#[tokio::test]
async fn create_and_update_without_a_name_send_an_empty_body() {
    let (mock, client) = setup().await;
    mock.json(201, envelope(json!({"uid": "k2", "name": "", "key": "t"})));
    mock.json(200, envelope(json!({"uid": "k2", "name": ""})));
    let created = client.turn_keys().create().send().await.unwrap();
    assert_eq!(created.turn_key.name.as_deref(), Some(""));
    let unchanged = client.turn_keys().update("k2").send().await.unwrap();
    assert_eq!(unchanged.uid, "k2");
    let bodies: Vec<_> = mock.requests().into_iter().map(|r| r.body).collect();
    assert_eq!(bodies, [json!({}), json!({})]);
}

#[tokio::test]
async fn empty_ids_are_rejected_before_sending() {
    let (mock, client) = setup().await;
    let keys = client.turn_keys();
    for err in [
        keys.get("").await.unwrap_err(),
        keys.update("").name("n").send().await.unwrap_err(),
        keys.delete(" ").await.unwrap_err(),
    ] {
        assert!(
            matches!(&err, Error::InvalidArgument(m) if m.contains("TURN key id")),
            "{err:?}"
        );
    }
    assert!(mock.requests().is_empty());
}
