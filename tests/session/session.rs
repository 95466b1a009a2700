//! The session layer against a scripted server: exact requests, decoding, negotiation discipline.

use crate::support::mock;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cloudflare_calls::session::{CloseMode, Location, ResourceStatus, Simulcast};
use cloudflare_calls::{
    Answer, Client, Config, DataChannel, Error, ErrorCode, LocalTrack, Negotiation, Offer,
    RemoteTrack, RetryPolicy,
};
use mock::{MockServer, Reply};
use serde_json::json;

const SECRET: &str = "s3cr3t-app-secret";

fn client(server: &MockServer) -> Client {
    let config = Config::new(format!("{}/v1", server.url), "app1", SECRET)
        .retry_policy(RetryPolicy::default().base_delay(Duration::from_millis(1)));
    Client::new(config).unwrap()
}

/// The request as a snapshot: method, path, query and body; the bearer is checked apart.
fn shown(server: &MockServer) -> serde_json::Value {
    let requests = server.requests();
    for r in &requests {
        assert_eq!(
            r.header("authorization"),
            Some(&*format!("Bearer {SECRET}"))
        );
    }
    serde_json::to_value(requests).unwrap()
}

#[tokio::test]
async fn new_session_sends_query_and_optional_offer() {
    let server = MockServer::start().await;
    server.json(201, json!({"sessionId": "sess1"}));
    server.json(
        201,
        json!({
            "sessionId": "sess2",
            "sessionDescription": {"type": "answer", "sdp": "v=0 answer"}
        }),
    );
    let c = client(&server);
    let s1 = c
        .new_session()
        .thirdparty(true)
        .correlation_id("room/alice")
        .send()
        .await
        .unwrap();
    assert_eq!(s1.id(), "sess1");
    assert!(s1.answer().is_none());
    let s2 = c
        .new_session()
        .offer(Offer::new("v=0 offer"))
        .send()
        .await
        .unwrap();
    assert_eq!(s2.answer(), Some(&Answer::new("v=0 answer")));
    insta::assert_json_snapshot!(shown(&server));
}

