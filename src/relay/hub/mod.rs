//! The relay's in-memory state and the operations on it: visitors waiting in queues, offers,
//! live conversations, counsellors on duty. Every operation is a short synchronous critical
//! section that ends with `settle`: routing decisions (from the pure `routing` module) are
//! applied and every waiting visitor whose position changed is told.
//!
//! This is the single-node state of the foundation; the multi-node `Store` abstraction will
//! sit behind the same operations.

mod counsellor;
pub(crate) mod phone;
#[cfg(test)]
mod props;
mod reclaim;
mod resume;
mod snapshot;
mod visitor;

pub(crate) use counsellor::check_duty;
pub use phone::{MAX_CALLBACK_CT_BYTES, MAX_LISTED};
pub use resume::{MAX_REPLAY_BYTES, MAX_REPLAY_FRAMES};
pub use snapshot::{CounsellorState, HubSnapshot, OnDuty, QueueFigures};

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::config::{Config, Role};
use crate::metrics::Metrics;
use crate::protocol::{Bundle, ConvId, QueueId, ServerFrame, Skills};
use crate::relay::conn::Mailbox;
use crate::relay::refusal;
use crate::routing;

/// A connection's number, unique within this process.
pub type ConnId = u64;

pub use refusal::Refusal;

/// Settings the hub needs, copied from `Config` at start.
#[derive(Debug, Clone)]
pub struct HubConfig {
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
}

impl HubConfig {
    /// The hub's settings from the service configuration.
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
        }
    }
}

/// A connected visitor.
#[derive(Debug)]
struct VisitorConn {
    mailbox: Mailbox,
    /// The one conversation this connection is in, waiting or live.
    conv: Option<ConvId>,
    /// Whether this connection already sent a callback request (one each).
    callback_sent: bool,
}

/// What a counsellor declared when going on duty.
#[derive(Debug, Clone)]
struct Duty {
    skills: Skills,
    capacity: u32,
    bundle: Bundle,
}

/// A connected, authenticated counsellor.
#[derive(Debug)]
struct CounsellorConn {
    mailbox: Mailbox,
    alias: String,
    #[allow(dead_code)] // read by the supervisor dashboard
    role: Role,
    /// `Some` while on duty.
    duty: Option<Duty>,
    on_break: bool,
    /// Live conversations and pending offers: together they count against capacity.
    convs: HashSet<ConvId>,
    /// Since when they have had a free slot (longest free is offered first on a tie).
    free_since: Instant,
    /// No offers before this instant (wrap-up after a chat).
    wrap_up_until: Option<Instant>,
    /// Offers let expire in a row.
    missed_offers: u32,
}

/// Where a conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// In its queue.
    Queued,
    /// Offered to one counsellor until `expires`.
    Offered { to: ConnId, expires: Instant },
    /// Being relayed between the visitor and this counsellor.
    Live { counsellor: ConnId },
    /// The counsellor's connection dropped at `since`; they may reclaim it (see `reclaim`).
    Parked { since: Instant },
}

/// One conversation, from `join` to its end.
#[derive(Debug)]
struct Conv {
    /// The visitor's connection; `None` while they are away (see `resume`).
    visitor: Option<ConnId>,
    /// Since when the visitor has been away.
    detached_at: Option<Instant>,
    /// Frames to the visitor kept for a resume.
    replay: resume::Replay,
    queue: QueueId,
    joined_at: Instant,
    /// Routing order (front tier, priority, join sequence).
    order: routing::Order,
    phase: Phase,
    /// Counsellors who declined or let an offer expire, and when.
    passed: Vec<(ConnId, Instant)>,
    /// The resume token given in `queued`.
    resume: String,
    /// The position last pushed to the visitor (0 = none yet).
    last_position: u32,
    /// The first position pushed, for the per-position wait estimate (0 = none yet).
    first_position: u32,
    /// The alias of the counsellor who may reclaim this chat while it is parked.
    parked_for: Option<String>,
    /// When the current counsellor accepted (for the handle-time histogram).
    accepted_at: Option<Instant>,
    /// After `assigned`, visitor frames of the previous epoch are dropped until `hs1`.
    awaiting_hs1: bool,
}

