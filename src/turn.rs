//! TURN: keys on the account API and short-lived credentials minted from a key,
//! through [`Client::turn`].

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::apps::{name_request, non_empty, result};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::raw::{account::types as raw_account, turn::types as raw_turn};
use crate::response::finish;
use crate::secret::Secret;

/// The longest lifetime the service grants TURN credentials: 48 hours.
///
/// ```
/// assert_eq!(cloudflare_calls::MAX_TURN_TTL.as_secs(), 172_800);
/// ```
pub const MAX_TURN_TTL: Duration = Duration::from_secs(48 * 60 * 60);

/// A TURN key, as listed by the account API (its token is never listed).
///
/// ```
/// use cloudflare_calls::TurnKey;
/// let key: TurnKey = serde_json::from_str(r#"{"uid":"k1","name":"web"}"#).unwrap();
/// assert_eq!(key.uid, "k1");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TurnKey {
    /// The key id: the id to give [`Config::turn_key`](crate::Config::turn_key).
    pub uid: String,
    /// The label shown in the dashboard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// When the key was created (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// When the key was last changed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
}

/// A newly created TURN key with its API token. The service shows the token this once.
///
/// `Debug` prints the token as `[REDACTED]`; serializing writes it in clear, in the
/// account API's shape (`uid`, `name`, `created`, `modified`, `key`).
///
/// ```
/// use cloudflare_calls::CreatedTurnKey;
/// let created: CreatedTurnKey =
///     serde_json::from_str(r#"{"uid":"k1","name":"web","key":"t0ken"}"#).unwrap();
/// assert_eq!((created.turn_key.uid.as_str(), created.key.expose()), ("k1", "t0ken"));
/// assert!(!format!("{created:?}").contains("t0ken"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreatedTurnKey {
    /// The key.
    #[serde(flatten)]
    pub turn_key: TurnKey,
    /// The key's bearer token for minting credentials.
    pub key: Secret,
}

/// One entry of a WebRTC `RTCConfiguration.iceServers` list.
///
/// Serializes exactly as a browser expects, with `username` and `credential` left out when
/// absent (STUN entries):
///
/// ```
/// use cloudflare_calls::IceServers;
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
/// use cloudflare_calls::IceServers;
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
    /// # use cloudflare_calls::IceServers;
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

/// Credentials in the older single-entry form of [`Turn::generate`].
///
/// ```
/// use cloudflare_calls::{IceServer, TurnCredentials};
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

/// TURN keys and credentials, from [`Client::turn`].
///
/// Key management needs [`Config::account`](crate::Config::account); credentials need
/// [`Config::turn_key`](crate::Config::turn_key).
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

impl Client {
    /// TURN keys and credentials.
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
        Turn { client: self }
    }
}

impl<'a> Turn<'a> {
    /// Every TURN key of the account.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// for key in client.turn().list_keys().await? {
    ///     println!("{} {:?}", key.uid, key.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_keys(&self) -> Result<Vec<TurnKey>> {
        let api = self.client.raw_account()?;
        let call = api
            .list_turn_keys()
            .account_id(self.client.account_id()?)
            .send();
        let envelope = finish("list_turn_keys", call).await?;
        Ok(envelope
            .result
            .unwrap_or_default()
            .into_iter()
            .map(TurnKey::from)
            .collect())
    }

    /// Creates a TURN key named `name`; the answer carries its token, never shown again.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// let created = client.turn().create_key("web").await?;
    /// let config = cloudflare_calls::Config::from_env()?
    ///     .turn_key(created.turn_key.uid.clone(), created.key.clone());
    /// # let _ = config;
    /// # Ok(()) }
    /// ```
    pub async fn create_key(&self, name: impl Into<String>) -> Result<CreatedTurnKey> {
        let api = self.client.raw_account()?;
        let call = api
            .create_turn_key()
            .account_id(self.client.account_id()?)
            .body(name_request(name))
            .send();
        let envelope = finish("create_turn_key", call).await?;
        let created = result("create_turn_key", envelope.result)?;
        Ok(CreatedTurnKey {
            turn_key: TurnKey {
                uid: created.uid,
                name: created.name,
                created: created.created,
                modified: created.modified,
            },
            key: created.key,
        })
    }

    /// The TURN key with this id.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// let key = client.turn().get_key("0a1b2c3d4e5f60718293a4b5c6d7e8f9").await?;
    /// println!("{:?}", key.name);
    /// # Ok(()) }
    /// ```
    pub async fn get_key(&self, key_id: &str) -> Result<TurnKey> {
        non_empty("TURN key id", key_id)?;
        let api = self.client.raw_account()?;
        let call = api
            .get_turn_key()
            .account_id(self.client.account_id()?)
            .key_id(key_id)
            .send();
        let envelope = finish("get_turn_key", call).await?;
        result("get_turn_key", envelope.result).map(TurnKey::from)
    }

    /// Renames a TURN key; returns it as updated.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// let key = client.turn().rename_key("0a1b2c3d4e5f60718293a4b5c6d7e8f9", "mobile").await?;
    /// assert_eq!(key.name.as_deref(), Some("mobile"));
    /// # Ok(()) }
    /// ```
    pub async fn rename_key(&self, key_id: &str, name: impl Into<String>) -> Result<TurnKey> {
        non_empty("TURN key id", key_id)?;
        let api = self.client.raw_account()?;
        let call = api
            .update_turn_key()
            .account_id(self.client.account_id()?)
            .key_id(key_id)
            .body(name_request(name))
            .send();
        let envelope = finish("update_turn_key", call).await?;
        result("update_turn_key", envelope.result).map(TurnKey::from)
    }

    /// Deletes a TURN key; credentials minted from it stop working.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// client.turn().delete_key("0a1b2c3d4e5f60718293a4b5c6d7e8f9").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_key(&self, key_id: &str) -> Result<()> {
        non_empty("TURN key id", key_id)?;
        let api = self.client.raw_account()?;
        let call = api
            .delete_turn_key()
            .account_id(self.client.account_id()?)
            .key_id(key_id)
            .send();
        finish("delete_turn_key", call).await.map(drop)
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
    /// let creds = client.turn().generate(std::time::Duration::from_secs(3600)).await?;
    /// println!("{} for {:?}", creds.username, creds.urls);
    /// # Ok(()) }
    /// ```
    pub async fn generate(&self, ttl: Duration) -> Result<TurnCredentials> {
        let ttl = ttl_seconds(ttl)?;
        let api = self.client.raw_turn()?;
        let call = api
            .generate_turn_credentials()
            .key_id(self.client.turn_key_id()?)
            .body(raw_turn::CredentialsRequest { ttl })
            .send();
        let c = finish("generate_turn_credentials", call).await?.ice_servers;
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
    /// let creds = client.turn().generate(std::time::Duration::from_secs(3600)).await?;
    /// client.turn().revoke(&creds.username).await?;
    /// # Ok(()) }
    /// ```
    pub async fn revoke(&self, username: &str) -> Result<()> {
        non_empty("TURN username", username)?;
        let api = self.client.raw_turn()?;
        let call = api
            .revoke_turn_credentials()
            .key_id(self.client.turn_key_id()?)
            .username(username)
            .send();
        finish("revoke_turn_credentials", call).await
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
        let response = finish("generate_ice_servers", call).await?;
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

impl From<raw_account::TurnKey> for TurnKey {
    fn from(key: raw_account::TurnKey) -> Self {
        Self {
            uid: key.uid,
            name: key.name,
            created: key.created,
            modified: key.modified,
        }
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
