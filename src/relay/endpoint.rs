//! What the visitor and counsellor endpoints share: the upgrade with its Origin check,
//! connection accounting, and the answers to refused frames.

use axum::extract::ws::{Utf8Bytes, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;

use super::conn::ConnId;
use super::conn::{self, Control, Handler, Mailbox};
use crate::http::AppState;
use crate::protocol::{ErrorCode, FrameError, ServerFrame, close};

/// Invalid-JSON frames tolerated before the connection is closed with 1008.
pub const MAX_STRIKES: u8 = 3;

/// Upgrades to a WebSocket for `role`: a connection from a foreign Origin is closed with 1008
/// at once; otherwise it gets `hello` and `make` builds its handler, which runs until the
/// connection ends. The task is tracked for graceful shutdown.
pub(crate) fn upgrade<H, F>(
    app: AppState,
    headers: &HeaderMap,
    ws: WebSocketUpgrade,
    role: &'static str,
    make: F,
) -> Response
where
    H: Handler + Send + 'static,
    F: FnOnce(&AppState, ConnId, &Mailbox) -> H + Send + 'static,
{
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
                conn::run(
                    socket,
                    rx,
                    mailbox,
                    Refused,
                    app.timing(),
                    app.shutdown.clone(),
                )
                .await;
                return;
            }
            let id = app.relay.next_id();
            mailbox.send(&app.hello());
            let handler = make(&app, id, &mailbox);
            app.metrics.connections.with_label_values(&[role]).inc();
            app.metrics
                .open_connections
                .with_label_values(&[role])
                .inc();
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
                .with_label_values(&[role])
                .dec();
        })
    })
}

/// The handler of a connection that is being closed before it starts.
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

/// Sends an error frame and counts it.
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

/// Admits one incoming frame: counts it, and takes it from the connection's budget. When the
/// budget is spent, the client gets `rate_limited` with the wait and the frame is dropped.
pub(crate) fn admit(
    app: &AppState,
    mailbox: &Mailbox,
    budget: &crate::limits::FrameBudget,
    role: &'static str,
) -> bool {
    if let Err(wait) = budget.take() {
        refuse_wait(
            app,
            mailbox,
            ErrorCode::RateLimited,
            "too many frames; slow down",
            wait,
        );
        return false;
    }
    app.metrics.frames_in.with_label_values(&[role]).inc();
    true
}

/// Sends an error frame with the seconds to wait (`rate_limited`) and counts it.
pub(crate) fn refuse_wait(
    app: &AppState,
    mailbox: &Mailbox,
    code: ErrorCode,
    message: &str,
    wait_s: u64,
) {
    app.metrics
        .frames_refused
        .with_label_values(&[code.as_str()])
        .inc();
    mailbox.send(&ServerFrame::Error {
        code,
        message: message.into(),
        retry_after_s: Some(wait_s),
    });
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
