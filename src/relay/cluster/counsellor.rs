//! Counsellor operations on the shared state: connect, duty, break, accept, decline,
//! handshake and data relay, ack, transfer, end, disconnect.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;

use super::{Cluster, CounsellorConv, Duty, Kind, LocalCounsellor, counter};
use crate::protocol::{
    Bundle, ConvId, ErrorCode, MAX_CAPACITY, MAX_SKILLS, MAX_TAG_VALUES, ServerFrame, Skills, Tags,
    TransferTarget,
};
use crate::relay::conn::{ConnId, Mailbox};
use crate::relay::refusal::{self, Refusal};
use crate::store::{Side, StoreError};

/// What going on duty must declare: at least one language and topic, at most `MAX_SKILLS`
/// of each, a capacity of 1 to `MAX_CAPACITY`.
fn check_duty(skills: &Skills, capacity: u32) -> Result<(), Refusal> {
    if skills.langs.is_empty() || skills.topics.is_empty() {
        return Err((
            ErrorCode::BadFrame,
            "skills need at least one language and one topic",
        ));
    }
    if skills.langs.len() > MAX_SKILLS || skills.topics.len() > MAX_SKILLS {
        return Err((ErrorCode::BadFrame, "too many skills"));
    }
    if !(1..=MAX_CAPACITY).contains(&capacity) {
        return Err((ErrorCode::BadFrame, "capacity must be between 1 and 8"));
    }
    Ok(())
}

/// A counsellor frame for the shared engine, applied in order by the connection's worker.
#[derive(Debug)]
pub enum CounsellorOp {
    /// `duty{on: true, …}` (the bundle already verified).
    DutyOn(Skills, u32, Bundle),
    /// `duty{on: false}`.
    DutyOff,
    /// `break{on}`.
    Break(bool),
    /// `accept{conv}`.
    Accept(ConvId),
    /// `decline{conv}`.
    Decline(ConvId),
    /// `hs2` (`None`) or `data{n}`, verbatim.
    Relay(ConvId, Option<u64>, Utf8Bytes),
    /// `ack{upto}`.
    Ack(ConvId, u64),
    /// `transfer{conv, to}`.
    Transfer(ConvId, TransferTarget),
    /// `end{conv, tags}`.
    End(ConvId, Tags),
    /// Send the callback list (the first operation, after `welcome`).
    Callbacks,
    /// `callback_done{id, tags}` (the tags already checked).
    CallbackDone(String, Tags),
    /// The connection closed.
    Disconnect,
}

impl Cluster {
    /// Registers an authenticated counsellor connection (off duty).
    pub fn counsellor_connect(&self, id: ConnId, mailbox: Mailbox, alias: String) {
        self.local().counsellors.insert(
            id,
            LocalCounsellor {
                mailbox,
                alias,
                duty: None,
                missed_offers: 0,
                offers: HashMap::new(),
                live: HashMap::new(),
            },
        );
    }

    /// Whether counsellor `id` holds `conv` live (referrals, acknowledgments).
    pub fn counsellor_holds(&self, id: ConnId, conv: ConvId) -> bool {
        self.local()
            .counsellors
            .get(&id)
            .is_some_and(|c| c.live.contains_key(&conv))
    }

    /// Applies one counsellor frame. Anything but a relayed frame changes who can be
    /// offered whom, so routing runs at once after it.
    pub async fn counsellor_op(&self, id: ConnId, op: CounsellorOp) -> Result<(), Refusal> {
        let routes = !matches!(
            op,
            CounsellorOp::Relay(..)
                | CounsellorOp::Ack(..)
                | CounsellorOp::Callbacks
                | CounsellorOp::CallbackDone(..)
        );
        let r = self.apply_counsellor_op(id, op).await;
        if routes {
            self.route_soon();
        }
        r
    }

