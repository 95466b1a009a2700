//! Internal, behind the non-default `fuzzing` feature; not part of the API and not semver
//! covered. The cargo-fuzz target `fuzz/fuzz_targets/responses.rs` calls [`call`]: one
//! operation of the public API, made by a real [`Client`], whose every HTTP attempt gets a
//! scripted response instead of going to the network. Everything after the socket runs as
//! in production: the transport's retry decisions and tracing events, the generated status
//! dispatch and decoding, `decode` and the handwritten layer's conversions.

use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::adapters::AdapterItem;
use crate::session::CloseMode;
use crate::{Answer, Client, Config, DataChannel, Error, LocalTrack, Offer};

/// Every operation of the three APIs, by operationId; [`call`] takes an index into this.
pub const OPERATIONS: [&str; 25] = [
    "new_session",
    "get_session_state",
    "add_tracks",
    "renegotiate_session",
    "update_tracks",
    "close_tracks",
    "establish_data_channel_transport",
    "add_data_channels",
    "update_data_channels",
    "close_data_channels",
    "create_websocket_adapters",
    "close_websocket_adapters",
    "generate_ice_servers",
    "generate_turn_credentials",
    "revoke_turn_credentials",
    "list_sfu_apps",
    "create_sfu_app",
    "get_sfu_app",
    "update_sfu_app",
    "delete_sfu_app",
    "list_turn_keys",
    "create_turn_key",
    "get_turn_key",
    "update_turn_key",
    "delete_turn_key",
];

/// The credentials the client authenticates with (app secret, account API token, TURN key
/// token): nothing a call prints or logs may show them.
pub const TOKENS: [&str; 3] = [
    "fuzz-app-secret-7Hq2Lw9Xc4",
    "fuzz-account-token-Vb8Nm3Kd6",
    "fuzz-turn-token-Rt5Gy1Pz0",
];

/// The URL a created adapter is asked to dial; its query is a credential.
pub const ADAPTER_URL: &str = "wss://adapter.fuzz.invalid/ingest?token=fuzz-adapter-Qs4Jx8";

const SDP: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

struct Harness {
    runtime: tokio::runtime::Runtime,
    client: Client,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        // Paused time: the runtime skips ahead whenever it would sleep, so retry backoffs
        // and signalling-conflict retries cost nothing.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("a current-thread runtime");
        let config = Config::new("http://sfu.fuzz.invalid/v1", "fuzz-app", TOKENS[0])
            .account("fuzz-account", TOKENS[1])
            .account_api_url("http://account.fuzz.invalid/client/v4")
            .turn_key("fuzz-turn-key", TOKENS[2])
            .http_client(reqwest::Client::new());
        let client = Client::new(config).expect("a valid configuration");
        Harness { runtime, client }
    })
}

/// Runs operation `OPERATIONS[operation]` with every attempt answered by `status`, `headers`
/// (pairs that are not a valid header are left out) and `body`. Returns the `Debug` text of
/// what the call returned, its error, or `None` when `operation` is out of range or `status`
/// is not an HTTP status (100 to 999).
pub fn call(
    operation: usize,
    status: u16,
    headers: &[(&[u8], &[u8])],
    body: &[u8],
) -> Option<Result<String, Error>> {
    let name = *OPERATIONS.get(operation)?;
    let status = StatusCode::from_u16(status).ok()?;
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            map.append(name, value);
        }
    }
    let scripted = crate::http::transport::Scripted {
        status,
        headers: map,
        body: Bytes::copy_from_slice(body),
    };
    let Harness { runtime, client } = harness();
    Some(runtime.block_on(crate::http::transport::SCRIPTED.scope(scripted, run(client, name))))
}

async fn run(client: &Client, operation: &str) -> Result<String, Error> {
    let session = client.session("fuzz-session");
    let ttl = Duration::from_secs(600);
    let (apps, keys) = (client.apps(), client.turn_keys());
    Ok(match operation {
        "new_session" => {
            let offer = Offer::new(SDP);
            let created = client.new_session().offer(offer).send().await?;
            format!("{created:?} {:?}", created.answer())
        }
        "get_session_state" => format!("{:?}", session.state().await?),
        "add_tracks" => {
            let call = session.add_tracks().offer(Offer::new(SDP));
            format!("{:?}", call.push(LocalTrack::new("0", "mic")).send().await?)
        }
        "renegotiate_session" => format!("{:?}", session.renegotiate(Answer::new(SDP)).await?),
        "update_tracks" => {
            let call = session.update_tracks().push(LocalTrack::new("0", "mic"));
            format!("{:?}", call.send().await?)
        }
        "close_tracks" => format!(
            "{:?}",
            session.close_tracks(["0"], CloseMode::Force).send().await?
        ),
        "establish_data_channel_transport" => {
            format!("{:?}", session.establish_data_channels(None).await?)
        }
        "add_data_channels" => {
            let call = session.add_data_channels();
            format!(
                "{:?}",
                call.channel(DataChannel::publish("chat")).send().await?
            )
        }
        "update_data_channels" => {
            let call = session.update_data_channels();
            format!(
                "{:?}",
                call.channel(DataChannel::publish("chat")).send().await?
            )
        }
        "close_data_channels" => {
            let call = session.close_data_channels();
            format!(
                "{:?}",
                call.channel(DataChannel::publish("chat")).send().await?
            )
        }
        "create_websocket_adapters" => {
            let item = AdapterItem::ingest("mic", ADAPTER_URL);
            format!("{:?}", client.adapters().create().item(item).send().await?)
        }
        "close_websocket_adapters" => {
            format!("{:?}", client.adapters().close(["adapter-1"]).await?)
        }
        "generate_ice_servers" => {
            let call = client.turn().generate_ice_servers(ttl).drop_port_53(true);
            format!("{:?}", call.send().await?)
        }
        "generate_turn_credentials" => {
            format!("{:?}", client.turn().generate_credentials(ttl).await?)
        }
        "revoke_turn_credentials" => format!("{:?}", client.turn().revoke("user-1").await?),
        "list_sfu_apps" => format!("{:?}", apps.list().await?),
        "create_sfu_app" => format!("{:?}", apps.create().name("web").send().await?),
        "get_sfu_app" => format!("{:?}", apps.get("app-1").await?),
        "update_sfu_app" => format!("{:?}", apps.update("app-1").name("web").send().await?),
        "delete_sfu_app" => format!("{:?}", apps.delete("app-1").await?),
        "list_turn_keys" => format!("{:?}", keys.list().await?),
        "create_turn_key" => format!("{:?}", keys.create().name("web").send().await?),
        "get_turn_key" => format!("{:?}", keys.get("key-1").await?),
        "update_turn_key" => format!("{:?}", keys.update("key-1").name("web").send().await?),
        "delete_turn_key" => format!("{:?}", keys.delete("key-1").await?),
        other => unreachable!("{other} is not in OPERATIONS"),
    })
}
