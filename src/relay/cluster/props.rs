//! Property tests of the engine over `MemoryStore`, and over `RedisStore` on a real
//! `redis-server` started on a free port (flushed between cases): random sequences of joins,
//! leaves, dropped and returning visitors, duty changes, breaks, accepts, declines, ends,
//! dropped and returning counsellors and time passing, each followed by a routing run, checked
//! after every step against the routing invariants — on the node's own view and on the
//! store's, and on the two agreeing.
//!
//! Time is virtual (`crate::clock`): the engine and the store read one `VirtualClock`, and a
//! `Pass` step moves it by up to 90 s, then runs the node's renewals and a sweep as its ticker
//! would. Offers expire, wrap-ups end, parked chats go back to the queue and dropped visitors'
//! conversations lapse within a case, and the invariants say they do so on time.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use tokio::sync::mpsc;

use super::{Cluster, CounsellorOp, VisitorOp};
use crate::clock::{Clock, VirtualClock};
use crate::metrics::Metrics;
use crate::protocol::{Bundle, ConvId, QueueId, Skills, Tags};
use crate::relay::conn::{ConnId, Mailbox, Outbound};
use crate::relay::settings::Settings;
use crate::store::{Lifetimes, MemoryStore, RedisStore, Store};

#[path = "../../../tests/support/redis_server.rs"]
mod redis_server;

const QUEUES: [&str; 3] = ["da/exit", "da/health", "en/any"];
const VISITORS: usize = 6;
const COUNSELLORS: usize = 3;

#[derive(Debug, Clone)]
enum Op {
    Join(usize, usize),
    Leave(usize),
    VisitorDrop(usize),
    DutyOn(usize, bool, bool, u32),
    DutyOff(usize),
    Break(usize, bool),
    Accept(usize, usize),
    Decline(usize, usize),
    End(usize, usize),
    CounsellorDrop(usize),
    /// Seconds of virtual time pass.
    Pass(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..VISITORS, 0..QUEUES.len()).prop_map(|(v, q)| Op::Join(v, q)),
        1 => (0..VISITORS).prop_map(Op::Leave),
        1 => (0..VISITORS).prop_map(Op::VisitorDrop),
        2 => (0..COUNSELLORS, any::<bool>(), any::<bool>(), 1..4u32)
            .prop_map(|(c, da, en, cap)| Op::DutyOn(c, da, en, cap)),
        1 => (0..COUNSELLORS).prop_map(Op::DutyOff),
        1 => (0..COUNSELLORS, any::<bool>()).prop_map(|(c, on)| Op::Break(c, on)),
        3 => (0..COUNSELLORS, 0..3usize).prop_map(|(c, i)| Op::Accept(c, i)),
        1 => (0..COUNSELLORS, 0..3usize).prop_map(|(c, i)| Op::Decline(c, i)),
        2 => (0..COUNSELLORS, 0..3usize).prop_map(|(c, i)| Op::End(c, i)),
        1 => (0..COUNSELLORS).prop_map(Op::CounsellorDrop),
        2 => (1..=90u64).prop_map(Op::Pass),
    ]
}

/// The engine and the connection each visitor and counsellor slot has now.
struct World {
    engine: Arc<Cluster>,
    store: Arc<dyn Store>,
    metrics: Metrics,
    visitors: Vec<ConnId>,
    counsellors: Vec<ConnId>,
    next: ConnId,
    /// Keeps every mailbox open.
    receivers: HashMap<ConnId, mpsc::Receiver<Outbound>>,
    /// The clock the engine and the store read.
    clock: VirtualClock,
    /// When the ticker last renewed the leases (`Cluster::sweep`).
    last_keep: Option<Instant>,
    /// Conversations whose visitor dropped and never came back, with when.
    dropped: HashMap<ConvId, Instant>,
    /// Each counsellor's pending offers after the last step.
    offers_seen: HashMap<ConnId, HashSet<ConvId>>,
}

impl World {
    fn new() -> Self {
        let (clock, v) = Clock::virtual_clock();
        Self::over(
            v,
            Arc::new(MemoryStore::new(Lifetimes::default()).with_clock(clock)),
        )
    }

