//! Rooms against the emulator, with server-side peers as participants: media both ways,
//! messages, events, leaving, kicking, closing, and what each leaves open on the SFU.

#![cfg(feature = "room")]

use crate::support::room as room_support;

use room_support::{client, nothing_open};
use std::time::Duration;

use calls_emulator::Emulator;
use cloudflare_calls::Offer;
use cloudflare_calls::peer::{FrameCodec, IncomingTrack};
use cloudflare_calls::room::{
    LeaveReason, MemoryStore, Payload, Role, Room, RoomError, RoomEvent, RoomPeer, RoomUpdate,
};

/// The next update matching `want`, skipping others; panics after 10 s.
async fn until(peer: &mut RoomPeer, what: &str, want: impl Fn(&RoomUpdate) -> bool) -> RoomUpdate {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let update = peer
            .recv_timeout(left)
            .await
            .unwrap_or_else(|| panic!("{what} within 10 s"));
        if want(&update) {
            return update;
        }
    }
}

async fn frames(track: &mut IncomingTrack, n: usize) {
    for _ in 0..n {
        tokio::time::timeout(Duration::from_secs(10), track.recv())
            .await
            .expect("a frame within 10 s")
            .expect("the track is open");
    }
}

fn message_text(update: &RoomUpdate) -> Option<(&Option<String>, &str)> {
    match &update.event {
        RoomEvent::Message {
            from,
            payload: Payload::Text(text),
            ..
        } => Some((from, text)),
        _ => None,
    }
}

#[tokio::test]
async fn two_peers_exchange_media_and_messages_then_leave_nothing_open() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let rooms = client.rooms(MemoryStore::new());
    let room = rooms.create().id("demo").send().await.unwrap();
    let mut events = room.events().await.unwrap();
    let host = room.snapshot().await.unwrap().room.host_session_id;

    let mut alice = room.join("alice").connect(client.peer()).await.unwrap();
    let alice_mic = alice.publish_track("mic", FrameCodec::Opus).await.unwrap();
    let mut bob = room.join("bob").connect(client.peer()).await.unwrap();
    // Bob pulled Alice's microphone as he joined.
    let mut from_alice = bob.take_tracks();
    assert_eq!(from_alice.len(), 1);
    let bob_cam = bob.publish_track("cam", FrameCodec::H264).await.unwrap();

    // Alice learns of Bob and his camera on the room channel, and pulls it.
    let joined = until(&mut alice, "bob joined", |u| {
        matches!(&u.event, RoomEvent::ParticipantJoined { participant } if participant.identity == "bob")
    })
    .await;
    let published = until(&mut alice, "bob's camera", |u| {
        matches!(&u.event, RoomEvent::TracksPublished { .. })
    })
    .await;
    assert!(published.seq > joined.seq);
    let RoomEvent::TracksPublished { tracks, .. } = published.event else {
        unreachable!()
    };
    assert_eq!(tracks.len(), 1);
    assert_eq!(tracks[0].name, "cam");
    let mut from_bob = alice.pull(&tracks).await.unwrap().remove(0);

    let sending = tokio::spawn(async move {
        let a = alice_mic.send_silence(Duration::from_secs(3));
        let mut pattern = cloudflare_calls::peer::TestPattern::new(64, 48).unwrap();
        let b = bob_cam.send_test_pattern(
            &mut pattern,
            Duration::from_millis(33),
            Duration::from_secs(3),
        );
        let (a, b) = tokio::join!(a, b);
        a.and(b)
    });
    frames(&mut from_alice[0], 20).await;
    frames(&mut from_bob, 20).await;
    sending.await.unwrap().unwrap();

    // The server's message reaches both; Bob's reaches the app and Alice; a direct one
    // reaches only its addressee.
    room.send_message("Hello!").await.unwrap();
    let hello = until(&mut alice, "Hello!", |u| message_text(u).is_some()).await;
    assert_eq!(message_text(&hello), Some((&None, "Hello!")));
    bob.send_text("hi all").await.unwrap();
    let bob_id = bob.participant().id().to_owned();
    let heard = until(&mut alice, "bob's message", |u| message_text(u).is_some()).await;
    assert_eq!(
        message_text(&heard),
        Some((&Some(bob_id.clone()), "hi all"))
    );
    room.send_to(alice.participant().id(), "just you")
        .await
        .unwrap();
    let direct = until(&mut alice, "a direct message", |u| {
        message_text(u).is_some()
    })
    .await;
    assert_eq!(message_text(&direct).map(|m| m.1), Some("just you"));
    room.send_message("after").await.unwrap();
    let next = until(&mut bob, "the next server message", |u| {
        message_text(u).is_some_and(|(from, _)| from.is_none())
    })
    .await;
    assert_eq!(message_text(&next).map(|m| m.1), Some("Hello!"));
    let next = until(&mut bob, "the next server message", |u| {
        message_text(u).is_some_and(|(from, _)| from.is_none())
    })
    .await;
    assert_eq!(
        message_text(&next).map(|m| m.1),
        Some("after"),
        "bob got the direct message"
    );

    let sessions = vec![
        host.clone(),
        alice.participant().session().id().to_owned(),
        bob.participant().session().id().to_owned(),
    ];
    let alice_id = alice.participant().id().to_owned();
    bob.leave().await.unwrap();
    let left = until(&mut alice, "bob left", |u| {
        matches!(&u.event, RoomEvent::ParticipantLeft { .. })
    })
    .await;
    let RoomEvent::ParticipantLeft {
        participant,
        reason,
    } = left.event
    else {
        unreachable!()
    };
    assert_eq!(
        (participant.identity.as_str(), reason),
        ("bob", LeaveReason::Left)
    );
    room.kick(&alice_id).await.unwrap();
    assert!(room.participants().await.unwrap().is_empty());
    room.close().await.unwrap();
    nothing_open(&client, &sessions).await;

    // The app saw it all, in order and without gaps.
    let mut seen = Vec::new();
    while let Ok(Some(update)) = tokio::time::timeout(
        Duration::from_millis(200),
        futures_util::StreamExt::next(&mut events),
    )
    .await
    {
        seen.push(update.unwrap());
    }
    let seqs: Vec<u64> = seen.iter().map(|u| u.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    assert!(
        seen.iter()
            .any(|u| matches!(&u.event, RoomEvent::Message { from: Some(f), .. } if *f == bob_id))
    );
    assert!(seen.iter().any(|u| matches!(
        &u.event,
        RoomEvent::ParticipantLeft {
            reason: LeaveReason::Kicked,
            ..
        }
    )));
    assert_eq!(seen.last().map(|u| &u.event), Some(&RoomEvent::RoomClosed));
    drop(alice);
}

