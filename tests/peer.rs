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
