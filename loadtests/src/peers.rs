//! The same load against the peers, each set up as a 1:1 relay (`loadtests/peers/`):
//!
//! - **Nchan**: each side of chat `c` opens a WebSocket on `/chat/<c>/v` or `/chat/<c>/c`;
//!   it publishes to its own channel and is subscribed to the other side's.
//! - **socket.io** (Engine.IO 4 over a plain WebSocket, Redis adapter on the server): each
//!   side emits `join` with the chat's room and waits for `joined`; a `m` event is relayed to
//!   the rest of the room.
//!
//! Messages carry the same stamp and have the same length as lyt's texts; the peers see them
//! in the clear (no end-to-end crypto: that cost is lyt's alone, and is on the clients).

use std::sync::Arc;
use std::time::Instant;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Barrier;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::run::{Fail, Shared};
use crate::scenario::{Kind, Target};
use crate::schedule::{self, Schedule, SeqTracker};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A rendezvous per chat: both sides are subscribed before either sends.
pub struct Pairs {
    barriers: Vec<Arc<Barrier>>,
}

impl Pairs {
    /// For `chats` chats (lazily sized: the barriers are small).
    pub fn new(chats: u32) -> Self {
        Self {
            barriers: (0..chats).map(|_| Arc::new(Barrier::new(2))).collect(),
        }
    }

    /// The rendezvous of chat `j`.
    pub fn get(&self, j: u32) -> Option<Arc<Barrier>> {
        self.barriers.get(j as usize).cloned()
    }
}

fn fail(code: &str) -> Fail {
    Fail(code.to_owned())
}

async fn open(sh: &Shared, k: u32, path: &str) -> Result<Ws, Fail> {
    let base = sh.sc.node(k);
    let url = format!("{}{path}", base.replacen("http", "ws", 1));
    let host = base.trim_start_matches("http://");
    let addr: std::net::SocketAddr = tokio::net::lookup_host(host)
        .await
        .map_err(|_| fail("resolve"))?
        .next()
        .ok_or_else(|| fail("resolve"))?;
    let socket = TcpSocket::new_v4().map_err(|_| fail("connect"))?;
    if let Some(ip) = sh.source(k) {
        socket
            .bind(std::net::SocketAddr::new(ip, 0))
            .map_err(|_| fail("bind"))?;
    }
    let started = Instant::now();
    let fut = async {
        let stream = socket.connect(addr).await.map_err(|_| fail("connect"))?;
        stream.set_nodelay(true).map_err(|_| fail("connect"))?;
        let (ws, _) = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream))
            .await
            .map_err(|_| fail("websocket"))?;
        Ok::<_, Fail>(ws)
    };
    let mut ws = tokio::time::timeout(sh.step, fut)
        .await
        .map_err(|_| fail("timeout"))??;
    if sh.sc.target == Target::Socketio {
        sio_handshake(sh, &mut ws).await?;
    }
    sh.rec.connected(
        sh.sec(),
        u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
    );
    Ok(ws)
}

/// The next text message, answering Engine.IO pings on the way.
async fn next_text(ws: &mut Ws, sio: bool) -> Result<String, Fail> {
    loop {
        match ws.next().await {
            None => return Err(fail("closed")),
            Some(Err(_)) => return Err(fail("websocket")),
            Some(Ok(Message::Text(t))) => {
                if sio && t.as_str() == "2" {
                    ws.send(Message::text("3"))
                        .await
                        .map_err(|_| fail("websocket"))?;
                    continue;
                }
                return Ok(t.to_string());
            }
            Some(Ok(Message::Close(c))) => {
                return Err(Fail(c.map_or("closed".into(), |c| {
                    format!("closed_{}", u16::from(c.code))
                })));
            }
            Some(Ok(_)) => {}
        }
    }
}

/// Engine.IO open, then the socket.io connect of the default namespace.
async fn sio_handshake(sh: &Shared, ws: &mut Ws) -> Result<(), Fail> {
    let step = sh.step;
    let open = tokio::time::timeout(step, next_text(ws, true))
        .await
        .map_err(|_| fail("timeout"))??;
    if !open.starts_with('0') {
        return Err(fail("sio_open"));
    }
    ws.send(Message::text("40"))
        .await
        .map_err(|_| fail("websocket"))?;
    let connected = tokio::time::timeout(step, next_text(ws, true))
        .await
        .map_err(|_| fail("timeout"))??;
    if !connected.starts_with("40") {
        return Err(fail("sio_connect"));
    }
    Ok(())
}

/// A socket.io event as a text frame.
fn sio_event(name: &str, arg: &str) -> Result<String, Fail> {
    serde_json::to_string(&(name, arg))
        .map(|j| format!("42{j}"))
        .map_err(|_| fail("encode"))
}

/// The event name and its first argument (empty when none) of a socket.io text frame.
fn sio_parse(t: &str) -> Option<(String, String)> {
    let v: Vec<serde_json::Value> = serde_json::from_str(t.strip_prefix("42")?).ok()?;
    let name = v.first()?.as_str()?.to_owned();
    let arg = match v.get(1) {
        None => String::new(),
        Some(a) => a.as_str()?.to_owned(),
    };
    Some((name, arg))
}

