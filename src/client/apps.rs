//! SFU apps of an account, on the account API: [`Client::apps`](crate::Client::apps). The
//! handler is the generic one of `account.rs`; this file says which generated calls it makes.

use serde::{Deserialize, Serialize};

use crate::client::account::{AccountResource, AccountResources, envelope_result};
use crate::error::Result;
use crate::http::response::decode;
use crate::raw::account::{Client as RawAccount, types as raw};
use crate::secret::Secret;

/// SFU app management, from [`Client::apps`](crate::Client::apps). Needs
/// [`Config::account`](crate::Config::account).
///
/// ```
/// use cloudflare_calls::{Client, Config};
/// use cloudflare_calls::apps::Apps;
/// let config = Config::new("https://rtc.live.cloudflare.com/v1", "app-id", "app-secret")
///     .account("account-id", "api-token");
/// let client = Client::new(config)?;
/// let apps: Apps<'_> = client.apps();
/// # let _ = apps;
/// # Ok::<(), cloudflare_calls::Error>(())
/// ```
pub type Apps<'a> = AccountResources<'a, App>;

/// An SFU app, as listed by the account API (its secret is never listed).
///
/// ```
/// use cloudflare_calls::apps::App;
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
/// use cloudflare_calls::apps::CreateAppOutput;
/// let created: CreateAppOutput =
///     serde_json::from_str(r#"{"uid":"a1","name":"prod","secret":"s3cr3t"}"#).unwrap();
/// assert_eq!(created.secret.expose(), "s3cr3t");
/// assert!(!format!("{created:?}").contains("s3cr3t"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreateAppOutput {
    /// The app.
    #[serde(flatten)]
    pub app: App,
    /// The app's bearer token for the SFU API.
    pub secret: Secret,
}

impl AccountResource for App {
    type Created = CreateAppOutput;
    const ID: &'static str = "app id";

    async fn list(api: &RawAccount, account: &str) -> Result<Vec<Self>> {
        let call = api.list_sfu_apps().account_id(account).send();
        let apps = decode("list_sfu_apps", call).await?.result;
        Ok(apps.into_iter().flatten().map(App::from).collect())
    }

    async fn create(
        api: &RawAccount,
        account: &str,
        body: raw::NameRequest,
    ) -> Result<CreateAppOutput> {
        let call = api.create_sfu_app().account_id(account).body(body).send();
        envelope_result("create_sfu_app", call, |e| {
            e.result.map(CreateAppOutput::from)
        })
        .await
    }

    async fn get(api: &RawAccount, account: &str, id: &str) -> Result<Self> {
        let call = api.get_sfu_app().account_id(account).app_id(id).send();
        envelope_result("get_sfu_app", call, |e| e.result.map(App::from)).await
    }

    async fn update(
        api: &RawAccount,
        account: &str,
        id: &str,
        body: raw::NameRequest,
    ) -> Result<Self> {
        let call = api.update_sfu_app().account_id(account).app_id(id);
        let call = call.body(body).send();
        envelope_result("update_sfu_app", call, |e| e.result.map(App::from)).await
    }

    async fn delete(api: &RawAccount, account: &str, id: &str) -> Result<()> {
        let call = api.delete_sfu_app().account_id(account).app_id(id).send();
        decode("delete_sfu_app", call).await.map(drop)
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

impl From<raw::SfuAppWithSecret> for CreateAppOutput {
    fn from(app: raw::SfuAppWithSecret) -> Self {
        Self {
            app: App {
                uid: app.uid,
                name: app.name,
                created: app.created,
                modified: app.modified,
            },
            secret: app.secret,
        }
    }
}

// The entry point of this file: `Client` hands out what is defined here without naming it.
impl super::Client {
    /// SFU apps of the account (needs [`Config::account`](crate::Config::account)).
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
}
