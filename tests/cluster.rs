//! Many nodes on one Redis (`serve --redis`): a visitor on one node and a counsellor on
//! another chat end to end encrypted; the visitor's node goes away and the visitor resumes on
//! a third with every message delivered exactly once; a Redis restart is survived and
//! reported; nothing of an ended conversation stays in Redis, and every key has a TTL.
//! Each test starts its own `redis-server` on a free port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::redis_server;

use std::time::Duration;

use common::*;
use lyt::client::WsClient;
use lyt::client::e2e::{Chat, VisitorHandshake};
use lyt::crypto::AppMessage;
use lyt::protocol::{ConvId, CounsellorFrame, ServerFrame, VisitorFrame};
use redis_server::RedisServer;

/// Nodes of one service: one demo directory (org root, accounts), one Redis.
struct Nodes {
    demo_dir: tempfile::TempDir,
    url: String,
}

impl Nodes {
    fn new(redis: &RedisServer) -> Self {
        Self {
            demo_dir: tempfile::tempdir().unwrap(),
            url: redis.url(),
        }
    }

    async fn start(&self) -> TestServer {
        self.start_with_resume_window(30).await
    }

    async fn start_with_resume_window(&self, seconds: u64) -> TestServer {
        let url = self.url.clone();
        start_in(
            tempfile::tempdir().unwrap(),
            self.demo_dir.path().join("lyt-demo"),
            move |c| {
                c.redis.url = Some(lyt::config::Secret::new(url));
                c.limits.resume_window_s = seconds;
            },
        )
        .await
    }
}

fn text(body: &str) -> AppMessage {
    AppMessage::Text {
        body: body.into(),
        ts: 0,
    }
}

/// Waits for the next frame that is not `queued` (positions arrive from every tick).
async fn next(ws: &mut WsClient) -> ServerFrame {
    loop {
        match ws.frame(WAIT).await.unwrap() {
            ServerFrame::Queued { .. } => {}
            f => return f,
        }
    }
}

/// Receives one data frame and decrypts it (`None`: a replay the session dropped).
async fn receive(ws: &mut WsClient, chat: &mut Chat) -> Option<(u64, AppMessage)> {
    match next(ws).await {
        ServerFrame::Data { n, m, .. } => chat.open(n, &m).unwrap().map(|msg| (n, msg)),
        other => panic!("expected data, got {other:?}"),
    }
}

/// A visitor on `a` and a counsellor on `b`, through the handshake: sockets, chats, the
/// conversation and the resume token.
async fn cross_node_pair(
    a: &TestServer,
    b: &TestServer,
) -> (WsClient, Counsellor, Chat, Chat, ConvId, String) {
    let mut c = b.counsellor("maja", 1).await;
    let mut v = a.visitor().await;
    let (_, token) = join_with_token(&mut v, "da/exit").await;
    let conv = match next(&mut c).await {
        ServerFrame::Offer { conv, .. } => conv,
        other => panic!("expected offer, got {other:?}"),
    };
    c.send(&CounsellorFrame::Accept { conv }).await.unwrap();
    let (v_chat, c_chat) = handshake(&a.demo.org_root_pub, &mut v, &mut c, conv).await;
    (v, c, v_chat, c_chat, conv, token)
}

