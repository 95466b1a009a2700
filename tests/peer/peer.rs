//! The server-side peer against the emulator, over real WebRTC on loopback.

#![cfg(feature = "peer")]

use std::time::{Duration, Instant};

use calls_emulator::{Emulator, Fault};
use cloudflare_calls::peer::{ConnectionState, FrameCodec, Message, PeerError};
use cloudflare_calls::{Client, Config, DataChannel, Error, ErrorCode, RemoteTrack};

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
    S: futures_core::Stream<Item = Result<Message, PeerError>> + Unpin,
{
    let item = std::future::poll_fn(|cx| {
        futures_core::Stream::poll_next(std::pin::Pin::new(&mut *sub), cx)
    });
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
        Some(Err(PeerError::Lagged { missed })) => assert_eq!(missed, 42),
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
        PeerError::ChannelRefused { name, code, .. } => {
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
        matches!(&err, PeerError::TracksRefused(refused)
            if refused.len() == 1 && refused[0].track_name.as_deref() == Some("ghost")),
        "{err:?}"
    );
    // Publish/subscribe mix-ups are refused before anything is sent.
    let err = alice
        .publish(DataChannel::subscribe(bob.session().id(), "x"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, PeerError::Api(Error::InvalidArgument(_))),
        "{err:?}"
    );

    // Replies need can_reply.
    let chat = alice.publish(DataChannel::publish("chat")).await.unwrap();
    let sub = bob
        .subscribe(DataChannel::subscribe(alice.session().id(), "chat"))
        .await
        .unwrap();
    let err = sub.reply_text("hi").await.unwrap_err();
    assert!(matches!(err, PeerError::ReplyNotGranted(_)), "{err:?}");

    // A built-in source with no interval between frames is refused, not a panic.
    let mic = alice.push_track("mic", FrameCodec::Opus).await.unwrap();
    let mut pattern = cloudflare_calls::peer::TestPattern::new(16, 16).unwrap();
    let err = mic
        .send_test_pattern(&mut pattern, Duration::ZERO, Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(
        matches!(err, PeerError::Api(Error::InvalidArgument(_))),
        "{err:?}"
    );

    // Sending or pushing through handles of a closed peer.
    alice.close().await.unwrap();
    let err = chat.send_text("late").await.unwrap_err();
    assert!(matches!(err, PeerError::Closed), "{err:?}");
    let err = mic
        .send_frame(
            cloudflare_calls::peer::OPUS_SILENCE_20MS.to_vec(),
            Duration::from_millis(20),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, PeerError::Closed), "{err:?}");
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
    let peer = client.peer().start().await.unwrap();
    assert_eq!(peer.state(), ConnectionState::New);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let err = peer
        .publish(DataChannel::publish("chat"))
        .await
        .unwrap_err();
    assert!(err.api().is_some_and(Error::is_session_gone), "{err:?}");
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
    assert!(matches!(err, PeerError::Closed), "{err:?}");
}

#[tokio::test]
async fn pushed_opus_silence_reaches_a_pulling_peer() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let alice = client.peer().start().await.unwrap();
    let bob = client.peer().start().await.unwrap();
    let mic = alice.push_track("mic", FrameCodec::Opus).await.unwrap();
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

/// One publisher, 100 subscribing peers, 1,000 ordered reliable messages: every subscriber
/// receives all of them, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_to_100_subscribers_loses_nothing_and_keeps_order() {
    let _heavy = crate::support::heavy::heavy().await;
    fan_out(100, 1_000).await;
}

/// The same with 10 subscribers: a quick check that fails on its own when delivery breaks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_to_10_subscribers_loses_nothing_and_keeps_order() {
    fan_out(10, 1_000).await;
}

/// A publisher far faster than the path to its subscriber: the emulator queues what SCTP has
/// no room for instead of dropping it, as a reliable channel must.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_20_000_reliable_messages_arrives_whole_and_in_order() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let alice = client.peer().connect().await.unwrap();
    let feed = alice.publish(DataChannel::publish("feed")).await.unwrap();
    let bob = client
        .peer()
        .channel_buffer(32_768)
        .connect()
        .await
        .unwrap();
    let mut sub = bob
        .subscribe(DataChannel::subscribe(alice.session().id(), "feed"))
        .await
        .unwrap();
    let payload = "x".repeat(200);
    for i in 0..20_000 {
        feed.send_text(&format!("{i} {payload}")).await.unwrap();
    }
    for i in 0..20_000 {
        match tokio::time::timeout(Duration::from_secs(30), sub.recv()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                assert!(
                    t.starts_with(&format!("{i} ")),
                    "message {i} came as {:?}",
                    &t[..12]
                )
            }
            other => panic!("message {i}: {other:?}"),
        }
    }
    assert_eq!(sub.dropped(), 0);
}

