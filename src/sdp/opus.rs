//! Opus `a=fmtp` parameter edits (RFC 7587), DTX among them.

use super::error::SdpError;
use super::scan::{Fmtp, Line, MediaLine, Reach, Rtpmap, Visitor, scan, split_byte};
use super::splice::{Span, splice};

/// Turns on Opus discontinuous transmission: `usedtx=1` on every Opus payload
/// type of every media section, adding an `a=fmtp` line where one is missing.
///
/// Everything else is kept byte for byte, and applying it twice changes
/// nothing more. Errors are those of [`OpusSettings::apply`].
///
/// ```
/// let offer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
///              m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n\
///              a=fmtp:111 minptime=10;useinbandfec=1\r\n";
/// let munged = cloudflare_calls::sdp::enable_opus_dtx(offer)?;
/// assert!(munged.contains("a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1\r\n"));
/// # Ok::<(), cloudflare_calls::sdp::SdpError>(())
/// ```
pub fn enable_opus_dtx(sdp: &str) -> Result<String, SdpError> {
    OpusSettings::new().dtx(true).apply(sdp)
}

/// Turns Opus DTX off: every `usedtx` parameter of an Opus payload type
/// becomes `usedtx=0`. Where the parameter is absent DTX is already off, so
/// nothing is added.
pub fn disable_opus_dtx(sdp: &str) -> Result<String, SdpError> {
    OpusSettings::new().dtx(false).apply(sdp)
}

/// A set of Opus fmtp parameters to write in one pass over the SDP.
///
/// Unset parameters are left as they are. Setting a flag to `true` (or a
/// number) rewrites the parameter in place or appends it; setting a flag to
/// `false` rewrites an existing parameter to `0` but adds nothing where it is
/// absent, since absent means off.
///
/// ```
/// use cloudflare_calls::sdp::OpusSettings;
/// let sdp = "v=0\no=- 1 2 IN IP4 0.0.0.0\ns=-\nt=0 0\nm=audio 9 RTP/AVP 111\na=rtpmap:111 opus/48000/2\n";
/// let munged = OpusSettings::new().stereo(true).max_average_bitrate(128_000).apply(sdp)?;
/// assert!(munged.ends_with("a=rtpmap:111 opus/48000/2\na=fmtp:111 stereo=1;maxaveragebitrate=128000\n"));
/// # Ok::<(), cloudflare_calls::sdp::SdpError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct OpusSettings {
    dtx: Option<bool>,
    stereo: Option<bool>,
    sprop_stereo: Option<bool>,
    max_average_bitrate: Option<u32>,
    inband_fec: Option<bool>,
    cbr: Option<bool>,
    max_playback_rate: Option<u32>,
    ptime: Option<u32>,
    min_ptime: Option<u32>,
}

#[derive(Debug, Clone, Copy)]
enum Value {
    Flag(bool),
    Number(u32),
}

