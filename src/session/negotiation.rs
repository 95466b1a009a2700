//! Offer/answer steps as values: what the endpoint must do after a call that may negotiate.
//!
//! The SFU runs one offer/answer state machine per session. When a call leaves it waiting for
//! the endpoint's answer, the next change of that session fails (HTTP 406) until the answer
//! arrives. So such a call returns a [`PendingOffer`] that holds the session's mutation lock
//! and is consumed by answering it: nothing else can reach the SFU in the middle.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::error::{BoxError, Error, Result};
use crate::session::Session;
use crate::session::description::{Answer, Offer, SessionDescription};
use crate::session::lock::SessionGuard;

/// What the endpoint must do after a call that may negotiate.
///
/// ```no_run
/// # async fn run(session: cloudflare_calls::Session, publisher: &str) -> cloudflare_calls::Result<()> {
/// use cloudflare_calls::{Answer, Negotiation, RemoteTrack};
///
/// let pulled = session.add_tracks().pull(RemoteTrack::new(publisher, "mic")).send().await?;
/// match pulled.negotiation {
///     Negotiation::Done => {}
///     Negotiation::Answer(answer) => { /* setRemoteDescription(answer) on the endpoint */ }
///     Negotiation::Offer(pending) => {
///         // Apply pending.offer() on the endpoint, create its answer, send it back.
///         let answer = Answer::new("v=0\r\n…");
///         pending.answer(answer).await?;
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "an SFU offer must be answered, and an SFU answer applied, by the endpoint"]
pub enum Negotiation {
    /// No session description changed hands.
    Done,
    /// The SFU answered the endpoint's offer: apply it with `setRemoteDescription`.
    Answer(Answer),
    /// The SFU made an offer that the endpoint must answer.
    Offer(PendingOffer),
}

impl Negotiation {
    /// The SFU's answer to the endpoint's offer, if that is what came back.
    pub fn answer(&self) -> Option<&Answer> {
        match self {
            Self::Answer(answer) => Some(answer),
            _ => None,
        }
    }

    /// The SFU's pending offer, if it made one.
    pub fn into_pending(self) -> Option<PendingOffer> {
        match self {
            Self::Offer(pending) => Some(pending),
            _ => None,
        }
    }

    /// Whether nothing is left for the endpoint to do.
    pub fn is_done(&self) -> bool {
        matches!(self, Self::Done)
    }

    /// Answers a pending offer with `answerer`; returns the SFU's answer to apply, if any.
    ///
    /// ```no_run
    /// # async fn run(session: cloudflare_calls::Session, mut endpoint: impl cloudflare_calls::Answerer) -> cloudflare_calls::Result<()> {
    /// let transport = session.establish_data_channels(None).await?;
    /// transport.negotiation.settle(&mut endpoint).await?;
    /// # Ok(()) }
    /// ```
    pub async fn settle<A: Answerer + ?Sized>(self, answerer: &mut A) -> Result<Option<Answer>> {
        match self {
            Self::Done => Ok(None),
            Self::Answer(answer) => Ok(Some(answer)),
            Self::Offer(pending) => pending.answer_with(answerer).await.map(|()| None),
        }
    }
}

/// An SFU offer the endpoint has not answered yet.
///
/// It holds the session's mutation lock: every other change of the session (from any handle
/// of this client) waits until it is answered with [`answer`](Self::answer) or
/// [`answer_with`](Self::answer_with). Dropping it releases the lock without answering; the
/// SFU then still waits for an answer, which can only be sent with
/// [`Session::renegotiate`](crate::Session::renegotiate), and any other change of the session
/// fails with HTTP 406 until then.
#[must_use = "the SFU waits for the endpoint's answer; the session's other changes wait for this"]
pub struct PendingOffer {
    session: Session,
    offer: Offer,
    lock: SessionGuard,
}

impl fmt::Debug for PendingOffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The offer carries the SFU's ICE password: its length is all Debug needs.
        f.debug_struct("PendingOffer")
            .field("session_id", &self.session.id())
            .field("offer_bytes", &self.offer.sdp().len())
            .finish()
    }
}

impl PendingOffer {
    /// The SFU's offer, to apply on the endpoint.
    pub fn offer(&self) -> &Offer {
        &self.offer
    }

