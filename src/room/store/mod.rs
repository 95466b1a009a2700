//! Where a room's state lives: the [`Store`] trait, [`MemoryStore`] for one process, and
//! `RedisStore` (feature `redis`) for many processes serving the same rooms.

mod memory;
mod metered;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
mod redis_connection;
// The concept's file is named after it, also when the concept names its folder.
#[allow(clippy::module_inception)]
mod store;

pub use memory::MemoryStore;
pub(crate) use metered::Metered;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::RedisStore;
pub(crate) use store::HEALTH_INTERVAL;
pub use store::{
    EventStream, Lease, Leaving, ParticipantRecord, RoomRecord, RoomSnapshot, Store, StoreFuture,
};
