//! Turns what a generated call returns into the crate's `Result`: typed API errors from
//! error statuses, error bodies that arrive with HTTP 200, decode failures with their body.
//!
//! Nothing a response carried reaches an error's text unchecked: the bodies of operations
//! whose responses carry secrets are withheld ([`carries_secret`]), and serde's reasons lose
//! the values they quote ([`json_reason`]), since an error is printed and logged.

use std::future::Future;
use std::pin::Pin;

use progenitor_client::ResponseValue;

use crate::error::{AccountMessage, ApiError, Error, ErrorCode};
use crate::http::retry::retry_after;
use crate::http::transport::observe_status;
use crate::metrics;

/// The error fields a response body may carry, at any HTTP status.
#[derive(Debug, Default)]
pub(crate) struct ErrorFields {
    pub(crate) code: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) subcode: Option<String>,
    pub(crate) errors: Vec<AccountMessage>,
    /// The account API's `success: false`.
    pub(crate) failed: bool,
}

impl ErrorFields {
    fn is_error(&self) -> bool {
        self.failed || self.code.as_deref().is_some_and(|c| !c.is_empty())
    }
}

/// A generated body type that can report an error inside itself.
pub(crate) trait Body {
    fn error_fields(&self) -> ErrorFields;
}

impl Body for () {
    fn error_fields(&self) -> ErrorFields {
        ErrorFields::default()
    }
}

/// Operations whose successful responses carry a secret (an app secret, a TURN key's token,
/// TURN credentials, the adapter URLs' tokens). Their bodies never go into an error: a body
/// that failed to decode may still hold the secret, and the error's position and status are
/// enough to report it.
pub(crate) fn carries_secret(operation: &str) -> bool {
    matches!(
        operation,
        "create_sfu_app"
            | "create_turn_key"
            | "generate_ice_servers"
            | "generate_turn_credentials"
            // Each item echoes its `endpoint`, whose user info and query usually hold a token
            // (see `AdapterUrl`).
            | "create_websocket_adapters"
    )
}

/// Whether an undecodable body stays out of the error: always for [`carries_secret`]
/// operations, and for any body with an ICE password (the SFU's SDP, which `Offer` and
/// `Answer` never print either). A proxy's error page is kept for diagnosis.
fn withholds(operation: &str, body: &[u8]) -> bool {
    carries_secret(operation) || memchr::memmem::find(body, b"ice-pwd").is_some()
}

/// How much of an undecodable body [`Error::Decode`] keeps: enough for a proxy's error page,
/// bounded so that a large body does not flood a log line.
const KEPT_BODY_CHARS: usize = 2048;

/// The body as [`Error::Decode`] keeps it: empty for [`carries_secret`] operations, else
/// the start of the body.
fn kept_body(operation: &str, bytes: &[u8]) -> String {
    if withholds(operation, bytes) {
        return String::new();
    }
    let text = String::from_utf8_lossy(bytes);
    let mut kept: String = text.chars().take(KEPT_BODY_CHARS).collect();
    if kept.len() < text.len() {
        kept.push('…');
    }
    kept
}

/// Says why the body is missing from the error, so nobody goes looking for it.
fn withheld_note(operation: &str, body: &[u8]) -> String {
    let bytes = body.len();
    if carries_secret(operation) {
        format!("; the {bytes}-byte body is withheld because {operation} responses carry a secret")
    } else if withholds(operation, body) {
        format!("; the {bytes}-byte body is withheld because it holds an ICE password")
    } else {
        String::new()
    }
}

/// serde_json's reason without the values it may quote (`invalid type: string "…"`).
///
/// For [`carries_secret`] operations only the category and position are kept: a hand-written
/// `Deserialize` may put a value in its message without quoting it.
pub(crate) fn json_reason(operation: &str, e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let position = format!("at line {} column {}", e.line(), e.column());
    if carries_secret(operation) {
        let category = match e.classify() {
            Category::Io => "I/O error",
            Category::Syntax => "invalid JSON",
            Category::Data => "JSON of the wrong shape",
            Category::Eof => "JSON cut short",
        };
        return format!("{category} {position}");
    }
    let message = e.to_string();
    let message = message
        .strip_suffix(&format!(" {position}"))
        .unwrap_or(&message);
    format!("{} {position}", redact_quoted(message))
}

