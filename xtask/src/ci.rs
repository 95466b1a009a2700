//! `cargo xtask ci`: the project's checks as an ordered list of steps, stopping at the first
//! failure. New checks (services to start, tools to look for) are new entries in [`STEPS`].

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::{browser, layers, spec};

/// The reference copy of upstream's document, relative to the workspace root. Only the
/// project's own machines have it; a user's clone skips the drift step.
const REFERENCE: &str = "../shared/reference/realtime-api-2024-05-21.yaml";

/// How a step ended.
enum Outcome {
    Passed,
    Skipped(String),
    Failed(String),
}

struct Step {
    name: &'static str,
    /// Whether `--quick` keeps the step.
    quick: bool,
    run: fn(&Path) -> Outcome,
}

const STEPS: &[Step] = &[
    Step {
        name: "install",
        quick: true,
        run: install,
    },
    Step {
        name: "fmt",
        quick: true,
        run: fmt,
    },
    Step {
        name: "layers",
        quick: true,
        run: check_layers,
    },
    Step {
        name: "browser",
        quick: true,
        run: check_browser,
    },
    Step {
        name: "clippy",
        quick: false,
        run: clippy,
    },
    Step {
        name: "test",
        quick: true,
        run: test,
    },
    Step {
        name: "spec-drift",
        quick: true,
        run: spec_drift,
    },
];

/// Seconds of `cargo xtask fuzz` per target by default: a smoke run around the seeds, not a
/// campaign (docs/fuzzing.md records the long runs). It is not a step of `ci`: the
/// sanitizer builds alone cost minutes, and CI stays within ten.
pub const FUZZ_SECONDS: u32 = 40;

/// The targets of `fuzz/`: name, the directory of their seeds, and the extension of the seed
/// files there (`None`: every file).
const FUZZ_TARGETS: [(&str, &str, Option<&str>); 2] = [
    ("sdp", "tests/fixtures/sdp", Some("sdp")),
    ("responses", "fuzz/seeds/responses", None),
];

/// Runs the steps in order; returns whether all of them passed or were skipped.
pub fn run(root: &Path, quick: bool) -> bool {
    let started = Instant::now();
    let steps: Vec<&Step> = STEPS.iter().filter(|s| s.quick || !quick).collect();
    for (i, step) in steps.iter().enumerate() {
        println!("ci: [{}/{}] {}", i + 1, steps.len(), step.name);
        let step_started = Instant::now();
        match (step.run)(root) {
            Outcome::Passed => {
                println!("ci: {} passed in {:.1?}", step.name, step_started.elapsed())
            }
            Outcome::Skipped(why) => println!("ci: {} skipped: {why}", step.name),
            Outcome::Failed(why) => {
                eprintln!("ci: {} FAILED: {why}", step.name);
                return false;
            }
        }
    }
    if quick {
        let skipped: Vec<&str> = STEPS.iter().filter(|s| !s.quick).map(|s| s.name).collect();
        println!("ci: skipped by --quick: {}", skipped.join(", "));
    }
    println!("ci: all steps passed in {:.1?}", started.elapsed());
    true
}

/// Runs cargo with inherited stdio so its output streams as it comes.
fn cargo(root: &Path, args: &[&str]) -> Outcome {
    cargo_with_env(root, args, &[])
}

/// [`cargo`] with extra environment variables for the child only.
fn cargo_with_env(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let shown: Vec<String> = env.iter().map(|(n, v)| format!("{n}={v} ")).collect();
    println!("ci: $ {}cargo {}", shown.concat(), args.join(" "));
    match cargo_command(root)
        .args(args)
        .envs(env.iter().copied())
        .status()
    {
        Ok(status) if status.success() => Outcome::Passed,
        Ok(status) => Outcome::Failed(format!("cargo {} exited with {status}", args[0])),
        Err(e) => Outcome::Failed(format!("cannot run cargo: {e}")),
    }
}

fn cargo_command(root: &Path) -> Command {
    // Inside `cargo run`, CARGO names the very cargo (and toolchain) that started us.
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(program);
    command.current_dir(root);
    command
}

fn fmt(root: &Path) -> Outcome {
    cargo(root, &["fmt", "--all", "--check"])
}

