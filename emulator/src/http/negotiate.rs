//! SDP steps shared by the handlers: decoding the client's SDP and asking the session's peer
//! to answer it or to make an offer.

use str0m::change::{SdpAnswer, SdpOffer};

use crate::error::ApiError;
use crate::rtc::{Cmd, OfferSpec, PeerHandle, SdpFailure};
use crate::state::Session;
use crate::wire::SessionDescription;

use super::Reg;

/// The SDP text of `desc` if it is an offer.
pub(crate) fn offer_of(desc: &SessionDescription) -> Result<SdpOffer, ApiError> {
    if desc.kind != "offer" {
        return Err(ApiError::bad_sdp(format!(
            "expected an offer, got {:?}",
            desc.kind
        )));
    }
    SdpOffer::from_sdp_string(&desc.sdp).map_err(|e| ApiError::bad_sdp(e.to_string()))
}

/// The SDP text of `desc` if it is an answer.
pub(crate) fn answer_of(desc: &SessionDescription) -> Result<SdpAnswer, ApiError> {
    if desc.kind != "answer" {
        return Err(ApiError::bad_sdp(format!(
            "expected an answer, got {:?}",
            desc.kind
        )));
    }
    SdpAnswer::from_sdp_string(&desc.sdp).map_err(|e| ApiError::bad_sdp(e.to_string()))
}

fn failure(f: SdpFailure) -> ApiError {
    match f {
        SdpFailure::Invalid(why) => ApiError::bad_sdp(why),
        SdpFailure::HaveLocalOffer => ApiError::overlap("invalid_modification_have_local_offer"),
        SdpFailure::NoChange => ApiError::internal("nothing to negotiate"),
    }
}

fn gone() -> ApiError {
    ApiError::session_gone()
}

/// The session's peer, started on first use.
pub(crate) async fn peer(reg: &Reg, s: &std::sync::Arc<Session>) -> Result<PeerHandle, ApiError> {
    s.peer(&reg.peer_cfg)
        .await
        .map_err(|e| ApiError::internal(format!("UDP socket: {e}")))
}

/// Has the peer answer the client's offer.
pub(crate) async fn answer(peer: &PeerHandle, offer: SdpOffer) -> Result<String, ApiError> {
    let res = peer
        .ask(|r| Cmd::AcceptOffer(Box::new(offer), r))
        .await
        .ok_or_else(gone)?;
    res.map_err(failure)
}

/// Has the peer make an offer; returns it with the mids of the added m-lines.
pub(crate) async fn offer(
    peer: &PeerHandle,
    spec: OfferSpec,
) -> Result<(String, Vec<String>), ApiError> {
    let res = peer
        .ask(|r| Cmd::CreateOffer(spec, r))
        .await
        .ok_or_else(gone)?;
    res.map_err(failure)
}

/// Applies the client's answer to the peer's pending offer.
pub(crate) async fn accept_answer(peer: &PeerHandle, answer: SdpAnswer) -> Result<(), ApiError> {
    let res = peer
        .ask(|r| Cmd::AcceptAnswer(Box::new(answer), r))
        .await
        .ok_or_else(gone)?;
    res.map_err(failure)
}
