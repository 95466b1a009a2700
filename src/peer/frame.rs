//! [`Frame`]: one encoded media frame, and [`FrameCodec`], how a track's frames are encoded.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

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
