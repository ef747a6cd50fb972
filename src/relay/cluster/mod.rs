//! The relay engine: every relay operation over a `Store` — `MemoryStore` in one process
//! (`lyt serve`, the default) or `RedisStore` shared by many nodes (`lyt serve --redis`) —
//! with the routing state, the conversations' records and resume buffers in the store, and
//! only sockets here. One node and many run the same code. `docs/state.md` is the design;
//! this module is its "wiring".
//!
//! - **Connections** are named `<node>.<n>` across nodes, so the node holding a connection is
//!   part of its name. A conversation's record (`Store::attach`) names the connection at each
//!   end: that is the connection→node map.
//! - **Per-connection workers.** The socket loop's handlers are synchronous; here each
//!   decoded frame goes into a bounded per-connection queue drained by one task that awaits
//!   the store, so one connection's frames are applied in order (`worker`).
//! - **Delivery.** A frame for a connection on this node goes into its mailbox; for another
//!   node it is published to that node's inbox with a small header (`Note`) saying what it
//!   is. Relayed ciphertext goes through `Store::relay`: kept in the receiving side's resume
//!   buffer and published in one round trip.
//! - **The ticker** (`tick`) runs routing on the shared snapshot (the pure `routing::assign`,
//!   committed by the store's compare-and-set `offer`), claims expired offers, gone
//!   counsellors and lapsed conversations, renews presence, leases and the heartbeat, pushes
//!   queue positions to this node's visitors, and checks the state's generation.
//! - **Failures.** A store that cannot be reached refuses new joins with `overloaded`; the
//!   node keeps running and its calls succeed again when the store is back. An inbox `Gap`
//!   makes the node catch its visitors up from the resume buffers. A changed generation (the
//!   shared state was lost) ends this node's conversations with `ended{state_lost}`.
//!
//! What differs between one node and many is only what having many processes brings (see
//! `docs/state.md`): a node's death is noticed after the presence TTL, wait estimates are
//! each node's own observations, and quotas other than joins are counted per node.

mod counsellor;
mod phone;
#[cfg(test)]
mod props;
mod tick;
mod visitor;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::conn::ConnId;
use super::conn::Mailbox;
use super::refusal::Refusal;
use super::settings::Settings;
use crate::metrics::Metrics;
use crate::protocol::{Bundle, ConvId, ErrorCode, QueueId, ServerFrame, Skills};
use crate::relay::refusal;
use crate::store::{Side, Store, StoreError};

pub use counsellor::CounsellorOp;
pub use visitor::VisitorOp;

/// How long a client's relayed frame is retried while the store cannot be reached (see
/// `Cluster::relay_kept`); past it the frame is refused with `overloaded`.
const RELAY_RETRY_FOR: Duration = Duration::from_secs(15);

/// Frames a connection's worker queue holds before the connection counts as flooding.
const WORKER_QUEUE: usize = 256;

/// A conversation's resume-buffer counters. Frames to the visitor: `assigned` is 0, `hs2` is
/// 1, `data{n}` is `n + 2`; frames to the counsellor: `hs1` is 0, `data{n}` is `n + 1`. So an
/// acknowledgement of `data{n}` drops the handshake frames before it too.
pub(crate) mod counter {
    /// The epoch's `assigned`, to the visitor.
    pub const ASSIGNED: u64 = 0;
    /// The epoch's `hs2`, to the visitor.
    pub const HS2: u64 = 1;
    /// The epoch's `hs1`, to the counsellor.
    pub const HS1: u64 = 0;
    /// A `data{n}` frame to the visitor.
    pub fn to_visitor(n: u64) -> u64 {
        n.saturating_add(2)
    }
    /// A `data{n}` frame to the counsellor.
    pub fn to_counsellor(n: u64) -> u64 {
        n.saturating_add(1)
    }
    /// The visitor's `data` counter of a counter kept for the counsellor (`None` for
    /// `hs1`).
    pub fn visitor_data(kept: u64) -> Option<u64> {
        kept.checked_sub(1)
    }
}

/// A connection's worker: its operations queue here and one task applies them in order.
#[derive(Debug)]
pub struct Worker<Op> {
    tx: mpsc::Sender<Op>,
    /// Operations queued or being applied; zero when the worker is idle.
    pending: Arc<std::sync::atomic::AtomicUsize>,
}

impl<Op: Send + 'static> Worker<Op> {
    /// Queues `op`; false when the queue is full (the client floods).
    pub fn try_send(&self, op: Op) -> bool {
        self.pending
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        if self.tx.try_send(op).is_ok() {
            return true;
        }
        self.pending
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
        false
    }

    /// Queues `op` after everything queued, waiting for room if need be (the last
    /// operation of a closing connection).
    pub fn send_last(self, op: Op) {
        if let Err(mpsc::error::TrySendError::Full(op)) = self.tx.try_send(op) {
            tokio::spawn(async move {
                let _ = self.tx.send(op).await;
            });
        }
    }

    /// Whether nothing is queued or being applied: an operation applied elsewhere now
    /// keeps this connection's order.
    pub fn idle(&self) -> bool {
        self.pending.load(std::sync::atomic::Ordering::Acquire) == 0
    }
}

/// What a payload published to a node's inbox is: the header line before the frame.
#[derive(Debug, Serialize, Deserialize)]
struct Note {
    /// The connection (on the receiving node) it is for.
    to: ConnId,
    #[serde(flatten)]
    kind: Kind,
}

