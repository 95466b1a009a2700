//! The WHIP/WHEP router (src/whip) served over HTTP against the emulator: every status it
//! answers, with the headers each one needs, what ending a stream leaves open on the SFU, and
//! that no secret reaches a client in an error.

#![cfg(feature = "whip")]

use crate::support::room as room_support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use calls_emulator::{Emulator, Fault};
use cloudflare_calls::room::{MemoryStore, RoomError, Rooms};
use cloudflare_calls::turn::IceServers;
use cloudflare_calls::whip::{Action, Decision, Whip};

const SSE_REL: &str = "urn:ietf:params:whep:ext:core:server-sent-events";
use cloudflare_calls::{Client, Config, RetryPolicy};
use reqwest::header::{self, HeaderMap};
use reqwest::{Method, Response, StatusCode};
use room_support::{client, nothing_open};
use str0m::media::{Direction, MediaKind};

const TOKEN: &str = "whip-bearer-4f0c9e";
const ORIGIN: &str = "https://app.example";

#[tokio::test]
async fn publish_and_play_answer_201_with_the_resource_headers() {
    let emulator = Emulator::start().await.unwrap();
    let servers: IceServers = serde_json::from_value(serde_json::json!([
        {"urls": ["stun:stun.example.net:3478"]},
        {
            "urls": ["turn:turn.example.net:3478?transport=udp"],
            "username": "turn-user",
            "credential": "turn-pass-91b2"
        },
    ]))
    .unwrap();
    let whip = Whip::new(client(&emulator).rooms(MemoryStore::new()))
        .bearer_token(TOKEN)
        .ice_servers(servers);
    // Mounted under a prefix: Locations follow it.
    let app = axum::Router::new().nest("/live", whip.router());
    let server = Server::start(app, Some(TOKEN), &[TOKEN, "turn-pass-91b2"]).await;
    let response = server
        .http
        .request(Method::OPTIONS, server.url("/live/whip/news"))
        .send()
        .await
        .unwrap();
    let endpoint = BTreeSet::from(["OPTIONS".to_owned(), "POST".to_owned()]);
    assert_eq!(methods(response.headers(), header::ALLOW), endpoint);

    // WHIP: 201 with the answer and the resource's headers.
    let response = server.offer("/live/whip/news", Direction::SendOnly).await;
    let publisher = server.created(response, "/live/whip/news/").await;
    assert!(
        publisher.answer.contains("a=ice-lite"),
        "{}",
        publisher.answer
    );
    assert_eq!(
        publisher.links,
        [
            r#"<stun:stun.example.net:3478>; rel="ice-server""#,
            r#"<turn:turn.example.net:3478?transport=udp>; rel="ice-server"; username="turn-user"; credential="turn-pass-91b2"; credential-type="password""#,
        ]
    );

    // A second publisher of the same stream: 409; the first one goes on (played below).
    let response = server.offer("/live/whip/news", Direction::SendOnly).await;
    server.refused(response, StatusCode::CONFLICT).await;

    // WHEP: 201, the broadcast's tracks in the offer's receive-only sections. A media type
    // with parameters is still application/sdp.
    let response = server
        .post(
            "/live/whep/news",
            "application/sdp; charset=utf-8",
            &offer(Direction::RecvOnly),
        )
        .await;
    let player = server.created(response, "/live/whep/news/").await;
    assert!(player.answer.contains("a=ice-lite"), "{}", player.answer);
    assert_eq!(
        player.answer.matches("a=sendonly").count(),
        2,
        "{}",
        player.answer
    );
    // The ICE servers, and the player's server-sent events under its resource.
    assert_eq!(player.links.len(), 3, "{:?}", player.links);
    assert_eq!(
        player.links[2],
        format!(
            r#"<{}/sse>; rel="{SSE_REL}"; events="active,inactive""#,
            player.location
        )
    );
    assert_ne!(player.location, publisher.location);

    // Both Locations resolve to their resources.
    server.stop(&player).await;
    server.stop(&publisher).await;
}

#[tokio::test]
async fn stopping_the_publisher_ends_the_stream_and_leaves_nothing_open() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let rooms = client.rooms(MemoryStore::new());
    let whip = Whip::new(rooms.clone()).bearer_token(TOKEN);
    let server = Server::start(whip.router(), Some(TOKEN), &[TOKEN]).await;

    // Nothing to play before the stream starts: 404.
    let response = server.offer("/whep/match", Direction::RecvOnly).await;
    server.refused(response, StatusCode::NOT_FOUND).await;

    let publisher = server.publish("match").await;
    let first = server.play("match").await;
    let second = server.play("match").await;
    let snapshot = rooms.open("match").await.unwrap().snapshot().await.unwrap();
    assert_eq!(snapshot.participants.len(), 3);
    let mut sessions: Vec<String> = snapshot
        .participants
        .iter()
        .map(|p| p.info.session_id.clone())
        .collect();
    sessions.push(snapshot.room.host_session_id.clone());
    let first_session = session_of(&rooms, "match", &first.location).await;

    // A player stops: 200, then its resource is gone.
    server.stop(&first).await;
    nothing_open(&client, &[first_session]).await;
    server
        .refused(server.delete(&first.location).await, StatusCode::NOT_FOUND)
        .await;
    let fragment = trickle(&first.ufrag);
    server
        .refused(
            server
                .patch(&first.location, Some(&first.etag), &fragment)
                .await,
            StatusCode::NOT_FOUND,
        )
        .await;
    assert_eq!(participants(&rooms, "match").await, 2);

    // The publisher stops: 200, and the stream ends with it.
    server.stop(&publisher).await;
    for location in [&publisher.location, &second.location] {
        server
            .refused(server.delete(location).await, StatusCode::NOT_FOUND)
            .await;
    }
    let fragment = trickle(&second.ufrag);
    server
        .refused(
            server
                .patch(&second.location, Some(&second.etag), &fragment)
                .await,
            StatusCode::NOT_FOUND,
        )
        .await;
    let response = server.offer("/whep/match", Direction::RecvOnly).await;
    server.refused(response, StatusCode::NOT_FOUND).await;
    assert!(matches!(
        Some(&rooms.open("match").await.unwrap_err()),
        Some(RoomError::RoomClosed(_))
    ));
    nothing_open(&client, &sessions).await;

    // The stream can start again, and be played again.
    let again = server.publish("match").await;
    assert_ne!(again.location, publisher.location);
    let player = server.play("match").await;
    server.stop(&player).await;
    server.stop(&again).await;
}

