//! The quick pass that lets Opus edits skip most of an SDP. A few vector
//! compares per 64 bytes find where media sections start and where `opus`
//! may be written; the full scan then reads only the session part and the
//! sections that mention `opus`. The video and data sections, which are
//! most of an offer, are copied without being read.

use std::ops::Range;

use super::bits::{BLOCK, Masks, Window};

/// Hands `each` every part of `sdp` in order, the session part first and
/// then each media section, with whether the part must be read: always for
/// the session part, and for a section when its text mentions `opus` in
/// any case. Stops at the first error `each` returns.
#[inline(always)]
pub(crate) fn sections<E>(
    masks: impl Masks,
    sdp: &str,
    mut each: impl FnMut(Range<usize>, bool) -> Result<(), E>,
) -> Result<(), E> {
    let bytes = sdp.as_bytes();
    let (mut start, mut read) = (0, true);
    let mut base = 0;
    while base < bytes.len() {
        let mut marks = match bytes.get(base..).and_then(<[u8]>::first_chunk) {
            Some(window) => masks.outline(window),
            None => edge_block(masks, &bytes[base..]),
        };
        while marks != 0 {
            let at = base + marks.trailing_zeros() as usize;
            marks &= marks - 1;
            if bytes[at] == b'\n' {
                if bytes.get(at + 2) == Some(&b'=') {
                    each(start..at + 1, read)?;
                    (start, read) = (at + 1, false);
                }
            } else if !read
                && bytes
                    .get(at + 2..at + 4)
                    .is_some_and(|us| us.eq_ignore_ascii_case(b"us"))
            {
                read = true;
            }
        }
        base += BLOCK;
    }
    each(start..bytes.len(), read)
}

/// The marks of a block too close to the end to have a whole window. The
/// zero padding never matches, so nothing needs masking. Never inlined:
/// when it was, LLVM merged its compares with the block loop's and rebuilt
/// every mask bit by bit (`vpinsrb`), making the pass four times slower.
#[inline(never)]
fn edge_block(masks: impl Masks, rest: &[u8]) -> u64 {
    let mut window: Window = [0; BLOCK + 1];
    window[..rest.len()].copy_from_slice(rest);
    masks.outline(&window)
}
