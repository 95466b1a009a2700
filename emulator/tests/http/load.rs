use std::collections::HashSet;

use reqwest::{Method, StatusCode};

use crate::Api;

/// 1,000 sessions created at once: every one answered 201 with a distinct id, none lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_session_creates_lose_nothing() {
    let api = std::sync::Arc::new(Api::start().await);
    let mut tasks = Vec::new();
    for _ in 0..1000 {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            let (s, v) = api.sfu(Method::POST, "/sessions/new", None).await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            v["sessionId"].as_str().unwrap().to_string()
        }));
    }
    let mut ids = HashSet::new();
    for t in tasks {
        ids.insert(t.await.unwrap());
    }
    assert_eq!(ids.len(), 1000);
    assert_eq!(api.emu.session_count(), 1000);
    for id in ids.iter().take(20) {
        let (s, _) = api.sfu(Method::GET, &format!("/sessions/{id}"), None).await;
        assert_eq!(s, StatusCode::OK);
    }
}
