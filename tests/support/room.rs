//! What the room tests share: a client of the emulator, a browser's offer, and the check that
//! the SFU has nothing of a session left open.

use calls_emulator::Emulator;
use cloudflare_calls::session::ResourceStatus;
use cloudflare_calls::{Client, Config};

/// A Chromium offer with a microphone, a camera and a data channel.
pub const OFFER: &str = include_str!("../fixtures/sdp/chromium_tracks_datachannel.sdp");

/// A client of `emulator`'s app.
pub fn client(emulator: &Emulator) -> Client {
    Client::new(Config::new(
        emulator.sfu_base_url(),
        emulator.app_id(),
        emulator.app_secret(),
    ))
    .unwrap()
}

/// Every session has nothing active left on the SFU (or is gone).
pub async fn nothing_open(client: &Client, sessions: &[String]) {
    for id in sessions {
        match client.session(id).state().await {
            Err(e) => assert!(e.is_session_gone(), "{id}: {e}"),
            Ok(state) => {
                let tracks: Vec<_> = state.tracks.iter().filter(|t| t.is_active()).collect();
                assert!(
                    tracks.is_empty(),
                    "{id} still has active tracks: {tracks:?}"
                );
                let channels: Vec<_> = state
                    .data_channels
                    .iter()
                    .filter(|c| c.status == Some(ResourceStatus::Active))
                    .collect();
                assert!(
                    channels.is_empty(),
                    "{id} still has open channels: {channels:?}"
                );
            }
        }
    }
}
