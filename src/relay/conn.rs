//! One WebSocket connection's plumbing, shared by the visitor and counsellor endpoints: the
//! bounded mailbox other connections write into, and the socket loop that reads frames, writes
//! the mailbox out in batches, pings, enforces the idle and handshake deadlines, and closes
//! with the right code on shutdown, overflow, oversize input or policy violations.
//!
//! Handlers are synchronous: every relay operation is a short critical section over in-memory
//! state, so the loop never awaits while holding anything.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::SinkExt as _;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::protocol::{ServerFrame, close};

/// A connection's number, unique within this process.
pub type ConnId = u64;

/// Most queued frames written to the socket before one flush.
const MAX_BATCH: usize = 64;
/// How long one write (batch and flush) may take before the client counts as stalled.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the relay puts in a connection's mailbox.
#[derive(Debug)]
pub enum Outbound {
    /// A text frame, already serialised (relayed frames are shared, not copied).
    Text(Utf8Bytes),
    /// Close the connection with this code and reason.
    Close(u16, &'static str),
}

/// The sending side of a connection's bounded mailbox. Fan-out never waits: `push` uses
/// `try_send`, and a connection whose mailbox is full is closed with 1013 and counted.
#[derive(Debug, Clone)]
pub struct Mailbox {
    tx: mpsc::Sender<Outbound>,
    /// Cancelled when the mailbox overflowed; the socket loop then closes with 1013.
    overflow: CancellationToken,
    metrics: Metrics,
}

impl Mailbox {
    /// A new mailbox holding at most `capacity` frames, and its receiving end.
    pub fn new(capacity: usize, metrics: Metrics) -> (Self, mpsc::Receiver<Outbound>) {
        let (tx, rx) = mpsc::channel(capacity);
        let overflow = CancellationToken::new();
        (
            Self {
                tx,
                overflow,
                metrics,
            },
            rx,
        )
    }

    /// Queues a frame; `false` if the connection is gone or too slow (and now closing).
    pub fn push(&self, text: Utf8Bytes) -> bool {
        match self.tx.try_send(Outbound::Text(text)) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                if !self.overflow.is_cancelled() {
                    self.metrics.mailbox_overflows.inc();
                    self.overflow.cancel();
                }
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Queues a server frame.
    pub fn send(&self, frame: &ServerFrame) -> bool {
        self.push(frame.to_json().into())
    }

    /// Asks the connection to close with `code`.
    pub fn close(&self, code: u16, reason: &'static str) {
        if self.tx.try_send(Outbound::Close(code, reason)).is_err() {
            self.overflow.cancel();
        }
    }
}

/// What a handler wants after a frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Control {
    /// Keep reading.
    Continue,
    /// Close with this code and reason.
    Close(u16, &'static str),
}

/// The per-endpoint logic driven by `run`.
pub trait Handler {
    /// Handles one text frame.
    fn on_text(&mut self, text: Utf8Bytes) -> Control;
    /// Handles a binary frame (the protocol has none).
    fn on_binary(&mut self) -> Control;
    /// Whether the opening handshake (e.g. `auth`) is done; until then `setup_deadline`
    /// applies.
    fn ready(&self) -> bool;
    /// The connection is gone: release everything it held.
    fn on_close(&mut self);
}

/// Timing of the socket loop.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Interval between pings.
    pub ping: Duration,
    /// Silence after which the connection is closed.
    pub idle: Duration,
    /// Time allowed until `Handler::ready`.
    pub setup: Duration,
}

/// Runs one connection until it closes; calls `Handler::on_close` exactly once.
pub async fn run(
    mut socket: WebSocket,
    mut rx: mpsc::Receiver<Outbound>,
    mailbox: Mailbox,
    mut handler: impl Handler,
    timing: Timing,
    shutdown: CancellationToken,
) {
    let overflow = mailbox.overflow.clone();
    drop(mailbox);
    let mut ping = tokio::time::interval_at(Instant::now() + timing.ping, timing.ping);
    // Made once and polled by reference: building the waiters and timers again on every pass
    // of the loop cost a few percent of the relay's CPU per frame.
    let shutting_down = shutdown.cancelled();
    let overflowed = overflow.cancelled();
    let idle = sleep_until(Instant::now() + timing.idle);
    let setup = sleep_until(Instant::now() + timing.setup);
    tokio::pin!(shutting_down, overflowed, idle, setup);
    let end: Option<(u16, &'static str)> = loop {
        let setup_pending = !handler.ready();
        tokio::select! {
            biased;
            () = &mut shutting_down => break Some((close::GOING_AWAY, "server shutting down")),
            () = &mut overflowed => break Some((close::OVERLOADED, "too slow to keep up")),
            out = rx.recv() => match out {
                Some(Outbound::Text(first)) => {
                    match write_batch(&mut socket, &mut rx, first, &overflow, &shutdown).await {
                        Written::Done => {}
                        Written::Close(code, reason) => break Some((code, reason)),
                        Written::Abandon => break None,
                    }
                }
                Some(Outbound::Close(code, reason)) => break Some((code, reason)),
                None => break Some((close::INTERNAL, "internal error")),
            },
            msg = socket.recv() => {
                idle.as_mut().reset(Instant::now() + timing.idle);
                let control = match msg {
                    None => break None,
                    Some(Err(e)) => break read_error(&e),
                    Some(Ok(Message::Text(text))) => handler.on_text(text),
                    Some(Ok(Message::Binary(_))) => handler.on_binary(),
                    Some(Ok(Message::Close(_))) => break None,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => Control::Continue,
                };
                if let Control::Close(code, reason) = control {
                    break Some((code, reason));
                }
            }
            _ = ping.tick() => {
                let sent = tokio::time::timeout(WRITE_TIMEOUT, socket.send(Message::Ping(Default::default()))).await;
                if !matches!(sent, Ok(Ok(()))) {
                    break None;
                }
            }
            () = &mut idle => break Some((close::NORMAL, "idle timeout")),
            () = &mut setup, if setup_pending => break Some((close::POLICY, "authenticate first")),
        }
    };
    handler.on_close();
    if let Some((code, reason)) = end {
        // Best effort: flush what is queued (e.g. a last error frame), then the close frame.
        let mut pending = Vec::new();
        while let Ok(Outbound::Text(t)) = rx.try_recv() {
            pending.push(t);
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            for t in pending {
                socket.feed(Message::Text(t)).await?;
            }
            let frame = CloseFrame {
                code,
                reason: reason.into(),
            };
            socket.send(Message::Close(Some(frame))).await
        })
        .await;
    }
}

