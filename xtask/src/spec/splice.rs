//! Writes a changed document by editing only the lines of what changed.
//!
//! Re-serializing the whole document would reflow every description and drop every comment.
//! Instead the old and new trees are compared, and each changed entry is rendered on its own
//! and put in place of (or next to) its old lines. The result is checked by parsing it back.

use serde_yaml::{Mapping, Value};

use super::doc::{self, Loc};
use super::layout::{Entry, Layout};

enum Edit {
    /// Put the rendering of the new value of this entry in place of its lines.
    Replace(Loc),
    /// Delete the lines of this entry.
    Remove(Loc),
    /// Render `key` of the mapping at `map` (or item `key` of the sequence at `map`) right after
    /// the lines of its sibling `after`, or before those of `before`.
    Insert {
        map: Loc,
        key: String,
        anchor: Anchor,
    },
}

enum Anchor {
    After(Loc),
    Before(Loc),
}

/// `original` (the text of `old`) edited to hold `new`; `None` when the changes cannot be
/// placed line by line (the caller then re-serializes).
pub fn edit(original: &str, old: &Value, new: &Value) -> Option<String> {
    let layout = Layout::of(original);
    let mut edits = Vec::new();
    diff(&layout, old, new, &mut Vec::new(), &mut edits)?;
    let mut lines: Vec<String> = original.lines().map(str::to_owned).collect();
    // Bottom-up, so earlier line numbers stay valid; at one line, replace before inserting,
    // and insert later edits first so that edits at one spot keep their order.
    let mut placed: Vec<(usize, usize, usize, usize, Vec<String>)> = Vec::new();
    for (index, edit) in edits.iter().enumerate() {
        let (start, end, rank, text) = match edit {
            Edit::Replace(loc) => {
                let entry = layout.entries.get(loc)?;
                // The first key of a compact sequence item shares its line with the dash.
                let prefix = original.lines().nth(entry.line)?.get(..entry.col)?;
                let text = render(loc, doc::get(new, loc)?, entry, prefix)?;
                (entry.line, entry.end, 0, text)
            }
            Edit::Remove(loc) => {
                let entry = layout.entries.get(loc)?;
                if layout.starts.get(&entry.line) != Some(loc) {
                    return None;
                }
                (entry.line, entry.end, 0, Vec::new())
            }
            Edit::Insert { map, key, anchor } => {
                let loc = doc::join(map, &[key]);
                let (sibling, at) = match anchor {
                    Anchor::After(s) => (layout.entries.get(s)?, layout.entries.get(s)?.end),
                    Anchor::Before(s) => (layout.entries.get(s)?, layout.entries.get(s)?.line),
                };
                let pad = " ".repeat(sibling.col);
                (
                    at,
                    at,
                    1,
                    render(&loc, doc::get(new, &loc)?, sibling, &pad)?,
                )
            }
        };
        placed.push((start, end, rank, index, text));
    }
    placed.sort_by(|a, b| b.0.cmp(&a.0).then(a.2.cmp(&b.2)).then(b.3.cmp(&a.3)));
    for (start, end, _, _, text) in placed {
        lines.splice(start..end, text);
    }
    let mut text = lines.join("\n");
    text.push('\n');
    let reparsed: Value = serde_yaml::from_str(&text).ok()?;
    (&reparsed == new).then_some(text)
}

fn diff(
    layout: &Layout,
    old: &Value,
    new: &Value,
    loc: &mut Loc,
    edits: &mut Vec<Edit>,
) -> Option<()> {
    if old == new {
        return Some(());
    }
    let located = |l: &Loc| layout.entries.contains_key(l);
    let fine = match (old, new) {
        (Value::Mapping(a), Value::Mapping(b)) if !a.is_empty() && !b.is_empty() => {
            mapping_edits(layout, a, b, loc, edits)
        }
        (Value::Sequence(a), Value::Sequence(b)) if !a.is_empty() && !b.is_empty() => {
            sequence_edits(layout, a, b, loc, edits)
        }
        _ => None,
    };
    if fine.is_some() {
        return Some(());
    }
    // The root itself cannot be replaced line by line.
    (!loc.is_empty() && located(loc)).then(|| edits.push(Edit::Replace(loc.clone())))
}

