//! Navigation in a parsed OpenAPI document kept as a plain YAML tree.
//!
//! The tree (not `openapiv3` types) is the working model because `--write` must edit the
//! project's document in place, keeping key order and every field this tool does not know.

use serde_yaml::{Mapping, Value};

/// A location in the document: the keys (and sequence indices, as decimal text) from the root.
pub type Loc = Vec<String>;

/// Ref chains longer than this are treated as broken rather than followed forever.
const MAX_REF_HOPS: usize = 32;

/// The text of a mapping key, so that `200:` and `"200":` name the same response.
pub fn key_str(key: &Value) -> Option<String> {
    match key {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The text of a scalar (enum values are compared as text).
pub fn scalar_str(value: &Value) -> Option<String> {
    match value {
        Value::Null => Some("null".to_owned()),
        other => key_str(other),
    }
}

/// The entry of `map` whose key reads as `name`.
pub fn entry<'a>(map: &'a Mapping, name: &str) -> Option<&'a Value> {
    map.iter()
        .find(|(k, _)| key_str(k).as_deref() == Some(name))
        .map(|(_, v)| v)
}

fn child<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    match value {
        Value::Mapping(map) => entry(map, key),
        Value::Sequence(seq) => key.parse::<usize>().ok().and_then(|i| seq.get(i)),
        _ => None,
    }
}

fn child_mut<'a>(value: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    match value {
        Value::Mapping(map) => map
            .iter_mut()
            .find(|(k, _)| key_str(k).as_deref() == Some(key))
            .map(|(_, v)| v),
        Value::Sequence(seq) => key.parse::<usize>().ok().and_then(|i| seq.get_mut(i)),
        _ => None,
    }
}

/// The value at `loc`.
pub fn get<'a>(root: &'a Value, loc: &[String]) -> Option<&'a Value> {
    loc.iter().try_fold(root, |v, k| child(v, k))
}

/// The value at `loc`, mutably.
pub fn get_mut<'a>(root: &'a mut Value, loc: &[String]) -> Option<&'a mut Value> {
    loc.iter().try_fold(root, |v, k| child_mut(v, k))
}

/// The mapping at `loc`, if there is one.
pub fn map_at<'a>(root: &'a Value, loc: &[String]) -> Option<&'a Mapping> {
    get(root, loc).and_then(Value::as_mapping)
}

/// Sets `key` in the mapping at `loc`, keeping the position of an existing entry.
pub fn set(root: &mut Value, loc: &[String], key: &str, value: Value) -> Option<()> {
    let map = get_mut(root, loc)?.as_mapping_mut()?;
    match map
        .iter_mut()
        .find(|(k, _)| key_str(k).as_deref() == Some(key))
    {
        Some((_, slot)) => *slot = value,
        None => {
            map.insert(Value::String(key.to_owned()), value);
        }
    }
    Some(())
}

/// Removes the entry `loc` points at from its parent mapping or sequence.
pub fn remove(root: &mut Value, loc: &[String]) -> Option<Value> {
    let (last, parent) = loc.split_last()?;
    match get_mut(root, parent)? {
        Value::Mapping(map) => {
            let key = map
                .keys()
                .find(|k| key_str(k).as_deref() == Some(last))?
                .clone();
            map.shift_remove(&key)
        }
        Value::Sequence(seq) => {
            let i = last.parse::<usize>().ok().filter(|&i| i < seq.len())?;
            Some(seq.remove(i))
        }
        _ => None,
    }
}

/// Appends `more` to a location.
pub fn join(loc: &[String], more: &[&str]) -> Loc {
    loc.iter()
        .cloned()
        .chain(more.iter().map(|s| (*s).to_owned()))
        .collect()
}

/// The local target of a `$ref` object (`#/a/b~1c` -> `["a", "b/c"]`).
pub fn ref_target(value: &Value) -> Option<Loc> {
    let reference = value.as_mapping()?.get("$ref")?.as_str()?;
    let pointer = reference.strip_prefix("#/")?;
    Some(
        pointer
            .split('/')
            .map(|part| part.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

/// Follows `$ref`s from `loc` to the location of the object they finally name.
pub fn deref(root: &Value, loc: &[String]) -> Loc {
    let mut loc = loc.to_vec();
    for _ in 0..MAX_REF_HOPS {
        match get(root, &loc).and_then(ref_target) {
            Some(target) if get(root, &target).is_some() => loc = target,
            _ => break,
        }
    }
    loc
}

/// Whether the object carries our `x-local: true` marker.
pub fn is_local(value: &Value) -> bool {
    value
        .as_mapping()
        .and_then(|m| m.get("x-local"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// Whether `loc` or the object its `$ref`s lead to carries `x-local: true`.
pub fn is_local_at(root: &Value, loc: &[String]) -> bool {
    get(root, loc).is_some_and(is_local) || get(root, &deref(root, loc)).is_some_and(is_local)
}

/// The schema of the JSON media type of a request body or response (the first media type if
/// none is JSON), as a location.
pub fn media_schema(root: &Value, holder: &[String]) -> Option<Loc> {
    let content = map_at(root, &join(holder, &["content"]))?;
    let media = content
        .keys()
        .filter_map(key_str)
        .find(|k| k.contains("json"))
        .or_else(|| content.keys().find_map(key_str))?;
    let loc = join(holder, &["content", &media, "schema"]);
    get(root, &loc).map(|_| loc)
}

/// The operation methods OpenAPI 3.0 allows in a path item.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Whether a response key is an error status (`4xx`, `5xx`, their ranges, or `default`).
pub fn is_error_status(status: &str) -> bool {
    status == "default" || status.starts_with('4') || status.starts_with('5')
}

/// Builds a mapping from string keys.
pub fn mapping<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Mapping(
        entries
            .into_iter()
            .map(|(k, v)| (Value::String(k.to_owned()), v))
            .collect(),
    )
}
