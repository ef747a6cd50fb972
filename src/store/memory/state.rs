//! The in-process state behind `MemoryStore` and the small operations on it.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Instant;

use tokio::sync::mpsc;

use crate::protocol::{ConvId, QueueId};
use crate::store::{InboxEvent, Kept, MAX_BYTES, MAX_FRAMES, OnDuty, Presence, Side};

#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) routing: Routing,
    /// When routing state was last written; it all expires `route_ttl` after that.
    pub(super) route_touched: Option<Instant>,
    pub(super) buffers: HashMap<(ConvId, Side), Buffer>,
    /// Conversation records: token hash and attached connections.
    pub(super) records: HashMap<ConvId, Record>,
    /// Node → alive until, and when it is indexed in `deadlines`.
    pub(super) alive: HashMap<String, (Instant, Option<Instant>)>,
    /// When buffers, records and liveness expire: expiry looks only at what is due.
    pub(super) deadlines: Deadlines,
    pub(super) inboxes: HashMap<String, Vec<Subscriber>>,
    /// The generation of the routing state (see `Store::generation`); empty until asked.
    pub(super) generation: String,
    /// `Store::count`: tag → count and the end of its window.
    pub(super) counters: HashMap<String, (u64, Instant)>,
    /// Pending callback requests.
    pub(super) callbacks: super::shared::CallbackList,
    /// Each node's counts per day.
    pub(super) stats: super::shared::DayCounts,
}

/// What expires on its own in `State`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Expiring {
    Buffer(ConvId, Side),
    Record(ConvId),
    Alive(String),
}

/// An index of deadlines, so that expiry costs O(log n) per expired item and nothing per
/// live one (as mini-redis's `db.rs` does).
///
/// Each item keeps its exact `until` and the time it is indexed at, which is never later
/// than `until`: renewing an item to a later deadline (every append) touches only the item;
/// when its index entry comes due and the item has been renewed, it is indexed again at its
/// `until`. An entry whose item is gone, or indexed at another time, is stale and skipped.
#[derive(Debug, Default)]
pub(super) struct Deadlines {
    index: BTreeSet<(Instant, Expiring)>,
}

impl Deadlines {
    /// The item `key` now expires at `until`; `indexed` is its index time, updated here.
    pub(super) fn schedule(
        &mut self,
        key: Expiring,
        indexed: &mut Option<Instant>,
        until: Instant,
    ) {
        match *indexed {
            Some(at) if at <= until => {}
            Some(at) => {
                self.index.remove(&(at, key.clone()));
                self.index.insert((until, key));
                *indexed = Some(until);
            }
            None => {
                self.index.insert((until, key));
                *indexed = Some(until);
            }
        }
    }

    /// The next entry due at or before `now`.
    fn pop_due(&mut self, now: Instant) -> Option<(Instant, Expiring)> {
        if self.index.first().is_some_and(|(at, _)| *at <= now) {
            self.index.pop_first()
        } else {
            None
        }
    }
}

