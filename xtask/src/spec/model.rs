//! The structure of an API document, reduced to what `update-spec` compares.
//!
//! Schemas are flattened to field paths (`tracks[].simulcast.preferredRid`): `$ref`s are
//! resolved, `allOf` branches merged, `oneOf`/`anyOf` branches united, `[]` stands for array
//! items and `{}` for additionalProperties values. Naming and nesting choices that do not
//! change the JSON on the wire therefore vanish.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::Value;

use super::doc::{self, Loc};

/// What is known about one field path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Node {
    /// Declared JSON types (empty when unstated).
    pub types: BTreeSet<String>,
    /// Allowed values in document order, when the schema restricts them.
    pub enums: Option<Vec<String>>,
    /// Marked `x-local: true` (itself or through an ancestor).
    pub local: bool,
}

impl Node {
    /// Types with `integer` folded into `number`: the two are compatible for drift purposes.
    pub fn wire_types(&self) -> BTreeSet<&str> {
        self.types
            .iter()
            .map(|t| if t == "integer" { "number" } else { t.as_str() })
            .collect()
    }
}

/// A flattened schema: field path (`""` is the body itself) to what is known about it.
pub type Fields = BTreeMap<String, Node>;

/// A parameter's key: `(in, name)`.
pub type ParamKey = (String, String);

/// A parameter.
#[derive(Clone, Debug)]
pub struct Param {
    /// Whether the parameter is required.
    pub required: bool,
    /// The parameter's schema (root node only).
    pub node: Node,
}

/// A request body.
#[derive(Clone, Debug)]
pub struct Body {
    /// Marked `x-local: true`.
    pub local: bool,
    /// The `required` flag of the body.
    pub required: bool,
    /// The flattened schema.
    pub fields: Fields,
}

/// A response.
#[derive(Clone, Debug)]
pub struct Response {
    /// Marked `x-local: true`.
    pub local: bool,
    /// The flattened body schema, `None` when the response has no body.
    pub fields: Option<Fields>,
}

/// An operation's key: `(path, METHOD)`.
pub type OpKey = (String, String);

/// An operation.
#[derive(Clone, Debug)]
pub struct Operation {
    /// Marked `x-local: true`.
    pub local: bool,
    /// Path, query, header and cookie parameters.
    pub params: BTreeMap<ParamKey, Param>,
    /// The request body, if any.
    pub body: Option<Body>,
    /// Responses by status key (`"200"`, `"5XX"`, `"default"`).
    pub responses: BTreeMap<String, Response>,
}

/// Every operation of a document.
#[derive(Clone, Debug, Default)]
pub struct Api {
    /// Operations by `(path, METHOD)`.
    pub ops: BTreeMap<OpKey, Operation>,
}

impl Api {
    /// Reduces a parsed document to its structure.
    pub fn from_doc(root: &Value) -> Self {
        let mut ops = BTreeMap::new();
        let Some(paths) = doc::map_at(root, &["paths".to_owned()]) else {
            return Self { ops };
        };
        for path in paths.keys().filter_map(doc::key_str) {
            let item = doc::deref(root, &["paths".to_owned(), path.clone()]);
            for method in doc::METHODS {
                let op_loc = doc::join(&item, &[method]);
                if doc::get(root, &op_loc).is_some() {
                    let op = operation(root, &item, &op_loc);
                    ops.insert((path.clone(), method.to_uppercase()), op);
                }
            }
        }
        Self { ops }
    }
}

fn operation(root: &Value, item: &[String], op_loc: &[String]) -> Operation {
    let mut params = BTreeMap::new();
    // Operation-level parameters override path-level ones with the same key.
    for holder in [item, op_loc] {
        for loc in parameter_locs(root, holder) {
            let (key, param) = parameter(root, &loc);
            params.insert(key, param);
        }
    }
    let body_loc = doc::join(op_loc, &["requestBody"]);
    let body = doc::get(root, &body_loc).map(|_| {
        let target = doc::deref(root, &body_loc);
        let local = doc::is_local_at(root, &body_loc);
        Body {
            local,
            required: doc::get(root, &doc::join(&target, &["required"]))
                .and_then(Value::as_bool)
                .unwrap_or(false),
            fields: doc::media_schema(root, &target)
                .map(|s| flatten(root, &s, local))
                .unwrap_or_default(),
        }
    });
    let mut responses = BTreeMap::new();
    let responses_loc = doc::join(op_loc, &["responses"]);
    if let Some(map) = doc::map_at(root, &responses_loc) {
        for status in map.keys().filter_map(doc::key_str) {
            let loc = doc::join(&responses_loc, &[&status]);
            let local = doc::is_local_at(root, &loc);
            let target = doc::deref(root, &loc);
            let fields = doc::media_schema(root, &target).map(|s| flatten(root, &s, local));
            responses.insert(status, Response { local, fields });
        }
    }
    Operation {
        local: doc::get(root, op_loc).is_some_and(doc::is_local),
        params,
        body,
        responses,
    }
}