#[tokio::test]
async fn turn_credentials_are_minted_for_each_client() {
    let emulator = Emulator::start().await.unwrap();
    let config = Config::new(
        emulator.sfu_base_url(),
        emulator.app_id(),
        emulator.app_secret(),
    )
    .turn_key(emulator.turn_key_id(), emulator.turn_key_token());
    let rooms = Client::new(config).unwrap().rooms(MemoryStore::new());
    let whip = Whip::new(rooms.clone())
        .bearer_token(TOKEN)
        .turn(Duration::from_secs(3600));
    let secrets = [TOKEN, emulator.app_secret(), emulator.turn_key_token()];
    let server = Server::start(whip.router(), Some(TOKEN), &secrets).await;

    let publisher = server.publish("turned").await;
    let player = server.play("turned").await;
    let mut usernames = BTreeSet::new();
    for created in [&publisher, &player] {
        let stun: Vec<_> = created
            .links
            .iter()
            .filter(|l| l.starts_with("<stun:"))
            .collect();
        let turn: Vec<_> = created
            .links
            .iter()
            .filter(|l| l.starts_with("<turn:"))
            .collect();
        // One stun: URL, and the turn: URLs over UDP and over TCP, with one credential.
        assert_eq!((stun.len(), turn.len()), (1, 2), "{:?}", created.links);
        assert_eq!(
            link_param(turn[0], "username"),
            link_param(turn[1], "username")
        );
        assert!(!stun[0].contains("credential"), "{}", stun[0]);
        let username = link_param(turn[0], "username").expect("a TURN username");
        let credential = link_param(turn[0], "credential").expect("a TURN credential");
        assert_eq!(
            link_param(turn[0], "credential-type").as_deref(),
            Some("password")
        );
        assert!(!credential.is_empty());
        usernames.insert(username);
    }
    assert_eq!(usernames.len(), 2, "each client gets its own credential");

    // An error after credentials were minted shows none of them.
    let response = server.offer("/whip/turned", Direction::SendOnly).await;
    server.refused(response, StatusCode::CONFLICT).await;
    server.stop(&publisher).await;

    // The TURN API fails: 502, before anything is created.
    emulator.inject(Fault::status(500, "internal_error").on("generate_ice_servers"));
    let response = server.offer("/whip/turned", Direction::SendOnly).await;
    server.refused(response, StatusCode::BAD_GATEWAY).await;
    let response = server.offer("/whep/turned", Direction::RecvOnly).await;
    server.refused(response, StatusCode::NOT_FOUND).await;
    emulator.clear_faults();
    assert!(matches!(
        Some(&rooms.open("turned").await.unwrap_err()),
        Some(RoomError::RoomClosed(_))
    ));

    // Without a TURN key nothing can be minted either.
    let rooms = client(&emulator).rooms(MemoryStore::new());
    let whip = Whip::new(rooms.clone()).turn(Duration::from_secs(3600));
    let server = Server::start(whip.router(), None, &secrets).await;
    let response = server.offer("/whip/keyless", Direction::SendOnly).await;
    server.refused(response, StatusCode::BAD_GATEWAY).await;
    assert!(matches!(
        Some(&rooms.open("keyless").await.unwrap_err()),
        Some(RoomError::RoomNotFound(_))
    ));
}

