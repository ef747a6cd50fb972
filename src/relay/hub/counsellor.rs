//! Hub operations started by counsellors: connect, duty, break, accept, decline, handshake and
//! data relay, transfer, end, disconnect.

use std::collections::HashSet;
use std::time::Instant;

use axum::extract::ws::Utf8Bytes;

use super::{ConnId, CounsellorConn, Duty, Hub, Phase, Refusal};
use crate::config::Role;
use crate::protocol::{
    Bundle, ConvId, ErrorCode, MAX_CAPACITY, MAX_SKILLS, MAX_TAG_VALUES, ServerFrame, Skills, Tags,
    TransferTarget,
};
use crate::relay::conn::Mailbox;
use crate::relay::refusal;

/// What going on duty must declare: at least one language and topic, at most `MAX_SKILLS`
/// of each, a capacity of 1 to `MAX_CAPACITY` (both engines check it the same way).
pub(crate) fn check_duty(skills: &Skills, capacity: u32) -> Result<(), Refusal> {
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

impl Hub {
    /// Registers an authenticated counsellor connection (off duty).
    pub fn counsellor_connect(
        &mut self,
        id: ConnId,
        mailbox: Mailbox,
        alias: String,
        role: Role,
        now: Instant,
    ) {
        self.counsellors.insert(
            id,
            CounsellorConn {
                mailbox,
                alias,
                role,
                duty: None,
                on_break: false,
                convs: HashSet::new(),
                free_since: now,
                wrap_up_until: None,
                missed_offers: 0,
            },
        );
    }

    /// Goes on duty with skills, capacity and a certificate bundle.
    pub fn duty_on(
        &mut self,
        id: ConnId,
        skills: Skills,
        capacity: u32,
        bundle: Bundle,
        now: Instant,
    ) -> Result<(), Refusal> {
        check_duty(&skills, capacity)?;
        let c = self
            .counsellors
            .get_mut(&id)
            .ok_or(refusal::UNKNOWN_CONNECTION)?;
        c.duty = Some(Duty {
            skills,
            capacity,
            bundle,
        });
        if let Some(c) = self.counsellors.get(&id) {
            let (alias, bundle) = (c.alias.clone(), c.duty.as_ref().map(|d| d.bundle.clone()));
            if let Some(bundle) = bundle {
                let assigned = |conv| -> Utf8Bytes {
                    ServerFrame::Assigned {
                        conv,
                        bundle: bundle.clone(),
                        alias: alias.clone(),
                    }
                    .to_json()
                    .into()
                };
                self.reclaim(id, &alias, assigned);
            }
        }
        self.trim_offers_to_capacity(id, now);
        self.settle(now);
        Ok(())
    }

    /// Goes off duty: pending offers go back to their queues; live chats continue.
    pub fn duty_off(&mut self, id: ConnId, now: Instant) {
        if let Some(c) = self.counsellors.get_mut(&id) {
            c.duty = None;
        }
        self.withdraw_offers_of(id, now);
        self.settle(now);
    }

    /// Takes or ends a break: no offers while on break; pending offers go back.
    pub fn set_break(&mut self, id: ConnId, on: bool, now: Instant) {
        if let Some(c) = self.counsellors.get_mut(&id) {
            c.on_break = on;
            if !on {
                c.missed_offers = 0;
            }
        }
        if on {
            self.withdraw_offers_of(id, now);
        }
        self.settle(now);
    }

    /// After a lower capacity (or new skills), pending offers beyond capacity go back to
    /// their queue, newest first. Live chats are never taken away.
    fn trim_offers_to_capacity(&mut self, id: ConnId, now: Instant) {
        let Some(c) = self.counsellors.get(&id) else {
            return;
        };
        let capacity = c.duty.as_ref().map_or(0, |d| d.capacity);
        let load = u32::try_from(c.convs.len()).unwrap_or(u32::MAX);
        let excess = usize::try_from(load.saturating_sub(capacity)).unwrap_or(usize::MAX);
        let mut offered: Vec<(Instant, ConvId)> = self
            .convs
            .iter()
            .filter_map(|(conv, x)| match x.phase {
                Phase::Offered { to, expires } if to == id => Some((expires, *conv)),
                _ => None,
            })
            .collect();
        offered.sort();
        for (_, conv) in offered.into_iter().rev().take(excess) {
            self.metrics.offers.with_label_values(&["withdrawn"]).inc();
            self.withdraw_offer(
                conv,
                id,
                now,
                false,
                crate::protocol::EndReason::OfferWithdrawn,
            );
        }
    }

    pub(super) fn withdraw_offers_of(&mut self, id: ConnId, now: Instant) {
        let offered: Vec<ConvId> = self
            .convs
            .iter()
            .filter(|(_, c)| matches!(c.phase, Phase::Offered { to, .. } if to == id))
            .map(|(conv, _)| *conv)
            .collect();
        for conv in offered {
            self.metrics.offers.with_label_values(&["withdrawn"]).inc();
            self.withdraw_offer(
                conv,
                id,
                now,
                false,
                crate::protocol::EndReason::OfferWithdrawn,
            );
        }
    }

    fn offered_to(&self, id: ConnId, conv: ConvId) -> Result<(), Refusal> {
        match self.convs.get(&conv).map(|c| c.phase) {
            Some(Phase::Offered { to, .. }) if to == id => Ok(()),
            _ => Err(refusal::OFFER_GONE),
        }
    }

    /// Accepts an offer: the visitor gets `assigned` with this counsellor's bundle.
    pub fn accept(&mut self, id: ConnId, conv: ConvId, now: Instant) -> Result<(), Refusal> {
        self.offered_to(id, conv)?;
        let counsellor = self
            .counsellors
            .get(&id)
            .ok_or(refusal::UNKNOWN_CONNECTION)?;
        let Some(duty) = counsellor.duty.as_ref() else {
            return Err(refusal::OFF_DUTY);
        };
        let frame: Utf8Bytes = ServerFrame::Assigned {
            conv,
            bundle: duty.bundle.clone(),
            alias: counsellor.alias.clone(),
        }
        .to_json()
        .into();
        let Some(c) = self.convs.get_mut(&conv) else {
            return Err(refusal::OFFER_GONE);
        };
        c.phase = Phase::Live { counsellor: id };
        c.awaiting_hs1 = true;
        c.accepted_at = Some(now);
        c.replay.start_epoch(frame.clone());
        let (visitor, queue, waited, first) = (
            c.visitor,
            c.queue.clone(),
            now.saturating_duration_since(c.joined_at),
            c.first_position,
        );
        self.metrics.offers.with_label_values(&["accepted"]).inc();
        self.metrics.conversations_live.inc();
        self.metrics
            .wait_seconds
            .with_label_values(&[queue.as_str()])
            .observe(waited.as_secs_f64());
        if let Some(c) = self.counsellors.get_mut(&id) {
            c.missed_offers = 0;
        }
        self.observe_wait(&queue, waited, first);
        let today = self.today();
        self.stats.waited(&today, waited.as_secs_f64());
        if let Some(v) = visitor.and_then(|id| self.visitors.get(&id)) {
            v.mailbox.push(frame);
        }
        Ok(())
    }

    /// Declines an offer: the visitor moves on to the next eligible counsellor.
    pub fn decline(&mut self, id: ConnId, conv: ConvId, now: Instant) -> Result<(), Refusal> {
        self.offered_to(id, conv)?;
        self.metrics.offers.with_label_values(&["declined"]).inc();
        if let Some(c) = self.counsellors.get_mut(&id) {
            c.missed_offers = 0;
        }
        if let Some(c) = self.convs.get_mut(&conv) {
            c.phase = Phase::Queued;
            c.passed.push((id, now));
        }
        self.release_slot(id, conv, now);
        self.settle(now);
        Ok(())
    }

    /// The visitor of a conversation this counsellor holds live (`None` while away).
    pub(crate) fn counsellor_live(
        &self,
        id: ConnId,
        conv: ConvId,
    ) -> Result<Option<ConnId>, Refusal> {
        match self.convs.get(&conv) {
            Some(c) if c.phase == (Phase::Live { counsellor: id }) => Ok(c.visitor),
            _ => Err(refusal::NO_SUCH_CONVERSATION),
        }
    }

    /// Relays a counsellor frame to the visitor, verbatim: `hs2` when `n` is `None`, else
    /// `data` with counter `n`. Kept for replay until the visitor acknowledges it, so a
    /// visitor who is away gets it on resume.
    pub fn counsellor_relay(
        &mut self,
        id: ConnId,
        conv: ConvId,
        n: Option<u64>,
        text: Utf8Bytes,
    ) -> Result<(), Refusal> {
        let visitor = self.counsellor_live(id, conv)?;
        if let Some(c) = self.convs.get_mut(&conv) {
            match n {
                Some(n) => c.replay.push(n, text.clone()),
                None => c.replay.set_hs2(text.clone()),
            }
        }
        if let Some(v) = visitor.and_then(|v| self.visitors.get(&v)) {
            v.mailbox.push(text);
        }
        Ok(())
    }

    /// Accepts an acknowledgement of the visitor's frames (nothing is buffered yet).
    pub fn counsellor_ack(&mut self, id: ConnId, conv: ConvId) -> Result<(), Refusal> {
        self.counsellor_live(id, conv).map(|_| ())
    }

    /// Ends a live conversation; both sides get `ended{counsellor_ended}`.
    pub fn end(
        &mut self,
        id: ConnId,
        conv: ConvId,
        tags: &Tags,
        now: Instant,
    ) -> Result<(), Refusal> {
        self.counsellor_live(id, conv)?;
        if tags.topic.len() > MAX_TAG_VALUES {
            return Err(refusal::TOO_MANY_TOPICS);
        }
        let channel = tags.channel.as_ref().map_or("chat", |c| c.as_str());
        let lang = self.convs.get(&conv).map(|c| c.queue.lang().to_owned());
        self.count_contact(channel, lang.as_deref(), tags, "untagged");
        self.end_conv(conv, crate::protocol::EndReason::CounsellorEnded, now);
        self.settle(now);
        Ok(())
    }

    /// Transfers a live conversation to the front of a queue, or offers it directly to an
    /// available colleague. The transferring counsellor gets `ended{transferred}`; the
    /// visitor gets `queued` (to a queue) or a new `assigned` (when the colleague accepts).
    pub fn transfer(
        &mut self,
        id: ConnId,
        conv: ConvId,
        to: &TransferTarget,
        now: Instant,
    ) -> Result<(), Refusal> {
        self.counsellor_live(id, conv)?;
        if let Some(c) = self.convs.get_mut(&conv) {
            // The visitor is not offered straight back to the one who transferred them.
            c.passed.push((id, now));
        }
        match (&to.queue, &to.alias) {
            (Some(queue), None) => {
                if !self.has_queue(queue) {
                    return Err(refusal::UNKNOWN_QUEUE);
                }
                self.requeue_front(conv, queue.clone());
            }
            (None, Some(alias)) => {
                let target = self
                    .counsellors
                    .iter()
                    .find(|(cid, c)| {
                        **cid != id
                            && c.alias.eq_ignore_ascii_case(alias.as_str())
                            && !c.on_break
                            && c.duty.as_ref().is_some_and(|d| {
                                u32::try_from(c.convs.len()).unwrap_or(u32::MAX) < d.capacity
                            })
                    })
                    .map(|(cid, _)| *cid)
                    .ok_or(refusal::COLLEAGUE_UNAVAILABLE)?;
                let queue = self.convs.get(&conv).map(|c| c.queue.clone());
                if let Some(queue) = queue {
                    self.requeue_front(conv, queue);
                }
                self.offer(conv, target, now);
            }
            _ => {
                return Err(refusal::TRANSFER_TARGET);
            }
        }
        self.release_slot(id, conv, now);
        if let Some(c) = self.counsellors.get(&id) {
            c.mailbox.send(&ServerFrame::Ended {
                conv,
                reason: crate::protocol::EndReason::Transferred,
            });
        }
        self.settle(now);
        Ok(())
    }

    /// The counsellor's connection closed: pending offers return to their queues; live chats
    /// are parked for the reconnect window (see `reclaim`), then return to the front of their
    /// queue.
    pub fn counsellor_disconnect(&mut self, id: ConnId, now: Instant) {
        let Some(c) = self.counsellors.remove(&id) else {
            return;
        };
        for conv in c.convs {
            let Some(phase) = self.convs.get(&conv).map(|c| c.phase) else {
                continue;
            };
            match phase {
                Phase::Offered { .. } => {
                    self.metrics.offers.with_label_values(&["withdrawn"]).inc();
                    if let Some(c) = self.convs.get_mut(&conv) {
                        c.phase = Phase::Queued;
                    }
                }
                Phase::Live { .. } => self.park(conv, &c.alias, now),
                Phase::Queued | Phase::Parked { .. } => {}
            }
        }
        self.settle(now);
    }
}
