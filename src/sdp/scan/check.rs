//! Cross-checks of the scanner's fast paths against its reference paths,
//! shared by the unit tests and the fuzz target (`cfg(fuzzing)`).

use super::{Baseline, Fmtp, Line, MediaLine, Rtpmap, Visitor, parse_rtpmap, quick_rtpmap, scan};
use super::{SdpError, scan_with};

/// Every check below on one input; panics on the first disagreement.
#[cfg(fuzzing)]
pub(crate) fn consistent(sdp: &str) {
    same_on_every_cpu_path(sdp);
    let mut at = 0;
    for line in sdp.split_inclusive('\n') {
        if line.starts_with("a=rtpmap:") {
            let text = line
                .strip_suffix('\n')
                .map_or(line, |l| l.strip_suffix('\r').unwrap_or(l));
            quick_rtpmap_agrees(sdp, at + 9, at + text.len());
        }
        at += line.len();
    }
}

/// Panics if the quick rtpmap parser reads the text at `at..end` of `sdp`
/// differently from the byte loop; tells whether it gave an answer.
pub(crate) fn quick_rtpmap_agrees(sdp: &str, at: usize, end: usize) -> bool {
    let Some(window) = sdp.as_bytes().get(at..at + 16) else {
        return false;
    };
    let Some(quick) = quick_rtpmap(sdp, at, window, end) else {
        return false;
    };
    let rest = sdp
        .get(at..end)
        .expect("the quick parser read a whole line");
    let full = parse_rtpmap(rest).expect("the quick parser accepted what the byte loop rejects");
    assert_eq!(
        (quick.pt, quick.name, quick.clock_rate, quick.channels),
        (full.pt, full.name, full.clock_rate, full.channels),
        "{rest:?}"
    );
    true
}

/// Panics unless the CPU-specific scan and the baseline one see the same
/// lines and reach the same verdict.
pub(crate) fn same_on_every_cpu_path(sdp: &str) {
    let (mut fast, mut baseline) = (Record::default(), Record::default());
    let fast_result = scan(sdp, &mut fast);
    let baseline_result = scan_with(Baseline, sdp, &mut baseline);
    assert_eq!(fast_result, baseline_result);
    assert_eq!(fast, baseline);
}

/// Writes down every visit, so two scans can be compared.
#[derive(Default, PartialEq, Debug)]
struct Record(Vec<String>);

impl Record {
    fn note(&mut self, line: Line, what: impl std::fmt::Debug) -> Result<(), SdpError> {
        self.0.push(format!("{line:?} {what:?}"));
        Ok(())
    }
}

impl<'a> Visitor<'a> for Record {
    fn media(&mut self, line: Line, m: MediaLine<'a>) -> Result<(), SdpError> {
        self.note(line, m)
    }

    fn rtpmap(&mut self, line: Line, r: Rtpmap<'a>) -> Result<(), SdpError> {
        self.note(line, r)
    }

    fn fmtp(&mut self, line: Line, f: Fmtp<'a>) -> Result<(), SdpError> {
        self.note(line, f)
    }

    fn attribute(&mut self, line: Line, value: &'a str) -> Result<(), SdpError> {
        self.note(line, value)
    }
}
