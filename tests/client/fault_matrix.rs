//! The fault matrix: every operation of the crate against every fault the emulator injects.
//!
//! [`MATRIX`] holds the documented outcome of each cell. `the_crate_behaves_as_the_matrix_says`
//! runs every cell against its own emulator and checks the outcome, the number of attempts the
//! emulator received, and, from the emulator's own inventory, that nothing was created twice.
//! `the_docs_show_the_matrix` renders the same table into docs/faults.md, so
//! the documentation cannot drift from the behaviour: `CALLS_UPDATE_DOCS=1` rewrites it.

#![cfg(feature = "peer")]

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use calls_emulator::{Emulator, Fault, Inventory};
use cloudflare_calls::adapters::AdapterItem;
use cloudflare_calls::session::CloseMode;
use cloudflare_calls::{
    Answerer, Client, Config, DataChannel, Error, ErrorCode, LocalTrack, MediaKind, Peer,
    RetryPolicy,
};

/// Time one attempt of the client under test may take.
const TIMEOUT: Duration = Duration::from_millis(800);
/// The injected latency: past [`TIMEOUT`].
const LATENCY: Duration = Duration::from_millis(1200);
/// The `Retry-After` of the 429 fault, in seconds (the retry policy waits up to 2 s).
const RETRY_AFTER_SECS: u64 = 1;
/// The `errorCode` of the "transient" columns.
const TRANSIENT: &str = "retryable_transient_error";
/// The `errorCode` of the other error columns.
const PLAIN: &str = "internal_error";
/// Cells running at once, each against its own emulator.
const PARALLEL_CELLS: usize = 8;

/// Every operation of the crate, by the operationId the emulator counts it under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    CreateSession,
    GetSessionState,
    AddTracks,
    RenegotiateSession,
    UpdateTracks,
    CloseTracks,
    EstablishDataChannelTransport,
    AddDataChannels,
    UpdateDataChannels,
    CloseDataChannels,
    CreateWebsocketAdapters,
    CloseWebsocketAdapters,
    GenerateIceServers,
    GenerateTurnCredentials,
    RevokeTurnCredentials,
    ListSfuApps,
    CreateSfuApp,
    GetSfuApp,
    UpdateSfuApp,
    DeleteSfuApp,
    ListTurnKeys,
    CreateTurnKey,
    GetTurnKey,
    UpdateTurnKey,
    DeleteTurnKey,
}

/// The faults, one column each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Col {
    /// The answer would come after the client's timeout.
    Latency,
    Transient500,
    Plain500,
    Transient502,
    Plain502,
    Transient503,
    Plain503,
    /// 429 with `Retry-After`.
    RateLimited,
    /// 425: the session is not connected yet.
    TooEarly,
    /// The connection closes before the server acts.
    DropBefore,
    /// The server acts, then the connection closes without a response.
    DropAfter,
    /// The server acts and sends half of its body.
    Truncated,
    /// HTTP 200 with an error body; the server does not act.
    ErrorIn200,
}

const COLS: [Col; 13] = [
    Col::Latency,
    Col::Transient500,
    Col::Plain500,
    Col::Transient502,
    Col::Plain502,
    Col::Transient503,
    Col::Plain503,
    Col::RateLimited,
    Col::TooEarly,
    Col::DropBefore,
    Col::DropAfter,
    Col::Truncated,
    Col::ErrorIn200,
];

