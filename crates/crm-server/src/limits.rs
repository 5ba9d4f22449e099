//! Rate limits: a budget per API key, and one per client address for requests whose key is
//! missing, unknown or revoked — so that one caller cannot take the service, and nobody can try
//! keys quickly. Token buckets (GCRA, `governor`): a budget refills steadily over its window and
//! lets a burst of its whole size through.
//!
//! What a client sees (draft-ietf-httpapi-ratelimit-headers): every API response carries
//! `RateLimit-Policy` (the budget: quota `q` per window `w` seconds) and `RateLimit` (what is left
//! of it, `r`, and in how many seconds it is whole again, `t`); past the budget, 429 with
//! `Retry-After`. The budgets live in the process: with N instances a caller's budget is N times
//! as large (`docs/operations.md`).
//!
//! It sits below `auth` (which checks the budgets) and imports nothing of the crate.

use std::{
    cell::RefCell,
    collections::HashMap,
    net::IpAddr,
    num::NonZeroU32,
    rc::Rc,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    middleware::StateInformationMiddleware,
};

/// The window of the per-key budget: ONLYOFFICE's 10 seconds.
pub const KEY_WINDOW: Duration = Duration::from_secs(10);
/// The per-key budget unless configured otherwise: ONLYOFFICE's 500 requests per 10 seconds.
pub const DEFAULT_PER_KEY: u32 = 500;
/// The window of the budget of bad keys per client address.
pub const BAD_KEY_WINDOW: Duration = Duration::from_secs(60);
/// Requests with a missing, unknown or revoked key one address may send per minute by default.
pub const DEFAULT_BAD_KEYS: u32 = 20;

type Limiter<K> = DefaultKeyedRateLimiter<K, StateInformationMiddleware>;

/// One budget: a quota per window, kept per key `K`.
struct Budget<K: std::hash::Hash + Eq + Clone> {
    name: &'static str,
    quota: u32,
    window: Duration,
    limiter: Limiter<K>,
}

/// What a budget says of one request.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// The policy's name in the header fields (`key` or `address`).
    pub name: &'static str,
    /// The quota per window.
    pub quota: u32,
    /// The window.
    pub window: Duration,
    /// What is left after this request.
    pub remaining: u32,
    /// How long until the budget is whole again.
    pub reset: Duration,
    /// `Some(wait)` when the request is over the budget: retry after `wait`.
    pub retry_after: Option<Duration>,
}

impl Verdict {
    /// The `RateLimit-Policy` field value.
    pub fn policy_header(&self) -> String {
        format!(
            "\"{}\";q={};w={}",
            self.name,
            self.quota,
            self.window.as_secs()
        )
    }

    /// The `RateLimit` field value.
    pub fn limit_header(&self) -> String {
        format!(
            "\"{}\";r={};t={}",
            self.name,
            self.remaining,
            seconds_up(self.reset)
        )
    }

    /// The `RateLimit-Policy` and `RateLimit` fields, names in lower case.
    pub fn fields(&self) -> [(&'static str, String); 2] {
        [
            ("ratelimit-policy", self.policy_header()),
            ("ratelimit", self.limit_header()),
        ]
    }

    /// `Retry-After` in whole seconds, at least 1.
    pub fn retry_after_seconds(&self) -> Option<u64> {
        self.retry_after.map(|wait| seconds_up(wait).max(1))
    }
}

/// Where the verdict on a request is left for its response's header fields: put in the request
/// before the handler runs, filled when its key is counted, read once the request is answered —
/// even when the answer is an error raised around the handler (`startup`).
#[derive(Debug, Clone, Default)]
pub struct VerdictSlot(Rc<RefCell<Option<Verdict>>>);

impl VerdictSlot {
    /// Leaves `verdict` in the slot (replacing one left before).
    pub fn leave(&self, verdict: Verdict) {
        *self.0.borrow_mut() = Some(verdict);
    }

