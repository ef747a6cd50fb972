//! What this node observes of its own traffic: today's anonymous counts (kept per node,
//! shared through the store so that every dashboard shows the sum, saved to the day file)
//! and the wait estimates visitors are told.
//!
//! Counts only: nothing here names a visitor, a conversation or an address.

use std::collections::HashMap;
use std::time::Duration;

use crate::metrics::Metrics;
use crate::protocol::{QueueId, Tags};
use crate::stats::Stats;

/// Weight of the newest observation in the wait estimate.
const EWMA_ALPHA: f64 = 0.2;
/// Wait per position assumed before any wait has been observed in a queue.
const DEFAULT_WAIT_PER_POSITION_S: f64 = 60.0;

/// This node's counts of today and its wait estimates.
#[derive(Debug)]
pub struct Observed {
    time_zone: jiff::tz::TimeZone,
    metrics: Metrics,
    stats: Stats,
    /// Recent wait (join → accept) per queue and per starting position, exponentially
    /// weighted, in seconds.
    wait_ewma: HashMap<QueueId, f64>,
    /// Recent chat length (accept → end) per queue, exponentially weighted, in seconds.
    handle_ewma: HashMap<QueueId, f64>,
}

impl Observed {
    /// Nothing observed yet; days follow the calendar of `time_zone`.
    pub fn new(time_zone: jiff::tz::TimeZone, metrics: Metrics) -> Self {
        Self {
            time_zone,
            metrics,
            stats: Stats::default(),
            wait_ewma: HashMap::new(),
            handle_ewma: HashMap::new(),
        }
    }

    /// Today's date in the organisation's time zone.
    pub fn today_date(&self) -> String {
        crate::stats::local_date(&self.time_zone)
    }

    /// Today's date and this node's counts of it.
    pub fn today_counts(&self) -> (String, Stats) {
        let date = self.today_date();
        let counts = self.stats.of_day(&date);
        (date, counts)
    }

    /// The counts to save now: a finished day not saved yet, then today's.
    pub fn stats_to_save(&mut self) -> Vec<Stats> {
        self.stats.to_save()
    }

    /// Takes back today's counts saved before a restart.
    pub fn restore_stats(&mut self, saved: Stats) {
        let today = self.today_date();
        self.stats.restore(saved, &today);
    }

    /// A visitor joined a queue.
    pub fn joined(&mut self) {
        let today = self.today_date();
        self.stats.joined(&today);
    }

    /// A visitor left before being served.
    pub fn abandoned(&mut self) {
        let today = self.today_date();
        self.stats.abandoned(&today);
    }

    /// A wait ended with an accept (the counsellor's node counts it).
    pub fn waited(&mut self, waited: Duration) {
        let today = self.today_date();
        self.stats.waited(&today, waited.as_secs_f64());
    }

    /// A wait that started at `first_position` in `queue` ended after `waited` (the
    /// visitor's node observes it, for the estimate).
    pub fn observe_wait(&mut self, queue: &QueueId, waited: Duration, first_position: u32) {
        let w = waited.as_secs_f64() / f64::from(first_position.max(1));
        let e = self.wait_ewma.entry(queue.clone()).or_insert(w);
        *e = EWMA_ALPHA * w + (1.0 - EWMA_ALPHA) * *e;
    }

    /// A chat in `queue` that lasted `handled` ended.
    pub fn observe_handle(&mut self, queue: &QueueId, handled: Duration) {
        let handled = handled.as_secs_f64();
        let e = self.handle_ewma.entry(queue.clone()).or_insert(handled);
        *e = EWMA_ALPHA * handled + (1.0 - EWMA_ALPHA) * *e;
    }

    /// Counts an ended contact in today's statistics and in the metrics; `fallback` is the
    /// outcome when the tags carry none (`untagged` when a counsellor ended it, the end
    /// reason otherwise).
    pub fn contact(&mut self, channel: &str, language: Option<&str>, tags: &Tags, fallback: &str) {
        let today = self.today_date();
        self.stats
            .contact(&today, channel, language, tags, fallback);
        let outcome = tags.outcome.as_ref().map_or(fallback, |o| o.as_str());
        self.metrics
            .contacts
            .with_label_values(&[channel, outcome])
            .inc();
        for topic in &tags.topic {
            self.metrics
                .contact_topics
                .with_label_values(&[topic.as_str()])
                .inc();
        }
    }

