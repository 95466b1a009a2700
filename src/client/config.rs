//! Where the service is and how to authenticate: [`Config`].

use std::time::Duration;

use crate::error::ConfigError;
use crate::http::retry::RetryPolicy;
use crate::secret::Secret;

/// The SFU and TURN API's public base URL.
pub const DEFAULT_BASE_URL: &str = "https://rtc.live.cloudflare.com/v1";
/// Cloudflare's account API base URL (apps and TURN keys).
pub const DEFAULT_ACCOUNT_API_URL: &str = "https://api.cloudflare.com/client/v4";

/// Every environment variable [`Config::from_env`] reads.
pub const ENV_VARS: [&str; 8] = [
    "CALLS_API",
    "CALLS_APP_ID",
    "CALLS_APP_SECRET",
    "CALLS_ACCOUNT_API",
    "CLOUDFLARE_ACCOUNT_ID",
    "CLOUDFLARE_API_TOKEN",
    "CALLS_TURN_KEY_ID",
    "CALLS_TURN_KEY_TOKEN",
];

/// Where the account API acts (SFU apps and TURN keys) and its token.
#[derive(Clone, Debug)]
pub(crate) struct AccountConfig {
    pub(crate) account_id: String,
    pub(crate) api_token: Secret,
}

/// The TURN key that credentials are minted from: its id and API token. Not to be confused
/// with [`TurnCredentials`](crate::TurnCredentials), what is minted.
#[derive(Clone, Debug)]
pub(crate) struct TurnKeyConfig {
    pub(crate) key_id: String,
    pub(crate) api_token: Secret,
}

/// Everything a [`Client`](crate::Client) needs. Secrets never show in `Debug`.
///
/// ```
/// use std::time::Duration;
/// use cloudflare_calls::Config;
///
/// let config = Config::new("https://rtc.live.cloudflare.com/v1", "my-app-id", "my-app-secret")
///     .timeout(Duration::from_secs(5))
///     .user_agent("my-backend/1.0");
/// assert!(!format!("{config:?}").contains("my-app-secret"));
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) base_url: String,
    pub(crate) app_id: String,
    pub(crate) app_secret: Secret,
    pub(crate) account_api_url: String,
    pub(crate) account: Option<AccountConfig>,
    pub(crate) turn: Option<TurnKeyConfig>,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) user_agent: String,
    pub(crate) http_client: Option<reqwest::Client>,
    pub(crate) retry: RetryPolicy,
}

impl Config {
    /// A configuration for one SFU app.
    pub fn new(
        base_url: impl Into<String>,
        app_id: impl Into<String>,
        app_secret: impl Into<Secret>,
    ) -> Self {
        Self {
            base_url: trim_slash(base_url.into()),
            app_id: app_id.into(),
            app_secret: app_secret.into(),
            account_api_url: DEFAULT_ACCOUNT_API_URL.to_owned(),
            account: None,
            turn: None,
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            user_agent: concat!("cloudflare-calls-rs/", env!("CARGO_PKG_VERSION")).to_owned(),
            http_client: None,
            retry: RetryPolicy::default(),
        }
    }

