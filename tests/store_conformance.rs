//! One conformance suite for the `Store` contract, run against `MemoryStore` and against
//! `RedisStore` on a real `redis-server` started on a free port for each test. After every
//! Redis test, every key left in Redis must carry a TTL.
//!
//! Every store of a backend reads one `VirtualClock`: the deadlines a store checks itself
//! (offers, presence, leases, callbacks, the waiting times) are tested by moving it, with no
//! sleep. What expires by a Redis key TTL (buffers, heartbeats, counters) runs on Redis's own
//! clock, so those tests let the time pass on both (`Backend::wait_ttl`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/redis_server.rs"]
mod redis_server;

use std::sync::Arc;
use std::time::Duration;

use lyt::clock::{Clock, VirtualClock};
use lyt::protocol::{ConvId, QueueId};
use lyt::store::{
    InboxEvent, JoinLimits, Kept, Lifetimes, MAX_BYTES, MAX_FRAMES, MemoryStore, RedisStore,
    Replay, Side, Store, StoreError,
};
use redis_server::{RedisCluster, RedisServer};

/// Lifetimes of every test: a short resume window so expiry is observable.
const LIFETIMES: Lifetimes = Lifetimes {
    route_ttl: Duration::from_secs(60),
    conv_ttl: Duration::from_secs(1),
    callback_ttl: Duration::from_secs(1),
    stats_ttl: Duration::from_secs(60),
};

/// A presence indexed under `alias` with `slots` open.
fn open(alias: &str, slots: u32) -> lyt::store::Presence<'_> {
    lyt::store::Presence {
        alias,
        open: slots,
        parked: false,
    }
}

const ROOMY: JoinLimits = JoinLimits {
    max_queue_len: 100,
    max_waiting_total: 1000,
    lease: Duration::from_secs(30),
};

/// A backend under test. `store` may be called several times: each call is another node on
/// the same shared state and the same clock.
trait Backend {
    async fn store(&self) -> Arc<dyn Store>;
    /// The clock every store of this backend reads.
    fn clock(&self) -> &VirtualClock;
    /// Lets `d` pass on the stores' clock: the deadlines a store checks itself.
    fn advance(&self, d: Duration) {
        self.clock().advance(d);
    }
    /// Lets `d` pass for what expires by a key TTL as well, which Redis counts on its own
    /// clock: the stores' clock moves and the test waits `d`.
    async fn wait_ttl(&self, d: Duration) {
        self.advance(d);
        tokio::time::sleep(d).await;
    }
    /// Whether a retried `relay` is published once: not on a Cluster, where the buffer and
    /// the inbox are on different shards and both requests go at once (receivers drop a
    /// counter they already have).
    fn publishes_once_per_counter(&self) -> bool {
        true
    }
}

struct Memory(MemoryStore, VirtualClock);

impl Memory {
    fn new() -> Self {
        let (clock, v) = Clock::virtual_clock();
        Self(MemoryStore::new(LIFETIMES).with_clock(clock), v)
    }
}

impl Backend for Memory {
    async fn store(&self) -> Arc<dyn Store> {
        Arc::new(self.0.clone())
    }
    fn clock(&self) -> &VirtualClock {
        &self.1
    }
}

struct Redis(RedisServer, VirtualClock);

impl Backend for Redis {
    async fn store(&self) -> Arc<dyn Store> {
        let store = RedisStore::open(&self.0.url(), LIFETIMES).unwrap();
        Arc::new(store.with_clock(Clock::Virtual(self.1.clone())))
    }
    fn clock(&self) -> &VirtualClock {
        &self.1
    }
}

impl Redis {
    fn start() -> Self {
        Self(RedisServer::start(), VirtualClock::new())
    }

    async fn assert_every_key_expires(&self) {
        assert_every_key_expires(&self.0.client()).await;
    }
}

/// A three-master Redis Cluster: the same store code, sharded pub/sub for inboxes.
struct Cluster(RedisCluster, VirtualClock);

impl Backend for Cluster {
    async fn store(&self) -> Arc<dyn Store> {
        let store = RedisStore::open_cluster(&self.0.urls(), LIFETIMES)
            .await
            .unwrap();
        Arc::new(store.with_clock(Clock::Virtual(self.1.clone())))
    }
    fn clock(&self) -> &VirtualClock {
        &self.1
    }
    fn publishes_once_per_counter(&self) -> bool {
        false
    }
}

impl Cluster {
    /// Empties every master between tests.
    async fn flush(&self) {
        for master in self.0.masters() {
            let mut con = master.get_multiplexed_async_connection().await.unwrap();
            let () = redis::cmd("FLUSHALL").query_async(&mut con).await.unwrap();
        }
    }

    /// Conversations land on different masters (their own hash slots), not all on one.
    async fn assert_spread_over_masters(&self) {
        let s = self.store().await;
        for _ in 0..30 {
            s.append(ConvId::random(), Side::Visitor, 0, b"x".to_vec(), None)
                .await
                .unwrap();
        }
        let mut used = 0;
        for master in self.0.masters() {
            let mut con = master.get_multiplexed_async_connection().await.unwrap();
            let n: u64 = redis::cmd("DBSIZE").query_async(&mut con).await.unwrap();
            used += usize::from(n > 0);
        }
        assert_eq!(used, 3, "30 conversations' keys on every master");
    }

    async fn assert_every_key_expires(&self) {
        for master in self.0.masters() {
            assert_every_key_expires(&master).await;
        }
    }
}

/// Every key in this Redis has a TTL.
async fn assert_every_key_expires(client: &redis::Client) {
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut con)
        .await
        .unwrap();
    for key in keys {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut con)
            .await
            .unwrap();
        assert!(ttl > 0, "{key} has no TTL ({ttl})");
    }
}

fn q(s: &str) -> QueueId {
    s.parse().unwrap()
}

fn convs(n: usize) -> Vec<ConvId> {
    (0..n).map(|_| ConvId::random()).collect()
}

fn frames(r: Replay) -> Vec<u64> {
    match r {
        Replay::Frames(f) => f.iter().map(|k| k.n).collect(),
        Replay::Lost => panic!("unexpected Lost"),
    }
}

/// Positions count within a queue; the snapshot is in order of service across queues, with
/// priority topics first.
async fn join_orders_and_positions(b: &impl Backend) {
    let s = b.store().await;
    let c = convs(4);
    assert_eq!(s.join(c[0], &q("da/exit"), false, ROOMY).await, Ok(1));
    assert_eq!(s.join(c[1], &q("da/exit"), false, ROOMY).await, Ok(2));
    assert_eq!(s.join(c[2], &q("en/any"), false, ROOMY).await, Ok(1));
    assert_eq!(s.join(c[3], &q("da/exit"), true, ROOMY).await, Ok(1));
    assert_eq!(s.position(c[0]).await, Ok(2));
    let queues = [q("da/exit"), q("en/any")];
    let w = s.waiting(&queues).await.unwrap();
    let order: Vec<ConvId> = w.iter().map(|w| w.conv).collect();
    assert_eq!(order, vec![c[3], c[0], c[1], c[2]]);
    assert_eq!(w[3].queue, q("en/any"));
    assert!(
        w.iter()
            .all(|w| w.offered_to.is_none() && w.passed.is_empty())
    );
    assert_eq!(s.waiting(&[q("en/any")]).await.unwrap().len(), 1);
}

