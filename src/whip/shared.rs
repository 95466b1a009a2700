//! [`Shared`]: the state every handler of one router shares: the rooms, the authorization and
//! how ICE servers are announced.

use std::time::Duration;

use super::access::Authorize;
use super::reply::Reject;
use crate::client::turn::IceServers;
use crate::room::{Room, RoomError, Rooms};

/// The handlers' state.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) rooms: Rooms,
    pub(crate) auth: Option<Authorize>,
    pub(crate) ice: Ice,
}

impl Shared {
    /// The stream's room while it is open; `None` for an unknown or ended stream.
    pub(crate) async fn stream(&self, stream: &str) -> Result<Option<Room>, Reject> {
        match self.rooms.open(stream).await {
            Ok(room) => Ok(Some(room)),
            Err(RoomError::RoomNotFound(_) | RoomError::RoomClosed(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

#[derive(Clone)]
pub(crate) enum Ice {
    None,
    Servers(IceServers),
    Turn(Duration),
}
