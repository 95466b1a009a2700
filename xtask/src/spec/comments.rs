//! Carries full-line comments over when our document has to be re-serialized as a whole.
//!
//! serde_yaml drops comments. Each block of full-line comments belongs to the node that follows
//! it; the block is put back before the node at the same location in the new text. End-of-line
//! comments are lost, and blocks whose node no longer exists are counted as dropped.

use std::collections::HashMap;

use super::doc::Loc;
use super::layout::Layout;

/// `rendered` with the comment blocks of `original` put back; also how many blocks were lost.
pub fn reattach(original: &str, rendered: &str) -> (String, usize) {
    let old = Layout::of(original);
    let mut blocks: HashMap<Loc, Vec<String>> = HashMap::new();
    let mut pending: Vec<String> = Vec::new();
    let mut tail = Vec::new();
    for (i, line) in original.lines().enumerate() {
        if old.trivia.get(i).copied().unwrap_or(false) {
            pending.push(line.trim().to_owned());
            continue;
        }
        if let Some(loc) = old.starts.get(&i)
            && pending.iter().any(|l| !l.is_empty())
        {
            blocks.insert(loc.clone(), std::mem::take(&mut pending));
        }
        pending.clear();
    }
    if pending.iter().any(|l| !l.is_empty()) {
        tail = pending;
    }

    let new = Layout::of(rendered);
    let mut out = String::new();
    for (j, line) in rendered.lines().enumerate() {
        if let Some(block) = new.starts.get(&j).and_then(|loc| blocks.remove(loc)) {
            let pad = " ".repeat(line.len() - line.trim_start().len());
            for comment in block {
                if !comment.is_empty() {
                    out.push_str(&pad);
                    out.push_str(&comment);
                }
                out.push('\n');
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    for comment in tail {
        out.push_str(&comment);
        out.push('\n');
    }
    (out, blocks.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_follow_their_nodes() {
        let original = "# header\nopenapi: 3.0.3\ncomponents:\n  schemas:\n\n    # enums\n    A:\n      description: >\n        # not a comment\n      type: string\n    B:\n      enum:\n        # before x\n        - x\n    # gone\n    C: {}\n";
        let rendered = "openapi: 3.0.3\ncomponents:\n  schemas:\n    A:\n      description: '# not a comment'\n      type: string\n    B:\n      enum:\n      - x\n";
        let (text, dropped) = reattach(original, rendered);
        assert!(text.starts_with("# header\nopenapi:"), "{text}");
        assert!(
            text.contains("  schemas:\n\n    # enums\n    A:\n"),
            "{text}"
        );
        assert!(
            text.contains("      enum:\n      # before x\n      - x\n"),
            "{text}"
        );
        assert_eq!(dropped, 1, "C is gone, so is its comment");
    }
}
