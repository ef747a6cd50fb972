//! Callback requests for the phone desk: a visitor sends a request sealed in the browser to
//! the phone desk's key (HPKE, PROTOCOL.md §4); the relay keeps only the envelope, shows the
//! list to counsellors, and deletes a request when a counsellor marks it done or when its TTL
//! passes. Nothing readable is ever held.
//!
//! Rules: the queue of a request is `<lang>/phone` for a language some configured queue
//! serves; one request per visitor connection; at most `max_callbacks` pending (then
//! `queue_full` with the phone line); an envelope's ciphertext is at most
//! `MAX_CALLBACK_CT_BYTES`. The list frame carries the `MAX_LISTED` oldest requests.

use std::time::Instant;

use super::{ConnId, Hub, Refusal};
use crate::protocol::{CallbackItem, ConvId, ErrorCode, QueueId, Sealed, ServerFrame};
use crate::relay::refusal;

/// Largest sealed callback ciphertext: a phone number, a time and a few words need far less.
pub const MAX_CALLBACK_CT_BYTES: usize = 2048;
/// Requests listed in one `callbacks` frame (oldest first).
pub const MAX_LISTED: usize = 50;

/// A pending callback request: only the envelope and routing metadata.
#[derive(Debug)]
pub(super) struct Callback {
    queue: QueueId,
    sealed: Sealed,
    created: Instant,
}

/// The checks every callback request passes, on any engine: a phone queue of a language some
/// configured queue serves, and an envelope of the right shape and size.
pub(crate) fn check_request(
    cfg: &super::HubConfig,
    queue: &QueueId,
    sealed: &Sealed,
) -> Result<(), Refusal> {
    if queue.topic() != "phone" || !cfg.queues.iter().any(|q| q.lang() == queue.lang()) {
        return Err((
            ErrorCode::UnknownQueue,
            "no such phone queue; use <lang>/phone",
        ));
    }
    if sealed.enc.len() != 32 || sealed.ct.len() > MAX_CALLBACK_CT_BYTES {
        return Err((
            ErrorCode::TooLarge,
            "a callback envelope is a 32-byte key and at most 2048 bytes",
        ));
    }
    Ok(())
}

impl Hub {
    /// A visitor's sealed callback request under the visitor-chosen `request_id` (the
    /// envelope's aad); returns the id as listed.
    pub fn callback_request(
        &mut self,
        id: ConnId,
        queue: QueueId,
        request_id: ConvId,
        sealed: Sealed,
        now: Instant,
    ) -> Result<String, Refusal> {
        check_request(&self.cfg, &queue, &sealed)?;
        let visitor = self
            .visitors
            .get_mut(&id)
            .ok_or(refusal::UNKNOWN_CONNECTION)?;
        if visitor.callback_sent {
            return Err(refusal::CALLBACK_SENT);
        }
        if self.callbacks.len() >= self.cfg.max_callbacks {
            return Err(refusal::CALLBACKS_FULL);
        }
        let request_id = request_id.to_string();
        if self.callbacks.contains_key(&request_id) {
            return Err(refusal::CALLBACK_ID_TAKEN);
        }
        visitor.callback_sent = true;
        self.callbacks.insert(
            request_id.clone(),
            Callback {
                queue,
                sealed,
                created: now,
            },
        );
        self.metrics
            .callbacks
            .with_label_values(&["requested"])
            .inc();
        self.broadcast_callbacks(now);
        Ok(request_id)
    }

    /// A counsellor handled a request: it is deleted. Returns the queue it came from.
    pub fn callback_done(
        &mut self,
        id: ConnId,
        request_id: &str,
        now: Instant,
    ) -> Result<QueueId, Refusal> {
        if !self.counsellors.contains_key(&id) {
            return Err(refusal::UNAUTHENTICATED);
        }
        let done = self
            .callbacks
            .remove(request_id)
            .ok_or(refusal::NO_SUCH_CALLBACK)?;
        self.metrics.callbacks.with_label_values(&["done"]).inc();
        self.broadcast_callbacks(now);
        Ok(done.queue)
    }

    /// Deletes requests older than their TTL.
    pub(super) fn expire_callbacks(&mut self, now: Instant) {
        let ttl = self.cfg.callback_ttl;
        let before = self.callbacks.len();
        self.callbacks
            .retain(|_, c| now.saturating_duration_since(c.created) < ttl);
        let expired = before - self.callbacks.len();
        if expired > 0 {
            self.metrics
                .callbacks
                .with_label_values(&["expired"])
                .inc_by(u64::try_from(expired).unwrap_or(u64::MAX));
            self.broadcast_callbacks(now);
        }
    }

    /// The `callbacks` frame: the oldest pending requests.
    pub fn callbacks_frame(&self, now: Instant) -> ServerFrame {
        let mut items: Vec<(&String, &Callback)> = self.callbacks.iter().collect();
        items.sort_by_key(|(_, c)| c.created);
        let items = items
            .into_iter()
            .take(MAX_LISTED)
            .map(|(id, c)| CallbackItem {
                id: id.clone(),
                queue: c.queue.clone(),
                sealed: c.sealed.clone(),
                age_s: now.saturating_duration_since(c.created).as_secs(),
            })
            .collect();
        ServerFrame::Callbacks { items }
    }

    /// Sends the current list to every connected counsellor.
    fn broadcast_callbacks(&self, now: Instant) {
        self.metrics
            .callbacks_pending
            .set(i64::try_from(self.callbacks.len()).unwrap_or(i64::MAX));
        let frame: axum::extract::ws::Utf8Bytes = self.callbacks_frame(now).to_json().into();
        for c in self.counsellors.values() {
            c.mailbox.push(frame.clone());
        }
    }
}