    async fn apply_counsellor_op(&self, id: ConnId, op: CounsellorOp) -> Result<(), Refusal> {
        match op {
            CounsellorOp::Callbacks => {
                self.send_callbacks(id).await;
                Ok(())
            }
            CounsellorOp::CallbackDone(request, tags) => {
                let queue = self.callback_done(&request).await?;
                self.observed()
                    .contact("phone", Some(queue.lang()), &tags, "untagged");
                Ok(())
            }
            CounsellorOp::DutyOn(skills, capacity, bundle) => {
                self.duty_on(id, skills, capacity, bundle).await
            }
            CounsellorOp::DutyOff => {
                let offers = {
                    let mut local = self.local();
                    let Some(c) = local.counsellors.get_mut(&id) else {
                        return Ok(());
                    };
                    c.duty = None;
                    c.offers.drain().map(|(k, _)| k).collect::<Vec<_>>()
                };
                let me = self.name(id);
                let _ = self.store.absent(&me).await;
                self.withdraw_all(id, offers).await;
                Ok(())
            }
            CounsellorOp::Break(on) => {
                let offers = {
                    let mut local = self.local();
                    let Some(c) = local.counsellors.get_mut(&id) else {
                        return Ok(());
                    };
                    if let Some(d) = c.duty.as_mut() {
                        d.on_break = on;
                    }
                    if !on {
                        c.missed_offers = 0;
                    }
                    if on {
                        c.offers.drain().map(|(k, _)| k).collect::<Vec<_>>()
                    } else {
                        Vec::new()
                    }
                };
                self.withdraw_all(id, offers).await;
                self.present(id).await;
                Ok(())
            }
            CounsellorOp::Accept(conv) => self.accept(id, conv).await,
            CounsellorOp::Decline(conv) => {
                let had = {
                    let mut local = self.local();
                    local.counsellors.get_mut(&id).is_some_and(|c| {
                        c.missed_offers = 0;
                        c.offers.remove(&conv).is_some()
                    })
                };
                if !had {
                    return Err(refusal::OFFER_GONE);
                }
                self.metrics.offers.with_label_values(&["declined"]).inc();
                match self.store.withdraw(conv, &self.name(id), true).await {
                    Ok(()) | Err(StoreError::Conflict | StoreError::NotFound) => Ok(()),
                    Err(e) => Err(self.refusal(&e)),
                }
            }
            CounsellorOp::Relay(conv, n, text) => {
                let visitor = self.counsellor_live(id, conv)?;
                let k = n.map_or(counter::HS2, counter::to_visitor);
                match self
                    .relay_kept(id, conv, Side::Visitor, k, text, visitor.as_deref())
                    .await
                {
                    Err(StoreError::Conflict) => {
                        // Fenced: this connection lost the chat while it was cut off.
                        self.lost_to_another(id, conv);
                        Ok(())
                    }
                    Ok(()) => {
                        if let Some(n) = n.filter(|n| super::stored_due(*n))
                            && let Some(c) = self.local().counsellors.get(&id)
                        {
                            super::tell_stored(&c.mailbox, conv, n);
                        }
                        Ok(())
                    }
                    Err(e) => Err(self.refusal(&e)),
                }
            }
            CounsellorOp::Ack(conv, upto) => {
                // An `ack` (one per frame received) needs only that the chat is theirs.
                if !self.counsellor_holds(id, conv) {
                    return Err(refusal::NO_SUCH_CONVERSATION);
                }
                self.ack_cumulative(conv, Side::Counsellor, counter::to_counsellor(upto))
                    .await
            }
            CounsellorOp::Transfer(conv, to) => self.transfer(id, conv, to).await,
            CounsellorOp::End(conv, tags) => self.end(id, conv, &tags).await,
            CounsellorOp::Disconnect => {
                self.counsellor_gone(id).await;
                Ok(())
            }
        }
    }

