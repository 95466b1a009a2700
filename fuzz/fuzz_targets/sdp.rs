//! Every SDP entry point on arbitrary input: no panics, no quadratic blow-up
//! (libFuzzer's -timeout catches slow inputs), edits that succeed are
//! idempotent and produce SDP that validates when the input did, and the
//! scanner's fast paths (AVX2 or SSE2 masks, the bitmask rtpmap parser, the
//! Opus edits' outline pass) agree with its byte loops and its full scan.
//!
//! Seed and run from the repository root (stable toolchains need
//! `RUSTC_BOOTSTRAP=1` for the sanitizer flags cargo-fuzz passes):
//!
//! ```text
//! mkdir -p fuzz/corpus/sdp && cp tests/fixtures/sdp/*.sdp fuzz/corpus/sdp/
//! RUSTC_BOOTSTRAP=1 cargo fuzz run sdp fuzz/corpus/sdp -- -max_total_time=600 -timeout=2
//! ```
#![no_main]

use cloudflare_calls::sdp::{self, MediaKind, OpusSettings, SdpError};
use libfuzzer_sys::fuzz_target;

type Edit = fn(&str) -> Result<String, SdpError>;

/// Each edit, and whether it reads every line (Opus edits copy the sections
/// that never mention Opus unread).
const EDITS: [(Edit, bool); 6] = [
    (sdp::enable_opus_dtx, false),
    (sdp::disable_opus_dtx, false),
    (
        |s| {
            OpusSettings::new()
                .stereo(true)
                .inband_fec(false)
                .max_average_bitrate(32_000)
                .apply(s)
        },
        false,
    ),
    (|s| sdp::retain_codecs(s, MediaKind::Video, &["VP8", "H264"]), true),
    (|s| sdp::retain_codecs(s, MediaKind::Audio, &["opus"]), true),
    (|s| sdp::prefer_codecs(s, MediaKind::Video, &["AV1", "VP8"]), true),
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The SIMD and word-sized fast paths against the byte loops, and the
    // Opus edits' partial reading against the full scan.
    sdp::fuzz_consistency(text);
    let verdict = sdp::validate(text);
    let valid = verdict.is_ok();
    assert_eq!(sdp::parse(text).is_ok(), valid);
    for (edit, reads_everything) in EDITS {
        match edit(text) {
            Ok(once) => {
                if valid {
                    assert_eq!(sdp::validate(&once), Ok(()));
                } else {
                    // Which lines an Opus edit may skip is checked by
                    // `fuzz_consistency`.
                    assert!(!reads_everything, "an edit accepted what validate rejected");
                }
                assert_eq!(edit(&once).as_deref(), Ok(once.as_str()));
            }
            Err(SdpError::Malformed { .. }) => assert!(!valid),
            Err(_) => {}
        }
    }
});
