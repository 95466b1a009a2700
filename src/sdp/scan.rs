//! The one pass every SDP function is built on: splits the input into lines
//! (keeping their endings), checks each line as it goes, and classifies the
//! few kinds the readers and edits care about. Every function, edits
//! included, reads every line through it, so they all accept and reject
//! exactly the same inputs.

use super::error::{Malformed, SdpError};
use super::fields::{Fmtp, MediaLine, Rtpmap, parse_fmtp, parse_media, parse_rtpmap};

/// One line of the input, checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line<'a> {
    /// 1-based line number.
    pub number: usize,
    /// Byte offset of the line's first character.
    pub start: usize,
    /// The text without its ending.
    pub text: &'a str,
    /// The ending exactly as found: `"\r\n"`, `"\n"`, or `""` on a last line.
    pub eol: &'a str,
    pub kind: Kind<'a>,
}

impl Line<'_> {
    /// Offset just past the line ending.
    pub fn end(&self) -> usize {
        self.start + self.text.len() + self.eol.len()
    }
}

/// What a line is, as far as any caller cares.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind<'a> {
    Media(MediaLine<'a>),
    /// `a=rtpmap` in an RTP section (elsewhere it is just an attribute).
    Rtpmap(Rtpmap<'a>),
    /// `a=fmtp` in an RTP section: data channels use non-numeric formats.
    Fmtp(Fmtp<'a>),
    /// Any other `a=` line, with the text after `a=`.
    Attribute(&'a str),
    /// Session-level and other lines no caller looks into.
    Other,
}

/// The checked lines of `sdp`, in order. The first malformed line ends the
/// iteration with its error; so does a missing `o=`, `s=` or `t=` line.
pub(crate) fn lines(sdp: &str) -> Lines<'_> {
    Lines {
        sdp,
        ..Lines::default()
    }
}

#[derive(Default)]
pub(crate) struct Lines<'a> {
    sdp: &'a str,
    /// Offset of the next line.
    at: usize,
    /// Number of the last line handed out.
    number: usize,
    /// `o=`, `s=` and `t=` seen in the session part.
    session: [bool; 3],
    in_media: bool,
    /// Whether the current media section carries RTP payload types.
    rtp: bool,
    done: bool,
}

impl<'a> Iterator for Lines<'a> {
    type Item = Result<Line<'a>, SdpError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = &self.sdp[self.at..];
        if rest.is_empty() {
            self.done = true;
            // An empty input has no line 1 to blame, but 1 is what users count.
            if self.sdp.is_empty() {
                return Some(Err(malformed(1, Malformed::Empty)));
            }
            let missing = self.missing_session_line()?;
            return Some(Err(malformed(self.number, missing)));
        }
        // memchr's vector search: finding line ends is most of the work of a scan.
        let (text, eol) = match memchr::memchr(b'\n', rest.as_bytes()) {
            Some(nl) if rest[..nl].ends_with('\r') => (&rest[..nl - 1], "\r\n"),
            Some(nl) => (&rest[..nl], "\n"),
            None => (rest, ""),
        };
        let start = self.at;
        self.at += text.len() + eol.len();
        self.number += 1;
        let kind = self.check(text, start);
        if kind.is_err() {
            self.done = true;
        }
        Some(kind.map(|kind| Line {
            number: self.number,
            start,
            text,
            eol,
            kind,
        }))
    }
}

impl<'a> Lines<'a> {
    fn saw_session_line(&mut self, index: usize) -> Result<Kind<'a>, SdpError> {
        self.session[index] = true;
        Ok(Kind::Other)
    }

    fn missing_session_line(&self) -> Option<Malformed> {
        let i = self.session.iter().position(|seen| !seen)?;
        Some(Malformed::MissingSessionLine(['o', 's', 't'][i]))
    }

    /// Checks the line `text` found at `start` and says what it is.
    fn check(&mut self, text: &'a str, start: usize) -> Result<Kind<'a>, SdpError> {
        let number = self.number;
        let fail = |reason| Err(malformed(number, reason));
        let letter = match text.as_bytes() {
            [] => return fail(Malformed::BlankLine),
            [letter, b'=', ..] if letter.is_ascii_lowercase() => *letter,
            _ => return fail(Malformed::NotTypeValue),
        };
        // The letter and `=` are ASCII, so this is a character boundary.
        let value = &text[2..];
        if start == 0 {
            return match text {
                "v=0" => Ok(Kind::Other),
                _ => fail(Malformed::NotVersionZero),
            };
        }
        match letter {
            b'v' => fail(Malformed::RepeatedVersion),
            b'o' if !self.in_media => self.saw_session_line(0),
            b's' if !self.in_media => self.saw_session_line(1),
            b't' if !self.in_media => self.saw_session_line(2),
            b'm' => {
                if !self.in_media
                    && let Some(missing) = self.missing_session_line()
                {
                    return fail(missing);
                }
                let media = parse_media(value, start + 2)
                    .map_err(|r| malformed(number, Malformed::MediaLine(r)))?;
                self.in_media = true;
                self.rtp = media.rtp;
                Ok(Kind::Media(media))
            }
            b'a' if self.rtp => {
                if let Some(rest) = value.strip_prefix("rtpmap:") {
                    parse_rtpmap(rest)
                        .map(Kind::Rtpmap)
                        .or_else(|r| fail(Malformed::Rtpmap(r)))
                } else if let Some(rest) = value.strip_prefix("fmtp:") {
                    parse_fmtp(rest, start + 7)
                        .map(Kind::Fmtp)
                        .or_else(|r| fail(Malformed::Fmtp(r)))
                } else {
                    Ok(Kind::Attribute(value))
                }
            }
            b'a' => Ok(Kind::Attribute(value)),
            _ => Ok(Kind::Other),
        }
    }
}

/// Lines are numbered as they are read, so errors cost nothing extra. The
/// line itself is never part of the error: it may hold ICE credentials.
fn malformed(line: usize, reason: Malformed) -> SdpError {
    SdpError::Malformed { line, reason }
}
