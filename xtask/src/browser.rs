//! `cargo xtask browser`: the browser library's message types, `browser/src/updates.ts`, are
//! generated from the room channel's JSON Schema as its reviewed snapshot records it, so the
//! TypeScript follows every protocol change a review accepted, and `--check` (a step of
//! `cargo xtask ci`) fails when either the types or the committed build `browser/dist/` lag.
//!
//! The generator knows the few shapes schemars gives the room's types and nothing more:
//! whatever else it meets is an error naming where, so a new construct gets a decision
//! instead of an `any`.

use std::ffi::OsStr;
use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::{Map, Value};

use crate::ci;

/// The schema's reviewed copy, relative to the workspace root.
pub const SNAPSHOT: &str = "tests/room/snapshots/room__schema__room_update_schema_is_stable.snap";
/// The library's folder (package.json, tsconfig.json) and what is generated and built in it.
const PACKAGE: &str = "browser";
const OUTPUT: &str = "browser/src/updates.ts";
const DIST: &str = "browser/dist";

/// Writes the types and builds the library, or with `check` only compares; returns whether
/// everything committed was up to date.
pub fn run(root: &Path, check: bool) -> Result<bool, String> {
    let snapshot =
        fs::read_to_string(root.join(SNAPSHOT)).map_err(|e| format!("reading {SNAPSHOT}: {e}"))?;
    let generated = generate(&snapshot_json(&snapshot)?)?;
    if !root.join(PACKAGE).join("node_modules").is_dir() {
        ci::npm_ci(root, PACKAGE)?;
    }
    if !check {
        fs::write(root.join(OUTPUT), generated).map_err(|e| format!("writing {OUTPUT}: {e}"))?;
        println!("browser: wrote {OUTPUT}");
        // tsc leaves the output of a deleted source behind, which --check would then report.
        let _ = fs::remove_dir_all(root.join(DIST));
        return tsc(root, &[]).map(|()| true);
    }
    let mut stale = Vec::new();
    if fs::read_to_string(root.join(OUTPUT)).ok().as_ref() != Some(&generated) {
        stale.push(format!("{OUTPUT} is not up to date"));
    }
    // A build of our own to compare with: tsc's output is a function of the sources.
    let built = std::env::temp_dir().join(format!("xtask-browser-{}", std::process::id()));
    let _ = fs::remove_dir_all(&built);
    let compared = tsc(root, &[OsStr::new("--outDir"), built.as_os_str()])
        .and_then(|()| differing(&built, &root.join(DIST)).map_err(|e| e.to_string()));
    let _ = fs::remove_dir_all(&built);
    stale.extend(
        compared?
            .into_iter()
            .map(|file| format!("{DIST}/{file} is not up to date")),
    );
    stale.extend(unpacked(root)?);
    for file in &stale {
        eprintln!("browser: {file}");
    }
    if !stale.is_empty() {
        eprintln!("browser: run `cargo xtask browser` and commit the result");
    }
    Ok(stale.is_empty())
}

/// What the package must carry, as `npm pack` would pack it.
const PACKED: [&str; 4] = [
    "package.json",
    "README.md",
    "dist/index.js",
    "dist/index.d.ts",
];

/// The files of [`PACKED`] that `npm pack --dry-run` would leave out (a `files` entry gone
/// wrong), named as missing from the package.
fn unpacked(root: &Path) -> Result<Vec<String>, String> {
    let output = Command::new("npm")
        .args(["pack", "--dry-run", "--json", "--ignore-scripts"])
        .current_dir(root.join(PACKAGE))
        .output()
        .map_err(|e| format!("cannot run npm pack: {e}"))?;
    if !output.status.success() {
        return Err(format!("npm pack --dry-run exited with {}", output.status));
    }
    let report: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("npm pack --dry-run --json: {e}"))?;
    let packed: Vec<&str> = report
        .pointer("/0/files")
        .and_then(Value::as_array)
        .map(|files| files.iter().filter_map(|f| f["path"].as_str()).collect())
        .unwrap_or_default();
    Ok(PACKED
        .iter()
        .filter(|file| !packed.contains(file))
        .map(|file| format!("npm pack leaves {file} out of the package"))
        .collect())
}

