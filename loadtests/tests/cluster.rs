//! Load runs across nodes on one real `redis-server` (started by each test on a free port):
//! the simulated clients of the load tests, speaking the real protocol with real crypto,
//! against lyt nodes started in this process with the load tests' configuration. Every
//! visitor alternates over the nodes and every counsellor is on the second node, so most
//! chats have their two ends on different nodes.
//!
//! They assert correctness only — every chat set up, nothing lost, duplicated or refused, no
//! key of an ended chat left behind — never a timing (docs/performance.md has the figures of
//! the full-size runs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../tests/support/redis_server.rs"]
mod redis_server;

use std::time::Duration;

use lyt_loadtests::report::Report;
use lyt_loadtests::scenario::{Kind, Scenario};
use redis_server::RedisServer;

/// One lyt node on its own thread and single-threaded runtime (one core, as `bench.sh` runs a
/// node), so that a test can freeze it whole: a task that blocks that thread stops every
/// task of the node, as SIGSTOP stops its process — its sockets stay open, and the kernel
/// queues what clients send until it runs again.
struct Node {
    public: std::net::SocketAddr,
    internal: std::net::SocketAddr,
    handle: tokio::runtime::Handle,
    /// Stops the node: `true` cleanly (as SIGTERM does), `false` at once (as SIGKILL does).
    stop: Option<tokio::sync::oneshot::Sender<bool>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Node {
    fn start(config: lyt::Config) -> Self {
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<bool>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let handle = rt.handle().clone();
            rt.block_on(async move {
                let server = lyt::Server::start(config).await.unwrap();
                tx.send((server.public_addr, server.internal_addr, handle))
                    .unwrap();
                if stopped.await.unwrap_or(true) {
                    server.shutdown();
                    server.wait().await;
                } else {
                    // Killed: nothing more of the node runs. Dropping the runtime below
                    // drops every task, and with them its sockets and Redis connections.
                    std::mem::forget(server);
                }
            });
            rt.shutdown_background();
        });
        let (public, internal, handle) = rx.recv().expect("the node started");
        Self {
            public,
            internal,
            handle,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The value of counter `name` (with its labels, as exposed) on this node's `/metrics`.
    async fn counter(&self, name: &str) -> f64 {
        let text = reqwest::get(format!("http://{}/metrics", self.internal))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or(0.0)
    }

    /// Stops the node for `pause`, every task of it at once.
    fn freeze(&self, pause: Duration) {
        self.handle.spawn(async move { std::thread::sleep(pause) });
    }
}

impl Node {
    /// Kills the node: every task of it stops at once, with no clean shutdown (its
    /// counsellors are not marked absent, its chats not ended), and its sockets close.
    fn kill(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(false);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Nodes of one service: one demo directory (org root, accounts), one Redis.
struct Nodes {
    nodes: Vec<Node>,
    demo: lyt::demo::Demo,
    _dir: tempfile::TempDir,
}

impl Nodes {
    fn start(redis: &RedisServer, count: usize) -> Self {
        let shared = tempfile::tempdir().unwrap();
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("lyt-load.toml");
        let mut nodes = Vec::new();
        let mut demo = None;
        for _ in 0..count {
            let mut config = lyt::Config::load(Some(&file), Vec::new()).unwrap().config;
            config.listen = "127.0.0.1:0".parse().unwrap();
            config.internal = "127.0.0.1:0".parse().unwrap();
            config.demo = true;
            config.demo_dir = shared.path().join("lyt-demo");
            config.redis.url = Some(lyt::config::Secret::new(redis.url()));
            demo = Some(lyt::demo::provision(&mut config).unwrap());
            nodes.push(Node::start(config));
        }
        Self {
            nodes,
            demo: demo.unwrap(),
            _dir: shared,
        }
    }

    fn url(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.nodes[i].public.port())
    }

    /// A scenario over every node.
    fn scenario(&self, kind: Kind) -> Scenario {
        Scenario {
            name: "cluster".into(),
            kind,
            nodes: (0..self.nodes.len()).map(|i| self.url(i)).collect(),
            demo_dir: self.demo.dir.clone(),
            server_pids: vec![std::process::id()],
            leave_at_end: true,
            ..Scenario::default()
        }
    }
}

impl Nodes {
    /// Three nodes, 60 chats sending every second with both sides carrying across sessions;
    /// visitors (even connections) alternate over the first and third node, counsellors
    /// (connection 1 is the staff node) are on the second — the node a test then faults.
    fn counsellors_node_fault_scenario(&self) -> Scenario {
        Scenario {
            chats: 60,
            ramp_per_s: 0.0,
            duration_s: 24.0,
            interval_ms: 1000.0,
            drain_s: 6.0,
            carry: true,
            nodes: vec![self.url(0), self.url(1), self.url(2), self.url(1)],
            ..self.scenario(Kind::Steady)
        }
    }
}

/// When a run spawned just now starts (`START_DELAY_S`, 2 s, later).
fn run_start() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(2)
}

/// Sleeps until `at_s` into a run spawned just now.
async fn sleep_into_measured_phase(at_s: f64) {
    tokio::time::sleep_until(run_start() + Duration::from_secs_f64(at_s)).await;
}

/// Both sides of 60 chats kept writing, a message a second each, through a fault.
fn assert_kept_writing(r: &Report) {
    assert!(
        r.sent >= 60 * 2 * 20,
        "both sides kept writing: {}",
        r.summary()
    );
}

/// 2 s after the visitors left, no key names their chats.
async fn assert_nothing_stays(redis: &RedisServer) {
    assert_eq!(
        keys_left_after(redis, Duration::from_secs(2)).await,
        Vec::<String>::new(),
        "every chat ended: nothing of them stays"
    );
}

/// Offers accepted on `nodes`, together.
async fn accepted(nodes: impl IntoIterator<Item = &Node>) -> f64 {
    let mut sum = 0.0;
    for node in nodes {
        sum += node.counter("lyt_offers_total{result=\"accepted\"}").await;
    }
    sum
}

fn assert_clean(r: &Report, chats: u64) {
    assert_eq!(r.errors, Default::default(), "{}", r.summary());
    assert_eq!(r.chats_ready, chats, "{}", r.summary());
    assert!(r.sent > 0, "{}", r.summary());
    assert_eq!(r.received, r.sent, "lost messages: {}", r.summary());
    assert_eq!((r.duplicates, r.gaps), (0, 0), "{}", r.summary());
}

/// Every key Redis holds that names a conversation, or a routing structure that still holds
/// one; empty once every chat has ended.
async fn conversation_keys(redis: &RedisServer) -> Vec<String> {
    let mut con = redis
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut con)
        .await
        .unwrap();
    let mut left: Vec<String> = keys
        .iter()
        .filter(|k| k.contains("{conv:"))
        .cloned()
        .collect();
    for key in [
        "lyt:{route}:live",
        "lyt:{route}:offer",
        "lyt:{route}:lease",
        "lyt:{route}:queue_of",
    ] {
        let n: u64 = match redis::cmd("TYPE")
            .arg(key)
            .query_async::<String>(&mut con)
            .await
            .unwrap()
            .as_str()
        {
            "hash" => redis::cmd("HLEN").arg(key).query_async(&mut con).await,
            "zset" => redis::cmd("ZCARD").arg(key).query_async(&mut con).await,
            _ => Ok(0),
        }
        .unwrap();
        if n > 0 {
            left.push(format!("{key}: {n}"));
        }
    }
    left
}