/// What a cell must produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// The crate sent the call a second time by itself, and that one succeeded.
    Retried,
    /// Succeeded at the first attempt.
    Ok,
    /// `Error::Timeout`.
    Timeout,
    /// `Error::Api` with this status; `is_retryable()` as given.
    Api(u16, bool),
    /// `Error::Transport`: no complete response, the outcome is unknown.
    Dropped,
    /// `Error::Decode` with this status.
    Decode(Option<u16>),
    /// An answer sent again within the call after a transient or ambiguous failure (as many
    /// times as it takes, up to the session's bound), and delivered.
    Healed,
    /// `Error::Api` with this status, not retryable, and the answer stays owed: the session's
    /// next change delivers it first and succeeds.
    Owed(u16),
    /// Something else (the text says what); never expected.
    Other(&'static str),
    /// The fault cannot apply to the operation, for this reason.
    NotApplicable(&'static str),
}

use Expect::{Api, Retried as OK2, Timeout as TIME};
const R500: Expect = Api(500, true);
const E500: Expect = Api(500, false);
const R502: Expect = Api(502, true);
const R503: Expect = Api(503, true);
const DROP: Expect = Expect::Dropped;
const E200: Expect = Api(200, false);
/// The answer is sent again within the call, and delivered.
const HEAL: Expect = Expect::Healed;
/// The answer is not delivered; the session owes it and its next change sends it first.
const OWE5: Expect = Expect::Owed(500);
const OWE2: Expect = Expect::Owed(200);
const NO_BODY: Expect = Expect::NotApplicable(
    "`revoke_turn_credentials` answers 204 No Content: there is no body to cut.",
);

/// Operation × fault → outcome. Columns in [`COLS`] order:
/// latency, 500 transient, 500, 502 transient, 502, 503 transient, 503, 429, 425,
/// drop before, drop after, truncated, 200 with an error body.
#[rustfmt::skip]
const MATRIX: [(Op, [Expect; 13]); 25] = [
    //                                   lat   500t  500   502t  502   503t  503   429  425  drop  drop' cut   200
    (Op::CreateSession,                    [TIME, R500, E500, R502, R502, R503, R503, OK2, OK2, DROP, DROP, DROP, E200]),
    (Op::GetSessionState,               [OK2,  R500, E500, OK2,  OK2,  OK2,  OK2,  OK2, OK2, DROP, DROP, DROP, E200]),
    (Op::AddTracks,                     [TIME, R500, E500, R502, R502, R503, R503, OK2, OK2, DROP, DROP, DROP, E200]),
    (Op::RenegotiateSession,            [HEAL, HEAL, OWE5, HEAL, HEAL, HEAL, HEAL, HEAL, HEAL, HEAL, HEAL, HEAL, OWE2]),
    (Op::UpdateTracks,                  [TIME, R500, E500, R502, R502, R503, R503, OK2, OK2, DROP, DROP, DROP, E200]),
    (Op::CloseTracks,                   [TIME, R500, E500, R502, R502, R503, R503, OK2, OK2, DROP, DROP, DROP, E200]),
    (Op::EstablishDataChannelTransport, [TIME, R500, E500, R502, R502, R503, R503, OK2, OK2, DROP, DROP, DROP, E200]),
    (Op::AddDataChannels,               [TIME, R500, E500, R502, R502, R503, R503, OK2, OK2, DROP, DROP, DROP, E200]),
    (Op::UpdateDataChannels,            [TIME, R500, E500, R502, R502, R503, R503, OK2, OK2, DROP, DROP, DROP, E200]),
    (Op::CloseDataChannels,             [TIME, R500, E500, R502, R502, R503, R503, OK2, OK2, DROP, DROP, DROP, E200]),
    (Op::CreateWebsocketAdapters,       [TIME, R500, E500, R502, R502, R503, R503, OK2, OK2, DROP, DROP, DROP, E200]),
    (Op::CloseWebsocketAdapters,        [OK2,  R500, E500, OK2,  OK2,  OK2,  OK2,  OK2, OK2, DROP, DROP, DROP, E200]),
    (Op::GenerateIceServers,            [OK2,  R500, E500, OK2,  OK2,  OK2,  OK2,  OK2, OK2, DROP, DROP, DROP, E200]),
    (Op::GenerateTurnCredentials,       [OK2,  R500, E500, OK2,  OK2,  OK2,  OK2,  OK2, OK2, DROP, DROP, DROP, E200]),
    (Op::RevokeTurnCredentials,         [OK2,  R500, E500, OK2,  OK2,  OK2,  OK2,  OK2, OK2, DROP, DROP, NO_BODY, E200]),
    (Op::ListSfuApps,                   [OK2,  E500, E500, OK2,  OK2,  OK2,  OK2,  OK2, OK2, DROP, DROP, DROP, E200]),
    (Op::CreateSfuApp,                  [TIME, E500, E500, R502, R502, R503, R503, OK2, OK2, DROP, DROP, DROP, E200]),
    (Op::GetSfuApp,                     [OK2,  E500, E500, OK2,  OK2,  OK2,  OK2,  OK2, OK2, DROP, DROP, DROP, E200]),
    (Op::UpdateSfuApp,                  [OK2,  E500, E500, OK2,  OK2,  OK2,  OK2,  OK2, OK2, DROP, DROP, DROP, E200]),
    (Op::DeleteSfuApp,                  [OK2,  E500, E500, OK2,  OK2,  OK2,  OK2,  OK2, OK2, DROP, DROP, DROP, E200]),
    (Op::ListTurnKeys,                  [OK2,  E500, E500, OK2,  OK2,  OK2,  OK2,  OK2, OK2, DROP, DROP, DROP, E200]),
    (Op::CreateTurnKey,                 [TIME, E500, E500, R502, R502, R503, R503, OK2, OK2, DROP, DROP, DROP, E200]),
    (Op::GetTurnKey,                    [OK2,  E500, E500, OK2,  OK2,  OK2,  OK2,  OK2, OK2, DROP, DROP, DROP, E200]),
    (Op::UpdateTurnKey,                 [OK2,  E500, E500, OK2,  OK2,  OK2,  OK2,  OK2, OK2, DROP, DROP, DROP, E200]),
    (Op::DeleteTurnKey,                 [OK2,  E500, E500, OK2,  OK2,  OK2,  OK2,  OK2, OK2, DROP, DROP, DROP, E200]),
];

/// Which API an operation belongs to: the account API reports errors in its envelope, without
/// an `errorCode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Surface {
    Sfu,
    Turn,
    Account,
}