/// Replaces what serde quotes from the input with `…`: `"strings"`, and backquoted values
/// (`` `42` ``, unknown variants and fields). Field names serde quotes from the schema
/// (missing or duplicate fields, the expected variants after `expected`) stay, since they
/// are what a reader needs to find the mismatch.
pub(crate) fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                out.push_str("\"…\"");
                let mut escaped = false;
                for c in chars.by_ref() {
                    match c {
                        '\\' if !escaped => escaped = true,
                        '"' if !escaped => break,
                        _ => escaped = false,
                    }
                }
            }
            '`' => {
                let from_schema = out.ends_with("missing field ")
                    || out.ends_with("duplicate field ")
                    || out.contains("expected");
                let quoted: String = chars.by_ref().take_while(|&c| c != '`').collect();
                out.push('`');
                out.push_str(if from_schema { &quoted } else { "…" });
                out.push('`');
            }
            c => out.push(c),
        }
    }
    out
}

/// Awaits a generated call and decodes its outcome into the crate's result: the success
/// value, or the [`Error`] its status, body or failure says.
///
/// The call is boxed here, where every API call passes, so that the futures of the layers
/// above stay small: a debug build copies an awaited future into its caller's stack frame a
/// few times over, and unboxed, a room join's frames came near a tokio worker's 2 MiB stack.
pub(crate) fn decode<'a, T, E>(
    operation: &'static str,
    call: impl Future<Output = Result<ResponseValue<T>, progenitor_client::Error<E>>> + Send + 'a,
) -> Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>
where
    T: Body + Send + 'a,
    E: Body + Send + 'a,
{
    // The call is boxed too: the frames that await it then copy a pointer, not the future.
    Box::pin(decode_unboxed(operation, Box::pin(call)))
}

/// A generated call, boxed.
type Call<'a, T, E> = Pin<
    Box<dyn Future<Output = Result<ResponseValue<T>, progenitor_client::Error<E>>> + Send + 'a>,
>;

async fn decode_unboxed<T, E>(operation: &'static str, call: Call<'_, T, E>) -> Result<T, Error>
where
    T: Body,
    E: Body,
{
    let started = std::time::Instant::now();
    let (result, last_status) = observe_status(call).await;
    let result = match result {
        Ok(value) => {
            let status = value.status().as_u16();
            let retry = retry_after(value.headers());
            let body = value.into_inner();
            let fields = body.error_fields();
            if fields.is_error() {
                Err(api_error(operation, status, retry, fields))
            } else {
                Ok(body)
            }
        }
        Err(e) => Err(from_progenitor(operation, e, last_status).await),
    };
    record(operation, result.as_ref().err(), started.elapsed());
    result
}

/// Counts one call and its time (see `crate::metrics`).
fn record(operation: &'static str, error: Option<&Error>, took: std::time::Duration) {
    let (outcome, code) = match error {
        None => ("ok", "none"),
        Some(Error::Api(e)) => (
            metrics::status_class(e.status),
            e.code.as_ref().map_or("none", |c| c.label()),
        ),
        Some(Error::Timeout { .. }) => ("timeout", "none"),
        Some(Error::Transport { .. }) => ("connection", "none"),
        Some(Error::Decode { .. }) => ("decode", "none"),
        Some(_) => ("invalid", "none"),
    };
    metrics::count(
        metrics::API_REQUESTS,
        &[
            ("operation", operation),
            ("outcome", outcome),
            ("code", code),
        ],
        1,
    );
    metrics::observe(metrics::API_DURATION, &[("operation", operation)], took);
}

