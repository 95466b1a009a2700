//! WebSocket adapters: the SFU bridges tracks to WebSocket servers, through
//! [`Client::adapters`]. How batches report failures is documented on [`Adapters`].

use std::future::Future;

use progenitor_client::{Error as RawError, ResponseValue};

use crate::adapter_url::AdapterUrl;
use crate::client::Client;
use crate::error::{Error, ErrorCode, Result};
use crate::http::response::decode;
use crate::raw::sfu::types as raw;
use crate::wire::{AdapterInputCodec, AdapterOutputCodec, Location};

/// The service accepts one to this many adapters per call.
///
/// ```
/// assert_eq!(cloudflare_calls::adapters::MAX_ADAPTERS_PER_CALL, 4);
/// ```
pub const MAX_ADAPTERS_PER_CALL: usize = 4;

/// One adapter to create.
///
/// ```
/// use cloudflare_calls::adapters::{AdapterItem, AdapterOutputCodec};
/// // The SFU reads PCM from the URL into a new track "tts" of a new session.
/// let ingest = AdapterItem::ingest("tts", "wss://bot.example.com/tts");
/// // The SFU sends track "mic" of an existing session to the URL as PCM.
/// let stream = AdapterItem::stream(
///     "2a45361d5fd7cc14eface0587c276c94",
///     "mic",
///     "wss://asr.example.com/in",
///     AdapterOutputCodec::Pcm,
/// );
/// # let _ = (ingest, stream);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct AdapterItem(raw::AdapterObject);

impl AdapterItem {
    /// Ingest: the SFU reads PCM audio from `url` and publishes it as track `track_name`
    /// of a session it allocates (its id comes back in [`Adapter::session_id`]).
    ///
    /// ```
    /// let item = cloudflare_calls::adapters::AdapterItem::ingest("tts", "wss://bot.example.com/tts");
    /// # let _ = item;
    /// ```
    pub fn ingest(track_name: impl Into<String>, url: impl Into<AdapterUrl>) -> Self {
        Self(raw::AdapterObject {
            location: Location::Local,
            track_name: track_name.into(),
            endpoint: url.into(),
            input_codec: Some(AdapterInputCodec::Pcm),
            adapter_id: None,
            mode: None,
            output_codec: None,
            session_id: None,
        })
    }

    /// Stream: the SFU sends track `track_name` of session `session_id` to `url`,
    /// as PCM (audio tracks) or JPEG (video tracks).
    ///
    /// ```
    /// use cloudflare_calls::adapters::AdapterOutputCodec::Jpeg;
    /// use cloudflare_calls::adapters::AdapterItem;
    /// let session_id = "2a45361d5fd7cc14eface0587c276c94";
    /// let frames = AdapterItem::stream(session_id, "cam", "wss://cv.example.com", Jpeg);
    /// # let _ = frames;
    /// ```
    pub fn stream(
        session_id: impl Into<String>,
        track_name: impl Into<String>,
        url: impl Into<AdapterUrl>,
        codec: AdapterOutputCodec,
    ) -> Self {
        Self(raw::AdapterObject {
            location: Location::Remote,
            session_id: Some(session_id.into()),
            track_name: track_name.into(),
            endpoint: url.into(),
            output_codec: Some(codec),
            adapter_id: None,
            input_codec: None,
            mode: None,
        })
    }

    /// Why the service would refuse this item, if it would. The URL is not quoted: the service
    /// sends no custom headers, so adapter URLs often carry a token in their query.
    fn problem(&self) -> Option<&'static str> {
        let item = &self.0;
        if item.track_name.trim().is_empty() {
            return Some("the track name is empty");
        }
        if item.location == Location::Remote
            && item
                .session_id
                .as_deref()
                .is_none_or(|s| s.trim().is_empty())
        {
            return Some("the session id is empty");
        }
        let host = ["ws://", "wss://"].iter().find_map(|scheme| {
            let url = item.endpoint.as_str();
            let prefix = url.get(..scheme.len())?;
            prefix
                .eq_ignore_ascii_case(scheme)
                .then(|| &url[scheme.len()..])
        });
        if host.is_none_or(|h| h.is_empty() || h.starts_with(['/', '?', '#'])) {
            return Some("the adapter URL is not a ws:// or wss:// URL with a host");
        }
        None
    }
}

