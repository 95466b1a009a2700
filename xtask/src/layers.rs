//! `cargo xtask layers`: the layer order of `src/` and the check that keeps to it.
//!
//! The top-level modules of `src/` (crate `cloudflare_calls`) are in layers, bottom to top:
//!
//! | layer   | top-level modules                                         |
//! |---------|-----------------------------------------------------------|
//! | leaves  | `error`, `secret`, `adapter_url`, `operation`, `wire`, `sdp` |
//! | http    | `raw` (generated bindings), `http` (transport, retries)   |
//! | session | `session`                                                 |
//! | client  | `client` (Client, config, TURN, apps, adapters, account)  |
//! | peer    | `peer` (feature `peer`)                                   |
//! | room    | `room` (feature `room`)                                   |
//! | whip    | `whip` (feature `whip`)                                   |
//! | top     | the crate root `lib.rs`, and `__fuzz` (src/fuzzing.rs)    |
//!
//! The rule: a file may import only from files of its own layer or of layers below, and no
//! files import each other in a loop (directly or through others), whatever their layers. A
//! new top-level module needs a row in [`SRC_LAYERS`]; until it has one the check fails. The
//! emulator (`emulator/src/`, crate `calls_emulator`) has no layers, but no loops either.
//!
//! An import is a path starting with `crate::`, `super::` or `self::`, in a `use` item or in
//! code (comments and doc comments do not count), and in a `use` item a path starting with a
//! child module the file declares (`use tracks::Track;` next to `mod tracks;`, or
//! `tracks::add(..)` in code). A path counts
//! as an import of the file that defines what it names: the longest prefix of the path that
//! is a module's file, and when the next name is one that file imports (`pub use
//! tracks::Track;` in a `mod.rs`, say), the file that import leads to, a few hops at most.
//! `mod x;` is not an import, nor is a file's import of itself, nor anything an inline
//! `mod tests` imports (unit tests may use the whole crate).
//! `src/main.rs` and `src/bin/` are crates of their own when there is a `lib.rs`: skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// A layer: its name and its top-level modules.
type Layer = (&'static str, &'static [&'static str]);

/// The layers of `src/`, bottom to top. The crate root is always in the last one.
pub const SRC_LAYERS: &[Layer] = &[
    (
        "leaves",
        &[
            "error",
            "secret",
            "adapter_url",
            "bearer",
            "operation",
            "wire",
            "metrics",
            "sdp",
        ],
    ),
    ("http", &["raw", "http"]),
    ("session", &["session"]),
    ("client", &["client"]),
    ("peer", &["peer"]),
    ("room", &["room"]),
    ("whip", &["whip", "api"]),
    ("top", &["__fuzz"]),
];

/// The source folders checked, with their layers (`None`: loops only).
const CRATES: &[(&str, Option<&[Layer]>)] = &[("src", Some(SRC_LAYERS)), ("emulator/src", None)];

/// Checks every crate of [`CRATES`], prints what it finds; returns the number of violations.
pub fn run(root: &Path) -> Result<usize, String> {
    let (mut total, mut summaries) = (0, Vec::new());
    for (dir, layers) in CRATES {
        let mut sources = BTreeMap::new();
        read_tree(&root.join(dir), "", &mut sources).map_err(|e| format!("reading {dir}: {e}"))?;
        let checked = check(&format!("{dir}/"), &sources, *layers);
        for violation in &checked.violations {
            println!("{violation}");
        }
        total += checked.violations.len();
        let layers = layers.map_or("no layers".to_owned(), |l| format!("{} layers", l.len()));
        summaries.push(format!(
            "{dir}/: {} files, {} edges, {layers}, {} violations",
            checked.files,
            checked.edges.len(),
            checked.violations.len()
        ));
    }
    let verdict = if total == 0 { "ok" } else { "FAILED" };
    println!("layers: {verdict}: {}", summaries.join("; "));
    Ok(total)
}

fn read_tree(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let name = format!(
            "{prefix}{}",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        if path.is_dir() {
            read_tree(&path, &format!("{name}/"), out)?;
        } else if name.ends_with(".rs") {
            out.insert(name, fs::read_to_string(&path)?);
        }
    }
    Ok(())
}

/// What [`check`] found: file count, the import edges between files (by path), violations.
pub struct Checked {
    pub files: usize,
    pub edges: BTreeSet<(String, String)>,
    pub violations: Vec<String>,
}

/// Checks one crate: `sources` maps paths relative to its source folder (`label`) to text.
pub fn check(label: &str, sources: &BTreeMap<String, String>, layers: Option<&[Layer]>) -> Checked {
    let has_lib = sources.contains_key("lib.rs");
    let files: Vec<(&str, Scan)> = (sources.iter())
        .filter(|(k, _)| !(has_lib && (*k == "main.rs" || k.starts_with("bin/"))))
        .map(|(k, text)| (k.as_str(), scan(text)))
        .collect();
    let mut module: Vec<Vec<String>> = files.iter().map(|(k, _)| default_module(k)).collect();
    for f in 0..files.len() {
        let (key, scanned) = &files[f];
        for (name, path) in &scanned.mods {
            let dir = key.rsplit_once('/').map_or("", |(d, _)| d);
            let target = path.as_ref().map(|p| match dir {
                "" => p.clone(),
                _ => format!("{dir}/{p}"),
            });
            if let Some(t) = files
                .iter()
                .position(|(k, _)| Some(*k) == target.as_deref())
            {
                module[t] = [module[f].clone(), vec![name.clone()]].concat();
            }
        }
    }
    let index: BTreeMap<&[String], usize> = module
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_slice(), i))
        .collect();
    let absolute = |f: usize, r: &Ref| absolute(&module[f], &files[f].1, r);
    // The names each file's `use` items bind, by their path from the file's module (through
    // its inline modules), and the paths they lead to (`None`: outside the crate).
    let names: Vec<BTreeMap<Vec<String>, Option<Vec<String>>>> = (0..files.len())
        .map(|f| {
            let uses = files[f].1.refs.iter().filter(|r| r.module_level);
            let named = uses.filter_map(|r| Some((r, r.name.clone()?)));
            named
                .map(|(r, name)| ([r.inline.clone(), vec![name]].concat(), absolute(f, r)))
                .collect()
        })
        .collect();
    // The file defining what `path` names; `None` when that is outside the crate.
    let resolve = |mut path: Vec<String>| {
        for hop in 0.. {
            let k = (0..=path.len())
                .rev()
                .find(|k| index.contains_key(&path[..*k]))?;
            let file = index[&path[..k]];
            let j = (k + 1..=path.len())
                .rev()
                .find(|j| names[file].contains_key(&path[k..*j]));
            match j.map(|j| (j, &names[file][&path[k..j]])) {
                Some((j, Some(target))) if hop < 4 && *target != path[..j] => {
                    path = [target.clone(), path[j..].to_vec()].concat();
                }
                Some((_, None)) => return None,
                _ => return Some(file),
            }
        }
        None
    };
    let layer = |f: usize| match (&module[f].first(), layers) {
        (_, None) => None,
        (None, Some(l)) => Some(l.len() - 1),
        (Some(top), Some(l)) => l.iter().position(|(_, mods)| mods.contains(&top.as_str())),
    };
    let mut violations = Vec::new();
    if layers.is_some() {
        for f in (0..files.len()).filter(|f| layer(*f).is_none()) {
            violations.push(format!(
                "{label}{}: module crate::{} has no layer; assign it one in SRC_LAYERS of \
                 xtask/src/layers.rs",
                files[f].0, module[f][0]
            ));
        }
    }
    // (from, to) -> (path, line) of the first import; upward imports by (from, path).
    let mut edges = BTreeMap::new();
    let mut upward = BTreeMap::new();
    for (f, (_, scanned)) in files.iter().enumerate() {
        for r in &scanned.refs {
            let Some(path) = absolute(f, r) else { continue };
            let shown = ["crate"].into_iter().chain(path.iter().map(String::as_str));
            let shown = shown.collect::<Vec<_>>().join("::");
            let Some(t) = resolve(path).filter(|t| *t != f) else {
                continue;
            };
            edges.entry((f, t)).or_insert((shown.clone(), r.line));
            if let (Some(from), Some(to), Some(l)) = (layer(f), layer(t), layers)
                && to > from
            {
                let why = format!("(layer {}) from layer {}", l[to].0, l[from].0);
                upward.entry((f, shown)).or_insert((why, r.line));
            }
        }
    }
    for ((f, shown), (why, line)) in upward {
        violations.push(format!(
            "{label}{} imports {shown} {why} (line {line})",
            files[f].0
        ));
    }
    let successors = |f: usize| {
        edges
            .range((f, 0)..(f + 1, 0))
            .map(|((_, t), _)| *t)
            .collect()
    };
    for component in components(files.len(), successors) {
        let list: Vec<String> = component
            .iter()
            .map(|f| format!("{label}{}", files[*f].0))
            .collect();
        let way = shortest_loop(&component, successors);
        let steps = way.windows(2).map(|w| {
            let (shown, line) = &edges[&(w[0], w[1])];
            format!(" -> {label}{} ({shown}, line {line})", files[w[1]].0)
        });
        violations.push(format!(
            "loop between {} files: {}\n  e.g. {}{}",
            list.len(),
            list.join(", "),
            list[0],
            steps.collect::<String>()
        ));
    }
    let name = |f: usize| files[f].0.to_owned();
    Checked {
        files: files.len(),
        edges: edges.keys().map(|(f, t)| (name(*f), name(*t))).collect(),
        violations,
    }
}