/// Compiles the library with its own tsconfig.json, as `npm ci` installed TypeScript.
fn tsc(root: &Path, extra: &[&OsStr]) -> Result<(), String> {
    let tsc = Path::new(PACKAGE).join("node_modules/.bin/tsc");
    let args: Vec<&OsStr> = [OsStr::new("-p"), OsStr::new(PACKAGE)]
        .into_iter()
        .chain(extra.iter().copied())
        .collect();
    let shown: Vec<_> = args.iter().map(|arg| arg.to_string_lossy()).collect();
    println!("browser: $ {} {}", tsc.display(), shown.join(" "));
    match Command::new(root.join(&tsc))
        .args(args)
        .current_dir(root)
        .status()
    {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("tsc exited with {status}")),
        Err(e) => Err(format!("cannot run {}: {e}", tsc.display())),
    }
}

/// The files, relative and with `/`, that are in one folder and not the same in the other.
fn differing(built: &Path, committed: &Path) -> std::io::Result<Vec<String>> {
    let (mut built_files, mut committed_files) = (Vec::new(), Vec::new());
    list(built, "", &mut built_files)?;
    if committed.is_dir() {
        list(committed, "", &mut committed_files)?;
    }
    let mut all: Vec<&String> = built_files.iter().chain(&committed_files).collect();
    all.sort();
    all.dedup();
    Ok(all
        .into_iter()
        .filter(|file| fs::read(built.join(file)).ok() != fs::read(committed.join(file)).ok())
        .cloned()
        .collect())
}

fn list(dir: &Path, prefix: &str, files: &mut Vec<String>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        if entry.file_type()?.is_dir() {
            list(&entry.path(), &format!("{name}/"), files)?;
        } else {
            files.push(name);
        }
    }
    Ok(())
}

/// The JSON after an insta snapshot's front matter (`---`, metadata, `---`).
fn snapshot_json(snapshot: &str) -> Result<Value, String> {
    let json = snapshot
        .strip_prefix("---\n")
        .and_then(|rest| rest.split_once("\n---\n"))
        .map(|(_, json)| json)
        .ok_or_else(|| format!("{SNAPSHOT}: no `---` front matter"))?;
    serde_json::from_str(json).map_err(|e| format!("{SNAPSHOT}: {e}"))
}

/// Keywords that never change a TypeScript type: allowed anywhere, ignored.
const ANNOTATIONS: &[&str] = &["description", "format", "minimum", "maximum", "title"];

/// A schema object and its JSON pointer, for errors.
struct Schema<'a> {
    map: &'a Map<String, Value>,
    pointer: String,
}

impl<'a> Schema<'a> {
    fn new(value: &'a Value, pointer: String) -> Result<Self, String> {
        match value {
            Value::Object(map) => Ok(Self { map, pointer }),
            _ => Err(format!("#{pointer}: expected a schema object")),
        }
    }

    fn error(&self, what: &str) -> String {
        format!("#{}: {what}", self.pointer)
    }

    fn child(&self, key: &str) -> Result<Schema<'a>, String> {
        let value = self
            .map
            .get(key)
            .ok_or_else(|| self.error(&format!("no `{key}`")))?;
        Schema::new(value, format!("{}/{}", self.pointer, escape(key)))
    }

    fn description(&self) -> Option<&'a str> {
        self.map.get("description").and_then(Value::as_str)
    }

    fn is(&self, kind: &str) -> bool {
        self.map.get("type").and_then(Value::as_str) == Some(kind)
    }

    /// Fails on any keyword besides `understood` and the [`ANNOTATIONS`].
    fn only(&self, understood: &[&str]) -> Result<(), String> {
        match self
            .map
            .keys()
            .find(|k| !understood.contains(&k.as_str()) && !ANNOTATIONS.contains(&k.as_str()))
        {
            Some(keyword) => Err(self.error(&format!("unsupported keyword `{keyword}`"))),
            None => Ok(()),
        }
    }

    /// The schemas of an object keyword (`definitions`, `properties`), in the JSON's order.
    fn entries(&self, key: &str) -> Result<Vec<(&'a str, Schema<'a>)>, String> {
        let Some(Value::Object(entries)) = self.map.get(key) else {
            return Err(self.error(&format!("`{key}` must be an object")));
        };
        let at = |name: &str| format!("{}/{key}/{}", self.pointer, escape(name));
        entries
            .iter()
            .map(|(name, value)| Ok((name.as_str(), Schema::new(value, at(name))?)))
            .collect()
    }

    /// The schemas of an array keyword (`oneOf`, `anyOf`, `allOf`).
    fn items(&self, key: &str) -> Result<Vec<Schema<'a>>, String> {
        let Some(Value::Array(items)) = self.map.get(key) else {
            return Err(self.error(&format!("`{key}` must be an array")));
        };
        let at = |i: usize| format!("{}/{key}/{i}", self.pointer);
        (items.iter().enumerate())
            .map(|(i, item)| Schema::new(item, at(i)))
            .collect()
    }
}

