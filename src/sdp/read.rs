//! Read-only views of an SDP: media sections and what Calls users look up in
//! them. Everything borrows from the input.

use super::error::SdpError;
use super::scan::{Kind, MediaLine, lines, parse_pt};

/// Checks that `sdp` is structurally sound, naming the first bad line.
///
/// ```
/// use cloudflare_calls::sdp::{Malformed, SdpError, validate};
/// let err = validate("v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio x RTP/AVP 0\r\n");
/// assert_eq!(
///     err,
///     Err(SdpError::Malformed { line: 5, reason: Malformed::MediaLine("port is not a number 0..=65535") })
/// );
/// ```
pub fn validate(sdp: &str) -> Result<(), SdpError> {
    lines(sdp).try_for_each(|line| line.map(drop))
}

/// Parses the media sections of `sdp`, validating it on the way.
///
/// ```
/// use cloudflare_calls::sdp::{Direction, MediaKind, parse};
/// let sdp = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
///            m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendonly\r\n\
///            a=msid:stream track\r\na=rtpmap:111 opus/48000/2\r\n\
///            m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\n";
/// let description = parse(sdp)?;
/// let audio = &description.media[0];
/// assert_eq!((audio.kind, audio.mid, audio.direction), (MediaKind::Audio, Some("0"), Direction::SendOnly));
/// assert_eq!(audio.codecs[0].name, "opus");
/// assert_eq!(audio.msids[0].track_id, Some("track"));
/// assert!(description.has_data_channel());
/// # Ok::<(), cloudflare_calls::sdp::SdpError>(())
/// ```
pub fn parse(sdp: &str) -> Result<ParsedSdp<'_>, SdpError> {
    let mut media: Vec<MediaSection<'_>> = Vec::new();
    // Directions as written; a section without one inherits the session's.
    let mut directions: Vec<Option<Direction>> = Vec::new();
    let mut session_direction = None;
    // Payload type -> index into the current section's codecs, so hostile
    // sections with thousands of lines stay linear.
    let mut slots = [usize::MAX; 128];
    for line in lines(sdp) {
        let line = line?;
        let section = media.last_mut();
        match (line.kind, section) {
            (Kind::Media(m), _) => {
                slots = [usize::MAX; 128];
                let mut codecs = Vec::new();
                for pt in m.formats.split(' ').filter_map(parse_pt).filter(|_| m.rtp) {
                    if slots[usize::from(pt)] == usize::MAX {
                        slots[usize::from(pt)] = codecs.len();
                        codecs.push(Codec::placeholder(pt));
                    }
                }
                media.push(MediaSection::new(line.number, m, codecs));
                directions.push(None);
            }
            (Kind::Rtpmap(r), Some(section)) => {
                let codec = section.codecs.get_mut(slots[usize::from(r.pt)]);
                if let Some(codec) = codec.filter(|c| c.name.is_empty()) {
                    (codec.name, codec.clock_rate, codec.channels) =
                        (r.name, r.clock_rate, r.channels);
                }
            }
            (Kind::Fmtp(f), Some(section)) => {
                let codec = section.codecs.get_mut(slots[usize::from(f.pt)]);
                if let Some(codec) = codec.filter(|c| c.fmtp.is_none()) {
                    codec.fmtp = Some(f.params);
                }
            }
            (Kind::Attribute(attribute), section) => {
                let (name, value) = attribute.split_once(':').unwrap_or((attribute, ""));
                let direction = Direction::from_attribute(name);
                match (section, directions.last_mut()) {
                    (Some(section), Some(slot)) => {
                        *slot = direction.or(*slot);
                        section.read_attribute(name, value);
                    }
                    _ => session_direction = direction.or(session_direction),
                }
            }
            _ => {}
        }
    }
    for (section, direction) in media.iter_mut().zip(directions) {
        section.direction = direction
            .or(session_direction)
            .unwrap_or(Direction::SendRecv);
        section.codecs.iter_mut().for_each(Codec::fill_static);
    }
    Ok(ParsedSdp { media })
}

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
    pub kind: MediaKind,
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
        self.kind == MediaKind::Application && self.protocol.contains("SCTP")
    }

    /// The first track id of the section's `a=msid` lines.
    pub fn track_id(&self) -> Option<&'a str> {
        self.msids.iter().find_map(|m| m.track_id)
    }

    fn new(line: usize, m: MediaLine<'a>, codecs: Vec<Codec<'a>>) -> Self {
        Self {
            line,
            kind: MediaKind::from_token(m.media),
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

    fn read_attribute(&mut self, name: &str, value: &'a str) {
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
pub enum MediaKind {
    /// `audio`
    Audio,
    /// `video`
    Video,
    /// `application` (data channels)
    Application,
    /// Anything else; see [`MediaSection::media`].
    Other,
}

impl MediaKind {
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
    fn from_attribute(name: &str) -> Option<Self> {
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
    fn placeholder(payload_type: u8) -> Self {
        Self {
            payload_type,
            name: "",
            clock_rate: 0,
            channels: None,
            fmtp: None,
        }
    }

    /// RFC 3551 static payload types browsers still offer without rtpmap.
    fn fill_static(&mut self) {
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