/// From the visitor's `assigned` to a confirmed session: `hs1`, `hs2`, the visitor's `hello`
/// received by the counsellor, and equal safety codes.
async fn handshake(
    org_root: &[u8; 32],
    v: &mut WsClient,
    c: &mut Counsellor,
    conv: ConvId,
) -> (Chat, Chat) {
    let ServerFrame::Assigned { bundle, .. } = next(v).await else {
        panic!("expected assigned")
    };
    let (hs, m) = VisitorHandshake::start(org_root, conv, &bundle, now()).unwrap();
    v.send(&VisitorFrame::Hs1 { conv, m }).await.unwrap();
    let ServerFrame::Hs1 { m, .. } = next(c).await else {
        panic!("expected hs1")
    };
    let (mut c_chat, m) = c.shift.accept(conv, &m).unwrap();
    c.send(&CounsellorFrame::Hs2 { conv, m }).await.unwrap();
    let ServerFrame::Hs2 { m, .. } = next(v).await else {
        panic!("expected hs2")
    };
    let mut v_chat = hs.finish(&m).unwrap();
    let (n, m) = v_chat.seal(&AppMessage::Hello {}).unwrap();
    v.send(&VisitorFrame::Data { conv, n, m }).await.unwrap();
    let (_, hello) = receive(c, &mut c_chat).await.unwrap();
    assert_eq!(hello, AppMessage::Hello {});
    assert_eq!(v_chat.safety_code(), c_chat.safety_code());
    (v_chat, c_chat)
}

async fn counsellor_says(c: &mut Counsellor, chat: &mut Chat, body: &str) {
    let (n, m) = chat.seal(&text(body)).unwrap();
    c.send(&CounsellorFrame::Data {
        conv: chat.conv(),
        n,
        m,
    })
    .await
    .unwrap();
}

async fn visitor_says(v: &mut WsClient, chat: &mut Chat, body: &str) {
    let (n, m) = chat.seal(&text(body)).unwrap();
    v.send(&VisitorFrame::Data {
        conv: chat.conv(),
        n,
        m,
    })
    .await
    .unwrap();
}

/// Keys that name `conv`.
async fn keys_of(redis: &RedisServer, conv: ConvId) -> Vec<String> {
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
    let id = conv.to_string();
    let mut hits: Vec<String> = keys.into_iter().filter(|k| k.contains(&id)).collect();
    // Routing structures hold the id as a member.
    for key in [
        "lyt:{route}:live",
        "lyt:{route}:offer",
        "lyt:{route}:lease",
        "lyt:{route}:queue_of",
    ] {
        let t: String = redis::cmd("TYPE")
            .arg(key)
            .query_async(&mut con)
            .await
            .unwrap();
        let member = match t.as_str() {
            "hash" => redis::cmd("HEXISTS")
                .arg(key)
                .arg(&id)
                .query_async::<bool>(&mut con)
                .await
                .unwrap(),
            "zset" => redis::cmd("ZSCORE")
                .arg(key)
                .arg(&id)
                .query_async::<Option<f64>>(&mut con)
                .await
                .unwrap()
                .is_some(),
            _ => false,
        };
        if member {
            hits.push(format!("{key} ∋ conv"));
        }
    }
    hits
}

