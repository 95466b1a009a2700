use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{Api, assert_error};

const NEW: &str = "/adapters/websocket/new";
const CLOSE: &str = "/adapters/websocket/close";

#[tokio::test]
async fn item_count_and_fields_are_validated_with_406() {
    let api = Api::start().await;
    let (s, v) = api
        .sfu(Method::POST, NEW, Some(json!({"tracks": []})))
        .await;
    assert_error(s, &v, 406, "invalid_params");
    let item = json!({"location": "local", "trackName": "t", "endpoint": "wss://example.com/x", "inputCodec": "pcm"});
    let (s, v) = api
        .sfu(
            Method::POST,
            NEW,
            Some(json!({"tracks": vec![item.clone(); 5]})),
        )
        .await;
    assert_error(s, &v, 406, "invalid_params");
    let bad = json!({"location": "local", "trackName": "t", "endpoint": "https://example.com/x", "inputCodec": "pcm"});
    let (s, v) = api
        .sfu(Method::POST, NEW, Some(json!({"tracks": [bad]})))
        .await;
    assert_error(s, &v, 406, "invalid_params");
    let remote = json!({"location": "remote", "trackName": "t", "endpoint": "wss://example.com/x"});
    let (s, v) = api
        .sfu(Method::POST, NEW, Some(json!({"tracks": [remote]})))
        .await;
    assert_error(s, &v, 406, "invalid_params");
}

#[tokio::test]
async fn localhost_and_failed_handshakes_are_item_errors_and_all_failed_is_503() {
    let api = Api::start().await;
    let local = json!({"location": "local", "trackName": "a", "endpoint": "ws://localhost:9000/", "inputCodec": "pcm"});
    let broken = json!({"location": "local", "trackName": "b", "endpoint": "wss://down.invalid/", "inputCodec": "pcm"});
    let (s, v) = api
        .sfu(
            Method::POST,
            NEW,
            Some(json!({"tracks": [local, broken.clone()]})),
        )
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(
        v["tracks"][0]["errorCode"],
        "websocket_localhost_not_allowed"
    );
    assert_eq!(v["tracks"][1]["errorCode"], "websocket_handshake_failed");

    let good = json!({"location": "local", "trackName": "tts", "endpoint": "wss://example.com/in", "inputCodec": "pcm"});
    let (s, v) = api
        .sfu(Method::POST, NEW, Some(json!({"tracks": [good, broken]})))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let adapter = v["tracks"][0]["adapterId"].as_str().unwrap().to_string();
    let sid = v["tracks"][0]["sessionId"].as_str().unwrap().to_string();
    assert_eq!(v["tracks"][1]["errorCode"], "websocket_handshake_failed");

    // The ingest session publishes the track: it can be pulled and streamed out.
    let (_, st) = api
        .sfu(Method::GET, &format!("/sessions/{sid}"), None)
        .await;
    assert_eq!(st["tracks"][0]["trackName"], "tts");
    let out = json!({"location": "remote", "sessionId": sid, "trackName": "tts", "endpoint": "wss://example.com/out", "outputCodec": "pcm"});
    let (s, v) = api
        .sfu(Method::POST, NEW, Some(json!({"tracks": [out]})))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["tracks"][0]["adapterId"].is_string());

    let close = json!({"tracks": [{"adapterId": adapter}, {"adapterId": "missing"}]});
    let (s, v) = api.sfu(Method::POST, CLOSE, Some(close.clone())).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["tracks"][0]["bytesProcessed"].is_number());
    assert_eq!(v["tracks"][1]["errorCode"], "adapter_not_found");
    let (_, v) = api.sfu(Method::POST, CLOSE, Some(close)).await;
    assert!(
        v["tracks"][0].get("errorCode").is_none(),
        "closing twice is fine: {v}"
    );
    assert!(v["tracks"][0].get("bytesProcessed").is_none());
}
