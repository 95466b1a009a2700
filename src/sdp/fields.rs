//! The grammar of the lines the edits and readers look into: `m=`,
//! `a=rtpmap` and `a=fmtp`. Each parser takes the text after the line's
//! prefix and names what is wrong in a fixed string, never quoting the line.

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

/// A payload type: 1 to 3 digits, at most 127.
pub(crate) fn parse_pt(s: &str) -> Option<u8> {
    parse_number(s).filter(|&pt| s.len() <= 3 && pt <= 127)
}

/// Plain ASCII digits (no sign, no spaces) that fit in `T`.
fn parse_number<T: TryFrom<u64>>(s: &str) -> Option<T> {
    // 19 digits always fit in a u64.
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    let mut n = 0u64;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(b - b'0');
    }
    T::try_from(n).ok()
}

/// `<media> <port>[/<count>] <protocol> <formats>`; `offset` is where
/// `value` starts in the input.
pub(crate) fn parse_media(value: &str, offset: usize) -> Result<MediaLine<'_>, &'static str> {
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
pub(crate) fn parse_rtpmap(rest: &str) -> Result<Rtpmap<'_>, &'static str> {
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
        channels: channels
            .map(|count| parse_number(count).ok_or(CHANNELS))
            .transpose()?,
    })
}

/// `<pt>[ <params>]`; `rest_start` is where `rest` starts in the input.
pub(crate) fn parse_fmtp(rest: &str, rest_start: usize) -> Result<Fmtp<'_>, &'static str> {
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
