//! `client.adapters()` against the scripted server: exact requests, partial and total
//! failure, request errors, and batches rejected before sending.

use crate::support::mock;

use cloudflare_calls::adapters::{AdapterItem, AdapterOutputCodec};
use cloudflare_calls::{Client, Config, Error, ErrorCode, RetryPolicy};
use mock::MockServer;
use serde_json::json;

const PUBLISHER: &str = "2a45361d5fd7cc14eface0587c276c94";

async fn setup() -> (MockServer, Client) {
    let mock = MockServer::start().await;
    let config = Config::new(&mock.url, "app-1", "app-secret").retry_policy(RetryPolicy::none());
    (mock, Client::new(config).unwrap())
}

fn three_items() -> Vec<AdapterItem> {
    vec![
        AdapterItem::ingest("tts", "wss://bot.example.com/tts"),
        AdapterItem::stream(
            PUBLISHER,
            "mic",
            "wss://asr.example.com/in",
            AdapterOutputCodec::Pcm,
        ),
        AdapterItem::stream(
            PUBLISHER,
            "camera",
            "ws://vision.example.com/frames",
            AdapterOutputCodec::Jpeg,
        ),
    ]
}

#[tokio::test]
async fn create_sends_the_batch_and_splits_a_partial_success_in_order() {
    let (mock, client) = setup().await;
    mock.json(
        200,
        json!({"tracks": [
            {"trackName": "tts", "adapterId": "ad-1", "sessionId": "new-session", "endpoint": "wss://bot.example.com/tts"},
            {"trackName": "mic", "errorCode": "websocket_handshake_failed", "errorDescription": "handshake failed"},
            {"trackName": "camera", "adapterId": "ad-3", "endpoint": "ws://vision.example.com/frames"}
        ]}),
    );
    let result = client
        .adapters()
        .create()
        .items(three_items())
        .send()
        .await
        .unwrap();

    let ids: Vec<_> = result
        .adapters
        .iter()
        .map(|a| a.adapter_id.as_str())
        .collect();
    assert_eq!(ids, ["ad-1", "ad-3"]);
    assert_eq!(
        result.adapters[0].session_id.as_deref(),
        Some("new-session")
    );
    assert_eq!(result.adapters[1].session_id, None);
    assert_eq!(result.adapters[1].track_name.as_deref(), Some("camera"));
    assert_eq!(result.failed.len(), 1);
    assert_eq!(result.failed[0].track_name.as_deref(), Some("mic"));
    assert_eq!(result.failed[0].code, ErrorCode::WebsocketHandshakeFailed);
    assert_eq!(
        result.failed[0].description.as_deref(),
        Some("handshake failed")
    );

    let requests = mock.requests();
    assert_eq!(
        requests[0].header("authorization"),
        Some("Bearer app-secret")
    );
    insta::assert_json_snapshot!("create_adapters_request", requests);
}

#[tokio::test]
async fn create_503_listing_items_returns_every_item_as_failed() {
    let (mock, client) = setup().await;
    mock.json(
        503,
        json!({"tracks": [
            {"trackName": "tts", "errorCode": "websocket_connection_timeout", "errorDescription": "timed out"},
            {"trackName": "mic", "errorCode": "websocket_localhost_not_allowed"},
            {"trackName": "camera", "errorCode": "some_future_code"}
        ]}),
    );
    let result = client
        .adapters()
        .create()
        .items(three_items())
        .send()
        .await
        .unwrap();
    assert!(result.adapters.is_empty());
    let failed: Vec<_> = result
        .failed
        .iter()
        .map(|f| (f.track_name.as_deref().unwrap(), f.code.clone()))
        .collect();
    assert_eq!(
        failed,
        [
            ("tts", ErrorCode::WebsocketConnectionTimeout),
            ("mic", ErrorCode::WebsocketLocalhostNotAllowed),
            ("camera", ErrorCode::Unknown("some_future_code".into())),
        ]
    );
    assert_eq!(result.failed[0].description.as_deref(), Some("timed out"));
    // A total failure of a creation is not re-sent.
    assert_eq!(mock.requests().len(), 1);
}

