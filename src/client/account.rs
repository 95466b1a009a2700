//! The account API's resources, SFU apps and TURN keys, through one generic handler:
//! [`AccountResources`]. Both have the same shape (a `uid`, a `name`, timestamps, and a secret
//! shown only by create) and the same five calls, so `apps.rs` and `turn_keys.rs` only say which
//! generated call each operation is.

use std::future::Future;
use std::marker::PhantomData;

use progenitor_client::ResponseValue;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::http::response::{Body, decode};
use crate::raw::account::{Client as RawAccount, types::NameRequest};

/// A resource of the account API, implemented by [`App`](crate::App) and
/// [`TurnKey`](crate::TurnKey). Each method makes one generated call; the id is already checked.
///
/// Not exported: the two resources are the service's, so nobody else implements it.
pub trait AccountResource: Sized {
    /// The resource as create returns it, with its one-time secret.
    type Created;
    /// What an id of this resource is called in errors, e.g. "app id".
    const ID: &'static str;

    /// Every resource of the account.
    fn list(api: &RawAccount, account: &str) -> impl Future<Output = Result<Vec<Self>>> + Send;
    /// Creates a resource.
    fn create(
        api: &RawAccount,
        account: &str,
        body: NameRequest,
    ) -> impl Future<Output = Result<Self::Created>> + Send;
    /// The resource with this id.
    fn get(api: &RawAccount, account: &str, id: &str) -> impl Future<Output = Result<Self>> + Send;
    /// Changes the resource with this id.
    fn update(
        api: &RawAccount,
        account: &str,
        id: &str,
        body: NameRequest,
    ) -> impl Future<Output = Result<Self>> + Send;
    /// Deletes the resource with this id.
    fn delete(api: &RawAccount, account: &str, id: &str)
    -> impl Future<Output = Result<()>> + Send;
}

/// SFU apps or TURN keys of the account, from [`Client::apps`] ([`Apps`](crate::apps::Apps)) or
/// [`Client::turn_keys`] ([`TurnKeys`](crate::turn::TurnKeys)). Needs
/// [`Config::account`](crate::Config::account).
///
/// ```no_run
/// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
/// let created = client.apps().create().name("staging").send().await?;
/// let secret = created.secret.expose(); // shown once: store it now
/// # let _ = secret;
/// for key in client.turn_keys().list().await? {
///     println!("{} {:?}", key.uid, key.name);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct AccountResources<'a, R> {
    client: &'a Client,
    resource: PhantomData<fn() -> R>,
}

// Derives would require `R: Copy`, which the resources are not and need not be.
impl<R> Clone for AccountResources<'_, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for AccountResources<'_, R> {}

impl<'a, R: AccountResource> AccountResources<'a, R> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self {
            client,
            resource: PhantomData,
        }
    }

    /// Every app (or TURN key) of the account, without secrets.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// let names: Vec<_> = client.apps().list().await?.into_iter().map(|a| a.name).collect();
    /// # let _ = names;
    /// # Ok(()) }
    /// ```
    pub async fn list(&self) -> Result<Vec<R>> {
        R::list(self.client.raw_account()?, self.client.account_id()?).await
    }

    /// Starts creating an app (or TURN key); the answer carries its secret, never shown again.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// use cloudflare_calls::Config;
    /// use cloudflare_calls::config::DEFAULT_BASE_URL;
    ///
    /// let created = client.apps().create().name("staging").send().await?;
    /// let staging = Config::new(DEFAULT_BASE_URL, created.app.uid.clone(), created.secret);
    /// # let _ = staging;
    /// # Ok(()) }
    /// ```
    pub fn create(&self) -> CreateResource<'a, R> {
        CreateResource {
            handler: *self,
            name: None,
        }
    }

    /// The app (or TURN key) with this id.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// let app = client.apps().get("d9c5b4a2e1f04c3b8a7d6e5f4c3b2a19").await?;
    /// println!("{:?} was created {:?}", app.name, app.created);
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, id: &str) -> Result<R> {
        non_empty(R::ID, id)?;
        R::get(self.client.raw_account()?, self.client.account_id()?, id).await
    }

    /// Starts changing the app (or TURN key) with this id.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// let key_id = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
    /// let key = client.turn_keys().update(key_id).name("mobile").send().await?;
    /// assert_eq!(key.name.as_deref(), Some("mobile"));
    /// # Ok(()) }
    /// ```
    pub fn update(&self, id: impl Into<String>) -> UpdateResource<'a, R> {
        UpdateResource {
            handler: *self,
            id: id.into(),
            name: None,
        }
    }

    /// Deletes the app (or TURN key) with this id: the app's sessions stop working, or the
    /// credentials minted from the key do.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// client.apps().delete("d9c5b4a2e1f04c3b8a7d6e5f4c3b2a19").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self, id: &str) -> Result<()> {
        non_empty(R::ID, id)?;
        R::delete(self.client.raw_account()?, self.client.account_id()?, id).await
    }
}

