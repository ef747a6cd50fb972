//! `GET /v1/visitor`: the anonymous visitor's WebSocket. No cookies, no account; the Origin
//! must be on the allowlist. Frames are parsed strictly and handed, in order, to the
//! connection's worker on the engine.

use axum::extract::State;
use axum::extract::ws::{Utf8Bytes, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;

use super::cluster::VisitorOp;
use super::conn::ConnId;
use super::conn::{Control, Handler, Mailbox};
use super::endpoint::{admit, parse_failed, refuse, refuse_wait, upgrade};
use super::refusal::Refusal;
use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::response::IntoResponse as _;

use crate::http::AppState;
use crate::limits::{AddressKey, FrameBudget};
use crate::protocol::ErrorCode;
use crate::protocol::{self, FrameError, VisitorFrame};

/// Upgrades to a visitor WebSocket.
pub async fn endpoint(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let ip = app.limits.client_ip(&headers, peer);
    let addr = app.limits.address_key(ip);
    // With many nodes and a shared key: the tag joins are counted under across nodes.
    let shared_tag = app
        .relay
        .many_nodes()
        .then(|| app.limits.shared_tag(ip))
        .flatten();
    if let Err(wait) = app.limits.visitor_connect(addr) {
        app.metrics
            .frames_refused
            .with_label_values(&["rate_limited"])
            .inc();
        return crate::http::ApiError::rate_limited(wait).into_response();
    }
    upgrade(app, &headers, ws, "visitor", move |app, id, mailbox| {
        app.relay.engine().visitor_connect(id, mailbox.clone());
        VisitorHandler {
            app: app.clone(),
            id,
            mailbox: mailbox.clone(),
            strikes: 0,
            addr,
            budget: app.limits.frame_budget(false),
            worker: None,
            shared_tag,
        }
    })
}

/// Sends a refusal; `queue_full` always with the phone line, the one thing the visitor can
/// do now.
fn refuse_visitor(app: &AppState, mailbox: &Mailbox, code: ErrorCode, message: &str) {
    if code == ErrorCode::QueueFull {
        let phone = &app.config.phone;
        let message = format!("{message}: {} ({})", phone.number, phone.hours);
        refuse(app, mailbox, code, message);
    } else {
        refuse(app, mailbox, code, message);
    }
}

struct VisitorHandler {
    app: AppState,
    id: ConnId,
    mailbox: Mailbox,
    strikes: u8,
    /// The hashed address, for the join quota (never the address itself).
    addr: AddressKey,
    /// This connection's frame budget.
    budget: FrameBudget,
    /// The worker applying this connection's frames in order: started with the first frame
    /// that needs it (an idle connection costs no task and no queue), taken when it closes.
    worker: Option<super::cluster::Worker<VisitorOp>>,
    /// With many nodes and `rate.shared_key`: the tag of this address's join quota.
    shared_tag: Option<String>,
}

impl VisitorHandler {
    /// `closed`, with the seconds until the next opening as `retry_after_s`.
    fn refuse_closed(&self) {
        let (_, until) = self.app.open_now();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.app
            .metrics
            .frames_refused
            .with_label_values(&["closed"])
            .inc();
        self.mailbox.send(&crate::protocol::ServerFrame::Error {
            code: crate::protocol::ErrorCode::Closed,
            message: format!(
                "the chat is closed now; {}; you can call the phone line",
                self.app.config.hours.text
            ),
            retry_after_s: until.map(|u| u.saturating_sub(now)),
        });
    }

    /// This connection's worker, started now if it was not yet.
    fn worker(&mut self) -> &super::cluster::Worker<VisitorOp> {
        let (app, mailbox, id) = (&self.app, &self.mailbox, self.id);
        self.worker.get_or_insert_with(|| {
            let (app, mailbox) = (app.clone(), mailbox.clone());
            std::sync::Arc::clone(app.relay.engine()).spawn_worker(move |engine, op: VisitorOp| {
                let (app, mailbox) = (app.clone(), mailbox.clone());
                Box::pin(async move {
                    if let Err((code, message)) = engine.visitor_op(id, op).await {
                        refuse_visitor(&app, &mailbox, code, message);
                    }
                })
            })
        })
    }

    /// Hands a frame to the engine's worker; a connection that floods it is closed.
    fn enqueue(&mut self, op: VisitorOp) -> Result<(), Refusal> {
        let engine = std::sync::Arc::clone(self.app.relay.engine());
        if matches!(
            op,
            VisitorOp::Hs1(..) | VisitorOp::Data(..) | VisitorOp::Ack(..)
        ) && self
            .worker
            .as_ref()
            .is_none_or(super::cluster::Worker::idle)
            && engine.applies_at_once()
        {
            // The store answers at once (in memory): a relayed frame is applied here, with
            // no hop to the worker; nothing is queued before it, so the order holds.
            return super::cluster::Cluster::apply_at_once(engine.visitor_op(self.id, op));
        }
        let w = self.worker();
        if !w.try_send(op) {
            self.mailbox.close(
                crate::protocol::close::OVERLOADED,
                "too many frames at once",
            );
        }
        Ok(())
    }

    fn dispatch(&mut self, frame: VisitorFrame, text: Utf8Bytes) -> Result<(), Refusal> {
        let op = match frame {
            VisitorFrame::Join { .. } if !self.app.open_now().0 => {
                self.refuse_closed();
                return Ok(());
            }
            VisitorFrame::Join { queue } => {
                if let Err(wait) = self.app.limits.join(self.addr) {
                    let msg = "too many chats started from here; wait and try again";
                    refuse_wait(&self.app, &self.mailbox, ErrorCode::RateLimited, msg, wait);
                    return Ok(());
                }
                VisitorOp::Join(
                    queue,
                    self.shared_tag
                        .clone()
                        .map(|t| (t, self.app.limits.joins_per_hour())),
                )
            }
            VisitorFrame::Hs1 { conv, .. } => VisitorOp::Hs1(conv, text),
            VisitorFrame::Data { conv, n, .. } => VisitorOp::Data(conv, n, text),
            VisitorFrame::Ack { conv, upto } => VisitorOp::Ack(conv, upto),
            VisitorFrame::Leave {} => VisitorOp::Leave,
            VisitorFrame::Resume { token, conv, upto } => VisitorOp::Resume(token, conv, upto),
            VisitorFrame::Callback { queue, id, sealed } => VisitorOp::Callback(queue, id, sealed),
        };
        self.enqueue(op)
    }
}

impl Handler for VisitorHandler {
    fn on_text(&mut self, text: Utf8Bytes) -> Control {
        if !admit(&self.app, &self.mailbox, &self.budget, "visitor") {
            return Control::Continue;
        }
        match protocol::parse_visitor(&text) {
            Err(e) => parse_failed(&self.app, &self.mailbox, &mut self.strikes, e),
            Ok(frame) => {
                if let Err((code, message)) = self.dispatch(frame, text) {
                    refuse_visitor(&self.app, &self.mailbox, code, message);
                }
                Control::Continue
            }
        }
    }

    fn on_binary(&mut self) -> Control {
        parse_failed(
            &self.app,
            &self.mailbox,
            &mut self.strikes,
            FrameError::InvalidJson,
        )
    }

    fn ready(&self) -> bool {
        true
    }

    fn on_close(&mut self) {
        // After every frame already queued; the worker ends when the queue is dropped. A
        // connection that never sent a frame has no worker and only leaves the node's list.
        match self.worker.take() {
            Some(w) => w.send_last(VisitorOp::Disconnect),
            None => {
                let (engine, id) = (std::sync::Arc::clone(self.app.relay.engine()), self.id);
                tokio::spawn(async move {
                    let _ = engine.visitor_op(id, VisitorOp::Disconnect).await;
                });
            }
        }
    }
}