    /// The session whose SFU made the offer.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Sends the endpoint's answer, then releases the session's lock.
    ///
    /// A transient failure is retried; if the answer still cannot be delivered, the session
    /// keeps it and its next change sends it first.
    pub async fn answer(self, answer: Answer) -> Result<()> {
        let Self {
            session, mut lock, ..
        } = self;
        session.renegotiate_locked(&mut lock, answer).await
    }

    /// Lets `answerer` produce the endpoint's answer and sends it.
    pub async fn answer_with<A: Answerer + ?Sized>(self, answerer: &mut A) -> Result<()> {
        let answer = answerer
            .answer(self.offer.clone())
            .await
            .map_err(Error::answerer)?;
        self.answer(answer).await
    }
}

/// The endpoint side of a negotiation: turns an SFU offer into the endpoint's answer.
///
/// A server-side WebRTC peer implements it, and so can app code that forwards the offer to a
/// browser and waits for its answer. Any `FnMut(Offer) -> impl Future<Output = Result<Answer,
/// E>>` is one too.
///
/// ```
/// use cloudflare_calls::{Answer, Answerer, Offer};
///
/// struct Browser;
/// impl Answerer for Browser {
///     async fn answer(&mut self, offer: Offer) -> Result<Answer, cloudflare_calls::error::BoxError> {
///         // Forward `offer` to the browser and wait for its answer.
///         Ok(Answer::new(offer.sdp().replace("a=sendrecv", "a=recvonly")))
///     }
/// }
///
/// // Or a closure.
/// let echo = |offer: Offer| async move { Ok::<_, std::io::Error>(Answer::new(offer.into_sdp())) };
/// # fn is_answerer(_: impl Answerer) {}
/// # is_answerer(Browser);
/// # is_answerer(echo);
/// ```
pub trait Answerer: Send {
    /// The endpoint's answer to `offer`.
    fn answer(&mut self, offer: Offer) -> impl Future<Output = Result<Answer, BoxError>> + Send;
}

impl<F, Fut, E> Answerer for F
where
    F: FnMut(Offer) -> Fut + Send,
    Fut: Future<Output = Result<Answer, E>> + Send,
    E: Into<BoxError>,
{
    async fn answer(&mut self, offer: Offer) -> Result<Answer, BoxError> {
        self(offer).await.map_err(Into::into)
    }
}

type AnswerFuture<'a> = Pin<Box<dyn Future<Output = Result<Answer, BoxError>> + Send + 'a>>;

/// [`Answerer`] as a trait object, so builders can hold any answerer without a type parameter.
pub(crate) trait DynAnswerer: Send {
    fn answer_boxed(&mut self, offer: Offer) -> AnswerFuture<'_>;
}

impl<A: Answerer> DynAnswerer for A {
    fn answer_boxed(&mut self, offer: Offer) -> AnswerFuture<'_> {
        Box::pin(self.answer(offer))
    }
}

/// What one response says the endpoint must do, before the session's lock is attached.
#[derive(Debug)]
pub(crate) enum Step {
    Done,
    Answer(Answer),
    Offer(Offer),
}

impl Step {
    /// Reads `requiresImmediateRenegotiation` and the session description together, so the
    /// two cannot disagree in what callers see.
    pub(crate) fn from_response(
        operation: &'static str,
        requires_renegotiation: Option<bool>,
        description: Option<crate::raw::sfu::types::SessionDescription>,
    ) -> Result<Self> {
        match SessionDescription::from_raw(operation, description)? {
            Some(SessionDescription::Offer(offer)) => Ok(Self::Offer(offer)),
            Some(SessionDescription::Answer(answer)) => Ok(Self::Answer(answer)),
            None if requires_renegotiation == Some(true) => Err(Error::Decode {
                operation,
                status: None,
                reason: "renegotiation required but the SFU sent no offer".into(),
                body: String::new(),
            }),
            None => Ok(Self::Done),
        }
    }

    /// The step as a [`Negotiation`]; a pending offer takes over the session's lock.
    pub(crate) fn into_negotiation(self, session: &Session, lock: SessionGuard) -> Negotiation {
        match self {
            Self::Done => Negotiation::Done,
            Self::Answer(answer) => Negotiation::Answer(answer),
            Self::Offer(offer) => Negotiation::Offer(PendingOffer {
                session: session.clone(),
                offer,
                lock,
            }),
        }
    }
}
