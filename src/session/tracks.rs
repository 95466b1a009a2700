//! Pushing, pulling, updating and closing the media tracks of a [`Session`].

use std::future::Future;

use crate::error::{Error, ErrorCode, Result};
use crate::http::response::decode;
use crate::raw::sfu::types as raw;
use crate::session::Session;
use crate::session::description::{Answer, Offer, SessionDescription};
use crate::session::negotiation::{Answerer, DynAnswerer, Negotiation, Step};
use crate::wire::{Location, MediaKind, PriorityOrdering, RidNotAvailable};

/// The service accepts at most this many tracks in one call. Longer lists without an endpoint
/// offer go in batches, each SFU offer answered before the next batch, which needs an
/// [`Answerer`].
pub const MAX_TRACKS_PER_CALL: usize = 64;

/// A track this session publishes.
///
/// ```
/// use cloudflare_calls::{LocalTrack, MediaKind};
/// // A track in the endpoint's offer, on transceiver mid "0".
/// let mic = LocalTrack::new("0", "mic");
/// // A track the SFU offers a transceiver for (no endpoint offer needed).
/// let cam = LocalTrack::offered_by_sfu("camera", MediaKind::Video).bidirectional(true);
/// # let _ = (mic, cam);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalTrack(raw::TrackObject);

impl LocalTrack {
    /// The track carried by transceiver `mid` of the endpoint's offer, published as `track_name`.
    pub fn new(mid: impl Into<String>, track_name: impl Into<String>) -> Self {
        Self(raw::TrackObject {
            location: Some(Location::Local),
            mid: Some(mid.into()),
            track_name: Some(track_name.into()),
            ..Default::default()
        })
    }

    /// A track the SFU creates a transceiver for in its own offer.
    pub fn offered_by_sfu(track_name: impl Into<String>, kind: MediaKind) -> Self {
        Self(raw::TrackObject {
            location: Some(Location::Local),
            track_name: Some(track_name.into()),
            kind: Some(kind.as_str().to_owned()),
            ..Default::default()
        })
    }

    /// Makes the transceiver send and receive, so a pulled track can reuse it.
    pub fn bidirectional(mut self, yes: bool) -> Self {
        self.0.bidirectional_media_stream = Some(yes);
        self
    }
}

/// A track another session publishes, to pull into this one.
///
/// ```
/// use cloudflare_calls::RemoteTrack;
/// use cloudflare_calls::session::Simulcast;
/// let video = RemoteTrack::new("2a45361d5fd7cc14eface0587c276c94", "camera")
///     .simulcast(Simulcast::preferred_rid("h"));
/// // Receive on the transceiver that already carries our "mic" track.
/// let reply = RemoteTrack::new("2a45361d5fd7cc14eface0587c276c94", "voice").reuse_transceiver_of("mic");
/// # let _ = (video, reply);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteTrack(raw::TrackObject);

impl RemoteTrack {
    /// Track `track_name` published by session `session_id`.
    pub fn new(session_id: impl Into<String>, track_name: impl Into<String>) -> Self {
        Self(raw::TrackObject {
            location: Some(Location::Remote),
            session_id: Some(session_id.into()),
            track_name: Some(track_name.into()),
            ..Default::default()
        })
    }

    /// Receives on an existing transceiver of this session, by its mid.
    pub fn mid(mut self, mid: impl Into<String>) -> Self {
        self.0.mid = Some(mid.into());
        self
    }

    /// Receives on the transceiver that carries this session's track `track_name`
    /// (the service's `#<trackName>` form of mid).
    pub fn reuse_transceiver_of(self, track_name: &str) -> Self {
        self.mid(format!("#{track_name}"))
    }

    /// Audio or video: needed when the SFU creates the transceiver.
    pub fn kind(mut self, kind: MediaKind) -> Self {
        self.0.kind = Some(kind.as_str().to_owned());
        self
    }

    /// Simulcast layer preferences.
    pub fn simulcast(mut self, simulcast: Simulcast) -> Self {
        self.0.simulcast = Some(simulcast.0);
        self
    }
}

