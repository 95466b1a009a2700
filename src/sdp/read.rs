//! `validate` and `parse`: the read-only entry points.

use super::error::SdpError;
use super::fields::parse_pt;
use super::model::{Codec, Direction, MediaSection, ParsedSdp};
use super::scan::{Kind, lines};

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
/// use cloudflare_calls::sdp::{Direction, SectionKind, parse};
/// let sdp = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
///            m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendonly\r\n\
///            a=msid:stream track\r\na=rtpmap:111 opus/48000/2\r\n\
///            m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\n";
/// let description = parse(sdp)?;
/// let audio = &description.media[0];
/// assert_eq!((audio.kind, audio.mid, audio.direction), (SectionKind::Audio, Some("0"), Direction::SendOnly));
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