    /// Counsellor `id`'s write into `conv` was fenced: the chat went to another connection
    /// while this one was cut off (its node frozen or partitioned past the presence TTL).
    /// It is dropped here, and the console is told it moved on without it.
    pub(super) fn lost_to_another(&self, id: ConnId, conv: ConvId) {
        let mut local = self.local();
        let Some(c) = local.counsellors.get_mut(&id) else {
            return;
        };
        if c.live.remove(&conv).is_some() {
            self.metrics.conversations_live.dec();
            tracing::info!("a chat this node lost while cut off was dropped here (fenced)");
            c.mailbox.send(&ServerFrame::Ended {
                conv,
                reason: crate::protocol::EndReason::Reassigned,
            });
        }
    }

    /// The visitor's connection of counsellor `id`'s live `conv` (`None` while away).
    fn counsellor_live(&self, id: ConnId, conv: ConvId) -> Result<Option<String>, Refusal> {
        self.local()
            .counsellors
            .get(&id)
            .and_then(|c| c.live.get(&conv))
            .map(|l| l.visitor.clone())
            .ok_or(refusal::NO_SUCH_CONVERSATION)
    }

    async fn duty_on(
        &self,
        id: ConnId,
        skills: Skills,
        capacity: u32,
        bundle: Bundle,
    ) -> Result<(), Refusal> {
        check_duty(&skills, capacity)?;
        let excess = {
            let mut local = self.local();
            let c = local
                .counsellors
                .get_mut(&id)
                .ok_or(refusal::UNKNOWN_CONNECTION)?;
            let (on_break, wrap, free) = c
                .duty
                .as_ref()
                .map_or((false, 0, self.cfg.clock.unix_ms()), |d| {
                    (d.on_break, d.wrap_up_until_ms, d.free_since_ms)
                });
            c.duty = Some(Duty {
                alias: c.alias.clone(),
                skills,
                capacity,
                bundle,
                on_break,
                wrap_up_until_ms: wrap,
                free_since_ms: free,
                parked: Vec::new(),
            });
            // A lower capacity takes back the newest pending offers above it.
            let load = c.live.len() + c.offers.len();
            let excess = load.saturating_sub(usize::try_from(capacity).unwrap_or(usize::MAX));
            let mut offers: Vec<(Instant, ConvId)> = c
                .offers
                .iter()
                .map(|(conv, (_, at, _))| (*at, *conv))
                .collect();
            offers.sort();
            let excess: Vec<ConvId> = offers.iter().rev().take(excess).map(|(_, k)| *k).collect();
            for conv in &excess {
                c.offers.remove(conv);
            }
            excess
        };
        self.withdraw_all(id, excess).await;
        if !self.present(id).await {
            return Err(refusal::UNAVAILABLE);
        }
        self.reclaim(id).await;
        Ok(())
    }

    /// The account of counsellor `id` is on duty again: its chats parked on any node (the
    /// reconnect window) are theirs again, each under a new epoch — the console gets
    /// `resumed{conv}`, the visitor a new `assigned` with the new shift key.
    async fn reclaim(&self, id: ConnId) {
        let Some(alias) = self.local().counsellors.get(&id).map(|c| c.alias.clone()) else {
            return;
        };
        let Ok(same) = self.store.parked_as(&alias.to_lowercase()).await else {
            return;
        };
        let me = self.name(id);
        for o in same {
            let Ok(d) = serde_json::from_slice::<Duty>(&o.duty) else {
                continue;
            };
            if d.parked.is_empty() || o.counsellor == me {
                continue;
            }
            for (conv, queue) in d.parked {
                if self.store.live_with(conv).await.ok().flatten().as_deref()
                    != Some(o.counsellor.as_str())
                {
                    continue;
                }
                self.take_over(id, &me, &o.counsellor, conv, &queue).await;
                self.send(&o.counsellor, Kind::Reclaimed { conv }, None)
                    .await;
            }
        }
    }

