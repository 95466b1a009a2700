//! Opus `a=fmtp` parameter edits (RFC 7587), DTX among them.

use super::error::SdpError;
use super::fields::Fmtp;
use super::scan::{Kind, lines};
use super::splice::{Edit, splice};

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
/// nothing is added. Errors are those of [`OpusSettings::apply`].
///
/// ```
/// let offer = "v=0\no=- 1 2 IN IP4 127.0.0.1\ns=-\nt=0 0\nm=audio 9 RTP/AVP 111\n\
///              a=rtpmap:111 opus/48000/2\na=fmtp:111 usedtx=1;stereo=1\n";
/// let munged = cloudflare_calls::sdp::disable_opus_dtx(offer)?;
/// assert!(munged.ends_with("a=fmtp:111 usedtx=0;stereo=1\n"));
/// # Ok::<(), cloudflare_calls::sdp::SdpError>(())
/// ```
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
#[derive(Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct OpusSettings {
    /// One value per entry of [`PARAMETERS`]; flags are 0 or 1.
    values: [Option<u32>; 9],
}

/// Shows the set parameters by their fmtp names, e.g. `{"usedtx": 1}`.
impl std::fmt::Debug for OpusSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = PARAMETERS.iter().zip(self.values);
        f.debug_map()
            .entries(set.filter_map(|((name, _), value)| Some((name, value?))))
            .finish()
    }
}

/// Every parameter with the range a number must fall in, in the order
/// missing ones are appended.
const PARAMETERS: [(&str, (u32, u32)); 9] = [
    ("usedtx", FLAG),
    ("stereo", FLAG),
    ("sprop-stereo", FLAG),
    ("maxaveragebitrate", (6000, 510_000)),
    ("useinbandfec", FLAG),
    ("cbr", FLAG),
    ("maxplaybackrate", (8000, 48_000)),
    ("ptime", (3, 120)),
    ("minptime", (3, 120)),
];
const FLAG: (u32, u32) = (0, 1);

impl OpusSettings {
    /// No parameters set: applying it only validates and copies.
    ///
    /// ```
    /// # use cloudflare_calls::sdp::OpusSettings;
    /// let sdp = "v=0\no=- 1 2 IN IP4 0.0.0.0\ns=-\nt=0 0\n";
    /// assert_eq!(OpusSettings::new().apply(sdp).as_deref(), Ok(sdp));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    fn set(mut self, index: usize, value: impl Into<u32>) -> Self {
        self.values[index] = Some(value.into());
        self
    }

    /// `usedtx`: discontinuous transmission (silence is not sent).
    pub fn dtx(self, on: bool) -> Self {
        self.set(0, on)
    }

    /// `stereo`: whether we prefer to receive stereo.
    pub fn stereo(self, on: bool) -> Self {
        self.set(1, on)
    }

    /// `sprop-stereo`: whether we are likely to send stereo.
    pub fn sprop_stereo(self, on: bool) -> Self {
        self.set(2, on)
    }

    /// `maxaveragebitrate` in bits per second, 6000..=510000.
    pub fn max_average_bitrate(self, bps: u32) -> Self {
        self.set(3, bps)
    }

    /// `useinbandfec`: in-band forward error correction.
    pub fn inband_fec(self, on: bool) -> Self {
        self.set(4, on)
    }

    /// `cbr`: constant bitrate.
    pub fn cbr(self, on: bool) -> Self {
        self.set(5, on)
    }

    /// `maxplaybackrate` in Hz, 8000..=48000.
    pub fn max_playback_rate(self, hz: u32) -> Self {
        self.set(6, hz)
    }

    /// `ptime`: packet duration in milliseconds, 3..=120. libwebrtc reads it
    /// from the fmtp line as well as from `a=ptime`.
    pub fn ptime(self, ms: u32) -> Self {
        self.set(7, ms)
    }

    /// `minptime`: shortest packet duration in milliseconds, 3..=120.
    pub fn min_ptime(self, ms: u32) -> Self {
        self.set(8, ms)
    }

    /// Writes the parameters into every Opus payload type of every media
    /// section and returns the new SDP. Fails on a number outside its range
    /// or on any input [`validate`](super::validate) rejects, with the same
    /// error.
    ///
    /// ```
    /// use cloudflare_calls::sdp::{Malformed, OpusSettings, SdpError};
    /// let sdp = "v=0\no=- 1 2 IN IP4 0.0.0.0\ns=-\nt=0 0\nm=audio 9 RTP/AVP 111\na=rtpmap:111 opus/48000/2\n";
    /// let err = OpusSettings::new().ptime(500).apply(sdp).unwrap_err();
    /// assert_eq!(err, SdpError::OutOfRange { parameter: "ptime", value: 500, min: 3, max: 120 });
    /// let broken = format!("{sdp}m=video nine RTP/AVP 96\n");
    /// let err = OpusSettings::new().dtx(true).apply(&broken).unwrap_err();
    /// assert_eq!(err, SdpError::Malformed { line: 7, reason: Malformed::MediaLine("port is not a number 0..=65535") });
    /// ```
    pub fn apply(&self, sdp: &str) -> Result<String, SdpError> {
        let mut wanted = Vec::with_capacity(PARAMETERS.len());
        for (&(parameter, (min, max)), value) in PARAMETERS.iter().zip(self.values) {
            match value {
                Some(value) if !(min..=max).contains(&value) => {
                    return Err(SdpError::OutOfRange {
                        parameter,
                        value,
                        min,
                        max,
                    });
                }
                // Absent means off, so a flag turned off is never added.
                Some(value) => wanted.push(Wanted {
                    name: parameter,
                    value,
                    add: (min, max) != FLAG || value == 1,
                }),
                None => {}
            }
        }
        // A line added after a last line that has no ending needs one first.
        let default_eol = match sdp.find('\n') {
            Some(nl) if !sdp[..nl].ends_with('\r') => "\n",
            _ => "\r\n",
        };
        // Edits of a media section are settled when it ends, since an fmtp
        // line may come before its rtpmap (Firefox's order).
        let mut edits = Vec::new();
        let mut section = Section::default();
        for line in lines(sdp) {
            let line = line?;
            match line.kind {
                Kind::Media(_) => section.finish(&wanted, default_eol, &mut edits),
                Kind::Rtpmap(r) => {
                    // The first rtpmap of a payload type decides what it is.
                    if section.mapped & bit(r.pt) == 0 && r.name.eq_ignore_ascii_case("opus") {
                        section.opus |= bit(r.pt);
                        section.rtpmaps.push((r.pt, line.end(), line.eol));
                    }
                    section.mapped |= bit(r.pt);
                }
                Kind::Fmtp(f) => section.fmtps.push(f),
                Kind::Attribute(_) | Kind::Other => {}
            }
        }
        section.finish(&wanted, default_eol, &mut edits);
        Ok(splice(sdp, edits))
    }
}