/// Waits up to `within` for every conversation key to be gone, and returns what is left.
async fn keys_left_after(redis: &RedisServer, within: Duration) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = conversation_keys(redis).await;
        if left.is_empty() || tokio::time::Instant::now() >= deadline {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Two nodes, 500 chats (the test-sized version of `scenarios/two-nodes-5k.toml`), a message
/// every 2 s per side: every chat is set up, nothing is lost or duplicated, and once the
/// visitors leave nothing of their chats stays in Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_set_up_every_chat_and_lose_nothing() {
    let redis = RedisServer::start();
    let nodes = Nodes::start(&redis, 2);
    let sc = Scenario {
        chats: 500,
        ramp_per_s: 100.0,
        duration_s: 8.0,
        interval_ms: 2000.0,
        drain_s: 3.0,
        ..nodes.scenario(Kind::Steady)
    };
    let r = lyt_loadtests::orchestrate::run(sc, false).await.unwrap();
    assert_clean(&r, 500);
    assert_eq!(r.connections, 1000);
    assert_nothing_stays(&redis).await;
}

/// Three nodes, 60 chats sending every second, and Redis frozen (SIGSTOP) for 1.5 s, 3 s and
/// 5 s in turn: no chat ends, nothing is refused, lost or duplicated — the frames wait and
/// arrive in order once Redis answers — and 2 s after the visitors leave, no key names their
/// chats.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_pauses_cost_no_chat_and_no_message() {
    let redis = RedisServer::start();
    let nodes = Nodes::start(&redis, 3);
    let sc = Scenario {
        chats: 60,
        ramp_per_s: 0.0,
        duration_s: 24.0,
        interval_ms: 1000.0,
        drain_s: 4.0,
        ..nodes.scenario(Kind::Steady)
    };
    let measured_from = lyt_loadtests::run::Timeline::of(&sc).measure_s;
    let run = tokio::spawn(lyt_loadtests::orchestrate::run(sc, false));
    // The pauses fall in the run's measured phase.
    let start = run_start();
    let mut at = measured_from + 2.0;
    for pause in [1.5, 3.0, 5.0] {
        tokio::time::sleep_until(start + Duration::from_secs_f64(at)).await;
        redis.pause();
        tokio::time::sleep(Duration::from_secs_f64(pause)).await;
        redis.resume();
        at += pause + 3.0;
    }
    let r = run.await.unwrap().unwrap();
    assert_clean(&r, 60);
    assert_kept_writing(&r);
    assert_nothing_stays(&redis).await;
}