/// The files on loops: groups of files each reaching every other (each sorted), by brute
/// force (a reachability walk from every file), which is instant for a few hundred files.
fn components(n: usize, successors: impl Fn(usize) -> Vec<usize>) -> Vec<Vec<usize>> {
    let reach: Vec<Vec<bool>> = (0..n)
        .map(|start| {
            let (mut seen, mut todo) = (vec![false; n], vec![start]);
            while let Some(f) = todo.pop() {
                for t in successors(f) {
                    if !std::mem::replace(&mut seen[t], true) {
                        todo.push(t);
                    }
                }
            }
            seen
        })
        .collect();
    let mut done = vec![false; n];
    let mut out = Vec::new();
    for f in (0..n).filter(|f| reach[*f][*f]) {
        if !done[f] {
            let component: Vec<usize> = (0..n).filter(|t| reach[f][*t] && reach[*t][f]).collect();
            component.iter().for_each(|t| done[*t] = true);
            out.push(component);
        }
    }
    out
}

/// The shortest way from the first file of `component` back to it, both ends included.
fn shortest_loop(component: &[usize], successors: impl Fn(usize) -> Vec<usize>) -> Vec<usize> {
    let start = component[0];
    let mut parent = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(f) = queue.pop_front().filter(|_| !parent.contains_key(&start)) {
        for t in successors(f).into_iter().filter(|t| component.contains(t)) {
            parent.entry(t).or_insert_with(|| {
                queue.push_back(t);
                f
            });
        }
    }
    let mut way = vec![start];
    while let Some(&from) = parent.get(way.last().unwrap_or(&start)) {
        way.push(from);
        if from == start {
            break;
        }
    }
    way.reverse();
    way
}

