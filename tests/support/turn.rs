//! The emulator's TURN service as tests use it: a client that may mint credentials, and the
//! minted ICE servers cut down to one transport.

use calls_emulator::Emulator;
use cloudflare_calls::turn::IceServers;
use cloudflare_calls::{Client, Config};
use serde_json::Value;

/// A client of `emulator`'s app and of its TURN key.
pub fn client(emulator: &Emulator) -> Client {
    let config = Config::new(
        emulator.sfu_base_url(),
        emulator.app_id(),
        emulator.app_secret(),
    )
    .turn_key(emulator.turn_key_id(), emulator.turn_key_token());
    Client::new(config).unwrap()
}

/// `ice` as a browser's `iceServers`, with only the `turn:` URLs over `protocol` (`udp` or
/// `tcp`): what a client behind a firewall that lets nothing else through can use.
pub fn only_turn(ice: &IceServers, protocol: &str) -> Value {
    let mut ice = serde_json::to_value(ice).unwrap();
    let servers = ice.as_array_mut().unwrap();
    for server in servers.iter_mut() {
        let urls = server["urls"].as_array_mut().unwrap();
        urls.retain(|u| {
            u.as_str()
                .unwrap()
                .ends_with(&format!("?transport={protocol}"))
        });
    }
    servers.retain(|server| server["urls"] != serde_json::json!([]));
    ice
}
