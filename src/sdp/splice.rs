//! Builds the output of an edit: the input copied in large slices, with each
//! edited span replaced.

/// Replace `start..end` of the input with `text`; `start == end` inserts.
pub(crate) struct Edit {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// Copies `sdp` with every edit applied.
pub(crate) fn splice(sdp: &str, mut edits: Vec<Edit>) -> String {
    // Edits are found per media section, not always in input order.
    edits.sort_by_key(|e| (e.start, e.end));
    let mut out = String::with_capacity(sdp.len() + 64 * edits.len());
    let mut copied = 0;
    // Spans come from distinct lines and never overlap; stay total anyway.
    for edit in &edits {
        if edit.start < copied {
            continue;
        }
        out.push_str(&sdp[copied..edit.start]);
        out.push_str(&edit.text);
        copied = edit.end;
    }
    out.push_str(&sdp[copied..]);
    out
}
