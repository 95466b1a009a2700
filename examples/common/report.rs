//! How the examples end: a failure is printed as a person reads it (its message, then each
//! cause), never as a `Debug` dump, and the process exits with 1.

use std::error::Error;
use std::process::ExitCode;

/// Prints `result`'s error with its causes, if any; the exit code to return from `main`.
pub fn report(result: Result<(), Box<dyn Error>>) -> ExitCode {
    let Err(error) = result else {
        return ExitCode::SUCCESS;
    };
    eprintln!("error: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        eprintln!("  caused by: {cause}");
        source = cause.source();
    }
    ExitCode::FAILURE
}