/// `lib.rs` -> crate root, `a.rs` and `a/mod.rs` -> `a`, `a/b.rs` -> `a::b`.
fn default_module(key: &str) -> Vec<String> {
    let key = key.strip_suffix(".rs").unwrap_or(key);
    let mut path: Vec<String> = key.split('/').map(str::to_owned).collect();
    if matches!(
        path.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        path.pop();
    }
    path
}

/// A path as the crate root sees it (without `crate`), or `None` when it leaves the crate.
fn absolute(module: &[String], scanned: &Scan, r: &Ref) -> Option<Vec<String>> {
    let here = [module, &r.inline].concat();
    let rest = |n: usize| r.path[n..].to_vec();
    match r.path.first()?.as_str() {
        "crate" => Some(rest(1)),
        "self" => Some([here, rest(1)].concat()),
        "super" => {
            let supers = r.path.iter().take_while(|s| *s == "super").count();
            let parent = here.get(..here.len().checked_sub(supers)?)?;
            Some([parent.to_vec(), rest(supers)].concat())
        }
        first
            if r.inline.is_empty()
                && (scanned.mods.iter().any(|(m, _)| m == first)
                    || r.in_use && scanned.local.contains(first)) =>
        {
            Some([here, rest(0)].concat())
        }
        _ => None,
    }
}

/// A path found in a file: where (line, inline modules around it) and what.
#[derive(Debug)]
struct Ref {
    line: usize,
    inline: Vec<String>,
    path: Vec<String>,
    in_use: bool,
    /// The name a `use` item binds (`None` for globs and code paths).
    name: Option<String>,
    /// A `use` item of the file's module or of one of its inline modules (not of a block).
    module_level: bool,
}

