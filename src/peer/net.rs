//! The peer's UDP socket and the host candidate it announces.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

/// Receive buffer asked of the OS. The default (about 200 KiB, a few hundred small datagrams)
/// overflows when the SFU sends a burst while the peer's task waits for a core, and every
/// datagram lost there costs an SCTP retransmission timeout (a second or more). Linux caps
/// the request at `net.core.rmem_max`.
const RECEIVE_BUFFER: usize = 4 << 20;

/// Binds the peer's socket and returns it with the address to announce as host candidate.
///
/// Against a loopback SFU (the emulator) the peer stays on loopback. Otherwise it binds every
/// interface and announces the address of the one that routes to the internet: the SFU needs
/// an address it can reach, and `0.0.0.0` is none.
pub(super) async fn bind(base_url: &str) -> std::io::Result<(UdpSocket, SocketAddr)> {
    if is_loopback(base_url) {
        let socket = udp((Ipv4Addr::LOCALHOST, 0).into())?;
        let local = socket.local_addr()?;
        return Ok((socket, local));
    }
    let socket = udp((Ipv4Addr::UNSPECIFIED, 0).into())?;
    let port = socket.local_addr()?.port();
    Ok((socket, SocketAddr::new(routed_ip().await?, port)))
}

fn udp(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    // Best effort: a smaller buffer still works, it only drops sooner under load.
    let _ = socket.set_recv_buffer_size(RECEIVE_BUFFER);
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

/// The local address of the interface with the default route. Connecting a UDP socket sends
/// nothing; it only makes the kernel pick the route.
async fn routed_ip() -> std::io::Result<IpAddr> {
    let probe = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).await?;
    probe.connect(("1.1.1.1", 53)).await?;
    Ok(probe.local_addr()?.ip())
}

fn is_loopback(base_url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(base_url) else {
        return false;
    };
    let host = url.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn loopback_urls_are_recognised() {
        assert!(is_loopback("http://127.0.0.1:8080/v1"));
        assert!(is_loopback("http://localhost:1/v1"));
        assert!(is_loopback("http://[::1]:1/v1"));
        assert!(!is_loopback("https://rtc.live.cloudflare.com/v1"));
        assert!(!is_loopback("not a url"));
    }
}