#[tokio::test]
async fn bearer_tokens_are_required_and_checked() {
    let emulator = Emulator::start().await.unwrap();
    let whip = Whip::new(client(&emulator).rooms(MemoryStore::new())).bearer_token(TOKEN);
    assert!(!format!("{whip:?}").contains(TOKEN), "{whip:?}");
    let server = Server::start(whip.router(), Some(TOKEN), &[TOKEN]).await;
    let publisher = server.publish("guarded").await;
    let player = server.play("guarded").await;
    let fragment = trickle(&player.ufrag);

    let requests = [
        (
            Method::POST,
            "/whip/guarded".to_owned(),
            "application/sdp",
            offer(Direction::SendOnly),
        ),
        (
            Method::POST,
            "/whep/guarded".to_owned(),
            "application/sdp",
            offer(Direction::RecvOnly),
        ),
        (
            Method::PATCH,
            player.location.clone(),
            "application/trickle-ice-sdpfrag",
            fragment.clone(),
        ),
        (Method::DELETE, player.location.clone(), "", String::new()),
        (
            Method::DELETE,
            publisher.location.clone(),
            "",
            String::new(),
        ),
    ];
    for (method, path, content_type, body) in &requests {
        let send = |authorization: Option<&str>| {
            let mut request = server.http.request(method.clone(), server.url(path));
            if !content_type.is_empty() {
                request = request.header(header::CONTENT_TYPE, *content_type);
            }
            if let Some(value) = authorization {
                request = request.header(header::AUTHORIZATION, value);
            }
            request.body(body.clone()).send()
        };
        // No token, another scheme, an empty token, a token without its scheme: 401 with
        // the Bearer challenge.
        for authorization in [
            None,
            Some("Basic d2hpcDp3aGlw"),
            Some("Bearer "),
            Some(TOKEN),
        ] {
            let response = send(authorization).await.unwrap();
            assert_eq!(
                response
                    .headers()
                    .get(header::WWW_AUTHENTICATE)
                    .map(|v| v.to_str().unwrap()),
                Some("Bearer"),
                "{method} {path} with {authorization:?}"
            );
            server.refused(response, StatusCode::UNAUTHORIZED).await;
        }
        // Another token: not valid, 401 with `error="invalid_token"` (RFC 6750 section 3.1),
        // without echoing it.
        let wrong = format!("Bearer {TOKEN}-not");
        let response = send(Some(&wrong)).await.unwrap();
        assert_eq!(
            response
                .headers()
                .get(header::WWW_AUTHENTICATE)
                .map(|v| v.to_str().unwrap()),
            Some(r#"Bearer error="invalid_token""#),
            "{method} {path}"
        );
        let body = server.refused(response, StatusCode::UNAUTHORIZED).await;
        assert!(!body.contains("-not"), "{body}");
    }
    // Nothing refused changed anything: the resources still answer to the right token.
    let response = server
        .patch(&player.location, Some(&player.etag), &fragment)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    server.stop(&player).await;
    server.stop(&publisher).await;

    // A callback decides per stream and action, and sees the resource of PATCH and DELETE.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let whip = Whip::new(client(&emulator).rooms(MemoryStore::new())).authorize(move |access| {
        assert!(!format!("{access:?}").contains(access.token()));
        log.lock().unwrap().push((
            access.stream().to_owned(),
            access.resource().map(str::to_owned),
            access.action(),
        ));
        let decision = match access.action() {
            _ if access.token() == "expired" => Decision::InvalidToken,
            Action::Play => Decision::Allow,
            _ => (access.token() == format!("publish-{}", access.stream())).into(),
        };
        async move { decision }
    });
    let server = Server::start(whip.router(), Some("publish-own"), &[]).await;
    let publisher = server.publish("own").await;
    let player = server.play("own").await;
    let other = server.offer("/whip/other", Direction::SendOnly).await;
    server.refused(other, StatusCode::FORBIDDEN).await;
    // A token the app calls invalid: 401 with the `invalid_token` challenge.
    let expired = server
        .http
        .post(server.url("/whip/own"))
        .bearer_auth("expired")
        .header(header::CONTENT_TYPE, "application/sdp")
        .body(offer(Direction::SendOnly))
        .send()
        .await
        .unwrap();
    assert_eq!(
        expired
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap()),
        Some(r#"Bearer error="invalid_token""#)
    );
    server.refused(expired, StatusCode::UNAUTHORIZED).await;
    let response = server
        .patch(
            &player.location,
            Some(&player.etag),
            &trickle(&player.ufrag),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    server.stop(&publisher).await;
    let player_id = player.location.rsplit('/').next().map(str::to_owned);
    let publisher_id = publisher.location.rsplit('/').next().map(str::to_owned);
    assert_eq!(
        *seen.lock().unwrap(),
        [
            ("own".to_owned(), None, Action::Publish),
            ("own".to_owned(), None, Action::Play),
            ("other".to_owned(), None, Action::Publish),
            ("own".to_owned(), None, Action::Publish),
            ("own".to_owned(), player_id, Action::Update),
            ("own".to_owned(), publisher_id, Action::Stop),
        ]
    );
}

