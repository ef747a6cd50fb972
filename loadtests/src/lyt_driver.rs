//! Simulated lyt clients: a visitor and a counsellor per chat, speaking the real protocol
//! with the real crypto of `lyt::client` — bundle verification, the Noise NK handshake,
//! padded and encrypted messages, acks, resume, reclaim after a counsellor reconnects.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lyt::client::e2e::{Chat, CounsellorIdentity, VisitorHandshake};
use lyt::client::outbox::Outbox;
use lyt::client::{ClientError, ConnectOptions, Incoming, LoginSession, WsClient};
use lyt::crypto::AppMessage;
use lyt::protocol::{ConvId, CounsellorFrame, ServerFrame, Skills, VisitorFrame};
use tokio::time::sleep_until;

use crate::run::{Fail, Shared};
use crate::scenario::Kind;
use crate::schedule::{self, Schedule, SeqTracker};

/// A demo counsellor account as one generator process uses it: logged in once, a ticket per
/// connection.
pub struct Account {
    username: String,
    password: String,
    /// The node this account is logged in on, and its session there.
    staff: tokio::sync::RwLock<(u32, Arc<LoginSession>)>,
    identity: CounsellorIdentity,
}

impl Account {
    /// The node the account is logged in on and its session.
    async fn staff(&self) -> (u32, Arc<LoginSession>) {
        let s = self.staff.read().await;
        (s.0, Arc::clone(&s.1))
    }

    /// The account's node `from` went away: logs in on the next node with another address
    /// (staff sessions live in the node that issued them), unless another connection of the
    /// account already did.
    async fn fail_over(&self, sh: &Shared, from: u32) -> Result<(), Fail> {
        let mut s = self.staff.write().await;
        if s.0 != from {
            return Ok(());
        }
        let gone = sh.sc.node(from).to_owned();
        let count = u32::try_from(sh.sc.nodes.len()).unwrap_or(u32::MAX);
        for i in 1..count {
            let node = (from + i) % count;
            let base = sh.sc.node(node);
            if base == gone {
                continue;
            }
            if let Ok(session) =
                lyt::client::login(base, Some(base), &self.username, &self.password).await
            {
                *s = (node, Arc::new(session));
                return Ok(());
            }
        }
        Err(Fail("login_elsewhere".into()))
    }
}

/// What the lyt clients of a process share: the accounts and the pinned org root.
pub struct LytCtx {
    accounts: Vec<Account>,
    org_root: [u8; 32],
    /// The counsellor's side of chats whose counsellor connection dropped, until a
    /// connection of the same account takes them back (any one: the relay gives an
    /// account's parked chats to whichever of its connections goes on duty first).
    parked: std::sync::Mutex<HashMap<ConvId, Side>>,
}

impl From<ClientError> for Fail {
    fn from(e: ClientError) -> Self {
        Fail(match e {
            ClientError::Timeout => "timeout".into(),
            ClientError::Closed(Some((code, _))) => format!("closed_{code}"),
            ClientError::Closed(None) => "closed".into(),
            ClientError::Ws(_) => "websocket".into(),
            ClientError::Io(_) => "connect".into(),
            ClientError::Http(_) => "http".into(),
            ClientError::Refused { status, .. } => format!("http_{status}"),
            ClientError::Unexpected(_) => "unexpected_frame".into(),
        })
    }
}

