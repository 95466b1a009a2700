//! Data channels of a [`Session`]: the SCTP transport, then named channels published by one
//! session and subscribed by others through the SFU.

use crate::error::{Error, ErrorCode, Result};
use crate::http::response::decode;
use crate::raw::sfu::types as raw;
use crate::session::Session;
use crate::session::description::Offer;
use crate::session::negotiation::{Negotiation, Step};
use crate::wire::Location;

/// A named data channel to publish or subscribe, with its delivery policy.
///
/// The publisher picks the policy (ordering, and at most one of `max_retransmits` /
/// `max_packet_life_time`); subscribers must ask for the same one, and each endpoint must open
/// its negotiated channel with the same settings.
///
/// ```
/// use cloudflare_calls::DataChannel;
/// let publish = DataChannel::publish("cursor").ordered(false).max_retransmits(0);
/// let subscribe = DataChannel::subscribe("2a45361d5fd7cc14eface0587c276c94", "cursor")
///     .ordered(false)
///     .max_retransmits(0)
///     .can_reply(true);
/// # let _ = (publish, subscribe);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataChannel(raw::DataChannelObject);

impl DataChannel {
    /// A channel this session broadcasts on.
    pub fn publish(name: impl Into<String>) -> Self {
        Self(raw::DataChannelObject {
            location: Some(Location::Local),
            data_channel_name: Some(name.into()),
            ..Default::default()
        })
    }

    /// A channel published by session `session_id`, to receive here.
    pub fn subscribe(session_id: impl Into<String>, name: impl Into<String>) -> Self {
        Self(raw::DataChannelObject {
            location: Some(Location::Remote),
            session_id: Some(session_id.into()),
            data_channel_name: Some(name.into()),
            ..Default::default()
        })
    }

    /// Deliver in send order (the service's default) or not.
    pub fn ordered(mut self, ordered: bool) -> Self {
        self.0.ordered = Some(ordered);
        self
    }

    /// Retransmit a message at most this many times (0: never).
    pub fn max_retransmits(mut self, n: u16) -> Self {
        self.0.max_retransmits = Some(n);
        self
    }

    /// Keep retransmitting a message for at most this many milliseconds.
    pub fn max_packet_life_time(mut self, millis: u16) -> Self {
        self.0.max_packet_life_time = Some(millis);
        self
    }

    /// Subscriber only: hold delivery until this subscriber sends a first message
    /// (within 30 s), which the SFU consumes.
    pub fn wait_for_ack(mut self, yes: bool) -> Self {
        self.0.wait_for_ack = Some(yes);
        self
    }

    /// Subscriber only: let this subscriber send back to the publisher (one holder at a time).
    pub fn can_reply(mut self, yes: bool) -> Self {
        self.0.can_reply = Some(yes);
        self
    }

    /// The channel's name.
    pub fn name(&self) -> Option<&str> {
        self.0.data_channel_name.as_deref()
    }

    /// The wire form, for the server-side peer, which opens its channel with the same policy.
    #[cfg(feature = "peer")]
    pub(crate) fn wire(&self) -> &raw::DataChannelObject {
        &self.0
    }

    fn validate(&self) -> Result<()> {
        let name = self.name().unwrap_or_default();
        if name.is_empty() {
            return Err(Error::InvalidArgument("a data channel needs a name".into()));
        }
        if self.0.max_retransmits.is_some() && self.0.max_packet_life_time.is_some() {
            return Err(Error::InvalidArgument(format!(
                "data channel {name:?}: max_retransmits and max_packet_life_time exclude each other"
            )));
        }
        if self.0.location == Some(Location::Remote)
            && self.0.session_id.as_deref().unwrap_or_default().is_empty()
        {
            return Err(Error::InvalidArgument(format!(
                "data channel {name:?}: a subscription needs the publisher's session id"
            )));
        }
        Ok(())
    }
}

/// A data channel the SFU accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DataChannelInfo {
    /// Published (local) or subscribed (remote).
    pub location: Option<Location>,
    /// The publisher's session, for a subscription.
    pub session_id: Option<String>,
    /// The channel's name.
    pub name: Option<String>,
    /// The id to open the negotiated channel with on this endpoint.
    pub id: Option<u16>,
}

/// A data channel the SFU refused; the others of the call are unaffected.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DataChannelRefusal {
    /// The channel's name.
    pub name: Option<String>,
    /// The publisher's session, for a subscription.
    pub session_id: Option<String>,
    /// Why.
    pub code: ErrorCode,
    /// The service's explanation.
    pub description: Option<String>,
}

/// The outcome of a data channel call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DataChannelsOutput {
    /// Accepted channels, in request order.
    pub channels: Vec<DataChannelInfo>,
    /// Refused channels, in request order.
    pub failed: Vec<DataChannelRefusal>,
}

impl DataChannelsOutput {
    fn from_items(items: impl IntoIterator<Item = raw::DataChannelResult>) -> Self {
        let mut result = Self::default();
        for d in items {
            match d.error_code.filter(|c| !c.is_empty()) {
                Some(code) => result.failed.push(DataChannelRefusal {
                    name: d.data_channel_name,
                    session_id: d.session_id,
                    code: ErrorCode::from(code.as_str()),
                    description: d.error_description,
                }),
                None => result.channels.push(DataChannelInfo {
                    location: d.location,
                    session_id: d.session_id,
                    name: d.data_channel_name,
                    id: d.id,
                }),
            }
        }
        result
    }
}

