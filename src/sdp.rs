//! Lossless SDP inspection and munging for WebRTC offers and answers.
//!
//! Every function makes one forward pass over the text and borrows from it.
//! Edits copy everything they do not change byte for byte (line endings,
//! attribute order and unknown lines included), are idempotent, and accept
//! what real browsers emit: `\r\n` or `\n`, `a=fmtp` before or after its
//! `a=rtpmap`. Malformed input is reported as [`SdpError`] with the line
//! number, never a panic.

mod codec;
mod error;
mod opus;
mod read;
mod scan;
mod splice;

pub use codec::{prefer_codecs, retain_codecs};
pub use error::{Malformed, SdpError};
pub use opus::{OpusSettings, disable_opus_dtx, enable_opus_dtx};
pub use read::{
    Codec, Direction, MediaKind, MediaSection, Msid, Rid, RidDirection, SessionDescription, parse,
    validate,
};