impl From<lyt::client::e2e::E2eError> for Fail {
    fn from(_: lyt::client::e2e::E2eError) -> Self {
        Fail("crypto".into())
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl LytCtx {
    /// Logs in to each account named by the scenario, on the staff node (see
    /// `STAFF_NODE`).
    pub async fn new(sh: &Shared) -> anyhow::Result<Self> {
        let dir = &sh.sc.demo_dir;
        let all = lyt::demo::read_accounts(dir)?;
        let org_root = lyt::demo::org_root_pub(dir)?;
        let base = sh.sc.node(STAFF_NODE);
        let mut accounts = Vec::new();
        for name in &sh.sc.accounts {
            let a = all
                .iter()
                .find(|a| &a.username == name)
                .ok_or_else(|| anyhow::anyhow!("no demo account `{name}` in {}", dir.display()))?;
            let session = lyt::client::login(base, Some(base), &a.username, &a.password)
                .await
                .map_err(|e| anyhow::anyhow!("login as {name}: {e}"))?;
            let (key, cert) = lyt::demo::identity(dir, name)?;
            accounts.push(Account {
                username: a.username.clone(),
                password: a.password.clone(),
                staff: tokio::sync::RwLock::new((STAFF_NODE, Arc::new(session))),
                identity: CounsellorIdentity::new(key, cert),
            });
        }
        Ok(Self {
            accounts,
            org_root,
            parked: std::sync::Mutex::default(),
        })
    }
}

fn ws_url(base: &str, path: &str) -> String {
    format!("{}{path}", base.replacen("http", "ws", 1))
}

/// Counsellors log in and connect on one node, as lyt's staff routes are pinned (sessions
/// and WebSocket tickets live in the node that issued them): the node of connection 1.
/// Visitors (even connections) alternate over the nodes, so with two nodes every chat's
/// ends are on different nodes.
const STAFF_NODE: u32 = 1;

/// Connects visitor connection `k` and waits for the server's `hello`.
async fn connect(sh: &Shared, k: u32, path: &str) -> Result<WsClient, Fail> {
    connect_at(sh, sh.sc.node(k), k, path).await
}

/// Connects connection `k` to `base` and waits for the server's `hello`, recording the
/// set-up time.
async fn connect_at(sh: &Shared, base: &str, k: u32, path: &str) -> Result<WsClient, Fail> {
    let opts = ConnectOptions {
        origin: Some(base.to_owned()),
        source: sh.source(k),
        ..ConnectOptions::default()
    };
    let started = Instant::now();
    let mut ws = tokio::time::timeout(sh.step, WsClient::connect(&ws_url(base, path), &opts))
        .await
        .map_err(|_| Fail("timeout".into()))??;
    match ws.frame(sh.step).await? {
        ServerFrame::Hello { .. } => {}
        _ => return Err(Fail("unexpected_frame".into())),
    }
    sh.rec.connected(sh.sec(), micros(started.elapsed()));
    Ok(ws)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// One side's outgoing messages: the schedule and how many went out.
struct Sender {
    sched: Schedule,
    k: u64,
}

impl Sender {
    fn new(sh: &Shared) -> Self {
        let interval = sh.interval;
        let phase = interval.mul_f64(rand::random::<f64>());
        Self {
            sched: Schedule::new(Instant::now(), phase, interval),
            k: 0,
        }
    }

    /// When the next message is due, if before the end of sending.
    fn next(&self, sh: &Shared) -> Option<Instant> {
        let due = self.sched.due(self.k);
        (due < sh.send_end).then_some(due)
    }

    /// The texts of every message due by now, each stamped with its own due time.
    fn due_texts(&mut self, sh: &Shared) -> Vec<String> {
        let now = Instant::now();
        let mut out = Vec::new();
        while self.k < self.sched.due_by(now) {
            let due = self.sched.due(self.k);
            if due >= sh.send_end {
                break;
            }
            out.push(schedule::encode(self.k, sh.clock.ns(due), sh.sc.msg_bytes));
            self.k += 1;
        }
        out
    }
}

/// What one side of a chat keeps across sessions when the peer may drop and come back under
/// a new handshake (`counsellors_drop`, `carry`), as the widget and the console do: the texts the peer
/// has not confirmed with `read`, carried into the next session and sent first there.
#[derive(Debug, Default)]
struct Carry {
    /// Texts of this session the peer has not read: (counter, text).
    unread: Vec<(u64, String)>,
    /// Texts of an ended session, to send first in the next.
    carried: Vec<String>,
    /// Sequence numbers below this arrived in an earlier session: one that comes again was
    /// carried by a peer that never saw our `read`, and is dropped.
    floor: u64,
}

impl Carry {
    /// The peer read everything up to counter `upto` of this session.
    fn read(&mut self, upto: u64) {
        self.unread.retain(|(n, _)| *n > upto);
    }

    /// The session ended: what the peer did not read goes into the next.
    fn new_session(&mut self, tracker: &SeqTracker) {
        self.carried
            .extend(self.unread.drain(..).map(|(_, body)| body));
        self.floor = tracker.expected();
    }
}

/// Reads a received text: latency and sequence. With `carry`, a text received in an earlier
/// session that comes again is dropped (it was carried), not counted as a duplicate.
fn on_text(sh: &Shared, tracker: &mut SeqTracker, body: &str, carry: Option<&Carry>) {
    let Some((seq, due_ns)) = schedule::decode(body) else {
        sh.rec.error("bad_stamp");
        return;
    };
    match tracker.record(seq) {
        schedule::Arrival::InOrder => {}
        schedule::Arrival::Duplicate if carry.is_some_and(|c| seq < c.floor) => return,
        schedule::Arrival::Duplicate => {
            sh.rec.duplicate();
            return;
        }
        schedule::Arrival::Gap(n) => sh.rec.gap(n),
    }
    let latency_ns = sh.clock.now_ns().saturating_sub(due_ns);
    sh.rec.received(sh.sec(), latency_ns / 1000);
}

/// Seals and sends `msg`: a visitor's frame goes through its outbox (kept until the relay
/// says it has it, and sent again after a resume). Returns its counter.
async fn send_app(
    ws: &mut WsClient,
    chat: &mut Chat,
    msg: &AppMessage,
    outbox: Option<&mut Outbox>,
) -> Result<u64, Fail> {
    let (n, m) = chat.seal(msg)?;
    let conv = chat.conv();
    if let Some(o) = outbox {
        o.sent(n, m.clone());
        ws.send(&VisitorFrame::Data { conv, n, m }).await?;
    } else {
        ws.send(&CounsellorFrame::Data { conv, n, m }).await?;
    }
    Ok(n)
}

/// Sends `texts`; `fresh` ones count as sent (carried ones were counted when first sent).
async fn send_texts(
    sh: &Shared,
    ws: &mut WsClient,
    chat: &mut Chat,
    texts: Vec<String>,
    mut outbox: Option<&mut Outbox>,
    mut carry: Option<&mut Carry>,
    fresh: bool,
) -> Result<(), Fail> {
    let mut texts = texts.into_iter();
    while let Some(body) = texts.next() {
        let msg = AppMessage::Text {
            body,
            ts: unix_now(),
        };
        let n = match send_app(ws, chat, &msg, outbox.as_deref_mut()).await {
            Ok(n) => n,
            Err(e) => {
                // The connection broke: when carrying, this text and the rest are unread,
                // to go in the next session in order; otherwise they were never sent.
                if let (Some(c), AppMessage::Text { body, .. }) = (carry, msg) {
                    for body in std::iter::once(body).chain(texts) {
                        c.unread.push((u64::MAX, body));
                        if fresh {
                            sh.rec.sent(sh.sec());
                        }
                    }
                }
                return Err(e);
            }
        };
        if let (Some(c), AppMessage::Text { body, .. }) = (carry.as_deref_mut(), msg) {
            c.unread.push((n, body));
        }
        if fresh {
            sh.rec.sent(sh.sec());
        }
    }
    Ok(())
}

/// Sleeps until `at`, or forever when there is nothing to wait for.
async fn until(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// A simulated visitor of chat `j`: connects, joins, verifies the bundle, handshakes, sends
/// on schedule and answers with acks; resumes after a reconnect storm.
pub async fn visitor(sh: Arc<Shared>, lc: Arc<LytCtx>, j: u32) -> Result<(), Fail> {
    let k = 2 * j;
    let mut ws = connect(&sh, k, "/v1/visitor").await?;
    let queue = sh.sc.queue.parse().map_err(|_| Fail("bad_queue".into()))?;
    ws.send(&VisitorFrame::Join { queue }).await?;
    let joined = Instant::now();
    let mut token: Option<String> = None;
    let mut hs: Option<VisitorHandshake> = None;
    let mut chat: Option<Chat> = None;
    let mut conv: Option<ConvId> = None;
    let mut upto: Option<u64> = None;
    let mut tracker = SeqTracker::default();
    let mut sender: Option<Sender> = None;
    let mut ready_once = false;
    let mut outbox = Outbox::new();
    let storming = sh.sc.kind == Kind::ReconnectStorm;
    let mut drops = 0;
    let mut storm = if storming { sh.drop_at(0, false) } else { None };
    // Only when the counsellor may come back under a new handshake.
    let mut carry = sh.sc.carries().then(Carry::default);
    loop {
        let next_send = match (&chat, &sender) {
            (Some(_), Some(s)) => s.next(&sh),
            _ => None,
        };
        tokio::select! {
            biased;
            () = sh.stop.cancelled() => {
                if sh.sc.leave_at_end {
                    // A visitor who is done: the chat ends, then the page closes.
                    let _ = ws.send(&VisitorFrame::Leave {}).await;
                    let _ = tokio::time::timeout(sh.step, ws.close()).await;
                }
                break;
            }
            f = ws.next() => {
                let f = match f {
                    Ok(Incoming::Frame(f)) => f,
                    Ok(Incoming::Closed(c)) => return Err(ClientError::Closed(c).into()),
                    Err(e) => return Err(e.into()),
                };
                match f {
                    ServerFrame::Queued { resume, .. } => token = Some(resume),
                    ServerFrame::Assigned { conv: c, bundle, .. } => {
                        let (h, m) = VisitorHandshake::start(&lc.org_root, c, &bundle, unix_now())?;
                        ws.send(&VisitorFrame::Hs1 { conv: c, m }).await?;
                        hs = Some(h);
                        chat = None;
                        conv = Some(c);
                        upto = None;
                        outbox.new_epoch(c);
                        if let Some(carry) = carry.as_mut() {
                            // The counsellor's side carries its count into the new session.
                            carry.new_session(&tracker);
                        } else {
                            // A new epoch may be a new counsellor connection, counting afresh.
                            tracker = SeqTracker::default();
                            tracker.accept_any_next();
                        }
                    }
                    ServerFrame::Hs2 { m, .. } => {
                        let Some(h) = hs.take() else {
                            return Err(Fail("unexpected_hs2".into()));
                        };
                        let mut c = h.finish(&m)?;
                        send_app(&mut ws, &mut c, &AppMessage::Hello {}, Some(&mut outbox)).await?;
                        if let Some(carry) = carry.as_mut() {
                            let texts = std::mem::take(&mut carry.carried);
                            send_texts(&sh, &mut ws, &mut c, texts, Some(&mut outbox), Some(carry), false).await?;
                        }
                        chat = Some(c);
                        if !ready_once {
                            ready_once = true;
                            sh.rec.chat_ready(micros(joined.elapsed()));
                            sender = Some(Sender::new(&sh));
                        }
                    }
                    ServerFrame::Data { conv: c, n, m } => {
                        let Some(ch) = chat.as_mut() else { continue };
                        match ch.open(n, &m)? {
                            Some(AppMessage::Text { body, .. }) => {
                                on_text(&sh, &mut tracker, &body, carry.as_ref());
                                if carry.is_some() {
                                    let read = AppMessage::Read { upto: n };
                                    send_app(&mut ws, ch, &read, Some(&mut outbox)).await?;
                                }
                            }
                            Some(AppMessage::Read { upto }) => {
                                if let Some(carry) = carry.as_mut() {
                                    carry.read(upto);
                                }
                            }
                            Some(_) => {}
                            None => continue,
                        }
                        upto = Some(n);
                        ws.send(&VisitorFrame::Ack { conv: c, upto: n }).await?;
                    }
                    ServerFrame::Peer {
                        state: lyt::protocol::PeerState::Away,
                        ..
                    } => {
                        // The counsellor dropped: their keys are gone; wait for `assigned`.
                        chat = None;
                    }
                    ServerFrame::Stored { conv: c, upto } => outbox.have(c, upto),
                    ServerFrame::Resumed { conv: c, have } => {
                        // What the dropped connection did not deliver goes again, unchanged.
                        for f in outbox.resend(c, have) {
                            ws.send(&f).await?;
                        }
                    }
                    ServerFrame::Ended { reason, .. } => {
                        return Err(Fail(format!("ended_{reason}")));
                    }
                    // A frame that raced the counsellor's drop is refused: it is unread, so
                    // it goes again in the next session.
                    ServerFrame::Error { code: lyt::protocol::ErrorCode::Conflict, .. }
                        if carry.is_some() => {}
                    ServerFrame::Error { code, .. } => sh.rec.error(code.as_str()),
                    _ => {}
                }
            }
            () = until(next_send) => {
                if let (Some(ch), Some(s)) = (chat.as_mut(), sender.as_mut()) {
                    let texts = s.due_texts(&sh);
                    send_texts(&sh, &mut ws, ch, texts, Some(&mut outbox), carry.as_mut(), true).await?;
                }
            }
            () = until(storm) => {
                drops += 1;
                storm = sh.drop_at(drops, false);
                let (Some(t), Some(c)) = (token.clone(), conv) else {
                    return Err(Fail("storm_before_ready".into()));
                };
                drop_connection(&sh, ws).await;
                ws = connect(&sh, k, "/v1/visitor").await?;
                ws.send(&VisitorFrame::Resume { token: t, conv: c, upto }).await?;
            }
        }
    }
    Ok(())
}

/// Ends a connection for a storm or churn: abruptly (the socket is just dropped), or cleanly
/// (a close frame after everything sent, as a page reload does).
async fn drop_connection(sh: &Shared, ws: WsClient) {
    if !sh.sc.abrupt_drop {
        let _ = tokio::time::timeout(sh.step, ws.close()).await;
    }
}

/// The counsellor's side of one chat, beyond any one session: what arrived, what it sends,
/// what it carries.
#[derive(Default)]
pub struct Side {
    tracker: SeqTracker,
    sender: Option<Sender>,
    carry: Option<Carry>,
}

/// A counsellor chat as the counsellor side holds it.
struct CChat {
    chat: Chat,
    side: Side,
    /// The visitor's `hello` of this session arrived: what was carried went first, and new
    /// messages may follow (sending earlier would put them ahead of the carried ones).
    hello: bool,
}

impl CChat {
    /// This session ended: the side, with what the visitor never read carried.
    fn ended(mut self) -> Side {
        if let Some(carry) = self.side.carry.as_mut() {
            carry.new_session(&self.side.tracker);
        }
        self.side
    }
}

/// Takes a fresh ticket, connects on the account's node, authenticates and goes on duty
/// with a new shift. When carrying, a node that cannot be reached is failed over from (the
/// account logs in on another), a few times.
async fn counsellor_connect(
    sh: &Shared,
    acct: &Account,
    k: u32,
) -> Result<(WsClient, lyt::client::e2e::Shift), Fail> {
    let mut tries = if sh.sc.carries() { 4 } else { 1 };
    loop {
        let (node, session) = acct.staff().await;
        match counsellor_connect_at(sh, acct, &session, sh.sc.node(node), k).await {
            Err(Fail(e))
                if tries > 1 && (e == "connect" || e.starts_with("closed") || e == "http") =>
            {
                tries -= 1;
                acct.fail_over(sh, node).await?;
            }
            r => return r,
        }
    }
}

async fn counsellor_connect_at(
    sh: &Shared,
    acct: &Account,
    session: &LoginSession,
    base: &str,
    k: u32,
) -> Result<(WsClient, lyt::client::e2e::Shift), Fail> {
    let ticket = session.ticket().await?;
    let mut ws = connect_at(sh, base, k, "/v1/counsellor").await?;
    ws.send(&CounsellorFrame::Auth { ticket }).await?;
    match ws.frame(sh.step).await? {
        ServerFrame::Welcome { .. } => {}
        _ => return Err(Fail("unexpected_frame".into())),
    }
    let shift = acct.identity.start_shift(unix_now())?;
    let skills = Skills {
        langs: ["da", "en"].iter().filter_map(|l| l.parse().ok()).collect(),
        topics: ["any"].iter().filter_map(|t| t.parse().ok()).collect(),
    };
    ws.send(&CounsellorFrame::Duty {
        on: true,
        skills: Some(skills),
        capacity: Some(1),
        bundle: Some(shift.bundle().clone()),
    })
    .await?;
    Ok((ws, shift))
}

/// A simulated counsellor (capacity 1) for chat `j`: accepts offers, answers handshakes,
/// sends on schedule once the visitor's `hello` arrives; reconnects in counsellor churn.
pub async fn counsellor(sh: Arc<Shared>, lc: Arc<LytCtx>, j: u32) -> Result<(), Fail> {
    let k = 2 * j + 1;
    let acct = &lc.accounts[j as usize % lc.accounts.len()];
    let (mut ws, mut shift) = counsellor_connect(&sh, acct, k).await?;
    sh.counsellors_on_duty
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut chats: HashMap<ConvId, CChat> = HashMap::new();
    let mut drops = 0;
    let mut churn = match sh.sc.kind {
        Kind::CounsellorChurn => Some(sh.event_at),
        Kind::ReconnectStorm if sh.sc.counsellors_drop => sh.drop_at(0, true),
        _ => None,
    };
    loop {
        let next_send = chats
            .values()
            .filter(|c| c.hello)
            .filter_map(|c| c.side.sender.as_ref().and_then(|s| s.next(&sh)))
            .min();
        tokio::select! {
            biased;
            () = sh.stop.cancelled() => break,
            f = ws.next() => {
                let f = match f {
                    Ok(Incoming::Frame(f)) => f,
                    // The node went away under the connection (killed): when carrying, as
                    // after a drop — on another node if this one cannot be reached.
                    Ok(Incoming::Closed(_)) | Err(_) if sh.sc.carries() => {
                        park(&lc, &mut chats);
                        (ws, shift) = counsellor_connect(&sh, acct, k).await?;
                        continue;
                    }
                    Ok(Incoming::Closed(c)) => return Err(ClientError::Closed(c).into()),
                    Err(e) => return Err(e.into()),
                };
                match f {
                    ServerFrame::Offer { conv, .. } => {
                        ws.send(&CounsellorFrame::Accept { conv }).await?;
                    }
                    ServerFrame::Hs1 { conv, m } => {
                        let (chat, m) = shift.accept(conv, &m)?;
                        ws.send(&CounsellorFrame::Hs2 { conv, m }).await?;
                        // The chat may come back to the connection that held it (its
                        // old session ended while it was cut off), or from the account's
                        // parked chats, or be new.
                        let held = chats.remove(&conv).map(CChat::ended);
                        let parked = held.or_else(|| {
                            lc.parked.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&conv)
                        });
                        let side = parked.unwrap_or_else(|| {
                            let mut side = Side {
                                carry: sh.sc.carries().then(Carry::default),
                                ..Side::default()
                            };
                            if side.carry.is_none() {
                                // After a churn the visitor's count goes on from before.
                                side.tracker.accept_any_next();
                            }
                            side
                        });
                        chats.insert(conv, CChat { chat, side, hello: false });
                    }
                    ServerFrame::Data { conv, n, m } => {
                        let Some(c) = chats.get_mut(&conv) else { continue };
                        match c.chat.open(n, &m)? {
                            Some(AppMessage::Hello {}) => {
                                c.hello = true;
                                if let Some(carry) = c.side.carry.as_mut() {
                                    let texts = std::mem::take(&mut carry.carried);
                                    send_texts(&sh, &mut ws, &mut c.chat, texts, None, Some(carry), false).await?;
                                }
                                if c.side.sender.is_none() {
                                    c.side.sender = Some(Sender::new(&sh));
                                }
                            }
                            Some(AppMessage::Text { body, .. }) => {
                                on_text(&sh, &mut c.side.tracker, &body, c.side.carry.as_ref());
                                if c.side.carry.is_some() {
                                    send_app(&mut ws, &mut c.chat, &AppMessage::Read { upto: n }, None).await?;
                                }
                            }
                            Some(AppMessage::Read { upto }) => {
                                if let Some(carry) = c.side.carry.as_mut() {
                                    carry.read(upto);
                                }
                            }
                            Some(_) => {}
                            None => continue,
                        }
                        ws.send(&CounsellorFrame::Ack { conv, upto: n }).await?;
                    }
                    // This connection was cut off long enough for the relay to give the
                    // chat to the queue again (a frozen node): when carrying, its side waits
                    // for whichever counsellor gets it next, as after a drop.
                    ServerFrame::Ended { reason: lyt::protocol::EndReason::Reassigned, conv }
                        if sh.sc.carries() =>
                    {
                        if let Some(c) = chats.remove(&conv) {
                            lc.parked.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(conv, c.ended());
                        }
                    }
                    ServerFrame::Ended { reason, conv } => {
                        chats.remove(&conv);
                        return Err(Fail(format!("ended_{reason}")));
                    }
                    // A frame sent before this connection learnt it lost the chat (above)
                    // is refused: what it held is unread, so it is carried.
                    ServerFrame::Error { code: lyt::protocol::ErrorCode::NotFound, .. }
                        if sh.sc.carries() => {}
                    ServerFrame::Error { code, .. } => sh.rec.error(code.as_str()),
                    _ => {}
                }
            }
            () = until(next_send) => {
                let mut sent = Ok(());
                for c in chats.values_mut().filter(|c| c.hello) {
                    if let Some(s) = c.side.sender.as_mut() {
                        let texts = s.due_texts(&sh);
                        sent = send_texts(&sh, &mut ws, &mut c.chat, texts, None, c.side.carry.as_mut(), true).await;
                        if sent.is_err() {
                            break;
                        }
                    }
                }
                match sent {
                    // The connection broke under the write (its node was killed): a text
                    // not written is not counted as sent; the rest is carried.
                    Err(_) if sh.sc.carries() => {
                        park(&lc, &mut chats);
                        (ws, shift) = counsellor_connect(&sh, acct, k).await?;
                    }
                    r => r?,
                }
            }
            () = until(churn) => {
                drops += 1;
                churn = if sh.sc.kind == Kind::ReconnectStorm { sh.drop_at(drops, true) } else { None };
                drop_connection(&sh, ws).await;
                // The keys of the lost connection are gone: the chats come back (to whichever
                // connection of this account is on duty first) under a new handshake. When
                // carrying, each chat's side waits for that connection.
                if sh.sc.counsellors_drop {
                    park(&lc, &mut chats);
                }
                chats.clear();
                (ws, shift) = counsellor_connect(&sh, acct, k).await?;
            }
        }
    }
    Ok(())
}

/// Parks the counsellor's side of each of `chats` (its connection is gone): what the visitor
/// never read is carried, and the side waits for whichever connection gets the chat next.
fn park(lc: &LytCtx, chats: &mut HashMap<ConvId, CChat>) {
    let mut parked = lc
        .parked
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for (conv, c) in chats.drain() {
        parked.insert(conv, c.ended());
    }
}

/// An idle visitor connection: connected, past `hello`, held until the end.
pub async fn idle_visitor(sh: Arc<Shared>, j: u32) -> Result<(), Fail> {
    let mut ws = connect(&sh, j, "/v1/visitor").await?;
    loop {
        tokio::select! {
            () = sh.stop.cancelled() => return Ok(()),
            f = ws.next() => match f {
                Ok(Incoming::Frame(_)) => {}
                Ok(Incoming::Closed(c)) => return Err(ClientError::Closed(c).into()),
                Err(e) => return Err(e.into()),
            }
        }
    }
}