#[tokio::test]
async fn push_and_pull_tracks_split_successes_from_failures() {
    let server = MockServer::start().await;
    server.json(
        200,
        json!({
            "requiresImmediateRenegotiation": false,
            "sessionDescription": {"type": "answer", "sdp": "v=0 sfu answer"},
            "tracks": [{"location": "local", "mid": "0", "trackName": "mic", "someNewField": 1}]
        }),
    );
    server.json(200, json!({
        "requiresImmediateRenegotiation": true,
        "sessionDescription": {"type": "offer", "sdp": "v=0 sfu offer"},
        "tracks": [
            {"location": "remote", "mid": "1", "trackName": "mic", "sessionId": "pub", "kind": "audio"},
            {"trackName": "ghost", "sessionId": "pub",
             "errorCode": "not_found_track_error", "errorDescription": "no such track"}
        ]
    }));
    let c = client(&server);
    let s = c.session("sess1");
    let pushed = s
        .add_tracks()
        .offer(Offer::new("v=0 local offer"))
        .push(LocalTrack::new("0", "mic"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        pushed.negotiation.answer(),
        Some(&Answer::new("v=0 sfu answer"))
    );
    assert_eq!(pushed.tracks[0].mid.as_deref(), Some("0"));

    let pulled = s
        .add_tracks()
        .pull(RemoteTrack::new("pub", "mic").simulcast(Simulcast::preferred_rid("h")))
        .pull(RemoteTrack::new("pub", "ghost").reuse_transceiver_of("mic"))
        .send()
        .await
        .unwrap();
    let Negotiation::Offer(pending) = pulled.negotiation else {
        panic!("pulling makes the SFU offer");
    };
    assert_eq!(pending.offer().sdp(), "v=0 sfu offer");
    drop(pending);
    assert_eq!(pulled.tracks.len(), 1);
    assert_eq!(pulled.tracks[0].location, Some(Location::Remote));
    assert_eq!(pulled.failed.len(), 1);
    assert_eq!(pulled.failed[0].code, ErrorCode::NotFoundTrackError);
    assert_eq!(pulled.failed[0].track_name.as_deref(), Some("ghost"));
    insta::assert_json_snapshot!(shown(&server));
}

#[tokio::test]
async fn a_150_track_pull_answers_each_batch_before_the_next() {
    let server = MockServer::start().await;
    for (start, len) in [(0, 64), (64, 64), (128, 22)] {
        let tracks: Vec<_> = (start..start + len)
            .map(|i| json!({"location": "remote", "mid": i.to_string(), "trackName": format!("t{i}"), "sessionId": "pub"}))
            .collect();
        server.json(200, json!({
            "requiresImmediateRenegotiation": true,
            "sessionDescription": {"type": "offer", "sdp": format!("offer after {}", start + len)},
            "tracks": tracks
        }));
        server.json(200, json!({}));
    }
    let c = client(&server);
    let mut answerer = |offer: Offer| async move {
        Ok::<_, std::convert::Infallible>(Answer::new(format!("answer to {}", offer.sdp())))
    };
    let result = c
        .session("sess1")
        .add_tracks()
        .pull_all((0..150).map(|i| RemoteTrack::new("pub", format!("t{i}"))))
        .answerer(&mut answerer)
        .send()
        .await
        .unwrap();
    assert!(result.negotiation.is_done());
    let calls: Vec<String> = server
        .requests()
        .iter()
        .map(|r| match r.body["tracks"].as_array() {
            Some(tracks) => format!("{} {} tracks", r.path, tracks.len()),
            None => format!("{} {}", r.path, r.body["sessionDescription"]["sdp"]),
        })
        .collect();
    insta::assert_yaml_snapshot!(calls);
    let names: Vec<String> = result
        .tracks
        .iter()
        .map(|t| t.track_name.clone().unwrap())
        .collect();
    let expected: Vec<String> = (0..150).map(|i| format!("t{i}")).collect();
    assert_eq!(names, expected);
}

#[tokio::test]
async fn more_than_64_tracks_without_an_answerer_are_refused_before_sending() {
    let server = MockServer::start().await;
    let c = client(&server);
    let err = c
        .session("sess1")
        .add_tracks()
        .pull_all((0..65).map(|i| RemoteTrack::new("pub", format!("t{i}"))))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    assert!(err.to_string().contains("answerer"), "{err}");
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn a_failing_answerer_is_a_typed_error_and_nothing_more_is_sent() {
    let server = MockServer::start().await;
    server.json(
        200,
        json!({
            "requiresImmediateRenegotiation": true,
            "sessionDescription": {"type": "offer", "sdp": "v=0 sfu offer"},
            "tracks": [{"location": "remote", "mid": "0", "trackName": "t0", "sessionId": "pub"}]
        }),
    );
    let c = client(&server);
    let mut refuses =
        |_: Offer| async { Err::<Answer, _>(std::io::Error::other("browser went away")) };
    let err = c
        .session("sess1")
        .add_tracks()
        .pull_all((0..100).map(|i| RemoteTrack::new("pub", format!("t{i}"))))
        .answerer(&mut refuses)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Answerer(_)), "{err:?}");
    assert!(err.to_string().contains("browser went away"), "{err}");
    assert_eq!(
        server.requests().len(),
        1,
        "no renegotiation, no second batch"
    );
}

#[tokio::test]
async fn renegotiation_required_without_an_offer_is_a_decode_error() {
    let server = MockServer::start().await;
    server.json(
        200,
        json!({"requiresImmediateRenegotiation": true, "tracks": []}),
    );
    let c = client(&server);
    let err = c
        .session("sess1")
        .add_tracks()
        .pull(RemoteTrack::new("pub", "mic"))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}

