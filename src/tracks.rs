//! Pushing, pulling, updating and closing the media tracks of a [`Session`].

use std::future::Future;

use crate::description::{Answer, Offer, SessionDescription};
use crate::error::{Error, ErrorCode, Result};
use crate::raw::sfu::types as raw;
use crate::response::finish;
use crate::session::Session;
use crate::wire::{Location, PriorityOrdering, RidNotAvailable};

/// The service accepts at most this many tracks in one call; longer batches are split.
pub const MAX_TRACKS_PER_CALL: usize = 64;

/// A track this session publishes.
///
/// ```
/// use cloudflare_calls::LocalTrack;
/// // A track in the endpoint's offer, on transceiver mid "0".
/// let mic = LocalTrack::new("0", "mic");
/// // A track the SFU offers a transceiver for (no endpoint offer needed).
/// let cam = LocalTrack::offered_by_sfu("camera", "video").bidirectional(true);
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

    /// A track the SFU creates a transceiver for in its own offer; `kind` is `audio` or `video`.
    pub fn offered_by_sfu(track_name: impl Into<String>, kind: impl Into<String>) -> Self {
        Self(raw::TrackObject {
            location: Some(Location::Local),
            track_name: Some(track_name.into()),
            kind: Some(kind.into()),
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
/// use cloudflare_calls::{RemoteTrack, Simulcast};
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

    /// `audio` or `video`: needed when the SFU creates the transceiver.
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.0.kind = Some(kind.into());
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
/// use cloudflare_calls::{PriorityOrdering, RidNotAvailable, Simulcast};
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
    /// `audio` or `video`, when the SFU says.
    pub kind: Option<String>,
}

/// A track the SFU refused, with its reason; the other tracks of the call are unaffected.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackError {
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

/// The outcome of adding or updating tracks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TracksResult {
    /// The SFU made an offer: apply it and send the answer with [`Session::renegotiate`].
    pub requires_immediate_renegotiation: bool,
    /// The SFU's answer to the endpoint's offer, or its own offer.
    pub description: Option<SessionDescription>,
    /// Accepted tracks, in request order.
    pub tracks: Vec<Track>,
    /// Refused tracks, in request order.
    pub failed: Vec<TrackError>,
}

impl TracksResult {
    fn merge(&mut self, next: TracksResult) {
        self.requires_immediate_renegotiation |= next.requires_immediate_renegotiation;
        if next.description.is_some() {
            self.description = next.description;
        }
        self.tracks.extend(next.tracks);
        self.failed.extend(next.failed);
    }

    fn from_items(
        requires_immediate_renegotiation: Option<bool>,
        description: Option<SessionDescription>,
        items: Vec<raw::TrackResult>,
    ) -> Self {
        let mut result = Self {
            requires_immediate_renegotiation: requires_immediate_renegotiation.unwrap_or(false),
            description,
            ..Self::default()
        };
        for t in items {
            match t.error_code.filter(|c| !c.is_empty()) {
                Some(code) => result.failed.push(TrackError {
                    mid: t.mid,
                    track_name: t.track_name,
                    session_id: t.session_id,
                    code: ErrorCode::from(code.as_str()),
                    description: t.error_description,
                }),
                None => result.tracks.push(Track {
                    location: t.location,
                    mid: t.mid,
                    session_id: t.session_id,
                    track_name: t.track_name,
                    kind: t.kind,
                }),
            }
        }
        result
    }
}

/// Splits `tracks` into calls of at most [`MAX_TRACKS_PER_CALL`]; an endpoint offer describes
/// every track at once, so a batch that carries one cannot be split.
fn batches(tracks: Vec<raw::TrackObject>, has_offer: bool) -> Result<Vec<Vec<raw::TrackObject>>> {
    if has_offer && tracks.len() > MAX_TRACKS_PER_CALL {
        return Err(Error::InvalidArgument(format!(
            "{} tracks with one offer: the service takes at most {MAX_TRACKS_PER_CALL} per call",
            tracks.len()
        )));
    }
    if tracks.is_empty() {
        return Ok(vec![tracks]);
    }
    Ok(tracks
        .chunks(MAX_TRACKS_PER_CALL)
        .map(<[_]>::to_vec)
        .collect())
}

/// Sends `tracks` in calls of at most [`MAX_TRACKS_PER_CALL`], holding the session's lock
/// across all of them so no other negotiation slips in between, and merges the results in order.
async fn send_batched<F, Fut>(
    session: &Session,
    tracks: Vec<raw::TrackObject>,
    has_offer: bool,
    send_one: F,
) -> Result<TracksResult>
where
    F: Fn(Vec<raw::TrackObject>) -> Fut,
    Fut: Future<Output = Result<TracksResult>>,
{
    let batches = batches(tracks, has_offer)?;
    let _guard = session.lock().await;
    let mut result = TracksResult::default();
    for batch in batches {
        result.merge(send_one(batch).await?);
    }
    Ok(result)
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
    };
}

/// Builder for [`Session::add_tracks`].
#[derive(Debug)]
#[must_use = "a builder does nothing until .send() is awaited"]
pub struct AddTracks<'a> {
    session: &'a Session,
    offer: Option<Offer>,
    tracks: Vec<raw::TrackObject>,
    auto_discover: Option<bool>,
}