impl Op {
    /// The operationId.
    fn id(self) -> &'static str {
        match self {
            Op::CreateSession => "new_session",
            Op::GetSessionState => "get_session_state",
            Op::AddTracks => "add_tracks",
            Op::RenegotiateSession => "renegotiate_session",
            Op::UpdateTracks => "update_tracks",
            Op::CloseTracks => "close_tracks",
            Op::EstablishDataChannelTransport => "establish_data_channel_transport",
            Op::AddDataChannels => "add_data_channels",
            Op::UpdateDataChannels => "update_data_channels",
            Op::CloseDataChannels => "close_data_channels",
            Op::CreateWebsocketAdapters => "create_websocket_adapters",
            Op::CloseWebsocketAdapters => "close_websocket_adapters",
            Op::GenerateIceServers => "generate_ice_servers",
            Op::GenerateTurnCredentials => "generate_turn_credentials",
            Op::RevokeTurnCredentials => "revoke_turn_credentials",
            Op::ListSfuApps => "list_sfu_apps",
            Op::CreateSfuApp => "create_sfu_app",
            Op::GetSfuApp => "get_sfu_app",
            Op::UpdateSfuApp => "update_sfu_app",
            Op::DeleteSfuApp => "delete_sfu_app",
            Op::ListTurnKeys => "list_turn_keys",
            Op::CreateTurnKey => "create_turn_key",
            Op::GetTurnKey => "get_turn_key",
            Op::UpdateTurnKey => "update_turn_key",
            Op::DeleteTurnKey => "delete_turn_key",
        }
    }

    fn surface(self) -> Surface {
        match self {
            Op::GenerateIceServers | Op::GenerateTurnCredentials | Op::RevokeTurnCredentials => {
                Surface::Turn
            }
            Op::ListSfuApps
            | Op::CreateSfuApp
            | Op::GetSfuApp
            | Op::UpdateSfuApp
            | Op::DeleteSfuApp
            | Op::ListTurnKeys
            | Op::CreateTurnKey
            | Op::GetTurnKey
            | Op::UpdateTurnKey
            | Op::DeleteTurnKey => Surface::Account,
            _ => Surface::Sfu,
        }
    }

    /// For an operation that creates something, how to count it in the emulator.
    fn creates(self) -> Option<fn(&Inventory) -> usize> {
        match self {
            Op::CreateSession => Some(|i| i.sessions),
            Op::AddTracks => Some(|i| i.tracks),
            Op::EstablishDataChannelTransport => Some(|i| i.data_channel_transports),
            Op::AddDataChannels => Some(|i| i.data_channels),
            Op::CreateWebsocketAdapters => Some(|i| i.adapters),
            Op::CreateSfuApp => Some(|i| i.apps),
            Op::CreateTurnKey => Some(|i| i.turn_keys),
            _ => None,
        }
    }
}

