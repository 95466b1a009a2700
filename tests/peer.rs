//! The server-side peer against the emulator, over real WebRTC on loopback.

#![cfg(feature = "peer")]

use std::time::{Duration, Instant};

use calls_emulator::Emulator;
use cloudflare_calls::{
    Client, Config, ConnectionState, DataChannel, Error, ErrorCode, MediaKind, Message, Peer,
    PeerError, RemoteTrack,
};
use futures_core::Stream;

fn client(emulator: &Emulator) -> Client {
    Client::new(Config::new(
        emulator.sfu_base_url(),
        emulator.app_id(),
        emulator.app_secret(),
    ))
    .unwrap()
}

async fn next<S>(sub: &mut S) -> Message
where
    S: futures_core::Stream<Item = cloudflare_calls::Result<Message>> + Unpin,
{
    let item = std::future::poll_fn(|cx| std::pin::Pin::new(&mut *sub).poll_next(cx));
    tokio::time::timeout(Duration::from_secs(10), item)
        .await
        .expect("a message within 10 s")
        .expect("the subscription is open")
        .expect("no error item")
}

/// Waits until nothing listens on `port` any more (a socket can be bound to it again).
async fn port_released(port: u16) -> bool {
    let end = Instant::now() + Duration::from_secs(2);
    while Instant::now() < end {
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn published_messages_reach_a_subscriber_and_replies_come_back() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let alice = client.peer().connect().await.unwrap();
    assert_eq!(alice.state(), ConnectionState::Connected);
    let bob = client.peer().connect().await.unwrap();

    let chat = alice.publish(DataChannel::publish("chat")).await.unwrap();
    let mut sub = bob
        .subscribe(DataChannel::subscribe(alice.session().id(), "chat").can_reply(true))
        .await
        .unwrap();

    chat.send_text("Hello!").await.unwrap();
    chat.send_binary(&[0, 159, 146, 150]).await.unwrap();
    assert_eq!(next(&mut sub).await, Message::Text("Hello!".into()));
    assert_eq!(
        next(&mut sub).await,
        Message::Binary(vec![0, 159, 146, 150].into())
    );

    let mut replies = chat.take_replies().expect("replies are taken once");
    assert!(chat.take_replies().is_none());
    sub.reply_text("hi alice").await.unwrap();
    sub.reply_binary(b"\x01\x02").await.unwrap();
    assert_eq!(next(&mut replies).await, Message::Text("hi alice".into()));
    assert_eq!(
        next(&mut replies).await,
        Message::Binary(b"\x01\x02".to_vec().into())
    );

    alice.close().await.unwrap();
    bob.close().await.unwrap();
    assert_eq!(emulator.stats().with_status(406), 0);
}

#[tokio::test]
async fn a_slow_subscriber_of_a_reliable_channel_ends_with_lagged_not_silent_loss() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let alice = client.peer().connect().await.unwrap();
    let bob = client.peer().channel_buffer(8).connect().await.unwrap();
    let chat = alice.publish(DataChannel::publish("chat")).await.unwrap();
    let mut sub = bob
        .subscribe(DataChannel::subscribe(alice.session().id(), "chat"))
        .await
        .unwrap();
    for i in 0..50 {
        chat.send_text(&format!("m{i}")).await.unwrap();
    }
    let end = Instant::now() + Duration::from_secs(10);
    while sub.dropped() < 42 {
        assert!(Instant::now() < end, "only {} dropped", sub.dropped());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for i in 0..8 {
        assert_eq!(next(&mut sub).await, Message::Text(format!("m{i}")));
    }
    match sub.recv().await {
        Some(Err(Error::Peer(PeerError::Lagged { missed }))) => assert_eq!(missed, 42),
        other => panic!("expected Lagged, got {other:?}"),
    }
    assert!(sub.recv().await.is_none(), "the subscription ended");
}

#[tokio::test]
async fn bad_input_is_a_typed_error() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let alice = client.peer().connect().await.unwrap();
    let bob = client.peer().connect().await.unwrap();

    // Nobody publishes "ghost".
    let err = bob
        .subscribe(DataChannel::subscribe(alice.session().id(), "ghost"))
        .await
        .unwrap_err();
    match &err {
        Error::Peer(PeerError::ChannelRefused { name, code, .. }) => {
            assert_eq!(name, "ghost");
            assert_eq!(*code, ErrorCode::NotFound);
        }
        other => panic!("expected ChannelRefused, got {other:?}"),
    }
    // Nobody pushes "ghost" either.
    let err = bob
        .pull(RemoteTrack::new(alice.session().id(), "ghost"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Peer(PeerError::TrackRefused { name, .. }) if name == "ghost"),
        "{err:?}"
    );
    // Publish/subscribe mix-ups are refused before anything is sent.
    let err = alice
        .publish(DataChannel::subscribe(bob.session().id(), "x"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");

    // Replies need can_reply.
    let chat = alice.publish(DataChannel::publish("chat")).await.unwrap();
    let sub = bob
        .subscribe(DataChannel::subscribe(alice.session().id(), "chat"))
        .await
        .unwrap();
    let err = sub.reply_text("hi").await.unwrap_err();
    assert!(
        matches!(err, Error::Peer(PeerError::ReplyNotGranted(_))),
        "{err:?}"
    );

    // Sending or pushing through handles of a closed peer.
    let mic = alice.push_track("mic", MediaKind::Audio).await.unwrap();
    alice.close().await.unwrap();
    let err = chat.send_text("late").await.unwrap_err();
    assert!(matches!(err, Error::Peer(PeerError::Closed)), "{err:?}");
    let err = mic
        .send_frame(
            cloudflare_calls::peer::OPUS_SILENCE_20MS.to_vec(),
            Duration::from_millis(20),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Peer(PeerError::Closed)), "{err:?}");
    bob.close().await.unwrap();
}

#[tokio::test]
async fn a_peer_whose_session_expired_gets_a_410_and_leaves_nothing_running() {
    let emulator = Emulator::builder()
        .unconnected_session_ttl(Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    let client = client(&emulator);
    let peer = client.peer().send().await.unwrap();
    assert_eq!(peer.state(), ConnectionState::New);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let err = peer
        .publish(DataChannel::publish("chat"))
        .await
        .unwrap_err();
    assert!(err.is_session_gone(), "{err:?}");
    let port = peer.local_addr().port();
    drop(peer);
    assert!(port_released(port).await, "the peer's socket is closed");
}

#[tokio::test]
async fn dropping_a_connected_peer_stops_its_task_and_frees_its_port() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let peer = client.peer().connect().await.unwrap();
    let chat = peer.publish(DataChannel::publish("chat")).await.unwrap();
    let port = peer.local_addr().port();
    assert!(
        std::net::UdpSocket::bind(("127.0.0.1", port)).is_err(),
        "the port is in use while the peer runs"
    );
    let mut states = peer.watch_state();
    drop(peer);
    assert!(port_released(port).await, "the peer's socket is closed");
    // The driver is gone: its state sender too, and handles fail.
    assert!(states.changed().await.is_err());
    let err = chat.send_text("after drop").await.unwrap_err();
    assert!(matches!(err, Error::Peer(PeerError::Closed)), "{err:?}");
}

#[tokio::test]
async fn pushed_opus_silence_reaches_a_pulling_peer() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let alice = client.peer().send().await.unwrap();
    let bob = client.peer().send().await.unwrap();
    let mic = alice.push_track("mic", MediaKind::Audio).await.unwrap();
    assert_eq!(alice.state(), ConnectionState::Connected);
    let source = {
        let mic = mic.clone();
        tokio::spawn(async move { mic.send_silence(Duration::from_secs(5)).await })
    };
    let mut pulled = bob
        .pull(RemoteTrack::new(alice.session().id(), "mic"))
        .await
        .unwrap();
    assert_eq!(pulled.name(), "mic");
    let mut last = None;
    for _ in 0..10 {
        let frame = tokio::time::timeout(Duration::from_secs(5), pulled.recv())
            .await
            .expect("a frame within 5 s")
            .expect("the track is open");
        assert_eq!(
            &frame.payload[..],
            &cloudflare_calls::peer::OPUS_SILENCE_20MS[..]
        );
        assert_eq!(&*frame.track, "mic");
        if let Some(prev) = last {
            assert!(frame.timestamp > prev, "timestamps advance");
        }
        last = Some(frame.timestamp);
    }
    pulled.request_keyframe().await.unwrap();
    source.abort();
    alice.close().await.unwrap();
    bob.close().await.unwrap();
}
