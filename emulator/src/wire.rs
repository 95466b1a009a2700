//! JSON shapes of the SFU Connection API (camelCase). Every field is optional on input so that
//! unknown or missing fields never fail decoding; validation happens in the handlers.

use serde::{Deserialize, Serialize};

/// An SDP blob with its role.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionDescription {
    /// Raw SDP text.
    #[serde(default)]
    pub sdp: String,
    /// `offer` or `answer`.
    #[serde(rename = "type", default)]
    pub kind: String,
}

impl SessionDescription {
    pub(crate) fn offer(sdp: String) -> Self {
        Self {
            sdp,
            kind: "offer".into(),
        }
    }
    pub(crate) fn answer(sdp: String) -> Self {
        Self {
            sdp,
            kind: "answer".into(),
        }
    }
}

/// Simulcast preferences of a pulled track.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Simulcast {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_rid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority_ordering: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rid_not_available: Option<String>,
}

/// One track in a tracks request or response.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Track {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bidirectional_media_stream: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub simulcast: Option<Simulcast>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(flatten)]
    pub error: ItemError,
}

/// Error fields that may sit on any item of a batch.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemError {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

impl ItemError {
    pub(crate) fn new(code: &str, description: impl Into<String>) -> Self {
        Self {
            error_code: Some(code.into()),
            error_description: Some(description.into()),
        }
    }
    pub(crate) fn is_err(&self) -> bool {
        self.error_code.is_some()
    }
}

/// Body of `sessions/new`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSessionRequest {
    pub session_description: Option<SessionDescription>,
}

/// Body of `tracks/new` and `tracks/update`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TracksRequest {
    pub session_description: Option<SessionDescription>,
    pub tracks: Option<Vec<Track>>,
    pub auto_discover: Option<bool>,
}

/// Body of `tracks/close`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloseTracksRequest {
    pub session_description: Option<SessionDescription>,
    pub tracks: Option<Vec<Track>>,
    pub force: Option<bool>,
}

/// Body of `renegotiate`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenegotiateRequest {
    pub session_description: Option<SessionDescription>,
}

/// Response shared by the SDP-carrying session operations.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SdpResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requires_immediate_renegotiation: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_description: Option<SessionDescription>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracks: Option<Vec<Track>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_channel: Option<DataChannel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_channels: Option<Vec<DataChannel>>,
    #[serde(flatten)]
    pub error: ItemError,
}

/// One data channel in a request, response or session state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataChannel {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_channel_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ordered: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_retransmits: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_packet_life_time: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_for_ack: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub can_reply: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(flatten)]
    pub error: ItemError,
}

/// Body of the data channel operations.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataChannelsRequest {
    pub session_description: Option<SessionDescription>,
    pub data_channels: Option<Vec<DataChannel>>,
}

/// Session state as returned by `GET /sessions/{id}`.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionState {
    pub tracks: Vec<Track>,
    pub data_channels: Vec<DataChannel>,
}

/// One WebSocket adapter item.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Adapter {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_codec: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_codec: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adapter_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_processed: Option<u64>,
    #[serde(flatten)]
    pub error: ItemError,
}

/// Body of both adapter operations.
#[derive(Debug, Default, Deserialize)]
pub struct AdaptersRequest {
    pub tracks: Option<Vec<Adapter>>,
}

/// Response of both adapter operations.
#[derive(Debug, Default, Serialize)]
pub struct AdaptersResponse {
    pub tracks: Vec<Adapter>,
}