/// How a batch write ended.
enum Written {
    /// Everything was written and flushed.
    Done,
    /// A close was queued behind the frames: close with it.
    Close(u16, &'static str),
    /// The socket failed or stalled past `WRITE_TIMEOUT`, or the mailbox overflowed while the
    /// socket was stalled: give up without a close frame (it could not be written either).
    Abandon,
}

/// Writes `first` and whatever else is queued (up to `MAX_BATCH`), then flushes once. A
/// stalled write is abandoned as soon as the mailbox overflows or shutdown begins.
async fn write_batch(
    socket: &mut WebSocket,
    rx: &mut mpsc::Receiver<Outbound>,
    first: Utf8Bytes,
    overflow: &CancellationToken,
    shutdown: &CancellationToken,
) -> Written {
    let mut close = None;
    let write = async {
        socket.feed(Message::Text(first)).await?;
        for _ in 1..MAX_BATCH {
            match rx.try_recv() {
                Ok(Outbound::Text(t)) => socket.feed(Message::Text(t)).await?,
                Ok(Outbound::Close(code, reason)) => {
                    close = Some((code, reason));
                    break;
                }
                Err(_) => break,
            }
        }
        socket.flush().await
    };
    let outcome = tokio::select! {
        r = tokio::time::timeout(WRITE_TIMEOUT, write) => matches!(r, Ok(Ok(()))),
        () = overflow.cancelled() => false,
        () = shutdown.cancelled() => false,
    };
    match (outcome, close) {
        (true, Some((code, reason))) => Written::Close(code, reason),
        (true, None) => Written::Done,
        (false, _) => Written::Abandon,
    }
}

/// The close to send after a read error: 1009 for oversize input, none for a broken socket.
fn read_error(e: &axum::Error) -> Option<(u16, &'static str)> {
    use std::error::Error as _;
    let mut source: Option<&(dyn std::error::Error + 'static)> = e.source();
    while let Some(s) = source {
        if let Some(tungstenite::Error::Capacity(_)) = s.downcast_ref::<tungstenite::Error>() {
            return Some((close::TOO_LARGE, "frame too large"));
        }
        source = s.source();
    }
    None
}