#[tokio::test]
async fn offers_that_cannot_be_used_are_refused() {
    let emulator = Emulator::start().await.unwrap();
    let rooms = client(&emulator).rooms(MemoryStore::new());
    let whip = Whip::new(rooms.clone()).bearer_token(TOKEN);
    let server = Server::start(whip.router(), Some(TOKEN), &[TOKEN]).await;

    for path in ["/whip/bad", "/whep/bad"] {
        // Not application/sdp: 415, naming what is accepted.
        for content_type in ["text/plain", "application/json"] {
            let response = server
                .post(path, content_type, &offer(Direction::SendOnly))
                .await;
            assert_eq!(
                response
                    .headers()
                    .get("accept-post")
                    .map(|v| v.to_str().unwrap()),
                Some("application/sdp")
            );
            server
                .refused(response, StatusCode::UNSUPPORTED_MEDIA_TYPE)
                .await;
        }
        let response = server
            .request(Method::POST, path)
            .body(offer(Direction::SendOnly))
            .send()
            .await
            .unwrap();
        server
            .refused(response, StatusCode::UNSUPPORTED_MEDIA_TYPE)
            .await;
        // Not SDP: 400.
        let response = server.post(path, "application/sdp", "hello, SFU").await;
        let body = server.refused(response, StatusCode::BAD_REQUEST).await;
        assert!(body.contains("malformed SDP"), "{body}");
    }
    // SDP the SFU refuses (no ICE credentials): the client's mistake, 400 and not 502.
    let stripped: String = offer(Direction::SendOnly)
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("a=ice-ufrag") && !l.starts_with("a=ice-pwd"))
        .collect();
    let response = server.post("/whip/bad", "application/sdp", &stripped).await;
    server.refused(response, StatusCode::BAD_REQUEST).await;
    // A publisher that sends nothing, a player that receives nothing: 400.
    let response = server.offer("/whip/bad", Direction::RecvOnly).await;
    let body = server.refused(response, StatusCode::BAD_REQUEST).await;
    assert!(body.contains("sends no audio or video"), "{body}");
    let response = server.offer("/whep/bad", Direction::SendOnly).await;
    let body = server.refused(response, StatusCode::BAD_REQUEST).await;
    assert!(body.contains("no receive-only"), "{body}");
    // ... even when the stream is live.
    let publisher = server.publish("bad").await;
    let response = server.offer("/whep/bad", Direction::SendOnly).await;
    server.refused(response, StatusCode::BAD_REQUEST).await;
    assert_eq!(
        participants(&rooms, "bad").await,
        1,
        "only the publisher joined"
    );
    server.stop(&publisher).await;

    // A player that receives none of the kinds the stream sends (video of a radio stream):
    // 400, not a 503 to retry. One that receives audio, and video too, gets the audio.
    let radio = offer_of(Direction::SendOnly, &[MediaKind::Audio]);
    let response = server.post("/whip/radio", "application/sdp", &radio).await;
    let publisher = server.created(response, "/whip/radio/").await;
    let video = offer_of(Direction::RecvOnly, &[MediaKind::Video]);
    let response = server.post("/whep/radio", "application/sdp", &video).await;
    let body = server.refused(response, StatusCode::BAD_REQUEST).await;
    assert!(body.contains("receives none"), "{body}");
    assert_eq!(participants(&rooms, "radio").await, 1);
    let response = server.offer("/whep/radio", Direction::RecvOnly).await;
    let player = server.created(response, "/whep/radio/").await;
    let id = player.location.rsplit('/').next().unwrap();
    let snapshot = rooms.open("radio").await.unwrap().snapshot().await.unwrap();
    let record = snapshot.participants.iter().find(|p| p.info.id == id);
    assert_eq!(record.unwrap().pulled.len(), 1, "the audio track");
    server.stop(&player).await;
    server.stop(&publisher).await;

    // A refused publish created nothing.
    assert!(matches!(
        Some(&rooms.open("never").await.unwrap_err()),
        Some(RoomError::RoomNotFound(_))
    ));
    let response = server.offer("/whip/never", Direction::RecvOnly).await;
    server.refused(response, StatusCode::BAD_REQUEST).await;
    assert!(matches!(
        Some(&rooms.open("never").await.unwrap_err()),
        Some(RoomError::RoomNotFound(_))
    ));
}

