//! Hub operations started by visitors: connect, join, handshake and data relay, ack, leave,
//! disconnect.

use std::time::Instant;

use axum::extract::ws::Utf8Bytes;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{ConnId, Conv, Hub, Phase, Refusal, VisitorConn};
use crate::protocol::{ConvId, QueueId};
use crate::relay::conn::Mailbox;
use crate::relay::refusal;

impl Hub {
    /// Registers a new visitor connection.
    pub fn visitor_connect(&mut self, id: ConnId, mailbox: Mailbox) {
        self.visitors.insert(
            id,
            VisitorConn {
                mailbox,
                conv: None,
                callback_sent: false,
            },
        );
    }

    /// Puts the visitor in `queue`; they get `queued` with their position.
    pub fn visitor_join(
        &mut self,
        id: ConnId,
        queue: QueueId,
        now: Instant,
    ) -> Result<(), Refusal> {
        let visitor = self.visitors.get(&id).ok_or(refusal::UNKNOWN_CONNECTION)?;
        if visitor.conv.is_some() {
            return Err(refusal::ALREADY_IN_CONVERSATION);
        }
        if !self.has_queue(&queue) {
            return Err(refusal::UNKNOWN_QUEUE);
        }
        let (in_queue, total) = self
            .convs
            .values()
            // A visitor with a pending offer still waits: the limit counts them too (as the
            // stores do).
            .filter(|c| matches!(c.phase, Phase::Queued | Phase::Offered { .. }))
            .fold((0usize, 0usize), |(q, t), c| {
                (q + usize::from(c.queue == queue), t + 1)
            });
        if in_queue >= self.cfg.max_queue_len || total >= self.cfg.max_waiting_total {
            return Err(refusal::QUEUE_FULL);
        }
        let today = self.today();
        self.stats.joined(&today);
        let conv = ConvId::random();
        self.seq += 1;
        let priority = self.cfg.priority_topics.iter().any(|t| t == queue.topic());
        self.convs.insert(
            conv,
            Conv {
                visitor: Some(id),
                detached_at: None,
                replay: super::resume::Replay::default(),
                queue,
                joined_at: now,
                order: crate::routing::Order::joined(priority, self.seq),
                phase: Phase::Queued,
                passed: Vec::new(),
                resume: URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()),
                last_position: 0,
                first_position: 0,
                awaiting_hs1: false,
                accepted_at: None,
                parked_for: None,
            },
        );
        if let Some(v) = self.visitors.get_mut(&id) {
            v.conv = Some(conv);
        }
        self.settle(now);
        Ok(())
    }

    /// The live conversation `conv` of visitor `id`, and its counsellor.
    fn visitor_live(&self, id: ConnId, conv: ConvId) -> Result<ConnId, Refusal> {
        match self.convs.get(&conv) {
            Some(c) if c.visitor == Some(id) => match c.phase {
                Phase::Live { counsellor } => Ok(counsellor),
                Phase::Parked { .. } => Err(refusal::COUNSELLOR_RECONNECTING),
                _ => Err(refusal::NOT_ASSIGNED),
            },
            _ => Err(refusal::NO_SUCH_CONVERSATION),
        }
    }

    /// Relays Noise message 1 to the counsellor; starts the epoch's transport.
    pub fn visitor_hs1(
        &mut self,
        id: ConnId,
        conv: ConvId,
        text: Utf8Bytes,
    ) -> Result<(), Refusal> {
        let counsellor = self.visitor_live(id, conv)?;
        if let Some(c) = self.convs.get_mut(&conv) {
            c.awaiting_hs1 = false;
            c.replay.assigned_delivered();
        }
        self.forward_to_counsellor(counsellor, text);
        Ok(())
    }

    /// Relays a transport message to the counsellor. Frames that arrive after a new
    /// `assigned` but before its `hs1` belong to the previous epoch and are dropped.
    pub fn visitor_data(
        &mut self,
        id: ConnId,
        conv: ConvId,
        text: Utf8Bytes,
    ) -> Result<(), Refusal> {
        let counsellor = self.visitor_live(id, conv)?;
        match self.convs.get_mut(&conv) {
            Some(c) if c.awaiting_hs1 => return Ok(()),
            Some(c) => c.replay.hs2_delivered(),
            None => {}
        }
        self.forward_to_counsellor(counsellor, text);
        Ok(())
    }

    /// The visitor has the counsellor's frames up to `upto`: they leave the replay buffer.
    pub fn visitor_ack(&mut self, id: ConnId, conv: ConvId, upto: u64) -> Result<(), Refusal> {
        self.visitor_live(id, conv)?;
        if let Some(c) = self.convs.get_mut(&conv) {
            c.replay.ack(upto);
        }
        Ok(())
    }

    fn forward_to_counsellor(&self, counsellor: ConnId, text: Utf8Bytes) {
        if let Some(c) = self.counsellors.get(&counsellor) {
            c.mailbox.push(text);
        }
    }

    /// The visitor ends whatever they are in; both sides get `ended{visitor_left}`.
    pub fn visitor_leave(&mut self, id: ConnId, now: Instant) {
        if let Some(conv) = self.visitors.get(&id).and_then(|v| v.conv) {
            self.end_conv(conv, crate::protocol::EndReason::VisitorLeft, now);
            self.settle(now);
        }
    }

    /// The visitor's connection closed without `leave`: their conversation waits for a
    /// resume (see `resume`) and ends when the resume window passes.
    pub fn visitor_disconnect(&mut self, id: ConnId, now: Instant) {
        if let Some(conv) = self.visitors.remove(&id).and_then(|v| v.conv) {
            self.detach(conv, now);
            self.settle(now);
        }
    }
}
