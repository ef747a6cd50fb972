//! Shared harness of the integration tests: a real server on port 0 in demo mode (accounts in
//! a temporary demo directory), and clients that speak the real protocol over real sockets.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use lyt::client::e2e::{Chat, CounsellorIdentity, Shift, VisitorHandshake};
use lyt::client::{ConnectOptions, LoginSession, WsClient};
use lyt::crypto::AppMessage;
use lyt::protocol::{Bundle, ConvId, CounsellorFrame, ServerFrame, Skills, VisitorFrame};
use lyt::{Config, Server};

#[path = "../support/redis_server.rs"]
pub mod redis_server;

/// How long a test waits for any one frame.
pub const WAIT: Duration = Duration::from_secs(5);

/// Where a test's relay keeps its state. The behaviour suites run every test on each
/// (`on_every_backend!`), written once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An in-process `MemoryStore`, `lyt serve`'s default.
    Memory,
    /// The store engine over a real `redis-server` started for the test on a free port.
    Redis,
}

/// Runs each named `async fn(Backend)` as a test on every backend: `memory::name`,
/// `redis::name`.
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test] async fn $name() { super::$name($crate::common::Backend::Memory).await })*
        }
        mod redis {
            $(#[tokio::test] async fn $name() { super::$name($crate::common::Backend::Redis).await })*
        }
    };
}

/// A running server and what clients need to reach it.
pub struct TestServer {
    pub server: Server,
    pub http: String,
    pub ws: String,
    pub origin: String,
    pub demo: lyt::demo::Demo,
    pub backend: Backend,
    _dir: tempfile::TempDir,
    /// The test's own `redis-server` (backend `Redis`), stopped with the server.
    _redis: Option<redis_server::RedisServer>,
    /// The relay's clock when the test moves it (`start_virtual`).
    pub clock: Option<lyt::clock::VirtualClock>,
}

/// Starts a demo-mode server on port 0, after `tweak` adjusts its configuration.
pub async fn start(tweak: impl FnOnce(&mut Config)) -> TestServer {
    start_on(Backend::Memory, tweak).await
}

/// Starts a demo-mode server on port 0 keeping its state on `backend` (with its own
/// `redis-server` for `Redis`), after `tweak` adjusts its configuration.
pub async fn start_on(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestServer {
    start_on_clock(backend, lyt::clock::Clock::System, tweak).await
}

/// Like `start_on`, with the relay on a virtual clock that only `TestServer::pass` moves: a
/// test of a deadline lets the time pass, it never sleeps.
pub async fn start_virtual(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestServer {
    let (clock, handle) = lyt::clock::Clock::virtual_clock();
    let mut ts = start_on_clock(backend, clock, tweak).await;
    ts.clock = Some(handle);
    ts
}

async fn start_on_clock(
    backend: Backend,
    clock: lyt::clock::Clock,
    tweak: impl FnOnce(&mut Config),
) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let demo_dir = dir.path().join("lyt-demo");
    let redis = (backend == Backend::Redis).then(redis_server::RedisServer::start);
    let url = redis.as_ref().map(redis_server::RedisServer::url);
    let mut ts = start_in_on_clock(dir, demo_dir, clock, move |c| {
        if backend == Backend::Redis {
            c.redis.url = url.map(lyt::config::Secret::new);
        }
        tweak(c);
    })
    .await;
    ts.backend = backend;
    ts._redis = redis;
    ts
}

/// Starts a demo-mode server on port 0 with the demo directory `demo_dir` (several nodes of
/// one service share it: one org root, the same accounts).
pub async fn start_in(
    dir: tempfile::TempDir,
    demo_dir: std::path::PathBuf,
    tweak: impl FnOnce(&mut Config),
) -> TestServer {
    start_in_on_clock(dir, demo_dir, lyt::clock::Clock::System, tweak).await
}

async fn start_in_on_clock(
    dir: tempfile::TempDir,
    demo_dir: std::path::PathBuf,
    clock: lyt::clock::Clock,
    tweak: impl FnOnce(&mut Config),
) -> TestServer {
    let mut config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        internal: "127.0.0.1:0".parse().unwrap(),
        demo: true,
        demo_dir,
        ..Config::default()
    };
    tweak(&mut config);
    let config_redis = config.redis.url.is_some();
    let demo = lyt::demo::provision(&mut config).unwrap();
    let server = Server::start_on_clock(config, clock).await.unwrap();
    let port = server.public_addr.port();
    TestServer {
        http: format!("http://127.0.0.1:{port}"),
        ws: format!("ws://127.0.0.1:{port}"),
        origin: format!("http://127.0.0.1:{port}"),
        server,
        demo,
        backend: if config_redis {
            Backend::Redis
        } else {
            Backend::Memory
        },
        _dir: dir,
        _redis: None,
        clock: None,
    }
}

