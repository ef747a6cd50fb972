//! Visitor operations on the shared state: connect, join, handshake and data relay, ack,
//! leave, disconnect, resume on any node.

use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use super::{Cluster, Kind, LocalVisitor, VisitorConv, counter};
use crate::protocol::{ConvId, ErrorCode, QueueId, ServerFrame};
use crate::relay::conn::ConnId;
use crate::relay::conn::Mailbox;
use crate::relay::refusal;
use crate::relay::refusal::Refusal;
use crate::store::{JoinLimits, Replay, Side, StoreError};

/// How long after a resume the node re-reads the resume buffer on its ticks (frames the
/// counsellor's node published to the visitor's old node meanwhile).
const CATCH_UP_FOR: Duration = Duration::from_secs(3);

/// A visitor frame for the shared engine, applied in order by the connection's worker.
#[derive(Debug)]
pub enum VisitorOp {
    /// `join{queue}`, with the address's shared quota tag and limit per hour (when
    /// `rate.shared_key` is set).
    Join(QueueId, Option<(String, u32)>),
    /// `hs1` (verbatim).
    Hs1(ConvId, Utf8Bytes),
    /// `data{n}` (verbatim).
    Data(ConvId, u64, Utf8Bytes),
    /// `ack{upto}`.
    Ack(ConvId, u64),
    /// `leave`.
    Leave,
    /// `resume{token, conv, upto}`.
    Resume(String, ConvId, Option<u64>),
    /// `callback{queue, id, sealed}`.
    Callback(QueueId, ConvId, crate::protocol::Sealed),
    /// The connection closed.
    Disconnect,
}

/// The SHA-256 of a resume token: all the store keeps of it.
fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A resume token: 32 random bytes, then the queue (so a node that never saw the
/// conversation knows its queue; the token is checked by its hash, so the queue in it is as
/// authentic as the token).
fn new_token(queue: &QueueId) -> String {
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()),
        queue.as_str()
    )
}

impl Cluster {
    /// Registers a new visitor connection.
    pub fn visitor_connect(&self, id: ConnId, mailbox: Mailbox) {
        self.local().visitors.insert(
            id,
            LocalVisitor {
                mailbox,
                conv: None,
                callback_sent: false,
            },
        );
    }

    /// Applies one visitor frame. A join, leave, resume or disconnect changes who waits, so
    /// routing runs at once after it.
    pub async fn visitor_op(&self, id: ConnId, op: VisitorOp) -> Result<(), Refusal> {
        let routes = matches!(
            op,
            VisitorOp::Join(..) | VisitorOp::Leave | VisitorOp::Resume(..) | VisitorOp::Disconnect
        );
        let r = self.apply_visitor_op(id, op).await;
        if routes {
            self.route_soon();
        }
        r
    }

