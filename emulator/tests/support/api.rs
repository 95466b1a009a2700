//! The SFU calls of the WebRTC tests: an emulator plus an HTTP client bound to its default
//! app, where every call must succeed.

#![allow(dead_code)] // Each test binary uses a different subset.

use calls_emulator::Emulator;
use serde_json::{Value, json};

pub struct Api {
    pub emu: Emulator,
    pub http: reqwest::Client,
}

impl Api {
    pub async fn start() -> Self {
        Self::on(Emulator::start().await.unwrap())
    }

    pub fn on(emu: Emulator) -> Self {
        Self {
            emu,
            http: reqwest::Client::new(),
        }
    }

    /// Calls `path` under the default app; panics unless it succeeds.
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!(
            "{}/apps/{}{path}",
            self.emu.sfu_base_url(),
            self.emu.app_id()
        );
        let resp = self
            .http
            .request(method, url)
            .bearer_auth(self.emu.app_secret())
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, body).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::PUT, path, body).await
    }

    /// A session's state (`GET /sessions/{id}`).
    pub async fn state(&self, session_id: &str) -> Value {
        let path = format!("/sessions/{session_id}");
        self.call(reqwest::Method::GET, &path, Value::Null).await
    }

    /// A new session's id.
    pub async fn session(&self) -> String {
        self.post("/sessions/new", json!({})).await["sessionId"]
            .as_str()
            .unwrap()
            .to_string()
    }
}