/// What the current media section has shown so far. Payload-type sets are
/// `u128` masks so hostile sections with thousands of lines stay linear.
#[derive(Default)]
struct Section<'a> {
    /// Payload types with an rtpmap, and those that are Opus.
    mapped: u128,
    opus: u128,
    /// Opus rtpmap lines: payload type, where the line ends, its ending.
    rtpmaps: Vec<(u8, usize, &'a str)>,
    fmtps: Vec<Fmtp<'a>>,
}

impl Section<'_> {
    fn finish(&mut self, wanted: &[Wanted], default_eol: &str, edits: &mut Vec<Edit>) {
        let mut with_fmtp = 0;
        for f in self.fmtps.drain(..).filter(|f| self.opus & bit(f.pt) != 0) {
            with_fmtp |= bit(f.pt);
            let mut text = String::new();
            write_params(&mut text, f.params, wanted);
            if !f.spaced && !text.is_empty() {
                text.insert(0, ' ');
            }
            let end = f.params_start + f.params.len();
            edits.push(Edit {
                start: f.params_start,
                end,
                text,
            });
        }
        for (pt, at, eol) in self.rtpmaps.drain(..) {
            let mut params = String::new();
            write_params(&mut params, "", wanted);
            // Nothing to add: a bare `a=fmtp` line would be noise.
            if with_fmtp & bit(pt) == 0 && !params.is_empty() {
                let (before, after) = if eol.is_empty() {
                    (default_eol, "")
                } else {
                    ("", eol)
                };
                let text = format!("{before}a=fmtp:{pt} {params}{after}");
                edits.push(Edit {
                    start: at,
                    end: at,
                    text,
                });
            }
        }
        (self.mapped, self.opus) = (0, 0);
    }
}

/// A parameter to write.
struct Wanted {
    name: &'static str,
    value: u32,
    /// Whether to add it where it is missing.
    add: bool,
}

fn bit(pt: u8) -> u128 {
    1 << pt
}

/// Copies `params` with the `wanted` parameters rewritten in place
/// (keeping their spelling and position), then appends the ones that were
/// missing.
fn write_params(out: &mut String, params: &str, wanted: &[Wanted]) {
    let start = out.len();
    let mut seen = [false; PARAMETERS.len()];
    for (i, piece) in params.split(';').enumerate() {
        if i > 0 {
            out.push(';');
        }
        let trimmed = piece.trim_ascii_start();
        let key = trimmed
            .split_once('=')
            .map_or(trimmed, |(k, _)| k)
            .trim_ascii_end();
        match wanted.iter().position(|w| w.name.eq_ignore_ascii_case(key)) {
            Some(index) => {
                seen[index] = true;
                out.push_str(&piece[..piece.len() - trimmed.len()]);
                out.push_str(&format!("{key}={}", wanted[index].value));
            }
            None => out.push_str(piece),
        }
    }
    for (w, seen) in wanted.iter().zip(seen) {
        if seen || !w.add {
            continue;
        }
        if out.len() > start && !out.ends_with(';') {
            out.push(';');
        }
        out.push_str(&format!("{}={}", w.name, w.value));
    }
}
