//! The ICE attributes WHIP and WHEP need: the ICE username of an offer, whether an answer
//! comes from an ICE-lite agent, and trickle ICE fragments (RFC 8840
//! `application/trickle-ice-sdpfrag`). No I/O, so every case is unit-tested.

/// An SDP fragment of a PATCH, as far as the resource acts on it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Fragment {
    /// The ICE username the candidates belong to; a new one asks for an ICE restart.
    pub ufrag: Option<String>,
    /// `a=candidate` lines.
    pub candidates: usize,
    /// `a=end-of-candidates` was present.
    pub end_of_candidates: bool,
}

/// The first `a=ice-ufrag` of an SDP.
pub(crate) fn ufrag(sdp: &str) -> Option<&str> {
    lines(sdp)
        .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .map(str::trim)
}

/// Whether the SDP says its agent is ICE-lite (RFC 8445 section 2.5): such an agent never
/// uses the peer's candidates, it learns the peer's address from its connectivity checks.
pub(crate) fn is_lite(sdp: &str) -> bool {
    lines(sdp).any(|l| l.trim_end() == "a=ice-lite")
}

/// Parses a trickle ICE fragment; `Err` says what is malformed.
pub(crate) fn fragment(body: &str) -> Result<Fragment, String> {
    let mut fragment = Fragment {
        ufrag: None,
        candidates: 0,
        end_of_candidates: false,
    };
    for line in lines(body) {
        let Some((kind, value)) = line.split_once('=') else {
            return Err(format!("not an SDP line: {:.40}", line));
        };
        if kind.len() != 1 || !kind.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(format!("not an SDP line: {:.40}", line));
        }
        if kind != "a" {
            continue;
        }
        if let Some(u) = value.strip_prefix("ice-ufrag:") {
            let u = u.trim();
            if u.is_empty() || fragment.ufrag.as_deref().is_some_and(|f| f != u) {
                return Err("conflicting or empty a=ice-ufrag".into());
            }
            fragment.ufrag = Some(u.to_owned());
        } else if let Some(c) = value.strip_prefix("candidate:") {
            // foundation component transport priority address port "typ" type
            let fields: Vec<&str> = c.split_ascii_whitespace().collect();
            if fields.len() < 8 || fields[6] != "typ" || fields[5].parse::<u16>().is_err() {
                return Err(format!("malformed a=candidate: {:.60}", c));
            }
            fragment.candidates += 1;
        } else if value.trim_end() == "end-of-candidates" {
            fragment.end_of_candidates = true;
        }
    }
    Ok(fragment)
}

fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRICKLE: &str = "a=ice-options:trickle ice2\r\na=group:BUNDLE 0 1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\na=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw network-id 1\r\na=end-of-candidates\r\n";

    #[test]
    fn reads_a_trickle_fragment() {
        let f = fragment(TRICKLE).unwrap();
        assert_eq!(f.ufrag.as_deref(), Some("EsAw"));
        assert_eq!(f.candidates, 1);
        assert!(f.end_of_candidates);
    }

    #[test]
    fn refuses_malformed_fragments() {
        assert!(fragment("hello").is_err());
        assert!(fragment("a=candidate:1 1 udp 1 192.0.2.1 notaport typ host").is_err());
        assert!(fragment("a=candidate:1 1 udp").is_err());
        assert!(fragment("a=ice-ufrag:a\r\na=ice-ufrag:b").is_err());
        assert!(fragment("xy=z").is_err());
    }

    #[test]
    fn an_empty_fragment_is_empty() {
        assert_eq!(fragment("").unwrap().candidates, 0);
    }

    #[test]
    fn reads_ufrag_and_lite() {
        let sdp = "v=0\r\na=ice-lite\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:abcd\r\n";
        assert_eq!(ufrag(sdp), Some("abcd"));
        assert!(is_lite(sdp));
        assert!(!is_lite("v=0\r\na=ice-ufrag:x\r\n"));
    }
}
