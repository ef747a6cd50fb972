//! `RedisStore`: the `Store` contract on Redis. Each mutating operation is one Lua script
//! (`EVALSHA`, loaded on first use) over the keys of one hash slot; reads of a slot are one
//! `MULTI`/`EXEC` pipeline. The key schema is in `keys` and `docs/state.md`.
//!
//! Operations on a conversation whose queue the caller cannot know in advance (accept, end)
//! read the queue, then run the script with that queue's key declared; the script checks the
//! queue is still the one read and the call is retried otherwise — optimistic concurrency, so
//! every key a script touches is declared and in one slot.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt as _;
use futures_util::future::BoxFuture;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{AsyncCommands as _, Client, Cmd, PushInfo, PushKind, RedisError, RedisFuture, Script};
use tokio::sync::mpsc;

use super::keys::{self, NO_QUEUE, ROUTE};
use super::memory::INBOX_CAPACITY;
use super::{
    CounsellorRef, ExpiredOffer, Gone, InboxEvent, JoinLimits, Kept, Lifetimes, MAX_BYTES,
    MAX_FRAMES, OnDuty, Replay, Side, Store, StoreError, StoreResult, Waiting, score_order,
};
use crate::protocol::{ConvId, QueueId};

/// How long one Redis call (or connection attempt) may take before the store counts as
/// unavailable: joins are refused fast rather than hanging while Redis is away.
pub const TIMEOUT: Duration = Duration::from_secs(1);
/// Pause between attempts to restore a lost inbox subscription.
const RESUBSCRIBE_EVERY: Duration = Duration::from_millis(250);
/// Attempts of an optimistic read-then-script operation before giving up with `Conflict`.
const RETRIES: usize = 8;

/// The store on a Redis server. Cheap to clone: clones share one multiplexed connection,
/// which reconnects by itself.
#[derive(Clone)]
pub struct RedisStore {
    target: Target,
    con: Conn,
    lifetimes: Lifetimes,
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
    on_duty: Script,
    gone: Script,
    requeue: Script,
    keep: Script,
    lapsed: Script,
    open: Script,
    attach: Script,
    detach: Script,
}

