//! Codec filtering and preference per media kind, done on the `m=` format
//! list and the payload-type lines (`a=rtpmap`, `a=fmtp`, `a=rtcp-fb`).

use super::error::SdpError;
use super::fields::{MediaLine, parse_pt};
use super::model::{SectionKind, fmtp_value};
use super::scan::{Kind, Line, lines};
use super::splice::{Edit, splice};

/// Keeps only the named codecs (and the `rtx` payload types that repair
/// them) in every `kind` section, dropping the other payload types from the
/// `m=` line together with their `a=rtpmap`, `a=fmtp` and `a=rtcp-fb` lines.
///
/// Names are encoding names as in `a=rtpmap`, compared case-insensitively:
/// `"VP8"`, `"H264"`, `"AV1"`, `"opus"`. A section that would be left with
/// no codec is an error, since browsers reject it.
///
/// ```
/// use cloudflare_calls::sdp::{SectionKind, retain_codecs};
/// let sdp = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
///            m=video 9 UDP/TLS/RTP/SAVPF 96 97 45 46\r\n\
///            a=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n\
///            a=rtpmap:45 AV1/90000\r\na=rtpmap:46 rtx/90000\r\na=fmtp:46 apt=45\r\n";
/// let av1 = retain_codecs(sdp, SectionKind::Video, &["AV1"])?;
/// assert!(av1.contains("m=video 9 UDP/TLS/RTP/SAVPF 45 46\r\n"));
/// assert!(!av1.contains("VP8"));
/// # Ok::<(), cloudflare_calls::sdp::SdpError>(())
/// ```
pub fn retain_codecs(sdp: &str, kind: SectionKind, names: &[&str]) -> Result<String, SdpError> {
    edit_codecs(sdp, kind, names, Mode::Retain)
}

/// Moves the named codecs (each followed by its `rtx`) to the front of the
/// `m=` line of every `kind` section, in the order given, keeping the rest
/// in their original order. Only the `m=` lines change.
///
/// ```
/// use cloudflare_calls::sdp::{SectionKind, prefer_codecs};
/// let sdp = "v=0\no=- 1 2 IN IP4 0.0.0.0\ns=-\nt=0 0\nm=video 9 RTP/AVP 96 97 45 46\n\
///            a=rtpmap:96 VP8/90000\na=rtpmap:97 rtx/90000\na=fmtp:97 apt=96\n\
///            a=rtpmap:45 AV1/90000\na=rtpmap:46 rtx/90000\na=fmtp:46 apt=45\n";
/// let munged = prefer_codecs(sdp, SectionKind::Video, &["AV1"])?;
/// assert!(munged.contains("m=video 9 RTP/AVP 45 46 96 97\n"));
/// # Ok::<(), cloudflare_calls::sdp::SdpError>(())
/// ```
pub fn prefer_codecs(sdp: &str, kind: SectionKind, names: &[&str]) -> Result<String, SdpError> {
    edit_codecs(sdp, kind, names, Mode::Prefer)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Retain,
    Prefer,
}

/// Rank of a payload type that matches none of the names.
const UNRANKED: usize = usize::MAX;

/// What one matching section has shown so far.
struct Section<'a> {
    media: MediaLine<'a>,
    /// Number of the `m=` line.
    line: usize,
    /// Per payload type: index of the matching name, or [`UNRANKED`].
    rank: [usize; 128],
    rtx: u128,
    /// Payload types with an rtpmap; the first one decides what they are.
    mapped: u128,
    /// `(rtx payload type, the payload type it repairs)`.
    apt: Vec<(u8, u8)>,
    /// Payload-type-specific lines: `(pt, (start, end))`.
    lines: Vec<(u8, (usize, usize))>,
}

