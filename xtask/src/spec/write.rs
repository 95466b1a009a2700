//! Merges upstream's structural changes into our document, keeping our operationIds,
//! descriptions and schema names: each change is made in the schema that owns the field in
//! our document, found by following our `$ref`s.

use serde_yaml::{Mapping, Value};

use super::create::{add_operation, build, json_content, new_response, param_value};
use super::diff::{Delta, Drift, Item, Section, covering_status};
use super::doc::{self, Loc, set};
use super::model::{
    Api, Fields, Node, OpKey, Operation, ParamKey, parameter, parameter_locs, parent_path, segments,
};

/// Applies what it can of `drifts` to `ours`. Whatever it cannot apply (or should not, such as
/// a removal from a schema other operations still need) shows up when the caller compares again.
pub fn apply(ours: &mut Value, upstream: &Api, drifts: &[Drift]) {
    // Coarse changes first, so finer ones find their operation and status in place.
    let mut ordered: Vec<&Drift> = drifts.iter().collect();
    ordered.sort_by_key(|d| match d.item {
        Item::Operation => 0,
        Item::Status(_) | Item::RequestBody => 1,
        Item::Param(_) => 2,
        Item::Field(..) => 3,
    });
    for drift in ordered {
        // `None` means "not applicable here"; the next comparison reports it.
        let _ = apply_one(ours, upstream, drift);
    }
}

fn apply_one(ours: &mut Value, upstream: &Api, d: &Drift) -> Option<()> {
    let (path, method) = &d.op;
    let item_loc = vec!["paths".to_owned(), path.clone()];
    let op_loc = doc::join(&doc::deref(ours, &item_loc), &[&method.to_lowercase()]);
    let up_op = upstream.ops.get(&d.op);
    match (&d.item, &d.delta) {
        (Item::Operation, Delta::Added) => add_operation(ours, upstream, d),
        (Item::Operation, Delta::Removed) => {
            doc::remove(ours, &op_loc)?;
            let item = doc::deref(ours, &item_loc);
            let empty = doc::map_at(ours, &item).is_some_and(|m| {
                !m.keys()
                    .filter_map(doc::key_str)
                    .any(|k| doc::METHODS.contains(&k.as_str()))
            });
            if empty {
                doc::remove(ours, &item_loc);
            }
            Some(())
        }
        (Item::Param(key), delta) => {
            let up_param = up_op.and_then(|op| op.params.get(key));
            match delta {
                Delta::Added => {
                    let value = param_value(ours, key, up_param?.required, &up_param?.node);
                    let list = doc::join(&op_loc, &["parameters"]);
                    if doc::get(ours, &list).is_none() {
                        set(ours, &op_loc, "parameters", Value::Sequence(Vec::new()))?;
                    }
                    doc::get_mut(ours, &list)?.as_sequence_mut()?.push(value);
                    Some(())
                }
                Delta::Removed => {
                    doc::remove(ours, &find_param(ours, &item_loc, &op_loc, key)?).map(|_| ())
                }
                Delta::Required(required) => {
                    let target = doc::deref(ours, &find_param(ours, &item_loc, &op_loc, key)?);
                    set(ours, &target, "required", Value::Bool(*required))
                }
                other => {
                    let target = doc::deref(ours, &find_param(ours, &item_loc, &op_loc, key)?);
                    let schema = doc::deref(ours, &doc::join(&target, &["schema"]));
                    change_node(ours, &schema, other, &up_param?.node)
                }
            }
        }
        (Item::RequestBody, Delta::Added) => {
            let body = up_op?.body.as_ref()?;
            let mut entries = Mapping::new();
            if body.required {
                entries.insert("required".into(), Value::Bool(true));
            }
            entries.insert(
                "content".into(),
                json_content(build(ours, &body.fields, "", "Request")),
            );
            set(ours, &op_loc, "requestBody", Value::Mapping(entries))
        }
        (Item::RequestBody, Delta::Removed) => {
            doc::remove(ours, &doc::join(&op_loc, &["requestBody"])).map(|_| ())
        }
        (Item::Status(status), Delta::Added) => {
            let fields = up_op?.responses.get(status)?.fields.as_ref();
            let response = new_response(ours, &op_loc, status, fields);
            insert_status(ours, &doc::join(&op_loc, &["responses"]), status, response)
        }
        (Item::Status(status), Delta::Removed) => {
            doc::remove(ours, &doc::join(&op_loc, &["responses", status])).map(|_| ())
        }
        (Item::Field(section, field), delta) => {
            let up_fields = match section {
                Section::Request => &up_op?.body.as_ref()?.fields,
                Section::Response(status) => up_op?.responses.get(status)?.fields.as_ref()?,
            };
            let ours_api = Api::from_doc(ours);
            let holder = section_holder(ours, &op_loc, ours_api.ops.get(&d.op)?, section)?;
            change_field(ours, upstream, &holder, field, delta, up_fields)
        }
        _ => None,
    }
}