impl TestServer {
    /// Lets `d` of virtual time pass for the relay (`start_virtual`), in steps the relay sweeps
    /// one by one.
    pub async fn pass(&self, d: Duration) {
        self.clock
            .as_ref()
            .expect("a server started with start_virtual")
            .pass(d)
            .await
            .unwrap();
    }

    /// Connection options of a browser on the demo page.
    pub fn opts(&self) -> ConnectOptions {
        ConnectOptions {
            origin: Some(self.origin.clone()),
            ..ConnectOptions::default()
        }
    }

    /// A visitor connection, past the server's `hello`.
    pub async fn visitor(&self) -> WsClient {
        let mut v = WsClient::connect(&format!("{}/v1/visitor", self.ws), &self.opts())
            .await
            .unwrap();
        assert!(matches!(
            v.frame(WAIT).await.unwrap(),
            ServerFrame::Hello { v: 1, .. }
        ));
        v
    }

    /// A logged-in session of demo account `username`.
    pub async fn login(&self, username: &str) -> LoginSession {
        let account = self
            .demo
            .accounts
            .iter()
            .find(|a| a.username == username)
            .unwrap();
        lyt::client::login(&self.http, Some(&self.origin), username, &account.password)
            .await
            .unwrap()
    }

    /// A new shift of demo account `username`, made with its demo identity key.
    pub fn shift(&self, username: &str) -> Shift {
        let (key, cert) = lyt::demo::identity(&self.demo.dir, username).unwrap();
        CounsellorIdentity::new(key, cert)
            .start_shift(now())
            .unwrap()
    }

    /// An authenticated counsellor connection, past `hello` and `welcome`, not yet on duty.
    pub async fn counsellor_connected(&self, username: &str) -> WsClient {
        self.counsellor_connected_with(username, &self.opts()).await
    }

    /// As `counsellor_connected`, with connection options.
    pub async fn counsellor_connected_with(
        &self,
        username: &str,
        opts: &ConnectOptions,
    ) -> WsClient {
        let ticket = self.login(username).await.ticket().await.unwrap();
        let mut c = WsClient::connect(&format!("{}/v1/counsellor", self.ws), opts)
            .await
            .unwrap();
        assert!(matches!(
            c.frame(WAIT).await.unwrap(),
            ServerFrame::Hello { .. }
        ));
        c.send(&CounsellorFrame::Auth { ticket }).await.unwrap();
        assert!(matches!(
            c.frame(WAIT).await.unwrap(),
            ServerFrame::Welcome { .. }
        ));
        assert!(
            matches!(c.frame(WAIT).await.unwrap(), ServerFrame::Callbacks { .. }),
            "the callback list follows welcome"
        );
        c
    }

    /// A counsellor on duty for Danish and English, every topic, with `capacity` and a
    /// fresh shift.
    pub async fn counsellor(&self, username: &str, capacity: u32) -> Counsellor {
        let mut ws = self.counsellor_connected(username).await;
        let shift = self.shift(username);
        ws.send(&duty(capacity, shift.bundle().clone()))
            .await
            .unwrap();
        Counsellor { ws, shift }
    }