/// A conversation joins once; a full queue and a full service refuse with `QueueFull`.
async fn join_refuses_twice_and_when_full(b: &impl Backend) {
    let s = b.store().await;
    let c = convs(5);
    let small = JoinLimits {
        max_queue_len: 2,
        max_waiting_total: 3,
        lease: Duration::from_secs(30),
    };
    s.join(c[0], &q("da/exit"), false, small).await.unwrap();
    assert_eq!(
        s.join(c[0], &q("da/exit"), false, small).await,
        Err(StoreError::Conflict)
    );
    s.join(c[1], &q("da/exit"), false, small).await.unwrap();
    assert_eq!(
        s.join(c[2], &q("da/exit"), false, small).await,
        Err(StoreError::QueueFull)
    );
    s.join(c[3], &q("en/any"), false, small).await.unwrap();
    assert_eq!(
        s.join(c[4], &q("en/any"), false, small).await,
        Err(StoreError::QueueFull)
    );
    assert_eq!(s.position(c[2]).await, Err(StoreError::NotFound));
}

/// Many nodes racing to offer one visitor: exactly one wins.
async fn offer_is_exclusive_across_nodes(b: &impl Backend) {
    let c = ConvId::random();
    b.store()
        .await
        .join(c, &q("da/exit"), false, ROOMY)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let s = b.store().await;
        tasks.push(tokio::spawn(async move {
            s.offer(c, &format!("node{i}.1"), 2, Duration::from_secs(30))
                .await
        }));
    }
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => won += 1,
            Err(e) => assert_eq!(e, StoreError::Conflict),
        }
    }
    assert_eq!(won, 1);
    let w = b.store().await.waiting(&[q("da/exit")]).await.unwrap();
    assert!(w[0].offered_to.as_deref().unwrap().starts_with("node"));
}

