//! The cache of resolved API keys: who a key belongs to, kept in memory for a short time so that
//! a keyed request does not cost a database round trip of its own.
//!
//! - Entries are keyed by the SHA-256 of the key (never the key itself) and hold the [`Actor`].
//!   Only known, unrevoked keys are cached: an unknown key always goes to the database (the
//!   bad-key budget of `limits` protects that path), so a key works the moment it is created.
//! - Every entry lives at most the TTL (`--key-cache-ttl`, default 5 s; zero turns the cache off)
//!   and there are at most [`CAPACITY`] of them.
//! - A revocation, and the first-start bootstrap, [`announce`] the change inside their write
//!   transaction; a revocation, once committed, is also forgotten in every cache of the process
//!   ([`forget_in_this_process`]): it takes effect at once where it was made.
//! - On PostgreSQL the announcement is a `NOTIFY` on [`CHANNEL`] (delivered on commit); every
//!   server listens ([`spawn_listener`]) and forgets the key, or everything, within
//!   milliseconds. While the listener is not listening (starting, or its connection lost), the
//!   cache is bypassed, and it is emptied each time the listener listens again: notifications
//!   sent meanwhile are lost, so nothing cached before may be trusted. On SQLite, other processes
//!   on the same file learn of a revocation within the TTL.
//! - A lookup that raced an invalidation does not store its answer: every invalidation moves a
//!   generation counter, and an answer read before the move is dropped.
//!
//! Hits and misses are counted through the `metrics` facade (`crm_api_key_cache_hits_total`,
//! `crm_api_key_cache_misses_total`); a turned-off cache counts neither.

use std::{
    fmt,
    sync::{
        Arc, Mutex, Weak,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement,
    sqlx::postgres::{PgListener, PgPool, PgPoolOptions},
};

use crate::actor::Actor;

/// The default time an entry may be used: 5 seconds.
pub const DEFAULT_TTL: Duration = Duration::from_secs(5);

/// The most entries a cache holds; past it the least useful are evicted.
pub const CAPACITY: u64 = 10_000;

/// The PostgreSQL channel on which key changes are announced.
pub const CHANNEL: &str = "crm_api_keys";

/// The payload that means "forget every key".
pub const FORGET_ALL: &str = "*";

/// The name the listener's connection carries in `pg_stat_activity`.
pub const LISTENER_APPLICATION_NAME: &str = "crm-server key cache";

/// The SHA-256 of an API key.
pub type KeyHash = [u8; 32];

/// What an announcement tells the caches to forget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forget {
    /// The key with this hash.
    Key(KeyHash),
    /// Every key.
    All,
}

impl Forget {
    /// The key whose stored hash (lowercase hex, as in `api_keys.key_hash`) is `hex`; every key
    /// when `hex` is not such a hash (forgetting too much is safe, too little is not).
    pub fn stored_hash(hex: &str) -> Self {
        parse_hex(hex).map_or(Self::All, Self::Key)
    }

    /// The `NOTIFY` payload: the hash in lowercase hex, or [`FORGET_ALL`].
    pub fn payload(&self) -> String {
        match self {
            Self::Key(hash) => to_hex(hash),
            Self::All => FORGET_ALL.to_owned(),
        }
    }

    /// What a payload asks for; anything but a key's hash means everything.
    pub fn from_payload(payload: &str) -> Self {
        Self::stored_hash(payload.trim())
    }
}

/// 64 hex digits as 32 bytes.
/// A hash as stored (`api_keys.key_hash`): 64 lower-case hex digits.
pub fn to_hex(hash: &KeyHash) -> String {
    hash.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn parse_hex(hex: &str) -> Option<KeyHash> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut hash = [0u8; 32];
    for (byte, pair) in hash.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(hash)
}

/// The cache of one server. Cloning it gives another handle to the same entries.
#[derive(Clone)]
pub struct KeyCache {
    /// `None` when the cache is turned off.
    inner: Option<Arc<Inner>>,
}

struct Inner {
    entries: moka::sync::Cache<KeyHash, Actor>,
    /// Moves on every invalidation; an answer read from the database before it moved is not
    /// stored.
    generation: AtomicU64,
    /// Whether entries may be used (false while the PostgreSQL listener is not listening).
    trusted: AtomicBool,
    ttl: Duration,
}