/// Builder for [`AccountResources::create`].
///
/// ```no_run
/// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
/// // The service names it "" when no name is given.
/// let unnamed = client.turn_keys().create().send().await?;
/// let token = unnamed.key.expose(); // shown once: store it now
/// # let _ = token;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until .send() is awaited"]
pub struct CreateResource<'a, R> {
    handler: AccountResources<'a, R>,
    name: Option<String>,
}

impl<R: AccountResource> CreateResource<'_, R> {
    /// The label shown in the dashboard (not to end users).
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// let created = client.apps().create().name("staging").send().await?;
    /// assert_eq!(created.app.name.as_deref(), Some("staging"));
    /// # Ok(()) }
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Creates it. Not retried once sent: a repeat could create a second one.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// let created = client.turn_keys().create().name("web").send().await?;
    /// let config = cloudflare_calls::Config::from_env()?
    ///     .turn_key(created.turn_key.uid.clone(), created.key.clone());
    /// # let _ = config;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<R::Created> {
        let client = self.handler.client;
        let body = NameRequest { name: self.name };
        R::create(client.raw_account()?, client.account_id()?, body).await
    }
}

/// Builder for [`AccountResources::update`]. Sent without a name, it changes nothing.
///
/// ```no_run
/// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
/// let app_id = "d9c5b4a2e1f04c3b8a7d6e5f4c3b2a19";
/// let app = client.apps().update(app_id).name("production").send().await?;
/// # let _ = app;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until .send() is awaited"]
pub struct UpdateResource<'a, R> {
    handler: AccountResources<'a, R>,
    id: String,
    name: Option<String>,
}

impl<R: AccountResource> UpdateResource<'_, R> {
    /// The new label.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// let app_id = "d9c5b4a2e1f04c3b8a7d6e5f4c3b2a19";
    /// let app = client.apps().update(app_id).name("production").send().await?;
    /// assert_eq!(app.name.as_deref(), Some("production"));
    /// # Ok(()) }
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sends the change; returns the resource as updated. An empty id fails before sending.
    ///
    /// ```no_run
    /// # async fn run(client: cloudflare_calls::Client) -> cloudflare_calls::Result<()> {
    /// let err = client.apps().update(" ").name("x").send().await.unwrap_err();
    /// assert!(matches!(err, cloudflare_calls::Error::InvalidArgument(_)));
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<R> {
        non_empty(R::ID, &self.id)?;
        let client = self.handler.client;
        let body = NameRequest { name: self.name };
        R::update(client.raw_account()?, client.account_id()?, &self.id, body).await
    }
}

/// Awaits a generated account call and takes what its envelope carries. A success envelope
/// without the result the operation always returns is unusable, so it is a decode error.
pub(crate) async fn envelope_result<T, E, R>(
    operation: &'static str,
    call: impl Future<Output = std::result::Result<ResponseValue<T>, progenitor_client::Error<E>>>
    + Send,
    result: impl FnOnce(T) -> Option<R>,
) -> Result<R>
where
    T: Body + Send,
    E: Body + Send,
{
    result(decode(operation, call).await?).ok_or_else(|| Error::Decode {
        operation,
        status: None,
        reason: "the envelope reports success but has no result".to_owned(),
        body: String::new(),
    })
}

/// An empty id would turn a path such as `/calls/apps/{id}` into another operation's path.
fn non_empty(what: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::InvalidArgument(format!("the {what} is empty")));
    }
    Ok(())
}