    /// Moves live `conv` from the parked connection `from` to counsellor `id` (`me`) under a
    /// new epoch: through the front of its queue, an offer and its acceptance, each a
    /// compare-and-set — of two connections of the account reclaiming at once, one wins.
    async fn take_over(
        &self,
        id: ConnId,
        me: &str,
        from: &str,
        conv: ConvId,
        queue: &crate::protocol::QueueId,
    ) {
        // A reclaim is never refused for capacity (as on one node).
        let moved = async {
            self.store
                .requeue_front(conv, queue, self.priority(queue), Some(from), None)
                .await?;
            self.store
                .offer(conv, me, u32::MAX, self.cfg.offer_timeout)
                .await?;
            self.store.accept(conv, me).await
        };
        if moved.await.is_err() {
            // Routed elsewhere meanwhile, or gone: the visitor is served by the queue.
            return;
        }
        if let Some(c) = self.local().counsellors.get_mut(&id) {
            c.offers
                .insert(conv, (queue.clone(), self.now(), Duration::ZERO));
        }
        if self.finish_accept(id, conv, false).await.is_ok()
            && let Some(c) = self.local().counsellors.get(&id)
        {
            c.mailbox.send(&ServerFrame::Resumed { conv, have: None });
        }
    }

    /// Publishes counsellor `id`'s presence (renewed by the ticker); false when the store
    /// cannot be reached.
    pub(super) async fn present(&self, id: ConnId) -> bool {
        let duty = self
            .local()
            .counsellors
            .get(&id)
            .and_then(|c| c.duty.clone());
        let Some(duty) = duty else {
            return true;
        };
        self.publish_presence(id, &duty).await
    }

    /// Publishes connection `id`'s presence with `duty`, indexed by account and by the slots
    /// it opens to routing; false when the store cannot be reached.
    async fn publish_presence(&self, id: ConnId, duty: &Duty) -> bool {
        let Ok(bytes) = serde_json::to_vec(duty) else {
            return false;
        };
        let alias = duty.alias.to_lowercase();
        let presence = crate::store::Presence {
            alias: &alias,
            open: duty.open_slots(),
            parked: !duty.parked.is_empty(),
        };
        self.store
            .present(&self.name(id), bytes, presence, super::tick::PRESENCE_TTL)
            .await
            .is_ok()
    }

    /// Takes back `offers` of counsellor `id` (not counted as passed).
    async fn withdraw_all(&self, id: ConnId, offers: Vec<ConvId>) {
        let me = self.name(id);
        for conv in offers {
            if self.store.withdraw(conv, &me, false).await.is_ok() {
                self.metrics.offers.with_label_values(&["withdrawn"]).inc();
                if let Some(c) = self.local().counsellors.get(&id) {
                    c.mailbox.send(&ServerFrame::Ended {
                        conv,
                        reason: crate::protocol::EndReason::OfferWithdrawn,
                    });
                }
            }
        }
    }

    async fn accept(&self, id: ConnId, conv: ConvId) -> Result<(), Refusal> {
        {
            let local = self.local();
            let c = local
                .counsellors
                .get(&id)
                .ok_or(refusal::UNKNOWN_CONNECTION)?;
            if c.duty.is_none() {
                return Err(refusal::OFF_DUTY);
            }
            if !c.offers.contains_key(&conv) {
                return Err(refusal::OFFER_GONE);
            }
        }
        match self.store.accept(conv, &self.name(id)).await {
            Ok(()) => self.finish_accept(id, conv, true).await,
            Err(StoreError::Unavailable) => Err(refusal::UNAVAILABLE),
            Err(_) => {
                if let Some(c) = self.local().counsellors.get_mut(&id) {
                    c.offers.remove(&conv);
                }
                Err(refusal::OFFER_GONE)
            }
        }
    }