/// `status` is that of the last response received, if any.
async fn from_progenitor<E: Body>(
    operation: &'static str,
    e: progenitor_client::Error<E>,
    status: Option<u16>,
) -> Error {
    use progenitor_client::Error as P;
    match e {
        P::InvalidRequest(reason) => Error::InvalidArgument(reason),
        P::CommunicationError(source)
        | P::InvalidUpgrade(source)
        | P::ResponseBodyError(source) => transport(operation, source),
        P::ErrorResponse(value) => {
            let status = value.status().as_u16();
            let retry = retry_after(value.headers());
            api_error(operation, status, retry, value.into_inner().error_fields())
        }
        P::InvalidResponsePayload(bytes, reason) => match (status, error_body(&bytes)) {
            // An error body where the operation's success body was expected (the service's
            // error fields with HTTP 200): the service's error, not a decoding failure.
            (Some(status), Some(fields)) => api_error(operation, status, None, fields),
            _ => Error::Decode {
                operation,
                status,
                reason: json_reason(operation, &reason) + &withheld_note(operation, &bytes),
                body: kept_body(operation, &bytes),
            },
        },
        P::UnexpectedResponse(response) => unexpected(operation, response).await,
        // Only hooks make these, and this crate's do not; quoted values go all the same.
        P::Custom(reason) => Error::Decode {
            operation,
            status,
            reason: redact_quoted(&reason),
            body: String::new(),
        },
    }
}

fn transport(operation: &'static str, source: reqwest::Error) -> Error {
    if source.is_timeout() {
        Error::Timeout { operation }
    } else {
        Error::Transport { operation, source }
    }
}

/// A status the document does not list: still an API error if the body says so.
async fn unexpected(operation: &'static str, response: reqwest::Response) -> Error {
    let status = response.status().as_u16();
    let retry = retry_after(response.headers());
    let body = match response.text().await {
        Ok(body) => body,
        Err(source) => return transport(operation, source),
    };
    match serde_json::from_str::<Generic>(&body) {
        Ok(g) if status >= 400 || g.error_code.is_some() || !g.errors.is_empty() => {
            api_error(operation, status, retry, g.into_fields())
        }
        // A proxy's error page, say: its start describes the failure, unless the operation's
        // responses carry secrets.
        Ok(_) | Err(_) if status >= 400 => {
            let mut fields = ErrorFields::default();
            if !body.is_empty() && !withholds(operation, body.as_bytes()) {
                fields.description = Some(body.chars().take(512).collect());
            }
            api_error(operation, status, retry, fields)
        }
        result => Error::Decode {
            operation,
            status: Some(status),
            reason: match result {
                Err(e) => json_reason(operation, &e),
                Ok(_) => format!("unexpected HTTP {status}"),
            } + &withheld_note(operation, body.as_bytes()),
            body: kept_body(operation, body.as_bytes()),
        },
    }
}

/// The error fields any of the service's bodies may carry, whatever the operation.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Generic {
    error_code: Option<String>,
    error_description: Option<String>,
    error_subcode: Option<String>,
    #[serde(default)]
    errors: Vec<AccountMessage>,
    success: Option<bool>,
}

impl Generic {
    fn into_fields(self) -> ErrorFields {
        ErrorFields {
            code: self.error_code,
            description: self.error_description,
            subcode: self.error_subcode,
            failed: self.success == Some(false),
            errors: self.errors,
        }
    }
}

/// The error fields of a body that did not decode as the operation's success body, if it is
/// an error body: a non-empty `errorCode`, or the account API's `success: false` or `errors`.
fn error_body(bytes: &[u8]) -> Option<ErrorFields> {
    let fields = serde_json::from_slice::<Generic>(bytes).ok()?.into_fields();
    (fields.is_error() || !fields.errors.is_empty()).then_some(fields)
}

fn api_error(
    operation: &'static str,
    status: u16,
    retry_after: Option<std::time::Duration>,
    fields: ErrorFields,
) -> Error {
    Error::Api(Box::new(ApiError {
        operation,
        status,
        code: fields.code.as_deref().map(ErrorCode::from),
        description: fields.description,
        subcode: fields.subcode,
        errors: fields.errors,
        retry_after,
    }))
}

