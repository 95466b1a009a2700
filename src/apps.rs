//! SFU apps of an account, on the account API: [`Client::apps`].

use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::raw::account::types as raw;
use crate::response::finish;
use crate::secret::Secret;

/// An SFU app, as listed by the account API (its secret is never listed).
///
/// ```
/// use cloudflare_calls::App;
/// let app: App = serde_json::from_str(r#"{"uid":"a1","name":"prod"}"#).unwrap();
/// assert_eq!((app.uid.as_str(), app.name.as_deref()), ("a1", Some("prod")));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct App {
    /// The app id, used in SFU API paths and as [`Config`](crate::Config)'s app id.
    pub uid: String,
    /// The label shown in the dashboard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// When the app was created (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// When the app was last changed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
}

/// A newly created app with its secret. The service shows the secret this once: store it.
///
/// `Debug` prints the secret as `[REDACTED]`; serializing writes it in clear, in the
/// account API's shape (`uid`, `name`, `created`, `modified`, `secret`).
///
/// ```
/// use cloudflare_calls::CreatedApp;
/// let created: CreatedApp =
///     serde_json::from_str(r#"{"uid":"a1","name":"prod","secret":"s3cr3t"}"#).unwrap();
/// assert_eq!(created.secret.expose(), "s3cr3t");
/// assert!(!format!("{created:?}").contains("s3cr3t"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreatedApp {
    /// The app.
    #[serde(flatten)]
    pub app: App,
    /// The app's bearer token for the SFU API.
    pub secret: Secret,
}

/// SFU app management, from [`Client::apps`]. Needs [`Config::account`](crate::Config::account).
///
/// ```
/// use cloudflare_calls::{Client, Config};
/// let config = Config::new("https://rtc.live.cloudflare.com/v1", "app-id", "app-secret")
///     .account("account-id", "api-token");
/// let client = Client::new(config)?;
/// let apps = client.apps();
/// # let _ = apps;
/// # Ok::<(), cloudflare_calls::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Apps<'a> {
    client: &'a Client,
}

impl Client {
    /// SFU app management on the account API.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// let created = client.apps().create("staging").await?;
    /// println!("app {} created", created.app.uid);
    /// let secret = created.secret.expose(); // shown once: store it now
    /// # let _ = secret;
    /// for app in client.apps().list().await? {
    ///     println!("{} {:?}", app.uid, app.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn apps(&self) -> Apps<'_> {
        Apps { client: self }
    }
}

impl Apps<'_> {
    /// Every SFU app of the account.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// let names: Vec<_> = client.apps().list().await?.into_iter().map(|a| a.name).collect();
    /// # let _ = names;
    /// # Ok(()) }
    /// ```
    pub async fn list(&self) -> Result<Vec<App>> {
        let api = self.client.raw_account()?;
        let call = api
            .list_sfu_apps()
            .account_id(self.client.account_id()?)
            .send();
        let envelope = finish("list_sfu_apps", call).await?;
        Ok(envelope
            .result
            .unwrap_or_default()
            .into_iter()
            .map(App::from)
            .collect())
    }

    /// Creates an app named `name`; the answer carries its secret, which is never shown again.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// use cloudflare_calls::{Config, DEFAULT_BASE_URL};
    ///
    /// let created = client.apps().create("staging").await?;
    /// let staging = Config::new(DEFAULT_BASE_URL, created.app.uid.clone(), created.secret);
    /// # let _ = staging;
    /// # Ok(()) }
    /// ```
    pub async fn create(&self, name: impl Into<String>) -> Result<CreatedApp> {
        let api = self.client.raw_account()?;
        let call = api
            .create_sfu_app()
            .account_id(self.client.account_id()?)
            .body(name_request(name))
            .send();
        let envelope = finish("create_sfu_app", call).await?;
        let created = result("create_sfu_app", envelope.result)?;
        Ok(CreatedApp {
            app: App {
                uid: created.uid,
                name: created.name,
                created: created.created,
                modified: created.modified,
            },
            secret: created.secret,
        })
    }

    /// The app with this id.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// let app = client.apps().get("d9c5b4a2e1f04c3b8a7d6e5f4c3b2a19").await?;
    /// println!("{:?} was created {:?}", app.name, app.created);
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, app_id: &str) -> Result<App> {
        non_empty("app id", app_id)?;
        let api = self.client.raw_account()?;
        let call = api
            .get_sfu_app()
            .account_id(self.client.account_id()?)
            .app_id(app_id)
            .send();
        let envelope = finish("get_sfu_app", call).await?;
        result("get_sfu_app", envelope.result).map(App::from)
    }

    /// Renames an app; returns it as updated.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// let app = client.apps().rename("d9c5b4a2e1f04c3b8a7d6e5f4c3b2a19", "production").await?;
    /// assert_eq!(app.name.as_deref(), Some("production"));
    /// # Ok(()) }
    /// ```
    pub async fn rename(&self, app_id: &str, name: impl Into<String>) -> Result<App> {
        non_empty("app id", app_id)?;
        let api = self.client.raw_account()?;
        let call = api
            .update_sfu_app()
            .account_id(self.client.account_id()?)
            .app_id(app_id)
            .body(name_request(name))
            .send();
        let envelope = finish("update_sfu_app", call).await?;
        result("update_sfu_app", envelope.result).map(App::from)
    }

    /// Deletes an app; its sessions stop working.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// client.apps().delete("d9c5b4a2e1f04c3b8a7d6e5f4c3b2a19").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self, app_id: &str) -> Result<()> {
        non_empty("app id", app_id)?;
        let api = self.client.raw_account()?;
        let call = api
            .delete_sfu_app()
            .account_id(self.client.account_id()?)
            .app_id(app_id)
            .send();
        finish("delete_sfu_app", call).await.map(drop)
    }
}

impl From<raw::SfuApp> for App {
    fn from(app: raw::SfuApp) -> Self {
        Self {
            uid: app.uid,
            name: app.name,
            created: app.created,
            modified: app.modified,
        }
    }
}

pub(crate) fn name_request(name: impl Into<String>) -> raw::NameRequest {
    raw::NameRequest {
        name: Some(name.into()),
    }
}

/// The `result` of a successful envelope, which these operations always fill.
pub(crate) fn result<T>(operation: &'static str, result: Option<T>) -> Result<T> {
    result.ok_or_else(|| Error::Decode {
        operation,
        status: None,
        reason: "the envelope reports success but has no result".to_owned(),
        body: String::new(),
    })
}

/// An empty id would turn a path such as `/calls/apps/{id}` into another endpoint.
pub(crate) fn non_empty(what: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::InvalidArgument(format!("the {what} is empty")));
    }
    Ok(())
}