/// Which simulcast layer a pulled track should receive.
///
/// ```
/// use cloudflare_calls::session::{PriorityOrdering, RidNotAvailable, Simulcast};
/// let s = Simulcast::preferred_rid("h")
///     .priority_ordering(PriorityOrdering::Asciibetical)
///     .rid_not_available(RidNotAvailable::Asciibetical);
/// # let _ = s;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Simulcast(raw::Simulcast);

impl Simulcast {
    /// Prefer the layer with this rid.
    pub fn preferred_rid(rid: impl Into<String>) -> Self {
        Self(raw::Simulcast {
            preferred_rid: Some(rid.into()),
            ..Default::default()
        })
    }

    /// What to do when bandwidth does not allow the preferred layer.
    pub fn priority_ordering(mut self, ordering: PriorityOrdering) -> Self {
        self.0.priority_ordering = Some(ordering);
        self
    }

    /// What to do when the current layer stops arriving.
    pub fn rid_not_available(mut self, policy: RidNotAvailable) -> Self {
        self.0.rid_not_available = Some(policy);
        self
    }
}

/// A track the SFU accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Track {
    /// Pushed (local) or pulled (remote).
    pub location: Option<Location>,
    /// The transceiver's mid in this session: where the endpoint sends or receives it.
    pub mid: Option<String>,
    /// The publisher's session, for a pulled track.
    pub session_id: Option<String>,
    /// The track's name.
    pub track_name: Option<String>,
    /// Audio or video, when the SFU says.
    pub kind: Option<MediaKind>,
}

/// A track the SFU refused, with its reason; the other tracks of the call are unaffected.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackRefusal {
    /// The transceiver's mid, when known.
    pub mid: Option<String>,
    /// The track's name, when known.
    pub track_name: Option<String>,
    /// The publisher's session, for a pulled track.
    pub session_id: Option<String>,
    /// Why, e.g. [`ErrorCode::NotFoundTrackError`].
    pub code: ErrorCode,
    /// The service's explanation.
    pub description: Option<String>,
}

/// "track \"mic\": not_found_track_error: …", and how many more.
#[cfg_attr(not(feature = "peer"), allow(dead_code))]
pub(crate) fn refusals(refused: &[TrackRefusal]) -> String {
    let Some(first) = refused.first() else {
        return "no track".to_owned();
    };
    let mut text = format!(
        "track {:?}: {}",
        first.track_name.as_deref().unwrap_or_default(),
        first.code
    );
    if let Some(d) = &first.description {
        text.push_str(&format!(": {d}"));
    }
    if refused.len() > 1 {
        text.push_str(&format!(" (and {} more)", refused.len() - 1));
    }
    text
}

/// The outcome of adding or updating tracks.
#[derive(Debug)]
#[non_exhaustive]
pub struct TracksOutput {
    /// What the endpoint must do next: apply the SFU's answer, or answer its pending offer
    /// (which holds the session's lock until then). [`Negotiation::Done`] when an
    /// [`Answerer`] already answered.
    pub negotiation: Negotiation,
    /// Accepted tracks, in request order.
    pub tracks: Vec<Track>,
    /// Refused tracks, in request order.
    pub failed: Vec<TrackRefusal>,
}

/// Splits per-item results into accepted and refused tracks, appending to both lists.
fn split_items(
    items: Vec<raw::TrackResult>,
    tracks: &mut Vec<Track>,
    failed: &mut Vec<TrackRefusal>,
) {
    for t in items {
        match t.error_code.filter(|c| !c.is_empty()) {
            Some(code) => failed.push(TrackRefusal {
                mid: t.mid,
                track_name: t.track_name,
                session_id: t.session_id,
                code: ErrorCode::from(code.as_str()),
                description: t.error_description,
            }),
            None => tracks.push(Track {
                location: t.location,
                mid: t.mid,
                session_id: t.session_id,
                track_name: t.track_name,
                kind: t.kind.as_deref().map(MediaKind::from),
            }),
        }
    }
}

