//! The one pass every SDP function is built on: splits the input into lines
//! (keeping their endings), checks each line as it goes, and classifies the
//! few kinds the readers and edits care about. Every function, edits
//! included, reads every line through it, so they all accept and reject
//! exactly the same inputs.

use super::error::{Malformed, SdpError};

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

#[derive(Debug, Clone, Copy)]
pub(crate) struct MediaLine<'a> {
    pub media: &'a str,
    pub port: u16,
    pub protocol: &'a str,
    /// The format list, starting at byte `formats_start` of the input.
    pub formats: &'a str,
    pub formats_start: usize,
    pub rtp: bool,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Rtpmap<'a> {
    pub pt: u8,
    pub name: &'a str,
    pub clock_rate: u32,
    pub channels: Option<u16>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Fmtp<'a> {
    pub pt: u8,
    pub params: &'a str,
    /// Where `params` starts, or would start if empty, in the input.
    pub params_start: usize,
    /// Whether a space follows the payload type; without it an edit that
    /// adds parameters must add the space too.
    pub spaced: bool,
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
        let (text, eol) = match rest.find('\n') {
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

/// A payload type: 1 to 3 digits, at most 127.
pub(crate) fn parse_pt(s: &str) -> Option<u8> {
    parse_number(s).filter(|&pt| s.len() <= 3 && pt <= 127)
}

/// Plain ASCII digits (no sign, no spaces) that fit in `T`.
fn parse_number<T: std::str::FromStr>(s: &str) -> Option<T> {
    match !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        true => s.parse().ok(),
        false => None,
    }
}

/// `<media> <port>[/<count>] <protocol> <formats>`; `offset` is where
/// `value` starts in the input.
fn parse_media(value: &str, offset: usize) -> Result<MediaLine<'_>, &'static str> {
    let (media, rest) = split_field(value);
    if media.is_empty() {
        return Err("missing media type");
    }
    let (port, rest) = split_field(rest.ok_or("missing port")?);
    let port = port.split_once('/').map_or(port, |(port, _)| port);
    let port = parse_number(port).ok_or("port is not a number 0..=65535")?;
    let (protocol, formats) = split_field(rest.ok_or("missing protocol")?);
    let formats = formats.unwrap_or_default();
    if protocol.is_empty() {
        return Err("missing protocol");
    }
    if formats.bytes().all(|b| b == b' ') {
        return Err("no formats");
    }
    let rtp = protocol.contains("RTP/");
    // Empty tokens (doubled spaces) are harmless; anything else must be a
    // payload type, since the edits and `parse` read them as such.
    if rtp
        && formats
            .split(' ')
            .any(|f| !f.is_empty() && parse_pt(f).is_none())
    {
        return Err("format is not a payload type 0..=127");
    }
    Ok(MediaLine {
        media,
        port,
        protocol,
        formats,
        formats_start: offset + value.len() - formats.len(),
        rtp,
    })
}

/// The text up to the first space, and the rest after it if there is one.
fn split_field(s: &str) -> (&str, Option<&str>) {
    match s.split_once(' ') {
        Some((field, rest)) => (field, Some(rest)),
        None => (s, None),
    }
}

const PT: &str = "payload type is not a number 0..=127";

/// The payload type at the start of `s` (the digits before the first
/// non-digit) and the text after it.
fn leading_pt(s: &str) -> Option<(u8, &str)> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    Some((parse_pt(&s[..digits])?, &s[digits..]))
}

/// `<pt> <name>/<clock>[/<channels>]`.
fn parse_rtpmap(rest: &str) -> Result<Rtpmap<'_>, &'static str> {
    const CLOCK: &str = "clock rate is not a number";
    const CHANNELS: &str = "channel count is not a number";
    let Some((pt, after)) = leading_pt(rest).and_then(|(pt, a)| Some((pt, a.strip_prefix(' ')?)))
    else {
        return Err(if rest.contains(' ') {
            PT
        } else {
            "missing encoding"
        });
    };
    let (name, rates) = after.split_once('/').ok_or(CLOCK)?;
    if name.is_empty() {
        return Err("missing encoding name");
    }
    // Browsers never pad, but trailing spaces are harmless.
    let (clock, channels) = match rates.trim_end_matches(' ').split_once('/') {
        Some((clock, channels)) => (clock, Some(channels)),
        None => (rates.trim_end_matches(' '), None),
    };
    Ok(Rtpmap {
        pt,
        name,
        clock_rate: parse_number(clock).ok_or(CLOCK)?,
        channels: match channels {
            Some(count) => Some(parse_number(count).ok_or(CHANNELS)?),
            None => None,
        },
    })
}

/// `<pt>[ <params>]`; `rest_start` is where `rest` starts in the input.
fn parse_fmtp(rest: &str, rest_start: usize) -> Result<Fmtp<'_>, &'static str> {
    let (pt, after) = leading_pt(rest).ok_or(PT)?;
    let params = match after.strip_prefix(' ') {
        Some(params) => params,
        None if after.is_empty() => after,
        None => return Err(PT),
    };
    Ok(Fmtp {
        pt,
        params,
        params_start: rest_start + rest.len() - params.len(),
        spaced: params.len() < after.len(),
    })
}