/// A key as a JSON pointer segment (RFC 6901).
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The TypeScript module for a `RoomUpdate` schema.
pub fn generate(schema: &Value) -> Result<String, String> {
    let root = Schema::new(schema, String::new())?;
    root.only(&[
        "$schema",
        "definitions",
        "oneOf",
        "properties",
        "required",
        "type",
    ])?;
    if !root.is("object") {
        return Err(root.error("expected `\"type\": \"object\"`"));
    }
    let mut out = format!("// Generated by `cargo xtask browser` from {SNAPSHOT}; do not edit.\n");
    if root.map.contains_key("definitions") {
        for (name, schema) in root.entries("definitions")? {
            out += "\n";
            out += &definition(name, &schema)?;
        }
    }
    let mut union = String::new();
    for schema in root.items("oneOf")? {
        let (name, source) = variant(&schema)?;
        out += "\n";
        out += &source;
        union += &format!("\n  | {name}");
    }
    out += &format!(
        "\n/** One of the room's events, told apart by `type`. */\n\
         export type RoomEvent ={union};\n"
    );
    out += &format!(
        "\n{}export type RoomUpdate = RoomEvent & {};\n",
        doc(root.description(), 0),
        body(&properties(&root)?, 0)
    );
    Ok(out)
}

/// A definition: a string enum or an object.
fn definition(name: &str, schema: &Schema) -> Result<String, String> {
    let comment = doc(schema.description(), 0);
    if schema.is("object") {
        schema.only(&["type", "properties", "required"])?;
        Ok(format!(
            "{comment}export interface {name} {}\n",
            body(&properties(schema)?, 0)
        ))
    } else if schema.is("string") && schema.map.contains_key("enum") {
        Ok(format!(
            "{comment}export type {name} = {};\n",
            ts_type(schema)?
        ))
    } else {
        Err(schema.error("a definition must be a string enum or an object"))
    }
}

/// A variant of the `oneOf`: an object whose `type` is one string, which names it. Returns the
/// name and the declaration.
fn variant(schema: &Schema) -> Result<(String, String), String> {
    schema.only(&["type", "properties", "required", "anyOf"])?;
    let tag = schema.child("properties")?.child("type")?;
    let values = tag.map.get("enum").and_then(Value::as_array);
    let name: String = match values.map(Vec::as_slice) {
        Some([Value::String(tag)]) => tag.split('_').map(capitalized).collect(),
        _ => return Err(tag.error("a variant's `type` must be an enum of one string")),
    };
    if !is_identifier(&name) {
        return Err(tag.error(&format!("`{name}` is no TypeScript name")));
    }
    let mut fields = properties(schema)?;
    // The discriminant leads, as it does in every switch over the events.
    match fields.iter().position(|f| f.name == "type" && !f.optional) {
        Some(i) => fields[..=i].rotate_right(1),
        None => return Err(schema.error("a variant's `type` must be required")),
    }
    let comment = doc(schema.description(), 0);
    if !schema.map.contains_key("anyOf") {
        let declaration = format!("{comment}export interface {name} {}\n", body(&fields, 0));
        return Ok((name, declaration));
    }
    // The fields that take turns (a message's `text` or `binary`): an intersection with their
    // union, which TypeScript narrows with `in`.
    let mut alternatives = String::new();
    for alternative in schema.items("anyOf")? {
        alternative.only(&["type", "properties", "required"])?;
        let fields = body(&properties(&alternative)?, 2);
        alternatives += &format!("{}  | {fields}\n", doc(alternative.description(), 1));
    }
    let declaration = format!(
        "{comment}export type {name} = {} & (\n{alternatives});\n",
        body(&fields, 0)
    );
    Ok((name, declaration))
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

fn is_identifier(name: &str) -> bool {
    name.starts_with(|c: char| !c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// An object's property as TypeScript declares it.
struct Field<'a> {
    name: &'a str,
    description: Option<&'a str>,
    optional: bool,
    ts: String,
}

/// The properties of an object schema, in the JSON's order.
fn properties<'a>(object: &Schema<'a>) -> Result<Vec<Field<'a>>, String> {
    if !object.is("object") {
        return Err(object.error("expected `\"type\": \"object\"`"));
    }
    let required = match object.map.get("required") {
        None => Vec::new(),
        Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
        Some(_) => return Err(object.error("`required` must be an array")),
    };
    object
        .entries("properties")?
        .into_iter()
        .map(|(name, schema)| {
            Ok(Field {
                name,
                description: schema.description(),
                optional: !required.contains(&name),
                ts: ts_type(&schema)?,
            })
        })
        .collect()
}

