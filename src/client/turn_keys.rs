//! TURN keys of an account, on the account API: [`Client::turn_keys`](crate::Client::turn_keys).
//! Minting credentials from a key is `turn.rs`. The handler is the generic one of `account.rs`;
//! this file says which generated calls it makes.

use serde::{Deserialize, Serialize};

use crate::client::account::{AccountResource, AccountResources, envelope_result};
use crate::error::Result;
use crate::http::response::decode;
use crate::raw::account::{Client as RawAccount, types as raw};
use crate::secret::Secret;

/// TURN key management, from [`Client::turn_keys`](crate::Client::turn_keys). Needs
/// [`Config::account`](crate::Config::account).
///
/// ```
/// use cloudflare_calls::{Client, Config};
/// use cloudflare_calls::turn::TurnKeys;
/// let config = Config::new("https://rtc.live.cloudflare.com/v1", "app-id", "app-secret")
///     .account("account-id", "api-token");
/// let client = Client::new(config)?;
/// let keys: TurnKeys<'_> = client.turn_keys();
/// # let _ = keys;
/// # Ok::<(), cloudflare_calls::Error>(())
/// ```
pub type TurnKeys<'a> = AccountResources<'a, TurnKey>;

/// A TURN key, as listed by the account API (its token is never listed).
///
/// ```
/// use cloudflare_calls::turn::TurnKey;
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
/// use cloudflare_calls::turn::CreateTurnKeyOutput;
/// let created: CreateTurnKeyOutput =
///     serde_json::from_str(r#"{"uid":"k1","name":"web","key":"t0ken"}"#).unwrap();
/// assert_eq!((created.turn_key.uid.as_str(), created.key.expose()), ("k1", "t0ken"));
/// assert!(!format!("{created:?}").contains("t0ken"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreateTurnKeyOutput {
    /// The key.
    #[serde(flatten)]
    pub turn_key: TurnKey,
    /// The key's bearer token for minting credentials.
    pub key: Secret,
}

impl AccountResource for TurnKey {
    type Created = CreateTurnKeyOutput;
    const ID: &'static str = "TURN key id";

    async fn list(api: &RawAccount, account: &str) -> Result<Vec<Self>> {
        let call = api.list_turn_keys().account_id(account).send();
        let keys = decode("list_turn_keys", call).await?.result;
        Ok(keys.into_iter().flatten().map(TurnKey::from).collect())
    }

    async fn create(
        api: &RawAccount,
        account: &str,
        body: raw::NameRequest,
    ) -> Result<CreateTurnKeyOutput> {
        let call = api.create_turn_key().account_id(account).body(body).send();
        envelope_result("create_turn_key", call, |e| {
            e.result.map(CreateTurnKeyOutput::from)
        })
        .await
    }

    async fn get(api: &RawAccount, account: &str, id: &str) -> Result<Self> {
        let call = api.get_turn_key().account_id(account).key_id(id).send();
        envelope_result("get_turn_key", call, |e| e.result.map(TurnKey::from)).await
    }

    async fn update(
        api: &RawAccount,
        account: &str,
        id: &str,
        body: raw::NameRequest,
    ) -> Result<Self> {
        let call = api.update_turn_key().account_id(account).key_id(id);
        let call = call.body(body).send();
        envelope_result("update_turn_key", call, |e| e.result.map(TurnKey::from)).await
    }

    async fn delete(api: &RawAccount, account: &str, id: &str) -> Result<()> {
        let call = api.delete_turn_key().account_id(account).key_id(id).send();
        decode("delete_turn_key", call).await.map(drop)
    }
}

impl From<raw::TurnKey> for TurnKey {
    fn from(key: raw::TurnKey) -> Self {
        Self {
            uid: key.uid,
            name: key.name,
            created: key.created,
            modified: key.modified,
        }
    }
}

impl From<raw::TurnKeyWithSecret> for CreateTurnKeyOutput {
    fn from(key: raw::TurnKeyWithSecret) -> Self {
        Self {
            turn_key: TurnKey {
                uid: key.uid,
                name: key.name,
                created: key.created,
                modified: key.modified,
            },
            key: key.key,
        }
    }
}

// The entry point of this file: `Client` hands out what is defined here without naming it.
impl super::Client {
    /// TURN keys of the account (needs [`Config::account`](crate::Config::account)). Minting credentials from a key is
    /// [`Client::turn`](crate::Client::turn).
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
}
