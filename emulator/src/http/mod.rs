//! The HTTP core: routes, request decoding, auth and the per-session call prelude.

mod account;
mod adapters;
mod channels;
mod control;
mod negotiate;
mod ops;
mod request;
mod router;
mod sessions;
mod track_changes;
mod tracks;
mod turn;

pub(crate) use request::{Reg, bearer, decode, exclusive, session_call};
pub(crate) use router::router;