/// Offers never take a counsellor past their capacity, even when made concurrently.
async fn offers_respect_capacity(b: &impl Backend) {
    let c = convs(6);
    for conv in &c {
        b.store()
            .await
            .join(*conv, &q("da/exit"), false, ROOMY)
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for conv in c {
        let s = b.store().await;
        tasks.push(tokio::spawn(async move {
            s.offer(conv, "a.1", 2, Duration::from_secs(30)).await
        }));
    }
    let mut won = 0;
    for t in tasks {
        if t.await.unwrap().is_ok() {
            won += 1;
        }
    }
    assert_eq!(won, 2);
    assert_eq!(b.store().await.load("a.1").await, Ok(2));
}

/// Only the counsellor holding the offer accepts; the conversation then leaves its queue and
/// holds their slot; it cannot be offered or joined again.
async fn accept_only_by_the_offeree(b: &impl Backend) {
    let s = b.store().await;
    let c = convs(2);
    s.join(c[0], &q("da/exit"), false, ROOMY).await.unwrap();
    s.join(c[1], &q("da/exit"), false, ROOMY).await.unwrap();
    assert_eq!(s.accept(c[0], "a.1").await, Err(StoreError::Conflict));
    s.offer(c[0], "a.1", 2, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(s.accept(c[0], "b.1").await, Err(StoreError::Conflict));
    assert_eq!(s.accept(c[0], "a.1").await, Ok(()));
    assert_eq!(s.accept(c[0], "a.1").await, Err(StoreError::Conflict));
    assert_eq!(s.live_with(c[0]).await, Ok(Some("a.1".into())));
    assert_eq!(s.live().await, Ok(vec![(c[0], "a.1".to_owned())]));
    assert_eq!(s.load("a.1").await, Ok(1));
    assert_eq!(s.position(c[0]).await, Err(StoreError::NotFound));
    assert_eq!(s.position(c[1]).await, Ok(1));
    assert_eq!(
        s.offer(c[0], "b.1", 2, Duration::from_secs(30)).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        s.join(c[0], &q("da/exit"), false, ROOMY).await,
        Err(StoreError::Conflict)
    );
}

/// A declined offer frees the slot, keeps the visitor's place and remembers who passed.
async fn withdraw_keeps_the_place(b: &impl Backend) {
    let s = b.store().await;
    let c = convs(2);
    s.join(c[0], &q("da/exit"), false, ROOMY).await.unwrap();
    s.join(c[1], &q("da/exit"), false, ROOMY).await.unwrap();
    s.offer(c[0], "a.1", 1, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(
        s.withdraw(c[0], "b.1", true).await,
        Err(StoreError::Conflict)
    );
    assert_eq!(s.withdraw(c[0], "a.1", true).await, Ok(()));
    assert_eq!(
        s.withdraw(c[0], "a.1", true).await,
        Err(StoreError::Conflict)
    );
    assert_eq!(s.load("a.1").await, Ok(0));
    let w = s.waiting(&[q("da/exit")]).await.unwrap();
    assert_eq!(w[0].conv, c[0]);
    assert_eq!(w[0].offered_to, None);
    assert_eq!(w[0].passed.len(), 1);
    assert_eq!(w[0].passed[0].0, "a.1");
    assert!(w[0].passed[0].1 < Duration::from_secs(5));
    // Passing again only renews when: one entry per counsellor.
    s.offer(c[0], "a.1", 1, Duration::from_secs(30))
        .await
        .unwrap();
    s.withdraw(c[0], "a.1", true).await.unwrap();
    assert_eq!(s.waiting(&[q("da/exit")]).await.unwrap()[0].passed.len(), 1);
    // Withdrawn without passing (the counsellor went off duty): nothing is remembered.
    s.offer(c[1], "b.1", 1, Duration::from_secs(30))
        .await
        .unwrap();
    s.withdraw(c[1], "b.1", false).await.unwrap();
    assert!(
        s.waiting(&[q("da/exit")]).await.unwrap()[1]
            .passed
            .is_empty()
    );
}

/// An offer past its deadline cannot be accepted, and is handed back to exactly one caller.
async fn expired_offers_are_claimed_once(b: &impl Backend) {
    let s = b.store().await;
    let c = ConvId::random();
    s.join(c, &q("da/exit"), false, ROOMY).await.unwrap();
    s.offer(c, "a.1", 2, Duration::from_millis(100))
        .await
        .unwrap();
    b.advance(Duration::from_millis(99));
    assert!(s.expired_offers().await.unwrap().is_empty());
    b.advance(Duration::from_millis(1));
    assert_eq!(s.accept(c, "a.1").await, Err(StoreError::Conflict));
    let (node_a, node_b) = (b.store().await, b.store().await);
    let (x, y) = tokio::join!(node_a.expired_offers(), node_b.expired_offers());
    let mut all = x.unwrap();
    all.extend(y.unwrap());
    assert_eq!(all.len(), 1);
    assert_eq!((all[0].conv, all[0].counsellor.as_str()), (c, "a.1"));
    assert_eq!(s.load("a.1").await, Ok(0));
    let w = s.waiting(&[q("da/exit")]).await.unwrap();
    assert_eq!((w[0].offered_to.clone(), w[0].passed.len()), (None, 1));
    s.offer(c, "b.1", 2, Duration::from_secs(30)).await.unwrap();
}

/// Ending a conversation, in any phase, removes it everywhere and frees its slot; twice is
/// harmless.
async fn end_removes_everything(b: &impl Backend) {
    let s = b.store().await;
    let c = convs(3);
    for conv in &c {
        s.join(*conv, &q("da/exit"), false, ROOMY).await.unwrap();
    }
    s.offer(c[1], "a.1", 2, Duration::from_secs(30))
        .await
        .unwrap();
    s.offer(c[2], "a.1", 2, Duration::from_secs(30))
        .await
        .unwrap();
    s.accept(c[2], "a.1").await.unwrap();
    s.append(c[2], Side::Visitor, 0, b"x".to_vec(), None)
        .await
        .unwrap();
    s.append(c[2], Side::Counsellor, 0, b"y".to_vec(), None)
        .await
        .unwrap();
    for conv in &c {
        s.end(*conv).await.unwrap();
        s.end(*conv).await.unwrap();
    }
    assert!(s.waiting(&[q("da/exit")]).await.unwrap().is_empty());
    assert_eq!(s.load("a.1").await, Ok(0));
    assert_eq!(s.live_with(c[2]).await, Ok(None));
    for side in [Side::Visitor, Side::Counsellor] {
        assert!(frames(s.replay(c[2], side, None).await.unwrap()).is_empty());
    }
    assert_eq!(s.join(c[2], &q("da/exit"), false, ROOMY).await, Ok(1));
}

/// The resume buffer replays exactly the unacknowledged frames after a counter, per side.
async fn buffers_replay_what_is_not_acknowledged(b: &impl Backend) {
    let s = b.store().await;
    let c = ConvId::random();
    for n in 0..6 {
        let frame = format!("{{\"t\":\"data\",\"n\":{n}}}").into_bytes();
        s.append(c, Side::Visitor, n, frame, None).await.unwrap();
    }
    s.append(c, Side::Counsellor, 0, b"to counsellor".to_vec(), None)
        .await
        .unwrap();
    s.ack(c, Side::Visitor, 1).await.unwrap();
    assert_eq!(
        frames(s.replay(c, Side::Visitor, Some(2)).await.unwrap()),
        [3, 4, 5]
    );
    assert_eq!(
        frames(s.replay(c, Side::Visitor, None).await.unwrap()),
        [2, 3, 4, 5]
    );
    let Replay::Frames(kept) = b
        .store()
        .await
        .replay(c, Side::Counsellor, None)
        .await
        .unwrap()
    else {
        panic!("lost")
    };
    assert_eq!(
        kept,
        vec![Kept {
            n: 0,
            frame: b"to counsellor".to_vec()
        }]
    );
    s.reset_buffers(c).await.unwrap();
    assert!(frames(s.replay(c, Side::Visitor, None).await.unwrap()).is_empty());
}

/// A buffer past its frame cap drops the oldest, and a replay that needs them says `Lost`.
async fn buffers_cap_frames_and_report_loss(b: &impl Backend) {
    let s = b.store().await;
    let c = ConvId::random();
    let total = MAX_FRAMES as u64 + 10;
    for n in 0..total {
        s.append(c, Side::Visitor, n, vec![b'x'; 16], None)
            .await
            .unwrap();
    }
    assert_eq!(s.replay(c, Side::Visitor, Some(3)).await, Ok(Replay::Lost));
    assert_eq!(s.replay(c, Side::Visitor, None).await, Ok(Replay::Lost));
    let kept = frames(s.replay(c, Side::Visitor, Some(9)).await.unwrap());
    assert_eq!(kept.len(), MAX_FRAMES);
    assert_eq!(kept[0], 10);
}

/// A buffer past its byte cap drops the oldest frames too.
async fn buffers_cap_bytes(b: &impl Backend) {
    let s = b.store().await;
    let c = ConvId::random();
    let big = MAX_BYTES / 4 + 1;
    for n in 0..4 {
        s.append(c, Side::Counsellor, n, vec![b'x'; big], None)
            .await
            .unwrap();
    }
    assert_eq!(s.replay(c, Side::Counsellor, None).await, Ok(Replay::Lost));
    assert_eq!(
        frames(s.replay(c, Side::Counsellor, Some(0)).await.unwrap()),
        [1, 2, 3]
    );
    s.ack(c, Side::Counsellor, 2).await.unwrap();
    // The acknowledged bytes are free again: two more fit without losing frame 3.
    s.append(c, Side::Counsellor, 4, vec![b'x'; big], None)
        .await
        .unwrap();
    s.append(c, Side::Counsellor, 5, vec![b'x'; big], None)
        .await
        .unwrap();
    assert_eq!(
        frames(s.replay(c, Side::Counsellor, Some(2)).await.unwrap()),
        [3, 4, 5]
    );
}

/// A conversation's buffers expire after the resume window without appends.
async fn buffers_expire(b: &impl Backend) {
    let s = b.store().await;
    let c = ConvId::random();
    s.append(c, Side::Visitor, 0, b"x".to_vec(), None)
        .await
        .unwrap();
    b.wait_ttl(LIFETIMES.conv_ttl / 2).await;
    assert_eq!(frames(s.replay(c, Side::Visitor, None).await.unwrap()), [0]);
    b.wait_ttl(LIFETIMES.conv_ttl).await;
    assert!(frames(s.replay(c, Side::Visitor, None).await.unwrap()).is_empty());
}

/// A node's inbox gets what is published to it, in order, and nothing for other nodes.
async fn inbox_delivers_in_order(b: &impl Backend) {
    let mut rx = b.store().await.subscribe("n1").await.unwrap();
    let publisher = b.store().await;
    publisher
        .publish("n2", b"not for n1".to_vec())
        .await
        .unwrap();
    for i in 0..100u32 {
        publisher
            .publish("n1", i.to_be_bytes().to_vec())
            .await
            .unwrap();
    }
    for i in 0..100u32 {
        let got = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap();
        assert_eq!(got, Some(InboxEvent::Message(i.to_be_bytes().to_vec())));
    }
    assert!(rx.try_recv().is_err());
}

/// Relayed frames are kept for replay and delivered to the peer's node, in order, with the
/// caller's header in front.
async fn relay_keeps_and_delivers_in_order(b: &impl Backend) {
    let mut inbox = b.store().await.subscribe("n2").await.unwrap();
    let s = b.store().await;
    let c = ConvId::random();
    for n in 0..200u64 {
        let frame = format!("{{\"t\":\"data\",\"n\":{n}}}").into_bytes();
        s.relay(
            c,
            Side::Counsellor,
            n,
            frame,
            "n2",
            b"to n2.5|".to_vec(),
            None,
        )
        .await
        .unwrap();
    }
    for n in 0..200u64 {
        let got = tokio::time::timeout(Duration::from_secs(5), inbox.recv())
            .await
            .unwrap();
        let want = format!("to n2.5|{{\"t\":\"data\",\"n\":{n}}}").into_bytes();
        assert_eq!(got, Some(InboxEvent::Message(want)));
    }
    let kept = frames(s.replay(c, Side::Counsellor, Some(149)).await.unwrap());
    assert_eq!(kept, (150..200).collect::<Vec<_>>());
    assert!(frames(s.replay(c, Side::Visitor, None).await.unwrap()).is_empty());
}

/// A node is alive for its heartbeat's TTL.
async fn heartbeat_expires(b: &impl Backend) {
    let s = b.store().await;
    assert_eq!(s.alive("n1").await, Ok(false));
    s.heartbeat("n1", Duration::from_millis(300)).await.unwrap();
    assert_eq!(b.store().await.alive("n1").await, Ok(true));
    assert_eq!(s.alive("n2").await, Ok(false));
    b.wait_ttl(Duration::from_millis(600)).await;
    assert_eq!(s.alive("n1").await, Ok(false));
}

/// A shared counter counts across nodes within its window, then starts again.
async fn counters_count_across_nodes_and_expire(b: &impl Backend) {
    let (a, other) = (b.store().await, b.store().await);
    let window = Duration::from_millis(400);
    assert_eq!(a.count("t1", window).await.unwrap().0, 1);
    assert_eq!(other.count("t1", window).await.unwrap().0, 2);
    let (n, left) = a.count("t1", window).await.unwrap();
    assert_eq!(n, 3);
    assert!(left <= window && left > Duration::ZERO, "{left:?}");
    assert_eq!(
        other.count("t2", window).await.unwrap().0,
        1,
        "tags are apart"
    );
    b.wait_ttl(Duration::from_millis(600)).await;
    assert_eq!(a.count("t1", window).await.unwrap().0, 1, "a new window");
}

/// Counsellors are on duty while their presence is renewed; when it expires one node claims
/// them, their offers go back, and their live chats can be put back at the front.
async fn presence_expires_and_is_claimed_once(b: &impl Backend) {
    let s = b.store().await;
    s.present(
        "a.1",
        b"{\"capacity\":2}".to_vec(),
        open("ida", 2),
        Duration::from_millis(300),
    )
    .await
    .unwrap();
    s.present(
        "b.1",
        b"{}".to_vec(),
        open("bo", 2),
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    let c = convs(2);
    for conv in &c {
        s.join(*conv, &q("da/exit"), false, ROOMY).await.unwrap();
        s.offer(*conv, "a.1", 2, Duration::from_secs(30))
            .await
            .unwrap();
    }
    s.accept(c[0], "a.1").await.unwrap();
    let duty = s.on_duty().await.unwrap();
    assert_eq!(duty.len(), 2);
    assert_eq!((duty[0].counsellor.as_str(), duty[0].load), ("a.1", 2));
    assert_eq!(duty[0].duty, b"{\"capacity\":2}");
    b.advance(Duration::from_millis(299));
    assert!(s.gone().await.unwrap().is_empty());
    assert_eq!(s.on_duty().await.unwrap().len(), 2);
    b.advance(Duration::from_millis(1));
    let duty = s.on_duty().await.unwrap();
    assert_eq!(duty.len(), 1);
    assert_eq!(duty[0].counsellor, "b.1");
    let (node_a, node_b) = (b.store().await, b.store().await);
    let (x, y) = tokio::join!(node_a.gone(), node_b.gone());
    let mut gone = x.unwrap();
    gone.extend(y.unwrap());
    assert_eq!(gone.len(), 1, "claimed once: {gone:?}");
    assert_eq!(gone[0].counsellor, "a.1");
    assert_eq!(
        (gone[0].live.clone(), gone[0].offers.clone()),
        (vec![c[0]], vec![c[1]])
    );
    assert_eq!(
        s.load("a.1").await,
        Ok(1),
        "the live chat still holds its slot"
    );
    assert_eq!(
        s.requeue_front(c[0], &q("da/exit"), false, None, None)
            .await,
        Ok(1)
    );
    assert_eq!(s.load("a.1").await, Ok(0));
    let w = s.waiting(&[q("da/exit")]).await.unwrap();
    assert_eq!(w.iter().map(|w| w.conv).collect::<Vec<_>>(), c);
    assert!(w.iter().all(|w| w.offered_to.is_none()));
    s.absent("b.1").await.unwrap();
    assert!(s.on_duty().await.unwrap().is_empty());
}

/// Routing reads only who can take a chat: a counsellor is in `open_duty` while present,
/// open (not on a break) and below their open slots, whatever changed their load; a reclaim
/// reads only the presences of one account.
async fn presence_indexes_follow_load_and_duty(b: &impl Backend) {
    let s = b.store().await;
    let names = |v: Vec<lyt::store::OnDuty>| {
        v.into_iter()
            .map(|o| (o.counsellor, o.load))
            .collect::<Vec<_>>()
    };
    let long = Duration::from_secs(30);
    s.present("a.1", b"a".to_vec(), open("ida", 1), long)
        .await
        .unwrap();
    s.present("b.1", b"b".to_vec(), open("bo", 2), long)
        .await
        .unwrap();
    s.present("c.1", b"c".to_vec(), open("ida", 0), long)
        .await
        .unwrap();
    assert_eq!(
        names(s.open_duty().await.unwrap()),
        [("a.1".into(), 0), ("b.1".into(), 0)],
        "a counsellor who opens no slot (a break) is not listed"
    );
    let c = convs(3);
    for conv in &c {
        s.join(*conv, &q("da/exit"), false, ROOMY).await.unwrap();
    }
    s.offer(c[0], "a.1", 1, long).await.unwrap();
    s.offer(c[1], "b.1", 2, long).await.unwrap();
    assert_eq!(
        names(s.open_duty().await.unwrap()),
        [("b.1".into(), 1)],
        "full counsellors leave the index"
    );
    s.withdraw(c[0], "a.1", true).await.unwrap();
    assert_eq!(
        names(s.open_duty().await.unwrap()),
        [("a.1".into(), 0), ("b.1".into(), 1)]
    );
    s.offer(c[0], "a.1", 1, long).await.unwrap();
    s.accept(c[0], "a.1").await.unwrap();
    s.offer(c[2], "b.1", 2, long).await.unwrap();
    assert!(s.open_duty().await.unwrap().is_empty());
    s.end(c[0]).await.unwrap();
    s.requeue_front(c[2], &q("en/any"), false, None, None)
        .await
        .unwrap();
    assert_eq!(
        names(s.open_duty().await.unwrap()),
        [("a.1".into(), 0), ("b.1".into(), 1)],
        "ends and transfers free slots"
    );
    // A break, then back: the presence says so.
    s.present("b.1", b"b".to_vec(), open("bo", 0), long)
        .await
        .unwrap();
    assert_eq!(names(s.open_duty().await.unwrap()), [("a.1".into(), 0)]);
    s.present("b.1", b"b2".to_vec(), open("bo", 3), long)
        .await
        .unwrap();
    let open_now = s.open_duty().await.unwrap();
    assert_eq!(open_now[1].duty, b"b2", "the duty as last declared");
    // By account: both of ida's connections, none of the others'; a prefix is not a match.
    s.present("d.1", b"d".to_vec(), open("idar", 1), long)
        .await
        .unwrap();
    assert_eq!(
        names(s.on_duty_as("ida").await.unwrap()),
        [("a.1".into(), 0), ("c.1".into(), 0)]
    );
    assert!(s.on_duty_as("id").await.unwrap().is_empty());
    // Parked presences are found apart: a reclaim reads only those.
    assert!(s.parked_as("ida").await.unwrap().is_empty());
    let parked = lyt::store::Presence {
        alias: "ida",
        open: 0,
        parked: true,
    };
    s.present("c.1", b"c".to_vec(), parked, long).await.unwrap();
    assert_eq!(
        names(s.parked_as("ida").await.unwrap()),
        [("c.1".into(), 0)]
    );
    assert!(s.parked_as("idar").await.unwrap().is_empty());
    s.present("c.1", b"c".to_vec(), open("ida", 0), long)
        .await
        .unwrap();
    assert!(
        s.parked_as("ida").await.unwrap().is_empty(),
        "back on duty: no longer parked"
    );
    s.present("c.1", b"c".to_vec(), parked, long).await.unwrap();
    // A connection that changes alias is found under the new one only.
    s.present("d.1", b"d".to_vec(), open("ida", 1), long)
        .await
        .unwrap();
    assert!(s.on_duty_as("idar").await.unwrap().is_empty());
    assert_eq!(s.on_duty_as("ida").await.unwrap().len(), 3);
    // Off duty, or gone: out of every index.
    s.absent("a.1").await.unwrap();
    assert_eq!(
        names(s.on_duty_as("ida").await.unwrap()),
        [("c.1".into(), 0), ("d.1".into(), 0)]
    );
    s.present(
        "d.1",
        b"d".to_vec(),
        open("ida", 1),
        Duration::from_millis(200),
    )
    .await
    .unwrap();
    b.advance(Duration::from_millis(200));
    assert!(
        s.open_duty()
            .await
            .unwrap()
            .iter()
            .all(|o| o.counsellor != "d.1"),
        "an expired presence is not listed before it is claimed"
    );
    assert_eq!(s.gone().await.unwrap().len(), 1);
    assert_eq!(
        names(s.on_duty_as("ida").await.unwrap()),
        [("c.1".into(), 0)]
    );
    assert_eq!(names(s.open_duty().await.unwrap()), [("b.1".into(), 1)]);
    s.absent("b.1").await.unwrap();
    s.absent("c.1").await.unwrap();
    assert!(
        s.parked_as("ida").await.unwrap().is_empty(),
        "off duty: out of every index"
    );
    s.end(c[1]).await.unwrap();
    s.end(c[2]).await.unwrap();
}

/// A node renews all its counsellors' presences in one call; a presence the store no longer
/// has is named back, not recreated.
async fn presences_are_renewed_in_one_call(b: &impl Backend) {
    let s = b.store().await;
    let short = Duration::from_millis(400);
    s.present("a.1", b"a".to_vec(), open("ida", 1), short)
        .await
        .unwrap();
    s.present("b.1", b"b".to_vec(), open("bo", 1), short)
        .await
        .unwrap();
    let names = ["a.1".to_owned(), "b.1".to_owned(), "z.9".to_owned()];
    for _ in 0..3 {
        b.advance(Duration::from_millis(200));
        assert_eq!(
            s.renew(&names, short).await,
            Ok(vec!["z.9".to_owned()]),
            "the one never present is named"
        );
    }
    // 600 ms after the first presence, both are still there: renewed.
    assert!(s.gone().await.unwrap().is_empty());
    let duty = s.on_duty().await.unwrap();
    assert_eq!(duty.len(), 2);
    assert_eq!(duty[0].duty, b"a", "the duty as declared");
    assert_eq!(s.open_duty().await.unwrap().len(), 2);
    b.advance(Duration::from_millis(399));
    assert!(s.gone().await.unwrap().is_empty());
    b.advance(Duration::from_millis(1));
    assert_eq!(s.gone().await.unwrap().len(), 2, "expired without renewal");
    assert_eq!(
        s.renew(&names[..1], short).await,
        Ok(vec!["a.1".to_owned()]),
        "a claimed presence is not recreated"
    );
    assert!(s.on_duty().await.unwrap().is_empty());
}

/// A transfer puts the conversation at the front of the new queue (priority first), from
/// live or from waiting.
async fn requeue_front_goes_first(b: &impl Backend) {
    let s = b.store().await;
    let c = convs(4);
    s.join(c[0], &q("da/exit"), false, ROOMY).await.unwrap();
    s.join(c[1], &q("da/exit"), true, ROOMY).await.unwrap();
    s.join(c[2], &q("en/any"), false, ROOMY).await.unwrap();
    s.offer(c[2], "a.1", 2, Duration::from_secs(30))
        .await
        .unwrap();
    s.accept(c[2], "a.1").await.unwrap();
    assert_eq!(
        s.requeue_front(c[2], &q("da/exit"), false, None, None)
            .await,
        Ok(1)
    );
    assert_eq!(
        s.requeue_front(c[0], &q("da/exit"), true, None, None).await,
        Ok(1)
    );
    assert_eq!(s.live_with(c[2]).await, Ok(None));
    let w = s.waiting(&[q("da/exit"), q("en/any")]).await.unwrap();
    let order: Vec<ConvId> = w.iter().map(|w| w.conv).collect();
    assert_eq!(order, vec![c[0], c[2], c[1]]);
    assert!(w.iter().all(|w| w.queue == q("da/exit")));
    assert_eq!(
        s.requeue_front(c[3], &q("da/exit"), false, None, None)
            .await,
        Err(StoreError::NotFound)
    );
}

/// A take-over is a compare-and-set on who holds the chat: of two connections of one account
/// reclaiming the same parked chat, the second finds it no longer live with the parked one
/// and changes nothing.
async fn requeue_front_from_a_holder_is_a_compare_and_set(b: &impl Backend) {
    let s = b.store().await;
    let c = convs(1);
    s.join(c[0], &q("da/exit"), false, ROOMY).await.unwrap();
    s.offer(c[0], "a.1", 1, Duration::from_secs(30))
        .await
        .unwrap();
    s.accept(c[0], "a.1").await.unwrap();
    // The first connection takes it over from the parked `a.1`.
    assert_eq!(
        s.requeue_front(c[0], &q("da/exit"), false, Some("a.1"), None)
            .await,
        Ok(1)
    );
    s.offer(c[0], "a.2", u32::MAX, Duration::from_secs(30))
        .await
        .unwrap();
    s.accept(c[0], "a.2").await.unwrap();
    // The second, late, still believes it is `a.1`'s.
    assert_eq!(
        s.requeue_front(c[0], &q("da/exit"), false, Some("a.1"), None)
            .await,
        Err(StoreError::Conflict)
    );
    assert_eq!(s.live_with(c[0]).await, Ok(Some("a.2".to_owned())));
    assert_eq!(s.load("a.2").await, Ok(1), "the slot stays held");
    assert!(s.waiting(&[q("da/exit")]).await.unwrap().is_empty());
}

/// A conversation lives while its lease is renewed; a lapsed one is claimed by one node,
/// again after the claim if that node did not end it, and never after it ended.
async fn leases_lapse_and_are_claimed(b: &impl Backend) {
    let s = b.store().await;
    let c = ConvId::random();
    let short = JoinLimits {
        lease: Duration::from_millis(300),
        ..ROOMY
    };
    s.join(c, &q("da/exit"), false, short).await.unwrap();
    b.advance(Duration::from_millis(200));
    s.keep(c, Duration::from_millis(300)).await.unwrap();
    b.advance(Duration::from_millis(299));
    assert!(
        s.lapsed(Duration::from_millis(300))
            .await
            .unwrap()
            .is_empty(),
        "kept: 300 ms from the keep"
    );
    b.advance(Duration::from_millis(1));
    let (node_a, node_b) = (b.store().await, b.store().await);
    let claim = Duration::from_millis(300);
    let (x, y) = tokio::join!(node_a.lapsed(claim), node_b.lapsed(claim));
    let mut lapsed = x.unwrap();
    lapsed.extend(y.unwrap());
    assert_eq!(lapsed, vec![c]);
    assert!(s.lapsed(claim).await.unwrap().is_empty());
    b.advance(claim);
    assert_eq!(
        s.lapsed(claim).await,
        Ok(vec![c]),
        "the claimer did not end it"
    );
    s.end(c).await.unwrap();
    assert_eq!(s.keep(c, claim).await, Err(StoreError::NotFound));
    b.advance(claim * 2);
    assert!(s.lapsed(claim).await.unwrap().is_empty());
}

/// The record knows where each end is connected, checks the resume token's hash, and names
/// the connection a resume replaces.
async fn records_track_the_ends(b: &impl Backend) {
    let s = b.store().await;
    let c = ConvId::random();
    let (hash, wrong) = ([7u8; 32], [8u8; 32]);
    assert_eq!(
        s.attach(c, Side::Visitor, "n1.1", Some(hash)).await,
        Err(StoreError::NotFound)
    );
    s.open(c, hash).await.unwrap();
    assert_eq!(s.open(c, hash).await, Err(StoreError::Conflict));
    assert_eq!(
        s.attach(c, Side::Visitor, "n1.1", Some(hash)).await,
        Ok(None)
    );
    assert_eq!(
        s.attach(c, Side::Visitor, "n2.7", Some(wrong)).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        b.store()
            .await
            .attach(c, Side::Visitor, "n2.7", Some(hash))
            .await,
        Ok(Some("n1.1".into()))
    );
    assert_eq!(s.attach(c, Side::Counsellor, "n3.2", None).await, Ok(None));
    s.detach(c, Side::Visitor, "n1.1").await.unwrap();
    assert_eq!(
        s.ends(c).await,
        Ok((Some("n2.7".into()), Some("n3.2".into())))
    );
    s.append(c, Side::Visitor, 0, b"x".to_vec(), None)
        .await
        .unwrap();
    s.reset_buffers(c).await.unwrap();
    assert_eq!(
        s.ends(c).await,
        Ok((Some("n2.7".into()), None)),
        "a new epoch has no counsellor until one attaches"
    );
    s.detach(c, Side::Visitor, "n2.7").await.unwrap();
    assert_eq!(s.ends(c).await, Ok((None, None)));
    s.end(c).await.unwrap();
    assert_eq!(s.ends(c).await, Ok((None, None)));
    assert_eq!(
        s.attach(c, Side::Counsellor, "n3.2", None).await,
        Err(StoreError::NotFound)
    );
}

/// Every node sees the same generation of the shared state, and it stays the same.
async fn generation_is_shared_and_stable(b: &impl Backend) {
    let first = b.store().await.generation().await.unwrap();
    assert_eq!(first.len(), 32);
    assert_eq!(b.store().await.generation().await, Ok(first.clone()));
    assert_eq!(b.store().await.generation().await, Ok(first));
}

/// The snapshot tells how long each visitor has waited since joining.
async fn waiting_knows_how_long(b: &impl Backend) {
    let s = b.store().await;
    let c = convs(2);
    s.join(c[0], &q("da/exit"), false, ROOMY).await.unwrap();
    b.advance(Duration::from_millis(300));
    s.join(c[1], &q("da/exit"), false, ROOMY).await.unwrap();
    b.advance(Duration::from_millis(20));
    let w = s.waiting(&[q("da/exit")]).await.unwrap();
    assert_eq!(w[0].waited, Duration::from_millis(320));
    assert_eq!(w[1].waited, Duration::from_millis(20));
}

/// A renewed lease keeps the conversation's record and buffers past the resume window.
async fn keep_extends_the_conversation(b: &impl Backend) {
    let s = b.store().await;
    let c = ConvId::random();
    s.join(c, &q("da/exit"), false, ROOMY).await.unwrap();
    s.open(c, [1; 32]).await.unwrap();
    s.append(c, Side::Visitor, 0, b"x".to_vec(), None)
        .await
        .unwrap();
    b.wait_ttl(LIFETIMES.conv_ttl * 2 / 3).await;
    s.keep(c, LIFETIMES.conv_ttl * 3).await.unwrap();
    b.wait_ttl(LIFETIMES.conv_ttl * 2 / 3).await;
    assert_eq!(frames(s.replay(c, Side::Visitor, None).await.unwrap()), [0]);
    assert_eq!(
        s.attach(c, Side::Visitor, "n1.1", Some([1; 32])).await,
        Ok(None)
    );
}

/// Callback requests added on one node are listed on another, oldest first, with their
/// count and a version that changes with every change; a request is taken once; the list
/// has a limit; requests expire after their TTL, which changes the version too.
async fn callbacks_are_shared_taken_once_and_expire(b: &impl Backend) {
    let (s1, s2) = (b.store().await, b.store().await);
    let v0 = s2.callbacks_version().await.unwrap();
    s1.callback_add("r1", b"one".to_vec(), 2).await.unwrap();
    b.advance(Duration::from_millis(5));
    s1.callback_add("r2", b"two".to_vec(), 2).await.unwrap();
    assert_eq!(
        s2.callback_add("r3", b"three".to_vec(), 2).await,
        Err(StoreError::QueueFull)
    );
    assert_eq!(
        s2.callback_add("r1", b"again".to_vec(), 5).await,
        Err(StoreError::Conflict)
    );
    let list = s2.callbacks(10).await.unwrap();
    assert_eq!(list.pending, 2);
    let ids: Vec<&str> = list.items.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["r1", "r2"], "oldest first");
    assert_eq!(list.items[0].entry, b"one");
    assert_eq!(
        (list.items[0].age, list.items[1].age),
        (Duration::from_millis(5), Duration::ZERO)
    );
    let v1 = s2.callbacks_version().await.unwrap();
    assert_ne!(v0, v1);
    assert_eq!(list.version, v1);
    assert_eq!(s2.callbacks(1).await.unwrap().items.len(), 1, "limit");
    assert_eq!(s2.callback_take("r1").await.unwrap(), b"one");
    assert_eq!(s1.callback_take("r1").await, Err(StoreError::NotFound));
    let v2 = s1.callbacks_version().await.unwrap();
    assert_ne!(v1, v2);
    b.advance(LIFETIMES.callback_ttl - Duration::from_millis(1));
    assert_eq!(s1.callbacks_version().await, Ok(v2), "r2 is 999 ms old");
    b.advance(Duration::from_millis(1));
    assert_ne!(
        s1.callbacks_version().await.unwrap(),
        v2,
        "expiry is a change"
    );
    let list = s2.callbacks(10).await.unwrap();
    assert_eq!((list.pending, list.items.len()), (0, 0));
    assert_eq!(s2.callback_take("r2").await, Err(StoreError::NotFound));
}

/// Each node's counts of a day are kept beside the others', replaced by the node's next
/// put; other days are apart.
async fn day_counts_are_kept_per_node(b: &impl Backend) {
    let (s1, s2) = (b.store().await, b.store().await);
    assert!(s1.stats_day("2026-12-03").await.unwrap().is_empty());
    s1.stats_put("2026-12-03", "a", b"a1".to_vec())
        .await
        .unwrap();
    s2.stats_put("2026-12-03", "b", b"b1".to_vec())
        .await
        .unwrap();
    s1.stats_put("2026-12-03", "a", b"a2".to_vec())
        .await
        .unwrap();
    s1.stats_put("2026-12-02", "a", b"old".to_vec())
        .await
        .unwrap();
    let day = s2.stats_day("2026-12-03").await.unwrap();
    assert_eq!(
        day,
        [("a".into(), b"a2".to_vec()), ("b".into(), b"b1".to_vec())]
    );
    assert_eq!(
        s1.stats_day("2026-12-02").await.unwrap(),
        [("a".into(), b"old".to_vec())]
    );
}

/// A frame appended or relayed again under a counter already kept (a retry whose first
/// answer was lost) is neither kept nor delivered twice; a new epoch starts counting anew.
async fn appends_are_idempotent_per_counter(b: &impl Backend) {
    let s = b.store().await;
    let conv = ConvId::random();
    assert_eq!(s.kept_upto(conv, Side::Visitor).await, Ok(None));
    let mut inbox = s.subscribe("n9").await.unwrap();
    s.append(conv, Side::Visitor, 3, b"three".to_vec(), None)
        .await
        .unwrap();
    s.append(conv, Side::Visitor, 3, b"three".to_vec(), None)
        .await
        .unwrap();
    s.relay(
        conv,
        Side::Visitor,
        4,
        b"four".to_vec(),
        "n9",
        b"h\n".to_vec(),
        None,
    )
    .await
    .unwrap();
    s.relay(
        conv,
        Side::Visitor,
        4,
        b"four".to_vec(),
        "n9",
        b"h\n".to_vec(),
        None,
    )
    .await
    .unwrap();
    s.append(conv, Side::Visitor, 2, b"late".to_vec(), None)
        .await
        .unwrap();
    let Replay::Frames(kept) = s.replay(conv, Side::Visitor, None).await.unwrap() else {
        panic!("frames")
    };
    let ns: Vec<u64> = kept.iter().map(|k| k.n).collect();
    assert_eq!(ns, [3, 4]);
    // What the relay has of a side's frames, acknowledged or not; the other side is apart.
    s.ack(conv, Side::Visitor, 4).await.unwrap();
    assert_eq!(s.kept_upto(conv, Side::Visitor).await, Ok(Some(4)));
    assert_eq!(s.kept_upto(conv, Side::Counsellor).await, Ok(None));
    let first = tokio::time::timeout(Duration::from_secs(2), inbox.recv())
        .await
        .unwrap();
    assert_eq!(first, Some(InboxEvent::Message(b"h\nfour".to_vec())));
    if b.publishes_once_per_counter() {
        assert!(
            tokio::time::timeout(Duration::from_millis(300), inbox.recv())
                .await
                .is_err(),
            "published once"
        );
    }
    s.reset_buffers(conv).await.unwrap();
    assert_eq!(
        s.kept_upto(conv, Side::Visitor).await,
        Ok(None),
        "a new epoch starts afresh"
    );
    s.append(conv, Side::Visitor, 0, b"new epoch".to_vec(), None)
        .await
        .unwrap();
    let Replay::Frames(kept) = s.replay(conv, Side::Visitor, None).await.unwrap() else {
        panic!("frames")
    };
    assert_eq!(kept.len(), 1);
    s.end(conv).await.unwrap();
}

/// Fenced writes: only the connection attached to the other end writes into a side, and
/// only while the record exists. A counsellor detached by a new epoch (their chat went on
/// to someone else) and a visitor replaced by a resume are refused with `Conflict`, and
/// nothing of theirs is kept or published; nothing recreates an ended conversation.
async fn writes_are_fenced_to_the_attached_ends(b: &impl Backend) {
    let s = b.store().await;
    let c = ConvId::random();
    let mut inbox = s.subscribe("n8").await.unwrap();
    assert_eq!(
        s.append(c, Side::Visitor, 0, b"x".to_vec(), Some("n3.2"))
            .await,
        Err(StoreError::Conflict),
        "no record"
    );
    s.open(c, [1; 32]).await.unwrap();
    s.attach(c, Side::Visitor, "n1.1", None).await.unwrap();
    s.attach(c, Side::Counsellor, "n3.2", None).await.unwrap();
    s.append(c, Side::Visitor, 0, b"assigned".to_vec(), Some("n3.2"))
        .await
        .unwrap();
    s.append(c, Side::Counsellor, 0, b"hs1".to_vec(), Some("n1.1"))
        .await
        .unwrap();
    assert_eq!(
        s.append(c, Side::Counsellor, 1, b"x".to_vec(), Some("n3.2"))
            .await,
        Err(StoreError::Conflict),
        "the counsellor does not write to itself"
    );
    // The chat moves on: a new epoch; the old counsellor wakes up and writes.
    s.reset_buffers(c).await.unwrap();
    s.attach(c, Side::Counsellor, "n4.9", None).await.unwrap();
    assert_eq!(
        s.relay(
            c,
            Side::Visitor,
            5,
            b"stale".to_vec(),
            "n8",
            b"h\n".to_vec(),
            Some("n3.2")
        )
        .await,
        Err(StoreError::Conflict)
    );
    // The visitor resumed on another connection; the old one writes.
    s.attach(c, Side::Visitor, "n2.7", None).await.unwrap();
    assert_eq!(
        s.append(c, Side::Counsellor, 1, b"stale".to_vec(), Some("n1.1"))
            .await,
        Err(StoreError::Conflict)
    );
    s.relay(
        c,
        Side::Visitor,
        0,
        b"fresh".to_vec(),
        "n8",
        b"h\n".to_vec(),
        Some("n4.9"),
    )
    .await
    .unwrap();
    let got = tokio::time::timeout(Duration::from_secs(2), inbox.recv())
        .await
        .unwrap();
    assert_eq!(
        got,
        Some(InboxEvent::Message(b"h\nfresh".to_vec())),
        "only the current writer's frame is published"
    );
    let Replay::Frames(kept) = s.replay(c, Side::Visitor, None).await.unwrap() else {
        panic!("frames")
    };
    assert_eq!(kept.iter().map(|k| k.n).collect::<Vec<_>>(), [0]);
    s.end(c).await.unwrap();
    assert_eq!(
        s.append(c, Side::Visitor, 1, b"late".to_vec(), Some("n4.9"))
            .await,
        Err(StoreError::Conflict),
        "an ended conversation is not recreated"
    );
}

/// Declares each test once per backend.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod on_memory {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(&super::Memory::new()).await;
                }
            )*
        }
        mod on_redis {
            $(
                #[tokio::test]
                async fn $name() {
                    let backend = super::Redis::start();
                    super::$name(&backend).await;
                    backend.assert_every_key_expires().await;
                }
            )*
        }
        /// The whole suite, one test after another, on one three-master cluster.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn on_cluster() {
            let backend = Cluster(RedisCluster::start(), VirtualClock::new());
            $(
                backend.flush().await;
                $name(&backend).await;
                backend.assert_every_key_expires().await;
            )*
            backend.assert_spread_over_masters().await;
        }
    };
}

