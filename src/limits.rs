//! Rate limiting that protects the service without storing who anyone is.
//!
//! Addresses are never kept: a limiter key is `HMAC-SHA256(daily_key, prefix)` truncated to
//! 16 bytes, where the prefix is the IPv4 address (/32) or the IPv6 /64, and `daily_key` is
//! random, held in memory only and replaced every 24 hours (which also forgets every
//! address-keyed count). The client address is the socket's peer, or — when
//! `rate.trusted_proxy_header` is set because lyt runs behind a proxy — the last address in
//! that header, and only that header.
//!
//! Quotas (all in `[rate]`): visitor connections and joins per address, frames per
//! connection, logins per account and per address, tickets per session. Refusals carry the
//! seconds to wait: HTTP 429 with `Retry-After`, or `error rate_limited` with `retry_after_s`.
//! Idle limiter state is pruned every minute.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use hmac::{Hmac, Mac as _};
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// How often the address key is replaced.
const KEY_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// The quotas, per minute unless named otherwise.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RateConfig {
    /// New visitor WebSocket connections per address per minute.
    pub visitor_connects_per_min: u32,
    /// `join`s per address per hour.
    pub joins_per_hour: u32,
    /// Frames per visitor connection per second (sustained).
    pub visitor_frames_per_s: u32,
    /// Frames per counsellor connection per second (they hold several chats).
    pub counsellor_frames_per_s: u32,
    /// Burst of frames allowed above the sustained rate.
    pub frames_burst: u32,
    /// Login attempts per account per minute.
    pub logins_per_min_per_account: u32,
    /// Login attempts per address per minute.
    pub logins_per_min_per_address: u32,
    /// Tickets per login session per minute.
    pub tickets_per_min: u32,
    /// When behind a proxy: the header that carries the client address (e.g.
    /// `x-forwarded-for`); the last address in it is used. Unset: the socket's peer.
    pub trusted_proxy_header: Option<String>,
    /// With many nodes (`serve --redis`): a secret every node shares (`LYT_RATE__SHARED_KEY`,
    /// any long random string). `joins_per_hour` is then also counted across nodes in Redis,
    /// under an HMAC of the address prefix keyed by this secret and the UTC date — the tag
    /// changes daily and a dump of Redis cannot be tied to addresses without the secret.
    /// Unset: each node counts only its own joins.
    pub shared_key: Option<crate::config::Secret<String>>,
}

impl Default for RateConfig {
    fn default() -> Self {
        Self {
            visitor_connects_per_min: 60,
            joins_per_hour: 60,
            visitor_frames_per_s: 50,
            counsellor_frames_per_s: 200,
            frames_burst: 200,
            logins_per_min_per_account: 10,
            logins_per_min_per_address: 30,
            tickets_per_min: 30,
            trusted_proxy_header: None,
            shared_key: None,
        }
    }
}

/// A hashed address: what the limiters key on instead of the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressKey([u8; 16]);

fn quota(per: u32, period: Duration, burst: u32) -> Quota {
    let n = NonZeroU32::new(per.max(1)).unwrap_or(NonZeroU32::MIN);
    let replenish = period / n.get();
    Quota::with_period(replenish.max(Duration::from_nanos(1)))
        .unwrap_or_else(|| Quota::per_second(n))
        .allow_burst(NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN))
}

/// What an address is counted by: IPv4 /32, IPv6 /64 (a v4-mapped address as IPv4).
fn prefix(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.octets().to_vec(),
            None => v6.octets()[..8].to_vec(),
        },
    }
}

/// Every limiter of the service; a cheap-clone handle.
#[derive(Clone)]
pub struct Limits {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: RateConfig,
    /// The address key and when it was made. Std mutex: held for a hash, never across await.
    key: Mutex<([u8; 32], Instant)>,
    connects: DefaultKeyedRateLimiter<AddressKey>,
    joins: DefaultKeyedRateLimiter<AddressKey>,
    logins_by_address: DefaultKeyedRateLimiter<AddressKey>,
    logins_by_account: DefaultKeyedRateLimiter<String>,
    tickets: DefaultKeyedRateLimiter<[u8; 32]>,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("cfg", &self.inner.cfg)
            .finish_non_exhaustive()
    }
}

