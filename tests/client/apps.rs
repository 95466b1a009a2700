//! `client.apps()` against the scripted server: exact requests, decoding, errors.

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

fn app(uid: &str, name: &str) -> serde_json::Value {
    json!({"uid": uid, "name": name, "created": "2026-11-01T10:00:00Z", "modified": "2026-11-02T10:00:00Z"})
}

#[tokio::test]
async fn crud_sends_exact_requests_and_decodes_results() {
    let (mock, client) = setup().await;
    mock.json(
        200,
        envelope(json!([app("a1", "prod"), app("a2", "staging")])),
    );
    mock.json(201, {
        let mut created = app("a3", "test");
        created["secret"] = json!("s3cr3t-value");
        envelope(created)
    });
    mock.json(200, envelope(app("a3", "test")));
    mock.json(200, envelope(app("a3", "renamed")));
    mock.json(200, envelope(json!(null)));

    let apps = client.apps().list().await.unwrap();
    assert_eq!(
        apps.iter().map(|a| a.uid.as_str()).collect::<Vec<_>>(),
        ["a1", "a2"]
    );
    assert_eq!(apps[1].name.as_deref(), Some("staging"));
    assert_eq!(apps[0].created.as_deref(), Some("2026-11-01T10:00:00Z"));

    let created = client.apps().create().name("test").send().await.unwrap();
    assert_eq!(created.app.uid, "a3");
    assert_eq!(created.secret.expose(), "s3cr3t-value");
    let debug = format!("{created:?} {:?}", created.secret);
    assert!(!debug.contains("s3cr3t-value"), "{debug}");
    assert!(debug.contains("a3"), "{debug}");

    let got = client.apps().get("a3").await.unwrap();
    assert_eq!(got, created.app);
    let renamed = client
        .apps()
        .update("a3")
        .name("renamed")
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.name.as_deref(), Some("renamed"));
    client.apps().delete("a3").await.unwrap();

    let requests = mock.requests();
    for r in &requests {
        assert_eq!(r.header("authorization"), Some("Bearer account-token"));
    }
    insta::assert_json_snapshot!("apps_crud_requests", requests);
}

#[tokio::test]
async fn created_app_serializes_in_the_wire_shape() {
    let (mock, client) = setup().await;
    mock.json(
        200,
        envelope(json!({"uid": "a9", "name": "n", "secret": "top-secret"})),
    );
    let created = client.apps().create().name("n").send().await.unwrap();
    let value = serde_json::to_value(&created).unwrap();
    assert_eq!(
        value,
        json!({"uid": "a9", "name": "n", "secret": "top-secret"})
    );
    let back: cloudflare_calls::apps::CreateAppOutput = serde_json::from_value(value).unwrap();
    assert_eq!(back, created);
}

#[tokio::test]
async fn list_with_null_result_is_empty() {
    let (mock, client) = setup().await;
    mock.json(200, envelope(json!(null)));
    assert!(client.apps().list().await.unwrap().is_empty());
}

#[tokio::test]
async fn envelope_with_success_false_and_http_200_is_an_api_error() {
    let (mock, client) = setup().await;
    mock.json(
        200,
        json!({"success": false, "errors": [{"code": 10000, "message": "Authentication error"}], "messages": [], "result": null}),
    );
    let err = client.apps().list().await.unwrap_err();
    let api = err.api().expect("an API error");
    assert_eq!(api.operation, "list_sfu_apps");
    assert_eq!(api.status, 200);
    assert_eq!(api.errors[0].code, 10000);
    assert_eq!(api.errors[0].message, "Authentication error");
}

#[tokio::test]
async fn error_status_carries_the_envelope_errors() {
    let (mock, client) = setup().await;
    mock.json(
        404,
        json!({"success": false, "errors": [{"code": 7003, "message": "Could not route"}], "messages": [], "result": null}),
    );
    let err = client.apps().get("missing").await.unwrap_err();
    let api = err.api().expect("an API error");
    assert_eq!((api.operation, api.status), ("get_sfu_app", 404));
    assert_eq!(api.errors[0].code, 7003);
}

#[tokio::test]
async fn create_failure_does_not_leak_anything_secret() {
    let (mock, client) = setup().await;
    mock.json(
        400,
        json!({"success": false, "errors": [{"code": 1001, "message": "name too long"}]}),
    );
    let err = client
        .apps()
        .create()
        .name("x".repeat(300))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(!format!("{err:?} {err}").contains("account-token"));
}

#[tokio::test]
async fn success_without_result_is_a_decode_error() {
    let (mock, client) = setup().await;
    mock.json(200, envelope(json!(null)));
    let err = client.apps().get("a1").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Decode {
                operation: "get_sfu_app",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn empty_ids_are_rejected_before_sending() {
    let (mock, client) = setup().await;
    for err in [
        client.apps().get("").await.unwrap_err(),
        client
            .apps()
            .update(" ")
            .name("n")
            .send()
            .await
            .unwrap_err(),
        client.apps().delete("").await.unwrap_err(),
    ] {
        assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    }
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn without_account_credentials_nothing_is_sent() {
    let mock = MockServer::start().await;
    let client = Client::new(Config::new(&mock.url, "app-1", "app-secret")).unwrap();
    let err = client.apps().list().await.unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn create_and_update_without_a_name_send_an_empty_body() {
    let (mock, client) = setup().await;
    mock.json(
        201,
        envelope(json!({"uid": "a4", "name": "", "secret": "s"})),
    );
    mock.json(200, envelope(app("a4", "")));
    let created = client.apps().create().send().await.unwrap();
    assert_eq!(created.app.name.as_deref(), Some(""));
    let unchanged = client.apps().update("a4").send().await.unwrap();
    assert_eq!(unchanged.uid, "a4");

    let requests = mock.requests();
    assert_eq!(
        (requests[0].method.as_str(), &requests[0].body),
        ("POST", &json!({}))
    );
    assert_eq!(
        (requests[1].method.as_str(), &requests[1].body),
        ("PUT", &json!({}))
    );
}

/// Handlers are used from spawned tasks, so their futures must be `Send`.
#[test]
fn account_futures_are_send() {
    fn send<T: Send>(_: T) {}
    let client = Client::new(Config::new("http://127.0.0.1:9", "app", "secret")).unwrap();
    let apps = client.apps();
    send(apps.list());
    send(apps.create().name("n").send());
    send(apps.get("a"));
    send(apps.update("a").send());
    send(apps.delete("a"));
}
