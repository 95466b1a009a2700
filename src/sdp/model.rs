//! What `parse` returns: media sections and what Calls users look up in
//! them. Everything borrows from the input.

use super::fields::{MediaLine, parse_pt};

/// The parts of a session description Calls users inspect.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParsedSdp<'a> {
    /// Media sections in order; their index is the m-line index.
    pub media: Vec<MediaSection<'a>>,
}

impl ParsedSdp<'_> {
    /// Whether there is an SCTP (data channel) section.
    pub fn has_data_channel(&self) -> bool {
        self.media.iter().any(MediaSection::is_data_channel)
    }

    /// The section with this `a=mid`.
    pub fn by_mid(&self, mid: &str) -> Option<&MediaSection<'_>> {
        self.media.iter().find(|m| m.mid == Some(mid))
    }
}

/// One `m=` section.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MediaSection<'a> {
    /// 1-based line number of the `m=` line.
    pub line: usize,
    /// The media type, classified.
    pub kind: SectionKind,
    /// The media type as written (`audio`, `video`, `application`, ...).
    pub media: &'a str,
    /// The port; 0 marks a rejected or bundle-only section.
    pub port: u16,
    /// The transport protocol, e.g. `UDP/TLS/RTP/SAVPF`.
    pub protocol: &'a str,
    /// The format list as written.
    pub formats: &'a str,
    /// The `a=mid` value.
    pub mid: Option<&'a str>,
    /// The section's direction, falling back to the session's, then sendrecv.
    pub direction: Direction,
    /// RTP codecs in `m=` line (preference) order.
    pub codecs: Vec<Codec<'a>>,
    /// Simulcast `a=rid` lines.
    pub rids: Vec<Rid<'a>>,
    /// `a=msid` lines.
    pub msids: Vec<Msid<'a>>,
    /// The `a=simulcast` value as written.
    pub simulcast: Option<&'a str>,
}

impl<'a> MediaSection<'a> {
    /// Whether this is an SCTP section carrying data channels.
    pub fn is_data_channel(&self) -> bool {
        self.kind == SectionKind::Application && self.protocol.contains("SCTP")
    }

    /// The first track id of the section's `a=msid` lines.
    pub fn track_id(&self) -> Option<&'a str> {
        self.msids.iter().find_map(|m| m.track_id)
    }

    pub(super) fn new(line: usize, m: MediaLine<'a>, codecs: Vec<Codec<'a>>) -> Self {
        Self {
            line,
            kind: SectionKind::from_token(m.media),
            media: m.media,
            port: m.port,
            protocol: m.protocol,
            formats: m.formats,
            mid: None,
            direction: Direction::SendRecv,
            codecs,
            rids: Vec::new(),
            msids: Vec::new(),
            simulcast: None,
        }
    }

    pub(super) fn read_attribute(&mut self, name: &str, value: &'a str) {
        match name {
            "mid" => self.mid = Some(value),
            "simulcast" => self.simulcast = Some(value),
            "msid" => {
                let mut ids = value.split(' ').filter(|s| !s.is_empty());
                if let Some(stream_id) = ids.next() {
                    self.msids.push(Msid {
                        stream_id,
                        track_id: ids.next(),
                    });
                }
            }
            "rid" => {
                let mut fields = value.split(' ').filter(|s| !s.is_empty());
                if let Some(id) = fields.next() {
                    let direction = match fields.next() {
                        Some("send") => RidDirection::Send,
                        Some("recv") => RidDirection::Recv,
                        _ => RidDirection::Unknown,
                    };
                    self.rids.push(Rid { id, direction });
                }
            }
            _ => {}
        }
    }
}

/// What an `m=` section carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SectionKind {
    /// `audio`
    Audio,
    /// `video`
    Video,
    /// `application` (data channels)
    Application,
    /// Anything else; see [`MediaSection::media`].
    Other,
}

impl SectionKind {
    pub(crate) fn from_token(token: &str) -> Self {
        match token {
            "audio" => Self::Audio,
            "video" => Self::Video,
            "application" => Self::Application,
            _ => Self::Other,
        }
    }
}

/// Media direction attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `a=sendrecv`
    SendRecv,
    /// `a=sendonly`
    SendOnly,
    /// `a=recvonly`
    RecvOnly,
    /// `a=inactive`
    Inactive,
}

impl Direction {
    pub(super) fn from_attribute(name: &str) -> Option<Self> {
        Some(match name {
            "sendrecv" => Self::SendRecv,
            "sendonly" => Self::SendOnly,
            "recvonly" => Self::RecvOnly,
            "inactive" => Self::Inactive,
            _ => return None,
        })
    }
}

/// An RTP payload type with its `a=rtpmap` and `a=fmtp` data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Codec<'a> {
    /// The payload type number.
    pub payload_type: u8,
    /// Encoding name as written (`opus`, `VP8`, `rtx`, ...); empty when the
    /// payload type has no rtpmap and is not a well-known static one.
    pub name: &'a str,
    /// Clock rate in Hz (0 when unknown).
    pub clock_rate: u32,
    /// Audio channel count, when given.
    pub channels: Option<u16>,
    /// The first `a=fmtp` parameter list for this payload type.
    pub fmtp: Option<&'a str>,
}

impl Codec<'_> {
    pub(super) fn placeholder(payload_type: u8) -> Self {
        Self {
            payload_type,
            name: "",
            clock_rate: 0,
            channels: None,
            fmtp: None,
        }
    }

    /// RFC 3551 static payload types browsers still offer without rtpmap.
    pub(super) fn fill_static(&mut self) {
        if !self.name.is_empty() {
            return;
        }
        let (name, clock_rate) = match self.payload_type {
            0 => ("PCMU", 8000),
            8 => ("PCMA", 8000),
            9 => ("G722", 8000),
            13 => ("CN", 8000),
            _ => return,
        };
        self.name = name;
        self.clock_rate = clock_rate;
    }

    /// For an `rtx` codec, the payload type it retransmits (`apt=`).
    pub fn rtx_for(&self) -> Option<u8> {
        if !self.name.eq_ignore_ascii_case("rtx") {
            return None;
        }
        fmtp_value(self.fmtp?, "apt").and_then(parse_pt)
    }

    /// The value of one fmtp parameter, e.g. `usedtx`.
    pub fn fmtp_param(&self, key: &str) -> Option<&str> {
        fmtp_value(self.fmtp?, key)
    }
}

pub(crate) fn fmtp_value<'a>(params: &'a str, key: &str) -> Option<&'a str> {
    params.split(';').find_map(|piece| {
        let (k, v) = piece.split_once('=')?;
        k.trim().eq_ignore_ascii_case(key).then(|| v.trim())
    })
}

/// A simulcast restriction identifier (`a=rid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rid<'a> {
    /// The rid, e.g. `h`.
    pub id: &'a str,
    /// Whether it is sent or received.
    pub direction: RidDirection,
}

/// Direction of an `a=rid` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RidDirection {
    /// `send`
    Send,
    /// `recv`
    Recv,
    /// Missing or not understood.
    Unknown,
}

/// A media stream and track id pair (`a=msid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Msid<'a> {
    /// The stream id (`-` when the track has no stream).
    pub stream_id: &'a str,
    /// The track id, when given.
    pub track_id: Option<&'a str>,
}
