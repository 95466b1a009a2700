//! Where each node of a block-style YAML document sits in its text.
//!
//! Enough of YAML's layout rules to find, for every mapping entry and sequence item, the lines
//! it spans; `--write` uses this to change only the lines of what changed and to keep comments.
//! Flow collections (`[a, b]`, `{a: 1}`) are single nodes: their insides are not located.

use std::collections::HashMap;

use super::doc::Loc;

/// One located node.
#[derive(Clone, Debug)]
pub struct Entry {
    /// First line (0-based).
    pub line: usize,
    /// Column of the key, or of the dash for a sequence item.
    pub col: usize,
    /// One past the last line, trailing blank and comment lines excluded.
    pub end: usize,
    /// Whether this is a sequence item.
    pub item: bool,
    /// Text after `key:` (or after `- `) on the first line.
    pub inline: String,
}

/// Every located node of a text, by location.
pub struct Layout {
    /// Nodes by location (keys and decimal item indices, like [`Loc`]).
    pub entries: HashMap<Loc, Entry>,
    /// The outermost node starting on each line that starts one.
    pub starts: HashMap<usize, Loc>,
    /// Lines that are comments or blank (outside scalars).
    pub trivia: Vec<bool>,
}

#[derive(Clone)]
struct Frame {
    col: usize,
    seg: String,
    item: bool,
}

impl Layout {
    /// Locates the nodes of `text`.
    pub fn of(text: &str) -> Self {
        let lines: Vec<&str> = text.lines().collect();
        let mut entries: HashMap<Loc, Entry> = HashMap::new();
        let mut starts = HashMap::new();
        let mut trivia = vec![false; lines.len()];
        let mut stack: Vec<Frame> = Vec::new();
        // Column of the node whose scalar value continues on deeper lines.
        let mut scalar_owner: Option<usize> = None;
        for (i, line) in lines.iter().enumerate() {
            let content = line.trim_start();
            let col = line.len() - content.len();
            if scalar_owner.is_some_and(|owner| col > owner)
                || (content.is_empty() && scalar_owner.is_some())
            {
                continue;
            }
            if content.is_empty() || content.starts_with('#') {
                trivia[i] = true;
                continue;
            }
            scalar_owner = None;
            let mut record = |stack: &[Frame], col: usize, item: bool, inline: &str| {
                let loc: Loc = stack.iter().map(|f| f.seg.clone()).collect();
                starts.entry(i).or_insert_with(|| loc.clone());
                let entry = Entry {
                    line: i,
                    col,
                    end: i + 1,
                    item,
                    inline: inline.to_owned(),
                };
                entries.insert(loc, entry);
            };
            let (mut col, mut content) = (col, content);
            while let Some(rest) = content
                .strip_prefix("- ")
                .or_else(|| (content == "-").then_some(""))
            {
                while stack.last().is_some_and(|f| f.col > col) {
                    stack.pop();
                }
                let index = match stack.last() {
                    Some(f) if f.item && f.col == col => {
                        let next = f.seg.parse::<usize>().map_or(0, |n| n + 1);
                        stack.pop();
                        next
                    }
                    _ => 0,
                };
                stack.push(Frame {
                    col,
                    seg: index.to_string(),
                    item: true,
                });
                record(&stack, col, true, rest);
                let trimmed = rest.trim_start();
                col += 2 + (rest.len() - trimmed.len());
                content = trimmed;
            }
            if content.is_empty() {
                continue;
            }
            match split_key(content) {
                Some((key, value)) => {
                    while stack.last().is_some_and(|f| f.col >= col) {
                        stack.pop();
                    }
                    stack.push(Frame {
                        col,
                        seg: key,
                        item: false,
                    });
                    record(&stack, col, false, value);
                    if !value.is_empty() && !value.starts_with('#') {
                        scalar_owner = Some(col);
                    }
                }
                // A scalar sequence item; its continuation lines are deeper than the dash.
                None => scalar_owner = stack.last().map(|f| f.col),
            }
        }
        for entry in entries.values_mut() {
            entry.end = span_end(&lines, &trivia, entry);
        }
        Self {
            entries,
            starts,
            trivia,
        }
    }
}

fn span_end(lines: &[&str], trivia: &[bool], entry: &Entry) -> usize {
    // A key with no inline value may own a sequence written at its own column.
    let owns_compact_seq = !entry.item && entry.inline.is_empty();
    let mut end = lines.len();
    for (j, line) in lines.iter().enumerate().skip(entry.line + 1) {
        if trivia[j] {
            continue;
        }
        let content = line.trim_start();
        let col = line.len() - content.len();
        if content.is_empty() {
            continue;
        }
        let continues =
            col > entry.col || (col == entry.col && owns_compact_seq && content.starts_with('-'));
        if !continues {
            end = j;
            break;
        }
    }
    while end > entry.line + 1 && (trivia[end - 1] || lines[end - 1].trim().is_empty()) {
        end -= 1;
    }
    end
}

/// Splits `key: value` (key possibly quoted) into the key text and the rest.
pub fn split_key(text: &str) -> Option<(String, &str)> {
    let (key, rest) = match text.chars().next()? {
        quote @ ('"' | '\'') => {
            let end = text[1..].find(quote)? + 1;
            (text[1..end].to_owned(), &text[end + 1..])
        }
        '{' | '[' | '|' | '>' | '&' | '*' | '!' => return None,
        _ => {
            let colon = text
                .find(": ")
                .or_else(|| text.ends_with(':').then(|| text.len() - 1))?;
            (text[..colon].to_owned(), &text[colon..])
        }
    };
    let value = rest.strip_prefix(':')?.trim();
    Some((key, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(parts: &[&str]) -> Loc {
        parts.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn locates_entries_in_both_sequence_styles() {
        let text = "a:\n  b: >\n    text: not a key\n  c:\n  - x: 1\n    y: 2\n  - z\n\n  # about d\n  d:\n    - k: v\n    - [1, 2]\ne: [p, q]\n";
        let layout = Layout::of(text);
        let at = |parts: &[&str]| layout.entries.get(&loc(parts)).map(|e| (e.line, e.end));
        assert_eq!(at(&["a"]), Some((0, 12)));
        assert_eq!(at(&["a", "b"]), Some((1, 3)));
        assert_eq!(at(&["a", "b", "text"]), None);
        assert_eq!(at(&["a", "c"]), Some((3, 7)));
        assert_eq!(at(&["a", "c", "0"]), Some((4, 6)));
        assert_eq!(at(&["a", "c", "0", "y"]), Some((5, 6)));
        assert_eq!(at(&["a", "c", "1"]), Some((6, 7)));
        assert_eq!(at(&["a", "d"]), Some((9, 12)));
        assert_eq!(at(&["a", "d", "1"]), Some((11, 12)));
        assert_eq!(at(&["e"]).map(|(l, _)| l), Some(12));
        assert_eq!(layout.entries[&loc(&["e"])].inline, "[p, q]");
        assert_eq!(layout.starts[&4], loc(&["a", "c", "0"]));
        assert!(layout.trivia[8]);
    }
}
