//! API keys and the `Caller` extractor.
//!
//! A key is shown once, when it is created, and stored only as its SHA-256 hash beside a short
//! clear-text prefix that finds the candidate rows; the hashes are compared in constant time.
//! Requests send the key itself in `Authorization` (`Authorization: <key>`), or as
//! `Authorization: Bearer <key>` or `Authorization: ApiKey <key>`. A key once resolved is kept
//! for a short time in the server's `keycache`, keyed by its hash.

use std::{cell::Cell, rc::Rc};

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, http::header, web};
use futures::future::LocalBoxFuture;
use sea_orm::{ConnectionTrait, FromQueryResult, Statement};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::{
    actor::Actor,
    error::ApiError,
    keycache::{self, KeyHash},
    limits::{Verdict, VerdictSlot},
    state::AppState,
};

/// How many leading characters of a key are stored in clear to find it.
pub const PREFIX_LEN: usize = 8;

/// A new random API key, in the seed's format (`864FE52C-1C1C-469F-9308-51DAFEFE7436`).
pub fn generate_key() -> String {
    Uuid::new_v4().to_string().to_uppercase()
}

/// The stored form of a key: the hex SHA-256 of its bytes.
pub fn hash_key(key: &str) -> String {
    keycache::to_hex(&Sha256::digest(key.as_bytes()).into())
}

/// The clear-text prefix stored beside the hash.
pub fn key_prefix(key: &str) -> String {
    key.chars().take(PREFIX_LEN).collect()
}

/// The key in an `Authorization` value: the value itself, or what follows `Bearer ` or `ApiKey `
/// (the scheme a 401's `WWW-Authenticate` names).
fn key_from_header(value: &str) -> &str {
    let value = value.trim();
    match value.split_once(' ') {
        Some((scheme, rest))
            if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("apikey") =>
        {
            rest.trim()
        }
        _ => value,
    }
}

/// A key row with what the domain needs of its user.
#[derive(Debug, FromQueryResult)]
struct KeyOwner {
    key_hash: String,
    id: Uuid,
    is_admin: bool,
}

/// Who a key belongs to, if the key is known and not revoked: the database's answer (the
/// `Caller` extractor asks the key cache first).
pub async fn user_for_key(db: &impl ConnectionTrait, key: &str) -> Result<Option<Actor>, ApiError> {
    let backend = db.get_database_backend();
    let statement = Statement::from_sql_and_values(
        backend,
        "SELECT k.key_hash, u.id, u.is_admin \
         FROM api_keys k JOIN users u ON u.id = k.user_id \
         WHERE k.prefix = $1 AND k.revoked_at IS NULL",
        [key_prefix(key).into()],
    );
    let candidates = KeyOwner::find_by_statement(statement).all(db).await?;
    let presented = hash_key(key);
    // Compare against every candidate so the time taken does not depend on which one matched.
    let mut found = None;
    for candidate in candidates {
        if bool::from(candidate.key_hash.as_bytes().ct_eq(presented.as_bytes())) {
            found = Some(Actor {
                id: candidate.id,
                is_admin: candidate.is_admin,
            });
        }
    }
    Ok(found)
}

/// The authenticated user making the request. Extracting it fails with 401 when the request has
/// no `Authorization` header, several, or a key that is unknown or revoked.
///
/// The key is checked before anything else of the request. Actix creates every argument's
/// extraction before it polls any, then polls them together, so the extractors that check the
/// rest of the request — `Accept` (`AcceptsJson`) and the body (`JsonBody`) — wait for
/// [`authenticated`] first, wherever the handler lists them; otherwise a bad body could answer
/// before a bad key did, uncounted by the bad-key limit and without the rate-limit headers.
#[derive(Debug, Clone, Copy)]
pub struct Caller(pub Actor);

/// Opened when the request's [`Caller`] extraction has ended, however it ended.
#[derive(Default)]
struct Gate {
    open: Cell<bool>,
    opened: Notify,
}

