//! `GET /v1/counsellor`: the shift console's WebSocket. The Origin must be allowed and the
//! first frame must be `auth` with a single-use ticket from `POST /v1/auth/ticket`, within
//! `limits.auth_timeout_s`; anything else closes the connection with 1008.

use axum::extract::State;
use axum::extract::ws::{Utf8Bytes, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;

use super::cluster::CounsellorOp;
use super::conn::ConnId;
use super::conn::{Control, Handler, Mailbox};
use super::endpoint::{admit, parse_failed, refuse, upgrade};
use super::refusal::Refusal;
use crate::auth::Principal;
use crate::config::Role;
use crate::crypto;
use crate::http::AppState;
use crate::protocol::Bundle;
use crate::protocol::{self, CounsellorFrame, ErrorCode, FrameError, ServerFrame, close};
use crate::relay::refusal;

/// Longest phone call a call log may record.
const MAX_CALL_S: u64 = 12 * 3600;
/// How old a logged call may be (logged the same day, give or take).
const MAX_CALL_AGE_S: u64 = 24 * 3600;
/// Clock difference allowed between console and relay.
const CALL_CLOCK_SKEW_S: u64 = 300;

/// Upgrades to a counsellor WebSocket.
pub async fn endpoint(
    State(app): State<AppState>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    upgrade(app, &headers, ws, "counsellor", |app, id, mailbox| {
        CounsellorHandler {
            app: app.clone(),
            id,
            mailbox: mailbox.clone(),
            strikes: 0,
            principal: None,
            budget: app.limits.frame_budget(true),
            worker: None,
        }
    })
}

struct CounsellorHandler {
    app: AppState,
    id: ConnId,
    mailbox: Mailbox,
    strikes: u8,
    /// Set once `auth` succeeded.
    principal: Option<Principal>,
    /// This connection's frame budget.
    budget: crate::limits::FrameBudget,
    /// Once authenticated: the worker applying this connection's frames in order.
    worker: Option<std::sync::Arc<super::cluster::Worker<CounsellorOp>>>,
}

impl CounsellorHandler {
    /// The first frame: redeem the ticket or close with 1008.
    fn authenticate(&mut self, text: &str) -> Control {
        let Ok(CounsellorFrame::Auth { ticket }) = protocol::parse_counsellor(text) else {
            self.app
                .metrics
                .frames_refused
                .with_label_values(&["unauthorized"])
                .inc();
            return Control::Close(close::POLICY, "authenticate first");
        };
        let Some(principal) = self.app.auth.redeem_ticket(&ticket) else {
            self.app
                .metrics
                .frames_refused
                .with_label_values(&["unauthorized"])
                .inc();
            return Control::Close(close::POLICY, "invalid or used ticket");
        };
        let (id, mailbox) = (self.id, self.mailbox.clone());
        let (alias, role) = (principal.alias.clone(), principal.role);
        self.mailbox.send(&ServerFrame::Welcome {
            alias: alias.clone(),
            role: role.as_str().into(),
        });
        let engine = self.app.relay.engine();
        engine.counsellor_connect(id, mailbox.clone(), alias);
        let (app, mb) = (self.app.clone(), mailbox);
        let worker = engine.spawn_worker(move |engine, op: CounsellorOp| {
            let (app, mb) = (app.clone(), mb.clone());
            Box::pin(async move {
                if let Err((code, message)) = engine.counsellor_op(id, op).await {
                    refuse(&app, &mb, code, message);
                }
            })
        });
        // The callback list comes from the store: the worker's first operation.
        let _ = worker.try_send(CounsellorOp::Callbacks);
        self.worker = Some(std::sync::Arc::new(worker));
        tracing::info!(role = role.as_str(), "counsellor connected");
        self.principal = Some(principal);
        Control::Continue
    }

    /// The chat operations go to the engine's worker, in order (a connection that floods
    /// it is closed); a call log and a referral are handled here.
    fn dispatch(&mut self, frame: CounsellorFrame, text: Utf8Bytes) -> Result<(), Refusal> {
        let op = match frame {
            CounsellorFrame::Auth { .. } => {
                return Err((ErrorCode::Conflict, "already authenticated"));
            }
            CounsellorFrame::Duty {
                on: true,
                skills: Some(s),
                capacity: Some(c),
                bundle: Some(b),
            } => {
                self.check_bundle(&b)?;
                CounsellorOp::DutyOn(s, c, b)
            }
            CounsellorFrame::Duty { on: true, .. } => {
                return Err((
                    ErrorCode::BadFrame,
                    "going on duty needs skills, capacity and bundle",
                ));
            }
            CounsellorFrame::Duty { on: false, .. } => CounsellorOp::DutyOff,
            CounsellorFrame::Break { on } => CounsellorOp::Break(on),
            CounsellorFrame::Accept { conv } => CounsellorOp::Accept(conv),
            CounsellorFrame::Decline { conv } => CounsellorOp::Decline(conv),
            CounsellorFrame::Hs2 { conv, .. } => CounsellorOp::Relay(conv, None, text),
            CounsellorFrame::Data { conv, n, .. } => CounsellorOp::Relay(conv, Some(n), text),
            CounsellorFrame::Ack { conv, upto } => CounsellorOp::Ack(conv, upto),
            CounsellorFrame::Transfer { conv, to } => CounsellorOp::Transfer(conv, to),
            CounsellorFrame::End { conv, tags } => {
                self.check_tags(&tags)?;
                CounsellorOp::End(conv, tags)
            }
            CounsellorFrame::CallbackDone { id, tags } => {
                self.check_tags(&tags)?;
                CounsellorOp::CallbackDone(id, tags)
            }
            CounsellorFrame::Referral {
                conv,
                id: referral_id,
                office_id,
                sealed,
            } => return self.store_referral(conv, referral_id, office_id, sealed),
            CounsellorFrame::CallLog {
                started,
                ended,
                language,
                tags,
            } => return self.log_call(started, ended, language.as_ref(), &tags),
        };
        let Some(worker) = self.worker.clone() else {
            return Err(refusal::UNAUTHENTICATED);
        };
        let engine = self.app.relay.engine();
        if matches!(op, CounsellorOp::Relay(..) | CounsellorOp::Ack(..))
            && worker.idle()
            && engine.applies_at_once()
        {
            // The store answers at once (in memory): a relayed frame is applied here, with
            // no hop to the worker; nothing is queued before it, so the order holds.
            return super::cluster::Cluster::apply_at_once(engine.counsellor_op(self.id, op));
        }
        if !worker.try_send(op) {
            self.mailbox
                .close(close::OVERLOADED, "too many frames at once");
        }
        Ok(())
    }

    /// Counts a phone call the counsellor logged (counts only: nothing of the caller).
    fn log_call(
        &self,
        started: u64,
        ended: u64,
        language: Option<&protocol::Lang>,
        tags: &protocol::Tags,
    ) -> Result<(), Refusal> {
        self.check_tags(tags)?;
        let now_unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if ended < started
            || ended - started > MAX_CALL_S
            || ended > now_unix + CALL_CLOCK_SKEW_S
            || now_unix.saturating_sub(started) > MAX_CALL_AGE_S
        {
            return Err((
                ErrorCode::BadFrame,
                "a call log needs started <= ended, at most 12 hours long, within the last 24 hours",
            ));
        }
        self.app.relay.engine().observed().contact(
            "phone",
            language.map(|l| l.as_str()),
            tags,
            "untagged",
        );
        self.mailbox
            .send(&ServerFrame::CallLogged { started, ended });
        Ok(())
    }
}

impl CounsellorHandler {
    /// Stores a sealed referral made in one of this counsellor's live chats, for a
    /// brobygger office in the directory. The store writes durably on a blocking thread;
    /// the counsellor gets `referral_stored` with the code only once it is on disk.
    fn store_referral(
        &self,
        conv: protocol::ConvId,
        referral_id: protocol::ConvId,
        office_id: String,
        sealed: crypto::Sealed,
    ) -> Result<(), Refusal> {
        let store = self.app.referrals.clone().ok_or((
            ErrorCode::Forbidden,
            "referrals are not enabled on this server (no data directory)",
        ))?;
        if !self.app.relay.engine().counsellor_holds(self.id, conv) {
            return Err(refusal::NO_SUCH_CONVERSATION);
        }
        if !self
            .app
            .offices
            .iter()
            .any(|o| o.id == office_id && o.kind == "brobygger")
        {
            return Err((ErrorCode::NotFound, "no such brobygger office"));
        }
        if sealed.enc.len() != 32 || sealed.ct.len() < 16 {
            return Err((ErrorCode::BadFrame, "not a sealed envelope"));
        }
        if sealed.ct.len() > crate::referral::MAX_REFERRAL_CT_BYTES {
            return Err((ErrorCode::TooLarge, "the referral is too large"));
        }
        let (app, mailbox) = (self.app.clone(), self.mailbox.clone());
        self.app.tracker.spawn(async move {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let office = office_id.clone();
            let put = tokio::task::spawn_blocking(move || {
                store.put(&referral_id.0, &office, sealed, now)
            })
            .await;
            match put {
                Ok(Ok(code)) => {
                    app.metrics.referrals.with_label_values(&["stored"]).inc();
                    mailbox.send(&ServerFrame::ReferralStored { conv, code });
                    if let Some(url) = app.config.referrals.webhooks.get(&office_id) {
                        let ok = crate::webhook::notify(url, &office_id).await;
                        let result = if ok { "webhook_sent" } else { "webhook_failed" };
                        app.metrics.referrals.with_label_values(&[result]).inc();
                    }
                }
                Ok(Err(crate::referral::StoreError::Duplicate)) => refuse(
                    &app,
                    &mailbox,
                    ErrorCode::Conflict,
                    "this referral was stored already",
                ),
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "referral store");
                    refuse(
                        &app,
                        &mailbox,
                        ErrorCode::Internal,
                        "the referral could not be stored; try again",
                    );
                }
                Err(_) => refuse(&app, &mailbox, ErrorCode::Internal, "internal error"),
            }
        });
        Ok(())
    }

    /// Tags must come from the configured vocabulary (`tags` and the queues' topics), so
    /// the statistics hold categories only.
    fn check_tags(&self, tags: &protocol::Tags) -> Result<(), Refusal> {
        let c = &self.app.config;
        let topics = c.tags.all_topics(&c.queues);
        if let Some(t) = tags
            .topic
            .iter()
            .find(|t| !topics.iter().any(|k| k == t.as_str()))
        {
            tracing::debug!(tag = %t, "unknown topic tag");
            return Err((
                ErrorCode::BadFrame,
                "unknown topic tag; see /v1/console/config",
            ));
        }
        if tags
            .outcome
            .as_ref()
            .is_some_and(|o| !c.tags.outcomes.iter().any(|k| k == o.as_str()))
        {
            return Err((
                ErrorCode::BadFrame,
                "unknown outcome tag; see /v1/console/config",
            ));
        }
        if tags
            .channel
            .as_ref()
            .is_some_and(|ch| !crate::config::CHANNELS.contains(&ch.as_str()))
        {
            return Err((ErrorCode::BadFrame, "unknown channel; use chat or phone"));
        }
        Ok(())
    }

    /// The bundle must chain to the org root now and name this account: the relay refuses
    /// to route visitors to a key the visitor's widget would refuse anyway.
    fn check_bundle(&self, bundle: &Bundle) -> Result<(), Refusal> {
        let root = self
            .app
            .org_root
            .ok_or((ErrorCode::Forbidden, "no org root configured"))?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let verified = crypto::verify_bundle(&root, bundle, now).map_err(|e| {
            let message = match e.name() {
                "expired" => "certificate bundle refused: expired",
                "not_yet_valid" => "certificate bundle refused: not yet valid",
                "bad_signature" => "certificate bundle refused: not signed by this organisation",
                "shift_window" => {
                    "certificate bundle refused: shift too long or outside the identity certificate"
                }
                _ => "certificate bundle refused: malformed",
            };
            (ErrorCode::Forbidden, message)
        })?;
        let principal = self.principal.as_ref().ok_or(refusal::UNAUTHENTICATED)?;
        let role_matches = matches!(
            (verified.role(), principal.role),
            (crypto::Role::Counsellor, Role::Counsellor)
                | (crypto::Role::Supervisor, Role::Supervisor)
        );
        if verified.alias() != principal.alias || !role_matches {
            return Err((
                ErrorCode::Forbidden,
                "certificate bundle refused: it belongs to another account",
            ));
        }
        Ok(())
    }
}

impl Handler for CounsellorHandler {
    fn on_text(&mut self, text: Utf8Bytes) -> Control {
        if !admit(&self.app, &self.mailbox, &self.budget, "counsellor") {
            return Control::Continue;
        }
        if self.principal.is_none() {
            return self.authenticate(&text);
        }
        match protocol::parse_counsellor(&text) {
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
        if self.principal.is_none() {
            return Control::Close(close::POLICY, "authenticate first");
        }
        parse_failed(
            &self.app,
            &self.mailbox,
            &mut self.strikes,
            FrameError::InvalidJson,
        )
    }

    fn ready(&self) -> bool {
        self.principal.is_some()
    }

    fn on_close(&mut self) {
        // Only an authenticated connection has a worker.
        if let Some(w) = self.worker.take() {
            // After every frame already queued.
            match std::sync::Arc::try_unwrap(w) {
                Ok(w) => w.send_last(CounsellorOp::Disconnect),
                Err(w) => {
                    w.try_send(CounsellorOp::Disconnect);
                }
            }
        }
    }
}