    /// The verdict left in the slot, if any.
    pub fn take(&self) -> Option<Verdict> {
        self.0.borrow_mut().take()
    }
}

fn seconds_up(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

impl<K: std::hash::Hash + Eq + Clone> Budget<K> {
    fn new(name: &'static str, quota: u32, window: Duration) -> Option<Self> {
        let burst = NonZeroU32::new(quota)?;
        let per_cell = window / quota;
        let quota_spec =
            Quota::with_period(per_cell.max(Duration::from_nanos(1)))?.allow_burst(burst);
        Some(Self {
            name,
            quota: burst.get(),
            window,
            limiter: RateLimiter::keyed(quota_spec).with_middleware::<StateInformationMiddleware>(),
        })
    }

    /// Takes one request out of `key`'s budget.
    fn take(&self, key: &K) -> Verdict {
        let per_cell = self.window / self.quota;
        let verdict = |remaining: u32, retry_after: Option<Duration>| Verdict {
            name: self.name,
            quota: self.quota,
            window: self.window,
            remaining,
            reset: per_cell * (self.quota - remaining),
            retry_after,
        };
        match self.limiter.check_key(key) {
            Ok(snapshot) => verdict(snapshot.remaining_burst_capacity(), None),
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                self.over(wait)
            }
        }
    }

    /// The verdict on a request over the budget, whose next request fits in `wait`: nothing
    /// left, whole again once the rest of the budget has refilled after that.
    fn over(&self, wait: Duration) -> Verdict {
        let per_cell = self.window / self.quota;
        Verdict {
            name: self.name,
            quota: self.quota,
            window: self.window,
            remaining: 0,
            reset: wait + per_cell * (self.quota - 1),
            retry_after: Some(wait),
        }
    }
}

/// The address of one `X-Forwarded-For` entry: `203.0.113.9`, `2001:db8::1`, with a port as
/// some proxies write it (`203.0.113.9:4711`, `[2001:db8::1]:443`), or in brackets.
fn hop_address(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .and_then(|inner| inner.parse().ok())
        })
}

/// The budgets of a server (cheap to clone: shared).
#[derive(Clone, Default)]
pub struct Limits(Option<Arc<Inner>>);

struct Inner {
    per_key: Option<Budget<[u8; 32]>>,
    bad_keys: Option<Budget<IpAddr>>,
    /// Addresses over their bad-key budget, until when: their requests get 429 before any key is
    /// looked up.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    /// The proxies whose `X-Forwarded-For` is believed.
    trusted_proxies: Vec<IpAddr>,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Limits")
    }
}

impl Limits {
    /// `per_key` requests per [`KEY_WINDOW`] per key, `bad_keys` requests with a bad key per
    /// [`BAD_KEY_WINDOW`] per client address (0: no limit); `X-Forwarded-For` believed from
    /// `trusted_proxies` only.
    pub fn new(per_key: u32, bad_keys: u32, trusted_proxies: Vec<IpAddr>) -> Self {
        let per_key = Budget::new("key", per_key, KEY_WINDOW);
        let bad_keys = Budget::new("address", bad_keys, BAD_KEY_WINDOW);
        if per_key.is_none() && bad_keys.is_none() {
            return Self(None);
        }
        Self(Some(Arc::new(Inner {
            per_key,
            bad_keys,
            blocked: Mutex::new(HashMap::new()),
            trusted_proxies,
        })))
    }

    /// No limits at all.
    pub fn off() -> Self {
        Self(None)
    }

    /// The client's address: the socket's peer, or — when the peer is a trusted proxy — the
    /// last address of `X-Forwarded-For` that is not itself a trusted proxy. `forwarded_for` is
    /// the field's lines in order, read as one list (RFC 9110 §5.3): a proxy may append a line
    /// of its own rather than extend the client's.
    pub fn client_address<'a, F>(&self, peer: Option<IpAddr>, forwarded_for: F) -> Option<IpAddr>
    where
        F: IntoIterator<Item = &'a str>,
        F::IntoIter: DoubleEndedIterator,
    {
        let inner = self.0.as_ref()?;
        let peer = peer?;
        if !inner.trusted_proxies.contains(&peer) {
            return Some(peer);
        }
        // From the end: the trusted proxies' own entries are passed over; the first other entry
        // is the client. One that is no address (the proxy wrote none we can read) ends the walk:
        // the entries before it are the client's own writing, never believed.
        for hop in forwarded_for
            .into_iter()
            .flat_map(|value| value.split(','))
            .rev()
        {
            match hop_address(hop) {
                Some(address) if inner.trusted_proxies.contains(&address) => continue,
                Some(address) => return Some(address),
                None => break,
            }
        }
        Some(peer)
    }

    /// A 429's verdict when `address` is over its bad-key budget: answer it without looking
    /// the key up.
    pub fn blocked(&self, address: Option<IpAddr>) -> Option<Verdict> {
        let inner = self.0.as_ref()?;
        let budget = inner.bad_keys.as_ref()?;
        let address = address?;
        let mut blocked = inner
            .blocked
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        let wait = match blocked.get(&address) {
            Some(until) if *until > now => *until - now,
            Some(_) => {
                blocked.remove(&address);
                return None;
            }
            None => return None,
        };
        Some(budget.over(wait))
    }

    /// Counts a request with a missing, unknown or revoked key against `address`'s budget.
    pub fn bad_key(&self, address: Option<IpAddr>) -> Option<Verdict> {
        let inner = self.0.as_ref()?;
        let budget = inner.bad_keys.as_ref()?;
        let address = address?;
        let verdict = budget.take(&address);
        if let Some(wait) = verdict.retry_after {
            let mut blocked = inner
                .blocked
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let now = Instant::now();
            blocked.retain(|_, until| *until > now);
            blocked.insert(address, now + wait);
        }
        Some(verdict)
    }