    /// After the store accepted `conv` for counsellor `id`: a new epoch (buffers reset, the
    /// counsellor's end attached, `assigned` kept for the visitor), the chat live here, and
    /// `assigned` sent to the visitor wherever they are.
    /// `first` counts the wait (not for a reclaimed chat).
    async fn finish_accept(&self, id: ConnId, conv: ConvId, first: bool) -> Result<(), Refusal> {
        let (queue, waited, frame) = {
            let local = self.local();
            let c = local
                .counsellors
                .get(&id)
                .ok_or(refusal::UNKNOWN_CONNECTION)?;
            let duty = c.duty.as_ref().ok_or(refusal::OFFER_GONE)?;
            let frame: Utf8Bytes = ServerFrame::Assigned {
                conv,
                bundle: duty.bundle.clone(),
                alias: c.alias.clone(),
            }
            .to_json()
            .into();
            let (queue, at, waited) = c.offers.get(&conv).cloned().ok_or(refusal::OFFER_GONE)?;
            (
                queue,
                waited + self.now().saturating_duration_since(at),
                frame,
            )
        };
        let me = self.name(id);
        let setup = async {
            self.store.reset_buffers(conv).await?;
            self.store.attach(conv, Side::Counsellor, &me, None).await?;
            self.store
                .append(
                    conv,
                    Side::Visitor,
                    counter::ASSIGNED,
                    frame.as_bytes().to_vec(),
                    Some(&me),
                )
                .await?;
            self.store.ends(conv).await
        };
        let visitor = match setup.await {
            Ok((visitor, _)) => visitor,
            Err(e) => return Err(self.refusal(&e)),
        };
        {
            let mut local = self.local();
            if let Some(c) = local.counsellors.get_mut(&id) {
                c.offers.remove(&conv);
                c.missed_offers = 0;
                c.live.insert(
                    conv,
                    CounsellorConv {
                        visitor: visitor.clone(),
                        queue: queue.clone(),
                        accepted_at: self.now(),
                    },
                );
            }
        }
        self.metrics.conversations_live.inc();
        if first {
            self.metrics.offers.with_label_values(&["accepted"]).inc();
            self.metrics
                .wait_seconds
                .with_label_values(&[queue.as_str()])
                .observe(waited.as_secs_f64());
            self.observed().waited(waited);
        }
        if let Some(v) = visitor {
            self.send(
                &v,
                Kind::Assigned {
                    conv,
                    counsellor: me,
                },
                Some(frame),
            )
            .await;
        }
        Ok(())
    }

    async fn end(&self, id: ConnId, conv: ConvId, tags: &Tags) -> Result<(), Refusal> {
        let visitor = self.counsellor_live(id, conv)?;
        if tags.topic.len() > MAX_TAG_VALUES {
            return Err(refusal::TOO_MANY_TOPICS);
        }
        self.store.end(conv).await.map_err(|e| self.refusal(&e))?;
        let queue = {
            let mut local = self.local();
            let c = local.counsellors.get_mut(&id);
            c.and_then(|c| {
                let live = c.live.remove(&conv)?;
                super::end_of_chat(c, &self.cfg, &self.metrics, &self.observed, &live);
                Some(live.queue)
            })
        };
        let channel = tags.channel.as_ref().map_or("chat", |c| c.as_str());
        let lang = queue.as_ref().map(|q| q.lang().to_owned());
        self.observed()
            .contact(channel, lang.as_deref(), tags, "untagged");
        self.metrics.conversations_live.dec();
        self.metrics
            .conversations_ended
            .with_label_values(&["counsellor_ended"])
            .inc();
        let frame = ServerFrame::Ended {
            conv,
            reason: crate::protocol::EndReason::CounsellorEnded,
        };
        if let Some(c) = self.local().counsellors.get(&id) {
            c.mailbox.send(&frame);
        }
        if let Some(v) = visitor {
            let reason = crate::protocol::EndReason::CounsellorEnded;
            self.send_frame(&v, Kind::Ended { conv, reason }, &frame)
                .await;
        }
        // Presence carries the new free-since and wrap-up.
        self.present(id).await;
        Ok(())
    }