#[derive(Default)]
struct Scan {
    /// `mod x;` declarations, with their `#[path]`.
    mods: Vec<(String, Option<String>)>,
    /// Names a bare `use` path can start with: declared modules and items of the file.
    local: BTreeSet<String>,
    refs: Vec<Ref>,
}

#[derive(Debug, PartialEq)]
enum Tok {
    Ident(String),
    Colons,
    Str(String),
    Punct(u8),
}

fn scan(text: &str) -> Scan {
    let toks = lex(text);
    let mut out = Scan::default();
    let (mut depth, mut inline, mut path_attr) = (0usize, Vec::<(String, usize)>::new(), None);
    let ident = |i: usize| match toks.get(i) {
        Some((Tok::Ident(s), _)) => Some(s.as_str()),
        _ => None,
    };
    let is = |i: usize, t: Tok| toks.get(i).is_some_and(|(x, _)| *x == t);
    let mut i = 0;
    while i < toks.len() {
        let (tok, line) = &toks[i];
        match tok {
            Tok::Punct(b'{') => depth += 1,
            Tok::Punct(b'}') => {
                depth = depth.saturating_sub(1);
                inline.retain(|(_, d)| *d <= depth);
            }
            Tok::Punct(b';') => path_attr = None,
            Tok::Ident(k)
                if k == "path"
                    && is(i + 1, Tok::Punct(b'='))
                    && is(i.wrapping_sub(1), Tok::Punct(b'[')) =>
            {
                if let Some((Tok::Str(s), _)) = toks.get(i + 2) {
                    path_attr = Some(s.clone());
                }
            }
            Tok::Ident(k) if k == "mod" && ident(i + 1).is_some() => {
                let name = ident(i + 1).unwrap_or_default().to_owned();
                if is(i + 2, Tok::Punct(b'{')) {
                    inline.push((name.clone(), depth + 1));
                } else if inline.is_empty() {
                    out.mods.push((name.clone(), path_attr.take()));
                }
                out.local.insert(name);
                i += 2;
                continue;
            }
            Tok::Ident(k) if ITEMS.contains(&k.as_str()) && depth == 0 => {
                let at = i + 1 + usize::from(is(i + 1, Tok::Punct(b'!')));
                out.local.extend(ident(at).map(str::to_owned));
            }
            Tok::Ident(k) if k == "use" && !is(i + 1, Tok::Punct(b'<')) => {
                let mut items = Vec::new();
                i = use_tree(&toks, i + 1, Vec::new(), &mut items);
                for (path, name, line) in items.into_iter().filter(|_| !in_tests(&inline)) {
                    let module_level = depth == inline.last().map_or(0, |(_, d)| *d);
                    let inline = inline_names(&inline);
                    out.refs.push(Ref {
                        line,
                        inline,
                        path,
                        in_use: true,
                        name,
                        module_level,
                    });
                }
                continue;
            }
            // Any path in code: `crate::`, `super::`, `self::`, or a declared child module
            // (`endpoint::publish` next to `mod endpoint;`); [`absolute`] drops the others.
            Tok::Ident(_) if is(i + 1, Tok::Colons) && !is(i.wrapping_sub(1), Tok::Colons) => {
                let mut path = vec![ident(i).unwrap_or_default().to_owned()];
                while let (true, Some(s)) = (is(i + 1, Tok::Colons), ident(i + 2)) {
                    path.push(s.to_owned());
                    i += 2;
                }
                let (line, inline) = (*line, inline_names(&inline));
                if in_tests_names(&inline) {
                    i += 1;
                    continue;
                }
                out.refs.push(Ref {
                    line,
                    inline,
                    path,
                    in_use: false,
                    name: None,
                    module_level: false,
                });
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Unit tests may use anything of their crate: their imports are not the file's.
fn in_tests(inline: &[(String, usize)]) -> bool {
    inline.iter().any(|(name, _)| name == "tests")
}

fn in_tests_names(inline: &[String]) -> bool {
    inline.iter().any(|name| name == "tests")
}

fn inline_names(inline: &[(String, usize)]) -> Vec<String> {
    inline.iter().map(|(name, _)| name.clone()).collect()
}

/// Keywords whose next identifier names an item of the file.
const ITEMS: [&str; 9] = [
    "fn",
    "struct",
    "enum",
    "union",
    "trait",
    "type",
    "const",
    "static",
    "macro_rules",
];

/// A `use` item: its path, the name it binds (`None` for a glob) and its line.
type UseItem = (Vec<String>, Option<String>, usize);

/// Parses a `use` tree from `i` to its end into `out`; returns where it ended.
fn use_tree(
    toks: &[(Tok, usize)],
    mut i: usize,
    mut path: Vec<String>,
    out: &mut Vec<UseItem>,
) -> usize {
    let (mut alias, mut line) = (None, toks.get(i).map_or(0, |(_, line)| *line));
    while let Some((tok, at)) = toks.get(i) {
        match tok {
            Tok::Colons => {}
            Tok::Ident(s) if s == "as" => {
                if let Some((Tok::Ident(a), _)) = toks.get(i + 1) {
                    alias = Some(a.clone());
                }
                i += 2;
                break;
            }
            Tok::Ident(s) => (path, line) = ([path, vec![s.clone()]].concat(), *at),
            Tok::Punct(b'*') => {
                out.push((path, None, *at));
                return i + 1;
            }
            Tok::Punct(b'{') => {
                i += 1;
                while i < toks.len()
                    && toks[i].0 != Tok::Punct(b'}')
                    && toks[i].0 != Tok::Punct(b';')
                {
                    let end = use_tree(toks, i, path.clone(), out);
                    i = if toks.get(end).is_some_and(|(t, _)| *t == Tok::Punct(b',')) {
                        end + 1
                    } else {
                        end.max(i + 1)
                    };
                }
                return i + 1;
            }
            _ => break,
        }
        i += 1;
    }
    if path.last().is_some_and(|s| s == "self") {
        path.pop();
    }
    let name = alias.or_else(|| path.last().cloned()).filter(|n| n != "_");
    out.push((path, name, line));
    i
}

/// The tokens of Rust source (with their lines), without comments and literals' contents.
fn lex(text: &str) -> Vec<(Tok, usize)> {
    let (b, mut i, mut line, mut out) = (text.as_bytes(), 0, 1, Vec::new());
    let ident_byte = |c: u8| c == b'_' || c.is_ascii_alphanumeric() || c >= 0x80;
    while i < b.len() {
        let (c, next) = (b[i], b.get(i + 1).copied().unwrap_or(0));
        let start = i;
        match c {
            b'/' if next == b'/' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if next == b'*' => {
                let mut nesting = 0;
                while i < b.len() {
                    if b[i..].starts_with(b"/*") {
                        (nesting, i) = (nesting + 1, i + 2);
                    } else if b[i..].starts_with(b"*/") {
                        (nesting, i) = (nesting - 1, i + 2);
                        if nesting == 0 {
                            break;
                        }
                    } else {
                        line += usize::from(b[i] == b'\n');
                        i += 1;
                    }
                }
                continue;
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += 1 + usize::from(b[i] == b'\\');
                }
                let s = text.get(start + 1..i.min(b.len())).unwrap_or_default();
                out.push((Tok::Str(s.to_owned()), line));
                line += s.matches('\n').count();
            }
            b'\'' => {
                // A char literal ('x', '\n', 'é') or a lifetime ('a, which stays an identifier).
                let width = text[i + 1..].chars().next().map_or(1, char::len_utf8);
                if next == b'\\' {
                    i += 3;
                    while i < b.len() && b[i] != b'\'' {
                        i += 1;
                    }
                } else if b.get(i + 1 + width) == Some(&b'\'') {
                    i += 1 + width;
                }
            }
            b':' if next == b':' => {
                out.push((Tok::Colons, line));
                i += 1;
            }
            b'\n' => line += 1,
            c if c.is_ascii_digit() => {
                while i + 1 < b.len() && ident_byte(b[i + 1]) {
                    i += 1;
                }
            }
            c if ident_byte(c) => {
                while i < b.len() && ident_byte(b[i]) {
                    i += 1;
                }
                let word = &text[start..i];
                let hashes = b[i..].iter().take_while(|c| **c == b'#').count();
                if matches!(word, "r" | "br" | "cr") && b.get(i + hashes) == Some(&b'"') {
                    // A raw string: to the quote followed by as many hashes.
                    let close = [b"\"".as_slice(), &vec![b'#'; hashes]].concat();
                    let body = i + hashes + 1;
                    let end = (body..b.len())
                        .find(|j| b[*j..].starts_with(&close))
                        .unwrap_or(b.len());
                    out.push((Tok::Str(text[body..end].to_owned()), line));
                    line += b[body..end].iter().filter(|c| **c == b'\n').count();
                    i = end + close.len();
                } else if !matches!(word, "b" | "c") || !matches!(b.get(i), Some(b'"' | b'\'')) {
                    out.push((Tok::Ident(word.to_owned()), line));
                }
                continue;
            }
            c if c.is_ascii_whitespace() => {}
            c => out.push((Tok::Punct(c), line)),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_files(files: &[(&str, &str)]) -> Checked {
        let sources = files
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        check("src/", &sources, Some(SRC_LAYERS))
    }

    fn edges(checked: &Checked) -> Vec<String> {
        checked
            .edges
            .iter()
            .map(|(f, t)| format!("{f} -> {t}"))
            .collect()
    }

    #[test]
    fn upward_import_is_caught() {
        let checked = check_files(&[
            ("lib.rs", "mod peer;\nmod session;\npub use peer::Peer;"),
            ("session/mod.rs", "mod tracks;"),
            (
                "session/tracks.rs",
                "use std::sync::Arc;\n\nuse crate::peer::Peer;",
            ),
            (
                "peer/mod.rs",
                "use crate::session::Thing;\npub struct Peer;",
            ),
        ]);
        assert_eq!(
            checked.violations,
            [
                "src/session/tracks.rs imports crate::peer::Peer (layer peer) from layer session (line 3)"
            ]
        );
        // A downward import (peer -> session) is fine; the root's re-export is no edge back.
        assert!(edges(&checked).contains(&"peer/mod.rs -> session/mod.rs".to_owned()));
    }

    #[test]
    fn loop_between_two_files_is_caught() {
        let checked = check_files(&[
            ("lib.rs", "mod error;\nmod secret;"),
            ("error.rs", "use crate::secret::Secret;\npub enum Error {}"),
            (
                "secret.rs",
                "pub struct Secret;\nfn f() -> crate::error::Error { todo!() }",
            ),
        ]);
        assert_eq!(checked.violations.len(), 1, "{:?}", checked.violations);
        assert_eq!(
            checked.violations[0],
            "loop between 2 files: src/error.rs, src/secret.rs\n  e.g. src/error.rs -> \
             src/secret.rs (crate::secret::Secret, line 1) -> src/error.rs (crate::error::Error, line 2)"
        );
    }

    #[test]
    fn loop_through_mod_rs_reexport_is_caught() {
        let checked = check_files(&[
            ("lib.rs", "mod session;\npub use session::{A, B};"),
            (
                "session/mod.rs",
                "mod a;\nmod b;\npub use a::A;\npub use self::b::B;",
            ),
            ("session/a.rs", "pub struct A(crate::B);"),
            ("session/b.rs", "use super::A;\npub struct B;"),
        ]);
        assert_eq!(checked.violations.len(), 1, "{:?}", checked.violations);
        assert!(
            checked.violations[0]
                .starts_with("loop between 2 files: src/session/a.rs, src/session/b.rs\n"),
            "{}",
            checked.violations[0]
        );
        // Both hops of the re-export were followed: crate::B -> session::B -> session/b.rs.
        assert!(edges(&checked).contains(&"session/a.rs -> session/b.rs".to_owned()));
    }

    #[test]
    fn reexports_of_inline_modules_and_macros_are_followed() {
        let checked = check_files(&[
            (
                "lib.rs",
                "mod client;\nmod wire;\npub mod turn {\n    pub use crate::client::turn::Turn;\n}",
            ),
            ("client/mod.rs", "pub mod turn;"),
            ("client/turn.rs", "pub struct Turn;"),
            (
                "wire.rs",
                "macro_rules! wire_enum { () => {} }\npub(crate) use wire_enum;",
            ),
            (
                "error.rs",
                "crate::wire::wire_enum!();\nuse crate::turn::Turn;",
            ),
        ]);
        assert!(edges(&checked).contains(&"error.rs -> wire.rs".to_owned()));
        assert_eq!(
            checked.violations,
            ["src/error.rs imports crate::turn::Turn (layer client) from layer leaves (line 2)"]
        );
    }

    #[test]
    fn code_paths_into_a_declared_child_count() {
        let checked = check_files(&[
            ("lib.rs", "mod whip;"),
            (
                "whip/mod.rs",
                "mod endpoint;\npub struct Shared;\nfn router() { endpoint::publish(); }",
            ),
            (
                "whip/endpoint.rs",
                "use super::Shared;\npub fn publish() {}",
            ),
        ]);
        assert!(
            checked
                .violations
                .iter()
                .any(|v| v.contains("loop between 2 files")),
            "{:?}",
            checked.violations
        );
    }

    #[test]
    fn grouped_use_is_parsed() {
        let checked = check_files(&[
            (
                "lib.rs",
                "mod error; mod secret; mod wire; mod session; mod peer;",
            ),
            ("session/mod.rs", "mod x;"),
            (
                "session/x.rs",
                "use crate::{\n    error::{Error, Result},\n    secret::Secret as S,\n    \
                 wire::{self, Kind},\n    peer::*,\n};",
            ),
            ("error.rs", ""),
            ("secret.rs", ""),
            ("wire.rs", ""),
            ("peer/mod.rs", ""),
        ]);
        assert_eq!(
            edges(&checked),
            [
                "session/x.rs -> error.rs",
                "session/x.rs -> peer/mod.rs",
                "session/x.rs -> secret.rs",
                "session/x.rs -> wire.rs"
            ]
        );
        assert_eq!(
            checked.violations,
            ["src/session/x.rs imports crate::peer (layer peer) from layer session (line 5)"]
        );
    }

    #[test]
    fn super_resolves_from_mod_rs_and_plain_files() {
        let checked = check_files(&[
            ("lib.rs", "mod client;\nmod room;"),
            ("client.rs", "pub struct Client;"),
            // In room/mod.rs, `super` is the crate root; in room/join.rs it is `room`.
            (
                "room/mod.rs",
                "use super::client::Client;\nmod join;\nmod store;\npub use store::Store;",
            ),
            (
                "room/join.rs",
                "use super::Store;\n#[cfg(test)]\nmod tests {\n    use super::*;\n}",
            ),
            ("room/store.rs", "pub trait Store {}"),
        ]);
        assert_eq!(
            edges(&checked),
            [
                "room/join.rs -> room/store.rs",
                "room/mod.rs -> client.rs",
                "room/mod.rs -> room/store.rs"
            ]
        );
        assert!(checked.violations.is_empty(), "{:?}", checked.violations);
    }

    #[test]
    fn comments_and_strings_are_ignored() {
        let error = "// use crate::peer::Peer;\n/// See [crate::peer::Peer].\n\
            /* crate::peer::A /* nested */\n crate::peer::B */\n\
            const S: &str = \"crate::peer::Peer\";\nconst R: &str = r#\"crate::peer\"#;\n\
            fn f<'a>(c: char) -> bool { c == '\"' || c == '\\'' }\n\
            fn g() -> crate::secret::Secret { todo!() }";
        let checked = check_files(&[
            ("lib.rs", "mod error;\nmod peer;"),
            ("error.rs", error),
            ("peer/mod.rs", "pub struct Peer;"),
            ("secret.rs", "pub struct Secret;"),
        ]);
        // Only the import after the comments and literals counts, on the line it is on.
        assert_eq!(edges(&checked), ["error.rs -> secret.rs"]);
        assert_eq!(checked.violations, Vec::<String>::new());
        let refs: Vec<_> = scan(error)
            .refs
            .iter()
            .map(|r| (r.line, r.path.len()))
            .collect();
        assert_eq!(refs, [(8, 3)]);
    }

    #[test]
    fn unassigned_module_and_path_attribute() {
        let checked = check_files(&[
            (
                "lib.rs",
                "mod account;\nmod http;\n#[cfg(feature = \"fuzzing\")]\n#[path = \"fuzzing.rs\"]\npub mod __fuzz;",
            ),
            ("account.rs", ""),
            ("http/mod.rs", "fn f() { crate::__fuzz::scripted(); }"),
            ("fuzzing.rs", "use crate::http::f;"),
        ]);
        assert_eq!(
            checked.violations,
            [
                "src/account.rs: module crate::account has no layer; assign it one in SRC_LAYERS of xtask/src/layers.rs",
                "src/http/mod.rs imports crate::__fuzz::scripted (layer top) from layer http (line 1)",
                "loop between 2 files: src/fuzzing.rs, src/http/mod.rs\n  e.g. src/fuzzing.rs -> src/http/mod.rs \
                 (crate::http::f, line 1) -> src/fuzzing.rs (crate::__fuzz::scripted, line 1)",
            ]
        );
    }
}
