//! `RedisStore`: the `Store` contract on Redis or Redis Cluster. Each operation on several
//! keys is one Lua script (`EVALSHA`, loaded on first use) over keys of one hash slot — reads
//! too, so no `MULTI` is needed on Cluster. The key schema is in `keys` and `docs/state.md`;
//! the operations are in `routing`, `conversation` and `inbox`, this module holds the
//! connection and the scripts.
//!
//! Operations on a conversation whose queue the caller cannot know in advance (accept, end)
//! read the queue, then run the script with that queue's key declared; the script checks the
//! queue is still the one read and the call is retried otherwise — optimistic concurrency, so
//! every key a script touches is declared and in one slot.

use std::time::Duration;

use futures_util::future::BoxFuture;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{AsyncCommands as _, Client, Cmd, RedisError, RedisFuture, Script};
use tokio::sync::mpsc;

use super::keys::{self, NO_QUEUE, ROUTE};
use super::{
    CounsellorRef, ExpiredOffer, Gone, InboxEvent, JoinLimits, Lifetimes, NodeCounts, OnDuty,
    Presence, Replay, Side, Store, StoreError, StoreResult, Waiting,
};
use crate::clock::Clock;
use crate::protocol::{ConvId, QueueId};

mod conversation;
mod inbox;
mod routing;
mod shared;

/// How long one Redis call (or connection attempt) may take before the store counts as
/// unavailable: joins are refused fast rather than hanging while Redis is away.
pub const TIMEOUT: Duration = Duration::from_secs(1);
/// Attempts of an optimistic read-then-script operation before giving up with `Conflict`.
const RETRIES: usize = 8;

/// The store on a Redis server. Cheap to clone: clones share one multiplexed connection,
/// which reconnects by itself.
#[derive(Clone)]
pub struct RedisStore {
    target: Target,
    con: Conn,
    lifetimes: Lifetimes,
    clock: Clock,
    scripts: std::sync::Arc<Scripts>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: never print it.
        f.debug_struct("RedisStore")
            .field("lifetimes", &self.lifetimes)
            .finish_non_exhaustive()
    }
}

/// Where the store connects, for the extra connections of inbox subscriptions.
#[derive(Clone)]
enum Target {
    /// One Redis server.
    Single(Client),
    /// A Redis Cluster, by some of its nodes' URLs.
    Cluster(Vec<String>),
}

/// The shared command connection: to one server (reconnecting by itself) or to a cluster
/// (routing each call to the slot's master).
#[derive(Clone)]
enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, redis::Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

/// The Lua scripts, compiled once.
struct Scripts {
    join: Script,
    offer: Script,
    accept: Script,
    withdraw: Script,
    expire: Script,
    end: Script,
    append: Script,
    ack: Script,
    waiting: Script,
    replay: Script,
    present: Script,
    absent: Script,
    renew: Script,
    on_duty: Script,
    open_duty: Script,
    on_duty_as: Script,
    gone: Script,
    requeue: Script,
    keep: Script,
    lapsed: Script,
    open: Script,
    attach: Script,
    detach: Script,
    generation: Script,
    live: Script,
    callbacks: Script,
}

impl Scripts {
    fn new() -> Self {
        let clock = include_str!("../lua/clock.lua");
        let routing = |body: &str| {
            Script::new(&format!(
                "{clock}\n{}\n{body}",
                include_str!("../lua/prelude.lua")
            ))
        };
        Self {
            join: routing(include_str!("../lua/join.lua")),
            offer: routing(include_str!("../lua/offer.lua")),
            accept: routing(include_str!("../lua/accept.lua")),
            withdraw: routing(include_str!("../lua/withdraw.lua")),
            expire: routing(include_str!("../lua/expire.lua")),
            end: routing(include_str!("../lua/end.lua")),
            append: Script::new(include_str!("../lua/append.lua")),
            ack: Script::new(include_str!("../lua/ack.lua")),
            waiting: routing(include_str!("../lua/waiting.lua")),
            replay: Script::new(include_str!("../lua/replay.lua")),
            present: routing(include_str!("../lua/present.lua")),
            absent: routing(include_str!("../lua/absent.lua")),
            renew: routing(include_str!("../lua/renew.lua")),
            on_duty: routing(include_str!("../lua/on_duty.lua")),
            open_duty: routing(include_str!("../lua/open_duty.lua")),
            on_duty_as: routing(include_str!("../lua/on_duty_as.lua")),
            gone: routing(include_str!("../lua/gone.lua")),
            requeue: routing(include_str!("../lua/requeue.lua")),
            keep: routing(include_str!("../lua/keep.lua")),
            lapsed: routing(include_str!("../lua/lapsed.lua")),
            open: Script::new(include_str!("../lua/open.lua")),
            attach: Script::new(include_str!("../lua/attach.lua")),
            detach: Script::new(include_str!("../lua/detach.lua")),
            generation: routing(include_str!("../lua/generation.lua")),
            live: routing(include_str!("../lua/live.lua")),
            callbacks: Script::new(&format!(
                "{clock}\n{}",
                include_str!("../lua/callbacks.lua")
            )),
        }
    }
}