async fn fan_out(subscribers: usize, messages: usize) {
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .try_init();
    let started = Instant::now();
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let alice = client.peer().connect().await.unwrap();
    let feed = alice.publish(DataChannel::publish("feed")).await.unwrap();
    let publisher = alice.session().id().to_owned();

    // Connect the subscribers a few at a time: each one is a full ICE + DTLS + SCTP setup.
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(8));
    let mut joining = tokio::task::JoinSet::new();
    for _ in 0..subscribers {
        let (client, gate, publisher) = (client.clone(), gate.clone(), publisher.clone());
        joining.spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            let peer = client.peer().connect().await.unwrap();
            let sub = peer
                .subscribe(DataChannel::subscribe(publisher, "feed"))
                .await
                .unwrap();
            (peer, sub)
        });
    }
    let mut peers = Vec::new();
    let mut readers = tokio::task::JoinSet::new();
    while let Some(joined) = joining.join_next().await {
        let (peer, mut sub) = joined.unwrap();
        peers.push(peer);
        readers.spawn(async move {
            let mut i = 0;
            while i < messages {
                match tokio::time::timeout(Duration::from_secs(60), sub.recv()).await {
                    Ok(Some(Ok(Message::Text(t)))) if t == i.to_string() => i += 1,
                    other => return Err(format!("message {i}: {other:?}")),
                }
            }
            Ok(sub.dropped())
        });
    }
    let connected = started.elapsed();
    eprintln!("fan-out: {subscribers} peers connected in {connected:?}");

    for i in 0..messages {
        feed.send_text(&i.to_string()).await.unwrap();
    }
    let sent = started.elapsed() - connected;
    let mut outcomes = Vec::new();
    while let Some(read) = readers.join_next().await {
        outcomes.push(read.unwrap());
    }
    eprintln!(
        "fan-out: {messages} messages sent in {sent:?}, received by all in {:?}",
        started.elapsed() - connected
    );
    let failed: Vec<_> = outcomes.iter().filter(|o| **o != Ok(0)).collect();
    assert!(
        failed.is_empty(),
        "{} subscriber(s) failed: {failed:?}",
        failed.len()
    );
    assert_eq!(outcomes.len(), subscribers);
    drop(peers);
    alice.close().await.unwrap();
}