impl Col {
    fn header(self) -> &'static str {
        match self {
            Col::Latency => "latency",
            Col::Transient500 => "500 transient",
            Col::Plain500 => "500",
            Col::Transient502 => "502 transient",
            Col::Plain502 => "502",
            Col::Transient503 => "503 transient",
            Col::Plain503 => "503",
            Col::RateLimited => "429",
            Col::TooEarly => "425",
            Col::DropBefore => "drop before",
            Col::DropAfter => "drop after",
            Col::Truncated => "truncated",
            Col::ErrorIn200 => "200 + error",
        }
    }

    fn fault(self) -> Fault {
        match self {
            Col::Latency => Fault::latency(LATENCY),
            Col::Transient500 => Fault::status(500, TRANSIENT),
            Col::Plain500 => Fault::status(500, PLAIN),
            Col::Transient502 => Fault::status(502, TRANSIENT),
            Col::Plain502 => Fault::status(502, PLAIN),
            Col::Transient503 => Fault::status(503, TRANSIENT),
            Col::Plain503 => Fault::status(503, PLAIN),
            Col::RateLimited => Fault::rate_limited(RETRY_AFTER_SECS),
            Col::TooEarly => Fault::status(425, "session_error"),
            Col::DropBefore => Fault::drop_connection(),
            Col::DropAfter => Fault::drop_after_acting(),
            Col::Truncated => Fault::truncate(),
            Col::ErrorIn200 => Fault::error_body(PLAIN),
        }
    }

    /// The code an API error from this fault carries (the account API puts it in its
    /// `errors` array).
    fn code(self) -> Option<&'static str> {
        match self {
            Col::Transient500 | Col::Transient502 | Col::Transient503 => Some(TRANSIENT),
            Col::Plain500 | Col::Plain502 | Col::Plain503 | Col::ErrorIn200 => Some(PLAIN),
            _ => None,
        }
    }

    /// Whether the server carries out the faulted attempt. A late one is not: the emulator's
    /// HTTP server drops a handler whose client hung up, and the client hangs up at its
    /// timeout, before the injected latency is over.
    fn server_acts(self) -> bool {
        matches!(self, Col::DropAfter | Col::Truncated)
    }
}

// ---------------------------------------------------------------------------------------
// The world of one cell: an emulator, a client to set up state, and the client under test.

struct World {
    emu: Emulator,
    /// Sets up the state an operation needs: default timeouts and retries.
    setup: Client,
    /// Runs the operation: short timeout, two retries with tiny backoff.
    subject: Client,
}

/// What the world looked like when the fault was armed.
struct Armed {
    before: Inventory,
    at: Instant,
}

impl World {
    async fn start() -> Self {
        let emu = Emulator::start().await.expect("emulator starts");
        let config = Config::new(emu.sfu_base_url(), emu.app_id(), emu.app_secret())
            .account(emu.account_id(), emu.api_token())
            .account_api_url(emu.account_base_url())
            .turn_key(emu.turn_key_id(), emu.turn_key_token());
        let policy = RetryPolicy::default()
            .max_retries(2)
            .base_delay(Duration::from_millis(5))
            .max_delay(Duration::from_secs(2));
        let subject = config.clone().timeout(TIMEOUT).retry_policy(policy);
        Self {
            setup: Client::new(config).unwrap(),
            subject: Client::new(subject).unwrap(),
            emu,
        }
    }

    /// Injects `fault` for the next call of `op` and starts counting calls from zero.
    fn arm(&self, op: Op, fault: Fault) -> Armed {
        let armed = Armed {
            before: self.emu.inventory(),
            at: Instant::now(),
        };
        self.emu.reset_stats();
        self.emu.inject(fault.on(op.id()).times(1));
        armed
    }

    async fn session(&self) -> String {
        let session = self.setup.new_session().send().await.unwrap();
        session.id().to_owned()
    }

