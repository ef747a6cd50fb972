//! Shared relay state behind one contract, `Store`, so that many nodes can share it: the
//! queues and offers that routing commits to, the per-conversation resume buffers, node
//! inboxes for cross-node delivery, and node liveness. `MemoryStore` keeps it in process;
//! `RedisStore` keeps it in Redis (one Lua script per operation). `docs/state.md` explains the
//! design and the Redis key schema; `tests/store_conformance.rs` runs one suite on both.
//!
//! What a store holds is routing metadata (ids, queue names, counters, deadlines) and
//! ciphertext frames as the relay sends them — never plaintext, keys, resume tokens or
//! addresses.

pub mod keys;
pub mod memory;
pub mod redis;

use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

use crate::protocol::{ConvId, QueueId};
use crate::routing::Order;

pub use memory::MemoryStore;
pub use redis::RedisStore;

/// Most frames a resume buffer keeps per conversation and direction.
pub const MAX_FRAMES: usize = 512;
/// Most bytes a resume buffer keeps per conversation and direction.
pub const MAX_BYTES: usize = 1024 * 1024;

/// A counsellor's connection, named across nodes as `<node>.<n>`: the node holding the
/// connection is part of its name.
pub type CounsellorRef = str;

/// Why a store operation did not happen. No operation half-applies on error.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    /// The backend cannot be reached or did not answer in time; callers refuse new work with
    /// `overloaded` and keep running.
    #[error("the state store is unavailable")]
    Unavailable,
    /// A compare-and-set lost: the state is no longer what the caller decided on.
    #[error("the state changed concurrently")]
    Conflict,
    /// The conversation is not in the state the operation needs (or does not exist).
    #[error("no such conversation")]
    NotFound,
    /// The queue (or all queues together) is at its limit.
    #[error("the queue is full")]
    QueueFull,
}

/// The result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// Limits a join is checked against.
#[derive(Debug, Clone, Copy)]
pub struct JoinLimits {
    /// Most visitors waiting in one queue.
    pub max_queue_len: usize,
    /// Most visitors waiting in all queues together.
    pub max_waiting_total: usize,
    /// The conversation's first lease (the resume window; see `Store::keep`).
    pub lease: Duration,
}

/// A conversation waiting in a queue, as the routing snapshot sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// The conversation.
    pub conv: ConvId,
    /// Its queue.
    pub queue: QueueId,
    /// Its place in the order of service.
    pub order: Order,
    /// How long since it joined (a transfer keeps the original join).
    pub waited: Duration,
    /// The counsellor holding a pending offer for it, if any.
    pub offered_to: Option<String>,
    /// Counsellors who passed on it (declined or let the offer expire), with how long ago.
    pub passed: Vec<(String, Duration)>,
}

/// An offer whose deadline passed: the visitor is waiting again and `counsellor` must be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredOffer {
    /// The conversation.
    pub conv: ConvId,
    /// The counsellor who held the offer.
    pub counsellor: String,
}

/// A counsellor on duty, as the routing snapshot sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnDuty {
    /// The counsellor's connection.
    pub counsellor: String,
    /// What they declared (skills, capacity, bundle), as the relay serialised it.
    pub duty: Vec<u8>,
    /// Slots they hold (pending offers and live conversations).
    pub load: u32,
}

/// What a counsellor's presence declares to the store's indexes, beside the opaque duty: so
/// that routing reads only who can take a chat (`Store::open_duty`) and a reclaim only the
/// presences of one account (`Store::on_duty_as`), never every presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presence<'a> {
    /// The account's alias, lowercased by the caller (the store compares bytes).
    pub alias: &'a str,
    /// Slots open to routing: their capacity, or 0 while they take no new chat (a break, a
    /// parked connection). The store lists them in `open_duty` while their load is below.
    pub open: u32,
    /// A dropped connection whose chats wait for the account (the reconnect window): listed
    /// by `parked_as`.
    pub parked: bool,
}

