//! A minimal STUN responder for the ICE server lists: it answers Binding requests with the
//! sender's address and refuses TURN Allocate at once, so browsers stop trying to relay.

use std::net::SocketAddr;

use tokio::net::UdpSocket;

const COOKIE: u32 = 0x2112_A442;
const BINDING: u16 = 0x0001;
const ALLOCATE: u16 = 0x0003;

/// Builds the reply to `req` from `from`, if it is a request we answer.
pub(crate) fn reply(req: &[u8], from: SocketAddr) -> Option<Vec<u8>> {
    if req.len() < 20 || u32::from_be_bytes(req[4..8].try_into().ok()?) != COOKIE {
        return None;
    }
    let method = u16::from_be_bytes([req[0], req[1]]);
    let txid = &req[8..20];
    let (kind, attr_type, value) = match method {
        BINDING => (0x0101u16, 0x0020u16, xor_address(from, txid)),
        // 400 Bad Request in an ERROR-CODE attribute: class 4, number 0.
        ALLOCATE => (0x0113, 0x0009, vec![0, 0, 4, 0]),
        _ => return None,
    };
    let mut out = Vec::with_capacity(20 + 4 + value.len());
    out.extend_from_slice(&kind.to_be_bytes());
    out.extend_from_slice(&u16::try_from(4 + value.len()).ok()?.to_be_bytes());
    out.extend_from_slice(&COOKIE.to_be_bytes());
    out.extend_from_slice(txid);
    out.extend_from_slice(&attr_type.to_be_bytes());
    out.extend_from_slice(&u16::try_from(value.len()).ok()?.to_be_bytes());
    out.extend_from_slice(&value);
    Some(out)
}

fn xor_address(addr: SocketAddr, txid: &[u8]) -> Vec<u8> {
    let port = addr.port() ^ (COOKIE >> 16) as u16;
    let mut v = vec![0, 0];
    v.extend_from_slice(&port.to_be_bytes());
    let key: Vec<u8> = COOKIE.to_be_bytes().iter().chain(txid).copied().collect();
    match addr {
        SocketAddr::V4(a) => {
            v[1] = 0x01;
            v.extend(a.ip().octets().iter().zip(&key).map(|(b, k)| b ^ k));
        }
        SocketAddr::V6(a) => {
            v[1] = 0x02;
            v.extend(a.ip().octets().iter().zip(&key).map(|(b, k)| b ^ k));
        }
    }
    v
}

/// Serves STUN on `socket` until the task is dropped.
pub(crate) async fn serve(socket: UdpSocket) {
    let mut buf = [0u8; 1500];
    while let Ok((n, from)) = socket.recv_from(&mut buf).await {
        if let Some(out) = reply(&buf[..n], from) {
            let _ = socket.send_to(&out, from).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_reply_carries_xor_mapped_address() {
        let mut req = vec![0, 1, 0, 0];
        req.extend_from_slice(&COOKIE.to_be_bytes());
        req.extend_from_slice(&[7; 12]);
        let from: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let out = reply(&req, from).unwrap();
        assert_eq!(&out[0..2], &[0x01, 0x01]);
        let port = u16::from_be_bytes([out[26], out[27]]) ^ 0x2112;
        assert_eq!(port, 40000);
        assert_eq!(out[28] ^ 0x21, 127);
        assert!(reply(&req[..10], from).is_none());
    }
}
