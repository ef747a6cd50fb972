//! Property tests of the hub: random sequences of joins, leaves, disconnects, duty changes,
//! breaks, accepts, declines, ends and the passing of time, checked after every step against
//! the routing invariants.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use tokio::sync::mpsc;

use super::{ConnId, Hub, HubConfig, Phase};
use crate::config::Role;
use crate::metrics::Metrics;
use crate::protocol::{Bundle, ConvId, QueueId, Skills};
use crate::relay::conn::{Mailbox, Outbound};

const QUEUES: [&str; 3] = ["da/exit", "da/health", "en/any"];
const VISITORS: u64 = 6;
const COUNSELLORS: u64 = 3;

#[derive(Debug, Clone)]
enum Op {
    Join(u64, usize),
    Leave(u64),
    VisitorDrop(u64),
    DutyOn(u64, bool, bool, u32),
    DutyOff(u64),
    Break(u64, bool),
    Accept(u64, usize),
    Decline(u64, usize),
    End(u64, usize),
    CounsellorDrop(u64),
    Wait(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..VISITORS, 0..QUEUES.len()).prop_map(|(v, q)| Op::Join(v, q)),
        1 => (0..VISITORS).prop_map(Op::Leave),
        1 => (0..VISITORS).prop_map(Op::VisitorDrop),
        2 => (0..COUNSELLORS, any::<bool>(), any::<bool>(), 1..4u32).prop_map(|(c, da, en, cap)| Op::DutyOn(c, da, en, cap)),
        1 => (0..COUNSELLORS).prop_map(Op::DutyOff),
        1 => (0..COUNSELLORS, any::<bool>()).prop_map(|(c, on)| Op::Break(c, on)),
        3 => (0..COUNSELLORS, 0..3usize).prop_map(|(c, i)| Op::Accept(c, i)),
        1 => (0..COUNSELLORS, 0..3usize).prop_map(|(c, i)| Op::Decline(c, i)),
        2 => (0..COUNSELLORS, 0..3usize).prop_map(|(c, i)| Op::End(c, i)),
        1 => (0..COUNSELLORS).prop_map(Op::CounsellorDrop),
        2 => (1..40u64).prop_map(Op::Wait),
    ]
}

/// The model around the hub: which connection id each visitor and counsellor slot has now,
/// and the receivers that keep their mailboxes open.
struct World {
    hub: Hub,
    now: Instant,
    metrics: Metrics,
    visitors: Vec<ConnId>,
    counsellors: Vec<ConnId>,
    next: ConnId,
    receivers: HashMap<ConnId, mpsc::Receiver<Outbound>>,
}

