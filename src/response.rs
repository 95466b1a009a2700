//! Turns what a generated call returns into the crate's `Result`: typed API errors from
//! error statuses, error bodies that arrive with HTTP 200, decode failures with their body.

use std::cell::Cell;
use std::future::Future;

use progenitor_client::ResponseValue;

use crate::error::{AccountMessage, ApiError, Error, ErrorCode};
use crate::transport::retry_after;

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

tokio::task_local! {
    /// The status of the last response the transport received for the call being finished:
    /// progenitor reports an undecodable body without it.
    static LAST_STATUS: Cell<Option<u16>>;
}

/// Called by the transport with the status of the response it hands to progenitor; outside
/// [`finish`] (raw bindings used directly) there is nowhere to put it.
pub(crate) fn record_status(status: u16) {
    let _ = LAST_STATUS.try_with(|last| last.set(Some(status)));
}

/// Awaits a generated call and classifies the outcome.
pub(crate) async fn finish<T, E>(
    operation: &'static str,
    call: impl Future<Output = Result<ResponseValue<T>, progenitor_client::Error<E>>>,
) -> Result<T, Error>
where
    T: Body,
    E: Body,
{
    let watched = async {
        let result = call.await;
        (result, LAST_STATUS.with(Cell::get))
    };
    let (result, last_status) = LAST_STATUS.scope(Cell::new(None), watched).await;
    match result {
        Ok(value) => {
            let status = value.status().as_u16();
            let retry = retry_after(value.headers());
            let body = value.into_inner();
            let fields = body.error_fields();
            if fields.is_error() {
                return Err(api_error(operation, status, retry, fields));
            }
            Ok(body)
        }
        Err(e) => Err(from_progenitor(operation, e, last_status).await),
    }
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
        P::InvalidResponsePayload(bytes, reason) => Error::Decode {
            operation,
            status,
            reason: reason.to_string(),
            body: String::from_utf8_lossy(&bytes).into_owned(),
        },
        P::UnexpectedResponse(response) => unexpected(operation, response).await,
        P::Custom(reason) => Error::Decode {
            operation,
            status,
            reason,
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
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Generic {
        error_code: Option<String>,
        error_description: Option<String>,
        error_subcode: Option<String>,
        #[serde(default)]
        errors: Vec<AccountMessage>,
    }
    match serde_json::from_str::<Generic>(&body) {
        Ok(g) if status >= 400 || g.error_code.is_some() || !g.errors.is_empty() => {
            let fields = ErrorFields {
                code: g.error_code,
                description: g.error_description,
                subcode: g.error_subcode,
                errors: g.errors,
                failed: false,
            };
            api_error(operation, status, retry, fields)
        }
        Ok(_) | Err(_) if status >= 400 => {
            let mut fields = ErrorFields::default();
            if !body.is_empty() {
                fields.description = Some(body.chars().take(512).collect());
            }
            api_error(operation, status, retry, fields)
        }
        result => Error::Decode {
            operation,
            status: Some(status),
            reason: match result {
                Err(e) => e.to_string(),
                Ok(_) => format!("unexpected HTTP {status}"),
            },
            body,
        },
    }
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