    fn over(clock: VirtualClock, store: Arc<dyn Store>) -> Self {
        let metrics = Metrics::new();
        let cfg = Settings {
            offer_timeout: Duration::from_secs(30),
            reoffer_after: Duration::from_secs(60),
            max_queue_len: 4,
            max_waiting_total: 5,
            queues: QUEUES.iter().map(|q| q.parse().unwrap()).collect(),
            resume_window: Duration::from_secs(120),
            callback_ttl: Duration::from_secs(3600),
            max_callbacks: 10,
            priority_topics: vec!["health".into()],
            wrap_up: Duration::from_secs(20),
            max_missed_offers: 2,
            reconnect_window: Duration::from_secs(60),
            time_zone: jiff::tz::TimeZone::UTC,
            sweep: Duration::from_millis(250),
            clock: Clock::Virtual(clock.clone()),
        };
        let engine = Cluster::new(Arc::clone(&store), cfg, metrics.clone());
        let mut w = Self {
            engine,
            store,
            metrics,
            visitors: Vec::new(),
            counsellors: Vec::new(),
            next: 1,
            receivers: HashMap::new(),
            clock,
            last_keep: None,
            dropped: HashMap::new(),
            offers_seen: HashMap::new(),
        };
        for _ in 0..VISITORS {
            let id = w.connect_visitor();
            w.visitors.push(id);
        }
        for slot in 0..COUNSELLORS {
            let id = w.connect_counsellor(slot);
            w.counsellors.push(id);
        }
        w
    }

    fn mailbox(&mut self) -> (ConnId, Mailbox) {
        let id = self.next;
        self.next += 1;
        let (mailbox, rx) = Mailbox::new(100_000, self.metrics.clone());
        self.receivers.insert(id, rx);
        (id, mailbox)
    }

    fn connect_visitor(&mut self) -> ConnId {
        let (id, mailbox) = self.mailbox();
        self.engine.visitor_connect(id, mailbox);
        id
    }

    /// Connects the counsellor of `slot`; a reconnect keeps the alias, so it can reclaim.
    fn connect_counsellor(&mut self, slot: usize) -> ConnId {
        let (id, mailbox) = self.mailbox();
        self.engine
            .counsellor_connect(id, mailbox, format!("C{slot}"));
        id
    }

    /// Counsellor `c`'s pending offers (or live chats), in a stable order.
    fn convs_of(&self, c: ConnId, offered: bool) -> Vec<ConvId> {
        let local = self.engine.local();
        let Some(lc) = local.counsellors.get(&c) else {
            return Vec::new();
        };
        let mut v: Vec<ConvId> = if offered {
            lc.offers.keys().copied().collect()
        } else {
            lc.live.keys().copied().collect()
        };
        v.sort();
        v
    }

    async fn apply(&mut self, op: &Op) {
        let e = Arc::clone(&self.engine);
        let (v, c) = (|i: usize| self.visitors[i], |i: usize| self.counsellors[i]);
        // Refusals are answers (a full queue, an unknown conversation): the invariants must
        // hold whatever the answer.
        match *op {
            Op::Join(i, q) => {
                let queue: QueueId = QUEUES[q].parse().unwrap();
                let _ = e.visitor_op(v(i), VisitorOp::Join(queue, None)).await;
            }
            Op::Leave(i) => {
                let _ = e.visitor_op(v(i), VisitorOp::Leave).await;
            }
            Op::VisitorDrop(i) => {
                let conv = {
                    let local = e.local();
                    local
                        .visitors
                        .get(&v(i))
                        .and_then(|v| Some(v.conv.as_ref()?.conv))
                };
                if let Some(conv) = conv {
                    self.dropped.insert(conv, self.clock.now());
                }
                let _ = e.visitor_op(v(i), VisitorOp::Disconnect).await;
                self.visitors[i] = self.connect_visitor();
            }
            Op::DutyOn(i, da, en, capacity) => {
                let mut langs = vec![];
                if da || !en {
                    langs.push("da".parse().unwrap());
                }
                if en {
                    langs.push("en".parse().unwrap());
                }
                let skills = Skills {
                    langs,
                    topics: vec!["any".parse().unwrap()],
                };
                let bundle = Bundle {
                    id_cert: vec![1],
                    shift_cert: vec![2],
                };
                let duty = CounsellorOp::DutyOn(skills, capacity, bundle);
                let _ = e.counsellor_op(c(i), duty).await;
            }
            Op::DutyOff(i) => {
                let _ = e.counsellor_op(c(i), CounsellorOp::DutyOff).await;
            }
            Op::Break(i, on) => {
                let _ = e.counsellor_op(c(i), CounsellorOp::Break(on)).await;
            }
            Op::Accept(i, n) => {
                if let Some(conv) = self.convs_of(c(i), true).get(n).copied() {
                    let r = e.counsellor_op(c(i), CounsellorOp::Accept(conv)).await;
                    assert!(r.is_ok(), "a pending offer could not be accepted: {r:?}");
                }
            }
            Op::Decline(i, n) => {
                if let Some(conv) = self.convs_of(c(i), true).get(n).copied() {
                    let r = e.counsellor_op(c(i), CounsellorOp::Decline(conv)).await;
                    assert!(r.is_ok(), "a pending offer could not be declined: {r:?}");
                }
            }
            Op::End(i, n) => {
                if let Some(conv) = self.convs_of(c(i), false).get(n).copied() {
                    let end = CounsellorOp::End(conv, Tags::default());
                    let r = e.counsellor_op(c(i), end).await;
                    assert!(r.is_ok(), "a live chat could not be ended: {r:?}");
                }
            }
            Op::CounsellorDrop(i) => {
                let _ = e.counsellor_op(c(i), CounsellorOp::Disconnect).await;
                self.counsellors[i] = self.connect_counsellor(i);
            }
            Op::Pass(secs) => {
                // As the ticker does at each step of virtual time.
                self.clock.advance(Duration::from_secs(secs));
                e.renewals().await;
                e.sweep(&mut self.last_keep).await;
            }
        }
        // Routing runs on events; here, after every step.
        self.engine.route().await;
    }

