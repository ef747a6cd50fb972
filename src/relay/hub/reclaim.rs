//! The counsellor reconnect window: when a counsellor's connection drops (a console reload,
//! a network hiccup), their live chats are parked for `routing.reconnect_window_s` instead of
//! going back to the queue at once. The visitor is told `peer{away}`. When the same account
//! comes back on duty within the window, each parked chat is theirs again under a new session
//! epoch: the counsellor gets `resumed{conv}`, the visitor a new `assigned` with the new
//! shift key, and both handshake afresh (the keys of the lost console are gone). When the
//! window passes, the chats go to the front of their queue and the visitors get `queued`.

use std::time::Instant;

use axum::extract::ws::Utf8Bytes;

use super::{ConnId, Hub, Phase};
use crate::protocol::{ConvId, ServerFrame};

impl Hub {
    /// Parks a live chat of a counsellor who dropped, or requeues it at once when the
    /// window is zero.
    pub(super) fn park(&mut self, conv: ConvId, alias: &str, now: Instant) {
        if self.cfg.reconnect_window.is_zero() {
            if let Some(queue) = self.convs.get(&conv).map(|c| c.queue.clone()) {
                self.requeue_front(conv, queue);
            }
            return;
        }
        let Some(c) = self.convs.get_mut(&conv) else {
            return;
        };
        c.phase = Phase::Parked { since: now };
        c.parked_for = Some(alias.to_owned());
        if let Some(v) = c.visitor.and_then(|id| self.visitors.get(&id)) {
            v.mailbox.send(&ServerFrame::Peer {
                conv,
                state: crate::protocol::PeerState::Away,
            });
        }
    }

    /// The counsellor `id` (alias `alias`) is on duty again: their parked chats are theirs,
    /// each under a new epoch.
    pub(super) fn reclaim(
        &mut self,
        id: ConnId,
        alias: &str,
        assigned: impl Fn(ConvId) -> Utf8Bytes,
    ) {
        let parked: Vec<ConvId> = self
            .convs
            .iter()
            .filter(|(_, c)| {
                matches!(c.phase, Phase::Parked { .. }) && c.parked_for.as_deref() == Some(alias)
            })
            .map(|(conv, _)| *conv)
            .collect();
        for conv in parked {
            let frame = assigned(conv);
            let Some(c) = self.convs.get_mut(&conv) else {
                continue;
            };
            c.phase = Phase::Live { counsellor: id };
            c.parked_for = None;
            c.awaiting_hs1 = true;
            c.replay.start_epoch(frame.clone());
            let visitor = c.visitor;
            if let Some(cc) = self.counsellors.get_mut(&id) {
                cc.convs.insert(conv);
                cc.mailbox.send(&ServerFrame::Resumed { conv });
            }
            if let Some(v) = visitor.and_then(|v| self.visitors.get(&v)) {
                v.mailbox.push(frame);
            }
        }
    }

    /// Parked chats whose window has passed go to the front of their queue.
    pub(super) fn expire_parked(&mut self, now: Instant) {
        let window = self.cfg.reconnect_window;
        let due: Vec<ConvId> = self
            .convs
            .iter()
            .filter(|(_, c)| matches!(c.phase, Phase::Parked { since } if now.saturating_duration_since(since) >= window))
            .map(|(conv, _)| *conv)
            .collect();
        for conv in due {
            if let Some(queue) = self.convs.get(&conv).map(|c| c.queue.clone()) {
                self.requeue_front(conv, queue);
            }
        }
    }
}