/// Splits `tracks` into calls of at most [`MAX_TRACKS_PER_CALL`], or refuses before anything
/// is sent when that cannot work: an endpoint offer describes every track at once, and
/// without one every batch gets an SFU offer that must be answered before the next.
fn batches(
    tracks: Vec<raw::TrackObject>,
    has_offer: bool,
    has_answerer: bool,
) -> Result<Vec<Vec<raw::TrackObject>>> {
    if tracks.len() > MAX_TRACKS_PER_CALL {
        let n = tracks.len();
        if has_offer {
            return Err(Error::InvalidArgument(format!(
                "{n} tracks with one offer: the service takes at most {MAX_TRACKS_PER_CALL} per call"
            )));
        }
        if !has_answerer {
            return Err(Error::InvalidArgument(format!(
                "{n} tracks need batches of {MAX_TRACKS_PER_CALL}, and the SFU's offer for each \
                 batch must be answered before the next: pass an answerer"
            )));
        }
    }
    if tracks.is_empty() {
        return Ok(vec![tracks]);
    }
    Ok(tracks
        .chunks(MAX_TRACKS_PER_CALL)
        .map(<[_]>::to_vec)
        .collect())
}

/// Sends `tracks` in calls of at most [`MAX_TRACKS_PER_CALL`] under the session's lock,
/// answering each SFU offer with `answerer` before the next batch, and merges the results in
/// order. The last step is left to the caller when there is no answerer.
async fn send_batched<F, Fut>(
    session: &Session,
    operation: &'static str,
    tracks: Vec<raw::TrackObject>,
    has_offer: bool,
    mut answerer: Option<&mut (dyn DynAnswerer + '_)>,
    send_one: F,
) -> Result<TracksOutput>
where
    F: Fn(Vec<raw::TrackObject>) -> Fut,
    Fut: Future<Output = Result<(Step, Vec<raw::TrackResult>)>>,
{
    let batches = batches(tracks, has_offer, answerer.is_some())?;
    let mut lock = session.lock().await?;
    let (mut tracks, mut failed) = (Vec::new(), Vec::new());
    let mut last = Step::Done;
    for batch in batches {
        let (step, items) = session
            .retry_conflicts(operation, || send_one(batch.clone()))
            .await?;
        split_items(items, &mut tracks, &mut failed);
        last = match (step, answerer.as_deref_mut()) {
            (Step::Offer(offer), Some(answerer)) => {
                let answer = answerer
                    .answer_boxed(offer)
                    .await
                    .map_err(Error::answerer)?;
                session.renegotiate_locked(&mut lock, answer).await?;
                Step::Done
            }
            (step, _) => step,
        };
    }
    Ok(TracksOutput {
        negotiation: last.into_negotiation(session, lock),
        tracks,
        failed,
    })
}

/// Builder methods shared by [`AddTracks`] and [`UpdateTracks`].
macro_rules! track_list_methods {
    () => {
        /// The endpoint's offer describing the tracks it pushes.
        pub fn offer(mut self, offer: Offer) -> Self {
            self.offer = Some(offer);
            self
        }

        /// Publishes a track of this session.
        pub fn push(mut self, track: LocalTrack) -> Self {
            self.tracks.push(track.0);
            self
        }

        /// Publishes several tracks.
        pub fn push_all(mut self, tracks: impl IntoIterator<Item = LocalTrack>) -> Self {
            self.tracks.extend(tracks.into_iter().map(|t| t.0));
            self
        }

        /// Pulls a track of another session.
        pub fn pull(mut self, track: RemoteTrack) -> Self {
            self.tracks.push(track.0);
            self
        }

        /// Pulls several tracks.
        pub fn pull_all(mut self, tracks: impl IntoIterator<Item = RemoteTrack>) -> Self {
            self.tracks.extend(tracks.into_iter().map(|t| t.0));
            self
        }

        /// Answers the SFU's offers with `answerer` as they come, so `send` returns with
        /// nothing pending and more than [`MAX_TRACKS_PER_CALL`] tracks can go in batches.
        pub fn answerer<A: Answerer>(mut self, answerer: &'a mut A) -> Self {
            self.answerer = Some(answerer);
            self
        }
    };
}

/// Builder for [`Session::add_tracks`].
#[must_use = "a builder does nothing until .send() is awaited"]
pub struct AddTracks<'a> {
    session: &'a Session,
    offer: Option<Offer>,
    tracks: Vec<raw::TrackObject>,
    auto_discover: Option<bool>,
    answerer: Option<&'a mut (dyn DynAnswerer + 'a)>,
}