fn edit_codecs(
    sdp: &str,
    kind: SectionKind,
    names: &[&str],
    mode: Mode,
) -> Result<String, SdpError> {
    let mut edits = Vec::new();
    // A section left without codecs is reported once every line has been
    // checked, so that malformed input always gets `validate`'s error.
    let mut outcome = Ok(());
    // The current section, if it is of `kind`.
    let mut section: Option<Section<'_>> = None;
    for line in lines(sdp) {
        let line = line?;
        if let Kind::Media(media) = line.kind {
            if let Some(done) = section.take() {
                outcome = outcome.and(finish(done, mode, &mut edits));
            }
            if media.rtp && SectionKind::from_token(media.media) == kind {
                section = Some(Section::new(media, line.number));
            }
        }
        if let Some(s) = section.as_mut() {
            s.read(line, names);
        }
    }
    if let Some(done) = section {
        outcome = outcome.and(finish(done, mode, &mut edits));
    }
    outcome?;
    Ok(splice(sdp, edits))
}

impl<'a> Section<'a> {
    fn new(media: MediaLine<'a>, line: usize) -> Self {
        Self {
            media,
            line,
            rank: [UNRANKED; 128],
            rtx: 0,
            mapped: 0,
            apt: Vec::new(),
            lines: Vec::new(),
        }
    }

    /// Records what a line of this section says about its payload types.
    fn read(&mut self, line: Line<'a>, names: &[&str]) {
        let span = (line.start, line.end());
        match line.kind {
            Kind::Rtpmap(r) => {
                // A repeated rtpmap does not redefine the payload type.
                if self.mapped & (1 << r.pt) == 0 {
                    if r.name.eq_ignore_ascii_case("rtx") {
                        self.rtx |= 1 << r.pt;
                    } else if let Some(i) =
                        names.iter().position(|n| n.eq_ignore_ascii_case(r.name))
                    {
                        self.rank[usize::from(r.pt)] = i;
                    }
                }
                self.mapped |= 1 << r.pt;
                self.lines.push((r.pt, span));
            }
            Kind::Fmtp(f) => {
                if let Some(apt) = fmtp_value(f.params, "apt").and_then(parse_pt) {
                    self.apt.push((f.pt, apt));
                }
                self.lines.push((f.pt, span));
            }
            Kind::Attribute(a) => {
                let fb = a
                    .strip_prefix("rtcp-fb:")
                    .and_then(|fb| fb.split(' ').next());
                if let Some(pt) = fb.and_then(parse_pt) {
                    self.lines.push((pt, span));
                }
            }
            Kind::Media(_) | Kind::Other => {}
        }
    }
}

/// Turns what a section showed into edits once it has ended.
fn finish(mut s: Section<'_>, mode: Mode, edits: &mut Vec<Edit>) -> Result<(), SdpError> {
    let old: Vec<u8> = s.media.formats.split(' ').filter_map(parse_pt).collect();
    let listed = old.iter().fold(0u128, |mask, &pt| mask | 1 << pt);
    // An rtx payload type ranks with the listed codec it repairs (its first
    // apt counts). Ranks come from the named codecs only, so chains of rtx
    // and the order of lines cannot change the outcome.
    let named = s.rank;
    let mut resolved: u128 = 0;
    for &(pt, apt) in &s.apt {
        if s.rtx & (1 << pt) != 0 && resolved & (1 << pt) == 0 {
            resolved |= 1 << pt;
            if listed & (1 << apt) != 0 {
                s.rank[usize::from(pt)] = named[usize::from(apt)];
            }
        }
    }
    let rank = |pt: &u8| s.rank[usize::from(*pt)];
    let new: Vec<u8> = match mode {
        Mode::Retain => {
            let kept: Vec<u8> = old
                .iter()
                .copied()
                .filter(|pt| rank(pt) != UNRANKED)
                .collect();
            if kept.is_empty() {
                return Err(SdpError::NoCodecLeft { line: s.line });
            }
            let removed = s.lines.iter().filter(|(pt, ..)| rank(pt) == UNRANKED);
            edits.extend(removed.map(|&(_, (start, end))| Edit {
                start,
                end,
                text: String::new(),
            }));
            kept
        }
        Mode::Prefer => {
            let mut sorted = old.clone();
            sorted.sort_by_key(rank);
            sorted
        }
    };
    if new != old {
        // Trailing spaces go; the others are rewritten as single spaces.
        let start = s.media.formats_start;
        let end = start + s.media.formats.trim_end_matches(' ').len();
        let text = new.iter().map(u8::to_string).collect::<Vec<_>>().join(" ");
        edits.push(Edit { start, end, text });
    }
    Ok(())
}