/// The relay's state. Owned by `Relay` behind a mutex.
#[derive(Debug)]
pub struct Hub {
    cfg: HubConfig,
    metrics: Metrics,
    visitors: HashMap<ConnId, VisitorConn>,
    counsellors: HashMap<ConnId, CounsellorConn>,
    convs: HashMap<ConvId, Conv>,
    /// Join order counter.
    seq: u64,
    /// Recent wait (join → accept) per queue, exponentially weighted, in seconds.
    wait_ewma: HashMap<QueueId, f64>,
    /// Recent chat length (accept → end) per queue, exponentially weighted, in seconds.
    handle_ewma: HashMap<QueueId, f64>,
    /// Pending callback requests by id (sealed; see `phone`).
    callbacks: HashMap<String, phone::Callback>,
    /// Today's anonymous statistics (counts only).
    stats: crate::stats::Stats,
}

/// Weight of the newest observation in the wait estimate.
const EWMA_ALPHA: f64 = 0.2;
/// Wait per position assumed before any wait has been observed in a queue.
const DEFAULT_WAIT_PER_POSITION_S: f64 = 60.0;

impl Hub {
    /// An empty hub.
    pub fn new(cfg: HubConfig, metrics: Metrics) -> Self {
        Self {
            cfg,
            metrics,
            visitors: HashMap::new(),
            counsellors: HashMap::new(),
            convs: HashMap::new(),
            seq: 0,
            wait_ewma: HashMap::new(),
            handle_ewma: HashMap::new(),
            callbacks: HashMap::new(),
            stats: crate::stats::Stats::default(),
        }
    }

    /// Today's date in the organisation's time zone.
    fn today(&self) -> String {
        crate::stats::local_date(&self.cfg.time_zone)
    }

    /// Whether `queue` is configured.
    pub fn has_queue(&self, queue: &QueueId) -> bool {
        self.cfg.queues.contains(queue)
    }

    /// Visitors waiting (queued or offered) per configured queue.
    pub fn waiting_counts(&self) -> Vec<(QueueId, usize)> {
        // One pass over the conversations, whatever the number of queues.
        let mut counts: HashMap<&QueueId, usize> = HashMap::new();
        for c in self.convs.values() {
            if matches!(c.phase, Phase::Queued | Phase::Offered { .. }) {
                *counts.entry(&c.queue).or_default() += 1;
            }
        }
        self.cfg
            .queues
            .iter()
            .map(|q| (q.clone(), counts.get(q).copied().unwrap_or(0)))
            .collect()
    }

    /// Estimated wait in seconds for someone at `position` in `queue`, rounded up to whole
    /// minutes (at most a day). The method, in order of preference:
    /// 1. recent waits: position × the exponentially weighted mean (α = 0.2) of finished
    ///    waits in that queue, each divided by the position it started at;
    /// 2. recent chat lengths, when no wait has finished yet but chats have: the visitor is
    ///    served after ⌈position ÷ slots⌉ rounds of the mean chat length, `slots` being the
    ///    capacity of the counsellors on duty who serve the queue;
    /// 3. otherwise 60 s per position.
    pub fn eta_s(&self, queue: &QueueId, position: u32) -> u64 {
        let position = f64::from(position.max(1));
        let secs = match (self.wait_ewma.get(queue), self.handle_ewma.get(queue)) {
            (Some(per), _) => per.max(1.0) * position,
            (None, Some(handle)) => {
                let slots: u32 = self
                    .counsellors
                    .values()
                    .filter_map(|c| c.duty.as_ref())
                    .filter(|d| {
                        let lang = d.skills.langs.iter().any(|l| l.as_str() == queue.lang());
                        let topic = queue.topic() == "any"
                            || d.skills
                                .topics
                                .iter()
                                .any(|t| t.as_str() == "any" || t.as_str() == queue.topic());
                        lang && topic
                    })
                    .map(|d| d.capacity)
                    .sum();
                (position / f64::from(slots.max(1))).ceil() * handle.max(1.0)
            }
            (None, None) => DEFAULT_WAIT_PER_POSITION_S * position,
        };
        // Bounded to a day: the cast cannot overflow or go negative.
        let minutes = (secs / 60.0).ceil().clamp(1.0, 1440.0) as u64;
        minutes * 60
    }