    async fn apply_visitor_op(&self, id: ConnId, op: VisitorOp) -> Result<(), Refusal> {
        match op {
            VisitorOp::Callback(queue, request, sealed) => {
                let stored = self.callback_request(id, queue, request, sealed).await?;
                if let Some(v) = self.local().visitors.get(&id) {
                    v.mailbox
                        .send(&ServerFrame::CallbackReceived { id: stored });
                }
                Ok(())
            }
            VisitorOp::Join(queue, quota) => {
                if let Some((tag, limit)) = quota
                    && !self.join_quota(id, &tag, limit).await?
                {
                    return Ok(());
                }
                self.visitor_join(id, queue).await
            }
            VisitorOp::Hs1(conv, text) => {
                let to = self.visitor_live(id, conv)?;
                self.visitor_conv_mut(id, conv, |c| c.awaiting_hs1 = false);
                let (r, _) = tokio::join!(
                    self.relay_kept(id, conv, Side::Counsellor, counter::HS1, text, Some(&to)),
                    self.store.ack(conv, Side::Visitor, counter::ASSIGNED),
                );
                r.map_err(|e| self.refusal(&e))
            }
            VisitorOp::Data(conv, n, text) => {
                let Some((to, first)) = self.visitor_data_to(id, conv)? else {
                    return Ok(());
                };
                let relay = self.relay_kept(
                    id,
                    conv,
                    Side::Counsellor,
                    counter::to_counsellor(n),
                    text,
                    Some(&to),
                );
                if first {
                    let (r, _) =
                        tokio::join!(relay, self.store.ack(conv, Side::Visitor, counter::HS2));
                    r
                } else {
                    relay.await
                }
                .map_err(|e| self.refusal(&e))?;
                if super::stored_due(n)
                    && let Some(v) = self.local().visitors.get(&id)
                {
                    super::tell_stored(&v.mailbox, conv, n);
                }
                Ok(())
            }
            VisitorOp::Ack(conv, upto) => {
                self.visitor_live_with(id, conv, |_| ())?;
                self.ack_cumulative(conv, Side::Visitor, counter::to_visitor(upto))
                    .await
            }
            VisitorOp::Leave => {
                let conv = self.take_visitor_conv(id);
                if let Some(c) = conv {
                    self.end_visitor_conv(
                        c.conv,
                        c.counsellor.as_deref(),
                        crate::protocol::EndReason::VisitorLeft,
                    )
                    .await;
                    let frame = ServerFrame::Ended {
                        conv: c.conv,
                        reason: crate::protocol::EndReason::VisitorLeft,
                    };
                    if let Some(v) = self.local().visitors.get(&id) {
                        v.mailbox.send(&frame);
                    }
                }
                Ok(())
            }
            VisitorOp::Resume(token, conv, upto) => {
                self.visitor_resume(id, &token, conv, upto).await
            }
            VisitorOp::Disconnect => {
                let gone = {
                    let mut local = self.local();
                    let gone = local.visitors.remove(&id).and_then(|v| v.conv);
                    if let Some(c) = &gone {
                        super::unindex(&mut local.visitor_of, c.conv, id);
                    }
                    gone
                };
                if let Some(c) = gone {
                    self.visitor_away(id, &c).await;
                }
                Ok(())
            }
        }
    }

    /// Counts a join from this address across nodes; false (and `rate_limited` with the
    /// wait sent) when over `limit` per hour.
    async fn join_quota(&self, id: ConnId, tag: &str, limit: u32) -> Result<bool, Refusal> {
        let (n, left) = self
            .store
            .count(tag, Duration::from_secs(3600))
            .await
            .map_err(|e| self.refusal(&e))?;
        if n <= u64::from(limit) {
            return Ok(true);
        }
        self.metrics
            .frames_refused
            .with_label_values(&[ErrorCode::RateLimited.as_str()])
            .inc();
        if let Some(v) = self.local().visitors.get(&id) {
            v.mailbox.send(&ServerFrame::Error {
                code: ErrorCode::RateLimited,
                message: "too many chats started from here; wait and try again".into(),
                retry_after_s: Some(left.as_secs().max(1)),
            });
        }
        Ok(false)
    }

    /// Applies `f` to visitor `id`'s conversation `conv`, if it is that.
    fn visitor_conv_mut(
        &self,
        id: ConnId,
        conv: ConvId,
        f: impl FnOnce(&mut VisitorConv),
    ) -> Option<()> {
        let mut local = self.local();
        let c = local
            .visitors
            .get_mut(&id)?
            .conv
            .as_mut()
            .filter(|c| c.conv == conv)?;
        f(c);
        Some(())
    }

    fn take_visitor_conv(&self, id: ConnId) -> Option<VisitorConv> {
        let mut local = self.local();
        let c = local.visitors.get_mut(&id)?.conv.take()?;
        super::unindex(&mut local.visitor_of, c.conv, id);
        Some(c)
    }

    /// Where visitor `id`'s `data` frame in `conv` goes, in one look at the node's state: the
    /// counsellor's connection, and whether it is the first of the epoch (it acknowledges
    /// `hs2`); `None` when it must be dropped (sent before the new epoch's `hs1`: it belongs
    /// to the previous session).
    fn visitor_data_to(&self, id: ConnId, conv: ConvId) -> Result<Option<(String, bool)>, Refusal> {
        let mut local = self.local();
        let c = local
            .visitors
            .get_mut(&id)
            .and_then(|v| v.conv.as_mut())
            .filter(|c| c.conv == conv)
            .ok_or(refusal::NO_SUCH_CONVERSATION)?;
        if c.counsellor_away {
            return Err(refusal::COUNSELLOR_RECONNECTING);
        }
        let to = c.counsellor.clone().ok_or(refusal::NOT_ASSIGNED)?;
        if c.awaiting_hs1 {
            return Ok(None);
        }
        let first = !c.hs2_acked;
        c.hs2_acked = true;
        Ok(Some((to, first)))
    }

