//! Real WebRTC through the emulator: a str0m client pushes audio, video and a data channel,
//! a second str0m client pulls them, and RTP frames and messages must arrive (and a reply
//! must travel back on the `canReply` path).

use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "support/peer.rs"]
mod peer;

#[path = "support/api.rs"]
mod api;

use api::Api;
use calls_emulator::Emulator;
use peer::Peer as Client;
use serde_json::{Value, json};
use str0m::change::SdpAnswer;
use str0m::format::Codec;
use str0m::media::{Direction, KeyframeRequestKind, MediaKind, MediaTime, Mid};
use str0m::{Candidate, Rtc};

fn sdp(v: &Value) -> &str {
    v["sessionDescription"]["sdp"]
        .as_str()
        .expect("SDP in response")
}

/// Pumps both clients until `done` holds, failing after `limit`.
async fn until(
    a: &mut Client,
    b: &mut Client,
    limit: Duration,
    mut done: impl FnMut(&Client, &Client) -> bool,
) {
    let end = Instant::now() + limit;
    while !done(a, b) {
        assert!(Instant::now() < end, "condition not reached in {limit:?}");
        tokio::join!(
            a.pump(Duration::from_millis(20)),
            b.pump(Duration::from_millis(20))
        );
    }
}

/// Sets up the SCTP transport of a session through `datachannels/establish` + renegotiate.
async fn establish(api: &Api, c: &mut Client, sid: &str) {
    let v = api
        .post(
            &format!("/sessions/{sid}/datachannels/establish"),
            json!({}),
        )
        .await;
    assert_eq!(v["requiresImmediateRenegotiation"], true);
    let answer = c.answer(sdp(&v));
    api.put(
        &format!("/sessions/{sid}/renegotiate"),
        json!({"sessionDescription": {"type": "answer", "sdp": answer}}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_and_data_flow_from_a_pushing_peer_to_a_pulling_peer() {
    let api = Api::start().await;
    let mut a = Client::new().await;
    let mut b = Client::new().await;

    // A pushes audio and video with its own offer.
    let sid_a = api.session().await;
    let mut change = a.rtc.sdp_api();
    let audio = change.add_media(
        MediaKind::Audio,
        Direction::SendOnly,
        Some("s".into()),
        Some("mic".into()),
        None,
    );
    let video = change.add_media(
        MediaKind::Video,
        Direction::SendOnly,
        Some("s".into()),
        Some("cam".into()),
        None,
    );
    let (offer, pending) = change.apply().unwrap();
    let body = json!({
        "sessionDescription": {"type": "offer", "sdp": offer.to_sdp_string()},
        "tracks": [
            {"location": "local", "mid": audio.to_string(), "trackName": "mic"},
            {"location": "local", "mid": video.to_string(), "trackName": "cam"},
        ],
    });
    let v = api
        .post(&format!("/sessions/{sid_a}/tracks/new"), body)
        .await;
    assert_eq!(v["requiresImmediateRenegotiation"], false);
    assert_eq!(v["sessionDescription"]["type"], "answer");
    let answer = SdpAnswer::from_sdp_string(sdp(&v)).unwrap();
    a.rtc.sdp_api().accept_answer(pending, answer).unwrap();
    until(&mut a, &mut b, Duration::from_secs(10), |a, _| a.connected).await;

    // A publishes a data channel.
    establish(&api, &mut a, &sid_a).await;
    let v = api
        .post(
            &format!("/sessions/{sid_a}/datachannels/new"),
            json!({"dataChannels": [{"location": "local", "dataChannelName": "chat"}]}),
        )
        .await;
    let pub_id = v["dataChannels"][0]["id"].as_u64().unwrap() as u16;
    let a_chat = a.channel(pub_id, "chat");

    // B pulls both tracks; the emulator offers, B answers.
    let sid_b = api.session().await;
    let pull = json!({"tracks": [
        {"location": "remote", "sessionId": sid_a, "trackName": "mic"},
        {"location": "remote", "sessionId": sid_a, "trackName": "cam"},
    ]});
    let v = api
        .post(&format!("/sessions/{sid_b}/tracks/new"), pull)
        .await;
    assert_eq!(v["requiresImmediateRenegotiation"], true, "{v}");
    let (b_audio, b_video) = (
        v["tracks"][0]["mid"].as_str().unwrap().to_string(),
        v["tracks"][1]["mid"].as_str().unwrap().to_string(),
    );
    let answer = b.answer(sdp(&v));
    api.put(
        &format!("/sessions/{sid_b}/renegotiate"),
        json!({"sessionDescription": {"type": "answer", "sdp": answer}}),
    )
    .await;
    until(&mut a, &mut b, Duration::from_secs(10), |_, b| b.connected).await;

    // B subscribes to the channel with the reply path.
    establish(&api, &mut b, &sid_b).await;
    let sub = json!({"dataChannels": [{"location": "remote", "sessionId": sid_a, "dataChannelName": "chat", "canReply": true}]});
    let v = api
        .post(&format!("/sessions/{sid_b}/datachannels/new"), sub)
        .await;
    let sub_id = v["dataChannels"][0]["id"].as_u64().unwrap() as u16;
    let b_chat = b.channel(sub_id, "chat");

    // Frames flow until B has seen both kinds and a message.
    let mut n = 0u64;
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        n += 1;
        a.send_frame(audio, Codec::Opus, n, &[0xFC; 40]);
        a.send_frame(
            video,
            Codec::Vp8,
            n,
            &[
                0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00, 0x55,
            ],
        );
        let _ = a.send_text(a_chat, &format!("hello {n}"));
        tokio::join!(
            a.pump(Duration::from_millis(20)),
            b.pump(Duration::from_millis(20))
        );
        let got_media = b.frames.get(&b_audio).is_some_and(|c| *c >= 5)
            && b.frames.get(&b_video).is_some_and(|c| *c >= 5);
        let got_msg = b
            .messages
            .iter()
            .any(|(id, m)| *id == b_chat && m.starts_with(b"hello "));
        if got_media && got_msg {
            break;
        }
        assert!(
            Instant::now() < end,
            "B got frames {:?} and {} messages",
            b.frames,
            b.messages.len()
        );
    }

    // A keyframe request from the subscriber travels to the publisher's video.
    let end = Instant::now() + Duration::from_secs(10);
    while !a.keyframe_requests.contains(&video.to_string()) {
        let mut w = b.rtc.writer(Mid::from(b_video.as_str())).unwrap();
        let _ = w.request_keyframe(None, KeyframeRequestKind::Pli);
        a.send_frame(
            video,
            Codec::Vp8,
            n,
            &[
                0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00, 0x55,
            ],
        );
        n += 1;
        tokio::join!(
            a.pump(Duration::from_millis(20)),
            b.pump(Duration::from_millis(20))
        );
        assert!(
            Instant::now() < end,
            "no keyframe request reached the publisher"
        );
    }

    // The reply from the subscriber reaches the publisher only.
    let end = Instant::now() + Duration::from_secs(10);
    while !a
        .messages
        .iter()
        .any(|(id, m)| *id == a_chat && m == b"reply")
    {
        let _ = b.send_text(b_chat, "reply");
        tokio::join!(
            a.pump(Duration::from_millis(20)),
            b.pump(Duration::from_millis(20))
        );
        assert!(Instant::now() < end, "publisher never got the reply");
    }

    let v = api.state(&sid_b).await;
    let statuses: Vec<&str> = v["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["active", "active"]);
    assert_eq!(v["dataChannels"].as_array().unwrap().len(), 1);
    assert_eq!(v["dataChannels"][0]["status"], "active", "{v}");
}

#[tokio::test]
async fn a_pushed_track_without_packets_is_garbage_collected() {
    let emu = Emulator::builder()
        .track_idle_timeout(Duration::from_millis(1000))
        .start()
        .await
        .unwrap();
    let api = Api::on(emu);
    let mut a = Client::new().await;
    let mut idle = Client::new().await;
    let sid = api.session().await;
    let mut change = a.rtc.sdp_api();
    let mid = change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    let (offer, pending) = change.apply().unwrap();
    let body = json!({
        "sessionDescription": {"type": "offer", "sdp": offer.to_sdp_string()},
        "tracks": [{"location": "local", "mid": mid.to_string(), "trackName": "quiet"}],
    });
    let v = api.post(&format!("/sessions/{sid}/tracks/new"), body).await;
    a.rtc
        .sdp_api()
        .accept_answer(pending, SdpAnswer::from_sdp_string(sdp(&v)).unwrap())
        .unwrap();
    until(&mut a, &mut idle, Duration::from_secs(10), |a, _| {
        a.connected
    })
    .await;

    let state = api.state(&sid).await;
    assert_eq!(state["tracks"][0]["status"], "active");
    let t = Instant::now();
    while t.elapsed() < Duration::from_millis(1800) {
        a.pump(Duration::from_millis(50)).await;
    }
    let state = api.state(&sid).await;
    assert_eq!(state["tracks"][0]["status"], "inactive", "{state}");
    let other = api.session().await;
    let pull = json!({"tracks": [{"location": "remote", "sessionId": sid, "trackName": "quiet"}]});
    let v = api
        .post(&format!("/sessions/{other}/tracks/new"), pull)
        .await;
    assert_eq!(v["tracks"][0]["errorCode"], "not_found_track_error");
}

/// Connects a fresh session that only carries data channels.
async fn data_only_session(api: &Api, c: &mut Client, other: &mut Client) -> String {
    let sid = api.session().await;
    establish(api, c, &sid).await;
    let end = Instant::now() + Duration::from_secs(10);
    while !c.connected {
        tokio::join!(
            c.pump(Duration::from_millis(20)),
            other.pump(Duration::from_millis(20))
        );
        assert!(Instant::now() < end, "data-only session never connected");
    }
    sid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_ack_holds_messages_until_the_subscriber_speaks() {
    let api = Api::start().await;
    let mut a = Client::new().await;
    let mut b = Client::new().await;
    let sid_a = data_only_session(&api, &mut a, &mut b).await;
    let v = api
        .post(
            &format!("/sessions/{sid_a}/datachannels/new"),
            json!({"dataChannels": [{"location": "local", "dataChannelName": "news"}]}),
        )
        .await;
    let a_news = a.channel(v["dataChannels"][0]["id"].as_u64().unwrap() as u16, "news");
    let sid_b = data_only_session(&api, &mut b, &mut a).await;

    let mismatched = json!({"dataChannels": [{"location": "remote", "sessionId": sid_a, "dataChannelName": "news", "ordered": false}]});
    let v = api
        .post(&format!("/sessions/{sid_b}/datachannels/new"), mismatched)
        .await;
    assert_eq!(
        v["dataChannels"][0]["errorCode"], "invalid_params",
        "policy must be mirrored"
    );

    let gated = json!({"dataChannels": [{"location": "remote", "sessionId": sid_a, "dataChannelName": "news", "waitForAck": true}]});
    let v = api
        .post(&format!("/sessions/{sid_b}/datachannels/new"), gated)
        .await;
    let sub_id = v["dataChannels"][0]["id"].as_u64().unwrap() as u16;
    let b_news = b.channel(sub_id, "news");

    // The publisher talks; nothing reaches the subscriber before its acknowledgement.
    let end = Instant::now() + Duration::from_secs(10);
    let mut sent = 0;
    while sent < 3 {
        if a.send_text(a_news, "early") {
            sent += 1;
        }
        tokio::join!(
            a.pump(Duration::from_millis(30)),
            b.pump(Duration::from_millis(30))
        );
        assert!(Instant::now() < end, "publisher channel never opened");
    }
    tokio::join!(
        a.pump(Duration::from_millis(300)),
        b.pump(Duration::from_millis(300))
    );
    assert!(
        b.messages.is_empty(),
        "delivered before the ack: {:?}",
        b.messages
    );

    let end = Instant::now() + Duration::from_secs(10);
    while !b.send_text(b_news, "ack") {
        tokio::join!(
            a.pump(Duration::from_millis(20)),
            b.pump(Duration::from_millis(20))
        );
        assert!(Instant::now() < end, "subscriber channel never opened");
    }
    let end = Instant::now() + Duration::from_secs(10);
    while b.messages.len() < 3 {
        tokio::join!(
            a.pump(Duration::from_millis(20)),
            b.pump(Duration::from_millis(20))
        );
        assert!(
            Instant::now() < end,
            "held messages not released: {:?}",
            b.messages
        );
    }
    assert!(
        b.messages
            .iter()
            .all(|(id, m)| *id == b_news && m == b"early")
    );
    assert!(
        a.messages.is_empty(),
        "the ack is consumed, and without canReply nothing goes back"
    );

    let close = json!({"dataChannels": [{"id": sub_id}]});
    let v = api
        .put(
            &format!("/sessions/{sid_b}/datachannels/close"),
            close.clone(),
        )
        .await;
    assert!(v["dataChannels"][0].get("errorCode").is_none(), "{v}");
    let state = api.state(&sid_b).await;
    assert_eq!(state["dataChannels"][0]["status"], "inactive", "{state}");
    let v = api
        .put(&format!("/sessions/{sid_b}/datachannels/close"), close)
        .await;
    assert_eq!(v["dataChannels"][0]["errorCode"], "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offer_at_session_creation_and_a_negotiated_close() {
    let api = Api::start().await;
    let mut a = Client::new().await;
    let mut spare = Client::new().await;

    // The older flow: the first offer rides on sessions/new.
    let mut change = a.rtc.sdp_api();
    change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    let (offer, pending) = change.apply().unwrap();
    let v = api
        .post(
            "/sessions/new",
            json!({"sessionDescription": {"type": "offer", "sdp": offer.to_sdp_string()}}),
        )
        .await;
    let sid = v["sessionId"].as_str().unwrap().to_string();
    assert_eq!(v["sessionDescription"]["type"], "answer");
    a.rtc
        .sdp_api()
        .accept_answer(pending, SdpAnswer::from_sdp_string(sdp(&v)).unwrap())
        .unwrap();
    until(&mut a, &mut spare, Duration::from_secs(10), |a, _| {
        a.connected
    })
    .await;

    // Push video through a second offer, then close it with a negotiated (non-forced) close.
    let mut change = a.rtc.sdp_api();
    let video = change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    let (offer, pending) = change.apply().unwrap();
    let body = json!({
        "sessionDescription": {"type": "offer", "sdp": offer.to_sdp_string()},
        "tracks": [{"location": "local", "mid": video.to_string(), "trackName": "cam"}],
    });
    let v = api.post(&format!("/sessions/{sid}/tracks/new"), body).await;
    a.rtc
        .sdp_api()
        .accept_answer(pending, SdpAnswer::from_sdp_string(sdp(&v)).unwrap())
        .unwrap();

    let mut change = a.rtc.sdp_api();
    change.stop_media(video);
    let (offer, pending) = change.apply().unwrap();
    let body = json!({
        "sessionDescription": {"type": "offer", "sdp": offer.to_sdp_string()},
        "tracks": [{"mid": video.to_string()}],
        "force": false,
    });
    let v = api
        .put(&format!("/sessions/{sid}/tracks/close"), body)
        .await;
    assert_eq!(v["requiresImmediateRenegotiation"], false);
    assert!(v["tracks"][0].get("errorCode").is_none(), "{v}");
    a.rtc
        .sdp_api()
        .accept_answer(pending, SdpAnswer::from_sdp_string(sdp(&v)).unwrap())
        .unwrap();
    let state = api.state(&sid).await;
    assert_eq!(state["tracks"][0]["status"], "inactive", "{state}");
    a.pump(Duration::from_millis(200)).await;
    assert!(a.connected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn third_party_sessions_connect_to_an_ice_lite_peer() {
    let api = Api::start().await;
    let mut lite = Client::new().await;
    lite.rtc = {
        let crypto = Arc::new(str0m::crypto::from_feature_flags());
        let mut rtc = Rtc::builder()
            .set_crypto_provider(crypto)
            .set_ice_lite(true)
            .build(Instant::now());
        rtc.add_local_candidate(Candidate::host(lite.local, "udp").unwrap());
        rtc
    };
    let mut spare = Client::new().await;
    let url = format!(
        "{}/apps/{}/sessions/new?thirdparty=true",
        api.emu.sfu_base_url(),
        api.emu.app_id()
    );
    let v: Value = api
        .http
        .post(url)
        .bearer_auth(api.emu.app_secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sid = v["sessionId"].as_str().unwrap().to_string();
    let mut change = lite.rtc.sdp_api();
    let mid = change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    let (offer, pending) = change.apply().unwrap();
    let body = json!({
        "sessionDescription": {"type": "offer", "sdp": offer.to_sdp_string()},
        "tracks": [{"location": "local", "mid": mid.to_string(), "trackName": "server-audio"}],
    });
    let v = api.post(&format!("/sessions/{sid}/tracks/new"), body).await;
    assert!(
        !sdp(&v).contains("a=ice-lite"),
        "the emulator runs full ICE for third-party peers"
    );
    lite.rtc
        .sdp_api()
        .accept_answer(pending, SdpAnswer::from_sdp_string(sdp(&v)).unwrap())
        .unwrap();
    until(&mut lite, &mut spare, Duration::from_secs(10), |l, _| {
        l.connected
    })
    .await;
}

#[tokio::test]
async fn auto_discover_names_tracks_after_their_msid() {
    let api = Api::start().await;
    let mut a = Client::new().await;
    let sid = api.session().await;
    let mut change = a.rtc.sdp_api();
    let audio = change.add_media(
        MediaKind::Audio,
        Direction::SendOnly,
        Some("s".into()),
        Some("voice".into()),
        None,
    );
    let video = change.add_media(
        MediaKind::Video,
        Direction::SendOnly,
        Some("s".into()),
        Some("screen".into()),
        None,
    );
    let (offer, _pending) = change.apply().unwrap();
    let body = json!({"sessionDescription": {"type": "offer", "sdp": offer.to_sdp_string()}, "autoDiscover": true});
    let v = api.post(&format!("/sessions/{sid}/tracks/new"), body).await;
    let got: Vec<(String, String)> = v["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["mid"].as_str().unwrap().to_string(),
                t["trackName"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (audio.to_string(), "voice".to_string()),
            (video.to_string(), "screen".to_string())
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulcast_layers_follow_the_preferred_rid() {
    use str0m::media::{Rid, Simulcast, SimulcastLayer};
    let api = Api::start().await;
    let mut a = Client::new().await;
    let mut b = Client::new().await;
    let sid_a = api.session().await;
    let mut layers = Simulcast::new();
    layers.send = vec![SimulcastLayer::new("l"), SimulcastLayer::new("h")];
    let mut change = a.rtc.sdp_api();
    let video = change.add_media(
        MediaKind::Video,
        Direction::SendOnly,
        None,
        None,
        Some(layers),
    );
    let (offer, pending) = change.apply().unwrap();
    let body = json!({
        "sessionDescription": {"type": "offer", "sdp": offer.to_sdp_string()},
        "tracks": [{"location": "local", "mid": video.to_string(), "trackName": "cam"}],
    });
    let v = api
        .post(&format!("/sessions/{sid_a}/tracks/new"), body)
        .await;
    a.rtc
        .sdp_api()
        .accept_answer(pending, SdpAnswer::from_sdp_string(sdp(&v)).unwrap())
        .unwrap();
    until(&mut a, &mut b, Duration::from_secs(10), |a, _| a.connected).await;

    let sid_b = api.session().await;
    let pull = json!({"tracks": [{"location": "remote", "sessionId": sid_a, "trackName": "cam", "simulcast": {"preferredRid": "l"}}]});
    let v = api
        .post(&format!("/sessions/{sid_b}/tracks/new"), pull)
        .await;
    let mid_b = v["tracks"][0]["mid"].as_str().unwrap().to_string();
    let answer = b.answer(sdp(&v));
    api.put(
        &format!("/sessions/{sid_b}/renegotiate"),
        json!({"sessionDescription": {"type": "answer", "sdp": answer}}),
    )
    .await;
    until(&mut a, &mut b, Duration::from_secs(10), |_, b| b.connected).await;

    let mut n = 0u64;
    let mut send_both = |a: &mut Client| {
        n += 1;
        let pt = {
            let w = a.rtc.writer(video).unwrap();
            w.payload_params()
                .find(|p| p.spec().codec == Codec::Vp8)
                .unwrap()
                .pt()
        };
        for (rid, tag) in [("l", 0xA1u8), ("h", 0xB2)] {
            let w = a.rtc.writer(video).unwrap().rid(Rid::from(rid));
            let frame = vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, tag];
            let rate = str0m::media::Frequency::NINETY_KHZ;
            w.write(pt, Instant::now(), MediaTime::new(n * 3000, rate), frame)
                .unwrap();
        }
    };
    let end = Instant::now() + Duration::from_secs(10);
    while b.tags.get(&mid_b).is_none_or(|t| t.len() < 5) {
        send_both(&mut a);
        tokio::join!(
            a.pump(Duration::from_millis(20)),
            b.pump(Duration::from_millis(20))
        );
        assert!(
            Instant::now() < end,
            "no simulcast frames reached the subscriber"
        );
    }
    assert!(
        b.tags[&mid_b].iter().all(|t| *t == 0xA1),
        "only the low layer: {:x?}",
        b.tags[&mid_b]
    );

    let upd = json!({"tracks": [{"location": "remote", "mid": mid_b, "sessionId": sid_a, "trackName": "cam", "simulcast": {"preferredRid": "h"}}]});
    api.put(&format!("/sessions/{sid_b}/tracks/update"), upd)
        .await;
    b.tags.clear();
    let end = Instant::now() + Duration::from_secs(10);
    while b.tags.get(&mid_b).is_none_or(|t| t.len() < 5) {
        send_both(&mut a);
        tokio::join!(
            a.pump(Duration::from_millis(20)),
            b.pump(Duration::from_millis(20))
        );
        assert!(Instant::now() < end, "no frames after switching layers");
    }
    let tags = &b.tags[&mid_b];
    assert!(
        tags.iter().rev().take(3).all(|t| *t == 0xB2),
        "switched to the high layer: {tags:x?}"
    );
}

/// A session that subscribes to another's channel and publishes its own of the same name
/// closes, by name, the one whose location it gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_by_name_closes_the_channel_at_the_location_given() {
    let api = Api::start().await;
    let mut a = Client::new().await;
    let mut b = Client::new().await;
    let sid_a = data_only_session(&api, &mut a, &mut b).await;
    let publish = json!({"dataChannels": [{"location": "local", "dataChannelName": "news"}]});
    api.post(
        &format!("/sessions/{sid_a}/datachannels/new"),
        publish.clone(),
    )
    .await;
    let sid_b = data_only_session(&api, &mut b, &mut a).await;
    // The subscription first: a close that matched by name alone would find it first.
    let subscribe = json!({"dataChannels": [{"location": "remote", "sessionId": sid_a, "dataChannelName": "news"}]});
    let v = api
        .post(&format!("/sessions/{sid_b}/datachannels/new"), subscribe)
        .await;
    let subscription = v["dataChannels"][0]["id"].clone();
    let v = api
        .post(
            &format!("/sessions/{sid_b}/datachannels/new"),
            publish.clone(),
        )
        .await;
    let own = v["dataChannels"][0]["id"].clone();

    let v = api
        .put(&format!("/sessions/{sid_b}/datachannels/close"), publish)
        .await;
    assert_eq!(v["dataChannels"][0]["id"], own, "{v}");
    let state = api.state(&sid_b).await;
    let channels = state["dataChannels"].as_array().unwrap();
    let status = |id: &Value| {
        let channel = channels.iter().find(|c| &c["id"] == id).unwrap();
        channel["status"].as_str().unwrap().to_owned()
    };
    assert_eq!(status(&own), "inactive", "{state}");
    assert_ne!(status(&subscription), "inactive", "{state}");
}
