//! Faults on the second step of every flow that answers an SFU offer: the endpoint's answer
//! (`renegotiate_session`) fails inside the flow, once, in each way the emulator can fail it.
//!
//! A transient or ambiguous failure is sent again within the flow, which then succeeds; a
//! failure that is neither leaves the answer owed by the session, the flow fails with a typed
//! error, and the session's next change (or, for a join, which cleans up after itself, the
//! next join) succeeds. [`FLOWS`] holds the expected outcome of each cell; the same table is
//! rendered into docs/faults.md ("Second steps") and checked.

#![cfg(feature = "room")]

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use calls_emulator::{Emulator, Fault};
use cloudflare_calls::peer::{FrameCodec, Peer, PeerError};
use cloudflare_calls::room::{MemoryStore, Room, TrackInfo};
use cloudflare_calls::{
    Answerer, Client, Config, DataChannel, Error, LocalTrack, MediaKind, RemoteTrack,
};

/// Time one call of the client under test may take.
const TIMEOUT: Duration = Duration::from_secs(2);
/// The injected latency: past [`TIMEOUT`].
const LATENCY: Duration = Duration::from_secs(3);
/// Cells running at once, each against its own emulator.
const PARALLEL_CELLS: usize = 3;

/// A flow whose second step answers an SFU offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    /// `add_tracks().pull(…)`, then `PendingOffer::answer` with an answer made by hand.
    HandMade,
    /// `add_tracks().push(…).answerer(…)`.
    Answerer,
    /// `Peer::pull`.
    PeerPull,
    /// `Peer::push_track`.
    PushTrack,
    /// `Peer::publish` on a peer without a data channel transport yet: the transport is
    /// established, and the SFU's offer for it answered.
    Publish,
    /// A server-side join, `Join::connect`.
    RoomJoin,
    /// `RoomPeer::pull` of another participant's track.
    RoomPull,
}

/// The fault on the flow's first `renegotiate_session`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Col {
    Transient503,
    Plain500,
    DropAfter,
    Latency,
    ErrorIn200,
}

const COLS: [Col; 5] = [
    Col::Transient503,
    Col::Plain500,
    Col::DropAfter,
    Col::Latency,
    Col::ErrorIn200,
];

impl Col {
    fn header(self) -> &'static str {
        match self {
            Col::Transient503 => "503 transient",
            Col::Plain500 => "500",
            Col::DropAfter => "drop after",
            Col::Latency => "latency",
            Col::ErrorIn200 => "200 + error",
        }
    }

    fn fault(self) -> Fault {
        let fault = match self {
            Col::Transient503 => Fault::transient(),
            Col::Plain500 => Fault::status(500, "internal_error"),
            Col::DropAfter => Fault::drop_after_acting(),
            Col::Latency => Fault::latency(LATENCY),
            Col::ErrorIn200 => Fault::error_body("internal_error"),
        };
        fault.on("renegotiate_session").times(1)
    }
}

/// What a cell must produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// The flow succeeded: the answer went out again within it.
    Healed,
    /// The flow failed with `Error::Api` of this status; what came next succeeded.
    FailedThenOk(u16),
}

use Outcome::{FailedThenOk as FAILED, Healed as OK};

impl Flow {
    fn name(self) -> &'static str {
        match self {
            Flow::HandMade => "`PendingOffer::answer` (answer made by hand)",
            Flow::Answerer => "`add_tracks().answerer(…)`",
            Flow::PeerPull => "`Peer::pull`",
            Flow::PushTrack => "`Peer::push_track`",
            Flow::Publish => "`Peer::publish` (establishes data channels)",
            Flow::RoomJoin => "room join (`Join::connect`)",
            Flow::RoomPull => "room subscribe (`RoomPeer::pull`)",
        }
    }

    fn after(self) -> &'static str {
        match self {
            Flow::RoomJoin => "the same identity joins again",
            Flow::RoomPull => "`RoomPeer::publish_track`",
            _ => "`Peer::push_track` on the session",
        }
    }
}

