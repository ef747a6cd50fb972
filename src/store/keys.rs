//! The Redis key schema (see `docs/state.md`). Hash tags put every routing structure in the
//! slot of `{route}`, each conversation's keys in the slot of `{conv:<id>}`, and each node's
//! keys in the slot of `{node:<id>}`, so every Lua script touches one slot and the same code
//! runs on Redis Cluster.

use crate::protocol::{ConvId, QueueId};

use super::Side;

/// Waiting conversations of one queue: conv → order score.
pub fn queue(q: &QueueId) -> String {
    format!("lyt:{{route}}:q:{q}")
}

/// A name in the routing slot that no operation writes: the queue key of a conversation
/// that is not waiting.
pub const NO_QUEUE: &str = "lyt:{route}:q:-";

/// Waiting conversations: conv → queue name.
pub const QUEUE_OF: &str = "lyt:{route}:queue_of";
/// Pending offers: conv → counsellor.
pub const OFFER: &str = "lyt:{route}:offer";
/// Pending offers: conv → deadline in milliseconds on the Redis clock.
pub const OFFER_DUE: &str = "lyt:{route}:offer_due";
/// Live conversations: conv → counsellor.
pub const LIVE: &str = "lyt:{route}:live";
/// Slots held per counsellor (pending offers and live conversations).
pub const LOAD: &str = "lyt:{route}:load";
/// Counsellors who passed on a waiting conversation: conv → JSON {counsellor: ms}.
pub const PASSED: &str = "lyt:{route}:passed";
/// The join sequence.
pub const SEQ: &str = "lyt:{route}:seq";
/// Counsellors on duty: counsellor → their duty (the relay's JSON, opaque to the store).
pub const DUTY: &str = "lyt:{route}:duty";
/// Counsellors on duty: counsellor → presence deadline in ms on the Redis clock.
pub const SEEN: &str = "lyt:{route}:seen";
/// Conversations: conv → lease deadline in ms (the resume window, renewed by the node that
/// holds the visitor).
pub const LEASE: &str = "lyt:{route}:lease";

/// The generation of the shared state: a random id, created with the state (see
/// `Store::generation`).
pub const GEN: &str = "lyt:{route}:gen";

/// Conversations: conv → when it joined (ms on the Redis clock), for waits and offers.
pub const JOINED: &str = "lyt:{route}:joined";

/// Counsellors on duty: counsellor → `"<open> <alias>"`, what their presence declares to the
/// indexes (`store::Presence`).
pub const PRESENCE: &str = "lyt:{route}:presence";
/// Counsellors on duty whose load is below their open slots (the set routing reads).
pub const FREE: &str = "lyt:{route}:free";
/// Counsellors on duty by account: members `"<alias>\n<counsellor>"`, all of score 0, read by
/// lexicographic range.
pub const BY_ALIAS: &str = "lyt:{route}:by_alias";

/// Parked presences by account, as `BY_ALIAS`.
pub const PARKED_BY_ALIAS: &str = "lyt:{route}:parked_by_alias";

/// The routing keys every routing script declares, in this order (`KEYS[1..=16]`); queues
/// follow.
pub const ROUTE: [&str; 16] = [
    QUEUE_OF,
    OFFER,
    OFFER_DUE,
    LIVE,
    LOAD,
    PASSED,
    SEQ,
    DUTY,
    SEEN,
    LEASE,
    GEN,
    JOINED,
    PRESENCE,
    FREE,
    BY_ALIAS,
    PARKED_BY_ALIAS,
];

/// The resume buffer of `conv` towards `side`.
pub fn buffer(conv: ConvId, side: Side) -> String {
    format!("lyt:{{conv:{conv}}}:to:{}", side.as_str())
}

/// Counters of `conv`'s buffers: bytes kept and highest counter lost, per side.
pub fn buffer_meta(conv: ConvId) -> String {
    format!("lyt:{{conv:{conv}}}:meta")
}

/// Every key of `conv`'s slot.
pub fn conversation(conv: ConvId) -> [String; 3] {
    [
        buffer(conv, Side::Visitor),
        buffer(conv, Side::Counsellor),
        buffer_meta(conv),
    ]
}

/// A counter of `Store::count` (its own slot): `tag` is a keyed hash, never an address.
pub fn counter(tag: &str) -> String {
    format!("lyt:{{q:{tag}}}:n")
}

/// The pending callback requests (`callbacks.lua`), in the slot of `{callbacks}`: entries,
/// their order by age, and the list's version.
pub const CALLBACKS: [&str; 3] = [
    "lyt:{callbacks}:items",
    "lyt:{callbacks}:age",
    "lyt:{callbacks}:version",
];

/// Each node's counts of day `date` (`YYYY-MM-DD`): node → the counts (the relay's JSON).
pub fn stats(date: &str) -> String {
    format!("lyt:{{stats}}:{date}")
}

/// Whether `node` is alive.
pub fn alive(node: &str) -> String {
    format!("lyt:{{node:{node}}}:alive")
}

/// The pub/sub channel of `node`'s inbox.
pub fn inbox(node: &str) -> String {
    format!("lyt:{{node:{node}}}:inbox")
}