    /// A session with one pushed audio track; returns the session id and the track's mid.
    /// The SFU's offer for it is left unanswered: no later step here exchanges SDP.
    async fn session_with_track(&self) -> (String, String) {
        let id = self.session().await;
        let added = self
            .setup
            .session(&id)
            .add_tracks()
            .push(LocalTrack::offered_by_sfu("mic", MediaKind::Audio))
            .send()
            .await
            .unwrap();
        let mid = added.tracks[0].mid.clone().expect("the SFU gave a mid");
        drop(added.negotiation);
        (id, mid)
    }

    /// A peer connected to the SFU, with its data channel transport set up.
    async fn connected_peer(&self) -> Peer {
        self.setup.peer().connect().await.unwrap()
    }

    /// A connected peer that publishes the channel `chat`.
    async fn publisher(&self) -> Peer {
        let peer = self.connected_peer().await;
        let published = peer
            .session()
            .add_data_channels()
            .channel(DataChannel::publish("chat"))
            .send()
            .await
            .unwrap();
        assert!(published.failed.is_empty(), "{published:?}");
        peer
    }

    async fn adapter(&self) -> String {
        let created = self
            .setup
            .adapters()
            .create()
            .item(AdapterItem::ingest("tts", "wss://bot.example.com/tts"))
            .send()
            .await
            .unwrap();
        created.adapters[0].adapter_id.clone()
    }

    async fn turn_username(&self) -> String {
        let ttl = Duration::from_secs(60);
        let credentials = self.setup.turn().generate_credentials(ttl).await.unwrap();
        credentials.username
    }

    async fn app(&self) -> String {
        let created = self
            .setup
            .apps()
            .create()
            .name("cell")
            .send()
            .await
            .unwrap();
        created.app.uid
    }

    async fn turn_key(&self) -> String {
        let created = self.setup.turn_keys().create().name("cell").send().await;
        created.unwrap().turn_key.uid
    }
}

/// Sets up what `op` needs, arms `fault` and runs `op` once with the client under test.
/// Per-item failures of a call that succeeded fail the cell.
/// The session's next change, to run once the faulted call is counted.
type Next = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), Error>> + Send>>;