/// What a delivery means to the receiving node's state; the frame after the header is pushed
/// to the connection as it is (when there is one).
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
enum Kind {
    /// A server frame with no state change.
    Frame,
    /// A relayed ciphertext frame, kept under counter `n` in the receiver's resume buffer.
    Relayed { conv: ConvId, n: u64 },
    /// To a visitor: the conversation is live with `counsellor` (a new epoch).
    Assigned { conv: ConvId, counsellor: String },
    /// To a counsellor: an offer (holding one of their slots).
    Offer {
        conv: ConvId,
        queue: QueueId,
        waited_ms: u64,
    },
    /// To a counsellor: their offer was taken back; `expired` counts as a missed offer.
    Withdrawn { conv: ConvId, expired: bool },
    /// The conversation ended for this end, for `reason`.
    Ended {
        conv: ConvId,
        #[serde(default = "other_reason")]
        reason: crate::protocol::EndReason,
    },
    /// To a counsellor: the visitor is now at `visitor` (`None`: away).
    Peer {
        conv: ConvId,
        visitor: Option<String>,
    },
    /// To a visitor: back in `queue` (transferred, or the counsellor was lost).
    Requeued { conv: ConvId, queue: QueueId },
    /// To a visitor's node: their counsellor (`from`) is gone; put the conversation back in
    /// its queue, unless it moved on.
    CounsellorLost { conv: ConvId, from: String },
    /// To a visitor: the counsellor's connection dropped; they may come back.
    CounsellorAway { conv: ConvId },
    /// To a parked counsellor connection: `conv` was reclaimed by the same account.
    Reclaimed { conv: ConvId },
    /// Close the connection: the conversation was resumed on another one.
    Close,
}

/// What a delivery leaves for the caller to do with the store.
#[derive(Debug, Default)]
#[must_use]
struct AfterDelivery {
    /// A conversation to put back in its queue (its counsellor was lost).
    requeue: Option<(ConvId, QueueId, String)>,
    /// A counsellor whose duty changed (went on break): publish their presence.
    present: Option<ConnId>,
    /// A visitor who was sent a frame that does not follow the last one pushed to them (it
    /// overtook one published while they resumed): read their buffer and push in order.
    catch_up: Option<ConnId>,
}

/// A visitor's conversation, as the node holding the visitor knows it.
#[derive(Debug)]
struct VisitorConv {
    conv: ConvId,
    /// The resume token given in `queued` (the store keeps only its hash).
    token: String,
    /// The queue (from the join, the resume token, or a requeue).
    queue: QueueId,
    /// The counsellor's connection once assigned.
    counsellor: Option<String>,
    /// After `assigned`, visitor frames of the previous epoch are dropped until `hs1`.
    awaiting_hs1: bool,
    /// Whether the first `data` (proof that `hs2` arrived) was seen in this epoch.
    hs2_acked: bool,
    /// Highest buffer counter pushed to the visitor in this epoch.
    delivered: Option<u64>,
    /// How many times the conversation changed epoch (`assigned`, a requeue) while held
    /// here: a buffer read that started in an earlier one is stale — its counters are
    /// another session's — and is dropped.
    epoch: u64,
    /// The position last pushed.
    last_position: u32,
    /// The first position pushed, until the first `assigned` observes the wait for the
    /// estimate (0: nothing to observe).
    first_position: u32,
    /// When the visitor joined here.
    joined_at: Instant,
    /// The counsellor's connection dropped; they may come back (reconnect window).
    counsellor_away: bool,
}

#[derive(Debug)]
struct LocalVisitor {
    mailbox: Mailbox,
    conv: Option<VisitorConv>,
    /// Whether this connection already sent a callback request (one each).
    callback_sent: bool,
}

/// What a counsellor declared when going on duty, as published in their presence.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Duty {
    alias: String,
    skills: Skills,
    capacity: u32,
    bundle: Bundle,
    on_break: bool,
    /// Unix ms until which they are wrapping up (no offers).
    wrap_up_until_ms: u64,
    /// Unix ms since when they have had a free slot.
    free_since_ms: u64,
    /// Set when the connection dropped and its live chats wait for the same account to come
    /// back (the reconnect window): the chats and their queues. No offers meanwhile.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    parked: Vec<(ConvId, QueueId)>,
}

impl Duty {
    /// The slots this duty opens to routing: the capacity, or none on a break or while
    /// parked (a wrap-up is checked when routing runs: it ends by the clock).
    fn open_slots(&self) -> u32 {
        if self.on_break || !self.parked.is_empty() {
            0
        } else {
            self.capacity
        }
    }
}

/// A live conversation, as the node holding the counsellor knows it.
#[derive(Debug)]
struct CounsellorConv {
    /// The visitor's connection (`None` while away).
    visitor: Option<String>,
    queue: QueueId,
    accepted_at: Instant,
}

#[derive(Debug)]
struct LocalCounsellor {
    mailbox: Mailbox,
    alias: String,
    duty: Option<Duty>,
    missed_offers: u32,
    /// Pending offers: queue, when offered, how long the visitor had waited then.
    offers: HashMap<ConvId, (QueueId, Instant, Duration)>,
    live: HashMap<ConvId, CounsellorConv>,
}

/// A dropped counsellor connection whose live chats wait for the same account (the
/// reconnect window). Its presence is kept (marked parked) so another node can reclaim the
/// chats, and so they go back to the queue if this node dies.
#[derive(Debug)]
struct Parked {
    duty: Duty,
    since: Instant,
    /// The visitor's connection of each parked chat.
    visitors: HashMap<ConvId, Option<String>>,
}