impl State {
    /// Drops every buffer, record and liveness whose deadline passed; looks only at index
    /// entries that are due.
    pub(super) fn expire(&mut self, now: Instant) {
        while let Some((at, key)) = self.deadlines.pop_due(now) {
            let (until, indexed) = match &key {
                Expiring::Buffer(conv, side) => match self.buffers.get_mut(&(*conv, *side)) {
                    Some(b) => (b.until, &mut b.indexed),
                    None => continue,
                },
                Expiring::Record(conv) => match self.records.get_mut(conv) {
                    Some(r) => (r.until, &mut r.indexed),
                    None => continue,
                },
                Expiring::Alive(node) => match self.alive.get_mut(node) {
                    Some((until, indexed)) => (*until, indexed),
                    None => continue,
                },
            };
            if *indexed != Some(at) {
                continue;
            }
            if until > now {
                *indexed = None;
                self.deadlines.schedule(key, indexed, until);
                continue;
            }
            match key {
                Expiring::Buffer(conv, side) => {
                    self.buffers.remove(&(conv, side));
                }
                Expiring::Record(conv) => {
                    self.records.remove(&conv);
                }
                Expiring::Alive(node) => {
                    self.alive.remove(&node);
                }
            }
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct Routing {
    pub(super) seq: u64,
    /// Per queue: order score → conversation.
    pub(super) queues: HashMap<QueueId, BTreeMap<u64, ConvId>>,
    /// Waiting conversation → its queue and order score.
    pub(super) queue_of: HashMap<ConvId, (QueueId, u64)>,
    /// Pending offer → counsellor and deadline.
    pub(super) offers: HashMap<ConvId, (String, Instant)>,
    /// Pending offers by deadline (expiry looks only at what is due).
    pub(super) offer_due: BTreeSet<(Instant, ConvId)>,
    pub(super) live: HashMap<ConvId, String>,
    pub(super) load: HashMap<String, u32>,
    pub(super) passed: HashMap<ConvId, Vec<(String, Instant)>>,
    /// Counsellor → their duty and presence deadline.
    pub(super) duty: HashMap<String, (Vec<u8>, Instant)>,
    /// Presence by deadline.
    pub(super) duty_due: BTreeSet<(Instant, String)>,
    /// Counsellor → the conversations they hold, live or offered (so a gone counsellor's
    /// are found without a scan).
    pub(super) held: HashMap<String, BTreeSet<ConvId>>,
    /// Counsellor → what their presence declares to the indexes (see `Presence`).
    pub(super) presence: HashMap<String, (String, u32)>,
    /// Present counsellors with a slot open to routing: `load < open` (`Store::open_duty`).
    pub(super) free: BTreeSet<String>,
    /// (alias, counsellor) of every present counsellor (`Store::on_duty_as`).
    pub(super) by_alias: BTreeSet<(String, String)>,
    /// (alias, counsellor) of every parked presence (`Store::parked_as`).
    pub(super) parked_by_alias: BTreeSet<(String, String)>,
    /// Conversation → lease deadline.
    pub(super) lease: HashMap<ConvId, Instant>,
    /// Leases by deadline.
    pub(super) lease_due: BTreeSet<(Instant, ConvId)>,
    /// Conversation → when it joined.
    pub(super) joined: HashMap<ConvId, Instant>,
}

#[derive(Debug)]
pub(super) struct Record {
    pub(super) token_hash: [u8; 32],
    pub(super) visitor: Option<String>,
    pub(super) counsellor: Option<String>,
    pub(super) until: Instant,
    /// When it is indexed in `Deadlines`.
    pub(super) indexed: Option<Instant>,
}

impl Record {
    pub(super) fn end(&mut self, side: Side) -> &mut Option<String> {
        match side {
            Side::Visitor => &mut self.visitor,
            Side::Counsellor => &mut self.counsellor,
        }
    }
}

#[derive(Debug)]
pub(super) struct Buffer {
    pub(super) frames: VecDeque<Kept>,
    pub(super) bytes: usize,
    /// Highest counter dropped unacknowledged.
    pub(super) lost: Option<u64>,
    /// Highest counter kept in this epoch: an append at or below it is a retry, not kept.
    pub(super) last: Option<u64>,
    /// Expires at (set by the append that creates it).
    pub(super) until: Instant,
    /// When it is indexed in `Deadlines`.
    pub(super) indexed: Option<Instant>,
}

#[derive(Debug)]
pub(super) struct Subscriber {
    pub(super) tx: mpsc::Sender<InboxEvent>,
    /// A payload was dropped because the inbox was full; `Gap` is owed.
    pub(super) gap: bool,
}

impl Routing {
    /// `conv`'s lease now ends at `until`.
    pub(super) fn set_lease(&mut self, conv: ConvId, until: Instant) {
        if let Some(old) = self.lease.insert(conv, until) {
            self.lease_due.remove(&(old, conv));
        }
        self.lease_due.insert((until, conv));
    }

    pub(super) fn drop_lease(&mut self, conv: ConvId) {
        if let Some(old) = self.lease.remove(&conv) {
            self.lease_due.remove(&(old, conv));
        }
    }

    /// Offers `conv` to `counsellor` until `due` (the caller counts the slot).
    pub(super) fn put_offer(&mut self, conv: ConvId, counsellor: String, due: Instant) {
        self.hold(&counsellor, conv);
        if let Some((old_c, old)) = self.offers.insert(conv, (counsellor, due)) {
            self.offer_due.remove(&(old, conv));
            self.release(&old_c, conv);
        }
        self.offer_due.insert((due, conv));
    }

    /// Removes `conv`'s pending offer (the caller frees the slot).
    pub(super) fn drop_offer(&mut self, conv: ConvId) -> Option<String> {
        let (counsellor, due) = self.offers.remove(&conv)?;
        self.offer_due.remove(&(due, conv));
        self.release(&counsellor, conv);
        Some(counsellor)
    }

    /// `conv` is live with `counsellor`.
    pub(super) fn set_live(&mut self, conv: ConvId, counsellor: String) {
        self.hold(&counsellor, conv);
        if let Some(old) = self.live.insert(conv, counsellor) {
            self.release(&old, conv);
        }
    }

    /// `conv` is no longer live; returns who it was live with.
    pub(super) fn unset_live(&mut self, conv: ConvId) -> Option<String> {
        let counsellor = self.live.remove(&conv)?;
        self.release(&counsellor, conv);
        Some(counsellor)
    }

    fn hold(&mut self, counsellor: &str, conv: ConvId) {
        self.held
            .entry(counsellor.to_owned())
            .or_default()
            .insert(conv);
    }

    /// Forgets that `counsellor` holds `conv` (unless it is still live with them or
    /// offered to them).
    fn release(&mut self, counsellor: &str, conv: ConvId) {
        let still = self.live.get(&conv).is_some_and(|c| c == counsellor)
            || self.offers.get(&conv).is_some_and(|(c, _)| c == counsellor);
        if still {
            return;
        }
        if let Some(set) = self.held.get_mut(counsellor) {
            set.remove(&conv);
            if set.is_empty() {
                self.held.remove(counsellor);
            }
        }
    }

    /// `counsellor` is present with `duty` until `until`.
    pub(super) fn set_duty(
        &mut self,
        counsellor: String,
        duty: Vec<u8>,
        presence: Presence<'_>,
        until: Instant,
    ) {
        if let Some((_, old)) = self.duty.insert(counsellor.clone(), (duty, until)) {
            self.duty_due.remove(&(old, counsellor.clone()));
        }
        self.duty_due.insert((until, counsellor.clone()));
        let alias = presence.alias.to_owned();
        if let Some((old, _)) = self
            .presence
            .insert(counsellor.clone(), (alias.clone(), presence.open))
        {
            let key = (old, counsellor.clone());
            self.by_alias.remove(&key);
            self.parked_by_alias.remove(&key);
        }
        if presence.parked {
            self.parked_by_alias
                .insert((alias.clone(), counsellor.clone()));
        }
        self.by_alias.insert((alias, counsellor.clone()));
        self.refresh(&counsellor);
    }

    /// Moves `counsellor`'s presence deadline to `until`; false when they have none.
    pub(super) fn extend_duty(&mut self, counsellor: &str, until: Instant) -> bool {
        let Some((_, at)) = self.duty.get_mut(counsellor) else {
            return false;
        };
        let old = std::mem::replace(at, until);
        self.duty_due.remove(&(old, counsellor.to_owned()));
        self.duty_due.insert((until, counsellor.to_owned()));
        true
    }

    pub(super) fn drop_duty(&mut self, counsellor: &str) {
        if let Some((_, old)) = self.duty.remove(counsellor) {
            self.duty_due.remove(&(old, counsellor.to_owned()));
        }
        if let Some((alias, _)) = self.presence.remove(counsellor) {
            let key = (alias, counsellor.to_owned());
            self.by_alias.remove(&key);
            self.parked_by_alias.remove(&key);
        }
        self.free.remove(counsellor);
    }

    /// Puts `counsellor` in the free index or takes them out, after their load or their
    /// presence changed.
    pub(super) fn refresh(&mut self, counsellor: &str) {
        let open = self.presence.get(counsellor).map_or(0, |(_, open)| *open);
        if self.load.get(counsellor).copied().unwrap_or(0) < open {
            if !self.free.contains(counsellor) {
                self.free.insert(counsellor.to_owned());
            }
        } else {
            self.free.remove(counsellor);
        }
    }

    /// `counsellor` takes one more slot.
    pub(super) fn hold_slot(&mut self, counsellor: &str) {
        *self.load.entry(counsellor.to_owned()).or_default() += 1;
        self.refresh(counsellor);
    }

    /// The unexpired presences in `index` of the account `alias`.
    pub(super) fn of_alias(
        &self,
        index: &BTreeSet<(String, String)>,
        alias: &str,
        now: Instant,
    ) -> Vec<OnDuty> {
        index
            .range((alias.to_owned(), String::new())..)
            .take_while(|(a, _)| a == alias)
            .filter_map(|(_, c)| self.on_duty(c, now))
            .collect()
    }

    /// The presence of `counsellor`, if it has not expired.
    pub(super) fn on_duty(&self, counsellor: &str, now: Instant) -> Option<OnDuty> {
        let (duty, until) = self.duty.get(counsellor)?;
        (*until > now).then(|| OnDuty {
            counsellor: counsellor.to_owned(),
            duty: duty.clone(),
            load: self.load.get(counsellor).copied().unwrap_or(0),
        })
    }

    /// Entries of `due` whose deadline passed, oldest first (not removed).
    pub(super) fn due<T: Ord + Clone>(due: &BTreeSet<(Instant, T)>, now: Instant) -> Vec<T> {
        due.iter()
            .take_while(|(at, _)| *at <= now)
            .map(|(_, t)| t.clone())
            .collect()
    }

    pub(super) fn position(&self, conv: ConvId) -> Option<u32> {
        let (queue, score) = self.queue_of.get(&conv)?;
        let ahead = self.queues.get(queue)?.range(..*score).count();
        Some(u32::try_from(ahead + 1).unwrap_or(u32::MAX))
    }

    pub(super) fn free_slot(&mut self, counsellor: &str) {
        if let Some(l) = self.load.get_mut(counsellor) {
            *l = l.saturating_sub(1);
            if *l == 0 {
                self.load.remove(counsellor);
            }
        }
        self.refresh(counsellor);
    }

    pub(super) fn leave_queue(&mut self, conv: ConvId) {
        if let Some((queue, score)) = self.queue_of.remove(&conv)
            && let Some(q) = self.queues.get_mut(&queue)
        {
            q.remove(&score);
            if q.is_empty() {
                self.queues.remove(&queue);
            }
        }
        self.passed.remove(&conv);
    }

    pub(super) fn take_offer(
        &mut self,
        conv: ConvId,
        passed: bool,
        now: Instant,
    ) -> Option<String> {
        let counsellor = self.drop_offer(conv)?;
        self.free_slot(&counsellor);
        if passed {
            self.pass(conv, counsellor.clone(), now);
        }
        Some(counsellor)
    }

    /// Records that `counsellor` passed on `conv` now. One entry per counsellor: passing
    /// again renews when.
    pub(super) fn pass(&mut self, conv: ConvId, counsellor: String, now: Instant) {
        let list = self.passed.entry(conv).or_default();
        list.retain(|(c, _)| *c != counsellor);
        list.push((counsellor, now));
    }
}

impl Buffer {
    pub(super) fn new(until: Instant) -> Self {
        Self {
            frames: VecDeque::new(),
            bytes: 0,
            lost: None,
            last: None,
            until,
            indexed: None,
        }
    }

    /// Keeps `kept` unless its counter is not above the last one kept (a retry); returns
    /// whether it was kept.
    pub(super) fn push(&mut self, kept: Kept) -> bool {
        if self.last.is_some_and(|l| kept.n <= l) {
            return false;
        }
        self.last = Some(kept.n);
        self.bytes += kept.frame.len();
        self.frames.push_back(kept);
        while self.frames.len() > MAX_FRAMES || self.bytes > MAX_BYTES {
            let Some(old) = self.frames.pop_front() else {
                break;
            };
            self.bytes -= old.frame.len();
            self.lost = Some(self.lost.map_or(old.n, |l| l.max(old.n)));
        }
        true
    }
}
