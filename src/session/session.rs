//! [`Session`]: a handle to one WebRTC PeerConnection on the SFU, and the discipline its
//! negotiation needs (one change at a time).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument;

use crate::error::{Error, ErrorCode, Result};
use crate::http::response::decode;
use crate::metrics;
use crate::raw::sfu::types as raw;
use crate::session::description::{Answer, Offer, SessionDescription};
use crate::session::lock::{Owed, OwedAnswer, SessionGuard, SessionLocks};
use crate::session::state::SessionState;

/// How often a mutation rejected because another negotiation was in flight (HTTP 406 with a
/// signalling subcode) is sent again.
const CONFLICT_RETRIES: u32 = 3;

/// How often an answer whose delivery failed transiently is sent again within one call.
const ANSWER_RESENDS: u32 = 3;

/// How long a change may wait for the session's lock before the wait is logged.
const LONG_WAIT: Duration = Duration::from_secs(5);

/// What every session handle of one client shares: the SFU bindings, the app, the locks.
/// Sessions hold this rather than the whole `Client`, so this module needs nothing of it.
pub(crate) struct Sessions {
    api: crate::raw::sfu::Client,
    app_id: String,
    locks: SessionLocks,
}

impl Sessions {
    pub(crate) fn new(api: crate::raw::sfu::Client, app_id: String) -> Arc<Self> {
        Arc::new(Self {
            api,
            app_id,
            locks: SessionLocks::default(),
        })
    }

    pub(crate) fn api(&self) -> &crate::raw::sfu::Client {
        &self.api
    }

    /// A handle to session `id`, sharing the lock of every other handle to it.
    pub(crate) fn handle(self: &Arc<Self>, id: String) -> Session {
        Session {
            lock: self.locks.get(&id),
            sessions: self.clone(),
            id: id.into(),
            answer: None,
        }
    }
}

/// A session on the SFU. Cheap to clone; clones (and [`Client::session`](crate::Client::session) handles for the same
/// id) share one mutation lock, so changes of one session never overlap, while different
/// sessions proceed in parallel.
///
/// Calls that may leave the SFU waiting for the endpoint's answer return a
/// [`Negotiation`](crate::Negotiation); a pending SFU offer holds the lock until it is
/// answered.
///
/// # Publish, subscribe, close
///
/// ```no_run
/// # async fn run(pc_offer: String, answer_to_sfu_offer: impl Fn(&str) -> String) -> cloudflare_calls::Result<()> {
/// use cloudflare_calls::{Answer, Client, Config, LocalTrack, Offer, RemoteTrack};
/// use cloudflare_calls::session::CloseMode;
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
/// let _answer_for_the_publisher_pc = pushed.negotiation.answer();
///
/// // Subscriber: pull the track; the SFU offers, the endpoint answers.
/// let subscriber = client.new_session().send().await?;
/// let pulled = subscriber
///     .add_tracks()
///     .pull(RemoteTrack::new(publisher.id(), "mic"))
///     .send()
///     .await?;
/// let mids: Vec<String> = pulled.tracks.iter().filter_map(|t| t.mid.clone()).collect();
/// if let Some(pending) = pulled.negotiation.into_pending() {
///     let answer = answer_to_sfu_offer(pending.offer().sdp());
///     pending.answer(Answer::new(answer)).await?;
/// }
///
/// // Close the pulled track without renegotiating.
/// subscriber.close_tracks(mids, CloseMode::Force).send().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Session {
    sessions: Arc<Sessions>,
    id: Arc<str>,
    lock: Arc<tokio::sync::Mutex<Owed>>,
    answer: Option<Answer>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Builder for a new session; see [`Client::new_session`](crate::Client::new_session).
#[must_use = "a builder does nothing until .send() is awaited"]
pub struct CreateSession {
    sessions: Arc<Sessions>,
    thirdparty: Option<bool>,
    correlation_id: Option<String>,
    offer: Option<Offer>,
}

impl std::fmt::Debug for CreateSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateSession")
            .field("thirdparty", &self.thirdparty)
            .field("correlation_id", &self.correlation_id)
            .field("offer", &self.offer.is_some())
            .finish_non_exhaustive()
    }
}

impl CreateSession {
    pub(crate) fn new(sessions: Arc<Sessions>) -> Self {
        Self {
            sessions,
            thirdparty: None,
            correlation_id: None,
            offer: None,
        }
    }

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
        let api = self.sessions.api();
        let mut call = api.new_session().app_id(&self.sessions.app_id);
        if let Some(t) = self.thirdparty {
            call = call.thirdparty(t);
        }
        if let Some(c) = self.correlation_id {
            call = call.correlation_id(c);
        }
        let body = raw::NewSessionRequest {
            session_description: self.offer.map(Into::into),
        };
        let created = decode("new_session", call.body(body).send()).await?;
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
        let mut session = self.sessions.handle(created.session_id);
        session.answer = answer;
        Ok(session)
    }
}

impl Session {
    /// The session id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The SFU's answer to an offer sent with [`CreateSession::offer`].
    pub fn answer(&self) -> Option<&Answer> {
        self.answer.as_ref()
    }

    pub(crate) fn api(&self) -> &crate::raw::sfu::Client {
        self.sessions.api()
    }

    pub(crate) fn app_id(&self) -> &str {
        &self.sessions.app_id
    }

