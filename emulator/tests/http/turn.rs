use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::Api;

impl Api {
    async fn turn(
        &self,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let url = format!(
            "{}/turn/keys/{}/credentials{path}",
            self.emu.sfu_base_url(),
            self.emu.turn_key_id()
        );
        let (s, _, v) = self.raw(Method::POST, &url, token, body).await;
        (s, v)
    }

    async fn credential_state(&self, username: &str) -> Value {
        let url = format!(
            "{}/__emulator/turn/credentials/{username}",
            self.emu.base_url()
        );
        self.raw(Method::GET, &url, None, None).await.2
    }
}

#[tokio::test]
async fn ice_servers_point_at_a_working_loopback_stun_server() {
    let api = Api::start().await;
    let token = api.emu.turn_key_token().to_string();
    let (s, v) = api
        .turn(
            "/generate-ice-servers",
            Some(&token),
            Some(json!({"ttl": 600})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let servers = v["iceServers"].as_array().unwrap();
    let stun = servers[0]["urls"][0].as_str().unwrap();
    assert!(stun.starts_with("stun:127.0.0.1:"), "{stun}");
    assert!(servers[1]["username"].is_string() && servers[1]["credential"].is_string());

    // A real STUN Binding request gets our own address back.
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut req = vec![0u8, 1, 0, 0, 0x21, 0x12, 0xA4, 0x42];
    req.extend_from_slice(&[9; 12]);
    sock.send_to(&req, stun.trim_start_matches("stun:"))
        .await
        .unwrap();
    let mut buf = [0u8; 128];
    let n = tokio::time::timeout(Duration::from_secs(2), sock.recv(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[0..2], &[0x01, 0x01], "binding success");
    assert!(n >= 32);
    let port = u16::from_be_bytes([buf[26], buf[27]]) ^ 0x2112;
    assert_eq!(port, sock.local_addr().unwrap().port());
}

#[tokio::test]
async fn ttl_is_validated_and_honoured_and_revoke_works() {
    let api = Api::start().await;
    let token = api.emu.turn_key_token().to_string();
    let (s, v) = api
        .turn(
            "/generate-ice-servers",
            Some(&token),
            Some(json!({"ttl": 48 * 3600 + 1})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errorCode"], "invalid_params");
    let (s, _) = api
        .turn(
            "/generate-ice-servers",
            Some("bad"),
            Some(json!({"ttl": 60})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    let (s, v) = api
        .turn("/generate", Some(&token), Some(json!({"ttl": 1})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let short = v["iceServers"]["username"].as_str().unwrap().to_string();
    assert!(v["iceServers"]["urls"].as_array().unwrap().len() >= 2);
    assert_eq!(api.credential_state(&short).await["active"], true);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        api.credential_state(&short).await["active"],
        false,
        "expired after its TTL"
    );

    let (_, v) = api
        .turn("/generate", Some(&token), Some(json!({"ttl": 600})))
        .await;
    let user = v["iceServers"]["username"].as_str().unwrap().to_string();
    let (s, v) = api
        .turn(&format!("/{user}/revoke"), Some(&token), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let st = api.credential_state(&user).await;
    assert_eq!(
        (st["active"].clone(), st["revoked"].clone()),
        (json!(false), json!(true))
    );
}
