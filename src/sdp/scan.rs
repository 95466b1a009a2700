//! The single forward pass every other SDP function is built on: splits lines
//! (keeping their endings), validates the structure as it goes, and hands
//! the few line kinds the edits and readers care about to a [`Visitor`]. It
//! only borrows. A pass covers every line, or with [`Reach::OpusSections`]
//! only the parts `outline.rs` says must be read.
//!
//! Every SDP function pays for this pass, so it is written for speed: lines
//! come from 64-byte newline bitmasks (AVX2 when the CPU has it), a line's
//! first eight bytes are read as one word that both checks `<letter>=` and
//! recognises `a=rtpmap` and `a=fmtp`, the usual rtpmap line is parsed from
//! byte-class bitmasks, and the visitor is inlined into the loop. Each fast
//! path has a byte-loop twin it is tested and fuzzed against (`scan/check.rs`).

#[cfg(target_arch = "x86_64")]
use super::bits::Avx2;
use std::ops::Range;

use super::bits::{BLOCK, Baseline, Masks, byte_classes, swar_number};
use super::error::{Malformed, SdpError};
use super::outline;

/// One line of the input: `start..text_end` is its text, without the line
/// ending; `eol` is the ending exactly as found (`"\r\n"`, `"\n"` or `""` on
/// a final line).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line {
    pub start: usize,
    pub text_end: usize,
    pub eol: &'static str,
}

impl Line {
    /// Offset just past the line ending.
    pub fn end(&self) -> usize {
        self.text_end + self.eol.len()
    }
}

/// What a pass over an SDP does with the lines it recognises. Every line the
/// pass covers is checked whether or not its method is overridden.
pub(crate) trait Visitor<'a> {
    /// An `m=` line.
    fn media(&mut self, _line: Line, _media: MediaLine<'a>) -> Result<(), SdpError> {
        Ok(())
    }

    /// An `a=rtpmap` line in an RTP media section.
    fn rtpmap(&mut self, _line: Line, _rtpmap: Rtpmap<'a>) -> Result<(), SdpError> {
        Ok(())
    }

    /// An `a=fmtp` line in an RTP media section.
    fn fmtp(&mut self, _line: Line, _fmtp: Fmtp<'a>) -> Result<(), SdpError> {
        Ok(())
    }

    /// Any other `a=` line, with the text after `a=`.
    fn attribute(&mut self, _line: Line, _value: &'a str) -> Result<(), SdpError> {
        Ok(())
    }
}

/// The visitor of [`validate`](super::validate): checking is all it does.
impl Visitor<'_> for () {}

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

/// How much of an SDP a pass reads in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// Every line.
    Everything,
    /// The session part and the media sections that mention Opus (see
    /// `outline.rs`); the other sections are not read at all.
    OpusSections,
}

/// Checks every line of `sdp` that `reach` covers, in order, handing the
/// recognised ones to `visitor`; stops at the first malformed line or
/// visitor error.
pub(crate) fn scan<'a>(
    sdp: &'a str,
    reach: Reach,
    visitor: &mut impl Visitor<'a>,
) -> Result<(), SdpError> {
    #[cfg(target_arch = "x86_64")]
    if let Some(avx2) = Avx2::detect() {
        return scan_avx2(avx2, sdp, reach, visitor);
    }
    scan_with(Baseline, sdp, reach, visitor)
}

/// [`scan_with`] compiled for AVX2, which also gives the line loop BMI1's
/// bit instructions. The token proves the CPU has both.
#[cfg(target_arch = "x86_64")]
fn scan_avx2<'a>(
    avx2: Avx2,
    sdp: &'a str,
    reach: Reach,
    visitor: &mut impl Visitor<'a>,
) -> Result<(), SdpError> {
    #[target_feature(enable = "avx2,bmi1")]
    fn run<'a>(
        avx2: Avx2,
        sdp: &'a str,
        reach: Reach,
        visitor: &mut impl Visitor<'a>,
    ) -> Result<(), SdpError> {
        scan_with(avx2, sdp, reach, visitor)
    }
    // SAFETY: an `Avx2` token only exists once AVX2 and BMI1 were detected.
    unsafe { run(avx2, sdp, reach, visitor) }
}