    /// Takes the session's mutation lock: one change in flight per session. Owned, so a
    /// pending offer can keep it until it is answered.
    ///
    /// An answer the SFU is still owed from an earlier failed delivery goes out first: until
    /// it arrives the SFU refuses every change of the session. If it still cannot be
    /// delivered, that error is the caller's, and the answer stays owed.
    pub(crate) async fn lock(&self) -> Result<SessionGuard> {
        let mut guard = self.acquire().await;
        if let Some(owed) = guard.answer.take() {
            tracing::info!(session_id = %self.id, "delivering the answer a failed call left owed");
            self.deliver_owed(&mut guard, owed).await?;
        }
        Ok(guard)
    }

    /// The lock alone, whatever is owed.
    async fn acquire(&self) -> SessionGuard {
        let lock = self.lock.clone().lock_owned();
        tokio::pin!(lock);
        if let Ok(guard) = tokio::time::timeout(LONG_WAIT, &mut lock).await {
            return guard;
        }
        // Most often a PendingOffer kept alive by the same task: say so instead of hanging
        // silently.
        tracing::warn!(
            session_id = %self.id,
            "still waiting for this session's lock; is a PendingOffer of it left unanswered?"
        );
        lock.await
    }

    /// Runs one mutation that exchanges no SDP with the session's lock held.
    pub(crate) async fn mutate<T, F, Fut>(&self, operation: &'static str, call: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let _lock = self.lock().await?;
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
                        metrics::count(
                            metrics::SIGNALING_CONFLICTS,
                            &[("operation", operation)],
                            1,
                        );
                        attempt += 1;
                        tracing::debug!(attempt, "signalling conflict, retrying");
                        tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                    }
                    Err(e) => {
                        if e.is_signaling_conflict() {
                            metrics::count(
                                metrics::SIGNALING_CONFLICTS,
                                &[("operation", operation)],
                                1,
                            );
                        }
                        return Err(e);
                    }
                    ok => return ok,
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Sends the endpoint's answer to an offer the SFU made.
    ///
    /// The usual way is [`PendingOffer::answer`](crate::PendingOffer::answer). This is for an
    /// answer whose pending offer was dropped, e.g. because the offer travelled to a browser
    /// through another process. It waits while a [`PendingOffer`](crate::PendingOffer) of this
    /// session is alive in this client, and replaces an answer a failed call left owed.
    pub async fn renegotiate(&self, answer: Answer) -> Result<()> {
        let mut guard = self.acquire().await;
        guard.answer = None;
        self.renegotiate_locked(&mut guard, answer).await
    }

    /// Delivers the endpoint's answer for a caller that holds the lock.
    ///
    /// A transient failure (`is_retryable`, or an unknown outcome) is sent again a few times;
    /// once a failed attempt may have reached the SFU, "no offer is waiting" means delivered.
    /// If it still fails, and the SFU did not refuse the answer itself, the answer stays owed
    /// in the lock and the next change of the session delivers it first, so the session is
    /// never left with an offer nobody can answer.
    pub(crate) async fn renegotiate_locked(
        &self,
        guard: &mut SessionGuard,
        answer: Answer,
    ) -> Result<()> {
        let owed = OwedAnswer {
            answer,
            may_have_landed: false,
        };
        self.deliver_owed(guard, owed).await
    }

    async fn deliver_owed(&self, guard: &mut SessionGuard, mut owed: OwedAnswer) -> Result<()> {
        let body = raw::RenegotiateRequest {
            session_description: Some(owed.answer.clone().into()),
        };
        let mut resends = 0;
        loop {
            let sent = self
                .retry_conflicts("renegotiate_session", || {
                    let call = self
                        .api()
                        .renegotiate_session()
                        .app_id(self.app_id())
                        .session_id(self.id())
                        .body(body.clone())
                        .send();
                    decode("renegotiate_session", call)
                })
                .await;
            let error = match sent {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            if owed.may_have_landed && no_offer_waiting(&error) {
                tracing::debug!(session_id = %self.id, "an earlier attempt delivered the answer");
                return Ok(());
            }
            owed.may_have_landed |= error.is_outcome_unknown();
            // Signalling conflicts were retried already, in `retry_conflicts`.
            let transient = (error.is_retryable() && !error.is_signaling_conflict())
                || error.is_outcome_unknown();
            if transient && resends < ANSWER_RESENDS {
                resends += 1;
                metrics::count(metrics::ANSWERS_RESENT, &[], 1);
                tracing::debug!(resends, %error, "answer not delivered, sending it again");
                tokio::time::sleep(Duration::from_millis(50 << resends)).await;
                continue;
            }
            if !refuses_the_answer(&error) {
                tracing::warn!(
                    session_id = %self.id,
                    %error,
                    "answer not delivered; the session's next change sends it first"
                );
                metrics::count(metrics::ANSWERS_OWED, &[], 1);
                guard.answer = Some(owed);
            }
            return Err(error);
        }
    }

    /// The tracks and data channels of the session, as the SFU sees them.
    pub async fn state(&self) -> Result<SessionState> {
        let call = self
            .api()
            .get_session_state()
            .app_id(self.app_id())
            .session_id(self.id())
            .send();
        Ok(decode("get_session_state", call).await?.into())
    }
}

/// What the SFU says to an answer when no offer of its own is waiting for one: the answer
/// an earlier, ambiguous attempt delivered.
fn no_offer_waiting(error: &Error) -> bool {
    error.status() == Some(400)
        && matches!(
            error.code(),
            None | Some(ErrorCode::InvalidSessionDescription)
        )
}

/// The SFU refused the answer itself (bad SDP, or no offer waiting for one), or the session
/// is gone: sending it again cannot help.
fn refuses_the_answer(error: &Error) -> bool {
    matches!(error.status(), Some(400..=499)) && !matches!(error.status(), Some(406 | 425 | 429))
}
