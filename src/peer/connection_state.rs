//! [`ConnectionState`]: where a peer's connection to the SFU stands.

/// The state of a peer's connection to the SFU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Not connected yet: nothing has been negotiated, or ICE/DTLS is in progress.
    New,
    /// ICE and DTLS are up.
    Connected,
    /// ICE lost the SFU; it may come back. After 10 s the peer gives up ([`Self::Failed`]).
    Disconnected,
    /// The connection failed; the peer's task has ended.
    Failed,
    /// The peer was closed; its task has ended.
    Closed,
}