#[inline(always)]
fn scan_with<'a>(
    masks: impl Masks,
    sdp: &'a str,
    reach: Reach,
    visitor: &mut impl Visitor<'a>,
) -> Result<(), SdpError> {
    if sdp.is_empty() {
        return Err(SdpError::at(sdp, 0, Malformed::Empty));
    }
    let mut scanner = Scanner {
        sdp,
        start: 0,
        session_lines: 0,
        in_media: false,
        rtp: false,
        visitor,
    };
    match reach {
        Reach::Everything => scanner.range(masks, 0..sdp.len())?,
        Reach::OpusSections => {
            // Parts to read are contiguous until a skipped one: scanned as
            // one range, they cost one tail block rather than several.
            let mut read = 0..0;
            outline::sections(masks, sdp, |part, must_read| {
                if must_read {
                    read.end = part.end;
                    return Ok(());
                }
                scanner.range(masks, std::mem::replace(&mut read, part.end..part.end))?;
                scanner.skip_section(part.start)
            })?;
            scanner.range(masks, read)?;
        }
    }
    scanner.finish()
}

struct Scanner<'a, 'v, V> {
    sdp: &'a str,
    /// Start of the line not yet seen.
    start: usize,
    /// `o`, `s`, `t` seen in the session part, as bits 0..3.
    session_lines: u8,
    in_media: bool,
    rtp: bool,
    visitor: &'v mut V,
}

/// `a=rtpmap` and `a=fmtp:` as the first word of a line.
const A_RTPMAP: u64 = u64::from_le_bytes(*b"a=rtpmap");
const A_FMTP: u64 = u64::from_le_bytes(*b"a=fmtp:\0");
const SEVEN_BYTES: u64 = 0x00ff_ffff_ffff_ffff;

impl<'a, V: Visitor<'a>> Scanner<'a, '_, V> {
    /// Handles every line ending in the block at `base` with newline bits `mask`.
    #[inline(always)]
    fn block(&mut self, base: usize, mut mask: u64) -> Result<(), SdpError> {
        while mask != 0 {
            let nl = base + mask.trailing_zeros() as usize;
            mask &= mask - 1;
            let start = std::mem::replace(&mut self.start, nl + 1);
            self.line(start, nl)?;
        }
        Ok(())
    }

    /// Every line in `range`, which starts a line and ends after a newline
    /// or at the end of the input.
    #[inline(always)]
    fn range(&mut self, masks: impl Masks, range: Range<usize>) -> Result<(), SdpError> {
        let bytes = &self.sdp.as_bytes()[..range.end];
        self.start = range.start;
        let mut base = range.start;
        while let Some(block) = bytes.get(base..).and_then(<[u8]>::first_chunk) {
            self.block(base, masks.newlines(block))?;
            base += BLOCK;
        }
        if let Some(tail) = bytes.get(base..).filter(|tail| !tail.is_empty()) {
            let mut padded = [0; BLOCK];
            padded[..tail.len()].copy_from_slice(tail);
            self.block(base, masks.newlines(&padded))?;
        }
        // The last line of the input may have no newline.
        if self.start < range.end {
            self.line(self.start, range.end)?;
        }
        Ok(())
    }

    /// Passes over the media section starting at `at` without reading it;
    /// the session part, if that is where the scan was, ends there.
    fn skip_section(&mut self, at: usize) -> Result<(), SdpError> {
        if !self.in_media
            && let Some(missing) = self.missing_session_line()
        {
            return Err(SdpError::at(self.sdp, at, missing));
        }
        self.in_media = true;
        Ok(())
    }

    /// The checks that need the end of the input.
    fn finish(self) -> Result<(), SdpError> {
        if !self.in_media
            && let Some(missing) = self.missing_session_line()
        {
            let body = self.sdp.strip_suffix('\n').unwrap_or(self.sdp);
            let last = body.rfind('\n').map_or(0, |nl| nl + 1);
            return Err(SdpError::at(self.sdp, last, missing));
        }
        Ok(())
    }