#[tokio::test]
async fn patch_takes_trickle_ice_and_refuses_ice_restarts() {
    let emulator = Emulator::start().await.unwrap();
    let whip = Whip::new(client(&emulator).rooms(MemoryStore::new())).bearer_token(TOKEN);
    let server = Server::start(whip.router(), Some(TOKEN), &[TOKEN]).await;
    let publisher = server.publish("ice").await;
    let player = server.play("ice").await;

    for resource in [&publisher, &player] {
        let fragment = trickle(&resource.ufrag);
        // Trickled candidates with the current ETag: 204, also among other tags.
        let response = server
            .patch(&resource.location, Some(&resource.etag), &fragment)
            .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert!(response.text().await.unwrap().is_empty());
        let listed = format!("\"other\", {}", resource.etag);
        let response = server
            .patch(&resource.location, Some(&listed), &fragment)
            .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let response = server
            .patch(
                &resource.location,
                Some(&resource.etag),
                "a=end-of-candidates\r\n",
            )
            .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);

        // Another ETag, or the current one made weak: 412.
        for if_match in [
            "\"not-the-etag\"".to_owned(),
            format!("W/{}", resource.etag),
        ] {
            let response = server
                .patch(&resource.location, Some(&if_match), &fragment)
                .await;
            server
                .refused(response, StatusCode::PRECONDITION_FAILED)
                .await;
        }
        // An ICE restart, by `If-Match: *` or by a new ICE username: 422.
        let response = server.patch(&resource.location, Some("*"), &fragment).await;
        server
            .refused(response, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
        let restart = trickle("NewUfrag1");
        let response = server
            .patch(&resource.location, Some(&resource.etag), &restart)
            .await;
        server
            .refused(response, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
        // Not a trickle fragment: 415; not SDP lines: 400.
        let response = server
            .request(Method::PATCH, &resource.location)
            .header(header::CONTENT_TYPE, "application/sdp")
            .header(header::IF_MATCH, &resource.etag)
            .body(fragment.clone())
            .send()
            .await
            .unwrap();
        server
            .refused(response, StatusCode::UNSUPPORTED_MEDIA_TYPE)
            .await;
        for malformed in ["hello", "a=candidate:1 1 udp 1 192.0.2.1 notaport typ host"] {
            let response = server
                .patch(&resource.location, Some(&resource.etag), malformed)
                .await;
            server.refused(response, StatusCode::BAD_REQUEST).await;
        }
    }

    // Unknown resources, unknown streams, and a resource under the other role's path: 404.
    let player_id = player.location.rsplit('/').next().unwrap();
    let publisher_id = publisher.location.rsplit('/').next().unwrap();
    let fragment = trickle(&player.ufrag);
    for path in [
        "/whip/ice/nobody".to_owned(),
        "/whep/ice/nobody".to_owned(),
        format!("/whep/nowhere/{player_id}"),
        format!("/whip/ice/{player_id}"),
        format!("/whep/ice/{publisher_id}"),
    ] {
        let response = server.patch(&path, Some(&player.etag), &fragment).await;
        server.refused(response, StatusCode::NOT_FOUND).await;
        server
            .refused(server.delete(&path).await, StatusCode::NOT_FOUND)
            .await;
    }
    // Those requests stopped nothing.
    let response = server
        .patch(&player.location, Some(&player.etag), &fragment)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    server.stop(&player).await;
    server.stop(&publisher).await;
}

#[tokio::test]
async fn patch_answers_501_when_the_sfu_is_not_ice_lite() {
    let emulator = Emulator::start().await.unwrap();
    // The emulator's SFU API behind a proxy that takes `a=ice-lite` out of the answers to
    // clients' offers, as an SFU with a full ICE agent would send them.
    let proxy = without_ice_lite(&emulator).await;
    let client = Client::new(Config::new(
        format!("{proxy}/v1"),
        emulator.app_id(),
        emulator.app_secret(),
    ))
    .unwrap();
    let whip = Whip::new(client.rooms(MemoryStore::new())).bearer_token(TOKEN);
    let server = Server::start(whip.router(), Some(TOKEN), &[TOKEN]).await;
    let publisher = server.publish("full-ice").await;
    let player = server.play("full-ice").await;

    for resource in [&publisher, &player] {
        assert!(
            !resource.answer.contains("a=ice-lite"),
            "{}",
            resource.answer
        );
        for (if_match, fragment) in [
            (resource.etag.as_str(), trickle(&resource.ufrag)),
            ("*", trickle(&resource.ufrag)),
            (resource.etag.as_str(), trickle("NewUfrag1")),
        ] {
            let response = server
                .patch(&resource.location, Some(if_match), &fragment)
                .await;
            server.refused(response, StatusCode::NOT_IMPLEMENTED).await;
        }
    }
    server.stop(&player).await;
    server.stop(&publisher).await;
}

#[tokio::test]
async fn other_methods_get_405_and_pages_get_cors() {
    let emulator = Emulator::start().await.unwrap();
    let whip = Whip::new(client(&emulator).rooms(MemoryStore::new()))
        .bearer_token(TOKEN)
        .allow_origins([ORIGIN]);
    let server = Server::start(whip.router(), Some(TOKEN), &[TOKEN]).await;

    // Methods a path does not take: 405 with the ones it does, before any token check.
    let endpoint = BTreeSet::from(["OPTIONS".to_owned(), "POST".to_owned()]);
    let resource = BTreeSet::from([
        "DELETE".to_owned(),
        "OPTIONS".to_owned(),
        "PATCH".to_owned(),
    ]);
    let events = BTreeSet::from(["GET", "HEAD", "OPTIONS", "POST"].map(str::to_owned));
    for (method, path, allowed) in [
        (Method::PUT, "/whep/s/id/sse", &events),
        (Method::GET, "/whip/s", &endpoint),
        (Method::PUT, "/whip/s", &endpoint),
        (Method::DELETE, "/whep/s", &endpoint),
        (Method::GET, "/whip/s/id", &resource),
        (Method::POST, "/whip/s/id", &resource),
        (Method::PUT, "/whep/s/id", &resource),
    ] {
        let response = server
            .http
            .request(method.clone(), server.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(
            &methods(response.headers(), header::ALLOW),
            allowed,
            "{method} {path}"
        );
    }

    // A pre-flight from an allowed origin: 204 with the CORS grants, and no token needed.
    for (path, allowed) in [
        ("/whip/s", &endpoint),
        ("/whep/s/id", &resource),
        ("/whep/s/id/sse", &events),
    ] {
        let response = server
            .http
            .request(Method::OPTIONS, server.url(path))
            .header(header::ORIGIN, ORIGIN)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                "authorization, content-type",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "{path}");
        let headers = response.headers();
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], ORIGIN);
        assert_eq!(
            &methods(headers, header::ACCESS_CONTROL_ALLOW_METHODS),
            allowed
        );
        assert_eq!(&methods(headers, header::ALLOW), allowed);
        let granted = methods(headers, header::ACCESS_CONTROL_ALLOW_HEADERS);
        for name in ["AUTHORIZATION", "CONTENT-TYPE", "IF-MATCH"] {
            assert!(granted.contains(name), "{granted:?}");
        }
        assert_eq!(headers[header::VARY], "Origin");
    }
    // From another origin, or with none: 204 and no grants.
    for origin in [Some("https://evil.example"), None] {
        let mut request = server.http.request(Method::OPTIONS, server.url("/whip/s"));
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let cors: Vec<_> = response
            .headers()
            .keys()
            .filter(|name| name.as_str().starts_with("access-control-"))
            .collect();
        assert!(cors.is_empty(), "{origin:?}: {cors:?}");
    }

    // A page of the allowed origin can read the headers of the resource it created, and of
    // a refusal.
    let response = server
        .request(Method::POST, "/whip/s")
        .header(header::ORIGIN, ORIGIN)
        .header(header::CONTENT_TYPE, "application/sdp")
        .body(offer(Direction::SendOnly))
        .send()
        .await
        .unwrap();
    let exposed = methods(response.headers(), header::ACCESS_CONTROL_EXPOSE_HEADERS);
    assert_eq!(
        response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        ORIGIN
    );
    for name in ["LOCATION", "ETAG", "LINK", "ACCEPT-PATCH", "RETRY-AFTER"] {
        assert!(exposed.contains(name), "{exposed:?}");
    }
    let publisher = server.created(response, "/whip/s/").await;
    let response = server
        .http
        .post(server.url("/whip/s"))
        .header(header::ORIGIN, ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        ORIGIN
    );
    server.refused(response, StatusCode::UNAUTHORIZED).await;
    server.stop(&publisher).await;

    // `*` allows any origin.
    let whip = Whip::new(client(&emulator).rooms(MemoryStore::new())).allow_origins(["*"]);
    let server = Server::start(whip.router(), None, &[]).await;
    let response = server
        .http
        .request(Method::OPTIONS, server.url("/whep/s"))
        .header(header::ORIGIN, "https://anyone.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
}

