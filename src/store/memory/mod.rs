//! `MemoryStore`: the `Store` contract in one process — maps behind a mutex, expiry checked
//! lazily against the store's clock (`with_clock`; the machine's by default). The reference implementation the conformance suite
//! holds `RedisStore` to.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

use super::{
    Callbacks, CounsellorRef, ExpiredOffer, Gone, InboxEvent, JoinLimits, Kept, Lifetimes,
    NodeCounts, OnDuty, Presence, Replay, Side, Store, StoreError, StoreResult, Waiting,
    order_score, score_order,
};
use crate::clock::Clock;
use crate::protocol::{ConvId, QueueId};
use crate::routing::Order;
use state::{Buffer, Expiring, Record, Routing, State, Subscriber};

mod shared;
mod state;
#[cfg(test)]
mod tests;

/// Frames an inbox holds before a slow subscriber starts losing them (and is told `Gap`).
pub const INBOX_CAPACITY: usize = 1024;

/// The in-process store. Cheap to clone: clones share the state.
#[derive(Debug, Clone)]
pub struct MemoryStore {
    lifetimes: Lifetimes,
    /// Where every deadline is read (`Clock::System` but in tests).
    clock: Clock,
    /// A std mutex: every operation is short and synchronous, and the lock is never held
    /// across an `.await`.
    state: Arc<Mutex<State>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new(lifetimes: Lifetimes) -> Self {
        Self {
            lifetimes,
            clock: Clock::System,
            state: Arc::new(Mutex::new(State::default())),
        }
    }

    /// This store reading the time from `clock`.
    #[must_use]
    pub fn with_clock(self, clock: Clock) -> Self {
        Self { clock, ..self }
    }

    /// Runs `f` on the state, after dropping what expired.
    fn with<R>(&self, f: impl FnOnce(&mut State, Instant) -> R) -> R {
        let now = self.clock.now();
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if s.route_touched
            .is_some_and(|t| now.saturating_duration_since(t) >= self.lifetimes.route_ttl)
        {
            s.routing = Routing::default();
            s.route_touched = None;
            s.generation.clear();
        }
        s.expire(now);
        f(&mut s, now)
    }

    /// Runs `f` on the routing state and marks it written.
    fn route<R>(&self, f: impl FnOnce(&mut Routing, Instant) -> R) -> BoxFuture<'static, R>
    where
        R: Send + 'static,
    {
        let r = self.with(|s, now| {
            s.route_touched = Some(now);
            f(&mut s.routing, now)
        });
        Box::pin(std::future::ready(r))
    }
}

impl MemoryStore {
    /// Keeps a frame in `side`'s buffer unless its counter is not above the last one kept
    /// (a retry); returns whether it was kept. `Conflict` when `writer` is not the
    /// connection attached to the other end (see `Store::append`).
    fn keep_frame(
        &self,
        conv: ConvId,
        side: Side,
        n: u64,
        frame: Vec<u8>,
        writer: Option<&str>,
    ) -> StoreResult<bool> {
        let ttl = self.lifetimes.conv_ttl;
        self.with(|s, now| {
            if let Some(writer) = writer {
                let writer_side = match side {
                    Side::Visitor => Side::Counsellor,
                    Side::Counsellor => Side::Visitor,
                };
                let attached = s
                    .records
                    .get_mut(&conv)
                    .and_then(|r| r.end(writer_side).as_deref().map(|c| c == writer));
                if attached != Some(true) {
                    return Err(StoreError::Conflict);
                }
            }
            let until = now + ttl;
            let b = s
                .buffers
                .entry((conv, side))
                .or_insert_with(|| Buffer::new(until));
            let kept = b.push(Kept { n, frame });
            b.until = until;
            s.deadlines
                .schedule(Expiring::Buffer(conv, side), &mut b.indexed, until);
            Ok(kept)
        })
    }
}

fn ready<T: Send + 'static>(v: T) -> BoxFuture<'static, T> {
    Box::pin(std::future::ready(v))
}