/// Locations of the entries of a `parameters` list.
pub fn parameter_locs(root: &Value, holder: &[String]) -> Vec<Loc> {
    let list = doc::join(holder, &["parameters"]);
    let len = doc::get(root, &list)
        .and_then(Value::as_sequence)
        .map_or(0, Vec::len);
    (0..len)
        .map(|i| doc::join(&list, &[&i.to_string()]))
        .collect()
}

/// A parameter's key and structure.
pub fn parameter(root: &Value, loc: &[String]) -> (ParamKey, Param) {
    let target = doc::deref(root, loc);
    let text = |field: &str| {
        doc::get(root, &doc::join(&target, &[field]))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let local = doc::is_local_at(root, loc);
    let schema = doc::join(&target, &["schema"]);
    let node = if doc::get(root, &schema).is_some() {
        flatten(root, &schema, local).remove("").unwrap_or_default()
    } else {
        Node {
            local,
            ..Node::default()
        }
    };
    let required = doc::get(root, &doc::join(&target, &["required"]))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    ((text("in"), text("name")), Param { required, node })
}

/// Flattens the schema at `loc`.
pub fn flatten(root: &Value, loc: &[String], local: bool) -> Fields {
    let mut out = Fields::new();
    let mut flattener = Flattener {
        root,
        active: Vec::new(),
    };
    flattener.schema(loc, "", local, &mut out);
    out
}

/// Appends a segment (`name`, `[]` or `{}`) to a field path.
pub fn child_path(parent: &str, segment: &str) -> String {
    if parent.is_empty() || segment == "[]" || segment == "{}" {
        format!("{parent}{segment}")
    } else {
        format!("{parent}.{segment}")
    }
}

/// Splits a field path into its segments (`a[].b` -> `a`, `[]`, `b`).
pub fn segments(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let mut rest = part;
        let mut suffixes = Vec::new();
        while let Some(stripped) = rest.strip_suffix("[]").or_else(|| rest.strip_suffix("{}")) {
            suffixes.push(&rest[stripped.len()..]);
            rest = stripped;
        }
        if !rest.is_empty() {
            out.push(rest.to_owned());
        }
        out.extend(suffixes.into_iter().rev().map(str::to_owned));
    }
    out
}

/// The parent of a field path (`None` for the body itself).
pub fn parent_path(path: &str) -> Option<String> {
    let mut segs = segments(path);
    segs.pop()?;
    Some(
        segs.iter()
            .fold(String::new(), |acc, s| child_path(&acc, s)),
    )
}

#[derive(Clone, Copy)]
enum Combine {
    /// allOf: every branch holds.
    All,
    /// oneOf / anyOf: some branch holds.
    Any,
}

struct Flattener<'a> {
    root: &'a Value,
    /// Component locations being expanded, to stop on recursive schemas.
    active: Vec<Loc>,
}

impl Flattener<'_> {
    fn schema(&mut self, loc: &[String], path: &str, local: bool, out: &mut Fields) {
        let Some(value) = doc::get(self.root, loc) else {
            return;
        };
        let local = local || doc::is_local(value);
        if let Some(target) = doc::ref_target(value) {
            if self.active.contains(&target) {
                merge_node(
                    out,
                    path,
                    Node {
                        local,
                        ..Node::default()
                    },
                    Combine::All,
                );
                return;
            }
            self.active.push(target.clone());
            self.schema(&target, path, local, out);
            self.active.pop();
            return;
        }
        let Some(map) = value.as_mapping() else {
            return;
        };
        let mut own = Fields::new();
        own.insert(path.to_owned(), own_node(map, local));
        if let Some(props) = map.get("properties").and_then(Value::as_mapping) {
            for name in props.keys().filter_map(doc::key_str) {
                let prop = doc::join(loc, &["properties", &name]);
                self.schema(&prop, &child_path(path, &name), local, &mut own);
            }
        }
        if map.get("items").is_some_and(Value::is_mapping) {
            self.schema(
                &doc::join(loc, &["items"]),
                &child_path(path, "[]"),
                local,
                &mut own,
            );
        }
        if map
            .get("additionalProperties")
            .is_some_and(Value::is_mapping)
        {
            let extra = doc::join(loc, &["additionalProperties"]);
            self.schema(&extra, &child_path(path, "{}"), local, &mut own);
        }
        for (keyword, combine) in [
            ("allOf", Combine::All),
            ("oneOf", Combine::Any),
            ("anyOf", Combine::Any),
        ] {
            let count = map
                .get(keyword)
                .and_then(Value::as_sequence)
                .map_or(0, Vec::len);
            let mut united: Option<Fields> = None;
            for i in 0..count {
                let mut branch = Fields::new();
                self.schema(
                    &doc::join(loc, &[keyword, &i.to_string()]),
                    path,
                    local,
                    &mut branch,
                );
                match (&mut united, combine) {
                    (_, Combine::All) => merge(&mut own, branch, Combine::All),
                    (Some(acc), Combine::Any) => merge(acc, branch, Combine::Any),
                    (None, Combine::Any) => united = Some(branch),
                }
            }
            if let Some(united) = united {
                merge(&mut own, united, Combine::All);
            }
        }
        merge(out, own, Combine::All);
    }
}

