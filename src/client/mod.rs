//! [`Client`]: one pooled HTTP client and the generated bindings of every API, authenticated.

use std::sync::Arc;

pub(crate) mod account;
pub(crate) mod adapters;
pub(crate) mod apps;
pub(crate) mod config;
pub(crate) mod turn;
pub(crate) mod turn_keys;

use crate::error::ConfigError;
use crate::error::Result;
use crate::http::transport::Transport;
use crate::raw;
use crate::session::{CreateSession, Session, Sessions};
use config::Config;

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
    pub fn new_session(&self) -> CreateSession {
        CreateSession::new(self.inner.sessions.clone())
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