    /// Counts a request against the budget of the key whose SHA-256 is `key_hash`.
    pub fn key(&self, key_hash: [u8; 32]) -> Option<Verdict> {
        let budget = self.0.as_ref()?.per_key.as_ref()?;
        Some(budget.take(&key_hash))
    }

    /// Forgets the budgets that are whole again (bounded memory); call now and then.
    pub fn forget_idle(&self) {
        if let Some(inner) = &self.0 {
            if let Some(budget) = &inner.per_key {
                budget.limiter.retain_recent();
            }
            if let Some(budget) = &inner.bad_keys {
                budget.limiter.retain_recent();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_lets_its_quota_through_then_says_when() {
        let limits = Limits::new(3, 0, Vec::new());
        let key = [7; 32];
        for left in [2, 1, 0] {
            let verdict = limits.key(key).expect("a per-key budget");
            assert_eq!(verdict.retry_after, None);
            assert_eq!(verdict.remaining, left);
        }
        let over = limits.key(key).expect("a per-key budget");
        assert!(over.retry_after.is_some());
        assert_eq!(over.retry_after_seconds(), Some(4));
        assert_eq!(over.policy_header(), "\"key\";q=3;w=10");
        assert!(limits.key([8; 32]).expect("budget").retry_after.is_none());
    }

    #[test]
    fn forwarded_for_is_believed_from_trusted_proxies_only() {
        let proxy: IpAddr = "10.0.0.1".parse().expect("ip");
        let client: IpAddr = "203.0.113.9".parse().expect("ip");
        let limits = Limits::new(1, 1, vec![proxy]);
        let header = Some("198.51.100.1, 203.0.113.9, 10.0.0.1");
        assert_eq!(limits.client_address(Some(proxy), header), Some(client));
        let other: IpAddr = "192.0.2.5".parse().expect("ip");
        assert_eq!(limits.client_address(Some(other), header), Some(other));
    }

    #[test]
    fn a_blocked_address_is_told_when_its_budget_is_whole_again() {
        // 3 bad keys a minute: one every 20 s, a burst of 3.
        let limits = Limits::new(0, 3, Vec::new());
        let address: Option<IpAddr> = "192.0.2.7".parse().ok();
        for _ in 0..3 {
            assert!(
                limits
                    .bad_key(address)
                    .expect("budget")
                    .retry_after
                    .is_none()
            );
        }
        let over = limits.bad_key(address).expect("budget");
        let blocked = limits.blocked(address).expect("blocked");
        for verdict in [over, blocked] {
            let wait = verdict.retry_after.expect("a wait");
            assert!(wait <= Duration::from_secs(20), "{wait:?}");
            // Whole again after the wait and two more refills of 20 s.
            assert_eq!(verdict.reset, wait + Duration::from_secs(40));
            assert!(verdict.limit_header().starts_with("\"address\";r=0;t="));
        }
    }

    #[test]
    fn every_forwarded_for_line_counts_in_order() {
        let proxy: IpAddr = "10.0.0.1".parse().expect("ip");
        let limits = Limits::new(1, 1, vec![proxy]);
        // A client's own line first, the proxy's appended line last: the proxy's is believed.
        let lines = ["8.8.8.8", "198.51.100.1"];
        assert_eq!(
            limits.client_address(Some(proxy), lines),
            "198.51.100.1".parse().ok()
        );
    }

    #[test]
    fn the_entry_the_proxy_wrote_is_the_client_whatever_its_form() {
        let proxy: IpAddr = "10.0.0.1".parse().expect("ip");
        let limits = Limits::new(1, 1, vec![proxy]);
        let client = |header: &str| limits.client_address(Some(proxy), Some(header));
        let ip = |text: &str| text.parse::<IpAddr>().ok();
        assert_eq!(client("203.0.113.101, 192.0.2.55:4711"), ip("192.0.2.55"));
        assert_eq!(
            client("203.0.113.101, [2001:db8::7]:443"),
            ip("2001:db8::7")
        );
        assert_eq!(client("203.0.113.101, [2001:db8::8]"), ip("2001:db8::8"));
        assert_eq!(
            client("203.0.113.101,192.0.2.56, 10.0.0.1"),
            ip("192.0.2.56")
        );
        // An entry that is no address ends the walk: nothing the client wrote before it counts.
        assert_eq!(client("203.0.113.101, unknown"), Some(proxy));
        assert_eq!(client("203.0.113.101, garbage, 10.0.0.1"), Some(proxy));
        assert_eq!(client(""), Some(proxy));
    }

    #[test]
    fn zero_is_no_limit() {
        let limits = Limits::new(0, 0, Vec::new());
        assert!(limits.key([1; 32]).is_none());
        assert!(limits.bad_key("127.0.0.1".parse().ok()).is_none());
    }
}