    /// The routing invariants.
    async fn check(&mut self) -> Result<(), TestCaseError> {
        self.check_step().await?;
        self.offers_seen = self
            .engine
            .local()
            .counsellors
            .iter()
            .map(|(id, c)| (*id, c.offers.keys().copied().collect()))
            .collect();
        Ok(())
    }

    async fn check_step(&self) -> Result<(), TestCaseError> {
        let queues: Vec<QueueId> = QUEUES.iter().map(|q| q.parse().unwrap()).collect();
        let waiting = self.store.waiting(&queues).await.unwrap();
        let live: HashMap<ConvId, String> = self.store.live().await.unwrap().into_iter().collect();
        let waiting_ids: HashSet<ConvId> = waiting.iter().map(|w| w.conv).collect();
        let offered_in_store: HashMap<ConvId, String> = waiting
            .iter()
            .filter_map(|w| Some((w.conv, w.offered_to.clone()?)))
            .collect();
        let name = |id: ConnId| self.engine.name(id);
        let mut loads = HashMap::new();
        for id in &self.counsellors {
            loads.insert(*id, self.store.load(&name(*id)).await.unwrap());
        }
        let now = self.clock.now();
        let cfg = &self.engine.cfg;
        let local = self.engine.local();
        let mut held: HashSet<ConvId> = HashSet::new();
        for (id, c) in &local.counsellors {
            for (conv, (_, offered_at, _)) in &c.offers {
                prop_assert!(
                    now.duration_since(*offered_at) < cfg.offer_timeout,
                    "an offer outlived its deadline"
                );
                prop_assert!(held.insert(*conv), "a conversation is held twice");
                prop_assert_eq!(
                    offered_in_store.get(conv),
                    Some(&name(*id)),
                    "an offer the console has is not the store's"
                );
            }
            for conv in c.live.keys() {
                prop_assert!(held.insert(*conv), "a conversation is held twice");
                prop_assert_eq!(
                    live.get(conv),
                    Some(&name(*id)),
                    "a live chat the console has is not the store's"
                );
            }
            let load = u32::try_from(c.offers.len() + c.live.len()).unwrap();
            prop_assert_eq!(
                loads.get(id).copied(),
                Some(load),
                "the store's load is not the console's"
            );
            if let Some(d) = &c.duty {
                // No offer is made during a wrap-up: a counsellor in one has no offer the
                // last step did not leave them (each step ends chats before it routes).
                if d.wrap_up_until_ms > self.clock.unix_ms() {
                    let before = self.offers_seen.get(id);
                    prop_assert!(
                        c.offers
                            .keys()
                            .all(|o| before.is_some_and(|b| b.contains(o))),
                        "an offer was made during a wrap-up"
                    );
                }
                // An offer is only made into a free slot: with any offer pending, the whole
                // load fits the capacity (live chats alone may exceed a lowered capacity).
                prop_assert!(
                    c.offers.is_empty() || load <= d.capacity,
                    "offer beyond capacity"
                );
            }
        }
        // Every offer and live chat in the store is held by a connected counsellor, or (live)
        // parked for one who dropped.
        let parked: HashSet<ConvId> = local
            .parked
            .values()
            .flat_map(|p| p.duty.parked.iter().map(|(c, _)| *c))
            .collect();
        for conv in offered_in_store.keys() {
            prop_assert!(held.contains(conv), "an offer nobody holds");
        }
        for conv in live.keys() {
            prop_assert!(
                held.contains(conv) || parked.contains(conv),
                "a live chat nobody holds"
            );
        }
        // Chats wait for a dropped counsellor for the reconnect window, no longer.
        for p in local.parked.values() {
            prop_assert!(
                now.duration_since(p.since) < cfg.reconnect_window,
                "a parked chat outlived the reconnect window"
            );
        }
        // A visitor who dropped and never resumed is gone once the resume window passed.
        for (conv, at) in &self.dropped {
            if now.duration_since(*at) >= cfg.resume_window {
                prop_assert!(
                    !waiting_ids.contains(conv) && !live.contains_key(conv),
                    "a dropped visitor's conversation outlived the resume window"
                );
            }
        }
        // The index of who holds each conversation is exactly the visitors' conversations.
        let holders: HashMap<ConvId, ConnId> = local
            .visitors
            .iter()
            .filter_map(|(id, v)| Some((v.conv.as_ref()?.conv, *id)))
            .collect();
        prop_assert_eq!(&holders, &local.visitor_of, "the visitor index is stale");
        // No visitor is lost: a visitor in a conversation finds it waiting or live.
        for v in local.visitors.values() {
            if let Some(c) = &v.conv {
                prop_assert!(
                    waiting_ids.contains(&c.conv) || live.contains_key(&c.conv),
                    "a visitor's conversation is gone from the store"
                );
            }
        }
        // Nobody waits while a counsellor who serves them has a free slot, is on duty, not
        // on a break, and has not passed on them.
        let present: HashSet<ConvId> = local
            .visitors
            .values()
            .filter_map(|v| v.conv.as_ref().map(|c| c.conv))
            .collect();
        for w in waiting
            .iter()
            .filter(|w| w.offered_to.is_none() && present.contains(&w.conv))
        {
            for (id, c) in &local.counsellors {
                let Some(d) = c.duty.as_ref().filter(|d| !d.on_break) else {
                    continue;
                };
                if d.wrap_up_until_ms > self.clock.unix_ms() {
                    continue;
                }
                let free = c.offers.len() + c.live.len() < d.capacity as usize;
                let serves = d.skills.langs.iter().any(|l| l.as_str() == w.queue.lang());
                let passed = w.passed.iter().any(|(p, _)| *p == name(*id));
                prop_assert!(
                    !(free && serves && !passed),
                    "a visitor waits while counsellor {} is free",
                    id
                );
            }
        }
        Ok(())
    }
}

