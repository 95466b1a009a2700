//! The STUN and TURN server behind the minted ICE servers: webrtc-rs's TURN server (the `turn`
//! crate, a port of pion/turn) on one loopback UDP socket, so the `stun:` and `turn:` URLs share
//! a port as they do on the service, and on a TCP listener for `turn:…?transport=tcp` (see
//! [`super::tcp`]). It answers Binding requests without credentials and relays through UDP
//! sockets on the emulator's own IP.
//!
//! Every authenticated request (Allocate, Refresh, CreatePermission, ChannelBind) asks the
//! registry: a username minted by the TURN API is accepted with its credential until its TTL
//! has passed or it is revoked. Revoking also ends the allocations made with it at once; an
//! expired credential's allocation lives until its next refresh, which is refused.
//!
//! A request with credentials that are not valid (an unknown, revoked or expired username, a
//! wrong password) gets 401, as STUN and TURN specify (RFC 8489 section 9.2.4): the socket
//! ([`Checked`]) answers it before the TURN server, which would answer 400.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::net::{TcpListener, UdpSocket};
use turn::auth::{AuthHandler, generate_auth_key};
use turn::relay::relay_static::RelayAddressGeneratorStatic;
use turn::server::Server;
use turn::server::config::{ConnConfig, ServerConfig};
use webrtc_util::vnet::net::Net;

use super::tcp::TcpPackets;
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

/// Starts the server on `udp` and `tcp`; relays bind ephemeral ports on `ip`. Dropping the
/// server stops it and closes every allocation.
pub(crate) async fn start(
    udp: UdpSocket,
    tcp: TcpListener,
    ip: IpAddr,
    reg: Weak<Registry>,
) -> Result<Server, turn::Error> {
    let address = match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    };
    let tcp = TcpPackets::new(tcp).map_err(|e| turn::Error::Other(e.to_string()))?;
    let listener = |transport| ConnConfig {
        conn: Arc::new(Checked {
            transport,
            reg: reg.clone(),
        }),
        relay_addr_generator: Box::new(RelayAddressGeneratorStatic {
            relay_address: ip,
            address: address.clone(),
            net: Arc::new(Net::new(None)),
        }),
    };
    Server::new(ServerConfig {
        conn_configs: vec![listener(Transport::Udp(udp)), listener(Transport::Tcp(tcp))],
        realm: REALM.to_string(),
        auth_handler: Arc::new(Credentials(reg.clone())),
        // Zero means the crate's default (10 minutes), as on the service.
        channel_bind_timeout: Duration::ZERO,
        alloc_close_notify: None,
    })
    .await
}

/// Where clients reach the relay.
enum Transport {
    Udp(UdpSocket),
    Tcp(TcpPackets),
}

/// The relay's socket: answers a request whose credentials are not valid with 401 itself,
/// and hands everything else to the TURN server.
struct Checked {
    transport: Transport,
    reg: Weak<Registry>,
}

impl Checked {
    /// The 401 for `datagram`, when it is a request with credentials that are not valid.
    fn refusal(&self, datagram: &[u8]) -> Option<Vec<u8>> {
        use stun::attributes::{ATTR_MESSAGE_INTEGRITY, ATTR_NONCE, ATTR_REALM, ATTR_USERNAME};
        use stun::error_code::{CODE_UNAUTHORIZED, ErrorCodeAttribute};
        use stun::integrity::MessageIntegrity;
        use stun::message::{CLASS_ERROR_RESPONSE, CLASS_REQUEST, Message, MessageType, Setter};
        use stun::textattrs::TextAttribute;

        let mut m = Message::new();
        m.unmarshal_binary(datagram).ok()?;
        if m.typ.class != CLASS_REQUEST || !m.contains(ATTR_MESSAGE_INTEGRITY) {
            return None;
        }
        let username = TextAttribute::get_from_as(&m, ATTR_USERNAME).ok()?.text;
        let password = self.reg.upgrade().and_then(|reg| {
            let credentials = lock(&reg.credentials);
            let cred = credentials.get(&username).filter(|c| c.active())?;
            Some(cred.credential.clone())
        });
        let valid = password.is_some_and(|password| {
            let key = MessageIntegrity::new_long_term_integrity(
                username.clone(),
                REALM.to_owned(),
                password,
            );
            key.check(&mut m.clone()).is_ok()
        });
        if valid {
            return None;
        }
        let mut response = Message::new();
        let setters: Vec<Box<dyn Setter>> = vec![
            Box::new(m.transaction_id),
            Box::new(MessageType::new(m.typ.method, CLASS_ERROR_RESPONSE)),
            Box::new(ErrorCodeAttribute {
                code: CODE_UNAUTHORIZED,
                reason: b"Unauthorized".to_vec(),
            }),
            Box::new(TextAttribute::new(ATTR_REALM, REALM.to_owned())),
            Box::new(TextAttribute::new(
                ATTR_NONCE,
                format!("{:016x}", fastrand::u64(..)),
            )),
        ];
        response.build(&setters).ok()?;
        Some(response.raw)
    }
}

#[async_trait::async_trait]
impl webrtc_util::Conn for Checked {
    async fn connect(&self, addr: SocketAddr) -> webrtc_util::Result<()> {
        match &self.transport {
            Transport::Udp(socket) => socket.connect(addr).await.map_err(Into::into),
            // A TCP listener answers each connection on it; the TURN server never connects one.
            Transport::Tcp(_) => Err(webrtc_util::Error::Other("a TCP listener".into())),
        }
    }

    async fn recv(&self, buf: &mut [u8]) -> webrtc_util::Result<usize> {
        Ok(self.recv_from(buf).await?.0)
    }

    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        loop {
            let (n, from) = match &self.transport {
                Transport::Udp(socket) => socket.recv_from(buf).await?,
                Transport::Tcp(tcp) => tcp.recv_from(buf).await?,
            };
            match self.refusal(&buf[..n]) {
                Some(refusal) => {
                    let _ = self.send_to(&refusal, from).await;
                }
                None => return Ok((n, from)),
            }
        }
    }

    async fn send(&self, buf: &[u8]) -> webrtc_util::Result<usize> {
        match &self.transport {
            Transport::Udp(socket) => socket.send(buf).await.map_err(Into::into),
            Transport::Tcp(_) => Err(webrtc_util::Error::Other("a TCP listener".into())),
        }
    }

    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> webrtc_util::Result<usize> {
        match &self.transport {
            Transport::Udp(socket) => socket.send_to(buf, target).await.map_err(Into::into),
            Transport::Tcp(tcp) => Ok(tcp.send_to(buf, target)),
        }
    }

    fn local_addr(&self) -> webrtc_util::Result<SocketAddr> {
        match &self.transport {
            Transport::Udp(socket) => socket.local_addr().map_err(Into::into),
            Transport::Tcp(tcp) => Ok(tcp.local_addr()),
        }
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        None
    }

    async fn close(&self) -> webrtc_util::Result<()> {
        Ok(())
    }

    fn as_any(&self) -> &(dyn std::any::Any + Send + Sync) {
        self
    }
}