/// The wait after a refusal, in whole seconds (at least 1).
fn wait_s(not_until: &governor::NotUntil<governor::clock::QuantaInstant>) -> u64 {
    not_until
        .wait_time_from(DefaultClock::default().now())
        .as_secs()
        .max(1)
}

impl Limits {
    /// Limiters for `cfg`, with a fresh random address key.
    pub fn new(cfg: RateConfig) -> Self {
        let min = Duration::from_secs(60);
        let inner = Inner {
            connects: RateLimiter::keyed(quota(
                cfg.visitor_connects_per_min,
                min,
                cfg.visitor_connects_per_min,
            )),
            joins: RateLimiter::keyed(quota(
                cfg.joins_per_hour,
                Duration::from_secs(3600),
                cfg.joins_per_hour,
            )),
            logins_by_address: RateLimiter::keyed(quota(
                cfg.logins_per_min_per_address,
                min,
                cfg.logins_per_min_per_address,
            )),
            logins_by_account: RateLimiter::keyed(quota(
                cfg.logins_per_min_per_account,
                min,
                cfg.logins_per_min_per_account,
            )),
            tickets: RateLimiter::keyed(quota(cfg.tickets_per_min, min, cfg.tickets_per_min)),
            key: Mutex::new((rand::random(), Instant::now())),
            cfg,
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The client's address: the trusted proxy header's last entry if configured, else the
    /// socket peer.
    pub fn client_ip(&self, headers: &HeaderMap, peer: SocketAddr) -> IpAddr {
        self.inner
            .cfg
            .trusted_proxy_header
            .as_deref()
            .and_then(|name| headers.get(name))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|last| last.trim().parse().ok())
            .unwrap_or_else(|| peer.ip())
    }

    /// The tag under which joins from `ip` are counted across nodes (`rate.shared_key`), or
    /// `None` without a shared key: hex of the first 16 bytes of
    /// HMAC(HMAC(shared_key, "lyt join quota " ‖ UTC date), address prefix).
    pub fn shared_tag(&self, ip: IpAddr) -> Option<String> {
        let secret = self.inner.cfg.shared_key.as_ref()?;
        let date = crate::stats::local_date(&jiff::tz::TimeZone::UTC);
        let mut day = <Hmac<Sha256>>::new_from_slice(secret.expose().as_bytes())
            .expect("HMAC takes any key length");
        day.update(b"lyt join quota ");
        day.update(date.as_bytes());
        let day = day.finalize().into_bytes();
        let mut mac = <Hmac<Sha256>>::new_from_slice(&day).expect("HMAC takes any key length");
        mac.update(&prefix(ip));
        let digest = mac.finalize().into_bytes();
        Some(digest[..16].iter().map(|b| format!("{b:02x}")).collect())
    }

    /// `joins_per_hour`.
    pub fn joins_per_hour(&self) -> u32 {
        self.inner.cfg.joins_per_hour
    }

    /// The keyed hash of an address prefix (IPv4 /32, IPv6 /64) under today's key.
    pub fn address_key(&self, ip: IpAddr) -> AddressKey {
        let prefix = prefix(ip);
        let mut guard = self
            .inner
            .key
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if guard.1.elapsed() >= KEY_LIFETIME {
            *guard = (rand::random(), Instant::now());
        }
        let mut mac = <Hmac<Sha256>>::new_from_slice(&guard.0).expect("HMAC takes any key length");
        drop(guard);
        mac.update(&prefix);
        let digest = mac.finalize().into_bytes();
        let mut key = [0; 16];
        key.copy_from_slice(&digest[..16]);
        AddressKey(key)
    }

    /// A new visitor connection from `addr`; `Err(seconds)` when over quota.
    pub fn visitor_connect(&self, addr: AddressKey) -> Result<(), u64> {
        self.inner.connects.check_key(&addr).map_err(|n| wait_s(&n))
    }

    /// A `join` from `addr`.
    pub fn join(&self, addr: AddressKey) -> Result<(), u64> {
        self.inner.joins.check_key(&addr).map_err(|n| wait_s(&n))
    }

    /// A login attempt for `account` from `addr`: both quotas must allow it.
    pub fn login(&self, addr: AddressKey, account: &str) -> Result<(), u64> {
        self.inner
            .logins_by_address
            .check_key(&addr)
            .map_err(|n| wait_s(&n))?;
        let account: String = account.chars().take(64).collect();
        self.inner
            .logins_by_account
            .check_key(&account)
            .map_err(|n| wait_s(&n))
    }

    /// A ticket request by the session whose token hash is `session`.
    pub fn ticket(&self, session: [u8; 32]) -> Result<(), u64> {
        self.inner
            .tickets
            .check_key(&session)
            .map_err(|n| wait_s(&n))
    }

    /// A per-connection frame budget for a visitor (`counsellor = false`) or counsellor.
    pub fn frame_budget(&self, counsellor: bool) -> FrameBudget {
        let c = &self.inner.cfg;
        let per_s = if counsellor {
            c.counsellor_frames_per_s
        } else {
            c.visitor_frames_per_s
        };
        FrameBudget(RateLimiter::direct(quota(
            per_s,
            Duration::from_secs(1),
            c.frames_burst,
        )))
    }

    /// Forgets idle limiter state (called every minute).
    pub fn prune(&self) {
        let i = &self.inner;
        i.connects.retain_recent();
        i.joins.retain_recent();
        i.logins_by_address.retain_recent();
        i.logins_by_account.retain_recent();
        i.tickets.retain_recent();
        i.connects.shrink_to_fit();
        i.joins.shrink_to_fit();
        i.logins_by_address.shrink_to_fit();
        i.logins_by_account.shrink_to_fit();
        i.tickets.shrink_to_fit();
    }
}

/// One connection's frame budget.
pub struct FrameBudget(DefaultDirectRateLimiter);

impl FrameBudget {
    /// Takes one frame from the budget; `Err(seconds)` when exhausted.
    pub fn take(&self) -> Result<(), u64> {
        self.0.check().map_err(|n| wait_s(&n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One IPv6 /64 is one key, another /64 another; IPv4 is per address; keys are not the
    /// address bytes and change with the daily key.
    #[test]
    fn address_keys() {
        let l = Limits::new(RateConfig::default());
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(l.address_key(a), l.address_key(b));
        assert_ne!(l.address_key(a), l.address_key(c));
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        assert_ne!(
            l.address_key(v4),
            l.address_key("192.0.2.8".parse().unwrap())
        );
        assert!(!l.address_key(v4).0.windows(4).any(|w| w == [192, 0, 2, 7]));
        let other = Limits::new(RateConfig::default());
        assert_ne!(
            l.address_key(v4),
            other.address_key(v4),
            "keys depend on the random key"
        );
    }

    /// The trusted header's last address is used only when configured.
    #[test]
    fn client_ip_from_trusted_header_only() {
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "203.0.113.1, 198.51.100.2".parse().unwrap(),
        );
        let plain = Limits::new(RateConfig::default());
        assert_eq!(plain.client_ip(&headers, peer), peer.ip());
        let proxied = Limits::new(RateConfig {
            trusted_proxy_header: Some("x-forwarded-for".into()),
            ..RateConfig::default()
        });
        assert_eq!(
            proxied.client_ip(&headers, peer),
            "198.51.100.2".parse::<IpAddr>().unwrap()
        );
        assert_eq!(proxied.client_ip(&HeaderMap::new(), peer), peer.ip());
    }

    /// A quota allows its burst, then refuses with a wait of at least a second.
    #[test]
    fn quotas_refuse_beyond_the_burst() {
        let l = Limits::new(RateConfig {
            joins_per_hour: 2,
            ..RateConfig::default()
        });
        let k = l.address_key("192.0.2.1".parse().unwrap());
        assert!(l.join(k).is_ok() && l.join(k).is_ok());
        let wait = l.join(k).unwrap_err();
        assert!((1..=1800).contains(&wait), "{wait}");
        let other = l.address_key("192.0.2.2".parse().unwrap());
        assert!(l.join(other).is_ok());
    }
}