/// The lossless storm across two nodes: both sides drop abruptly three times each, mid-burst;
/// visitors resume on the other node than before half the time (connections alternate), and
/// counsellors take their chats back under new handshakes. Every message arrives exactly
/// once, in order, no chat ends, and nothing of the chats stays once the visitors leave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sides_dropping_across_nodes_lose_nothing() {
    let redis = RedisServer::start();
    let nodes = Nodes::start(&redis, 2);
    let sc = Scenario {
        chats: 40,
        ramp_per_s: 0.0,
        duration_s: 7.0,
        interval_ms: 200.0,
        drain_s: 3.0,
        event_at_s: 1.0,
        abrupt_drop: true,
        counsellors_drop: true,
        drops: 3,
        drop_every_s: 1.8,
        ..nodes.scenario(Kind::ReconnectStorm)
    };
    let r = lyt_loadtests::orchestrate::run(sc, false).await.unwrap();
    assert_clean(&r, 40);
    assert_eq!(
        r.connections,
        40 * 2 * 4,
        "every client connected four times"
    );
    assert_nothing_stays(&redis).await;
}

/// The counsellors' node frozen for 10 s (every task of it stopped at once, as SIGSTOP stops
/// a process) while 60 chats send every second, their visitors on the two other nodes. After
/// 6 s the others find its counsellors gone and put their chats back at the front of the
/// queue; when the node wakes it learns it lost them, tells its counsellors
/// (`ended{reassigned}`) and relays nothing more into them (its writes are fenced), and the
/// counsellors take the chats again under new handshakes, both sides carrying what the other
/// never read. No chat ends, nothing is lost, duplicated or fails to decrypt, and 2 s after
/// the visitors leave no key names their chats.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_counsellors_node_costs_no_chat_and_no_message() {
    let redis = RedisServer::start();
    let nodes = Nodes::start(&redis, 3);
    let sc = nodes.counsellors_node_fault_scenario();
    let measured_from = lyt_loadtests::run::Timeline::of(&sc).measure_s;
    let run = tokio::spawn(lyt_loadtests::orchestrate::run(sc, false));
    sleep_into_measured_phase(measured_from + 2.0).await;
    nodes.nodes[1].freeze(Duration::from_secs(10));
    let r = run.await.unwrap().unwrap();
    assert_clean(&r, 60);
    let accepted = accepted(nodes.nodes.iter()).await;
    assert!(
        accepted >= 120.0,
        "every chat was taken over while the node was frozen and accepted again: {accepted}"
    );
    assert_kept_writing(&r);
    assert_nothing_stays(&redis).await;
}

/// The counsellors' node killed (every task of it stopped at once, its sockets closed, no
/// clean shutdown) while 60 chats send every second, their visitors on the two other nodes.
/// The counsellors log in again on another node and go on duty; after 6 s their old
/// presences are claimed and the chats go back to the front of the queue, and they take
/// them again under new handshakes, both sides carrying what the other never read. Every
/// message a visitor sent in the gap is delivered in the new session: none is lost,
/// duplicated or fails to decrypt, no chat ends, and 2 s after the visitors leave no key
/// names their chats.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_counsellors_node_costs_no_chat_and_no_message() {
    let redis = RedisServer::start();
    let mut nodes = Nodes::start(&redis, 3);
    let sc = nodes.counsellors_node_fault_scenario();
    let measured_from = lyt_loadtests::run::Timeline::of(&sc).measure_s;
    let run = tokio::spawn(lyt_loadtests::orchestrate::run(sc, false));
    sleep_into_measured_phase(measured_from + 2.0).await;
    nodes.nodes[1].kill();
    let r = run.await.unwrap().unwrap();
    assert_clean(&r, 60);
    assert_kept_writing(&r);
    let accepted = accepted([&nodes.nodes[0], &nodes.nodes[2]]).await;
    assert!(
        accepted >= 60.0,
        "every chat was accepted again on the nodes left: {accepted}"
    );
    assert_nothing_stays(&redis).await;
}
