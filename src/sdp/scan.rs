//! The single forward pass every other SDP function is built on: splits lines
//! (keeping their endings), validates the structure as it goes, and
//! classifies the few line kinds the edits care about. It only borrows.

use super::error::{Malformed, SdpError};

/// One line of the input. `text` excludes the line ending, `eol` is the
/// ending exactly as found (`"\r\n"`, `"\n"` or `""` on a final line).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line<'a> {
    pub start: usize,
    pub text: &'a str,
    pub eol: &'a str,
}

impl Line<'_> {
    /// Offset just past the line ending.
    pub fn end(&self) -> usize {
        self.start + self.text.len() + self.eol.len()
    }
}

/// What a line is, as far as the edits and readers need to know.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind<'a> {
    Media(MediaLine<'a>),
    Rtpmap(Rtpmap<'a>),
    Fmtp(Fmtp<'a>),
    /// Any other `a=` line; the text after `a=`.
    Attribute(&'a str),
    Other,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct MediaLine<'a> {
    pub media: &'a str,
    pub port: u16,
    pub protocol: &'a str,
    /// The format list, starting at `formats_start` in the input.
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
    /// Where `params` starts, or where they would go if there are none.
    pub params_start: usize,
    /// Whether a space separates the payload type from the (maybe empty)
    /// parameters; without it an insertion must add one.
    pub spaced: bool,
}

/// Iterates over classified lines, stopping after the first error.
pub(crate) struct Scanner<'a> {
    sdp: &'a str,
    pos: usize,
    last_start: usize,
    /// `o`, `s`, `t` seen in the session part, as bits 0..3.
    session_lines: u8,
    in_media: bool,
    rtp: bool,
    done: bool,
}

impl<'a> Scanner<'a> {
    pub fn new(sdp: &'a str) -> Self {
        Self {
            sdp,
            pos: 0,
            last_start: 0,
            session_lines: 0,
            in_media: false,
            rtp: false,
            done: false,
        }
    }

    fn fail(
        &mut self,
        offset: usize,
        reason: Malformed,
    ) -> Option<Result<(Line<'a>, Kind<'a>), SdpError>> {
        self.done = true;
        Some(Err(SdpError::at(self.sdp, offset, reason)))
    }

    fn missing_session_line(&self) -> Option<Malformed> {
        const NEEDED: [(u8, char); 3] = [(1, 'o'), (2, 's'), (4, 't')];
        NEEDED
            .iter()
            .find(|(bit, _)| self.session_lines & bit == 0)
            .map(|&(_, c)| Malformed::MissingSessionLine(c))
    }

    fn classify(&mut self, line: &Line<'a>) -> Result<Kind<'a>, Malformed> {
        let bytes = line.text.as_bytes();
        if bytes.is_empty() {
            return Err(Malformed::BlankLine);
        }
        if bytes.len() < 2 || !bytes[0].is_ascii_lowercase() || bytes[1] != b'=' {
            return Err(Malformed::NotTypeValue);
        }
        let value = &line.text[2..];
        if line.start == 0 {
            return if line.text == "v=0" {
                Ok(Kind::Other)
            } else {
                Err(Malformed::NotVersionZero)
            };
        }
        match bytes[0] {
            b'a' if self.rtp => {
                if let Some(rest) = value.strip_prefix("rtpmap:") {
                    return parse_rtpmap(rest)
                        .map(Kind::Rtpmap)
                        .map_err(Malformed::Rtpmap);
                }
                if let Some(rest) = value.strip_prefix("fmtp:") {
                    let offset = line.start + line.text.len() - rest.len();
                    return parse_fmtp(rest, offset)
                        .map(Kind::Fmtp)
                        .map_err(Malformed::Fmtp);
                }
                Ok(Kind::Attribute(value))
            }
            b'a' => Ok(Kind::Attribute(value)),
            b'm' => {
                if !self.in_media {
                    if let Some(missing) = self.missing_session_line() {
                        return Err(missing);
                    }
                }
                let offset = line.start + 2;
                let media = parse_media(value, offset).map_err(Malformed::MediaLine)?;
                self.in_media = true;
                self.rtp = media.rtp;
                Ok(Kind::Media(media))
            }
            b'v' => Err(Malformed::RepeatedVersion),
            b'o' if !self.in_media => {
                self.session_lines |= 1;
                Ok(Kind::Other)
            }
            b's' if !self.in_media => {
                self.session_lines |= 2;
                Ok(Kind::Other)
            }
            b't' if !self.in_media => {
                self.session_lines |= 4;
                Ok(Kind::Other)
            }
            _ => Ok(Kind::Other),
        }
    }
}

impl<'a> Iterator for Scanner<'a> {
    type Item = Result<(Line<'a>, Kind<'a>), SdpError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let len = self.sdp.len();
        if self.pos >= len {
            self.done = true;
            if len == 0 {
                return self.fail(0, Malformed::Empty);
            }
            if !self.in_media {
                if let Some(missing) = self.missing_session_line() {
                    return self.fail(self.last_start, missing);
                }
            }
            return None;
        }
        let start = self.pos;
        let rest = &self.sdp[start..];
        let (text, eol) = match rest.find('\n') {
            Some(nl) if nl > 0 && rest.as_bytes()[nl - 1] == b'\r' => (&rest[..nl - 1], "\r\n"),
            Some(nl) => (&rest[..nl], "\n"),
            None => (rest, ""),
        };
        let line = Line { start, text, eol };
        self.pos = line.end();
        self.last_start = start;
        match self.classify(&line) {
            Ok(kind) => Some(Ok((line, kind))),
            Err(reason) => self.fail(start, reason),
        }
    }
}

/// A payload type: 1 to 3 digits, at most 127.
pub(crate) fn parse_pt(s: &str) -> Option<u8> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u8>().ok().filter(|&pt| pt <= 127)
}

fn parse_number<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_media(value: &str, offset: usize) -> Result<MediaLine<'_>, &'static str> {
    let mut fields = value.splitn(4, ' ');
    let media = fields
        .next()
        .filter(|m| !m.is_empty())
        .ok_or("missing media type")?;
    let port = fields.next().ok_or("missing port")?;
    let port = port.split_once('/').map_or(port, |(p, _)| p);
    let port = parse_number(port).ok_or("port is not a number 0..=65535")?;
    let protocol = fields
        .next()
        .filter(|p| !p.is_empty())
        .ok_or("missing protocol")?;
    let formats = fields.next().unwrap_or("");
    if formats.trim_matches(' ').is_empty() {
        return Err("no formats");
    }
    let rtp = protocol.contains("RTP/");
    if rtp
        && !formats
            .split(' ')
            .filter(|f| !f.is_empty())
            .all(|f| parse_pt(f).is_some())
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

fn parse_rtpmap(rest: &str) -> Result<Rtpmap<'_>, &'static str> {
    let (pt, encoding) = rest.split_once(' ').ok_or("missing encoding")?;
    let pt = parse_pt(pt).ok_or("payload type is not a number 0..=127")?;
    let mut parts = encoding.trim_end_matches(' ').splitn(3, '/');
    let name = parts
        .next()
        .filter(|n| !n.is_empty())
        .ok_or("missing encoding name")?;
    let clock_rate = parts
        .next()
        .and_then(parse_number)
        .ok_or("clock rate is not a number")?;
    let channels = match parts.next() {
        Some(c) => Some(parse_number(c).ok_or("channel count is not a number")?),
        None => None,
    };
    Ok(Rtpmap {
        pt,
        name,
        clock_rate,
        channels,
    })
}

/// `rest_start` is the offset of `rest` in the input.
fn parse_fmtp(rest: &str, rest_start: usize) -> Result<Fmtp<'_>, &'static str> {
    let (pt, params, spaced) = match rest.split_once(' ') {
        Some((pt, params)) => (pt, params, true),
        None => (rest, "", false),
    };
    let pt = parse_pt(pt).ok_or("payload type is not a number 0..=127")?;
    Ok(Fmtp {
        pt,
        params,
        params_start: rest_start + rest.len() - params.len(),
        spaced,
    })
}