/// `{ ... }` with a field a line at `indent + 1`, and the closing brace at `indent`.
fn body(fields: &[Field], indent: usize) -> String {
    let pad = "  ".repeat(indent + 1);
    let mut out = String::from("{\n");
    for field in fields {
        let name = if is_identifier(field.name) {
            field.name.to_owned()
        } else {
            Value::from(field.name).to_string()
        };
        let optional = if field.optional { "?" } else { "" };
        out += &doc(field.description, indent + 1);
        out += &format!("{pad}{name}{optional}: {};\n", field.ts);
    }
    out + &"  ".repeat(indent) + "}"
}

/// The TypeScript for a property's or an item's schema.
fn ts_type(schema: &Schema) -> Result<String, String> {
    if let Some(target) = schema.map.get("$ref") {
        schema.only(&["$ref"])?;
        return match target
            .as_str()
            .and_then(|t| t.strip_prefix("#/definitions/"))
        {
            Some(name) if !name.contains('/') => Ok(name.to_owned()),
            _ => Err(schema.error("a `$ref` must be `#/definitions/<name>`")),
        };
    }
    if schema.map.contains_key("allOf") {
        // How schemars gives a `$ref` a description of its own.
        schema.only(&["allOf"])?;
        return match &schema.items("allOf")?[..] {
            [only] => ts_type(only),
            _ => Err(schema.error("an `allOf` must have one schema")),
        };
    }
    let (kind, nullable) = match schema.map.get("type") {
        Some(Value::String(kind)) => (kind.as_str(), false),
        Some(Value::Array(kinds)) => match &kinds[..] {
            [Value::String(kind), Value::String(null)] if null == "null" => (kind.as_str(), true),
            _ => return Err(schema.error("a `type` list must be `[<type>, \"null\"]`")),
        },
        _ => return Err(schema.error("expected `type`, `$ref` or `allOf`")),
    };
    let ts = match kind {
        "string" if schema.map.contains_key("enum") => {
            schema.only(&["type", "enum"])?;
            let literals = (schema.map.get("enum").and_then(Value::as_array))
                .filter(|values| !values.is_empty() && values.iter().all(Value::is_string))
                .ok_or_else(|| schema.error("an `enum` must be a list of strings"))?;
            let literals: Vec<String> = literals.iter().map(Value::to_string).collect();
            literals.join(" | ")
        }
        "string" | "integer" | "number" | "boolean" => {
            schema.only(&["type"])?;
            match kind {
                "integer" => "number",
                kind => kind,
            }
            .to_owned()
        }
        "array" => {
            schema.only(&["type", "items"])?;
            let item = ts_type(&schema.child("items")?)?;
            if item.contains(' ') {
                format!("({item})[]")
            } else {
                format!("{item}[]")
            }
        }
        _ => return Err(schema.error(&format!("unsupported `type` `{kind}`"))),
    };
    Ok(if nullable { format!("{ts} | null") } else { ts })
}