#[tokio::test]
async fn create_503_without_items_is_an_api_error() {
    let (mock, client) = setup().await;
    mock.json(503, json!({"errorCode": "temporarily_unavailable_error"}));
    let err = client
        .adapters()
        .create()
        .item(AdapterItem::ingest("tts", "wss://bot.example.com/tts"))
        .send()
        .await
        .unwrap_err();
    let api = err.api().expect("an API error");
    assert_eq!(
        (api.operation, api.status),
        ("create_websocket_adapters", 503)
    );
    assert_eq!(api.code, Some(ErrorCode::TemporarilyUnavailableError));
}

#[tokio::test]
async fn create_request_errors_with_any_status() {
    let (mock, client) = setup().await;
    mock.json(
        406,
        json!({"errorCode": "invalid_params", "errorDescription": "Expecting at most 4 track in the request"}),
    );
    mock.json(
        200,
        json!({"errorCode": "internal_error", "errorDescription": "boom"}),
    );
    for status in [406, 200] {
        let err = client
            .adapters()
            .create()
            .item(AdapterItem::ingest("tts", "wss://bot.example.com/tts"))
            .send()
            .await
            .unwrap_err();
        let api = err.api().expect("an API error");
        assert_eq!(api.status, status);
        assert!(api.code.is_some(), "{api:?}");
    }
}

#[tokio::test]
async fn item_without_id_or_error_is_a_failure() {
    let (mock, client) = setup().await;
    mock.json(200, json!({"tracks": [{"trackName": "tts"}]}));
    let result = client
        .adapters()
        .create()
        .item(AdapterItem::ingest("tts", "wss://bot.example.com/tts"))
        .send()
        .await
        .unwrap();
    assert!(result.adapters.is_empty());
    assert_eq!(result.failed[0].code, ErrorCode::Unknown(String::new()));
}

#[tokio::test]
async fn bad_batches_fail_before_sending() {
    let (mock, client) = setup().await;
    let ingest = |name: &str, url: &str| AdapterItem::ingest(name, url);
    let ok = || ingest("tts", "wss://bot.example.com/tts");
    let batches: Vec<Vec<AdapterItem>> = vec![
        vec![],
        vec![ok(), ok(), ok(), ok(), ok()],
        vec![ingest("", "wss://bot.example.com/tts")],
        vec![ingest("  ", "wss://bot.example.com/tts")],
        vec![ok(), ingest("tts", "")],
        vec![ingest("tts", "https://bot.example.com/tts")],
        vec![ingest("tts", "bot.example.com/tts")],
        vec![ingest("tts", "wss://")],
        vec![ingest("tts", "ws:///path")],
        vec![AdapterItem::stream(
            "",
            "mic",
            "wss://asr.example.com/in",
            AdapterOutputCodec::Pcm,
        )],
    ];
    for batch in batches {
        let described = format!("{batch:?}");
        let err = client
            .adapters()
            .create()
            .items(batch)
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument(_)),
            "{described}: {err:?}"
        );
    }
    // Four is allowed, and the scheme is case-insensitive.
    mock.json(200, json!({"tracks": []}));
    client
        .adapters()
        .create()
        .items([ok(), ok(), ok(), ingest("tts", "WSS://bot.example.com/tts")])
        .send()
        .await
        .unwrap();
    assert_eq!(mock.requests().len(), 1);
}

