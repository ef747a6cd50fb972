//! Resume: a visitor whose connection drops keeps their conversation (and their place in the
//! queue) for `resume_window`; reconnecting in the same tab with `resume{token, conv, upto}`
//! reattaches it and replays exactly the frames the visitor has not acknowledged — no loss,
//! no duplicates. The counsellor is told `peer{away|back}`.
//!
//! Frames to the visitor are kept in a bounded per-conversation replay buffer until the
//! visitor acks them: at most `MAX_REPLAY_FRAMES` frames and `MAX_REPLAY_BYTES` bytes. When a
//! visitor does not ack and the buffer is full, the oldest frames are dropped and remembered
//! as lost: a later resume that would need them is refused (`resume_expired`) rather than
//! silently skipping messages. A new epoch (`assigned`) empties the buffer.

use std::collections::VecDeque;
use std::time::Instant;

use axum::extract::ws::Utf8Bytes;
use subtle::ConstantTimeEq as _;

use super::{ConnId, Hub, Phase, Refusal};
use crate::protocol::{ConvId, ServerFrame};
use crate::relay::refusal;

/// Most frames kept for one conversation's resume.
pub const MAX_REPLAY_FRAMES: usize = 512;
/// Most bytes kept for one conversation's resume.
pub const MAX_REPLAY_BYTES: usize = 1024 * 1024;

/// Frames sent to the visitor and not yet acknowledged, for replay after a resume.
#[derive(Debug, Default)]
pub(super) struct Replay {
    /// `data` frames with their counters, oldest first.
    frames: VecDeque<(u64, Utf8Bytes)>,
    bytes: usize,
    /// The epoch's `assigned`, kept until the visitor's `hs1` proves it arrived.
    assigned: Option<Utf8Bytes>,
    /// The epoch's `hs2`, kept until the visitor's first `data` proves it arrived.
    hs2: Option<Utf8Bytes>,
    /// Highest counter dropped unacknowledged because the buffer was full.
    lost_upto: Option<u64>,
}

impl Replay {
    /// Keeps a `data` frame sent to the visitor.
    pub(super) fn push(&mut self, n: u64, text: Utf8Bytes) {
        self.bytes += text.len();
        self.frames.push_back((n, text));
        while self.frames.len() > MAX_REPLAY_FRAMES || self.bytes > MAX_REPLAY_BYTES {
            let Some((lost, t)) = self.frames.pop_front() else {
                break;
            };
            self.bytes -= t.len();
            self.lost_upto = Some(lost);
        }
    }

    /// Starts a new epoch with its `assigned` frame: nothing of the previous one is replayed.
    pub(super) fn start_epoch(&mut self, assigned: Utf8Bytes) {
        *self = Self {
            assigned: Some(assigned),
            ..Self::default()
        };
    }

    /// The visitor sent `hs1`, so it has `assigned`.
    pub(super) fn assigned_delivered(&mut self) {
        self.assigned = None;
    }

    /// Keeps the epoch's `hs2`.
    pub(super) fn set_hs2(&mut self, text: Utf8Bytes) {
        self.hs2 = Some(text);
    }

    /// The visitor sent transport data, so it has `hs2`.
    pub(super) fn hs2_delivered(&mut self) {
        self.hs2 = None;
    }

    /// Drops frames up to and including counter `upto`.
    pub(super) fn ack(&mut self, upto: u64) {
        while self.frames.front().is_some_and(|(n, _)| *n <= upto) {
            if let Some((_, t)) = self.frames.pop_front() {
                self.bytes -= t.len();
            }
        }
    }

    /// A new epoch: nothing of the previous one is replayed.
    pub(super) fn clear(&mut self) {
        *self = Self::default();
    }

    /// The frames to replay for a visitor who has everything up to `upto`, or `None` when
    /// some of them were lost.
    fn after(&self, upto: Option<u64>) -> Option<Vec<Utf8Bytes>> {
        if let Some(lost) = self.lost_upto
            && upto.is_none_or(|u| u < lost)
        {
            return None;
        }
        let mut out: Vec<Utf8Bytes> = self.assigned.iter().chain(&self.hs2).cloned().collect();
        out.extend(
            self.frames
                .iter()
                .filter(|(n, _)| upto.is_none_or(|u| *n > u))
                .map(|(_, t)| t.clone()),
        );
        Some(out)
    }
}

