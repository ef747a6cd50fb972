//! `GET /v1/visitor`: the anonymous visitor's WebSocket. No cookies, no account; the Origin
//! must be on the allowlist. Frames are parsed strictly and handed to the hub.

use std::time::Instant;

use axum::extract::State;
use axum::extract::ws::{Utf8Bytes, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;

use super::conn::{self, Control, Handler, Mailbox};
use super::hub::{ConnId, Refusal};
use crate::http::AppState;
use crate::protocol::{self, ErrorCode, FrameError, ServerFrame, VisitorFrame, close};

/// Invalid-JSON frames tolerated before the connection is closed with 1008.
pub const MAX_STRIKES: u8 = 3;

/// Upgrades to a visitor WebSocket.
pub async fn endpoint(
    State(app): State<AppState>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let origin_ok = app.origins.allows_header(headers.get(http::header::ORIGIN));
    let tracker = app.tracker.clone();
    crate::http::limit_ws(ws).on_upgrade(move |socket| {
        tracker.track_future(async move {
            let (mailbox, rx) = Mailbox::new(app.config.limits.mailbox, app.metrics.clone());
            if !origin_ok {
                app.metrics
                    .frames_refused
                    .with_label_values(&["origin"])
                    .inc();
                mailbox.close(close::POLICY, "origin not allowed");
                let handler = Refused;
                conn::run(
                    socket,
                    rx,
                    mailbox,
                    handler,
                    app.timing(),
                    app.shutdown.clone(),
                )
                .await;
                return;
            }
            let id = app.relay.next_id();
            app.relay.with(|h| h.visitor_connect(id, mailbox.clone()));
            mailbox.send(&app.hello());
            app.metrics
                .connections
                .with_label_values(&["visitor"])
                .inc();
            app.metrics
                .open_connections
                .with_label_values(&["visitor"])
                .inc();
            let handler = VisitorHandler {
                app: app.clone(),
                id,
                mailbox: mailbox.clone(),
                strikes: 0,
            };
            conn::run(
                socket,
                rx,
                mailbox,
                handler,
                app.timing(),
                app.shutdown.clone(),
            )
            .await;
            app.metrics
                .open_connections
                .with_label_values(&["visitor"])
                .dec();
        })
    })
}

/// A connection that is being closed before it starts.
struct Refused;

impl Handler for Refused {
    fn on_text(&mut self, _: Utf8Bytes) -> Control {
        Control::Close(close::POLICY, "origin not allowed")
    }
    fn on_binary(&mut self) -> Control {
        Control::Close(close::POLICY, "origin not allowed")
    }
    fn ready(&self) -> bool {
        true
    }
    fn on_close(&mut self) {}
}

struct VisitorHandler {
    app: AppState,
    id: ConnId,
    mailbox: Mailbox,
    strikes: u8,
}

/// Sends an error frame and counts it; shared by both endpoints.
pub(crate) fn refuse(
    app: &AppState,
    mailbox: &Mailbox,
    code: ErrorCode,
    message: impl Into<String>,
) {
    app.metrics
        .frames_refused
        .with_label_values(&[code.as_str()])
        .inc();
    tracing::debug!(code = code.as_str(), "frame refused");
    mailbox.send(&ServerFrame::error(code, message));
}

/// Handles a parse failure: a `bad_frame` error, and 1008 after `MAX_STRIKES` invalid JSON.
pub(crate) fn parse_failed(
    app: &AppState,
    mailbox: &Mailbox,
    strikes: &mut u8,
    err: FrameError,
) -> Control {
    if err == FrameError::InvalidJson {
        *strikes += 1;
        if *strikes >= MAX_STRIKES {
            app.metrics
                .frames_refused
                .with_label_values(&["bad_frame"])
                .inc();
            return Control::Close(close::POLICY, "repeated invalid frames");
        }
    }
    refuse(app, mailbox, ErrorCode::BadFrame, err.to_string());
    Control::Continue
}

impl VisitorHandler {
    fn dispatch(&mut self, frame: VisitorFrame, text: Utf8Bytes) -> Result<(), Refusal> {
        let (id, now) = (self.id, Instant::now());
        match frame {
            VisitorFrame::Join { queue } => self.app.relay.with(|h| h.visitor_join(id, queue, now)),
            VisitorFrame::Hs1 { conv, .. } => {
                self.app.relay.with(|h| h.visitor_hs1(id, conv, text))
            }
            VisitorFrame::Data { conv, .. } => {
                self.app.relay.with(|h| h.visitor_data(id, conv, text))
            }
            VisitorFrame::Ack { conv, upto } => {
                self.app.relay.with(|h| h.visitor_ack(id, conv, upto))
            }
            VisitorFrame::Leave {} => {
                self.app.relay.with(|h| h.visitor_leave(id, now));
                Ok(())
            }
            VisitorFrame::Resume { token, conv, upto } => self
                .app
                .relay
                .with(|h| h.visitor_resume(id, &token, conv, upto, now)),
            VisitorFrame::Callback { .. } => Err((
                ErrorCode::Forbidden,
                "callback requests are not enabled on this server",
            )),
        }
    }
}

impl Handler for VisitorHandler {
    fn on_text(&mut self, text: Utf8Bytes) -> Control {
        self.app
            .metrics
            .frames_in
            .with_label_values(&["visitor"])
            .inc();
        match protocol::parse_visitor(&text) {
            Err(e) => parse_failed(&self.app, &self.mailbox, &mut self.strikes, e),
            Ok(frame) => {
                if let Err((code, message)) = self.dispatch(frame, text) {
                    refuse(&self.app, &self.mailbox, code, message);
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
        let id = self.id;
        self.app
            .relay
            .with(|h| h.visitor_disconnect(id, Instant::now()));
    }
}
