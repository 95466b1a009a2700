//! [`Client`]: one pooled HTTP client and the generated bindings of every API, authenticated.

use std::sync::Arc;

use crate::adapters::Adapters;
use crate::apps::Apps;
use crate::config::{Config, ConfigError};
use crate::error::Result;
use crate::raw;
use crate::session::{NewSession, Session, Sessions};
use crate::transport::Transport;
use crate::turn::Turn;
use crate::turn_keys::TurnKeys;

/// A client for Cloudflare Calls. Cheap to clone: clones share one connection pool.
///
/// ```no_run
/// # async fn run() -> Result<(), cloudflare_calls::Error> {
/// use cloudflare_calls::{Client, Config};
///
/// let client = Client::new(Config::from_env()?)?;
/// println!("talking to {} as app {}", client.base_url(), client.app_id());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    sessions: Arc<Sessions>,
    turn: Option<raw::turn::Client>,
    account: Option<raw::account::Client>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.config.base_url)
            .field("app_id", &self.inner.config.app_id)
            .field("turn", &self.inner.turn.is_some())
            .field("account", &self.inner.account.is_some())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds a client; fails only on an unusable configuration.
    pub fn new(config: Config) -> Result<Self> {
        config.validate()?;
        let http = match &config.http_client {
            Some(client) => client.clone(),
            None => reqwest::Client::builder()
                .user_agent(config.user_agent.clone())
                .connect_timeout(config.connect_timeout)
                .timeout(config.timeout)
                .build()
                .map_err(|e| ConfigError::HttpClient(e.to_string()))?,
        };
        let transport = |token: &crate::Secret| {
            Transport::new(token.clone(), config.retry.clone(), config.timeout)
        };
        let sfu = raw::sfu::Client::new_with_client(
            &config.base_url,
            http.clone(),
            transport(&config.app_secret),
        );
        let turn = config.turn.as_ref().map(|turn| {
            raw::turn::Client::new_with_client(
                &config.base_url,
                http.clone(),
                transport(&turn.api_token),
            )
        });
        let account = config.account.as_ref().map(|account| {
            raw::account::Client::new_with_client(
                &config.account_api_url,
                http.clone(),
                transport(&account.api_token),
            )
        });
        Ok(Self {
            inner: Arc::new(Inner {
                sessions: Sessions::new(sfu, config.app_id.clone()),
                config,
                turn,
                account,
            }),
        })
    }

    /// Starts creating a session.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// let session = client.new_session().correlation_id("room-42/alice").send().await?;
    /// println!("{}", session.id());
    /// # Ok(()) }
    /// ```
    pub fn new_session(&self) -> NewSession {
        NewSession::new(self.inner.sessions.clone())
    }

    /// A handle to an existing session, e.g. one created by another process.
    ///
    /// ```
    /// # fn run(client: cloudflare_calls::Client) {
    /// let session = client.session("e017a2629c754fedc1f7d8587e06d126");
    /// assert_eq!(session.id(), "e017a2629c754fedc1f7d8587e06d126");
    /// # }
    /// ```
    pub fn session(&self, id: impl Into<String>) -> Session {
        self.inner.sessions.handle(id.into())
    }

    /// The SFU API base URL.
    pub fn base_url(&self) -> &str {
        &self.inner.config.base_url
    }

    /// The SFU app this client acts for.
    pub fn app_id(&self) -> &str {
        &self.inner.config.app_id
    }

    /// The generated SFU bindings, authenticated with the app secret.
    pub fn raw_sfu(&self) -> &raw::sfu::Client {
        self.inner.sessions.api()
    }

    /// The generated TURN credential bindings, when a TURN key is configured.
    pub fn raw_turn(&self) -> Result<&raw::turn::Client> {
        Ok(self
            .inner
            .turn
            .as_ref()
            .ok_or(ConfigError::Missing("a TURN key"))?)
    }

    /// The generated account API bindings, when account credentials are configured.
    pub fn raw_account(&self) -> Result<&raw::account::Client> {
        Ok(self
            .inner
            .account
            .as_ref()
            .ok_or(ConfigError::Missing("the account API"))?)
    }

    /// SFU apps of the account (needs [`Config::account`]).
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// let created = client.apps().create().name("staging").send().await?;
    /// println!("app {} created", created.app.uid);
    /// let secret = created.secret.expose(); // shown once: store it now
    /// # let _ = secret;
    /// for app in client.apps().list().await? {
    ///     println!("{} {:?}", app.uid, app.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn apps(&self) -> Apps<'_> {
        Apps::new(self)
    }

    /// TURN keys of the account (needs [`Config::account`]). Minting credentials from a key is
    /// [`Client::turn`].
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// let created = client.turn_keys().create().name("web").send().await?;
    /// let token = created.key.expose(); // shown once: store it now
    /// # let _ = token;
    /// client.turn_keys().delete(&created.turn_key.uid).await?;
    /// # Ok(()) }
    /// ```
    pub fn turn_keys(&self) -> TurnKeys<'_> {
        TurnKeys::new(self)
    }

    /// TURN credentials minted from the configured key (needs [`Config::turn_key`]).
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

    /// Starts a server-side WebRTC peer of the SFU: it creates its own session.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// use std::time::Duration;
    /// let peer = client.peer().correlation_id("room-7").connect_timeout(Duration::from_secs(5)).connect().await?;
    /// # let _ = peer; Ok(()) }
    /// ```
    #[cfg(feature = "peer")]
    #[cfg_attr(docsrs, doc(cfg(feature = "peer")))]
    pub fn peer(&self) -> crate::peer::PeerBuilder {
        crate::peer::PeerBuilder::new(self.clone())
    }

    /// The rooms kept in `store`: create one, or open one by id (feature `room`).
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// use cloudflare_calls::room::MemoryStore;
    /// let rooms = client.rooms(MemoryStore::new());
    /// let room = rooms.create().send().await?;
    /// room.send_message("Hello!").await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "room")]
    #[cfg_attr(docsrs, doc(cfg(feature = "room")))]
    pub fn rooms(&self, store: impl crate::room::Store) -> crate::room::Rooms {
        crate::room::Rooms::new(self.clone(), store)
    }

    /// WebSocket adapters of this app.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// use cloudflare_calls::AdapterItem;
    ///
    /// let result = client
    ///     .adapters()
    ///     .create()
    ///     .item(AdapterItem::ingest("tts", "wss://bot.example.com/tts"))
    ///     .send()
    ///     .await?;
    /// for failure in &result.failed {
    ///     eprintln!("{:?}: {}", failure.track_name, failure.code);
    /// }
    /// let ids = result.adapters.iter().map(|a| a.adapter_id.clone());
    /// let closed = client.adapters().close(ids).await?;
    /// assert!(closed.failed.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn adapters(&self) -> Adapters<'_> {
        Adapters::new(self)
    }

    /// The configured TURN key id.
    pub(crate) fn turn_key_id(&self) -> Result<&str> {
        let turn = self.inner.config.turn.as_ref();
        Ok(&turn.ok_or(ConfigError::Missing("a TURN key"))?.key_id)
    }

    /// The configured Cloudflare account id.
    pub(crate) fn account_id(&self) -> Result<&str> {
        let account = self.inner.config.account.as_ref();
        Ok(&account
            .ok_or(ConfigError::Missing("the account API"))?
            .account_id)
    }
}