/// Flow × fault → outcome, columns in [`COLS`] order.
#[rustfmt::skip]
const FLOWS: [(Flow, [Outcome; 5]); 7] = [
    //                503   500          drop  lat  200
    (Flow::HandMade,  [OK,  FAILED(500), OK,   OK,  FAILED(200)]),
    (Flow::Answerer,  [OK,  FAILED(500), OK,   OK,  FAILED(200)]),
    (Flow::PeerPull,  [OK,  FAILED(500), OK,   OK,  FAILED(200)]),
    (Flow::PushTrack, [OK,  FAILED(500), OK,   OK,  FAILED(200)]),
    (Flow::Publish,   [OK,  FAILED(500), OK,   OK,  FAILED(200)]),
    (Flow::RoomJoin,  [OK,  FAILED(500), OK,   OK,  FAILED(200)]),
    (Flow::RoomPull,  [OK,  FAILED(500), OK,   OK,  FAILED(200)]),
];

fn client(emulator: &Emulator) -> Client {
    let config = Config::new(
        emulator.sfu_base_url(),
        emulator.app_id(),
        emulator.app_secret(),
    );
    Client::new(config.timeout(TIMEOUT)).unwrap()
}

/// The status of a flow's error, or why it is not an API error.
fn status(error: Option<&Error>, shown: impl std::fmt::Display) -> Result<u16, String> {
    error
        .and_then(Error::status)
        .ok_or_else(|| format!("not an API error: {shown}"))
}

/// A peer that publishes "mic", for the flows that pull.
async fn publisher(client: &Client) -> Peer {
    let peer = client.peer().connect().await.unwrap();
    let mic = peer.push_track("mic", FrameCodec::Opus).await.unwrap();
    tokio::spawn(async move { mic.send_silence(Duration::from_secs(30)).await });
    peer
}

/// Runs one cell against its own emulator; `Err` says how it differs from `expected`.
async fn run_cell(flow: Flow, col: Col, expected: Outcome) -> Result<(), String> {
    let emulator = Emulator::start().await.unwrap();
    let client = client(&emulator);
    let arm = || emulator.inject(col.fault());
    let got = match flow {
        Flow::RoomJoin | Flow::RoomPull => room_flow(flow, &client, arm).await?,
        _ => session_flow(flow, &client, arm).await?,
    };
    if got != expected {
        return Err(format!("expected {expected:?}, got {got:?}"));
    }
    if emulator.stats().received("renegotiate_session") == 0 {
        return Err("the flow never answered an offer".into());
    }
    Ok(())
}

/// The flows of a session and a peer; afterwards the session pushes another track.
async fn session_flow(flow: Flow, client: &Client, arm: impl Fn()) -> Result<Outcome, String> {
    let publisher = match flow {
        Flow::HandMade | Flow::PeerPull => Some(publisher(client).await),
        _ => None,
    };
    let mic = || RemoteTrack::new(publisher.as_ref().unwrap().session().id(), "mic");
    let mut peer = match flow {
        Flow::Publish => client.peer().start().await.unwrap(),
        _ => client.peer().connect().await.unwrap(),
    };
    arm();
    let result: Result<(), Error> = match flow {
        Flow::HandMade => {
            let session = peer.session().clone();
            let pulled = session.add_tracks().pull(mic()).send().await.unwrap();
            let pending = pulled.negotiation.into_pending().expect("the SFU offers");
            let answer = peer.answer(pending.offer().clone()).await.unwrap();
            pending.answer(answer).await
        }
        Flow::Answerer => {
            let session = peer.session().clone();
            let cam = LocalTrack::offered_by_sfu("cam", MediaKind::Video);
            let pushed = session.add_tracks().push(cam).answerer(&mut peer);
            pushed.send().await.map(drop)
        }
        Flow::PeerPull => peer.pull(mic()).await.map(drop).map_err(api_error),
        Flow::PushTrack => (peer.push_track("cam", FrameCodec::H264).await)
            .map(drop)
            .map_err(api_error),
        Flow::Publish => (peer.publish(DataChannel::publish("chat")).await)
            .map(drop)
            .map_err(api_error),
        Flow::RoomJoin | Flow::RoomPull => unreachable!("a room flow"),
    };
    let outcome = match result {
        Ok(()) => Outcome::Healed,
        Err(e) => FAILED(status(Some(&e), &e)?),
    };
    if let Err(e) = peer.push_track("next", FrameCodec::Opus).await {
        return Err(format!(
            "after {outcome:?}, the session's next change failed: {e}"
        ));
    }
    Ok(outcome)
}