/// An adapter the service created.
///
/// ```no_run
/// # async fn run(result: cloudflare_calls::adapters::CreateAdaptersOutput) -> cloudflare_calls::Result<()> {
/// for adapter in &result.adapters {
///     println!("{} (session {:?})", adapter.adapter_id, adapter.session_id);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Adapter {
    /// The id to close it with.
    pub adapter_id: String,
    /// For an ingest adapter, the session that publishes its track: pull from there.
    pub session_id: Option<String>,
    /// The track it reads or writes, as echoed by the service.
    pub track_name: Option<String>,
    /// Its WebSocket URL, as echoed by the service.
    pub url: Option<AdapterUrl>,
}

/// An adapter that could not be created or closed; the rest of the batch is unaffected.
///
/// ```no_run
/// # async fn run(result: cloudflare_calls::adapters::CreateAdaptersOutput) -> cloudflare_calls::Result<()> {
/// use cloudflare_calls::ErrorCode;
///
/// for failure in &result.failed {
///     if failure.code == ErrorCode::WebsocketHandshakeFailed {
///         eprintln!("{:?} did not accept the connection", failure.url);
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AdapterRefusal {
    /// The adapter, when the item names one (always on close).
    pub adapter_id: Option<String>,
    /// The track, when the item names one (on create).
    pub track_name: Option<String>,
    /// The WebSocket URL, when the item names one (on create).
    pub url: Option<AdapterUrl>,
    /// Why, e.g. [`ErrorCode::WebsocketHandshakeFailed`]. An item that carried neither an
    /// adapter id nor an error code is reported with `ErrorCode::Unknown("")`.
    pub code: ErrorCode,
    /// The service's explanation.
    pub description: Option<String>,
}

/// The outcome of [`Adapters::create`]; see [`Adapters`] for how failures are reported.
///
/// ```no_run
/// # async fn run(result: cloudflare_calls::adapters::CreateAdaptersOutput) -> cloudflare_calls::Result<()> {
/// if !result.failed.is_empty() {
///     eprintln!("{} of the batch failed", result.failed.len());
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateAdaptersOutput {
    /// Created adapters, in request order.
    pub adapters: Vec<Adapter>,
    /// Refused items, in request order.
    pub failed: Vec<AdapterRefusal>,
}

/// An adapter the service closed (or had already closed).
///
/// ```no_run
/// # async fn run(result: cloudflare_calls::adapters::CloseAdaptersOutput) -> cloudflare_calls::Result<()> {
/// let bytes: u64 = result.closed.iter().filter_map(|c| c.bytes_processed).sum();
/// # let _ = bytes;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClosedAdapter {
    /// The adapter.
    pub adapter_id: String,
    /// Bytes it handled, when the service reports it (absent does not mean zero; an adapter
    /// that was already closed reports none).
    pub bytes_processed: Option<u64>,
}

/// The outcome of [`Adapters::close`]; see [`Adapters`] for how failures are reported.
///
/// ```no_run
/// # async fn run(result: cloudflare_calls::adapters::CloseAdaptersOutput) -> cloudflare_calls::Result<()> {
/// let retry: Vec<_> = result.failed.iter().filter_map(|f| f.adapter_id.clone()).collect();
/// # let _ = retry;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CloseAdaptersOutput {
    /// Closed adapters, in request order.
    pub closed: Vec<ClosedAdapter>,
    /// Adapters that could not be closed, in request order: close them again later.
    pub failed: Vec<AdapterRefusal>,
}

/// WebSocket adapters of the client's app, from [`Client::adapters`].
///
/// A batch can succeed partly, so [`CreateAdapters::send`] and [`Adapters::close`] return their
/// successes and their per-item failures side by side, each list in request order. When no
/// item succeeds the service answers HTTP 503 with the per-item errors; that is returned as
/// `Ok` as well, with an empty success list and every item in `failed`, so a batch is read the
/// same way whatever happened to it. A 503 that lists no items (say, from a proxy) and any
/// other error status are [`Error::Api`].
///
/// ```
/// use cloudflare_calls::{Client, Config};
/// let config = Config::new("https://rtc.live.cloudflare.com/v1", "app-id", "app-secret");
/// let client = Client::new(config)?;
/// let adapters = client.adapters();
/// # let _ = adapters;
/// # Ok::<(), cloudflare_calls::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Adapters<'a> {
    client: &'a Client,
}