impl Hub {
    /// The visitor's connection is gone: keep their conversation for the resume window.
    pub(super) fn detach(&mut self, conv: ConvId, now: Instant) {
        let Some(c) = self.convs.get_mut(&conv) else {
            return;
        };
        c.visitor = None;
        c.detached_at = Some(now);
        match c.phase {
            Phase::Offered { to, .. } => {
                // Do not hand an absent visitor to a counsellor; they keep their place.
                self.metrics.offers.with_label_values(&["withdrawn"]).inc();
                self.withdraw_offer(
                    conv,
                    to,
                    now,
                    false,
                    crate::protocol::EndReason::OfferWithdrawn,
                );
            }
            Phase::Live { counsellor } => {
                if let Some(cc) = self.counsellors.get(&counsellor) {
                    cc.mailbox.send(&ServerFrame::Peer {
                        conv,
                        state: crate::protocol::PeerState::Away,
                    });
                }
            }
            Phase::Queued | Phase::Parked { .. } => {}
        }
    }

    /// Ends conversations whose visitor has been away longer than the resume window.
    pub(super) fn expire_detached(&mut self, now: Instant) {
        let window = self.cfg.resume_window;
        let expired: Vec<ConvId> = self
            .convs
            .iter()
            .filter(|(_, c)| {
                c.detached_at
                    .is_some_and(|at| now.saturating_duration_since(at) >= window)
            })
            .map(|(id, _)| *id)
            .collect();
        for conv in expired {
            self.end_conv(conv, crate::protocol::EndReason::VisitorLeft, now);
        }
    }

    /// `resume{token, conv, upto}` on a new connection: reattaches the conversation and replays
    /// what the visitor has not acknowledged.
    pub fn visitor_resume(
        &mut self,
        id: ConnId,
        token: &str,
        conv: ConvId,
        upto: Option<u64>,
        now: Instant,
    ) -> Result<(), Refusal> {
        const EXPIRED: Refusal = refusal::NOT_RESUMABLE;
        if self.visitors.get(&id).is_none_or(|v| v.conv.is_some()) {
            return Err(refusal::ALREADY_IN_CONVERSATION);
        }
        let c = self.convs.get(&conv).ok_or(EXPIRED)?;
        if !bool::from(c.resume.as_bytes().ct_eq(token.as_bytes())) {
            return Err(EXPIRED);
        }
        let Some(replay) = c.replay.after(upto) else {
            self.end_conv(conv, crate::protocol::EndReason::ResumeFailed, now);
            self.settle(now);
            return Err(EXPIRED);
        };
        if let Some(old) = c.visitor
            && let Some(v) = self.visitors.get_mut(&old)
        {
            // The old connection is still open from the server's view: this one takes over.
            v.conv = None;
            v.mailbox.close(
                crate::protocol::close::POLICY,
                "resumed on another connection",
            );
        }
        let Some(c) = self.convs.get_mut(&conv) else {
            return Err(EXPIRED);
        };
        c.visitor = Some(id);
        c.detached_at = None;
        c.last_position = 0;
        let phase = c.phase;
        let Some(v) = self.visitors.get_mut(&id) else {
            return Err(EXPIRED);
        };
        v.conv = Some(conv);
        v.mailbox.send(&ServerFrame::Resumed { conv });
        for text in replay {
            v.mailbox.push(text);
        }
        if let Phase::Live { counsellor } = phase
            && let Some(cc) = self.counsellors.get(&counsellor)
        {
            cc.mailbox.send(&ServerFrame::Peer {
                conv,
                state: crate::protocol::PeerState::Back,
            });
        }
        self.settle(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: u64) -> Utf8Bytes {
        format!("frame {n}").into()
    }

    /// Replay returns exactly the unacknowledged frames after `upto`, with `hs2` first until
    /// the visitor proved it has it.
    #[test]
    fn replays_what_is_not_acknowledged() {
        let mut r = Replay::default();
        r.start_epoch("assigned".into());
        r.assigned_delivered();
        r.set_hs2("hs2".into());
        for n in 0..5 {
            r.push(n, frame(n));
        }
        r.ack(1);
        let got = r.after(Some(2)).unwrap();
        assert_eq!(got, vec![Utf8Bytes::from("hs2"), frame(3), frame(4)]);
        r.hs2_delivered();
        assert_eq!(r.after(None).unwrap(), vec![frame(2), frame(3), frame(4)]);
        r.clear();
        assert!(r.after(None).unwrap().is_empty());
    }

    /// A full buffer drops the oldest frames, and a resume that needs them is refused.
    #[test]
    fn overflow_refuses_a_resume_that_needs_lost_frames() {
        let mut r = Replay::default();
        for n in 0..(MAX_REPLAY_FRAMES as u64 + 10) {
            r.push(n, frame(n));
        }
        assert!(r.after(Some(3)).is_none(), "frames 4..=9 were lost");
        assert_eq!(r.after(Some(9)).unwrap().len(), MAX_REPLAY_FRAMES);
        assert!(r.frames.len() <= MAX_REPLAY_FRAMES);
    }
}
