//! Project automation: `cargo xtask ci`, `cargo xtask layers`, `cargo xtask fuzz`,
//! `cargo xtask update-spec`, `cargo xtask capture-sdp-fixtures`, `cargo xtask browser`.

mod browser;
mod capture;
mod ci;
mod layers;
mod spec;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage:
  cargo xtask ci [--quick]
      installs what the tests need when missing (Debian's chromium, redis-server and npm by
      apt-get; the npm packages of tests/whip and browser by npm ci, as their
      package-lock.json pins them), then fmt, the layer check, the browser library check,
      clippy (skipped by --quick), tests, and the spec drift check when the reference
      document is available
  cargo xtask fuzz [--seconds N]
      runs each target of fuzz/ for N seconds (default 40), seeded; installs cargo-fuzz from
      crates.io when missing
  cargo xtask layers
      check that each file of src/ imports only from its own layer or those below it, and
      that no files of src/ or emulator/src/ import each other in a loop; the layer order
      is documented in xtask/src/layers.rs
  cargo xtask update-spec [--from PATH|URL] [--spec PATH] [--write]
      compare the structure of Cloudflare's SFU OpenAPI document (default: the published URL)
      with openapi/sfu.yaml; exit 1 on drift; --write merges upstream's changes into ours
  cargo xtask browser [--check]
      generate browser/src/updates.ts from the room schema's snapshot
      (tests/room/snapshots/room__schema__room_update_schema_is_stable.snap), then build the
      library into browser/dist with its tsc; --check instead compares both with what
      generating and a build into a temporary folder give, exit 1 on a difference; either
      runs npm ci --prefix browser first when browser/node_modules is missing
  cargo xtask capture-sdp-fixtures
      rewrite the Chromium offers in tests/fixtures/sdp/*.sdp from the local Chromium
      (/usr/bin/chromium, or CALLS_CHROMIUM); their ids and fingerprints are random, so
      review the diff before committing
  cargo xtask help
      this text

  `cargo xtask ci` sets CALLS_REQUIRE_CHROMIUM=1 for its tests: the browser tests, which
  skip when Chromium is missing, fail instead";

/// The workspace root (xtask lives one level below it).
fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map_or(manifest.clone(), PathBuf::from)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match command.as_str() {
        "update-spec" => update_spec(rest),
        "ci" => ci(rest),
        "layers" => layers(rest),
        "fuzz" => fuzz(rest),
        "capture-sdp-fixtures" => capture_sdp_fixtures(rest),
        "browser" => browser(rest),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => Err(Failure::Usage(format!("unknown command `{other}`"))),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(Failure::Usage(message)) => {
            eprintln!("xtask: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Spec(error)) => {
            eprintln!("xtask: {error}");
            ExitCode::from(2)
        }
        Err(Failure::Capture(error) | Failure::Layers(error) | Failure::Browser(error)) => {
            eprintln!("xtask: {error}");
            ExitCode::from(2)
        }
    }
}

/// Why a command could not do its job (as opposed to finding a problem, which is exit 1).
enum Failure {
    Usage(String),
    Spec(spec::Error),
    Capture(String),
    Layers(String),
    Browser(String),
}

fn update_spec(args: &[String]) -> Result<bool, Failure> {
    let mut options = spec::Options {
        from: spec::UPSTREAM_URL.to_owned(),
        spec: workspace_root().join("openapi/sfu.yaml"),
        write: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| {
            args.next()
                .cloned()
                .ok_or_else(|| Failure::Usage(format!("{flag} needs a value")))
        };
        match arg.as_str() {
            "--from" => options.from = value("--from")?,
            "--spec" => options.spec = value("--spec")?.into(),
            "--write" => options.write = true,
            other => return Err(Failure::Usage(format!("unexpected argument `{other}`"))),
        }
    }
    spec::run(&options).map_err(Failure::Spec)
}

fn ci(args: &[String]) -> Result<bool, Failure> {
    let quick = match args {
        [] => false,
        [flag] if flag == "--quick" => true,
        _ => return Err(Failure::Usage(format!("unexpected arguments {args:?}"))),
    };
    Ok(ci::run(&workspace_root(), quick))
}

fn layers(args: &[String]) -> Result<bool, Failure> {
    if !args.is_empty() {
        return Err(Failure::Usage(format!("unexpected arguments {args:?}")));
    }
    let violations = layers::run(&workspace_root()).map_err(Failure::Layers)?;
    Ok(violations == 0)
}

fn fuzz(args: &[String]) -> Result<bool, Failure> {
    let seconds = match args {
        [] => ci::FUZZ_SECONDS,
        [flag, n] if flag == "--seconds" => n
            .parse()
            .map_err(|_| Failure::Usage(format!("--seconds takes a number, not `{n}`")))?,
        _ => return Err(Failure::Usage(format!("unexpected arguments {args:?}"))),
    };
    Ok(ci::fuzz(&workspace_root(), seconds))
}

fn capture_sdp_fixtures(args: &[String]) -> Result<bool, Failure> {
    if !args.is_empty() {
        return Err(Failure::Usage(format!("unexpected arguments {args:?}")));
    }
    for path in capture::run(&workspace_root()).map_err(Failure::Capture)? {
        println!("wrote {}", path.display());
    }
    Ok(true)
}

fn browser(args: &[String]) -> Result<bool, Failure> {
    let check = match args {
        [] => false,
        [flag] if flag == "--check" => true,
        _ => return Err(Failure::Usage(format!("unexpected arguments {args:?}"))),
    };
    browser::run(&workspace_root(), check).map_err(Failure::Browser)
}