/// A visitor on node A and a counsellor on node B chat, both ways; node A goes away; the
/// visitor resumes on node C: what the counsellor wrote meanwhile arrives exactly once, and
/// the chat goes on. When it ends, nothing of it remains in Redis within a second, and every
/// key has a TTL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_across_nodes_survives_the_visitors_node() {
    let redis = RedisServer::start();
    let nodes = Nodes::new(&redis);
    let a = nodes.start().await;
    let b = nodes.start().await;
    let c_node = nodes.start().await;
    let (mut v, mut c, mut v_chat, mut c_chat, conv, token) = cross_node_pair(&a, &b).await;

    counsellor_says(&mut c, &mut c_chat, "one").await;
    let (n1, m) = receive(&mut v, &mut v_chat).await.unwrap();
    assert_eq!(m, text("one"));
    v.send(&VisitorFrame::Ack { conv, upto: n1 }).await.unwrap();
    visitor_says(&mut v, &mut v_chat, "from the visitor").await;
    assert_eq!(
        receive(&mut c, &mut c_chat).await.unwrap().1,
        text("from the visitor")
    );

    // Node A goes away with the visitor's socket.
    drop(v);
    a.stop().await;
    match next(&mut c).await {
        ServerFrame::Peer { state, .. } => assert_eq!(state, lyt::protocol::PeerState::Away),
        other => panic!("expected peer away, got {other:?}"),
    }
    counsellor_says(&mut c, &mut c_chat, "two").await;
    counsellor_says(&mut c, &mut c_chat, "three").await;

    // The visitor resumes on node C.
    let mut v = c_node.visitor().await;
    v.send(&VisitorFrame::Resume {
        token: token.clone(),
        conv,
        upto: Some(n1),
    })
    .await
    .unwrap();
    assert!(matches!(next(&mut v).await, ServerFrame::Resumed { conv: got, .. } if got == conv));
    counsellor_says(&mut c, &mut c_chat, "four").await;
    let mut got = Vec::new();
    while got.len() < 3 {
        if let Some((_, m)) = receive(&mut v, &mut v_chat).await {
            got.push(m);
        }
    }
    assert_eq!(got, vec![text("two"), text("three"), text("four")]);
    match next(&mut c).await {
        ServerFrame::Peer { state, .. } => assert_eq!(state, lyt::protocol::PeerState::Back),
        other => panic!("expected peer back, got {other:?}"),
    }
    visitor_says(&mut v, &mut v_chat, "still here").await;
    assert_eq!(
        receive(&mut c, &mut c_chat).await.unwrap().1,
        text("still here")
    );
    // Nothing more, in particular no duplicate.
    assert!(v.frame(Duration::from_millis(600)).await.is_err());

    redis.assert_every_key_has_a_ttl().await;
    c.send(&CounsellorFrame::End {
        conv,
        tags: lyt::protocol::Tags::default(),
    })
    .await
    .unwrap();
    assert_eq!(ended(&mut v).await, "counsellor_ended");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(keys_of(&redis, conv).await, Vec::<String>::new());
    redis.assert_every_key_has_a_ttl().await;
}

/// Redis goes away mid-run: new joins get `overloaded` (the nodes keep running); when it comes
/// back empty, the nodes reconnect by themselves and say what was lost — the live chat ends
/// with `state_lost` on both sides — and new chats work again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_is_survived_and_reported() {
    let mut redis = RedisServer::start();
    let nodes = Nodes::new(&redis);
    let a = nodes.start().await;
    let b = nodes.start().await;
    let (mut v, mut c, mut v_chat, _, old, _) = cross_node_pair(&a, &b).await;

    redis.stop();
    // Written while Redis is away: retried, then refused once Redis is back without the
    // chat (the store's fence), so it recreates none of the ended chat's keys.
    visitor_says(&mut v, &mut v_chat, "during the outage").await;
    let mut w = a.visitor().await;
    join_refused_overloaded(&mut w).await;

    redis.restart();
    let reason = loop {
        match next(&mut v).await {
            ServerFrame::Ended { reason, .. } => break reason,
            ServerFrame::Error { .. } => {}
            other => panic!("expected ended, got {other:?}"),
        }
    };
    assert_eq!(reason, lyt::protocol::EndReason::StateLost);
    assert_eq!(ended(&mut c).await, "state_lost");

    // The counsellor is still on duty, present again, and takes the next chat.
    let mut v2 = a.visitor().await;
    join(&mut v2, "da/exit").await;
    let conv = match next(&mut c).await {
        ServerFrame::Offer { conv, .. } => conv,
        other => panic!("expected offer, got {other:?}"),
    };
    c.send(&CounsellorFrame::Accept { conv }).await.unwrap();
    assert!(matches!(next(&mut v2).await, ServerFrame::Assigned { conv: got, .. } if got == conv));
    redis.assert_every_key_has_a_ttl().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        keys_of(&redis, old).await,
        Vec::<String>::new(),
        "2 s after the chat ended no key names it"
    );
}

