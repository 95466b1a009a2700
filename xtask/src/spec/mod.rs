//! `cargo xtask update-spec`: compares the structure of Cloudflare's published SFU OpenAPI
//! document with `openapi/sfu.yaml`, and with `--write` merges upstream's changes into ours.

mod comments;
mod create;
mod diff;
mod doc;
mod layout;
mod model;
mod splice;
mod write;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml::Value;

use diff::{Drift, diff};
use model::Api;

/// Where Cloudflare publishes the SFU OpenAPI document (linked from the Realtime SFU
/// "Connection API" page of developers.cloudflare.com).
pub const UPSTREAM_URL: &str =
    "https://developers.cloudflare.com/realtime/static/calls-api-2024-05-21.yaml";

/// `--write` gives up after this many merge rounds (each round can uncover finer drift, such
/// as the fields of a status it just added).
const MAX_ROUNDS: usize = 4;

/// Failures of `update-spec` other than drift.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A document could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The upstream document could not be downloaded.
    #[error("cannot download {url}: {reason}")]
    Download {
        /// The address.
        url: String,
        /// Why.
        reason: String,
    },
    /// A document is not YAML.
    #[error("{what} is not valid YAML: {source}")]
    Parse {
        /// Which document.
        what: String,
        /// Why.
        source: serde_yaml::Error,
    },
    /// The merged document would no longer be a valid OpenAPI document; nothing was written.
    #[error("the merged document is not valid OpenAPI 3 (nothing written): {0}")]
    Invalid(serde_yaml::Error),
    /// The merged document could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// What `update-spec` was asked to do.
#[derive(Debug)]
pub struct Options {
    /// Upstream: a path or an `http(s)://` address.
    pub from: String,
    /// Our document.
    pub spec: PathBuf,
    /// Merge upstream's changes into ours.
    pub write: bool,
}

/// Compares (and with `write` merges); returns whether ours is free of drift at the end.
pub fn run(options: &Options) -> Result<bool, Error> {
    let upstream_text = load(&options.from)?;
    let ours_text = std::fs::read_to_string(&options.spec).map_err(|source| Error::Read {
        path: options.spec.clone(),
        source,
    })?;
    let upstream_doc = parse(&upstream_text, &options.from)?;
    let mut ours_doc = parse(&ours_text, &options.spec.display().to_string())?;
    let upstream = Api::from_doc(&upstream_doc);
    let drifts = diff(&upstream, &Api::from_doc(&ours_doc));
    let source = format!("{} vs {}", options.spec.display(), options.from);
    if drifts.is_empty() {
        println!("update-spec: no drift ({source})");
        return Ok(true);
    }
    println!("update-spec: {} drift item(s) ({source}):", drifts.len());
    print_all(&drifts);
    if !options.write {
        println!(
            "update-spec: rerun with --write to merge upstream's structure into {}",
            options.spec.display()
        );
        return Ok(false);
    }

    let original_doc = ours_doc.clone();
    let mut remaining = drifts;
    for _ in 0..MAX_ROUNDS {
        write::apply(&mut ours_doc, &upstream, &remaining);
        let next = diff(&upstream, &Api::from_doc(&ours_doc));
        let stuck = next == remaining;
        remaining = next;
        if remaining.is_empty() || stuck {
            break;
        }
    }
    let new_enums: Vec<String> = enum_schemas(&ours_doc)
        .into_iter()
        .filter(|name| !enum_schemas(&original_doc).contains(name))
        .collect();
    if !new_enums.is_empty() {
        // build.rs swaps named enums for lenient handwritten ones; new ones need that too.
        println!(
            "update-spec: new enum schema(s) {}: add them to WIRE_ENUMS in build.rs and to src/wire.rs",
            new_enums.join(", ")
        );
    }
    if ours_doc == original_doc {
        println!(
            "update-spec: nothing could be merged automatically; {} unchanged",
            options.spec.display()
        );
    } else {
        save(&options.spec, &ours_text, &ours_doc)?;
    }
    if remaining.is_empty() {
        println!(
            "update-spec: merged; no drift left. Fill in every \"{}\"",
            create::PLACEHOLDER
        );
        Ok(true)
    } else {
        println!(
            "update-spec: merged what it could; {} item(s) need a manual edit:",
            remaining.len()
        );
        print_all(&remaining);
        println!(
            "update-spec: such items usually sit in a schema several operations share while upstream \
             changed only some of them: split the schema, or mark our extra x-local"
        );
        Ok(false)
    }
}

/// Names of the component schemas that are enumerations.
fn enum_schemas(root: &Value) -> Vec<String> {
    let schemas = ["components".to_owned(), "schemas".to_owned()];
    doc::map_at(root, &schemas)
        .into_iter()
        .flat_map(|map| map.iter())
        .filter(|(_, schema)| schema.get("enum").is_some())
        .filter_map(|(name, _)| doc::key_str(name))
        .collect()
}

fn print_all(drifts: &[Drift]) {
    let mut lines: Vec<String> = drifts.iter().map(ToString::to_string).collect();
    lines.sort();
    for line in lines {
        println!("  {line}");
    }
}

fn load(from: &str) -> Result<String, Error> {
    if !(from.starts_with("https://") || from.starts_with("http://")) {
        return std::fs::read_to_string(from).map_err(|source| Error::Read {
            path: from.into(),
            source,
        });
    }
    let failed = |reason: String| Error::Download {
        url: from.to_owned(),
        reason,
    };
    // curl keeps xtask free of an HTTP/TLS stack; it is present wherever cargo fetches crates.
    let output = Command::new("curl")
        .args([
            "--fail",
            "--silent",
            "--show-error",
            "--location",
            "--max-time",
            "60",
            from,
        ])
        .output()
        .map_err(|e| failed(format!("cannot run curl: {e}")))?;
    if !output.status.success() {
        return Err(failed(
            String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        ));
    }
    String::from_utf8(output.stdout).map_err(|e| failed(e.to_string()))
}

fn parse(text: &str, what: &str) -> Result<Value, Error> {
    serde_yaml::from_str(text).map_err(|source| Error::Parse {
        what: what.to_owned(),
        source,
    })
}

fn save(path: &Path, original: &str, merged: &Value) -> Result<(), Error> {
    let before = parse(original, &path.display().to_string())?;
    let text = match splice::edit(original, &before, merged) {
        Some(text) => {
            println!(
                "update-spec: wrote {} (only the changed entries were rewritten)",
                path.display()
            );
            text
        }
        None => {
            let rendered = serde_yaml::to_string(merged).map_err(Error::Invalid)?;
            let (text, dropped) = comments::reattach(original, &rendered);
            println!(
                "update-spec: wrote {} re-serialized as a whole: formatting changed, end-of-line comments \
                 and {dropped} comment block(s) were lost; review the diff",
                path.display()
            );
            text
        }
    };
    serde_yaml::from_str::<openapiv3::OpenAPI>(&text).map_err(Error::Invalid)?;
    std::fs::write(path, &text).map_err(|source| Error::Write {
        path: path.to_owned(),
        source,
    })
}
