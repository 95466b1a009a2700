//! TURN over TCP (RFC 8656 section 3.1): clients behind a firewall that blocks UDP reach the
//! relay on a TCP connection, over which STUN messages and ChannelData follow each other with
//! no other framing. The TURN server reads datagrams, so [`TcpPackets`] cuts each connection's
//! stream into messages, hands them over as datagrams from the connection's address, and
//! writes the server's answers back on that connection. The relayed side stays UDP.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The most messages waiting for the TURN server, from every connection together.
const BACKLOG: usize = 1024;
/// The largest message a client can frame: a STUN header and the most its length field says.
const MAX_MESSAGE: usize = 20 + u16::MAX as usize;

type Writers = Arc<Mutex<HashMap<SocketAddr, mpsc::UnboundedSender<Vec<u8>>>>>;

/// A TCP listener seen as a packet connection, one peer address per TCP connection.
pub(crate) struct TcpPackets {
    local: SocketAddr,
    incoming: tokio::sync::Mutex<mpsc::Receiver<(Vec<u8>, SocketAddr)>>,
    writers: Writers,
    accepting: JoinHandle<()>,
}

impl TcpPackets {
    /// Accepts connections on `listener` until dropped.
    pub(crate) fn new(listener: TcpListener) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let (tx, incoming) = mpsc::channel(BACKLOG);
        let writers = Writers::default();
        let accepting = tokio::spawn(accept(listener, tx, writers.clone()));
        Ok(Self {
            local,
            incoming: tokio::sync::Mutex::new(incoming),
            writers,
            accepting,
        })
    }

    pub(crate) async fn recv_from(&self, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
        let Some((message, from)) = self.incoming.lock().await.recv().await else {
            return Err(std::io::ErrorKind::BrokenPipe.into());
        };
        let n = message.len().min(buf.len());
        buf[..n].copy_from_slice(&message[..n]);
        Ok((n, from))
    }

    /// Queues `message` for the connection from `target`; one that closed drops it, as a
    /// datagram to a peer that is gone would be.
    pub(crate) fn send_to(&self, message: &[u8], target: SocketAddr) -> usize {
        if let Some(writer) = lock(&self.writers).get(&target) {
            let _ = writer.send(message.to_vec());
        }
        message.len()
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

impl Drop for TcpPackets {
    fn drop(&mut self) {
        self.accepting.abort();
        // Dropping the writers ends each connection's writing task, which closes it.
        lock(&self.writers).clear();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn accept(listener: TcpListener, tx: mpsc::Sender<(Vec<u8>, SocketAddr)>, writers: Writers) {
    while let Ok((stream, from)) = listener.accept().await {
        let _ = stream.set_nodelay(true);
        let (read, mut write) = stream.into_split();
        let (out, mut outgoing) = mpsc::unbounded_channel::<Vec<u8>>();
        lock(&writers).insert(from, out);
        tokio::spawn(async move {
            while let Some(message) = outgoing.recv().await {
                let padded = padding(&message);
                if write.write_all(&message).await.is_err()
                    || write.write_all(&[0; 3][..padded]).await.is_err()
                {
                    break;
                }
            }
        });
        let (tx, writers) = (tx.clone(), writers.clone());
        tokio::spawn(async move {
            let _ = read_messages(read, from, &tx).await;
            lock(&writers).remove(&from);
        });
    }
}

/// Reads one connection's messages until it closes or sends something that is neither STUN
/// nor ChannelData.
async fn read_messages(
    mut read: OwnedReadHalf,
    from: SocketAddr,
    tx: &mpsc::Sender<(Vec<u8>, SocketAddr)>,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        read.read_exact(&mut buf[..4]).await?;
        let (size, padded) = framed(&buf[..4]).ok_or(std::io::ErrorKind::InvalidData)?;
        read.read_exact(&mut buf[4..padded]).await?;
        if tx.send((buf[..size].to_vec(), from)).await.is_err() {
            return Ok(());
        }
    }
}

/// From a message's first 4 bytes: its size, and the bytes it takes on the stream with its
/// padding; `None` for what is neither STUN nor ChannelData.
fn framed(header: &[u8]) -> Option<(usize, usize)> {
    let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
    match header[0] >> 6 {
        // STUN: a 20-byte header whose length field counts the attributes after it.
        0b00 => Some((20 + length, 20 + length)),
        // ChannelData: a 4-byte header, its data padded to 4 bytes over TCP.
        0b01 => Some((4 + length, 4 + length + (4 - length % 4) % 4)),
        _ => None,
    }
}

/// The bytes of padding that follow `message` on a TCP connection: ChannelData is padded to a
/// multiple of 4 (STUN messages always are).
fn padding(message: &[u8]) -> usize {
    match message.first() {
        Some(first) if first >> 6 == 0b01 => (4 - message.len() % 4) % 4,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_MESSAGE, framed, padding};

    #[test]
    fn messages_are_cut_by_their_headers_and_always_fit() {
        // STUN, 8 bytes of attributes.
        assert_eq!(framed(&[0x00, 0x01, 0, 8]), Some((28, 28)));
        // ChannelData of 5 bytes takes 12 on the stream.
        assert_eq!(framed(&[0x40, 0x00, 0, 5]), Some((9, 12)));
        assert_eq!(framed(&[0x80, 0, 0, 0]), None);
        // The longest either header can announce fits the buffer.
        for first in [0x00, 0x40] {
            let (_, padded) = framed(&[first, 0, 0xff, 0xff]).unwrap();
            assert!(padded <= MAX_MESSAGE, "{padded}");
        }
    }

    #[test]
    fn only_channel_data_is_padded() {
        assert_eq!(padding(&[0x40, 0, 0, 1, 9]), 3);
        assert_eq!(padding(&[0x40, 0, 0, 4, 1, 2, 3, 4]), 0);
        // A STUN message's length is a multiple of 4 already.
        assert_eq!(padding(&[0x00, 0x01, 0, 0]), 0);
    }
}