/// Imports only downward through the layers of src/, no loops (see xtask/src/layers.rs).
fn check_layers(root: &Path) -> Outcome {
    match layers::run(root) {
        Ok(0) => Outcome::Passed,
        Ok(n) => Outcome::Failed(format!(
            "{n} layer violations (see above; the layers are in xtask/src/layers.rs)"
        )),
        Err(e) => Outcome::Failed(e),
    }
}

/// browser/src/updates.ts and browser/dist/ are what the room's schema and the sources give.
fn check_browser(root: &Path) -> Outcome {
    match browser::run(root, true) {
        Ok(true) => Outcome::Passed,
        Ok(false) => Outcome::Failed("the browser library is not up to date (see above)".into()),
        Err(e) => Outcome::Failed(e),
    }
}

/// Lints everything with the features CI tests, then the library alone with its defaults and
/// with each layer's feature, where code used only by a higher layer would be dead.
fn clippy(root: &Path) -> Outcome {
    let all = [
        "clippy",
        "--workspace",
        "--all-targets",
        "--features",
        FEATURES,
        "--",
        "-D",
        "warnings",
    ];
    if let Outcome::Failed(why) = cargo(root, &all) {
        return Outcome::Failed(why);
    }
    for features in ["", "peer", "room"] {
        let lib = [
            "clippy",
            "--lib",
            "--features",
            features,
            "--",
            "-D",
            "warnings",
        ];
        if let Outcome::Failed(why) = cargo(root, &lib) {
            return Outcome::Failed(format!("with features {features:?}: {why}"));
        }
    }
    Outcome::Passed
}

/// Installs what the tests need and a fresh machine lacks: Debian's `chromium` for the browser
/// tests, `redis-server` and `openssl` for the Redis store's, and `npm` (which brings `nodejs`) for the npm
/// packages of [`NPM_FOLDERS`]; then installs those packages. apt-get runs only for what is
/// missing, so a contributor's run stays fast.
fn install(root: &Path) -> Outcome {
    let chromium = std::env::var_os("CALLS_CHROMIUM").unwrap_or_else(|| "/usr/bin/chromium".into());
    let mut missing = Vec::new();
    if !Path::new(&chromium).is_file() {
        missing.push("chromium");
    }
    if !Path::new(REDIS_SERVER).is_file() {
        missing.push("redis-server");
    }
    // The TLS test's Redis has a certificate authority of its own, made with openssl.
    if !Path::new("/usr/bin/openssl").is_file() {
        missing.push("openssl");
    }
    let npm_runs = Command::new("npm")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    if !npm_runs {
        missing.push("npm");
    }
    if !missing.is_empty() {
        let apt = |args: &[&str]| {
            println!("ci: $ apt-get {}", args.join(" "));
            Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .is_ok_and(|s| s.success())
        };
        let mut install = vec!["install", "-y", "-q", "--no-install-recommends"];
        install.extend(&missing);
        if !(apt(&["update", "-q"]) && apt(&install)) {
            return Outcome::Failed(format!(
                "{} missing and `apt-get install` failed (run as root on Debian)",
                missing.join(" and ")
            ));
        }
    }
    match NPM_FOLDERS
        .iter()
        .try_for_each(|folder| npm_ci(root, folder))
    {
        Ok(()) => Outcome::Passed,
        Err(why) => Outcome::Failed(why),
    }
}

/// Installs the npm packages of a folder of [`NPM_FOLDERS`] exactly as its package-lock.json
/// pins them: `npm ci` checks each package against the lock's integrity hash and puts it in
/// the folder's node_modules (git-ignored).
pub fn npm_ci(root: &Path, folder: &str) -> Result<(), String> {
    let args = [
        "ci",
        "--prefix",
        folder,
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        "--no-update-notifier",
    ];
    println!("ci: $ npm {}", args.join(" "));
    match Command::new("npm").args(args).current_dir(root).status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("npm ci --prefix {folder} exited with {status}")),
        Err(e) => Err(format!("cannot run npm: {e}")),
    }
}

/// The folders with npm packages (package.json and package-lock.json): those
/// tests/whip/browser.rs serves to Chromium (the `whip-whep` WHIP/WHEP client), and the
/// browser library's build tools (TypeScript).
const NPM_FOLDERS: [&str; 2] = ["tests/whip", "browser"];

/// Where Debian's `redis-server` package puts the server the Redis tests start.
const REDIS_SERVER: &str = "/usr/bin/redis-server";