    /// Conversations waiting in a queue (tests and the dashboard read them).
    pub fn waiting_conversations(&self) -> Vec<ConvId> {
        let mut v: Vec<(routing::Order, ConvId)> = self
            .convs
            .iter()
            .filter(|(_, c)| c.phase == Phase::Queued)
            .map(|(id, c)| (c.order, *id))
            .collect();
        v.sort();
        v.into_iter().map(|(_, id)| id).collect()
    }

    /// Number of conversations in any phase (used by tests for "no state remains").
    pub fn conversation_count(&self) -> usize {
        self.convs.len()
    }

    /// Expires due offers and re-routes. Called by the relay's ticker.
    pub fn tick(&mut self, now: Instant) {
        let due: Vec<(ConvId, ConnId)> = self
            .convs
            .iter()
            .filter_map(|(id, c)| match c.phase {
                Phase::Offered { to, expires } if expires <= now => Some((*id, to)),
                _ => None,
            })
            .collect();
        for (conv, to) in due {
            // An earlier step of this loop (a break for missed offers) may have withdrawn it.
            let still_due = matches!(
                self.convs.get(&conv).map(|c| c.phase),
                Some(Phase::Offered { to: t, .. }) if t == to
            );
            if !still_due {
                continue;
            }
            self.metrics.offers.with_label_values(&["expired"]).inc();
            self.withdraw_offer(
                conv,
                to,
                now,
                true,
                crate::protocol::EndReason::OfferExpired,
            );
            self.count_missed_offer(to, now);
        }
        self.expire_detached(now);
        self.expire_parked(now);
        self.expire_callbacks(now);
        self.settle(now);
    }

    /// Moves an offered conversation back to its queue. `passed` marks the counsellor as
    /// having passed on this visitor; the counsellor is told with `ended{reason}`.
    fn withdraw_offer(
        &mut self,
        conv: ConvId,
        to: ConnId,
        now: Instant,
        passed: bool,
        reason: crate::protocol::EndReason,
    ) {
        if let Some(c) = self.convs.get_mut(&conv) {
            c.phase = Phase::Queued;
            if passed {
                c.passed.push((to, now));
            }
        }
        self.release_slot(to, conv, now);
        if let Some(cc) = self.counsellors.get(&to) {
            cc.mailbox.send(&ServerFrame::Ended { conv, reason });
        }
    }

    /// Frees `conv`'s slot on counsellor `id`.
    fn release_slot(&mut self, id: ConnId, conv: ConvId, now: Instant) {
        if let Some(c) = self.counsellors.get_mut(&id)
            && c.convs.remove(&conv)
        {
            c.free_since = now;
        }
    }

