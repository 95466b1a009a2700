//! [`Participant`]: one session in a room, and what an endpoint asks of it after joining.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::error::Result;
use super::error::RoomError;
use super::event::{LeaveReason, ParticipantInfo, RoomEvent, RoomUpdate, TrackInfo};
use super::event::{PARTICIPANT_CHANNEL, room_channel};
use super::offer_tracks::{no_answer, published, pushed_tracks};
use super::room::Room;
use super::store::{ParticipantRecord, RoomSnapshot};
use crate::error::ErrorCode;
use crate::session::Session;
use crate::session::data_channels::{DataChannel, DataChannelsOutput};
use crate::session::description::{Answer, Offer};
use crate::session::negotiation::Negotiation;
use crate::session::tracks::{CloseMode, LocalTrack};

/// How long [`Participant::open_channels`] waits for the endpoint to connect.
const CONNECT_WAIT: Duration = Duration::from_secs(20);

/// A participant of a room: a handle by id, cheap to clone.
#[derive(Clone, Debug)]
pub struct Participant {
    room: Room,
    info: ParticipantInfo,
}

/// A participant and what it publishes, as a newcomer is shown it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ParticipantView {
    /// Who.
    #[serde(flatten)]
    pub info: ParticipantInfo,
    /// Its published tracks.
    pub tracks: Vec<TrackInfo>,
}

/// A track pulled into a participant's session, at the mid where its endpoint receives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PulledTrack {
    /// The mid in the puller's session.
    pub mid: String,
    /// The track.
    pub track: TrackInfo,
}

impl PulledTrack {
    /// Pairs each requested track with the mid the SFU gave it.
    pub(super) fn matched(
        requested: &[TrackInfo],
        result: &crate::session::TracksOutput,
    ) -> Vec<Self> {
        result
            .tracks
            .iter()
            .filter_map(|t| {
                let track = requested.iter().find(|r| {
                    Some(&r.name) == t.track_name.as_ref()
                        && Some(&r.session_id) == t.session_id.as_ref()
                })?;
                Some(Self {
                    mid: t.mid.clone()?,
                    track: track.clone(),
                })
            })
            .collect()
    }
}

/// What an endpoint needs to reach the room channel, and the room as it is.
///
/// The endpoint opens two pre-negotiated data channels: `room` with id `room_channel`
/// (ordered, reliable), on which it must send one message first (the SFU holds the room's
/// updates until it does), and `participant` with id `participant_channel`, which carries
/// its messages to the server and the server's messages to it alone.
///
/// `participants` is the room at `seq`, just before this participant was announced: every
/// update with a greater `seq` reaches the endpoint on one of the two channels, starting
/// with its own `participant_joined`; updates up to `seq` are already in `participants` (see
/// the [`seq` contract](super::RoomUpdate)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RoomChannels {
    /// The id of the `room` channel on this endpoint.
    pub room_channel: u16,
    /// The id of the `participant` channel on this endpoint.
    pub participant_channel: u16,
    /// The last event `participants` includes.
    pub seq: u64,
    /// Everyone announced in the room at `seq` (this participant comes in its own
    /// `participant_joined`).
    pub participants: Vec<ParticipantView>,
}

/// The room channel of the room's new host, and what the participant missed: see
/// [`Participant::follow_host`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct HostChannel {
    /// The id of the new `room` channel on this endpoint.
    pub room_channel: u16,
    /// The updates after the one the endpoint gave, in order.
    pub updates: Vec<RoomUpdate>,
}

impl RoomChannels {
    /// The announced participants of `snapshot`, and the `seq` it reflects.
    pub(crate) fn view(snapshot: RoomSnapshot) -> (u64, Vec<ParticipantView>) {
        let views = snapshot
            .participants
            .into_iter()
            .filter(|p| p.is_present())
            .map(|p| ParticipantView {
                tracks: p.published.into_iter().map(|(_, t)| t).collect(),
                info: p.info,
            })
            .collect();
        (snapshot.seq, views)
    }
}

impl Participant {
    pub(super) fn new(room: Room, info: ParticipantInfo) -> Self {
        Self { room, info }
    }

    pub(crate) fn room(&self) -> &Room {
        &self.room
    }

    /// The participant's id in the room.
    pub fn id(&self) -> &str {
        &self.info.id
    }

    /// The identity it joined under.
    pub fn identity(&self) -> &str {
        &self.info.identity
    }

    /// What the room announces about it.
    pub fn info(&self) -> &ParticipantInfo {
        &self.info
    }

    /// Its SFU session.
    pub fn session(&self) -> Session {
        self.room.client().session(&self.info.session_id)
    }

    /// Applies the endpoint's answer to an SFU offer made for this participant, such as the
    /// one of [`Joining::negotiation`](super::Joining) or [`Participant::subscribe`].
    pub async fn renegotiate(&self, answer: Answer) -> Result<()> {
        let session = self.session();
        self.room
            .leased(session.id(), session.renegotiate(answer))
            .await
    }

