//! The STUN and TURN server behind the minted ICE servers: webrtc-rs's TURN server (the `turn`
//! crate, a port of pion/turn) on one loopback UDP socket, so the `stun:` and `turn:` URLs share
//! a port as they do on the service. It answers Binding requests without credentials and
//! relays through sockets on the emulator's own IP.
//!
//! Every authenticated request (Allocate, Refresh, CreatePermission, ChannelBind) asks the
//! registry: a username minted by the TURN API is accepted with its credential until its TTL
//! has passed or it is revoked. Revoking also ends the allocations made with it at once; an
//! expired credential's allocation lives until its next refresh, which is refused.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::net::UdpSocket;
use turn::auth::{AuthHandler, generate_auth_key};
use turn::relay::relay_static::RelayAddressGeneratorStatic;
use turn::server::Server;
use turn::server::config::{ConnConfig, ServerConfig};
use webrtc_util::vnet::net::Net;

use crate::state::{Registry, lock};

/// The realm the relay names in its 401 challenges.
const REALM: &str = "calls-emulator";

/// Looks each TURN username up among the minted credentials.
struct Credentials(Weak<Registry>);

impl AuthHandler for Credentials {
    fn auth_handle(
        &self,
        username: &str,
        realm: &str,
        _from: SocketAddr,
    ) -> Result<Vec<u8>, turn::Error> {
        let reg = self.0.upgrade().ok_or(turn::Error::ErrNoSuchUser)?;
        let credentials = lock(&reg.credentials);
        let cred = credentials
            .get(username)
            .filter(|c| c.active())
            .ok_or(turn::Error::ErrNoSuchUser)?;
        Ok(generate_auth_key(username, realm, &cred.credential))
    }
}

/// Starts the server on `socket`; relays bind ephemeral ports on `ip`. Dropping the server
/// stops it and closes every allocation.
pub(crate) async fn start(
    socket: UdpSocket,
    ip: IpAddr,
    reg: Weak<Registry>,
) -> Result<Server, turn::Error> {
    let address = match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    };
    Server::new(ServerConfig {
        conn_configs: vec![ConnConfig {
            conn: Arc::new(socket),
            relay_addr_generator: Box::new(RelayAddressGeneratorStatic {
                relay_address: ip,
                address,
                net: Arc::new(Net::new(None)),
            }),
        }],
        realm: REALM.to_string(),
        auth_handler: Arc::new(Credentials(reg)),
        // Zero means the crate's default (10 minutes), as on the service.
        channel_bind_timeout: Duration::ZERO,
        alloc_close_notify: None,
    })
    .await
}
