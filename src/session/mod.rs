//! One SFU session: a WebRTC PeerConnection on Cloudflare's side, and everything done to it
//! (tracks, data channels, negotiation).
//!
//! # The model
//!
//! A [`Session`] is created by [`Client::new_session`](crate::Client::new_session), optionally
//! with the endpoint's first offer. Tracks are pushed (the endpoint sends media to the SFU) or
//! pulled (the SFU sends a track another session pushes) with [`Session::add_tracks`]; data
//! channels go through the SFU the same way ([`Session::add_data_channels`]).
//!
//! The SFU runs one offer/answer state machine per session: once it has made an offer, every
//! other change of the session fails until the endpoint's answer arrives. So every call that can
//! leave it waiting returns a [`Negotiation`]:
//!
//! - `Done`: nothing to negotiate;
//! - `Answer(answer)`: the SFU answered the endpoint's offer; apply it to the endpoint;
//! - `Offer(PendingOffer)`: the SFU made an offer. A [`PendingOffer`] is `#[must_use]`, holds
//!   the session's lock, and is consumed by answering it; other changes of the session wait
//!   until then. Dropping it releases the lock unanswered (the SFU keeps waiting;
//!   [`Session::renegotiate`] is the way out, e.g. when the answer comes back through another
//!   process).
//!
//! An [`Answerer`] turns an SFU offer into the endpoint's answer: a server-side
//! `peer`, app code that forwards the offer to a browser, or any
//! `FnMut(Offer) -> impl Future<Output = Result<Answer, E>>`. With one, a call answers as it
//! goes: more than [`MAX_TRACKS_PER_CALL`] tracks go as batches, each SFU offer answered before
//! the next batch, under one lock, results merged in order. Without one, more than 64 tracks (or
//! 65 with one endpoint offer) are refused before anything is sent.
//!
//! ```no_run
//! # async fn run(session: cloudflare_calls::Session, publisher: &str, mut endpoint: impl cloudflare_calls::Answerer) -> cloudflare_calls::Result<()> {
//! use cloudflare_calls::{Negotiation, RemoteTrack};
//!
//! // 150 tracks: three calls, each SFU offer answered by `endpoint` before the next.
//! let pulled = session
//!     .add_tracks()
//!     .pull_all((0..150).map(|i| RemoteTrack::new(publisher, format!("t{i}"))))
//!     .answerer(&mut endpoint)
//!     .send()
//!     .await?;
//! assert!(pulled.negotiation.is_done());
//!
//! // Or answer by hand.
//! let one = session.add_tracks().pull(RemoteTrack::new(publisher, "mic")).send().await?;
//! if let Negotiation::Offer(pending) = one.negotiation {
//!     pending.answer_with(&mut endpoint).await?;
//! }
//! # Ok(()) }
//! ```
//!
//! Items the SFU refuses one by one (a track nobody publishes, a channel with a taken name) are
//! not errors: they come back as [`TrackRefusal`]s and [`DataChannelRefusal`]s in the call's
//! output, beside what succeeded.
//!
//! Every change of one session is serialized (one in flight per session, across clones and
//! handles of one [`Client`](crate::Client)), and a 406 signalling conflict is retried a bounded
//! number of times. Retries of failed calls follow [`RetryPolicy`](crate::RetryPolicy): creating
//! sessions, tracks or data channels is never re-sent once the server may have acted.

pub(crate) mod data_channels;
pub(crate) mod description;
pub(crate) mod lock;
pub(crate) mod negotiation;
// The concept's file is named after it, also when the concept names its folder.
#[allow(clippy::module_inception)]
pub(crate) mod session;
pub(crate) mod state;
pub(crate) mod tracks;

pub use crate::wire::{Location, PriorityOrdering, ResourceStatus, RidNotAvailable, SdpType};
pub use data_channels::{
    ChangeDataChannels, DataChannel, DataChannelInfo, DataChannelRefusal, DataChannelTransport,
    DataChannelsOutput,
};
pub use description::{Answer, Offer};
pub use negotiation::{Answerer, Negotiation, PendingOffer};
pub(crate) use session::Sessions;
pub use session::{CreateSession, Session};
pub use state::{DataChannelStatus, SessionState, TrackStatus};
pub use tracks::{
    AddTracks, CloseMode, CloseTracks, CloseTracksOutput, LocalTrack, MAX_TRACKS_PER_CALL,
    RemoteTrack, Simulcast, Track, TrackRefusal, TracksOutput, UpdateTracks,
};