    /// Once the endpoint is connected: opens its room channels on the SFU and returns their
    /// ids with the room's snapshot. Waits up to 20 s for the connection.
    ///
    /// The endpoint then opens both channels (pre-negotiated, with these ids) and calls
    /// [`announce`](Self::announce): the room tells everyone, and may send to it, only then,
    /// so nothing reaches a channel the endpoint has not opened yet (a browser drops what
    /// arrives for a channel id it does not know).
    pub async fn open_channels(&self) -> Result<RoomChannels> {
        let session = self.session();
        let name = room_channel(self.room.id());
        let mut host = self.room.host().await?;
        let mut wanted = vec![
            DataChannel::subscribe(&host, &name).wait_for_ack(true),
            DataChannel::publish(PARTICIPANT_CHANNEL),
        ];
        let mut opened = DataChannelsOutput::default();
        loop {
            let open = async {
                let deadline = Instant::now() + CONNECT_WAIT;
                loop {
                    let call = wanted
                        .iter()
                        .fold(session.add_data_channels(), |call, c| {
                            call.channel(c.clone())
                        })
                        .send()
                        .await;
                    match call {
                        Err(e) if e.is_not_ready() && Instant::now() < deadline => {
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                        other => return other,
                    }
                }
            };
            let result = self.room.leased(session.id(), open).await?;
            opened.channels.extend(result.channels);
            let Some(refused) = result.failed.first() else {
                break;
            };
            // A host that handed the room over since (a deploy) closed its channel: the
            // channel of the host the record names now is subscribed to instead.
            let host_gone = result.failed.len() == 1
                && refused.code == ErrorCode::NotFound
                && refused.name.as_deref() == Some(name.as_str());
            let now = match host_gone {
                true => self.room.host().await?,
                false => host.clone(),
            };
            if now == host {
                return Err(RoomError::ChannelsRefused(refused.code.as_str().to_owned()));
            }
            tracing::debug!(room = self.room.id(), "the room's host moved while joining");
            host = now;
            wanted = vec![DataChannel::subscribe(&host, &name).wait_for_ack(true)];
        }
        let id_of = |name: &str| {
            let info = opened
                .channels
                .iter()
                .find(|c| c.name.as_deref() == Some(name));
            info.and_then(|c| c.id)
                .ok_or_else(|| RoomError::ChannelsRefused(format!("no id for {name}")))
        };
        let (room_channel, participant_channel) = (id_of(&name)?, id_of(PARTICIPANT_CHANNEL)?);
        // The snapshot comes after the room channel's subscription and before the
        // announcement: every update after its seq reaches the endpoint (the direct
        // messages sent on its join included), and nothing before it is needed.
        let snapshot = self.room.snapshot().await?;
        let mut record = self.record().await?;
        record.channels = true;
        self.room.save(record).await?;
        let (seq, participants) = RoomChannels::view(snapshot);
        Ok(RoomChannels {
            room_channel,
            participant_channel,
            seq,
            participants,
        })
    }

    /// After [`RoomEvent::HostChanged`](super::RoomEvent::HostChanged): subscribes the
    /// endpoint to the new host's room channel, then returns that channel's id with every
    /// update for this participant after `after` that the log holds. The SFU holds the new
    /// channel's updates until the endpoint sends on it (`waitForAck`), and any update the log
    /// gets later comes on it: none is lost, and one on both is dropped by its `seq`.
    pub async fn follow_host(&self, after: u64) -> Result<HostChannel> {
        let session = self.session();
        let host = self.room.host().await?;
        let name = room_channel(self.room.id());
        let subscribe = session
            .add_data_channels()
            .channel(DataChannel::subscribe(&host, &name).wait_for_ack(true))
            .send();
        let opened = self.room.leased(session.id(), subscribe).await?;
        if let Some(f) = opened.failed.first() {
            return Err(RoomError::ChannelsRefused(f.code.as_str().to_owned()));
        }
        let room_channel = opened
            .channels
            .iter()
            .find(|c| c.name.as_deref() == Some(&name))
            .and_then(|c| c.id)
            .ok_or_else(|| RoomError::ChannelsRefused(format!("no id for {name}")))?;
        let updates = self
            .room
            .store()
            .updates_after(self.room.id(), after)
            .await?;
        let updates = updates
            .into_iter()
            .filter(|u| u.is_for(self.id()))
            .collect();
        Ok(HostChannel {
            room_channel,
            updates,
        })
    }

    /// Publishes the new sending sections of the endpoint's offer (a screen share, say) and
    /// announces them; returns the SFU's answer.
    pub async fn publish(&self, offer: Offer) -> Result<(Answer, Vec<TrackInfo>)> {
        let session = self.session();
        let publish = async {
            let mut record = self.record().await?;
            let known = |mid: &str| record.mids().iter().any(|m| m == mid);
            let new: Vec<_> = pushed_tracks(&offer)?
                .into_iter()
                .filter(|(mid, _, _)| !known(mid))
                .collect();
            let locals = new.iter().map(|(mid, name, _)| LocalTrack::new(mid, name));
            let result = session
                .add_tracks()
                .offer(offer)
                .push_all(locals)
                .send()
                .await?;
            if !result.failed.is_empty() {
                return Err(RoomError::TracksRefused(result.failed));
            }
            let answer = result.negotiation.answer().cloned().ok_or_else(no_answer)?;
            let tracks = published(session.id(), new);
            record.published.extend(tracks.iter().cloned());
            self.room.save(record).await?;
            // Announced under the lease, so a removal waiting for it announces after it.
            let tracks: Vec<TrackInfo> = tracks.into_iter().map(|(_, t)| t).collect();
            self.room.announce_tracks(self.id(), &tracks, true).await?;
            Ok::<_, RoomError>((answer, tracks))
        };
        self.room.leased(session.id(), publish).await
    }

    /// Stops publishing the named tracks: they are closed on the SFU and announced gone.
    pub async fn unpublish<I, S>(&self, names: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let names: Vec<S> = names.into_iter().collect();
        let session = self.session();
        let unpublish = async {
            let mut record = self.record().await?;
            let (gone, kept) = record
                .published
                .into_iter()
                .partition(|(_, t)| names.iter().any(|n| n.as_ref() == t.name));
            record.published = kept;
            let gone: Vec<(String, TrackInfo)> = gone;
            if !gone.is_empty() {
                let mids = gone.iter().map(|(mid, _)| mid.clone());
                session.close_tracks(mids, CloseMode::Force).send().await?;
            }
            self.room.save(record).await?;
            // Announced under the lease, so a removal waiting for it announces after it.
            let tracks: Vec<TrackInfo> = gone.into_iter().map(|(_, t)| t).collect();
            self.room.announce_tracks(self.id(), &tracks, false).await
        };
        self.room.leased(session.id(), unpublish).await
    }

    /// Pulls tracks into this participant's session, such as those of a
    /// [`RoomEvent::TracksPublished`]: the SFU's offer is for the endpoint to answer through
    /// [`Participant::renegotiate`], or directly on the [`PendingOffer`](crate::PendingOffer).
    /// Tracks the SFU refused (unpublished meanwhile) are left out of the list.
    pub async fn subscribe(
        &self,
        tracks: impl IntoIterator<Item = TrackInfo>,
    ) -> Result<(Negotiation, Vec<PulledTrack>)> {
        let tracks: Vec<TrackInfo> = tracks.into_iter().collect();
        let session = self.session();
        let subscribe = async {
            let mut record = self.record().await?;
            let result = session
                .add_tracks()
                .pull_all(tracks.iter().map(TrackInfo::remote))
                .send()
                .await?;
            let pulled = PulledTrack::matched(&tracks, &result);
            record.pulled.extend(pulled.iter().map(|p| p.mid.clone()));
            self.room.save(record).await?;
            Ok::<_, RoomError>((result.negotiation, pulled))
        };
        self.room.leased(session.id(), subscribe).await
    }

    /// Leaves the room: its tracks and channels are closed on the SFU, and everyone is told.
    pub async fn leave(self) -> Result<()> {
        self.room.remove(&self.info.id, LeaveReason::Left).await?;
        Ok(())
    }

    pub(super) async fn record(&self) -> Result<ParticipantRecord> {
        let snapshot = self.room.snapshot_of(&self.info.id).await?;
        let found = snapshot
            .participants
            .into_iter()
            .find(|p| p.info.id == self.info.id && p.leaving.is_none());
        found.ok_or_else(|| self.room.no_participant(&self.info.id))
    }

    /// Announces the participant and its tracks to the room: after
    /// [`open_channels`](Self::open_channels), once the endpoint has opened them; or
    /// without room channels, for an endpoint that has no data channels (a WHIP encoder, a
    /// WHEP player). Once announced, it leaves
    /// with a `participant_left` event, and the room's health check removes it when its
    /// session dies.
    pub async fn announce(&self) -> Result<()> {
        let record = self.record().await?;
        if record.announced {
            return Ok(());
        }
        self.announce_record(record).await
    }

    /// Marks the participant announced and tells the room about it and its tracks.
    pub(super) async fn announce_record(&self, mut record: ParticipantRecord) -> Result<()> {
        record.announced = true;
        let published: Vec<TrackInfo> = record.published.iter().map(|(_, t)| t.clone()).collect();
        self.room.save(record.clone()).await?;
        self.room
            .append(RoomEvent::ParticipantJoined {
                participant: record.info,
            })
            .await?;
        self.room.announce_tracks(self.id(), &published, true).await
    }
}

impl Room {
    /// A handle to a participant by id.
    pub async fn participant(&self, id: &str) -> Result<Participant> {
        let snapshot = self.snapshot_of(id).await?;
        let found = snapshot.participants.into_iter().find(|p| p.info.id == id);
        match found.filter(|p| p.leaving.is_none()) {
            Some(p) => Ok(Participant::new(self.clone(), p.info)),
            None => Err(self.no_participant(id)),
        }
    }
}