    /// Estimated wait in seconds for someone at `position` in `queue`, rounded up to whole
    /// minutes (at most a day). `slots` is the capacity of the counsellors on duty who serve
    /// the queue, as far as this node knows them. The method, in order of preference:
    /// 1. recent waits: position × the exponentially weighted mean (α = 0.2) of finished
    ///    waits in that queue, each divided by the position it started at;
    /// 2. recent chat lengths, when no wait has finished yet but chats have: the visitor is
    ///    served after ⌈position ÷ slots⌉ rounds of the mean chat length;
    /// 3. otherwise 60 s per position.
    ///
    /// With many nodes each node estimates from what it observed itself.
    pub fn eta_s(&self, queue: &QueueId, position: u32, slots: impl FnOnce() -> u32) -> u64 {
        let position = f64::from(position.max(1));
        let secs = match (self.wait_ewma.get(queue), self.handle_ewma.get(queue)) {
            (Some(per), _) => per.max(1.0) * position,
            (None, Some(handle)) => (position / f64::from(slots().max(1))).ceil() * handle.max(1.0),
            (None, None) => DEFAULT_WAIT_PER_POSITION_S * position,
        };
        // Bounded to a day: the cast cannot overflow or go negative.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let minutes = (secs / 60.0).ceil().clamp(1.0, 1440.0) as u64;
        minutes * 60
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed() -> Observed {
        Observed::new(jiff::tz::TimeZone::UTC, Metrics::new())
    }

    fn q(s: &str) -> QueueId {
        s.parse().unwrap()
    }

    #[test]
    fn a_minute_per_position_before_anything_is_observed() {
        let o = observed();
        assert_eq!(o.eta_s(&q("da/exit"), 1, || 3), 60);
        assert_eq!(o.eta_s(&q("da/exit"), 4, || 3), 240);
        assert_eq!(
            o.eta_s(&q("da/exit"), 0, || 3),
            60,
            "position 0 counts as 1"
        );
    }

    #[test]
    fn chat_lengths_give_rounds_of_the_slots() {
        let mut o = observed();
        o.observe_handle(&q("da/exit"), Duration::from_secs(600));
        // Position 5 with 2 slots: 3 rounds of 10 minutes.
        assert_eq!(o.eta_s(&q("da/exit"), 5, || 2), 1800);
        // No counsellor serves the queue: one slot assumed.
        assert_eq!(o.eta_s(&q("da/exit"), 2, || 0), 1200);
        // Another queue has seen nothing.
        assert_eq!(o.eta_s(&q("en/any"), 2, || 2), 120);
    }

    #[test]
    fn finished_waits_win_and_are_weighted() {
        let mut o = observed();
        o.observe_handle(&q("da/exit"), Duration::from_secs(600));
        // 180 s from position 2: 90 s per position.
        o.observe_wait(&q("da/exit"), Duration::from_secs(180), 2);
        assert_eq!(
            o.eta_s(&q("da/exit"), 3, || panic!("slots not needed")),
            300
        );
        // 30 s per position next: 0.2 × 30 + 0.8 × 90 = 78 s per position.
        o.observe_wait(&q("da/exit"), Duration::from_secs(30), 1);
        assert_eq!(o.eta_s(&q("da/exit"), 10, || 1), 780);
    }

    #[test]
    fn estimates_are_bounded() {
        let mut o = observed();
        o.observe_wait(&q("da/exit"), Duration::ZERO, 1);
        assert_eq!(o.eta_s(&q("da/exit"), 1, || 1), 60, "at least a minute");
        o.observe_wait(&q("en/any"), Duration::from_secs(86_400), 1);
        assert_eq!(o.eta_s(&q("en/any"), 1000, || 1), 86_400, "at most a day");
    }

    #[test]
    fn counts_are_today_s() {
        let mut o = observed();
        o.joined();
        o.joined();
        o.abandoned();
        o.waited(Duration::from_secs(30));
        o.contact("chat", Some("da"), &Tags::default(), "untagged");
        let (date, counts) = o.today_counts();
        assert_eq!(date, o.today_date());
        let today = counts.today(&date);
        let json = serde_json::to_value(&today).unwrap();
        assert_eq!(json["joined"], 2, "{json}");
        assert_eq!(json["abandoned"], 1, "{json}");
    }
}
