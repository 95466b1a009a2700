//! Lossless SDP inspection and munging for WebRTC offers and answers.
//!
//! Every function reads the text front to back and borrows from it. Edits
//! copy everything they do not change byte for byte (line endings,
//! attribute order and unknown lines included), are idempotent, and accept
//! what real browsers emit: `\r\n` or `\n`, `a=fmtp` before or after its
//! `a=rtpmap`. Malformed input is reported as [`SdpError`] with the line
//! number, never a panic.
//!
//! Every function checks every line the way [`validate`] does: an edit
//! succeeds only on input that validates, and fails with the same error
//! otherwise. The error names the line by number and never quotes it, since
//! SDP lines carry ICE passwords.
//!
//! ```
//! use cloudflare_calls::sdp::{self, SectionKind, OpusSettings};
//! # let offer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
//! #   m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n\
//! #   m=video 9 UDP/TLS/RTP/SAVPF 96 97 45\r\na=mid:1\r\na=rtpmap:96 VP8/90000\r\n\
//! #   a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\na=rtpmap:45 AV1/90000\r\n";
//! // `offer` is the browser's `RTCSessionDescription.sdp`.
//! let offer = OpusSettings::new().dtx(true).stereo(true).apply(offer)?;
//! let offer = sdp::retain_codecs(&offer, SectionKind::Video, &["VP8"])?;
//! let description = sdp::parse(&offer)?;
//! assert_eq!(description.media[1].codecs.len(), 2); // VP8 and its rtx
//! # Ok::<(), sdp::SdpError>(())
//! ```

mod codec;
mod error;
mod fields;
mod model;
mod opus;
mod read;
mod scan;
mod splice;

pub use codec::{prefer_codecs, retain_codecs};
pub use error::{Malformed, SdpError};
pub use model::{Codec, Direction, MediaSection, Msid, ParsedSdp, Rid, RidDirection, SectionKind};
pub use opus::{OpusSettings, disable_opus_dtx, enable_opus_dtx};
pub use read::{parse, validate};