/// A JSDoc comment at `indent`, or nothing without a description.
fn doc(description: Option<&str>, indent: usize) -> String {
    let Some(text) = description else {
        return String::new();
    };
    let pad = "  ".repeat(indent);
    // The one sequence that would end the comment early.
    let text = text.replace("*/", "*\\/");
    if !text.contains('\n') {
        return format!("{pad}/** {text} */\n");
    }
    let mut out = format!("{pad}/**\n");
    for line in text.lines() {
        out += &format!("{pad} *{}{line}\n", if line.is_empty() { "" } else { " " });
    }
    out + &pad + " */\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "definitions": {
                "Color": {"enum": ["red", "green"], "type": "string"},
                "Pen": {
                    "description": "A pen.",
                    "properties": {
                        "color": {
                            "allOf": [{"$ref": "#/definitions/Color"}],
                            "description": "Its ink."
                        },
                        "label": {"description": "Written on it.", "type": ["string", "null"]},
                        "sizes": {
                            "items": {"format": "uint8", "minimum": 0.0, "type": "integer"},
                            "type": "array"
                        }
                    },
                    "required": ["color"],
                    "type": "object"
                }
            },
            "description": "An event and its number.",
            "oneOf": [
                {
                    "description": "Drawn.",
                    "properties": {
                        "pens": {"items": {"$ref": "#/definitions/Pen"}, "type": "array"},
                        "type": {"enum": ["line_drawn"], "type": "string"}
                    },
                    "required": ["pens", "type"],
                    "type": "object"
                },
                {
                    "anyOf": [
                        {
                            "properties": {"text": {"type": "string"}},
                            "required": ["text"],
                            "type": "object"
                        },
                        {
                            "description": "Or bytes.",
                            "properties": {
                                "bytes": {"items": {"type": "integer"}, "type": "array"}
                            },
                            "required": ["bytes"],
                            "type": "object"
                        }
                    ],
                    "properties": {"type": {"enum": ["note"], "type": "string"}},
                    "required": ["type"],
                    "type": "object"
                }
            ],
            "properties": {"seq": {"description": "Its number.", "type": "integer"}},
            "required": ["seq"],
            "title": "Update",
            "type": "object"
        })
    }

    #[test]
    fn generates_each_shape() {
        let expected = format!(
            "// Generated by `cargo xtask browser` from {SNAPSHOT}; do not edit.\n{}",
            r#"
export type Color = "red" | "green";

/** A pen. */
export interface Pen {
  /** Its ink. */
  color: Color;
  /** Written on it. */
  label?: string | null;
  sizes?: number[];
}

/** Drawn. */
export interface LineDrawn {
  type: "line_drawn";
  pens: Pen[];
}

export type Note = {
  type: "note";
} & (
  | {
      text: string;
    }
  /** Or bytes. */
  | {
      bytes: number[];
    }
);

/** One of the room's events, told apart by `type`. */
export type RoomEvent =
  | LineDrawn
  | Note;

/** An event and its number. */
export type RoomUpdate = RoomEvent & {
  /** Its number. */
  seq: number;
};
"#
        );
        assert_eq!(generate(&schema()).unwrap(), expected);
    }

    #[test]
    fn an_unknown_construct_is_an_error_naming_where() {
        let mut schema = schema();
        // `const` narrows the type: ignoring it would declare a wider one.
        schema["definitions"]["Pen"]["properties"]["label"] =
            json!({"const": "x", "type": "string"});
        assert_eq!(
            generate(&schema).unwrap_err(),
            "#/definitions/Pen/properties/label: unsupported keyword `const`"
        );
        let mut schema = self::schema();
        schema["oneOf"][0]["properties"]["pens"]["items"] = json!({"type": "object"});
        assert_eq!(
            generate(&schema).unwrap_err(),
            "#/oneOf/0/properties/pens/items: unsupported `type` `object`"
        );
    }

    #[test]
    fn a_variant_without_one_type_is_an_error() {
        let mut schema = schema();
        schema["oneOf"][1]["properties"]["type"]["enum"] = json!(["note", "memo"]);
        assert_eq!(
            generate(&schema).unwrap_err(),
            "#/oneOf/1/properties/type: a variant's `type` must be an enum of one string"
        );
    }

    #[test]
    fn multi_line_descriptions_are_block_comments() {
        assert_eq!(
            doc(Some("One.\n\nTwo */ three."), 1),
            "  /**\n   * One.\n   *\n   * Two *\\/ three.\n   */\n"
        );
    }

    #[test]
    fn the_snapshot_parses() {
        let snapshot = fs::read_to_string(crate::workspace_root().join(SNAPSHOT)).unwrap();
        generate(&snapshot_json(&snapshot).unwrap()).unwrap();
    }
}
