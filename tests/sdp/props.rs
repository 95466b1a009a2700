//! Property tests: no input panics, edits are idempotent, and lines the edits
//! do not own come out byte for byte.

use cloudflare_calls::sdp::{self, OpusSettings, SectionKind};
use proptest::prelude::*;
use proptest::sample::select;

const FIXTURES: &[&str] = &[
    include_str!("../fixtures/sdp/chromium_tracks_datachannel.sdp"),
    include_str!("../fixtures/sdp/chromium_simulcast.sdp"),
    include_str!("../fixtures/sdp/firefox_style_lf.sdp"),
];

/// Runs every entry point; they may fail but must not panic, and whatever
/// succeeds must be stable under a second application.
fn exercise(input: &str) {
    let _ = sdp::validate(input);
    let _ = sdp::parse(input);
    type Edit<'a> = &'a dyn Fn(&str) -> Result<String, sdp::SdpError>;
    let edits: [Edit; 5] = [
        &sdp::enable_opus_dtx,
        &sdp::disable_opus_dtx,
        &|s| {
            OpusSettings::new()
                .stereo(true)
                .cbr(false)
                .ptime(20)
                .apply(s)
        },
        &|s| sdp::retain_codecs(s, SectionKind::Video, &["VP8", "AV1"]),
        &|s| sdp::prefer_codecs(s, SectionKind::Audio, &["opus"]),
    ];
    for edit in edits {
        if let Ok(once) = edit(input) {
            assert_eq!(
                edit(&once).as_deref(),
                Ok(once.as_str()),
                "not idempotent on {input:?}"
            );
        }
    }
}

