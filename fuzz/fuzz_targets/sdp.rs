//! Every SDP entry point on arbitrary input: no panics, no quadratic blow-up
//! (libFuzzer's -timeout catches slow inputs), `parse` succeeds exactly when
//! `validate` does, every edit fails with `validate`'s error on input it
//! rejects, and edits that succeed produce SDP that validates and are
//! idempotent.
//!
//! Seed and run from the repository root (stable toolchains need
//! `RUSTC_BOOTSTRAP=1` for the sanitizer flags cargo-fuzz passes):
//!
//! ```text
//! mkdir -p fuzz/corpus/sdp && cp tests/fixtures/sdp/*.sdp fuzz/corpus/sdp/
//! RUSTC_BOOTSTRAP=1 cargo fuzz run sdp fuzz/corpus/sdp -- -max_total_time=600 -timeout=2
//! ```
#![no_main]

use cloudflare_calls::sdp::{self, SectionKind, OpusSettings, SdpError};
use libfuzzer_sys::fuzz_target;

type Edit = fn(&str) -> Result<String, SdpError>;

const EDITS: [Edit; 6] = [
    sdp::enable_opus_dtx,
    sdp::disable_opus_dtx,
    |s| {
        OpusSettings::new()
            .stereo(true)
            .inband_fec(false)
            .max_average_bitrate(32_000)
            .apply(s)
    },
    |s| sdp::retain_codecs(s, SectionKind::Video, &["VP8", "H264"]),
    |s| sdp::retain_codecs(s, SectionKind::Audio, &["opus"]),
    |s| sdp::prefer_codecs(s, SectionKind::Video, &["AV1", "VP8"]),
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let verdict = sdp::validate(text);
    assert_eq!(sdp::parse(text).map(drop), verdict);
    for edit in EDITS {
        match (edit(text), &verdict) {
            (Ok(once), Ok(())) => {
                assert_eq!(sdp::validate(&once), Ok(()));
                assert_eq!(edit(&once).as_deref(), Ok(once.as_str()));
            }
            (Ok(_), Err(_)) => panic!("an edit accepted what validate rejected"),
            (Err(err), Err(expected)) => assert_eq!(&err, expected),
            // Only the edit's own errors: no codec left, a number out of range.
            (Err(err), Ok(())) => assert!(!matches!(err, SdpError::Malformed { .. })),
        }
    }
});
