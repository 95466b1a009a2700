//! The peer's UDP socket and the host candidate it announces.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use tokio::net::UdpSocket;

/// Binds the peer's socket and returns it with the address to announce as host candidate.
///
/// Against a loopback SFU (the emulator) the peer stays on loopback. Otherwise it binds every
/// interface and announces the address of the one that routes to the internet: the SFU needs
/// an address it can reach, and `0.0.0.0` is none.
pub(super) async fn bind(base_url: &str) -> std::io::Result<(UdpSocket, SocketAddr)> {
    if is_loopback(base_url) {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let local = socket.local_addr()?;
        return Ok((socket, local));
    }
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).await?;
    let port = socket.local_addr()?.port();
    Ok((socket, SocketAddr::new(routed_ip().await?, port)))
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
