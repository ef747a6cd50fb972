//! Prometheus metrics of the relay, served on the internal listener at `/metrics`. Labels are
//! bounded (roles, error codes, queue ids from config); nothing about a person is counted.

use std::sync::Arc;

use prometheus::{
    Encoder as _, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry,
};

/// A cheap-clone handle to every metric.
#[derive(Clone, Debug)]
pub struct Metrics {
    inner: Arc<Inner>,
}

/// The metrics themselves; each field says what it counts.
#[derive(Debug)]
pub struct Inner {
    registry: Registry,
    /// WebSocket connections accepted, by role.
    pub connections: IntCounterVec,
    /// WebSocket connections open now, by role.
    pub open_connections: IntGaugeVec,
    /// Client frames received, by role.
    pub frames_in: IntCounterVec,
    /// Client frames refused, by error code.
    pub frames_refused: IntCounterVec,
    /// Connections closed because their mailbox overflowed.
    pub mailbox_overflows: IntCounter,
    /// Offers made and how they ended: accepted, declined, expired, withdrawn.
    pub offers: IntCounterVec,
    /// Conversations ended, by reason.
    pub conversations_ended: IntCounterVec,
    /// Conversations live now.
    pub conversations_live: IntGauge,
    /// Visitors waiting now, by queue.
    pub waiting: IntGaugeVec,
    /// Logins, by result (ok, refused).
    pub logins: IntCounterVec,
    /// Callback requests: requested, done, expired.
    pub callbacks: IntCounterVec,
    /// Callback requests pending now.
    pub callbacks_pending: IntGauge,
    /// Waits from join to accept, by queue.
    pub wait_seconds: HistogramVec,
    /// Chats from accept to end.
    pub handle_seconds: Histogram,
    /// Visitors who left (or never came back) before a counsellor took them.
    pub abandoned: IntCounter,
    /// Referrals: stored, acknowledged, expired.
    pub referrals: IntCounterVec,
    /// Contacts ended (chats a counsellor accepted, phone callbacks done), by channel and
    /// outcome tag.
    pub contacts: IntCounterVec,
    /// Topic tags of ended contacts (a contact with two topics counts under both).
    pub contact_topics: IntCounterVec,
    /// Counsellors by state (available, busy, on_break, offline), set at each scrape.
    pub counsellors: IntGaugeVec,
    /// Live chats and pending offers of counsellors on duty, and their capacity, set at each
    /// scrape (label `of`: chats, capacity).
    pub load: IntGaugeVec,
    /// How long the longest-waiting visitor has waited, by queue, set at each scrape.
    pub longest_wait: IntGaugeVec,
    /// The wait estimate for someone joining now, by queue, set at each scrape.
    pub eta: IntGaugeVec,
    /// 1 while chats are open by the opening hours, else 0, set at each scrape (alerts such
    /// as "nobody on duty" apply only while open).
    pub open: IntGauge,
    /// 1 while the state store answers, 0 while it is unavailable. The in-memory store of a
    /// single node always answers; a node on shared state sets it from its store calls.
    pub store_up: IntGauge,
    /// Public HTTP responses by status class (`1xx` … `5xx`; WebSocket upgrades are `1xx`).
    pub http_responses: IntCounterVec,
    /// File descriptors the process has open (each connection holds one), set at each
    /// scrape; absent where `/proc` is not available.
    pub open_fds: IntGauge,
    /// The process's file-descriptor limit (`RLIMIT_NOFILE`), set at each scrape.
    pub max_fds: IntGauge,
}

/// Buckets of waits and chats: from seconds to two hours.
const DURATION_BUCKETS: &[f64] = &[
    5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0,
];

impl std::ops::Deref for Metrics {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}

fn counter_vec(reg: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("metric definition is valid");
    reg.register(Box::new(c.clone()))
        .expect("metric names are unique");
    c
}

fn gauge_vec(reg: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("metric definition is valid");
    reg.register(Box::new(g.clone()))
        .expect("metric names are unique");
    g
}