    async fn transfer(&self, id: ConnId, conv: ConvId, to: TransferTarget) -> Result<(), Refusal> {
        let visitor = self.counsellor_live(id, conv)?;
        let me = self.name(id);
        let queue = match (&to.queue, &to.alias) {
            (Some(queue), None) => {
                if !self.cfg.queues.contains(queue) {
                    return Err(refusal::UNKNOWN_QUEUE);
                }
                queue.clone()
            }
            (None, Some(_)) => self
                .local()
                .counsellors
                .get(&id)
                .and_then(|c| c.live.get(&conv))
                .map(|l| l.queue.clone())
                .ok_or(refusal::NO_SUCH_CONVERSATION)?,
            _ => {
                return Err(refusal::TRANSFER_TARGET);
            }
        };
        // A colleague must be found before the chat leaves this counsellor.
        let colleague = match &to.alias {
            Some(alias) => Some(self.free_colleague(&me, alias.as_str()).await?),
            None => None,
        };
        self.store
            .requeue_front(conv, &queue, self.priority(&queue), Some(&me), Some(&me))
            .await
            .map_err(|e| self.refusal(&e))?;
        let _ = self.store.reset_buffers(conv).await;
        {
            let mut local = self.local();
            if let Some(c) = local.counsellors.get_mut(&id)
                && let Some(live) = c.live.remove(&conv)
            {
                super::end_of_chat(c, &self.cfg, &self.metrics, &self.observed, &live);
                c.mailbox.send(&ServerFrame::Ended {
                    conv,
                    reason: crate::protocol::EndReason::Transferred,
                });
            }
        }
        self.metrics.conversations_live.dec();
        if let Some(v) = &visitor {
            self.send(
                v,
                Kind::Requeued {
                    conv,
                    queue: queue.clone(),
                },
                None,
            )
            .await;
        }
        if let Some((target, capacity)) = colleague
            && self
                .store
                .offer(conv, &target, capacity, self.cfg.offer_timeout)
                .await
                .is_ok()
        {
            self.send_offer(&target, conv, &queue, Duration::ZERO).await;
        }
        self.present(id).await;
        Ok(())
    }

    /// A colleague on duty (any node) with this alias and a free slot: their connection and
    /// capacity.
    async fn free_colleague(&self, me: &str, alias: &str) -> Result<(String, u32), Refusal> {
        let theirs = self
            .store
            .on_duty_as(&alias.to_lowercase())
            .await
            .map_err(|e| self.refusal(&e))?;
        theirs
            .into_iter()
            .filter(|o| o.counsellor != me)
            .find_map(|o| {
                let d: Duty = serde_json::from_slice(&o.duty).ok()?;
                (d.open_slots() > o.load).then_some((o.counsellor, d.capacity))
            })
            .ok_or(refusal::COLLEAGUE_UNAVAILABLE)
    }

    /// Sends an offer the store committed to counsellor `to`.
    pub(super) async fn send_offer(
        &self,
        to: &str,
        conv: ConvId,
        queue: &crate::protocol::QueueId,
        waited: Duration,
    ) {
        self.metrics.offers.with_label_values(&["offered"]).inc();
        let frame = ServerFrame::Offer {
            conv,
            queue: queue.clone(),
            waited_s: waited.as_secs(),
            expires_s: self.cfg.offer_timeout.as_secs(),
        };
        self.send_frame(
            to,
            Kind::Offer {
                conv,
                queue: queue.clone(),
                waited_ms: u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
            },
            &frame,
        )
        .await;
    }