/// The (dereferenced) request body or response object that `section` names in our document.
fn section_holder(
    ours: &Value,
    op_loc: &[String],
    our_op: &Operation,
    section: &Section,
) -> Option<Loc> {
    let loc = match section {
        Section::Request => doc::join(op_loc, &["requestBody"]),
        Section::Response(status) => {
            let our_status = covering_status(our_op, status)?;
            doc::join(op_loc, &["responses", our_status])
        }
    };
    Some(doc::deref(ours, &loc))
}

fn operation_loc(ours: &Value, (path, method): &OpKey) -> Loc {
    let item = doc::deref(ours, &["paths".to_owned(), path.clone()]);
    doc::join(&item, &[&method.to_lowercase()])
}

/// Whether some upstream operation still has a field whose schema in our document is the one
/// at `loc` (dereferenced, and allowing `value`, when `value` is given). Removing it from a
/// schema that several operations share would only trade one drift for another.
fn needed_elsewhere(ours: &Value, upstream: &Api, loc: &[String], value: Option<&str>) -> bool {
    let ours_api = Api::from_doc(ours);
    upstream.ops.iter().any(|(key, op)| {
        let Some(our_op) = ours_api.ops.get(key) else {
            return false;
        };
        let op_loc = operation_loc(ours, key);
        let request = op.body.iter().map(|b| (Section::Request, &b.fields));
        let responses = op.responses.iter().filter_map(|(status, r)| {
            r.fields
                .as_ref()
                .map(|f| (Section::Response(status.clone()), f))
        });
        request.chain(responses).any(|(section, fields)| {
            let schema = section_holder(ours, &op_loc, our_op, &section)
                .and_then(|holder| doc::media_schema(ours, &holder));
            let Some(schema) = schema else {
                return false;
            };
            fields.iter().any(|(path, node)| {
                let allows = |v: &str| {
                    node.enums
                        .as_ref()
                        .is_some_and(|e| e.iter().any(|x| x == v))
                };
                value.is_none_or(allows)
                    && walk(ours, &schema, path)
                        .map(|l| {
                            if value.is_some() {
                                doc::deref(ours, &l)
                            } else {
                                l
                            }
                        })
                        .is_some_and(|l| l == loc)
            })
        })
    })
}

fn change_field(
    ours: &mut Value,
    upstream: &Api,
    holder: &[String],
    field: &str,
    delta: &Delta,
    up: &Fields,
) -> Option<()> {
    let schema = doc::media_schema(ours, holder);
    if field.is_empty() {
        return match delta {
            Delta::Added => {
                let content = json_content(build(ours, up, "", "Body"));
                set(ours, holder, "content", content)
            }
            Delta::Removed => doc::remove(ours, &doc::join(holder, &["content"])).map(|_| ()),
            other => change_node(ours, &doc::deref(ours, &schema?), other, up.get(field)?),
        };
    }
    let schema = schema?;
    match delta {
        Delta::Added => {
            let parent = doc::deref(ours, &walk(ours, &schema, &parent_path(field)?)?);
            let last = segments(field).pop()?;
            let value = build(ours, up, field, "Value");
            match last.as_str() {
                "[]" => set(ours, &parent, "items", value),
                "{}" => set(ours, &parent, "additionalProperties", value),
                name => {
                    let holder = object_holder(ours, &parent);
                    if doc::get(ours, &doc::join(&holder, &["properties"])).is_none() {
                        set(ours, &holder, "properties", Value::Mapping(Mapping::new()))?;
                    }
                    set(ours, &doc::join(&holder, &["properties"]), name, value)
                }
            }
        }
        Delta::Removed => {
            let loc = walk(ours, &schema, field)?;
            if needed_elsewhere(ours, upstream, &loc, None) {
                return None;
            }
            doc::remove(ours, &loc)?;
            // A removed property must leave its object's `required` list too.
            if let [object @ .., properties, name] = loc.as_slice()
                && properties == "properties"
            {
                let required = doc::join(object, &["required"]);
                if let Some(list) = doc::get_mut(ours, &required).and_then(Value::as_sequence_mut) {
                    list.retain(|v| v.as_str() != Some(name));
                    if list.is_empty() {
                        doc::remove(ours, &required);
                    }
                }
            }
            Some(())
        }
        other => {
            let target = doc::deref(ours, &walk(ours, &schema, field)?);
            if let Delta::EnumRemoved(value) = other
                && needed_elsewhere(ours, upstream, &target, Some(value))
            {
                return None;
            }
            change_node(ours, &target, other, up.get(field)?)
        }
    }
}

