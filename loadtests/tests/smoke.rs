//! A small load run against a real lyt server started in this test on free ports, with the
//! load tests' own configuration (`loadtests/lyt-load.toml`): a few dozen chats with the real
//! protocol and crypto for a few seconds. It asserts correctness only — every chat became
//! ready, nothing failed, nothing was lost or duplicated — never a timing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lyt_loadtests::scenario::{Kind, Scenario};

async fn start_lyt() -> (lyt::Server, lyt::demo::Demo, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("lyt-load.toml");
    let mut config = lyt::Config::load(Some(&file), Vec::new()).unwrap().config;
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.internal = "127.0.0.1:0".parse().unwrap();
    config.demo = true;
    config.demo_dir = dir.path().join("lyt-demo");
    let demo = lyt::demo::provision(&mut config).unwrap();
    let server = lyt::Server::start(config).await.unwrap();
    (server, demo, dir)
}

fn scenario(server: &lyt::Server, demo: &lyt::demo::Demo, kind: Kind) -> Scenario {
    Scenario {
        name: "smoke".into(),
        kind,
        nodes: vec![format!("http://127.0.0.1:{}", server.public_addr.port())],
        chats: 30,
        ramp_per_s: 0.0,
        duration_s: 2.0,
        interval_ms: 200.0,
        msg_bytes: 200,
        drain_s: 1.5,
        event_at_s: 0.8,
        demo_dir: demo.dir.clone(),
        server_pids: vec![std::process::id()],
        ..Scenario::default()
    }
}

fn assert_clean(r: &lyt_loadtests::report::Report) {
    assert_eq!(r.errors, Default::default(), "{}", r.summary());
    assert_eq!(r.chats_ready, 30, "{}", r.summary());
    assert!(r.sent > 0, "{}", r.summary());
    assert_eq!(r.received, r.sent, "lost messages: {}", r.summary());
    assert_eq!((r.duplicates, r.gaps), (0, 0), "{}", r.summary());
    assert!(r.latency.count > 0 && r.seconds.iter().any(|s| s.latency.count > 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steady_chats_lose_nothing() {
    let (server, demo, _dir) = start_lyt().await;
    let sc = scenario(&server, &demo, Kind::Steady);
    let r = lyt_loadtests::orchestrate::run(sc, false).await.unwrap();
    assert_clean(&r);
    // Every chat is two connections, and the two sides talk both ways.
    assert_eq!(r.connections, 60);
    assert!(r.server.is_some(), "the server process was sampled");
}

/// Every visitor reloads at once (a clean close, then `resume`): nothing is lost. (An abrupt
/// drop can lose what the visitor sent just before it; docs/performance.md.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_storm_resumes_every_chat_without_loss() {
    let (server, demo, _dir) = start_lyt().await;
    let sc = Scenario {
        abrupt_drop: false,
        ..scenario(&server, &demo, Kind::ReconnectStorm)
    };
    let r = lyt_loadtests::orchestrate::run(sc, false).await.unwrap();
    assert_clean(&r);
    assert_eq!(r.connections, 90, "every visitor connected twice");
}

/// Both sides drop abruptly three times each, mid-burst (no close frame, frames in flight
/// lost): visitors resume and send again what the relay did not keep; counsellors come back on
/// duty, take their chats back under new handshakes and, like the visitors, carry what the
/// other side never read into the new session. Every message arrives exactly once, in order,
/// and no chat ends (no `crypto`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sides_dropping_again_and_again_lose_nothing() {
    let (server, demo, _dir) = start_lyt().await;
    let sc = Scenario {
        abrupt_drop: true,
        counsellors_drop: true,
        drops: 3,
        drop_every_s: 1.5,
        duration_s: 6.0,
        drain_s: 3.0,
        ..scenario(&server, &demo, Kind::ReconnectStorm)
    };
    let r = lyt_loadtests::orchestrate::run(sc, false).await.unwrap();
    assert_clean(&r);
    assert_eq!(
        r.connections,
        30 * 2 * 4,
        "every visitor and every counsellor connected four times"
    );
}