/// A peer's error as the API error it must be.
fn api_error(e: PeerError) -> Error {
    match e {
        PeerError::Api(e) => e,
        other => panic!("not an API error: {other}"),
    }
}

/// The flows of a room; afterwards the participant publishes, or the identity joins again.
async fn room_flow(flow: Flow, client: &Client, arm: impl Fn()) -> Result<Outcome, String> {
    let room: Room = client
        .rooms(MemoryStore::new())
        .create()
        .send()
        .await
        .unwrap();
    if flow == Flow::RoomJoin {
        arm();
        let joined = room.join("subject").connect(client.peer()).await;
        let outcome = match &joined {
            Ok(_) => Outcome::Healed,
            Err(e) => FAILED(status(e.api(), e)?),
        };
        if joined.is_err() {
            let left = room.participants().await.unwrap();
            if !left.is_empty() {
                return Err(format!("the failed join left {left:?}"));
            }
            if let Err(e) = room.join("subject").connect(client.peer()).await {
                return Err(format!("after {outcome:?}, joining again failed: {e}"));
            }
        }
        return Ok(outcome);
    }
    let subject = room.join("subject").connect(client.peer()).await.unwrap();
    let other = room.join("other").connect(client.peer()).await.unwrap();
    let mic = other.publish_track("mic", FrameCodec::Opus).await.unwrap();
    tokio::spawn(async move { mic.send_silence(Duration::from_secs(30)).await });
    let tracks: Vec<TrackInfo> = room
        .snapshot()
        .await
        .unwrap()
        .participants
        .into_iter()
        .filter(|p| p.info.identity == "other")
        .flat_map(|p| p.published.into_iter().map(|(_, t)| t))
        .collect();
    assert_eq!(tracks.len(), 1, "the other's mic is in the room");
    arm();
    let outcome = match subject.pull(&tracks).await {
        Ok(_) => Outcome::Healed,
        Err(e) => FAILED(status(e.api(), &e)?),
    };
    if let Err(e) = subject.publish_track("next", FrameCodec::Opus).await {
        return Err(format!("after {outcome:?}, publishing failed: {e}"));
    }
    Ok(outcome)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_flow_survives_a_failed_answer() {
    let _heavy = crate::support::heavy::heavy().await;
    let slots = Arc::new(tokio::sync::Semaphore::new(PARALLEL_CELLS));
    let mut cells = tokio::task::JoinSet::new();
    for (flow, row) in FLOWS {
        for (col, expected) in COLS.into_iter().zip(row) {
            let slots = slots.clone();
            cells.spawn(async move {
                let _slot = slots.acquire_owned().await.unwrap();
                let cell = run_cell(flow, col, expected);
                let outcome = match tokio::time::timeout(Duration::from_secs(60), cell).await {
                    Ok(outcome) => outcome,
                    Err(_) => Err("hung".into()),
                };
                outcome.map_err(|why| format!("{flow:?} × {}: {why}", col.header()))
            });
        }
    }
    let mut failures = Vec::new();
    while let Some(joined) = cells.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(failure)) => failures.push(failure),
            Err(panicked) => failures.push(format!("a cell panicked: {panicked}")),
        }
    }
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} cells differ from the table:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

const START: &str = "<!-- second-steps:start -->";
const END: &str = "<!-- second-steps:end -->";

fn markdown() -> String {
    let mut out = String::from("| flow |");
    for col in COLS {
        let _ = write!(out, " {} |", col.header());
    }
    out.push_str(" then |\n|---|");
    out.push_str(&"---|".repeat(COLS.len() + 1));
    out.push('\n');
    for (flow, row) in FLOWS {
        let _ = write!(out, "| {} |", flow.name());
        for outcome in row {
            match outcome {
                Outcome::Healed => out.push_str(" ok, resent |"),
                Outcome::FailedThenOk(status) => {
                    let _ = write!(out, " {status}, then ok |");
                }
            }
        }
        let _ = writeln!(out, " {} |", flow.after());
    }
    out
}

#[test]
fn the_docs_show_the_second_steps() {
    let wanted = format!("\n{}", markdown());
    crate::support::docs::check_table("docs/faults.md", START, END, &wanted);
}
