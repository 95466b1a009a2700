//! What the HTTP layer and the peer tasks say to each other: [`Cmd`] and the values it carries.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use str0m::change::{SdpAnswer, SdpOffer};
use str0m::config::{CryptoProvider, DtlsCert};
use str0m::media::{Direction, KeyframeRequestKind, MediaData, MediaKind};
use tokio::sync::{mpsc, oneshot, watch};

/// Connection state of a session's peer, as the API layer observes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Conn {
    New,
    Connected,
    Closed,
}

/// Where forwarded media or messages go: a peer and the mid / channel id on that peer.
#[derive(Debug, Clone)]
pub(crate) struct Target<T> {
    pub peer: u64,
    pub tx: mpsc::UnboundedSender<Cmd>,
    pub id: T,
}

/// A data channel the emulator side opens with a pre-agreed stream id.
#[derive(Debug, Clone)]
pub(crate) struct ChannelSpec {
    pub id: u16,
    pub label: String,
    pub ordered: bool,
    pub max_retransmits: Option<u32>,
    pub max_packet_life_time: Option<u32>,
}

/// An m-line the emulator adds to its own offer.
#[derive(Debug, Clone)]
pub(crate) struct MediaSpec {
    pub kind: MediaKind,
    pub dir: Direction,
}

/// Changes that make the emulator produce an offer.
#[derive(Debug, Default)]
pub(crate) struct OfferSpec {
    pub add: Vec<MediaSpec>,
    pub channels: Vec<ChannelSpec>,
}

/// Why a peer refused an SDP step.
#[derive(Debug)]
pub(crate) enum SdpFailure {
    /// The SDP itself is unusable or out of order.
    Invalid(String),
    /// The peer already waits for an answer to its own offer.
    HaveLocalOffer,
    /// Nothing to negotiate.
    NoChange,
}

pub(crate) type Reply<T> = oneshot::Sender<T>;

/// Messages understood by a peer task.
#[derive(Debug)]
pub(crate) enum Cmd {
    AcceptOffer(Box<SdpOffer>, Reply<Result<String, SdpFailure>>),
    CreateOffer(OfferSpec, Reply<Result<(String, Vec<String>), SdpFailure>>),
    AcceptAnswer(Box<SdpAnswer>, Reply<Result<(), SdpFailure>>),
    /// Start the idle clock of pushed mids.
    WatchIdle(Vec<String>),
    AddMediaRoute {
        mid_in: String,
        to: Target<String>,
    },
    RemoveMediaRoutes {
        peer: u64,
        mid_out: Option<String>,
    },
    SetSource {
        mid_out: String,
        from: Target<String>,
    },
    SetPreferredRid {
        mid_out: String,
        rid: Option<String>,
    },
    /// Stop handling the given mids (forced close).
    StopMids(Vec<String>),
    Media {
        mid_out: String,
        data: Arc<MediaData>,
    },
    Keyframe {
        mid_in: String,
        kind: KeyframeRequestKind,
    },
    OpenChannel(ChannelSpec),
    CloseChannel(u16),
    AddChannelRoute {
        id_in: u16,
        to: Target<u16>,
    },
    RemoveChannelRoutes {
        peer: u64,
        id_out: Option<u16>,
    },
    SetReply {
        id: u16,
        to: Option<Target<u16>>,
    },
    GateUntilAck {
        id: u16,
    },
    ChannelSend {
        id: u16,
        binary: bool,
        data: Arc<[u8]>,
    },
    /// Drop every datagram to and from the peer for this long, as a network that drops out.
    Partition(std::time::Duration),
    Shutdown,
}

/// State a peer publishes for the API layer to read without a round trip.
#[derive(Debug)]
pub(crate) struct PeerShared {
    pub conn: watch::Sender<Conn>,
    /// Pushed mids garbage-collected for lack of packets.
    pub idle_mids: Mutex<HashSet<String>>,
    /// Channel ids whose SCTP stream is open.
    pub open_channels: Mutex<HashSet<u16>>,
}

/// Settings shared by every peer.
#[derive(Clone)]
pub(crate) struct PeerConfig {
    pub crypto: Arc<CryptoProvider>,
    pub cert: DtlsCert,
    pub host: std::net::IpAddr,
    /// The address media candidates announce instead of `host`; media sockets then bind
    /// every interface.
    pub announce: Option<std::net::IpAddr>,
    pub track_idle_timeout: Duration,
    pub wait_for_ack_timeout: Duration,
    pub silence_timeout: Duration,
}

impl PeerConfig {
    /// Builds the crypto provider once and a single DTLS certificate all peers share, since
    /// generating one per session would dominate session set-up time.
    pub fn new(
        host: std::net::IpAddr,
        track_idle_timeout: Duration,
        wait_for_ack_timeout: Duration,
    ) -> Result<Self, String> {
        let crypto = str0m::crypto::from_feature_flags();
        let cert = crypto
            .dtls_provider
            .generate_certificate()
            .ok_or_else(|| "DTLS certificate generation failed".to_string())?;
        Ok(Self {
            crypto: Arc::new(crypto),
            cert,
            host,
            announce: None,
            track_idle_timeout,
            wait_for_ack_timeout,
            silence_timeout: Duration::from_secs(30),
        })
    }
}
