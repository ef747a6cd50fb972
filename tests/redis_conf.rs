//! `ops/redis.conf` works for lyt: with it, Redis refuses the default user, lets the `lyt`
//! ACL user run every store operation on lyt's keys and channels, and nothing else.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/redis_server.rs"]
mod redis_server;

use std::time::Duration;

use lyt::protocol::ConvId;
use lyt::store::{InboxEvent, JoinLimits, Lifetimes, RedisStore, Replay, Side, Store};
use redis_server::RedisServer;

const PLACEHOLDER: &str = "CHANGE-ME-to-a-long-random-password";

/// The shipped configuration, with a test password in place of the placeholder.
fn conf(dir: &std::path::Path, password: &str) -> std::path::PathBuf {
    let shipped = include_str!("../ops/redis.conf");
    assert!(shipped.contains(PLACEHOLDER));
    for line in [
        "save \"\"",
        "appendonly no",
        "maxmemory-policy volatile-ttl",
        "user default off",
    ] {
        assert!(
            shipped.lines().any(|l| l == line),
            "ops/redis.conf lacks `{line}`"
        );
    }
    let path = dir.join("redis.conf");
    std::fs::write(&path, shipped.replace(PLACEHOLDER, password)).unwrap();
    path
}

/// The store runs as the `lyt` user; the default user and other keys are refused.
#[tokio::test]
async fn the_shipped_config_admits_only_lyt_on_its_keys() {
    let dir = tempfile::tempdir().unwrap();
    let password = format!("{:032x}", rand::random::<u128>());
    let server = RedisServer::start_with(Some(&conf(dir.path(), &password)));
    let port = server.port();

    let mut anonymous = redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let refused: redis::RedisResult<String> = redis::cmd("PING").query(&mut anonymous);
    assert!(refused.is_err(), "the default user is off: {refused:?}");

    let url = format!("redis://lyt:{password}@127.0.0.1:{port}");
    let s = RedisStore::open(&url, Lifetimes::default()).unwrap();
    let c = ConvId::random();
    let limits = JoinLimits {
        max_queue_len: 10,
        max_waiting_total: 10,
        lease: Duration::from_secs(600),
    };
    let mut inbox = s.subscribe("n1").await.unwrap();
    assert_eq!(s.generation().await.unwrap().len(), 32);
    assert_eq!(
        s.join(c, &"da/exit".parse().unwrap(), false, limits).await,
        Ok(1)
    );
    assert_eq!(
        s.waiting(&["da/exit".parse().unwrap()])
            .await
            .unwrap()
            .len(),
        1
    );
    s.offer(c, "a.1", 1, Duration::from_secs(30)).await.unwrap();
    s.accept(c, "a.1").await.unwrap();
    s.append(c, Side::Visitor, 0, b"x".to_vec(), None)
        .await
        .unwrap();
    s.ack(c, Side::Visitor, 0).await.unwrap();
    assert_eq!(
        s.replay(c, Side::Visitor, None).await,
        Ok(Replay::Frames(vec![]))
    );
    assert!(s.expired_offers().await.unwrap().is_empty());
    s.heartbeat("n1", Duration::from_secs(5)).await.unwrap();
    assert_eq!(s.alive("n1").await, Ok(true));
    s.publish("n1", b"hi".to_vec()).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), inbox.recv())
        .await
        .unwrap();
    assert_eq!(got, Some(InboxEvent::Message(b"hi".to_vec())));
    s.relay(
        c,
        Side::Counsellor,
        0,
        b"y".to_vec(),
        "n1",
        b"h|".to_vec(),
        None,
    )
    .await
    .unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), inbox.recv())
        .await
        .unwrap();
    assert_eq!(got, Some(InboxEvent::Message(b"h|y".to_vec())));
    s.end(c).await.unwrap();

    let mut lyt = redis::Client::open(url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let foreign: redis::RedisResult<()> = redis::cmd("SET").arg("other").arg(1).query(&mut lyt);
    assert!(foreign.is_err(), "keys outside lyt:* are refused");
    let flush: redis::RedisResult<()> = redis::cmd("FLUSHALL").query(&mut lyt);
    assert!(flush.is_err(), "dangerous commands are refused");
}
