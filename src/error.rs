//! [`Error`]: what can go wrong calling the service, the error of the HTTP layer; the peer's and
//! the room's errors wrap it (`peer::PeerError`, `room::RoomError`).

use std::time::Duration;

use crate::operation::is_idempotent;
use crate::wire::wire_enum;

wire_enum! {
    /// An `errorCode` the service documents.
    pub enum ErrorCode {
        /// The bearer token is missing or wrong.
        Unauthorized = "unauthorized",
        /// The app, session or resource does not exist.
        NotFound = "not_found",
        /// The body is not valid JSON or a field has the wrong type.
        DecodingError = "decoding_error",
        /// A parameter is missing or out of range.
        InvalidParams = "invalid_params",
        /// The body is too large.
        PayloadTooLarge = "payload_too_large",
        /// The session is not connected yet (HTTP 425) or is gone (HTTP 410).
        SessionError = "session_error",
        /// The SDP is malformed or arrived in the wrong offer/answer order.
        InvalidSessionDescription = "invalid_session_description",
        /// A pulled track is not published.
        NotFoundTrackError = "not_found_track_error",
        /// A track carries no media.
        EmptyTrackError = "empty_track_error",
        /// A local track name is already used in the session.
        RepeatedLocalTrackError = "repeated_local_track_error",
        /// A track could not be updated.
        UpdateTrackError = "update_track_error",
        /// A track could not be closed (an already closed track counts as closed).
        CloseTrackError = "close_track_error",
        /// Adapters may not connect to localhost.
        WebsocketLocalhostNotAllowed = "websocket_localhost_not_allowed",
        /// The adapter's WebSocket handshake failed.
        WebsocketHandshakeFailed = "websocket_handshake_failed",
        /// The adapter's WebSocket endpoint did not answer in time.
        WebsocketConnectionTimeout = "websocket_connection_timeout",
        /// No adapter has that id.
        AdapterNotFound = "adapter_not_found",
        /// A transient failure: the same request may succeed later.
        RetryableTransientError = "retryable_transient_error",
        /// The service is temporarily unavailable.
        TemporarilyUnavailableError = "temporarily_unavailable_error",
        /// The media transport is unavailable.
        TransportUnavailableError = "transport_unavailable_error",
        /// A backend of the service failed.
        BackendError = "backend_error",
        /// The service failed internally.
        InternalError = "internal_error",
    }
}

/// One entry of the account API's `errors` or `messages` arrays.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct AccountMessage {
    /// Cloudflare's numeric code.
    pub code: i64,
    /// Human-readable text.
    pub message: String,
}