/// SFU and TURN bodies: `errorCode` / `errorDescription` (and `errorSubcode` on error bodies).
macro_rules! sfu_body {
    ($($ty:ty),* $(,)?) => {$(
        impl Body for $ty {
            fn error_fields(&self) -> ErrorFields {
                ErrorFields {
                    code: self.error_code.clone(),
                    description: self.error_description.clone(),
                    ..ErrorFields::default()
                }
            }
        }
    )*};
}

/// Error bodies that carry a subcode.
macro_rules! sfu_error_body {
    ($($ty:ty),* $(,)?) => {$(
        impl Body for $ty {
            fn error_fields(&self) -> ErrorFields {
                ErrorFields {
                    code: self.error_code.clone(),
                    description: self.error_description.clone(),
                    subcode: self.error_subcode.clone(),
                    ..ErrorFields::default()
                }
            }
        }
    )*};
}

/// Account API envelopes: `success: false` or a non-empty `errors` is a failure.
macro_rules! account_body {
    ($($ty:ty),* $(,)?) => {$(
        impl Body for $ty {
            fn error_fields(&self) -> ErrorFields {
                ErrorFields {
                    failed: !self.success || !self.errors.is_empty(),
                    errors: self.errors.iter().map(|e| AccountMessage {
                        code: e.code,
                        message: e.message.clone(),
                    }).collect(),
                    ..ErrorFields::default()
                }
            }
        }
    )*};
}

mod impls {
    use super::*;
    use crate::raw::{account::types as a, sfu::types as s, turn::types as t};

    sfu_body!(
        s::NewSessionResponse,
        s::GetSessionStateResponse,
        s::TracksResponse,
        s::RenegotiateResponse,
        s::UpdateTracksResponse,
        s::CloseTracksResponse,
        s::EstablishDataChannelsTransportResponse,
        s::DataChannelsResponse,
        s::CloseDataChannelsResponse,
        s::NewAdapterResponse,
        s::CloseAdapterResponse,
    );
    sfu_error_body!(
        s::ErrorResponse,
        s::AdapterErrorResponse,
        s::CloseAdapterErrorResponse,
    );

    // The TURN service may answer with a bare `error` string instead of the SFU's fields.
    impl Body for t::TurnError {
        fn error_fields(&self) -> ErrorFields {
            ErrorFields {
                code: self.error_code.clone(),
                description: self
                    .error_description
                    .clone()
                    .or_else(|| self.error.clone()),
                failed: true,
                ..ErrorFields::default()
            }
        }
    }
    account_body!(
        a::SfuAppEnvelope,
        a::SfuAppListEnvelope,
        a::SfuAppWithSecretEnvelope,
        a::TurnKeyEnvelope,
        a::TurnKeyListEnvelope,
        a::TurnKeyWithSecretEnvelope,
        a::DeletedEnvelope,
    );

    impl Body for t::IceServersResponse {
        fn error_fields(&self) -> ErrorFields {
            ErrorFields::default()
        }
    }

    impl Body for t::TurnCredentialsResponse {
        fn error_fields(&self) -> ErrorFields {
            ErrorFields::default()
        }
    }

