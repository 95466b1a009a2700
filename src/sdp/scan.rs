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

/// Yields the offset of every `\n`, finding all newlines of a 32-byte block
/// at once. SDP lines are short, so restarting a byte search per line cost
/// more than everything else the edits do.
struct Newlines<'a> {
    bytes: &'a [u8],
    /// Offset of the block `mask` describes.
    base: usize,
    /// Bit `i` set when `bytes[base + i]` is a newline.
    mask: u32,
}

impl<'a> Newlines<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        let mask = block_mask(bytes);
        Self {
            bytes,
            base: 0,
            mask,
        }
    }
}

impl Iterator for Newlines<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            self.base += BLOCK;
            let rest = self.bytes.get(self.base..)?;
            if rest.is_empty() {
                return None;
            }
            self.mask = block_mask(rest);
        }
        let at = self.base + self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(at)
    }
}

const BLOCK: usize = 32;

/// Newline bitmask of the first (up to) 32 bytes of `bytes`.
#[inline]
fn block_mask(bytes: &[u8]) -> u32 {
    match bytes.first_chunk::<BLOCK>() {
        Some(block) => full_block_mask(block),
        None => bytes
            .iter()
            .enumerate()
            .fold(0, |mask, (i, &b)| mask | u32::from(b == b'\n') << i),
    }
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn full_block_mask(block: &[u8; BLOCK]) -> u32 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of the x86_64 baseline, so the intrinsics are
    // always available; both loads read 16 bytes inside the 32-byte array,
    // and `loadu` has no alignment requirement.
    let (low, high) = unsafe {
        let newline = _mm_set1_epi8(b'\n' as i8);
        let ptr = block.as_ptr().cast::<__m128i>();
        let low = _mm_cmpeq_epi8(_mm_loadu_si128(ptr), newline);
        let high = _mm_cmpeq_epi8(_mm_loadu_si128(ptr.add(1)), newline);
        (
            _mm_movemask_epi8(low) as u32 & 0xffff,
            _mm_movemask_epi8(high) as u32 & 0xffff,
        )
    };
    low | high << 16
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn full_block_mask(block: &[u8; BLOCK]) -> u32 {
    block
        .iter()
        .enumerate()
        .fold(0, |mask, (i, &b)| mask | u32::from(b == b'\n') << i)
}

/// Iterates over classified lines, stopping after the first error.
pub(crate) struct Scanner<'a> {
    sdp: &'a str,
    newlines: Newlines<'a>,
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
            newlines: Newlines::new(sdp.as_bytes()),
            pos: 0,
            last_start: 0,
            session_lines: 0,
            in_media: false,
            rtp: false,
            done: false,
        }
    }

    #[inline(always)]
    fn fail(
        &mut self,
        offset: usize,
        reason: Malformed,
    ) -> Option<Result<(Line<'a>, Kind<'a>), SdpError>> {
        self.done = true;
        Some(Err(SdpError::at(self.sdp, offset, reason)))
    }

    #[inline(always)]
    fn missing_session_line(&self) -> Option<Malformed> {
        const NEEDED: [(u8, char); 3] = [(1, 'o'), (2, 's'), (4, 't')];
        NEEDED
            .iter()
            .find(|(bit, _)| self.session_lines & bit == 0)
            .map(|&(_, c)| Malformed::MissingSessionLine(c))
    }

    #[inline(always)]
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
                if let Some(rest) = strip_tag(value, b"rtpmap:") {
                    return parse_rtpmap(rest)
                        .map(Kind::Rtpmap)
                        .map_err(Malformed::Rtpmap);
                }
                if let Some(rest) = strip_tag(value, b"fmtp:") {
                    let offset = line.start + line.text.len() - rest.len();
                    return parse_fmtp(rest, offset)
                        .map(Kind::Fmtp)
                        .map_err(Malformed::Fmtp);
                }
                Ok(Kind::Attribute(value))
            }
            b'a' => Ok(Kind::Attribute(value)),
            b'm' => {
                if !self.in_media
                    && let Some(missing) = self.missing_session_line()
                {
                    return Err(missing);
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

    #[inline(always)]
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
            if !self.in_media
                && let Some(missing) = self.missing_session_line()
            {
                return self.fail(self.last_start, missing);
            }
            return None;
        }
        let start = self.pos;
        let (text, eol) = match self.newlines.next() {
            Some(nl) if nl > start && self.sdp.as_bytes()[nl - 1] == b'\r' => {
                (&self.sdp[start..nl - 1], "\r\n")
            }
            Some(nl) => (&self.sdp[start..nl], "\n"),
            None => (&self.sdp[start..], ""),
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

/// `str::split_once` for one ASCII byte; a plain loop beats the generic
/// searcher on the short fields of an SDP line.
fn split_byte(s: &str, byte: u8) -> Option<(&str, &str)> {
    let at = s.bytes().position(|b| b == byte)?;
    Some((&s[..at], &s[at + 1..]))
}

/// `strip_prefix` with a fixed-size compare the optimiser keeps inline.
#[inline(always)]
fn strip_tag<'a, const N: usize>(value: &'a str, tag: &[u8; N]) -> Option<&'a str> {
    (value.as_bytes().first_chunk::<N>() == Some(tag)).then(|| &value[N..])
}