#[tokio::test]
async fn refusals_are_typed_and_leave_nothing_behind() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let rooms = client.rooms(MemoryStore::new());
    let room = rooms
        .create()
        .id("small")
        .max_participants(1)
        .send()
        .await
        .unwrap();
    let room_error = |e: RoomError| format!("{e:?}");

    let err = rooms.create().id("small").send().await.unwrap_err();
    assert!(
        matches!(Some(&err), Some(RoomError::RoomExists(_))),
        "{err}"
    );
    let err = rooms.open("nope").await.unwrap_err();
    assert!(
        matches!(Some(&err), Some(RoomError::RoomNotFound(_))),
        "{err}"
    );

    let err = room
        .join("x")
        .offer(Offer::new("not sdp"))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(Some(&err), Some(RoomError::MalformedOffer(_))),
        "{}",
        room_error(err)
    );
    let err = room
        .watch("x")
        .offer(Offer::new("not sdp"))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(Some(&err), Some(RoomError::MalformedOffer(_))),
        "{err}"
    );
    let no_media = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
    let err = room
        .join("x")
        .offer(Offer::new(no_media))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(Some(&err), Some(RoomError::NoMedia)), "{err}");

    let alice = room.join("alice").connect(client.peer()).await.unwrap();
    let sessions_before = emulator.session_count();
    let err = room.join("alice").connect(client.peer()).await.unwrap_err();
    assert!(
        matches!(Some(&err), Some(RoomError::RoomFull { max: 1, .. })),
        "{err}"
    );
    assert_eq!(
        emulator.session_count(),
        sessions_before,
        "a refused join made a session"
    );
    assert_eq!(room.participants().await.unwrap().len(), 1);

    let err = room.kick("p-nobody").await.unwrap_err();
    assert!(
        matches!(Some(&err), Some(RoomError::ParticipantNotFound { .. })),
        "{err}"
    );

    room.close().await.unwrap();
    let err = room.join("late").connect(client.peer()).await.unwrap_err();
    assert!(
        matches!(Some(&err), Some(RoomError::RoomClosed(_))),
        "{err}"
    );
    let err = rooms.open("small").await.unwrap_err();
    assert!(
        matches!(Some(&err), Some(RoomError::RoomClosed(_))),
        "{err}"
    );
    drop(alice);
}

#[tokio::test]
async fn an_identity_already_present_is_refused_and_the_first_stays() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let room = client
        .rooms(MemoryStore::new())
        .create()
        .send()
        .await
        .unwrap();
    let alice = room.join("alice").connect(client.peer()).await.unwrap();
    let err = room.join("alice").connect(client.peer()).await.unwrap_err();
    assert!(
        matches!(Some(&err), Some(RoomError::IdentityTaken { .. })),
        "{err}"
    );
    let present = room.participants().await.unwrap();
    assert_eq!(present.len(), 1);
    assert_eq!(present[0].id, alice.participant().id());
    room.close().await.unwrap();
}