/// A counsellor whose presence expired (their node died or lost them), as claimed by one
/// caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gone {
    /// The counsellor's connection.
    pub counsellor: String,
    /// Their live conversations, still live with them: the caller applies the reconnect rule
    /// (park, then `requeue_front`).
    pub live: Vec<ConvId>,
    /// Their pending offers, already taken back (the visitors keep their places).
    pub offers: Vec<ConvId>,
}

/// A pending callback request as a store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    /// The request id the visitor chose (the envelope's aad).
    pub id: String,
    /// The queue and the sealed envelope as the relay serialised them (opaque to the store).
    pub entry: Vec<u8>,
    /// How long ago it was added, on the store's clock.
    pub age: Duration,
}

/// The pending callback requests.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Callbacks {
    /// The oldest requests, oldest first, up to the limit asked for.
    pub items: Vec<Callback>,
    /// How many are pending in all.
    pub pending: usize,
    /// Changes with every addition, removal and expiry (see `Store::callbacks_version`).
    pub version: u64,
}

/// Each node's counts of a day: the node and its counts, in node order.
pub type NodeCounts = Vec<(String, Vec<u8>)>;

/// One direction of a conversation: whose resume buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// Frames to the visitor.
    Visitor,
    /// Frames to the counsellor.
    Counsellor,
}

impl Side {
    /// Short name used in keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Visitor => "v",
            Self::Counsellor => "c",
        }
    }
}

/// A frame kept for replay, with the sender's Noise counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// The counter `n` of the `data` frame.
    pub n: u64,
    /// The serialised frame, exactly as it was sent (ciphertext in `m`).
    pub frame: Vec<u8>,
}

/// What a replay found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    /// Every kept frame after the caller's counter, in append order.
    Frames(Vec<Kept>),
    /// A frame the caller has not acknowledged was dropped by the buffer's cap: resuming would
    /// skip messages, so the conversation must end visibly instead.
    Lost,
}

/// What arrives in a node's inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxEvent {
    /// A payload published to this node.
    Message(Vec<u8>),
    /// The subscription was interrupted and is back: payloads published meanwhile may be lost
    /// (pub/sub is at most once), so the node must replay its conversations from the resume
    /// buffers.
    Gap,
}

