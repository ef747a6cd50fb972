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

/// Nodes of one service: one demo directory (org root, accounts), one Redis.
struct Nodes {
    servers: Vec<lyt::Server>,
    demo: lyt::demo::Demo,
    _dir: tempfile::TempDir,
}

impl Nodes {
    async fn start(redis: &RedisServer, count: usize) -> Self {
        let shared = tempfile::tempdir().unwrap();
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("lyt-load.toml");
        let mut servers = Vec::new();
        let mut demo = None;
        for _ in 0..count {
            let mut config = lyt::Config::load(Some(&file), Vec::new()).unwrap().config;
            config.listen = "127.0.0.1:0".parse().unwrap();
            config.internal = "127.0.0.1:0".parse().unwrap();
            config.demo = true;
            config.demo_dir = shared.path().join("lyt-demo");
            config.redis.url = Some(lyt::config::Secret::new(redis.url()));
            demo = Some(lyt::demo::provision(&mut config).unwrap());
            servers.push(lyt::Server::start(config).await.unwrap());
        }
        Self {
            servers,
            demo: demo.unwrap(),
            _dir: shared,
        }
    }

    /// A scenario over every node.
    fn scenario(&self, kind: Kind) -> Scenario {
        Scenario {
            name: "cluster".into(),
            kind,
            nodes: self
                .servers
                .iter()
                .map(|s| format!("http://127.0.0.1:{}", s.public_addr.port()))
                .collect(),
            demo_dir: self.demo.dir.clone(),
            server_pids: vec![std::process::id()],
            leave_at_end: true,
            ..Scenario::default()
        }
    }
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
    let nodes = Nodes::start(&redis, 2).await;
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
    assert_eq!(
        keys_left_after(&redis, Duration::from_secs(2)).await,
        Vec::<String>::new(),
        "every chat ended: nothing of them stays"
    );
}

/// Three nodes, 60 chats sending every second, and Redis frozen (SIGSTOP) for 1.5 s, 3 s and
/// 5 s in turn: no chat ends, nothing is refused, lost or duplicated — the frames wait and
/// arrive in order once Redis answers — and 2 s after the visitors leave, no key names their
/// chats.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_pauses_cost_no_chat_and_no_message() {
    let redis = RedisServer::start();
    let nodes = Nodes::start(&redis, 3).await;
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
    // The run starts `START_DELAY_S` (2 s) from now; the pauses fall in its measured phase.
    let start = tokio::time::Instant::now() + Duration::from_secs(2);
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
    assert!(
        r.sent >= 60 * 2 * 20,
        "both sides kept writing through the pauses: {}",
        r.summary()
    );
    assert_eq!(
        keys_left_after(&redis, Duration::from_secs(2)).await,
        Vec::<String>::new(),
        "every chat ended: nothing of them stays"
    );
}

/// The lossless storm across two nodes: both sides drop abruptly three times each, mid-burst;
/// visitors resume on the other node than before half the time (connections alternate), and
/// counsellors take their chats back under new handshakes. Every message arrives exactly
/// once, in order, no chat ends, and nothing of the chats stays once the visitors leave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sides_dropping_across_nodes_lose_nothing() {
    let redis = RedisServer::start();
    let nodes = Nodes::start(&redis, 2).await;
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
    assert_eq!(
        keys_left_after(&redis, Duration::from_secs(2)).await,
        Vec::<String>::new(),
        "every chat ended: nothing of them stays"
    );
}
