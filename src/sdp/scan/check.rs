//! Cross-checks of the scanner's fast paths against its reference paths,
//! shared by the unit tests and the fuzz target (`cfg(fuzzing)`).

use super::{Baseline, Fmtp, Line, MediaLine, Rtpmap, Visitor, parse_rtpmap, quick_rtpmap, scan};
use super::{Malformed, Reach, SdpError, scan_with};

/// Every check below on one input; panics on the first disagreement.
#[cfg(fuzzing)]
pub(crate) fn consistent(sdp: &str) {
    same_on_every_cpu_path(sdp);
    opus_reach_agrees(sdp);
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
    let fast_result = scan(sdp, Reach::Everything, &mut fast);
    let baseline_result = scan_with(Baseline, sdp, Reach::Everything, &mut baseline);
    assert_eq!(fast_result, baseline_result);
    assert_eq!(fast, baseline);
}

/// Panics unless a scan with [`Reach::OpusSections`] visits exactly the
/// lines a plain reading of the text says it must (the session part and
/// every line of a section mentioning `opus` in any case), as a full scan
/// does, and agrees with the full scan's verdict wherever it reads the
/// offending line.
pub(crate) fn opus_reach_agrees(sdp: &str) {
    let (mut full, mut opus) = (Record::default(), Record::default());
    let full_result = scan(sdp, Reach::Everything, &mut full);
    let opus_result = scan(sdp, Reach::OpusSections, &mut opus);
    let read = lines_an_opus_edit_reads(sdp);
    let reads = |start: &usize| read.binary_search(start).is_ok();
    full.0.retain(|(start, _)| reads(start));
    let Err(error) = full_result else {
        assert_eq!(opus_result, Ok(()), "{sdp:?}");
        assert_eq!(opus, full, "{sdp:?}");
        return;
    };
    let SdpError::Malformed { line, reason } = error else {
        unreachable!("a scan only reports malformed lines");
    };
    let start = sdp.split_inclusive('\n').take(line - 1).map(str::len).sum();
    // The first line is always read, even in an empty input, and a missing
    // session line is found where the first section starts, read or not.
    if start == 0 || reads(&start) || matches!(reason, Malformed::MissingSessionLine(_)) {
        assert_eq!(opus_result, Err(error), "{sdp:?}");
    } else if let Err(SdpError::Malformed { line: other, .. }) = opus_result {
        // Every line before the offending one is fine; a later one may not be.
        assert!(other > line, "{sdp:?}");
    }
}

/// Starts of the lines an Opus edit must read, in ascending order, found the
/// slow, obvious way.
fn lines_an_opus_edit_reads(sdp: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let mut at = 0;
    for line in sdp.split_inclusive('\n') {
        lines.push((at, line));
        at += line.len();
    }
    let sections: Vec<usize> = (1..lines.len())
        .filter(|&i| lines[i].1.starts_with("m="))
        .collect();
    let mut read: Vec<usize> = lines[..sections.first().map_or(lines.len(), |&i| i)]
        .iter()
        .map(|&(at, _)| at)
        .collect();
    for (k, &first) in sections.iter().enumerate() {
        let end = sections.get(k + 1).map_or(lines.len(), |&i| i);
        let section = &lines[first..end];
        let text: String = section.iter().map(|&(_, line)| line).collect();
        let reads_all = text.to_ascii_lowercase().contains("opus");
        if reads_all {
            read.extend(section.iter().map(|&(at, _)| at));
        }
    }
    read
}

/// Writes down every visit with the line's start, so two scans can be
/// compared.
#[derive(Default, PartialEq, Debug)]
struct Record(Vec<(usize, String)>);

impl Record {
    fn note(&mut self, line: Line, what: impl std::fmt::Debug) -> Result<(), SdpError> {
        self.0.push((line.start, format!("{line:?} {what:?}")));
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