/// Sends `join` until the node answers `overloaded` (its store calls fail fast).
async fn join_refused_overloaded(v: &mut WsClient) {
    v.send_text(r#"{"t":"join","queue":"da/exit"}"#.to_owned())
        .await
        .unwrap();
    match v.frame(Duration::from_secs(10)).await.unwrap() {
        ServerFrame::Error { code, message, .. } => {
            assert_eq!(code, lyt::protocol::ErrorCode::Overloaded, "{message}");
        }
        other => panic!("expected overloaded, got {other:?}"),
    }
}

/// A counsellor's connection on node B drops mid-chat: the visitor (on node A) is told the
/// counsellor is away and a message meanwhile is refused (not lost); the same account comes
/// back on node C within the reconnect window and takes the chat back under a new epoch:
/// `resumed` for the console, a new `assigned` for the visitor, a fresh handshake, and the
/// chat goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counsellor_reconnecting_on_another_node_keeps_the_chat() {
    let redis = RedisServer::start();
    let nodes = Nodes::new(&redis);
    let a = nodes.start().await;
    let b = nodes.start().await;
    let c_node = nodes.start().await;
    let (mut v, c, mut v_chat, _, conv, _) = cross_node_pair(&a, &b).await;
    drop(c);
    match next(&mut v).await {
        ServerFrame::Peer { state, .. } => assert_eq!(state, lyt::protocol::PeerState::Away),
        other => panic!("expected peer away, got {other:?}"),
    }
    visitor_says(&mut v, &mut v_chat, "are you there?").await;
    assert_eq!(error_code(&mut v).await, lyt::protocol::ErrorCode::Conflict);

    let mut c = c_node.counsellor("maja", 1).await;
    assert!(matches!(next(&mut c).await, ServerFrame::Resumed { conv: got, .. } if got == conv));
    // A new epoch: a new `assigned` and a fresh handshake.
    let (mut v_chat, mut c_chat) = handshake(&a.demo.org_root_pub, &mut v, &mut c, conv).await;
    counsellor_says(&mut c, &mut c_chat, "back again").await;
    assert_eq!(
        receive(&mut v, &mut v_chat).await.unwrap().1,
        text("back again")
    );
    // The parked connection's presence is gone once its chat was taken back.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let snapshot = b.server.relay().engine().figures_now().await;
    assert_eq!(snapshot.on_duty.len(), 1, "{:?}", snapshot.on_duty);
    assert_eq!(snapshot.live, 1);
}

/// The same relay on a Redis Cluster of three masters (node inboxes on sharded pub/sub): a
/// visitor on node A and a counsellor on node B chat, the visitor resumes on node C.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_runs_on_a_redis_cluster() {
    let cluster = redis_server::RedisCluster::start();
    let urls = cluster.urls();
    let demo_dir = tempfile::tempdir().unwrap();
    let start_node = || {
        let urls = urls.clone();
        start_in(
            tempfile::tempdir().unwrap(),
            demo_dir.path().join("lyt-demo"),
            move |c| {
                c.redis.url = Some(lyt::config::Secret::new(urls[0].clone()));
                c.redis.cluster = urls[1..]
                    .iter()
                    .map(|u| lyt::config::Secret::new(u.clone()))
                    .collect();
            },
        )
    };
    let a = start_node().await;
    let b = start_node().await;
    let c_node = start_node().await;
    let (v, mut c, mut v_chat, mut c_chat, conv, token) = cross_node_pair(&a, &b).await;
    drop(v);
    a.stop().await;
    counsellor_says(&mut c, &mut c_chat, "on the cluster").await;
    let mut v = c_node.visitor().await;
    v.send(&VisitorFrame::Resume {
        token,
        conv,
        upto: None,
    })
    .await
    .unwrap();
    assert!(matches!(next(&mut v).await, ServerFrame::Resumed { .. }));
    let mut got = Vec::new();
    while got.is_empty() {
        if let Some((_, m)) = receive(&mut v, &mut v_chat).await {
            got.push(m);
        }
    }
    assert_eq!(got, vec![text("on the cluster")]);
}