impl Scripts {
    fn new() -> Self {
        let routing =
            |body: &str| Script::new(&format!("{}\n{body}", include_str!("lua/prelude.lua")));
        Self {
            join: routing(include_str!("lua/join.lua")),
            offer: routing(include_str!("lua/offer.lua")),
            accept: routing(include_str!("lua/accept.lua")),
            withdraw: routing(include_str!("lua/withdraw.lua")),
            expire: routing(include_str!("lua/expire.lua")),
            end: routing(include_str!("lua/end.lua")),
            append: Script::new(include_str!("lua/append.lua")),
            ack: Script::new(include_str!("lua/ack.lua")),
            waiting: routing(include_str!("lua/waiting.lua")),
            replay: Script::new(include_str!("lua/replay.lua")),
            present: routing(include_str!("lua/present.lua")),
            absent: routing(include_str!("lua/absent.lua")),
            on_duty: routing(include_str!("lua/on_duty.lua")),
            gone: routing(include_str!("lua/gone.lua")),
            requeue: routing(include_str!("lua/requeue.lua")),
            keep: routing(include_str!("lua/keep.lua")),
            lapsed: routing(include_str!("lua/lapsed.lua")),
            open: Script::new(include_str!("lua/open.lua")),
            attach: Script::new(include_str!("lua/attach.lua")),
            detach: Script::new(include_str!("lua/detach.lua")),
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
            scripts: std::sync::Arc::new(Scripts::new()),
        })
    }

    fn route_ttl_ms(&self) -> u64 {
        u64::try_from(self.lifetimes.route_ttl.as_millis()).unwrap_or(u64::MAX)
    }

    fn conv_ttl_ms(&self) -> u64 {
        u64::try_from(self.lifetimes.conv_ttl.as_millis()).unwrap_or(u64::MAX)
    }

    /// Runs a routing script with the routing keys, `queue` as `KEYS[8]`, the route TTL as
    /// `ARGV[1]` and then `args`.
    async fn route<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        queue: &str,
        args: &[&[u8]],
    ) -> StoreResult<T> {
        let mut inv = script.key(&ROUTE[..]);
        inv.key(queue).arg(self.route_ttl_ms());
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

/// What `waiting.lua` returns: the Redis clock in ms, offers, who passed, and each queue's
/// members and scores as a flat list.
type Snapshot = (
    String,
    HashMap<String, String>,
    HashMap<String, String>,
    Vec<Vec<String>>,
);

/// A sorted-set score as Redis prints it: a whole number below 2^53 (`order_score`).
fn parse_score(s: &str) -> Result<u64, ()> {
    let f: f64 = s.parse().map_err(|_| ())?;
    if !(0.0..9_007_199_254_740_992.0).contains(&f) || f.fract() != 0.0 {
        return Err(());
    }
    // Whole, non-negative and below 2^53, so exact.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(f as u64)
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

/// Parses the `passed` JSON of a conversation into (counsellor, how long ago).
fn parse_passed(raw: Option<&String>, now_ms: u64) -> Vec<(String, Duration)> {
    let Some(map) = raw.and_then(|r| serde_json::from_str::<serde_json::Map<_, _>>(r).ok()) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Duration)> = map
        .into_iter()
        .filter_map(|(c, at)| {
            let at = at.as_f64()?;
            // Milliseconds on the Redis clock; whole and non-negative by construction.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let at = at as u64;
            Some((c, Duration::from_millis(now_ms.saturating_sub(at))))
        })
        .collect();
    out.sort();
    out
}

impl Store for RedisStore {
    fn join(
        &self,
        conv: ConvId,
        queue: &QueueId,
        priority: bool,
        limits: JoinLimits,
    ) -> BoxFuture<'_, StoreResult<u32>> {
        let queue = queue.clone();
        Box::pin(async move {
            let conv = conv_key(conv);
            let r: i64 = self
                .route(
                    &self.scripts.join,
                    &keys::queue(&queue),
                    &[
                        conv.as_bytes(),
                        queue.as_str().as_bytes(),
                        if priority { b"1" } else { b"0" },
                        limits.max_queue_len.to_string().as_bytes(),
                        limits.max_waiting_total.to_string().as_bytes(),
                        millis(limits.lease).as_bytes(),
                    ],
                )
                .await?;
            match r {
                -1 => Err(StoreError::Conflict),
                -2 => Err(StoreError::QueueFull),
                p => u32::try_from(p).map_err(|_| StoreError::NotFound),
            }
        })
    }

    fn waiting<'a>(&'a self, queues: &'a [QueueId]) -> BoxFuture<'a, StoreResult<Vec<Waiting>>> {
        Box::pin(async move {
            let mut inv = self.scripts.waiting.key(&ROUTE[..]);
            for q in queues {
                inv.key(keys::queue(q));
            }
            let (now_ms, offers, passed, members): Snapshot = inv
                .arg(self.route_ttl_ms())
                .invoke_async(&mut self.con.clone())
                .await
                .map_err(unavailable)?;
            let now_ms: u64 = now_ms.parse().map_err(|_| StoreError::Unavailable)?;
            let mut out = Vec::new();
            for (q, flat) in queues.iter().zip(members) {
                for pair in flat.chunks_exact(2) {
                    let (Ok(conv), Ok(score)) = (pair[0].parse::<ConvId>(), parse_score(&pair[1]))
                    else {
                        continue;
                    };
                    let id = &pair[0];
                    out.push(Waiting {
                        conv,
                        queue: q.clone(),
                        order: score_order(score),
                        offered_to: offers.get(id).cloned(),
                        passed: parse_passed(passed.get(id), now_ms),
                    });
                }
            }
            out.sort_by_key(|w| w.order);
            Ok(out)
        })
    }

    fn position(&self, conv: ConvId) -> BoxFuture<'_, StoreResult<u32>> {
        Box::pin(async move {
            let conv = conv_key(conv);
            for _ in 0..RETRIES {
                let Some(queue) = self.queue_of(&conv).await? else {
                    return Err(StoreError::NotFound);
                };
                let rank: Option<u32> = self
                    .con
                    .clone()
                    .zrank(format!("lyt:{{route}}:q:{queue}"), &conv)
                    .await
                    .map_err(unavailable)?;
                if let Some(r) = rank {
                    return Ok(r + 1);
                }
            }
            Err(StoreError::NotFound)
        })
    }

    fn offer<'a>(
        &'a self,
        conv: ConvId,
        counsellor: &'a CounsellorRef,
        capacity: u32,
        ttl: Duration,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let conv = conv_key(conv);
            let ttl_ms = ttl.as_millis().max(1).to_string();
            let r: i64 = self
                .route(
                    &self.scripts.offer,
                    NO_QUEUE,
                    &[
                        conv.as_bytes(),
                        counsellor.as_bytes(),
                        capacity.to_string().as_bytes(),
                        ttl_ms.as_bytes(),
                    ],
                )
                .await?;
            match r {
                1 => Ok(()),
                -1 => Err(StoreError::NotFound),
                _ => Err(StoreError::Conflict),
            }
        })
    }

    fn accept<'a>(
        &'a self,
        conv: ConvId,
        counsellor: &'a CounsellorRef,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let conv = conv_key(conv);
            let r = self
                .with_queue_of(&self.scripts.accept, &conv, &[counsellor.as_bytes()])
                .await?;
            if r == 1 {
                Ok(())
            } else {
                Err(StoreError::Conflict)
            }
        })
    }

    fn withdraw<'a>(
        &'a self,
        conv: ConvId,
        counsellor: &'a CounsellorRef,
        passed: bool,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let conv = conv_key(conv);
            let passed: &[u8] = if passed { b"1" } else { b"0" };
            let r: i64 = self
                .route(
                    &self.scripts.withdraw,
                    NO_QUEUE,
                    &[conv.as_bytes(), counsellor.as_bytes(), passed],
                )
                .await?;
            if r == 1 {
                Ok(())
            } else {
                Err(StoreError::Conflict)
            }
        })
    }

    fn expired_offers(&self) -> BoxFuture<'_, StoreResult<Vec<ExpiredOffer>>> {
        Box::pin(async move {
            let flat: Vec<String> = self.route(&self.scripts.expire, NO_QUEUE, &[]).await?;
            Ok(flat
                .chunks_exact(2)
                .filter_map(|pair| {
                    Some(ExpiredOffer {
                        conv: pair[0].parse().ok()?,
                        counsellor: pair[1].clone(),
                    })
                })
                .collect())
        })
    }

    fn live_with(&self, conv: ConvId) -> BoxFuture<'_, StoreResult<Option<String>>> {
        Box::pin(async move {
            self.con
                .clone()
                .hget(keys::LIVE, conv_key(conv))
                .await
                .map_err(unavailable)
        })
    }

    fn load<'a>(&'a self, counsellor: &'a CounsellorRef) -> BoxFuture<'a, StoreResult<u32>> {
        Box::pin(async move {
            let load: Option<u32> = self
                .con
                .clone()
                .hget(keys::LOAD, counsellor)
                .await
                .map_err(unavailable)?;
            Ok(load.unwrap_or(0))
        })
    }

    fn end(&self, conv: ConvId) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let id = conv_key(conv);
            self.with_queue_of(&self.scripts.end, &id, &[]).await?;
            let () = self
                .con
                .clone()
                .del(&keys::conversation(conv)[..])
                .await
                .map_err(unavailable)?;
            Ok(())
        })
    }

    fn present<'a>(
        &'a self,
        counsellor: &'a CounsellorRef,
        duty: Vec<u8>,
        ttl: Duration,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let ttl = millis(ttl);
            let _: i64 = self
                .route(
                    &self.scripts.present,
                    NO_QUEUE,
                    &[counsellor.as_bytes(), &duty, ttl.as_bytes()],
                )
                .await?;
            Ok(())
        })
    }

    fn absent<'a>(&'a self, counsellor: &'a CounsellorRef) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let _: i64 = self
                .route(&self.scripts.absent, NO_QUEUE, &[counsellor.as_bytes()])
                .await?;
            Ok(())
        })
    }

    fn on_duty(&self) -> BoxFuture<'_, StoreResult<Vec<OnDuty>>> {
        Box::pin(async move {
            let flat: Vec<Vec<u8>> = self.route(&self.scripts.on_duty, NO_QUEUE, &[]).await?;
            let mut out = Vec::with_capacity(flat.len() / 3);
            for triple in flat.chunks_exact(3) {
                let counsellor =
                    String::from_utf8(triple[0].clone()).map_err(|_| StoreError::Unavailable)?;
                let load = std::str::from_utf8(&triple[2])
                    .ok()
                    .and_then(|l| l.parse().ok())
                    .ok_or(StoreError::Unavailable)?;
                out.push(OnDuty {
                    counsellor,
                    duty: triple[1].clone(),
                    load,
                });
            }
            out.sort_by(|a, b| a.counsellor.cmp(&b.counsellor));
            Ok(out)
        })
    }

    fn gone(&self) -> BoxFuture<'_, StoreResult<Vec<Gone>>> {
        Box::pin(async move {
            let flat: Vec<redis::Value> = self.route(&self.scripts.gone, NO_QUEUE, &[]).await?;
            let convs = |v: redis::Value| -> StoreResult<Vec<ConvId>> {
                let ids: Vec<String> =
                    redis::from_redis_value(v).map_err(|_| StoreError::Unavailable)?;
                let mut ids: Vec<ConvId> = ids.iter().filter_map(|c| c.parse().ok()).collect();
                ids.sort();
                Ok(ids)
            };
            let mut out = Vec::new();
            let mut it = flat.into_iter();
            while let (Some(c), Some(live), Some(offers)) = (it.next(), it.next(), it.next()) {
                out.push(Gone {
                    counsellor: redis::from_redis_value(c).map_err(|_| StoreError::Unavailable)?,
                    live: convs(live)?,
                    offers: convs(offers)?,
                });
            }
            out.sort_by(|a, b| a.counsellor.cmp(&b.counsellor));
            Ok(out)
        })
    }

    fn requeue_front<'a>(
        &'a self,
        conv: ConvId,
        queue: &'a QueueId,
        priority: bool,
    ) -> BoxFuture<'a, StoreResult<u32>> {
        Box::pin(async move {
            let conv = conv_key(conv);
            for _ in 0..RETRIES {
                let old = self.queue_of(&conv).await?;
                let (old_key, old_name) = match &old {
                    Some(q) => (format!("lyt:{{route}}:q:{q}"), q.as_str()),
                    None => (NO_QUEUE.to_owned(), ""),
                };
                let r: i64 = self
                    .scripts
                    .requeue
                    .key(&ROUTE[..])
                    .key(old_key)
                    .key(keys::queue(queue))
                    .arg(self.route_ttl_ms())
                    .arg(&conv)
                    .arg(queue.as_str())
                    .arg(if priority { "1" } else { "0" })
                    .arg(old_name)
                    .invoke_async(&mut self.con.clone())
                    .await
                    .map_err(unavailable)?;
                match r {
                    -2 => continue,
                    -1 => return Err(StoreError::NotFound),
                    p => return u32::try_from(p).map_err(|_| StoreError::NotFound),
                }
            }
            Err(StoreError::Conflict)
        })
    }

    fn keep(&self, conv: ConvId, ttl: Duration) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let id = conv_key(conv);
            let ttl_ms = millis(ttl);
            let kept: i64 = self
                .route(
                    &self.scripts.keep,
                    NO_QUEUE,
                    &[id.as_bytes(), ttl_ms.as_bytes()],
                )
                .await?;
            if kept == 0 {
                return Err(StoreError::NotFound);
            }
            // The conversation's own keys live as long as its lease.
            let mut pipe = redis::pipe();
            for key in keys::conversation(conv) {
                pipe.pexpire(
                    key,
                    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1),
                )
                .ignore();
            }
            let () = pipe
                .query_async(&mut self.con.clone())
                .await
                .map_err(unavailable)?;
            Ok(())
        })
    }

    fn lapsed(&self, claim: Duration) -> BoxFuture<'_, StoreResult<Vec<ConvId>>> {
        Box::pin(async move {
            let claim = millis(claim);
            let ids: Vec<String> = self
                .route(&self.scripts.lapsed, NO_QUEUE, &[claim.as_bytes()])
                .await?;
            Ok(ids.iter().filter_map(|c| c.parse().ok()).collect())
        })
    }

    fn open(&self, conv: ConvId, token_hash: [u8; 32]) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let opened: i64 = self
                .scripts
                .open
                .key(keys::buffer_meta(conv))
                .arg(self.conv_ttl_ms())
                .arg(hex(&token_hash))
                .invoke_async(&mut self.con.clone())
                .await
                .map_err(unavailable)?;
            if opened == 1 {
                Ok(())
            } else {
                Err(StoreError::Conflict)
            }
        })
    }

    fn attach<'a>(
        &'a self,
        conv: ConvId,
        side: Side,
        conn: &'a str,
        token_hash: Option<[u8; 32]>,
    ) -> BoxFuture<'a, StoreResult<Option<String>>> {
        Box::pin(async move {
            let (ok, previous): (i64, String) = self
                .scripts
                .attach
                .key(keys::buffer_meta(conv))
                .arg(self.conv_ttl_ms())
                .arg(side.as_str())
                .arg(conn)
                .arg(token_hash.as_ref().map(hex).unwrap_or_default())
                .invoke_async(&mut self.con.clone())
                .await
                .map_err(unavailable)?;
            match (ok, previous.is_empty()) {
                (1, true) => Ok(None),
                (1, false) => Ok(Some(previous)),
                _ => Err(StoreError::NotFound),
            }
        })
    }

    fn detach<'a>(
        &'a self,
        conv: ConvId,
        side: Side,
        conn: &'a str,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let _: i64 = self
                .scripts
                .detach
                .key(keys::buffer_meta(conv))
                .arg(side.as_str())
                .arg(conn)
                .invoke_async(&mut self.con.clone())
                .await
                .map_err(unavailable)?;
            Ok(())
        })
    }

    fn ends(&self, conv: ConvId) -> BoxFuture<'_, StoreResult<(Option<String>, Option<String>)>> {
        Box::pin(async move {
            redis::cmd("HMGET")
                .arg(keys::buffer_meta(conv))
                .arg("at:v")
                .arg("at:c")
                .query_async(&mut self.con.clone())
                .await
                .map_err(unavailable)
        })
    }

    fn append(
        &self,
        conv: ConvId,
        side: Side,
        n: u64,
        frame: Vec<u8>,
    ) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let _: i64 = self
                .scripts
                .append
                .key(keys::buffer(conv, side))
                .key(keys::buffer_meta(conv))
                .arg(self.conv_ttl_ms())
                .arg(side.as_str())
                .arg(n)
                .arg(frame)
                .arg(MAX_FRAMES)
                .arg(MAX_BYTES)
                .invoke_async(&mut self.con.clone())
                .await
                .map_err(unavailable)?;
            Ok(())
        })
    }

    fn ack(&self, conv: ConvId, side: Side, upto: u64) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let _: i64 = self
                .scripts
                .ack
                .key(keys::buffer(conv, side))
                .key(keys::buffer_meta(conv))
                .arg(side.as_str())
                .arg(upto)
                .invoke_async(&mut self.con.clone())
                .await
                .map_err(unavailable)?;
            Ok(())
        })
    }

    fn replay(
        &self,
        conv: ConvId,
        side: Side,
        after: Option<u64>,
    ) -> BoxFuture<'_, StoreResult<Replay>> {
        Box::pin(async move {
            let (entries, lost): (Vec<(String, Vec<u8>)>, String) = self
                .scripts
                .replay
                .key(keys::buffer(conv, side))
                .key(keys::buffer_meta(conv))
                .arg(side.as_str())
                .invoke_async(&mut self.con.clone())
                .await
                .map_err(unavailable)?;
            if let Ok(lost) = lost.parse::<u64>()
                && after.is_none_or(|a| a < lost)
            {
                return Ok(Replay::Lost);
            }
            let mut frames = Vec::with_capacity(entries.len());
            for (n, frame) in entries {
                let n: u64 = n.parse().map_err(|_| StoreError::Unavailable)?;
                if after.is_none_or(|a| n > a) {
                    frames.push(Kept { n, frame });
                }
            }
            Ok(Replay::Frames(frames))
        })
    }

    fn reset_buffers(&self, conv: ConvId) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let mut pipe = redis::pipe();
            pipe.del(&[
                keys::buffer(conv, Side::Visitor),
                keys::buffer(conv, Side::Counsellor),
            ])
            .ignore()
            .hdel(
                keys::buffer_meta(conv),
                &["bytes:v", "bytes:c", "lost:v", "lost:c"],
            )
            .ignore();
            let () = pipe
                .query_async(&mut self.con.clone())
                .await
                .map_err(unavailable)?;
            Ok(())
        })
    }

    fn publish<'a>(&'a self, node: &'a str, payload: Vec<u8>) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let command = match self.target {
                Target::Single(_) => "PUBLISH",
                Target::Cluster(_) => "SPUBLISH",
            };
            let _: i64 = redis::cmd(command)
                .arg(keys::inbox(node))
                .arg(payload)
                .query_async(&mut self.con.clone())
                .await
                .map_err(unavailable)?;
            Ok(())
        })
    }

    fn subscribe<'a>(
        &'a self,
        node: &'a str,
    ) -> BoxFuture<'a, StoreResult<mpsc::Receiver<InboxEvent>>> {
        Box::pin(async move {
            let channel = keys::inbox(node);
            let (tx, rx) = mpsc::channel(INBOX_CAPACITY);
            match &self.target {
                Target::Single(client) => {
                    let first = subscribe_once(client, &channel).await?;
                    tokio::spawn(forward_inbox(client.clone(), channel, first, tx));
                }
                Target::Cluster(nodes) => subscribe_cluster(nodes, &channel, tx).await?,
            }
            Ok(rx)
        })
    }

    fn heartbeat<'a>(&'a self, node: &'a str, ttl: Duration) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
            let () = self
                .con
                .clone()
                .pset_ex(keys::alive(node), 1, ttl_ms)
                .await
                .map_err(unavailable)?;
            Ok(())
        })
    }

    fn alive<'a>(&'a self, node: &'a str) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            self.con
                .clone()
                .exists(keys::alive(node))
                .await
                .map_err(unavailable)
        })
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