    /// The counsellor's connection of visitor `id`'s live conversation `conv`.
    fn visitor_live(&self, id: ConnId, conv: ConvId) -> Result<String, Refusal> {
        self.visitor_live_with(id, conv, String::clone)
    }

    /// `f` of the counsellor's connection of visitor `id`'s live conversation `conv` (an
    /// `ack`, sent for every frame received, only checks there is one).
    fn visitor_live_with<R>(
        &self,
        id: ConnId,
        conv: ConvId,
        f: impl FnOnce(&String) -> R,
    ) -> Result<R, Refusal> {
        let local = self.local();
        match local
            .visitors
            .get(&id)
            .and_then(|v| v.conv.as_ref())
            .filter(|c| c.conv == conv)
        {
            Some(c) if c.counsellor_away => Err(refusal::COUNSELLOR_RECONNECTING),
            Some(c) => c.counsellor.as_ref().map(f).ok_or(refusal::NOT_ASSIGNED),
            None => Err(refusal::NO_SUCH_CONVERSATION),
        }
    }

    async fn visitor_join(&self, id: ConnId, queue: QueueId) -> Result<(), Refusal> {
        {
            let local = self.local();
            let v = local.visitors.get(&id).ok_or(refusal::UNKNOWN_CONNECTION)?;
            if v.conv.is_some() {
                return Err(refusal::ALREADY_IN_CONVERSATION);
            }
        }
        if !self.cfg.queues.contains(&queue) {
            return Err(refusal::UNKNOWN_QUEUE);
        }
        let conv = ConvId::random();
        let token = new_token(&queue);
        let me = self.name(id);
        let setup = async {
            self.store.open(conv, token_hash(&token)).await?;
            self.store
                .attach(conv, Side::Visitor, &me, Some(token_hash(&token)))
                .await?;
            Ok::<(), StoreError>(())
        };
        if let Err(e) = setup.await {
            let _ = self.store.end(conv).await;
            return Err(self.refusal(&e));
        }
        // Local state first: an offer and its acceptance may come before `join` returns.
        self.local().hold(
            id,
            VisitorConv {
                conv,
                token: token.clone(),
                queue: queue.clone(),
                counsellor: None,
                awaiting_hs1: false,
                hs2_acked: false,
                delivered: None,
                epoch: 0,
                last_position: 0,
                first_position: 0,
                joined_at: self.now(),
                counsellor_away: false,
            },
        );
        let limits = JoinLimits {
            max_queue_len: self.cfg.max_queue_len,
            max_waiting_total: self.cfg.max_waiting_total,
            lease: self.cfg.resume_window,
        };
        match self
            .store
            .join(conv, &queue, self.priority(&queue), limits)
            .await
        {
            Ok(position) => {
                self.push_position(id, conv, position);
                self.observed().joined();
                Ok(())
            }
            Err(e) => {
                self.take_visitor_conv(id);
                let _ = self.store.end(conv).await;
                Err(self.refusal(&e))
            }
        }
    }

    /// Pushes `queued{position}` to visitor `id` if it changed.
    pub(super) fn push_position(&self, id: ConnId, conv: ConvId, position: u32) {
        let mut local = self.local();
        let Some(v) = local.visitors.get_mut(&id) else {
            return;
        };
        let Some(c) = v.conv.as_mut().filter(|c| c.conv == conv) else {
            return;
        };
        if c.last_position == position || c.counsellor.is_some() {
            return;
        }
        c.last_position = position;
        if c.first_position == 0 {
            c.first_position = position;
        }
        let (queue, token) = (c.queue.clone(), c.token.clone());
        // The slots are counted only when the estimate needs them (no wait observed yet).
        let eta_s = self
            .observed()
            .eta_s(&queue, position, || super::slots_for(&local, &queue));
        if let Some(v) = local.visitors.get(&id) {
            v.mailbox.send(&ServerFrame::Queued {
                conv,
                position,
                eta_s,
                resume: token,
            });
        }
    }

