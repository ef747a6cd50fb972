//! Routing decisions as pure functions over a snapshot of the relay's state: who is offered to
//! whom. No I/O, no clocks of its own (time comes in as `now`), no knowledge of sockets.
//!
//! The rules: visitors are served in `Order`: first those put back at the front of a queue
//! (after a transfer or a lost counsellor), then priority topics (e.g. trafficking), then
//! oldest first across all queues; a counsellor is eligible for a queue when they speak its language and
//! serve its topic (or the queue's topic is `any`, or they serve `any`), are on duty, not on
//! break and under capacity. Among eligible counsellors the one with the most free slots
//! wins, then the one free the longest. A counsellor who declined a visitor or let the offer
//! expire is not offered that visitor again for `reoffer_after`, unless that time has passed.

pub mod hours;

use std::time::{Duration, Instant};

use crate::protocol::{ConvId, QueueId};

/// A counsellor's connection id, as the relay numbers them.
pub type CounsellorId = u64;

/// Who goes first: lower sorts first, field by field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Order {
    /// 0 for a visitor put back at the front of a queue, 1 otherwise.
    pub tier: u8,
    /// 0 for a priority topic, 1 otherwise.
    pub priority: u8,
    /// Join sequence: oldest first within equal tier and priority.
    pub seq: u64,
}

impl Order {
    /// A visitor joining normally.
    pub fn joined(priority: bool, seq: u64) -> Self {
        Self {
            tier: 1,
            priority: u8::from(!priority),
            seq,
        }
    }

    /// A visitor put back at the front.
    pub fn front(priority: bool, seq: u64) -> Self {
        Self {
            tier: 0,
            priority: u8::from(!priority),
            seq,
        }
    }
}

/// A visitor waiting for an offer.
#[derive(Debug, Clone)]
pub struct Waiting {
    /// The conversation.
    pub conv: ConvId,
    /// The queue the visitor waits in.
    pub queue: QueueId,
    /// Sort key: lower goes first.
    pub order: Order,
    /// Counsellors who passed on this visitor, and when.
    pub passed: Vec<(CounsellorId, Instant)>,
}

/// A counsellor who could take an offer now.
#[derive(Debug, Clone)]
pub struct Available {
    /// The counsellor.
    pub id: CounsellorId,
    /// Languages spoken.
    pub langs: Vec<String>,
    /// Topics served; `any` serves every topic.
    pub topics: Vec<String>,
    /// Capacity minus live chats and pending offers.
    pub free: u32,
    /// Since when they have had a free slot (longest free wins a tie).
    pub free_since: Instant,
}

impl Available {
    /// Whether this counsellor serves `queue`.
    pub fn serves(&self, queue: &QueueId) -> bool {
        let topic_ok =
            queue.topic() == "any" || self.topics.iter().any(|t| t == "any" || t == queue.topic());
        topic_ok && self.langs.iter().any(|l| l == queue.lang())
    }
}