/// Opens the request's gate when dropped: when the key check ends, or is abandoned.
struct OpenOnDrop(Rc<Gate>);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open.set(true);
        self.0.opened.notify_waiters();
    }
}

/// Leaves the verdict of the budget `req` was counted against where the response's header
/// fields are written from ([`VerdictSlot`], put in the request by the server's middleware).
fn leave(req: &HttpRequest, verdict: Verdict) {
    let slot = req.extensions().get::<VerdictSlot>().cloned();
    if let Some(slot) = slot {
        slot.leave(verdict);
    }
}

/// Waits until the request's key has been checked, when a [`Caller`] is being extracted for
/// it (its extraction is created before any is polled); at once otherwise.
pub async fn authenticated(req: &HttpRequest) {
    let gate = req.extensions().get::<Rc<Gate>>().cloned();
    let Some(gate) = gate else {
        return;
    };
    loop {
        let opened = gate.opened.notified();
        if gate.open.get() {
            return;
        }
        opened.await;
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let gate = Rc::new(Gate::default());
        req.extensions_mut().insert(gate.clone());
        let req = req.clone();
        Box::pin(async move {
            let _open = OpenOnDrop(gate);
            let state = state.ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!("application state is not registered"))
            })?;
            let limits = &state.limits;
            let address = limits.client_address(
                req.peer_addr().map(|peer| peer.ip()),
                req.headers()
                    .get_all("x-forwarded-for")
                    .filter_map(|value| value.to_str().ok()),
            );
            // An address over its budget of bad keys waits, before any key is looked up.
            if let Some(verdict) = limits.blocked(address) {
                return Err(ApiError::RateLimited(verdict));
            }
            let refused = |problem: &'static str| match limits.bad_key(address) {
                Some(verdict) if verdict.retry_after.is_some() => ApiError::RateLimited(verdict),
                Some(verdict) => {
                    leave(&req, verdict);
                    ApiError::Unauthorized(problem)
                }
                None => ApiError::Unauthorized(problem),
            };
            let mut values = req.headers().get_all(header::AUTHORIZATION);
            let key = match (values.next(), values.next()) {
                (None, _) => None,
                (Some(_), Some(_)) => {
                    return Err(refused("send exactly one Authorization header"));
                }
                (Some(value), None) => match value.to_str() {
                    Ok(value) => Some(key_from_header(value).to_owned()),
                    Err(_) => return Err(refused("the API key is not valid")),
                },
            };
            let Some(key) = key.filter(|key| !key.is_empty()) else {
                return Err(refused(
                    "an API key is required: send it in the Authorization header",
                ));
            };
            let hash: KeyHash = Sha256::digest(key.as_bytes()).into();
            let resolved = state
                .keys
                .resolve(&hash, || user_for_key(&state.db, &key))
                .await?;
            let Some(actor) = resolved else {
                return Err(refused("the API key is unknown or has been revoked"));
            };
            if let Some(verdict) = limits.key(hash) {
                if verdict.retry_after.is_some() {
                    return Err(ApiError::RateLimited(verdict));
                }
                leave(&req, verdict);
            }
            Ok(Caller(actor))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_look_like_the_seed_example() {
        let key = generate_key();
        assert_eq!(key.len(), 36);
        assert_eq!(key, key.to_uppercase());
        assert_ne!(generate_key(), key);
    }

    #[test]
    fn bearer_prefix_is_optional() {
        assert_eq!(key_from_header("ABC-1"), "ABC-1");
        assert_eq!(key_from_header("Bearer ABC-1"), "ABC-1");
        assert_eq!(key_from_header("bearer   ABC-1 "), "ABC-1");
        assert_eq!(key_from_header("Bearer"), "Bearer");
        assert_eq!(key_from_header("ApiKey ABC-1"), "ABC-1");
        assert_eq!(key_from_header("apikey ABC-1"), "ABC-1");
    }

    #[test]
    fn hashes_are_hex_sha256() {
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(key_prefix("864FE52C-1C1C"), "864FE52C");
    }
}