    /// Ends a conversation the visitor left, telling the counsellor (live or offered).
    pub(super) async fn end_visitor_conv(
        &self,
        conv: ConvId,
        counsellor: Option<&str>,
        reason: crate::protocol::EndReason,
    ) {
        let offered_to = match counsellor {
            Some(_) => None,
            None => self.offered_to(conv).await,
        };
        if self.store.end(conv).await.is_err() {
            // The lease runs out and another tick ends it.
            return;
        }
        if counsellor.is_some() {
            self.metrics.conversations_live.dec();
        } else if reason == crate::protocol::EndReason::VisitorLeft {
            self.metrics.abandoned.inc();
            self.observed().abandoned();
        }
        self.metrics
            .conversations_ended
            .with_label_values(&[reason.as_str()])
            .inc();
        let frame = ServerFrame::Ended { conv, reason };
        if let Some(c) = counsellor.or(offered_to.as_deref()) {
            self.send_frame(c, Kind::Ended { conv, reason }, &frame)
                .await;
        }
    }

    /// The counsellor holding a pending offer of `conv`, if any.
    pub(super) async fn offered_to(&self, conv: ConvId) -> Option<String> {
        let waiting = self.store.waiting(&self.cfg.queues).await.ok()?;
        waiting
            .into_iter()
            .find(|w| w.conv == conv)
            .and_then(|w| w.offered_to)
    }

    /// The visitor's connection closed without `leave`: the conversation waits for a resume
    /// (its lease is no longer renewed here); a pending offer goes back; the counsellor is
    /// told `peer{away}`.
    async fn visitor_away(&self, id: ConnId, c: &VisitorConv) {
        let _ = self
            .store
            .detach(c.conv, Side::Visitor, &self.name(id))
            .await;
        match &c.counsellor {
            Some(counsellor) => {
                let frame = ServerFrame::Peer {
                    conv: c.conv,
                    state: crate::protocol::PeerState::Away,
                };
                self.send_frame(
                    counsellor,
                    Kind::Peer {
                        conv: c.conv,
                        visitor: None,
                    },
                    &frame,
                )
                .await;
            }
            None => {
                if let Some(to) = self.offered_to(c.conv).await
                    && self.store.withdraw(c.conv, &to, false).await.is_ok()
                {
                    self.metrics.offers.with_label_values(&["withdrawn"]).inc();
                    let frame = ServerFrame::Ended {
                        conv: c.conv,
                        reason: crate::protocol::EndReason::OfferWithdrawn,
                    };
                    self.send_frame(
                        &to,
                        Kind::Withdrawn {
                            conv: c.conv,
                            expired: false,
                        },
                        &frame,
                    )
                    .await;
                }
            }
        }
    }