/// Joins per address are counted across nodes when the nodes share `rate.shared_key`: with
/// two joins an hour, a third from the same address on another node is refused with the
/// wait; Redis holds only a keyed tag of the address, with a TTL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_quotas_are_counted_across_nodes() {
    let redis = RedisServer::start();
    let demo_dir = tempfile::tempdir().unwrap();
    let url = redis.url();
    let start_node = || {
        let url = url.clone();
        start_in(
            tempfile::tempdir().unwrap(),
            demo_dir.path().join("lyt-demo"),
            move |c| {
                c.redis.url = Some(lyt::config::Secret::new(url));
                c.rate.joins_per_hour = 2;
                c.rate.shared_key = Some(lyt::config::Secret::new("a shared test secret".into()));
            },
        )
    };
    let a = start_node().await;
    let b = start_node().await;
    for _ in 0..2 {
        let mut v = a.visitor().await;
        join(&mut v, "da/exit").await;
        v.send(&VisitorFrame::Leave {}).await.unwrap();
        assert_eq!(ended(&mut v).await, "visitor_left");
    }
    let mut v = b.visitor().await;
    v.send_text(r#"{"t":"join","queue":"da/exit"}"#.to_owned())
        .await
        .unwrap();
    match v.frame(WAIT).await.unwrap() {
        ServerFrame::Error {
            code,
            retry_after_s,
            ..
        } => {
            assert_eq!(code, lyt::protocol::ErrorCode::RateLimited);
            assert!(retry_after_s.is_some_and(|s| s > 0 && s <= 3600));
        }
        other => panic!("expected rate_limited, got {other:?}"),
    }
    let mut con = redis
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("lyt:{q:*")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(!keys[0].contains("127.0.0.1"));
    redis.assert_every_key_has_a_ttl().await;
}

/// Reads `ws` until a `callbacks` frame whose items satisfy `want`; returns them.
async fn callbacks_where(
    ws: &mut WsClient,
    want: impl Fn(&[lyt::protocol::CallbackItem]) -> bool,
) -> Vec<lyt::protocol::CallbackItem> {
    loop {
        if let ServerFrame::Callbacks { items } = ws.frame(WAIT).await.unwrap()
            && want(&items)
        {
            return items;
        }
    }
}