fn own_node(map: &serde_yaml::Mapping, local: bool) -> Node {
    let mut types: BTreeSet<String> = match map.get("type") {
        Some(Value::String(t)) => BTreeSet::from([t.clone()]),
        Some(Value::Sequence(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => BTreeSet::new(),
    };
    if types.is_empty() {
        if map.contains_key("properties") {
            types.insert("object".to_owned());
        } else if map.contains_key("items") {
            types.insert("array".to_owned());
        }
    }
    let enums = map
        .get("enum")
        .and_then(Value::as_sequence)
        .map(|values| values.iter().filter_map(doc::scalar_str).collect());
    Node {
        types,
        enums,
        local,
    }
}

fn merge(into: &mut Fields, from: Fields, combine: Combine) {
    for (path, node) in from {
        merge_node(into, &path, node, combine);
    }
}

fn merge_node(into: &mut Fields, path: &str, node: Node, combine: Combine) {
    let Some(old) = into.get_mut(path) else {
        into.insert(path.to_owned(), node);
        return;
    };
    old.local |= node.local;
    old.types = match (combine, old.types.is_empty(), node.types.is_empty()) {
        (_, true, _) => node.types,
        (_, _, true) => std::mem::take(&mut old.types),
        (Combine::All, false, false) => {
            let both: BTreeSet<String> = old.types.intersection(&node.types).cloned().collect();
            // Contradicting branches: keep both so the comparison shows the conflict.
            if both.is_empty() {
                old.types.union(&node.types).cloned().collect()
            } else {
                both
            }
        }
        (Combine::Any, false, false) => old.types.union(&node.types).cloned().collect(),
    };
    old.enums = match (old.enums.take(), node.enums) {
        (Some(a), Some(b)) => Some(match combine {
            Combine::All => a.into_iter().filter(|v| b.contains(v)).collect(),
            Combine::Any => {
                let extra: Vec<String> = b.into_iter().filter(|v| !a.contains(v)).collect();
                a.into_iter().chain(extra).collect()
            }
        }),
        (a, b) => a.or(b),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_round_trip() {
        for path in [
            "", "a", "a.b", "a[]", "a[].b", "[]", "[].x", "m{}.y", "a[][]",
        ] {
            let joined = segments(path)
                .iter()
                .fold(String::new(), |acc, s| child_path(&acc, s));
            assert_eq!(joined, path);
        }
        assert_eq!(
            segments("tracks[].simulcast"),
            ["tracks", "[]", "simulcast"]
        );
        assert_eq!(parent_path("tracks[].mid").as_deref(), Some("tracks[]"));
        assert_eq!(parent_path("tracks").as_deref(), Some(""));
        assert_eq!(parent_path(""), None);
    }

    #[test]
    fn flatten_resolves_refs_and_combinators() {
        let root: Value = serde_yaml::from_str(
            r##"
components:
  schemas:
    Base:
      type: object
      properties:
        kind: {type: string, enum: [a, b, c]}
        n: {type: integer}
    Loop:
      type: object
      properties:
        next: {$ref: "#/components/schemas/Loop"}
    Body:
      type: object
      properties:
        items:
          type: array
          items:
            allOf:
              - $ref: "#/components/schemas/Base"
              - oneOf:
                  - properties: {kind: {enum: [a]}, x: {type: string}}
                  - properties: {kind: {enum: [b]}, y: {type: boolean}}
        map:
          additionalProperties: {$ref: "#/components/schemas/Loop"}
"##,
        )
        .unwrap();
        let loc: Loc = ["components", "schemas", "Body"]
            .map(str::to_owned)
            .to_vec();
        let fields = flatten(&root, &loc, false);
        let kind = &fields["items[].kind"];
        assert_eq!(kind.types, BTreeSet::from(["string".to_owned()]));
        assert_eq!(kind.enums, Some(vec!["a".to_owned(), "b".to_owned()]));
        assert!(fields.contains_key("items[].x"));
        assert!(fields.contains_key("items[].y"));
        assert_eq!(fields["items[].n"].wire_types(), BTreeSet::from(["number"]));
        assert!(fields.contains_key("map{}.next"));
        assert!(
            !fields.contains_key("map{}.next.next.next"),
            "recursion must stop"
        );
    }
}
