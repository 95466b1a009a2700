//! String enums of the wire format that the service may extend.
//!
//! Each has an `Unknown(String)` fallback: a value this crate does not know yet decodes
//! instead of failing the whole response, and re-encodes exactly as received. `build.rs`
//! substitutes these for the enum schemas of `openapi/`, so the raw bindings share them.

/// Defines a wire enum: variants with their exact wire strings, plus `Unknown(String)`.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this version of the crate does not know, kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// The exact string used on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )*
                    Self::Unknown(other) => other,
                }
            }

            /// The wire string as a metric label: bounded, so a value the crate does not
            /// know is "other".
            #[allow(dead_code)]
            pub(crate) fn label(&self) -> &'static str {
                match self {
                    $( Self::$variant => $wire, )*
                    Self::Unknown(_) => "other",
                }
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $( $wire => Self::$variant, )*
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Ok(Self::from(value))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        // The room channel's JSON Schema lists the values this version sends.
        #[cfg(feature = "room")]
        impl schemars::JsonSchema for $name {
            fn schema_name() -> String {
                stringify!($name).to_owned()
            }

            fn json_schema(_: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
                schemars::schema::SchemaObject {
                    instance_type: Some(schemars::schema::InstanceType::String.into()),
                    enum_values: Some(vec![$( $wire.into(), )*]),
                    ..Default::default()
                }
                .into()
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let value = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Ok(Self::from(value.as_ref()))
            }
        }
    };
}
pub(crate) use wire_enum;

wire_enum! {
    /// The kind of media a track carries.
    pub enum MediaKind {
        /// Sound.
        Audio = "audio",
        /// Pictures.
        Video = "video",
    }
}

wire_enum! {
    /// Whether a session description is an offer or an answer.
    pub enum SdpType {
        /// The session description answers an offer.
        Answer = "answer",
        /// The session description proposes a negotiation.
        Offer = "offer",
    }
}

wire_enum! {
    /// Which side of the SFU a track, data channel or adapter belongs to.
    pub enum Location {
        /// Published by this session.
        Local = "local",
        /// Published by another session and pulled into this one.
        Remote = "remote",
    }
}

wire_enum! {
    /// State of a track or data channel in a session.
    pub enum ResourceStatus {
        /// The track is live, or the data channel is open.
        Active = "active",
        /// The track is closed or gone, or the data channel is closed.
        Inactive = "inactive",
        /// The data channel is still connecting.
        Initializing = "initializing",
    }
}

wire_enum! {
    /// What the SFU does when bandwidth does not allow the preferred simulcast layer.
    pub enum PriorityOrdering {
        /// Keep sending the preferred layer.
        None = "none",
        /// Fall back to the next layer in ASCII order of rids.
        Asciibetical = "asciibetical",
    }
}

wire_enum! {
    /// What the SFU does when the simulcast layer in use stops arriving.
    pub enum RidNotAvailable {
        /// Do nothing.
        None = "none",
        /// Switch to the next layer in ASCII order of rids.
        Asciibetical = "asciibetical",
    }
}

wire_enum! {
    /// Media format a WebSocket adapter sends to its endpoint.
    pub enum AdapterOutputCodec {
        /// 48 kHz stereo PCM decoded from an Opus track.
        Pcm = "pcm",
        /// JPEG frames decoded from a video track.
        Jpeg = "jpeg",
    }
}

wire_enum! {
    /// Media format a WebSocket adapter receives from its endpoint.
    pub enum AdapterInputCodec {
        /// PCM audio.
        Pcm = "pcm",
    }
}

wire_enum! {
    /// How a WebSocket adapter processes media; the service derives it from the location.
    pub enum AdapterMode {
        /// Continuous egress of a track.
        Stream = "stream",
        /// Buffered audio ingest.
        Buffer = "buffer",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_round_trip() {
        let v: ResourceStatus = serde_json::from_str("\"paused\"").unwrap();
        assert_eq!(v, ResourceStatus::Unknown("paused".into()));
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"paused\"");
        let known: Location = serde_json::from_str("\"remote\"").unwrap();
        assert_eq!(known, Location::Remote);
        assert_eq!(serde_json::to_string(&known).unwrap(), "\"remote\"");
    }
}