    /// Ends a conversation in whatever phase, tells both sides `ended{reason}`, and deletes
    /// its state.
    fn end_conv(&mut self, conv: ConvId, reason: crate::protocol::EndReason, now: Instant) {
        let Some(c) = self.convs.remove(&conv) else {
            return;
        };
        let frame = ServerFrame::Ended { conv, reason };
        if let Some(v) = c.visitor.and_then(|id| self.visitors.get_mut(&id)) {
            v.conv = None;
            v.mailbox.send(&frame);
        }
        match c.phase {
            Phase::Offered { to, .. } => {
                self.metrics.offers.with_label_values(&["withdrawn"]).inc();
                self.release_slot(to, conv, now);
                if let Some(cc) = self.counsellors.get(&to) {
                    cc.mailbox.send(&frame);
                }
            }
            Phase::Live { counsellor } => {
                self.metrics.conversations_live.dec();
                if let Some(at) = c.accepted_at {
                    let handled = now.saturating_duration_since(at).as_secs_f64();
                    self.metrics.handle_seconds.observe(handled);
                    let e = self.handle_ewma.entry(c.queue.clone()).or_insert(handled);
                    *e = EWMA_ALPHA * handled + (1.0 - EWMA_ALPHA) * *e;
                }
                self.start_wrap_up(counsellor, now);
                self.release_slot(counsellor, conv, now);
                if let Some(cc) = self.counsellors.get(&counsellor) {
                    cc.mailbox.send(&frame);
                }
            }
            Phase::Parked { .. } => self.metrics.conversations_live.dec(),
            Phase::Queued => {}
        }
        if matches!(c.phase, Phase::Queued | Phase::Offered { .. })
            && reason == crate::protocol::EndReason::VisitorLeft
        {
            self.metrics.abandoned.inc();
            let today = self.today();
            self.stats.abandoned(&today);
        }
        // A chat that was accepted is a contact; `end` counts the ones a counsellor tagged.
        if matches!(c.phase, Phase::Live { .. } | Phase::Parked { .. })
            && reason != crate::protocol::EndReason::CounsellorEnded
        {
            let outcome = if reason == crate::protocol::EndReason::VisitorLeft {
                "ended_by_visitor"
            } else {
                reason.as_str()
            };
            self.count_contact(
                "chat",
                Some(c.queue.lang()),
                &crate::protocol::Tags::default(),
                outcome,
            );
        }
        self.metrics
            .conversations_ended
            .with_label_values(&[reason.as_str()])
            .inc();
    }

    /// Starts the counsellor's wrap-up pause after a chat.
    fn start_wrap_up(&mut self, counsellor: ConnId, now: Instant) {
        if self.cfg.wrap_up.is_zero() {
            return;
        }
        if let Some(c) = self.counsellors.get_mut(&counsellor) {
            c.wrap_up_until = Some(now + self.cfg.wrap_up);
        }
    }

    /// Counts an expired offer; too many in a row put the counsellor on break, and they are
    /// told why.
    fn count_missed_offer(&mut self, id: ConnId, now: Instant) {
        let limit = self.cfg.max_missed_offers;
        let Some(c) = self.counsellors.get_mut(&id) else {
            return;
        };
        c.missed_offers += 1;
        if limit == 0 || c.missed_offers < limit || c.on_break {
            return;
        }
        c.mailbox.send(&ServerFrame::OnBreak {
            reason: crate::protocol::BreakReason::MissedOffers,
        });
        c.on_break = true;
        // Routing runs once the caller settles, not in the middle of its loop.
        self.withdraw_offers_of(id, now);
    }

    /// Puts a conversation back at the front of `queue` (transfer, lost counsellor).
    fn requeue_front(&mut self, conv: ConvId, queue: QueueId) {
        self.seq += 1;
        let seq = self.seq;
        if let Some(c) = self.convs.get_mut(&conv) {
            c.parked_for = None;
            if matches!(c.phase, Phase::Live { .. } | Phase::Parked { .. }) {
                self.metrics.conversations_live.dec();
            }
            c.queue = queue;
            c.order = routing::Order::front(c.order.priority == 0, seq);
            c.phase = Phase::Queued;
            c.last_position = 0;
            c.replay.clear();
        }
    }