/// After every step of a random session, the routing invariants hold.
#[test]
fn routing_invariants_hold() {
    invariants_hold(200, || async { World::new() });
}

/// The same over `RedisStore`: each case on a flushed `redis-server`.
#[test]
fn routing_invariants_hold_over_redis() {
    let redis = redis_server::RedisServer::start();
    let client = redis.client();
    invariants_hold(100, || {
        let client = client.clone();
        let url = redis.url();
        async move {
            let mut con = client.get_multiplexed_async_connection().await.unwrap();
            let () = redis::cmd("FLUSHALL").query_async(&mut con).await.unwrap();
            let (clock, v) = Clock::virtual_clock();
            let store = RedisStore::open(&url, Lifetimes::default()).unwrap();
            World::over(v, Arc::new(store.with_clock(clock)))
        }
    });
}

/// Runs `cases` random sessions on worlds made by `world`, checking after every step.
fn invariants_hold<F: std::future::Future<Output = World>>(cases: u32, world: impl Fn() -> F) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    // Steps after which some chat was live: a store that refused everything would pass
    // the invariants vacuously.
    let live_steps = std::cell::Cell::new(0u32);
    let result = runner.run(&proptest::collection::vec(op(), 1..60), |ops| {
        runtime.block_on(async {
            let mut w = world().await;
            for op in &ops {
                w.apply(op).await;
                w.check().await?;
                let live = w
                    .engine
                    .local()
                    .counsellors
                    .values()
                    .any(|c| !c.live.is_empty());
                live_steps.set(live_steps.get() + u32::from(live));
            }
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(live_steps.get() > 0, "no case ever had a chat live");
}

/// Offers go oldest first: three visitors joining in order are offered in that order to a
/// counsellor who takes them one at a time.
#[test]
fn fifo_within_a_queue() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut w = World::new();
        for i in 0..3 {
            w.apply(&Op::Join(i, 0)).await;
        }
        let expected: Vec<ConvId> = (0..3)
            .map(|i| {
                let local = w.engine.local();
                local.visitors[&w.visitors[i]].conv.as_ref().unwrap().conv
            })
            .collect();
        w.apply(&Op::DutyOn(0, true, false, 1)).await;
        let mut served = Vec::new();
        for _ in 0..3 {
            let offered = w.convs_of(w.counsellors[0], true);
            assert_eq!(offered.len(), 1, "one offer into one slot");
            served.push(offered[0]);
            w.apply(&Op::Accept(0, 0)).await;
            w.apply(&Op::End(0, 0)).await;
            // The wrap-up.
            w.apply(&Op::Pass(20)).await;
        }
        assert_eq!(served, expected);
    });
}
