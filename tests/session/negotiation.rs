//! Negotiation as values against the emulator, with the crate's server-side peers answering
//! the SFU's offers: batches over 64 tracks, and a pending offer that keeps other changes out.

#![cfg(feature = "peer")]

use std::time::Duration;

use calls_emulator::Emulator;
use cloudflare_calls::peer::{ConnectionState, FrameCodec};
use cloudflare_calls::session::CloseMode;
use cloudflare_calls::{
    Answerer, Client, Config, Error, LocalTrack, MediaKind, Negotiation, Peer, RemoteTrack, Session,
};

fn client(emulator: &Emulator) -> Client {
    Client::new(Config::new(
        emulator.sfu_base_url(),
        emulator.app_id(),
        emulator.app_secret(),
    ))
    .unwrap()
}

/// A peer of its own session, not connected until its first answer.
/// A peer with Opus and VP8 only: its answers for 150 media sections stay under the body
/// limit (each codec adds payload types to every section).
async fn peer(client: &Client) -> (Peer, Session) {
    let lean = [FrameCodec::Opus, FrameCodec::Vp8];
    let peer = client.peer().codecs(lean).start().await.unwrap();
    let session = peer.session().clone();
    (peer, session)
}

async fn until_connected(peer: &Peer) {
    let mut states = peer.watch_state();
    let connected = states.wait_for(|s| *s == ConnectionState::Connected);
    tokio::time::timeout(Duration::from_secs(10), connected)
        .await
        .expect("connected within 10 s")
        .unwrap();
}

async fn assert_all_active(session: &Session, expected: usize) {
    let state = session.state().await.unwrap();
    assert_eq!(state.tracks.len(), expected, "{state:?}");
    let inactive: Vec<_> = state.tracks.iter().filter(|t| !t.is_active()).collect();
    assert!(inactive.is_empty(), "inactive tracks: {inactive:?}");
}

#[tokio::test]
async fn a_150_track_push_and_a_150_track_pull_go_in_answered_batches() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);

    let (mut publisher_peer, publisher) = peer(&client).await;
    let pushed = publisher
        .add_tracks()
        .answerer(&mut publisher_peer)
        .push_all((0..150).map(|i| {
            let kind = if i % 2 == 0 {
                MediaKind::Audio
            } else {
                MediaKind::Video
            };
            LocalTrack::offered_by_sfu(format!("t{i}"), kind)
        }))
        .send()
        .await
        .unwrap();
    assert!(pushed.negotiation.is_done());
    assert!(pushed.failed.is_empty(), "{:?}", pushed.failed);
    let names: Vec<_> = pushed
        .tracks
        .iter()
        .map(|t| t.track_name.clone().unwrap())
        .collect();
    assert_eq!(names, (0..150).map(|i| format!("t{i}")).collect::<Vec<_>>());
    until_connected(&publisher_peer).await;
    assert_all_active(&publisher, 150).await;

    let (mut subscriber_peer, subscriber) = peer(&client).await;
    let pulled = subscriber
        .add_tracks()
        .pull_all((0..150).map(|i| RemoteTrack::new(publisher.id(), format!("t{i}"))))
        .answerer(&mut subscriber_peer)
        .send()
        .await
        .unwrap();
    assert!(pulled.negotiation.is_done());
    assert!(pulled.failed.is_empty(), "{:?}", pulled.failed);
    assert_eq!(pulled.tracks.len(), 150);
    until_connected(&subscriber_peer).await;
    assert_all_active(&subscriber, 150).await;

    let stats = emulator.stats();
    assert_eq!(stats.calls("add_tracks"), 6, "three batches each way");
    assert_eq!(
        stats.calls("renegotiate_session"),
        6,
        "every batch answered"
    );
    assert_eq!(
        stats.with_status(406),
        0,
        "no change overlapped an open exchange"
    );
}

#[tokio::test]
async fn without_an_answerer_more_than_64_tracks_are_refused_before_anything_is_sent() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let session = client.new_session().send().await.unwrap();
    emulator.reset_stats();
    let err = session
        .add_tracks()
        .push_all((0..70).map(|i| LocalTrack::offered_by_sfu(format!("t{i}"), MediaKind::Audio)))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    assert_eq!(emulator.stats().total(), 0);
    assert!(session.state().await.unwrap().tracks.is_empty());
}

#[tokio::test]
async fn a_change_issued_during_an_open_exchange_waits_for_the_answer() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let (mut publisher_peer, publisher) = peer(&client).await;
    publisher
        .add_tracks()
        .push(LocalTrack::offered_by_sfu("mic", MediaKind::Audio))
        .push(LocalTrack::offered_by_sfu("cam", MediaKind::Video))
        .answerer(&mut publisher_peer)
        .send()
        .await
        .unwrap();

    let (mut subscriber_peer, subscriber) = peer(&client).await;
    let pulled = subscriber
        .add_tracks()
        .pull(RemoteTrack::new(publisher.id(), "mic"))
        .pull(RemoteTrack::new(publisher.id(), "cam"))
        .send()
        .await
        .unwrap();
    let mic = pulled.tracks[0].mid.clone().unwrap();
    let Negotiation::Offer(pending) = pulled.negotiation else {
        panic!("pulling makes the SFU offer");
    };

    // Another handle of the same session, in another task, closes a track meanwhile.
    let other = client.session(subscriber.id());
    let close =
        tokio::spawn(async move { other.close_tracks([mic], CloseMode::Force).send().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !close.is_finished(),
        "the close waits for the open exchange"
    );
    assert_eq!(emulator.stats().calls("close_tracks"), 0);

    let answer = subscriber_peer
        .answer(pending.offer().clone())
        .await
        .unwrap();
    pending.answer(answer).await.unwrap();
    let closed = close.await.unwrap().unwrap();
    assert_eq!(closed.closed.len(), 1);
    assert!(closed.failed.is_empty(), "{:?}", closed.failed);
    assert_eq!(emulator.stats().with_status(406), 0);
}

#[tokio::test]
async fn a_dropped_pending_offer_releases_the_lock_and_leaves_the_sfu_waiting() {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let (mut publisher_peer, publisher) = peer(&client).await;
    publisher
        .add_tracks()
        .push(LocalTrack::offered_by_sfu("mic", MediaKind::Audio))
        .answerer(&mut publisher_peer)
        .send()
        .await
        .unwrap();

    let (mut subscriber_peer, subscriber) = peer(&client).await;
    let pulled = subscriber
        .add_tracks()
        .pull(RemoteTrack::new(publisher.id(), "mic"))
        .send()
        .await
        .unwrap();
    let pending = pulled.negotiation.into_pending().unwrap();
    let offer = pending.offer().clone();
    assert!(
        !format!("{pending:?}").contains("ice-pwd"),
        "Debug shows no SDP: {pending:?}"
    );
    drop(pending);

    // The lock is free again, and the SFU still holds its offer: the documented way out is
    // renegotiate with the endpoint's answer.
    let answer = subscriber_peer.answer(offer).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), subscriber.renegotiate(answer))
        .await
        .expect("no lock is held after the drop")
        .unwrap();
    assert_eq!(emulator.stats().with_status(406), 0);
}
