use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::Api;

#[tokio::test]
async fn apps_crud_in_v4_envelope_and_new_app_works_on_sfu_api() {
    let api = Api::start().await;
    let (s, v) = api
        .account(Method::POST, "/apps", Some(json!({"name": "room"})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["success"], true);
    assert_eq!(v["errors"], json!([]));
    let app = v["result"].clone();
    let (uid, secret) = (
        app["uid"].as_str().unwrap(),
        app["secret"].as_str().unwrap(),
    );
    assert_eq!(app["name"], "room");
    assert!(app["created"].as_str().unwrap().ends_with('Z'));

    let url = format!("{}/apps/{uid}/sessions/new", api.emu.sfu_base_url());
    let (s, _, v) = api.raw(Method::POST, &url, Some(secret), None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    let (_, v) = api.account(Method::GET, "/apps", None).await;
    let list = v["result"].as_array().unwrap();
    assert_eq!(list.len(), 2, "default app plus the new one");
    assert!(
        list.iter().all(|a| a.get("secret").is_none()),
        "secrets only on create"
    );

    let (s, v) = api
        .account(
            Method::PUT,
            &format!("/apps/{uid}"),
            Some(json!({"name": "hall"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["result"]["name"], "hall");
    let (_, v) = api
        .account(Method::GET, &format!("/apps/{uid}"), None)
        .await;
    assert_eq!(v["result"]["name"], "hall");
    assert!(v["result"].get("secret").is_none());

    let (s, _) = api
        .account(Method::DELETE, &format!("/apps/{uid}"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = api
        .account(Method::GET, &format!("/apps/{uid}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(v["success"], false);
    assert!(v["errors"][0]["code"].is_number());
    let (s, _, _) = api.raw(Method::POST, &url, Some(secret), None).await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "a deleted app's secret stops working"
    );
}

#[tokio::test]
async fn turn_keys_crud_and_auth_failures() {
    let api = Api::start().await;
    let (s, v) = api
        .account(Method::POST, "/turn_keys", Some(json!({"name": "k"})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let uid = v["result"]["uid"].as_str().unwrap().to_string();
    assert!(v["result"]["key"].as_str().is_some_and(|k| !k.is_empty()));
    let (_, v) = api
        .account(Method::GET, &format!("/turn_keys/{uid}"), None)
        .await;
    assert!(v["result"].get("key").is_none());
    let (s, _) = api
        .account(
            Method::PUT,
            &format!("/turn_keys/{uid}"),
            Some(json!({"name": "k2"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = api
        .account(Method::DELETE, &format!("/turn_keys/{uid}"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = api
        .account(Method::DELETE, &format!("/turn_keys/{uid}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, v) = api
        .account(Method::POST, "/turn_keys", Some(json!({"name": 7})))
        .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "a name that is not a string: {v}"
    );
    let url = format!(
        "{}/accounts/{}/calls/apps",
        api.emu.account_base_url(),
        api.emu.account_id()
    );
    let (s, _, v) = api.raw(Method::GET, &url, Some("wrong"), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["success"], false);
    let url = format!("{}/accounts/other/calls/apps", api.emu.account_base_url());
    let (s, _, _) = api
        .raw(Method::GET, &url, Some(api.emu.api_token()), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn name_is_optional_on_create_and_update() {
    let api = Api::start().await;
    for collection in ["/apps", "/turn_keys"] {
        for body in [Some(json!({})), None] {
            let (s, v) = api.account(Method::POST, collection, body).await;
            assert_eq!(s, StatusCode::CREATED, "{collection}: {v}");
            assert_eq!(v["result"]["name"], "", "{collection}: {v}");
        }
        let (_, v) = api
            .account(Method::POST, collection, Some(json!({"name": "kept"})))
            .await;
        let created = v["result"].clone();
        let uid = created["uid"].as_str().unwrap();
        let path = format!("{collection}/{uid}");

        for body in [Some(json!({})), None] {
            let (s, v) = api.account(Method::PUT, &path, body).await;
            assert_eq!(s, StatusCode::OK, "{path}: {v}");
            for field in ["uid", "name", "created", "modified"] {
                assert_eq!(v["result"][field], created[field], "{path} {field}");
            }
        }
        let (_, v) = api.account(Method::GET, &path, None).await;
        assert_eq!(v["result"]["name"], "kept", "{path}");
        assert_eq!(v["result"]["modified"], created["modified"], "{path}");
    }
}
