//! Media handles: a pushed track that takes encoded frames, a pulled track that yields them,
//! and a built-in Opus silence source.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::driver::Cmd;
use super::error::PeerError;
use super::error::Result;
use crate::wire::MediaKind;

/// A 20 ms Opus packet of silence (TOC 0xF8: CELT, fullband, 20 ms, one frame; then the two
/// bytes every Opus decoder reads as a silent frame).
pub const OPUS_SILENCE_20MS: [u8; 3] = [0xf8, 0xff, 0xfe];

/// How the frames of a pushed track are encoded; it decides the track's kind and the payload
/// type they go out with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameCodec {
    /// Opus audio, e.g. [`OPUS_SILENCE_20MS`].
    Opus,
    /// VP8 video.
    Vp8,
    /// H.264 video (Annex B access units), e.g. from [`TestPattern`](super::test_pattern::TestPattern).
    H264,
}

impl FrameCodec {
    /// Audio or video.
    pub fn kind(self) -> MediaKind {
        match self {
            Self::Opus => MediaKind::Audio,
            Self::Vp8 | Self::H264 => MediaKind::Video,
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Opus => "Opus",
            Self::Vp8 => "VP8",
            Self::H264 => "H.264",
        }
    }
}

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
            return Err(PeerError::Closed.into());
        }
        done.await
            .map_err(|_| PeerError::Closed)?
            .map_err(Into::into)
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

/// One received media frame.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Frame {
    /// The track's name (as pulled).
    pub track: Arc<str>,
    /// The frame's media time (from its RTP timestamp, relative to an arbitrary origin).
    pub timestamp: Duration,
    /// The encoded frame (depacketized: one Opus packet, one VP8 frame...).
    pub payload: Bytes,
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
            return Err(PeerError::Closed.into());
        }
        done.await
            .map_err(|_| PeerError::Closed)?
            .map_err(Into::into)
    }
}

impl futures_core::Stream for IncomingTrack {
    type Item = Frame;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Frame>> {
        self.get_mut().rx.poll_recv(cx)
    }
}