#[derive(Debug, Default)]
struct Local {
    visitors: HashMap<ConnId, LocalVisitor>,
    counsellors: HashMap<ConnId, LocalCounsellor>,
    parked: HashMap<ConnId, Parked>,
    /// The visitor connection holding each conversation (every `LocalVisitor::conv`), so that
    /// routing reaches the visitors it has positions for without walking every visitor.
    visitor_of: HashMap<ConvId, ConnId>,
    /// Visitors who resumed here lately, with until when the sweep re-reads their resume
    /// buffer (frames may have been published to their old node meanwhile): the sweep looks
    /// at these, not at every visitor.
    catching_up: Vec<(ConnId, Instant)>,
}

impl Local {
    /// Visitor connection `id` holds `conv` now (joined or resumed); false if it is gone.
    fn hold(&mut self, id: ConnId, conv: VisitorConv) -> bool {
        let Some(v) = self.visitors.get_mut(&id) else {
            return false;
        };
        let held = conv.conv;
        if let Some(old) = v.conv.replace(conv) {
            unindex(&mut self.visitor_of, old.conv, id);
        }
        self.visitor_of.insert(held, id);
        true
    }
}

/// Forgets that connection `id` holds `conv` (not a newer connection that resumed it).
fn unindex(visitor_of: &mut HashMap<ConvId, ConnId>, conv: ConvId, id: ConnId) {
    if visitor_of.get(&conv) == Some(&id) {
        visitor_of.remove(&conv);
    }
}

/// Figures for `/v1/status` and the dashboard: the queues as routing last saw them, the
/// counsellors and live chats as last read for a dashboard or a colleague list (read when
/// asked, never on a clock: nothing is spent on them while nobody looks).
#[derive(Debug, Default, Clone)]
pub struct ClusterFigures {
    /// Waiting per configured queue, with the longest wait.
    pub waiting: Vec<(QueueId, usize, Duration)>,
    /// Counsellors on duty across all nodes: alias, load, capacity, on break.
    pub on_duty: Vec<(String, u32, u32, bool)>,
    /// Live conversations across all nodes.
    pub live: usize,
}

/// The relay engine of one node among many.
#[derive(Debug)]
pub struct Cluster {
    store: Arc<dyn Store>,
    /// This node's random id (part of every connection's name).
    node: String,
    cfg: Settings,
    metrics: Metrics,
    /// This node's counts of today and its wait estimates.
    observed: Mutex<super::observed::Observed>,
    local: Mutex<Local>,
    /// The shared state's generation this node works with.
    generation: Mutex<Option<String>>,
    figures: Mutex<ClusterFigures>,
    /// Set while the store cannot be reached (for `/readyz` and the metrics).
    store_down: std::sync::atomic::AtomicBool,
    /// When a store call last failed: presences are not claimed for a while after.
    store_failed_at: Mutex<Option<Instant>>,
    /// Parked connections whose chats were all reclaimed: their presence ends on the next
    /// tick.
    unparked: Mutex<Vec<ConnId>>,
    /// Wakes the ticker to route now: an event changed who waits or who can take a chat.
    /// Events that arrive while routing runs leave one permit, so they coalesce into one
    /// more run.
    route_now: tokio::sync::Notify,
    /// The version of the callback list this node's counsellors were last sent.
    callbacks_seen: Mutex<Option<u64>>,
    /// This node's counts of today as last shared through the store.
    stats_shared: Mutex<Option<crate::stats::Stats>>,
    /// The other nodes' counts of today as last read (summed with this node's own at
    /// every dashboard snapshot).
    stats_others: Mutex<Vec<crate::stats::Stats>>,
}

fn other_reason() -> crate::protocol::EndReason {
    crate::protocol::EndReason::Other
}

/// The node and the connection number of a connection's name.
fn split_name(name: &str) -> Option<(&str, ConnId)> {
    let (node, n) = name.rsplit_once('.')?;
    Some((node, n.parse().ok()?))
}