/// An error the service reported, by HTTP status or inside a 200 body.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// The operationId of the call.
    pub operation: &'static str,
    /// HTTP status; 200 when the error came inside a success status.
    pub status: u16,
    /// `errorCode`, when the body had one.
    pub code: Option<ErrorCode>,
    /// `errorDescription`, when the body had one; for a body that is not the service's
    /// JSON (a proxy's error page), its first 512 characters, unless the operation's
    /// responses carry secrets (creating an app, a TURN key or WebSocket adapters,
    /// generating TURN credentials).
    pub description: Option<String>,
    /// `errorSubcode`, e.g. `signaling_state_not_stable` on a 406.
    pub subcode: Option<String>,
    /// The account API's `errors` array.
    pub errors: Vec<AccountMessage>,
    /// How long the server asked to wait (`Retry-After`), if it said.
    pub retry_after: Option<Duration>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} failed with HTTP {}", self.operation, self.status)?;
        if let Some(code) = &self.code {
            write!(f, ": {code}")?;
        }
        if let Some(subcode) = &self.subcode {
            write!(f, " ({subcode})")?;
        }
        if let Some(description) = &self.description {
            write!(f, ": {description}")?;
        }
        for e in &self.errors {
            write!(f, "; [{}] {}", e.code, e.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// Everything that can go wrong calling the service.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request never got a response: connection refused, reset, TLS failure.
    #[error("{operation}: transport error: {source}")]
    Transport {
        /// The operationId of the call.
        operation: &'static str,
        /// The underlying HTTP client error.
        #[source]
        source: reqwest::Error,
    },
    /// The call did not finish within its timeout.
    #[error("{operation}: timed out")]
    Timeout {
        /// The operationId of the call.
        operation: &'static str,
    },
    /// A response arrived but is not what the API documents.
    ///
    /// Neither field quotes the response's values: `reason` keeps serde's message without
    /// the values it quotes, and `body` is empty for operations whose responses carry
    /// secrets (creating an app, a TURN key or WebSocket adapters, generating TURN
    /// credentials).
    #[error("{operation}: could not decode the response{}: {reason}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Decode {
        /// The operationId of the call.
        operation: &'static str,
        /// HTTP status, when known.
        status: Option<u16>,
        /// What went wrong, with the position in the body.
        reason: String,
        /// The start of the raw body (up to 2048 characters), kept for diagnosis; empty when
        /// the operation's responses carry secrets.
        body: String,
    },
    /// The service answered with an error.
    #[error(transparent)]
    Api(#[from] Box<ApiError>),
    /// An argument was rejected before anything was sent.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The configuration is incomplete or malformed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The endpoint could not answer the SFU's offer (the [`Answerer`](crate::Answerer) failed).
    #[error("the endpoint could not answer the SFU's offer: {0}")]
    Answerer(#[source] BoxError),
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required environment variable is not set (or is empty).
    #[error("environment variable {0} is not set")]
    MissingEnv(&'static str),
    /// A base URL is not an absolute http(s) URL.
    #[error("{name} is not an http(s) URL: {value}")]
    InvalidUrl {
        /// Which setting.
        name: &'static str,
        /// The value given.
        value: String,
    },
    /// An operation needs credentials the configuration lacks.
    #[error("{0} is not configured")]
    Missing(&'static str),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(String),
}

/// A boxed error from code outside the crate, such as an [`Answerer`](crate::Answerer).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Error {
    pub(crate) fn answerer(source: BoxError) -> Self {
        Error::Answerer(source)
    }

    /// The service's error, if this is one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// HTTP status of the failed response, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::Decode { status, .. } => *status,
            _ => None,
        }
    }

    /// The service's `errorCode`, if it sent one.
    pub fn code(&self) -> Option<&ErrorCode> {
        self.api().and_then(|e| e.code.as_ref())
    }

    /// The session is closed or expired (HTTP 410): make a new one.
    pub fn is_session_gone(&self) -> bool {
        self.status() == Some(410)
    }

    /// The session is not connected yet (HTTP 425): wait and try again.
    pub fn is_not_ready(&self) -> bool {
        self.status() == Some(425)
    }

    /// What a person can do about this error, when it is a common mistake: credentials the
    /// service refused (which variables to check), a base URL without `/v1`, SDP the SFU
    /// refused. `None` when there is nothing more to say than the message.
    ///
    /// ```
    /// # async fn run(client: cloudflare_calls::Client) {
    /// if let Err(e) = client.new_session().send().await {
    ///     eprintln!("error: {e}");
    ///     if let Some(hint) = e.hint() {
    ///         eprintln!("hint: {hint}");
    ///     }
    /// }
    /// # }
    /// ```
    pub fn hint(&self) -> Option<&'static str> {
        let api = self.api()?;
        let account = api.operation.ends_with("_sfu_app")
            || api.operation.ends_with("_sfu_apps")
            || api.operation.ends_with("_turn_key")
            || api.operation.ends_with("_turn_keys");
        let turn = matches!(
            api.operation,
            "generate_ice_servers" | "generate_turn_credentials" | "revoke_turn_credentials"
        );
        let route = api
            .description
            .as_deref()
            .is_some_and(|d| d.contains("route"));
        match (api.status, &api.code) {
            (401 | 403, _) | (_, Some(ErrorCode::Unauthorized)) if account => Some(
                "the account API refused the token: check CLOUDFLARE_ACCOUNT_ID and \
                 CLOUDFLARE_API_TOKEN (a token with Calls permissions)",
            ),
            (401 | 403, _) | (_, Some(ErrorCode::Unauthorized)) if turn => {
                Some("the TURN key was refused: check CALLS_TURN_KEY_ID and CALLS_TURN_KEY_TOKEN")
            }
            (401 | 403, _) | (_, Some(ErrorCode::Unauthorized)) => Some(
                "the SFU refused the app's credentials: check CALLS_APP_ID and CALLS_APP_SECRET",
            ),
            (404, None) => Some(NO_ROUTE),
            (404, _) if route => Some(NO_ROUTE),
            (406, _) if api.subcode.as_deref() == Some("invalid_modification_have_local_offer") => {
                Some(
                    "the SFU waits for the answer to its own offer on this session: answer the \
                     PendingOffer, or send the answer with Session::renegotiate (an answer this \
                     Client failed to deliver goes out with the session's next change)",
                )
            }
            (_, Some(ErrorCode::InvalidSessionDescription)) => Some(
                "the SFU refused the SDP: an offer needs ICE credentials (a=ice-ufrag, \
                 a=ice-pwd), a DTLS fingerprint and an a=mid on every media section, and answers \
                 only what the SFU offered",
            ),
            _ => None,
        }
    }

    /// Another mutation of the same session was in flight (HTTP 406 with a signalling subcode).
    pub fn is_signaling_conflict(&self) -> bool {
        self.api().is_some_and(|e| {
            e.status == 406
                && e.subcode.as_deref().is_some_and(|s| {
                    s == "signaling_state_not_stable" || s.starts_with("invalid_modification")
                })
        })
    }

    /// Sending the same request again later may succeed: the request never reached the
    /// service (a refused connection), the service asked to wait (425, 429), it failed
    /// transiently (502, 503, 504, `retryable_transient_error`, `temporarily_unavailable_error`),
    /// or another negotiation of the session was in flight (406 `signaling_state_not_stable`).
    /// A timeout or a connection lost after sending counts only for operations that are safe
    /// to repeat (reads, closing adapters, renames, deletes, TURN credentials): a create may
    /// have happened, see [`Error::is_outcome_unknown`]. A 406 because the SFU holds an offer
    /// of its own (`invalid_modification_have_local_offer`) is not retryable: it fails again
    /// until that offer is answered. docs/errors.md has the table, which a test checks.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport { source, .. } if source.is_connect() => true,
            Error::Transport { operation, .. } | Error::Timeout { operation } => {
                is_idempotent(operation)
            }
            Error::Api(e) => {
                matches!(e.status, 425 | 429 | 502 | 503 | 504)
                    || matches!(
                        e.code,
                        Some(
                            ErrorCode::RetryableTransientError
                                | ErrorCode::TemporarilyUnavailableError
                        )
                    )
                    || e.subcode.as_deref() == Some("signaling_state_not_stable")
            }
            // A gateway's own error page, which is not the service's JSON.
            Error::Decode { status, .. } => matches!(status, Some(502..=504)),
            _ => false,
        }
    }

    /// The request may have reached the service and been acted on, and nothing says whether
    /// it was: a timeout, a connection lost after the request was sent, a 502 or 504 from a
    /// gateway. After a create, look before creating again (the session's state, the list of
    /// apps or TURN keys).
    pub fn is_outcome_unknown(&self) -> bool {
        match self {
            Error::Timeout { .. } => true,
            Error::Transport { source, .. } => !source.is_connect(),
            Error::Api(e) => matches!(e.status, 502 | 504) && e.code.is_none(),
            Error::Decode { status, .. } => matches!(status, Some(502 | 504)),
            _ => false,
        }
    }
}

/// A 404 for a route that does not exist: the base URL is wrong.
const NO_ROUTE: &str = "no such route: the SFU's base URL must end in /v1 (CALLS_API, e.g. \
                        https://rtc.live.cloudflare.com/v1)";

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