impl<'a> Adapters<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Starts a batch of one to [`MAX_ADAPTERS_PER_CALL`] adapters.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// use cloudflare_calls::adapters::AdapterItem;
    ///
    /// let tts = AdapterItem::ingest("tts", "wss://tts.example.com");
    /// let batch = client.adapters().create().item(tts);
    /// let result = batch.send().await?;
    /// # let _ = result;
    /// # Ok(()) }
    /// ```
    pub fn create(&self) -> CreateAdapters<'a> {
        CreateAdapters {
            client: self.client,
            items: Vec::new(),
        }
    }

    /// Closes one to [`MAX_ADAPTERS_PER_CALL`] adapters. Closing one already closed succeeds,
    /// so failed items can simply be closed again.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// let result = client.adapters().close(["4e66a9d5a35e4a0899f6f8d0b63a35c1"]).await?;
    /// for closed in &result.closed {
    ///     println!("{} handled {:?} bytes", closed.adapter_id, closed.bytes_processed);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn close<I, S>(&self, adapter_ids: I) -> Result<CloseAdaptersOutput>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let tracks: Vec<_> = adapter_ids
            .into_iter()
            .map(|id| raw::CloseAdapterObject {
                adapter_id: id.into(),
            })
            .collect();
        check_count(tracks.len())?;
        if tracks.iter().any(|t| t.adapter_id.trim().is_empty()) {
            return Err(invalid("an adapter id is empty"));
        }
        let call = self
            .client
            .raw_sfu()
            .close_websocket_adapters()
            .app_id(self.client.app_id())
            .body(raw::CloseAdapterRequest { tracks })
            .send();
        let all_failed = |e: raw::CloseAdapterErrorResponse| {
            if e.tracks.is_empty() {
                return Err(e);
            }
            Ok(raw::CloseAdapterResponse {
                tracks: e.tracks,
                ..Default::default()
            })
        };
        let response = decode("close_websocket_adapters", items_on_503(call, all_failed)).await?;
        let mut result = CloseAdaptersOutput::default();
        for item in response.tracks {
            match (failure(item.error_code), item.adapter_id) {
                (None, Some(adapter_id)) => result.closed.push(ClosedAdapter {
                    adapter_id,
                    bytes_processed: item.bytes_processed,
                }),
                (code, adapter_id) => result.failed.push(AdapterRefusal {
                    adapter_id,
                    track_name: None,
                    url: None,
                    code: code.unwrap_or_else(|| ErrorCode::Unknown(String::new())),
                    description: item.error_description,
                }),
            }
        }
        Ok(result)
    }
}

/// Builder for [`Adapters::create`].
///
/// ```no_run
/// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
/// use cloudflare_calls::adapters::AdapterOutputCodec::Pcm;
/// use cloudflare_calls::adapters::AdapterItem;
///
/// let session = "2a45361d5fd7cc14eface0587c276c94";
/// let result = client
///     .adapters()
///     .create()
///     .item(AdapterItem::stream(session, "alice", "wss://asr.example.com/alice", Pcm))
///     .item(AdapterItem::stream(session, "bob", "wss://asr.example.com/bob", Pcm))
///     .send()
///     .await?;
/// # let _ = result;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until .send() is awaited"]
pub struct CreateAdapters<'a> {
    client: &'a Client,
    items: Vec<AdapterItem>,
}