impl Inner {
    fn forget(&self, what: &Forget) {
        // The generation moves first: a lookup that stores after this invalidation sees it.
        self.generation.fetch_add(1, Ordering::SeqCst);
        match what {
            Forget::Key(hash) => self.entries.invalidate(hash),
            Forget::All => self.entries.invalidate_all(),
        }
    }
}

impl fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            None => f.write_str("KeyCache(off)"),
            Some(inner) => f
                .debug_struct("KeyCache")
                .field("ttl", &inner.ttl)
                .field("entries", &inner.entries.entry_count())
                .field("trusted", &inner.trusted.load(Ordering::SeqCst))
                .finish(),
        }
    }
}

/// The live caches of this process, so that a change made here is forgotten at once
/// ([`forget_in_this_process`]).
static LIVE: Mutex<Vec<Weak<Inner>>> = Mutex::new(Vec::new());

/// Runs `f` on every live cache of the process, dropping the dead ones from the list.
fn each_live(f: impl Fn(&Inner)) {
    let live: Vec<Arc<Inner>> = {
        let mut registry = LIVE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        registry.retain(|cache| cache.strong_count() > 0);
        registry.iter().filter_map(Weak::upgrade).collect()
    };
    for cache in live {
        f(&cache);
    }
}

/// Forgets `what` in every cache of this process. Called after the change has been committed,
/// so that no lookup can read the old state again afterwards.
pub fn forget_in_this_process(what: &Forget) {
    each_live(|cache| cache.forget(what));
}

impl KeyCache {
    /// A cache whose entries live `ttl`, at most [`CAPACITY`] of them; a zero `ttl` turns it off.
    pub fn new(ttl: Duration) -> Self {
        Self::build(ttl, CAPACITY, true)
    }

    /// A cache that never holds anything: every lookup goes to the database.
    pub fn off() -> Self {
        Self { inner: None }
    }

    /// The cache; `listed`: reached by [`forget_in_this_process`] (every cache but the unit
    /// tests' own).
    fn build(ttl: Duration, capacity: u64, listed: bool) -> Self {
        if ttl.is_zero() {
            return Self::off();
        }
        let inner = Arc::new(Inner {
            entries: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
            generation: AtomicU64::new(0),
            trusted: AtomicBool::new(true),
            ttl,
        });
        if listed {
            let mut registry = LIVE
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            registry.retain(|cache| cache.strong_count() > 0);
            registry.push(Arc::downgrade(&inner));
        }
        metrics::describe_counter!(
            "crm_api_key_cache_hits_total",
            "Keyed requests whose API key was found in the in-process key cache."
        );
        metrics::describe_counter!(
            "crm_api_key_cache_misses_total",
            "Keyed requests whose API key was looked up in the database."
        );
        Self { inner: Some(inner) }
    }

    /// Whether the cache is on (a TTL above zero).
    pub fn is_on(&self) -> bool {
        self.inner.is_some()
    }

    /// Who the key with `hash` belongs to: from the cache when it is there, else from `load`
    /// (the database), whose positive answer is cached. `load`'s error is returned as it is.
    pub async fn resolve<E, F, Fut>(&self, hash: &KeyHash, load: F) -> Result<Option<Actor>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<Actor>, E>>,
    {
        let Some(inner) = &self.inner else {
            return load().await;
        };
        if !inner.trusted.load(Ordering::SeqCst) {
            metrics::counter!("crm_api_key_cache_misses_total").increment(1);
            return load().await;
        }
        if let Some(actor) = inner.entries.get(hash) {
            metrics::counter!("crm_api_key_cache_hits_total").increment(1);
            return Ok(Some(actor));
        }
        metrics::counter!("crm_api_key_cache_misses_total").increment(1);
        let generation = inner.generation.load(Ordering::SeqCst);
        let found = load().await?;
        if let Some(actor) = found {
            inner.entries.insert(*hash, actor);
            // An invalidation since the database was read may have missed this entry: drop it.
            if inner.generation.load(Ordering::SeqCst) != generation {
                inner.entries.invalidate(hash);
            }
        }
        Ok(found)
    }