/// Parameter name, value, and the range a number must fall in.
type Entry = (&'static str, Option<Value>, (u32, u32));

impl OpusSettings {
    /// No parameters set: applying it only validates and copies.
    pub fn new() -> Self {
        Self::default()
    }

    /// `usedtx`: discontinuous transmission (silence is not sent).
    pub fn dtx(mut self, on: bool) -> Self {
        self.dtx = Some(on);
        self
    }

    /// `stereo`: whether we prefer to receive stereo.
    pub fn stereo(mut self, on: bool) -> Self {
        self.stereo = Some(on);
        self
    }

    /// `sprop-stereo`: whether we are likely to send stereo.
    pub fn sprop_stereo(mut self, on: bool) -> Self {
        self.sprop_stereo = Some(on);
        self
    }

    /// `maxaveragebitrate` in bits per second, 6000..=510000.
    pub fn max_average_bitrate(mut self, bps: u32) -> Self {
        self.max_average_bitrate = Some(bps);
        self
    }

    /// `useinbandfec`: in-band forward error correction.
    pub fn inband_fec(mut self, on: bool) -> Self {
        self.inband_fec = Some(on);
        self
    }

    /// `cbr`: constant bitrate.
    pub fn cbr(mut self, on: bool) -> Self {
        self.cbr = Some(on);
        self
    }

    /// `maxplaybackrate` in Hz, 8000..=48000.
    pub fn max_playback_rate(mut self, hz: u32) -> Self {
        self.max_playback_rate = Some(hz);
        self
    }

    /// `ptime`: packet duration in milliseconds, 3..=120. libwebrtc reads it
    /// from the fmtp line as well as from `a=ptime`.
    pub fn ptime(mut self, ms: u32) -> Self {
        self.ptime = Some(ms);
        self
    }

    /// `minptime`: shortest packet duration in milliseconds, 3..=120.
    pub fn min_ptime(mut self, ms: u32) -> Self {
        self.min_ptime = Some(ms);
        self
    }

    fn entries(&self) -> [Entry; 9] {
        let flag = |v: Option<bool>| v.map(Value::Flag);
        let number = |v: Option<u32>| v.map(Value::Number);
        const FLAG: (u32, u32) = (0, 1);
        [
            ("usedtx", flag(self.dtx), FLAG),
            ("stereo", flag(self.stereo), FLAG),
            ("sprop-stereo", flag(self.sprop_stereo), FLAG),
            (
                "maxaveragebitrate",
                number(self.max_average_bitrate),
                (6000, 510_000),
            ),
            ("useinbandfec", flag(self.inband_fec), FLAG),
            ("cbr", flag(self.cbr), FLAG),
            (
                "maxplaybackrate",
                number(self.max_playback_rate),
                (8000, 48_000),
            ),
            ("ptime", number(self.ptime), (3, 120)),
            ("minptime", number(self.min_ptime), (3, 120)),
        ]
    }

    /// Writes the parameters into every Opus payload type of every media
    /// section and returns the new SDP. Fails on a number outside its range
    /// or a malformed line in the session part or in a section that mentions
    /// Opus; other sections are copied unread (see the [module](super) docs).
    pub fn apply(&self, sdp: &str) -> Result<String, SdpError> {
        let entries = self.entries();
        for &(parameter, value, (min, max)) in &entries {
            if let Some(Value::Number(value)) = value
                && !(min..=max).contains(&value)
            {
                return Err(SdpError::OutOfRange {
                    parameter,
                    value,
                    min,
                    max,
                });
            }
        }
        // The set parameters, in the order missing ones are appended.
        let mut wanted = [("", Value::Flag(false)); 9];
        let mut count = 0;
        for (name, value, _) in entries {
            if let Some(value) = value {
                wanted[count] = (name, value);
                count += 1;
            }
        }
        let wanted = &wanted[..count];
        let mut edits = find_edits(sdp)?;
        let extra = edits.len() * 48;
        let default_eol = sdp.find('\n').map_or("\r\n", |nl| {
            if sdp[..nl].ends_with('\r') {
                "\r\n"
            } else {
                "\n"
            }
        });
        Ok(splice(sdp, &mut edits, extra, |out, edit| match *edit {
            Edit::Params { params, spaced, .. } => {
                let mark = out.len();
                if !spaced {
                    out.push(' ');
                }
                write_params(out, params, wanted);
                if !spaced && out.len() == mark + 1 {
                    out.truncate(mark);
                }
            }
            Edit::NewLine { pt, eol, .. } => {
                let mark = out.len();
                let (before, after) = if eol.is_empty() {
                    (default_eol, "")
                } else {
                    ("", eol)
                };
                out.push_str(before);
                out.push_str("a=fmtp:");
                push_number(out, u32::from(pt));
                out.push(' ');
                let params_at = out.len();
                write_params(out, "", wanted);
                if out.len() == params_at {
                    // Nothing to add: a bare `a=fmtp` line would be noise.
                    out.truncate(mark);
                } else {
                    out.push_str(after);
                }
            }
        }))
    }
}

enum Edit<'a> {
    /// Rewrite the parameter list of an existing Opus fmtp line.
    Params {
        start: usize,
        params: &'a str,
        spaced: bool,
    },
    /// Add an fmtp line after the rtpmap line ending at `at`.
    NewLine { at: usize, pt: u8, eol: &'a str },
}

impl Span for Edit<'_> {
    fn span(&self) -> (usize, usize) {
        match *self {
            Edit::Params { start, params, .. } => (start, start + params.len()),
            Edit::NewLine { at, .. } => (at, at),
        }
    }
}

/// One pass: per media section, proposes a new fmtp line for each Opus
/// rtpmap, keeps fmtp lines that come before their rtpmap, and settles both
/// when the section ends. Payload-type sets are bitmasks, so hostile inputs
/// with thousands of lines per section stay linear.
fn find_edits(sdp: &str) -> Result<Vec<Edit<'_>>, SdpError> {
    let mut finder = Finder {
        section: Section::default(),
        // One Opus fmtp per audio section is the usual offer.
        edits: Vec::with_capacity(4),
    };
    scan(sdp, Reach::OpusSections, &mut finder)?;
    let Finder {
        mut section,
        mut edits,
    } = finder;
    section.flush(&mut edits);
    Ok(edits)
}

struct Finder<'a> {
    section: Section<'a>,
    edits: Vec<Edit<'a>>,
}