/// Browser tests skip on a machine without Chromium; CI must run them, so there a missing
/// browser fails them instead (see tests/support/chromium.rs).
const REQUIRE_CHROMIUM: (&str, &str) = ("CALLS_REQUIRE_CHROMIUM", "1");
/// Likewise for the Redis tests and `redis-server` (see tests/support/redis.rs).
const REQUIRE_REDIS: (&str, &str) = ("CALLS_REQUIRE_REDIS", "1");
/// The features beyond the defaults that CI builds, lints and tests.
const FEATURES: &str = "cloudflare-calls/redis,cloudflare-calls/whip,cloudflare-calls/api";

fn test(root: &Path) -> Outcome {
    cargo_with_env(
        root,
        &["test", "--workspace", "--features", FEATURES],
        &[REQUIRE_CHROMIUM, REQUIRE_REDIS],
    )
}

fn spec_drift(root: &Path) -> Outcome {
    let reference = root.join(REFERENCE);
    if !reference.is_file() {
        return Outcome::Skipped(format!(
            "{} not found (only the project's machines have it)",
            reference.display()
        ));
    }
    let options = spec::Options {
        from: reference.display().to_string(),
        spec: root.join("openapi/sfu.yaml"),
        write: false,
    };
    match spec::run(&options) {
        Ok(true) => Outcome::Passed,
        Ok(false) => {
            Outcome::Failed("openapi/sfu.yaml drifted from the reference (see above)".to_owned())
        }
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// A short libFuzzer run of each target of `fuzz/`, seeded: `sdp` (no panic, edits
/// idempotent, `parse` and the edits agree with `validate`) and `responses` (every operation
/// on arbitrary responses: no panic, no secret of the body in errors or logs). The corpus
/// directories are git-ignored, so what one run finds seeds the next.
pub fn fuzz(root: &Path, seconds: u32) -> bool {
    match fuzz_targets(root, seconds) {
        Outcome::Failed(why) => {
            eprintln!("fuzz: FAILED: {why}");
            false
        }
        _ => true,
    }
}

fn fuzz_targets(root: &Path, seconds: u32) -> Outcome {
    let installed = cargo_command(root)
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|out| out.status.success());
    if !installed {
        // From crates.io, like every other build tool of the project.
        if let Outcome::Failed(why) = cargo(root, &["install", "cargo-fuzz", "--locked"]) {
            return Outcome::Failed(format!("installing cargo-fuzz: {why}"));
        }
    }
    for (target, seeds, extension) in FUZZ_TARGETS {
        let corpus = root.join("fuzz/corpus").join(target);
        if let Err(e) = seed(&root.join(seeds), &corpus, extension) {
            return Outcome::Failed(format!("seeding {}: {e}", corpus.display()));
        }
        let corpus = format!("fuzz/corpus/{target}");
        let seconds = format!("-max_total_time={seconds}");
        let args = ["fuzz", "run", target, &corpus, "--", &seconds, "-timeout=2"];
        println!("ci: $ RUSTC_BOOTSTRAP=1 cargo {}", args.join(" "));
        // cargo-fuzz passes sanitizer flags that stable rustc only takes with RUSTC_BOOTSTRAP.
        let status = cargo_command(root)
            .args(args)
            .env("RUSTC_BOOTSTRAP", "1")
            .status();
        match status {
            Ok(status) if status.success() => {}
            Ok(status) => {
                return Outcome::Failed(format!(
                    "cargo fuzz exited with {status}; the input is under fuzz/artifacts/{target}"
                ));
            }
            Err(e) => return Outcome::Failed(format!("cannot run cargo fuzz: {e}")),
        }
    }
    Outcome::Passed
}

/// Copies the seeds (the files of `seeds` with that extension, or all of them) into `corpus`.
fn seed(seeds: &Path, corpus: &Path, extension: Option<&str>) -> std::io::Result<()> {
    fs::create_dir_all(corpus)?;
    for entry in fs::read_dir(seeds)? {
        let path = entry?.path();
        let wanted = extension.is_none_or(|wanted| path.extension().is_some_and(|e| e == wanted));
        if let Some(name) = path.file_name().filter(|_| wanted && path.is_file()) {
            fs::copy(&path, corpus.join(name))?;
        }
    }
    Ok(())
}