/// Decides which waiting visitors are offered to which counsellors now. `waiting` may be in
/// any order; the result is in the order the offers should be made.
pub fn assign(
    waiting: &[Waiting],
    counsellors: &[Available],
    now: Instant,
    reoffer_after: Duration,
) -> Vec<(ConvId, CounsellorId)> {
    let mut order: Vec<&Waiting> = waiting.iter().collect();
    order.sort_by_key(|w| w.order);
    let mut pool: Vec<Available> = counsellors.iter().filter(|c| c.free > 0).cloned().collect();
    let mut out = Vec::new();
    for w in order {
        let recently_passed = |id: CounsellorId| {
            w.passed
                .iter()
                .any(|(p, at)| *p == id && now.saturating_duration_since(*at) < reoffer_after)
        };
        let best = pool
            .iter_mut()
            .filter(|c| c.free > 0 && c.serves(&w.queue) && !recently_passed(c.id))
            .max_by(|a, b| {
                a.free
                    .cmp(&b.free)
                    .then(b.free_since.cmp(&a.free_since))
                    .then(b.id.cmp(&a.id))
            });
        if let Some(c) = best {
            c.free -= 1;
            out.push((w.conv, c.id));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiting(n: u8, queue: &str, seq: u64) -> Waiting {
        Waiting {
            conv: ConvId([n; 16]),
            queue: queue.parse().unwrap(),
            order: Order::joined(false, seq),
            passed: vec![],
        }
    }

    fn counsellor(id: u64, langs: &[&str], topics: &[&str], free: u32, t: Instant) -> Available {
        Available {
            id,
            langs: langs.iter().map(|s| s.to_string()).collect(),
            topics: topics.iter().map(|s| s.to_string()).collect(),
            free,
            free_since: t,
        }
    }

    /// The oldest visitor is served first and capacity is never exceeded.
    #[test]
    fn oldest_first_within_capacity() {
        let now = Instant::now();
        let w = [
            waiting(2, "da/exit", 2),
            waiting(1, "da/exit", 1),
            waiting(3, "da/exit", 3),
        ];
        let c = [counsellor(7, &["da"], &["exit"], 2, now)];
        let got = assign(&w, &c, now, Duration::from_secs(60));
        assert_eq!(got, vec![(ConvId([1; 16]), 7), (ConvId([2; 16]), 7)]);
    }

    /// Skills decide eligibility: language must match, topic must match unless `any`.
    #[test]
    fn skills_match() {
        let now = Instant::now();
        let w = [waiting(1, "en/any", 1), waiting(2, "da/health", 2)];
        let c = [counsellor(1, &["da"], &["exit"], 2, now)];
        assert!(assign(&w, &c, now, Duration::ZERO).is_empty());
        let c = [counsellor(1, &["da", "en"], &["any"], 2, now)];
        assert_eq!(assign(&w, &c, now, Duration::ZERO).len(), 2);
    }

    /// A counsellor who passed recently is skipped for that visitor, and considered again
    /// once `reoffer_after` has passed.
    #[test]
    fn passed_counsellor_is_skipped_for_a_while() {
        let now = Instant::now();
        let mut w = waiting(1, "da/exit", 1);
        w.passed.push((1, now));
        let c = [
            counsellor(1, &["da"], &["exit"], 1, now),
            counsellor(2, &["da"], &["exit"], 1, now),
        ];
        assert_eq!(
            assign(&[w.clone()], &c, now, Duration::from_secs(60)),
            vec![(w.conv, 2)]
        );
        let only_first = [c[0].clone()];
        assert!(assign(&[w.clone()], &only_first, now, Duration::from_secs(60)).is_empty());
        let later = now + Duration::from_secs(61);
        assert_eq!(
            assign(&[w.clone()], &only_first, later, Duration::from_secs(60)),
            vec![(w.conv, 1)]
        );
    }

    /// A priority topic goes before older visitors of other topics; the front tier before both.
    #[test]
    fn priority_and_front() {
        let now = Instant::now();
        let mut old = waiting(1, "da/exit", 1);
        let mut urgent = waiting(2, "da/trafficking", 5);
        urgent.order = Order::joined(true, 5);
        let c = [counsellor(1, &["da"], &["any"], 1, now)];
        assert_eq!(
            assign(&[old.clone(), urgent.clone()], &c, now, Duration::ZERO),
            vec![(urgent.conv, 1)]
        );
        old.order = Order::front(false, 9);
        assert_eq!(
            assign(&[old.clone(), urgent], &c, now, Duration::ZERO),
            vec![(old.conv, 1)]
        );
    }

    /// Load is spread: the counsellor with the most free slots is offered first.
    #[test]
    fn most_free_slots_wins() {
        let now = Instant::now();
        let c = [
            counsellor(1, &["da"], &["any"], 1, now),
            counsellor(2, &["da"], &["any"], 2, now),
        ];
        let got = assign(&[waiting(1, "da/exit", 1)], &c, now, Duration::ZERO);
        assert_eq!(got, vec![(ConvId([1; 16]), 2)]);
    }
}
