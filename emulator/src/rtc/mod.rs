//! The media core: one str0m peer per session, each driven by its own task on its own loopback
//! UDP socket. The HTTP layer talks to a peer only through [`Cmd`] messages.

mod command;
mod handle;
mod peer;
pub(crate) mod relay;
pub(crate) mod sdp;
mod tcp;

pub(crate) use command::{
    ChannelSpec, Cmd, Conn, MediaSpec, OfferSpec, PeerConfig, PeerShared, SdpFailure, Target,
};
pub(crate) use handle::PeerHandle;
