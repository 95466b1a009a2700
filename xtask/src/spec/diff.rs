//! Structural comparison of the upstream document with ours.

use std::fmt;

use super::doc::is_error_status;
use super::model::{Api, Fields, Node, OpKey, Operation, ParamKey, parent_path};

/// Where in an operation a field lives.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    /// The request body.
    Request,
    /// The body of the response with this status key (upstream's key).
    Response(String),
}

/// How one item differs; "added"/"removed" are from upstream's point of view.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Delta {
    /// Upstream has it, ours does not.
    Added,
    /// Ours has it, upstream does not.
    Removed,
    /// The declared types differ.
    Type {
        /// Ours.
        ours: String,
        /// Upstream's.
        upstream: String,
    },
    /// Upstream allows a value ours does not.
    EnumAdded(String),
    /// Ours allows a value upstream does not.
    EnumRemoved(String),
    /// A parameter's `required` flag differs; this is upstream's.
    Required(bool),
}

/// The item that differs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Item {
    /// The whole operation (only `Added` / `Removed`).
    Operation,
    /// A parameter.
    Param(ParamKey),
    /// The presence of a request body (only `Added` / `Removed`).
    RequestBody,
    /// A response status (only `Added` / `Removed`).
    Status(String),
    /// A body field; path `""` is the body itself.
    Field(Section, String),
}

/// One difference.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Drift {
    /// The operation it belongs to.
    pub op: OpKey,
    /// What differs.
    pub item: Item,
    /// How.
    pub delta: Delta,
}

/// Every structural difference of `ours` from `upstream`, sorted.
pub fn diff(upstream: &Api, ours: &Api) -> Vec<Drift> {
    let mut out = Vec::new();
    for (key, up) in &upstream.ops {
        match ours.ops.get(key) {
            Some(our) => operation(key, up, our, &mut out),
            None => out.push(drift(key, Item::Operation, Delta::Added)),
        }
    }
    for (key, our) in &ours.ops {
        if !upstream.ops.contains_key(key) && !our.local {
            out.push(drift(key, Item::Operation, Delta::Removed));
        }
    }
    out.sort();
    out.dedup();
    out
}

fn drift(op: &OpKey, item: Item, delta: Delta) -> Drift {
    Drift {
        op: op.clone(),
        item,
        delta,
    }
}

/// Ours' response key covering upstream's `status`: the same key, else a range such as `5XX`,
/// else (for error statuses) `default`.
pub fn covering_status<'a>(ours: &'a Operation, status: &str) -> Option<&'a str> {
    let range = status.get(..1).map(|first| format!("{first}XX"));
    let candidates = [Some(status.to_owned()), range, Some("default".to_owned())];
    candidates
        .into_iter()
        .flatten()
        .filter(|key| key != "default" || is_error_status(status))
        .find_map(|key| {
            ours.responses
                .get_key_value(key.as_str())
                .map(|(k, _)| k.as_str())
        })
        .or_else(|| {
            // Ranges may be written in lower case.
            let lower = status.get(..1).map(|first| format!("{first}xx"))?;
            ours.responses
                .get_key_value(lower.as_str())
                .map(|(k, _)| k.as_str())
        })
}

fn operation(key: &OpKey, up: &Operation, ours: &Operation, out: &mut Vec<Drift>) {
    for (pkey, param) in &up.params {
        let item = || Item::Param(pkey.clone());
        match ours.params.get(pkey) {
            None => out.push(drift(key, item(), Delta::Added)),
            Some(our) => {
                if our.required != param.required {
                    out.push(drift(key, item(), Delta::Required(param.required)));
                }
                for delta in node_deltas(&param.node, &our.node) {
                    out.push(drift(key, item(), delta));
                }
            }
        }
    }
    for (pkey, our) in &ours.params {
        if !up.params.contains_key(pkey) && !our.node.local {
            out.push(drift(key, Item::Param(pkey.clone()), Delta::Removed));
        }
    }

    match (&up.body, &ours.body) {
        (Some(_), None) => out.push(drift(key, Item::RequestBody, Delta::Added)),
        (None, Some(our)) if !our.local => out.push(drift(key, Item::RequestBody, Delta::Removed)),
        (Some(up), Some(our)) => fields(key, Section::Request, &up.fields, &our.fields, false, out),
        _ => {}
    }

    let mut covered = Vec::new();
    for (status, up_resp) in &up.responses {
        let Some(our_status) = covering_status(ours, status) else {
            out.push(drift(key, Item::Status(status.clone()), Delta::Added));
            continue;
        };
        covered.push(our_status);
        let our_resp = &ours.responses[our_status];
        let empty = Fields::new();
        let up_fields = up_resp.fields.as_ref().unwrap_or(&empty);
        let our_fields = our_resp.fields.as_ref().unwrap_or(&empty);
        // Ours may say more in error bodies (it shares one superset schema among them).
        let superset_ok = is_error_status(status) || our_resp.local;
        let section = Section::Response(status.clone());
        fields(key, section, up_fields, our_fields, superset_ok, out);
    }
    for (status, our) in &ours.responses {
        if !covered.contains(&status.as_str()) && !is_error_status(status) && !our.local {
            out.push(drift(key, Item::Status(status.clone()), Delta::Removed));
        }
    }
}