impl AddTracks<'_> {
    track_list_methods!();

    /// Publishes every new track found in the offer, with generated names.
    pub fn auto_discover(mut self, yes: bool) -> Self {
        self.auto_discover = Some(yes);
        self
    }

    /// Sends the request; more than 64 tracks (without an offer) become several calls whose
    /// results are merged in order.
    pub async fn send(self) -> Result<TracksResult> {
        let session = self.session;
        let offer = self.offer.map(raw::SessionDescription::from);
        let auto_discover = self.auto_discover;
        send_batched(session, self.tracks, offer.is_some(), |tracks| {
            let body = raw::TracksRequest {
                session_description: offer.clone(),
                tracks,
                auto_discover,
            };
            async move {
                let response = session
                    .retry_conflicts("add_tracks", || {
                        let call = session.api().add_tracks();
                        let call = call.app_id(session.app_id()).session_id(session.id());
                        finish("add_tracks", call.body(body.clone()).send())
                    })
                    .await?;
                let description =
                    SessionDescription::from_raw("add_tracks", response.session_description)?;
                Ok(TracksResult::from_items(
                    response.requires_immediate_renegotiation,
                    description,
                    response.tracks,
                ))
            }
        })
        .await
    }
}

/// Builder for [`Session::update_tracks`].
#[derive(Debug)]
#[must_use = "a builder does nothing until .send() is awaited"]
pub struct UpdateTracks<'a> {
    session: &'a Session,
    offer: Option<Offer>,
    tracks: Vec<raw::TrackObject>,
}

impl UpdateTracks<'_> {
    track_list_methods!();

    /// Sends the update.
    pub async fn send(self) -> Result<TracksResult> {
        let session = self.session;
        let offer = self.offer.map(raw::SessionDescription::from);
        send_batched(session, self.tracks, offer.is_some(), |tracks| {
            let body = raw::UpdateTracksRequest {
                session_description: offer.clone(),
                tracks,
            };
            async move {
                let response = session
                    .retry_conflicts("update_tracks", || {
                        let call = session.api().update_tracks();
                        let call = call.app_id(session.app_id()).session_id(session.id());
                        finish("update_tracks", call.body(body.clone()).send())
                    })
                    .await?;
                Ok(TracksResult::from_items(
                    response.requires_immediate_renegotiation,
                    None,
                    response.tracks,
                ))
            }
        })
        .await
    }
}

/// The outcome of closing tracks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CloseResult {
    /// The SFU's answer to the endpoint's offer (negotiated close only).
    pub answer: Option<Answer>,
    /// Mids now closed, including those that were already closed.
    pub closed: Vec<String>,
    /// Mids that could not be closed.
    pub failed: Vec<TrackError>,
}

/// Builder for [`Session::close_tracks`]: end with [`offer`](Self::offer) or
/// [`force`](Self::force), then `.send()`.
#[derive(Debug)]
#[must_use = "a builder does nothing until .send() is awaited"]
pub struct CloseTracks<'a> {
    session: &'a Session,
    mids: Vec<String>,
    offer: Option<Offer>,
    force: bool,
}

impl CloseTracks<'_> {
    /// Negotiated close: the endpoint's offer without the closed transceivers.
    pub fn offer(mut self, offer: Offer) -> Self {
        self.offer = Some(offer);
        self
    }

    /// Forced close: no SDP is exchanged.
    pub fn force(mut self) -> Self {
        self.force = true;
        self
    }

    /// Sends the close.
    pub async fn send(self) -> Result<CloseResult> {
        let session = self.session;
        if self.offer.is_none() && !self.force {
            return Err(Error::InvalidArgument(
                "close_tracks needs the endpoint's offer or force()".into(),
            ));
        }
        let offer = self.offer.map(raw::SessionDescription::from);
        let mids: Vec<raw::TrackObject> = self
            .mids
            .into_iter()
            .map(|mid| raw::TrackObject {
                mid: Some(mid),
                ..Default::default()
            })
            .collect();
        let batches = batches(mids, offer.is_some())?;
        let _guard = session.lock().await;
        let mut result = CloseResult::default();
        for batch in batches {
            let body = raw::CloseTracksRequest {
                force: self.force,
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
                    finish("close_tracks", call)
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
                    Some(code) => result.failed.push(TrackError {
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

impl Session {
    /// Pushes local tracks and/or pulls remote ones.
    pub fn add_tracks(&self) -> AddTracks<'_> {
        AddTracks {
            session: self,
            offer: None,
            tracks: Vec::new(),
            auto_discover: None,
        }
    }

    /// Changes tracks already in the session: reuse transceivers, switch simulcast layers.
    pub fn update_tracks(&self) -> UpdateTracks<'_> {
        UpdateTracks {
            session: self,
            offer: None,
            tracks: Vec::new(),
        }
    }

    /// Closes the tracks on these transceivers.
    ///
    /// ```no_run
    /// # async fn run(session: cloudflare_calls::Session) -> cloudflare_calls::Result<()> {
    /// let closed = session.close_tracks(["1", "2"]).force().send().await?;
    /// assert!(closed.failed.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn close_tracks<I, S>(&self, mids: I) -> CloseTracks<'_>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        CloseTracks {
            session: self,
            mids: mids.into_iter().map(Into::into).collect(),
            offer: None,
            force: false,
        }
    }
}