fn mapping_edits(
    layout: &Layout,
    a: &Mapping,
    b: &Mapping,
    loc: &mut Loc,
    edits: &mut Vec<Edit>,
) -> Option<()> {
    let keys = |m: &Mapping| m.keys().map(doc::key_str).collect::<Option<Vec<String>>>();
    let (old_keys, new_keys) = (keys(a)?, keys(b)?);
    let kept: Vec<&String> = new_keys.iter().filter(|k| old_keys.contains(k)).collect();
    let kept_in_old: Vec<&String> = old_keys.iter().filter(|k| new_keys.contains(k)).collect();
    if kept != kept_in_old || kept.is_empty() {
        return None;
    }
    let child = |k: &str| doc::join(loc, &[k]);
    if !old_keys
        .iter()
        .all(|k| layout.entries.contains_key(&child(k)))
    {
        return None;
    }
    let mut mine = Vec::new();
    for k in old_keys.iter().filter(|k| !new_keys.contains(k)) {
        mine.push(Edit::Remove(child(k)));
    }
    let mut previous: Option<&String> = None;
    for (i, k) in new_keys.iter().enumerate() {
        if old_keys.contains(k) {
            previous = Some(k);
            continue;
        }
        let anchor = match previous {
            Some(p) => Anchor::After(child(p)),
            // New keys before the first kept key go in front of it.
            None => Anchor::Before(child(new_keys[i..].iter().find(|k| old_keys.contains(k))?)),
        };
        mine.push(Edit::Insert {
            map: loc.clone(),
            key: k.clone(),
            anchor,
        });
    }
    for k in &kept {
        loc.push((*k).clone());
        let result = diff(layout, entry(a, k)?, entry(b, k)?, loc, &mut mine);
        loc.pop();
        result?;
    }
    edits.extend(mine);
    Some(())
}

fn sequence_edits(
    layout: &Layout,
    a: &[Value],
    b: &[Value],
    loc: &mut Loc,
    edits: &mut Vec<Edit>,
) -> Option<()> {
    let item = |i: usize| doc::join(loc, &[&i.to_string()]);
    if !(0..a.len()).all(|i| layout.entries.contains_key(&item(i))) {
        return None;
    }
    let mut mine = Vec::new();
    if b.len() >= a.len() && b[..a.len()] == *a {
        for i in a.len()..b.len() {
            let anchor = Anchor::After(item(a.len() - 1));
            mine.push(Edit::Insert {
                map: loc.clone(),
                key: i.to_string(),
                anchor,
            });
        }
    } else if b.len() < a.len() && is_subsequence(b, a) {
        let mut j = 0;
        for (i, value) in a.iter().enumerate() {
            if j < b.len() && b[j] == *value {
                j += 1;
            } else {
                mine.push(Edit::Remove(item(i)));
            }
        }
    } else if a.len() == b.len() {
        for i in 0..a.len() {
            loc.push(i.to_string());
            let result = diff(layout, &a[i], &b[i], loc, &mut mine);
            loc.pop();
            result?;
        }
    } else {
        return None;
    }
    edits.extend(mine);
    Some(())
}

fn is_subsequence(short: &[Value], long: &[Value]) -> bool {
    let mut rest = long.iter();
    short.iter().all(|v| rest.any(|w| w == v))
}

fn entry<'a>(map: &'a Mapping, key: &str) -> Option<&'a Value> {
    doc::entry(map, key)
}

/// Renders the node at `loc` with value `value`, laid out like `like` (its old self or a
/// sibling): same column, same kind (entry or item), flow style kept for flow scalar lists.
/// `first` is what precedes the node on its first line.
fn render(loc: &[String], value: &Value, like: &Entry, first: &str) -> Option<Vec<String>> {
    let key = loc.last()?;
    let flow = like.inline.starts_with('[')
        && value
            .as_sequence()
            .is_some_and(|items| items.iter().all(|v| !v.is_mapping() && !v.is_sequence()));
    let text = if flow {
        let items: Vec<String> = value
            .as_sequence()?
            .iter()
            .map(|v| serde_yaml::to_string(v).map(|s| s.trim_end().to_owned()))
            .collect::<Result<_, _>>()
            .ok()?;
        format!(
            "{}: [{}]\n",
            serde_yaml::to_string(&Value::String(key.clone()))
                .ok()?
                .trim_end(),
            items.join(", ")
        )
    } else if like.item {
        serde_yaml::to_string(&Value::Sequence(vec![value.clone()])).ok()?
    } else {
        let mut map = Mapping::new();
        map.insert(Value::String(key.clone()), value.clone());
        serde_yaml::to_string(&Value::Mapping(map)).ok()?
    };
    let text = house_style(&text, like.item);
    let pad = " ".repeat(like.col);
    let lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| match (i, l.is_empty()) {
            (0, _) => format!("{first}{l}"),
            (_, true) => String::new(),
            _ => format!("{pad}{l}"),
        });
    Some(lines.collect())
}

