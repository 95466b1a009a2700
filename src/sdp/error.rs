//! The typed error every SDP function returns.

/// Why an SDP was rejected or an edit could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdpError {
    /// The text is not a well-formed session description.
    #[error("line {line}: {reason}")]
    Malformed {
        /// 1-based line number of the offending line.
        line: usize,
        /// What is wrong with it.
        reason: Malformed,
    },
    /// An Opus setting is outside the range RFC 7587 allows.
    #[error("Opus {parameter}={value} is outside {min}..={max}")]
    OutOfRange {
        /// The fmtp parameter name.
        parameter: &'static str,
        /// The rejected value.
        value: u32,
        /// Smallest allowed value.
        min: u32,
        /// Largest allowed value.
        max: u32,
    },
    /// Filtering would leave a media section without any codec.
    #[error("line {line}: none of the requested codecs is offered in this media section")]
    NoCodecLeft {
        /// 1-based line number of the section's `m=` line.
        line: usize,
    },
}

/// The reason part of [`SdpError::Malformed`]. The offending text is never
/// echoed, because SDP lines carry ICE passwords and fingerprints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Malformed {
    /// The input has no lines at all.
    #[error("the SDP is empty")]
    Empty,
    /// A blank line between other lines.
    #[error("blank line")]
    BlankLine,
    /// A line not shaped `<letter>=<value>`.
    #[error("expected `<letter>=<value>`")]
    NotTypeValue,
    /// The first line is not `v=0`.
    #[error("the first line must be `v=0`")]
    NotVersionZero,
    /// A second `v=` line.
    #[error("`v=` may only appear as the first line")]
    RepeatedVersion,
    /// The session part lacks one of `o=`, `s=`, `t=`.
    #[error("the session part has no `{0}=` line")]
    MissingSessionLine(char),
    /// An `m=` line that does not parse; the text says which field.
    #[error("bad `m=` line: {0}")]
    MediaLine(&'static str),
    /// An `a=rtpmap` line that does not parse.
    #[error("bad `a=rtpmap` line: {0}")]
    Rtpmap(&'static str),
    /// An `a=fmtp` line that does not parse.
    #[error("bad `a=fmtp` line: {0}")]
    Fmtp(&'static str),
}
