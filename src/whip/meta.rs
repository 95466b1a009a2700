//! [`Meta`]: what a WHIP or WHEP resource keeps in its participant's metadata, so any process
//! can serve it, and the `ETag` naming its ICE session.

use serde::{Deserialize, Serialize};

use super::ice;
use crate::session::description::Offer;

/// What a resource keeps in its participant's metadata, so any process can serve it.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Meta {
    /// The client's ICE username: the ICE session the `ETag` names.
    pub ice_ufrag: String,
    /// Whether `PATCH` takes trickled candidates.
    pub trickle: bool,
}

impl Meta {
    pub(crate) fn of(offer: &Offer) -> Self {
        Self {
            ice_ufrag: ice::ufrag(offer.sdp()).unwrap_or_default().to_owned(),
            trickle: true,
        }
    }

    pub(crate) fn from_json(json: Option<&str>) -> Self {
        json.and_then(|j| serde_json::from_str(j).ok())
            .unwrap_or_default()
    }

    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The resource's strong entity-tag, naming its ICE session (RFC 9725 section 4.3.1).
pub(crate) fn etag(resource: &str, meta: &Meta) -> String {
    let ufrag: String = meta
        .ice_ufrag
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/'))
        .collect();
    format!("\"{resource}.{ufrag}\"")
}
