//! Open-loop sending and the stamp each message carries.
//!
//! Every side sends on a fixed schedule, `start + phase + k·interval`, whatever the server
//! does: a message that could not go out on time goes out as soon as possible *stamped with
//! the time it was due*, so a stalled server shows up as latency instead of silently slowing
//! the generator down (no coordinated omission). The stamp — a sequence number and the due
//! time in nanoseconds of the Unix clock, shared by all generator processes on the machine —
//! travels inside the message text, so for lyt it is end-to-end encrypted like any text.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Characters of the stamp at the start of every message.
pub const STAMP_BYTES: usize = 34;

/// Converts this process's monotonic instants to Unix nanoseconds, so stamps from one
/// generator process can be compared with the clock of another on the same machine.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base: Instant,
    base_ns: u64,
}

impl Clock {
    /// Anchors the monotonic clock to the wall clock now.
    pub fn new() -> Self {
        let base = Instant::now();
        let base_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        Self { base, base_ns }
    }

    /// Unix nanoseconds of `at`.
    pub fn ns(&self, at: Instant) -> u64 {
        let since = at.saturating_duration_since(self.base);
        self.base_ns
            .saturating_add(u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
    }

    /// Unix nanoseconds now.
    pub fn now_ns(&self) -> u64 {
        self.ns(Instant::now())
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

/// When the messages of one side are due.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    first: Instant,
    interval: Duration,
}

impl Schedule {
    /// Messages every `interval`, the first at `start + phase`.
    pub fn new(start: Instant, phase: Duration, interval: Duration) -> Self {
        Self {
            first: start + phase,
            interval,
        }
    }

    /// When message `k` (from 0) is due.
    pub fn due(&self, k: u64) -> Instant {
        let k = u32::try_from(k).unwrap_or(u32::MAX);
        self.first + self.interval * k
    }

    /// How many messages are due up to and including `now`.
    pub fn due_by(&self, now: Instant) -> u64 {
        if now < self.first {
            return 0;
        }
        let since = now.duration_since(self.first).as_nanos();
        let each = self.interval.as_nanos().max(1);
        u64::try_from(since / each)
            .unwrap_or(u64::MAX)
            .saturating_add(1)
    }
}

/// A message text: the stamp, then filler up to `len` characters.
pub fn encode(seq: u64, due_ns: u64, len: usize) -> String {
    let mut s = format!("L{seq:016x}.{due_ns:016x}");
    let len = len.max(STAMP_BYTES);
    s.reserve(len - s.len());
    while s.len() < len {
        s.push('x');
    }
    s
}

/// Reads the stamp back: the sequence number and the due time.
pub fn decode(text: &str) -> Option<(u64, u64)> {
    let stamp = text.get(..STAMP_BYTES)?;
    let rest = stamp.strip_prefix('L')?;
    let (seq, ns) = rest.split_once('.')?;
    Some((
        u64::from_str_radix(seq, 16).ok()?,
        u64::from_str_radix(ns, 16).ok()?,
    ))
}

/// What a receiver makes of a message's sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// The next one.
    InOrder,
    /// Already seen: a duplicate.
    Duplicate,
    /// Later than expected: this many before it are missing.
    Gap(u64),
}

/// Tracks the sequence numbers one side receives.
#[derive(Debug, Default, Clone)]
pub struct SeqTracker {
    next: u64,
    any: bool,
}

impl SeqTracker {
    /// Records `seq`.
    pub fn record(&mut self, seq: u64) -> Arrival {
        if std::mem::take(&mut self.any) {
            self.next = seq + 1;
            return Arrival::InOrder;
        }
        if seq < self.next {
            return Arrival::Duplicate;
        }
        let gap = seq - self.next;
        self.next = seq + 1;
        if gap == 0 {
            Arrival::InOrder
        } else {
            Arrival::Gap(gap)
        }
    }

    /// Takes whatever arrives next as in order: a new epoch of a conversation may come from
    /// another sender (a counsellor's new connection) or continue an old count (a visitor).
    pub fn accept_any_next(&mut self) {
        self.any = true;
    }

    /// The next sequence number expected.
    pub fn expected(&self) -> u64 {
        self.next
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn stamps_round_trip_at_the_requested_length() {
        let t = encode(7, 1_700_000_000_123_456_789, 100);
        assert_eq!(t.len(), 100);
        assert_eq!(decode(&t), Some((7, 1_700_000_000_123_456_789)));
        assert_eq!(
            encode(1, 2, 3).len(),
            STAMP_BYTES,
            "never shorter than the stamp"
        );
        assert_eq!(decode("hello"), None);
        assert_eq!(decode(&"y".repeat(STAMP_BYTES)), None);
    }

    #[test]
    fn schedule_is_open_loop() {
        let start = Instant::now();
        let s = Schedule::new(start, Duration::from_millis(30), Duration::from_millis(100));
        assert_eq!(s.due(0), start + Duration::from_millis(30));
        assert_eq!(s.due(3), start + Duration::from_millis(330));
        assert_eq!(s.due_by(start), 0);
        assert_eq!(s.due_by(start + Duration::from_millis(30)), 1);
        // A sender stalled for a second owes every message due meanwhile, each with its own
        // due time: nothing is skipped and nothing is re-stamped.
        assert_eq!(s.due_by(start + Duration::from_millis(1_029)), 10);
        assert_eq!(s.due_by(start + Duration::from_millis(1_030)), 11);
    }

    #[test]
    fn clock_maps_instants_to_unix_nanoseconds() {
        let c = Clock::new();
        let a = Instant::now();
        let b = a + Duration::from_millis(5);
        assert_eq!(c.ns(b) - c.ns(a), 5_000_000);
        assert!(c.now_ns() > 1_600_000_000_000_000_000);
    }

    #[test]
    fn tracker_finds_duplicates_and_gaps() {
        let mut t = SeqTracker::default();
        assert_eq!(t.record(0), Arrival::InOrder);
        assert_eq!(t.record(1), Arrival::InOrder);
        assert_eq!(t.record(1), Arrival::Duplicate);
        assert_eq!(t.record(4), Arrival::Gap(2));
        assert_eq!(t.expected(), 5);
        t.accept_any_next();
        assert_eq!(
            t.record(40),
            Arrival::InOrder,
            "a new epoch starts anywhere"
        );
        assert_eq!(t.record(40), Arrival::Duplicate);
        assert_eq!(t.record(41), Arrival::InOrder);
    }
}
