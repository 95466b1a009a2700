//! `cargo xtask update-spec` end to end: drift reports, `--write` merges, and the project's
//! document against the reference copy of upstream's.

use std::path::{Path, PathBuf};
use std::process::Command;

const REFERENCE: &str = "../../shared/reference/realtime-api-2024-05-21.yaml";

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A private directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("xtask-update-spec-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn xtask(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn update_spec(upstream: &Path, ours: &Path, write: bool) -> Run {
    let (from, spec) = (upstream.to_str().unwrap(), ours.to_str().unwrap());
    let mut args = vec!["update-spec", "--from", from, "--spec", spec];
    if write {
        args.push("--write");
    }
    xtask(&args)
}

/// `text` with the first `from` replaced; panics if `from` is absent, so a stale edit cannot
/// make a test pass vacuously.
fn edited(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "edit target not found: {from:?}");
    text.replacen(from, to, 1)
}

fn assert_reports(run: &Run, lines: &[&str]) {
    assert_eq!(
        run.code, 1,
        "drift must exit 1\n{}{}",
        run.stdout, run.stderr
    );
    for line in lines {
        assert!(
            run.stdout.lines().any(|l| l.trim() == *line),
            "missing `{line}` in:\n{}",
            run.stdout
        );
    }
}

#[test]
fn fixtures_match_despite_modelling_differences() {
    let scratch = Scratch::new("fixtures");
    let upstream = scratch.file("upstream.yaml", &fixture("upstream.yaml"));
    let ours = scratch.file("ours.yaml", &fixture("ours.yaml"));
    let run = update_spec(&upstream, &ours, false);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("no drift"));
    let itself = update_spec(&upstream, &upstream, false);
    assert_eq!(itself.code, 0, "{}", itself.stdout);
}

#[test]
fn x_local_is_what_excuses_extras() {
    let scratch = Scratch::new("x-local");
    let upstream = scratch.file("upstream.yaml", &fixture("upstream.yaml"));
    let text = fixture("ours.yaml");
    let text = edited(
        &text,
        "        etag:\n          type: string\n          x-local: true\n",
        "        etag:\n          type: string\n",
    );
    let text = edited(
        &text,
        "      x-local: true\n      description: Ours alone",
        "      description: Ours alone",
    );
    let text = edited(
        &text,
        "        traceId:\n          type: string\n          x-local: true\n",
        "        traceId:\n          type: string\n",
    );
    let ours = scratch.file("ours.yaml", &text);
    assert_reports(
        &update_spec(&upstream, &ours, false),
        &[
            "- GET /apps/{appId}/things/{thingId}: upstream removes response 200 field `etag`",
            "- POST /apps/{appId}/things/{thingId}/refresh: upstream removes operation",
            "- POST /apps/{appId}/things/new: upstream removes request field `traceId`",
        ],
    );
}

struct Variant {
    name: &'static str,
    edits: &'static [(&'static str, &'static str)],
    reports: &'static [&'static str],
    /// Text the merged document must contain.
    merged: &'static [&'static str],
    /// Text the output of `--write` must contain.
    says: &'static [&'static str],
}

const THING_LABELS_END: &str =
    "          additionalProperties:\n            type: string\n    NewThingsRequest:";