/// Three nodes on one Redis: a counsellor on B serves a visitor on A while a visitor on C
/// gives up waiting; a callback requested on A reaches the counsellors on B and C and is
/// handled once, from C; the supervisor's "today" is the same on all three nodes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_share_callbacks_and_todays_counts() {
    let redis = RedisServer::start();
    let nodes = Nodes::new(&redis);
    let (a, b, c) = (
        nodes.start().await,
        nodes.start().await,
        nodes.start().await,
    );
    let mut maja = b.counsellor("maja", 1).await;
    let mut ali = c.counsellor_connected("ali").await;

    let mut va = a.visitor().await;
    join(&mut va, "da/exit").await;
    let conv = offer(&mut maja).await;
    maja.send(&CounsellorFrame::Accept { conv }).await.unwrap();
    assert!(matches!(next(&mut va).await, ServerFrame::Assigned { .. }));
    let mut vc = c.visitor().await;
    join(&mut vc, "da/exit").await;
    vc.send(&VisitorFrame::Leave {}).await.unwrap();
    let tags = lyt::protocol::Tags {
        topic: vec!["exit".parse().unwrap()],
        ..Default::default()
    };
    maja.send(&CounsellorFrame::End { conv, tags })
        .await
        .unwrap();

    let request = ConvId::random();
    let sealed = lyt::crypto::Sealed {
        enc: vec![7; 32],
        ct: vec![9; 64],
    };
    let mut vr = a.visitor().await;
    vr.send(&VisitorFrame::Callback {
        queue: "da/phone".parse().unwrap(),
        id: request,
        sealed,
    })
    .await
    .unwrap();
    assert!(matches!(
        vr.frame(WAIT).await.unwrap(),
        ServerFrame::CallbackReceived { .. }
    ));
    let listed = |items: &[lyt::protocol::CallbackItem]| items.len() == 1;
    callbacks_where(&mut maja, listed).await;
    let items = callbacks_where(&mut ali, listed).await;
    assert_eq!(items[0].id, request.to_string());
    ali.send(&CounsellorFrame::CallbackDone {
        id: items[0].id.clone(),
        tags: Default::default(),
    })
    .await
    .unwrap();
    callbacks_where(&mut maja, <[_]>::is_empty).await;
    maja.send(&CounsellorFrame::CallbackDone {
        id: request.to_string(),
        tags: Default::default(),
    })
    .await
    .unwrap();
    loop {
        if let ServerFrame::Error { code, .. } = maja.frame(WAIT).await.unwrap() {
            assert_eq!(code, lyt::protocol::ErrorCode::NotFound, "handled once");
            break;
        }
    }

    // Each node shares its counts on its next renewal: wait until all three agree.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let mut days = Vec::new();
        for node in [&a, &b, &c] {
            let snapshot = node
                .login("sofie")
                .await
                .get_json("/v1/supervisor/snapshot")
                .await
                .unwrap();
            days.push(snapshot["today"].clone());
        }
        let want = &days[0];
        let complete = want["contacts"] == 2 && want["joined"] == 2 && want["abandoned"] == 1;
        if complete && days.iter().all(|d| d == want) {
            assert_eq!(want["by_channel"]["chat"], 1);
            assert_eq!(want["by_channel"]["phone"], 1);
            assert_eq!(want["by_topic"]["exit"], 1);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "today differs across nodes: {days:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Receives `count` data frames and decrypts them, each a new message (no duplicate).
async fn receive_all(ws: &mut WsClient, chat: &mut Chat, count: usize) -> Vec<AppMessage> {
    let mut got = Vec::new();
    while got.len() < count {
        let (_, m) = receive(ws, chat)
            .await
            .expect("a new message, not a duplicate");
        got.push(m);
    }
    got
}

/// Redis stalls (SIGSTOP) for 3 s while both sides of a chat across two nodes keep writing:
/// nothing is refused, lost or doubled — the frames wait and arrive in order once Redis
/// answers — and the chat goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_stall_costs_no_message() {
    let redis = RedisServer::start();
    let nodes = Nodes::new(&redis);
    let (a, b) = (nodes.start().await, nodes.start().await);
    let (mut v, mut c, mut v_chat, mut c_chat, _conv, _token) = cross_node_pair(&a, &b).await;
    redis.pause();
    let mut said = Vec::new();
    for i in 0..6 {
        visitor_says(&mut v, &mut v_chat, &format!("v{i}")).await;
        counsellor_says(&mut c, &mut c_chat, &format!("c{i}")).await;
        said.push(i);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    redis.resume();
    let to_counsellor = receive_all(&mut c, &mut c_chat, said.len()).await;
    let to_visitor = receive_all(&mut v, &mut v_chat, said.len()).await;
    let want = |side: &str| -> Vec<AppMessage> {
        said.iter().map(|i| text(&format!("{side}{i}"))).collect()
    };
    assert_eq!(to_counsellor, want("v"));
    assert_eq!(to_visitor, want("c"));
    visitor_says(&mut v, &mut v_chat, "after").await;
    assert_eq!(
        receive_all(&mut c, &mut c_chat, 1).await,
        vec![text("after")]
    );
    assert!(
        c.frame(Duration::from_millis(600)).await.is_err(),
        "nothing more"
    );
    assert!(v.frame(Duration::from_millis(300)).await.is_err());
}

/// Acknowledgements that arrive while Redis stalls are dropped, not refused: the client's
/// next one covers them, and a refusal would tell it nothing it could act on. Once Redis
/// answers, the chat goes on and a later acknowledgement is taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_during_a_redis_stall_are_not_refused() {
    let redis = RedisServer::start();
    let nodes = Nodes::new(&redis);
    let (a, b) = (nodes.start().await, nodes.start().await);
    let (mut v, mut c, mut v_chat, mut c_chat, conv, _token) = cross_node_pair(&a, &b).await;
    counsellor_says(&mut c, &mut c_chat, "one").await;
    let (n1, _) = receive(&mut v, &mut v_chat).await.unwrap();
    redis.pause();
    v.send(&VisitorFrame::Ack { conv, upto: n1 }).await.unwrap();
    c.send(&CounsellorFrame::Ack { conv, upto: 0 })
        .await
        .unwrap();
    // Each store call gives up after its 1 s timeout; wait past both.
    let (to_v, to_c) = tokio::join!(
        v.frame(Duration::from_millis(2500)),
        c.frame(Duration::from_millis(2500)),
    );
    redis.resume();
    assert!(to_v.is_err(), "the visitor is told nothing: {to_v:?}");
    assert!(to_c.is_err(), "the counsellor is told nothing: {to_c:?}");
    counsellor_says(&mut c, &mut c_chat, "two").await;
    let (n2, m) = receive(&mut v, &mut v_chat).await.unwrap();
    assert_eq!(m, text("two"));
    v.send(&VisitorFrame::Ack { conv, upto: n2 }).await.unwrap();
    assert!(
        v.frame(Duration::from_millis(500)).await.is_err(),
        "the later ack is taken"
    );
}