    /// The counsellor's connection closed: presence ends, pending offers go back, and live
    /// chats return to the front of their queue at once (no reconnect window across nodes).
    async fn counsellor_gone(&self, id: ConnId) {
        let Some(c) = self.local().counsellors.remove(&id) else {
            return;
        };
        let me = self.name(id);
        for conv in c.offers.keys() {
            if self.store.withdraw(*conv, &me, false).await.is_ok() {
                self.metrics.offers.with_label_values(&["withdrawn"]).inc();
            }
        }
        let window = self.cfg.reconnect_window;
        match c.duty {
            Some(mut duty) if !window.is_zero() && !c.live.is_empty() => {
                // Parked: the presence stays (marked) so the same account can reclaim the
                // chats from any node; the visitors are told the counsellor is away.
                duty.parked = c.live.iter().map(|(k, l)| (*k, l.queue.clone())).collect();
                let visitors = c
                    .live
                    .iter()
                    .map(|(k, l)| (*k, l.visitor.clone()))
                    .collect();
                self.local().parked.insert(
                    id,
                    super::Parked {
                        duty,
                        since: self.now(),
                        visitors,
                    },
                );
                self.present_parked(id).await;
                for (conv, live) in c.live {
                    if let Some(v) = live.visitor {
                        let frame = ServerFrame::Peer {
                            conv,
                            state: crate::protocol::PeerState::Away,
                        };
                        self.send_frame(&v, Kind::CounsellorAway { conv }, &frame)
                            .await;
                    }
                }
            }
            _ => {
                let _ = self.store.absent(&me).await;
                for (conv, live) in c.live {
                    self.requeue_live(conv, &live.queue, live.visitor.as_deref(), &me)
                        .await;
                }
            }
        }
    }

    /// Renews a parked connection's presence.
    pub(super) async fn present_parked(&self, id: ConnId) {
        let duty = self.local().parked.get(&id).map(|p| p.duty.clone());
        if let Some(duty) = duty {
            self.publish_presence(id, &duty).await;
        }
    }

    /// Parked chats whose window passed go back to the front of their queue; parked
    /// connections with nothing left end their presence.
    pub(super) async fn expire_parked(&self) {
        let window = self.cfg.reconnect_window;
        let now = self.now();
        let (due, done): (Vec<(ConnId, super::Parked)>, Vec<ConnId>) = {
            let mut local = self.local();
            let due_ids: Vec<ConnId> = local
                .parked
                .iter()
                .filter(|(_, p)| now.saturating_duration_since(p.since) >= window)
                .map(|(id, _)| *id)
                .collect();
            let due = due_ids
                .into_iter()
                .filter_map(|id| local.parked.remove(&id).map(|p| (id, p)))
                .collect();
            let done = std::mem::take(
                &mut *self
                    .unparked
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            );
            (due, done)
        };
        for id in done {
            let _ = self.store.absent(&self.name(id)).await;
        }
        for (id, p) in due {
            let me = self.name(id);
            for (conv, queue) in &p.duty.parked {
                if self.store.live_with(*conv).await.ok().flatten().as_deref() == Some(me.as_str())
                {
                    let visitor = p.visitors.get(conv).cloned().flatten();
                    self.requeue_live(*conv, queue, visitor.as_deref(), &me)
                        .await;
                }
            }
            let _ = self.store.absent(&me).await;
        }
    }

    /// Puts a live chat whose counsellor (`held_by`) is gone back at the front of its queue,
    /// unless it moved on to another counsellor meanwhile.
    pub(super) async fn requeue_live(
        &self,
        conv: ConvId,
        queue: &crate::protocol::QueueId,
        visitor: Option<&str>,
        held_by: &str,
    ) {
        if self
            .store
            .requeue_front(conv, queue, self.priority(queue), Some(held_by), None)
            .await
            .is_err()
        {
            return;
        }
        self.metrics.conversations_live.dec();
        self.route_soon();
        let _ = self.store.reset_buffers(conv).await;
        if let Some(v) = visitor {
            self.send(
                v,
                Kind::Requeued {
                    conv,
                    queue: queue.clone(),
                },
                None,
            )
            .await;
        }
    }
}