const VARIANTS: &[Variant] = &[
    Variant {
        name: "added-field",
        edits: &[(
            THING_LABELS_END,
            "          additionalProperties:\n            type: string\n        color:\n          type: string\n    NewThingsRequest:",
        )],
        reports: &[
            "+ POST /apps/{appId}/things/new: upstream adds request field `things[].color`",
            "+ POST /apps/{appId}/things/new: upstream adds response 200 field `things[].color`",
            "+ GET /apps/{appId}/things/{thingId}: upstream adds response 200 field `color`",
        ],
        merged: &["        color:\n          type: string\n"],
        says: &[],
    },
    Variant {
        name: "removed-field",
        edits: &[(
            "        name:\n          type: string\n          description: UPSTREAM PROSE name\n",
            "",
        )],
        reports: &[
            "- POST /apps/{appId}/things/new: upstream removes request field `things[].name`",
            "- GET /apps/{appId}/things/{thingId}: upstream removes response 200 field `name`",
        ],
        merged: &[],
        says: &[],
    },
    Variant {
        name: "removed-enum-value",
        edits: &[(
            "                - fast\n                - slow\n",
            "                - fast\n",
        )],
        reports: &[
            "- GET /apps/{appId}/things/{thingId}: upstream removes enum value `slow` from response 200 field `options.mode`",
            "- POST /apps/{appId}/things/new: upstream removes enum value `slow` from request field `things[].options.mode`",
        ],
        merged: &["    Mode:\n      type: string\n      enum: [fast]\n"],
        says: &[],
    },
    Variant {
        name: "added-enum-value",
        edits: &[(
            "                - fast\n                - slow\n",
            "                - fast\n                - slow\n                - auto\n",
        )],
        reports: &[
            "+ POST /apps/{appId}/things/new: upstream adds enum value `auto` to request field `things[].options.mode`",
        ],
        merged: &["      enum: [fast, slow, auto]\n"],
        says: &[],
    },
    Variant {
        name: "new-operation",
        edits: &[(
            "components:\n",
            "    delete:\n      summary: UPSTREAM PROSE delete\n      parameters:\n        - in: path\n          name: appId\n          required: true\n          schema:\n            type: string\n        - in: path\n          name: thingId\n          required: true\n          schema:\n            type: string\n      responses:\n        \"204\":\n          description: UPSTREAM PROSE gone\n        \"400\":\n          description: UPSTREAM PROSE bad\n          content:\n            application/json:\n              schema:\n                $ref: \"#/components/schemas/RequestError\"\ncomponents:\n",
        )],
        reports: &["+ DELETE /apps/{appId}/things/{thingId}: upstream adds operation"],
        merged: &[
            "    delete:\n      operationId: delete_apps_things\n",
            "        - $ref: \"#/components/parameters/appId\"\n",
        ],
        says: &[],
    },
    Variant {
        name: "removed-operation",
        edits: &[(
            "  /apps/{appId}/things/{thingId}:\n",
            "  /apps/{appId}/items/{thingId}:\n",
        )],
        reports: &[
            "+ GET /apps/{appId}/items/{thingId}: upstream adds operation",
            "- GET /apps/{appId}/things/{thingId}: upstream removes operation",
        ],
        merged: &[
            "  /apps/{appId}/items/{thingId}:\n    get:\n      operationId: get_apps_items\n",
        ],
        says: &[],
    },
    Variant {
        name: "new-status",
        edits: &[(
            "                $ref: \"#/components/schemas/RequestError\"\n  /apps/{appId}/things/{thingId}:",
            "                $ref: \"#/components/schemas/RequestError\"\n        \"409\":\n          description: UPSTREAM PROSE conflict\n          content:\n            application/json:\n              schema:\n                type: object\n                properties:\n                  errorCode:\n                    type: string\n                  retryAfter:\n                    type: integer\n  /apps/{appId}/things/{thingId}:",
        )],
        reports: &["+ POST /apps/{appId}/things/new: upstream adds response status 409"],
        merged: &[
            "        \"409\":\n          description: Added from upstream by update-spec; describe it.\n          content:\n            application/json:\n              schema:\n                $ref: \"#/components/schemas/ErrorResponse\"\n",
            "        retryAfter:\n          type: integer\n",
        ],
        says: &[],
    },
    Variant {
        name: "type-change",
        edits: &[(
            "        size:\n          type: number\n",
            "        size:\n          type: string\n",
        )],
        reports: &[
            "~ GET /apps/{appId}/things/{thingId}: response 200 field `size` changes type: ours integer, upstream string",
        ],
        merged: &[],
        says: &[],
    },
    Variant {
        name: "parameters",
        edits: &[
            (
                "        - in: query\n          name: dryRun\n",
                "        - in: query\n          name: dryRun\n          required: true\n",
            ),
            (
                "        - in: path\n          name: thingId\n          required: true\n          schema:\n            type: string\n      responses:",
                "        - in: path\n          name: thingId\n          required: true\n          schema:\n            type: string\n        - in: query\n          name: limit\n          schema:\n            type: integer\n      responses:",
            ),
        ],
        reports: &[
            "~ POST /apps/{appId}/things/new: query parameter `dryRun` is required upstream",
            "+ GET /apps/{appId}/things/{thingId}: upstream adds query parameter `limit`",
        ],
        merged: &[
            "        - in: query\n          name: limit\n          required: false\n          schema:\n            type: integer\n",
        ],
        says: &[],
    },
    Variant {
        name: "added-enum-field",
        edits: &[(
            THING_LABELS_END,
            "          additionalProperties:\n            type: string\n        quality:\n          type: string\n          enum:\n            - low\n            - high\n    NewThingsRequest:",
        )],
        reports: &[
            "+ POST /apps/{appId}/things/new: upstream adds request field `things[].quality`",
        ],
        merged: &[
            "        quality:\n          $ref: \"#/components/schemas/Quality\"\n",
            "    Quality:\n      type: string\n      description: Added from upstream by update-spec; describe it.\n      enum:\n        - low\n        - high\n",
        ],
        says: &["new enum schema(s) Quality: add them to WIRE_ENUMS"],
    },
];

