//! The in-process state behind `MemoryStore` and the small operations on it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Instant;

use tokio::sync::mpsc;

use crate::protocol::{ConvId, QueueId};
use crate::store::{InboxEvent, Kept, MAX_BYTES, MAX_FRAMES, Side};

#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) routing: Routing,
    /// When routing state was last written; it all expires `route_ttl` after that.
    pub(super) route_touched: Option<Instant>,
    pub(super) buffers: HashMap<(ConvId, Side), Buffer>,
    /// Conversation records: token hash and attached connections.
    pub(super) records: HashMap<ConvId, Record>,
    /// Node → alive until.
    pub(super) alive: HashMap<String, Instant>,
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

#[derive(Debug, Default)]
pub(super) struct Routing {
    pub(super) seq: u64,
    /// Per queue: order score → conversation.
    pub(super) queues: HashMap<QueueId, BTreeMap<u64, ConvId>>,
    /// Waiting conversation → its queue and order score.
    pub(super) queue_of: HashMap<ConvId, (QueueId, u64)>,
    /// Pending offer → counsellor and deadline.
    pub(super) offers: HashMap<ConvId, (String, Instant)>,
    pub(super) live: HashMap<ConvId, String>,
    pub(super) load: HashMap<String, u32>,
    pub(super) passed: HashMap<ConvId, Vec<(String, Instant)>>,
    /// Counsellor → their duty and presence deadline.
    pub(super) duty: HashMap<String, (Vec<u8>, Instant)>,
    /// Conversation → lease deadline.
    pub(super) lease: HashMap<ConvId, Instant>,
    /// Conversation → when it joined.
    pub(super) joined: HashMap<ConvId, Instant>,
}

#[derive(Debug)]
pub(super) struct Record {
    pub(super) token_hash: [u8; 32],
    pub(super) visitor: Option<String>,
    pub(super) counsellor: Option<String>,
    pub(super) until: Instant,
}

impl Record {
    pub(super) fn end(&mut self, side: Side) -> &mut Option<String> {
        match side {
            Side::Visitor => &mut self.visitor,
            Side::Counsellor => &mut self.counsellor,
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct Buffer {
    pub(super) frames: VecDeque<Kept>,
    pub(super) bytes: usize,
    /// Highest counter dropped unacknowledged.
    pub(super) lost: Option<u64>,
    /// Expires at.
    pub(super) until: Option<Instant>,
}

#[derive(Debug)]
pub(super) struct Subscriber {
    pub(super) tx: mpsc::Sender<InboxEvent>,
    /// A payload was dropped because the inbox was full; `Gap` is owed.
    pub(super) gap: bool,
}

impl Routing {
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
        let (counsellor, _) = self.offers.remove(&conv)?;
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
    pub(super) fn push(&mut self, kept: Kept) {
        self.bytes += kept.frame.len();
        self.frames.push_back(kept);
        while self.frames.len() > MAX_FRAMES || self.bytes > MAX_BYTES {
            let Some(old) = self.frames.pop_front() else {
                break;
            };
            self.bytes -= old.frame.len();
            self.lost = Some(self.lost.map_or(old.n, |l| l.max(old.n)));
        }
    }
}