/// Where a cluster subscription's pushes go: payloads into the bounded inbox; a repeated
/// `ssubscribe` confirmation (the cluster connection resubscribes by itself after a
/// disconnection) or a payload dropped for a full inbox becomes `Gap`.
struct ClusterInbox {
    tx: mpsc::Sender<InboxEvent>,
    subscribed: AtomicBool,
    gap: AtomicBool,
}

impl ClusterInbox {
    fn push(&self, p: PushInfo) -> Result<(), ()> {
        match p.kind {
            PushKind::SMessage => {
                if let Some(redis::Value::BulkString(payload)) = p.data.into_iter().nth(1) {
                    self.deliver(InboxEvent::Message(payload));
                }
            }
            PushKind::SSubscribe if self.subscribed.swap(true, Ordering::SeqCst) => {
                self.gap.store(true, Ordering::SeqCst);
            }
            PushKind::Disconnection => tracing::warn!("inbox shard disconnected; resubscribing"),
            _ => {}
        }
        if self.tx.is_closed() { Err(()) } else { Ok(()) }
    }

    fn deliver(&self, event: InboxEvent) {
        if self.gap.load(Ordering::SeqCst) {
            if self.tx.try_send(InboxEvent::Gap).is_err() {
                return;
            }
            self.gap.store(false, Ordering::SeqCst);
        }
        if self.tx.try_send(event).is_err() {
            self.gap.store(true, Ordering::SeqCst);
        }
    }
}