    /// Reads the configuration from the environment ([`ENV_VARS`]).
    ///
    /// `CALLS_APP_ID` and `CALLS_APP_SECRET` are required; `CALLS_API` overrides the base URL
    /// and `CALLS_ACCOUNT_API` the account API's. `CLOUDFLARE_ACCOUNT_ID` with
    /// `CLOUDFLARE_API_TOKEN` enable the account API, and `CALLS_TURN_KEY_ID` with
    /// `CALLS_TURN_KEY_TOKEN` enable TURN credentials.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`Config::from_env`], but `Ok(None)` when the environment says nothing of the
    /// service: none of [`ENV_VARS`] is set, not even empty, nor any variable whose name starts
    /// with `CALLS_API` or `CALLS_APP` (a misspelled `CALLS_APP_SECRET` counts as set). That is
    /// how a program decides to run on a local emulator: any partial or empty setting is an
    /// error naming the variable, never a quiet fallback.
    ///
    /// ```
    /// # fn run() -> Result<(), cloudflare_calls::config::ConfigError> {
    /// match cloudflare_calls::Config::from_env_if_any()? {
    ///     Some(config) => println!("using {}", config.base_url()),
    ///     None => println!("no CALLS_* variable is set: start an emulator"),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn from_env_if_any() -> Result<Option<Self>, ConfigError> {
        let names: Vec<String> = std::env::vars_os()
            .filter_map(|(name, _)| name.into_string().ok())
            .collect();
        Self::from_lookup_if_any(&names, |name| std::env::var(name).ok())
    }

    /// [`Config::from_env_if_any`] over the variable `names` that are set, reading values
    /// through `lookup` (handy in tests).
    ///
    /// ```
    /// use cloudflare_calls::Config;
    /// use cloudflare_calls::config::ConfigError;
    ///
    /// let none: [&str; 0] = [];
    /// assert!(Config::from_lookup_if_any(&none, |_| None).unwrap().is_none());
    /// // A typo is not "nothing set": it names what is missing.
    /// let set = |name: &str| (name == "CALLS_APP_SECERT").then(|| "s".to_owned());
    /// let typo = Config::from_lookup_if_any(&["CALLS_APP_SECERT"], set);
    /// assert_eq!(typo.unwrap_err(), ConfigError::MissingEnv("CALLS_APP_ID"));
    /// ```
    pub fn from_lookup_if_any<S: AsRef<str>>(
        names: &[S],
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ConfigError> {
        let about_the_service = |name: &str| {
            ENV_VARS.contains(&name)
                || name.starts_with("CALLS_API")
                || name.starts_with("CALLS_APP")
        };
        if !names.iter().any(|name| about_the_service(name.as_ref())) {
            return Ok(None);
        }
        Self::from_lookup(lookup).map(Some)
    }

    /// Like [`Config::from_env`], reading variables through `lookup` (handy in tests).
    ///
    /// ```
    /// use cloudflare_calls::Config;
    /// use cloudflare_calls::config::ConfigError;
    ///
    /// let err = Config::from_lookup(|name| (name == "CALLS_APP_ID").then(|| "app".to_owned()));
    /// assert_eq!(err.unwrap_err(), ConfigError::MissingEnv("CALLS_APP_SECRET"));
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| get(name).ok_or(ConfigError::MissingEnv(name));
        let base_url = get("CALLS_API").unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        let mut config = Self::new(
            base_url,
            required("CALLS_APP_ID")?,
            required("CALLS_APP_SECRET")?,
        );
        if let Some(url) = get("CALLS_ACCOUNT_API") {
            config = config.account_api_url(url);
        }
        config.validate()?;
        match (get("CLOUDFLARE_ACCOUNT_ID"), get("CLOUDFLARE_API_TOKEN")) {
            (Some(id), Some(token)) => config = config.account(id, token),
            (Some(_), None) => return Err(ConfigError::MissingEnv("CLOUDFLARE_API_TOKEN")),
            (None, Some(_)) => return Err(ConfigError::MissingEnv("CLOUDFLARE_ACCOUNT_ID")),
            (None, None) => {}
        }
        match (get("CALLS_TURN_KEY_ID"), get("CALLS_TURN_KEY_TOKEN")) {
            (Some(id), Some(token)) => config = config.turn_key(id, token),
            (Some(_), None) => return Err(ConfigError::MissingEnv("CALLS_TURN_KEY_TOKEN")),
            (None, Some(_)) => return Err(ConfigError::MissingEnv("CALLS_TURN_KEY_ID")),
            (None, None) => {}
        }
        Ok(config)
    }

    /// Enables the account API (SFU apps, TURN keys) with an API token that has Calls access.
    pub fn account(mut self, account_id: impl Into<String>, api_token: impl Into<Secret>) -> Self {
        self.account = Some(AccountConfig {
            account_id: account_id.into(),
            api_token: api_token.into(),
        });
        self
    }

    /// Enables TURN credentials with a TURN key's id and API token.
    pub fn turn_key(mut self, key_id: impl Into<String>, api_token: impl Into<Secret>) -> Self {
        self.turn = Some(TurnKeyConfig {
            key_id: key_id.into(),
            api_token: api_token.into(),
        });
        self
    }

    /// Overrides the account API base URL (an emulator, a proxy).
    pub fn account_api_url(mut self, url: impl Into<String>) -> Self {
        self.account_api_url = trim_slash(url.into());
        self
    }

    /// Total time allowed for one HTTP attempt (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Time allowed to open a connection (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The `User-Agent` header sent with every request.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Uses this HTTP client (its pool, proxy, TLS settings) instead of building one.
    /// Timeouts of this configuration still apply to every request.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// How failed calls are retried where repeating them is safe.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The SFU API base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The SFU app id.
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        check_url("CALLS_API", &self.base_url)?;
        check_url("account API URL", &self.account_api_url)
    }
}

fn trim_slash(mut url: String) -> String {
    while url.ends_with('/') {
        url.pop();
    }
    url
}

fn check_url(name: &'static str, value: &str) -> Result<(), ConfigError> {
    let ok = ["http://", "https://"]
        .iter()
        .any(|scheme| value.len() > scheme.len() && value.starts_with(scheme));
    if ok {
        Ok(())
    } else {
        Err(ConfigError::InvalidUrl {
            name,
            value: value.to_owned(),
        })
    }
}