#[tokio::test]
async fn more_than_64_tracks_with_one_offer_is_refused_before_sending() {
    let server = MockServer::start().await;
    let c = client(&server);
    let session = c.session("sess1");
    let mut call = session.add_tracks().offer(Offer::new("v=0"));
    for i in 0..65 {
        call = call.push(LocalTrack::new(i.to_string(), format!("t{i}")));
    }
    let err = call.send().await.unwrap_err();
    assert!(
        matches!(err, cloudflare_calls::Error::InvalidArgument(_)),
        "{err}"
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn renegotiate_update_close_and_state() {
    let server = MockServer::start().await;
    server.json(200, json!({}));
    server.json(200, json!({"requiresImmediateRenegotiation": false, "tracks": [{"mid": "1", "trackName": "cam"}]}));
    server.json(200, json!({"tracks": [{"mid": "1"}, {"mid": "2", "errorCode": "close_track_error"}, {"mid": "3", "errorCode": "internal_error", "errorDescription": "boom"}]}));
    server.json(
        200,
        json!({
            "sessionDescription": {"type": "answer", "sdp": "v=0 close answer"},
            "tracks": [{"mid": "4"}]
        }),
    );
    server.json(200, json!({
        "tracks": [{"location": "local", "mid": "0", "trackName": "mic", "status": "active"},
                   {"location": "remote", "mid": "1", "trackName": "cam", "status": "paused-by-new-server"}],
        "dataChannels": [{"location": "local", "dataChannelName": "chat", "id": 2, "status": "initializing"}]
    }));
    let c = client(&server);
    let s = c.session("sess1");
    s.renegotiate(Answer::new("v=0 my answer")).await.unwrap();
    let updated = s
        .update_tracks()
        .pull(
            RemoteTrack::new("pub", "cam")
                .mid("1")
                .simulcast(Simulcast::preferred_rid("l")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(updated.tracks[0].track_name.as_deref(), Some("cam"));
    let forced = s
        .close_tracks(["1", "2", "3"], CloseMode::Force)
        .send()
        .await
        .unwrap();
    assert_eq!(
        forced.closed,
        ["1", "2"],
        "an already closed track counts as closed"
    );
    assert_eq!(forced.failed[0].code, ErrorCode::InternalError);
    let negotiated = s
        .close_tracks(["4"], CloseMode::Offer(Offer::new("v=0 without 4")))
        .send()
        .await
        .unwrap();
    assert_eq!(negotiated.answer, Some(Answer::new("v=0 close answer")));
    let state = s.state().await.unwrap();
    assert_eq!(state.tracks[0].status, Some(ResourceStatus::Active));
    assert_eq!(
        state.tracks[1].status,
        Some(ResourceStatus::Unknown("paused-by-new-server".into()))
    );
    assert_eq!(state.data_channels[0].id, Some(2));
    assert_eq!(
        state.data_channels[0].status,
        Some(ResourceStatus::Initializing)
    );
    insta::assert_json_snapshot!(shown(&server));
}

#[tokio::test]
async fn data_channels_round_trip_and_validation() {
    let server = MockServer::start().await;
    server.json(
        200,
        json!({
            "requiresImmediateRenegotiation": true,
            "sessionDescription": {"type": "offer", "sdp": "v=0 sctp offer"},
            "dataChannel": {"location": "remote", "dataChannelName": "server-events", "id": 0}
        }),
    );
    server.json(200, json!({}));
    server.json(200, json!({"dataChannels": [
        {"location": "local", "dataChannelName": "chat", "id": 1},
        {"location": "remote", "dataChannelName": "missing", "sessionId": "pub", "errorCode": "not_found", "errorDescription": "no publisher"}
    ]}));
    server.json(200, json!({"dataChannels": [{"location": "remote", "dataChannelName": "chat", "sessionId": "pub", "canReply": true, "id": 3}]}));
    server.json(200, json!({"dataChannels": [{"dataChannelName": "chat"}]}));
    let c = client(&server);
    let s = c.session("sess1");
    let transport = s.establish_data_channels(None).await.unwrap();
    assert_eq!(
        transport.channel.unwrap().name.as_deref(),
        Some("server-events")
    );
    let pending = transport.negotiation.into_pending().expect("an SCTP offer");
    assert_eq!(pending.offer().sdp(), "v=0 sctp offer");
    pending
        .answer(Answer::new("v=0 sctp answer"))
        .await
        .unwrap();
    let added = s
        .add_data_channels()
        .channel(
            DataChannel::publish("chat")
                .ordered(false)
                .max_retransmits(0),
        )
        .channel(DataChannel::subscribe("pub", "missing").wait_for_ack(true))
        .send()
        .await
        .unwrap();
    assert_eq!(added.channels[0].id, Some(1));
    assert_eq!(added.failed[0].code, ErrorCode::NotFound);
    s.update_data_channels()
        .channel(DataChannel::subscribe("pub", "chat").can_reply(true))
        .send()
        .await
        .unwrap();
    s.close_data_channels()
        .channel(DataChannel::publish("chat"))
        .send()
        .await
        .unwrap();
    insta::assert_json_snapshot!(shown(&server));

    let before = server.requests().len();
    let both = DataChannel::publish("x")
        .max_retransmits(1)
        .max_packet_life_time(100);
    let err = s
        .add_data_channels()
        .channel(both)
        .send()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("exclude each other"), "{err}");
    let err = s
        .add_data_channels()
        .channel(DataChannel::subscribe("", "x"))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, cloudflare_calls::Error::InvalidArgument(_)));
    assert_eq!(
        server.requests().len(),
        before,
        "nothing sent for invalid channels"
    );
}

#[tokio::test]
async fn error_bodies_are_errors_whatever_the_status() {
    let server = MockServer::start().await;
    server.json(
        200,
        json!({"errorCode": "invalid_session_description", "errorDescription": "bad sdp"}),
    );
    server.json(
        410,
        json!({"errorCode": "session_error", "errorDescription": "session closed"}),
    );
    server.json(
        400,
        json!({"errorCode": "brand_new_code", "errorDescription": "?"}),
    );
    let c = client(&server);
    let s = c.session("sess1");
    let err = s.renegotiate(Answer::new("garbage")).await.unwrap_err();
    assert_eq!(err.status(), Some(200));
    assert_eq!(err.code(), Some(&ErrorCode::InvalidSessionDescription));
    let err = s.state().await.unwrap_err();
    assert!(err.is_session_gone());
    assert_eq!(err.code(), Some(&ErrorCode::SessionError));
    let err = s.state().await.unwrap_err();
    assert_eq!(
        err.code(),
        Some(&ErrorCode::Unknown("brand_new_code".into()))
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn signalling_conflicts_are_retried_a_bounded_number_of_times() {
    let server = MockServer::start().await;
    let conflict =
        json!({"errorCode": "invalid_params", "errorSubcode": "signaling_state_not_stable"});
    server.json(406, conflict.clone());
    server.json(406, conflict.clone());
    server.json(200, json!({}));
    let c = client(&server);
    let s = c.session("sess1");
    s.renegotiate(Answer::new("v=0")).await.unwrap();
    assert_eq!(server.requests().len(), 3);
    for _ in 0..4 {
        server.json(406, conflict.clone());
    }
    let err = s.renegotiate(Answer::new("v=0")).await.unwrap_err();
    assert!(err.is_signaling_conflict());
    assert_eq!(server.requests().len(), 3 + 4, "1 try + 3 retries");
}

/// Many concurrent mutations on one session reach the server one at a time; mutations of
/// different sessions overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mutations_of_one_session_never_overlap_at_the_server() {
    let server = MockServer::start().await;
    let in_flight = Arc::new(AtomicUsize::new(0));
    let max_seen = Arc::new(AtomicUsize::new(0));
    server.on_request({
        let (in_flight, max_seen) = (in_flight.clone(), max_seen.clone());
        move |started| {
            if started {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                max_seen.fetch_max(now, Ordering::SeqCst);
            } else {
                in_flight.fetch_sub(1, Ordering::SeqCst);
            }
        }
    });
    for _ in 0..20 {
        server.reply(Reply::Delayed(
            Duration::from_millis(10),
            Box::new(Reply::Json(200, json!({}))),
        ));
    }
    let c = client(&server);
    let handles: Vec<_> = (0..20)
        .map(|i| {
            // Separate handles for one id share the lock too.
            let s = c.session("same");
            tokio::spawn(async move { s.renegotiate(Answer::new(format!("answer {i}"))).await })
        })
        .collect();
    for h in handles {
        h.await.unwrap().unwrap();
    }
    assert_eq!(server.requests().len(), 20);
    assert_eq!(max_seen.load(Ordering::SeqCst), 1, "mutations overlapped");

    max_seen.store(0, Ordering::SeqCst);
    for _ in 0..8 {
        server.reply(Reply::Delayed(
            Duration::from_millis(200),
            Box::new(Reply::Json(200, json!({}))),
        ));
    }
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let s = c.session(format!("session-{i}"));
            tokio::spawn(async move { s.renegotiate(Answer::new("a")).await })
        })
        .collect();
    for h in handles {
        h.await.unwrap().unwrap();
    }
    assert!(
        max_seen.load(Ordering::SeqCst) > 1,
        "different sessions ran one at a time"
    );
}