impl CreateAdapters<'_> {
    /// Adds one adapter to the batch.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// use cloudflare_calls::adapters::AdapterItem;
    ///
    /// let tts = AdapterItem::ingest("tts", "wss://tts.example.com");
    /// client.adapters().create().item(tts).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn item(mut self, item: AdapterItem) -> Self {
        self.items.push(item);
        self
    }

    /// Adds several adapters to the batch.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// use cloudflare_calls::adapters::AdapterItem;
    ///
    /// let voices = ["en", "fr"].map(|l| AdapterItem::ingest(l, format!("wss://tts.example/{l}")));
    /// client.adapters().create().items(voices).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn items(mut self, items: impl IntoIterator<Item = AdapterItem>) -> Self {
        self.items.extend(items);
        self
    }

    /// Creates the adapters. The batch is checked first (one to four items, non-empty names
    /// and session ids, ws:// or wss:// URLs); a bad one fails before anything is sent.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// use cloudflare_calls::Error;
    /// use cloudflare_calls::adapters::AdapterItem;
    ///
    /// let bad = AdapterItem::ingest("tts", "https://not-a-websocket.example.com");
    /// let err = client.adapters().create().item(bad).send().await.unwrap_err();
    /// assert!(matches!(err, Error::InvalidArgument(_)));
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<CreateAdaptersOutput> {
        check_count(self.items.len())?;
        for (i, item) in self.items.iter().enumerate() {
            if let Some(problem) = item.problem() {
                return Err(invalid(&format!(
                    "adapter #{} of the batch: {problem}",
                    i + 1
                )));
            }
        }
        let tracks = self.items.into_iter().map(|item| item.0).collect();
        let call = self
            .client
            .raw_sfu()
            .create_websocket_adapters()
            .app_id(self.client.app_id())
            .body(raw::NewAdapterRequest { tracks })
            .send();
        let all_failed = |e: raw::AdapterErrorResponse| {
            if e.tracks.is_empty() {
                return Err(e);
            }
            Ok(raw::NewAdapterResponse {
                tracks: e.tracks,
                ..Default::default()
            })
        };
        let response = decode("create_websocket_adapters", items_on_503(call, all_failed)).await?;
        let mut result = CreateAdaptersOutput::default();
        for item in response.tracks {
            match (failure(item.error_code), item.adapter_id) {
                (None, Some(adapter_id)) => result.adapters.push(Adapter {
                    adapter_id,
                    session_id: item.session_id,
                    track_name: item.track_name,
                    url: item.endpoint,
                }),
                (code, adapter_id) => result.failed.push(AdapterRefusal {
                    adapter_id,
                    track_name: item.track_name,
                    url: item.endpoint,
                    code: code.unwrap_or_else(|| ErrorCode::Unknown(String::new())),
                    description: item.error_description,
                }),
            }
        }
        Ok(result)
    }
}

/// Turns a 503 whose body lists items into a success carrying those items (see the module
/// docs); `all_failed` hands the body back when it lists none.
async fn items_on_503<T, E>(
    call: impl Future<Output = Result<ResponseValue<T>, RawError<E>>>,
    all_failed: impl FnOnce(E) -> Result<T, E>,
) -> Result<ResponseValue<T>, RawError<E>> {
    match call.await {
        Err(RawError::ErrorResponse(value)) if value.status().as_u16() == 503 => {
            let (status, headers) = (value.status(), value.headers().clone());
            match all_failed(value.into_inner()) {
                Ok(items) => Ok(ResponseValue::new(items, status, headers)),
                Err(body) => Err(RawError::ErrorResponse(ResponseValue::new(
                    body, status, headers,
                ))),
            }
        }
        other => other,
    }
}

fn failure(code: Option<String>) -> Option<ErrorCode> {
    code.filter(|c| !c.is_empty())
        .map(|c| ErrorCode::from(c.as_str()))
}

fn check_count(n: usize) -> Result<()> {
    if !(1..=MAX_ADAPTERS_PER_CALL).contains(&n) {
        return Err(invalid(&format!(
            "{n} adapters in one call: the service takes 1 to {MAX_ADAPTERS_PER_CALL}"
        )));
    }
    Ok(())
}

fn invalid(reason: &str) -> Error {
    Error::InvalidArgument(reason.to_owned())
}

// The entry point of this file: `Client` hands out what is defined here without naming it.
impl super::Client {
    /// WebSocket adapters of this app.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// use cloudflare_calls::adapters::AdapterItem;
    ///
    /// let result = client
    ///     .adapters()
    ///     .create()
    ///     .item(AdapterItem::ingest("tts", "wss://bot.example.com/tts"))
    ///     .send()
    ///     .await?;
    /// for failure in &result.failed {
    ///     eprintln!("{:?}: {}", failure.track_name, failure.code);
    /// }
    /// let ids = result.adapters.iter().map(|a| a.adapter_id.clone());
    /// let closed = client.adapters().close(ids).await?;
    /// assert!(closed.failed.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn adapters(&self) -> Adapters<'_> {
        Adapters::new(self)
    }
}