    /// Shuts the server down and waits for it; the demo directory is kept (returned) so a
    /// new server can start on it.
    pub async fn stop(self) -> tempfile::TempDir {
        self.server.shutdown();
        self.server.wait().await;
        self._dir
    }

    /// Waits until the relay holds `n` visitor connections (a closed one counts until the
    /// relay has handled its close): before letting virtual time pass over a visitor who left.
    pub async fn until_visitors_here(&self, n: usize) {
        let engine = self.server.relay().engine();
        tokio::time::timeout(WAIT, async {
            while engine.visitors_here() != n {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the relay handles the close");
    }

    /// How many conversations the relay holds in any phase.
    pub async fn conversations(&self) -> usize {
        self.server.relay().conversation_count().await
    }

    /// The conversations waiting in a queue (offered ones included), in no order.
    pub async fn waiting_conversations(&self) -> Vec<ConvId> {
        self.server.relay().waiting_conversations().await
    }
}

/// A counsellor connection on duty and its shift keys; derefs to the socket.
pub struct Counsellor {
    pub ws: WsClient,
    pub shift: Shift,
}

impl std::ops::Deref for Counsellor {
    type Target = WsClient;
    fn deref(&self) -> &WsClient {
        &self.ws
    }
}

impl std::ops::DerefMut for Counsellor {
    fn deref_mut(&mut self) -> &mut WsClient {
        &mut self.ws
    }
}

/// Now, in Unix seconds.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A bundle of garbage bytes, for frames that must be refused before it matters.
pub fn junk_bundle() -> Bundle {
    Bundle {
        id_cert: b"identity certificate".to_vec(),
        shift_cert: b"shift certificate".to_vec(),
    }
}

/// The `duty` frame of a counsellor serving da and en, any topic.
pub fn duty(capacity: u32, bundle: Bundle) -> CounsellorFrame {
    CounsellorFrame::Duty {
        on: true,
        skills: Some(Skills {
            langs: vec!["da".parse().unwrap(), "en".parse().unwrap()],
            topics: vec!["any".parse().unwrap()],
        }),
        capacity: Some(capacity),
        bundle: Some(bundle),
    }
}

/// Sends `join` and returns the first `queued` frame's position.
pub async fn join(v: &mut WsClient, queue: &str) -> u32 {
    join_with_token(v, queue).await.0
}

/// Sends `join` and returns the first `queued` frame's position and resume token.
pub async fn join_with_token(v: &mut WsClient, queue: &str) -> (u32, String) {
    v.send_text(format!(r#"{{"t":"join","queue":"{queue}"}}"#))
        .await
        .unwrap();
    match v.frame(WAIT).await.unwrap() {
        ServerFrame::Queued {
            position, resume, ..
        } => {
            assert!(resume.len() >= 40, "resume token too short");
            (position, resume)
        }
        other => panic!("expected queued, got {other:?}"),
    }
}

/// Asserts that no frame arrives on `c` for `ms`.
pub async fn no_frame_for(c: &mut WsClient, ms: u64) {
    let got = tokio::time::timeout(Duration::from_millis(ms), c.frame(WAIT)).await;
    assert!(got.is_err(), "unexpected {got:?}");
}

/// The next `data` frame's counter and payload, past the relay's `stored` acknowledgments
/// of what this client sent.
pub async fn next_data(ws: &mut WsClient) -> (u64, lyt::protocol::Blob) {
    loop {
        match ws.frame(WAIT).await.unwrap() {
            ServerFrame::Data { n, m, .. } => return (n, m),
            ServerFrame::Stored { .. } => {}
            other => panic!("expected data, got {other:?}"),
        }
    }
}

/// The next frame that is not a `queued` position update.
pub async fn next_frame(ws: &mut WsClient) -> ServerFrame {
    loop {
        match ws.frame(WAIT).await.unwrap() {
            ServerFrame::Queued { .. } => {}
            f => return f,
        }
    }
}

/// Waits for an offer and returns its conversation.
pub async fn offer(c: &mut WsClient) -> ConvId {
    match c.frame(WAIT).await.unwrap() {
        ServerFrame::Offer { conv, .. } => conv,
        other => panic!("expected offer, got {other:?}"),
    }
}

/// Waits for `assigned` and returns the conversation.
pub async fn assigned(v: &mut WsClient) -> ConvId {
    match v.frame(WAIT).await.unwrap() {
        ServerFrame::Assigned { conv, .. } => conv,
        other => panic!("expected assigned, got {other:?}"),
    }
}

/// Waits for `ended` (past the relay's `stored` acknowledgments) and returns its reason.
pub async fn ended(c: &mut WsClient) -> String {
    loop {
        match c.frame(WAIT).await.unwrap() {
            ServerFrame::Ended { reason, .. } => return reason.to_string(),
            ServerFrame::Stored { .. } => {}
            other => panic!("expected ended, got {other:?}"),
        }
    }
}

/// Waits for an error frame and returns its code.
pub async fn error_code(c: &mut WsClient) -> lyt::protocol::ErrorCode {
    match c.frame(WAIT).await.unwrap() {
        ServerFrame::Error { code, .. } => code,
        other => panic!("expected error, got {other:?}"),
    }
}

/// A visitor and a counsellor in a live conversation (the visitor joined `da/exit`).
pub async fn live_pair(ts: &TestServer, counsellor: &str) -> (WsClient, Counsellor, ConvId) {
    let mut c = ts.counsellor(counsellor, 1).await;
    let mut v = ts.visitor().await;
    join(&mut v, "da/exit").await;
    let conv = offer(&mut c).await;
    c.send(&CounsellorFrame::Accept { conv }).await.unwrap();
    assert_eq!(assigned(&mut v).await, conv);
    (v, c, conv)
}

/// A visitor and a counsellor who completed the handshake through the relay and confirmed
/// it with `hello`: returns both sockets and both ends of the encrypted chat.
pub async fn encrypted_pair(
    ts: &TestServer,
    counsellor: &str,
) -> (WsClient, Counsellor, Chat, Chat) {
    let mut c = ts.counsellor(counsellor, 1).await;
    let mut v = ts.visitor().await;
    join(&mut v, "da/exit").await;
    let conv = offer(&mut c).await;
    c.send(&CounsellorFrame::Accept { conv }).await.unwrap();
    let ServerFrame::Assigned { bundle, alias, .. } = v.frame(WAIT).await.unwrap() else {
        panic!("expected assigned");
    };
    let (handshake, m) =
        VisitorHandshake::start(&ts.demo.org_root_pub, conv, &bundle, now()).unwrap();
    assert_eq!(
        handshake.alias(),
        alias,
        "the relayed alias is the certified one"
    );
    v.send(&VisitorFrame::Hs1 { conv, m }).await.unwrap();
    let ServerFrame::Hs1 { m, .. } = c.frame(WAIT).await.unwrap() else {
        panic!("expected hs1")
    };
    let (mut c_chat, m) = c.shift.accept(conv, &m).unwrap();
    c.send(&CounsellorFrame::Hs2 { conv, m }).await.unwrap();
    let ServerFrame::Hs2 { m, .. } = v.frame(WAIT).await.unwrap() else {
        panic!("expected hs2")
    };
    let mut v_chat = handshake.finish(&m).unwrap();
    let (n, m) = v_chat.seal(&AppMessage::Hello {}).unwrap();
    v.send(&VisitorFrame::Data { conv, n, m }).await.unwrap();
    let ServerFrame::Data { n, m, .. } = c.frame(WAIT).await.unwrap() else {
        panic!("expected data")
    };
    assert_eq!(c_chat.open(n, &m).unwrap(), Some(AppMessage::Hello {}));
    assert_eq!(v_chat.safety_code(), c_chat.safety_code());
    (v, c, v_chat, c_chat)
}