#[tokio::test]
async fn a_connection_that_does_not_come_up_in_time_is_a_typed_timeout() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    // The SFU takes a second to take the peer's answer: the setup cannot finish in 100 ms.
    let slow = Fault::latency(Duration::from_secs(1)).on("renegotiate_session");
    emulator.inject(slow);
    let timeout = Duration::from_millis(100);
    let err = client
        .peer()
        .connect_timeout(timeout)
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(err, PeerError::ConnectTimeout(d) if d == timeout),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_offer_the_peer_cannot_parse_is_refused_without_quoting_it() {
    use cloudflare_calls::{Answerer, Offer};
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let mut peer = client.peer().start().await.unwrap();
    let err = peer
        .answer(Offer::new(
            "v=0\r\na=ice-pwd:hunter2hunter2hunter2\r\nm=nonsense\r\n",
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(err.downcast_ref::<PeerError>(), Some(PeerError::Sdp(_))),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
}

#[tokio::test]
async fn a_slow_subscriber_of_an_unreliable_channel_drops_and_counts() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let alice = client.peer().connect().await.unwrap();
    let bob = client.peer().channel_buffer(4).connect().await.unwrap();
    let cursor = alice
        .publish(
            DataChannel::publish("cursor")
                .ordered(false)
                .max_retransmits(0),
        )
        .await
        .unwrap();
    let mut sub = bob
        .subscribe(
            DataChannel::subscribe(alice.session().id(), "cursor")
                .ordered(false)
                .max_retransmits(0),
        )
        .await
        .unwrap();
    for i in 0..40 {
        cursor.send_text(&format!("m{i}")).await.unwrap();
    }
    let end = Instant::now() + Duration::from_secs(10);
    while sub.dropped() == 0 {
        assert!(Instant::now() < end, "nothing counted as dropped");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The buffered ones are there, and the subscription goes on.
    for _ in 0..4 {
        assert!(matches!(next(&mut sub).await, Message::Text(_)));
    }
    cursor.send_text("after").await.unwrap();
    loop {
        if next(&mut sub).await == Message::Text("after".into()) {
            break;
        }
    }
}

/// A publisher's frame that does not depacketize (Opus bytes on an H264 track) is dropped by
/// the SFU; it does not end the publisher's session or its track.
#[tokio::test]
async fn a_malformed_frame_is_dropped_and_the_session_lives_on() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let alice = client.peer().connect().await.unwrap();
    let cam = alice.push_track("cam", FrameCodec::H264).await.unwrap();
    cam.send_silence(Duration::from_millis(200)).await.unwrap();
    let state = alice.session().state().await.expect("the session lives on");
    assert!(
        state
            .tracks
            .iter()
            .any(|t| t.track_name.as_deref() == Some("cam") && t.is_active()),
        "{state:?}"
    );
    let bob = client.peer().connect().await.unwrap();
    bob.pull(RemoteTrack::new(alice.session().id(), "cam"))
        .await
        .expect("the track can still be pulled");
    assert_eq!(alice.state(), ConnectionState::Connected);
}

/// An emulator told to announce another address than the one it listens on (for clients that
/// cannot use loopback, or reach it from outside a container) offers that address in its ICE
/// candidates, and peers connect and exchange media through it.
#[tokio::test]
async fn an_emulator_announcing_another_address_connects_peers_through_it() {
    // This machine's address on the interface with the default route; connecting a UDP socket
    // sends nothing.
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    probe
        .connect("1.1.1.1:53")
        .expect("a default route to find this machine's address");
    let ip = probe.local_addr().unwrap().ip();
    assert!(!ip.is_loopback(), "{ip}");
    let emulator = Emulator::builder().announce(ip).start().await.unwrap();
    let client = client(&emulator);
    // The SFU's offer names the announced address, and only it.
    let session = client.new_session().send().await.unwrap();
    let probe =
        cloudflare_calls::LocalTrack::offered_by_sfu("probe", cloudflare_calls::MediaKind::Audio);
    let added = session.add_tracks().push(probe).send().await.unwrap();
    let pending = added.negotiation.into_pending().expect("the SFU offers");
    let candidates: Vec<&str> = pending
        .offer()
        .sdp()
        .lines()
        .filter(|l| l.starts_with("a=candidate"))
        .collect();
    assert!(!candidates.is_empty());
    for candidate in &candidates {
        assert!(candidate.contains(&format!(" {ip} ")), "{candidate}");
    }
    drop(pending);
    let alice = client.peer().connect().await.unwrap();
    let mic = alice.push_track("mic", FrameCodec::Opus).await.unwrap();
    let bob = client.peer().connect().await.unwrap();
    let mut heard = bob
        .pull(RemoteTrack::new(alice.session().id(), "mic"))
        .await
        .unwrap();
    tokio::spawn(async move { mic.send_silence(Duration::from_secs(5)).await });
    let frame = tokio::time::timeout(Duration::from_secs(10), heard.recv())
        .await
        .expect("a frame within 10 s through the announced address");
    assert!(frame.is_some());
    assert_eq!(alice.state(), ConnectionState::Connected);
}

/// The SFU goes silent under a connected peer (the emulator stops): the peer reports
/// `Disconnected`, then `Failed` once that lasted 10 s, instead of waiting for good. An idle
/// peer only wakes when str0m asks it to, so this is str0m's consent check at work.
#[tokio::test]
async fn a_peer_whose_sfu_goes_silent_fails() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let peer = client.peer().connect().await.unwrap();
    let mut states = peer.watch_state();
    let silent = Instant::now();
    drop(emulator);
    let mut seen = Vec::new();
    let failed = tokio::time::timeout(Duration::from_secs(60), async {
        while states.changed().await.is_ok() {
            let state = *states.borrow();
            seen.push((state, silent.elapsed()));
            if state == ConnectionState::Failed {
                return;
            }
        }
    })
    .await;
    assert!(failed.is_ok(), "failed within 60 s; states: {seen:?}");
    println!("states after the SFU went silent: {seen:?}");
}