/// Shared relay state. Implementations are cheap to share (`Arc<dyn Store>`).
///
/// Contract, for every implementation:
/// - **Atomic.** Each method applies entirely or not at all, and concurrent callers on any
///   node see it entirely or not at all. On Redis each is one Lua script over keys of one
///   hash slot (plus, for `end`, a delete in the conversation's slot).
/// - **One clock.** Deadlines are durations on the store's own clock, so nodes with skewed
///   clocks agree.
/// - **Bounded lifetime.** Everything a store holds expires: routing structures after
///   `route_ttl` without writes, a conversation's buffers after `conv_ttl` without appends,
///   a node's liveness after its heartbeat TTL. `end` removes a conversation at once.
/// - **Visible failure.** `Unavailable` when the backend cannot be reached; never a silent
///   no-op.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Puts `conv` at the back of `queue` (behind those put back at the front and, unless
    /// `priority`, behind priority topics), gives it a lease of `limits.lease` (see `keep`) and
    /// returns its 1-based position in that queue.
    /// `QueueFull` when the queue or all queues together are at their limit; `Conflict` when
    /// `conv` is already waiting.
    fn join(
        &self,
        conv: ConvId,
        queue: &QueueId,
        priority: bool,
        limits: JoinLimits,
    ) -> BoxFuture<'_, StoreResult<u32>>;

    /// Every conversation waiting in `queues` (pending offers included), in order of
    /// service: the snapshot routing decides on.
    fn waiting<'a>(&'a self, queues: &'a [QueueId]) -> BoxFuture<'a, StoreResult<Vec<Waiting>>>;

    /// The 1-based position of a waiting `conv` in its queue; `NotFound` if it is not waiting.
    fn position(&self, conv: ConvId) -> BoxFuture<'_, StoreResult<u32>>;

    /// Offers waiting `conv` to `counsellor` until `ttl` passes, holding one of their slots.
    /// Compare-and-set: `Conflict` if `conv` already has a pending offer or `counsellor`
    /// already holds `capacity` slots; `NotFound` if `conv` is not waiting. So two nodes
    /// never offer one visitor at once, nor a counsellor more than their capacity.
    fn offer<'a>(
        &'a self,
        conv: ConvId,
        counsellor: &'a CounsellorRef,
        capacity: u32,
        ttl: Duration,
    ) -> BoxFuture<'a, StoreResult<()>>;

    /// The counsellor holding the pending offer accepts: `conv` leaves its queue and is live
    /// with them (the slot stays held). `Conflict` if the offer is not theirs or has expired.
    fn accept<'a>(
        &'a self,
        conv: ConvId,
        counsellor: &'a CounsellorRef,
    ) -> BoxFuture<'a, StoreResult<()>>;

    /// Takes back `counsellor`'s pending offer of `conv` (declined, or withdrawn because they
    /// went off duty): the visitor keeps their place and the slot is freed. With `passed`, the
    /// counsellor is recorded as having passed on this visitor. `Conflict` if the offer is not
    /// theirs.
    fn withdraw<'a>(
        &'a self,
        conv: ConvId,
        counsellor: &'a CounsellorRef,
        passed: bool,
    ) -> BoxFuture<'a, StoreResult<()>>;

    /// Takes back every offer whose deadline passed, recording each counsellor as having
    /// passed. Each expired offer is returned to exactly one caller, across all nodes.
    fn expired_offers(&self) -> BoxFuture<'_, StoreResult<Vec<ExpiredOffer>>>;

    /// Every live conversation and its counsellor (for the dashboard and the ticker).
    fn live(&self) -> BoxFuture<'_, StoreResult<Vec<(ConvId, String)>>>;

    /// The counsellor `conv` is live with, if it is live.
    fn live_with(&self, conv: ConvId) -> BoxFuture<'_, StoreResult<Option<String>>>;

    /// Slots `counsellor` holds (pending offers and live conversations).
    fn load<'a>(&'a self, counsellor: &'a CounsellorRef) -> BoxFuture<'a, StoreResult<u32>>;

    /// Ends `conv` in whatever phase: removes it from every routing structure (and its
    /// lease), frees its slot and deletes its record and resume buffers. Idempotent. `Ok`
    /// once the conversation has ended: a store whose delete of the record and buffers is a
    /// second call (Redis) retries that call by itself if it fails.
    fn end(&self, conv: ConvId) -> BoxFuture<'_, StoreResult<()>>;

    /// `counsellor` is on duty with `duty` for `ttl` more (renewed while their node holds
    /// them), indexed as `presence` says.
    fn present<'a>(
        &'a self,
        counsellor: &'a CounsellorRef,
        duty: Vec<u8>,
        presence: Presence<'a>,
        ttl: Duration,
    ) -> BoxFuture<'a, StoreResult<()>>;

    /// `counsellor` went off duty (their offers and chats are the caller's to settle).
    fn absent<'a>(&'a self, counsellor: &'a CounsellorRef) -> BoxFuture<'a, StoreResult<()>>;

    /// Extends the presence of each of `counsellors` by `ttl`, as they declared it, in one
    /// call (a node renews all of its counsellors at once). Returns the ones with no presence
    /// (expired and claimed, or lost with the state): the caller publishes theirs again.
    fn renew<'a>(
        &'a self,
        counsellors: &'a [String],
        ttl: Duration,
    ) -> BoxFuture<'a, StoreResult<Vec<String>>>;

    /// Every counsellor whose presence has not expired, with their load (for the dashboard:
    /// routing reads `open_duty`).
    fn on_duty(&self) -> BoxFuture<'_, StoreResult<Vec<OnDuty>>>;

    /// The counsellors whose presence has not expired and whose load is below the slots
    /// their presence opens (`Presence::open`), in the order of their names. A maintained
    /// index: the cost grows with the counsellors who can take a chat, not with those on
    /// duty.
    fn open_duty(&self) -> BoxFuture<'_, StoreResult<Vec<OnDuty>>>;

    /// The presences (unexpired) of the account `alias` (lowercase), on any node, in the
    /// order of their names.
    fn on_duty_as<'a>(&'a self, alias: &'a str) -> BoxFuture<'a, StoreResult<Vec<OnDuty>>>;

    /// The parked presences (unexpired) of the account `alias` (lowercase), on any node, in
    /// the order of their names: what a connection of that account going on duty reclaims.
    /// The cost grows with the account's parked connections, not with its connections.
    fn parked_as<'a>(&'a self, alias: &'a str) -> BoxFuture<'a, StoreResult<Vec<OnDuty>>>;

    /// Claims every counsellor whose presence expired: removes them, takes back their
    /// pending offers, and lists their live conversations. Each is returned to exactly one
    /// caller across all nodes.
    fn gone(&self) -> BoxFuture<'_, StoreResult<Vec<Gone>>>;

    /// Puts `conv` (live, offered or waiting) at the front of `queue`, freeing any slot it
    /// held, and returns its position: a transfer, or a counsellor who did not come back.
    /// With `held_by`, a compare-and-set: only if `conv` is live with that counsellor
    /// (`Conflict` otherwise), so a chat that moved on meanwhile (reclaimed by the same
    /// account on another connection) is never taken from its new holder. With `passed_by`
    /// (a transfer), that counsellor is recorded as having passed on the visitor, so routing
    /// does not offer them straight back. `NotFound` if it is neither live nor waiting.
    fn requeue_front<'a>(
        &'a self,
        conv: ConvId,
        queue: &'a QueueId,
        priority: bool,
        held_by: Option<&'a CounsellorRef>,
        passed_by: Option<&'a CounsellorRef>,
    ) -> BoxFuture<'a, StoreResult<u32>>;

    /// Renews `conv`'s lease for `ttl` (the node holding its visitor does, while it does),
    /// and its record's and buffers' lifetimes with it. `NotFound` if it ended.
    fn keep(&self, conv: ConvId, ttl: Duration) -> BoxFuture<'_, StoreResult<()>>;

    /// Conversations whose lease ran out (the visitor stayed away past the resume window,
    /// or their node died), for the caller to `end`. Each is claimed by one caller for
    /// `claim`; if that caller does not end it, another gets it after that.
    fn lapsed(&self, claim: Duration) -> BoxFuture<'_, StoreResult<Vec<ConvId>>>;

    /// Opens `conv`'s record with the SHA-256 of its resume token (never the token).
    /// `Conflict` if it exists.
    fn open(&self, conv: ConvId, token_hash: [u8; 32]) -> BoxFuture<'_, StoreResult<()>>;

    /// Attaches connection `conn` (`<node>.<n>`) to `side` of `conv`, checking the resume
    /// token's hash when given, and returns the connection it replaces (to be closed).
    /// `NotFound` if `conv` is gone or the hash does not match.
    fn attach<'a>(
        &'a self,
        conv: ConvId,
        side: Side,
        conn: &'a str,
        token_hash: Option<[u8; 32]>,
    ) -> BoxFuture<'a, StoreResult<Option<String>>>;

    /// Detaches `conn` from `side` of `conv`, if it is still the one attached.
    fn detach<'a>(
        &'a self,
        conv: ConvId,
        side: Side,
        conn: &'a str,
    ) -> BoxFuture<'a, StoreResult<()>>;

    /// The connections attached to the visitor's and the counsellor's end of `conv`: where
    /// to deliver its frames.
    fn ends(&self, conv: ConvId) -> BoxFuture<'_, StoreResult<(Option<String>, Option<String>)>>;

    /// Keeps `frame` (counter `n`) for replay to `side`. Past `MAX_FRAMES` frames or
    /// `MAX_BYTES` bytes the oldest are dropped and remembered as lost. Idempotent: a
    /// counter not above the last one kept in this epoch is a retry (a call whose answer
    /// was lost) and is neither kept again nor, for `relay` on one server, published again
    /// (on a Cluster the two halves go at once and a retry may be published twice:
    /// receivers drop a counter they already have).
    ///
    /// **Fenced** with `writer` (the connection writing, `<node>.<n>`): the conversation's
    /// record must exist and `writer` must be the connection attached to the other end
    /// (the counsellor's for frames to the visitor, the visitor's for frames to the
    /// counsellor), else `Conflict` and nothing is kept or published. So a node that lost
    /// a conversation while it was frozen or cut off (its counsellor's presence expired and
    /// the chat went to another connection, or the visitor resumed elsewhere) cannot write
    /// into it when it wakes, and nothing recreates the keys of an ended conversation.
    fn append<'a>(
        &'a self,
        conv: ConvId,
        side: Side,
        n: u64,
        frame: Vec<u8>,
        writer: Option<&'a str>,
    ) -> BoxFuture<'a, StoreResult<()>>;

    /// Relays a frame: `append`s it for `side` and publishes `header` followed by `frame` to
    /// `node`'s inbox, in one round trip (one script on one server; two requests at once on a
    /// Cluster, where the buffer and the inbox live on different shards). A connection that
    /// relays its frames one after another has them kept and delivered in that order. The
    /// two halves are not one atomic step: a payload lost in delivery is recovered from the
    /// buffer, like any pub/sub loss (`InboxEvent::Gap`).
    #[allow(
        clippy::too_many_arguments,
        reason = "one atomic call: the frame, where it goes, and who writes it"
    )]
    fn relay<'a>(
        &'a self,
        conv: ConvId,
        side: Side,
        n: u64,
        frame: Vec<u8>,
        node: &'a str,
        header: Vec<u8>,
        writer: Option<&'a str>,
    ) -> BoxFuture<'a, StoreResult<()>>;

    /// `side` has every frame up to counter `upto`: drop them.
    fn ack(&self, conv: ConvId, side: Side, upto: u64) -> BoxFuture<'_, StoreResult<()>>;

    /// The kept frames to `side` after counter `after` (all with `None`), in append order.
    fn replay(
        &self,
        conv: ConvId,
        side: Side,
        after: Option<u64>,
    ) -> BoxFuture<'_, StoreResult<Replay>>;

    /// The highest counter ever kept for `side` in this epoch (acknowledged or not), `None`
    /// when none was: what a client that resumes is told the relay has of its frames.
    fn kept_upto(&self, conv: ConvId, side: Side) -> BoxFuture<'_, StoreResult<Option<u64>>>;

    /// Starts a new session epoch: forgets both resume buffers of `conv` (frames of the
    /// previous epoch are never replayed) and detaches its counsellor (the next one attaches
    /// on accept, so the previous one is fenced); the token and the visitor's end stay.
    fn reset_buffers(&self, conv: ConvId) -> BoxFuture<'_, StoreResult<()>>;

    /// The generation of the shared state: a random id created with it. Nodes compare it
    /// after every reconnect; a different one means the state they knew is gone (e.g. Redis
    /// restarted without persistence) and must be reported to their clients as lost.
    fn generation(&self) -> BoxFuture<'_, StoreResult<String>>;

    /// Delivers `payload` to `node`'s inbox: at most once, in publish order per publisher.
    fn publish<'a>(&'a self, node: &'a str, payload: Vec<u8>) -> BoxFuture<'a, StoreResult<()>>;

    /// `node`'s inbox. The subscription reconnects by itself and reports each interruption
    /// as `InboxEvent::Gap`. It ends when the receiver is dropped.
    fn subscribe<'a>(
        &'a self,
        node: &'a str,
    ) -> BoxFuture<'a, StoreResult<mpsc::Receiver<InboxEvent>>>;

    /// Counts one more event under `tag` in a fixed window of `window` that starts with the
    /// first event, and returns the count so far and the time left in the window: a quota
    /// shared by every node (joins per address). `tag` must be a keyed hash, never an
    /// address; the counter expires with its window.
    fn count<'a>(
        &'a self,
        tag: &'a str,
        window: Duration,
    ) -> BoxFuture<'a, StoreResult<(u64, Duration)>>;

    /// Adds callback request `id` with its `entry`, kept for `Lifetimes::callback_ttl`.
    /// `QueueFull` when `max` requests are pending; `Conflict` when `id` is pending already.
    fn callback_add<'a>(
        &'a self,
        id: &'a str,
        entry: Vec<u8>,
        max: usize,
    ) -> BoxFuture<'a, StoreResult<()>>;

    /// The oldest `limit` pending callback requests (expired ones dropped first), how many
    /// are pending, and the list's version.
    fn callbacks(&self, limit: usize) -> BoxFuture<'_, StoreResult<Callbacks>>;

    /// Removes pending request `id` (a counsellor handled it) and returns its entry.
    /// `NotFound` if it is not pending (handled on another node, or expired).
    fn callback_take<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Vec<u8>>>;

    /// The version of the callback list, after dropping expired requests: a node compares it
    /// on its sweep and sends the list to its counsellors when it changed.
    fn callbacks_version(&self) -> BoxFuture<'_, StoreResult<u64>>;

    /// Keeps `node`'s counts of day `date` (`YYYY-MM-DD`; opaque to the store), replacing
    /// what it kept before, for `Lifetimes::stats_ttl`.
    fn stats_put<'a>(
        &'a self,
        date: &'a str,
        node: &'a str,
        counts: Vec<u8>,
    ) -> BoxFuture<'a, StoreResult<()>>;

    /// Every node's counts of day `date`, by node (a node that stopped keeps its last
    /// counts there), in node order.
    fn stats_day<'a>(&'a self, date: &'a str) -> BoxFuture<'a, StoreResult<NodeCounts>>;

    /// `node` is alive for `ttl` more.
    fn heartbeat<'a>(&'a self, node: &'a str, ttl: Duration) -> BoxFuture<'a, StoreResult<()>>;

    /// Whether `node` heartbeat within its last TTL.
    fn alive<'a>(&'a self, node: &'a str) -> BoxFuture<'a, StoreResult<bool>>;

    /// Whether every call's future is ready when first polled (an in-process store), so a
    /// caller may complete it in place (`FutureExt::now_or_never`) without a task hop.
    fn answers_at_once(&self) -> bool {
        false
    }
}

