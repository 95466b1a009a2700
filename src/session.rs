//! [`Session`]: one WebRTC PeerConnection on the SFU, and the discipline its negotiation needs.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tracing::Instrument;

use crate::client::Client;
use crate::description::{Answer, Offer, SessionDescription};
use crate::error::{Error, Result};
use crate::raw::sfu::types as raw;
use crate::response::finish;
use crate::wire::{Location, ResourceStatus};

/// How often a mutation rejected because another negotiation was in flight (HTTP 406 with a
/// signalling subcode) is sent again.
const CONFLICT_RETRIES: u32 = 3;

/// Per-session mutation locks, shared by every handle of the same session id.
#[derive(Default)]
pub(crate) struct SessionLocks(Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>);

impl SessionLocks {
    fn get(&self, session_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(lock) = map.get(session_id).and_then(Weak::upgrade) {
            return lock;
        }
        map.retain(|_, weak| weak.strong_count() > 0);
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        map.insert(session_id.to_owned(), Arc::downgrade(&lock));
        lock
    }
}

/// A session on the SFU. Cheap to clone; clones (and [`Client::session`] handles for the same
/// id) share one mutation lock, so negotiations of one session never overlap, while different
/// sessions proceed in parallel.
///
/// # Publish, subscribe, renegotiate, close
///
/// ```no_run
/// # async fn run(pc_offer: String, answer_to_sfu_offer: impl Fn(&str) -> String) -> cloudflare_calls::Result<()> {
/// use cloudflare_calls::{Answer, Client, Config, LocalTrack, Offer, RemoteTrack};
///
/// let client = Client::new(Config::from_env()?)?;
///
/// // Publisher: create a session, push the tracks of a local offer, apply the SFU's answer.
/// let publisher = client.new_session().send().await?;
/// let pushed = publisher
///     .add_tracks()
///     .offer(Offer::new(pc_offer))
///     .push(LocalTrack::new("0", "mic"))
///     .send()
///     .await?;
/// let _answer_for_the_publisher_pc = pushed.description.as_ref().and_then(|d| d.answer());
///
/// // Subscriber: pull the track; the SFU offers, the endpoint answers through renegotiate.
/// let subscriber = client.new_session().send().await?;
/// let pulled = subscriber
///     .add_tracks()
///     .pull(RemoteTrack::new(publisher.id(), "mic"))
///     .send()
///     .await?;
/// if let Some(offer) = pulled.description.as_ref().and_then(|d| d.offer()) {
///     subscriber.renegotiate(Answer::new(answer_to_sfu_offer(offer.sdp()))).await?;
/// }
///
/// // Close the pulled track without renegotiating.
/// let mids: Vec<String> = pulled.tracks.iter().filter_map(|t| t.mid.clone()).collect();
/// subscriber.close_tracks(mids).force().send().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Session {
    client: Client,
    id: Arc<str>,
    lock: Arc<tokio::sync::Mutex<()>>,
    answer: Option<Answer>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts creating a session.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// let session = client.new_session().correlation_id("room-42/alice").send().await?;
    /// println!("{}", session.id());
    /// # Ok(()) }
    /// ```
    pub fn new_session(&self) -> NewSession {
        NewSession {
            client: self.clone(),
            thirdparty: None,
            correlation_id: None,
            offer: None,
        }
    }

    /// A handle to an existing session, e.g. one created by another process.
    ///
    /// ```
    /// # fn run(client: cloudflare_calls::Client) {
    /// let session = client.session("e017a2629c754fedc1f7d8587e06d126");
    /// assert_eq!(session.id(), "e017a2629c754fedc1f7d8587e06d126");
    /// # }
    /// ```
    pub fn session(&self, id: impl Into<String>) -> Session {
        let id: String = id.into();
        Session {
            lock: self.session_locks().get(&id),
            client: self.clone(),
            id: id.into(),
            answer: None,
        }
    }
}

/// Builder for a new session; see [`Client::new_session`].
#[derive(Debug)]
#[must_use = "a builder does nothing until .send() is awaited"]
pub struct NewSession {
    client: Client,
    thirdparty: Option<bool>,
    correlation_id: Option<String>,
    offer: Option<Offer>,
}

impl NewSession {
    /// The peer is ICE-lite (a server, another SFU) rather than a browser.
    pub fn thirdparty(mut self, thirdparty: bool) -> Self {
        self.thirdparty = Some(thirdparty);
        self
    }