    /// Forgets `what` in this cache.
    pub fn forget(&self, what: &Forget) {
        if let Some(inner) = &self.inner {
            inner.forget(what);
        }
    }

    /// Stops using the entries (and forgets them) until [`Self::trust`]: what the listener does
    /// when it is not listening.
    fn distrust(&self) {
        if let Some(inner) = &self.inner {
            inner.trusted.store(false, Ordering::SeqCst);
            inner.forget(&Forget::All);
        }
    }

    /// Forgets everything, then uses the cache again: what the listener does each time it
    /// (re)starts listening, since notifications sent before may have been lost.
    fn trust(&self) {
        if let Some(inner) = &self.inner {
            inner.forget(&Forget::All);
            inner.trusted.store(true, Ordering::SeqCst);
        }
    }

    /// Whether entries are being used now.
    #[cfg(test)]
    fn is_trusted(&self) -> bool {
        self.inner
            .as_ref()
            .is_some_and(|inner| inner.trusted.load(Ordering::SeqCst))
    }
}

/// Announces a change of keys to the other servers on the database, inside the transaction that
/// makes it: on PostgreSQL `pg_notify` on [`CHANNEL`] (delivered when the transaction commits,
/// dropped when it rolls back); on SQLite nothing (other processes rely on the TTL).
pub async fn announce(db: &impl ConnectionTrait, what: &Forget) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [CHANNEL.into(), what.payload().into()],
    ))
    .await
    .map(|_| ())
}

/// The first pause before the listener tries again, doubled after each failure up to
/// [`MAX_RETRY_PAUSE`].
const FIRST_RETRY_PAUSE: Duration = Duration::from_millis(100);
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(5);

/// How long a listener connection must have lasted for the pauses to start afresh.
const STABLE: Duration = Duration::from_secs(60);

/// On PostgreSQL with the cache on, starts the task that listens on [`CHANNEL`] and forgets what
/// the notifications name; it runs until aborted. Until it listens, the cache is bypassed.
///
/// The listener has a connection of its own, in a pool of one opened with the server pool's
/// options (named [`LISTENER_APPLICATION_NAME`]), so it never takes one of the server's
/// connections. When that connection is lost, the cache is bypassed until the listener listens
/// again, and then emptied. Must be called inside a Tokio runtime.
pub fn spawn_listener(
    cache: &KeyCache,
    db: &DatabaseConnection,
) -> Option<tokio::task::JoinHandle<()>> {
    if !cache.is_on()
        || !matches!(
            db.inner,
            sea_orm::DatabaseConnectionType::SqlxPostgresPoolConnection(_)
        )
    {
        return None;
    }
    let options = db
        .get_postgres_connection_pool()
        .connect_options()
        .as_ref()
        .clone()
        .application_name(LISTENER_APPLICATION_NAME);
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(10))
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_lazy_with(options);
    cache.distrust();
    Some(tokio::spawn(listen(cache.clone(), pool)))
}