    fn missing_session_line(&self) -> Option<Malformed> {
        const NEEDED: [(u8, char); 3] = [(1, 'o'), (2, 's'), (4, 't')];
        NEEDED
            .iter()
            .find(|(bit, _)| self.session_lines & bit == 0)
            .map(|&(_, c)| Malformed::MissingSessionLine(c))
    }

    /// The line from `start` to the newline at `end`, or to the end of the
    /// input when `end` is its length.
    #[inline(always)]
    fn line_at(&self, start: usize, end: usize) -> Line {
        let bytes = self.sdp.as_bytes();
        if end == bytes.len() {
            return Line {
                start,
                text_end: end,
                eol: "",
            };
        }
        // On a blank line the byte before the newline is the previous newline.
        match bytes.get(end.wrapping_sub(1)) == Some(&b'\r') {
            true => Line {
                start,
                text_end: end - 1,
                eol: "\r\n",
            },
            false => Line {
                start,
                text_end: end,
                eol: "\n",
            },
        }
    }

    /// The text of `line` from `offset` on. Such slices start after `=` and
    /// end before a line ending, so they always fall on character
    /// boundaries; `get` lets the unused ones vanish.
    #[inline(always)]
    fn text(&self, line: Line, offset: usize) -> &'a str {
        self.sdp
            .get(line.start + offset..line.text_end)
            .unwrap_or_default()
    }

    #[inline(always)]
    fn line(&mut self, start: usize, end: usize) -> Result<(), SdpError> {
        let word = first_word(self.sdp.as_bytes(), start);
        // Most lines are attributes: they take the shortest path.
        if word as u16 != u16::from_le_bytes(*b"a=") || start == 0 {
            return self.other_line(start, end, word);
        }
        if !self.rtp {
            let line = self.line_at(start, end);
            return self.visitor.attribute(line, self.text(line, 2));
        }
        let fail = |line: Line, reason| Err(SdpError::at(self.sdp, line.start, reason));
        if word == A_RTPMAP && self.sdp.as_bytes().get(start + 8) == Some(&b':') {
            let line = self.line_at(start, end);
            let rtpmap = match self.sdp.as_bytes().get(start + 9..start + 25) {
                Some(window) => quick_rtpmap(self.sdp, start + 9, window, line.text_end),
                None => None,
            };
            if let Some(rtpmap) = rtpmap {
                return self.visitor.rtpmap(line, rtpmap);
            }
            return match parse_rtpmap(self.text(line, 9)) {
                Ok(rtpmap) => self.visitor.rtpmap(line, rtpmap),
                Err(reason) => fail(line, Malformed::Rtpmap(reason)),
            };
        }
        if word & SEVEN_BYTES == A_FMTP {
            let line = self.line_at(start, end);
            return match parse_fmtp(self.text(line, 7), start + 7) {
                Ok(fmtp) => self.visitor.fmtp(line, fmtp),
                Err(reason) => fail(line, Malformed::Fmtp(reason)),
            };
        }
        let line = self.line_at(start, end);
        self.visitor.attribute(line, self.text(line, 2))
    }

    /// Every line but the attributes after the first line.
    #[inline(never)]
    fn other_line(&mut self, start: usize, end: usize, word: u64) -> Result<(), SdpError> {
        let line = self.line_at(start, end);
        let fail = |reason| Err(SdpError::at(self.sdp, start, reason));
        let [first, second, ..] = word.to_le_bytes();
        // A word read past a short line holds its ending, which fails here.
        if !first.is_ascii_lowercase() || second != b'=' {
            return fail(match line.text_end - start {
                0 => Malformed::BlankLine,
                _ => Malformed::NotTypeValue,
            });
        }
        if start == 0 {
            return match (first, self.text(line, 2)) {
                (b'v', "0") => Ok(()),
                _ => fail(Malformed::NotVersionZero),
            };
        }
        // `a=` lines after the first one never get here: `line` visits them.
        match first {
            b'm' => {
                if !self.in_media
                    && let Some(missing) = self.missing_session_line()
                {
                    return fail(missing);
                }
                let media = match parse_media(self.text(line, 2), start + 2) {
                    Ok(media) => media,
                    Err(reason) => return fail(Malformed::MediaLine(reason)),
                };
                self.in_media = true;
                self.rtp = media.rtp;
                self.visitor.media(line, media)
            }
            b'v' => fail(Malformed::RepeatedVersion),
            b'o' | b's' | b't' if !self.in_media => {
                self.session_lines |= match first {
                    b'o' => 1,
                    b's' => 2,
                    _ => 4,
                };
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// The eight bytes at `at`, zero-padded past the end of the input.
#[inline(always)]
fn first_word(bytes: &[u8], at: usize) -> u64 {
    match bytes.get(at..at + 8) {
        Some(word) => u64::from_le_bytes(word.try_into().unwrap_or_default()),
        None => {
            let mut word = [0; 8];
            let rest = bytes.get(at..).unwrap_or_default();
            word[..rest.len()].copy_from_slice(rest);
            u64::from_le_bytes(word)
        }
    }
}

/// `str::split_once` for one ASCII byte; a plain loop beats the generic
/// searcher on the short fields of an SDP line.
pub(crate) fn split_byte(s: &str, byte: u8) -> Option<(&str, &str)> {
    let at = s.bytes().position(|b| b == byte)?;
    Some((&s[..at], &s[at + 1..]))
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

/// Whether every space-separated token is a payload type: only digits and
/// spaces, no run of more than three digits, every three-digit run at most
/// 127. Checked 16 bytes at a time on byte-class masks, since a video `m=`
/// line lists two dozen formats.
fn payload_types_ok(formats: &str) -> bool {
    let bytes = formats.as_bytes();
    // Digit bits of the three bytes before the chunk, so runs that cross
    // chunks are seen whole.
    let mut carry = 0u32;
    let mut at = 0;
    while at < bytes.len() {
        let mut window = [b' '; 16];
        let chunk = match bytes[at..].first_chunk::<16>() {
            Some(chunk) => chunk,
            None => {
                window[..bytes.len() - at].copy_from_slice(&bytes[at..]);
                &window
            }
        };
        let (spaces, _, digits) = byte_classes(chunk);
        if spaces | digits != 0xffff {
            return false;
        }
        // Bit `j` of `runs` stands for byte `at + j - 3`.
        let runs = digits << 3 | carry;
        let three = runs & runs >> 1 & runs >> 2;
        if three & runs >> 3 != 0 {
            return false;
        }
        // A run starting at bit 0 ended in the previous chunk and was checked.
        let mut starts = three & !1;
        while starts != 0 {
            let start = at + starts.trailing_zeros() as usize - 3;
            starts &= starts - 1;
            if &bytes[start..start + 3] > b"127".as_slice() {
                return false;
            }
        }
        carry = digits >> 13;
        at += 16;
    }
    true
}

fn parse_media(value: &str, offset: usize) -> Result<MediaLine<'_>, &'static str> {
    let (media, rest) = split_field(value);
    if media.is_empty() {
        return Err("missing media type");
    }
    let (port, rest) = split_field(rest.ok_or("missing port")?);
    let port = split_byte(port, b'/').map_or(port, |(p, _)| p);
    let port = parse_number(port).ok_or("port is not a number 0..=65535")?;
    let (protocol, formats) = split_field(rest.ok_or("missing protocol")?);
    let formats = formats.unwrap_or_default();
    if protocol.is_empty() {
        return Err("missing protocol");
    }
    if formats.bytes().all(|b| b == b' ') {
        return Err("no formats");
    }
    let rtp = protocol.as_bytes().windows(4).any(|w| w == b"RTP/");
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

/// The text up to the first space, and the rest after it if there is one.
fn split_field(s: &str) -> (&str, Option<&str>) {
    match split_byte(s, b' ') {
        Some((field, rest)) => (field, Some(rest)),
        None => (s, None),
    }
}

const PT: &str = "payload type is not a number 0..=127";

/// A payload type of 1 to 3 digits at the start of `b`, and its length;
/// the byte after it is not a digit.
#[inline(always)]
fn leading_pt(b: &[u8]) -> Option<(u8, usize)> {
    let (value, len) = leading_digits(b, 3);
    let pt = u8::try_from(value)
        .ok()
        .filter(|&pt| len > 0 && pt <= 127)?;
    match b.get(len) {
        Some(d) if d.is_ascii_digit() => None,
        _ => Some((pt, len)),
    }
}

/// The value of the (at most `max`) ASCII digits at the start of `b`, and
/// how many there are.
#[inline(always)]
fn leading_digits(b: &[u8], max: usize) -> (u64, usize) {
    let mut value = 0;
    let mut len = 0;
    while len < max
        && let Some(&d) = b.get(len)
        && d.is_ascii_digit()
    {
        value = value * 10 + u64::from(d - b'0');
        len += 1;
    }
    (value, len)
}

/// [`parse_rtpmap`] for the usual line, done on bitmasks of a 16-byte
/// `window` starting at `at` in `sdp` (the text after `a=rtpmap:`), with the
/// text ending at `end`. `None` hands the line to [`parse_rtpmap`]: longer
/// lines, more than 8 clock digits, trailing spaces and every error.
#[inline(always)]
fn quick_rtpmap<'a>(sdp: &'a str, at: usize, window: &[u8], end: usize) -> Option<Rtpmap<'a>> {
    let window: &[u8; 16] = window.try_into().ok()?;
    let len = end.checked_sub(at).filter(|&len| len <= 16)?;
    let (spaces, slashes, digits) = byte_classes(window);
    let inside = (1u32 << len) - 1;
    let (spaces, slashes, digits) = (spaces & inside, slashes & inside, digits & inside);
    // `<pt> `: 1 to 3 digits before the first space.
    let space = spaces.trailing_zeros() as usize;
    let pt_digits = (1u32 << space.min(31)) - 1;
    if !(1..=3).contains(&space) || digits & pt_digits != pt_digits {
        return None;
    }
    // `<name>/`: not empty, up to the first slash.
    let slash = space + 1 + (slashes >> (space + 1)).trailing_zeros() as usize;
    if slash >= len || slash == space + 1 {
        return None;
    }
    // `<clock>[/<channels>]`
    let clock_at = slash + 1;
    let clock_len = (!(digits >> clock_at)).trailing_zeros() as usize;
    let after = clock_at + clock_len;
    if clock_len == 0 || clock_len > 8 {
        return None;
    }
    let word = u128::from_le_bytes(*window);
    let channels = if after == len {
        None
    } else {
        let count_at = after + 1;
        let count_len = (!(digits >> count_at.min(31))).trailing_zeros() as usize;
        if slashes >> after & 1 == 0 || !(1..=8).contains(&count_len) || count_at + count_len != len
        {
            return None;
        }
        Some(u16::try_from(swar_number(word, count_at, count_len)).ok()?)
    };
    let pt = u8::try_from(swar_number(word, 0, space))
        .ok()
        .filter(|&pt| pt <= 127)?;
    Some(Rtpmap {
        pt,
        name: sdp.get(at + space + 1..at + slash)?,
        clock_rate: swar_number(word, clock_at, clock_len),
        channels,
    })
}

/// `<pt> <name>/<clock>[/<channels>]`.
#[inline(always)]
fn parse_rtpmap(rest: &str) -> Result<Rtpmap<'_>, &'static str> {
    const CLOCK: &str = "clock rate is not a number";
    const CHANNELS: &str = "channel count is not a number";
    let b = rest.as_bytes();
    let pt = match leading_pt(b) {
        Some((pt, len)) if b.get(len) == Some(&b' ') => Some((pt, len)),
        _ => None,
    };
    let Some((pt, len)) = pt else {
        return Err(if b.contains(&b' ') {
            PT
        } else {
            "missing encoding"
        });
    };
    let name_start = len + 1;
    let after_name = b.get(name_start..).unwrap_or_default();
    let slash = after_name.iter().position(|&c| c == b'/').ok_or(CLOCK)?;
    if slash == 0 {
        return Err("missing encoding name");
    }
    let name = rest.get(name_start..name_start + slash).unwrap_or_default();
    let mut rates = after_name.get(slash + 1..).unwrap_or_default();
    // Browsers never pad, but trailing spaces are harmless.
    while let [head @ .., b' '] = rates {
        rates = head;
    }
    let (clock, digits) = leading_digits(rates, 10);
    if digits == 0 {
        return Err(CLOCK);
    }
    let channels = match rates.get(digits..).unwrap_or_default() {
        [] => None,
        [b'/', count @ ..] => match leading_digits(count, 10) {
            (channels, digits) if digits > 0 && digits == count.len() => Some(channels),
            _ => return Err(CHANNELS),
        },
        _ => return Err(CLOCK),
    };
    let clock_rate = u32::try_from(clock).map_err(|_| CLOCK)?;
    let channels = channels
        .map(u16::try_from)
        .transpose()
        .map_err(|_| CHANNELS)?;
    Ok(Rtpmap {
        pt,
        name,
        clock_rate,
        channels,
    })
}

/// `<pt>[ <params>]`; `rest_start` is the offset of `rest` in the input.
#[inline(always)]
fn parse_fmtp(rest: &str, rest_start: usize) -> Result<Fmtp<'_>, &'static str> {
    let b = rest.as_bytes();
    let (pt, len) = leading_pt(b).ok_or(PT)?;
    let spaced = match b.get(len) {
        Some(b' ') => true,
        None => false,
        Some(_) => return Err(PT),
    };
    let params_at = len + usize::from(spaced);
    Ok(Fmtp {
        pt,
        params: rest.get(params_at..).unwrap_or_default(),
        params_start: rest_start + params_at,
        spaced,
    })
}

#[cfg(any(test, fuzzing))]
pub(crate) mod check;

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::check::{opus_reach_agrees, quick_rtpmap_agrees, same_on_every_cpu_path};
    use super::*;

    /// Whether the quick rtpmap parser answers for `rest` (checking that it
    /// agrees with the byte loop when it does).
    fn quick_answers(rest: &str) -> bool {
        // Padding past the line stands for the bytes that follow it.
        let sdp = format!("{rest}\r\nm=audio 9 RTP/AVP 0 0 0 0 0 0 0 0\r\n");
        quick_rtpmap_agrees(&sdp, 0, rest.len())
    }

    #[test]
    fn quick_rtpmap_takes_browser_lines() {
        for rest in [
            "111 opus/48000/2",
            "96 VP8/90000",
            "0 PCMU/8000",
            "63 red/48000/2",
            "127 x/1/65535",
            "9 G722/99999999",
        ] {
            assert!(quick_answers(rest), "{rest}");
        }
        // Left to the byte loop: too long, padded, too many digits, errors.
        for rest in [
            "126 telephone-event/8000",
            "96 VP8/90000 ",
            "9 G722/123456789",
            "128 x/90000",
            "96 /90000",
            "96 VP8/",
            "96 VP8/90000/",
            "96 VP8/90000/x",
            "1 a/1/65536",
        ] {
            assert!(!quick_answers(rest), "{rest}");
        }
    }

    /// The obvious definition of a valid format list.
    fn payload_types_by_tokens(formats: &str) -> bool {
        formats
            .split(' ')
            .all(|token| token.is_empty() || parse_pt(token).is_some())
    }

    #[test]
    fn payload_types_of_browser_media_lines() {
        for ok in [
            "111 63 9 0 8 13 110 126",
            "96 97 103 104 107 108 109 127 125 39",
            "0",
            " 1  2 ",
        ] {
            assert!(payload_types_ok(ok), "{ok}");
        }
        let long = "96 97 98 99 100 101 102 103 104 105 106 107 108 109 110 111 112";
        assert!(payload_types_ok(long));
        for bad in [
            "128",
            "96 97 128",
            "1000",
            "96 0127",
            "96,97",
            "96 x",
            "96\t97",
        ] {
            assert!(!payload_types_ok(bad), "{bad}");
        }
        // Runs that cross a 16-byte chunk boundary.
        assert!(!payload_types_ok("1 1 1 1 1 1 1 1128"));
        assert!(!payload_types_ok("1 1 1 1 1 1 1 200"));
        assert!(payload_types_ok("1 1 1 1 1 1 1 120"));
    }

    #[test]
    fn swar_number_reads_one_to_eight_digits() {
        for n in [0u32, 7, 42, 127, 8000, 48000, 90000, 1234567, 99_999_999] {
            let text = format!("ab{n}xyz----------------");
            let word = u128::from_le_bytes(text.as_bytes()[..16].try_into().unwrap());
            assert_eq!(swar_number(word, 2, n.to_string().len()), n);
        }
    }

    #[test]
    fn fast_paths_agree_on_fixtures() {
        let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sdp");
        for entry in std::fs::read_dir(fixtures).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
            same_on_every_cpu_path(&text);
            opus_reach_agrees(&text);
            // Cut anywhere, including inside a block and inside a line.
            for cut in (0..text.len()).step_by(61) {
                same_on_every_cpu_path(&text[..cut]);
                opus_reach_agrees(&text[..cut]);
            }
        }
    }

    /// Lines that move the Opus pass between its cases: sections with and
    /// without Opus, codec lines good and bad, misshapen lines.
    fn opus_pass_line() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("m=audio 9 RTP/AVP 111 0".to_owned()),
            Just("m=video 9 UDP/TLS/RTP/SAVPF 96 97".to_owned()),
            Just("m=application 9 UDP/DTLS/SCTP webrtc-datachannel".to_owned()),
            Just("m=video nine RTP/AVP 96".to_owned()),
            Just("a=rtpmap:111 OPUS/48000/2".to_owned()),
            Just("a=rtpmap:96 VP8/90000".to_owned()),
            Just("a=fmtp:111 minptime=10;usedtx=0".to_owned()),
            Just("a=ice-ufrag:xOpUsx".to_owned()),
            Just("a=rtpmap:x nothing".to_owned()),
            Just("a=fmtp:999".to_owned()),
            Just("v=0".to_owned()),
            Just(String::new()),
            "[a-zA-Z =]{0,3}[a-zA-Z0-9:/ =]{0,40}",
        ]
    }

    proptest! {
        #[test]
        fn cpu_paths_agree(lines in proptest::collection::vec("[amvost]=[a-z0-9:/ ]{0,80}", 0..40), crlf: bool) {
            let eol = if crlf { "\r\n" } else { "\n" };
            let sdp = format!("v=0{eol}o=- 1 1 IN IP4 0.0.0.0{eol}s=-{eol}t=0 0{eol}m=audio 9 RTP/AVP 0{eol}{}", lines.join(eol));
            same_on_every_cpu_path(&sdp);
        }

        #[test]
        fn opus_reach_agrees_with_the_full_scan(lines in proptest::collection::vec(opus_pass_line(), 0..60), crlf: bool, session: bool) {
            let eol = if crlf { "\r\n" } else { "\n" };
            let head = if session { "v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\n" } else { "v=0\n" };
            let sdp = format!("{}{}", head.replace('\n', eol), lines.join(eol));
            opus_reach_agrees(&sdp);
        }

        #[test]
        fn payload_types_match_the_token_check(formats in "[0-9 ]{0,70}|[0-9 x]{0,20}") {
            prop_assert_eq!(payload_types_ok(&formats), payload_types_by_tokens(&formats));
        }

        #[test]
        fn quick_rtpmap_never_disagrees(rest in "[0-9]{0,4}[ /]?[a-zA-Z0-9 /-]{0,14}") {
            quick_answers(&rest);
        }

        #[test]
        fn quick_rtpmap_never_disagrees_on_near_misses(
            pt in "[0-9]{1,4}",
            name in "[a-zA-Z0-9 -]{0,6}",
            clock in "[0-9]{0,10}",
            channels in proptest::option::of("[0-9 /]{0,6}"),
        ) {
            let rest = match channels {
                Some(c) => format!("{pt} {name}/{clock}/{c}"),
                None => format!("{pt} {name}/{clock}"),
            };
            quick_answers(&rest);
        }
    }
}