impl std::fmt::Debug for AddTracks<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddTracks")
            .field("session", &self.session.id())
            .field("tracks", &self.tracks.len())
            .field("offer", &self.offer.is_some())
            .field("answerer", &self.answerer.is_some())
            .finish_non_exhaustive()
    }
}

impl<'a> AddTracks<'a> {
    pub(crate) fn new(session: &'a Session) -> Self {
        Self {
            session,
            offer: None,
            tracks: Vec::new(),
            auto_discover: None,
            answerer: None,
        }
    }

    track_list_methods!();

    /// Publishes every new track found in the offer, with generated names.
    pub fn auto_discover(mut self, yes: bool) -> Self {
        self.auto_discover = Some(yes);
        self
    }

    /// Sends the request. More than [`MAX_TRACKS_PER_CALL`] tracks without an offer become
    /// several calls, each SFU offer answered by the [`answerer`](Self::answerer) before the
    /// next, under the session's lock; without an answerer they are refused before anything
    /// is sent.
    pub async fn send(self) -> Result<TracksOutput> {
        let session = self.session;
        let offer = self.offer.map(raw::SessionDescription::from);
        let auto_discover = self.auto_discover;
        let has_offer = offer.is_some();
        send_batched(
            session,
            "add_tracks",
            self.tracks,
            has_offer,
            self.answerer,
            |tracks| {
                let body = raw::TracksRequest {
                    session_description: offer.clone(),
                    tracks,
                    auto_discover,
                };
                async move {
                    let call = session.api().add_tracks();
                    let call = call.app_id(session.app_id()).session_id(session.id());
                    let response = decode("add_tracks", call.body(body).send()).await?;
                    let step = Step::from_response(
                        "add_tracks",
                        response.requires_immediate_renegotiation,
                        response.session_description,
                    )?;
                    Ok((step, response.tracks))
                }
            },
        )
        .await
    }
}

/// Builder for [`Session::update_tracks`].
#[must_use = "a builder does nothing until .send() is awaited"]
pub struct UpdateTracks<'a> {
    session: &'a Session,
    offer: Option<Offer>,
    tracks: Vec<raw::TrackObject>,
    answerer: Option<&'a mut (dyn DynAnswerer + 'a)>,
}

impl std::fmt::Debug for UpdateTracks<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateTracks")
            .field("session", &self.session.id())
            .field("tracks", &self.tracks.len())
            .field("offer", &self.offer.is_some())
            .field("answerer", &self.answerer.is_some())
            .finish_non_exhaustive()
    }
}

impl<'a> UpdateTracks<'a> {
    pub(crate) fn new(session: &'a Session) -> Self {
        Self {
            session,
            offer: None,
            tracks: Vec::new(),
            answerer: None,
        }
    }

    track_list_methods!();

    /// Sends the update, in batches as [`AddTracks::send`] does.
    pub async fn send(self) -> Result<TracksOutput> {
        let session = self.session;
        let offer = self.offer.map(raw::SessionDescription::from);
        let has_offer = offer.is_some();
        send_batched(
            session,
            "update_tracks",
            self.tracks,
            has_offer,
            self.answerer,
            |tracks| {
                let body = raw::UpdateTracksRequest {
                    session_description: offer.clone(),
                    tracks,
                };
                async move {
                    let call = session.api().update_tracks();
                    let call = call.app_id(session.app_id()).session_id(session.id());
                    let response = decode("update_tracks", call.body(body).send()).await?;
                    // The update response carries no session description: a renegotiation it
                    // asks for is started by the endpoint's next offer.
                    Ok((Step::Done, response.tracks))
                }
            },
        )
        .await
    }
}

/// How [`Session::close_tracks`] closes: with the endpoint's offer, or forced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CloseMode {
    /// The endpoint's offer without the closed transceivers; the SFU answers it.
    /// At most [`MAX_TRACKS_PER_CALL`] tracks, since one offer describes them all.
    Offer(Offer),
    /// No SDP is exchanged; any number of tracks (in batches).
    Force,
}