/// Redis stalls for longer than a counsellor's presence lasts (7 s against 6 s): every
/// node's renewals stalled with it, so no node claims the counsellor as gone once Redis
/// answers — they give every node a presence lifetime to renew first — and the chat goes on
/// with the same session, nothing ended or re-assigned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_stall_longer_than_a_presence_costs_no_chat() {
    let redis = RedisServer::start();
    let nodes = Nodes::new(&redis);
    let (a, b) = (nodes.start().await, nodes.start().await);
    let (mut v, mut c, mut v_chat, mut c_chat, _conv, _token) = cross_node_pair(&a, &b).await;
    redis.pause();
    tokio::time::sleep(Duration::from_secs(7)).await;
    redis.resume();
    // Past the grace: a claim would have been made by now, and told to both sides.
    tokio::time::sleep(Duration::from_secs(8)).await;
    visitor_says(&mut v, &mut v_chat, "still here").await;
    assert_eq!(
        receive_all(&mut c, &mut c_chat, 1).await,
        vec![text("still here")]
    );
    counsellor_says(&mut c, &mut c_chat, "so am I").await;
    assert_eq!(
        receive_all(&mut v, &mut v_chat, 1).await,
        vec![text("so am I")]
    );
}

/// The visitor's node dies with the visitor gone for good: nobody renews the chat's lease,
/// so once the resume window has passed the counsellor's node claims it, ends it
/// (`ended{visitor_left}` to the console) and deletes it — within seconds, nothing of the
/// chat waits out its time-to-live in Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_nodes_lapsed_chat_is_ended_and_deleted_within_seconds() {
    let redis = RedisServer::start();
    let nodes = Nodes::new(&redis);
    let a = nodes.start_with_resume_window(2).await;
    let b = nodes.start_with_resume_window(2).await;
    let (v, mut c, mut v_chat, mut c_chat, conv, _token) = cross_node_pair(&a, &b).await;
    counsellor_says(&mut c, &mut c_chat, "one").await;
    drop((v, &mut v_chat));
    a.stop().await;
    match next(&mut c).await {
        ServerFrame::Peer { state, .. } => assert_eq!(state, lyt::protocol::PeerState::Away),
        other => panic!("expected peer away, got {other:?}"),
    }
    assert_eq!(ended(&mut c).await, "visitor_left");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while !keys_of(&redis, conv).await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "keys of the ended chat stay: {:?}",
            keys_of(&redis, conv).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