#[test]
fn variants_are_reported_then_merged() {
    let original = fixture("ours.yaml");
    for variant in VARIANTS {
        let scratch = Scratch::new(variant.name);
        let upstream_text = variant
            .edits
            .iter()
            .fold(fixture("upstream.yaml"), |text, (from, to)| {
                edited(&text, from, to)
            });
        let upstream = scratch.file("upstream.yaml", &upstream_text);
        let ours = scratch.file("ours.yaml", &original);

        assert_reports(&update_spec(&upstream, &ours, false), variant.reports);
        assert_eq!(
            std::fs::read_to_string(&ours).unwrap(),
            original,
            "{}: checking must not write",
            variant.name
        );

        let write = update_spec(&upstream, &ours, true);
        for said in variant.says {
            assert!(
                write.stdout.contains(said),
                "{}: output lacks {said:?}:\n{}",
                variant.name,
                write.stdout
            );
        }
        assert_eq!(
            write.code, 0,
            "{}: --write must leave no drift\n{}{}",
            variant.name, write.stdout, write.stderr
        );
        let again = update_spec(&upstream, &ours, false);
        assert_eq!(
            again.code, 0,
            "{}: drift after --write\n{}",
            variant.name, again.stdout
        );

        let merged = std::fs::read_to_string(&ours).unwrap();
        for kept in [
            "# Fixture in the project's style",
            "    # ---- named enums ----\n",
            "      operationId: create_things\n      description: >\n        Ours, makes things,\n        in our own words.\n",
        ] {
            assert!(
                merged.contains(kept),
                "{}: lost {kept:?}:\n{merged}",
                variant.name
            );
        }
        for expected in variant.merged {
            assert!(
                merged.contains(expected),
                "{}: missing {expected:?}:\n{merged}",
                variant.name
            );
        }
        assert!(
            !merged.contains("UPSTREAM PROSE"),
            "{}: upstream prose copied:\n{merged}",
            variant.name
        );
    }
}

#[test]
fn shared_schema_changes_are_left_for_a_human() {
    let scratch = Scratch::new("shared");
    // Only the read operation narrows `mode`; ours has one Mode enum for every operation, so
    // removing `slow` from it would break the create operation.
    let upstream_text = edited(
        &fixture("upstream.yaml"),
        "                  - example:\n",
        "                  - properties:\n                      options:\n                        properties:\n                          mode:\n                            enum:\n                              - fast\n                  - example:\n",
    );
    let upstream = scratch.file("upstream.yaml", &upstream_text);
    let original = fixture("ours.yaml");
    let ours = scratch.file("ours.yaml", &original);
    let line = "- GET /apps/{appId}/things/{thingId}: upstream removes enum value `slow` from response 200 field `options.mode`";
    assert_reports(&update_spec(&upstream, &ours, false), &[line]);
    let write = update_spec(&upstream, &ours, true);
    assert_reports(&write, &[line]);
    assert!(
        write
            .stdout
            .contains("nothing could be merged automatically"),
        "{}",
        write.stdout
    );
    assert_eq!(std::fs::read_to_string(&ours).unwrap(), original);
}

