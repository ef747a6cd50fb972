//! What a client keeps of the `data` frames it sent, so that nothing is lost when its
//! connection drops (docs/protocol.md, "Nothing lost"): every frame stays, already encrypted,
//! until the relay says it has it — `stored{upto}` now and then, `resumed{have}` after a
//! resume — or the peer's `read{upto}` covers it; after `resumed` the client sends the rest
//! again, unchanged (same counter, same ciphertext), and the receiver drops a counter it
//! already has. A new epoch (`assigned`) empties it: frames of the old session can never be
//! delivered, their keys are gone.

use std::collections::VecDeque;

use crate::protocol::{Blob, ConvId, VisitorFrame};

/// Frames a client keeps at most: the relay's replay buffer holds no more
/// (`store::MAX_FRAMES`), so a longer gap could not be resumed anyway.
pub const MAX_KEPT: usize = crate::store::MAX_FRAMES;

/// The sent `data` frames of one conversation not yet known to have reached the relay.
#[derive(Debug, Default)]
pub struct Outbox {
    conv: Option<ConvId>,
    kept: VecDeque<(u64, Blob)>,
}

impl Outbox {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new epoch of `conv` (or another conversation): nothing earlier can be delivered.
    pub fn new_epoch(&mut self, conv: ConvId) {
        self.conv = Some(conv);
        self.kept.clear();
    }

    /// `data{n, m}` was sent (or is about to be). Past [`MAX_KEPT`] the oldest is forgotten.
    pub fn sent(&mut self, n: u64, m: Blob) {
        self.kept.push_back((n, m));
        while self.kept.len() > MAX_KEPT {
            self.kept.pop_front();
        }
    }

    /// The relay has every frame up to `upto` (`stored`, `resumed{have}`), or the peer read
    /// them: forget them.
    pub fn have(&mut self, conv: ConvId, upto: u64) {
        if self.conv == Some(conv) {
            self.kept.retain(|(n, _)| *n > upto);
        }
    }

    /// After `resumed{conv, have}`: forgets what the relay has and returns the frames to
    /// send again, in order.
    pub fn resend(&mut self, conv: ConvId, have: Option<u64>) -> Vec<VisitorFrame> {
        if self.conv != Some(conv) {
            return Vec::new();
        }
        if let Some(upto) = have {
            self.have(conv, upto);
        }
        self.kept
            .iter()
            .map(|(n, m)| VisitorFrame::Data {
                conv,
                n: *n,
                m: m.clone(),
            })
            .collect()
    }

    /// Frames kept now.
    pub fn len(&self) -> usize {
        self.kept.len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(i: u8) -> Blob {
        crate::crypto::b64_encode(&[i; 4]).parse().unwrap()
    }

    fn ns(frames: &[VisitorFrame]) -> Vec<u64> {
        frames
            .iter()
            .map(|f| match f {
                VisitorFrame::Data { n, .. } => *n,
                other => panic!("not data: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn keeps_until_the_relay_has_them_and_resends_the_rest_unchanged() {
        let conv = ConvId([1; 16]);
        let mut o = Outbox::new();
        o.new_epoch(conv);
        for n in 0..5 {
            o.sent(n, m(u8::try_from(n).unwrap()));
        }
        o.have(conv, 1);
        assert_eq!(o.len(), 3);
        let again = o.resend(conv, Some(2));
        assert_eq!(ns(&again), [3, 4]);
        assert!(
            matches!(&again[0], VisitorFrame::Data { m: got, .. } if *got == m(3)),
            "the same ciphertext"
        );
        // Nothing kept by the relay yet: everything goes again.
        assert_eq!(ns(&o.resend(conv, None)), [3, 4]);
    }

    #[test]
    fn another_conversation_or_epoch_is_apart() {
        let (a, b) = (ConvId([1; 16]), ConvId([2; 16]));
        let mut o = Outbox::new();
        o.new_epoch(a);
        o.sent(0, m(0));
        o.have(b, 9);
        assert_eq!(o.len(), 1, "another conversation's acknowledgment");
        assert!(o.resend(b, None).is_empty());
        o.new_epoch(a);
        assert!(o.is_empty(), "a new epoch forgets the old session's frames");
    }

    #[test]
    fn keeps_at_most_what_the_relay_could_replay() {
        let conv = ConvId([1; 16]);
        let mut o = Outbox::new();
        o.new_epoch(conv);
        for n in 0..(MAX_KEPT as u64 + 3) {
            o.sent(n, m(0));
        }
        assert_eq!(o.len(), MAX_KEPT);
        assert_eq!(ns(&o.resend(conv, None))[0], 3, "the oldest went first");
    }
}
