//! `client.turn()` against the scripted server: credentials on the TURN API, TTL checks,
//! port-53 filtering and the browser JSON shape.

use crate::support::mock;

use std::time::Duration;

use cloudflare_calls::turn::{IceServers, MAX_TURN_TTL};
use cloudflare_calls::{Client, Config, Error, ErrorCode, RetryPolicy};
use mock::{MockServer, Reply};
use serde_json::json;

async fn setup() -> (MockServer, Client) {
    let mock = MockServer::start().await;
    let config = Config::new(&mock.url, "app-1", "app-secret")
        .turn_key("key-1", "turn-token")
        .retry_policy(RetryPolicy::none());
    (mock, Client::new(config).unwrap())
}

/// What the service answers to generate-ice-servers (its documented shape).
fn ice_servers_body() -> serde_json::Value {
    json!({"iceServers": [
        {"urls": ["stun:stun.cloudflare.com:3478", "stun:stun.cloudflare.com:53"]},
        {"urls": [
            "turn:turn.cloudflare.com:3478?transport=udp",
            "turn:turn.cloudflare.com:53?transport=udp",
            "turn:turn.cloudflare.com:3478?transport=tcp",
            "turn:turn.cloudflare.com:80?transport=tcp",
            "turns:turn.cloudflare.com:5349?transport=tcp",
            "turns:turn.cloudflare.com:443?transport=tcp"
         ],
         "username": "bc91b63e2b5d759f8eb9f3b58062439e0a0e15893d76317d833265ad08d6631099ce7c7087caabb31ad3e1c386424e3e",
         "credential": "ebd71f1d3edbc2b0edae3cd5a6d82284aeb5c3b8fdaa9b8e3bf9cec683e0d45fe9f5b44e5145db3300f06c250a15b4a0"}
    ]})
}

#[tokio::test]
async fn ice_servers_request_and_browser_json() {
    let (mock, client) = setup().await;
    mock.json(201, ice_servers_body());
    let servers = client
        .turn()
        .generate_ice_servers(Duration::from_secs(86_400))
        .send()
        .await
        .unwrap();

    let requests = mock.requests();
    assert_eq!(
        requests[0].header("authorization"),
        Some("Bearer turn-token")
    );
    insta::assert_json_snapshot!("generate_ice_servers_request", requests);

    // Nothing is dropped unless asked for, and the JSON is what RTCConfiguration takes.
    assert_eq!(
        serde_json::to_value(&servers).unwrap(),
        ice_servers_body()["iceServers"]
    );
    let stun = serde_json::to_string(&servers[0]).unwrap();
    assert_eq!(
        stun,
        r#"{"urls":["stun:stun.cloudflare.com:3478","stun:stun.cloudflare.com:53"]}"#
    );
    let debug = format!("{servers:?}");
    assert!(!debug.contains("ebd71f1d3edbc2b0"), "{debug}");
}

#[tokio::test]
async fn drop_port_53_removes_urls_and_empty_entries() {
    let (mock, client) = setup().await;
    let mut body = ice_servers_body();
    body["iceServers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"urls": ["turns:turn.cloudflare.com:53?transport=tcp", "stun:[2606:4700::1]:53"], "username": "u", "credential": "c"}));
    mock.json(201, body);
    let servers = client
        .turn()
        .generate_ice_servers(Duration::from_secs(600))
        .drop_port_53(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&servers).unwrap(),
        json!([
            {"urls": ["stun:stun.cloudflare.com:3478"]},
            {"urls": [
                "turn:turn.cloudflare.com:3478?transport=udp",
                "turn:turn.cloudflare.com:3478?transport=tcp",
                "turn:turn.cloudflare.com:80?transport=tcp",
                "turns:turn.cloudflare.com:5349?transport=tcp",
                "turns:turn.cloudflare.com:443?transport=tcp"
             ],
             "username": ice_servers_body()["iceServers"][1]["username"],
             "credential": ice_servers_body()["iceServers"][1]["credential"]}
        ])
    );
}