    /// A label for diagnostics. Not an idempotency key: every call creates a new session.
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.correlation_id = Some(id.into());
        self
    }

    /// Sends an offer with the creation (the older flow); the answer is [`Session::answer`].
    pub fn offer(mut self, offer: Offer) -> Self {
        self.offer = Some(offer);
        self
    }

    /// Creates the session.
    pub async fn send(self) -> Result<Session> {
        let api = self.client.raw_sfu();
        let mut call = api.new_session().app_id(self.client.app_id());
        if let Some(t) = self.thirdparty {
            call = call.thirdparty(t);
        }
        if let Some(c) = self.correlation_id {
            call = call.correlation_id(c);
        }
        let body = raw::NewSessionRequest {
            session_description: self.offer.map(Into::into),
        };
        let created = finish("new_session", call.body(body).send()).await?;
        let answer = match SessionDescription::from_raw("new_session", created.session_description)?
        {
            Some(SessionDescription::Answer(a)) => Some(a),
            Some(SessionDescription::Offer(_)) => {
                return Err(Error::Decode {
                    operation: "new_session",
                    status: None,
                    reason: "the SFU answered an offer with an offer".into(),
                    body: String::new(),
                });
            }
            None => None,
        };
        let mut session = self.client.session(created.session_id);
        session.answer = answer;
        Ok(session)
    }
}

impl Session {
    /// The session id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The SFU's answer to an offer sent with [`NewSession::offer`].
    pub fn answer(&self) -> Option<&Answer> {
        self.answer.as_ref()
    }

    pub(crate) fn api(&self) -> &crate::raw::sfu::Client {
        self.client.raw_sfu()
    }

    pub(crate) fn app_id(&self) -> &str {
        self.client.app_id()
    }

    /// Holds the session's mutation lock: one negotiation in flight per session.
    pub(crate) async fn lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.lock.lock().await
    }

    /// Runs one mutation with the session's lock held.
    pub(crate) async fn mutate<T, F, Fut>(&self, operation: &'static str, call: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let _guard = self.lock().await;
        self.retry_conflicts(operation, call).await
    }

    /// Sends a mutation again (a bounded number of times) when the SFU reports that another
    /// negotiation of the session was in flight. The caller holds the lock.
    pub(crate) async fn retry_conflicts<T, F, Fut>(
        &self,
        operation: &'static str,
        call: F,
    ) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let span = tracing::debug_span!("session_mutation", operation, session_id = %self.id);
        async {
            let mut attempt = 0;
            loop {
                match call().await {
                    Err(e) if e.is_signaling_conflict() && attempt < CONFLICT_RETRIES => {
                        attempt += 1;
                        tracing::debug!(attempt, "signalling conflict, retrying");
                        tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                    }
                    other => return other,
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Applies the endpoint's answer to an offer the SFU made.
    pub async fn renegotiate(&self, answer: Answer) -> Result<()> {
        let body = raw::RenegotiateRequest {
            session_description: Some(answer.into()),
        };
        self.mutate("renegotiate_session", || {
            let call = self
                .api()
                .renegotiate_session()
                .app_id(self.app_id())
                .session_id(self.id())
                .body(body.clone())
                .send();
            finish("renegotiate_session", call)
        })
        .await
        .map(drop)
    }

    /// The tracks and data channels of the session, as the SFU sees them.
    pub async fn state(&self) -> Result<SessionState> {
        let call = self
            .api()
            .get_session_state()
            .app_id(self.app_id())
            .session_id(self.id())
            .send();
        let state = finish("get_session_state", call).await?;
        Ok(SessionState {
            tracks: state
                .tracks
                .into_iter()
                .map(|t| TrackStatus {
                    location: t.location,
                    mid: t.mid,
                    session_id: t.session_id,
                    track_name: t.track_name,
                    kind: t.kind,
                    status: t.status,
                })
                .collect(),
            data_channels: state
                .data_channels
                .into_iter()
                .map(|d| DataChannelStatus {
                    location: d.location,
                    session_id: d.session_id,
                    name: d.data_channel_name,
                    id: d.id,
                    status: d.status,
                })
                .collect(),
        })
    }
}

/// What [`Session::state`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionState {
    /// Tracks pushed or pulled by the session.
    pub tracks: Vec<TrackStatus>,
    /// Data channels published or subscribed by the session.
    pub data_channels: Vec<DataChannelStatus>,
}

/// One track of [`SessionState`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackStatus {
    /// Pushed (local) or pulled (remote).
    pub location: Option<Location>,
    /// The transceiver's media id in this session.
    pub mid: Option<String>,
    /// The publisher's session, for a pulled track.
    pub session_id: Option<String>,
    /// The track's name.
    pub track_name: Option<String>,
    /// `audio` or `video`.
    pub kind: Option<String>,
    /// Whether the track is live.
    pub status: Option<ResourceStatus>,
}

/// One data channel of [`SessionState`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DataChannelStatus {
    /// Published (local) or subscribed (remote).
    pub location: Option<Location>,
    /// The publisher's session, for a subscription.
    pub session_id: Option<String>,
    /// The channel's name.
    pub name: Option<String>,
    /// The negotiated channel id on this session.
    pub id: Option<u16>,
    /// Whether the channel is open.
    pub status: Option<ResourceStatus>,
}
