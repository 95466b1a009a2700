//! Media handles: a pushed track that takes encoded frames, a pulled track that yields them,
//! and a built-in Opus silence source.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::driver::Cmd;
use super::error::PeerError;
use super::error::Result;
use super::frame::{Frame, FrameCodec, OPUS_SILENCE_20MS};

/// A track this peer pushes; see [`Peer::push_track`](super::Peer::push_track).
///
/// Frames are encoded by the caller in the track's [`FrameCodec`]. The peer packetizes them
/// into RTP and paces nothing: send each frame when it is due.
#[derive(Clone, Debug)]
pub struct OutgoingTrack {
    pub(super) cmds: mpsc::Sender<Cmd>,
    pub(super) name: Arc<str>,
    pub(super) mid: String,
    pub(super) codec: FrameCodec,
    pub(super) keyframe_requests: Arc<AtomicU64>,
}

impl OutgoingTrack {
    /// The track's name on the SFU.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The transceiver's mid in this peer's session.
    pub fn mid(&self) -> &str {
        &self.mid
    }

    /// How its frames are encoded.
    pub fn codec(&self) -> FrameCodec {
        self.codec
    }

    /// How many keyframes subscribers asked for (PLI/FIR); a video source should send one
    /// when this grows.
    pub fn keyframe_requests(&self) -> u64 {
        self.keyframe_requests.load(Ordering::Relaxed)
    }

    /// Sends one encoded frame lasting `duration` (its RTP timestamp advances by that much).
    pub async fn send_frame(&self, payload: impl Into<Vec<u8>>, duration: Duration) -> Result<()> {
        let (reply, done) = oneshot::channel();
        let cmd = Cmd::Frame {
            mid: self.mid.clone(),
            payload: payload.into(),
            duration,
            reply,
        };
        if self.cmds.send(cmd).await.is_err() {
            return Err(PeerError::Closed);
        }
        done.await.map_err(|_| PeerError::Closed)?
    }

    /// Sends a [`TestPattern`](super::test_pattern::TestPattern) frame every `interval` for `length`: a
    /// moving picture for demos and tests (an [`H264`](FrameCodec::H264) track). A zero
    /// `interval` is an [`Error::InvalidArgument`](crate::Error::InvalidArgument).
    pub async fn send_test_pattern(
        &self,
        pattern: &mut super::test_pattern::TestPattern,
        interval: Duration,
        length: Duration,
    ) -> Result<()> {
        self.send_every(interval, length, || pattern.next_frame())
            .await
    }

    /// Sends Opus silence every 20 ms for `length`: a source for demos and tests.
    pub async fn send_silence(&self, length: Duration) -> Result<()> {
        let frame = Duration::from_millis(20);
        self.send_every(frame, length, || OPUS_SILENCE_20MS.to_vec())
            .await
    }

    /// Sends `next()` every `interval` until `length` is covered.
    async fn send_every(
        &self,
        interval: Duration,
        length: Duration,
        mut next: impl FnMut() -> Vec<u8>,
    ) -> Result<()> {
        if interval.is_zero() {
            return Err(crate::Error::InvalidArgument(
                "a frame interval must be longer than zero".into(),
            )
            .into());
        }
        let mut tick = tokio::time::interval(interval);
        for _ in 0..length.as_nanos().div_ceil(interval.as_nanos()) {
            tick.tick().await;
            self.send_frame(next(), interval).await?;
        }
        Ok(())
    }
}

/// A track pulled from another session; see [`Peer::pull`](super::Peer::pull).
///
/// A [`Stream`](futures_core::Stream) of frames. Frames wait in a bounded buffer; when it is
/// full, new frames are dropped and counted in [`dropped`](Self::dropped) (media is realtime:
/// a late frame is worth less than the next one).
#[derive(Debug)]
pub struct IncomingTrack {
    pub(super) rx: mpsc::Receiver<Frame>,
    pub(super) cmds: mpsc::Sender<Cmd>,
    pub(super) name: Arc<str>,
    pub(super) mid: String,
    pub(super) dropped: Arc<AtomicU64>,
}

impl IncomingTrack {
    /// The track's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The transceiver's mid in this peer's session.
    pub fn mid(&self) -> &str {
        &self.mid
    }

    /// Frames dropped because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The next frame; `None` once the track or the peer ended.
    pub async fn recv(&mut self) -> Option<Frame> {
        self.rx.recv().await
    }

    /// Asks the publisher for a keyframe (an RTCP PLI through the SFU).
    pub async fn request_keyframe(&self) -> Result<()> {
        let (reply, done) = oneshot::channel();
        let cmd = Cmd::Keyframe {
            mid: self.mid.clone(),
            reply,
        };
        if self.cmds.send(cmd).await.is_err() {
            return Err(PeerError::Closed);
        }
        done.await.map_err(|_| PeerError::Closed)?
    }
}

impl futures_core::Stream for IncomingTrack {
    type Item = Frame;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Frame>> {
        self.get_mut().rx.poll_recv(cx)
    }
}
