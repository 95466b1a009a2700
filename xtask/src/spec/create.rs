//! New pieces of our document built from upstream's structure: operations, parameters,
//! responses and schemas. Only structure travels: no upstream prose, just [`PLACEHOLDER`] where
//! a description is mandatory or a name needs one.

use std::collections::BTreeSet;

use serde_yaml::{Mapping, Value};

use super::diff::Drift;
use super::doc::{self, Loc, mapping, set};
use super::model::{Api, Fields, Node, ParamKey, parameter, parent_path, segments};

/// Text of every description this tool has to invent.
pub const PLACEHOLDER: &str = "Added from upstream by update-spec; describe it.";

pub fn json_content(schema: Value) -> Value {
    mapping([("application/json", mapping([("schema", schema)]))])
}

/// A response for a status our operation lacks: error statuses reuse the error schema the
/// operation already shares among its error responses; others get a schema built from
/// upstream's structure.
pub fn new_response(
    ours: &mut Value,
    op_loc: &[String],
    status: &str,
    fields: Option<&Fields>,
) -> Value {
    let shared_error = doc::is_error_status(status)
        .then(|| {
            let responses = doc::map_at(ours, &doc::join(op_loc, &["responses"]))?;
            responses
                .keys()
                .filter_map(doc::key_str)
                .filter(|k| doc::is_error_status(k))
                .find_map(|k| {
                    let target = doc::deref(ours, &doc::join(op_loc, &["responses", &k]));
                    doc::media_schema(ours, &target)
                        .and_then(|s| doc::get(ours, &s))
                        .cloned()
                })
        })
        .flatten();
    let schema = shared_error.or_else(|| fields.map(|f| build(ours, f, "", "Body")));
    let mut response = Mapping::new();
    response.insert("description".into(), PLACEHOLDER.into());
    if let Some(schema) = schema {
        response.insert("content".into(), json_content(schema));
    }
    Value::Mapping(response)
}

/// Rebuilds a schema for `path` (and everything below it) from upstream's flattened structure.
/// Enumerations become named component schemas, as everywhere else in our document.
pub fn build(ours: &mut Value, fields: &Fields, path: &str, hint: &str) -> Value {
    let Some(node) = fields.get(path) else {
        return Value::Mapping(Mapping::new());
    };
    let name_hint = segments(path)
        .into_iter()
        .rev()
        .find(|s| s != "[]" && s != "{}")
        .unwrap_or_else(|| hint.to_owned());
    if node.enums.is_some() {
        return enum_ref(ours, node, &name_hint);
    }
    let mut map = Mapping::new();
    if let [ty] = node.types.iter().collect::<Vec<_>>()[..] {
        map.insert("type".into(), ty.clone().into());
    }
    let children: Vec<String> = fields
        .keys()
        .filter(|k| !k.is_empty() && parent_path(k).as_deref() == Some(path))
        .cloned()
        .collect();
    let mut props = Mapping::new();
    for child in children {
        let value = build(ours, fields, &child, hint);
        match segments(&child).pop().as_deref() {
            Some("[]") => {
                map.insert("items".into(), value);
            }
            Some("{}") => {
                map.insert("additionalProperties".into(), value);
            }
            Some(name) => {
                props.insert(name.into(), value);
            }
            None => {}
        }
    }
    if !props.is_empty() {
        map.insert("properties".into(), Value::Mapping(props));
    }
    Value::Mapping(map)
}

/// A `$ref` to a named enum with `node`'s values, reusing one with the same values.
fn enum_ref(ours: &mut Value, node: &Node, hint: &str) -> Value {
    let values = node.enums.clone().unwrap_or_default();
    let base = pascal_case(hint);
    let schemas: Loc = vec!["components".to_owned(), "schemas".to_owned()];
    for (parent, key) in [(&[][..], "components"), (&schemas[..1], "schemas")] {
        if doc::get(ours, &doc::join(parent, &[key])).is_none() {
            set(ours, parent, key, Value::Mapping(Mapping::new()));
        }
    }
    let mut name = base.clone();
    for n in 2.. {
        match doc::get(ours, &doc::join(&schemas, &[&name])) {
            None => break,
            Some(existing) => {
                let existing_values: Option<BTreeSet<String>> = existing
                    .get("enum")
                    .and_then(Value::as_sequence)
                    .map(|vs| vs.iter().filter_map(doc::scalar_str).collect());
                if existing_values == Some(values.iter().cloned().collect()) {
                    return reference(&name);
                }
            }
        }
        name = format!("{base}{n}");
    }
    let ty = node
        .types
        .iter()
        .next()
        .cloned()
        .unwrap_or_else(|| "string".to_owned());
    let schema = mapping([
        ("type", ty.into()),
        ("description", PLACEHOLDER.into()),
        (
            "enum",
            Value::Sequence(values.into_iter().map(Value::String).collect()),
        ),
    ]);
    set(ours, &schemas, &name, schema);
    reference(&name)
}