/// Applies a type or enum change to the schema object at `target`.
fn change_node(ours: &mut Value, target: &[String], delta: &Delta, up: &Node) -> Option<()> {
    match delta {
        Delta::Type { .. } => {
            let [ty] = up.types.iter().collect::<Vec<_>>()[..] else {
                return None;
            };
            set(ours, target, "type", Value::String(ty.clone()))
        }
        Delta::EnumAdded(value) => {
            let enum_loc = doc::join(target, &["enum"]);
            if doc::get(ours, &enum_loc).is_none() {
                set(ours, target, "enum", Value::Sequence(Vec::new()))?;
            }
            let list = doc::get_mut(ours, &enum_loc)?.as_sequence_mut()?;
            // Several operations can report the same value of one shared enum.
            if !list
                .iter()
                .any(|v| doc::scalar_str(v).as_deref() == Some(value))
            {
                list.push(Value::String(value.clone()));
            }
            Some(())
        }
        Delta::EnumRemoved(value) => {
            let enum_loc = doc::join(target, &["enum"]);
            let list = doc::get_mut(ours, &enum_loc)?.as_sequence_mut()?;
            list.retain(|v| doc::scalar_str(v).as_deref() != Some(value));
            if list.is_empty() {
                doc::remove(ours, &enum_loc);
            }
            Some(())
        }
        _ => None,
    }
}

/// The location of the schema for field `path` below the schema at `start`, following `$ref`s
/// and looking into `allOf`/`oneOf`/`anyOf` branches.
fn walk(ours: &Value, start: &[String], path: &str) -> Option<Loc> {
    segments(path)
        .iter()
        .try_fold(start.to_vec(), |loc, seg| find_child(ours, &loc, seg))
}

fn find_child(ours: &Value, loc: &[String], seg: &str) -> Option<Loc> {
    let node_loc = doc::deref(ours, loc);
    let node = doc::map_at(ours, &node_loc)?;
    let direct = match seg {
        "[]" => node.get("items").map(|_| doc::join(&node_loc, &["items"])),
        "{}" => node
            .get("additionalProperties")
            .filter(|v| v.is_mapping())
            .map(|_| doc::join(&node_loc, &["additionalProperties"])),
        name => node
            .get("properties")
            .and_then(Value::as_mapping)
            .and_then(|props| doc::entry(props, name))
            .map(|_| doc::join(&node_loc, &["properties", name])),
    };
    direct.or_else(|| {
        ["allOf", "oneOf", "anyOf"].into_iter().find_map(|keyword| {
            let count = node
                .get(keyword)
                .and_then(Value::as_sequence)
                .map_or(0, Vec::len);
            (0..count).find_map(|i| {
                find_child(ours, &doc::join(&node_loc, &[keyword, &i.to_string()]), seg)
            })
        })
    })
}

/// Where a new property of the object at `loc` goes: the object itself, or for an `allOf`
/// without own properties, its first branch that has some.
fn object_holder(ours: &Value, loc: &[String]) -> Loc {
    let Some(node) = doc::map_at(ours, loc) else {
        return loc.to_vec();
    };
    let count = node
        .get("allOf")
        .and_then(Value::as_sequence)
        .map_or(0, Vec::len);
    if node.contains_key("properties") || count == 0 {
        return loc.to_vec();
    }
    (0..count)
        .map(|i| doc::deref(ours, &doc::join(loc, &["allOf", &i.to_string()])))
        .find(|branch| doc::map_at(ours, branch).is_some_and(|m| m.contains_key("properties")))
        .unwrap_or_else(|| loc.to_vec())
}

/// Adds a response keeping status keys in ascending order when they already are.
fn insert_status(
    ours: &mut Value,
    responses: &[String],
    status: &str,
    response: Value,
) -> Option<()> {
    if doc::get(ours, responses).is_none() {
        let (key, parent) = responses.split_last()?;
        set(ours, parent, key, Value::Mapping(Mapping::new()))?;
    }
    let map = doc::get_mut(ours, responses)?.as_mapping_mut()?;
    let mut entries: Vec<(Value, Value)> = std::mem::take(map).into_iter().collect();
    let at = entries
        .iter()
        .position(|(k, _)| doc::key_str(k).is_some_and(|k| k.as_str() > status))
        .unwrap_or(entries.len());
    entries.insert(at, (Value::String(status.to_owned()), response));
    *map = entries.into_iter().collect();
    Some(())
}

/// The location of parameter `key` in the operation or its path item.
fn find_param(ours: &Value, item_loc: &[String], op_loc: &[String], key: &ParamKey) -> Option<Loc> {
    let item = doc::deref(ours, item_loc);
    [op_loc.to_vec(), item]
        .iter()
        .flat_map(|holder| parameter_locs(ours, holder))
        .find(|loc| &parameter(ours, loc).0 == key)
}

#[cfg(test)]
mod tests {
    use crate::spec::model::child_path;

    #[test]
    fn child_paths_join() {
        assert_eq!(child_path("", "a"), "a");
        assert_eq!(child_path("a", "[]"), "a[]");
    }
}