#[test]
fn bad_input_is_an_error_not_drift() {
    let missing = xtask(&["update-spec", "--from", "/nonexistent/upstream.yaml"]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(
        missing
            .stderr
            .contains("cannot read /nonexistent/upstream.yaml"),
        "{}",
        missing.stderr
    );

    let scratch = Scratch::new("bad-yaml");
    let broken = scratch.file("broken.yaml", "paths: [unclosed\n");
    let run = update_spec(&broken, &broken, false);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("is not valid YAML"), "{}", run.stderr);

    let usage = xtask(&["update-spec", "--bogus"]);
    assert_eq!(usage.code, 2);
    assert!(
        usage.stderr.contains("unexpected argument `--bogus`"),
        "{}",
        usage.stderr
    );
}

/// The reference copy of upstream's document exists only on the project's machines.
fn reference() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(REFERENCE);
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "skipped: {} not found (only the project's machines have it)",
            path.display()
        );
        None
    }
}

fn project_spec() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/sfu.yaml")
}

#[test]
fn reference_has_no_drift_from_itself() {
    let Some(reference) = reference() else { return };
    let run = update_spec(&reference, &reference, false);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn project_spec_has_no_drift_from_reference() {
    let Some(reference) = reference() else { return };
    let run = update_spec(&reference, &project_spec(), false);
    assert_eq!(
        run.code, 0,
        "openapi/sfu.yaml drifted from the reference:\n{}{}",
        run.stdout, run.stderr
    );
}

/// The drift lines of a report.
fn drift_lines(run: &Run) -> Vec<String> {
    run.stdout
        .lines()
        .filter(|l| l.starts_with("  ") && l.trim().starts_with(['+', '-', '~']))
        .map(|l| l.trim().to_owned())
        .collect()
}

#[test]
fn reference_changes_merge_into_project_spec() {
    let Some(reference) = reference() else { return };
    let scratch = Scratch::new("reference");
    let ours = scratch.file(
        "sfu.yaml",
        &std::fs::read_to_string(project_spec()).unwrap(),
    );
    // Drift the project already has is the subject of another test; here only the changes
    // made below must be merged away.
    let baseline = drift_lines(&update_spec(&reference, &ours, false));

    let text = std::fs::read_to_string(&reference).unwrap();
    let text = edited(
        &text,
        "            preferredRid:\n              type: string\n",
        "            preferredRid:\n              type: string\n            maxLayers:\n              type: integer\n",
    );
    let text = edited(
        &text,
        "        - inactive\n        - initializing\n",
        "        - inactive\n        - initializing\n        - draining\n",
    );
    let upstream = scratch.file("upstream.yaml", &text);
    assert_reports(
        &update_spec(&upstream, &ours, false),
        &[
            "+ POST /apps/{appId}/sessions/{sessionId}/tracks/new: upstream adds request field `tracks[].simulcast.maxLayers`",
            "+ GET /apps/{appId}/sessions/{sessionId}: upstream adds enum value `draining` to response 200 field `dataChannels[].status`",
        ],
    );
    let write = update_spec(&upstream, &ours, true);
    let left = drift_lines(&update_spec(&upstream, &ours, false));
    let unmerged: Vec<&String> = left.iter().filter(|l| !baseline.contains(l)).collect();
    assert!(
        unmerged.is_empty(),
        "not merged: {unmerged:#?}\n{}{}",
        write.stdout,
        write.stderr
    );
    let merged = std::fs::read_to_string(&ours).unwrap();
    for expected in ["maxLayers:", "draining", "operationId: add_tracks"] {
        assert!(merged.contains(expected), "{expected} missing:\n{merged}");
    }
}
