//! Callback requests on the shared state: a visitor's sealed request is kept in the store
//! (`Store::callback_add`), so counsellors on every node see one list and any of them can
//! mark a request done once. Each node sends the list to its own counsellors when it
//! changes here, and when its sweep finds the store's version changed (a request added,
//! handled or expired on another node).
//!
//! Rules: the queue of a request is `<lang>/phone` for a language some configured queue
//! serves; one request per visitor connection; at most `max_callbacks` pending (then
//! `queue_full` with the phone line); an envelope's ciphertext is at most
//! `MAX_CALLBACK_CT_BYTES`. The list frame carries the `MAX_LISTED` oldest requests.
//! Nothing readable is ever held: the relay keeps only the envelope.

use serde::{Deserialize, Serialize};

use super::Cluster;
use crate::protocol::{CallbackItem, ConvId, ErrorCode, QueueId, Sealed, ServerFrame};
use crate::relay::conn::ConnId;
use crate::relay::refusal::{self, Refusal};
use crate::relay::settings::Settings;
use crate::store::StoreError;

/// Largest sealed callback ciphertext: a phone number, a time and a few words need far less.
pub const MAX_CALLBACK_CT_BYTES: usize = 2048;
/// Requests listed in one `callbacks` frame (oldest first).
pub const MAX_LISTED: usize = 50;

/// The checks every callback request passes: a phone queue of a language some configured
/// queue serves, and an envelope of the right shape and size.
fn check_request(cfg: &Settings, queue: &QueueId, sealed: &Sealed) -> Result<(), Refusal> {
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

/// What the store keeps of a request besides its id: the queue and the envelope.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    queue: QueueId,
    sealed: Sealed,
}

impl Cluster {
    /// A visitor's sealed callback request under the visitor-chosen `request_id` (the
    /// envelope's aad); returns the id as listed.
    pub async fn callback_request(
        &self,
        id: ConnId,
        queue: QueueId,
        request_id: ConvId,
        sealed: Sealed,
    ) -> Result<String, Refusal> {
        check_request(&self.cfg, &queue, &sealed)?;
        {
            let local = self.local();
            let v = local.visitors.get(&id).ok_or(refusal::UNKNOWN_CONNECTION)?;
            if v.callback_sent {
                return Err(refusal::CALLBACK_SENT);
            }
        }
        let request_id = request_id.to_string();
        let entry = serde_json::to_vec(&Entry { queue, sealed }).map_err(|_| refusal::INTERNAL)?;
        match self
            .store
            .callback_add(&request_id, entry, self.cfg.max_callbacks)
            .await
        {
            Ok(()) => {}
            Err(StoreError::QueueFull) => {
                return Err(refusal::CALLBACKS_FULL);
            }
            Err(StoreError::Conflict) => {
                return Err(refusal::CALLBACK_ID_TAKEN);
            }
            Err(e) => return Err(self.refusal(&e)),
        }
        if let Some(v) = self.local().visitors.get_mut(&id) {
            v.callback_sent = true;
        }
        self.metrics
            .callbacks
            .with_label_values(&["requested"])
            .inc();
        self.broadcast_callbacks().await;
        Ok(request_id)
    }

    /// A counsellor handled a request: it is deleted everywhere. Returns its queue.
    pub async fn callback_done(&self, request_id: &str) -> Result<QueueId, Refusal> {
        let entry = match self.store.callback_take(request_id).await {
            Ok(e) => e,
            Err(StoreError::NotFound) => {
                return Err(refusal::NO_SUCH_CALLBACK);
            }
            Err(e) => return Err(self.refusal(&e)),
        };
        self.metrics.callbacks.with_label_values(&["done"]).inc();
        self.broadcast_callbacks().await;
        let entry: Entry = serde_json::from_slice(&entry).map_err(|_| refusal::INTERNAL)?;
        Ok(entry.queue)
    }

    /// The `callbacks` frame of the store's list and its version; `None` when the store
    /// cannot be reached.
    async fn callbacks_frame(&self) -> Option<(ServerFrame, u64)> {
        let list = self.store.callbacks(MAX_LISTED).await.ok()?;
        self.metrics
            .callbacks_pending
            .set(i64::try_from(list.pending).unwrap_or(i64::MAX));
        let items = list
            .items
            .into_iter()
            .filter_map(|c| {
                let entry: Entry = serde_json::from_slice(&c.entry).ok()?;
                Some(CallbackItem {
                    id: c.id,
                    queue: entry.queue,
                    sealed: entry.sealed,
                    age_s: c.age.as_secs(),
                })
            })
            .collect();
        Some((ServerFrame::Callbacks { items }, list.version))
    }

    /// Sends the list to counsellor `id` (after `welcome`). The first list this node sends
    /// sets the version its counsellors know (they all got it on connecting); a later
    /// difference is sent to all of them on the sweep.
    pub async fn send_callbacks(&self, id: ConnId) {
        let (frame, version) = self.callbacks_frame().await.map_or(
            (ServerFrame::Callbacks { items: Vec::new() }, None),
            |(f, v)| (f, Some(v)),
        );
        self.callbacks_seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_or_insert_with(|| version.unwrap_or_default());
        if let Some(c) = self.local().counsellors.get(&id) {
            c.mailbox.send(&frame);
        }
    }

    /// Sends the list to every counsellor on this node.
    pub(super) async fn broadcast_callbacks(&self) {
        let Some((frame, version)) = self.callbacks_frame().await else {
            return;
        };
        *self
            .callbacks_seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(version);
        let frame: axum::extract::ws::Utf8Bytes = frame.to_json().into();
        for c in self.local().counsellors.values() {
            c.mailbox.push(frame.clone());
        }
    }

    /// On the sweep: when the list changed elsewhere (or requests expired), send it again.
    pub(super) async fn sync_callbacks(&self) {
        let Ok(version) = self.store.callbacks_version().await else {
            return;
        };
        let changed = {
            let mut seen = self
                .callbacks_seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // Before any counsellor connected there is no one to tell.
            *seen.get_or_insert(version) != version
        };
        if changed {
            self.broadcast_callbacks().await;
        }
    }
}
