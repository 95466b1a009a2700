use std::time::{Duration, Instant};

use calls_emulator::{Emulator, Fault};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{Api, assert_error};

impl Api {
    async fn add_fault(&self, rule: serde_json::Value) {
        let url = format!("{}/__emulator/faults", self.emu.base_url());
        let (s, _, _) = self.raw(Method::POST, &url, None, Some(rule)).await;
        assert_eq!(s, StatusCode::CREATED);
    }
}

#[tokio::test]
async fn transient_503_for_the_next_n_calls_of_one_operation() {
    let api = Api::start().await;
    api.add_fault(json!({"operation": "new_session", "kind": "status", "status": 503, "count": 2}))
        .await;
    for _ in 0..2 {
        let (s, v) = api.sfu(Method::POST, "/sessions/new", None).await;
        assert_error(s, &v, 503, "retryable_transient_error");
    }
    let (s, _) = api.sfu(Method::POST, "/sessions/new", None).await;
    assert_eq!(s, StatusCode::CREATED);
}

#[tokio::test]
async fn faults_only_hit_the_chosen_operation_and_can_be_listed_and_cleared() {
    let api = Api::start().await;
    let sid = api.new_session().await;
    api.add_fault(json!({"operation": "get_session_state", "kind": "status", "status": 500, "errorCode": "internal_error"})).await;
    let (s, v) = api
        .sfu(Method::GET, &format!("/sessions/{sid}"), None)
        .await;
    assert_error(s, &v, 500, "internal_error");
    api.new_session().await;
    let url = format!("{}/__emulator/faults", api.emu.base_url());
    let (_, _, list) = api.raw(Method::GET, &url, None, None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (s, _, _) = api.raw(Method::DELETE, &url, None, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = api
        .sfu(Method::GET, &format!("/sessions/{sid}"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn rate_limit_fault_sets_retry_after() {
    let api = Api::start().await;
    api.emu
        .inject(Fault::rate_limited(7).on("generate_ice_servers").times(1));
    let url = format!(
        "{}/turn/keys/{}/credentials/generate-ice-servers",
        api.emu.sfu_base_url(),
        api.emu.turn_key_id()
    );
    let token = api.emu.turn_key_token().to_string();
    let (s, h, _) = api
        .raw(Method::POST, &url, Some(&token), Some(json!({"ttl": 60})))
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(h["retry-after"], "7");
    let (s, _, _) = api
        .raw(Method::POST, &url, Some(&token), Some(json!({"ttl": 60})))
        .await;
    assert_eq!(s, StatusCode::CREATED);
}

#[tokio::test]
async fn latency_delays_the_answer() {
    let api = Api::with(
        Emulator::builder().fault(
            Fault::latency(Duration::from_millis(300))
                .on("new_session")
                .times(1),
        ),
    )
    .await;
    let t = Instant::now();
    api.new_session().await;
    assert!(t.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn dropped_connections_and_truncated_bodies_fail_on_the_client() {
    let api = Api::start().await;
    api.emu
        .inject(Fault::drop_connection().on("new_session").times(1));
    let url = api.app_url("/sessions/new");
    let err = api
        .http
        .post(&url)
        .bearer_auth(api.emu.app_secret())
        .send()
        .await;
    match err {
        Err(e) => assert!(!e.is_status()),
        Ok(r) => assert!(r.bytes().await.is_err(), "the body must not complete"),
    }
    api.emu.inject(Fault::truncate().on("new_session").times(1));
    let resp = api
        .http
        .post(&url)
        .bearer_auth(api.emu.app_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert!(resp.bytes().await.is_err(), "a truncated body is an error");
    api.new_session().await;
}

#[tokio::test]
async fn account_api_faults_use_the_v4_envelope() {
    let api = Api::start().await;
    api.emu
        .inject(Fault::transient().on("list_sfu_apps").times(1));
    let (s, v) = api.account(Method::GET, "/apps", None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(v["success"], false);
    let (s, v) = api.account(Method::GET, "/apps", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}