    // An error envelope is an error whatever `success` says; `success` is optional there.
    impl Body for a::AccountErrorEnvelope {
        fn error_fields(&self) -> ErrorFields {
            ErrorFields {
                failed: true,
                errors: self
                    .errors
                    .iter()
                    .map(|e| AccountMessage {
                        code: e.code,
                        message: e.message.clone(),
                    })
                    .collect(),
                ..ErrorFields::default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(operation: &str, json: &str) -> String {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Created {
            uid: u64,
            secret: String,
        }
        let e = serde_json::from_str::<Created>(json).unwrap_err();
        json_reason(operation, &e)
    }

    #[test]
    fn reasons_lose_quoted_values_and_keep_the_schema() {
        let r = reason("get_sfu_app", r#"{"uid": "leak-1", "secret": "s"}"#);
        assert_eq!(
            r,
            r#"invalid type: string "…", expected u64 at line 1 column 16"#
        );
        let r = reason("get_sfu_app", r#"{"uid": 1, "secret": 42}"#);
        assert!(!r.contains("42"), "{r}");
        assert!(r.starts_with("invalid type: integer `…`, expected"), "{r}");
        let r = reason("get_sfu_app", r#"{"uid": 1}"#);
        assert_eq!(r, "missing field `secret` at line 1 column 10");
        let r = redact_quoted("unknown variant `leak`, expected one of `offer`, `answer`");
        assert_eq!(r, "unknown variant `…`, expected one of `offer`, `answer`");
        let r = redact_quoted(r#"string "a \"quoted\" leak" and more"#);
        assert_eq!(r, r#"string "…" and more"#);
    }

    #[test]
    fn secret_carrying_operations_keep_only_category_and_position() {
        let r = reason("create_sfu_app", r#"{"uid": 1}"#);
        assert_eq!(r, "JSON of the wrong shape at line 1 column 10");
        let r = reason("generate_ice_servers", r#"{"uid": 1, "secret": "lea"#);
        assert_eq!(r, "JSON cut short at line 1 column 25");
        assert_eq!(kept_body("create_turn_key", b"{\"key\": \"k\"}"), "");
        assert_eq!(kept_body("get_session_state", b"<html>"), "<html>");
    }

    /// Found by the `responses` fuzz target: an adapter's endpoint, token included, was kept
    /// in the body of an undecodable create_websocket_adapters answer.
    #[test]
    fn adapter_urls_of_an_undecodable_answer_are_withheld() {
        let body = br#"{"tracks": [{"adapterId": 5, "endpoint": "wss://h.example/ws?token=t0p"}]}"#;
        assert_eq!(kept_body("create_websocket_adapters", body), "");
        let e =
            serde_json::from_slice::<crate::raw::sfu::types::NewAdapterResponse>(body).unwrap_err();
        let reason = json_reason("create_websocket_adapters", &e)
            + &withheld_note("create_websocket_adapters", body);
        assert!(!reason.contains("t0p"), "{reason}");
        assert!(reason.contains("withheld"), "{reason}");
        assert_eq!(kept_body("close_websocket_adapters", b"{}"), "{}");
    }

    #[test]
    fn sdp_in_an_undecodable_answer_is_withheld() {
        let body = b"{\"sessionDescription\": {\"sdp\": \"a=ice-pwd:hunter2\"";
        assert_eq!(kept_body("new_session", body), "");
        assert!(withheld_note("new_session", body).contains("ICE password"));
        assert_eq!(
            kept_body("new_session", b"<html>bad gateway</html>"),
            "<html>bad gateway</html>"
        );
    }

    #[test]
    fn an_error_body_in_place_of_a_success_body_is_the_services_error() {
        let sfu = error_body(br#"{"errorCode":"internal_error","errorDescription":"d"}"#);
        let sfu = sfu.expect("an SFU error body");
        assert_eq!(sfu.code.as_deref(), Some("internal_error"));
        assert_eq!(sfu.description.as_deref(), Some("d"));
        let account = br#"{"success":false,"errors":[{"code":10200,"message":"m"}],"result":null}"#;
        let account = error_body(account).expect("an account error envelope");
        assert_eq!(account.errors[0].code, 10200);
        for not_an_error in [
            &br#"{"iceServers": 3}"#[..],
            br#"{"errorCode": ""}"#,
            br#"{"success": true, "errors": []}"#,
            b"not json",
        ] {
            assert!(error_body(not_an_error).is_none());
        }
    }

    #[test]
    fn kept_bodies_are_bounded() {
        let long = "x".repeat(KEPT_BODY_CHARS + 10);
        let kept = kept_body("get_session_state", long.as_bytes());
        assert_eq!(kept.chars().count(), KEPT_BODY_CHARS + 1);
        assert!(kept.ends_with('…'));
    }
}