conformance!(
    join_orders_and_positions,
    join_refuses_twice_and_when_full,
    offer_is_exclusive_across_nodes,
    offers_respect_capacity,
    accept_only_by_the_offeree,
    withdraw_keeps_the_place,
    expired_offers_are_claimed_once,
    end_removes_everything,
    buffers_replay_what_is_not_acknowledged,
    buffers_cap_frames_and_report_loss,
    buffers_cap_bytes,
    buffers_expire,
    inbox_delivers_in_order,
    heartbeat_expires,
    counters_count_across_nodes_and_expire,
    presence_expires_and_is_claimed_once,
    presence_indexes_follow_load_and_duty,
    presences_are_renewed_in_one_call,
    requeue_front_goes_first,
    requeue_front_from_a_holder_is_a_compare_and_set,
    leases_lapse_and_are_claimed,
    records_track_the_ends,
    generation_is_shared_and_stable,
    relay_keeps_and_delivers_in_order,
    waiting_knows_how_long,
    keep_extends_the_conversation,
    callbacks_are_shared_taken_once_and_expire,
    day_counts_are_kept_per_node,
    appends_are_idempotent_per_counter,
    writes_are_fenced_to_the_attached_ends,
);

/// None of a conversation's keys remains in Redis once it ends, and no routing structure
/// mentions it.
#[tokio::test]
async fn redis_end_leaves_nothing_of_the_conversation() {
    let backend = Redis::start();
    let s = backend.store().await;
    let c = convs(2);
    for conv in &c {
        s.join(*conv, &q("da/exit"), false, ROOMY).await.unwrap();
    }
    s.open(c[0], [1; 32]).await.unwrap();
    s.attach(c[0], Side::Visitor, "n1.1", Some([1; 32]))
        .await
        .unwrap();
    s.present(
        "a.1",
        b"{}".to_vec(),
        open("ida", 2),
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    s.offer(c[0], "a.1", 2, Duration::from_secs(30))
        .await
        .unwrap();
    s.withdraw(c[0], "a.1", true).await.unwrap();
    s.offer(c[0], "a.1", 2, Duration::from_secs(30))
        .await
        .unwrap();
    s.accept(c[0], "a.1").await.unwrap();
    s.append(c[0], Side::Visitor, 0, b"x".to_vec(), None)
        .await
        .unwrap();
    s.append(c[0], Side::Counsellor, 0, b"y".to_vec(), None)
        .await
        .unwrap();
    let mut con = backend
        .0
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let dump = |con: &mut redis::aio::MultiplexedConnection| {
        let mut con = con.clone();
        async move {
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg("*")
                .query_async(&mut con)
                .await
                .unwrap();
            let mut text = keys.join(" ");
            for key in keys.iter().filter(|k| k.contains("{route}")) {
                let t: String = redis::cmd("TYPE")
                    .arg(key)
                    .query_async(&mut con)
                    .await
                    .unwrap();
                let cmd = match t.as_str() {
                    "hash" => "HGETALL",
                    "zset" => "ZRANGE",
                    _ => continue,
                };
                let mut c = redis::cmd(cmd);
                c.arg(key);
                if cmd == "ZRANGE" {
                    c.arg(0).arg(-1);
                }
                let v: Vec<String> = c.query_async(&mut con).await.unwrap();
                text.push(' ');
                text.push_str(&v.join(" "));
            }
            text
        }
    };
    let before = dump(&mut con).await;
    assert!(
        before.contains(&c[0].to_string()),
        "the store wrote the conversation"
    );
    s.end(c[0]).await.unwrap();
    let after = dump(&mut con).await;
    assert!(!after.contains(&c[0].to_string()), "left behind: {after}");
    assert!(
        after.contains(&c[1].to_string()),
        "the other visitor still waits"
    );
    backend.assert_every_key_expires().await;
}

/// A failure between `end`'s two calls (the routing slot, then the conversation's keys) does
/// not leave the keys to their TTL: the end is decided, and the delete is retried until it
/// succeeds. Redis refuses `DEL` (an ACL) for the moment of the failure.
#[tokio::test]
async fn redis_end_retries_the_delete_after_a_failure() {
    let backend = Redis::start();
    // Keys that outlive the test: only the retried delete can remove them in time.
    let lifetimes = Lifetimes {
        conv_ttl: Duration::from_secs(600),
        ..LIFETIMES
    };
    let s = RedisStore::open(&backend.0.url(), lifetimes).unwrap();
    let c = ConvId::random();
    s.join(c, &q("da/exit"), false, ROOMY).await.unwrap();
    s.open(c, [1; 32]).await.unwrap();
    s.append(c, Side::Visitor, 0, b"x".to_vec(), None)
        .await
        .unwrap();
    let mut admin = backend
        .0
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let acl = |rule: &'static str| {
        let mut cmd = redis::cmd("ACL");
        cmd.arg("SETUSER").arg("default").arg(rule);
        cmd
    };
    let () = acl("-del").query_async(&mut admin).await.unwrap();
    assert_eq!(s.end(c).await, Ok(()), "the end is decided");
    assert!(s.waiting(&[q("da/exit")]).await.unwrap().is_empty());
    let exists = |mut con: redis::aio::MultiplexedConnection| async move {
        let n: usize = redis::cmd("EXISTS")
            .arg(&lyt::store::keys::conversation(c)[..])
            .query_async(&mut con)
            .await
            .unwrap();
        n
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(exists(admin.clone()).await, 2, "the delete was refused");
    let () = acl("+del").query_async(&mut admin).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while exists(admin.clone()).await > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the keys of the ended conversation stay"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// While Redis is away calls fail fast with `Unavailable`; when it is back the store
/// reconnects by itself, the generation tells that the state was lost, and the inbox reports
/// the interruption as a `Gap`.
#[tokio::test]
async fn redis_outage_is_visible_and_recovered() {
    let mut backend = Redis::start();
    let s = backend.store().await;
    let mut inbox = s.subscribe("n1").await.unwrap();
    let before = s.generation().await.unwrap();
    s.join(ConvId::random(), &q("da/exit"), false, ROOMY)
        .await
        .unwrap();
    backend.0.stop();
    let started = std::time::Instant::now();
    let r = s.join(ConvId::random(), &q("da/exit"), false, ROOMY).await;
    assert_eq!(r, Err(StoreError::Unavailable));
    assert!(started.elapsed() < Duration::from_secs(5), "fails fast");
    backend.0.restart();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let position = loop {
        match s.join(ConvId::random(), &q("da/exit"), false, ROOMY).await {
            Ok(p) => break p,
            Err(e) => assert_eq!(e, StoreError::Unavailable),
        }
        assert!(
            std::time::Instant::now() < deadline,
            "store did not reconnect"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(position, 1, "the restarted Redis is empty");
    let after = s.generation().await.unwrap();
    assert_ne!(before, after, "a node can tell the state it knew was lost");
    let gap = tokio::time::timeout(Duration::from_secs(10), inbox.recv())
        .await
        .unwrap();
    assert_eq!(gap, Some(InboxEvent::Gap));
    s.publish("n1", b"after".to_vec()).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), inbox.recv())
        .await
        .unwrap();
    assert_eq!(got, Some(InboxEvent::Message(b"after".to_vec())));
}