async fn exercise(
    op: Op,
    w: &World,
    fault: Fault,
    next: &mut Option<Next>,
) -> (Armed, Result<(), Error>) {
    let subject = &w.subject;
    let ttl = Duration::from_secs(60);
    match op {
        Op::CreateSession => {
            let armed = w.arm(op, fault);
            (armed, subject.new_session().send().await.map(drop))
        }
        Op::GetSessionState => {
            let id = w.session().await;
            let armed = w.arm(op, fault);
            (armed, subject.session(id).state().await.map(drop))
        }
        Op::AddTracks => {
            let id = w.session().await;
            let armed = w.arm(op, fault);
            let session = subject.session(id);
            let cam = LocalTrack::offered_by_sfu("cam", MediaKind::Video);
            let result = session.add_tracks().push(cam).send().await;
            (armed, result.map(|r| assert!(r.failed.is_empty(), "{r:?}")))
        }
        Op::RenegotiateSession => {
            // A peer answers the SFU's offer for a new track; the answer goes out under test.
            let mut peer = w.setup.peer().start().await.unwrap();
            let mic = LocalTrack::offered_by_sfu("mic", MediaKind::Audio);
            let added = peer.session().add_tracks().push(mic).send().await.unwrap();
            let pending = added.negotiation.into_pending().expect("the SFU offers");
            let answer = peer.answer(pending.offer().clone()).await.unwrap();
            drop(pending);
            let session = subject.session(peer.session().id());
            let armed = w.arm(op, fault);
            let result = session.renegotiate(answer).await;
            *next = Some(Box::pin(async move {
                let cam = LocalTrack::offered_by_sfu("cam", MediaKind::Video);
                let added = session.add_tracks().push(cam).answerer(&mut peer);
                let added = added.send().await?;
                assert!(added.failed.is_empty(), "{added:?}");
                Ok(())
            }));
            (armed, result)
        }
        Op::UpdateTracks => {
            let (id, mid) = w.session_with_track().await;
            let armed = w.arm(op, fault);
            let session = subject.session(id);
            let mic = LocalTrack::new(mid, "mic");
            let result = session.update_tracks().push(mic).send().await;
            (armed, result.map(|r| assert!(r.failed.is_empty(), "{r:?}")))
        }
        Op::CloseTracks => {
            let (id, mid) = w.session_with_track().await;
            let armed = w.arm(op, fault);
            let session = subject.session(id);
            let result = session.close_tracks([mid], CloseMode::Force).send().await;
            (armed, result.map(|r| assert!(r.failed.is_empty(), "{r:?}")))
        }
        Op::EstablishDataChannelTransport => {
            let id = w.session().await;
            let armed = w.arm(op, fault);
            let session = subject.session(id);
            let result = session.establish_data_channels(None).await;
            (armed, result.map(|t| drop(t.negotiation)))
        }
        Op::AddDataChannels => {
            let peer = w.connected_peer().await;
            let armed = w.arm(op, fault);
            let session = subject.session(peer.session().id());
            let chat = DataChannel::publish("chat");
            let result = session.add_data_channels().channel(chat).send().await;
            (armed, result.map(|r| assert!(r.failed.is_empty(), "{r:?}")))
        }
        Op::UpdateDataChannels => {
            let publisher = w.publisher().await;
            let publisher_id = publisher.session().id().to_owned();
            let subscriber = w.connected_peer().await;
            let subscribed = subscriber
                .session()
                .add_data_channels()
                .channel(DataChannel::subscribe(&publisher_id, "chat"))
                .send()
                .await
                .unwrap();
            assert!(subscribed.failed.is_empty(), "{subscribed:?}");
            let armed = w.arm(op, fault);
            let session = subject.session(subscriber.session().id());
            let reply = DataChannel::subscribe(&publisher_id, "chat").can_reply(true);
            let result = session.update_data_channels().channel(reply).send().await;
            (armed, result.map(|r| assert!(r.failed.is_empty(), "{r:?}")))
        }
        Op::CloseDataChannels => {
            let publisher = w.publisher().await;
            let armed = w.arm(op, fault);
            let session = subject.session(publisher.session().id());
            let chat = DataChannel::publish("chat");
            let result = session.close_data_channels().channel(chat).send().await;
            (armed, result.map(|r| assert!(r.failed.is_empty(), "{r:?}")))
        }
        Op::CreateWebsocketAdapters => {
            let armed = w.arm(op, fault);
            let tts = AdapterItem::ingest("tts", "wss://bot.example.com/tts");
            let result = subject.adapters().create().item(tts).send().await;
            (armed, result.map(|r| assert!(r.failed.is_empty(), "{r:?}")))
        }
        Op::CloseWebsocketAdapters => {
            let id = w.adapter().await;
            let armed = w.arm(op, fault);
            let result = subject.adapters().close([id]).await;
            (armed, result.map(|r| assert!(r.failed.is_empty(), "{r:?}")))
        }
        Op::GenerateIceServers => {
            let armed = w.arm(op, fault);
            let result = subject.turn().generate_ice_servers(ttl).send().await;
            (armed, result.map(drop))
        }
        Op::GenerateTurnCredentials => {
            let armed = w.arm(op, fault);
            (
                armed,
                subject.turn().generate_credentials(ttl).await.map(drop),
            )
        }
        Op::RevokeTurnCredentials => {
            let username = w.turn_username().await;
            let armed = w.arm(op, fault);
            (armed, subject.turn().revoke(&username).await)
        }
        Op::ListSfuApps => {
            let armed = w.arm(op, fault);
            (armed, subject.apps().list().await.map(drop))
        }
        Op::CreateSfuApp => {
            let armed = w.arm(op, fault);
            let result = subject.apps().create().name("made").send().await;
            (armed, result.map(drop))
        }
        Op::GetSfuApp => {
            let armed = w.arm(op, fault);
            (armed, subject.apps().get(w.emu.app_id()).await.map(drop))
        }
        Op::UpdateSfuApp => {
            let id = w.app().await;
            let armed = w.arm(op, fault);
            let result = subject.apps().update(id).name("renamed").send().await;
            (armed, result.map(drop))
        }
        Op::DeleteSfuApp => {
            let id = w.app().await;
            let armed = w.arm(op, fault);
            (armed, subject.apps().delete(&id).await)
        }
        Op::ListTurnKeys => {
            let armed = w.arm(op, fault);
            (armed, subject.turn_keys().list().await.map(drop))
        }
        Op::CreateTurnKey => {
            let armed = w.arm(op, fault);
            let result = subject.turn_keys().create().name("made").send().await;
            (armed, result.map(drop))
        }
        Op::GetTurnKey => {
            let armed = w.arm(op, fault);
            let result = subject.turn_keys().get(w.emu.turn_key_id()).await;
            (armed, result.map(drop))
        }
        Op::UpdateTurnKey => {
            let id = w.turn_key().await;
            let armed = w.arm(op, fault);
            let result = subject.turn_keys().update(id).name("renamed").send().await;
            (armed, result.map(drop))
        }
        Op::DeleteTurnKey => {
            let id = w.turn_key().await;
            let armed = w.arm(op, fault);
            (armed, subject.turn_keys().delete(&id).await)
        }
    }
}