impl Metrics {
    /// A fresh registry with every lyt metric registered.
    pub fn new() -> Self {
        let reg = Registry::new();
        let mailbox_overflows = IntCounter::new(
            "lyt_mailbox_overflows_total",
            "Connections closed as too slow",
        )
        .expect("metric definition is valid");
        reg.register(Box::new(mailbox_overflows.clone()))
            .expect("metric names are unique");
        let conversations_live = IntGauge::new("lyt_conversations_live", "Live conversations")
            .expect("metric definition is valid");
        reg.register(Box::new(conversations_live.clone()))
            .expect("metric names are unique");
        let callbacks_pending = IntGauge::new("lyt_callbacks_pending", "Callback requests pending")
            .expect("metric definition is valid");
        reg.register(Box::new(callbacks_pending.clone()))
            .expect("metric names are unique");
        let wait_seconds = HistogramVec::new(
            HistogramOpts::new("lyt_wait_seconds", "Wait from join to accept")
                .buckets(DURATION_BUCKETS.to_vec()),
            &["queue"],
        )
        .expect("metric definition is valid");
        reg.register(Box::new(wait_seconds.clone()))
            .expect("metric names are unique");
        let handle_seconds = Histogram::with_opts(
            HistogramOpts::new("lyt_handle_seconds", "Chat from accept to end")
                .buckets(DURATION_BUCKETS.to_vec()),
        )
        .expect("metric definition is valid");
        reg.register(Box::new(handle_seconds.clone()))
            .expect("metric names are unique");
        let abandoned = IntCounter::new(
            "lyt_abandoned_total",
            "Visitors who left before being served",
        )
        .expect("metric definition is valid");
        reg.register(Box::new(abandoned.clone()))
            .expect("metric names are unique");
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("metric definition is valid");
            reg.register(Box::new(g.clone()))
                .expect("metric names are unique");
            g
        };
        let open = gauge("lyt_open", "1 while chats are open by the opening hours");
        let store_up = gauge("lyt_store_up", "1 while the state store answers");
        let open_fds = gauge("lyt_process_open_fds", "Open file descriptors");
        let max_fds = gauge("lyt_process_max_fds", "File descriptor limit");
        let inner = Inner {
            connections: counter_vec(
                &reg,
                "lyt_connections_total",
                "WebSocket connections accepted",
                &["role"],
            ),
            open_connections: gauge_vec(
                &reg,
                "lyt_connections_open",
                "WebSocket connections open",
                &["role"],
            ),
            frames_in: counter_vec(
                &reg,
                "lyt_frames_received_total",
                "Client frames received",
                &["role"],
            ),
            frames_refused: counter_vec(
                &reg,
                "lyt_frames_refused_total",
                "Client frames refused",
                &["code"],
            ),
            mailbox_overflows,
            offers: counter_vec(&reg, "lyt_offers_total", "Offers by result", &["result"]),
            conversations_ended: counter_vec(
                &reg,
                "lyt_conversations_ended_total",
                "Conversations ended",
                &["reason"],
            ),
            conversations_live,
            waiting: gauge_vec(&reg, "lyt_queue_waiting", "Visitors waiting", &["queue"]),
            logins: counter_vec(&reg, "lyt_logins_total", "Login attempts", &["result"]),
            callbacks: counter_vec(
                &reg,
                "lyt_callbacks_total",
                "Callback requests by event",
                &["event"],
            ),
            callbacks_pending,
            wait_seconds,
            handle_seconds,
            abandoned,
            referrals: counter_vec(
                &reg,
                "lyt_referrals_total",
                "Referrals by event",
                &["event"],
            ),
            contacts: counter_vec(
                &reg,
                "lyt_contacts_total",
                "Contacts ended, by channel and outcome",
                &["channel", "outcome"],
            ),
            contact_topics: counter_vec(
                &reg,
                "lyt_contact_topics_total",
                "Topic tags of ended contacts",
                &["topic"],
            ),
            counsellors: gauge_vec(&reg, "lyt_counsellors", "Counsellors by state", &["state"]),
            load: gauge_vec(
                &reg,
                "lyt_counsellor_load",
                "Chats and capacity of counsellors on duty",
                &["of"],
            ),
            longest_wait: gauge_vec(
                &reg,
                "lyt_queue_longest_wait_seconds",
                "Longest current wait",
                &["queue"],
            ),
            eta: gauge_vec(
                &reg,
                "lyt_queue_eta_seconds",
                "Wait estimate for someone joining now",
                &["queue"],
            ),
            open,
            store_up,
            http_responses: counter_vec(
                &reg,
                "lyt_http_responses_total",
                "Public HTTP responses by status class",
                &["class"],
            ),
            open_fds,
            max_fds,
            registry: reg,
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let families = self.registry.gather();
        if prometheus::TextEncoder::new()
            .encode(&families, &mut buf)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// The process's open file descriptors and their limit, from `/proc/self` (Linux); `None`
/// elsewhere or when unreadable.
pub fn fd_usage() -> Option<(i64, i64)> {
    let open = std::fs::read_dir("/proc/self/fd").ok()?.count();
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let max = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))?
        .split_whitespace()
        .next()?
        .parse::<i64>()
        .ok()?;
    Some((i64::try_from(open).unwrap_or(i64::MAX), max))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
