//! TURN credentials: short-lived ICE servers minted from the configured TURN key, through
//! [`Client::turn`](crate::Client::turn). Managing the keys themselves is `turn_keys.rs`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::http::response::decode;
use crate::raw::turn::types as raw_turn;
use crate::secret::Secret;

/// The longest lifetime the service grants TURN credentials: 48 hours.
///
/// ```
/// assert_eq!(cloudflare_calls::turn::MAX_TURN_TTL.as_secs(), 172_800);
/// ```
pub const MAX_TURN_TTL: Duration = Duration::from_secs(48 * 60 * 60);

/// One entry of a WebRTC `RTCConfiguration.iceServers` list.
///
/// Serializes exactly as a browser expects, with `username` and `credential` left out when
/// absent (STUN entries):
///
/// ```
/// use cloudflare_calls::turn::IceServers;
/// use serde_json::json;
///
/// let wire = json!([
///     {"urls": ["stun:stun.example.net:3478"]},
///     {
///         "urls": ["turn:turn.example.net:3478?transport=udp"],
///         "username": "u",
///         "credential": "pw-1"
///     },
/// ]);
/// let servers: IceServers = serde_json::from_value(wire.clone()).unwrap();
/// assert!(!format!("{servers:?}").contains("pw-1"));
/// assert_eq!(serde_json::to_value(&servers).unwrap(), wire);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IceServer {
    /// `stun:`, `turn:` or `turns:` URLs.
    pub urls: Vec<String>,
    /// The TURN username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The TURN password; redacted in `Debug`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<Secret>,
}

/// A list of ICE servers; serializes as the JSON array `RTCConfiguration.iceServers` takes.
///
/// ```
/// use cloudflare_calls::turn::IceServers;
/// let json = r#"[{"urls":["stun:stun.example.net"]}]"#;
/// let servers: IceServers = serde_json::from_str(json).unwrap();
/// for server in servers.iter() {
///     assert_eq!(server.urls, ["stun:stun.example.net"]);
/// }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IceServers(pub Vec<IceServer>);

impl IceServers {
    /// Removes every URL on port 53 and every entry left without URLs. Browsers block
    /// port 53, and some report an error for each such URL.
    ///
    /// ```
    /// # use cloudflare_calls::turn::IceServers;
    /// let servers: IceServers = serde_json::from_value(serde_json::json!([
    ///     {"urls": ["stun:stun.example.net:3478", "stun:stun.example.net:53"]},
    ///     {"urls": ["turn:turn.example.net:53?transport=udp"], "username": "u"},
    /// ]))
    /// .unwrap();
    /// let kept = servers.without_port_53();
    /// assert_eq!(kept.len(), 1);
    /// assert_eq!(kept[0].urls, ["stun:stun.example.net:3478"]);
    /// ```
    pub fn without_port_53(mut self) -> Self {
        for server in &mut self.0 {
            server.urls.retain(|url| !is_port_53(url));
        }
        self.0.retain(|server| !server.urls.is_empty());
        self
    }
}

impl std::ops::Deref for IceServers {
    type Target = [IceServer];
    fn deref(&self) -> &[IceServer] {
        &self.0
    }
}