/// Lifetimes of what a store holds.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    /// Routing structures (queues, offers, loads) expire after this long without writes.
    pub route_ttl: Duration,
    /// A conversation's resume buffers expire after this long without appends (the resume
    /// window).
    pub conv_ttl: Duration,
    /// A callback request is kept this long unless a counsellor handles it.
    pub callback_ttl: Duration,
    /// A node's counts of a day are kept this long after their last update (past the end of
    /// the day, so the dashboard and a restarted node find them).
    pub stats_ttl: Duration,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            route_ttl: Duration::from_secs(24 * 3600),
            conv_ttl: Duration::from_secs(600),
            callback_ttl: Duration::from_secs(24 * 3600),
            stats_ttl: Duration::from_secs(48 * 3600),
        }
    }
}

/// Bits of the order score below the priority bit: join sequences up to 2^50 stay exact in
/// the `f64` score of a Redis sorted set (53-bit mantissa).
const SEQ_BITS: u32 = 50;

/// The sorted-set score of an `Order`: tier, then priority, then sequence.
pub fn order_score(order: Order) -> u64 {
    (u64::from(order.tier) << (SEQ_BITS + 1))
        | (u64::from(order.priority) << SEQ_BITS)
        | (order.seq & ((1 << SEQ_BITS) - 1))
}

/// The `Order` of a sorted-set score.
pub fn score_order(score: u64) -> Order {
    Order {
        tier: u8::from(score >> (SEQ_BITS + 1) & 1 == 1),
        priority: u8::from(score >> SEQ_BITS & 1 == 1),
        seq: score & ((1 << SEQ_BITS) - 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The score sorts like the `Order` it encodes and decodes back to it.
    #[test]
    fn order_score_round_trips_and_sorts() {
        let orders = [
            Order::front(true, 7),
            Order::front(false, 3),
            Order::joined(true, 9),
            Order::joined(false, 1),
            Order::joined(false, 2),
        ];
        for w in orders.windows(2) {
            assert!(w[0] < w[1]);
            assert!(order_score(w[0]) < order_score(w[1]));
        }
        for o in orders {
            assert_eq!(score_order(order_score(o)), o);
        }
        let big = Order::joined(false, (1 << SEQ_BITS) - 1);
        assert_eq!(score_order(order_score(big)), big);
        assert!(order_score(big) < 1 << 53, "exact in a double");
    }
}