#[tokio::test]
async fn ttl_out_of_range_fails_before_sending() {
    let (mock, client) = setup().await;
    let turn = client.turn();
    for ttl in [
        Duration::ZERO,
        Duration::from_millis(999),
        MAX_TURN_TTL + Duration::from_secs(1),
        MAX_TURN_TTL + Duration::from_nanos(1),
        Duration::from_secs(49 * 3600),
    ] {
        let err = turn.generate_ice_servers(ttl).send().await.unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{ttl:?}: {err:?}");
        let err = turn.generate_credentials(ttl).await.unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{ttl:?}: {err:?}");
    }
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn ttl_bounds_are_inclusive() {
    let (mock, client) = setup().await;
    mock.json(201, ice_servers_body());
    mock.json(201, ice_servers_body());
    let turn = client.turn();
    turn.generate_ice_servers(Duration::from_secs(1))
        .send()
        .await
        .unwrap();
    turn.generate_ice_servers(MAX_TURN_TTL)
        .send()
        .await
        .unwrap();
    let ttls: Vec<_> = mock
        .requests()
        .iter()
        .map(|r| r.body["ttl"].clone())
        .collect();
    assert_eq!(ttls, [json!(1), json!(172_800)]);
}

#[tokio::test]
async fn generate_older_form_and_revoke() {
    let (mock, client) = setup().await;
    mock.json(
        201,
        json!({"iceServers": {
            "urls": ["turn:turn.cloudflare.com:3478?transport=udp", "turns:turn.cloudflare.com:443?transport=tcp"],
            "username": "user-1",
            "credential": "cred-value-1"
        }}),
    );
    mock.reply(Reply::Raw(204, vec![], String::new()));

    let creds = client
        .turn()
        .generate_credentials(Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(creds.username, "user-1");
    assert_eq!(creds.credential.expose(), "cred-value-1");
    assert_eq!(creds.urls.len(), 2);
    assert!(!format!("{creds:?}").contains("cred-value-1"));

    client.turn().revoke(&creds.username).await.unwrap();

    let requests = mock.requests();
    for r in &requests {
        assert_eq!(r.header("authorization"), Some("Bearer turn-token"));
    }
    insta::assert_json_snapshot!("generate_and_revoke_requests", requests);
}

#[tokio::test]
async fn turn_errors_become_api_errors() {
    let (mock, client) = setup().await;
    mock.json(401, json!({"error": "invalid key token"}));
    mock.json(
        404,
        json!({"errorCode": "not_found", "errorDescription": "no such credentials"}),
    );
    let err = client
        .turn()
        .generate_ice_servers(Duration::from_secs(60))
        .send()
        .await
        .unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.status, 401);
    assert_eq!(api.description.as_deref(), Some("invalid key token"));

    let err = client.turn().revoke("user-1").await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.code(), Some(&ErrorCode::NotFound));
}

#[tokio::test]
async fn revoke_rejects_an_empty_username_and_escapes_others() {
    let (mock, client) = setup().await;
    let err = client.turn().revoke("").await.unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    assert!(mock.requests().is_empty());

    mock.reply(Reply::Raw(204, vec![], String::new()));
    client.turn().revoke("a/b c").await.unwrap();
    assert_eq!(
        mock.requests()[0].path,
        "/turn/keys/key-1/credentials/a%2Fb%20c/revoke"
    );
}

#[tokio::test]
async fn without_a_turn_key_nothing_is_sent() {
    let mock = MockServer::start().await;
    let client = Client::new(Config::new(&mock.url, "app-1", "app-secret")).unwrap();
    let err = client
        .turn()
        .generate_ice_servers(Duration::from_secs(60))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(mock.requests().is_empty());
}

#[test]
fn ice_servers_deserialize_and_round_trip() {
    let servers: IceServers =
        serde_json::from_value(ice_servers_body()["iceServers"].clone()).unwrap();
    assert_eq!(servers.len(), 2);
    assert_eq!(servers[0].username, None);
    assert_eq!(
        servers[1].credential.as_ref().map(|c| c.expose().len()),
        Some(96)
    );
    assert_eq!(
        serde_json::to_value(&servers).unwrap(),
        ice_servers_body()["iceServers"]
    );
}