/// The listener's loop: subscribe, apply notifications; on a lost connection bypass the cache,
/// subscribe again (with growing pauses), and empty the cache once listening.
async fn listen(cache: KeyCache, pool: PgPool) {
    let mut pause = FIRST_RETRY_PAUSE;
    let mut failures = 0u32;
    loop {
        match subscribe(&pool).await {
            Ok(mut listener) => {
                cache.trust();
                if failures > 0 {
                    tracing::info!("the key cache listens for revocations again");
                } else {
                    tracing::debug!("the key cache listens for revocations on {CHANNEL}");
                }
                let listening = std::time::Instant::now();
                // Until the connection is lost (`Ok(None)`: the listener does not reconnect by
                // itself) or fails.
                let lost = loop {
                    match listener.try_recv().await {
                        Ok(Some(notification)) => {
                            cache.forget(&Forget::from_payload(notification.payload()));
                        }
                        Ok(None) => break "the connection was closed".to_owned(),
                        Err(error) => break error.to_string(),
                    }
                };
                // What is announced from now until the listener listens again is lost: bypass
                // the cache until then (and empty it then).
                cache.distrust();
                tracing::warn!(
                    "the key cache's listener lost its connection ({lost}): keys are looked up \
                     in the database until it listens again"
                );
                // Warned: the next failures to subscribe are logged at debug.
                failures = 1;
                // A connection that lasted starts the pauses afresh; one that keeps dropping
                // at once is retried ever more slowly.
                if listening.elapsed() >= STABLE {
                    pause = FIRST_RETRY_PAUSE;
                }
            }
            Err(error) => {
                cache.distrust();
                failures += 1;
                if failures == 1 {
                    tracing::warn!(
                        "the key cache cannot listen for revocations ({error}): keys are looked \
                         up in the database until it can"
                    );
                } else {
                    tracing::debug!("the key cache still cannot listen: {error}");
                }
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_RETRY_PAUSE);
    }
}

/// A listener on [`CHANNEL`].
async fn subscribe(pool: &PgPool) -> Result<PgListener, sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // A lost connection is reported (`try_recv` → `Ok(None)`) rather than silently replaced, so
    // that the cache is bypassed from that moment.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use uuid::Uuid;

    use super::*;

    fn actor(is_admin: bool) -> Actor {
        Actor {
            id: Uuid::new_v4(),
            is_admin,
        }
    }

    /// A cache of the test's own: what other tests of the process forget does not reach it.
    fn unlisted(ttl: Duration) -> KeyCache {
        KeyCache::build(ttl, CAPACITY, false)
    }

    fn hash(n: u8) -> KeyHash {
        let mut hash = [0u8; 32];
        hash[0] = n;
        hash[31] = 0xa5;
        hash
    }

    /// `cache.resolve(hash)` with a loader that answers `answer` and counts its calls.
    async fn resolve(
        cache: &KeyCache,
        hash: &KeyHash,
        answer: Option<Actor>,
        loads: &AtomicUsize,
    ) -> Option<Actor> {
        cache
            .resolve(hash, || async {
                loads.fetch_add(1, Ordering::SeqCst);
                Ok::<_, DbErr>(answer)
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_known_key_is_loaded_once_then_served_from_memory() {
        let cache = unlisted(Duration::from_secs(60));
        let loads = AtomicUsize::new(0);
        let ada = actor(true);
        for _ in 0..3 {
            assert_eq!(
                resolve(&cache, &hash(1), Some(ada), &loads).await,
                Some(ada)
            );
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        // Another key is another entry.
        let bob = actor(false);
        assert_eq!(
            resolve(&cache, &hash(2), Some(bob), &loads).await,
            Some(bob)
        );
        assert_eq!(loads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn an_unknown_key_always_goes_to_the_database() {
        let cache = unlisted(Duration::from_secs(60));
        let loads = AtomicUsize::new(0);
        for _ in 0..3 {
            assert_eq!(resolve(&cache, &hash(1), None, &loads).await, None);
        }
        assert_eq!(loads.load(Ordering::SeqCst), 3);
        // So a key created meanwhile works at once.
        let ada = actor(false);
        assert_eq!(
            resolve(&cache, &hash(1), Some(ada), &loads).await,
            Some(ada)
        );
    }

    #[tokio::test]
    async fn a_failed_lookup_is_returned_and_not_cached() {
        let cache = unlisted(Duration::from_secs(60));
        let failed = cache
            .resolve(&hash(1), || async {
                Err::<Option<Actor>, _>(DbErr::Custom("down".into()))
            })
            .await;
        assert!(matches!(failed, Err(DbErr::Custom(message)) if message == "down"));
        let loads = AtomicUsize::new(0);
        let ada = actor(true);
        assert_eq!(
            resolve(&cache, &hash(1), Some(ada), &loads).await,
            Some(ada)
        );
        assert_eq!(loads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_zero_ttl_turns_the_cache_off() {
        let cache = KeyCache::new(Duration::ZERO);
        assert!(!cache.is_on());
        let loads = AtomicUsize::new(0);
        let ada = actor(true);
        for _ in 0..3 {
            assert_eq!(
                resolve(&cache, &hash(1), Some(ada), &loads).await,
                Some(ada)
            );
        }
        assert_eq!(loads.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn entries_expire_after_the_ttl() {
        let cache = unlisted(Duration::from_millis(200));
        let loads = AtomicUsize::new(0);
        let (ada, demoted) = (actor(true), actor(false));
        assert_eq!(
            resolve(&cache, &hash(1), Some(ada), &loads).await,
            Some(ada)
        );
        assert_eq!(
            resolve(&cache, &hash(1), Some(demoted), &loads).await,
            Some(ada)
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            resolve(&cache, &hash(1), Some(demoted), &loads).await,
            Some(demoted)
        );
        assert_eq!(loads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn forgetting_a_key_or_everything() {
        let cache = unlisted(Duration::from_secs(60));
        let loads = AtomicUsize::new(0);
        let ada = actor(true);
        for n in 1..=3 {
            resolve(&cache, &hash(n), Some(ada), &loads).await;
        }
        cache.forget(&Forget::Key(hash(1)));
        assert_eq!(resolve(&cache, &hash(1), None, &loads).await, None);
        assert_eq!(resolve(&cache, &hash(2), None, &loads).await, Some(ada));
        assert_eq!(loads.load(Ordering::SeqCst), 4);
        cache.forget(&Forget::All);
        assert_eq!(resolve(&cache, &hash(2), None, &loads).await, None);
        assert_eq!(resolve(&cache, &hash(3), None, &loads).await, None);
        assert_eq!(loads.load(Ordering::SeqCst), 6);
    }

    #[tokio::test]
    async fn a_change_made_in_this_process_reaches_every_cache_at_once() {
        let (one, two) = (
            KeyCache::new(Duration::from_secs(60)),
            KeyCache::new(Duration::from_secs(60)),
        );
        let loads = AtomicUsize::new(0);
        let ada = actor(true);
        // A hash no other test of this process uses.
        let mut mine = [0x5c; 32];
        mine[..16].copy_from_slice(Uuid::new_v4().as_bytes());
        resolve(&one, &mine, Some(ada), &loads).await;
        resolve(&two, &mine, Some(ada), &loads).await;
        forget_in_this_process(&Forget::Key(mine));
        assert_eq!(resolve(&one, &mine, None, &loads).await, None);
        assert_eq!(resolve(&two, &mine, None, &loads).await, None);
        assert_eq!(loads.load(Ordering::SeqCst), 4);
        // A dropped cache leaves the registry.
        let gone = Arc::downgrade(one.inner.as_ref().unwrap());
        drop(one);
        forget_in_this_process(&Forget::Key(mine));
        let registry = LIVE.lock().unwrap();
        assert!(!registry.iter().any(|cache| cache.ptr_eq(&gone)));
        assert!(registry.iter().any(|cache| {
            two.inner
                .as_ref()
                .is_some_and(|inner| std::ptr::eq(cache.as_ptr(), Arc::as_ptr(inner)))
        }));
    }

    #[tokio::test]
    async fn an_answer_read_before_an_invalidation_is_not_stored() {
        let cache = unlisted(Duration::from_secs(60));
        let ada = actor(true);
        // The revocation lands while the database is being read: the old answer is returned to
        // this request, but not kept.
        let answer = cache
            .resolve(&hash(1), || async {
                cache.forget(&Forget::Key(hash(1)));
                Ok::<_, DbErr>(Some(ada))
            })
            .await
            .unwrap();
        assert_eq!(answer, Some(ada));
        let loads = AtomicUsize::new(0);
        assert_eq!(resolve(&cache, &hash(1), None, &loads).await, None);
        assert_eq!(loads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_distrusted_cache_is_bypassed_and_emptied() {
        let cache = unlisted(Duration::from_secs(60));
        let loads = AtomicUsize::new(0);
        let ada = actor(true);
        resolve(&cache, &hash(1), Some(ada), &loads).await;
        cache.distrust();
        assert!(!cache.is_trusted());
        for _ in 0..2 {
            assert_eq!(
                resolve(&cache, &hash(1), Some(ada), &loads).await,
                Some(ada)
            );
        }
        assert_eq!(loads.load(Ordering::SeqCst), 3, "bypassed while distrusted");
        cache.trust();
        assert_eq!(resolve(&cache, &hash(1), None, &loads).await, None);
        assert_eq!(loads.load(Ordering::SeqCst), 4, "nothing kept from before");
        resolve(&cache, &hash(1), Some(ada), &loads).await;
        resolve(&cache, &hash(1), Some(ada), &loads).await;
        assert_eq!(loads.load(Ordering::SeqCst), 5, "cached again once trusted");
    }

    #[tokio::test]
    async fn the_capacity_is_bounded() {
        let cache = KeyCache::build(Duration::from_secs(60), 100, false);
        let loads = AtomicUsize::new(0);
        for n in 0..1000u32 {
            let mut key = [0u8; 32];
            key[..4].copy_from_slice(&n.to_le_bytes());
            resolve(&cache, &key, Some(actor(false)), &loads).await;
        }
        let inner = cache.inner.as_ref().unwrap();
        inner.entries.run_pending_tasks();
        assert!(
            inner.entries.entry_count() <= 100,
            "{} entries",
            inner.entries.entry_count()
        );
    }

    #[test]
    fn payloads_round_trip_and_anything_else_means_everything() {
        let key = Forget::Key(hash(7));
        let payload = key.payload();
        assert_eq!(payload.len(), 64);
        assert_eq!(&payload[..4], "0700");
        assert_eq!(Forget::from_payload(&payload), key);
        assert_eq!(Forget::from_payload(&payload.to_uppercase()), key);
        assert_eq!(Forget::All.payload(), "*");
        for other in ["*", "", "zz", &payload[..62], &format!("{payload}00"), "é"] {
            assert_eq!(Forget::from_payload(other), Forget::All, "{other:?}");
        }
        // The hash `auth` stores is what a payload carries.
        let stored = crate::auth::hash_key("864FE52C-1C1C-469F-9308-51DAFEFE7436");
        assert_eq!(Forget::stored_hash(&stored).payload(), stored);
    }

    /// A recorder that counts the two counters.
    #[derive(Default)]
    struct Counts {
        hits: Arc<AtomicU64>,
        misses: Arc<AtomicU64>,
    }

    struct Count(Arc<AtomicU64>);

    impl metrics::CounterFn for Count {
        fn increment(&self, value: u64) {
            self.0.fetch_add(value, Ordering::SeqCst);
        }
        fn absolute(&self, value: u64) {
            self.0.store(value, Ordering::SeqCst);
        }
    }

    impl metrics::Recorder for Counts {
        fn describe_counter(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn describe_gauge(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn describe_histogram(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn register_counter(
            &self,
            key: &metrics::Key,
            _: &metrics::Metadata<'_>,
        ) -> metrics::Counter {
            match key.name() {
                "crm_api_key_cache_hits_total" => {
                    metrics::Counter::from_arc(Arc::new(Count(self.hits.clone())))
                }
                "crm_api_key_cache_misses_total" => {
                    metrics::Counter::from_arc(Arc::new(Count(self.misses.clone())))
                }
                _ => metrics::Counter::noop(),
            }
        }
        fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
            metrics::Gauge::noop()
        }
        fn register_histogram(
            &self,
            _: &metrics::Key,
            _: &metrics::Metadata<'_>,
        ) -> metrics::Histogram {
            metrics::Histogram::noop()
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn hits_and_misses_are_counted() {
        let counts = Counts::default();
        let _recorder = metrics::set_default_local_recorder(&counts);
        let cache = unlisted(Duration::from_secs(60));
        let loads = AtomicUsize::new(0);
        let ada = actor(true);
        resolve(&cache, &hash(1), Some(ada), &loads).await; // miss
        resolve(&cache, &hash(1), Some(ada), &loads).await; // hit
        resolve(&cache, &hash(1), Some(ada), &loads).await; // hit
        resolve(&cache, &hash(2), None, &loads).await; // miss
        assert_eq!(counts.hits.load(Ordering::SeqCst), 2);
        assert_eq!(counts.misses.load(Ordering::SeqCst), 2);
        // A cache that is off counts nothing.
        let off = KeyCache::off();
        resolve(&off, &hash(1), Some(ada), &loads).await;
        assert_eq!(counts.hits.load(Ordering::SeqCst), 2);
        assert_eq!(counts.misses.load(Ordering::SeqCst), 2);
    }
}
