//! Portal users and their API keys: creation, listing, revocation, and the first-start
//! bootstrap of an administrator.
//!
//! What can make a cached key wrong is announced to the key caches (`keycache`): a revocation
//! names the key, the bootstrap of an empty database means every key. Nothing else changes a
//! key's owner or an owner's administrator flag: users are only added, and keys only added
//! (a new key is not cached before its first use: the caches keep known keys only).

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryOrder, Set,
};
use uuid::Uuid;

use crate::{
    actor::Actor,
    auth::{generate_key, hash_key, key_prefix},
    db::{
        self,
        entities::{api_key, user},
    },
    keycache::{self, Forget},
    pictures,
};

/// What a new user is made of.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// Display name.
    pub name: String,
    /// Job title.
    pub title: String,
    /// Whether the user is a portal administrator.
    pub admin: bool,
    /// URL of the user's profile page (`""` for none).
    pub profile_url: String,
}

/// A user as the rest of the service sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The user's ID.
    pub id: Uuid,
    /// Display name.
    pub display_name: String,
    /// Whether the user is a portal administrator.
    pub is_admin: bool,
}

impl User {
    /// The user as the actor of what it does.
    pub fn actor(&self) -> Actor {
        Actor {
            id: self.id,
            is_admin: self.is_admin,
        }
    }
}

impl From<user::Model> for User {
    fn from(row: user::Model) -> Self {
        Self {
            id: row.id,
            display_name: row.display_name,
            is_admin: row.is_admin,
        }
    }
}

/// Adds a user and returns it.
pub async fn add_user(db: &impl ConnectionTrait, new: NewUser) -> Result<User, DbErr> {
    let id = Uuid::new_v4();
    user::ActiveModel {
        id: Set(id),
        display_name: Set(new.name),
        title: Set(new.title),
        avatar_small: Set(pictures::USER_AVATAR.to_owned()),
        profile_url: Set(new.profile_url),
        is_admin: Set(new.admin),
        created_at: Set(crate::db::now()),
    }
    .insert(db)
    .await
    .map(User::from)
}

/// Creates an API key for a user and returns its row and the key itself (shown only now).
/// `key` sets the key's value; `None` generates one.
pub async fn create_key(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    label: &str,
    key: Option<String>,
) -> Result<(api_key::Model, String), KeyError> {
    if user::Entity::find_by_id(user_id).one(db).await?.is_none() {
        return Err(KeyError::NoSuchUser(user_id));
    }
    let key = match key {
        Some(key) => {
            check_given_key(&key)?;
            key
        }
        None => generate_key(),
    };
    let row = api_key::ActiveModel {
        user_id: Set(user_id),
        label: Set(label.to_owned()),
        prefix: Set(key_prefix(&key)),
        key_hash: Set(hash_key(&key)),
        created_at: Set(crate::db::now()),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok((row, key))
}

/// The fewest characters of a key given by hand (`CRM_BOOTSTRAP_API_KEY`). Generated keys have
/// 36.
pub const MIN_GIVEN_KEY_LEN: usize = 16;

/// The rule for a key given by hand: at least [`MIN_GIVEN_KEY_LEN`] visible ASCII characters
/// (`!` to `~`), so it can be sent in an `Authorization` header as it is and is not trivially
/// guessed.
pub fn check_given_key(key: &str) -> Result<(), KeyError> {
    if key.len() >= MIN_GIVEN_KEY_LEN && key.bytes().all(|byte| byte.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(KeyError::InvalidKey)
    }
}

impl db::WriteError for KeyError {
    fn is_retryable(&self) -> bool {
        matches!(self, Self::Db(error) if db::WriteError::is_retryable(error))
    }
}

/// Why a key could not be created or revoked.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The user does not exist.
    #[error("no user with ID {0} exists")]
    NoSuchUser(Uuid),
    /// The key does not exist.
    #[error("no API key with ID {0} exists")]
    NoSuchKey(i32),
    /// A key given by hand breaks [`check_given_key`]'s rule.
    #[error(
        "an API key must be at least {MIN_GIVEN_KEY_LEN} visible ASCII characters (letters, \
         digits, punctuation; no spaces), like the keys the server generates"
    )]
    InvalidKey,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// A key as listed: never the key itself.