fn fields(
    key: &OpKey,
    section: Section,
    up: &Fields,
    ours: &Fields,
    superset_ok: bool,
    out: &mut Vec<Drift>,
) {
    let item = |path: &str| Item::Field(section.clone(), path.to_owned());
    for (path, up_node) in up {
        match ours.get(path) {
            Some(our) => {
                for delta in node_deltas(up_node, our) {
                    out.push(drift(key, item(path), delta));
                }
            }
            // Only the topmost missing path is reported; its descendants go with it.
            None if parent_path(path).is_none_or(|p| ours.contains_key(&p)) => {
                out.push(drift(key, item(path), Delta::Added));
            }
            None => {}
        }
    }
    if superset_ok {
        return;
    }
    for (path, our) in ours {
        let topmost = parent_path(path).is_none_or(|p| up.contains_key(&p));
        if !up.contains_key(path) && !our.local && topmost {
            out.push(drift(key, item(path), Delta::Removed));
        }
    }
}

fn node_deltas(up: &Node, ours: &Node) -> Vec<Delta> {
    let mut out = Vec::new();
    let (up_types, our_types) = (up.wire_types(), ours.wire_types());
    if !up_types.is_empty() && !our_types.is_empty() && up_types != our_types {
        out.push(Delta::Type {
            ours: ours.types.iter().cloned().collect::<Vec<_>>().join("|"),
            upstream: up.types.iter().cloned().collect::<Vec<_>>().join("|"),
        });
    }
    let none = Vec::new();
    let our_enums = ours.enums.as_ref().unwrap_or(&none);
    let up_enums = up.enums.as_ref().unwrap_or(&none);
    let missing = |from: &Vec<String>, of: &Vec<String>| {
        of.iter()
            .filter(|v| !from.contains(v))
            .cloned()
            .collect::<Vec<_>>()
    };
    if up.enums.is_some() {
        out.extend(
            missing(our_enums, up_enums)
                .into_iter()
                .map(Delta::EnumAdded),
        );
    }
    if ours.enums.is_some() && !ours.local {
        out.extend(
            missing(up_enums, our_enums)
                .into_iter()
                .map(Delta::EnumRemoved),
        );
    }
    out
}

fn describe_param((location, name): &ParamKey) -> String {
    format!("{location} parameter `{name}`")
}

fn describe_field(section: &Section, path: &str) -> String {
    let place = match section {
        Section::Request => "request".to_owned(),
        Section::Response(status) => format!("response {status}"),
    };
    if path.is_empty() {
        format!("{place} body")
    } else {
        format!("{place} field `{path}`")
    }
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (path, method) = &self.op;
        let what = match &self.item {
            Item::Operation => "operation".to_owned(),
            Item::Param(p) => describe_param(p),
            Item::RequestBody => "request body".to_owned(),
            Item::Status(s) => format!("response status {s}"),
            Item::Field(section, field) => describe_field(section, field),
        };
        match &self.delta {
            Delta::Added => write!(f, "+ {method} {path}: upstream adds {what}"),
            Delta::Removed => write!(f, "- {method} {path}: upstream removes {what}"),
            Delta::Type { ours, upstream } => {
                write!(
                    f,
                    "~ {method} {path}: {what} changes type: ours {ours}, upstream {upstream}"
                )
            }
            Delta::EnumAdded(v) => write!(
                f,
                "+ {method} {path}: upstream adds enum value `{v}` to {what}"
            ),
            Delta::EnumRemoved(v) => {
                write!(
                    f,
                    "- {method} {path}: upstream removes enum value `{v}` from {what}"
                )
            }
            Delta::Required(req) => {
                let now = if *req { "required" } else { "optional" };
                write!(f, "~ {method} {path}: {what} is {now} upstream")
            }
        }
    }
}
