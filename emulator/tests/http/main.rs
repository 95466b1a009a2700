//! The emulator's HTTP surface, asserted over real HTTP: errors, limits, account and TURN
//! APIs, adapters, fault injection and a concurrent-creation load test.

mod account;
mod adapters;
mod binary;
mod errors;
mod faults;
mod load;
mod turn;

use calls_emulator::{Emulator, EmulatorBuilder};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// An emulator plus a client bound to its default app.
pub struct Api {
    pub emu: Emulator,
    pub http: reqwest::Client,
}

impl Api {
    pub async fn start() -> Self {
        Self::with(Emulator::builder()).await
    }

    pub async fn with(b: EmulatorBuilder) -> Self {
        let emu = b.start().await.expect("emulator starts");
        Self {
            emu,
            http: reqwest::Client::new(),
        }
    }

    /// URL of an SFU path under the default app.
    pub fn app_url(&self, path: &str) -> String {
        format!(
            "{}/apps/{}{}",
            self.emu.sfu_base_url(),
            self.emu.app_id(),
            path
        )
    }

    /// Sends `body` with `token` and returns status, headers and the JSON body (Null if none).
    pub async fn raw(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self.http.request(method, url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request completes");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        let v = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("JSON body")
        };
        (status, headers, v)
    }

    /// An SFU call on the default app with its secret.
    pub async fn sfu(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (s, _, v) = self
            .raw(
                method,
                &self.app_url(path),
                Some(self.emu.app_secret()),
                body,
            )
            .await;
        (s, v)
    }

    pub async fn new_session(&self) -> String {
        let (s, v) = self.sfu(Method::POST, "/sessions/new", None).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["sessionId"].as_str().expect("sessionId").to_string()
    }

    /// An account API call with the emulator's token.
    pub async fn account(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let url = format!(
            "{}/accounts/{}/calls{}",
            self.emu.account_base_url(),
            self.emu.account_id(),
            path
        );
        let (s, _, v) = self
            .raw(method, &url, Some(self.emu.api_token()), body)
            .await;
        (s, v)
    }
}

/// Asserts an error body `{errorCode, errorDescription}`.
pub fn assert_error(status: StatusCode, body: &Value, want_status: u16, code: &str) {
    assert_eq!(status.as_u16(), want_status, "{body}");
    assert_eq!(body["errorCode"], json!(code), "{body}");
    assert!(body["errorDescription"].is_string(), "{body}");
}