/// serde_yaml's output in the style of our document: sequence items indented below their key,
/// and double quotes where serde_yaml picks single ones. `item` says the text is itself one
/// sequence item, whose dash stays where it is.
fn house_style(text: &str, item: bool) -> String {
    // Dash columns of the (compact) sequences enclosing the current line.
    let mut sequences: Vec<usize> = Vec::new();
    // Column and shift of a key whose block scalar continues on deeper lines.
    let mut scalar: Option<(usize, usize)> = None;
    let mut out = String::new();
    for line in text.lines() {
        let content = line.trim_start();
        let col = line.len() - content.len();
        if let Some((_, shift)) = scalar.filter(|(owner, _)| col > *owner || content.is_empty()) {
            out.push_str(&" ".repeat(if content.is_empty() { 0 } else { shift }));
            out.push_str(line);
            out.push('\n');
            continue;
        }
        scalar = None;
        let dash = content.starts_with("- ") || content == "-";
        while sequences
            .last()
            .is_some_and(|&d| !(col > d || (col == d && dash)))
        {
            sequences.pop();
        }
        if dash && sequences.last() != Some(&col) {
            sequences.push(col);
        }
        let own = usize::from(item && sequences.first() == Some(&0));
        let shift = 2 * (sequences.len() - own);
        if content.ends_with(": |")
            || content.ends_with(": |-")
            || content.ends_with(": >")
            || content.ends_with(": >-")
        {
            scalar = Some((col, shift));
        }
        out.push_str(&" ".repeat(shift + col));
        out.push_str(&double_quoted(content));
        out.push('\n');
    }
    out
}

/// `'text'` as `"text"` when it is the whole key or value and needs no escaping either way.
fn double_quoted(content: &str) -> String {
    let plain = |s: &str| !s.contains(['\'', '"', '\\']);
    let swap = |s: &str| -> Option<String> {
        let inner = s.strip_prefix('\'')?.strip_suffix('\'')?;
        plain(inner).then(|| format!("\"{inner}\""))
    };
    let (dash, rest) = match content.strip_prefix("- ") {
        Some(rest) => ("- ", rest),
        None => ("", content),
    };
    if let Some(quoted) = swap(rest) {
        return format!("{dash}{quoted}");
    }
    if let Some(key) = rest.strip_suffix(':').and_then(swap) {
        return format!("{dash}{key}:");
    }
    if let Some((key, value)) = rest.split_once(": ") {
        let key = swap(key).unwrap_or_else(|| key.to_owned());
        let value = swap(value).unwrap_or_else(|| value.to_owned());
        return format!("{dash}{key}: {value}");
    }
    content.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_only_changed_lines() {
        let original = "\
# keep me
a:
  description: >
    folded
    text
  enum: [x, y]
  list:
    - one
    - two
  props:
    p1: {type: string}   # trailing
    p2:
      type: number
b: 1
";
        let old: Value = serde_yaml::from_str(original).unwrap();
        let mut new = old.clone();
        let a = new.get_mut("a").unwrap();
        a["enum"].as_sequence_mut().unwrap().push("z".into());
        a["list"].as_sequence_mut().unwrap().push("three".into());
        let props = a["props"].as_mapping_mut().unwrap();
        props.remove("p1");
        props.insert(
            "p3".into(),
            serde_yaml::from_str("{type: boolean}").unwrap(),
        );
        let text = edit(original, &old, &new).expect("placeable");
        assert_eq!(
            text,
            "\
# keep me
a:
  description: >
    folded
    text
  enum: [x, y, z]
  list:
    - one
    - two
    - three
  props:
    p2:
      type: number
    p3:
      type: boolean
b: 1
"
        );
    }

    #[test]
    fn renders_in_house_style() {
        let text = "a:\n- $ref: '#/x'\n- in: query\n  tags:\n  - t\n  note: |\n    - not an item\n'404':\n  b: 'it''s'\n";
        assert_eq!(
            house_style(text, false),
            "a:\n  - $ref: \"#/x\"\n  - in: query\n    tags:\n      - t\n    note: |\n      - not an item\n\"404\":\n  b: 'it''s'\n"
        );
    }
}
