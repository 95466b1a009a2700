//! How the examples end: a failure is printed as a person reads it (its message, each cause,
//! and a hint for the common mistakes), never as a `Debug` dump, and the process exits with 1.

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
    if let Some(hint) = hint(&*error) {
        eprintln!("hint: {hint}");
    }
    ExitCode::FAILURE
}

/// The hint of the service's error inside `error`, at whichever layer it surfaced.
fn hint(error: &(dyn Error + 'static)) -> Option<&'static str> {
    use cloudflare_calls::{peer::PeerError, room::RoomError};
    let api = if let Some(e) = error.downcast_ref::<cloudflare_calls::Error>() {
        Some(e)
    } else if let Some(e) = error.downcast_ref::<PeerError>() {
        e.api()
    } else {
        error.downcast_ref::<RoomError>().and_then(RoomError::api)
    };
    api.and_then(cloudflare_calls::Error::hint)
}