#[tokio::test]
async fn a_rejected_url_is_not_quoted_in_the_error() {
    let (mock, client) = setup().await;
    let err = client
        .adapters()
        .create()
        .item(AdapterItem::ingest(
            "tts",
            "https://bot.example.com/?token=abc123",
        ))
        .send()
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(text.contains("adapter #1"), "{text}");
    assert!(!text.contains("abc123"), "{text}");
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn url_tokens_stay_out_of_debug_output_but_are_sent_whole() {
    let (mock, client) = setup().await;
    let url = "wss://bot.example.com/tts?token=t0ps3cret";
    mock.json(
        200,
        json!({"tracks": [
            {"trackName": "tts", "adapterId": "ad-1", "endpoint": url},
            {"trackName": "mic", "endpoint": url, "errorCode": "websocket_handshake_failed"}
        ]}),
    );
    let items = vec![
        AdapterItem::ingest("tts", url),
        AdapterItem::stream(PUBLISHER, "mic", url, AdapterOutputCodec::Pcm),
    ];
    let printed_items = format!("{items:?}");
    let result = client
        .adapters()
        .create()
        .items(items)
        .send()
        .await
        .unwrap();

    let printed = format!("{printed_items} {result:?}");
    assert!(!printed.contains("t0ps3cret"), "{printed}");
    assert!(
        printed.contains("wss://bot.example.com/tts?[REDACTED]"),
        "{printed}"
    );
    let echoed = result.adapters[0].url.as_ref().map(|e| e.as_str());
    assert_eq!(echoed, Some(url));
    let failed = result.failed[0].url.as_ref().map(|e| e.as_str());
    assert_eq!(failed, Some(url));
    let sent = &mock.requests()[0].body;
    assert_eq!(sent["tracks"][0]["endpoint"], url);
}

#[tokio::test]
async fn close_reports_bytes_and_failures_in_order() {
    let (mock, client) = setup().await;
    mock.json(
        200,
        json!({"tracks": [
            {"adapterId": "ad-1", "bytesProcessed": 83492},
            {"adapterId": "ad-2"},
            {"adapterId": "ad-3", "errorCode": "internal_error", "errorDescription": "Backend error"}
        ]}),
    );
    let result = client
        .adapters()
        .close(["ad-1", "ad-2", "ad-3"])
        .await
        .unwrap();
    assert_eq!(result.closed.len(), 2);
    assert_eq!(
        (
            result.closed[0].adapter_id.as_str(),
            result.closed[0].bytes_processed
        ),
        ("ad-1", Some(83_492))
    );
    assert_eq!(
        (
            result.closed[1].adapter_id.as_str(),
            result.closed[1].bytes_processed
        ),
        ("ad-2", None)
    );
    assert_eq!(result.failed[0].adapter_id.as_deref(), Some("ad-3"));
    assert_eq!(result.failed[0].code, ErrorCode::InternalError);

    let requests = mock.requests();
    assert_eq!(
        requests[0].header("authorization"),
        Some("Bearer app-secret")
    );
    insta::assert_json_snapshot!("close_adapters_request", requests);
}

#[tokio::test]
async fn close_503_listing_items_returns_them_as_failed() {
    let (mock, client) = setup().await;
    mock.json(
        503,
        json!({"tracks": [
            {"adapterId": "ad-1", "errorCode": "adapter_not_found"},
            {"adapterId": "ad-2", "errorCode": "internal_error", "errorDescription": "Backend error"}
        ]}),
    );
    let result = client
        .adapters()
        .close(vec!["ad-1".to_owned(), "ad-2".to_owned()])
        .await
        .unwrap();
    assert!(result.closed.is_empty());
    let failed: Vec<_> = result
        .failed
        .iter()
        .map(|f| (f.adapter_id.as_deref().unwrap(), f.code.clone()))
        .collect();
    assert_eq!(
        failed,
        [
            ("ad-1", ErrorCode::AdapterNotFound),
            ("ad-2", ErrorCode::InternalError)
        ]
    );
}

#[tokio::test]
async fn close_errors_and_bad_arguments() {
    let (mock, client) = setup().await;
    let none: [&str; 0] = [];
    for err in [
        client.adapters().close(none).await.unwrap_err(),
        client
            .adapters()
            .close(["a", "b", "c", "d", "e"])
            .await
            .unwrap_err(),
        client.adapters().close(["a", ""]).await.unwrap_err(),
    ] {
        assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    }
    assert!(mock.requests().is_empty());

    mock.json(
        400,
        json!({"errorCode": "decoding_error", "errorDescription": "The request could not be decoded."}),
    );
    let err = client.adapters().close(["a"]).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.code(), Some(&ErrorCode::DecodingError));
}
