use std::time::Duration;

use calls_emulator::Emulator;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{Api, assert_error};

#[tokio::test]
async fn wrong_or_missing_secret_is_unauthorized() {
    let api = Api::start().await;
    let url = api.app_url("/sessions/new");
    let (s, _, v) = api.raw(Method::POST, &url, None, None).await;
    assert_error(s, &v, 401, "unauthorized");
    let (s, _, v) = api.raw(Method::POST, &url, Some("nope"), None).await;
    assert_error(s, &v, 401, "unauthorized");
    let other = format!("{}/apps/unknown/sessions/new", api.emu.sfu_base_url());
    let (s, _, v) = api
        .raw(Method::POST, &other, Some(api.emu.app_secret()), None)
        .await;
    assert_error(s, &v, 401, "unauthorized");
}

#[tokio::test]
async fn sessions_of_one_app_are_invisible_to_another() {
    let api = Api::start().await;
    let sid = api.new_session().await;
    let (s, v) = api
        .account(Method::POST, "/apps", Some(json!({"name": "b"})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (b_id, b_secret) = (
        v["result"]["uid"].as_str().unwrap(),
        v["result"]["secret"].as_str().unwrap(),
    );
    let url = format!("{}/apps/{b_id}/sessions/{sid}", api.emu.sfu_base_url());
    let (s, _, v) = api.raw(Method::GET, &url, Some(b_secret), None).await;
    assert_error(s, &v, 404, "not_found");
    let (s, v) = api
        .sfu(Method::GET, &format!("/sessions/{sid}"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["tracks"], json!([]));
}

#[tokio::test]
async fn bad_bodies_are_decoding_errors_or_invalid_params() {
    let api = Api::start().await;
    let sid = api.new_session().await;
    let url = api.app_url(&format!("/sessions/{sid}/tracks/new"));
    let resp = api
        .http
        .post(&url)
        .bearer_auth(api.emu.app_secret())
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["errorCode"], "decoding_error");

    let (s, v) = api
        .sfu(
            Method::POST,
            &format!("/sessions/{sid}/tracks/new"),
            Some(json!({"tracks": []})),
        )
        .await;
    assert_error(s, &v, 400, "invalid_params");
    let many: Vec<_> = (0..65)
        .map(|i| json!({"location": "local", "trackName": format!("t{i}"), "kind": "audio"}))
        .collect();
    let (s, v) = api
        .sfu(
            Method::POST,
            &format!("/sessions/{sid}/tracks/new"),
            Some(json!({"tracks": many})),
        )
        .await;
    assert_error(s, &v, 400, "invalid_params");
    let (s, v) = api
        .sfu(
            Method::PUT,
            &format!("/sessions/{sid}/tracks/close"),
            Some(json!({"tracks": [{"mid": "0"}]})),
        )
        .await;
    assert_error(s, &v, 400, "invalid_params");
    let (s, v) = api
        .sfu(
            Method::POST,
            &format!("/sessions/{sid}/datachannels/new"),
            Some(json!({"dataChannels": [{"location": "local", "dataChannelName": "x"}]})),
        )
        .await;
    assert_error(s, &v, 400, "invalid_params");
}

#[tokio::test]
async fn oversized_body_is_payload_too_large() {
    let api = Api::start().await;
    let sid = api.new_session().await;
    let big = json!({"sessionDescription": {"type": "offer", "sdp": "x".repeat(300 * 1024)}});
    let (s, v) = api
        .sfu(
            Method::POST,
            &format!("/sessions/{sid}/tracks/new"),
            Some(big),
        )
        .await;
    assert_error(s, &v, 413, "payload_too_large");
}

#[tokio::test]
async fn unknown_sessions_and_routes_are_not_found() {
    let api = Api::start().await;
    let (s, v) = api
        .sfu(
            Method::GET,
            "/sessions/0123456789abcdef0123456789abcdef",
            None,
        )
        .await;
    assert_error(s, &v, 404, "not_found");
    let (s, _, v) = api
        .raw(
            Method::GET,
            &format!("{}/nothing", api.emu.base_url()),
            None,
            None,
        )
        .await;
    assert_error(s, &v, 404, "not_found");
}

#[tokio::test]
async fn unconnected_sessions_expire_with_410() {
    let api =
        Api::with(Emulator::builder().unconnected_session_ttl(Duration::from_millis(600))).await;
    let sid = api.new_session().await;
    let (s, _) = api
        .sfu(Method::GET, &format!("/sessions/{sid}"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (s, v) = api
        .sfu(Method::GET, &format!("/sessions/{sid}"), None)
        .await;
    assert_error(s, &v, 410, "session_error");
}

#[tokio::test]
async fn waiting_for_an_unconnected_transport_gives_425_and_overlaps_give_406() {
    let api = Api::with(Emulator::builder().connect_wait(Duration::from_millis(2000))).await;
    let sid = api.new_session().await;
    let (s, v) = api
        .sfu(
            Method::POST,
            &format!("/sessions/{sid}/datachannels/establish"),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["requiresImmediateRenegotiation"], true);
    assert_eq!(v["sessionDescription"]["type"], "offer");
    assert!(
        v["sessionDescription"]["sdp"]
            .as_str()
            .unwrap()
            .contains("m=application")
    );

    let body = json!({"dataChannels": [{"location": "local", "dataChannelName": "chat"}]});
    let path = format!("/sessions/{sid}/datachannels/new");
    let slow = api.sfu(Method::POST, &path, Some(body));
    let overlapping = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let push = json!({"tracks": [{"location": "local", "trackName": "a", "kind": "audio"}]});
        api.sfu(
            Method::POST,
            &format!("/sessions/{sid}/tracks/new"),
            Some(push),
        )
        .await
    };
    let ((s1, v1), (s2, v2)) = tokio::join!(slow, overlapping);
    assert_error(s1, &v1, 425, "session_error");
    assert_eq!(s2.as_u16(), 406, "{v2}");
    assert_eq!(v2["errorSubcode"], "signaling_state_not_stable");
}

#[tokio::test]
async fn sfu_offer_pending_blocks_the_next_offer_with_406() {
    let api = Api::start().await;
    let sid = api.new_session().await;
    let push = json!({"tracks": [
        {"location": "local", "trackName": "a", "kind": "audio"},
        {"location": "local", "trackName": "a", "kind": "audio"},
    ]});
    let (s, v) = api
        .sfu(
            Method::POST,
            &format!("/sessions/{sid}/tracks/new"),
            Some(push),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["requiresImmediateRenegotiation"], true);
    assert_eq!(v["sessionDescription"]["type"], "offer");
    assert!(v["tracks"][0]["mid"].is_string());
    assert_eq!(v["tracks"][0]["errorCode"], serde_json::Value::Null);
    assert_eq!(v["tracks"][1]["errorCode"], "repeated_local_track_error");

    let again = json!({"tracks": [{"location": "local", "trackName": "b", "kind": "video"}]});
    let (s, v) = api
        .sfu(
            Method::POST,
            &format!("/sessions/{sid}/tracks/new"),
            Some(again),
        )
        .await;
    assert_eq!(s.as_u16(), 406, "{v}");
    assert_eq!(v["errorSubcode"], "invalid_modification_have_local_offer");
}

#[tokio::test]
async fn malformed_or_misordered_sdp_is_invalid_session_description() {
    let api = Api::start().await;
    let sid = api.new_session().await;
    let answer = json!({"sessionDescription": {"type": "answer", "sdp": "v=0\r\n"}});
    let (s, v) = api
        .sfu(
            Method::PUT,
            &format!("/sessions/{sid}/renegotiate"),
            Some(answer),
        )
        .await;
    assert_error(s, &v, 400, "invalid_session_description");
    let wrong_type = json!({"sessionDescription": {"type": "answer", "sdp": "v=0\r\n"}, "tracks": [{"location": "local", "mid": "0", "trackName": "a"}]});
    let (s, v) = api
        .sfu(
            Method::POST,
            &format!("/sessions/{sid}/tracks/new"),
            Some(wrong_type),
        )
        .await;
    assert_error(s, &v, 400, "invalid_session_description");
    let garbage = json!({"sessionDescription": {"type": "offer", "sdp": "garbage"}});
    let (s, v) = api.sfu(Method::POST, "/sessions/new", Some(garbage)).await;
    assert_error(s, &v, 400, "invalid_session_description");
}

#[tokio::test]
async fn per_item_errors_come_inside_200() {
    let api = Api::start().await;
    let a = api.new_session().await;
    let b = api.new_session().await;
    let pull = json!({"tracks": [{"location": "remote", "sessionId": a, "trackName": "ghost"}]});
    let (s, v) = api
        .sfu(
            Method::POST,
            &format!("/sessions/{b}/tracks/new"),
            Some(pull),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["tracks"][0]["errorCode"], "not_found_track_error");
    assert_eq!(v["requiresImmediateRenegotiation"], false);
    let close = json!({"tracks": [{"mid": "9"}], "force": true});
    let (s, v) = api
        .sfu(
            Method::PUT,
            &format!("/sessions/{b}/tracks/close"),
            Some(close),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["tracks"][0]["mid"], "9");
    assert_eq!(v["tracks"][0]["errorCode"], "close_track_error");
    let upd = json!({"tracks": [{"mid": "9", "location": "remote"}]});
    let (s, v) = api
        .sfu(
            Method::PUT,
            &format!("/sessions/{b}/tracks/update"),
            Some(upd),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["tracks"][0]["errorCode"], "update_track_error");
}

#[tokio::test]
async fn more_than_the_per_session_rate_gets_429() {
    let api = Api::start().await;
    let sid = api.new_session().await;
    let url = api.app_url(&format!("/sessions/{sid}"));
    // Fired together so they land within one one-second window even on a loaded machine.
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let req = api.http.get(&url).bearer_auth(api.emu.app_secret());
        calls.spawn(async move { req.send().await.expect("request completes") });
    }
    let (mut ok, mut limited) = (0, 0);
    while let Some(resp) = calls.join_next().await {
        let resp = resp.unwrap();
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
            assert!(resp.headers().contains_key("retry-after"));
            let v: serde_json::Value = resp.json().await.unwrap();
            assert!(v["errorCode"].is_string());
        } else {
            assert_eq!(resp.status(), StatusCode::OK);
            ok += 1;
        }
    }
    assert!(limited >= 1, "no call was rate limited");
    assert!(ok >= 50, "only {ok} calls passed");
    let other = api.new_session().await;
    let (s, _) = api
        .sfu(Method::GET, &format!("/sessions/{other}"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "the limit is per session");
}

#[tokio::test]
async fn session_state_reports_tracks_and_close_marks_them_inactive() {
    let api = Api::start().await;
    let sid = api.new_session().await;
    let push = json!({"tracks": [{"location": "local", "trackName": "mic", "kind": "audio"}]});
    let (_, v) = api
        .sfu(
            Method::POST,
            &format!("/sessions/{sid}/tracks/new"),
            Some(push),
        )
        .await;
    let mid = v["tracks"][0]["mid"].as_str().unwrap().to_string();
    let (_, st) = api
        .sfu(Method::GET, &format!("/sessions/{sid}"), None)
        .await;
    assert_eq!(st["tracks"][0]["trackName"], "mic");
    assert_eq!(st["tracks"][0]["status"], "active");
    let close = json!({"tracks": [{"mid": mid}], "force": true});
    let (s, v) = api
        .sfu(
            Method::PUT,
            &format!("/sessions/{sid}/tracks/close"),
            Some(close.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["tracks"][0].get("errorCode").is_none(), "{v}");
    let (_, st) = api
        .sfu(Method::GET, &format!("/sessions/{sid}"), None)
        .await;
    assert_eq!(st["tracks"][0]["status"], "inactive");
    let (_, v) = api
        .sfu(
            Method::PUT,
            &format!("/sessions/{sid}/tracks/close"),
            Some(close),
        )
        .await;
    assert_eq!(v["tracks"][0]["errorCode"], "close_track_error");
}

#[tokio::test]
async fn dropping_the_emulator_stops_serving() {
    let api = Api::start().await;
    api.new_session().await;
    let url = api.app_url("/sessions/new");
    let secret = api.emu.app_secret().to_string();
    let http = api.http.clone();
    drop(api.emu);
    let mut refused = false;
    for _ in 0..50 {
        if http.post(&url).bearer_auth(&secret).send().await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "the server still answers after drop");
}

#[tokio::test]
async fn update_rebinds_a_pulled_mid_to_another_track() {
    let api = Api::start().await;
    let a = api.new_session().await;
    let push = json!({"tracks": [
        {"location": "local", "trackName": "mic", "kind": "audio"},
        {"location": "local", "trackName": "cam", "kind": "video"},
    ]});
    let (s, v) = api
        .sfu(
            Method::POST,
            &format!("/sessions/{a}/tracks/new"),
            Some(push),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let b = api.new_session().await;
    let pull = json!({"tracks": [{"location": "remote", "sessionId": a, "trackName": "mic"}]});
    let (_, v) = api
        .sfu(
            Method::POST,
            &format!("/sessions/{b}/tracks/new"),
            Some(pull),
        )
        .await;
    let mid = v["tracks"][0]["mid"].as_str().unwrap().to_string();

    let upd = json!({"tracks": [
        {"location": "remote", "mid": mid, "sessionId": a, "trackName": "cam", "simulcast": {"preferredRid": "h"}},
        {"location": "remote", "mid": "#cam", "sessionId": a, "trackName": "nope"},
    ]});
    let (s, v) = api
        .sfu(
            Method::PUT,
            &format!("/sessions/{b}/tracks/update"),
            Some(upd),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["tracks"][0].get("errorCode").is_none(), "{v}");
    assert_eq!(v["tracks"][1]["errorCode"], "not_found_track_error", "{v}");
    let (_, st) = api.sfu(Method::GET, &format!("/sessions/{b}"), None).await;
    assert_eq!(st["tracks"][0]["trackName"], "cam", "{st}");
    assert_eq!(st["tracks"][0]["mid"], mid.as_str());
    assert_eq!(st["tracks"][0]["status"], "active");
}