#[derive(Debug, Clone)]
pub struct KeyListing {
    /// The key's ID (what `keys revoke` takes).
    pub id: i32,
    /// The key's first characters.
    pub prefix: String,
    /// The key's label.
    pub label: String,
    /// The owner's ID.
    pub user_id: Uuid,
    /// The owner's display name.
    pub user_name: String,
    /// When the key was created.
    pub created_at: DateTime<Utc>,
    /// When the key was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Every key, oldest first.
pub async fn list_keys(db: &impl ConnectionTrait) -> Result<Vec<KeyListing>, DbErr> {
    let users: std::collections::HashMap<Uuid, String> = user::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect();
    Ok(api_key::Entity::find()
        .order_by_asc(api_key::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|key| KeyListing {
            id: key.id,
            prefix: key.prefix,
            label: key.label,
            user_name: users.get(&key.user_id).cloned().unwrap_or_default(),
            user_id: key.user_id,
            created_at: key.created_at,
            revoked_at: key.revoked_at,
        })
        .collect())
}

/// Revokes a key, in a write transaction of its own; revoking a revoked key changes nothing.
///
/// The revocation is announced to every server on the database inside the transaction
/// (`keycache::announce`: on PostgreSQL a `NOTIFY`, delivered on commit) and, once committed,
/// forgotten by the key caches of this process: here it takes effect at once.
pub async fn revoke_key(db: &DatabaseConnection, id: i32) -> Result<(), KeyError> {
    let forget = db::write(db, |tx| async move {
        let key = api_key::Entity::find_by_id(id)
            .one(&*tx)
            .await?
            .ok_or(KeyError::NoSuchKey(id))?;
        let forget = Forget::stored_hash(&key.key_hash);
        if key.revoked_at.is_none() {
            let mut key: api_key::ActiveModel = key.into();
            key.revoked_at = Set(Some(crate::db::now()));
            key.update(&*tx).await?;
        }
        // Announced even when the key was revoked already: a cache that still held it forgets it.
        keycache::announce(&*tx, &forget).await?;
        Ok::<_, KeyError>(forget)
    })
    .await?;
    keycache::forget_in_this_process(&forget);
    Ok(())
}

/// What the first start did.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    /// The administrator it created.
    pub user: User,
    /// The administrator's key.
    pub key: String,
    /// Whether the key came from `CRM_BOOTSTRAP_API_KEY` (and so is not worth printing).
    pub key_was_given: bool,
}

/// On a database with no users, creates the administrator "Administrator" with an API key
/// (`key`, or a generated one). Does nothing when a user exists.
///
/// A database without users is a new one (or one emptied): the bootstrap tells the key caches
/// of the servers listening on it to forget everything they hold (`keycache::announce`).
pub async fn bootstrap(
    db: &DatabaseConnection,
    key: Option<String>,
) -> Result<Option<Bootstrap>, KeyError> {
    if let Some(key) = &key {
        check_given_key(key)?;
    }
    let given = key.is_some();
    let key = &key;
    db::write(db, |tx| async move {
        db::lock_for_setup(&tx).await?;
        if user::Entity::find().count(&*tx).await? > 0 {
            return Ok(None);
        }
        let user = add_user(
            &*tx,
            NewUser {
                name: "Administrator".to_owned(),
                title: "Portal administrator".to_owned(),
                admin: true,
                profile_url: String::new(),
            },
        )
        .await?;
        let (_, key) = create_key(&*tx, user.id, "bootstrap", key.clone()).await?;
        keycache::announce(&*tx, &Forget::All).await?;
        Ok(Some(Bootstrap {
            user,
            key,
            key_was_given: given,
        }))
    })
    .await
}

/// A user as listed.
#[derive(Debug, Clone)]
pub struct UserListing {
    /// The user's ID.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Whether the user is a portal administrator.
    pub is_admin: bool,
    /// How many of the user's API keys are not revoked.
    pub active_keys: usize,
}

/// Every user, oldest first, with the number of its keys that are not revoked.
pub async fn list_users(db: &impl ConnectionTrait) -> Result<Vec<UserListing>, DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter};

    let mut active_keys = std::collections::HashMap::<Uuid, usize>::new();
    for key in api_key::Entity::find()
        .filter(api_key::Column::RevokedAt.is_null())
        .all(db)
        .await?
    {
        *active_keys.entry(key.user_id).or_default() += 1;
    }
    Ok(user::Entity::find()
        .order_by_asc(user::Column::CreatedAt)
        .order_by_asc(user::Column::DisplayName)
        .all(db)
        .await?
        .into_iter()
        .map(|user| UserListing {
            active_keys: active_keys.get(&user.id).copied().unwrap_or_default(),
            id: user.id,
            name: user.display_name,
            is_admin: user.is_admin,
        })
        .collect())
}
