//! SDP offers and answers as distinct types, so one cannot be passed where the other belongs.

use crate::error::Error;
use crate::raw::sfu::types as raw;
use crate::wire::SdpType;

/// An SDP offer: made by the endpoint (push tracks, close tracks) or by the SFU (pull tracks).
///
/// ```
/// use cloudflare_calls::Offer;
/// let offer = Offer::new("v=0\r\n");
/// assert_eq!(offer.sdp(), "v=0\r\n");
/// assert_eq!(format!("{offer:?}"), "Offer(5 bytes of SDP)");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Offer(String);

/// An SDP answer: to the SFU's offer (renegotiate), or the SFU's answer to the endpoint's offer.
///
/// ```
/// use cloudflare_calls::Answer;
/// let answer = Answer::new("v=0\r\n");
/// assert_eq!(answer.into_sdp(), "v=0\r\n");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Answer(String);

macro_rules! sdp_newtype {
    ($ty:ident, $kind:expr) => {
        impl $ty {
            /// Wraps SDP text.
            pub fn new(sdp: impl Into<String>) -> Self {
                Self(sdp.into())
            }

            /// The SDP text.
            pub fn sdp(&self) -> &str {
                &self.0
            }

            /// The SDP text, owned.
            pub fn into_sdp(self) -> String {
                self.0
            }
        }

        /// Shows the size only: SDP carries ICE passwords, which logs should not.
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({} bytes of SDP)", stringify!($ty), self.0.len())
            }
        }

        impl From<$ty> for raw::SessionDescription {
            fn from(value: $ty) -> Self {
                raw::SessionDescription {
                    sdp: value.0,
                    type_: $kind,
                }
            }
        }
    };
}
sdp_newtype!(Offer, SdpType::Offer);
sdp_newtype!(Answer, SdpType::Answer);

/// A session description the SFU sent back, typed by what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SessionDescription {
    /// The SFU answers the endpoint's offer: apply it with `setRemoteDescription`.
    Answer(Answer),
    /// The SFU offers: apply it, create an answer, and send it back.
    Offer(Offer),
}

impl SessionDescription {
    pub(crate) fn from_raw(
        operation: &'static str,
        raw: Option<raw::SessionDescription>,
    ) -> Result<Option<Self>, Error> {
        let Some(raw) = raw else { return Ok(None) };
        match raw.type_ {
            SdpType::Offer => Ok(Some(Self::Offer(Offer(raw.sdp)))),
            SdpType::Answer => Ok(Some(Self::Answer(Answer(raw.sdp)))),
            other => Err(Error::Decode {
                operation,
                status: None,
                reason: format!("session description of unknown type {other:?}"),
                // The SDP carries ICE passwords: an error keeps none of it.
                body: String::new(),
            }),
        }
    }
}
