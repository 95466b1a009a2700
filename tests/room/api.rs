//! The room's HTTP API (src/api) against the emulator: every route refuses a caller without
//! a token, with one that is forged or expired, for another room, another identity or without
//! the grant, with the documented status, and nothing changes; bodies are validated. The happy
//! path is what the room page does in Chromium (tests/room/browser.rs).

#![cfg(feature = "api")]

use std::time::Duration;

use axum::http::StatusCode;
use calls_emulator::Emulator;
use cloudflare_calls::Secret;
use cloudflare_calls::api::{Claims, Grants, RoomApi};
use cloudflare_calls::room::{MemoryStore, Room};
use serde_json::{Value, json};

use crate::support::room::{OFFER, client};

const KEY: &str = "the room api's signing key, long and random";

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn start(api: RoomApi) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, api.router()).await });
        Self {
            base,
            http: reqwest::Client::new(),
        }
    }

    /// `method path` with `token` (none when `None`) and a JSON `body`; status and body.
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Option<String>, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.json().await.unwrap_or(Value::Null);
        (status, challenge, body)
    }
}

fn token(room: &str, identity: &str, grants: Grants) -> String {
    Claims::new(room, identity, grants)
        .to_jwt(&Secret::new(KEY))
        .unwrap()
}

/// What the room looks like, to prove a refusal changed nothing.
async fn state(room: &Room) -> (u64, Vec<String>) {
    let snapshot = room.snapshot().await.unwrap();
    let ids = snapshot
        .participants
        .iter()
        .map(|p| p.info.id.clone())
        .collect();
    (snapshot.seq, ids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_refuses_callers_it_must_and_nothing_changes() {
    let emulator = Emulator::start().await.unwrap();
    let rooms = client(&emulator).rooms(MemoryStore::new());
    let room = rooms.create().id("demo").send().await.unwrap();
    rooms.create().id("other").send().await.unwrap();
    let api = Api::start(RoomApi::new(rooms.clone(), KEY)).await;

    // Alice joins with her token: the one participant the routes below act on.
    let alice = token("demo", "alice", Grants::participant());
    let (status, _, joined) = api
        .call(
            "POST",
            "/rooms/demo/join",
            Some(&alice),
            Some(json!({ "offer": OFFER })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    assert_eq!(joined["participant"]["identity"], "alice");
    let id = joined["participant"]["id"].as_str().unwrap().to_owned();
    let before = state(&room).await;

    let p = format!("/rooms/demo/participants/{id}");
    let join = json!({ "offer": OFFER });
    // Route, body, and the grant a token may lack to be refused (None: only admin acts on
    // another, and every grant but admin is not enough).
    let routes: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", "/rooms/demo".into(), None),
        ("POST", "/rooms/demo".into(), None),
        ("DELETE", "/rooms/demo".into(), None),
        ("POST", "/rooms/demo/join".into(), Some(join.clone())),
        (
            "POST",
            format!("{p}/answer"),
            Some(json!({ "answer": "v=0" })),
        ),
        ("POST", format!("{p}/channels"), None),
        ("POST", format!("{p}/announce"), None),
        ("POST", format!("{p}/follow"), Some(json!({ "after": 0 }))),
        ("POST", format!("{p}/pull"), Some(json!({ "tracks": [] }))),
        (
            "POST",
            format!("{p}/publish"),
            Some(json!({ "offer": OFFER })),
        ),
        (
            "POST",
            format!("{p}/unpublish"),
            Some(json!({ "names": ["x"] })),
        ),
        ("POST", format!("{p}/leave"), None),
        ("DELETE", p.clone(), None),
    ];
    let expired = Claims::new("demo", "alice", Grants::admin())
        .ttl(Duration::ZERO)
        .to_jwt(&Secret::new(KEY))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let forged = Claims::new("demo", "alice", Grants::admin())
        .to_jwt(&Secret::new("another key"))
        .unwrap();
    for (method, path, body) in &routes {
        let what = format!("{method} {path}");
        // No token: 401 with the Bearer challenge.
        let (status, challenge, refused) = api.call(method, path, None, body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what} without a token");
        assert_eq!(challenge.as_deref(), Some("Bearer"), "{what}");
        assert_eq!(refused["code"], "token_missing", "{what}");
        // Expired, forged, garbage: 401 invalid_token, and the code a page acts on.
        for (why, bad, code) in [
            ("expired", expired.as_str(), "token_expired"),
            ("forged", forged.as_str(), "token_invalid"),
            ("garbage", "not.a.jwt", "token_invalid"),
        ] {
            let (status, challenge, refused) =
                api.call(method, path, Some(bad), body.clone()).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{what} {why}");
            assert_eq!(refused["code"], code, "{what} {why}");
            assert_eq!(
                challenge.as_deref(),
                Some(r#"Bearer error="invalid_token""#),
                "{what} {why}"
            );
        }
        // Another room's token, even an admin's: 403.
        let elsewhere = token("other", "alice", Grants::admin());
        let (status, _, refused) = api.call(method, path, Some(&elsewhere), body.clone()).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{what} with another room's token"
        );
        assert_eq!(refused["code"], "forbidden", "{what}");
        // Another identity without admin: 403 (for the join, its identity is not the body's).
        let bob = token("demo", "bob", Grants::participant());
        let body_as_alice = body.clone().map(|mut b| {
            if path.ends_with("/join") {
                b["identity"] = json!("alice");
            }
            b
        });
        // (Reading the room is every participant's.)
        if *method != "GET" {
            let (status, _, refused) = api.call(method, path, Some(&bob), body_as_alice).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{what} as bob: {refused}");
        }
        // No grants at all: 403.
        let nothing = token("demo", "alice", Grants::default());
        let (status, _, _) = api.call(method, path, Some(&nothing), body.clone()).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{what} with a token granting nothing"
        );
        assert_eq!(state(&room).await, before, "{what}: something changed");
    }
    // A viewer's grants do not publish; a participant's do not kick or close.
    let viewer = token("demo", "alice", Grants::viewer());
    let (status, _, _) = api
        .call(
            "POST",
            &format!("{p}/publish"),
            Some(&viewer),
            Some(json!({ "offer": OFFER })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for (method, path) in [("DELETE", p.as_str()), ("DELETE", "/rooms/demo")] {
        let (status, _, _) = api.call(method, path, Some(&alice), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path} as alice");
    }
    assert_eq!(state(&room).await, before);

    // What alice may do: read the room, leave.
    let (status, _, snapshot) = api.call("GET", "/rooms/demo", Some(&alice), None).await;
    assert_eq!(status, StatusCode::OK, "{snapshot}");
    // Alice has not opened her channels, so she is not announced yet: nobody is listed.
    assert_eq!(snapshot["seq"], json!(before.0), "{snapshot}");
    assert_eq!(snapshot["participants"], json!([]), "{snapshot}");
    let (status, _, _) = api
        .call("POST", &format!("{p}/leave"), Some(&alice), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(room.snapshot().await.unwrap().participants.is_empty());
    // An admin closes the room.
    let admin = token("demo", "ops", Grants::admin());
    let (status, _, _) = api.call("DELETE", "/rooms/demo", Some(&admin), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = api.call("GET", "/rooms/demo", Some(&admin), None).await;
    assert_eq!(status, StatusCode::GONE);
}

#[tokio::test]
async fn bodies_are_validated() {
    let emulator = Emulator::start().await.unwrap();
    let rooms = client(&emulator).rooms(MemoryStore::new());
    let room = rooms.create().id("demo").send().await.unwrap();
    let api = Api::start(RoomApi::new(rooms, KEY)).await;
    let long = "a".repeat(10_000);
    let cases = [
        (
            "an empty identity",
            "",
            json!({ "identity": "", "offer": OFFER }),
        ),
        (
            "a 10 KB identity",
            long.as_str(),
            json!({ "identity": long, "offer": OFFER }),
        ),
        (
            "a control character",
            "al\nice",
            json!({ "identity": "al\nice", "offer": OFFER }),
        ),
        (
            "a misspelled role",
            "alice",
            json!({ "role": "viwer", "offer": OFFER }),
        ),
        (
            "an unknown field",
            "alice",
            json!({ "offer": OFFER, "admin": true }),
        ),
        (
            "metadata over 4 KiB",
            "alice",
            json!({ "offer": OFFER, "metadata": "m".repeat(5000) }),
        ),
        ("no offer", "alice", json!({})),
    ];
    for (what, identity, body) in cases {
        let token = token("demo", identity, Grants::participant());
        let (status, _, refused) = api
            .call("POST", "/rooms/demo/join", Some(&token), Some(body))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {refused}");
        assert!(refused["error"].is_string(), "{what}: {refused}");
    }
    assert!(room.snapshot().await.unwrap().participants.is_empty());
}

/// An app with its own sign-in maps its session to claims.
#[tokio::test]
async fn an_app_can_authorize_callers_itself() {
    let emulator = Emulator::start().await.unwrap();
    let rooms = client(&emulator).rooms(MemoryStore::new());
    rooms.create().id("demo").send().await.unwrap();
    let api = RoomApi::authorize(rooms, |session: String| async move {
        (session == "alice-cookie").then(|| Claims::new("demo", "alice", Grants::participant()))
    });
    let api = Api::start(api).await;
    let (status, _, _) = api
        .call("GET", "/rooms/demo", Some("alice-cookie"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, challenge, _) = api
        .call("GET", "/rooms/demo", Some("mallory-cookie"), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge.as_deref(),
        Some(r#"Bearer error="invalid_token""#)
    );
}