/// Subscribes to a sharded inbox channel on a cluster; a task keeps the subscription's
/// connection until the receiver is dropped.
async fn subscribe_cluster(
    nodes: &[String],
    channel: &str,
    tx: mpsc::Sender<InboxEvent>,
) -> StoreResult<()> {
    let inbox = std::sync::Arc::new(ClusterInbox {
        tx: tx.clone(),
        subscribed: AtomicBool::new(false),
        gap: AtomicBool::new(false),
    });
    let sink = std::sync::Arc::clone(&inbox);
    let client = cluster_builder(nodes)
        .push_sender(move |p: PushInfo| sink.push(p))
        .build()
        .map_err(unavailable)?;
    let mut con = client.get_async_connection().await.map_err(unavailable)?;
    con.ssubscribe(channel).await.map_err(unavailable)?;
    // A subscription confirmed before `ssubscribe` returned is the first, not a gap.
    inbox.subscribed.store(true, Ordering::SeqCst);
    tokio::spawn(async move {
        tx.closed().await;
        drop(con);
    });
    Ok(())
}

/// A pub/sub connection subscribed to `channel`.
async fn subscribe_once(client: &Client, channel: &str) -> StoreResult<redis::aio::PubSub> {
    let attempt = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        Ok::<_, RedisError>(pubsub)
    };
    match tokio::time::timeout(TIMEOUT, attempt).await {
        Ok(r) => r.map_err(unavailable),
        Err(_) => Err(StoreError::Unavailable),
    }
}

/// Forwards the inbox to `tx` until the receiver is dropped, resubscribing after every
/// interruption and reporting it as `Gap`.
async fn forward_inbox(
    client: Client,
    channel: String,
    first: redis::aio::PubSub,
    tx: mpsc::Sender<InboxEvent>,
) {
    let mut pubsub = Some(first);
    loop {
        if let Some(p) = pubsub.take() {
            let mut messages = p.into_on_message();
            loop {
                tokio::select! {
                    () = tx.closed() => return,
                    m = messages.next() => match m {
                        Some(m) => {
                            let event = InboxEvent::Message(m.get_payload_bytes().to_vec());
                            if tx.send(event).await.is_err() {
                                return;
                            }
                        }
                        None => break,
                    },
                }
            }
            tracing::warn!("inbox subscription lost; resubscribing");
        }
        tokio::select! {
            () = tx.closed() => return,
            () = tokio::time::sleep(RESUBSCRIBE_EVERY) => {}
        }
        if let Ok(p) = subscribe_once(&client, &channel).await {
            if tx.send(InboxEvent::Gap).await.is_err() {
                return;
            }
            pubsub = Some(p);
        }
    }
}