impl IntoIterator for IceServers {
    type Item = IceServer;
    type IntoIter = std::vec::IntoIter<IceServer>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// `scheme:host[:port][?query]` (RFC 7064 / 7065), with the host possibly an `[IPv6]` literal.
fn is_port_53(url: &str) -> bool {
    let Some((_, rest)) = url.split_once(':') else {
        return false;
    };
    let authority = rest.split(['?', '/']).next().unwrap_or_default();
    // A bracketed IPv6 host contains colons of its own; the port comes after the `]`.
    let after_host = authority
        .rsplit_once(']')
        .map_or(authority, |(_, tail)| tail);
    after_host
        .rsplit_once(':')
        .is_some_and(|(_, port)| port.parse::<u16>() == Ok(53))
}

/// Credentials in the older single-entry form of [`Turn::generate_credentials`].
///
/// ```
/// use cloudflare_calls::turn::{IceServer, TurnCredentials};
/// let json = r#"{"urls":["turn:turn.example.net:3478"],"username":"u","credential":"pw-1"}"#;
/// let creds: TurnCredentials = serde_json::from_str(json).unwrap();
/// assert!(!format!("{creds:?}").contains("pw-1"));
/// let server = IceServer::from(creds); // the same thing as one ICE server entry
/// # let _ = server;
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TurnCredentials {
    /// `turn:` and `turns:` URLs (and possibly `stun:` ones).
    pub urls: Vec<String>,
    /// The TURN username; also the handle for [`Turn::revoke`].
    pub username: String,
    /// The TURN password; redacted in `Debug`.
    pub credential: Secret,
}

impl From<TurnCredentials> for IceServer {
    fn from(c: TurnCredentials) -> Self {
        IceServer {
            urls: c.urls,
            username: Some(c.username),
            credential: Some(c.credential),
        }
    }
}

/// TURN credentials, from [`Client::turn`](crate::Client::turn). Needs
/// [`Config::turn_key`](crate::Config::turn_key); the keys themselves are managed through
/// [`Client::turn_keys`](crate::Client::turn_keys).
///
/// ```
/// use cloudflare_calls::{Client, Config};
/// let config = Config::new("https://rtc.live.cloudflare.com/v1", "app-id", "app-secret")
///     .turn_key("turn-key-id", "turn-key-token");
/// let client = Client::new(config)?;
/// let turn = client.turn();
/// # let _ = turn;
/// # Ok::<(), cloudflare_calls::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Turn<'a> {
    client: &'a Client,
}

impl<'a> Turn<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Starts minting credentials valid for `ttl` (1 s to [`MAX_TURN_TTL`], whole seconds;
    /// a fraction of a second is dropped), as a ready-to-use ICE server list.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// use std::time::Duration;
    ///
    /// let servers = client.turn().generate_ice_servers(Duration::from_secs(600)).send().await?;
    /// let turn_entry = servers.iter().find(|s| s.username.is_some());
    /// # let _ = turn_entry;
    /// # Ok(()) }
    /// ```
    pub fn generate_ice_servers(&self, ttl: Duration) -> GenerateIceServers<'a> {
        GenerateIceServers {
            client: self.client,
            ttl,
            drop_port_53: false,
        }
    }

    /// Mints credentials in the older form: one entry with every TURN URL.
    /// Same `ttl` rules as [`Turn::generate_ice_servers`].
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// let creds = client.turn().generate_credentials(std::time::Duration::from_secs(3600)).await?;
    /// println!("{} for {:?}", creds.username, creds.urls);
    /// # Ok(()) }
    /// ```
    pub async fn generate_credentials(&self, ttl: Duration) -> Result<TurnCredentials> {
        let ttl = ttl_seconds(ttl)?;
        let api = self.client.raw_turn()?;
        let call = api
            .generate_turn_credentials()
            .key_id(self.client.turn_key_id()?)
            .body(raw_turn::CredentialsRequest { ttl })
            .send();
        let c = decode("generate_turn_credentials", call).await?.ice_servers;
        Ok(TurnCredentials {
            urls: c.urls,
            username: c.username,
            credential: c.credential,
        })
    }

    /// Revokes the credentials with this username before their TTL runs out.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// let creds = client.turn().generate_credentials(std::time::Duration::from_secs(3600)).await?;
    /// client.turn().revoke(&creds.username).await?;
    /// # Ok(()) }
    /// ```
    pub async fn revoke(&self, username: &str) -> Result<()> {
        // An empty username would make the path another operation's.
        if username.trim().is_empty() {
            return Err(Error::InvalidArgument(
                "the TURN username is empty".to_owned(),
            ));
        }
        let api = self.client.raw_turn()?;
        let call = api
            .revoke_turn_credentials()
            .key_id(self.client.turn_key_id()?)
            .username(username)
            .send();
        decode("revoke_turn_credentials", call).await
    }
}