#[tokio::test]
async fn a_full_stream_answers_503_with_retry_after() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let rooms = client.rooms(MemoryStore::new());
    // The router makes rooms without a limit; a room the app made first, with one, is used
    // as it is.
    let room = rooms
        .create()
        .id("small")
        .max_participants(1)
        .send()
        .await
        .unwrap();
    let whip = Whip::new(rooms.clone()).bearer_token(TOKEN);
    let server = Server::start(whip.router(), Some(TOKEN), &[TOKEN]).await;
    // The room exists but has no broadcast: 404.
    let response = server.offer("/whep/small", Direction::RecvOnly).await;
    server.refused(response, StatusCode::NOT_FOUND).await;
    let publisher = server.publish("small").await;

    let response = server.offer("/whep/small", Direction::RecvOnly).await;
    assert_eq!(response.headers()[header::RETRY_AFTER], "10");
    server
        .refused(response, StatusCode::SERVICE_UNAVAILABLE)
        .await;
    let snapshot = room.snapshot().await.unwrap();
    assert_eq!(
        snapshot.participants.len(),
        1,
        "the refused player left nothing"
    );

    server.stop(&publisher).await;
    let mut sessions: Vec<String> = snapshot
        .participants
        .iter()
        .map(|p| p.info.session_id.clone())
        .collect();
    sessions.push(snapshot.room.host_session_id);
    nothing_open(&client, &sessions).await;
}

#[tokio::test]
async fn sfu_failures_answer_502_and_504_and_leave_nothing() {
    let emulator = Emulator::start().await.unwrap();
    let config = || {
        Config::new(
            emulator.sfu_base_url(),
            emulator.app_id(),
            emulator.app_secret(),
        )
        .retry_policy(RetryPolicy::none())
    };
    let secrets = [TOKEN, emulator.app_secret()];

    // The SFU fails the publisher's tracks: 502; it answers after the client stopped waiting
    // (1 s here, the SFU takes 3): 504. Either way the room goes with the failed publish.
    let cases = [
        (
            config(),
            Fault::status(500, "internal_error"),
            StatusCode::BAD_GATEWAY,
        ),
        (
            config().timeout(Duration::from_secs(1)),
            Fault::latency(Duration::from_secs(3)),
            StatusCode::GATEWAY_TIMEOUT,
        ),
    ];
    for (config, fault, status) in cases {
        let client = Client::new(config).unwrap();
        let rooms = client.rooms(MemoryStore::new());
        let whip = Whip::new(rooms.clone()).bearer_token(TOKEN);
        let server = Server::start(whip.router(), Some(TOKEN), &secrets).await;
        emulator.inject(fault.on("add_tracks").times(1));
        let response = server.offer("/whip/flaky", Direction::SendOnly).await;
        server.refused(response, status).await;
        emulator.clear_faults();
        assert!(matches!(
            Some(&rooms.open("flaky").await.unwrap_err()),
            Some(RoomError::RoomClosed(_))
        ));
        let host = rooms.store().snapshot("flaky").await.unwrap();
        nothing_open(&client, &[host.room.host_session_id]).await;
    }

    // The SFU is back: the stream starts. A player the SFU then refuses gets 502, and the
    // stream goes on.
    let rooms = Client::new(config()).unwrap().rooms(MemoryStore::new());
    let whip = Whip::new(rooms.clone()).bearer_token(TOKEN);
    let server = Server::start(whip.router(), Some(TOKEN), &secrets).await;
    let publisher = server.publish("flaky").await;
    let player = server.play("flaky").await;
    emulator.inject(
        Fault::status(500, "internal_error")
            .on("add_tracks")
            .times(1),
    );
    let response = server.offer("/whep/flaky", Direction::RecvOnly).await;
    server.refused(response, StatusCode::BAD_GATEWAY).await;
    assert_eq!(participants(&rooms, "flaky").await, 2);
    server.stop(&player).await;
    server.stop(&publisher).await;
}

// --- helpers ---

/// The router on a loopback port, and an HTTP client of it.
struct Server {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
    /// What no error body may contain; TURN credentials are added as they are handed out.
    secrets: Mutex<Vec<String>>,
}