/// Connects one side of chat `j` and, for socket.io, joins its room.
async fn subscribe(sh: &Shared, j: u32, visitor: bool) -> Result<Ws, Fail> {
    let k = 2 * j + u32::from(!visitor);
    let room = format!("{}-{j}", sh.t0_ns);
    match sh.sc.target {
        Target::Nchan => {
            let side = if visitor { "v" } else { "c" };
            open(sh, k, &format!("/chat/{room}/{side}")).await
        }
        _ => {
            let mut ws = open(sh, k, "/socket.io/?EIO=4&transport=websocket").await?;
            ws.send(Message::text(sio_event("join", &room)?))
                .await
                .map_err(|_| fail("websocket"))?;
            loop {
                let t = tokio::time::timeout(sh.step, next_text(&mut ws, true))
                    .await
                    .map_err(|_| fail("timeout"))??;
                if sio_parse(&t).is_some_and(|(n, _)| n == "joined") {
                    return Ok(ws);
                }
            }
        }
    }
}

/// One side of a peer chat: subscribes, meets the other side, then sends on schedule and
/// measures what arrives; in a reconnect storm the visitor side reconnects and resubscribes.
pub async fn side(
    sh: Arc<Shared>,
    j: u32,
    visitor: bool,
    pair: Option<Arc<Barrier>>,
) -> Result<(), Fail> {
    let sio = sh.sc.target == Target::Socketio;
    let mut ws = subscribe(&sh, j, visitor).await?;
    let joined = Instant::now();
    if let Some(b) = pair {
        tokio::select! {
            () = sh.stop.cancelled() => return Ok(()),
            _ = b.wait() => {}
        }
    }
    if visitor {
        sh.rec
            .chat_ready(u64::try_from(joined.elapsed().as_micros()).unwrap_or(u64::MAX));
    }
    let phase = sh.interval.mul_f64(rand::random::<f64>());
    let sched = Schedule::new(Instant::now(), phase, sh.interval);
    let mut k = 0u64;
    let mut tracker = SeqTracker::default();
    let mut storm = (visitor && sh.sc.kind == Kind::ReconnectStorm).then_some(sh.event_at);
    loop {
        let due = sched.due(k);
        let next = (due < sh.send_end).then_some(due);
        tokio::select! {
            biased;
            () = sh.stop.cancelled() => break,
            t = next_text(&mut ws, sio) => {
                let t = t?;
                let body = if sio {
                    match sio_parse(&t) {
                        Some((n, a)) if n == "m" => a,
                        _ => continue,
                    }
                } else {
                    t
                };
                let Some((seq, due_ns)) = schedule::decode(&body) else {
                    sh.rec.error("bad_stamp");
                    continue;
                };
                match tracker.record(seq) {
                    schedule::Arrival::Duplicate => {
                        sh.rec.duplicate();
                        continue;
                    }
                    schedule::Arrival::Gap(n) => sh.rec.gap(n),
                    schedule::Arrival::InOrder => {}
                }
                sh.rec.received(sh.sec(), sh.clock.now_ns().saturating_sub(due_ns) / 1000);
            }
            () = until(next) => {
                let now = Instant::now();
                while k < sched.due_by(now) && sched.due(k) < sh.send_end {
                    let text = schedule::encode(k, sh.clock.ns(sched.due(k)), sh.sc.msg_bytes);
                    let frame = if sio { sio_event("m", &text)? } else { text };
                    ws.send(Message::text(frame)).await.map_err(|_| fail("websocket"))?;
                    sh.rec.sent(sh.sec());
                    k += 1;
                }
            }
            () = until(storm) => {
                storm = None;
                drop(ws);
                ws = subscribe(&sh, j, visitor).await?;
            }
        }
    }
    Ok(())
}

async fn until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// An idle connection to a peer, held until the end.
pub async fn idle(sh: Arc<Shared>, j: u32) -> Result<(), Fail> {
    let visitor = j.is_multiple_of(2);
    let mut ws = subscribe(&sh, j / 2, visitor).await?;
    let sio = sh.sc.target == Target::Socketio;
    loop {
        tokio::select! {
            () = sh.stop.cancelled() => return Ok(()),
            t = next_text(&mut ws, sio) => { t?; }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn socketio_events_round_trip() {
        let e = sio_event("m", "L01\"x").unwrap();
        assert_eq!(e, r#"42["m","L01\"x"]"#);
        assert_eq!(sio_parse(&e), Some(("m".into(), "L01\"x".into())));
        assert_eq!(sio_parse("2"), None);
        assert_eq!(sio_parse("42[1]"), None);
        assert_eq!(
            sio_parse(r#"42["joined"]"#),
            Some(("joined".into(), String::new()))
        );
    }

    #[test]
    fn pairs_are_per_chat() {
        let p = Pairs::new(3);
        assert!(p.get(2).is_some());
        assert!(p.get(3).is_none());
    }
}
