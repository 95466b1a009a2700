//! The quick pass that lets Opus edits skip most of an SDP. A few vector
//! compares per 64 bytes check that every line is shaped `<letter>=` (no
//! blank line, no second `v=`), find the `m=` lines and spot the media
//! sections whose text mentions `opus`. The full scan then reads only the
//! session part, those sections and the other `m=` lines: the codec lines of
//! a video or data section are never parsed, which is most of an offer.

use std::ops::Range;

use super::bits::{BLOCK, LineMasks, Masks, Window};

/// The byte ranges of `sdp` an Opus edit reads in full, in order: the
/// session part, each section that mentions `opus` (in any case), and the
/// `m=` line of every other section. `None` when a line is misshapen, which
/// the full scan then reports.
#[inline(always)]
pub(crate) fn opus_ranges(masks: impl Masks, sdp: &str) -> Option<Vec<Range<usize>>> {
    let bytes = sdp.as_bytes();
    let mut ranges = Ranges {
        masks,
        bytes,
        // Enough for a session part and a handful of sections.
        done: Vec::with_capacity(8),
        section: None,
    };
    let mut base = 0;
    while base < bytes.len() {
        // The block with the byte before it and the byte after it.
        let window = bytes.get(base.wrapping_sub(1)..);
        let block = match window.and_then(<[u8]>::first_chunk) {
            Some(window) => masks.outline(window),
            None => edge_block(masks, bytes, base),
        };
        if block.misshapen != 0 {
            return None;
        }
        let mut events = block.media_or_op;
        while events != 0 {
            let at = base + events.trailing_zeros() as usize;
            events &= events - 1;
            if bytes[at] == b'm' {
                ranges.media_at(at);
            } else if bytes
                .get(at + 2..at + 4)
                .is_some_and(|us| us.eq_ignore_ascii_case(b"us"))
                && let Some((_, opus)) = &mut ranges.section
            {
                *opus = true;
            }
        }
        base += BLOCK;
    }
    Some(ranges.finish())
}

/// The masks of the first block, which has no byte before it (the first
/// line is left to the full scan of the session part), or of a block that
/// runs past the end, whose bits past the end are cleared. It stays out of
/// the block loop: ANDing a runtime mask onto the movemask results there
/// made LLVM rewrite the whole loop byte by byte.
fn edge_block(masks: impl Masks, bytes: &[u8], base: usize) -> LineMasks {
    let mut window: Window = [0; BLOCK + 2];
    let first = usize::from(base == 0);
    let rest = &bytes[base + first - 1..bytes.len().min(base + BLOCK + 1)];
    window[first..][..rest.len()].copy_from_slice(rest);
    let block = masks.outline(&window);
    let inside = match bytes.len() - base {
        left @ ..BLOCK => (1 << left) - 1,
        _ => u64::MAX,
    };
    LineMasks {
        misshapen: block.misshapen & inside,
        media_or_op: block.media_or_op & inside,
    }
}

/// Builds the ranges as `m=` lines are found, merging neighbours so the
/// full scan makes as few jumps as it can.
struct Ranges<'a, M> {
    masks: M,
    bytes: &'a [u8],
    done: Vec<Range<usize>>,
    /// Start of the current section's `m=` line; whether it mentions Opus.
    section: Option<(usize, bool)>,
}

impl<M: Masks> Ranges<'_, M> {
    fn media_at(&mut self, at: usize) {
        match self.section {
            Some(section) => self.close(section, at),
            None => self.push(0..at),
        }
        self.section = Some((at, false));
    }

    fn finish(mut self) -> Vec<Range<usize>> {
        let len = self.bytes.len();
        match self.section {
            Some(section) => self.close(section, len),
            None => self.push(0..len),
        }
        self.done
    }

    /// Ends the section starting at `start` where the next one begins.
    fn close(&mut self, (start, opus): (usize, bool), next: usize) {
        let end = match opus {
            true => next,
            false => line_end(self.masks, self.bytes, start).min(next),
        };
        self.push(start..end);
    }

    fn push(&mut self, range: Range<usize>) {
        match self.done.last_mut() {
            Some(last) if last.end == range.start => last.end = range.end,
            _ => self.done.push(range),
        }
    }
}

/// Just past the first newline at or after `from`, or the end of `bytes`.
/// A video `m=` line runs past 100 bytes, so this goes by newline masks.
fn line_end(masks: impl Masks, bytes: &[u8], from: usize) -> usize {
    let mut base = from;
    while let Some(block) = bytes.get(base..).and_then(<[u8]>::first_chunk) {
        match masks.newlines(block) {
            0 => base += BLOCK,
            newlines => return base + newlines.trailing_zeros() as usize + 1,
        }
    }
    let tail = bytes.get(base..).unwrap_or_default();
    tail.iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |nl| base + nl + 1)
}