/// WHEP's server-sent events extension: a player asks for its events, reads `active` while
/// the broadcast is live, and `inactive` then the end of the stream once the publisher stops.
#[tokio::test]
async fn a_player_is_told_when_the_stream_goes_live_and_when_it_ends() {
    let emulator = Emulator::start().await.unwrap();
    let whip = Whip::new(client(&emulator).rooms(MemoryStore::new())).bearer_token(TOKEN);
    let server = Server::start(whip.router(), Some(TOKEN), &[TOKEN]).await;
    let publisher = server.publish("news").await;
    let player = server.play("news").await;
    let link = player
        .links
        .iter()
        .find(|l| l.contains(SSE_REL))
        .expect("a server-sent events Link");
    let url = link[1..link.find('>').unwrap()].to_owned();

    // Asking without a token, or for an event this server does not send, is refused.
    let response = server.http.post(server.url(&url)).send().await.unwrap();
    server.refused(response, StatusCode::UNAUTHORIZED).await;
    let response = server
        .request(Method::POST, &url)
        .body(r#"["viewercount"]"#)
        .send()
        .await
        .unwrap();
    server.refused(response, StatusCode::BAD_REQUEST).await;

    let response = server
        .request(Method::POST, &url)
        .header(header::CONTENT_TYPE, "application/json")
        .body(r#"["active","inactive"]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let events = response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    // Read like a browser's EventSource: no token.
    let mut stream = server.http.get(server.url(&events)).send().await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(
        stream.headers()[header::CONTENT_TYPE].to_str().unwrap(),
        "text/event-stream"
    );
    let mut seen = String::new();
    let mut read_until = async |want: &str, seen: &mut String| {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !seen.contains(want) {
            let chunk = tokio::time::timeout_at(deadline, stream.chunk())
                .await
                .unwrap_or_else(|_| panic!("{want:?} within 10 s; got {seen:?}"))
                .unwrap();
            match chunk {
                Some(bytes) => seen.push_str(&String::from_utf8_lossy(&bytes)),
                None => return false,
            }
        }
        true
    };
    assert!(read_until("event: active", &mut seen).await, "{seen}");

    server.stop(&publisher).await;
    assert!(read_until("event: inactive", &mut seen).await, "{seen}");
    // Then the event stream ends.
    assert!(!read_until("never sent", &mut seen).await, "{seen}");
    // The stream ended: the player's events are gone with it.
    let response = server.http.get(server.url(&events)).send().await.unwrap();
    server.refused(response, StatusCode::NOT_FOUND).await;
}

/// What a `201 Created` brings.
struct Created {
    /// The `Location`, a path.
    location: String,
    etag: String,
    links: Vec<String>,
    answer: String,
    /// The ICE username of the offer the resource was created with.
    ufrag: String,
}

impl Server {
    async fn start(app: axum::Router, token: Option<&str>, secrets: &[&str]) -> Self {
        Self {
            base: serve(app).await,
            http: reqwest::Client::new(),
            token: token.map(str::to_owned),
            secrets: Mutex::new(secrets.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request with the server's bearer token.
    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, self.url(path));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn post(&self, path: &str, content_type: &str, body: &str) -> Response {
        self.request(Method::POST, path)
            .header(header::CONTENT_TYPE, content_type)
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }

    async fn delete(&self, path: &str) -> Response {
        self.request(Method::DELETE, path).send().await.unwrap()
    }

    /// A `POST` of an audio and video offer in `direction`, as application/sdp.
    async fn offer(&self, path: &str, direction: Direction) -> Response {
        self.post(path, "application/sdp", &offer(direction)).await
    }

    /// `DELETE` of a resource: 200.
    async fn stop(&self, resource: &Created) {
        let response = self.delete(&resource.location).await;
        let status = response.status();
        let body = response.text().await.unwrap();
        assert_eq!(
            status,
            StatusCode::OK,
            "DELETE {}: {body}",
            resource.location
        );
    }

    async fn patch(&self, path: &str, if_match: Option<&str>, fragment: &str) -> Response {
        let mut request = self
            .request(Method::PATCH, path)
            .header(header::CONTENT_TYPE, "application/trickle-ice-sdpfrag");
        if let Some(tag) = if_match {
            request = request.header(header::IF_MATCH, tag);
        }
        request.body(fragment.to_owned()).send().await.unwrap()
    }

    /// WHIP `POST` of a send-only audio and video offer: 201.
    async fn publish(&self, stream: &str) -> Created {
        let offer = offer(Direction::SendOnly);
        let path = format!("/whip/{stream}");
        let response = self.post(&path, "application/sdp", &offer).await;
        self.created(response, &format!("{path}/"))
            .await
            .with_ufrag(&offer)
    }

    /// WHEP `POST` of a receive-only audio and video offer: 201.
    async fn play(&self, stream: &str) -> Created {
        let offer = offer(Direction::RecvOnly);
        let path = format!("/whep/{stream}");
        let response = self.post(&path, "application/sdp", &offer).await;
        self.created(response, &format!("{path}/"))
            .await
            .with_ufrag(&offer)
    }

    /// Checks a 201 and the headers RFC 9725 asks of it; the Location is under `under`.
    async fn created(&self, response: Response, under: &str) -> Created {
        let status = response.status();
        let headers = response.headers().clone();
        let answer = response.text().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        let text = |name: header::HeaderName| {
            headers
                .get(&name)
                .unwrap_or_else(|| panic!("no {name}"))
                .to_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(text(header::CONTENT_TYPE), "application/sdp");
        assert!(answer.starts_with("v=0"), "{answer}");
        let location = text(header::LOCATION);
        let id = location
            .strip_prefix(under)
            .unwrap_or_else(|| panic!("{location} is not under {under}"));
        assert!(!id.is_empty() && !id.contains('/'), "{location}");
        // A strong, quoted entity-tag.
        let etag = text(header::ETAG);
        assert!(
            etag.len() > 2 && etag.starts_with('"') && etag.ends_with('"'),
            "{etag}"
        );
        // PATCH is offered for trickle ICE only when the SFU is ICE-lite (see
        // patch_answers_501_when_the_sfu_is_not_ice_lite).
        let accept_patch = headers.get("accept-patch").map(|v| v.to_str().unwrap());
        if answer.contains("a=ice-lite") {
            assert_eq!(accept_patch, Some("application/trickle-ice-sdpfrag"));
        } else {
            assert_eq!(accept_patch, None);
        }
        let links: Vec<String> = headers
            .get_all(header::LINK)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        for link in links.iter().filter(|l| !l.contains(SSE_REL)) {
            assert!(link.contains(r#"rel="ice-server""#), "{link}");
            if let Some(credential) = link_param(link, "credential") {
                self.secrets.lock().unwrap().push(credential);
            }
        }
        Created {
            location,
            etag,
            links,
            answer,
            ufrag: String::new(),
        }
    }

    /// Checks a refusal: its status, a plain-text reason, and no secret in it.
    async fn refused(&self, response: Response, status: StatusCode) -> String {
        let got = response.status();
        let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
        let body = response.text().await.unwrap();
        assert_eq!(got, status, "{body}");
        assert_eq!(
            content_type.as_ref().map(|v| v.to_str().unwrap()),
            Some("text/plain; charset=utf-8"),
            "{body}"
        );
        assert!(!body.is_empty());
        for secret in self.secrets.lock().unwrap().iter() {
            assert!(!body.contains(secret.as_str()), "a secret in {body:?}");
        }
        body
    }
}

impl Created {
    fn with_ufrag(mut self, offer: &str) -> Self {
        self.ufrag = ice_ufrag(offer).to_owned();
        self
    }
}

/// An offer of one audio and one video section in `direction`, from a str0m peer.
fn offer(direction: Direction) -> String {
    offer_of(direction, &[MediaKind::Audio, MediaKind::Video])
}

/// An offer of a section of each of `kinds` in `direction`, from a str0m peer.
fn offer_of(direction: Direction, kinds: &[MediaKind]) -> String {
    let mut rtc = str0m::Rtc::builder()
        .set_crypto_provider(Arc::new(str0m::crypto::from_feature_flags()))
        .build(Instant::now());
    let mut api = rtc.sdp_api();
    for &kind in kinds {
        let (stream, track) = match direction {
            Direction::RecvOnly => (None, None),
            _ => (
                Some("whip".to_owned()),
                Some(format!("{kind:?}").to_lowercase()),
            ),
        };
        api.add_media(kind, direction, stream, track, None);
    }
    let (offer, _pending) = api.apply().expect("an offer");
    offer.to_sdp_string()
}

fn ice_ufrag(sdp: &str) -> &str {
    sdp.lines()
        .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .map(str::trim)
        .expect("an a=ice-ufrag")
}

/// A trickle ICE fragment (RFC 8840) with one host candidate for the ICE session `ufrag`.
fn trickle(ufrag: &str) -> String {
    format!(
        "a=ice-ufrag:{ufrag}\r\na=ice-pwd:0123456789abcdefghijklmn\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=candidate:1 1 udp 2122260223 192.0.2.1 61764 typ host\r\na=end-of-candidates\r\n"
    )
}

/// A quoted parameter of a `Link` header value.
fn link_param(link: &str, name: &str) -> Option<String> {
    link.split(';').skip(1).find_map(|param| {
        let (key, value) = param.trim().split_once('=')?;
        (key == name).then(|| value.trim_matches('"').to_owned())
    })
}

/// A comma-separated header as a set of upper-case items.
fn methods(headers: &HeaderMap, name: header::HeaderName) -> BTreeSet<String> {
    headers
        .get_all(name)
        .iter()
        .flat_map(|v| v.to_str().unwrap().split(','))
        .map(|m| m.trim().to_ascii_uppercase())
        .filter(|m| !m.is_empty())
        .collect()
}

/// How many participants the stream's room has.
async fn participants(rooms: &Rooms, stream: &str) -> usize {
    let room = rooms.open(stream).await.unwrap();
    room.snapshot().await.unwrap().participants.len()
}

/// The SFU session of the resource at `location`.
async fn session_of(rooms: &Rooms, stream: &str, location: &str) -> String {
    let id = location.rsplit('/').next().unwrap();
    let room = rooms.open(stream).await.unwrap();
    room.participant(id)
        .await
        .unwrap()
        .info()
        .session_id
        .clone()
}

/// A proxy of the emulator's APIs that removes `a=ice-lite` from the SFU's answers to
/// clients' offers (the room's own peers only answer the SFU's offers, so they are untouched).
async fn without_ice_lite(emulator: &Emulator) -> String {
    use axum::body::Body;
    use axum::extract::Request;

    let upstream = emulator.base_url();
    let http = reqwest::Client::new();
    let proxy = axum::Router::new().fallback(move |request: Request| {
        let (upstream, http) = (upstream.clone(), http.clone());
        async move {
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
            let path = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let mut forward = http.request(parts.method.clone(), format!("{upstream}{path}"));
            for name in [header::AUTHORIZATION, header::CONTENT_TYPE] {
                if let Some(value) = parts.headers.get(&name) {
                    forward = forward.header(name, value);
                }
            }
            let response = forward.body(body).send().await.unwrap();
            let status = response.status();
            let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
            let mut text = response.text().await.unwrap();
            if text.contains(r#""type":"answer""#) {
                text = text.replace(r"a=ice-lite\r\n", "");
            }
            let mut reply = axum::response::Response::new(Body::from(text));
            *reply.status_mut() = status;
            if let Some(value) = content_type {
                reply.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            reply
        }
    });
    serve(proxy).await
}

/// Serves `app` on a loopback port: its `http://` base URL.
async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}