/// Any Redis failure: the caller sees `Unavailable`; causes other than the connection are
/// server faults and logged (without arguments, which may hold frames).
fn unavailable(e: RedisError) -> StoreError {
    if !(e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal())
    {
        tracing::error!(kind = ?e.kind(), "redis call failed");
    }
    StoreError::Unavailable
}

impl RedisStore {
    /// A store on the Redis at `url` (`redis://[user:password@]host:port[/db]`). Connects
    /// lazily: a node starts while Redis is away and its calls fail with `Unavailable` until
    /// Redis is back.
    pub fn open(url: &str, lifetimes: Lifetimes) -> Result<Self, RedisError> {
        let client = Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(TIMEOUT);
        let con = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        Ok(Self {
            target: Target::Single(client),
            con: Conn::Single(con),
            lifetimes,
            clock: Clock::System,
            scripts: std::sync::Arc::new(Scripts::new()),
        })
    }

    /// A store on the Redis Cluster that `nodes` (URLs of some of its masters) belong to. The
    /// node inboxes use sharded pub/sub (`SPUBLISH`/`SSUBSCRIBE`), so an inbox lives on the
    /// shard of its channel's slot. Fails if no node answers.
    pub async fn open_cluster(nodes: &[String], lifetimes: Lifetimes) -> Result<Self, RedisError> {
        let con = cluster_builder(nodes)
            .build()?
            .get_async_connection()
            .await?;
        Ok(Self {
            target: Target::Cluster(nodes.to_vec()),
            con: Conn::Cluster(con),
            lifetimes,
            clock: Clock::System,
            scripts: std::sync::Arc::new(Scripts::new()),
        })
    }

    /// This store reading the time from `clock`: on `Clock::System` the scripts read Redis's
    /// own clock; on a virtual clock they are handed its time (`clock.lua`).
    #[must_use]
    pub fn with_clock(self, clock: Clock) -> Self {
        Self { clock, ..self }
    }

    /// A script's TTL argument (`ttl` in ms) with the clock it must read (`clock.lua`).
    fn ttl_arg(&self, ttl_ms: u64) -> String {
        match self.clock.store_ms() {
            None => ttl_ms.to_string(),
            Some(now) => format!("{ttl_ms}@{now}"),
        }
    }

    /// The routing scripts' `ARGV[1]`: the route TTL and the clock.
    fn route_arg(&self) -> String {
        self.ttl_arg(u64::try_from(self.lifetimes.route_ttl.as_millis()).unwrap_or(u64::MAX))
    }

    fn conv_ttl_ms(&self) -> u64 {
        u64::try_from(self.lifetimes.conv_ttl.as_millis()).unwrap_or(u64::MAX)
    }

    /// Runs a routing script with the routing keys, then `queue`, the route TTL as
    /// `ARGV[1]` and then `args`.
    async fn route<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        queue: &str,
        args: &[&[u8]],
    ) -> StoreResult<T> {
        let mut inv = script.key(&ROUTE[..]);
        inv.key(queue).arg(self.route_arg());
        for a in args {
            inv.arg(*a);
        }
        inv.invoke_async(&mut self.con.clone())
            .await
            .map_err(unavailable)
    }

    /// The queue `conv` waits in, if it waits.
    async fn queue_of(&self, conv: &str) -> StoreResult<Option<String>> {
        self.con
            .clone()
            .hget(keys::QUEUE_OF, conv)
            .await
            .map_err(unavailable)
    }

    /// Runs `script` (which answers -2 when the queue changed since it was read) with the
    /// queue `conv` waits in, retrying while it moves.
    async fn with_queue_of(&self, script: &Script, conv: &str, args: &[&[u8]]) -> StoreResult<i64> {
        for _ in 0..RETRIES {
            let queue = self.queue_of(conv).await?;
            let (key, name) = match &queue {
                Some(q) => (format!("lyt:{{route}}:q:{q}"), q.as_str()),
                None => (NO_QUEUE.to_owned(), ""),
            };
            let mut all: Vec<&[u8]> = vec![conv.as_bytes()];
            all.extend_from_slice(args);
            all.push(name.as_bytes());
            let r: i64 = self.route(script, &key, &all).await?;
            if r != -2 {
                return Ok(r);
            }
        }
        Err(StoreError::Conflict)
    }
}