    /// Applies routing, then pushes positions and refreshes the waiting gauges.
    fn settle(&mut self, now: Instant) {
        self.route(now);
        self.push_positions();
        for (q, n) in self.waiting_counts() {
            self.metrics
                .waiting
                .with_label_values(&[q.as_str()])
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    fn route(&mut self, now: Instant) {
        let waiting: Vec<routing::Waiting> = self
            .convs
            .iter()
            .filter(|(_, c)| c.phase == Phase::Queued && c.visitor.is_some())
            .map(|(id, c)| routing::Waiting {
                conv: *id,
                queue: c.queue.clone(),
                order: c.order,
                passed: c.passed.clone(),
            })
            .collect();
        if waiting.is_empty() {
            return;
        }
        let available: Vec<routing::Available> = self
            .counsellors
            .iter()
            .filter_map(|(id, c)| {
                let duty = c.duty.as_ref().filter(|_| !c.on_break)?;
                if c.wrap_up_until.is_some_and(|t| t > now) {
                    return None;
                }
                let load = u32::try_from(c.convs.len()).unwrap_or(u32::MAX);
                let free = duty.capacity.saturating_sub(load);
                // A counsellor without a free slot cannot be offered anyone: skip them before
                // copying their skills (with thousands of busy counsellors this was most of
                // the cost of every routing pass).
                if free == 0 {
                    return None;
                }
                Some(routing::Available {
                    id: *id,
                    langs: duty.skills.langs.iter().map(ToString::to_string).collect(),
                    topics: duty.skills.topics.iter().map(ToString::to_string).collect(),
                    free,
                    free_since: c.free_since,
                })
            })
            .collect();
        for (conv, to) in routing::assign(&waiting, &available, now, self.cfg.reoffer_after) {
            self.offer(conv, to, now);
        }
    }

    /// Offers `conv` to counsellor `to`.
    fn offer(&mut self, conv: ConvId, to: ConnId, now: Instant) {
        let expires = now + self.cfg.offer_timeout;
        let Some(c) = self.convs.get_mut(&conv) else {
            return;
        };
        let Some(cc) = self.counsellors.get_mut(&to) else {
            return;
        };
        c.phase = Phase::Offered { to, expires };
        cc.convs.insert(conv);
        self.metrics.offers.with_label_values(&["offered"]).inc();
        cc.mailbox.send(&ServerFrame::Offer {
            conv,
            queue: c.queue.clone(),
            waited_s: now.saturating_duration_since(c.joined_at).as_secs(),
            expires_s: self.cfg.offer_timeout.as_secs(),
        });
    }

    /// Tells every waiting visitor whose position changed their new position. A visitor
    /// whose offer is pending still waits, so offered visitors count for positions too.
    fn push_positions(&mut self) {
        let mut queued: Vec<(&QueueId, routing::Order, ConvId)> = self
            .convs
            .iter()
            .filter(|(_, c)| matches!(c.phase, Phase::Queued | Phase::Offered { .. }))
            .map(|(id, c)| (&c.queue, c.order, *id))
            .collect();
        queued.sort();
        let mut updates = Vec::new();
        let mut prev_queue: Option<&QueueId> = None;
        let mut position = 0u32;
        for (queue, _, conv) in queued {
            position = if prev_queue == Some(queue) {
                position + 1
            } else {
                1
            };
            prev_queue = Some(queue);
            updates.push((conv, position));
        }
        for (conv, position) in updates {
            let Some(c) = self.convs.get(&conv) else {
                continue;
            };
            if c.last_position == position {
                continue;
            }
            let frame = ServerFrame::Queued {
                conv,
                position,
                eta_s: self.eta_s(&c.queue, position),
                resume: c.resume.clone(),
            };
            let Some(v) = c.visitor.and_then(|id| self.visitors.get(&id)) else {
                continue;
            };
            v.mailbox.send(&frame);
            if let Some(c) = self.convs.get_mut(&conv) {
                c.last_position = position;
                if c.first_position == 0 {
                    c.first_position = position;
                }
            }
        }
    }

    /// Records a finished wait (join → accept) for the queue's estimate, as seconds per
    /// position the visitor started at.
    fn observe_wait(&mut self, queue: &QueueId, waited: Duration, first_position: u32) {
        let w = waited.as_secs_f64() / f64::from(first_position.max(1));
        let e = self.wait_ewma.entry(queue.clone()).or_insert(w);
        *e = EWMA_ALPHA * w + (1.0 - EWMA_ALPHA) * *e;
    }
}