impl Cluster {
    /// A node on `store` with a fresh random node id.
    pub fn new(store: Arc<dyn Store>, cfg: Settings, metrics: Metrics) -> Arc<Self> {
        let node = format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff);
        Arc::new(Self {
            store,
            node,
            observed: Mutex::new(super::observed::Observed::new(
                cfg.time_zone.clone(),
                metrics.clone(),
            )),
            metrics,
            local: Mutex::new(Local::default()),
            generation: Mutex::new(None),
            figures: Mutex::new(ClusterFigures {
                waiting: cfg
                    .queues
                    .iter()
                    .map(|q| (q.clone(), 0, Duration::ZERO))
                    .collect(),
                ..ClusterFigures::default()
            }),
            cfg,
            store_down: std::sync::atomic::AtomicBool::new(false),
            store_failed_at: Mutex::new(None),
            unparked: Mutex::new(Vec::new()),
            route_now: tokio::sync::Notify::new(),
            callbacks_seen: Mutex::new(None),
            stats_shared: Mutex::new(None),
            stats_others: Mutex::new(Vec::new()),
        })
    }

    /// Now on the engine's clock (`Settings::clock`).
    pub(super) fn now(&self) -> Instant {
        self.cfg.clock.now()
    }

    /// How many visitor connections this node holds (a connection that closed is no longer
    /// counted once the engine has handled its close).
    pub fn visitors_here(&self) -> usize {
        self.local().visitors.len()
    }

    /// This node's id.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The figures as last seen (see `ClusterFigures`; `on_duty_now` reads the counsellors).
    pub fn figures(&self) -> ClusterFigures {
        self.figures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Asks the ticker to route at once (routing runs on events; the tick is the safety
    /// net).
    pub(super) fn route_soon(&self) {
        self.route_now.notify_one();
    }

    /// Records whether the store answers (for `/readyz` and `lyt_store_up`).
    fn set_store_up(&self, up: bool) {
        self.store_down
            .store(!up, std::sync::atomic::Ordering::Relaxed);
        self.metrics.store_up.set(i64::from(up));
        if !up {
            *self
                .store_failed_at
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(self.now());
        }
    }

    /// Whether a store call failed within `d`.
    fn store_failed_within(&self, d: Duration) -> bool {
        self.store_failed_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|t| self.now().saturating_duration_since(t) < d)
    }

    /// Whether the store answered the last tick.
    pub fn store_reachable(&self) -> bool {
        !self.store_down.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// This node's counts of today and its wait estimates.
    pub fn observed(&self) -> std::sync::MutexGuard<'_, super::observed::Observed> {
        self.observed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn local(&self) -> std::sync::MutexGuard<'_, Local> {
        self.local.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn name(&self, id: ConnId) -> String {
        format!("{}.{id}", self.node)
    }

    /// Maps a store error to the client's refusal.
    fn refusal(&self, e: &StoreError) -> Refusal {
        match e {
            StoreError::Unavailable => {
                self.set_store_up(false);
                refusal::UNAVAILABLE
            }
            StoreError::Conflict => (ErrorCode::Conflict, "this changed meanwhile; try again"),
            StoreError::NotFound => (ErrorCode::NotFound, "no such conversation"),
            StoreError::QueueFull => refusal::QUEUE_FULL,
        }
    }

    /// Starts a connection's worker: frames sent to it are applied in order. A full queue
    /// means the client floods: the caller closes the connection.
    pub fn spawn_worker<Op: Send + 'static>(
        self: &Arc<Self>,
        mut apply: impl FnMut(Arc<Self>, Op) -> futures_util::future::BoxFuture<'static, ()>
        + Send
        + 'static,
    ) -> Worker<Op> {
        let (tx, mut rx) = mpsc::channel::<Op>(WORKER_QUEUE);
        let pending = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let me = Arc::clone(self);
        let done = Arc::clone(&pending);
        tokio::spawn(async move {
            while let Some(op) = rx.recv().await {
                apply(Arc::clone(&me), op).await;
                done.fetch_sub(1, std::sync::atomic::Ordering::Release);
            }
        });
        Worker { tx, pending }
    }

    /// Completes `op` in place; for operations of a store that answers at once
    /// (`applies_at_once`), so it never waits. Should it not complete, it is a bug: logged and
    /// answered `internal`.
    pub fn apply_at_once(
        op: impl std::future::Future<Output = Result<(), Refusal>>,
    ) -> Result<(), Refusal> {
        use futures_util::FutureExt as _;
        op.now_or_never().unwrap_or_else(|| {
            tracing::error!("an in-memory store call did not complete at once");
            Err(refusal::INTERNAL)
        })
    }

    /// Whether every store call answers when first polled (`Store::answers_at_once`): a
    /// connection's relayed frames may then be applied in its own task, without the hop to
    /// its worker, whenever the worker is idle.
    pub fn applies_at_once(&self) -> bool {
        self.store.answers_at_once()
    }

    /// Sends `frame` (with what it means, `kind`) to connection `to`, wherever it is.
    async fn send(&self, to: &str, kind: Kind, frame: Option<Utf8Bytes>) {
        let Some((node, id)) = split_name(to) else {
            return;
        };
        if node == self.node {
            // A lost counsellor of a local visitor is handled by `counsellor_lost` directly,
            // so only a presence change can follow.
            let after = self.deliver(Note { to: id, kind }, frame);
            self.follow_up(&after).await;
            return;
        }
        let payload = encode(&Note { to: id, kind }, frame.as_ref());
        if self.store.publish(node, payload).await.is_err() {
            // At most once: a lost control message is recovered by the receiver's own
            // ticks (leases, expiry) and by resume; count it.
            self.metrics
                .frames_refused
                .with_label_values(&["store_unavailable"])
                .inc();
        }
    }

    /// Sends a server frame to connection `to`.
    async fn send_frame(&self, to: &str, kind: Kind, frame: &ServerFrame) {
        self.send(to, kind, Some(frame.to_json().into())).await;
    }

    /// Records that `side` of `conv` holds every frame up to counter `upto`. An
    /// acknowledgement is cumulative and the client's next one covers it, so one the store
    /// cannot take now is dropped (counted as `store_unavailable`) instead of refused: the
    /// client could do nothing with the refusal, and the resume buffer keeps a few frames
    /// longer. Any other failure is refused as usual.
    async fn ack_cumulative(&self, conv: ConvId, side: Side, upto: u64) -> Result<(), Refusal> {
        match self.store.ack(conv, side, upto).await {
            Ok(()) => Ok(()),
            Err(StoreError::Unavailable) => {
                self.set_store_up(false);
                self.metrics
                    .frames_refused
                    .with_label_values(&["store_unavailable"])
                    .inc();
                Ok(())
            }
            Err(e) => Err(self.refusal(&e)),
        }
    }

    /// Relays a client's ciphertext frame as `relay` does, retrying while the store cannot
    /// be reached (for up to `RELAY_RETRY_FOR`). The client spent its Noise counter on the
    /// frame, so refusing it would leave a gap that ends the chat: a store that stalls or
    /// restarts costs a delay, not a conversation. The worker applies this connection's
    /// frames in order, so later frames wait behind the retried one. A retry of a call
    /// whose answer was lost is not kept twice (`Store::append` is idempotent per counter).
    async fn relay_kept(
        &self,
        writer: ConnId,
        conv: ConvId,
        side: Side,
        n: u64,
        frame: Utf8Bytes,
        to: Option<&str>,
    ) -> Result<(), StoreError> {
        // Real time, on any clock: this waits for a store that did not answer.
        let deadline = Instant::now() + RELAY_RETRY_FOR;
        let mut backoff = Duration::from_millis(50);
        let writer = self.name(writer);
        loop {
            match self.relay(&writer, conv, side, n, frame.clone(), to).await {
                Err(StoreError::Unavailable) if Instant::now() < deadline => {
                    self.set_store_up(false);
                    self.metrics
                        .frames_refused
                        .with_label_values(&["store_retry"])
                        .inc();
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
                r => return r,
            }
        }
    }

    /// Relays a ciphertext frame from connection `writer` to `side` of `conv`, whose
    /// connection there is `to` (if attached): kept in the resume buffer and delivered, in
    /// one round trip. Fenced: `Conflict` when `writer` no longer holds its end.
    async fn relay(
        &self,
        writer: &str,
        conv: ConvId,
        side: Side,
        n: u64,
        frame: Utf8Bytes,
        to: Option<&str>,
    ) -> Result<(), StoreError> {
        let target = to.and_then(split_name);
        match target {
            Some((node, id)) if node != self.node => {
                let note = Note {
                    to: id,
                    kind: Kind::Relayed { conv, n },
                };
                let header = encode(&note, None);
                self.store
                    .relay(
                        conv,
                        side,
                        n,
                        frame.as_bytes().to_vec(),
                        node,
                        header,
                        Some(writer),
                    )
                    .await
            }
            _ => {
                self.store
                    .append(conv, side, n, frame.as_bytes().to_vec(), Some(writer))
                    .await?;
                if let Some((_, id)) = target {
                    let after = self.deliver(
                        Note {
                            to: id,
                            kind: Kind::Relayed { conv, n },
                        },
                        Some(frame),
                    );
                    self.follow_up(&after).await;
                }
                Ok(())
            }
        }
    }

    /// Applies a delivery to this node's state and pushes its frame. Returns what the caller
    /// must then do with the store.
    fn deliver(&self, note: Note, frame: Option<Utf8Bytes>) -> AfterDelivery {
        let id = note.to;
        let mut requeue = None;
        let mut present = None;
        let mut catch_up = None;
        let mut unpark = None;
        {
            let mut local = self.local();
            let local = &mut *local;
            if let Some(v) = local.visitors.get_mut(&id) {
                let push = match note.kind {
                    Kind::Relayed { conv, n } => match v.conv.as_mut() {
                        // The next frame of the epoch: pushed. Buffer counters are
                        // consecutive (`counter`), so a later one overtook a frame this node
                        // has not pushed: the buffer has both, in order.
                        Some(c) if c.conv == conv && c.delivered.is_none_or(|d| n > d) => {
                            if c.delivered.is_some_and(|d| n > d + 1) {
                                catch_up = Some(id);
                                false
                            } else {
                                c.delivered = Some(n);
                                true
                            }
                        }
                        _ => false,
                    },
                    Kind::Assigned { conv, counsellor } => match v.conv.as_mut() {
                        Some(c) if c.conv == conv => {
                            if c.first_position > 0 {
                                self.observed().observe_wait(
                                    &c.queue,
                                    self.now().saturating_duration_since(c.joined_at),
                                    c.first_position,
                                );
                                c.first_position = 0;
                            }
                            c.counsellor = Some(counsellor);
                            c.counsellor_away = false;
                            c.awaiting_hs1 = true;
                            c.hs2_acked = false;
                            c.delivered = Some(counter::ASSIGNED);
                            c.epoch += 1;
                            true
                        }
                        _ => false,
                    },
                    Kind::Ended { conv, .. } => {
                        if v.conv.as_ref().is_some_and(|c| c.conv == conv) {
                            v.conv = None;
                            unindex(&mut local.visitor_of, conv, id);
                            true
                        } else {
                            false
                        }
                    }
                    Kind::Requeued { conv, queue } => {
                        if let Some(c) = v.conv.as_mut().filter(|c| c.conv == conv) {
                            c.queue = queue;
                            c.counsellor = None;
                            c.counsellor_away = false;
                            c.awaiting_hs1 = false;
                            c.delivered = None;
                            c.epoch += 1;
                            c.last_position = 0;
                        }
                        true
                    }
                    Kind::CounsellorLost { conv, ref from } => {
                        if let Some(c) = v.conv.as_ref().filter(|c| c.conv == conv) {
                            requeue = Some((conv, c.queue.clone(), from.clone()));
                        }
                        false
                    }
                    Kind::CounsellorAway { conv } => {
                        if let Some(c) = v.conv.as_mut().filter(|c| c.conv == conv) {
                            c.counsellor_away = true;
                            true
                        } else {
                            false
                        }
                    }
                    Kind::Close => {
                        if let Some(c) = v.conv.take() {
                            unindex(&mut local.visitor_of, c.conv, id);
                        }
                        v.mailbox.close(
                            crate::protocol::close::POLICY,
                            "resumed on another connection",
                        );
                        false
                    }
                    Kind::Frame
                    | Kind::Offer { .. }
                    | Kind::Withdrawn { .. }
                    | Kind::Peer { .. } => true,
                    Kind::Reclaimed { .. } => false,
                };
                if push && let Some(f) = frame {
                    v.mailbox.push(f);
                }
            } else if let Some(c) = local.counsellors.get_mut(&id) {
                // An expired offer counts as missed after its `ended` is pushed, so that a
                // resulting `on_break` follows it.
                let mut missed = false;
                let push = match note.kind {
                    Kind::Offer {
                        conv,
                        queue,
                        waited_ms,
                    } => {
                        c.offers
                            .insert(conv, (queue, self.now(), Duration::from_millis(waited_ms)));
                        true
                    }
                    Kind::Withdrawn { conv, expired } => {
                        let had = c.offers.remove(&conv).is_some();
                        missed = had && expired;
                        had
                    }
                    Kind::Ended { conv, reason } => {
                        let had = c.offers.remove(&conv).is_some();
                        if let Some(live) = c.live.remove(&conv) {
                            end_of_chat(c, &self.cfg, &self.metrics, &self.observed, &live);
                            // Routing reads the published presence: it must carry the
                            // wrap-up and free-since this end started.
                            present = Some(id);
                            // A chat that was accepted is a contact; the counsellor's `end`
                            // counts the ones they tagged, this one the others.
                            let outcome = if reason == crate::protocol::EndReason::VisitorLeft {
                                "ended_by_visitor"
                            } else {
                                reason.as_str()
                            };
                            self.observed().contact(
                                "chat",
                                Some(live.queue.lang()),
                                &crate::protocol::Tags::default(),
                                outcome,
                            );
                            true
                        } else {
                            had
                        }
                    }
                    Kind::Peer { conv, visitor } => match c.live.get_mut(&conv) {
                        Some(l) => {
                            l.visitor = visitor;
                            true
                        }
                        None => false,
                    },
                    Kind::Relayed { conv, .. } => c.live.contains_key(&conv),
                    Kind::Close => {
                        c.mailbox.close(
                            crate::protocol::close::POLICY,
                            "resumed on another connection",
                        );
                        false
                    }
                    Kind::Frame => true,
                    Kind::Assigned { .. }
                    | Kind::Requeued { .. }
                    | Kind::CounsellorLost { .. }
                    | Kind::CounsellorAway { .. }
                    | Kind::Reclaimed { .. } => false,
                };
                if push && let Some(f) = frame {
                    c.mailbox.push(f);
                }
                if missed && self.count_missed_offer(c) {
                    present = Some(id);
                }
            } else if let Some(p) = local.parked.get_mut(&id)
                && let Kind::Reclaimed { conv } = note.kind
            {
                // The chat is live on the reclaiming connection now (counted there).
                self.metrics.conversations_live.dec();
                p.visitors.remove(&conv);
                p.duty.parked.retain(|(c, _)| *c != conv);
                if p.visitors.is_empty() {
                    local.parked.remove(&id);
                    unpark = Some(id);
                }
            }
        }
        if let Some(id) = unpark {
            self.unparked
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(id);
        }
        AfterDelivery {
            requeue,
            present,
            catch_up,
        }
    }

    /// What a delivery leaves to do besides a requeue (which only the inbox can be asked
    /// for): publish a counsellor's changed presence, catch a visitor up from the buffer.
    async fn follow_up(&self, after: &AfterDelivery) {
        if let Some(id) = after.present {
            self.present(id).await;
        }
        if let Some(id) = after.catch_up {
            self.catch_up_visitor(id).await;
        }
    }

    /// A counsellor let an offer expire; too many in a row put them on break. True when they
    /// went on break (their presence must say so before routing runs again).
    fn count_missed_offer(&self, c: &mut LocalCounsellor) -> bool {
        c.missed_offers += 1;
        let limit = self.cfg.max_missed_offers;
        let Some(duty) = c.duty.as_mut() else {
            return false;
        };
        if limit == 0 || c.missed_offers < limit || duty.on_break {
            return false;
        }
        duty.on_break = true;
        c.mailbox.send(&ServerFrame::OnBreak {
            reason: crate::protocol::BreakReason::MissedOffers,
        });
        true
    }

    /// The counsellor of `conv` is gone; its visitor is at connection `visitor`. The node
    /// holding the visitor knows the queue and puts the conversation back.
    async fn counsellor_lost(&self, conv: ConvId, visitor: &str, from: &str) {
        match split_name(visitor) {
            Some((node, id)) if node == self.node => {
                let queue = self
                    .local()
                    .visitors
                    .get(&id)
                    .and_then(|v| v.conv.as_ref())
                    .filter(|c| c.conv == conv)
                    .map(|c| c.queue.clone());
                if let Some(queue) = queue {
                    self.requeue_live(conv, &queue, Some(visitor), from).await;
                }
            }
            _ => {
                let from = from.to_owned();
                self.send(visitor, Kind::CounsellorLost { conv, from }, None)
                    .await
            }
        }
    }

    fn priority(&self, queue: &QueueId) -> bool {
        self.cfg.priority_topics.iter().any(|t| t == queue.topic())
    }

    /// The inbox: payloads published to this node, and catch-up after interruptions. Runs
    /// until `shutdown`.
    pub async fn run_inbox(self: Arc<Self>, shutdown: tokio_util::sync::CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        loop {
            let rx = tokio::select! {
                () = shutdown.cancelled() => return,
                r = self.store.subscribe(&self.node) => r,
            };
            let mut rx = match rx {
                Ok(rx) => rx,
                Err(_) => {
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            backoff = Duration::from_millis(100);
            loop {
                let event = tokio::select! {
                    () = shutdown.cancelled() => return,
                    e = rx.recv() => e,
                };
                match event {
                    Some(crate::store::InboxEvent::Message(payload)) => {
                        if let Some((note, frame)) = decode(&payload) {
                            let to = self.name(note.to);
                            let after = self.deliver(note, frame);
                            if let Some((conv, queue, from)) = &after.requeue {
                                self.requeue_live(*conv, queue, Some(&to), from).await;
                            }
                            self.follow_up(&after).await;
                        }
                    }
                    Some(crate::store::InboxEvent::Gap) => self.catch_up_all().await,
                    None => break,
                }
            }
        }
    }
}

/// Book-keeping when a counsellor's live chat ends on their node.
fn end_of_chat(
    c: &mut LocalCounsellor,
    cfg: &Settings,
    metrics: &Metrics,
    observed: &Mutex<super::observed::Observed>,
    live: &CounsellorConv,
) {
    let handled = cfg.clock.now().saturating_duration_since(live.accepted_at);
    metrics.handle_seconds.observe(handled.as_secs_f64());
    observed
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .observe_handle(&live.queue, handled);
    let now = cfg.clock.unix_ms();
    if let Some(d) = c.duty.as_mut() {
        d.free_since_ms = now;
        if !cfg.wrap_up.is_zero() {
            d.wrap_up_until_ms =
                now.saturating_add(u64::try_from(cfg.wrap_up.as_millis()).unwrap_or(u64::MAX));
        }
    }
}

/// Whether frame `n` is one after which the relay says what it kept (`tell_stored`): checked
/// before looking the connection up, so the other frames cost nothing.
fn stored_due(n: u64) -> bool {
    n.wrapping_add(1)
        .is_multiple_of(crate::protocol::STORED_EVERY)
}

/// Tells a client, after every `STORED_EVERY`th of its `data` frames (`stored_due`), that the
/// relay has kept them all up to `n` (`stored{upto}`), so it can forget them: what it still
/// keeps is what it sends again after a resume.
fn tell_stored(mailbox: &Mailbox, conv: ConvId, n: u64) {
    mailbox.send(&ServerFrame::Stored { conv, upto: n });
}

/// The capacity of this node's counsellors on duty who serve `queue` (for the estimate).
fn slots_for(local: &Local, queue: &QueueId) -> u32 {
    local
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
            d.parked.is_empty() && lang && topic
        })
        .map(|d| d.capacity)
        .sum()
}

/// A payload: the note as one JSON line, then the frame.
fn encode(note: &Note, frame: Option<&Utf8Bytes>) -> Vec<u8> {
    let mut out = serde_json::to_vec(note).unwrap_or_default();
    out.push(b'\n');
    if let Some(f) = frame {
        out.extend_from_slice(f.as_bytes());
    }
    out
}

/// The note and frame of a payload; `None` for anything malformed (logged by kind only).
fn decode(payload: &[u8]) -> Option<(Note, Option<Utf8Bytes>)> {
    let nl = payload.iter().position(|b| *b == b'\n')?;
    let Ok(note) = serde_json::from_slice::<Note>(&payload[..nl]) else {
        tracing::warn!("malformed inbox payload dropped");
        return None;
    };
    let rest = &payload[nl + 1..];
    let frame = if rest.is_empty() {
        None
    } else {
        Some(Utf8Bytes::from(String::from_utf8(rest.to_vec()).ok()?))
    };
    Some((note, frame))
}

impl Cluster {
    /// The supervisor's figures, the same on every node: queues (as routing last saw them),
    /// counsellors on duty and live chats (read now), today's counts (this node's now and
    /// the other nodes' as last shared).
    pub async fn snapshot(&self) -> super::snapshot::RelaySnapshot {
        use super::snapshot::{CounsellorState, OnDuty, QueueFigures};
        self.on_duty_now().await;
        let f = self.figures();
        let queues = f
            .waiting
            .iter()
            .map(|(q, n, longest)| QueueFigures {
                id: q.to_string(),
                waiting: *n,
                longest_wait_s: longest.as_secs(),
                eta_s: self.eta_s(q, u32::try_from(*n + 1).unwrap_or(u32::MAX)),
            })
            .collect();
        let mut on_duty: Vec<OnDuty> = f
            .on_duty
            .iter()
            .map(|(alias, load, capacity, on_break)| OnDuty {
                alias: alias.clone(),
                state: if *on_break {
                    CounsellorState::OnBreak
                } else if load >= capacity {
                    CounsellorState::Busy
                } else {
                    CounsellorState::Available
                },
                chats: *load,
                capacity: *capacity,
            })
            .collect();
        on_duty.sort_by(|a, b| a.alias.cmp(&b.alias));
        // Today: this node's counts now, and the other nodes' as last read.
        let (date, mine) = self.today_counts();
        let others = self
            .stats_others
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        super::snapshot::RelaySnapshot {
            queues,
            on_duty,
            active_chats: f.live,
            today: crate::stats::Stats::sum_of_day(&date, others.into_iter().chain([mine]))
                .today(&date),
        }
    }

    /// The wait estimate for `position` in `queue` (see `Observed::eta_s`).
    pub fn eta_s(&self, queue: &QueueId, position: u32) -> u64 {
        let local = self.local();
        self.observed()
            .eta_s(queue, position, || slots_for(&local, queue))
    }

    /// Today's date and this node's counts of it.
    fn today_counts(&self) -> (String, crate::stats::Stats) {
        self.observed().today_counts()
    }

    /// Shares this node's counts of today through the store (when they changed) and reads
    /// the other nodes', so every node's dashboard shows the same day. On the renewals tick.
    pub(super) async fn share_stats(&self) {
        let (date, mine) = self.today_counts();
        let changed = self
            .stats_shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            != Some(&mine);
        if changed && let Ok(bytes) = serde_json::to_vec(&mine) {
            if self
                .store
                .stats_put(&date, &self.node, bytes)
                .await
                .is_err()
            {
                return;
            }
            *self
                .stats_shared
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(mine);
        }
        let Ok(parts) = self.store.stats_day(&date).await else {
            return;
        };
        let others = parts
            .into_iter()
            .filter(|(node, _)| *node != self.node)
            .filter_map(|(_, bytes)| serde_json::from_slice(&bytes).ok())
            .collect();
        *self
            .stats_others
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = others;
    }

    /// The figures with the counsellors and the live chats read now.
    pub async fn figures_now(&self) -> ClusterFigures {
        self.on_duty_now().await;
        self.figures()
    }

    /// Reads the counsellors on duty on every node and the live chats into the figures (kept
    /// as they were when the store cannot be reached).
    async fn on_duty_now(&self) {
        let (Ok(on_duty), Ok(live)) = tokio::join!(self.store.on_duty(), self.store.live()) else {
            return;
        };
        let on_duty = on_duty
            .into_iter()
            .filter_map(|o| {
                let d: Duty = serde_json::from_slice(&o.duty).ok()?;
                // A parked connection is not on duty; its account may be, on another one.
                d.parked
                    .is_empty()
                    .then_some((d.alias, o.load, d.capacity, d.on_break))
            })
            .collect();
        let mut f = self.figures.lock().unwrap_or_else(PoisonError::into_inner);
        f.on_duty = on_duty;
        f.live = live.len();
    }

    /// Colleagues on duty on any node other than `alias`, and whether each can take a chat.
    pub async fn colleagues(&self, alias: &str) -> Vec<(String, bool)> {
        self.on_duty_now().await;
        let mut out: Vec<(String, bool)> = self
            .figures()
            .on_duty
            .into_iter()
            .filter(|(a, ..)| !a.eq_ignore_ascii_case(alias))
            .map(|(a, load, capacity, on_break)| (a, load < capacity && !on_break))
            .collect();
        out.sort();
        out.dedup_by(|a, b| a.0 == b.0);
        out
    }

    /// Conversations the shared state holds, waiting (offered included) or live.
    pub async fn conversation_count(&self) -> usize {
        let (waiting, live) = tokio::join!(self.store.waiting(&self.cfg.queues), self.store.live());
        waiting.map_or(0, |w| w.len()) + live.map_or(0, |l| l.len())
    }

    /// Whether the account `alias` is connected here or on duty on any node.
    pub async fn is_connected(&self, alias: &str) -> bool {
        let here = self
            .local()
            .counsellors
            .values()
            .any(|c| c.alias.eq_ignore_ascii_case(alias));
        here || self
            .store
            .on_duty_as(&alias.to_lowercase())
            .await
            .is_ok_and(|p| !p.is_empty())
    }

    /// Closes every connection of the counsellor `alias` on this node (their account was
    /// disabled): the socket tasks end and the engine handles them as dropped connections
    /// — pending offers go back to their queues, live chats follow the reconnect rules and,
    /// since the account can no longer log in, return to the front of their queue when the
    /// window passes. Other nodes close theirs when they read the account change.
    pub fn disconnect_alias(&self, alias: &str) -> usize {
        let local = self.local();
        let mut n = 0;
        for c in local
            .counsellors
            .values()
            .filter(|c| c.alias.eq_ignore_ascii_case(alias))
        {
            c.mailbox
                .close(crate::protocol::close::POLICY, "account disabled");
            n += 1;
        }
        n
    }

    /// Conversations waiting without a pending offer, in order of service.
    pub async fn waiting_conversations(&self) -> Vec<ConvId> {
        let mut waiting = self
            .store
            .waiting(&self.cfg.queues)
            .await
            .unwrap_or_default();
        waiting.retain(|w| w.offered_to.is_none());
        waiting.sort_by_key(|w| w.order);
        waiting.into_iter().map(|w| w.conv).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        let conv = ConvId::random();
        let note = Note {
            to: 7,
            kind: Kind::Relayed { conv, n: 9 },
        };
        let frame = Utf8Bytes::from(r#"{"t":"data"}"#);
        let (back, f) = decode(&encode(&note, Some(&frame))).unwrap();
        assert_eq!(back.to, 7);
        assert!(matches!(back.kind, Kind::Relayed { conv: c, n: 9 } if c == conv));
        assert_eq!(f.unwrap(), frame);
        let (back, f) = decode(&encode(
            &Note {
                to: 1,
                kind: Kind::Close,
            },
            None,
        ))
        .unwrap();
        assert!(matches!(back.kind, Kind::Close));
        assert!(f.is_none());
        assert!(decode(b"not json\n{}").is_none());
        assert!(decode(b"no newline").is_none());
    }

    #[test]
    fn names_split() {
        assert_eq!(split_name("ab12.7"), Some(("ab12", 7)));
        assert_eq!(split_name("ab12"), None);
        assert_eq!(split_name("ab12.x"), None);
    }
}