/// The outcome of closing tracks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CloseTracksOutput {
    /// The SFU's answer to the endpoint's offer ([`CloseMode::Offer`] only).
    pub answer: Option<Answer>,
    /// Mids now closed, including those that were already closed.
    pub closed: Vec<String>,
    /// Mids that could not be closed.
    pub failed: Vec<TrackRefusal>,
}

/// Builder for [`Session::close_tracks`].
#[derive(Debug)]
#[must_use = "a builder does nothing until .send() is awaited"]
pub struct CloseTracks<'a> {
    session: &'a Session,
    mids: Vec<String>,
    mode: CloseMode,
}

impl<'a> CloseTracks<'a> {
    pub(crate) fn new(session: &'a Session, mids: Vec<String>, mode: CloseMode) -> Self {
        Self {
            session,
            mids,
            mode,
        }
    }

    /// Sends the close.
    pub async fn send(self) -> Result<CloseTracksOutput> {
        let session = self.session;
        let (offer, force) = match self.mode {
            CloseMode::Offer(offer) => (Some(raw::SessionDescription::from(offer)), false),
            CloseMode::Force => (None, true),
        };
        let mids: Vec<raw::TrackObject> = self
            .mids
            .into_iter()
            .map(|mid| raw::TrackObject {
                mid: Some(mid),
                ..Default::default()
            })
            .collect();
        // A forced close exchanges no SDP, so its batches need no answers in between.
        let batches = batches(mids, offer.is_some(), true)?;
        let _lock = session.lock().await?;
        let mut result = CloseTracksOutput::default();
        for batch in batches {
            let body = raw::CloseTracksRequest {
                force,
                session_description: offer.clone(),
                tracks: batch
                    .into_iter()
                    .filter_map(|t| t.mid)
                    .map(|mid| raw::CloseTrackObject { mid })
                    .collect(),
            };
            let response = session
                .retry_conflicts("close_tracks", || {
                    let call = session
                        .api()
                        .close_tracks()
                        .app_id(session.app_id())
                        .session_id(session.id())
                        .body(body.clone())
                        .send();
                    decode("close_tracks", call)
                })
                .await?;
            if let Some(SessionDescription::Answer(a)) =
                SessionDescription::from_raw("close_tracks", response.session_description)?
            {
                result.answer = Some(a);
            }
            for t in response.tracks {
                let code = t
                    .error_code
                    .filter(|c| !c.is_empty())
                    .map(|c| ErrorCode::from(c.as_str()));
                match code {
                    // The service reports a track that was already closed this way; it is gone
                    // either way, which is what the caller wanted.
                    None | Some(ErrorCode::CloseTrackError) => {
                        result.closed.extend(t.mid);
                    }
                    Some(code) => result.failed.push(TrackRefusal {
                        mid: t.mid,
                        track_name: None,
                        session_id: None,
                        code,
                        description: t.error_description,
                    }),
                }
            }
        }
        Ok(result)
    }
}

/// The track calls of a session; each builder ends in `.send()`.
impl Session {
    /// Pushes local tracks and/or pulls remote ones.
    pub fn add_tracks(&self) -> AddTracks<'_> {
        AddTracks::new(self)
    }

    /// Changes tracks already in the session: reuse transceivers, switch simulcast layers.
    pub fn update_tracks(&self) -> UpdateTracks<'_> {
        UpdateTracks::new(self)
    }

    /// Closes the tracks on these transceivers.
    ///
    /// ```no_run
    /// # async fn run(session: cloudflare_calls::Session) -> cloudflare_calls::Result<()> {
    /// use cloudflare_calls::session::CloseMode;
    /// let closed = session.close_tracks(["1", "2"], CloseMode::Force).send().await?;
    /// assert!(closed.failed.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn close_tracks<I, S>(&self, mids: I, mode: CloseMode) -> CloseTracks<'_>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        CloseTracks::new(self, mids.into_iter().map(Into::into).collect(), mode)
    }
}