impl World {
    fn new() -> Self {
        let metrics = Metrics::new();
        let cfg = HubConfig {
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
            reconnect_window: Duration::from_secs(30),
            time_zone: jiff::tz::TimeZone::UTC,
            sweep: Duration::from_millis(250),
        };
        let mut w = Self {
            hub: Hub::new(cfg, metrics.clone()),
            now: Instant::now(),
            metrics,
            visitors: Vec::new(),
            counsellors: Vec::new(),
            next: 1,
            receivers: HashMap::new(),
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
        self.hub.visitor_connect(id, mailbox);
        id
    }

    /// Connects the counsellor of `slot`; a reconnect keeps the alias, so it can reclaim.
    fn connect_counsellor(&mut self, slot: u64) -> ConnId {
        let (id, mailbox) = self.mailbox();
        self.hub
            .counsellor_connect(id, mailbox, format!("C{slot}"), Role::Counsellor, self.now);
        id
    }

    /// The conversations offered to (or live with) counsellor `c`, in a stable order.
    fn convs_of(&self, c: ConnId, offered: bool) -> Vec<ConvId> {
        let mut v: Vec<ConvId> = self
            .hub
            .convs
            .iter()
            .filter(|(_, conv)| match conv.phase {
                Phase::Offered { to, .. } => offered && to == c,
                Phase::Live { counsellor } => !offered && counsellor == c,
                Phase::Queued | Phase::Parked { .. } => false,
            })
            .map(|(id, _)| *id)
            .collect();
        v.sort();
        v
    }

    fn apply(&mut self, op: &Op) {
        let now = self.now;
        let v = |i: u64, w: &Self| w.visitors[usize::try_from(i).unwrap()];
        let c = |i: u64, w: &Self| w.counsellors[usize::try_from(i).unwrap()];
        match *op {
            Op::Join(i, q) => {
                let queue: QueueId = QUEUES[q].parse().unwrap();
                let _ = self.hub.visitor_join(v(i, self), queue, now);
            }
            Op::Leave(i) => self.hub.visitor_leave(v(i, self), now),
            Op::VisitorDrop(i) => {
                self.hub.visitor_disconnect(v(i, self), now);
                let id = self.connect_visitor();
                self.visitors[usize::try_from(i).unwrap()] = id;
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
                let _ = self.hub.duty_on(c(i, self), skills, capacity, bundle, now);
            }
            Op::DutyOff(i) => self.hub.duty_off(c(i, self), now),
            Op::Break(i, on) => self.hub.set_break(c(i, self), on, now),
            Op::Accept(i, n) => {
                if let Some(conv) = self.convs_of(c(i, self), true).get(n).copied() {
                    assert!(self.hub.accept(c(i, self), conv, now).is_ok());
                }
            }
            Op::Decline(i, n) => {
                if let Some(conv) = self.convs_of(c(i, self), true).get(n).copied() {
                    assert!(self.hub.decline(c(i, self), conv, now).is_ok());
                }
            }
            Op::End(i, n) => {
                if let Some(conv) = self.convs_of(c(i, self), false).get(n).copied() {
                    assert!(
                        self.hub
                            .end(c(i, self), conv, &Default::default(), now)
                            .is_ok()
                    );
                }
            }
            Op::CounsellorDrop(i) => {
                self.hub.counsellor_disconnect(c(i, self), now);
                let id = self.connect_counsellor(i);
                self.counsellors[usize::try_from(i).unwrap()] = id;
            }
            Op::Wait(secs) => {
                self.now += Duration::from_secs(secs);
                self.hub.tick(self.now);
            }
        }
    }

    /// The routing invariants.
    fn check(&self) -> Result<(), TestCaseError> {
        let hub = &self.hub;
        // Every conversation a counsellor holds is offered to or live with exactly them, and
        // no conversation is held by two counsellors.
        let mut holders: HashMap<ConvId, ConnId> = HashMap::new();
        for (cid, c) in &hub.counsellors {
            for conv in &c.convs {
                prop_assert!(
                    holders.insert(*conv, *cid).is_none(),
                    "conversation held twice"
                );
                let phase = hub.convs.get(conv).map(|x| x.phase);
                let held = matches!(phase, Some(Phase::Offered { to, .. }) if to == *cid)
                    || matches!(phase, Some(Phase::Live { counsellor }) if counsellor == *cid);
                prop_assert!(held, "a counsellor holds a conversation that is not theirs");
            }
            if let Some(d) = &c.duty {
                let offered = c
                    .convs
                    .iter()
                    .filter(|x| matches!(hub.convs[x].phase, Phase::Offered { .. }))
                    .count();
                // An offer is only made into a free slot: with any offer pending, the whole
                // load fits the capacity (live chats alone may exceed a lowered capacity).
                prop_assert!(
                    offered == 0 || c.convs.len() as u32 <= d.capacity,
                    "offer beyond capacity"
                );
            }
        }
        for (id, conv) in &hub.convs {
            match conv.phase {
                Phase::Offered { to, .. } | Phase::Live { counsellor: to } => {
                    prop_assert_eq!(
                        holders.get(id),
                        Some(&to),
                        "conversation not held by its counsellor"
                    );
                }
                Phase::Queued => prop_assert!(!holders.contains_key(id)),
                Phase::Parked { since } => {
                    prop_assert!(!holders.contains_key(id), "a parked chat is held");
                    prop_assert!(
                        conv.parked_for.is_some(),
                        "a parked chat names who may reclaim it"
                    );
                    prop_assert!(
                        self.now.saturating_duration_since(since) < Duration::from_secs(30),
                        "parked past the window"
                    );
                }
            }
            // No visitor is lost: an attached visitor's connection points back at it.
            if let Some(v) = conv.visitor {
                prop_assert_eq!(
                    hub.visitors.get(&v).and_then(|x| x.conv),
                    Some(*id),
                    "visitor lost"
                );
            } else {
                prop_assert!(
                    conv.detached_at.is_some(),
                    "a conversation with no visitor is not detached"
                );
            }
        }
        // Nobody waits while an eligible counsellor has a free slot and has not passed on them.
        for conv in hub
            .convs
            .values()
            .filter(|c| c.phase == Phase::Queued && c.visitor.is_some())
        {
            for (cid, c) in &hub.counsellors {
                let Some(d) = c.duty.as_ref().filter(|_| !c.on_break) else {
                    continue;
                };
                if c.wrap_up_until.is_some_and(|t| t > self.now) {
                    continue;
                }
                let free = (c.convs.len() as u32) < d.capacity;
                let serves = d
                    .skills
                    .langs
                    .iter()
                    .any(|l| l.as_str() == conv.queue.lang());
                let passed = conv.passed.iter().any(|(p, _)| p == cid);
                prop_assert!(
                    !(free && serves && !passed),
                    "a visitor waits while counsellor {} is free",
                    cid
                );
            }
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// After every step of a random session, the routing invariants hold.
    #[test]
    fn routing_invariants_hold(ops in proptest::collection::vec(op(), 1..80)) {
        let mut w = World::new();
        for op in &ops {
            w.apply(op);
            w.check()?;
        }
    }
}

/// Offers go oldest first: three visitors joining in order are offered in that order to a
/// counsellor who takes them one at a time (waiting out the wrap-up between chats).
#[test]
fn fifo_within_a_queue() {
    let mut w = World::new();
    for i in 0..3 {
        w.apply(&Op::Join(i, 0));
    }
    let expected: Vec<ConvId> = (0..3)
        .map(|i| w.hub.visitors[&w.visitors[i]].conv.unwrap())
        .collect();
    w.apply(&Op::DutyOn(0, true, false, 1));
    for conv in expected {
        let c = w.counsellors[0];
        assert_eq!(w.convs_of(c, true), vec![conv], "the oldest is offered");
        w.apply(&Op::Accept(0, 0));
        w.apply(&Op::End(0, 0));
        w.apply(&Op::Wait(21));
    }
}

/// The wait estimate: 60 s per position with no history; from chat lengths and the serving
/// capacity once chats have ended; from finished waits once visitors have been served.
#[test]
fn wait_estimate_method() {
    let mut w = World::new();
    let q: QueueId = "da/exit".parse().unwrap();
    assert_eq!(w.hub.eta_s(&q, 3), 180, "no history: a minute per position");
    // A chat of 10 minutes ends (accepted at once, so no wait is recorded yet).
    w.hub.handle_ewma.insert(q.clone(), 600.0);
    w.apply(&Op::DutyOn(0, true, false, 2));
    assert_eq!(w.hub.eta_s(&q, 1), 600, "first round of two slots");
    assert_eq!(w.hub.eta_s(&q, 3), 1200, "second round");
    // Finished waits take over: 90 s per position, rounded up to whole minutes.
    w.hub.wait_ewma.insert(q.clone(), 90.0);
    assert_eq!(w.hub.eta_s(&q, 2), 180);
    assert_eq!(w.hub.eta_s(&q, 1), 120);
}