fn conv_key(conv: ConvId) -> String {
    conv.to_string()
}

/// A duration as whole milliseconds (at least 1: Redis refuses a zero TTL).
fn millis(d: Duration) -> String {
    d.as_millis().max(1).to_string()
}

/// The conversation record's token hash as stored: lowercase hex.
fn hex(hash: &[u8; 32]) -> String {
    use std::fmt::Write as _;
    hash.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

impl Store for RedisStore {
    fn join(
        &self,
        conv: ConvId,
        queue: &QueueId,
        priority: bool,
        limits: JoinLimits,
    ) -> BoxFuture<'_, StoreResult<u32>> {
        Box::pin(routing::join(self, conv, queue.clone(), priority, limits))
    }

    fn waiting<'a>(&'a self, queues: &'a [QueueId]) -> BoxFuture<'a, StoreResult<Vec<Waiting>>> {
        Box::pin(routing::waiting(self, queues))
    }

    fn position(&self, conv: ConvId) -> BoxFuture<'_, StoreResult<u32>> {
        Box::pin(routing::position(self, conv))
    }

    fn offer<'a>(
        &'a self,
        conv: ConvId,
        counsellor: &'a CounsellorRef,
        capacity: u32,
        ttl: Duration,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(routing::offer(self, conv, counsellor, capacity, ttl))
    }

    fn accept<'a>(
        &'a self,
        conv: ConvId,
        counsellor: &'a CounsellorRef,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(routing::accept(self, conv, counsellor))
    }

    fn withdraw<'a>(
        &'a self,
        conv: ConvId,
        counsellor: &'a CounsellorRef,
        passed: bool,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(routing::withdraw(self, conv, counsellor, passed))
    }

    fn expired_offers(&self) -> BoxFuture<'_, StoreResult<Vec<ExpiredOffer>>> {
        Box::pin(routing::expired_offers(self))
    }

    fn live(&self) -> BoxFuture<'_, StoreResult<Vec<(ConvId, String)>>> {
        Box::pin(routing::live(self))
    }

    fn live_with(&self, conv: ConvId) -> BoxFuture<'_, StoreResult<Option<String>>> {
        Box::pin(routing::live_with(self, conv))
    }

    fn load<'a>(&'a self, counsellor: &'a CounsellorRef) -> BoxFuture<'a, StoreResult<u32>> {
        Box::pin(routing::load(self, counsellor))
    }

    fn end(&self, conv: ConvId) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(routing::end(self, conv))
    }

    fn present<'a>(
        &'a self,
        counsellor: &'a CounsellorRef,
        duty: Vec<u8>,
        presence: Presence<'a>,
        ttl: Duration,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(routing::present(self, counsellor, duty, presence, ttl))
    }

    fn absent<'a>(&'a self, counsellor: &'a CounsellorRef) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(routing::absent(self, counsellor))
    }

    fn renew<'a>(
        &'a self,
        counsellors: &'a [String],
        ttl: Duration,
    ) -> BoxFuture<'a, StoreResult<Vec<String>>> {
        Box::pin(routing::renew(self, counsellors, ttl))
    }

    fn on_duty(&self) -> BoxFuture<'_, StoreResult<Vec<OnDuty>>> {
        Box::pin(routing::presences(self, &self.scripts.on_duty, Vec::new()))
    }

    fn open_duty(&self) -> BoxFuture<'_, StoreResult<Vec<OnDuty>>> {
        Box::pin(routing::presences(
            self,
            &self.scripts.open_duty,
            Vec::new(),
        ))
    }

    fn on_duty_as<'a>(&'a self, alias: &'a str) -> BoxFuture<'a, StoreResult<Vec<OnDuty>>> {
        Box::pin(routing::presences(
            self,
            &self.scripts.on_duty_as,
            vec![alias, "0"],
        ))
    }

    fn parked_as<'a>(&'a self, alias: &'a str) -> BoxFuture<'a, StoreResult<Vec<OnDuty>>> {
        Box::pin(routing::presences(
            self,
            &self.scripts.on_duty_as,
            vec![alias, "1"],
        ))
    }

    fn gone(&self) -> BoxFuture<'_, StoreResult<Vec<Gone>>> {
        Box::pin(routing::gone(self))
    }

    fn requeue_front<'a>(
        &'a self,
        conv: ConvId,
        queue: &'a QueueId,
        priority: bool,
        held_by: Option<&'a CounsellorRef>,
        passed_by: Option<&'a CounsellorRef>,
    ) -> BoxFuture<'a, StoreResult<u32>> {
        Box::pin(routing::requeue_front(
            self, conv, queue, priority, held_by, passed_by,
        ))
    }

    fn keep(&self, conv: ConvId, ttl: Duration) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(routing::keep(self, conv, ttl))
    }

    fn lapsed(&self, claim: Duration) -> BoxFuture<'_, StoreResult<Vec<ConvId>>> {
        Box::pin(routing::lapsed(self, claim))
    }

    fn open(&self, conv: ConvId, token_hash: [u8; 32]) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(conversation::open(self, conv, token_hash))
    }

    fn attach<'a>(
        &'a self,
        conv: ConvId,
        side: Side,
        conn: &'a str,
        token_hash: Option<[u8; 32]>,
    ) -> BoxFuture<'a, StoreResult<Option<String>>> {
        Box::pin(conversation::attach(self, conv, side, conn, token_hash))
    }

    fn detach<'a>(
        &'a self,
        conv: ConvId,
        side: Side,
        conn: &'a str,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(conversation::detach(self, conv, side, conn))
    }

    fn ends(&self, conv: ConvId) -> BoxFuture<'_, StoreResult<(Option<String>, Option<String>)>> {
        Box::pin(conversation::ends(self, conv))
    }

    fn append<'a>(
        &'a self,
        conv: ConvId,
        side: Side,
        n: u64,
        frame: Vec<u8>,
        writer: Option<&'a str>,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(conversation::append(self, conv, side, n, frame, writer))
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
        Box::pin(conversation::relay(
            self, conv, side, n, frame, node, header, writer,
        ))
    }

    fn ack(&self, conv: ConvId, side: Side, upto: u64) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(conversation::ack(self, conv, side, upto))
    }

    fn replay(
        &self,
        conv: ConvId,
        side: Side,
        after: Option<u64>,
    ) -> BoxFuture<'_, StoreResult<Replay>> {
        Box::pin(conversation::replay(self, conv, side, after))
    }

    fn kept_upto(&self, conv: ConvId, side: Side) -> BoxFuture<'_, StoreResult<Option<u64>>> {
        Box::pin(conversation::kept_upto(self, conv, side))
    }

    fn reset_buffers(&self, conv: ConvId) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(conversation::reset_buffers(self, conv))
    }

    fn generation(&self) -> BoxFuture<'_, StoreResult<String>> {
        Box::pin(routing::generation(self))
    }

    fn publish<'a>(&'a self, node: &'a str, payload: Vec<u8>) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(inbox::publish(self, node, payload))
    }

    fn subscribe<'a>(
        &'a self,
        node: &'a str,
    ) -> BoxFuture<'a, StoreResult<mpsc::Receiver<InboxEvent>>> {
        Box::pin(inbox::subscribe(self, node))
    }

    fn callback_add<'a>(
        &'a self,
        id: &'a str,
        entry: Vec<u8>,
        max: usize,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(shared::callback_add(self, id, entry, max))
    }

    fn callbacks(&self, limit: usize) -> BoxFuture<'_, StoreResult<super::Callbacks>> {
        Box::pin(shared::callbacks(self, limit))
    }

    fn callback_take<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Vec<u8>>> {
        Box::pin(shared::callback_take(self, id))
    }

    fn callbacks_version(&self) -> BoxFuture<'_, StoreResult<u64>> {
        Box::pin(shared::callbacks_version(self))
    }

    fn stats_put<'a>(
        &'a self,
        date: &'a str,
        node: &'a str,
        counts: Vec<u8>,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(shared::stats_put(self, date, node, counts))
    }

    fn stats_day<'a>(&'a self, date: &'a str) -> BoxFuture<'a, StoreResult<NodeCounts>> {
        Box::pin(shared::stats_day(self, date))
    }

    fn heartbeat<'a>(&'a self, node: &'a str, ttl: Duration) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(inbox::heartbeat(self, node, ttl))
    }

    fn alive<'a>(&'a self, node: &'a str) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(inbox::alive(self, node))
    }

    fn count<'a>(
        &'a self,
        tag: &'a str,
        window: Duration,
    ) -> BoxFuture<'a, StoreResult<(u64, Duration)>> {
        Box::pin(inbox::count(self, tag, window))
    }
}

/// A cluster client with the store's timeouts, speaking RESP3 (needed for sharded pub/sub).
fn cluster_builder(nodes: &[String]) -> ClusterClientBuilder {
    ClusterClientBuilder::new(nodes.iter().map(String::as_str))
        .connection_timeout(TIMEOUT)
        .response_timeout(TIMEOUT)
        .retries(1)
        .use_protocol(redis::ProtocolVersion::RESP3)
}
