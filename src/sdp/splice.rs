//! Builds the output of an edit: the input copied in large slices, with each
//! edited span replaced, in one allocation.

/// A span of the input to replace; `start == end` inserts.
pub(crate) trait Span {
    fn span(&self) -> (usize, usize);
}

/// Copies `sdp` with every edit's span replaced by what `write` emits.
/// `extra` is a capacity hint for the bytes the edits add.
pub(crate) fn splice<E: Span>(
    sdp: &str,
    edits: &mut [E],
    extra: usize,
    mut write: impl FnMut(&mut String, &E),
) -> String {
    // Edits are found per media section, not always in input order.
    edits.sort_by_key(|e| e.span());
    let mut out = String::with_capacity(sdp.len() + extra);
    let mut copied = 0;
    for edit in edits.iter() {
        let (start, end) = edit.span();
        // Spans come from distinct lines and never overlap; stay total anyway.
        if start < copied {
            continue;
        }
        out.push_str(&sdp[copied..start]);
        write(&mut out, edit);
        copied = end;
    }
    out.push_str(&sdp[copied..]);
    out
}