impl Store for MemoryStore {
    fn join(
        &self,
        conv: ConvId,
        queue: &QueueId,
        priority: bool,
        limits: JoinLimits,
    ) -> BoxFuture<'_, StoreResult<u32>> {
        let queue = queue.clone();
        self.route(move |r, now| {
            if r.queue_of.contains_key(&conv) || r.live.contains_key(&conv) {
                return Err(StoreError::Conflict);
            }
            let len = r.queues.get(&queue).map_or(0, BTreeMap::len);
            if len >= limits.max_queue_len || r.queue_of.len() >= limits.max_waiting_total {
                return Err(StoreError::QueueFull);
            }
            r.seq += 1;
            let score = order_score(Order::joined(priority, r.seq));
            r.queues
                .entry(queue.clone())
                .or_default()
                .insert(score, conv);
            r.queue_of.insert(conv, (queue, score));
            r.set_lease(conv, now + limits.lease);
            r.joined.insert(conv, now);
            r.position(conv).ok_or(StoreError::NotFound)
        })
    }

    fn waiting<'a>(&'a self, queues: &'a [QueueId]) -> BoxFuture<'a, StoreResult<Vec<Waiting>>> {
        let r = self.with(|s, now| {
            let r = &s.routing;
            let mut out: Vec<Waiting> = queues
                .iter()
                .filter_map(|q| Some((q, r.queues.get(q)?)))
                .flat_map(|(q, members)| {
                    members.iter().map(move |(score, conv)| Waiting {
                        conv: *conv,
                        queue: q.clone(),
                        order: score_order(*score),
                        waited: r
                            .joined
                            .get(conv)
                            .map_or(Duration::ZERO, |at| now.saturating_duration_since(*at)),
                        offered_to: r.offers.get(conv).map(|(c, _)| c.clone()),
                        passed: r.passed.get(conv).map_or_else(Vec::new, |p| {
                            p.iter()
                                .map(|(c, at)| (c.clone(), now.saturating_duration_since(*at)))
                                .collect()
                        }),
                    })
                })
                .collect();
            out.sort_by_key(|w| w.order);
            Ok(out)
        });
        ready(r)
    }

    fn position(&self, conv: ConvId) -> BoxFuture<'_, StoreResult<u32>> {
        ready(self.with(|s, _| s.routing.position(conv).ok_or(StoreError::NotFound)))
    }

    fn offer<'a>(
        &'a self,
        conv: ConvId,
        counsellor: &'a CounsellorRef,
        capacity: u32,
        ttl: Duration,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let counsellor = counsellor.to_owned();
        self.route(move |r, now| {
            if !r.queue_of.contains_key(&conv) {
                return Err(StoreError::NotFound);
            }
            let load = r.load.get(&counsellor).copied().unwrap_or(0);
            if r.offers.contains_key(&conv) || load >= capacity {
                return Err(StoreError::Conflict);
            }
            r.put_offer(conv, counsellor.clone(), now + ttl);
            r.hold_slot(&counsellor);
            Ok(())
        })
    }

    fn accept<'a>(
        &'a self,
        conv: ConvId,
        counsellor: &'a CounsellorRef,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let counsellor = counsellor.to_owned();
        self.route(move |r, now| {
            match r.offers.get(&conv) {
                Some((c, due)) if *c == counsellor && *due > now => {}
                _ => return Err(StoreError::Conflict),
            }
            r.drop_offer(conv);
            r.leave_queue(conv);
            r.set_live(conv, counsellor);
            Ok(())
        })
    }

    fn withdraw<'a>(
        &'a self,
        conv: ConvId,
        counsellor: &'a CounsellorRef,
        passed: bool,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let counsellor = counsellor.to_owned();
        self.route(move |r, now| {
            if r.offers.get(&conv).is_none_or(|(c, _)| *c != counsellor) {
                return Err(StoreError::Conflict);
            }
            r.take_offer(conv, passed, now);
            Ok(())
        })
    }

    fn expired_offers(&self) -> BoxFuture<'_, StoreResult<Vec<ExpiredOffer>>> {
        self.route(|r, now| {
            Ok(Routing::due(&r.offer_due, now)
                .into_iter()
                .filter_map(|conv| {
                    let counsellor = r.take_offer(conv, true, now)?;
                    Some(ExpiredOffer { conv, counsellor })
                })
                .collect())
        })
    }

    fn live(&self) -> BoxFuture<'_, StoreResult<Vec<(ConvId, String)>>> {
        ready(self.with(|s, _| {
            let mut live: Vec<(ConvId, String)> = s
                .routing
                .live
                .iter()
                .map(|(conv, c)| (*conv, c.clone()))
                .collect();
            live.sort();
            Ok(live)
        }))
    }

    fn live_with(&self, conv: ConvId) -> BoxFuture<'_, StoreResult<Option<String>>> {
        ready(self.with(|s, _| Ok(s.routing.live.get(&conv).cloned())))
    }

    fn load<'a>(&'a self, counsellor: &'a CounsellorRef) -> BoxFuture<'a, StoreResult<u32>> {
        ready(self.with(|s, _| Ok(s.routing.load.get(counsellor).copied().unwrap_or(0))))
    }

    fn end(&self, conv: ConvId) -> BoxFuture<'_, StoreResult<()>> {
        let r = self.with(|s, now| {
            let r = &mut s.routing;
            r.take_offer(conv, false, now);
            r.leave_queue(conv);
            if let Some(c) = r.unset_live(conv) {
                r.free_slot(&c);
            }
            r.drop_lease(conv);
            r.joined.remove(&conv);
            s.records.remove(&conv);
            s.buffers.remove(&(conv, Side::Visitor));
            s.buffers.remove(&(conv, Side::Counsellor));
            Ok(())
        });
        ready(r)
    }

    fn present<'a>(
        &'a self,
        counsellor: &'a CounsellorRef,
        duty: Vec<u8>,
        presence: Presence<'a>,
        ttl: Duration,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let counsellor = counsellor.to_owned();
        self.route(move |r, now| {
            r.set_duty(counsellor, duty, presence, now + ttl);
            Ok(())
        })
    }

    fn absent<'a>(&'a self, counsellor: &'a CounsellorRef) -> BoxFuture<'a, StoreResult<()>> {
        let counsellor = counsellor.to_owned();
        self.route(move |r, _| {
            r.drop_duty(&counsellor);
            Ok(())
        })
    }

    fn renew<'a>(
        &'a self,
        counsellors: &'a [String],
        ttl: Duration,
    ) -> BoxFuture<'a, StoreResult<Vec<String>>> {
        self.route(move |r, now| {
            Ok(counsellors
                .iter()
                .filter(|c| !r.extend_duty(c, now + ttl))
                .cloned()
                .collect())
        })
    }

    fn on_duty(&self) -> BoxFuture<'_, StoreResult<Vec<OnDuty>>> {
        ready(self.with(|s, now| {
            let r = &s.routing;
            let mut out: Vec<OnDuty> = r
                .duty
                .iter()
                .filter(|(_, (_, until))| *until > now)
                .map(|(c, (duty, _))| OnDuty {
                    counsellor: c.clone(),
                    duty: duty.clone(),
                    load: r.load.get(c).copied().unwrap_or(0),
                })
                .collect();
            out.sort_by(|a, b| a.counsellor.cmp(&b.counsellor));
            Ok(out)
        }))
    }

    fn open_duty(&self) -> BoxFuture<'_, StoreResult<Vec<OnDuty>>> {
        ready(self.with(|s, now| {
            let r = &s.routing;
            Ok(r.free.iter().filter_map(|c| r.on_duty(c, now)).collect())
        }))
    }

    fn on_duty_as<'a>(&'a self, alias: &'a str) -> BoxFuture<'a, StoreResult<Vec<OnDuty>>> {
        ready(self.with(|s, now| Ok(s.routing.of_alias(&s.routing.by_alias, alias, now))))
    }

    fn parked_as<'a>(&'a self, alias: &'a str) -> BoxFuture<'a, StoreResult<Vec<OnDuty>>> {
        ready(self.with(|s, now| Ok(s.routing.of_alias(&s.routing.parked_by_alias, alias, now))))
    }

    fn gone(&self) -> BoxFuture<'_, StoreResult<Vec<Gone>>> {
        self.route(|r, now| {
            let mut gone = Routing::due(&r.duty_due, now);
            gone.sort();
            Ok(gone
                .into_iter()
                .map(|counsellor| {
                    r.drop_duty(&counsellor);
                    let held: Vec<ConvId> = r
                        .held
                        .get(&counsellor)
                        .map(|s| s.iter().copied().collect())
                        .unwrap_or_default();
                    let mut live: Vec<ConvId> = held
                        .iter()
                        .copied()
                        .filter(|conv| r.live.get(conv) == Some(&counsellor))
                        .collect();
                    let mut offers: Vec<ConvId> = held
                        .iter()
                        .copied()
                        .filter(|conv| r.offers.get(conv).is_some_and(|(c, _)| *c == counsellor))
                        .collect();
                    for conv in &offers {
                        r.take_offer(*conv, false, now);
                    }
                    live.sort();
                    offers.sort();
                    Gone {
                        counsellor,
                        live,
                        offers,
                    }
                })
                .collect())
        })
    }

    fn requeue_front<'a>(
        &'a self,
        conv: ConvId,
        queue: &'a QueueId,
        priority: bool,
        held_by: Option<&'a CounsellorRef>,
        passed_by: Option<&'a CounsellorRef>,
    ) -> BoxFuture<'a, StoreResult<u32>> {
        let queue = queue.clone();
        let held_by = held_by.map(str::to_owned);
        let passed_by = passed_by.map(str::to_owned);
        self.route(move |r, now| {
            if !r.live.contains_key(&conv) && !r.queue_of.contains_key(&conv) {
                return Err(StoreError::NotFound);
            }
            if let Some(h) = &held_by
                && r.live.get(&conv) != Some(h)
            {
                return Err(StoreError::Conflict);
            }
            if let Some(c) = r.unset_live(conv) {
                r.free_slot(&c);
            }
            r.take_offer(conv, false, now);
            if let Some((old, score)) = r.queue_of.remove(&conv)
                && let Some(q) = r.queues.get_mut(&old)
            {
                q.remove(&score);
            }
            r.seq += 1;
            let score = order_score(Order::front(priority, r.seq));
            r.queues
                .entry(queue.clone())
                .or_default()
                .insert(score, conv);
            r.queue_of.insert(conv, (queue, score));
            if let Some(counsellor) = passed_by {
                r.pass(conv, counsellor, now);
            }
            r.position(conv).ok_or(StoreError::NotFound)
        })
    }

    fn keep(&self, conv: ConvId, ttl: Duration) -> BoxFuture<'_, StoreResult<()>> {
        ready(self.with(|s, now| {
            if !s.routing.lease.contains_key(&conv) {
                return Err(StoreError::NotFound);
            }
            s.routing.set_lease(conv, now + ttl);
            s.route_touched = Some(now);
            // The conversation's own record and buffers live as long as its lease.
            if let Some(r) = s.records.get_mut(&conv) {
                r.until = now + ttl;
                s.deadlines
                    .schedule(Expiring::Record(conv), &mut r.indexed, r.until);
            }
            for side in [Side::Visitor, Side::Counsellor] {
                if let Some(b) = s.buffers.get_mut(&(conv, side)) {
                    b.until = now + ttl;
                    s.deadlines
                        .schedule(Expiring::Buffer(conv, side), &mut b.indexed, b.until);
                }
            }
            Ok(())
        }))
    }

    fn lapsed(&self, claim: Duration) -> BoxFuture<'_, StoreResult<Vec<ConvId>>> {
        self.route(move |r, now| {
            let due = Routing::due(&r.lease_due, now);
            for conv in &due {
                r.set_lease(*conv, now + claim);
            }
            Ok(due)
        })
    }

    fn open(&self, conv: ConvId, token_hash: [u8; 32]) -> BoxFuture<'_, StoreResult<()>> {
        let ttl = self.lifetimes.conv_ttl;
        ready(self.with(|s, now| {
            if s.records.contains_key(&conv) {
                return Err(StoreError::Conflict);
            }
            let r = s.records.entry(conv).or_insert(Record {
                token_hash,
                visitor: None,
                counsellor: None,
                until: now + ttl,
                indexed: None,
            });
            s.deadlines
                .schedule(Expiring::Record(conv), &mut r.indexed, r.until);
            Ok(())
        }))
    }

    fn attach<'a>(
        &'a self,
        conv: ConvId,
        side: Side,
        conn: &'a str,
        token_hash: Option<[u8; 32]>,
    ) -> BoxFuture<'a, StoreResult<Option<String>>> {
        let ttl = self.lifetimes.conv_ttl;
        ready(self.with(|s, now| {
            let rec = s.records.get_mut(&conv).ok_or(StoreError::NotFound)?;
            if token_hash.is_some_and(|h| h != rec.token_hash) {
                return Err(StoreError::NotFound);
            }
            rec.until = now + ttl;
            s.deadlines
                .schedule(Expiring::Record(conv), &mut rec.indexed, rec.until);
            Ok(rec.end(side).replace(conn.to_owned()))
        }))
    }

    fn detach<'a>(
        &'a self,
        conv: ConvId,
        side: Side,
        conn: &'a str,
    ) -> BoxFuture<'a, StoreResult<()>> {
        ready(self.with(|s, _| {
            if let Some(rec) = s.records.get_mut(&conv) {
                let end = rec.end(side);
                if end.as_deref() == Some(conn) {
                    *end = None;
                }
            }
            Ok(())
        }))
    }

    fn ends(&self, conv: ConvId) -> BoxFuture<'_, StoreResult<(Option<String>, Option<String>)>> {
        ready(self.with(|s, _| {
            Ok(s.records
                .get(&conv)
                .map_or((None, None), |r| (r.visitor.clone(), r.counsellor.clone())))
        }))
    }

    fn append<'a>(
        &'a self,
        conv: ConvId,
        side: Side,
        n: u64,
        frame: Vec<u8>,
        writer: Option<&'a str>,
    ) -> BoxFuture<'a, StoreResult<()>> {
        ready(self.keep_frame(conv, side, n, frame, writer).map(|_| ()))
    }

    fn relay<'a>(
        &'a self,
        conv: ConvId,
        side: Side,
        n: u64,
        frame: Vec<u8>,
        node: &'a str,
        header: Vec<u8>,
        writer: Option<&'a str>,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let mut payload = header;
        payload.extend_from_slice(&frame);
        match self.keep_frame(conv, side, n, frame, writer) {
            Ok(true) => self.publish(node, payload),
            // A retry of a frame kept and published already.
            Ok(false) => ready(Ok(())),
            Err(e) => ready(Err(e)),
        }
    }

    fn ack(&self, conv: ConvId, side: Side, upto: u64) -> BoxFuture<'_, StoreResult<()>> {
        ready(self.with(|s, _| {
            if let Some(b) = s.buffers.get_mut(&(conv, side)) {
                while b.frames.front().is_some_and(|k| k.n <= upto) {
                    if let Some(k) = b.frames.pop_front() {
                        b.bytes -= k.frame.len();
                    }
                }
            }
            Ok(())
        }))
    }

    fn replay(
        &self,
        conv: ConvId,
        side: Side,
        after: Option<u64>,
    ) -> BoxFuture<'_, StoreResult<Replay>> {
        ready(self.with(|s, _| {
            let Some(b) = s.buffers.get(&(conv, side)) else {
                return Ok(Replay::Frames(Vec::new()));
            };
            if let Some(lost) = b.lost
                && after.is_none_or(|a| a < lost)
            {
                return Ok(Replay::Lost);
            }
            Ok(Replay::Frames(
                b.frames
                    .iter()
                    .filter(|k| after.is_none_or(|a| k.n > a))
                    .cloned()
                    .collect(),
            ))
        }))
    }

    fn kept_upto(&self, conv: ConvId, side: Side) -> BoxFuture<'_, StoreResult<Option<u64>>> {
        ready(self.with(|s, _| Ok(s.buffers.get(&(conv, side)).and_then(|b| b.last))))
    }

    fn reset_buffers(&self, conv: ConvId) -> BoxFuture<'_, StoreResult<()>> {
        ready(self.with(|s, _| {
            s.buffers.remove(&(conv, Side::Visitor));
            s.buffers.remove(&(conv, Side::Counsellor));
            if let Some(r) = s.records.get_mut(&conv) {
                r.counsellor = None;
            }
            Ok(())
        }))
    }

    fn generation(&self) -> BoxFuture<'_, StoreResult<String>> {
        ready(self.with(|s, now| {
            if s.generation.is_empty() {
                s.generation = format!("{:032x}", rand::random::<u128>());
            }
            s.route_touched = Some(now);
            Ok(s.generation.clone())
        }))
    }

    fn publish<'a>(&'a self, node: &'a str, payload: Vec<u8>) -> BoxFuture<'a, StoreResult<()>> {
        ready(self.with(|s, _| {
            let Some(subs) = s.inboxes.get_mut(node) else {
                return Ok(());
            };
            subs.retain(|sub| !sub.tx.is_closed());
            for sub in subs.iter_mut() {
                if sub.gap && sub.tx.try_send(InboxEvent::Gap).is_ok() {
                    sub.gap = false;
                }
                if sub.gap
                    || sub
                        .tx
                        .try_send(InboxEvent::Message(payload.clone()))
                        .is_err()
                {
                    sub.gap = true;
                }
            }
            Ok(())
        }))
    }

    fn subscribe<'a>(
        &'a self,
        node: &'a str,
    ) -> BoxFuture<'a, StoreResult<mpsc::Receiver<InboxEvent>>> {
        let (tx, rx) = mpsc::channel(INBOX_CAPACITY);
        self.with(|s, _| {
            s.inboxes
                .entry(node.to_owned())
                .or_default()
                .push(Subscriber { tx, gap: false });
        });
        ready(Ok(rx))
    }

    fn callback_add<'a>(
        &'a self,
        id: &'a str,
        entry: Vec<u8>,
        max: usize,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let ttl = self.lifetimes.callback_ttl;
        ready(self.with(|s, now| s.callbacks.add(id, entry, max, now, ttl)))
    }

    fn callbacks(&self, limit: usize) -> BoxFuture<'_, StoreResult<Callbacks>> {
        let ttl = self.lifetimes.callback_ttl;
        ready(self.with(|s, now| Ok(s.callbacks.list(limit, now, ttl))))
    }

    fn callback_take<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Vec<u8>>> {
        let ttl = self.lifetimes.callback_ttl;
        ready(self.with(|s, now| s.callbacks.take(id, now, ttl)))
    }

    fn callbacks_version(&self) -> BoxFuture<'_, StoreResult<u64>> {
        let ttl = self.lifetimes.callback_ttl;
        ready(self.with(|s, now| Ok(s.callbacks.version(now, ttl))))
    }

    fn stats_put<'a>(
        &'a self,
        date: &'a str,
        node: &'a str,
        counts: Vec<u8>,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let ttl = self.lifetimes.stats_ttl;
        ready(self.with(|s, now| {
            s.stats.put(date, node, counts, now, ttl);
            Ok(())
        }))
    }

    fn stats_day<'a>(&'a self, date: &'a str) -> BoxFuture<'a, StoreResult<NodeCounts>> {
        ready(self.with(|s, now| Ok(s.stats.day(date, now))))
    }

    fn answers_at_once(&self) -> bool {
        true
    }

    fn heartbeat<'a>(&'a self, node: &'a str, ttl: Duration) -> BoxFuture<'a, StoreResult<()>> {
        ready(self.with(|s, now| {
            let until = now + ttl;
            let (at, indexed) = s.alive.entry(node.to_owned()).or_insert((until, None));
            *at = until;
            s.deadlines
                .schedule(Expiring::Alive(node.to_owned()), indexed, until);
            Ok(())
        }))
    }

    fn alive<'a>(&'a self, node: &'a str) -> BoxFuture<'a, StoreResult<bool>> {
        ready(self.with(|s, _| Ok(s.alive.contains_key(node))))
    }

    fn count<'a>(
        &'a self,
        tag: &'a str,
        window: Duration,
    ) -> BoxFuture<'a, StoreResult<(u64, Duration)>> {
        ready(self.with(|s, now| {
            s.counters.retain(|_, (_, until)| *until > now);
            let (n, until) = s
                .counters
                .entry(tag.to_owned())
                .or_insert((0, now + window));
            *n += 1;
            Ok((*n, until.saturating_duration_since(now)))
        }))
    }
}
