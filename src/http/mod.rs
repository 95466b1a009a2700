//! The HTTP plumbing under every generated client: one transport (auth, timeouts, retries,
//! tracing) and the decoding of responses into the crate's [`Error`](crate::Error).

pub(crate) mod response;
pub(crate) mod retry;
pub(crate) mod transport;