fn reference(schema: &str) -> Value {
    mapping([("$ref", format!("#/components/schemas/{schema}").into())])
}

fn pascal_case(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase())
                .into_iter()
                .chain(chars)
                .collect::<String>()
        })
        .collect()
}

/// `post /apps/{appId}/sessions/{sessionId}/recordings/new` -> `post_apps_sessions_recordings_new`.
pub fn operation_id(method: &str, path: &str) -> String {
    let mut words = vec![method.to_lowercase()];
    for segment in path
        .split('/')
        .filter(|s| !s.is_empty() && !s.starts_with('{'))
    {
        let mut word = String::new();
        for c in segment.chars() {
            if c.is_ascii_uppercase() && !word.is_empty() && !word.ends_with('_') {
                word.push('_');
            }
            word.push(if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            });
        }
        words.push(word);
    }
    let joined = words.join("_");
    joined
        .split('_')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

pub fn add_operation(ours: &mut Value, upstream: &Api, d: &Drift) -> Option<()> {
    let (path, method) = &d.op;
    let up = upstream.ops.get(&d.op)?;
    let base = operation_id(method, path);
    let taken = existing_operation_ids(ours);
    let id = std::iter::once(base.clone())
        .chain((2..).map(|n| format!("{base}_{n}")))
        .find(|id| !taken.contains(id))?;

    let mut op = Mapping::new();
    op.insert("operationId".into(), id.into());
    op.insert("description".into(), PLACEHOLDER.into());
    if !up.params.is_empty() {
        let params = up
            .params
            .iter()
            .map(|(k, p)| param_value(ours, k, p.required, &p.node))
            .collect();
        op.insert("parameters".into(), Value::Sequence(params));
    }
    if let Some(body) = &up.body {
        let mut entries = Mapping::new();
        if body.required {
            entries.insert("required".into(), true.into());
        }
        entries.insert(
            "content".into(),
            json_content(build(ours, &body.fields, "", "Request")),
        );
        op.insert("requestBody".into(), Value::Mapping(entries));
    }
    let mut responses = Mapping::new();
    for (status, response) in &up.responses {
        let mut entry = Mapping::new();
        entry.insert("description".into(), PLACEHOLDER.into());
        if let Some(fields) = &response.fields {
            entry.insert(
                "content".into(),
                json_content(build(ours, fields, "", "Body")),
            );
        }
        responses.insert(status.clone().into(), Value::Mapping(entry));
    }
    op.insert("responses".into(), Value::Mapping(responses));

    if doc::get(ours, &["paths".to_owned()]).is_none() {
        set(ours, &[], "paths", Value::Mapping(Mapping::new()))?;
    }
    let item_loc = vec!["paths".to_owned(), path.clone()];
    if doc::get(ours, &item_loc).is_none() {
        set(ours, &item_loc[..1], path, Value::Mapping(Mapping::new()))?;
    }
    let item = doc::deref(ours, &item_loc);
    set(ours, &item, &method.to_lowercase(), Value::Mapping(op))
}

fn existing_operation_ids(ours: &Value) -> Vec<String> {
    let Some(paths) = doc::map_at(ours, &["paths".to_owned()]) else {
        return Vec::new();
    };
    paths
        .values()
        .filter_map(Value::as_mapping)
        .flat_map(|item| item.values())
        .filter_map(|op| {
            op.get("operationId")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect()
}

/// A parameter object: a `$ref` to our component parameter of the same name and location if
/// there is one, else an inline parameter.
pub fn param_value(
    ours: &mut Value,
    (location, name): &ParamKey,
    required: bool,
    node: &Node,
) -> Value {
    let components: Loc = vec!["components".to_owned(), "parameters".to_owned()];
    if let Some(map) = doc::map_at(ours, &components) {
        let shared = map.keys().filter_map(doc::key_str).find(|k| {
            let (key, _) = parameter(ours, &doc::join(&components, &[k]));
            key == (location.clone(), name.clone())
        });
        if let Some(shared) = shared {
            return mapping([("$ref", format!("#/components/parameters/{shared}").into())]);
        }
    }
    let fields = Fields::from([(String::new(), node.clone())]);
    let schema = build(ours, &fields, "", name);
    let mut param = Mapping::new();
    param.insert("in".into(), location.clone().into());
    param.insert("name".into(), name.clone().into());
    param.insert("required".into(), (required || location == "path").into());
    param.insert("schema".into(), schema);
    Value::Mapping(param)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_are_snake_case_without_parameters() {
        assert_eq!(
            operation_id(
                "POST",
                "/apps/{appId}/sessions/{sessionId}/dataChannels/new"
            ),
            "post_apps_sessions_data_channels_new"
        );
        assert_eq!(operation_id("get", "/a-b/c"), "get_a_b_c");
    }
}
