//! Just enough SDP reading to map the client's m-lines to API tracks; str0m does the real parsing.

/// One m-section of an SDP as the API layer needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Section {
    pub mid: String,
    /// `audio`, `video` or `application`.
    pub kind: String,
    /// Direction attribute as written (`sendrecv` when absent).
    pub direction: String,
    /// Track id from `a=msid:<stream> <track>`, if any.
    pub msid_track: Option<String>,
    /// Port zero marks a stopped transceiver.
    pub stopped: bool,
}

impl Section {
    /// True when the offerer sends media on this section.
    pub fn sends(&self) -> bool {
        !self.stopped && matches!(self.direction.as_str(), "sendrecv" | "sendonly")
    }
}

/// Lists the m-sections of `sdp` in order.
pub(crate) fn sections(sdp: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    for line in sdp.lines().map(str::trim_end) {
        if let Some(rest) = line.strip_prefix("m=") {
            let mut parts = rest.split(' ');
            let kind = parts.next().unwrap_or_default().to_string();
            let stopped = parts.next() == Some("0");
            out.push(Section {
                mid: String::new(),
                kind,
                direction: "sendrecv".into(),
                msid_track: None,
                stopped,
            });
            continue;
        }
        let Some(cur) = out.last_mut() else { continue };
        if let Some(mid) = line.strip_prefix("a=mid:") {
            cur.mid = mid.to_string();
        } else if let Some(msid) = line.strip_prefix("a=msid:") {
            cur.msid_track = msid.split(' ').nth(1).map(str::to_string);
        } else if let Some(dir) = line.strip_prefix("a=")
            && matches!(dir, "sendrecv" | "sendonly" | "recvonly" | "inactive")
        {
            cur.direction = dir.to_string();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_mids_kinds_directions_and_msid() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendonly\r\n\
                   a=msid:s1 t-audio\r\nm=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n\
                   a=recvonly\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n";
        let s = sections(sdp);
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].mid.as_str(), s[0].kind.as_str()), ("0", "audio"));
        assert!(s[0].sends());
        assert_eq!(s[0].msid_track.as_deref(), Some("t-audio"));
        assert!(s[1].stopped && !s[1].sends());
        assert_eq!(s[2].direction, "sendrecv");
        assert_eq!(s[2].kind, "application");
    }
}
