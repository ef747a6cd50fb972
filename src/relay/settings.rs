//! The relay engine's settings, copied from the service configuration at start.

use std::time::Duration;

use crate::clock::Clock;
use crate::config::Config;
use crate::protocol::QueueId;

/// Settings the relay engine needs, copied from `Config` at start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Offer lifetime.
    pub offer_timeout: Duration,
    /// Pause before re-offering a visitor to a counsellor who passed.
    pub reoffer_after: Duration,
    /// Maximum waiting per queue.
    pub max_queue_len: usize,
    /// Maximum waiting overall.
    pub max_waiting_total: usize,
    /// The configured queues.
    pub queues: Vec<QueueId>,
    /// How long a visitor whose connection dropped can resume.
    pub resume_window: Duration,
    /// How long a callback request is kept.
    pub callback_ttl: Duration,
    /// Most pending callback requests.
    pub max_callbacks: usize,
    /// Topics served first.
    pub priority_topics: Vec<String>,
    /// Pause after a chat before the next offer.
    pub wrap_up: Duration,
    /// Missed offers in a row before a counsellor is put on break (0: never).
    pub max_missed_offers: u32,
    /// How long a dropped counsellor's live chats wait for them (0: requeue at once).
    pub reconnect_window: Duration,
    /// The organisation's time zone (today's statistics follow its calendar day).
    pub time_zone: jiff::tz::TimeZone,
    /// Time between sweeps (expiry, and routing as a safety net).
    pub sweep: Duration,
    /// Where the engine reads the time (`Clock::System` but in tests and simulations).
    pub clock: Clock,
}

impl Settings {
    /// The engine's settings from the service configuration.
    pub fn from_config(c: &Config) -> Self {
        Self {
            offer_timeout: Duration::from_secs(c.limits.offer_timeout_s),
            reoffer_after: Duration::from_secs(c.limits.reoffer_after_s),
            max_queue_len: c.limits.max_queue_len,
            max_waiting_total: c.limits.max_waiting_total,
            queues: c.queues.iter().map(|q| q.id.clone()).collect(),
            resume_window: Duration::from_secs(c.limits.resume_window_s),
            callback_ttl: Duration::from_secs(c.limits.callback_ttl_s),
            max_callbacks: c.limits.max_callbacks,
            priority_topics: c.routing.priority_topics.clone(),
            wrap_up: Duration::from_secs(c.routing.wrap_up_s),
            max_missed_offers: c.routing.max_missed_offers,
            reconnect_window: Duration::from_secs(c.routing.reconnect_window_s),
            time_zone: jiff::tz::TimeZone::get(&c.hours.time_zone)
                .unwrap_or(jiff::tz::TimeZone::UTC),
            sweep: Duration::from_millis(c.routing.sweep_ms.max(10)),
            clock: Clock::System,
        }
    }
}