/// Builder for [`Turn::generate_ice_servers`].
///
/// ```no_run
/// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
/// let builder = client.turn().generate_ice_servers(std::time::Duration::from_secs(60));
/// let servers = builder.drop_port_53(true).send().await?;
/// # let _ = servers;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until .send() is awaited"]
pub struct GenerateIceServers<'a> {
    client: &'a Client,
    ttl: Duration,
    drop_port_53: bool,
}

impl GenerateIceServers<'_> {
    /// Leaves out URLs on port 53 (see [`IceServers::without_port_53`]); for browsers.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// let servers = client
    ///     .turn()
    ///     .generate_ice_servers(std::time::Duration::from_secs(60))
    ///     .drop_port_53(true)
    ///     .send()
    ///     .await?;
    /// assert!(servers.iter().flat_map(|s| &s.urls).all(|u| !u.contains(":53")));
    /// # Ok(()) }
    /// ```
    pub fn drop_port_53(mut self, drop: bool) -> Self {
        self.drop_port_53 = drop;
        self
    }

    /// Mints the credentials. A bad TTL fails before anything is sent.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// use std::time::Duration;
    ///
    /// let too_long = Duration::from_secs(49 * 3600);
    /// let err = client.turn().generate_ice_servers(too_long).send().await.unwrap_err();
    /// assert!(matches!(err, cloudflare_calls::Error::InvalidArgument(_)));
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<IceServers> {
        let ttl = ttl_seconds(self.ttl)?;
        let api = self.client.raw_turn()?;
        let call = api
            .generate_ice_servers()
            .key_id(self.client.turn_key_id()?)
            .body(raw_turn::CredentialsRequest { ttl })
            .send();
        let response = decode("generate_ice_servers", call).await?;
        let servers = IceServers(
            response
                .ice_servers
                .into_iter()
                .map(|s| IceServer {
                    urls: s.urls,
                    username: s.username,
                    credential: s.credential,
                })
                .collect(),
        );
        Ok(if self.drop_port_53 {
            servers.without_port_53()
        } else {
            servers
        })
    }
}

fn ttl_seconds(ttl: Duration) -> Result<i64> {
    if ttl < Duration::from_secs(1) || ttl > MAX_TURN_TTL {
        return Err(Error::InvalidArgument(format!(
            "TURN credential TTL {ttl:?} is outside 1 s ..= 48 h"
        )));
    }
    // At most 172 800, so the cast cannot truncate.
    Ok(ttl.as_secs() as i64)
}

// The entry point of this file: `Client` hands out what is defined here without naming it.
impl super::Client {
    /// TURN credentials minted from the configured key (needs [`Config::turn_key`](crate::Config::turn_key)).
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// use std::time::Duration;
    ///
    /// let servers = client
    ///     .turn()
    ///     .generate_ice_servers(Duration::from_secs(3600))
    ///     .drop_port_53(true)
    ///     .send()
    ///     .await?;
    /// // Hand this to the browser as RTCConfiguration.iceServers.
    /// let json = serde_json::to_string(&servers).expect("serializable");
    /// # let _ = json;
    /// # Ok(()) }
    /// ```
    pub fn turn(&self) -> Turn<'_> {
        Turn::new(self)
    }
}

#[cfg(test)]
mod tests {
    use super::is_port_53;

    #[test]
    fn port_53_is_found_in_every_url_form() {
        for url in [
            "stun:stun.cloudflare.com:53",
            "turn:turn.cloudflare.com:53?transport=udp",
            "turn:turn.cloudflare.com:53?transport=tcp",
            "turns:turn.cloudflare.com:53?transport=tcp",
            "turn:[2606:4700::1]:53?transport=udp",
            "stun:192.0.2.1:53",
        ] {
            assert!(is_port_53(url), "{url}");
        }
        for url in [
            "stun:stun.cloudflare.com:3478",
            "stun:stun.cloudflare.com",
            "turn:turn.cloudflare.com:5353?transport=udp",
            "turns:turn.cloudflare.com:443?transport=tcp",
            "turn:[2606:4700::53]?transport=udp",
            "turn:[2606:4700::53]:3478",
            "stun:53.example.net",
            "turn:host:530",
            "",
            "garbage",
        ] {
            assert!(!is_port_53(url), "{url}");
        }
    }
}