/// What a result is, in the matrix's terms.
fn observed(op: Op, result: &Result<(), Error>, attempts: usize) -> Expect {
    let answers = op == Op::RenegotiateSession;
    match result {
        Ok(()) if answers && attempts > 1 => Expect::Healed,
        Err(e @ Error::Api(api)) if answers && !e.is_retryable() => Expect::Owed(api.status),
        Ok(()) if attempts > 1 => Expect::Retried,
        Ok(()) => Expect::Ok,
        Err(Error::Timeout { .. }) => Expect::Timeout,
        Err(e @ Error::Api(api)) => Api(api.status, e.is_retryable()),
        Err(Error::Transport { .. }) => Expect::Dropped,
        Err(Error::Decode { status, .. }) => Expect::Decode(*status),
        Err(_) => Expect::Other("another error"),
    }
}

/// Runs one cell against its own emulator; `Err` says how it differs from `expected`.
async fn run_cell(op: Op, col: Col, expected: Expect) -> Result<(), String> {
    let w = World::start().await;
    let mut next = None;
    let (armed, result) = exercise(op, &w, col.fault(), &mut next).await;
    let took = armed.at.elapsed();
    if col == Col::Latency {
        // The late attempt finishes (or is abandoned) before anything is counted.
        let settled = armed.at + LATENCY + Duration::from_millis(300);
        tokio::time::sleep_until(settled.into()).await;
    }
    let attempts = w.emu.stats().received(op.id());
    let got = observed(op, &result, attempts);
    let mut problems = Vec::new();
    if got != expected {
        problems.push(format!("expected {expected:?}, got {got:?}: {result:?}"));
    }
    let wanted_attempts = match expected {
        Expect::Retried => 2..=2,
        // The late attempt may be cut short with a 406 while the first is still held.
        Expect::Healed => 2..=8,
        _ => 1..=1,
    };
    if !wanted_attempts.contains(&attempts) {
        problems.push(format!("{attempts} attempts, expected {wanted_attempts:?}"));
    }
    let retry_after = Duration::from_secs(RETRY_AFTER_SECS);
    if col == Col::RateLimited && got == Expect::Retried && took < retry_after {
        problems.push(format!("retried after {took:?}, before Retry-After"));
    }
    if let (Err(e), Some(code)) = (&result, col.code()) {
        check_code(op, e, code, &mut problems);
    }
    let after = w.emu.inventory();
    match op.creates() {
        Some(count) => {
            // Created once when the server handled the faulted attempt or a retry, never twice.
            let handled = got == Expect::Retried || col.server_acts();
            let created = count(&after) - count(&armed.before);
            if created != usize::from(handled) {
                problems.push(format!(
                    "created {created} times, expected {}",
                    u8::from(handled)
                ));
            }
        }
        None => {
            let grew = |f: fn(&Inventory) -> usize| f(&after) > f(&armed.before);
            let creatables: [fn(&Inventory) -> usize; 7] = [
                |i| i.sessions,
                |i| i.tracks,
                |i| i.data_channel_transports,
                |i| i.data_channels,
                |i| i.adapters,
                |i| i.apps,
                |i| i.turn_keys,
            ];
            if creatables.into_iter().any(grew) {
                problems.push(format!(
                    "created something: {:?} -> {after:?}",
                    armed.before
                ));
            }
        }
    }
    if let Some(next) = next {
        // Whatever the fault did, the session is usable: its next change succeeds.
        if let Err(e) = next.await {
            problems.push(format!("the session's next change failed: {e}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} × {}: {}",
            op.id(),
            col.header(),
            problems.join("; ")
        ))
    }
}

/// The injected code reaches the error: as `errorCode` on the SFU and TURN APIs, in the
/// envelope's `errors` on the account API (which has no `errorCode`).
fn check_code(op: Op, e: &Error, code: &str, problems: &mut Vec<String>) {
    let Some(api) = e.api() else { return };
    match op.surface() {
        Surface::Sfu | Surface::Turn => {
            if e.code() != Some(&ErrorCode::from(code)) {
                problems.push(format!("code {:?}, expected {code}", e.code()));
            }
        }
        Surface::Account => {
            if e.code().is_some() || api.errors.first().map(|m| m.message.as_str()) != Some(code) {
                problems.push(format!("account error {api:?}, expected {code} in errors"));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_crate_behaves_as_the_matrix_says() {
    let started = Instant::now();
    let slots = Arc::new(tokio::sync::Semaphore::new(PARALLEL_CELLS));
    let mut cells = tokio::task::JoinSet::new();
    let mut skipped = 0;
    for (op, row) in MATRIX {
        for (col, expected) in COLS.into_iter().zip(row) {
            if matches!(expected, Expect::NotApplicable(_)) {
                skipped += 1;
                continue;
            }
            let slots = slots.clone();
            cells.spawn(async move {
                let _slot = slots.acquire_owned().await.unwrap();
                let cell = run_cell(op, col, expected);
                match tokio::time::timeout(Duration::from_secs(30), cell).await {
                    Ok(outcome) => outcome,
                    Err(_) => Err(format!("{} × {}: hung", op.id(), col.header())),
                }
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
        "{} of {} cells differ from the matrix:\n{}",
        failures.len(),
        MATRIX.len() * COLS.len() - skipped,
        failures.join("\n")
    );
    eprintln!(
        "{} cells ({skipped} n/a) in {:?}",
        MATRIX.len() * COLS.len(),
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------------------
// The table of docs/faults.md, rendered from MATRIX.

const START: &str = "<!-- fault-matrix:start -->";
const END: &str = "<!-- fault-matrix:end -->";

fn cell_text(expect: Expect, notes: &mut Vec<&'static str>) -> String {
    match expect {
        Expect::Retried => "ok²".into(),
        Expect::Ok => "ok".into(),
        // Every timeout of the matrix is of a call that may have acted: not retryable.
        Expect::Timeout => "timeout".into(),
        Expect::Healed => "ok, resent".into(),
        Expect::Owed(status) => format!("{status}, owed"),
        Expect::Api(status, true) => format!("{status} ↻"),
        Expect::Api(status, false) => status.to_string(),
        Expect::Dropped => "dropped".into(),
        Expect::Decode(Some(status)) => format!("decode {status}"),
        Expect::Decode(None) => "decode".into(),
        Expect::Other(what) => what.into(),
        Expect::NotApplicable(why) => {
            if !notes.contains(&why) {
                notes.push(why);
            }
            let n = notes.iter().position(|n| *n == why).unwrap_or(0) + 1;
            format!("n/a ({n})")
        }
    }
}

fn markdown() -> String {
    let mut notes = Vec::new();
    let mut out = String::from("| operation |");
    for col in COLS {
        let _ = write!(out, " {} |", col.header());
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(COLS.len()));
    out.push('\n');
    for (op, row) in MATRIX {
        let _ = write!(out, "| `{}` |", op.id());
        for expect in row {
            let _ = write!(out, " {} |", cell_text(expect, &mut notes));
        }
        out.push('\n');
    }
    for (i, note) in notes.iter().enumerate() {
        let _ = write!(out, "\n({}) {note}\n", i + 1);
    }
    out
}

#[test]
fn the_docs_show_the_matrix() {
    let wanted = format!("\n{}", markdown());
    crate::support::docs::check_table("docs/faults.md", START, END, &wanted);
}
