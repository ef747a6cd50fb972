//! Three `lyt serve --redis` processes and one `redis-server` on loopback, as an operator
//! runs them: a visitor on node A chats with a counsellor on node B; node A is killed
//! (SIGKILL: no goodbye to anyone); the visitor resumes on node C and every message arrives
//! exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/redis_server.rs"]
mod redis_server;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lyt::client::e2e::{Chat, CounsellorIdentity, VisitorHandshake};
use lyt::client::{ConnectOptions, WsClient};
use lyt::crypto::AppMessage;
use lyt::protocol::{CounsellorFrame, ServerFrame, Skills, VisitorFrame};
use redis_server::RedisServer;

const LYT: &str = env!("CARGO_BIN_EXE_lyt");
const WAIT: Duration = Duration::from_secs(10);

/// One `lyt serve` process.
struct Node {
    child: Child,
    http: String,
    ws: String,
}

impl Node {
    /// Starts a node in `dir` (shared demo directory) on Redis `url`, and waits until it
    /// prints its address.
    fn start(dir: &std::path::Path, url: &str) -> Self {
        let mut child = Command::new(LYT)
            .current_dir(dir)
            .env_remove("LYT_CONFIG")
            .env_remove("LYT_DEMO")
            .env("LYT_REDIS__URL", url)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--internal",
                "127.0.0.1:0",
                "--no-demo-bot",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = loop {
            assert!(Instant::now() < deadline, "lyt did not start");
            let line = lines.next().expect("lyt exited").unwrap();
            if let Some(a) = line
                .strip_prefix("lyt listening on http://")
                .and_then(|l| l.strip_suffix(" (public)"))
            {
                break a.to_owned();
            }
        };
        // Keep reading so the process never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self {
            child,
            http: format!("http://{addr}"),
            ws: format!("ws://{addr}"),
        }
    }

    fn opts(&self) -> ConnectOptions {
        ConnectOptions {
            origin: Some(self.http.clone()),
            ..ConnectOptions::default()
        }
    }

    async fn visitor(&self) -> WsClient {
        let mut v = WsClient::connect(&format!("{}/v1/visitor", self.ws), &self.opts())
            .await
            .unwrap();
        assert!(matches!(
            v.frame(WAIT).await.unwrap(),
            ServerFrame::Hello { .. }
        ));
        v
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) the process.
    fn signal(&self, which: &str) {
        let status = Command::new("kill")
            .args([which, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        if which == "-STOP" {
            self.until_stopped();
        }
    }

    /// Waits until every thread of the process is stopped: `kill` returns when the signal is
    /// sent, and a thread still running could take a frame the test writes next.
    fn until_stopped(&self) {
        let tasks = format!("/proc/{}/task", self.child.id());
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let stopped = std::fs::read_dir(&tasks).unwrap().flatten().all(|t| {
                match std::fs::read_to_string(t.path().join("stat")) {
                    // A thread that ended meanwhile counts as stopped.
                    Err(_) => true,
                    // The state follows the command name, which is in parentheses.
                    Ok(stat) => matches!(
                        stat.rsplit_once(") ").map(|(_, rest)| rest.as_bytes()[0]),
                        Some(b'T' | b't')
                    ),
                }
            });
            if stopped {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the node did not stop"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits for the next frame that is not `queued` (positions arrive from every tick).
async fn next(ws: &mut WsClient) -> ServerFrame {
    loop {
        match ws.frame(WAIT).await.unwrap() {
            ServerFrame::Queued { .. } | ServerFrame::Callbacks { .. } => {}
            f => return f,
        }
    }
}

fn text(body: &str) -> AppMessage {
    AppMessage::Text {
        body: body.into(),
        ts: 0,
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_loses_no_message() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    // The first node provisions the shared demo directory; the others reuse it.
    let mut a = Node::start(dir.path(), &redis.url());
    let b = Node::start(dir.path(), &redis.url());
    let c_node = Node::start(dir.path(), &redis.url());
    let mut config = lyt::Config {
        demo: true,
        demo_dir: dir.path().join("lyt-demo"),
        ..lyt::Config::default()
    };
    let demo = lyt::demo::provision(&mut config).unwrap();

    // The counsellor on node B, the visitor on node A.
    let (mut c, shift) = counsellor_on(&b, &demo, "maja").await;
    let mut v = a.visitor().await;
    v.send_text(r#"{"t":"join","queue":"da/exit"}"#.to_owned())
        .await
        .unwrap();
    let token = match v.frame(WAIT).await.unwrap() {
        ServerFrame::Queued { resume, .. } => resume,
        other => panic!("expected queued, got {other:?}"),
    };
    let (conv, mut v_chat, mut c_chat) =
        accept_and_handshake(&mut v, &mut c, &shift, &demo.org_root_pub).await;
    let say = |chat: &mut Chat, body: &str| chat.seal(&text(body)).unwrap();

    // Node A dies with the visitor's socket; the counsellor keeps writing.
    a.kill();
    drop(v);
    for body in ["one", "two", "three"] {
        let (n, m) = say(&mut c_chat, body);
        c.send(&CounsellorFrame::Data { conv, n, m }).await.unwrap();
    }

    // The visitor resumes on node C: each message once, in order.
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
    while got.len() < 3 {
        match next(&mut v).await {
            ServerFrame::Data { n, m, .. } => {
                if let Some(msg) = v_chat.open(n, &m).unwrap() {
                    got.push(msg);
                }
            }
            other => panic!("expected data, got {other:?}"),
        }
    }
    assert_eq!(got, vec![text("one"), text("two"), text("three")]);
    assert!(
        matches!(next(&mut c).await, ServerFrame::Peer { state, .. } if state == lyt::protocol::PeerState::Back)
    );
    let (n, m) = say(&mut v_chat, "hello from C");
    v.send(&VisitorFrame::Data { conv, n, m }).await.unwrap();
    let ServerFrame::Data { n, m, .. } = next(&mut c).await else {
        panic!("expected data")
    };
    assert_eq!(c_chat.open(n, &m).unwrap(), Some(text("hello from C")));
    assert!(
        v.frame(Duration::from_millis(800)).await.is_err(),
        "nothing more, in particular no duplicate"
    );
}

/// A counsellor of demo account `username` on `node`, on duty for da/exit with capacity 1.
async fn counsellor_on(
    node: &Node,
    demo: &lyt::demo::Demo,
    username: &str,
) -> (WsClient, lyt::client::e2e::Shift) {
    let password = &demo
        .accounts
        .iter()
        .find(|x| x.username == username)
        .unwrap()
        .password;
    let session = lyt::client::login(&node.http, Some(&node.http), username, password)
        .await
        .unwrap();
    let ticket = session.ticket().await.unwrap();
    let mut c = WsClient::connect(&format!("{}/v1/counsellor", node.ws), &node.opts())
        .await
        .unwrap();
    assert!(matches!(
        c.frame(WAIT).await.unwrap(),
        ServerFrame::Hello { .. }
    ));
    c.send(&CounsellorFrame::Auth { ticket }).await.unwrap();
    assert!(matches!(next(&mut c).await, ServerFrame::Welcome { .. }));
    let (key, cert) = lyt::demo::identity(&demo.dir, username).unwrap();
    let shift = CounsellorIdentity::new(key, cert)
        .start_shift(now())
        .unwrap();
    c.send(&CounsellorFrame::Duty {
        on: true,
        skills: Some(Skills {
            langs: vec!["da".parse().unwrap()],
            topics: vec!["exit".parse().unwrap()],
        }),
        capacity: Some(1),
        bundle: Some(shift.bundle().clone()),
    })
    .await
    .unwrap();
    (c, shift)
}

/// The counsellor accepts the visitor's offer and both complete the handshake and the
/// visitor's `hello`: the two ends of the session.
async fn accept_and_handshake(
    v: &mut WsClient,
    c: &mut WsClient,
    shift: &lyt::client::e2e::Shift,
    org_root: &[u8; 32],
) -> (lyt::protocol::ConvId, Chat, Chat) {
    let conv = match next(c).await {
        ServerFrame::Offer { conv, .. } => conv,
        other => panic!("expected offer, got {other:?}"),
    };
    c.send(&CounsellorFrame::Accept { conv }).await.unwrap();
    let bundle = match next(v).await {
        ServerFrame::Assigned { bundle, .. } => bundle,
        other => panic!("expected assigned, got {other:?}"),
    };
    let (hs, m) = VisitorHandshake::start(org_root, conv, &bundle, now()).unwrap();
    v.send(&VisitorFrame::Hs1 { conv, m }).await.unwrap();
    let ServerFrame::Hs1 { m, .. } = next(c).await else {
        panic!("expected hs1")
    };
    let (mut c_chat, m) = shift.accept(conv, &m).unwrap();
    c.send(&CounsellorFrame::Hs2 { conv, m }).await.unwrap();
    let ServerFrame::Hs2 { m, .. } = next(v).await else {
        panic!("expected hs2")
    };
    let mut v_chat = hs.finish(&m).unwrap();
    let (n, m) = v_chat.seal(&AppMessage::Hello {}).unwrap();
    v.send(&VisitorFrame::Data { conv, n, m }).await.unwrap();
    let ServerFrame::Data { n, m, .. } = next(c).await else {
        panic!("expected data")
    };
    assert_eq!(c_chat.open(n, &m).unwrap(), Some(AppMessage::Hello {}));
    (conv, v_chat, c_chat)
}

/// The counsellor's node is frozen (SIGSTOP) for 10 s while its counsellor writes: after
/// the presence TTL another node puts the visitor back in the queue and a colleague on a
/// third node takes the chat under a new handshake. When the frozen node thaws, the store
/// fences it: nothing it relays reaches the visitor (no crypto failure, no stray frame), and
/// its counsellor's console is told the chat was `reassigned`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_node_is_fenced() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let a = Node::start(dir.path(), &redis.url());
    let b = Node::start(dir.path(), &redis.url());
    let c_node = Node::start(dir.path(), &redis.url());
    let mut config = lyt::Config {
        demo: true,
        demo_dir: dir.path().join("lyt-demo"),
        ..lyt::Config::default()
    };
    let demo = lyt::demo::provision(&mut config).unwrap();
    let (mut maja, maja_shift) = counsellor_on(&b, &demo, "maja").await;
    let mut v = a.visitor().await;
    v.send_text(r#"{"t":"join","queue":"da/exit"}"#.to_owned())
        .await
        .unwrap();
    let (conv, v_chat, mut maja_chat) =
        accept_and_handshake(&mut v, &mut maja, &maja_shift, &demo.org_root_pub).await;

    b.signal("-STOP");
    // Written into the frozen node's socket: they must never reach the visitor.
    for body in ["stale one", "stale two"] {
        let (n, m) = maja_chat.seal(&text(body)).unwrap();
        maja.send(&CounsellorFrame::Data { conv, n, m })
            .await
            .unwrap();
    }
    // Past the presence TTL (6 s) the visitor is back at the front of the queue; a
    // colleague on node C takes the chat under a new session.
    let (mut ali, ali_shift) = counsellor_on(&c_node, &demo, "ali").await;
    let (conv2, mut v_chat2, mut ali_chat) =
        accept_and_handshake(&mut v, &mut ali, &ali_shift, &demo.org_root_pub).await;
    assert_eq!(conv2, conv, "the same conversation, a new epoch");
    drop(v_chat);

    tokio::time::sleep(Duration::from_secs(4)).await;
    b.signal("-CONT");
    loop {
        match maja.frame(WAIT).await.unwrap() {
            ServerFrame::Ended { conv: got, reason } => {
                assert_eq!(got, conv);
                assert_eq!(reason, lyt::protocol::EndReason::Reassigned);
                break;
            }
            ServerFrame::Error { .. } | ServerFrame::Queued { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    // The chat goes on with Ali; the visitor receives only Ali's messages.
    let (n, m) = ali_chat.seal(&text("hello from Ali")).unwrap();
    ali.send(&CounsellorFrame::Data { conv, n, m })
        .await
        .unwrap();
    let ServerFrame::Data { n, m, .. } = next(&mut v).await else {
        panic!("expected data")
    };
    assert_eq!(v_chat2.open(n, &m).unwrap(), Some(text("hello from Ali")));
    let (n, m) = v_chat2.seal(&text("thanks")).unwrap();
    v.send(&VisitorFrame::Data { conv, n, m }).await.unwrap();
    let ServerFrame::Data { n, m, .. } = next(&mut ali).await else {
        panic!("expected data")
    };
    assert_eq!(ali_chat.open(n, &m).unwrap(), Some(text("thanks")));
    assert!(
        v.frame(Duration::from_millis(800)).await.is_err(),
        "nothing from the frozen node"
    );
}