#[tokio::test]
async fn viewers_and_members_receive_the_broadcast_and_a_second_one_is_refused() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let room: Room = client
        .rooms(MemoryStore::new())
        .create()
        .send()
        .await
        .unwrap();
    let stage = room
        .join("stage")
        .role(Role::Broadcaster)
        .connect(client.peer())
        .await
        .unwrap();
    let mic = stage.publish_track("mic", FrameCodec::Opus).await.unwrap();
    let mut member = room.join("member").connect(client.peer()).await.unwrap();
    let mut viewer = room.watch("viewer").connect(client.peer()).await.unwrap();
    assert_eq!(viewer.participant().info().role, Role::Viewer);
    let sending = tokio::spawn(async move { mic.send_silence(Duration::from_secs(2)).await });
    for peer in [&mut member, &mut viewer] {
        let mut tracks = peer.take_tracks();
        assert_eq!(tracks.len(), 1, "the broadcast's microphone");
        frames(&mut tracks[0], 20).await;
    }
    sending.await.unwrap().unwrap();
    // The viewer publishes nothing and pulls only the broadcast: the member's tracks are
    // not for it.
    let err = room
        .join("stage2")
        .role(Role::Broadcaster)
        .connect(client.peer())
        .await
        .unwrap_err();
    assert!(
        matches!(Some(&err), Some(RoomError::BroadcastTaken(_))),
        "{err}"
    );
    // The same identity as the broadcast's: still the broadcast that is taken, as documented.
    let err = room
        .join("stage")
        .role(Role::Broadcaster)
        .connect(client.peer())
        .await
        .unwrap_err();
    assert!(matches!(err, RoomError::BroadcastTaken(_)), "{err}");
    assert_eq!(
        stage.participant().info().identity,
        "stage",
        "the broadcaster keeps its name"
    );
    room.close().await.unwrap();
}

/// A track closed on the SFU behind the room's back (a ghost: the store still lists it) does
/// not fail a join: the join pulls the rest, lists the ghost as not pulled, and the room
/// unpublishes it, so the next join does not meet it.
#[tokio::test]
async fn a_join_pulls_what_is_there_and_the_room_repairs_a_ghost_track() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let rooms = client.rooms(MemoryStore::new());
    let room = rooms.create().id("ghosts").send().await.unwrap();
    let mut events = room.events().await.unwrap();

    let alice = room.join("alice").connect(client.peer()).await.unwrap();
    let tracks = alice
        .publish_tracks([
            ("mic".to_owned(), FrameCodec::Opus),
            ("music".to_owned(), FrameCodec::Opus),
        ])
        .await
        .unwrap();
    let mic_mid = tracks[0].mid().to_owned();
    for track in tracks {
        tokio::spawn(async move { track.send_silence(Duration::from_secs(30)).await });
    }
    let closed = alice
        .peer()
        .session()
        .close_tracks([mic_mid], cloudflare_calls::session::CloseMode::Force)
        .send()
        .await
        .unwrap();
    assert_eq!(closed.closed.len(), 1, "{closed:?}");

    let mut bob = room.join("bob").connect(client.peer()).await.unwrap();
    let pulled: Vec<String> = bob
        .take_tracks()
        .iter()
        .map(|t| t.name().to_owned())
        .collect();
    assert_eq!(pulled, ["music"], "bob pulls what the SFU has");
    let ghosts: Vec<_> = bob
        .not_pulled()
        .iter()
        .map(|r| r.track_name.clone())
        .collect();
    assert_eq!(
        ghosts,
        [Some("mic".to_owned())],
        "and says what it could not"
    );

    // The room unpublished the ghost in alice's name and told everyone.
    let unpublished = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let update = futures_util::StreamExt::next(&mut events)
                .await
                .unwrap()
                .unwrap();
            if let RoomEvent::TracksUnpublished {
                participant,
                tracks,
            } = update.event
            {
                return (participant, tracks);
            }
        }
    })
    .await
    .expect("tracks_unpublished within 10 s");
    assert_eq!(unpublished.0, alice.participant().id());
    assert_eq!(unpublished.1.len(), 1);
    assert_eq!(unpublished.1[0].name, "mic");
    let snapshot = room.snapshot().await.unwrap();
    let listed: Vec<&str> = snapshot
        .participants
        .iter()
        .filter(|p| p.info.identity == "alice")
        .flat_map(|p| p.published.iter().map(|(_, t)| t.name.as_str()))
        .collect();
    assert_eq!(listed, ["music"]);

    let mut carol = room.join("carol").connect(client.peer()).await.unwrap();
    assert!(carol.not_pulled().is_empty(), "{:?}", carol.not_pulled());
    assert_eq!(carol.take_tracks().len(), 1);
}

/// A join returns once the room reads the newcomer's channel: a message sent at once is heard.
#[tokio::test]
async fn a_message_sent_as_soon_as_a_join_returns_is_heard() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let room = client
        .rooms(MemoryStore::new())
        .create()
        .send()
        .await
        .unwrap();
    let mut listener = room.join("listener").connect(client.peer()).await.unwrap();
    let mut speakers = Vec::new();
    for n in 0..5 {
        let speaker = room
            .join(format!("speaker {n}"))
            .connect(client.peer())
            .await
            .unwrap();
        speaker.send_text(&format!("hello {n}")).await.unwrap();
        speakers.push(speaker);
    }
    for n in 0..5 {
        let want = format!("hello {n}");
        let heard = until(&mut listener, &want, |u| {
            message_text(u).is_some_and(|(_, text)| text.starts_with("hello"))
        })
        .await;
        assert_eq!(message_text(&heard).map(|m| m.1), Some(want.as_str()));
    }
}
