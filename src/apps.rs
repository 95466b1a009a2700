//! SFU apps of an account, on the account API: [`Client::apps`].

use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::raw::account::types as raw;
use crate::response::finish;
use crate::secret::Secret;

/// An SFU app, as listed by the account API (its secret is never listed).
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
    pub async fn create(&self, name: impl Into<String>) -> Result<CreatedApp> {
        let api = self.client.raw_account()?;
        let call = api
            .create_sfu_app()
            .account_id(self.client.account_id()?)
            .body(name_request(name))
            .send();
        let created = result("create_sfu_app", finish("create_sfu_app", call).await?.result)?;
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
    pub async fn get(&self, app_id: &str) -> Result<App> {
        non_empty("app id", app_id)?;
        let api = self.client.raw_account()?;
        let call = api
            .get_sfu_app()
            .account_id(self.client.account_id()?)
            .app_id(app_id)
            .send();
        result("get_sfu_app", finish("get_sfu_app", call).await?.result).map(App::from)
    }

    /// Renames an app; returns it as updated.
    pub async fn rename(&self, app_id: &str, name: impl Into<String>) -> Result<App> {
        non_empty("app id", app_id)?;
        let api = self.client.raw_account()?;
        let call = api
            .update_sfu_app()
            .account_id(self.client.account_id()?)
            .app_id(app_id)
            .body(name_request(name))
            .send();
        result("update_sfu_app", finish("update_sfu_app", call).await?.result).map(App::from)
    }

    /// Deletes an app; its sessions stop working.
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