/// The outcome of [`Session::establish_data_channels`].
#[derive(Debug)]
#[non_exhaustive]
pub struct DataChannelTransport {
    /// What the endpoint must do next: usually answer the SFU's offer that adds the SCTP
    /// transport (the pending offer holds the session's lock until then).
    pub negotiation: Negotiation,
    /// The reserved `server-events` channel the SFU set up.
    pub channel: Option<DataChannelInfo>,
}

/// The three data channel mutations, which differ only in path and operation name.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Mutation {
    Add,
    Update,
    Close,
}

/// Builder for [`Session::add_data_channels`], [`Session::update_data_channels`] and
/// [`Session::close_data_channels`].
#[derive(Debug)]
#[must_use = "a builder does nothing until .send() is awaited"]
pub struct ChangeDataChannels<'a> {
    session: &'a Session,
    mutation: Mutation,
    channels: Vec<DataChannel>,
}

impl<'a> ChangeDataChannels<'a> {
    pub(crate) fn new(session: &'a Session, mutation: Mutation) -> Self {
        Self {
            session,
            mutation,
            channels: Vec::new(),
        }
    }

    /// Adds a channel to the call.
    pub fn channel(mut self, channel: DataChannel) -> Self {
        self.channels.push(channel);
        self
    }

    /// Sends the call; invalid channels are rejected before anything is sent.
    pub async fn send(self) -> Result<DataChannelsOutput> {
        for c in &self.channels {
            c.validate()?;
        }
        if self.channels.is_empty() {
            return Err(Error::InvalidArgument("no data channel given".into()));
        }
        let session = self.session;
        let channels: Vec<raw::DataChannelObject> =
            self.channels.into_iter().map(|c| c.0).collect();
        let (app, id) = (session.app_id(), session.id());
        let api = session.api();
        let items = match self.mutation {
            Mutation::Add => {
                let body = raw::DataChannelsRequest {
                    data_channels: channels,
                };
                session
                    .mutate("add_data_channels", || {
                        let call = api.add_data_channels().app_id(app).session_id(id);
                        decode("add_data_channels", call.body(body.clone()).send())
                    })
                    .await?
                    .data_channels
            }
            Mutation::Update => {
                let body = raw::DataChannelsRequest {
                    data_channels: channels,
                };
                session
                    .mutate("update_data_channels", || {
                        let call = api.update_data_channels().app_id(app).session_id(id);
                        decode("update_data_channels", call.body(body.clone()).send())
                    })
                    .await?
                    .data_channels
            }
            Mutation::Close => {
                let body = raw::CloseDataChannelsRequest {
                    data_channels: channels,
                };
                session
                    .mutate("close_data_channels", || {
                        let call = api.close_data_channels().app_id(app).session_id(id);
                        decode("close_data_channels", call.body(body.clone()).send())
                    })
                    .await?
                    .data_channels
            }
        };
        Ok(DataChannelsOutput::from_items(items))
    }
}

/// See [`Session::establish_data_channels`].
pub(crate) async fn establish(
    session: &Session,
    offer: Option<Offer>,
) -> Result<DataChannelTransport> {
    const OPERATION: &str = "establish_data_channel_transport";
    let body = raw::EstablishDataChannelsTransportRequest {
        session_description: offer.map(Into::into),
        data_channel: None,
    };
    let lock = session.lock().await?;
    let response = session
        .retry_conflicts(OPERATION, || {
            let call = session
                .api()
                .establish_data_channel_transport()
                .app_id(session.app_id())
                .session_id(session.id())
                .body(body.clone())
                .send();
            decode(OPERATION, call)
        })
        .await?;
    let channel = response
        .data_channel
        .map(|d| DataChannelsOutput::from_items([d]))
        .and_then(|r| r.channels.into_iter().next());
    let step = Step::from_response(
        OPERATION,
        response.requires_immediate_renegotiation,
        response.session_description,
    )?;
    Ok(DataChannelTransport {
        negotiation: step.into_negotiation(session, lock),
        channel,
    })
}

/// The data channel calls of a session.
impl Session {
    /// Sets up the session's SCTP transport for data channels; call once per session, then
    /// answer the SFU's offer (or pass the endpoint's offer and apply the SFU's answer).
    ///
    /// ```no_run
    /// # async fn run(session: cloudflare_calls::Session, mut endpoint: impl cloudflare_calls::Answerer) -> cloudflare_calls::Result<()> {
    /// let transport = session.establish_data_channels(None).await?;
    /// transport.negotiation.settle(&mut endpoint).await?;
    /// # Ok(()) }
    /// ```
    pub async fn establish_data_channels(
        &self,
        offer: Option<Offer>,
    ) -> Result<DataChannelTransport> {
        establish(self, offer).await
    }

    /// Publishes or subscribes named data channels.
    ///
    /// ```no_run
    /// # async fn run(session: cloudflare_calls::Session) -> cloudflare_calls::Result<()> {
    /// use cloudflare_calls::DataChannel;
    /// let result = session.add_data_channels().channel(DataChannel::publish("chat")).send().await?;
    /// let id = result.channels[0].id; // open a negotiated channel with this id
    /// # let _ = id; Ok(()) }
    /// ```
    pub fn add_data_channels(&self) -> ChangeDataChannels<'_> {
        ChangeDataChannels::new(self, Mutation::Add)
    }

    /// Changes subscriptions, e.g. grants or revokes `can_reply`.
    pub fn update_data_channels(&self) -> ChangeDataChannels<'_> {
        ChangeDataChannels::new(self, Mutation::Update)
    }

    /// Closes data channels; no SDP is exchanged.
    pub fn close_data_channels(&self) -> ChangeDataChannels<'_> {
        ChangeDataChannels::new(self, Mutation::Close)
    }
}