    /// `resume{token, conv, upto}` on this node: reattaches the conversation wherever it was
    /// held and replays what the visitor has not acknowledged.
    async fn visitor_resume(
        &self,
        id: ConnId,
        token: &str,
        conv: ConvId,
        upto: Option<u64>,
    ) -> Result<(), Refusal> {
        const EXPIRED: Refusal = refusal::NOT_RESUMABLE;
        if self
            .local()
            .visitors
            .get(&id)
            .is_none_or(|v| v.conv.is_some())
        {
            return Err(refusal::ALREADY_IN_CONVERSATION);
        }
        let queue = token
            .split_once('.')
            .and_then(|(_, q)| q.parse::<QueueId>().ok())
            .filter(|q| self.cfg.queues.contains(q))
            .ok_or(EXPIRED)?;
        let me = self.name(id);
        let old = match self
            .store
            .attach(conv, Side::Visitor, &me, Some(token_hash(token)))
            .await
        {
            Ok(old) => old,
            Err(StoreError::NotFound) => return Err(EXPIRED),
            Err(e) => return Err(self.refusal(&e)),
        };
        if let Some(old) = old.filter(|o| *o != me) {
            self.send(&old, Kind::Close, None).await;
        }
        let _ = self.store.keep(conv, self.cfg.resume_window).await;
        let counsellor = self
            .store
            .live_with(conv)
            .await
            .map_err(|e| self.refusal(&e))?;
        let mut vc = VisitorConv {
            conv,
            token: token.to_owned(),
            queue,
            counsellor: counsellor.clone(),
            awaiting_hs1: false,
            hs2_acked: upto.is_some(),
            delivered: None,
            epoch: 0,
            last_position: 0,
            // A wait resumed here is not observed for the estimate (its start is elsewhere).
            first_position: 0,
            joined_at: self.now(),
            counsellor_away: false,
        };
        let mut frames = Vec::new();
        // What the relay has of the visitor's frames: they send the rest again.
        let mut have = None;
        if counsellor.is_some() {
            have = self
                .store
                .kept_upto(conv, Side::Counsellor)
                .await
                .map_err(|e| self.refusal(&e))?
                .and_then(counter::visitor_data);
            match self
                .store
                .replay(conv, Side::Visitor, upto.map(counter::to_visitor))
                .await
            {
                Ok(Replay::Frames(kept)) => {
                    vc.awaiting_hs1 = kept.first().is_some_and(|k| k.n == counter::ASSIGNED);
                    vc.delivered = kept.last().map(|k| k.n).or(upto.map(counter::to_visitor));
                    frames = kept;
                }
                Ok(Replay::Lost) => {
                    self.end_visitor_conv(
                        conv,
                        counsellor.as_deref(),
                        crate::protocol::EndReason::ResumeFailed,
                    )
                    .await;
                    return Err(EXPIRED);
                }
                Err(e) => return Err(self.refusal(&e)),
            }
        } else if self.store.position(conv).await.is_err() {
            // Neither live nor waiting: an offer is being accepted this instant, or it ended.
            return Err(EXPIRED);
        }
        {
            let mut local = self.local();
            let Some(v) = local.visitors.get_mut(&id) else {
                return Err(EXPIRED);
            };
            v.mailbox.send(&ServerFrame::Resumed { conv, have });
            for k in frames {
                if let Ok(text) = String::from_utf8(k.frame) {
                    v.mailbox.push(text.into());
                }
            }
            local.hold(id, vc);
            let until = self.now() + CATCH_UP_FOR;
            local.catching_up.push((id, until));
        }
        if let Some(c) = counsellor {
            let frame = ServerFrame::Peer {
                conv,
                state: crate::protocol::PeerState::Back,
            };
            self.send_frame(
                &c,
                Kind::Peer {
                    conv,
                    visitor: Some(me),
                },
                &frame,
            )
            .await;
        } else if let Ok(position) = self.store.position(conv).await {
            self.push_position(id, conv, position);
        }
        Ok(())
    }

    /// Re-reads the resume buffers of this node's live visitors and pushes what they have
    /// not been sent (after an inbox interruption, or shortly after a resume). Frames are
    /// pushed in order and never twice.
    pub(super) async fn catch_up(&self, only_recent: bool) {
        let now = self.now();
        let targets: Vec<ConnId> = {
            let mut local = self.local();
            if only_recent {
                local.catching_up.retain(|(_, until)| *until >= now);
                local.catching_up.iter().map(|(id, _)| *id).collect()
            } else {
                local.visitors.keys().copied().collect()
            }
        };
        for id in targets {
            self.catch_up_visitor(id).await;
        }
    }

    /// Re-reads visitor `id`'s resume buffer and pushes, in order, what they have not been
    /// sent.
    pub(super) async fn catch_up_visitor(&self, id: ConnId) {
        let target = self.local().visitors.get(&id).and_then(|v| {
            let c = v.conv.as_ref()?;
            c.counsellor.as_ref()?;
            Some((c.conv, c.delivered, c.epoch))
        });
        if let Some((conv, delivered, epoch)) = target {
            let Ok(Replay::Frames(kept)) = self.store.replay(conv, Side::Visitor, delivered).await
            else {
                return;
            };
            let mut local = self.local();
            let Some(v) = local.visitors.get_mut(&id) else {
                return;
            };
            // A new epoch began while the buffer was read: what was read is the old session's.
            let Some(c) = v
                .conv
                .as_mut()
                .filter(|c| c.conv == conv && c.epoch == epoch)
            else {
                return;
            };
            for k in kept {
                if c.delivered.is_none_or(|d| k.n > d)
                    && let Ok(text) = String::from_utf8(k.frame)
                {
                    c.delivered = Some(k.n);
                    v.mailbox.push(text.into());
                }
            }
        }
    }

    /// After an inbox interruption: catch every live visitor up.
    pub(super) async fn catch_up_all(&self) {
        self.catch_up(false).await;
    }
}