impl<'a> Visitor<'a> for Finder<'a> {
    #[inline(always)]
    fn media(&mut self, _: Line, _: MediaLine<'a>) -> Result<(), SdpError> {
        self.section.flush(&mut self.edits);
        Ok(())
    }

    #[inline(always)]
    fn rtpmap(&mut self, line: Line, r: Rtpmap<'a>) -> Result<(), SdpError> {
        let section = &mut self.section;
        // The first rtpmap of a payload type decides what it is.
        if section.mapped & bit(r.pt) == 0 {
            section.mapped |= bit(r.pt);
            if r.name.eq_ignore_ascii_case("opus") {
                section.opus |= bit(r.pt);
                // Dropped at the end of the section if an fmtp line shows up.
                self.edits.push(Edit::NewLine {
                    at: line.end(),
                    pt: r.pt,
                    eol: line.eol,
                });
            }
        }
        Ok(())
    }

    #[inline(always)]
    fn fmtp(&mut self, _: Line, f: Fmtp<'a>) -> Result<(), SdpError> {
        let section = &mut self.section;
        if section.opus & bit(f.pt) != 0 {
            section.edit(f, &mut self.edits);
        } else if section.mapped & bit(f.pt) == 0 {
            section.pending.push(f);
        }
        Ok(())
    }
}

/// What the current media section has shown so far.
#[derive(Default)]
struct Section<'a> {
    /// Payload types with an rtpmap, and those that are Opus.
    mapped: u128,
    opus: u128,
    with_fmtp: u128,
    /// Where this section's edits start in the list.
    first_edit: usize,
    /// fmtp lines seen before their rtpmap (Firefox's order).
    pending: Vec<Fmtp<'a>>,
}

impl<'a> Section<'a> {
    fn edit(&mut self, f: Fmtp<'a>, edits: &mut Vec<Edit<'a>>) {
        self.with_fmtp |= bit(f.pt);
        edits.push(Edit::Params {
            start: f.params_start,
            params: f.params,
            spaced: f.spaced,
        });
    }

    fn flush(&mut self, edits: &mut Vec<Edit<'a>>) {
        let mut pending = std::mem::take(&mut self.pending);
        let opus = self.opus;
        for f in pending.drain(..).filter(|f| opus & bit(f.pt) != 0) {
            self.edit(f, edits);
        }
        self.pending = pending;
        // Edits are sorted before they are applied, so order is free.
        let mut i = self.first_edit;
        while let Some(edit) = edits.get(i) {
            match *edit {
                Edit::NewLine { pt, .. } if self.with_fmtp & bit(pt) != 0 => {
                    edits.swap_remove(i);
                }
                _ => i += 1,
            }
        }
        self.first_edit = edits.len();
        (self.mapped, self.opus, self.with_fmtp) = (0, 0, 0);
    }
}

fn bit(pt: u8) -> u128 {
    1u128 << (pt & 127)
}

/// Copies `params` with the `wanted` parameters rewritten in place
/// (keeping their spelling and position), then appends the ones that were
/// missing.
fn write_params(out: &mut String, params: &str, wanted: &[(&str, Value)]) {
    let start = out.len();
    let mut seen = 0u16;
    let mut rest = Some(params);
    while let Some(text) = rest {
        let piece;
        (piece, rest) = match split_byte(text, b';') {
            Some((piece, after)) => (piece, Some(after)),
            None => (text, None),
        };
        let trimmed = piece.trim_ascii_start();
        let key = split_byte(trimmed, b'=')
            .map_or(trimmed, |(k, _)| k)
            .trim_ascii_end();
        match wanted
            .iter()
            .position(|(name, _)| name.eq_ignore_ascii_case(key))
        {
            Some(index) => {
                seen |= 1 << index;
                out.push_str(&piece[..piece.len() - trimmed.len()]);
                out.push_str(key);
                out.push('=');
                push_value(out, wanted[index].1);
            }
            None => out.push_str(piece),
        }
        if rest.is_some() {
            out.push(';');
        }
    }
    for (index, &(name, value)) in wanted.iter().enumerate() {
        if seen & (1 << index) != 0 || matches!(value, Value::Flag(false)) {
            continue;
        }
        if out.len() > start && !out.ends_with(';') {
            out.push(';');
        }
        out.push_str(name);
        out.push('=');
        push_value(out, value);
    }
}

fn push_value(out: &mut String, value: Value) {
    match value {
        Value::Flag(on) => out.push(if on { '1' } else { '0' }),
        Value::Number(n) => push_number(out, n),
    }
}

/// Formats without `core::fmt`, which is slow for the hot path.
fn push_number(out: &mut String, mut n: u32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}