/// Strings over the characters SDP parsing branches on.
fn sdp_soup() -> impl Strategy<Value = String> {
    let pieces = select(vec![
        "v=0",
        "o=- 1 1 IN IP4 0.0.0.0",
        "s=-",
        "t=0 0",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111 0",
        "m=video 0 RTP/AVP 96 97",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        "a=rtpmap:111 opus/48000/2",
        "a=rtpmap:96 VP8/90000",
        "a=rtpmap:97 rtx/90000",
        "a=fmtp:97 apt=96",
        "a=fmtp:111 usedtx=0;stereo",
        "a=fmtp:111",
        "a=rtcp-fb:96 nack",
        "a=mid:0",
        "a=sendonly",
        "a=rid:h send",
        "a=msid:- x",
        "\r\n",
        "\n",
        "\r",
        " ",
        ";",
        "=",
        ":",
        "/",
        "a=",
        "m=",
        "0",
        "127",
        "128",
        "99999999999999999999",
        "é",
        "",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|p| p.concat())
}

/// A browser offer with lines deleted, duplicated, or given other endings.
fn mutated_fixture() -> impl Strategy<Value = String> {
    (
        select(FIXTURES.to_vec()),
        prop::collection::vec((any::<u16>(), 0u8..4), 0..8),
    )
        .prop_map(|(sdp, ops)| {
            let mut lines: Vec<String> = sdp.split_inclusive('\n').map(str::to_owned).collect();
            for (at, op) in ops {
                let i = usize::from(at) % lines.len();
                match op {
                    0 => drop(lines.remove(i)),
                    1 => lines.insert(i, lines[i].clone()),
                    2 => lines[i] = lines[i].replace("\r\n", "\n"),
                    _ => lines[i] = lines[i].trim_end().to_owned(),
                }
                if lines.is_empty() {
                    break;
                }
            }
            lines.concat()
        })
}

/// One generated codec line set: payload type, rtpmap, optional fmtp that
/// may come first, and the line ending used.
#[derive(Debug, Clone)]
struct Codec {
    pt: u8,
    name: &'static str,
    fmtp: Option<String>,
    fmtp_first: bool,
}

fn codec(pt: u8, opus: bool) -> impl Strategy<Value = Codec> {
    let names = if opus {
        vec!["opus", "OPUS"]
    } else {
        vec!["VP8", "H264", "AV1", "rtx", "PCMU", "red"]
    };
    let params = select(vec![
        "",
        "usedtx=0",
        "usedtx=1",
        "minptime=10;useinbandfec=1",
        "stereo=1; usedtx=0",
        "apt=96",
        ";",
    ]);
    (select(names), prop::option::of(params), any::<bool>()).prop_map(
        move |(name, fmtp, fmtp_first)| Codec {
            pt,
            name,
            fmtp: fmtp.map(str::to_owned),
            fmtp_first,
        },
    )
}

/// Structurally valid SDPs in the shapes browsers produce. Opus payload
/// types are 100..=127 and all others below 100, so the test can tell which
/// fmtp lines the Opus edits own.
fn valid_sdp() -> impl Strategy<Value = String> {
    let section = (
        select(vec!["audio", "video"]),
        prop::collection::btree_set(100u8..=127, 0..3),
        prop::collection::btree_set(0u8..100, 1..5),
    )
        .prop_flat_map(|(kind, opus, other)| {
            let codecs: Vec<_> = opus
                .iter()
                .map(|&pt| codec(pt, true).boxed())
                .chain(other.iter().map(|&pt| codec(pt, false).boxed()))
                .collect();
            (
                Just(kind),
                codecs,
                select(vec!["a=sendrecv", "a=recvonly", "a=extmap:1 urn:x"]),
            )
        });
    (
        prop::collection::vec(section, 0..4),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(sections, crlf, last_eol)| {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut out = format!("v=0{eol}o=- 1 2 IN IP4 0.0.0.0{eol}s=-{eol}t=0 0{eol}");
            for (mid, (kind, codecs, extra)) in sections.iter().enumerate() {
                let pts: Vec<String> = codecs.iter().map(|c| c.pt.to_string()).collect();
                out += &format!(
                    "m={kind} 9 UDP/TLS/RTP/SAVPF {}{eol}a=mid:{mid}{eol}{extra}{eol}",
                    pts.join(" ")
                );
                for c in codecs {
                    let rtpmap = format!("a=rtpmap:{} {}/48000/2{eol}", c.pt, c.name);
                    let fmtp = c
                        .fmtp
                        .as_ref()
                        .map(|p| format!("a=fmtp:{} {p}{eol}", c.pt))
                        .unwrap_or_default();
                    out += &if c.fmtp_first {
                        fmtp + &rtpmap
                    } else {
                        rtpmap + &fmtp
                    };
                }
            }
            if !last_eol {
                out.truncate(out.trim_end().len());
            }
            out
        })
}

fn is_opus_fmtp(line: &str) -> bool {
    line.strip_prefix("a=fmtp:")
        .and_then(|rest| rest.get(..3))
        .and_then(|pt| pt.parse::<u8>().ok())
        .is_some_and(|pt| pt >= 100)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_soup_never_panics(input in sdp_soup()) {
        exercise(&input);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        exercise(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn mutated_browser_offers_never_panic(input in mutated_fixture()) {
        exercise(&input);
    }

    #[test]
    fn dtx_is_idempotent_and_touches_only_opus_fmtp(input in valid_sdp()) {
        prop_assert_eq!(sdp::validate(&input), Ok(()));
        let once = sdp::enable_opus_dtx(&input).unwrap();
        prop_assert_eq!(sdp::enable_opus_dtx(&once).unwrap(), once.clone());
        let untouched = |s: &str| s.split_inclusive('\n').filter(|l| !is_opus_fmtp(l)).collect::<String>();
        // A final line without an ending gains one when a line follows it.
        let (before, after) = (untouched(&input), untouched(&once));
        prop_assert_eq!(before.trim_end(), after.trim_end());
        for section in sdp::parse(&once).unwrap().media {
            for codec in section.codecs.iter().filter(|c| c.payload_type >= 100) {
                prop_assert_eq!(codec.fmtp_param("usedtx"), Some("1"));
            }
        }
    }

    #[test]
    fn retain_only_removes_codec_lines(input in valid_sdp()) {
        if let Ok(kept) = sdp::retain_codecs(&input, SectionKind::Audio, &["opus", "PCMU"]) {
            prop_assert_eq!(sdp::retain_codecs(&kept, SectionKind::Audio, &["opus", "PCMU"]).unwrap(), kept.clone());
            // Apart from m= lines, the output is the input with lines removed.
            let mut input_lines = input.split_inclusive('\n').filter(|l| !l.starts_with("m="));
            for line in kept.split_inclusive('\n').filter(|l| !l.starts_with("m=")) {
                prop_assert!(input_lines.any(|l| l == line), "{:?} not from input", line);
            }
        }
    }
}