/// A payload type: 1 to 3 digits, at most 127.
pub(crate) fn parse_pt(s: &str) -> Option<u8> {
    if s.len() > 3 {
        return None;
    }
    parse_number::<u8>(s).filter(|&pt| pt <= 127)
}

/// Plain ASCII digits (no sign, no spaces) that fit in `T`.
fn parse_number<T: TryFrom<u64>>(s: &str) -> Option<T> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    let mut n: u64 = 0;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(b - b'0');
    }
    T::try_from(n).ok()
}

/// Whether every space-separated token is a payload type, in one byte loop.
fn payload_types_ok(formats: &str) -> bool {
    let (mut value, mut digits) = (0u32, 0u32);
    for b in formats.bytes().chain([b' ']) {
        match b {
            b'0'..=b'9' if digits < 3 => {
                value = value * 10 + u32::from(b - b'0');
                digits += 1;
            }
            b' ' if value <= 127 => (value, digits) = (0, 0),
            _ => return false,
        }
    }
    true
}

fn parse_media(value: &str, offset: usize) -> Result<MediaLine<'_>, &'static str> {
    let mut fields = value.splitn(4, ' ');
    let media = fields
        .next()
        .filter(|m| !m.is_empty())
        .ok_or("missing media type")?;
    let port = fields.next().ok_or("missing port")?;
    let port = split_byte(port, b'/').map_or(port, |(p, _)| p);
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
    if rtp && !payload_types_ok(formats) {
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
    const CLOCK: &str = "clock rate is not a number";
    const CHANNELS: &str = "channel count is not a number";
    let (pt, encoding) = split_byte(rest, b' ').ok_or("missing encoding")?;
    let pt = parse_pt(pt).ok_or("payload type is not a number 0..=127")?;
    let (name, rates) = split_byte(encoding, b'/').ok_or(CLOCK)?;
    if name.is_empty() {
        return Err("missing encoding name");
    }
    // Browsers never pad, but trailing spaces are harmless.
    let rates = match rates.as_bytes().last() {
        Some(b' ') => rates.trim_end_matches(' '),
        _ => rates,
    };
    // One pass over `<clock>[/<channels>]`, the hottest field of an offer.
    let (mut clock, mut channels, mut digits, mut slash) = (0u64, 0u64, 0u32, false);
    for b in rates.bytes() {
        match b {
            b'0'..=b'9' if digits < 10 => {
                let n = if slash { &mut channels } else { &mut clock };
                *n = *n * 10 + u64::from(b - b'0');
                digits += 1;
            }
            b'/' if !slash && digits > 0 => (slash, digits) = (true, 0),
            _ => return Err(if slash { CHANNELS } else { CLOCK }),
        }
    }
    if digits == 0 {
        return Err(if slash { CHANNELS } else { CLOCK });
    }
    let clock_rate = u32::try_from(clock).map_err(|_| CLOCK)?;
    let channels = match slash {
        true => Some(u16::try_from(channels).map_err(|_| CHANNELS)?),
        false => None,
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
    let (pt, params, spaced) = match split_byte(rest, b' ') {
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
